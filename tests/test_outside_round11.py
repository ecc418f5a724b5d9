"""Findings of an outside era audit (2010-2012, December 2026) and a malformed-input round: each
case as the outsider met it, held here."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from support import what_if

import rechain
from rechain.cli import main
from rechain.scenario import load_scenario
from rechain.experiments.compare import same_as_reference

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"


def test_each_emptied_batches_warning_names_its_own_line(tmp_path):
    """Three export quotas each given `batches = []` were all told "(line 10)", the first one's."""
    body = "".join(f'[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = {year}\nbatches = []\n'
                   for year in (2024, 2025))
    emptied = what_if(tmp_path, body, "emptied")
    res = CliRunner().invoke(main, ["check", str(emptied)])
    assert res.exit_code == 0, res.output
    said = [line for line in res.output.splitlines() if "].batches (line" in line]
    assert len(said) == 2, res.output
    lines = emptied.read_text(encoding="utf-8").splitlines()
    for year, warning in zip((2024, 2025), said):
        assert f"[mining_rock-{year}]" in warning
        told = int(warning.split("].batches (line ")[1].split(")")[0])
        assert lines[told - 1] == "batches = []" and lines[told - 2] == f"year = {year}", (told, warning)


def _table(price: float) -> pd.DataFrame:
    return pd.DataFrame({"month": ["2024-01", "2024-01", "2024-01"], "stage": ["market", "policy", "miners"],
                         "product": ["prnd_oxide", "all", "light_ore"], "region": ["china"] * 3,
                         "variable": ["price", "export_quota_issued", "capacity"], "value": [price, 5.0, 9.0],
                         "unit": ["yuan/t", "t", "t"]})


def test_same_as_reference_reads_behaviour_not_the_echoed_inputs():
    base, same, moved = _table(100.0), _table(100.0), _table(101.0)
    # what a scenario sets and the run only echoes does not count as acting
    same.loc[same["variable"] == "export_quota_issued", "value"] = 50.0
    same.loc[same["variable"] == "capacity", "value"] = 90.0
    monthly = {("ref", 0): base, ("ref", 1): base, ("same", 0): same, ("same", 1): same,
               ("moved", 0): same, ("moved", 1): moved}
    assert same_as_reference(monthly, ["ref", "same", "moved"], [0, 1]) == ["same"]
    # a different row order is the same table
    monthly[("same", 1)] = same.iloc[::-1]
    assert same_as_reference(monthly, ["ref", "same"], [0, 1]) == ["same"]


