"""Round 21 of outside checks: what a user meets around the model (session of 2026-12-07)."""

from __future__ import annotations

import warnings
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
    # a sweep of its own saved inside the calibration's folder is still a sweep
    extra = cal / "extra"
    grid = Path(__file__).resolve().parent / "data" / "tiny_grid.toml"
    res = CliRunner().invoke(main, ["sweep", str(grid), "--workers", "1", "--out", str(extra), "--quiet"])
    assert res.exit_code == 0, res.output
    sorted((extra / "runs").glob("part-*.parquet"))[-1].unlink()
    res = CliRunner().invoke(main, ["analyze", str(extra), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "warning: the sweep did not finish" in res.stderr and f"rechain sweep {grid} --out {extra} --resume" \
        in res.stderr, res.stderr


def test_a_recipe_year_past_the_run_is_read_toward_and_only_later_ones_are_inert(tmp_path):
    """A recipe's figures run linear between their years, so the first year after the run
    sets the slope into it: check called it inert, and it changed the run."""
    def recipe(table: str, name: str) -> Path:
        f = tmp_path / f"{name}.toml"
        f.write_text(f'extends = "{TINY.as_posix()}"\nname = "{name}"\n[magnet_recipes.magnet_std]\n'
                     f'prnd_wt_pct = {table}\n', encoding="utf-8")
        return f
    res = CliRunner().invoke(main, ["check", str(recipe("{ 2024 = 30.0, 2030 = 15.0 }", "toward"))])
    assert res.exit_code == 0 and "acts on nothing" not in res.output, res.output
    res = CliRunner().invoke(main, ["check", str(recipe("{ 2024 = 30.0, 2030 = 15.0, 2032 = 12.0 }", "later"))])
    assert "prnd_wt_pct: the run reads its years up to 2024 and the line toward 2030" in res.output, res.output
    assert "2032 acts on nothing" in res.output
    runs = {n: rechain.run(load_scenario(tmp_path / f"{n}.toml"), seed=1).monthly for n in ("toward", "later")}
    assert runs["toward"].equals(runs["later"])


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


# --- the last years a period may run in --------------------------------------------------------
def test_a_period_in_2100_checks_and_runs(tmp_path):
    """Figures carried past the last year given ran on to the year after the end, for the weeks
    end users plan ahead: in 2100 that was 2101, a year no key may name, so a scenario that
    passed `check` was refused by `run` with 27 errors about a key the file never has."""
    f = what_if(tmp_path, 'start = 2100-01-04\nend = 2100-03-31\nholidays = false\n[after_last_year]\n'
                          'rule = "hold"\n', "far")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["run", str(f), "--out", str(tmp_path / "out"), "--quiet", "--no-figures"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "monthly.csv").exists()


def test_a_run_from_1950_is_not_told_to_give_a_1949_quota(tmp_path):
    """The warning on a missing quota for the year before the start told a run from 1950 to
    give a 1949 quota, which no key may name."""
    body = 'start = 1950-01-02\nend = 1950-03-31\nholidays = false\n[after_last_year]\nrule = "hold"\n'
    body += "".join(f'[[quota_policy.quotas]]\ntype = "{t}"\nyear = 1950\ntotal_t = 100000\n'
                    f'batches = [{{ issued = 1950-02-01, share = 1.0 }}]\n'
                    for t in ("mining_rock", "mining_ionic", "separation"))
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body, "early"))])
    assert "1949" not in res.output, res.output


# --- keys that act on nothing, told by check ---------------------------------------------------
@pytest.mark.parametrize("body, told", [
    ('end = 2024-02-28\n[sectors.nev]\nunits_per_yr = { 2030 = 2.5e7 }\n',
     "sectors.nev.units_per_yr: the run reads its years up to 2024 (it ends 2024-02-28); 2030 acts on nothing"),
    ('end = 2024-06-30\nholidays = false\n[regions.eu]\ncalendar = "east_asia"\n',
     "regions.eu.calendar: holidays = false runs every calendar as weekends only; it acts on nothing"),
    ('end = 2024-06-30\n[firms.myanmar_holders]\ncapacity_t_per_yr = 70000\ncapacity_by_year = { 2020 = 50000 }\n',
     "firms.myanmar_holders.capacity_t_per_yr: firms.myanmar_holders.capacity_by_year gives 2020, at or before "
     "the run's first year"),
])
def test_check_tells_keys_that_act_on_nothing(tmp_path, body, told):
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body))])
    assert res.exit_code == 0 and told in res.output, res.output


