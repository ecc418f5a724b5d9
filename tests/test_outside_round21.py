"""Round 21 of outside checks: what a user meets around the model (session of 2026-12-07)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rechain.cli import main

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
