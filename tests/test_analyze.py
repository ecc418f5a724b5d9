"""Sensitivity analysis says when its ranking is not resolved, and what N would resolve it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from rechain.analyze import ranking_resolution, sobol_indices
from rechain.cli import main

TINY = Path(__file__).resolve().parent / "data" / "tiny.toml"
PROBLEM = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0]] * 3}


def _sobol(f, n: int, seed: int = 1):
    from SALib.sample import sobol
    X = sobol.sample(PROBLEM, n, calc_second_order=False, scramble=True, seed=seed)
    return sobol_indices(PROBLEM, f(X), seed=seed)


def test_two_equal_parameters_are_not_ranked():
    rng = np.random.default_rng(0)
    t = _sobol(lambda X: X[:, 0] + X[:, 1] + 0.05 * X[:, 2] + 0.2 * rng.standard_normal(len(X)), 16)
    r = ranking_resolution(t, 16, "sobol")
    assert {r["top"], r["second"]} == {"a", "b"} and not r["resolved"]
    assert r["samples_needed"] is None or r["samples_needed"] > 16


def test_too_few_samples_give_no_intervals_and_no_resolved_ranking():
    """From one or two base samples the bootstrap resamples the same points: its intervals
    come out near 0 and would call any ranking resolved. They are unknown instead."""
    f = lambda X: 10 * X[:, 0] + X[:, 1]        # noqa: E731 - a clear winner, were N large
    for n in (1, 2):
        t = _sobol(f, n)
        assert t[["S1_conf", "ST_conf"]].isna().all().all()
        assert not ranking_resolution(t, n, "sobol")["resolved"]
    assert _sobol(f, 4)[["S1_conf", "ST_conf"]].notna().all().all()


def test_a_dominant_parameter_is_resolved_and_a_close_call_gets_an_estimate():
    t = _sobol(lambda X: 10 * X[:, 0] + X[:, 1], 256)
    r = ranking_resolution(t, 256, "sobol")
    assert r["top"] == "a" and r["resolved"] and r["samples_needed"] is None
    # a close call: the gap is a fifth of the summed half-widths -> 25 x N, as a power of 2
    close = t.assign(ST=[0.50, 0.46, 0.0], ST_conf=[0.10, 0.10, 0.01], parameter=["a", "b", "c"])
    r = ranking_resolution(close, 64, "sobol")
    assert not r["resolved"] and r["samples_needed"] == 2048         # 64 * (0.2 / 0.04)^2 = 1600 -> 2048
    r = ranking_resolution(close.rename(columns={"ST": "mu_star", "ST_conf": "mu_star_conf"}), 10, "morris")
    assert not r["resolved"] and r["samples_needed"] == 251          # 10 * 25 = 250, and a little beyond


def test_summary_does_not_name_a_most_influential_parameter_it_cannot_tell(tmp_path, monkeypatch):
    """Two parameters that barely matter, few samples: the summary says so, and what N
    would do, instead of naming a winner."""
    spec = tmp_path / "s.toml"
    spec.write_text(f'''base = "{TINY.as_posix()}"
design = "sobol"
samples = 4
root_seed = 3
[overrides]
end = 2024-03-31
[parameters]
"behaviour.noise" = {{ min = 0.0, max = 0.02 }}
"behaviour.heterogeneity" = {{ min = 0.2, max = 0.3 }}
[outputs]
kpis = ["price_mean_prnd_oxide"]
''')
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--workers", "1", "--quiet"]).exit_code == 0
    res = CliRunner().invoke(main, ["analyze", str(out), "--no-figures"])
    assert res.exit_code == 0, res.output
    summary = (out / "analysis" / "summary.md").read_text()
    line = next(s for s in summary.splitlines() if s.startswith("- price_mean_prnd_oxide:"))
    assert "**not resolved** at N = 4" in line and "most influential" in line and "neither" in line, line
    assert "ranking not resolved" in res.output
    if "about N = " in line:
        n = int(line.split("about N = ")[1].split()[0].replace(",", ""))
        assert n > 4 and n & (n - 1) == 0
    # a folder of the user's where the analysis goes: kept, and the message says what to move
    # (analyze has no --out to choose)
    (out / "analysis").rename(out / "theirs")
    (out / "analysis").mkdir()
    (out / "analysis" / "notes.txt").write_text("mine")
    res = CliRunner().invoke(main, ["analyze", str(out), "--no-figures"])
    assert res.exit_code == 2 and "move or rename that analysis folder" in res.output and "--out" not in res.output
    assert (out / "analysis" / "notes.txt").read_text() == "mine"
    # a sweep's folder where nothing can be written (a read-only mount): the same advice, no --out
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")
    (out / "analysis" / "notes.txt").unlink()
    (out / "analysis").rmdir()
    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    res = CliRunner().invoke(main, ["analyze", str(out), "--no-figures"])
    assert res.exit_code == 2 and "Read-only file system" in res.output, res.output
    assert "copy the sweep's folder where it can be written" in res.output and "--out" not in res.output


def test_intervals_that_could_not_be_estimated_are_not_read_as_equal_indices():
    """With N below what the bootstrap needs the intervals are nan: the summary said the
    indices were equal, so more samples would not rank them."""
    from rechain.experiments.analyze import _ranking_line
    t = _sobol(lambda X: 10 * X[:, 0] + X[:, 1], 2)
    r = ranking_resolution(t, 2, "sobol")
    assert not r["resolved"] and r["intervals_unknown"] and r["samples_needed"] is None
    line = _ranking_line("k", r, 2, "sobol")
    assert "could not be estimated from so few samples; run more" in line and "equal" not in line
