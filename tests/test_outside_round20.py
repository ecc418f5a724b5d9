"""Defects found by outside testers in round 20, each mended and kept mended here."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner
from support import what_if

from rechain.cli import main
from rechain.experiments.sweep import load_sweep
from rechain.scenario import ScenarioError
from rechain.stops import INTERRUPTED


def sweep_file(tmp_path, body: str, design: str = "grid"):
    """A sweep file s.toml in ``tmp_path`` whose base is the baseline, then ``body``."""
    from support import BASELINE
    f = tmp_path / "s.toml"
    f.write_text(f'base = "{BASELINE.as_posix()}"\ndesign = "{design}"\n' + body, encoding="utf-8")
    return f


def sweep_error(tmp_path, body: str, design: str = "grid") -> ScenarioError:
    """What load_sweep refuses in that file."""
    with pytest.raises(ScenarioError) as e:
        load_sweep(sweep_file(tmp_path, body, design))
    return e.value


def refused(tmp_path, body: str) -> str:
    """What `check` says of a what-if of the baseline with ``body``, which it refuses."""
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body))])
    assert res.exit_code == 2
    return res.output


def test_a_reserves_band_and_dates_are_told_at_once(tmp_path):
    """A reserve with both its band and its dates wrong was told the band first, and the
    dates only once that was mended."""
    f = what_if(tmp_path, '[stockpile]\nproducts = ["prnd_oxide"]\nbuy_t_per_yr = { prnd_oxide = 5000 }\n'
                          'buy_below_share = 1.3\nsell_above_share = 1.2\nstart = 2024-05-01\nend = 2024-03-01\n')
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2
    assert "w.toml, line 6: stockpile.buy_below_share: buy_below_share 1.3 is not below sell_above_share 1.2" \
        in res.output
    assert "w.toml, line 9: stockpile.end: end 2024-03-01 is before start 2024-05-01" in res.output
    assert "2 errors" in res.output


def test_a_stop_while_the_libraries_load_says_what_a_stop_in_a_command_says():
    """The line was written out twice, in rechain.__main__ and rechain.cli; both now read
    rechain.stops. A Ctrl-C raised while the command's libraries load ends with it."""
    code = ("import builtins, sys\nreal = builtins.__import__\n"
            "def stop(name, *a, **k):\n"
            "    if name == 'cli' or name.endswith('.cli'):\n        raise KeyboardInterrupt\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = stop\nsys.argv = ['rechain', '--help']\n"
            "from rechain.__main__ import main\nmain()\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 130
    assert res.stderr.strip() == INTERRUPTED


@pytest.mark.parametrize("body, said", [
    ("[regions.eu]\ndemand_t_per_yr = { 2024 = nan, 20x5 = 16934, 2026 = 17611 }\n",
     ["regions.eu.demand_t_per_yr.2024: given nan", "regions.eu.demand_t_per_yr: given the key '20x5'"]),
    ("[sectors.nev]\nunits_per_yr = { 2024 = -5, y = 3 }\n",
     ["sectors.nev.units_per_yr.2024: given -5", "sectors.nev.units_per_yr: given the key 'y'"]),
    ("[magnet_recipes.magnet_uh]\ndy_wt_pct = { 2024 = nan, 20245 = 2 }\n",
     ["magnet_recipes.magnet_uh.dy_wt_pct.2024: given nan",
      "magnet_recipes.magnet_uh.dy_wt_pct: given the key '20245'"]),
    # the audit of the mend: a value out of range was told only once the key was mended
    ('[magnet_recipes.magnet_uh]\nprnd_wt_pct = { "20x4" = 29, 2025 = 99 }\n',
     ["magnet_recipes.magnet_uh.prnd_wt_pct.2025: given 99; allowed: a number > 0 and <= 60",
      "magnet_recipes.magnet_uh.prnd_wt_pct: given the key '20x4'"]),
])
def test_a_yearly_tables_bad_value_does_not_hide_its_bad_key(tmp_path, body, said):
    """A non-finite value was told alone, and the key that is no year only on the next check."""
    output = refused(tmp_path, body)
    for s in said:
        assert f"w.toml, line 4: {s}" in output
    assert "2 errors" in output
    assert "function-wrap" not in output


def test_a_recipes_table_with_only_a_bad_key_is_told_at_the_figure(tmp_path):
    f = what_if(tmp_path, "[magnet_recipes.magnet_uh]\ndy_wt_pct = { 2024 = 3, 20245 = 2 }\n")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2
    assert res.output.strip() == ("error: " + str(f) + ", line 4: magnet_recipes.magnet_uh.dy_wt_pct: given the key "
                                  "'20245'; allowed: years 1950-2100 as keys (\"2024\")")


REMOVED = "quota_policy.quotas.remove: given remove = true for 'mining_rock-2031'"
TWICE = "quota_policy.quotas.year: given two mining_rock quotas for 2024 in one file; allowed: one per type and year"


@pytest.mark.parametrize("body, said", [
    ('[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2024\nbatches = []\n\n'
     '[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2031\nremove = true\n', f"line 9: {REMOVED}"),
    ('quota_policy.quotas = [{ type = "separation", year = 2024, batches = [] },\n'
     '  { type = "mining_rock", year = 2031, remove = true }]\n', f"line 4: {REMOVED}"),
    ('[quota_policy]\nquotas = [{ type = "mining_rock", year = 2024, total_t = 1000 }, '
     '{ type = "mining_rock", year = 2024, total_t = 2000 }]\n', f"line 4: {TWICE}"),
    ('[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2024\ntotal_t = 1000\n'
     '[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2024\ntotal_t = 2000\n', f"line 8: {TWICE}"),
])
def test_a_quotas_merge_mistakes_are_told_at_its_line(tmp_path, body, said):
    """Quotas are found by type and year, not by name: a removal that named nothing had no
    line, and two quotas of one type and year were told without one, as 'quotas.name: two
    items named mining_rock-2024', a key the file never has; now at the second."""
    output = refused(tmp_path, body)
    assert f"w.toml, {said}" in output


def test_compares_period_note_names_the_months_each_run_tables(tmp_path):
    """A run ending on Sunday 1 February 2026 tables no February (China works none of its
    days there), but the note named its period as running to 2026-02."""
    from support import BASELINE

    from rechain.experiments.compare import _periods
    from rechain.scenario import load_scenario
    short = load_scenario(what_if(tmp_path, "end = 2026-02-01\n", name="short"))
    note = _periods([load_scenario(BASELINE), short], [str(BASELINE), "short.toml"])
    assert "short 2024-01..2026-01;" in note
    assert "months all share: 2024-01..2026-01" in note


def test_local_workers_start_with_ctrl_c_blocked_and_the_command_keeps_it():
    """A terminal's Ctrl-C reaches the whole process group: a worker still importing the model
    printed its traceback under compare's one line. Workers now begin with SIGINT blocked (the
    command stops them), while the command itself still takes it."""
    import functools
    import signal

    from rechain.experiments.executor import open_executor
    with open_executor(workers=2) as ex:
        masks = [m for _, m in ex.map(functools.partial(signal.pthread_sigmask, signal.SIG_BLOCK), [[], []])]
    assert all(signal.SIGINT in m for m in masks)
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_a_sweeps_series_of_flows_over_two_forms_is_refused_before_the_runs(tmp_path):
    """Flows appear only in runs, so a series of separation plants' production with the
    product left open (oxides and the metal made from them) failed each run instead."""
    body = ('[overrides]\nend = 2024-03-31\n[parameters]\n"behaviour.noise" = { levels = [0.0, 0.01] }\n[outputs]\n'
            'series = [{ variable = "production", stage = "separation_plants" },\n'
            '  { variable = "exports", stage = "magnet_makers", region = "us" }]\n')
    e = sweep_error(tmp_path, body)
    assert len(e.errors) == 1 and "outputs.series: 'production[stage=separation_plants]'" in str(e)
    assert "production rows left open span metal (made from the oxide), oxides" in str(e)
    # one product, or rows that come later, are left to the runs
    f = sweep_file(tmp_path, body.replace('stage = "separation_plants"',
                                          'stage = "separation_plants", product = "prnd_metal"'))
    assert load_sweep(f).n_runs == 2


def test_sigterm_while_the_libraries_load_ends_with_the_line_and_143(tmp_path):
    """A batch system's SIGTERM in a command's first second (its libraries loading) ended it
    in silence, killed by the signal, before the command's own handler was in place."""
    import signal
    import time

    from rechain.stops import TERMINATED
    from support import BASELINE
    proc = subprocess.Popen([sys.executable, "-m", "rechain", "run", str(BASELINE), "--out", str(tmp_path / "o")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert err.strip() == TERMINATED
    assert not (tmp_path / "o").exists()


def test_every_mistake_of_a_sweeps_overrides_is_told_at_once(tmp_path):
    e = sweep_error(tmp_path, '[parameters]\n"behaviour.w_news" = { levels = [1.0] }\n[overrides]\nend = 2024-03-31\n'
                              'behaviour = { w_newz = 1.0, restock_strength = -4 }\nholidays = "yes"\n')
    said = [str(x) for x in e.errors]
    assert len(said) == 3
    assert "line 7: overrides: the base scenario with these overrides is invalid: behaviour.w_newz: unknown key" \
        in said[0]
    assert "line 7: overrides: the base scenario with these overrides is invalid: behaviour.restock_strength: " \
           "given -4" in said[1]
    assert "line 8: overrides: the base scenario with these overrides is invalid: holidays: given 'yes'" in said[2]




def test_a_key_written_under_another_name_is_one_mistake(tmp_path):
    """An export quota's batches written with `date` (as its revisions are) gave two lines
    per batch: `issued` missing and `date` unknown."""
    f = what_if(tmp_path, '[[export_quotas]]\nname = "eq"\nproducts = ["magnet_std"]\nyear = 2025\n'
                          'total_t = 10000\nbatches = [{ date = 2024-12-15, share = 0.5 }, '
                          '{ date = 2025-07-01, share = 0.5 }]\n')
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert lines[-1] == "2 errors" and "missing" not in res.output
    assert all("unknown key (is it 'issued', the required key this item lacks?); allowed here: issued, share"
               in line for line in lines[:2])


def test_compare_says_why_it_runs_again_a_run_it_was_given(tmp_path):
    """A finished run whose folder held an edited file was run again in silence."""
    a = what_if(tmp_path, "end = 2024-02-29\n", name="a")
    b = what_if(tmp_path, "end = 2024-02-29\n", name="b")
    runs = tmp_path / "runs"
    assert CliRunner().invoke(main, ["run", str(a), "--out", str(runs / "a-seed0")]).exit_code == 0
    args = ["compare", str(a), str(b), "--workers", "1", "--no-figures", "--runs-dir", str(runs)]
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "c1")])
    assert res.exit_code == 0 and "read   a seed 0 from" in res.output and "not read" not in res.output
    with open(runs / "a-seed0" / "summary.csv", "a", encoding="utf-8") as fh:
        fh.write("my note\n")
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "c2")])
    assert res.exit_code == 0
    assert ("a-seed0 is not read, since a file in it changed since rechain wrote it: a seed 0 is run again "
            "(the folder is left as it is)") in res.output
    assert (runs / "a-seed0" / "summary.csv").read_text(encoding="utf-8").endswith("my note\n")


