"""Every scenario file shipped in scenarios/ loads, validates and runs ten weeks."""

from __future__ import annotations

import numpy as np
import pytest
from support import ROOT

from rechain.model import ChainModel
from rechain.scenario import load_scenario

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def test_there_are_scenarios():
    assert any(p.name == "baseline.toml" for p in SCENARIOS)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_ten_steps(path):
    sc = load_scenario(path)
    model = ChainModel(sc, seed=42)
    for _ in range(10):
        model.step()
    assert model.t == 10
    assert model.recorder.production[:10].sum() > 0
    assert (model.firms.stock_t >= 0).all()
    price = np.asarray(model.market.index_yuan_per_t)
    assert np.isfinite(price).all() and (price > 0).all()