def test_compare_says_when_a_what_if_ran_exactly_as_its_reference(tmp_path):
    """A what-if raising an export quota that never binds changed no figure on any seed; compare
    said nothing of it and its peak-price note gave a false reason (an outside era audit)."""
    alike = tmp_path / "alike.toml"
    alike.write_text(f'extends = "{TINY.as_posix()}"\nname = "alike"\n', encoding="utf-8")
    out = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["compare", str(TINY), str(alike), "--out", str(out), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "warning: alike ran exactly as tiny on every seed" in res.output
    assert "alike ran exactly as tiny" in (out / "kpis.md").read_text(encoding="utf-8")
    meta = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert meta["same_note"].startswith("alike ran exactly as tiny") and meta["peak_note"] == ""
    # a what-if that acts is not told so
    moved = tmp_path / "moved.toml"
    moved.write_text(f'extends = "{TINY.as_posix()}"\nname = "moved"\n[sectors.nev]\nunits_per_yr = {{ 2024 = 20000000 }}\n',
                     encoding="utf-8")
    res = CliRunner().invoke(main, ["compare", str(TINY), str(moved), "--out", str(tmp_path / "cmp2"), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "ran exactly as" not in res.output


# --- a malformed-input round (December 2026) ------------------------------------------------------
def _sweep(tmp_path: Path, body: str, name: str = "s") -> Path:
    f = tmp_path / f"{name}.toml"
    f.write_text(f'base = "{TINY.as_posix()}"\nname = "{name}"\nreplicates = 1\nroot_seed = 1\n{body}', encoding="utf-8")
    return f


def test_a_table_given_for_a_table_key_merges_as_a_what_if_would():
    """`points = [{ behaviour = { restock_strength = 1.0 } }]` replaced the whole [behaviour]
    table: every other calibrated value fell back to its default (Pr-Nd's mean price 338,855
    against 437,258 with the dotted key)."""
    from rechain.experiments.runs import point_data, point_source
    from rechain.scenario import load_scenario
    base = load_scenario(TINY).model_dump(mode="python")
    for source in (None, point_source(TINY)):
        table = point_data(base, source, [(("behaviour",), {"restock_strength": 1.0})])
        dotted = point_data(base, source, [(("behaviour", "restock_strength"), 1.0)])
        assert table["behaviour"]["restock_strength"] == dotted["behaviour"]["restock_strength"] == 1.0
        assert table["behaviour"]["w_news"] == dotted["behaviour"]["w_news"] == base["behaviour"]["w_news"] != 1.0


def test_a_key_both_swept_and_overridden_is_refused(tmp_path):
    f = _sweep(tmp_path, 'design = "grid"\n[parameters]\n"behaviour.restock_strength" = { levels = [1.0, 2.0] }\n'
               '[overrides]\nbehaviour = { restock_strength = 5 }\n')
    res = CliRunner().invoke(main, ["sweep", str(f), "--out", str(tmp_path / "o")])
    said = _one_error(res)
    assert "behaviour.restock_strength is swept and also set in [overrides]" in said
    assert not (tmp_path / "o").exists()


def _one_error(res) -> str:
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    return res.output


def test_resume_refuses_a_manifest_analyze_refuses(tmp_path):
    f = _sweep(tmp_path, 'design = "grid"\n[parameters]\n"behaviour.restock_strength" = { levels = [1.0] }\n')
    out = tmp_path / "o"
    assert CliRunner().invoke(main, ["sweep", str(f), "--out", str(out), "--workers", "1", "--quiet"]).exit_code == 0
    manifest = out / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('"n_runs": 1', '"n_runs": 80'), encoding="utf-8")
    said = [_one_error(CliRunner().invoke(main, args)) for args in
            (["sweep", str(f), "--out", str(out), "--resume", "--workers", "1"], ["analyze", str(out), "--no-figures"])]
    assert "is damaged: n_runs: 80 runs for 1 points x 1 replicates" in said[0]
    assert said[0].split("is damaged")[1] == said[1].split("is damaged")[1]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A run of tiny and a comparison of it with a what-if."""
    where = tmp_path_factory.mktemp("cmp")
    moved = where / "moved.toml"
    moved.write_text(f'extends = "{TINY.as_posix()}"\nname = "moved"\n[behaviour]\nrestock_strength = 2.0\n',
                     encoding="utf-8")
    runs = where / "runs"
    assert CliRunner().invoke(main, ["run", str(moved), "--out", str(runs / "moved-seed0"), "--no-figures",
                                     "--quiet"]).exit_code == 0
    res = CliRunner().invoke(main, ["compare", str(TINY), str(moved), "--out", str(where / "o"), "--no-figures",
                                    "--runs-dir", str(runs)])
    assert res.exit_code == 0 and "read   moved seed 0" in res.output, res.output
    return where, moved, runs


@pytest.mark.parametrize("table, column, given, said", [
    ("kpis_long.csv", "mean", '"431,288.33"', "kpis_long.csv: mean: given '431,288.33' on line 2, not a number"),
    ("series.csv", "value", "abc", "series.csv: value: given 'abc' on line 2, not a number"),
    ("series.csv", "month", "2024-13", "series.csv: month: given '2024-13' on line 2, not a month written YYYY-MM"),
])
def test_report_on_a_comparison_with_a_damaged_cell_is_one_line(tmp_path, compared, table, column, given, said):
    """A spreadsheet's "431,288.33" in kpis_long.csv: `rechain report` ended in a ValueError
    traceback; text in series.csv in a TypeError, a month 2024-13 in pandas' strptime error."""
    import shutil
    folder = tmp_path / "o"
    shutil.copytree(compared[0] / "o", folder)
    frame = pd.read_csv(folder / table, dtype=str, keep_default_na=False)
    cells = (folder / table).read_text(encoding="utf-8").splitlines()
    row = cells[1].split(",")
    row[list(frame.columns).index(column)] = given
    cells[1] = ",".join(row)
    (folder / table).write_text("\n".join(cells) + "\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["report", str(folder)])
    assert said in _one_error(res)
    assert not (folder / "report.html").exists()


def test_compare_runs_again_a_finished_run_whose_table_was_edited(compared, tmp_path):
    """A finished run's monthly.csv edited by hand (a February output times 1,000) was read back
    by compare and shown as model output; `run` already refused to replace that folder."""
    where, moved, runs = compared
    import shutil
    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    table = copy / "moved-seed0" / "monthly.csv"
    lines = table.read_text(encoding="utf-8").splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("2024-02,magnet_makers,magnet_std,china,production,"))
    lines[i] = lines[i].replace(",production,", ",production,1000", 1)
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["compare", str(TINY), str(moved), "--out", str(tmp_path / "o"), "--no-figures",
                                    "--runs-dir", str(copy)])
    assert res.exit_code == 0, res.output
    assert "read   moved seed 0" not in res.output and "ran    moved seed 0" in res.output
    fresh = pd.read_csv(where / "o" / "kpis.csv")
    again = pd.read_csv(tmp_path / "o" / "kpis.csv")
    pd.testing.assert_frame_equal(fresh, again)


@pytest.mark.parametrize("body, key", [
    ("export_controls = []\n[behaviour]\nrefusal_memory = 0.5\n", "behaviour.refusal_memory"),
    ("export_controls = []\n[behaviour]\nexport_premium_below_cover = 0.5\n", "behaviour.export_premium_below_cover"),
])
def test_export_levers_without_export_controls_are_said_to_act_on_nothing(tmp_path, body, key):
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body))])
    assert res.exit_code == 0, res.output
    assert f"{key}: the scenario has no export controls and no export quotas" in res.output
    # with the baseline's controls it acts, and is not warned of
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body.split("\n", 1)[1], "with"))])
    assert key not in res.output, res.output


