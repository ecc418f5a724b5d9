"""`rechain calibrate` writes its best set as a what-if that loads and runs as it is."""

from __future__ import annotations

from pathlib import Path

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
