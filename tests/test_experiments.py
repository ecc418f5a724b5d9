"""One way to run experiments: sweep, compare, validate and calibrate share one executor,
and calibrate's Latin hypercube is the sweep's.

Runs use the six-month scenario ``tests/data/tiny.toml``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rechain.cli import main
from rechain.experiments import executor
from rechain.experiments.calibrate import PRICE_BAND, _scores, search_sweep
from rechain.experiments.compare import compare
from rechain.experiments.designs import Parameter, latin_hypercube
from rechain.experiments.executor import SerialExecutor, open_executor
from rechain.experiments.store import load_results, sweep_manifest
from rechain.experiments.sweep import load_sweep
from rechain.experiments.validate import load_facts, validate

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"
SPACE = {"behaviour.w_news": {"min": 0.8, "max": 2.0}, "behaviour.restock_strength": {"min": 0.6, "max": 2.0},
         "behaviour.stock_adjust_weeks": {"min": 3.0, "max": 8.0}}


def write_space(tmp_path: Path) -> Path:
    path = tmp_path / "space.toml"
    path.write_text("[parameters]\n" + "".join(f'"{k}" = {{ min = {v["min"]}, max = {v["max"]} }}\n'
                                              for k, v in SPACE.items()))
    return path


def tiny_whatif(tmp_path: Path) -> Path:
    """A what-if of the tiny scenario, for compare: magnet exports banned from February."""
    path = tmp_path / "tiny_ban.toml"
    path.write_text(f'extends = "{TINY.as_posix()}"\nname = "tiny_ban"\n[[export_controls]]\nname = "ban"\n'
                    'products = ["magnet_uh", "magnet_std"]\nstart = 2024-02-01\n'
                    'approval = [{ start = 2024-02-01, rate = 0.0 }]\n', encoding="utf-8")
    return path


def tiny_facts(tmp_path: Path) -> list:
    """Facts on the months of the tiny run (those of data/facts.csv are on 2024-2026)."""
    head = ("fact_id,required,description,variable,stage,product,region,period,measure,base_period,comparison,"
            "target,tolerance,unit,other_variable,other_stage,other_product,other_region,seed_fact,source,note")
    rows = ["T1,true,d,production,magnet_makers,magnet_std+magnet_uh,*,2024-04,mom_pct,,within,0,5,%,,,,,,000,",
            "T2,false,d,price,market,prnd_oxide,*,2024-02/2024-05,level,,at_least,400000,0,yuan/t,,,,,,000,",
            "T3,false,d,exports,magnet_makers,magnet_std+magnet_uh,*,2024-05,mom_pct,,direction_up,,0,%,,,,,,000,"]
    path = tmp_path / "facts.csv"
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return load_facts(path)


def _square(x: int) -> int:
    return x * x


def _shared_plus(x: int) -> int:
    return executor.shared() + x


# --------------------------------------------------------------------------- the executor
@pytest.mark.parametrize("workers", [1, 2])
def test_executor_yields_every_result_once_with_its_index(workers):
    with open_executor(workers, tasks=7) as ex:
        got = dict(ex.map(_square, iter(range(7)), window=3))
    assert got == {i: i * i for i in range(7)}
    with open_executor(workers, shared=100) as ex:
        assert sorted(r for _, r in ex.map(_shared_plus, [1, 2, 3])) == [101, 102, 103]
    assert executor.shared() is None          # the serial executor puts the shared object back


def test_batches_are_lazy_and_cover_every_item_once():
    assert list(executor.batches(iter(range(5)), 2)) == [[0, 1], [2, 3], [4]]
    assert executor.batch_size(8, 2) == 1 and executor.batch_size(1000, 2) == 16 and executor.batch_size(0, 4) == 1


def test_one_task_or_one_worker_runs_in_this_process():
    assert isinstance(open_executor(4, tasks=1), SerialExecutor)
    assert isinstance(open_executor(1), SerialExecutor)


@pytest.fixture
def executor_calls(monkeypatch):
    """The functions each experiment hands to the one executor, by name."""
    calls: list[str] = []
    real = executor._Executor.map

    def spy(self, fn, items, window=None):
        calls.append(fn.__name__)
        return real(self, fn, items, window)

    monkeypatch.setattr(executor._Executor, "map", spy)
    return calls


def test_the_four_commands_go_through_the_one_executor(tmp_path, executor_calls):
    whatif = tiny_whatif(tmp_path)
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'base = "{TINY.as_posix()}"\n[overrides]\nend = 2024-02-29\n'
                     '[parameters]\n"behaviour.noise" = { levels = [0.0] }\n[outputs]\nkpis = ["price_peak_prnd_oxide"]\n')
    space = tmp_path / "one.toml"
    space.write_text('[parameters]\n"behaviour.w_news" = { min = 0.8, max = 2.0 }\n')
    commands = {
        "sweep": ["sweep", str(sweep), "--workers", "1", "--out", str(tmp_path / "sw"), "--quiet"],
        "compare": ["compare", str(TINY), str(whatif), "--workers", "1", "--rerun", "--no-figures", "--quiet",
                    "--out", str(tmp_path / "cmp")],
        "calibrate": ["calibrate", str(TINY), "--space", str(space), "--samples", "1", "--replicates", "1",
                      "--finalists", "1", "--final-replicates", "1", "--workers", "1", "--quiet",
                      "--out", str(tmp_path / "cal")],
    }
    seen = {}
    for name, args in commands.items():
        executor_calls.clear()
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        seen[name] = list(executor_calls)
    executor_calls.clear()          # validate's command checks data/facts.csv, on 2024-2026: the function
    validate(TINY, replicates=1, workers=1, facts=tiny_facts(tmp_path))
    seen["validate"] = list(executor_calls)
    assert seen == {"sweep": ["run_batch"], "compare": ["_run_one"], "validate": ["_run_monthly"],
                    "calibrate": ["run_batch", "run_batch"]}     # the search, then the finalists


# --------------------------------------------------------------------------- serial = parallel
def test_compare_serial_and_two_processes_give_identical_tables(tmp_path):
    tiny_pair = [TINY, tiny_whatif(tmp_path)]
    one = compare(tiny_pair, seeds=[0, 1], workers=1, runs_dir=None, write=False)
    two = compare(tiny_pair, seeds=[0, 1], workers=2, runs_dir=None, write=False)
    pd.testing.assert_frame_equal(one.kpis, two.kpis)
    pd.testing.assert_frame_equal(one.by_seed, two.by_seed)
    pd.testing.assert_frame_equal(one.series, two.series)


def test_validate_serial_and_two_processes_give_identical_tables(tmp_path):
    facts = tiny_facts(tmp_path)
    one = validate(TINY, replicates=2, workers=1, facts=facts)
    two = validate(TINY, replicates=2, workers=2, facts=facts)
    pd.testing.assert_frame_equal(one.table, two.table)
    for a, b in zip(one.monthly, two.monthly):
        pd.testing.assert_frame_equal(a, b)
    assert not one.monthly[0].equals(one.monthly[1])      # seed i at index i, whatever finished first


# --------------------------------------------------------------------------- calibrate is a sweep
def test_calibrate_draws_the_sweeps_latin_hypercube(tmp_path):
    space = write_space(tmp_path)
    search = search_sweep(TINY, space, samples=6, replicates=2, seed=7)
    sweep = load_sweep({"base": str(TINY), "design": "lhs", "samples": 6, "root_seed": 7,
                        "parameters": SPACE, "outputs": {"kpis": ["price_peak_prnd_oxide"]}})
    assert search.points[1:] == sweep.points             # candidate 0 is the scenario's own values
    assert search.unit_points[1:] == sweep.unit_points
    assert search.points[0]["behaviour.w_news"] == pytest.approx(load_sweep(
        {"base": str(TINY), "parameters": {"behaviour.w_news": {"levels": [1.0]}}}).parameters[0].base_value)
    params = [Parameter(k, k, tuple(k.split(".")), "range", min=v["min"], max=v["max"]) for k, v in SPACE.items()]
    np.testing.assert_array_equal(latin_hypercube(params, 6, 7), np.array(sweep.unit_points))
    # common random numbers: replicate r of every candidate runs with the same seed
    assert {search.run_of(2 * c + 1)[2] for c in range(search.n_points)} == {search.run_of(1)[2]}
    assert search.run_of(0)[2] != search.run_of(1)[2]


def _runs(quiet: dict[str, list[float]]) -> pd.DataFrame:
    facts = [f.fact_id for f in load_facts()]
    rows = []
    for point, (cv, low, high) in enumerate(zip(quiet["cv"], quiet["low"], quiet["high"])):
        rows.append({"run_id": point, "point_id": point, "replicate": 0, "status": "ok", "quiet_cv": cv,
                     "quiet_price_low": low, "quiet_price_high": high, **{f: np.nan for f in facts}})
    return pd.DataFrame(rows)


def test_a_candidate_whose_quiet_prices_drift_is_unstable():
    lo, hi = PRICE_BAND
    scores = _scores(_runs({"cv": [0.05, 0.05, 0.05, 0.2], "low": [0.9, lo - 0.01, 0.9, 0.9],
                            "high": [1.1, 1.1, hi + 0.01, 1.1]}), max_quiet_cv=0.1)
    assert [scores[p]["stable"] for p in range(4)] == [True, False, False, False]


def test_calibration_writes_sweep_folders_and_resumes(tmp_path):
    space = tmp_path / "one.toml"
    space.write_text('[parameters]\n"behaviour.w_news" = { min = 0.8, max = 2.0 }\n')
    out = tmp_path / "cal"
    args = ["calibrate", str(TINY), "--space", str(space), "--samples", "2", "--replicates", "1",
            "--finalists", "1", "--final-replicates", "2", "--workers", "1", "--quiet", "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    for stage, n_runs in (("search", 3), ("final", 2)):
        man = sweep_manifest(out / stage)
        assert man is not None and man["n_runs"] == n_runs
        runs, _ = load_results(out / stage)
        assert list(runs["run_id"]) == list(range(n_runs)) and (runs["status"] == "ok").all()
    search, _ = load_results(out / "search")
    assert search["quiet_cv"].notna().all() and (search["quiet_price_low"] > 0).all()
    before = (out / "candidates.csv").read_text()
    assert json.loads((out / ".rechain-output.json").read_text())["kind"] == "calibration"

    res = CliRunner().invoke(main, args)                  # a calibration is never replaced silently
    assert res.exit_code == 2 and "--resume" in res.output
    res = CliRunner().invoke(main, [*args, "--resume"])   # everything is done: nothing runs again
    assert res.exit_code == 0, res.output
    assert (out / "candidates.csv").read_text() == before
    res = CliRunner().invoke(main, [*args[:-2], "--seed", "1", "--out", str(out), "--resume"])
    assert res.exit_code == 2 and "other settings" in res.output


def test_the_python_api_takes_numpy_seeds_and_refuses_what_it_cannot_run(tmp_path):
    """A notebook's seeds come as numpy integers; a bool, a float, a negative or a repeated
    seed, a lone scenario or a scenario edited into nonsense is refused before any run."""
    import datetime as dt

    import rechain
    from rechain.scenario import ScenarioError

    tiny_pair = [TINY, tiny_whatif(tmp_path)]
    sc = rechain.load_scenario(tiny_pair[0])
    short = sc.model_copy(update={"end": dt.date(2024, 2, 29)})
    res = rechain.run(short, seed=np.int64(3))
    assert res.seed == 3 and type(res.manifest["seed"]) is int
    for seed in (True, 1.5, -1):
        with pytest.raises(ValueError, match=r"seed: given .*; allowed: a whole number >= 0"):
            rechain.run(short, seed=seed)
    edited = rechain.load_scenario(tiny_pair[0])
    edited.behaviour.restock_strength = -5.0
    with pytest.raises(ScenarioError, match="restock_strength: given -5.0"):
        rechain.run(edited)
    edited = rechain.load_scenario(tiny_pair[0])
    edited.end = dt.date(2023, 1, 1)
    with pytest.raises(ScenarioError, match="end"):
        rechain.run(edited)
    for seeds, says in [(1.5, "seeds: given 1.5"), ([0, 0], "a seed twice"), ([0, -1], "seeds: given"),
                        ([], "at least one seed")]:
        with pytest.raises(ValueError, match=says):
            compare(tiny_pair, seeds=seeds, workers=1, runs_dir=None, write=False)
    with pytest.raises(ValueError, match="given one scenario"):
        compare(str(tiny_pair[0]), seeds=1, workers=1, runs_dir=None, write=False)


# --------------------------------------------------------------------------- compare's inputs
@pytest.mark.parametrize("value", ["abc", "nan", "inf", "-inf"])
def test_compare_runs_again_rather_than_read_a_run_whose_figures_are_not_numbers(value, tmp_path):
    """A finished run whose monthly.csv has a figure edited into text, NaN or infinity is not that run any
    more: compare runs the scenario again (as for a table cut short) and leaves the folder as it is."""
    runs = tmp_path / "outputs"
    res = CliRunner().invoke(main, ["run", str(TINY), "--out", str(runs / "tiny-seed0"), "--quiet", "--no-figures"])
    assert res.exit_code == 0, res.output
    monthly = runs / "tiny-seed0" / "monthly.csv"
    lines = monthly.read_text().splitlines(keepends=True)
    cells = lines[5].split(",")
    cells[-2] = value
    monthly.write_text("".join([*lines[:5], ",".join(cells), *lines[6:]]))
    before = monthly.read_bytes()
    out = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["compare", str(TINY), str(tiny_whatif(tmp_path)), "--runs-dir", str(runs),
                                    "--out", str(out), "--workers", "1", "--no-figures", "--quiet"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "compare.json").read_text())["reused_runs"] == []
    assert pd.read_csv(out / "kpis_long.csv")["mean"].notna().any() and monthly.read_bytes() == before


def test_compare_says_when_the_periods_differ(tmp_path):
    """A what-if ending before the reference: compared, with one line saying each scenario's
    months and the months they share."""
    short = tmp_path / "tiny_short.toml"
    short.write_text(f'extends = "{TINY.as_posix()}"\nname = "tiny_short"\nend = 2024-03-31\n', encoding="utf-8")
    comp = compare([TINY, short], seeds=[0], workers=1, runs_dir=None, write=False)
    assert comp.period_note.startswith("the periods differ (tiny 2024-01..2024-06, tiny_short 2024-01..2024-03; "
                                       "months all share: 2024-01..2024-03)")
    res = CliRunner().invoke(main, ["compare", str(TINY), str(short), "--out", str(tmp_path / "cmp"), "--rerun",
                                    "--workers", "1", "--no-figures", "--quiet"])
    assert res.exit_code == 0, res.output
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("warning: the periods differ (tiny 2024-01..2024-06")
    # the key figures are over the shared months: the reference's equal those of its own run cut there
    import rechain
    from rechain.experiments.compare import _kpis_of_run
    assert set(comp.series.loc[comp.series["scenario"] == "tiny", "month"]) > \
        set(comp.series.loc[comp.series["scenario"] == "tiny_short", "month"])
    whole = rechain.run(TINY, seed=0).monthly
    cut = _kpis_of_run(whole[whole["month"] <= "2024-03"], None)
    assert comp.kpis.loc[("magnet_output_t", "t"), "tiny"] == pytest.approx(cut["magnet_output_t"])
    assert comp.kpis.loc[("magnet_output_t", "t"), "tiny"] < _kpis_of_run(whole, None)["magnet_output_t"]
    out = tmp_path / "cmp"
    assert "**Note:** the periods differ" in (out / "kpis.md").read_text()
    assert json.loads((out / "compare.json").read_text())["period_note"] == comp.period_note
    assert compare([TINY, tiny_whatif(tmp_path)], seeds=[0], workers=1, runs_dir=None,
                   write=False).period_note == ""


def test_runs_that_share_no_month_alike_are_refused_before_any_run(tmp_path, monkeypatch):
    """A what-if ending Wednesday 31 January 2024 beside the whole baseline shares no month
    simulated alike (its January holds 1-4 February): compare went on and set the reference's
    whole-period totals beside the what-if's one month as 'like for like' (-97 % magnet output;
    an outside audit, December 2026)."""
    import rechain.experiments.compare as cmp
    from rechain.scenario import ScenarioError
    monkeypatch.setattr(cmp, "_run_one", lambda *a, **k: pytest.fail("ran before refusing"))
    short = tmp_path / "tiny_jan.toml"
    short.write_text(f'extends = "{TINY.as_posix()}"\nname = "tiny_jan"\nend = 2024-01-31\n', encoding="utf-8")
    out = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["compare", str(TINY), str(short), "--out", str(out), "--workers", "1",
                                    "--no-figures", "--quiet"])
    assert res.exit_code == 2, res.output
    assert res.output.startswith(f"error: {short}: start, end: given 2024-01-01..2024-01-31 (tiny_jan)"), res.output
    assert "allowed: periods that share at least one such month" in res.output and res.output.count("\n") == 1
    assert not out.exists()
    with pytest.raises(ScenarioError, match="no month that every run simulates whole and alike"):
        compare([TINY, short], seeds=[0], workers=1, runs_dir=None, write=False)


def test_a_run_ending_mid_week_leaves_its_last_month_out_of_the_shared_months(tmp_path):
    """A run's last week is whole, and its days past the end are reported in the last month: a
    what-if ending on Tuesday 30 September 2025, nothing else changed, showed 2,542 t more
    magnet output than the baseline 'like for like' (an outside analyst's audit)."""
    short = tmp_path / "tiny_thursday.toml"
    short.write_text(f'extends = "{TINY.as_posix()}"\nname = "tiny_thursday"\nend = 2024-02-29\n', encoding="utf-8")
    comp = compare([TINY, short], seeds=[0], workers=1, runs_dir=None, write=False)
    assert "months all share: 2024-01..2024-01)" in comp.period_note, comp.period_note
    assert comp.kpis.loc[("magnet_output_t", "t"), "tiny_thursday"] == \
        pytest.approx(comp.kpis.loc[("magnet_output_t", "t"), "tiny"], rel=1e-3)
    # February itself: the short run books its last week's Friday, 1 March, into it
    import rechain
    runs = [rechain.run(sc, seed=0).monthly for sc in (TINY, short)]
    made = [float(t[(t["variable"] == "production") & (t["stage"] == "magnet_makers")
                    & (t["month"] == "2024-02")]["value"].sum()) for t in runs]
    assert made[1] > made[0] * 1.02, made
    # the same end day for both: their last month is alike, and shared
    other = tmp_path / "tiny_thursday2.toml"
    other.write_text(f'extends = "{short.as_posix()}"\nname = "tiny_thursday2"\n', encoding="utf-8")
    assert compare([short, other], seeds=[0], workers=1, runs_dir=None, write=False).period_note == ""