def test_a_report_on_an_output_of_other_code_says_so_in_the_page(tmp_path):
    """A run's note was printed on the terminal only, not in the page sent to a colleague;
    a comparison recorded no code at all, so its report could not tell."""
    import json
    a = what_if(tmp_path, "end = 2024-02-29\n", name="a")
    b = what_if(tmp_path, "end = 2024-02-29\n", name="b")
    run, comp = tmp_path / "run", tmp_path / "comp"
    assert CliRunner().invoke(main, ["run", str(a), "--out", str(run)]).exit_code == 0
    assert CliRunner().invoke(main, ["compare", str(a), str(b), "--workers", "1", "--no-figures",
                                     "--out", str(comp)]).exit_code == 0
    note = "made by other code than the rechain that wrote this report"
    for folder, meta in ((run, "manifest.json"), (comp, "compare.json")):
        res = CliRunner().invoke(main, ["report", str(folder)])
        assert res.exit_code == 0 and note not in (folder / "report.html").read_text(encoding="utf-8")
        data = json.loads((folder / meta).read_text(encoding="utf-8"))
        assert len(data["rechain_code_sha256"]) == 64
        data["rechain_code_sha256"] = "0" * 64
        (folder / meta).write_text(json.dumps(data), encoding="utf-8")
        res = CliRunner().invoke(main, ["report", str(folder)])
        assert res.exit_code == 0 and "was made by other code than this rechain's" in res.output
        assert note in (folder / "report.html").read_text(encoding="utf-8")