@pytest.mark.parametrize("body, key", [
    ("[behaviour]\nquota_late_uncertainty = 0.5\n", "behaviour.quota_late_uncertainty"),
    ("[quota_policy]\noverdue_ration_weeks = 4\n", "quota_policy.overdue_ration_weeks"),
    ("[quota_policy]\nlate_after_days = 0\n", "quota_policy.late_after_days"),
])
def test_quota_lateness_levers_with_no_late_quota_are_said_to_act_on_nothing(tmp_path, body, key):
    """In the first half of 2024 no quota's first batch is later than 2023's: these levers
    changed nothing and check said nothing."""
    early = tmp_path / "early.toml"
    early.write_text(f'extends = "{TINY.as_posix()}"\nname = "early"\n{body}', encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(early)])
    assert res.exit_code == 0 and f"{key}: " in res.output and "acts on nothing" in res.output, res.output
    # over 2024-2026 the 2025 batches come late, and they act
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body, "late"))])
    assert not [line for line in res.output.splitlines() if line.startswith("warning:") and key in line], res.output
    assert "late quotas:" in res.output and "separation 2025: first batch 2025-06-30, overdue from 2025-0" \
        in res.output


def test_numpy_whole_numbers_and_bools_are_taken_as_python_ones():
    import numpy as np

    from rechain.scenario import scenario_data, scenario_from_dict
    data = scenario_data(TINY, {})[0]
    data["firms"]["rock_miners"]["count"] = np.int64(5)
    data["behaviour"]["w_trend"] = np.float32(0.25)
    sc = scenario_from_dict(data)
    assert sc.firms.rock_miners.count == 5 and type(sc.firms.rock_miners.count) is int


