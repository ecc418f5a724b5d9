"""Helpers shared by the tests: the baseline and a shock-free variant as plain dicts."""

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
