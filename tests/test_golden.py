"""Golden test: the baseline with seed 0 gives the pinned numbers.

Guards refactors: same seed, same numbers. When a change is meant to move the numbers,
re-pin with ``python tests/golden/repin.py`` in a commit that says why.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
from repin import HERE, golden_run, golden_slice  # noqa: E402

RTOL = 1e-6


@pytest.fixture(scope="module")
def golden():
    return golden_run()


def test_kpis_match_the_pinned_baseline(golden):
    pinned = json.loads((HERE / "baseline_seed0_kpis.json").read_text())
    got = golden.kpis()
    assert sorted(got) == sorted(pinned)
    bad = {k: (got[k], v) for k, v in pinned.items()
           if not np.isclose(got[k], v, rtol=RTOL, atol=1e-6)}
    assert not bad, f"KPIs moved (got, pinned): {bad}"


def test_monthly_slice_matches_the_pinned_baseline(golden):
    pinned = pd.read_csv(HERE / "baseline_seed0_monthly.csv", dtype={"month": str})
    got = golden_slice(golden.monthly)
    keys = ["variable", "stage", "product", "region", "month"]
    assert got[keys].astype(str).equals(pinned[keys].astype(str)), "the rows of the monthly table changed"
    assert (got["unit"] == pinned["unit"]).all()
    np.testing.assert_allclose(got["value"].to_numpy(), pinned["value"].to_numpy(), rtol=RTOL, atol=1e-6)