@pytest.mark.parametrize("text, said", [
    ('name = "a"\nname = "b"\n', "line 2: name: name is written twice in this table, on lines 1 and 2"),
    ('extends = "x.toml"\n[behaviour]\nw_trend = 0.1\nnoise = 0.1\n\nw_trend = 0.2\n',
     # named with its table since round 20
     "line 6: behaviour.w_trend: behaviour.w_trend is written twice in this table, on lines 3 and 6"),
    ('[behaviour]\nw_trend = 0.1\n[behaviour.w_trend]\nx = 1\n',
     "line 3: behaviour.w_trend: [behaviour.w_trend] opens a table on behaviour.w_trend, which already holds a "
     "value (line 2)"),
])
def test_a_plain_key_written_twice_is_told_with_both_lines(tmp_path, text, said):
    f = tmp_path / "twice.toml"
    f.write_text(text, encoding="utf-8")
    assert said in _one_error(CliRunner().invoke(main, ["check", str(f)]))


@pytest.mark.parametrize("args, said", [
    (["compare", str(TINY)], "error: compare needs at least two scenarios"),
    (["compare", str(TINY), str(TINY), "--seeds", "2", "--replicates", "3"], "give either --seeds or --replicates"),
    (["run", str(TINY), "--sed", "1"], "No such option '--sed'. Did you mean '--seed'? Allowed: what `"),
    (["runn", str(TINY)], "No such command 'runn'"),
])
def test_usage_mistakes_are_one_line(args, said):
    res = CliRunner().invoke(main, args)
    assert said in _one_error(res) and "Usage:" not in res.output


def test_the_run_report_lists_what_a_scenario_changes_not_what_follows_from_it():
    """A what-if of 2026's NEV output listed `sectors.nev.units_per_yr.2027` as changed, a
    year carried past the run's end for planning alone (an outside what-if audit); an era
    listed the base's dated items left out as outside its period as "removed" (an outside era
    audit), though `check` calls them left out."""
    from rechain.html_report import _changes_over_its_period
    from rechain.scenario import load_scenario
    from support import BASELINE, ROOT
    import tempfile
    with tempfile.TemporaryDirectory() as where:
        q4 = what_if(Path(where), "[sectors.nev]\nunits_per_yr = { 2026 = 15120000 }\n", "q4")
        changes = _changes_over_its_period(load_scenario(q4).model_dump(mode="json"), BASELINE,
                                           load_scenario(BASELINE))
    assert [(c["key"], c["what"]) for c in changes] == [("sectors.nev.units_per_yr.2026", "changed")]
    era = ROOT / "scenarios" / "era_2021_2023.toml"
    changes = _changes_over_its_period(load_scenario(era).model_dump(mode="json"), BASELINE, load_scenario(BASELINE))
    assert not [c["key"] for c in changes if c["what"] == "removed"]
    assert any(c["key"].startswith("news[") and c["what"] == "added" for c in changes)