@pytest.mark.parametrize("same, key", [
    ('holidays = false\n', '[regions.eu]\ncalendar = "china"\n'),
    ('[firms.overseas_miners]\ncapacity_by_year = { 2023 = 30000, 2024 = 45000 }\n', 'capacity_t_per_yr = 90000\n'),
])
def test_what_check_calls_acting_on_nothing_changes_no_number(tmp_path, same, key):
    """The warnings above are true: with the key or without it, the same numbers."""
    runs = [rechain.run(load_scenario(what_if(tmp_path, f"end = 2024-06-30\n{same}{extra}", f"w{i}")), seed=0).monthly
            for i, extra in enumerate(("", key))]
    assert runs[0].equals(runs[1])
    res = CliRunner().invoke(main, ["check", str(tmp_path / "w1.toml")])
    assert "acts on nothing" in res.output, res.output


# --- a report added to a run folder, and the next run into it ---------------------------------
def test_a_run_into_a_folder_says_which_added_reports_go_with_the_earlier_output(tmp_path):
    """`report RUN --out RUN/my_notes.html` adds the page to the run's folder; the next run
    into that folder replaced it whole and the page was gone without a word."""
    f = what_if(tmp_path, "end = 2024-03-31\n", "short")
    out = tmp_path / "qq"
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(f), "--out", str(out), "--quiet", "--no-figures"]).exit_code == 0
    res = runner.invoke(main, ["report", str(out), "--out", str(out / "my_notes.html")])
    assert res.exit_code == 0 and (out / "my_notes.html").is_file(), res.output
    res = runner.invoke(main, ["run", str(f), "--out", str(out), "--quiet", "--no-figures"])
    assert res.exit_code == 0, res.output
    assert not (out / "my_notes.html").exists()
    assert f"note: {out}: replaced the earlier output, and with it my_notes.html, added to it since" in res.stderr
    # a run into a folder no report was added to says nothing of the kind
    res = runner.invoke(main, ["run", str(f), "--out", str(out), "--quiet", "--no-figures"])
    assert res.exit_code == 0 and "note:" not in res.stderr, res.stderr


# --- a calibration space's mistakes, all at once ----------------------------------------------
def test_every_mistake_of_a_calibration_space_is_told_at_once_with_its_line(tmp_path):
    """Six mistakes took five attempts to see, and two were told without their line."""
    space = tmp_path / "space.toml"
    space.write_text('name = "zzz"\n[parameters]\n"behaviour.w_trend" = { min = 0.5, max = 0 }\n'
                     '"behaviour.nope" = { min = 0, max = 1 }\n"behaviour.w_news" = { levels = [1, 2] }\n'
                     '"firms.recyclers.capacity_t_per_yr" = { min = -5, max = 1 }\n"start" = { min = 0, max = 1 }\n')
    res = CliRunner().invoke(main, ["calibrate", str(TINY), "--space", str(space), "--samples", "1", "--workers", "1",
                                    "--out", str(tmp_path / "cal")])
    assert res.exit_code == 2, res.output
    for line, key in ((1, "name"), (3, "parameters.behaviour.w_trend"), (4, "parameters.behaviour.nope"),
                      (5, "parameters.behaviour.w_news"), (6, "parameters.firms.recyclers.capacity_t_per_yr"),
                      (7, "parameters.start")):
        assert f"{space.name}, line {line}: {key}:" in res.output, (key, res.output)
    assert "6 errors" in res.output and not (tmp_path / "cal").exists()