def test_a_sweep_stopped_before_any_run_finished_says_there_is_nothing_to_analyze(tmp_path, monkeypatch):
    """It said 'the runs finished so far are in OUT', a folder analyze then refused."""
    import rechain.experiments.sweep as sweep_module

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt
    f = sweep_file(tmp_path, '[overrides]\nend = 2024-03-31\n[parameters]\n"behaviour.noise" = { levels = [0.0, 0.01] }\n')
    monkeypatch.setattr(sweep_module, "execute", stopped)
    res = CliRunner().invoke(main, ["sweep", str(f), "--out", str(tmp_path / "o"), "--quiet"])
    assert res.exit_code == 130
    assert f"interrupted: no run had finished, so {tmp_path / 'o'} holds none yet (nothing to analyze)" in res.output


def test_seed_noise_is_told_in_words_that_fit_a_design_without_indices(tmp_path):
    """A grid's analysis warned that 'the indices' read the seed's noise, though a grid has
    point means and plots, no indices."""
    from pathlib import Path
    tiny = Path(__file__).resolve().parent / "data" / "tiny.toml"
    f = tmp_path / "g.toml"
    f.write_text(f'base = "{tiny.as_posix()}"\ndesign = "grid"\nreplicates = 3\n[parameters]\n'
                 '"behaviour.w_news" = { levels = [1.0, 1.000001] }\n[outputs]\nkpis = ["price_peak_prnd_oxide"]\n',
                 encoding="utf-8")
    assert CliRunner().invoke(main, ["sweep", str(f), "--out", str(tmp_path / "o"), "--workers", "1",
                                     "--quiet"]).exit_code == 0
    res = CliRunner().invoke(main, ["analyze", str(tmp_path / "o"), "--no-figures"])
    assert res.exit_code == 0
    assert "warning: seed noise: price_peak_prnd_oxide" in res.output
    assert "the point means and plots carry it" in res.output and "indices" not in res.output
    summary = (tmp_path / "o" / "analysis" / "summary.md").read_text(encoding="utf-8")
    assert "the point means and plots carry it" in summary and "indices" not in summary