def test_compare_reads_one_year_when_asked(tmp_path):
    """A what-if of one year was diluted in the run's means (NEV demand -20 % in 2026: Pr-Nd
    -1.7 % over the run, -5.0 % in 2026; an outside analyst): `--year` gives the key figures
    over that year's months alone, the series every month."""
    from rechain.experiments.compare import compare
    body = f'extends = "{TINY.as_posix()}"\nend = 2025-03-31\n'
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(body + 'name = "a"\n', encoding="utf-8")
    b.write_text(body + 'name = "b"\n[behaviour]\nrestock_strength = 2.0\n', encoding="utf-8")
    comp = compare([a, b], seeds=[0], workers=1, runs_dir=None, write=False, year=2025)
    assert comp.year_note.startswith("the key figures are of 2025-01 .. 2025-03 alone")
    for name in ("a", "b"):
        series = comp.series[(comp.series["scenario"] == name) & (comp.series["series"] == "magnet_output")]
        assert series["month"].min() == "2024-01"                      # every month kept
        in_year = series.loc[series["month"].str.startswith("2025"), "value"].sum()
        assert comp.kpis.loc[("magnet_output_t", "t"), name] == pytest.approx(in_year)
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "--year", "2026", "--out", str(tmp_path / "o")])
    assert "error: --year 2026: allowed: a year of the months every scenario reports alike (2024-01 .. 2025-03)" \
        in _one_error(res)
    assert not (tmp_path / "o").exists()


def test_orders_against_use_is_each_stages_ratio_over_its_mean():
    """A student was promised a restocking wave climbing the chain and found no figure of
    orders by stage (an outside student's audit): orders.png draws this table."""
    from rechain.report import FIGURES, orders_against_use
    rows = [("2024-01", "motor_makers", "magnet_uh", "orders", 10.0), ("2024-02", "motor_makers", "magnet_uh", "orders", 20.0),
            ("2024-01", "motor_makers", "nev", "use", 10.0), ("2024-02", "motor_makers", "nev", "use", 10.0),
            # a magnet maker that never orders is left out, as a stage the scenario lacks
            ("2024-01", "magnet_makers", "magnet_uh", "production", 5.0)]
    monthly = pd.DataFrame([dict(month=m, stage=s, product=p, region="china", variable=v, value=x, unit="t")
                            for m, s, p, v, x in rows])
    table = orders_against_use(monthly)
    assert list(table.columns) == ["motor_makers"]
    assert table["motor_makers"].tolist() == pytest.approx([100 / 1.5, 200 / 1.5])
    assert "orders.png" in FIGURES


# --- an audit of this round's own additions (December 2026) ---------------------------------------
def _quotas(first_2023: str, second_2023: str, first_2024: str, second_2024: str) -> str:
    out = ""
    for qtype, total in (("mining_rock", 250000), ("mining_ionic", 19150), ("separation", 254000)):
        for year, (a, b) in ((2023, (first_2023, second_2023)), (2024, (first_2024, second_2024))):
            out += (f'[[quota_policy.quotas]]\ntype = "{qtype}"\nyear = {year}\ntotal_t = {total}\n'
                    f'batches = [{{ issued = {a}, share = 0.5 }}, {{ issued = {b}, share = 0.5 }}]\n')
    return out


def _lateness(tmp_path: Path, name: str, quotas: str, uncertainty: float) -> Path:
    f = tmp_path / f"{name}.toml"
    f.write_text(f'extends = "{TINY.as_posix()}"\nname = "{name}"\n[behaviour]\nquota_late_uncertainty = {uncertainty}\n'
                 f'[quota_policy]\nlate_after_days = 10\nadvance_share = 0.5\n{quotas}', encoding="utf-8")
    return f


def test_a_late_spell_without_a_monday_is_no_late_quota(tmp_path):
    """Due 3 April 2024 (2023's 24 March plus 10 days), issued Saturday 6 April: the run reads
    quotas on Mondays and never saw it overdue; check listed it as late and said the lever
    acted (an outside audit: the runs were byte-identical)."""
    f = _lateness(tmp_path, "gap", _quotas("2023-03-24", "2023-09-20", "2024-04-06", "2024-08-20"), 0.6)
    res = CliRunner().invoke(main, ["check", str(f)])
    assert "late quotas" not in res.output
    assert "behaviour.quota_late_uncertainty: no quota's first batch is overdue in the run" in res.output