# --- what check tells an analyst of reserves and export quotas ---------------------------------
def test_check_tells_a_reserve_starting_above_its_cap_and_overlapping_export_quotas(tmp_path):
    body = ('[stockpile]\nproducts = ["prnd_oxide"]\nbuy_t_per_yr = { prnd_oxide = 5000 }\n'
            'max_stock_t = { prnd_oxide = 1000 }\ninitial_stock_t = { prnd_oxide = 3000 }\n'
            '[[export_quotas]]\nname = "q"\nproducts = ["magnet_std"]\nyear = 2025\ntotal_t = 1000\n'
            '[[export_quotas]]\nname = "q2"\nproducts = ["magnet_std", "magnet_uh"]\nyear = 2025\ntotal_t = 2000\n')
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body))])
    assert res.exit_code == 0, res.output
    assert ("stockpile: prnd_oxide: its initial_stock_t (3,000 t) is above its max_stock_t (1,000 t), so the reserve "
            "buys no prnd_oxide until its releases take the stock below 1,000 t") in res.output
    assert ("export_quotas[1] (q2): export_quotas[0] (q) also caps magnet_std in 2025; each holds for its own "
            "products, so there the tighter binds") in res.output


@pytest.mark.parametrize("text, told", [
    ("foo = 1\nparameters = 3\n", ["line 1: foo:", "line 2: parameters: given 3"]),
    ("foo = 1\n[parameters]\n", ["line 1: foo:", "line 2: parameters: no parameters to calibrate"]),
])
def test_a_space_of_the_wrong_shape_is_told_whole(tmp_path, text, told):
    space = tmp_path / "space.toml"
    space.write_text(text)
    res = CliRunner().invoke(main, ["calibrate", str(TINY), "--space", str(space), "--samples", "2", "--workers", "1",
                                    "--out", str(tmp_path / "cal")])
    assert res.exit_code == 2 and "2 errors" in res.output, res.output
    for t in told:
        assert f"{space.name}, {t}" in res.output, (t, res.output)


def test_the_space_and_an_also_scenario_are_told_together(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text('[parameters]\n"behaviour.w_trend" = { min = 0.5, max = 0 }\n')
    other = tmp_path / "other.toml"
    other.write_text(f'extends = "{TINY.as_posix()}"\nname = "other"\nbogus_key = 3\n')
    res = CliRunner().invoke(main, ["calibrate", str(TINY), "--space", str(space), "--also", str(other),
                                    "--samples", "2", "--workers", "1", "--out", str(tmp_path / "cal")])
    assert res.exit_code == 2, res.output
    assert "space.toml, line 2: parameters.behaviour.w_trend" in res.output
    assert "other.toml, line 3: bogus_key: unknown key" in res.output and "2 errors" in res.output


def test_a_key_with_a_hidden_character_is_shown_with_it_at_its_line(tmp_path):
    """A trailing space in a quoted key, or a Cyrillic e, was named as the key it looks like
    ("behaviour.restock_strength : unknown key (did you mean 'restock_strength'?)"), the first
    at its table's header line."""
    f = what_if(tmp_path, '[behaviour]\n"restock_strength " = 2.0\n"w_n\u0435ws" = 1.0\n"" = 3\n')
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2, res.output
    assert f'{f.name}, line 4: behaviour."restock_strength ": unknown key' in res.output, res.output
    assert f'{f.name}, line 5: behaviour."w_n\\u0435ws": unknown key' in res.output
    assert f'{f.name}, line 6: behaviour."": unknown key' in res.output


# --- a modeller's sweeps, reports and analyses ------------------------------------------------
def _sweep_file(tmp_path: Path, body: str, name: str = "s") -> Path:
    f = tmp_path / f"{name}.toml"
    f.write_text(f'name = "{name}"\nbase = "{TINY.as_posix()}"\nreplicates = 1\nroot_seed = 0\n{body}\n'
                 '[outputs]\nkpis = ["price_peak_prnd_oxide"]\n', encoding="utf-8")
    return f


def test_each_column_of_a_bad_points_row_is_told_its_own_mistake(tmp_path):
    """The w_news column was told the count column's reason, and never its own."""
    (tmp_path / "pts.csv").write_text("behaviour.w_news,firms.recyclers.count\n1.0,3\n-1,2.5\n")
    f = _sweep_file(tmp_path, 'design = "table"\npoints = "pts.csv"')
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    w_news = next(line for line in res.output.splitlines() if "points.behaviour.w_news:" in line)
    assert "does not give a valid scenario: behaviour.w_news: given -1" in w_news, w_news
    count = next(line for line in res.output.splitlines() if "points.firms.recyclers.count:" in line)
    assert "firms.recyclers.count: given 2.5" in count, count


def test_a_grid_past_the_limits_is_refused_before_its_levels_are_checked(tmp_path):
    levels = ", ".join(str(1.0 + i / 1e4) for i in range(2000))
    f = _sweep_file(tmp_path, 'design = "grid"\n[parameters]\n'
                    + "".join(f'"behaviour.{k}" = {{ levels = [{levels}] }}\n' for k in ("w_news", "w_trend")))
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "4,000,000 design points is more than a sweep holds" in res.output, res.output


def test_an_item_named_with_a_bracket_can_be_swept_and_the_next_command_is_quoted(tmp_path):
    f = _sweep_file(tmp_path, 'design = "grid"\n[[overrides.news]]\nname = "Ban [draft]"\ndate = 2024-03-04\n'
                    'sign = 1\nstrength = 0.1\nhalf_life_weeks = 8\n[parameters]\n'
                    'b = { path = "news[\'Ban [draft]\'].strength", levels = [0.3] }')
    out = tmp_path / "a dir"
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"next: rechain analyze '{out}'" in res.output


def test_a_report_says_when_the_run_s_files_changed_since_rechain_wrote_them(tmp_path):
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(TINY), "--out", str(out), "--quiet", "--no-figures"]).exit_code == 0
    res = CliRunner().invoke(main, ["report", str(out)])
    assert res.exit_code == 0 and "not as rechain wrote" not in res.stderr, res.stderr
    lines = (out / "monthly.csv").read_text().splitlines()
    head, first = lines[0], lines[1].split(",")
    first[5] = "999999"
    (out / "monthly.csv").write_text("\n".join([head, ",".join(first), *lines[2:]]) + "\n")
    res = CliRunner().invoke(main, ["report", str(out)])          # report.html itself is the report's own
    assert res.exit_code == 0, res.output
    assert f"note: {out}: monthly.csv is not as rechain wrote it" in res.stderr, res.stderr
    assert "Note: monthly.csv is not as rechain wrote it" in (out / "report.html").read_text()
    # a link in a read file's place, or the file deleted, is told likewise
    (out / "flows.csv").rename(tmp_path / "flows.csv")
    (out / "flows.csv").symlink_to(tmp_path / "flows.csv")
    res = CliRunner().invoke(main, ["report", str(out)])
    assert "monthly.csv, flows.csv (a link) are not as rechain wrote them" in res.stderr, res.stderr


