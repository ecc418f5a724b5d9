"""The fingerprint of rechain's code: which code made a run (its own module, with no imports
of rechain's, so that anything may ask it: a manifest, a sweep, a Dask worker)."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__all__ = ["code_fingerprint"]


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of the model's code and packaged data: every file of the installed rechain
    package (compiled caches aside), by path and content. A run's manifest keeps it, so a
    finished run is reused only by the code that made it: the package version does not move
    with every change of the code, and an upgrade must not hand back the old code's numbers."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
