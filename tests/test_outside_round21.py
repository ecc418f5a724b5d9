"""Round 21 of outside checks: what a user meets around the model (session of 2026-12-07)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import what_if

import rechain
from rechain.cli import main
from rechain.scenario import load_scenario

TINY = Path(__file__).resolve().parent / "data" / "tiny.toml"


def test_analyze_on_an_unfinished_calibration_stage_says_resume_the_calibration(tmp_path):
    """A calibration's stage is a sweep folder without a sweep file of its own: `analyze` on
    one with runs missing points to `rechain calibrate ... --resume` on the calibration's
    folder, not to a `rechain sweep` nobody can run."""
    space = tmp_path / "space.toml"
    space.write_text('[parameters]\n"behaviour.w_news" = { min = 0.8, max = 2.0 }\n')
    cal = tmp_path / "cal"
    res = CliRunner().invoke(main, ["calibrate", str(TINY), "--space", str(space), "--samples", "2",
                                    "--replicates", "1", "--finalists", "1", "--final-replicates", "1",
                                    "--workers", "1", "--out", str(cal)])
    assert res.exit_code == 0, res.output
    parts = sorted((cal / "search" / "runs").glob("part-*.parquet"))
    assert len(parts) >= 2
    parts[-1].unlink()
    res = CliRunner().invoke(main, ["analyze", str(cal / "search"), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "warning: the calibration did not finish" in res.stderr, res.stderr
    assert f"rechain calibrate {TINY} --out {cal} --resume" in res.stderr
    assert "rechain sweep" not in res.stderr
    summary = (cal / "search" / "analysis" / "summary.md").read_text()
    assert "the calibration did not finish" in summary and "rechain sweep" not in summary


# --- a crackdown stops the work outside the quota, not the quota's own ----------------------
def _months(monthly, variable, stage, product, first, last):
    rows = monthly[(monthly.variable == variable) & (monthly.stage == stage) & (monthly["product"] == product)]
    return rows[(rows.month >= first) & (rows.month <= last)].value.sum()


@pytest.mark.parametrize("group, target, stage, quota, product", [
    ("ionic_miners", 'target = "miners"\nore_type = "ionic"', "miners", "mining_ionic", "ionic_ore"),
    ("separation_plants", 'target = "separation_plants"', "separation_plants", "separation", "prnd_oxide"),
])
def test_a_crackdown_leaves_the_quotas_work_running(tmp_path, group, target, stage, quota, product):
    """Much work outside the quota (half the capacity, 30 % of it stopped by enforcement) and
    a crackdown that stops 90 % of it: the ore or oxide the yard already held counted against
    a yard sized on the cut flow, so the quota's own work stopped too (ion-adsorption mining
    within the quota -36 % in June 2024). The yard is the mine's (or plant's): a crackdown cuts
    the work, not the yard."""
    loose_body = f"[firms.{group}]\noutside_quota_share = 0.5\nenforcement = 0.3\n"
    crack_body = loose_body + (f'[[disruptions]]\nname = "crackdown"\n{target}\nstart = 2024-06-01\n'
                               f'end = 2025-06-30\ncapacity_offline_share = 0.9\noutside_quota_only = true\n')
    loose = rechain.run(load_scenario(what_if(tmp_path, loose_body, "loose")), seed=0).monthly
    crack = rechain.run(load_scenario(what_if(tmp_path, crack_body, "crack")), seed=0).monthly
    for first, last in (("2024-06", "2024-06"), ("2024-06", "2024-12")):
        within = {k: _months(m, "quota_used", stage, quota, first, last) for k, m in (("loose", loose), ("crack", crack))}
        assert within["crack"] >= 0.99 * within["loose"], (first, last, within)
    made = {k: _months(m, "production", stage, product, "2024-06", "2024-12") for k, m in (("loose", loose),
                                                                                           ("crack", crack))}
    assert made["crack"] < made["loose"]          # the work outside the quota did stop
