"""The 2024 calibration figures of docs/background.md §3 come out of a baseline run within ±5 %.

Targets and tolerances are read from the facts table (src/rechain/data/facts.csv), where
each has its source; quotas are checked against what the regulator issued by year end.
"""

from __future__ import annotations

import pytest

from rechain.validate import evaluate, judge, load_facts

CALIBRATION_2024 = ["F16", "F18", "F20", "F22", "F24", "F26", "F28", "F62"]


@pytest.fixture(scope="module")
def facts():
    return {f.fact_id: f for f in load_facts()}


@pytest.mark.parametrize("fact_id", CALIBRATION_2024)
def test_2024_figure_within_five_percent(baseline_run, facts, fact_id):
    fact = facts[fact_id]
    assert fact.period == "2024"
    assert fact.tolerance == pytest.approx(0.05 * fact.target, rel=1e-3)   # ±5 % of the article figure
    value = evaluate([fact], baseline_run.monthly)["value"].iloc[0]
    assert judge(fact, value), f"{fact.description}: simulated {value:,.0f}, target {fact.target:,.0f}"


def test_2024_quotas_issued(baseline_run):
    """By the end of 2024 the regulator has issued the whole 2024 quotas: 270 kt of mining
    (rock-type plus ion-adsorption) and 254 kt of separation [SMM-2025-03-11], to within ±5 %."""
    m = baseline_run.monthly
    issued = m[(m.variable == "quota_issued") & (m.month == "2024-12")].set_index("product")["value"]
    used = m[(m.variable == "quota_used") & m.month.str.startswith("2024")].groupby("product")["value"].sum()
    assert issued["mining_rock"] + issued["mining_ionic"] == pytest.approx(270_000, rel=0.05)
    assert issued["separation"] == pytest.approx(254_000, rel=0.05)
    # nobody mines or separates more than was issued
    for q in ("mining_rock", "mining_ionic", "separation"):
        assert used[q] <= issued[q] * (1 + 1e-9), q
