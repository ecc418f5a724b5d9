"""Shared fixtures: finished runs reused across tests (runs are the slow part)."""

from __future__ import annotations

import pytest
from support import BASELINE, baseline_dict

import rechain
from rechain.scenario import deep_merge, scenario_from_dict


@pytest.fixture(scope="session")
def baseline_run():
    """One full baseline run (seed 1) with its model kept."""
    return rechain.run(BASELINE, seed=1, keep_model=True)


@pytest.fixture(scope="session")
def make_scenario():
    def make(over: dict | None = None, base: dict | None = None):
        return scenario_from_dict(deep_merge(base if base is not None else baseline_dict(), over or {}))
    return make
