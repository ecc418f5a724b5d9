"""rechain from EMA Workbench, as the README shows: a picklable ScenarioFunction as the
function of an ``ema_workbench.Model``, run by the sequential and the multiprocessing
evaluators."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from rechain.scenario import ScenarioError
from rechain.sweep import ScenarioFunction, make_model_function, model_function

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"
GRID = DATA / "tiny_grid.toml"
OUTCOMES = ["price_peak_prnd_oxide", "magnet_output_2024_t"]


@pytest.fixture(scope="module")
def short(tmp_path_factory) -> Path:
    """Two months of the tiny scenario: a run takes a tenth of a second."""
    path = tmp_path_factory.mktemp("ema") / "short.toml"
    path.write_text(f'extends = "{TINY.as_posix()}"\nname = "short"\nend = 2024-02-29\nspin_up_weeks = 2\n')
    return path


@pytest.fixture(scope="module")
def ema():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # "ipyparallel not installed", and the like
        return pytest.importorskip("ema_workbench")


def test_scenario_function_is_picklable_and_a_plain_function(short):
    f = ScenarioFunction(short, seed=4, outcomes=OUTCOMES)
    g = pickle.loads(pickle.dumps(f))
    k = g(**{"behaviour.w_news": 1.5})
    assert list(k) == OUTCOMES and k == f(**{"behaviour.w_news": 1.5})
    assert k == {n: v for n, v in model_function(base=short, seed=4, **{"behaviour.w_news": 1.5}).items() if n in OUTCOMES}
    assert f(**{"behaviour.w_news": 1.5, "seed": 5}) != k               # a call may give its own seed
    # ... as a sampler hands an integer over (4.0 is seed 4), never a fraction or a negative
    assert f(**{"behaviour.w_news": 1.5, "seed": 4.0}) == k
    for bad in (4.5, -1, True):
        with pytest.raises(ValueError, match=r"seed: given .*; allowed: a whole number >= 0"):
            f(**{"behaviour.w_news": 1.5, "seed": bad})
    with pytest.raises(ValueError, match=r"seed: given -2"):
        model_function(base=short, seed=-2)
    # bound to a sweep: its parameter names and KPIs
    s = pickle.loads(pickle.dumps(make_model_function(GRID, seed=4)))
    assert set(s(approval=0.3)) == {"price_peak_prnd_oxide", "exports_2024_t", "magnet_output_2024_t",
                                    "licences_refused_t"}
    with pytest.raises(ScenarioError, match="did you mean 'price_peak_prnd_oxide'"):
        ScenarioFunction(short, outcomes=["price_peak_prnd_oxid"])
    with pytest.raises(ScenarioError, match="not found"):
        ScenarioFunction(DATA / "nowhere.toml")


def _model(ema, short):
    model = ema.Model("rechain", function=ScenarioFunction(short, seed=2, outcomes=OUTCOMES))
    model.uncertainties = [ema.RealParameter("w_news", 0.5, 2.0, variable_name="behaviour.w_news"),
                           ema.RealParameter("noise", 0.0, 0.03, variable_name="behaviour.noise")]
    model.outcomes = [ema.ScalarOutcome(n) for n in OUTCOMES]
    return model


@pytest.mark.parametrize("evaluator", ["SequentialEvaluator", "MultiprocessingEvaluator"])
def test_ema_workbench_runs_rechain(ema, short, evaluator):
    model = _model(ema, short)
    kwargs = {"n_processes": 2} if evaluator == "MultiprocessingEvaluator" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with getattr(ema, evaluator)(model, **kwargs) as ev:
            experiments, outcomes = ev.perform_experiments(scenarios=2, uncertainty_sampling=ema.Samplers.SOBOL)
    assert len(experiments) == 2 * (2 * 2 + 2)              # Saltelli: N (2D + 2) with second order
    assert all(np.isfinite(outcomes[n]).all() and len(outcomes[n]) == len(experiments) for n in OUTCOMES)
    # each row is what the function gives for that experiment's values
    f = ScenarioFunction(short, seed=2, outcomes=OUTCOMES)
    for i in (0, len(experiments) - 1):
        row = experiments.iloc[i]
        k = f(**{"behaviour.w_news": row["w_news"], "behaviour.noise": row["noise"]})
        assert [outcomes[n][i] for n in OUTCOMES] == pytest.approx([k[n] for n in OUTCOMES])


def test_numpy_numbers_are_the_numbers_they_hold(short):
    """SALib, EMA Workbench and pandas hand over numpy scalars: a numpy whole number was
    refused as "not a whole number"."""
    f = ScenarioFunction(str(short), outcomes=["price_peak_prnd_oxide"])
    assert f(**{"firms.rock_miners.count": np.int64(3)}) == f(**{"firms.rock_miners.count": 3})
    assert f(**{"behaviour.w_trend": np.float32(0.25)}) == f(**{"behaviour.w_trend": 0.25})


def test_one_outcome_named_alone_is_that_outcome(short):
    """outcomes="price_peak_prnd_oxide" was read letter by letter: "unknown KPI 'p'"."""
    f = ScenarioFunction(str(short), outcomes="price_peak_prnd_oxide")
    assert f.outcomes == ["price_peak_prnd_oxide"] and list(f()) == ["price_peak_prnd_oxide"]