def test_a_flow_diagram_of_part_of_a_year_says_so_in_every_panel(tmp_path):
    """The figure's title said "2024 (Jan-Mar only)" but each panel "t REO-eq a year"."""
    import rechain
    from rechain.flowchart import figure_element_flows
    res = rechain.run(what_if(tmp_path, "end = 2024-03-31\n"), seed=0)
    fig = figure_element_flows(res.flows, 2024)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert len(titles) == 3 and all("t REO-eq in Jan-Mar (band width" in t for t in titles)
    whole = rechain.run(what_if(tmp_path, "end = 2024-12-31\n", name="y"), seed=0)
    assert all("t REO-eq a year (band width" in ax.get_title(loc="left")
               for ax in figure_element_flows(whole.flows, 2024).axes)


def test_compare_refuses_one_file_under_two_paths(tmp_path):
    """A link to a file was compared with the file, each named after its own path."""
    a = what_if(tmp_path, "end = 2024-02-29\n", name="x")
    a.write_text(a.read_text(encoding="utf-8").replace('name = "x"\n', ""), encoding="utf-8")
    (tmp_path / "xl.toml").symlink_to(a)
    res = CliRunner().invoke(main, ["compare", str(a), str(tmp_path / "xl.toml"), "--workers", "1",
                                    "--no-figures", "--out", str(tmp_path / "c")])
    assert res.exit_code == 2
    assert "xl.toml, which is" in res.output and "under another path" in res.output
    assert not (tmp_path / "c").exists()