def test_analyze_of_a_grid_over_lists_shows_no_python_warning(tmp_path):
    control = ('{ name = "C", products = ["magnet_uh"], start = 2024-02-01, approval = [{ start = 2024-02-01, '
               'rate = 0.5 }], processing_working_days = { min = 25, mode = 40, max = 45 } }')
    f = _sweep_file(tmp_path, f'design = "grid"\n[parameters]\nexport_controls = {{ levels = [[], [{control}]] }}')
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    with warnings.catch_warnings(record=True) as seen:      # pytest would hide a printed one
        warnings.simplefilter("always")
        res = CliRunner().invoke(main, ["analyze", str(out)])
    assert res.exit_code == 0, res.output
    assert not [w for w in seen if issubclass(w.category, UserWarning)], [str(w.message) for w in seen]


def test_a_selection_of_several_units_is_told_the_key_that_splits_them(tmp_path):
    """Capacity is one product 'all' in several units, one per stage: the hints named a product
    with no capacity rows ('prnd_oxide'), or 'all' itself."""
    f = _sweep_file(tmp_path, 'design = "grid"\n[parameters]\n"behaviour.restock_strength" = { levels = [1.0] }')
    f.write_text(f.read_text().replace('kpis = ["price_peak_prnd_oxide"]',
                                       'kpis = ["price_peak_prnd_oxide"]\nseries = [{ variable = "capacity" }]'))
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "allowed: a selection of one unit, such as stage=" in res.output, res.output
    facts = tmp_path / "facts.csv"
    facts.write_text("fact_id,required,variable,stage,product,region,period,measure,base_period,comparison,target,"
                     "tolerance,unit\nC2,false,capacity,*,all,all,2024-03,level,,at_least,0,,\n")
    res = CliRunner().invoke(main, ["validate", str(TINY), "--facts", str(facts), "--replicates", "1", "--workers",
                                    "1", "--out", str(tmp_path / "v"), "--no-figures"])
    assert res.exit_code == 2 and "stage '*': selects capacity rows in" in res.output, res.output
    assert "allowed: a stage of one unit, such as" in res.output


