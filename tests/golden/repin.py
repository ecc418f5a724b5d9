"""Re-pin the golden baseline: ``python tests/golden/repin.py``.

Writes ``baseline_seed0_kpis.json`` and ``baseline_seed0_monthly.csv`` (a slice of
``monthly.csv``: prices, production, exports, use and licences) from one run of
``scenarios/baseline.toml`` with seed 0. Re-pin only in a commit that says why the numbers
changed; a refactor must leave them as they are.
"""

from __future__ import annotations

import json
from pathlib import Path

import rechain

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEED = 0
VARIABLES = ("price", "production", "exports", "use", "shortfall", "orders", "licences_granted",
             "stock_cover_days")


def golden_run():
    """The run the golden files pin: the baseline, seed 0."""
    return rechain.run(ROOT / "scenarios" / "baseline.toml", seed=SEED)


def golden_slice(monthly):
    """The part of the monthly table that is pinned."""
    sel = monthly[monthly["variable"].isin(VARIABLES)]
    return sel.sort_values(["variable", "stage", "product", "region", "month"]).reset_index(drop=True)


def main() -> None:
    res = golden_run()
    (HERE / "baseline_seed0_kpis.json").write_text(json.dumps(res.kpis(), indent=1, sort_keys=True) + "\n")
    golden_slice(res.monthly).to_csv(HERE / "baseline_seed0_monthly.csv", index=False, float_format="%.10g")
    print(f"pinned {len(res.kpis())} KPIs and {len(golden_slice(res.monthly))} monthly rows")


if __name__ == "__main__":
    main()
