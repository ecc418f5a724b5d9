"""``rechain calibrate`` (moved to :mod:`rechain.experiments.calibrate`, re-exported here)."""

from __future__ import annotations

from .experiments.calibrate import (best_scenario, calibrate, calibrate_command, Dimension, load_space,
                                    _current_value, _nested, _override)  # noqa: F401

__all__ = ["load_space", "calibrate", "calibrate_command"]
