"""Findings of an outside era audit (2016-2018, December 2026): each case as the outsider met
it, held here."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from support import what_if

from rechain.cli import main

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"


def test_every_bad_year_of_a_table_is_named_at_once(tmp_path):
    """Two bad years in one capacity_by_year: only the first was named, the second only on
    the next check."""
    bad = what_if(tmp_path, '[firms.myanmar_holders]\ncapacity_by_year = { "20x6" = 5000, "1850" = 5000 }\n', "years")
    res = CliRunner().invoke(main, ["check", str(bad)])
    assert res.exit_code == 2
    line = [x for x in res.output.splitlines() if "capacity_by_year" in x]
    assert len(line) == 1 and "'20x6', '1850'" in line[0] and "years 1950-2100" in line[0], res.output


def test_the_line_after_a_run_names_every_file_it_wrote(tmp_path):
    """`rechain run` said it wrote monthly, flows, summary and the manifest; it also wrote the
    mass balance and the weekly table."""
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(TINY), "--out", str(out)])
    assert res.exit_code == 0, res.output
    said = res.output.strip().splitlines()[-1]
    assert said.startswith(f"wrote {out}/ (")
    for f in out.iterdir():
        if not f.name.startswith("."):
            assert f.name in said, (f.name, said)
    assert "6 figures" in said



def test_a_producer_abroad_whose_dated_capacity_grows_finds_buyers_for_it():
    """Foreign producers given 150,000 t REO by `capacity_by_year = { 2024 = 150000 }` made as
    much as with `capacity_t_per_yr = 150000` but sold +1.5 % against +56-85 %: buyers had chosen
    their suppliers by the 30,000 t the group was sized at. They now choose by its capacity at
    the start, the dated figure included."""
    import rechain
    from rechain.scenario import scenario_from_dict
    from support import baseline_dict

    def sold(**group) -> float:
        d = baseline_dict()
        d["firms"]["foreign_producers"].update(group)
        monthly = rechain.run(scenario_from_dict(d), seed=0).monthly
        return float(monthly.loc[monthly["variable"] == "sales_abroad", "value"].sum())

    dated, sized = sold(capacity_by_year={"2024": 150000}), sold(capacity_t_per_yr=150000)
    assert dated > 1.3 * sold()
    assert abs(dated / sized - 1.0) < 0.1, (dated, sized)


def test_the_spin_up_counts_imported_ore_as_the_first_week_does():
    """With imported ore counting against the separation quota from the start, the spin-up
    worked a quota shared out for imports that did not count: ion-adsorption plants separated
    all of Myanmar's ore and the run opened on 570 t of Dy oxide in their yards (the baseline's
    none), so a tighter rule read as a Dy glut (an outside lever audit)."""
    import datetime as dt

    from support import baseline_dict

    from rechain.conditions import Mode, PolicyTimeline
    from rechain.randomness import Streams
    from rechain.scenario import scenario_from_dict
    from rechain.world import build_world
    # the spin-up counts imports as the first year's quota shares do (for the whole year the
    # rule begins in: a rule of 8 January or 4 March brought the glut back, a later audit);
    # the run's weeks count them from the rule's date
    for counts_from, spin_up, first_week in ((dt.date(2024, 1, 1), True, True), (dt.date(2024, 3, 4), True, False),
                                             (dt.date(2025, 7, 28), False, False)):
        d = baseline_dict()
        d["quota_policy"]["imported_ore_counts_from"] = counts_from
        timeline = PolicyTimeline(build_world(scenario_from_dict(d), Streams(0)))
        for mode in (Mode.DRY_RUN, Mode.SPIN_UP):
            assert timeline.conditions(0, mode).imports_count is spin_up, (counts_from, mode)
        assert timeline.conditions(0, Mode.RUN).imports_count is first_week, counts_from


def test_check_names_the_ratios_a_start_price_given_alone_moves(tmp_path):
    """Pr-Nd oxide's start price alone at 600,000 yuan/t made Dy, Tb, the ores and the scraps
    12-18 % cheaper, and check said only that metal was priced below cost (an outside lever
    audit): the model keeps the oxides' split of their anchor and each feed's price over its
    oxides' value from the start prices."""
    alone = what_if(tmp_path, "[market.initial_price]\nprnd_oxide = 600000\n", "alone")
    res = CliRunner().invoke(main, ["check", str(alone)])
    assert res.exit_code == 0, res.output
    split = [x for x in res.output.splitlines() if "share one cost anchor" in x]
    assert len(split) == 1 and "dy_oxide to Pr-Nd oxide 0.73 times" in split[0] and "pulls the others down" in split[0]
    feeds = [x for x in res.output.splitlines() if "inherited while the oxides' start prices change" in x]
    assert {x.split("market.initial_price.")[1].split(":")[0] for x in feeds} == \
        {"light_ore", "ionic_ore", "scrap_std", "scrap_uh"}
    # given together, the ratios are kept: nothing to say
    together = what_if(tmp_path, "[market.initial_price]\nprnd_oxide = 600000\ndy_oxide = 3409\ntb_oxide = 9955\n"
                                 "light_ore = 48600\nionic_ore = 243300\nscrap_std = 157\nscrap_uh = 212\n", "together")
    res = CliRunner().invoke(main, ["check", str(together)])
    assert "share one cost anchor" not in res.output and "inherited while the oxides" not in res.output, res.output