def test_a_sweeps_overrides_refuse_a_label(tmp_path):
    """`name` in [overrides] was taken in silence, though a parameter on it is refused as a
    label that changes no run."""
    e = sweep_error(tmp_path, 'name = "s"\n[overrides]\nend = 2024-03-31\nname = "zzz"\n'
                              '[parameters]\n"behaviour.noise" = { levels = [0.0, 0.01] }\n')
    assert "line 6: overrides.name: 'name' is a label or a note" in str(e)     # not the sweep's own name


def test_a_sweeps_wrong_settings_do_not_hide_its_parameters_mistakes(tmp_path):
    """samples = 0 and replicates = 0 were told alone; the inverted range only once they were
    mended."""
    e = sweep_error(tmp_path, 'samples = 0\nreplicates = 0\n[parameters]\n"behaviour.w_news" = { min = 2.0, max = 0.5 }\n',
                    design="lhs")
    said = [f"{x.key}: {x.detail}" for x in e.errors]
    assert len(said) == 3, said
    assert said[0].startswith("samples: given 0") and said[1].startswith("replicates: given 0")
    assert said[2].startswith("parameters.behaviour.w_news: given min 2.0 and max 0.5")


def test_every_mistake_of_a_facts_row_is_told_at_once(tmp_path):
    """A row with a bad period, an unknown product and a negative tolerance was told its
    period alone."""
    from rechain.experiments.validate import FactError, load_facts
    header = ("fact_id,required,description,variable,stage,product,region,period,measure,base_period,comparison,"
              "target,tolerance,unit\n")
    f = tmp_path / "f.csv"
    f.write_text(header + "F3,true,x,price,market,prnd_oxid,*,2024-13,level,,within,400000,-1,yuan/t\n"
                 "F4,true,y,price,market,prnd_oxide,*,2024-05,level,,within,4e5,4e4,yuan/t\n", encoding="utf-8")
    with pytest.raises(FactError) as e:
        load_facts(f)
    said = str(e.value).splitlines()
    assert len(said) == 3 and all("line 2 (F3)" in s for s in said)
    assert any("tolerance: given -1" in s for s in said) and any("period '2024-13'" in s for s in said)
    assert any("product 'prnd_oxid'" in s for s in said)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_device_is_no_scenario_file(device):
    """/dev/null was read as an empty scenario ('the file has no keys')."""
    res = CliRunner().invoke(main, ["check", device])
    assert res.exit_code == 2
    assert res.output.strip() == f"error: {device}: is a device, not a file; allowed: a scenario file (.toml) saved on disk"


def test_a_region_named_as_another_but_for_capitals_is_refused(tmp_path):
    """[regions.US] beside the baseline's us was a second region, taken in silence."""
    res = CliRunner().invoke(main, ["check", str(what_if(
        tmp_path, '[regions.US]\ncalendar = "west"\nbuyers = 10\ndemand_t_per_yr = { 2024 = 100 }\nuh_share = 0.5\n'))])
    assert res.exit_code == 2
    assert "w.toml, line 3: regions.US: given 'US' beside 'us', names that differ only in capitals or spaces" \
        in res.output


def test_a_calibration_stopped_before_any_run_finished_says_so(tmp_path, monkeypatch):
    """It said 'the runs finished so far are in OUT' of a folder that held none."""
    from support import BASELINE

    import rechain.experiments.calibrate as calibrate_module

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(calibrate_module, "calibrate", stopped)
    res = CliRunner().invoke(main, ["calibrate", str(BASELINE), "--samples", "4", "--workers", "1",
                                    "--out", str(tmp_path / "cal")])
    assert res.exit_code == 130, res.output
    assert f"interrupted: no run had finished, so {tmp_path / 'cal'} holds none yet; start again with" in res.output


