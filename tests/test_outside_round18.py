"""Outside audits of December 2026 (an analyst writing other eras, an economist's what-ifs): each
defect they found, held here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from support import BASELINE, what_if

import rechain
from rechain.calendar import Calendar
from rechain.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
ERA = ROOT / "scenarios" / "era_2021_2023.toml"


def test_a_ban_on_one_grade_leaves_buyers_ordering_the_other(tmp_path):
    """A ban on 52UH magnets to the US cut the US's standard-magnet imports by 13-19 %: buyers
    remembered one licence success for all products, so refusals for the banned grade halved
    their orders of the grade that needs no licence."""
    ban = what_if(tmp_path, '[[export_controls]]\nname = "UH ban to the US"\nproducts = ["magnet_uh"]\n'
                            'regions = ["us"]\nstart = 2025-04-04\napproval = [{ start = 2025-04-04, rate = 0.0 }]\n',
                  "uh_ban")
    base, banned = rechain.run(BASELINE, seed=0), rechain.run(ban, seed=0)
    late = slice("2025-06", "2026-12")

    def us(run, product):
        s = run.series("exports", product=product, region="us")
        return float(s[late].sum())
    assert us(banned, "magnet_uh") < 0.5 * us(base, "magnet_uh")
    assert us(banned, "magnet_std") == pytest.approx(us(base, "magnet_std"), rel=0.03)


def test_holidays_off_runs_any_period_from_1950_to_2100(tmp_path):
    """``holidays = false`` (weekends only) still refused dates before 2000, and the run's
    progress bar built the holiday calendar anyway (a traceback)."""
    text = ERA.read_text(encoding="utf-8")
    for old, new in (("2021", "1998"), ("2022", "1999"), ("2023", "2000")):
        text = text.replace(old, new)
    text = text.replace('extends = "baseline.toml"', f'extends = "{BASELINE.as_posix()}"')
    text = text.replace('name = "era_1998_2000"', 'name = "era_1998_2000"\nholidays = false', 1)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("facts_file"))
    f = tmp_path / "e98.toml"
    f.write_text(text, encoding="utf-8")
    sc = load_scenario(f)
    assert sc.start == dt.date(1998, 1, 1) and not sc.holidays
    out = tmp_path / "out"
    from click.testing import CliRunner

    from rechain.cli import main
    res = CliRunner().invoke(main, ["run", str(f), "--out", str(out), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert (out / "monthly.csv").exists()
    # with the calendars on, the message says what holidays = false allows
    g = tmp_path / "e98h.toml"
    g.write_text(f'extends = "{f.as_posix()}"\nname = "e98h"\nholidays = true\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"2000-01-01 to 2060-12-31 \(or 1950-01-01 to 2100-12-31 with "
                                            r"holidays = false"):
        load_scenario(g)


def test_a_period_ending_on_a_holiday_keeps_every_tonne_where_its_week_runs():
    """An analyst read "a month of which the period holds only days China does not work is left
    out" and found 1 May 2018 (after a 30 April off) kept. A first mend booked such a week into
    the month before, which then held a week more than a run ending on that month's last day
    (an audit: +16 % magnet output in compare's like-for-like months). The rule is now stated
    as it stands: the month is left out where the week's worked days fall before it; a week
    with no worked day inside the period is split by calendar days and keeps its month."""
    cal = Calendar.build(dt.date(2024, 1, 1), dt.date(2024, 5, 1))      # 29-30 April worked
    assert cal.months[-1] == "2024-04"
    for end, last in ((dt.date(2025, 6, 2), "2025-06"), (dt.date(2018, 5, 1), "2018-05")):
        cal = Calendar.build(dt.date(end.year, 1, 1), end)
        assert cal.months[-1] == last, end
        assert cal.month_weights.sum(axis=1) == pytest.approx(np.ones(cal.n_weeks))
    # the month before holds only its own weeks: the same as a run that ends on its last day
    june, may = Calendar.build(dt.date(2025, 4, 1), dt.date(2025, 6, 2)), Calendar.build(dt.date(2025, 4, 1),
                                                                                         dt.date(2025, 5, 31))
    assert june.month_weights[: may.n_weeks, : len(may.months)] == pytest.approx(may.month_weights)


def test_capacity_by_year_sets_the_first_week_and_the_opening_stock(tmp_path):
    """A period starting on 1 January 2011 (a Saturday) ran its first week, Monday 27 December
    2010, and its spin-up at ``capacity_t_per_yr`` (the 2024 size), and sized Myanmar's opening
    stockpile on it: 11,747 t of ore from overseas miners whose capacity_by_year was 0 in 2011."""
    body = ("start = 2027-01-01\nend = 2027-06-30\n"
            "[firms.overseas_miners]\ncapacity_by_year = { 2027 = 0 }\n"
            "[firms.myanmar_holders]\ncapacity_by_year = { 2027 = 5000 }\n")
    f = what_if(tmp_path, body, "dated")
    sc = load_scenario(f)
    assert sc.start.weekday() == 4          # a Friday: the first week starts in 2026
    run = rechain.run(sc, seed=0)
    shipped = run.flows[run.flows.region == "abroad"].groupby("from_stage").tonnes.sum()
    assert shipped.get("overseas_miners", 0.0) == pytest.approx(0.0, abs=1e-6)
    # Myanmar ships about its 5,000 t a year (half a year), not the 2024 size's stock and pace
    assert shipped.get("myanmar_holders", 0.0) < 0.5 * 5000 * 1.6
    assert all(element["holds"] for element in run.mass_balance.values())


def test_a_key_absent_in_the_base_is_added_not_changed():
    """report.html listed ``stockpile.start changed (absent) 2024-01-01``: the schema holds the
    base's missing key as None."""
    from rechain.html_report import scenario_changes
    ch = scenario_changes({"stockpile": {"start": "2024-01-01", "products": []}},
                          {"stockpile": {"start": None, "products": []}})
    assert [(c["key"], c["what"]) for c in ch] == [("stockpile.start", "added")]
    ch = scenario_changes({"stockpile": {"start": None}}, {"stockpile": {"start": "2024-01-01"}})
    assert [(c["key"], c["what"]) for c in ch] == [("stockpile.start", "removed")]


def test_a_comparison_for_one_year_draws_its_flows_for_that_year(tmp_path):
    """``compare --year 2025 --html`` gave the key figures of 2025 beside flow diagrams of 2026."""
    from rechain.experiments.compare import compare
    tiny = ROOT / "tests" / "data" / "tiny.toml"
    longer = tmp_path / "t.toml"
    longer.write_text(f'extends = "{tiny.as_posix()}"\nname = "t"\nend = 2025-12-31\n', encoding="utf-8")
    other = tmp_path / "u.toml"
    other.write_text(f'extends = "{longer.as_posix()}"\nname = "u"\n[recycling]\n'
                     f'collection = [{{ year = 2024, rate = 0.3 }}]\n', encoding="utf-8")
    comp = compare([longer, other], seeds=1, out_dir=tmp_path / "cmp", workers=1, runs_dir=None, figures=False, html=True,
                   year=2024)
    page = (comp.out_dir / "report.html").read_text(encoding="utf-8")
    assert "Flows through the chain by element, 2024" in page
    assert "Flows through the chain by element, 2025" not in page


def test_an_interrupt_inside_compiled_code_stops_the_sweep_not_the_run(monkeypatch):
    """Ctrl-C landing in a numba loop comes out as a SystemError: the sweep recorded it as the
    run's failure, carried on, and --resume would not run it again."""
    from rechain.experiments import runs

    def interrupted(ctx, values, seed):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as stop:
            raise SystemError("CPUDispatcher(<function settle_shipments>) returned a result with an "
                              "exception set") from stop
    monkeypatch.setattr(runs, "_evaluate", interrupted)
    ctx = runs.Context(base={}, params=[], kpis=["x"], series=[], sweep_file=None)
    with pytest.raises(KeyboardInterrupt):
        runs.run_batch([(0, 0, 0, 0, {})], ctx)

    def failed(ctx, values, seed):
        raise SystemError("a real failure")
    monkeypatch.setattr(runs, "_evaluate", failed)
    rows, _ = runs.run_batch([(0, 0, 0, 0, {})], ctx)
    assert rows[0]["status"] == "error"


def test_a_ban_on_what_a_region_never_buys_runs_as_the_base():
    """`check` said a ban on Dy and Tb oxide to the US (which buys none) acts on nothing, but
    the run moved: the held export price lagged the index, and foreign producers read it."""
    from rechain.config.levers import idle_levers
    from rechain.scenario import deep_merge, scenario_from_dict
    from support import baseline_dict
    d = deep_merge(baseline_dict(), {"export_controls": [
        {"name": "Dy and Tb oxide to the US", "products": ["dy_oxide", "tb_oxide"], "regions": ["us"],
         "start": "2025-01-01", "approval": [{"start": "2025-01-01", "rate": 0.0}]}]})
    banned = scenario_from_dict(d)
    assert any("acts on nothing" in line for line in idle_levers(banned))
    a, b = rechain.run(BASELINE, seed=0), rechain.run(banned, seed=0)
    assert a.monthly["value"].equals(b.monthly["value"])


def test_a_key_inside_a_multi_line_string_is_not_the_line_told(tmp_path):
    f = tmp_path / "ln.toml"
    f.write_text(f'extends = "{BASELINE.as_posix()}"\ndescription = """\n[behaviour]\nw_news = -1.0\n"""\n'
                 '# w_news = -1.0 was tried\n[behaviour]\nrestock_strength = 1.0\nw_news = -1.0\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert "line 9: behaviour.w_news" in str(err.value)


@pytest.mark.parametrize("value, key, says", [
    ('"30"', "magnet_recipes.magnet_uh.dy_wt_pct:", "a number, or a table by year"),
    ("[1, 2]", "magnet_recipes.magnet_uh.dy_wt_pct:", "a number, or a table by year"),
    ('{ "2025" = nan }', "magnet_recipes.magnet_uh.dy_wt_pct.2025:", "a finite number"),
])
def test_a_figure_that_is_a_number_or_a_table_gets_one_error(tmp_path, value, key, says):
    """Pydantic told both branches, with its own names in the key path: ``dy_wt_pct.float`` and
    ``dy_wt_pct.dict[str,float]``."""
    f = what_if(tmp_path, f"[magnet_recipes.magnet_uh]\ndy_wt_pct = {value}\n", "rec")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    text = str(err.value)
    assert key in text and says in text, text
    assert "float" not in text and "dict[" not in text and "2 errors" not in text, text


@pytest.mark.parametrize("body, says", [
    ("[recycling]\ncollection = [{ year = 2024, rate = 0.0 }]\ncollection_price_elasticity = 2.0\n",
     "recycling.collection_price_elasticity: recycling.collection schedules no collection"),
    ("[recycling]\ncollection = []\ncollection_price_elasticity = 2.0\n",
     "recycling.collection_price_elasticity: recycling.collection schedules no collection"),
    ('[stockpile]\nproducts = ["dy_oxide"]\nbuy_t_per_yr = { dy_oxide = 100.0 }\nmax_stock_t = { dy_oxide = 0.0 }\n',
     "stockpile: dy_oxide: its max_stock_t is 0, so it never buys"),
    ('[stockpile]\nproducts = ["dy_oxide"]\ninitial_stock_t = { dy_oxide = 100.0 }\nrelease_t_per_yr = { dy_oxide = 0.0 }\n',
     "never releases its initial_stock_t"),
])
def test_check_warns_of_collection_and_reserve_settings_that_act_on_nothing(tmp_path, body, says):
    """Both ran byte for byte as the file without them, and check said nothing."""
    from click.testing import CliRunner

    from rechain.cli import main
    f = what_if(tmp_path, "end = 2024-12-31\n" + body, "inert")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 0, res.output
    assert says in res.output and "acts on nothing" in res.output, res.output


def test_a_reserve_that_buys_or_releases_is_not_warned(tmp_path):
    from click.testing import CliRunner

    from rechain.cli import main
    f = what_if(tmp_path, 'end = 2024-12-31\n[stockpile]\nproducts = ["dy_oxide"]\nbuy_t_per_yr = { dy_oxide = 100.0 }\n'
                          'release_t_per_yr = { dy_oxide = 0.0 }\n', "buys")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert "stockpile" not in res.output, res.output


def test_facts_columns_with_spaces_around_them_are_told_so(tmp_path):
    """A trailing space in the header was told as "not in lower case"."""
    src = (ROOT / "src" / "rechain" / "data" / "facts.csv").read_text(encoding="utf-8").splitlines()
    table = tmp_path / "f.csv"
    table.write_text("\n".join([src[0] + " ", src[1]]) + "\n", encoding="utf-8")
    f = what_if(tmp_path, f'facts_file = "{table.name}"\n', "spaced")
    from click.testing import CliRunner

    from rechain.cli import main
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code != 0
    assert "have spaces around them (given 'note ')" in res.output and "lower case" not in res.output, res.output


def test_removing_from_an_empty_inherited_list_says_none(tmp_path):
    first = what_if(tmp_path, 'export_controls = [{ name = "April 2025 medium-heavy controls", remove = true }]\n', "b")
    second = tmp_path / "c.toml"
    second.write_text(f'extends = "{first.as_posix()}"\nname = "c"\n[[export_controls]]\n'
                      f'name = "April 2025 medium-heavy controls"\nremove = true\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="Inherited: none"):
        load_scenario(second)


# --- the audit of these mends --------------------------------------------------------------
def test_a_ban_on_what_a_region_buys_only_later_runs_as_the_base(tmp_path):
    """A region whose buyers plan no Dy until 2026, banned from it in 2024: the export price was
    held above parity wherever a buyer existed (2,661 against 2,507 yuan/kg in March 2024) and
    the whole chain moved."""
    later = what_if(tmp_path, 'end = 2024-12-31\n[regions.us]\nmaterials_t_per_yr = { prnd_oxide = { 2024 = 500, '
                              '2025 = 520, 2026 = 540 }, dy_oxide = { 2024 = 0, 2025 = 0, 2026 = 40 } }\n', "later")
    banned = tmp_path / "banned.toml"
    banned.write_text(f'extends = "{later.as_posix()}"\nname = "banned"\n[[export_controls]]\nname = "Dy to the US"\n'
                      'products = ["dy_oxide"]\nregions = ["us"]\nstart = 2024-03-01\nend = 2024-12-31\n'
                      'approval = [{ start = 2024-03-01, rate = 0.0 }]\n', encoding="utf-8")
    a, b = rechain.run(later, seed=0), rechain.run(banned, seed=0)
    assert len(a.monthly) == len(b.monthly)
    assert a.monthly["value"].equals(b.monthly["value"])


def test_yearly_figures_may_name_any_year_a_period_may_run_in(tmp_path):
    """A 1950-2100 period (weekends only) could not be run before 1990: yearly tables, quota
    years and collection steps refused the years."""
    f = what_if(tmp_path, '[sectors.nev]\nunits_per_yr = { 1980 = 1000, 2024 = 12888000, 2025 = 17890000, '
                          '2026 = 19000000 }\n[recycling]\ncollection = [{ year = 1960, rate = 0.0 }, '
                          '{ year = 2024, rate = 0.05 }]\n', "y1980")
    sc = load_scenario(f)
    assert "1980" in sc.sectors["nev"].units_per_yr
    g = what_if(tmp_path, '[sectors.nev]\nunits_per_yr = { 1940 = 1000, 2024 = 1 }\n', "y1940")
    with pytest.raises(ScenarioError, match=r"given the key '1940'; allowed: years 1950-2100"):
        load_scenario(g)


def test_a_closing_delimiter_in_a_comment_does_not_open_a_string(tmp_path):
    """``description = \"\"\"one line\"\"\" # with \"\"\" in it``: every later line lost its number."""
    f = what_if(tmp_path, 'description = """one line""" # a comment with """ in it\n[behaviour]\n'
                          'restock_strength = "strong"\n', "ml")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert "line 5: behaviour.restock_strength" in str(err.value)


def test_a_reserve_whose_opening_stock_fills_its_limit_and_never_releases_is_warned(tmp_path):
    from click.testing import CliRunner

    from rechain.cli import main
    f = what_if(tmp_path, 'end = 2024-12-31\n[stockpile]\nproducts = ["dy_oxide"]\nbuy_t_per_yr = { dy_oxide = 100.0 }\n'
                          'max_stock_t = { dy_oxide = 100.0 }\ninitial_stock_t = { dy_oxide = 150.0 }\n'
                          'release_t_per_yr = { dy_oxide = 0.0 }\n', "full")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert "already fills its max_stock_t (100 t), so it never buys" in res.output, res.output


def test_a_whole_scenario_is_told_of_its_own_keys_that_act_on_nothing(tmp_path):
    """check gave the collection warnings to a what-if but not to a whole file (an era written
    without extends); the baseline, a whole file, is told nothing of what it sets for the files
    that extend it (its rule past its last year, the year before's quota batches)."""
    from click.testing import CliRunner

    from rechain.cli import main
    text = BASELINE.read_text(encoding="utf-8")
    old = "collection = [{ year = 2024, rate = 0.05 }]"
    assert old in text
    whole = tmp_path / "whole.toml"
    whole.write_text(text.replace(old, "collection = [{ year = 2024, rate = 0.0 }]\ncollection_price_elasticity = 1.0")
                     .replace('facts_file = "', 'facts_file = "' + (BASELINE.parent.as_posix() + "/")), encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(whole)])
    assert "recycling.collection_price_elasticity: recycling.collection schedules no collection" in res.output, \
        res.output
    res = CliRunner().invoke(main, ["check", str(BASELINE)])
    assert "acts on nothing" not in res.output, res.output


def test_a_collection_schedule_after_the_run_leaves_its_price_response_acting_on_nothing(tmp_path):
    first = what_if(tmp_path, "[recycling]\ncollection = [{ year = 2030, rate = 0.3 }]\n", "rc1")
    second = tmp_path / "rc2.toml"
    second.write_text(f'extends = "{first.as_posix()}"\nname = "rc2"\n[recycling]\ncollection_price_elasticity = 1.5\n',
                      encoding="utf-8")
    from click.testing import CliRunner

    from rechain.cli import main
    res = CliRunner().invoke(main, ["check", str(second)])
    assert ("recycling.collection_price_elasticity: recycling.collection's first step is 2030, after the run ends "
            "(2026-12-31); it acts on nothing") in res.output, res.output


def test_inherited_names_are_what_the_file_extends_holds(tmp_path):
    """The list said "none" after the file removed the one inherited item, and listed the
    file's own new item as inherited."""
    shock = "pull-forward before the 2026 purchase-tax change"
    removes = what_if(tmp_path, f'[[sectors.nev.shocks]]\nname = "{shock}"\nremove = true\n'
                                '[[sectors.nev.shocks]]\nname = "xyz"\nremove = true\n', "rm3")
    with pytest.raises(ScenarioError, match=f"Inherited: '{shock}'$"):
        load_scenario(removes)
    adds = what_if(tmp_path, '[[sectors.nev.shocks]]\nname = "my own shock"\nstart = 2025-01-01\nend = 2025-03-31\n'
                             'multiplier = 1.1\n[[sectors.nev.shocks]]\nname = "xyz"\nremove = true\n', "rm4")
    with pytest.raises(ScenarioError) as err:
        load_scenario(adds)
    assert f"Inherited: '{shock}'" in str(err.value) and "my own shock" not in str(err.value)


@pytest.mark.parametrize("value, says", [("inf", "prnd_wt_pct: given inf; allowed: a finite number"),
                                         ('{ abc = "x" }', "prnd_wt_pct.abc: given the key 'abc'; allowed: years"),
                                         ('{ abc = 30.0 }', "prnd_wt_pct: given the key 'abc'; allowed: years")])
def test_a_recipe_figure_s_own_mistake_is_told(tmp_path, value, says):
    f = what_if(tmp_path, f"[magnet_recipes.magnet_uh]\nprnd_wt_pct = {value}\n", "rec")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert says in str(err.value), str(err.value)