def test_a_closed_standard_output_is_no_traceback(tmp_path):
    """`rechain schema >&-` and `rechain check ... >&-` ended in AttributeError (sys.stdout is
    None), and `run` wrote its folder and then the traceback (a malformed-input round)."""
    import subprocess
    import sys
    for args in (["schema"], ["check", str(TINY)]):
        res = subprocess.run([sys.executable, "-m", "rechain", *args], stdout=subprocess.DEVNULL, text=True,
                             stderr=subprocess.PIPE, close_fds=True,
                             preexec_fn=lambda: __import__("os").close(1))
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr


def test_a_deleted_current_folder_is_one_line(tmp_path):
    """Run from a folder deleted under the shell, every command ended in FileNotFoundError from
    os.getcwd, even with absolute paths."""
    import os
    gone = tmp_path / "gone"
    gone.mkdir()
    pid = os.fork()
    if pid == 0:        # the child stands in the folder, which is then removed, and runs rechain
        os.chdir(gone)
        os.rmdir(gone)
        out = os.open(tmp_path / "said.txt", os.O_WRONLY | os.O_CREAT)
        os.dup2(out, 2)
        os.dup2(out, 1)
        import sys
        os.execv(sys.executable, [sys.executable, "-m", "rechain", "check", str(TINY)])
    _, status = os.waitpid(pid, 0)
    said = (tmp_path / "said.txt").read_text()
    assert os.waitstatus_to_exitcode(status) == 2, said
    assert said.strip().splitlines() == [said.strip()] and "the current folder no longer exists" in said


def test_an_items_name_differing_only_in_capitals_or_spaces_is_refused(tmp_path):
    """A disruption named with a lower-case first letter was added beside the inherited one,
    and the two shares added up (Myanmar at 7,493 t instead of 24,977); an export control's
    name with a trailing space, given in part, was told only as two missing keys."""
    for name in ("kachin conflict around the Pangwa/Chipwi mines", "Kachin conflict  around the Pangwa/Chipwi mines "):
        body = (f'[[disruptions]]\nname = "{name}"\ntarget = "myanmar_holders"\nstart = 2024-10-20\n'
                f'end = 2025-02-28\ncapacity_offline_share = 0.5\n')
        res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body, "twin"))])
        said = [x for x in res.output.splitlines() if x.startswith("error:")]
        assert res.exit_code == 2 and len(said) == 1, res.output
        assert "only in capitals or spaces" in said[0] and "'Kachin conflict around the Pangwa/Chipwi mines'" in said[0]
    partial = what_if(tmp_path, '[[export_controls]]\nname = "april 2025 medium-heavy controls"\n'
                                'approval = [{ from = 2025-04-04, rate = 0.5 }]\n', "partial")
    res = CliRunner().invoke(main, ["check", str(partial)])
    said = [x for x in res.output.splitlines() if x.startswith("error:")]
    assert res.exit_code == 2 and len(said) == 1 and "'April 2025 medium-heavy controls'" in said[0], res.output


def _checked(tmp_path, text: str, stem: str = "f"):
    """``rechain check`` on a file of ``text`` extending the tiny scenario."""
    f = tmp_path / f"{stem}.toml"
    f.write_text(f'extends = "{TINY.as_posix()}"\n{text}', encoding="utf-8")
    return CliRunner().invoke(main, ["check", str(f)])