def test_a_first_batch_issued_the_december_before_sets_the_next_years_due_date(tmp_path):
    """2023's first batch on 20 December 2022: 2024's is due around 20 December 2023, so one
    issued on 1 June 2024 is late. It was read as due in December 2024, never late, and check
    said the lever acted on nothing."""
    from rechain.policy.quotas import same_time_next_year
    import datetime as dt
    assert same_time_next_year(dt.date(2022, 12, 20)) == dt.date(2023, 12, 20)
    assert same_time_next_year(dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)
    quotas = _quotas("2022-12-20", "2023-06-01", "2024-06-01", "2024-09-01")
    res = CliRunner().invoke(main, ["check", str(_lateness(tmp_path, "dec", quotas, 0.6))])
    assert "mining_rock 2024: first batch 2024-06-01, overdue from 2024-01-01 (2023's first came 2022-12-20" \
        in res.output
    assert not [line for line in res.output.splitlines() if line.startswith("warning:")
                and "quota_late_uncertainty" in line], res.output
    runs = [rechain.run(load_scenario(_lateness(tmp_path, f"dec{u}", quotas, u)), seed=0).monthly for u in (0.0, 0.6)]
    assert not runs[0]["value"].equals(runs[1]["value"])


def test_an_export_quota_that_never_binds_is_told_as_changing_nothing(tmp_path):
    from rechain.experiments.compare import compare
    big = tmp_path / "big.toml"
    big.write_text(f'extends = "{TINY.as_posix()}"\nname = "big"\nexport_quotas = [{{ name = "huge", products = '
                   f'["magnet_std", "magnet_uh"], year = 2024, total_t = 1e8 }}]\n', encoding="utf-8")
    comp = compare([TINY, big], seeds=[0], workers=1, runs_dir=None, write=False)
    assert comp.same_note.startswith("big ran exactly as tiny")


def test_a_one_month_run_draws_points_on_a_month_wide_axis():
    from rechain.report import FIGURES
    rows = [dict(month="2024-01", stage="market", product=p, region="china", variable="price", value=v,
                 unit="yuan/t") for p, v in (("prnd_oxide", 4e5), ("prnd_metal", 5e5), ("dy_oxide", 2.5e6),
                                              ("tb_oxide", 7e6), ("magnet_uh", 3.6e5), ("magnet_std", 2.5e5))]
    fig = FIGURES["prices.png"](pd.DataFrame(rows), "(one month)")
    lines = [line for ax in fig.axes for line in ax.get_lines()]
    assert lines and all(line.get_marker() == "o" for line in lines)
    low, high = fig.axes[0].get_xlim()
    assert high - low < 45          # days: a month wide, not years


def test_year_and_differing_periods_say_the_same_months(tmp_path):
    from rechain.experiments.compare import compare
    import numpy as np
    a, c = tmp_path / "a.toml", tmp_path / "c.toml"
    a.write_text(f'extends = "{TINY.as_posix()}"\nname = "a"\nend = 2025-03-31\n', encoding="utf-8")
    c.write_text(f'extends = "{TINY.as_posix()}"\nname = "c"\nstart = 2024-03-13\nend = 2025-02-18\n',
                 encoding="utf-8")
    comp = compare([a, c], seeds=[0], workers=1, runs_dir=None, write=False, year=np.int64(2024))
    assert "the key figures are over those of year 2024" in comp.period_note
    assert comp.year_note.startswith("the key figures are of 2024-04 .. 2024-12 alone")


@pytest.mark.parametrize("args, said", [
    (["--bogus"], "error: No such option '--bogus'; allowed: what `"),
    (["run", str(TINY), "--out"], "requires an argument; allowed: what `"),
])
def test_the_groups_own_mistakes_and_a_missing_value_are_one_line(args, said):
    res = CliRunner().invoke(main, args)
    out = _one_error(res)
    assert said in out
    if args[0] == "run":
        assert " run --help` lists" in out