@pytest.mark.parametrize("header_extra, row, told", [
    ("", "A3,true,price,market,prnd_oxide,*,2024-03,levels,,inside,3.8e5,5,yuan/t",
     ["(A3): measure 'levels'", "(A3): comparison 'inside'"]),
    (",extra_col", "B2,true,price,market,prnd_oxide,*,2024-03,level,,within,abc,10000,yuan/t,x",
     ["unknown column(s) 'extra_col'", "(B2): target: given abc"]),
])
def test_a_facts_table_tells_its_mistakes_together(tmp_path, header_extra, row, told):
    """A bad measure hid a bad comparison of the same row, and an unknown column hid the rows'
    own mistakes, each told only once the first was mended."""
    facts = tmp_path / "facts.csv"
    facts.write_text("fact_id,required,variable,stage,product,region,period,measure,base_period,comparison,target,"
                     f"tolerance,unit{header_extra}\n{row}\n")
    res = CliRunner().invoke(main, ["validate", str(TINY), "--facts", str(facts), "--replicates", "1", "--workers",
                                    "1", "--out", str(tmp_path / "v"), "--no-figures"])
    assert res.exit_code == 2 and "2 errors" in res.output, res.output
    for t in told:
        assert t in res.output, (t, res.output)


# --- the audit of the modeller's mends ---------------------------------------------------------
def test_a_points_row_failing_across_keys_is_refused_before_any_run(tmp_path):
    """Only the sell column's value fails alone and the row's mistake is keyed at the buy
    column: the row passed, and every run failed."""
    f = _sweep_file(tmp_path, 'design = "table"\npoints = [{ "stockpile.buy_below_share" = 0.9, '
                    '"stockpile.sell_above_share" = 0.5 }]')
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and not (tmp_path / "out").exists(), res.output
    assert "buy_below_share 0.9 is not below sell_above_share 0.5" in res.output


def test_a_list_item_column_of_a_points_row_is_told_its_own_mistake(tmp_path):
    control = ('[[overrides.export_controls]]\nname = "Ctl"\nproducts = ["magnet_uh"]\nstart = 2024-02-01\n'
               'processing_working_days = { min = 25, mode = 40, max = 45 }\n'
               'approval = [{ start = 2024-02-01, rate = 0.5 }]\n')
    f = _sweep_file(tmp_path, 'design = "table"\npoints = [{ "behaviour.w_news" = 1.0, '
                    '"export_controls[Ctl].approval[0].rate" = 0.5 }, { "behaviour.w_news" = -1.0, '
                    f'"export_controls[Ctl].approval[0].rate" = 1.5 }}]\n{control}')
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    rate = next(line for line in res.output.splitlines() if "points.export_controls[Ctl].approval[0].rate:" in line)
    assert "approval[0].rate (item \"Ctl\"): given 1.5" in rate, rate


def test_a_recipe_read_at_the_run_s_weeks_and_other_warnings_after_the_audit(tmp_path):
    body = ('end = 2024-12-31\n[behaviour]\nplan_ahead_weeks = 12\n[magnet_recipes.magnet_uh]\n'
            'dy_wt_pct = { 2024 = 1.2, 2025 = 1.1, 2026 = 1.0, 2027 = 0.9 }\n'
            '[stockpile]\nproducts = ["dy_oxide"]\nstart = 2025-03-01\nbuy_t_per_yr = { dy_oxide = 100 }\n'
            'max_stock_t = { dy_oxide = 200 }\ninitial_stock_t = { dy_oxide = 300 }\n'
            + "".join(f'[[export_quotas]]\nname = "{n}"\nproducts = ["magnet_std"]\nyear = 2025\ntotal_t = 1000\n'
                      for n in ("D", "E")))
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body))])
    assert res.exit_code == 0, res.output
    assert ("magnet_recipes.magnet_uh.dy_wt_pct: the run reads its years up to 2024 and the line toward 2025 "
            "(it ends 2024-12-31); 2026, 2027 act on nothing") in res.output
    assert "above its max_stock_t" not in res.output          # the reserve acts on nothing in the run
    assert "also caps" not in res.output                     # neither quota's year is in the run