def test_tables_nested_hundreds_deep_are_one_line(tmp_path):
    """A [a.a.a...] header 500 deep parsed, then ended in RecursionError."""
    res = _checked(tmp_path, f'[{".".join(["a"] * 500)}]\nx = 1\n')
    assert res.exit_code == 2 and "nested too deeply" in res.output and "Traceback" not in res.output, res.output


def test_look_alike_characters_are_named(tmp_path):
    """Curly quotes, a Unicode minus and old Mac line endings got a bare "Invalid value"."""
    cases = {"quotes": ('name = \u201cx\u201d\n', "a curly quote"),
             "minus": ('name = "x"\n[behaviour]\nw_news = \u22121.0\n', "a minus sign"),
             "mac": ('name = "x"\r[behaviour]\rw_news = 1.0\r', "bare carriage return")}
    for stem, (text, named) in cases.items():
        f = tmp_path / f"{stem}.toml"
        f.write_bytes(text.encode("utf-8"))
        res = CliRunner().invoke(main, ["check", str(f)])
        assert res.exit_code == 2 and named in res.output and "not valid TOML" in res.output, (stem, res.output)


def test_tonnes_of_two_forms_named_together_make_no_series(tmp_path):
    """`product = "light_ore+magnet_std"` added t REO of ore to t of blanks, in a sweep's series,
    in a fact and in RunResult.series, and the fact was scored as reproduced."""
    import pytest

    from rechain.report import series_of
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'name = "s"\nbase = "{TINY.as_posix()}"\ndesign = "grid"\nreplicates = 1\n[parameters]\n'
                     f'"behaviour.w_news" = {{ levels = [1.0] }}\n[outputs]\nkpis = ["price_peak_prnd_oxide"]\n'
                     f'series = [{{ variable = "production", product = "light_ore+magnet_std" }}]\n',
                     encoding="utf-8")
    res = CliRunner().invoke(main, ["sweep", str(sweep), "--workers", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "whose tonnes do not add up" in res.output, res.output
    assert not (tmp_path / "out").exists()
    import rechain
    monthly = rechain.run(TINY, seed=0).monthly
    with pytest.raises(ValueError, match="do not add up"):
        series_of(monthly, "production", product="light_ore+magnet_std")
    assert series_of(monthly, "production", product="magnet_std+magnet_uh").sum() > 0


def test_a_report_is_not_written_into_a_subfolder_of_a_run(tmp_path):
    """`report RUN --out RUN/sub/x.html` wrote it, and the next `run --out RUN` refused RUN as
    holding files rechain did not write (it had)."""
    run = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(TINY), "--out", str(run), "--no-figures"]).exit_code == 0
    res = CliRunner().invoke(main, ["report", str(run), "--out", str(run / "sub" / "x.html")])
    assert res.exit_code == 2 and "subfolder of the run output" in res.output, res.output
    assert not (run / "sub").exists()
    assert CliRunner().invoke(main, ["run", str(TINY), "--out", str(run), "--no-figures"]).exit_code == 0


def test_a_very_long_value_is_cut_in_the_error_line(tmp_path):
    """A name of 100,000 characters was echoed whole in a 100 KB error line."""
    long = tmp_path / "long.toml"
    long.write_text(f'extends = "{TINY.as_posix()}"\nname = "{"a" * 100_000}"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(long)])
    assert res.exit_code == 2 and "(100,000 characters)" in res.output and len(res.output) < 1000, len(res.output)


def test_a_name_twice_in_compare_names_both_files(tmp_path):
    """Two scenarios named alike: the error named only the first file, not the one to rename."""
    a = what_if(tmp_path, "", "same")
    other = tmp_path / "other"
    other.mkdir()
    b = what_if(other, "", "same")
    res = CliRunner().invoke(main, ["compare", str(a), str(b)])
    said = [x for x in res.output.splitlines() if x.startswith("error:")]
    assert res.exit_code == 2 and len(said) == 1 and said[0].startswith(f"error: {b}") and f"(also {a})" in said[0], \
        res.output


def test_capitals_twins_are_one_rule_whatever_the_order_or_the_file(tmp_path):
    """A re-capitalised item added before the removal of the inherited one was refused, after
    it accepted; two new items "Strike A" and "strike a" were refused as differing "from the
    inherited item", and accepted in a file that extends nothing (an audit of the mends)."""
    item = ('[[disruptions]]\nname = "{}"\ntarget = "myanmar_holders"\nstart = 2024-10-20\nend = 2025-03-31\n'
            'capacity_offline_share = 0.35\n')
    drop = '[[disruptions]]\nname = "Kachin conflict around the Pangwa/Chipwi mines"\nremove = true\n'
    new = item.format("KACHIN conflict around the Pangwa/Chipwi mines")
    for order, body in (("add first", new + drop), ("remove first", drop + new)):
        res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body, "swap"))])
        assert res.exit_code == 0, (order, res.output)
    both = item.format("Strike A") + item.format("strike a")
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, both, "twins"))])
    said = [x for x in res.output.splitlines() if x.startswith("error:")]
    assert res.exit_code == 2 and len(said) == 1 and "given 'strike a' beside 'Strike A'" in said[0], res.output
    assert "inherited" not in said[0]
    alone = tmp_path / "alone.toml"
    from support import BASELINE
    alone.write_text(BASELINE.read_text(encoding="utf-8") + "\n" + both, encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(alone)])
    assert res.exit_code == 2 and "given 'strike a' beside 'Strike A'" in res.output, res.output


