"""Findings of a third outside-style round (an analyst writing eras and what-ifs; a modeller
driving the commands and the API): each case as the outsider met it, held here."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from support import BASELINE
from support import what_if as _what_if

import rechain
from rechain.cli import main
from rechain.experiments import executor
from rechain.experiments.validate import parse_period
from rechain.model import ChainModel
from rechain.network import RESERVE
from rechain.outputs import output_dir

ROOT = Path(__file__).resolve().parents[1]
SHORT: dict = {}    # the whole baseline: the Pr-Nd price passes 1.25x its long-run price in 2026


# --- a reserve that never trades acts on nothing ---------------------------------------------
@pytest.mark.parametrize("stockpile", [
    # buys only far below the long-run price, so never in this run; holds nothing to release
    {"products": ["tb_oxide"], "buy_t_per_yr": {"tb_oxide": 1}, "max_stock_t": {"tb_oxide": 1},
     "buy_below_share": 0.0001, "sell_above_share": 1000},
    # no rate and no stock: check says it can neither buy nor release; prices do pass its band
    {"products": ["prnd_oxide"], "buy_below_share": 1.2, "sell_above_share": 1.25},
])
def test_a_reserve_that_never_trades_leaves_the_run_as_it_was(make_scenario, stockpile):
    """Its links carry no orders while it releases nothing and spread no sentiment, and the
    opening state passes it no orders: every other firm's books are the base run's, week by
    week (before, 7,000 monthly values moved, Pr-Nd by up to 11 %, and compare read that as
    the policy's effect)."""
    base = ChainModel(make_scenario(SHORT), seed=2)
    more = ChainModel(make_scenario({**SHORT, "stockpile": stockpile}), seed=2)
    others = more.world.firms.kind != RESERVE
    assert others.sum() == base.world.n_firms
    for _ in range(base.world.calendar.n_weeks):
        base.step()
        more.step()
    assert np.array_equal(base.firms.stock_t, more.firms.stock_t[others])
    assert np.array_equal(base.market.price_yuan_per_t, more.market.price_yuan_per_t)
    assert more.firms.stock_t[~others].sum() == 0.0


def test_a_reserve_that_releases_sells_its_stock(make_scenario):
    """The other side: a reserve with stock, releasing in a spike (sell_above_share below 1),
    gets contract orders from the magnet makers and ships them."""
    sc = make_scenario({**SHORT, "stockpile": {"products": ["dy_oxide"], "initial_stock_t": {"dy_oxide": 500},
                                               "buy_below_share": 0.0001, "sell_above_share": 0.01}})
    m = ChainModel(sc, seed=2)
    reserve = m.world.firms.kind == RESERVE
    dy = m.world.materials.p("dy_oxide")
    for _ in range(8):
        m.step()
    assert m.firms.stock_t[reserve, dy].sum() < 500


# --- check: levers that act on nothing -------------------------------------------------------
@pytest.mark.parametrize("body, said", [
    ('[[news]]\nname = "x"\ndate = 2025-01-06\nsign = 1\nstrength = 0.3\nstages = ["overseas_buyers"]\n'
     'regions = ["china"]\n',
     "news[11] (x): no firms of stages ['overseas_buyers'] are in regions ['china']"),
    ('[[disruptions]]\nname = "x"\ntarget = "foreign_producers"\nore_type = "ionic"\nstart = 2025-01-01\n'
     'end = 2025-12-31\ncapacity_offline_share = 1.0\n',
     "'foreign_producers' firms have no 'ionic' ore (they have ['rock']); it acts on nothing"),
    ('[quota_policy]\nprovisional_share = 0.25\n',
     "quota_policy.provisional_share: it is at or below quota_policy.advance_share (0.5)"),
])
def test_check_warns_of_levers_that_act_on_nothing(tmp_path, body, said):
    res = CliRunner().invoke(main, ["check", str(_what_if(tmp_path, body))])
    assert res.exit_code == 0, res.output
    assert said in res.output


def test_check_is_quiet_where_those_levers_act(tmp_path):
    """The same levers set where they act: no warning (news heard abroad, foreign producers of
    rock ore, a provisional share above the advance share); the baseline says nothing."""
    body = ('[[news]]\nname = "x"\ndate = 2025-01-06\nsign = 1\nstrength = 0.3\nstages = ["overseas_buyers"]\n'
            'regions = ["eu"]\n[[disruptions]]\nname = "y"\ntarget = "foreign_producers"\nore_type = "rock"\n'
            'start = 2025-01-01\nend = 2025-12-31\ncapacity_offline_share = 1.0\n'
            '[quota_policy]\nprovisional_share = 0.8\n')
    for f in (_what_if(tmp_path, body), BASELINE):
        res = CliRunner().invoke(main, ["check", str(f)])
        assert res.exit_code == 0 and "warning" not in res.output, res.output


# --- report beside a base of another period; a table cut short --------------------------------
def test_report_shows_no_base_of_another_period(tmp_path):
    era = _what_if(tmp_path, 'start = 2027-01-01\nend = 2027-12-31\n', "era")     # the baseline's figures carried
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(era), "--no-figures", "--quiet", "--out", str(tmp_path / "era")]
                         ).exit_code == 0
    base = rechain.run(BASELINE, seed=0)
    base.save(tmp_path / "baseline-seed0", figures=False)
    res = runner.invoke(main, ["report", str(tmp_path / "era")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "era" / "report.html").read_text(encoding="utf-8")
    assert "vs base" not in page
    # by day since December 2026: a run ending on the 13th is no period of its base ending on the 31st
    assert "covers 2024-01-01 to 2026-12-31, not this run&#39;s 2027-01-01 to 2027-12-31" in page


def test_report_refuses_a_monthly_table_cut_short(tmp_path):
    """A monthly.csv with whole lines gone (a copy stopped half-way) is no run: before, the
    report said a shortfall of 0 t and no licences refused."""
    out = tmp_path / "r"
    assert CliRunner().invoke(main, ["run", str(BASELINE), "--no-figures", "--quiet", "--out", str(out)]
                              ).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"]["monthly.csv"] == len(pd.read_csv(out / "monthly.csv"))
    lines = (out / "monthly.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (out / "monthly.csv").write_text("".join(lines[:len(lines) // 2]), encoding="utf-8")
    res = CliRunner().invoke(main, ["report", str(out)])
    assert res.exit_code == 2
    assert f"monthly.csv: has {len(lines) // 2 - 1:,} rows where the run wrote" in res.output
    assert not (out / "report.html").exists()


# --- sweeps: a points table ------------------------------------------------------------------
def _sweep(tmp_path: Path, body: str, csv: str | None = None) -> Path:
    shutil.copy(BASELINE, tmp_path / "baseline.toml")
    if csv is not None:
        (tmp_path / "p.csv").write_text(csv, encoding="utf-8")
    f = tmp_path / "s.toml"
    f.write_text(f'name = "s"\nbase = "baseline.toml"\ndesign = "table"\n{body}', encoding="utf-8")
    return f


def test_a_table_design_takes_an_end_date_as_the_grid_does(tmp_path):
    """The base's dated items after a swept end are left out, as a grid's are."""
    from rechain.experiments.sweep import load_sweep
    sweep = load_sweep(_sweep(tmp_path, "points = [{end = 2025-06-30}]\n"))
    assert [p["end"].isoformat() for p in sweep.points] == ["2025-06-30"]


@pytest.mark.parametrize("cell, said", [
    ("", "value '' (in p.csv, point 1, line 2) does not give a valid scenario: behaviour.w_trend: given ''"),
    ("1_0", "value '1_0' (in p.csv, point 1, line 2)"),         # text, not the number 10
    ("nan", "value nan (in p.csv, point 1, line 2)"),
])
def test_a_bad_cell_of_a_points_table_is_named_by_its_table_and_point(tmp_path, cell, said):
    f = _sweep(tmp_path, 'points = "p.csv"\n', f"behaviour.w_trend,behaviour.restock_strength\n{cell},1.0\n0.2,1.0\n")
    res = CliRunner().invoke(main, ["sweep", str(f), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert f"points.behaviour.w_trend: {said}" in res.output
    assert "parameters.behaviour.w_trend" not in res.output
    assert not (tmp_path / "o").exists()


def test_a_points_column_that_is_no_key_is_named_as_a_column(tmp_path):
    f = _sweep(tmp_path, 'points = "p.csv"\n', "behaviour.zzz\n1\n")
    res = CliRunner().invoke(main, ["sweep", str(f), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "points.behaviour.zzz: column 'behaviour.zzz' of p.csv: not a key of the base scenario" in res.output


# --- facts, names too long, the API, SIGTERM -------------------------------------------------
def test_a_bad_base_period_is_named_base_period():
    from rechain.experiments.validate import FactError
    with pytest.raises(FactError, match=r"^base_period '2025-99': allowed YYYY-MM"):
        parse_period("2025-99", "base_period")


@pytest.mark.parametrize("command", [["analyze"], ["report"]])
def test_a_path_too_long_for_the_file_system_is_one_line(tmp_path, command):
    long = tmp_path / ("x" * 300)
    res = CliRunner().invoke(main, [*command, str(long)])
    assert res.exit_code == 2, res.output
    assert "the name is too long for the file system" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("given", [42, None, [1]])
def test_the_api_names_a_scenario_of_the_wrong_type(given):
    with pytest.raises(TypeError, match=r"^scenario: given .*; allowed: a Scenario, a dict or the path"):
        rechain.run(given)


def test_after_a_sigterm_whose_exit_was_dropped_no_output_is_written(tmp_path, monkeypatch):
    """Python drops an exit raised in a signal handler while a clean-up callback runs; the
    command then went on and wrote its output after saying it stopped. The SIGTERM is
    remembered: no output is begun or swapped in after it."""
    with pytest.raises(executor.Terminated):
        with output_dir(tmp_path / "out", "run") as tmp:
            (tmp / "a.csv").write_text("x\n1\n")
            monkeypatch.setattr(executor, "_terminated", True)      # came while it wrote
    assert [p.name for p in tmp_path.iterdir()] == []
    with pytest.raises(executor.Terminated):                        # and nothing begins after it
        with output_dir(tmp_path / "out", "run") as tmp:
            (tmp / "a.csv").write_text("x\n1\n")
    assert [p.name for p in tmp_path.iterdir()] == []


def test_a_ctrl_c_python_drops_still_stops_the_output(tmp_path):
    """Ctrl-C during `rechain run` could land in a clean-up callback (a weakref's, a library's
    __del__), where Python drops the KeyboardInterrupt: the run went on and wrote its output.
    Under ``interrupt_kept`` the interrupt is remembered: nothing is begun or swapped in."""
    import gc
    import signal
    before = signal.signal(signal.SIGINT, signal.default_int_handler)     # as a command starts
    try:
        with executor.interrupt_kept():
            handler = signal.getsignal(signal.SIGINT)
            assert handler is not signal.default_int_handler

            class Dropper:          # Ctrl-C arriving while this is collected
                def __del__(self):
                    handler(signal.SIGINT, None)

            Dropper()
            gc.collect()
            assert executor.was_interrupted()       # dropped, yet remembered
            with pytest.raises(KeyboardInterrupt):
                with output_dir(tmp_path / "out", "run") as tmp:
                    (tmp / "a.csv").write_text("x\n1\n")
        assert [p.name for p in tmp_path.iterdir()] == []
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler      # put back
    finally:
        executor.forget_terminated()
        signal.signal(signal.SIGINT, before)
    assert not executor.was_interrupted()


def test_a_stop_the_caller_handles_is_left_to_it():
    """Where SIGINT is the caller's own (not Python's default), interrupt_kept leaves it, and an
    error raised in the block keeps the stop it carries (it is not chained to anything)."""
    import signal
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with pytest.raises(SystemError) as info:
            with executor.interrupt_kept():
                assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
                try:
                    raise KeyboardInterrupt
                except KeyboardInterrupt:
                    raise SystemError("a kernel returned a result with an exception set")
        assert isinstance(info.value.__context__, KeyboardInterrupt)
    finally:
        signal.signal(signal.SIGINT, before)


def test_rechain_run_stops_on_a_dropped_ctrl_c(tmp_path, monkeypatch):
    """The run command asks at every week's end whether a Ctrl-C came: it ends with click's
    one line and status 130 (once click's 'Aborted!' and 1, which validate also gives a missed
    fact) and writes nothing."""
    import rechain.results as results

    def run_and_drop(sc, seed=0, progress=None, **kw):
        monkeypatch.setattr(executor, "_interrupted", True)     # as the handler does, its raise dropped
        progress(1)
        raise AssertionError("the run went on after Ctrl-C")

    monkeypatch.setattr(results, "run", run_and_drop)
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'extends = "{BASELINE.as_posix()}"\nend = 2024-03-31\n')
    res = CliRunner().invoke(main, ["run", str(scenario), "--no-figures", "--out", str(tmp_path / "out")])
    assert res.exit_code == 130, res.output
    assert "interrupted: stopped before it finished" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "out").exists()
    assert not executor.was_interrupted()       # the command's end forgets it


# --- validate's scoring (an analyst holding the model to records of their own) --------------
def _table(rows: list[tuple[str, str, float]], variable: str = "production") -> pd.DataFrame:
    return pd.DataFrame([{"month": m, "stage": "magnet_makers", "product": p, "region": "china",
                          "variable": variable, "value": v, "unit": "t"} for m, p, v in rows])


def test_a_flow_without_a_row_in_a_month_is_zero():
    """A run writes a flow's row only when something flowed: a seed that exported nothing
    counts 0 t, not 'not measured' (which failed a fact every replicate met)."""
    from rechain.experiments.validate import Fact, evaluate_fact
    table = _table([("2025-01", "magnet_std", 5.0), ("2025-01", "magnet_uh", 1.0), ("2025-02", "magnet_uh", 1.0),
                    ("2025-03", "magnet_uh", 1.0)])          # the run's months: 2025-01..03
    f = Fact("T", "production", "2025-02", product="magnet_std", comparison="at_least", target=0.0)
    got = evaluate_fact(f, table)
    assert got["value"] == 0.0 and got["ok"]
    whole = Fact("Y", "production", "2025-01/2025-03", product="magnet_std", comparison="within", target=5.0)
    assert evaluate_fact(whole, table)["value"] == 5.0
    # a month the run does not cover is no month of zero flow: not measured
    assert np.isnan(evaluate_fact(replace(f, period="2025-04"), table)["value"])


def test_change_of_a_flow_is_the_difference_of_its_totals():
    """2025 less 2024, as `level` gives each year's total (before: the difference of monthly
    means, a twelfth of it)."""
    from rechain.experiments.validate import Fact, evaluate_fact
    rows = [(f"2024-{m:02d}", "magnet_std", 10.0) for m in range(1, 13)] + \
        [(f"2025-{m:02d}", "magnet_std", 12.0) for m in range(1, 13)]
    f = Fact("C", "production", "2025", measure="change", base_period="2024", product="magnet_std",
             target=24.0, tolerance=0.5)
    got = evaluate_fact(f, _table(rows))
    assert got["value"] == pytest.approx(24.0) and got["ok"]
    price = Fact("P", "price", "2025", measure="change", base_period="2024", product="magnet_std", target=2.0)
    assert evaluate_fact(price, _table(rows, "price"))["value"] == pytest.approx(2.0)   # a level: means


def test_a_ratio_in_percent_is_refused(tmp_path):
    from rechain.experiments.validate import FactError, load_facts
    header = (ROOT / "src" / "rechain" / "data" / "facts.csv").read_text(encoding="utf-8").splitlines()[0]
    f = tmp_path / "f.csv"
    f.write_text(header + "\nQ1,true,share,exports,magnet_makers,magnet_std+magnet_uh,*,2025,ratio,,within,20,5,%,"
                 "production,magnet_makers,magnet_std+magnet_uh,*,,,\n", encoding="utf-8")
    with pytest.raises(FactError, match=r"unit: given '%', but measure 'ratio' gives a plain number"):
        load_facts(f)


def test_an_empty_region_of_a_fact_is_any_as_star():
    """Through the API as through a table: region "" reads China's price, not its mean with
    the export prices."""
    from rechain.experiments.validate import Fact
    assert Fact("P", "price", "2025-03", region="", stage=" ", product="").selection() == ("price", "*", "*", "*")


def test_a_flow_some_seeds_lack_is_checked_on_every_seeds_rows():
    """The baseline's traders export no Pr-Nd oxide to the EU in 2025 on seeds 0 and 1, and do
    on seed 2: the fact is measured (0 t where nothing went), not refused because the first
    replicate back lacked the rows (which made the outcome depend on the workers)."""
    from rechain.experiments.validate import Fact, validate
    v = validate(BASELINE, replicates=3, workers=1, progress=False,
                 facts=[Fact("X", "exports", "2025", stage="traders", product="prnd_oxide", region="eu",
                             comparison="at_least", target=0.0, required=True)])
    row = v.table.iloc[0]
    assert bool(row["reproduced"]) and row["share_ok"] == 1.0
    assert row["min"] == 0.0 < row["max"]            # nothing from seeds 0 and 1, some from seed 2


# --- the docs' promises, from the outside ----------------------------------------------------
@pytest.mark.parametrize("args, said", [
    (["run", str(BASELINE), "--out", "{file}"], "error: Invalid value for '--out': Directory"),
    (["run", str(ROOT / "scenarios")], "error: Invalid value for 'SCENARIO':"),
])
def test_a_value_click_refuses_is_one_line(tmp_path, args, said):
    (tmp_path / "afile").write_text("mine")
    res = CliRunner().invoke(main, [a.replace("{file}", str(tmp_path / "afile")) for a in args])
    assert res.exit_code == 2
    assert said in res.output and "Usage:" not in res.output
    assert (tmp_path / "afile").read_text() == "mine"


@pytest.mark.parametrize("call", ["load_scenario", "load_facts", "run_sweep"])
def test_the_api_names_a_path_of_the_wrong_type(call):
    from rechain.experiments.sweep import run_sweep
    from rechain.experiments.validate import load_facts
    fn = {"load_scenario": rechain.load_scenario, "load_facts": load_facts, "run_sweep": run_sweep}[call]
    with pytest.raises(TypeError, match=r": given int 42; allowed: a file's path"):
        fn(42)


@pytest.mark.parametrize("knob, value", [("restock", "x"), ("restock", -1), ("approval", -1.0),
                                         ("myanmar_stop_months", 1.5), ("eol_target", 2.0), ("news", 0)])
def test_a_lever_turned_past_its_range_is_named_as_given(knob, value):
    from rechain.dashboard.levers import Levers
    with pytest.raises(ValueError, match=rf"^{knob}: given {value!r}; allowed: "):
        Levers(**{knob: value})


def test_the_packaged_calibration_space_stays_where_check_trusts_a_value():
    """A calibration's best.toml passes rechain check without a unit-slip warning: every
    bound of the packaged space lies within the factor check allows around the baseline's
    value (before, traders' speculation strength reached 50 times the baseline's)."""
    import tomllib

    from rechain.config.plausibility import FAR
    from rechain.experiments.paths import lookup, parse_path
    space = tomllib.loads((ROOT / "src" / "rechain" / "data" / "calibration_space.toml").read_text(encoding="utf-8"))
    base = rechain.load_scenario(BASELINE).model_dump()
    for key, bounds in space["parameters"].items():
        value = lookup(base, parse_path(key))
        if isinstance(value, (int, float)) and value > 0:
            assert bounds["max"] <= FAR * value, (key, bounds, value)
            assert bounds["min"] == 0 or bounds["min"] >= value / FAR, (key, bounds, value)


def test_a_fact_measured_in_some_replicates_says_which_were_not():
    from rechain.experiments.validate import Fact, evaluate, summarise
    zero = _table([("2025-01", "magnet_std", 0.0), ("2025-02", "magnet_std", 5.0)])
    some = _table([("2025-01", "magnet_std", 4.0), ("2025-02", "magnet_std", 5.0)])
    f = Fact("Z", "production", "2025-02", measure="mom_pct", comparison="direction_up", product="magnet_std")
    row = summarise([f], [evaluate([f], t) for t in (zero, some, zero)]).iloc[0]
    assert np.isnan(row["mean"]) and row["min"] == row["max"] == pytest.approx(25.0)
    assert row["not_measured"].startswith("in replicates 0, 2 of 3, the series is 0 in the base months")


def test_a_price_fact_is_drawn_however_it_names_the_market():
    """Stage '*' or 'market', region '*' or 'china': the same series, on the same figure."""
    from rechain.experiments.validate import PANELS, Fact, Validation, _panel_facts
    facts = [Fact(f"K{i}", "price", "2025-03", stage=st, product="prnd_oxide", region=rg, target=1.0)
             for i, (st, rg) in enumerate([("market", "*"), ("*", "*"), ("market", "china"), ("*", "china")])]
    v = Validation(table=pd.DataFrame(), facts=facts, monthly=[], scenario_name="x", scenario_path="x.toml",
                   seeds=[0], seconds=0.0)
    panel = next(p for p in PANELS.values() if p[1] == "price" and p[3] == "prnd_oxide")
    assert [f.fact_id for f in _panel_facts(v, panel)] == ["K0", "K1", "K2", "K3"]
    other = Fact("E", "price", "2025-03", stage="market", product="prnd_oxide", region="eu", target=1.0)
    assert _panel_facts(replace(v, facts=[other]), panel) == []          # an export price is not China's


def test_every_facts_selection_mistake_is_told_at_once():
    from rechain.experiments.validate import Fact, FactError, check_selections
    table = _table([("2025-01", "magnet_std", 1.0)])
    facts = [Fact("A", "production", "2025-01", stage="recyclers", where="f.csv, line 2 (A)"),
             Fact("B", "production", "2025-01", product="magnet_uh", where="f.csv, line 3 (B)")]
    with pytest.raises(FactError) as e:
        check_selections(facts, table)
    lines = str(e.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["f.csv, line 2 (A)", "f.csv, line 3 (B)"]


def test_a_file_that_cannot_be_written_leaves_no_folder_made_for_it(tmp_path):
    """report --out a/b/<300 bytes>.html: one line, and a/b are not left behind."""
    from rechain.outputs import OutputError, write_file
    (tmp_path / "mine").mkdir()
    with pytest.raises(OutputError, match="cannot be written"):
        write_file(tmp_path / "a" / "b" / ("x" * 300 + ".html"), "<html/>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
