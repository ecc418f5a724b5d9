"""Findings of an outside modeller's audit of sweeps, analysis and calibration (December 2026):
each case as the outsider met it, held here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rechain.analyze import morris_indices, ranking_resolution, sobol_indices
from rechain.scenario import ScenarioError

TINY = Path(__file__).resolve().parent / "data" / "tiny.toml"
PROBLEM = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0]] * 3}


def test_a_resumed_calibration_does_not_write_over_an_edited_best_toml(tmp_path):
    """best.toml edited by hand, then `calibrate --resume`: the edit was gone, status 0. The
    docs invite the user to paste or run best.toml, and promise a file edited since is never
    touched."""
    from rechain.experiments.calibrate import _check_calibration_out
    from rechain.outputs import OutputError, begin_output, restamp
    out = tmp_path / "cal"
    with begin_output(out, "calibration", files=["search", "candidates.csv", "best.toml"], open_=True):
        (out / "best.toml").write_text("# best\n", encoding="utf-8")
        (out / "candidates.csv").write_text("candidate\n0\n", encoding="utf-8")
    restamp(out, ["candidates.csv", "best.toml"])
    _check_calibration_out(out, resume=True)                       # as rechain wrote it: resumes
    with begin_output(out, "calibration", files=["search", "candidates.csv", "best.toml"], open_=True):
        pass                                                       # a resume rewrites the marker ...
    (out / "best.toml").write_text("# best\n# my edit: hand-tuned\n", encoding="utf-8")
    with pytest.raises(OutputError, match=r"holds files changed since rechain wrote them \(best.toml\); resuming the "
                                          r"calibration would write over them"):
        _check_calibration_out(out, resume=True)                   # ... and keeps the stamps


def test_a_resumed_sweep_does_not_write_over_an_edited_errors_csv(tmp_path):
    from rechain.outputs import OutputError, refuse_edited, restamp, write_marker
    out = tmp_path / "sweep"
    out.mkdir()
    write_marker(out, "sweep", files=["manifest.json", "errors.csv"], open_=True)
    (out / "errors.csv").write_text("run_id,error\n3,boom\n", encoding="utf-8")
    restamp(out, ["errors.csv"])
    refuse_edited(out, "sweep")
    (out / "errors.csv").write_text("run_id,error\n3,boom (my note)\n", encoding="utf-8")
    with pytest.raises(OutputError, match="errors.csv"):
        refuse_edited(out, "sweep")
    (out / "errors.csv").unlink()                                   # removed: nothing to write over
    refuse_edited(out, "sweep")


def test_morris_from_two_trajectories_names_no_most_influential_parameter():
    """A Morris sweep of 2 trajectories: analyze called restock_strength the most influential,
    "the confidence intervals do not overlap", from intervals bootstrapped out of two values."""
    from SALib.sample import morris as morris_sample
    f = lambda X: 10 * X[:, 0] + X[:, 1]        # noqa: E731
    X = morris_sample.sample(PROBLEM, 2, num_levels=4, seed=1)
    t = morris_indices(PROBLEM, X, f(X), num_levels=4, seed=1)
    assert t["mu_star_conf"].isna().all()
    r = ranking_resolution(t, 2, "morris")
    assert not r["resolved"] and r["intervals_unknown"]
    X = morris_sample.sample(PROBLEM, 8, num_levels=4, seed=1)
    assert morris_indices(PROBLEM, X, f(X), num_levels=4, seed=1)["mu_star_conf"].notna().all()


def test_second_order_indices_are_kept():
    """`second_order = true` ran N x (2k + 2) points, and analyze threw the S2 indices away."""
    from SALib.sample import sobol
    X = sobol.sample(PROBLEM, 64, calc_second_order=True, scramble=True, seed=1)
    y = X[:, 0] * X[:, 1] + 0.1 * X[:, 2]
    s2 = sobol_indices(PROBLEM, y, second_order=True, seed=1).attrs["second_order"]
    assert len(s2) == 3 and set(zip(s2["parameter_a"], s2["parameter_b"])) == {("a", "b"), ("a", "c"), ("b", "c")}
    assert s2.iloc[0][["parameter_a", "parameter_b"]].tolist() == ["a", "b"]      # the one interaction
    X1 = sobol.sample(PROBLEM, 16, calc_second_order=False, scramble=True, seed=1)
    assert "second_order" not in sobol_indices(PROBLEM, X1[:, 0] * X1[:, 1], seed=1).attrs


def test_indices_outside_zero_to_one_are_read_as_noise_and_not_extrapolated():
    """N = 4: S1 -1.34 and ST 1.77 with no warning, and "about N = 524,288 would separate them"."""
    from rechain.experiments.analyze import FAR_MULTIPLE, _out_of_range
    t = pd.DataFrame({"kpi": "k", "parameter": ["a", "b"], "S1": [-1.337, 0.2], "ST": [1.774, 0.9],
                      "ST_conf": [3.4, 9.3], "S1_conf": [1.0, 1.0]})
    assert _out_of_range(t) == "S1 -1.34 for a (k)"                  # the one furthest outside
    assert _out_of_range(t.assign(S1=[0.05, 0.2], ST=[1.05, 0.9])) == ""          # rounding, not noise
    r = ranking_resolution(t.assign(ST=[1.0, 0.9]), 4, "sobol")         # 4 (12.7 / 0.1)^2: 64,516
    assert not r["resolved"] and r["samples_needed"] is None and r["far"] and FAR_MULTIPLE * 4 < 64_516
    r = ranking_resolution(t.assign(ST=[1.0, 0.1], ST_conf=[0.5, 0.5]), 4, "sobol")
    assert r["samples_needed"] == 8 and not r.get("far")                 # within reach: the figure is given


def _sweep(tmp_path, body: str) -> Path:
    f = tmp_path / "s.toml"
    f.write_text(f'base = "{TINY.as_posix()}"\n{body}', encoding="utf-8")
    return f


def test_an_odd_number_of_morris_levels_is_refused(tmp_path):
    """morris_levels = 3 sampled 2.3125 on the grid 0.25, 1.625, 3.0 (SALib's warning hidden)."""
    from rechain.experiments.sweep import load_sweep
    f = _sweep(tmp_path, 'design = "morris"\nsamples = 2\nmorris_levels = 3\n[parameters]\n'
                         '"behaviour.restock_strength" = { min = 0.25, max = 3.0 }\n')
    with pytest.raises(ScenarioError, match=r"line 4: morris_levels: given 3; allowed: an even number of levels"):
        load_sweep(f)


def test_every_mistake_of_the_sweep_file_is_told_at_once(tmp_path):
    """name = "my/sweep" beside replicates = 0: only replicates was told; an lhs without samples
    beside a key swept and overridden: only the clash (a check against the base) was told."""
    from rechain.experiments.sweep import load_sweep
    f = _sweep(tmp_path, 'name = "my/sweep"\nreplicates = 0\n[parameters]\n"behaviour.w_news" = { levels = [1.0, 2.0] }\n')
    with pytest.raises(ScenarioError) as e:
        load_sweep(f)
    assert {x.key for x in e.value.errors} == {"name", "replicates"}, str(e.value)
    f = _sweep(tmp_path, 'design = "lhs"\n[parameters]\n"behaviour.w_news" = { min = 1.0, max = 2.0 }\n'
                         '[overrides]\nbehaviour = { w_news = 1.5 }\n')
    with pytest.raises(ScenarioError, match="a lhs design needs samples = N"):
        load_sweep(f)


def test_a_series_mistake_is_placed_on_its_own_line(tmp_path):
    """'prnd_oxid' was placed on the kpis line, whose "price_mean_prnd_oxide" holds it."""
    from rechain.experiments.sweep import load_sweep
    f = _sweep(tmp_path, 'design = "grid"\n[parameters]\n"behaviour.w_news" = { levels = [1.0, 2.0] }\n'
                         '[outputs]\nkpis = ["price_mean_prnd_oxide"]\n'
                         'series = [{ variable = "price", product = "prnd_oxid" }]\n')
    with pytest.raises(ScenarioError, match=r"line 7: outputs.series\[0\].product: unknown product 'prnd_oxid'"):
        load_sweep(f)


def test_the_resume_hint_of_a_calibration_repeats_its_options():
    from rechain.experiments.calibrate import _options_given
    assert _options_given(samples=4, refine=2, popsize=3, space=None, also=(Path("era.toml"),), holdout=(),
                          workers=1) == " --samples 4 --refine 2 --popsize 3 --also era.toml --workers 1"


def test_analyze_warns_of_indices_the_samples_do_not_measure():
    from rechain.experiments.analyze import _too_few_samples
    t = pd.DataFrame({"kpi": "k", "parameter": ["a", "b"], "S1": [-1.337, 0.2], "ST": [1.774, 0.9]})
    assert _too_few_samples("sobol", 4, t).startswith("S1 -1.34 for a (k): an index outside 0-1 is sampling noise")
    assert _too_few_samples("sobol", 64, t.assign(S1=[0.3, 0.2], ST=[0.6, 0.4])) == ""
    m = pd.DataFrame({"kpi": "k", "parameter": ["a", "b"], "mu_star": [2.0, 1.0]})
    assert "no parameter is named the most influential" in _too_few_samples("morris", 2, m)
    assert _too_few_samples("morris", 8, m) == ""