def test_the_look_alike_note_reads_only_up_to_the_mistake(tmp_path):
    """`count = 5 5  # the “big” six – see notes` was blamed on the comment's curly quotes."""
    res = _checked(tmp_path, '[firms.rock_miners]\ncount = 5 5  # the \u201cbig\u201d six \u2013 see\n')
    assert res.exit_code == 2 and "not valid TOML" in res.output and "curly" not in res.output, res.output
    # a curly quote inside a string is TOML's own and loads
    assert _checked(tmp_path, 'name = "the \u201cbig\u201d one"\n', "ok").exit_code == 0


def test_a_dict_nested_hundreds_deep_through_the_api_is_a_scenario_error():
    """scenario_from_dict on a dict nested 600 deep ended in RecursionError."""
    import pytest
    from support import baseline_dict

    from rechain.scenario import ScenarioError, scenario_from_dict
    d = baseline_dict()
    deep: dict = {}
    d["market"]["foo"] = deep
    for _ in range(600):
        deep["a"] = {}
        deep = deep["a"]
    with pytest.raises(ScenarioError, match="nested too deeply"):
        scenario_from_dict(d)


def test_series_refuse_what_validate_refuses():
    """RunResult.series added the mining quotas' use to the separation quota's (one ore counted
    twice) and vehicles to MW short, which validate refuses."""
    import pytest

    import rechain
    from rechain.report import series_of
    monthly = rechain.run(TINY, seed=0).monthly
    with pytest.raises(ValueError, match="the mining quotas and the separation quota"):
        series_of(monthly, "quota_used", product="mining_rock+separation")
    assert series_of(monthly, "quota_used", product="mining_rock+mining_ionic").sum() > 0


def test_the_same_file_twice_in_compare_is_said_so(tmp_path):
    a = what_if(tmp_path, "", "same")
    res = CliRunner().invoke(main, ["compare", str(a), str(a)])
    assert res.exit_code == 2 and "the same scenario file 2 times" in res.output, res.output


def test_a_long_value_with_an_apostrophe_is_cut_too(tmp_path):
    body = f'[[disruptions]]\nname = "Myanmar\'s {"x" * 300}"\nremove = true\n'
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body, "apos"))])
    assert res.exit_code == 2 and "characters)" in res.output and "x" * 100 not in res.output, res.output


def test_a_fact_adding_two_forms_is_refused_by_check_before_any_run(tmp_path):
    """`check` said "ok" of a fact on light_ore+magnet_std, and validate refused it only once
    its replicates had run."""
    facts = tmp_path / "f.csv"
    facts.write_text("fact_id,required,description,variable,stage,product,region,period,measure,comparison,target,"
                     "tolerance,unit\nA1,true,x,production,*,light_ore+magnet_std,*,2024-02,level,within,100,10,t\n",
                     encoding="utf-8")
    sc = what_if(tmp_path, f'facts_file = "{facts.as_posix()}"\n', "withfacts")
    res = CliRunner().invoke(main, ["check", str(sc)])
    assert res.exit_code == 2 and "whose tonnes do not add up" in res.output, res.output
