"""`rechain calibrate` writes its best set as a what-if that loads and runs as it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rechain.cli import main
from rechain.scenario import load_scenario

TINY = Path(__file__).resolve().parent / "data" / "tiny.toml"


def test_best_toml_extends_the_calibrated_scenario_and_runs(tmp_path, monkeypatch):
    space = tmp_path / "space.toml"
    space.write_text('[parameters]\n"behaviour.w_news" = { min = 0.8, max = 2.0 }\n'
                     '"behaviour.restock_strength" = { min = 0.6, max = 2.0 }\n')
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)                  # a relative --out, below another folder than the scenario's
    res = CliRunner().invoke(main, ["calibrate", str(TINY), "--space", str(space), "--samples", "1",
                                    "--replicates", "1", "--finalists", "1", "--final-replicates", "1",
                                    "--workers", "1", "--out", "cal"])
    assert res.exit_code == 0, res.output
    best = work / "cal" / "best.toml"
    text = best.read_text()
    parent = text.split('extends = "')[1].split('"')[0]
    assert not Path(parent).is_absolute() and (best.parent / parent).resolve() == TINY     # relative to cal/
    row = pd.read_csv(work / "cal" / "candidates.csv").iloc[0]

    monkeypatch.chdir(tmp_path)              # it loads from anywhere
    res = CliRunner().invoke(main, ["check", str(best)])
    assert res.exit_code == 0 and "tiny_calibrated" in res.output, res.output
    sc = load_scenario(best)
    assert sc.behaviour.w_news == pytest.approx(row["behaviour.w_news"], abs=1e-4)
    assert sc.behaviour.restock_strength == pytest.approx(row["behaviour.restock_strength"], abs=1e-4)
    assert sc.firms == load_scenario(TINY).firms                        # everything else from the scenario
    res = CliRunner().invoke(main, ["run", str(best), "--out", str(tmp_path / "run"), "--quiet", "--no-figures"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "run" / "monthly.csv").exists()


def test_fact_miss_is_zero_when_reproduced_and_grows_with_the_distance():
    from rechain.experiments.calibrate import fact_miss
    from rechain.experiments.validate import Fact
    level = Fact("T", "price", "2025-01", product="dy_oxide", target=100.0, tolerance=10.0)
    assert fact_miss(level, 105.0) == 0.0
    assert fact_miss(level, 120.0) == pytest.approx(1.0)        # 10 beyond the tolerance of 10
    assert fact_miss(level, 60.0) == pytest.approx(3.0)
    up = Fact("T", "price", "2025-02", measure="mom_pct", comparison="direction_up", product="dy_oxide")
    assert fact_miss(up, 2.0) == 0.0 and fact_miss(up, -4.0) == pytest.approx(0.5)
    assert fact_miss(level, float("nan")) == 3.0


def test_miss_loss_weighs_required_facts_and_penalises_a_drifting_quiet_chain():
    from rechain.experiments.calibrate import PRICE_BAND, miss_loss
    from rechain.experiments.validate import Fact
    req = Fact("A", "price", "2025-01", product="dy_oxide", target=100.0, tolerance=10.0, required=True)
    opt = Fact("B", "price", "2025-01", product="tb_oxide", target=100.0, tolerance=10.0, required=False)
    values = {"A": 120.0, "B": 120.0}
    assert miss_loss(values, [req, opt]) == pytest.approx(1.3)
    calm = {"quiet_cv": 0.05, "quiet_price_low": 0.9, "quiet_price_high": 1.1}
    assert miss_loss(values, [req, opt], calm) == pytest.approx(1.3)
    drift = dict(calm, quiet_price_high=PRICE_BAND[1] * 2.0)
    assert miss_loss(values, [req, opt], drift) == pytest.approx(1.3 + 10.0 * np.log(2.0))


def test_refine_adds_cma_es_candidates_that_compete_for_the_finals(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text('[parameters]\n"behaviour.w_news" = { min = 0.8, max = 2.0 }\n'
                     '"behaviour.restock_strength" = { min = 0.6, max = 2.0 }\n')
    out = tmp_path / "cal"
    res = CliRunner().invoke(main, ["calibrate", str(TINY), "--space", str(space), "--samples", "1",
                                    "--replicates", "1", "--finalists", "2", "--final-replicates", "1",
                                    "--workers", "1", "--refine", "2", "--popsize", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "candidates.csv")
    assert len(table) == 2 + 2 * 2                    # own values + 1 hypercube point + 2 generations of 2
    assert table["loss"].notna().all()
    assert (out / "refine" / "gen-000").is_dir() and (out / "refine" / "gen-001").is_dir()
    refined = table[table["candidate"] >= 2]
    assert refined["behaviour.w_news"].between(0.8, 2.0).all()