def test_a_report_notes_only_the_files_it_reads(tmp_path):
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(TINY), "--out", str(out), "--quiet", "--no-figures"]).exit_code == 0
    with (out / "weekly_model_vars.csv").open("a") as f:
        f.write("\n")
    res = CliRunner().invoke(main, ["report", str(out)])
    assert res.exit_code == 0 and "not as rechain wrote" not in res.stderr, res.stderr


def test_a_key_beyond_the_basic_plane_is_quoted_as_toml_reads_it(tmp_path):
    f = what_if(tmp_path, '[behaviour]\n"w_news\U0001F600" = 1.0\n')
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2 and 'behaviour."w_news\\U0001f600": unknown key' in res.output, res.output


# --- the third audit: points rows judged whole, facts headers, hidden characters in sweeps -----
_TWO_CONTROLS = "".join(f'[[overrides.export_controls]]\nname = "{n}"\nproducts = ["{p}"]\nstart = 2024-02-01\n'
                        f'processing_working_days = {{ min = 25, mode = 40, max = 45 }}\n'
                        f'approval = [{{ start = 2024-02-01, rate = 0.5 }}]\n'
                        for n, p in (("A", "dy_oxide"), ("B", "tb_oxide")))


@pytest.mark.parametrize("points, told, not_told", [
    # A's end is valid beside A's start in its row; B's end is before B's start
    ('[{ "export_controls[A].start" = 2024-01-05, "export_controls[A].end" = 2024-01-20, '
     '"export_controls[B].end" = 2024-01-15 }]', ["points.export_controls[B].end:"], ["points.export_controls[A]"]),
    # each item's own rate
    ('[{ "export_controls[B].approval[0].rate" = 1.7, "export_controls[A].approval[0].rate" = 1.2 }]',
     ['(item "B"): given 1.7', '(item "A"): given 1.2'], []),
    # values each valid alone that fail together are refused before any run
    ('[{ "stockpile.buy_below_share" = 0.8, "stockpile.sell_above_share" = 1.3 }, '
     '{ "stockpile.buy_below_share" = 1.1, "stockpile.sell_above_share" = 1.0 }]',
     ["buy_below_share 1.1 is not below sell_above_share 1"], []),
    ('[{ start = 2024-03-01, end = 2024-02-15, "stockpile.buy_below_share" = 0.5, '
     '"stockpile.sell_above_share" = 0.7 }]', ["points.end: value 2024-02-15"], ["points.stockpile"]),
])
def test_a_points_row_is_judged_whole_and_each_mistake_told_at_its_column(tmp_path, points, told, not_told):
    f = _sweep_file(tmp_path, f'design = "table"\npoints = {points}\n{_TWO_CONTROLS}')
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and not (tmp_path / "out").exists(), res.output
    for t in told:
        assert t in res.output, (t, res.output)
    for t in not_told:
        assert t not in res.output, (t, res.output)


def test_a_valid_points_table_over_list_items_runs(tmp_path):
    f = _sweep_file(tmp_path, 'design = "table"\npoints = [{ "export_controls[A].approval[0].rate" = 0.2, '
                    '"export_controls[1].approval[0].rate" = 0.9 }]\n' + _TWO_CONTROLS)
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 0, res.output


def test_a_sweep_column_with_a_hidden_character_is_shown_with_it(tmp_path):
    f = _sweep_file(tmp_path, 'design = "table"\npoints = [{ "behaviour.w_n\u0435ws" = 1.0 }]')
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and 'points."behaviour.w_n\\u0435ws": column "behaviour.w_n\\u0435ws"' in res.output, \
        res.output


def test_a_mis_cased_optional_column_stops_at_the_header(tmp_path):
    """Rows read beside an unknown column lost a mis-cased column's cells and were told a
    mistake they do not have (a change_pct without its base_period)."""
    facts = tmp_path / "facts.csv"
    facts.write_text("fact_id,required,variable,stage,product,region,period,measure,Base_Period,comparison,target,"
                     "tolerance\nR01,true,price,market,prnd_oxide,*,2024-05,change_pct,2024-02,at_least,5,0\n")
    res = CliRunner().invoke(main, ["validate", str(TINY), "--facts", str(facts), "--replicates", "1", "--workers",
                                    "1", "--out", str(tmp_path / "v"), "--no-figures"])
    assert res.exit_code == 2 and "not in lower case" in res.output and "needs a base_period" not in res.output, \
        res.output
