"""Helpers shared by the tests: the baseline and a shock-free variant as plain dicts, and what-if
files that extend the baseline."""

from __future__ import annotations

from pathlib import Path

from rechain.scenario import _resolve, quiet_variant

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def baseline_dict() -> dict:
    """The baseline scenario as a plain dict (``extends`` resolved)."""
    return _resolve(BASELINE)[0]


def quiet_dict(years: int = 3) -> dict:
    """The baseline with every shock switched off (see :func:`rechain.scenario.quiet_variant`)."""
    return quiet_variant(baseline_dict(), years)


def what_if(tmp_path: Path, body: str, name: str = "w") -> Path:
    """A what-if file ``name``.toml in ``tmp_path`` extending the baseline with ``body``."""
    f = tmp_path / f"{name}.toml"
    f.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "{name}"\n{body}', encoding="utf-8")
    return f
