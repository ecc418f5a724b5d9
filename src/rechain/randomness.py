"""Random streams of a run, one per purpose (and per kind of firm where a kind draws).

INTERIM: positional streams spawned from the model's generator, as before the redesign,
so that the numbers stay the same while the code moves; replaced by streams keyed by name.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Streams"]

_PURPOSES = ("population", "links", "heterogeneity", "asks", "expectations", "licences")
_PER_KIND = ("heterogeneity", "asks", "expectations")


class Streams:
    """``streams(name)`` or ``streams(name, kind_code)``: a numpy Generator."""

    def __init__(self, rng: np.random.Generator, n_kinds: int):
        self._by_name = dict(zip(_PURPOSES, rng.spawn(len(_PURPOSES))))
        self._n_kinds = n_kinds
        self._per_kind: dict[str, list[np.random.Generator]] = {}

    def __call__(self, name: str, kind: int | None = None) -> np.random.Generator:
        if kind is None:
            return self._by_name[name]
        if name not in self._per_kind:
            self._per_kind[name] = self._by_name[name].spawn(self._n_kinds)
        return self._per_kind[name][kind]

    def spawn_kind_streams(self) -> None:
        """Create the per-kind streams now (their order of creation fixes their seeds)."""
        for name in _PER_KIND:
            self(name, 0)