@pytest.mark.parametrize("body, said", [
    ("[behaviour]\nw_news = 1.0\nw_news = 2.0\n",
     "line 5: behaviour.w_news: behaviour.w_news is written twice in this table, on lines 4 and 5"),
    ("[behaviour]\nw_news = 0.1\n[behaviour.w_news]\nx = 1\n",
     "line 5: behaviour.w_news: [behaviour.w_news] opens a table on behaviour.w_news, which already holds a value"),
    ("[sectors.nev]\nunits_per_yr = { 2024 = 1e6, 2024 = 2e6 }\n",
     "line 4: sectors.nev.units_per_yr.2024: 2024 is written twice in one inline table; allowed: each key once"),
])
def test_a_key_given_twice_is_named_with_its_table(tmp_path, body, said):
    """It was named 'w_news', not 'behaviour.w_news'; a table opened on a key that holds a value
    was named by its last part, and a key twice in an inline table was tomllib's own message."""
    output = refused(tmp_path, body)
    assert f"w.toml, {said}" in output


def test_a_new_entry_with_a_misspelt_key_is_not_taken_for_a_misnamed_one(tmp_path):
    """[sectors.drones] with units_per_year was told as a misspelt 'phones' and, again, as an
    unknown key."""
    output = refused(tmp_path, '[sectors.drones]\nfirms = 10\nunits_per_year = { 2024 = 1e6 }\n'
                               'magnet_kg_per_unit = { 2024 = 0.1 }\nuh_share = 0.5\n')
    assert output.count("error:") == 1 and "phones" not in output
    assert "line 5: sectors.drones.units_per_year: unknown key (did you mean 'units_per_yr'?)" in output


@pytest.mark.parametrize("body, said", [
    ('end = 2024-06-30\n[stockpile]\nproducts = ["prnd_oxide"]\nstart = 2024-05-01\nend = 2024-03-01\n'
     'buy_below_share = 1.2\nsell_above_share = 1.2\nbuy_t_per_yr = { prnd_oxide = -5 }\n',
     ["line 7: stockpile.end: end 2024-03-01 is before start 2024-05-01",
      "line 8: stockpile.buy_below_share: buy_below_share 1.2 is not below sell_above_share 1.2",
      "line 10: stockpile.buy_t_per_yr.prnd_oxide: given -5"]),
    ("end = 2023-02-01\n[behaviour]\nw_news = -5\n",
     ["line 3: end: given end 2023-02-01 with start 2024-01-01", "line 5: behaviour.w_news: given -5"]),
])
def test_a_tables_crossed_keys_are_told_beside_its_keys_own_mistakes(tmp_path, body, said):
    """The audit of the mend: a bad figure hid a reserve's crossed band and dates, and a
    period's end before its start (pydantic checks across keys only once every key is valid)."""
    output = refused(tmp_path, body)
    assert f"{len(said)} errors" in output
    for s in said:
        assert f"w.toml, {s}" in output


def test_two_items_alike_beside_a_nameless_removal_are_told_at_their_own_lines(tmp_path):
    """The audit of the mend: beside an item that only removes (no name), two quotas of one
    type and year were told at the first one's line, and the removal had no line."""
    q = '[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2024\ntotal_t = {}\n\n'
    output = refused(tmp_path, "end = 2024-06-30\n" + q.format(1000) + q.format(2000)
                     + "[[quota_policy.quotas]]\nremove = true\n")
    assert "w.toml, line 11: quota_policy.quotas[1].year" in output
    assert "w.toml, line 15: quota_policy.quotas.remove: given remove = true in an item without a name" in output


def test_a_folder_of_a_sweeps_output_is_named_as_such(tmp_path):
    """`run --out SWEEP/runs` was refused as 'not a rechain output', though it is one's part."""
    f = sweep_file(tmp_path, '[overrides]\nend = 2024-01-31\n[parameters]\n"behaviour.noise" = { levels = [0.0] }\n')
    assert CliRunner().invoke(main, ["sweep", str(f), "--out", str(tmp_path / "sw"), "--workers", "1",
                                     "--quiet"]).exit_code == 0
    from support import BASELINE
    res = CliRunner().invoke(main, ["run", str(BASELINE), "--out", str(tmp_path / "sw" / "runs")])
    assert res.exit_code == 2
    assert f"is a folder of {tmp_path / 'sw'}, a rechain sweep output, which rechain keeps as it is" in res.output
