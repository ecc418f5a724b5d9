"""Random streams of a run, keyed by name.

Each purpose (``population``, ``links``, ``licences``, and per kind of firm
``heterogeneity/magnet_maker``, ``asks/recycler``, ``expectations/motor_maker`` ...) draws from
its own numpy Generator, seeded from the run's seed and a hash of the stream's name (as
Starsim's named distributions do). Adding a stream, a kind or a firm therefore shifts no
other stream: a what-if that adds a licence regime or a state reserve leaves every other
draw as it was.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .network import KINDS

__all__ = ["Streams", "name_key", "run_seed", "is_whole_seed"]


def is_whole_seed(seed) -> bool:
    """A whole number >= 0 (Python's or numpy's; not a bool, not a float)."""
    return isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)) and seed >= 0


def run_seed(seed, key: str = "seed") -> int:
    """``seed`` as a Python int (the generators take Python ints), or a ValueError naming
    ``key`` and what is allowed: a bool, a float or a negative number is not a seed."""
    if not is_whole_seed(seed):
        raise ValueError(f"{key}: given {seed!r}; allowed: a whole number >= 0")
    return int(seed)


def name_key(name: str) -> int:
    """A stable 64-bit number for a stream name (the same on every machine and run)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


class Streams:
    """``streams(name)`` or ``streams(name, kind_code)``: the Generator of that stream."""

    def __init__(self, seed: int):
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        self.seed = int(seed)
        self._made: dict[str, np.random.Generator] = {}

    def __call__(self, name: str, kind: int | None = None) -> np.random.Generator:
        key = name if kind is None else f"{name}/{KINDS[kind]}"
        g = self._made.get(key)
        if g is None:
            g = np.random.default_rng(np.random.SeedSequence([self.seed, name_key(key)]))
            self._made[key] = g
        return g
