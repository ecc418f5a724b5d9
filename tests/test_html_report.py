"""rechain report: one self-contained report.html for a run or a comparison."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from rechain.cli import main
from rechain.compare import compare
from rechain.flowchart import element_flows
from rechain.html_report import kpi_label, kpi_unit, scenario_changes
from rechain.materials import materials
from rechain.outputs import MARKER

TINY = Path(__file__).resolve().parent / "data" / "tiny.toml"
WHATIF = f'''extends = "{TINY.as_posix()}"
name = "tiny_whatif"
question = "What if restocking were stronger and Myanmar ore stopped in May?"

[behaviour]
restock_strength = 3.0

[[disruptions]]
name = "Myanmar stop"
target = "myanmar_holders"
start = 2024-05-01
end = 2024-05-31
capacity_offline_share = 1.0
'''


@pytest.fixture(scope="module")
def whatif(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("sc") / "tiny_whatif.toml"
    p.write_text(WHATIF)
    return p


def _self_contained(html: str) -> None:
    assert not re.search(r'(src|href)="(https?:)?//', html), "the report fetches something"
    assert "<script" not in html
    imgs = re.findall(r'<img [^>]*src="([^"]{0,30})', html)
    assert imgs and all(s.startswith("data:image/png;base64,") for s in imgs)


def test_changes_against_the_base_key_by_key():
    base = {"name": "b", "behaviour": {"w": 1.0, "k": 2.0}, "news": [{"name": "n1", "strength": 0.1}],
            "disruptions": [], "quota_policy": {"quotas": [{"type": "mining_rock", "year": 2025, "total_t": 1.0}]}}
    this = {"name": "t", "behaviour": {"w": 1.5, "k": 2.0}, "news": [],
            "disruptions": [{"name": "stop", "target": "myanmar_holders"}],
            "quota_policy": {"quotas": [{"type": "mining_rock", "year": 2025, "total_t": 2.0}]}}
    ch = {(c["key"], c["what"]) for c in scenario_changes(this, base)}
    assert ch == {("behaviour.w", "changed"), ("news[n1]", "removed"), ("disruptions[stop]", "added"),
                  ("quota_policy.quotas[mining_rock-2025].total_t", "changed")}
    assert scenario_changes(base, base) == []


def test_key_figures_have_words_and_units():
    units = {"prnd_oxide": "yuan/t", "dy_oxide": "yuan/kg"}
    assert kpi_label("price_peak_dy_oxide") == "peak price, Dy oxide"
    assert kpi_unit("price_peak_dy_oxide", units) == "yuan/kg"
    assert kpi_unit("price_mean_prnd_oxide", units) == "yuan/t"
    assert kpi_unit("exports_2025_t", units) == "t"
    assert kpi_unit("magnet_output_change_pct", units) == "%"
    assert kpi_unit("months_to_recover_tb_oxide", units) == "months"
    assert kpi_label("magnet_output_2025_t") == "domestic magnet output 2025"


def test_element_flows_are_tonnes_times_content():
    flows = pd.DataFrame({"month": ["2025-01", "2025-02", "2024-12"], "from_stage": ["separation_plants"] * 3,
                          "to_stage": ["magnet_makers"] * 3, "product": ["dy_oxide"] * 3,
                          "region": ["china"] * 3, "tonnes": [10.0, 5.0, 99.0]})
    ef = element_flows(flows, 2025)
    mat = materials()
    dy = ef[ef["element"] == "dy"]["tonnes"].item()
    assert dy == pytest.approx(15.0 * mat.content[mat.p("dy_oxide"), mat.e("dy")])
    assert set(ef["element"]) == {"dy"}


def test_trade_within_a_stage_is_said_beside_the_diagram_it_is_not_drawn_in():
    """11 kt of Pr-Nd a year between separation plants (their metal lines buying oxide) was
    left out of the flow diagram without a word (an outside analyst's audit)."""
    from rechain.flowchart import figure_element_flows, within_stage_flows
    rows = [("2025-03", "separation_plants", "separation_plants", "prnd_oxide", 11_000.0),
            ("2025-03", "separation_plants", "magnet_makers", "prnd_oxide", 60_000.0),
            ("2025-03", "traders", "traders", "prnd_oxide", 0.01)]
    flows = pd.DataFrame(rows, columns=["month", "from_stage", "to_stage", "product", "tonnes"]).assign(region="china")
    within = within_stage_flows(flows, 2025)
    assert set(within["from_stage"]) == {"separation_plants", "traders"}
    assert set(element_flows(flows, 2025)["to_stage"]) == {"magnet_makers"}
    fig = figure_element_flows(flows, 2025)
    said = [t.get_text() for ax in fig.axes for t in ax.texts if "within a stage" in t.get_text()]
    assert said == ["not drawn, traded within a stage: Separation plants 11.0 kt"], said


def test_run_html_writes_a_report_a_colleague_can_read(whatif, tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(whatif), "--out", str(out), "--html", "--quiet"])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    _self_contained(html)
    assert "What if restocking were stronger and Myanmar ore stopped in May?" in html
    assert "It extends tiny.toml" in html
    assert "behaviour.restock_strength" in html and "disruptions[Myanmar stop]" in html
    assert "added" in html and "changed" in html
    assert "yuan/t" in html and "yuan/kg" in html
    assert "Flows through the chain by element, 2024" in html
    # each sector's shortfall also in its own unit (sectors.*.unit_label)
    assert "End use at home by sector" in html and "MW installed" in html and "industrial robots" in html
    assert html.count("data:image/png;base64,") == 7        # six figures and the flow diagram
    assert "report.html" in json.loads((out / MARKER).read_text())["files"]
    # written again by rechain report: replaced, the folder still rechain's
    res = CliRunner().invoke(main, ["report", str(out), "--year", "2024"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["run", str(whatif), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output           # a run folder with its report is still replaceable


@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_report_step_that_fails_leaves_the_earlier_output_whole(command, whatif, tmp_path, monkeypatch):
    """run/compare --html swapped the new folder in before report.html was written: a report
    that failed (an error, a full disk, SIGTERM) left a folder without it, the earlier complete
    output already gone. The report is now part of the one swap: the earlier output stays."""
    import errno
    import os
    import signal

    import rechain.html_report

    out = tmp_path / "out"
    args = ([command, str(whatif), "--out", str(out), "--html", "--quiet"] if command == "run" else
            [command, str(TINY), str(whatif), "--out", str(out), "--rerun", "--workers", "1", "--html", "--quiet"])
    assert CliRunner().invoke(main, [*args, "--no-figures"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "report.html" in before

    def sigterm():
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the command")

    def full_disk():
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def broken():
        raise RuntimeError("a defect in the report")

    got: list = []
    old = signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))   # must not end pytest
    try:
        for fail, status, says in ((broken, 1, ""), (full_disk, 2, "No space left on device); nothing was written"),
                                   (sigterm, 143, "no output is left half-written")):
            monkeypatch.setattr(rechain.html_report, "build_report", lambda *a, fail=fail, **k: fail())
            res = CliRunner().invoke(main, args)            # with figures: the new output differs
            assert res.exit_code == status and says in res.output, (fail.__name__, res.output)
            assert {p.name: p.read_bytes() for p in out.iterdir()} == before, fail.__name__
            assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], fail.__name__
    finally:
        signal.signal(signal.SIGTERM, old)
    assert got == []


def test_report_refuses_what_it_must_not_touch(whatif, tmp_path):
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(whatif), "--out", str(out), "--quiet", "--no-figures"]).exit_code == 0
    res = CliRunner().invoke(main, ["report", str(out), "--year", "2031"])
    assert res.exit_code == 2 and res.output.startswith(f"error: {out}: --year: given 2031") and "2024" in res.output
    mine = tmp_path / "mine.html"
    mine.write_text("<p>my notes</p>")
    res = CliRunner().invoke(main, ["report", str(out), "--out", str(mine)])
    assert res.exit_code == 2 and "not a rechain report" in res.output
    assert mine.read_text() == "<p>my notes</p>"
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("x")
    res = CliRunner().invoke(main, ["report", str(stranger)])
    assert res.exit_code == 2 and "not a rechain output" in res.output


def test_a_report_written_into_a_run_folder_under_another_name_stays_rechains(whatif, tmp_path):
    """`report RUN --out RUN/other.html` is named in the folder's marker: the next run into RUN
    replaces the folder instead of refusing a file rechain did not (it thought) write."""
    out = tmp_path / "run"
    args = ["run", str(whatif), "--out", str(out), "--quiet", "--no-figures"]
    assert CliRunner().invoke(main, args).exit_code == 0
    res = CliRunner().invoke(main, ["report", str(out), "--out", str(out / "other.html")])
    assert res.exit_code == 0 and (out / "other.html").is_file(), res.output
    assert "other.html" in json.loads((out / MARKER).read_text())["files"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output


def test_report_out_never_replaces_a_file_of_the_run(whatif, tmp_path):
    """`report RUN --out RUN/monthly.csv` would put HTML in place of the run's own table: the
    marker names monthly.csv, but only a report rechain wrote may be replaced."""
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(whatif), "--out", str(out), "--quiet", "--no-figures"]).exit_code == 0
    for name in ("monthly.csv", "manifest.json"):
        before = (out / name).read_bytes()
        res = CliRunner().invoke(main, ["report", str(out), "--out", str(out / name)])
        assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
        assert res.output.startswith(f"error: {out / name}: exists and is not a rechain report")
        assert "allowed: a new .html file, or a report rechain wrote before" in res.output
        assert (out / name).read_bytes() == before and "Traceback" not in res.output
    assert CliRunner().invoke(main, ["report", str(out)]).exit_code == 0      # its report.html: replaced
    assert CliRunner().invoke(main, ["report", str(out), "--out", str(out / "report.html")]).exit_code == 0


@pytest.mark.parametrize("file, damage, says", [
    ("manifest.json", None, "manifest.json: missing"),
    ("manifest.json", "[1]", "manifest.json: given a JSON list, not an object"),
    ("manifest.json", "{bad", "manifest.json: cannot be read as JSON"),
    ("manifest.json", "seed", "manifest.json: seed: given '0': Input should be a valid integer"),
    # fields a report reads, edited by hand (these raised AttributeError or TypeError)
    ("manifest.json", {"scenario": "abc"}, "manifest.json: scenario: given 'abc': Input should be a valid dictionary"),
    ("manifest.json", {"scenario_files": 5}, "manifest.json: scenario_files: given 5: Input should be a valid list"),
    ("manifest.json", {"scenario_files": [1]}, "manifest.json: scenario_files.0: given 1: Input should be a valid "
                                               "string"),
    ("manifest.json", {"rows": "x"}, "manifest.json: rows: given 'x': Input should be a valid dictionary"),
    ("monthly.csv", "a,b\n1,2\n", "monthly.csv: lacks the column(s) month, stage"),
    ("flows.csv", "", "flows.csv: cannot be read as a table"),
    ("monthly.csv", "abc", "monthly.csv: value: given 'abc' on line 3, not a finite number"),
    ("monthly.csv", "nan", "monthly.csv: value: given an empty value or NaN on line 3, not a finite number"),
    ("monthly.csv", "inf", "monthly.csv: value: given 'inf' on line 3, not a finite number"),
    ("flows.csv", "abc", "flows.csv: tonnes: given 'abc' on line 3, not a finite number"),
    ("flows.csv", "dy", "flows.csv: dy_t_reo: given 'abc' on line 3, not a finite number"),
    ("monthly.csv", "month13", "monthly.csv: month: given '2024-13' on line 3, not a month written YYYY-MM"),
    ("flows.csv", "month13", "flows.csv: month: given '2024-13' on line 3, not a month written YYYY-MM"),
    ("monthly.csv", "twice", "monthly.csv: line 4 gives the row (month "),
    ("flows.csv", "twice", "flows.csv: line 4 gives the row (month "),
    ("monthly.csv", "header", "monthly.csv: has its header but no rows"),
])
def test_report_on_a_damaged_run_folder_says_which_file(whatif, tmp_path, file, damage, says):
    """A run folder with a file missing or edited: one line naming the folder and the file,
    exit 2, nothing written."""
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(whatif), "--out", str(out), "--quiet", "--no-figures"]).exit_code == 0
    path = out / file
    if damage is None:
        path.unlink()
    elif damage == "seed":
        path.write_text(json.dumps({**json.loads(path.read_text()), "seed": "0"}))
    elif isinstance(damage, dict):
        path.write_text(json.dumps({**json.loads(path.read_text()), **damage}))
    elif damage in ("abc", "nan", "inf"):         # the second row's figure (monthly's value, flows' tonnes)
        lines = path.read_text().splitlines(keepends=True)
        cells = lines[2].rstrip("\n").split(",")
        cells[lines[0].rstrip("\n").split(",").index("value" if file == "monthly.csv" else "tonnes")] = damage
        path.write_text("".join([*lines[:2], ",".join(cells) + "\n", *lines[3:]]))
    elif damage == "dy":                   # the second row's Dy tonnes
        lines = path.read_text().splitlines(keepends=True)
        cells = lines[2].rstrip("\n").split(",")
        cells[lines[0].rstrip("\n").split(",").index("dy_t_reo")] = "abc"
        path.write_text("".join([*lines[:2], ",".join(cells) + "\n", *lines[3:]]))
    elif damage == "month13":              # the second row's month
        lines = path.read_text().splitlines(keepends=True)
        lines[2] = "2024-13" + lines[2][len("2024-01"):]
        path.write_text("".join(lines))
    elif damage == "header":               # cut short after its header (a report said "nan to nan")
        path.write_text(path.read_text().splitlines(keepends=True)[0])
    elif damage == "twice":                # the second row given again after itself
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join([*lines[:3], lines[2], *lines[3:]]))
    else:
        path.write_text(damage)
    res = CliRunner().invoke(main, ["report", str(out)])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert f"{out}: {says}" in res.output and "allowed: the file as rechain wrote it" in res.output
    assert "Traceback" not in res.output and not (out / "report.html").exists()


@pytest.fixture(scope="module")
def compared(whatif, tmp_path_factory) -> Path:
    """A comparison folder of two scenarios over two seeds, for damaging copies of it."""
    out = tmp_path_factory.mktemp("cmp") / "cmp"
    res = CliRunner().invoke(main, ["compare", str(TINY), str(whatif), "--replicates", "2", "--out", str(out),
                                    "--rerun", "--workers", "1", "--no-figures", "--quiet"])
    assert res.exit_code == 0, res.output
    return out


def _cut(path: Path, keep: int) -> None:
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:keep]))


@pytest.mark.parametrize("damage, says", [
    ({"reference": "zzz"}, "compare.json: reference: 'zzz' is not one of the scenarios ['tiny', 'tiny_whatif']"),
    ({"scenarios": ["tiny", 1]}, "compare.json: scenarios.1: given 1: Input should be a valid string"),
    ({"scenarios": ["tiny", "zzz"], "reference": "tiny"}, "kpis_long.csv: has no rows for scenario zzz"),
    ({"seeds": []}, "compare.json: seeds: given []: List should have at least 1 item"),
    ({"scenario_sha256": [1]}, "compare.json: scenario_sha256: given [1]: Input should be a valid dictionary"),
    ({"files": [[1], [2]]}, "compare.json: files.0.0: given 1: Input should be a valid string"),
    ({"scenarios": None}, "compare.json: scenarios: given None: Input should be a valid list"),
    ("kpis_long.csv", "kpis_long.csv: has 2 rows where the comparison wrote"),
    ("series.csv", "series.csv: has 1 rows where the comparison wrote"),
    ("kpis_by_seed.csv", "kpis_by_seed.csv: has 2 rows where the comparison wrote"),
    ("series.csv-unrecorded", "series.csv: has no rows for scenario tiny seed 0"),
    ("kpis_long.csv-other", "kpis_long.csv: has no rows for scenario tiny_whatif"),
])
def test_report_on_a_damaged_comparison_says_which_file_and_key(compared, tmp_path, damage, says):
    """A comparison folder edited by hand or cut short: one line naming the file and the key
    (a reference or scenario not in the tables, a seed list emptied, files of the wrong types,
    a table cut short or copied from another comparison raised KeyError, IndexError or
    ValueError, or were reported as if the lost rows were zero), exit 2, nothing written."""
    import shutil
    out = tmp_path / "cmp"
    shutil.copytree(compared, out)
    meta = json.loads((out / "compare.json").read_text())
    if isinstance(damage, dict):
        (out / "compare.json").write_text(json.dumps({**meta, **damage}))
    elif damage.endswith("-unrecorded"):       # cut to its header, and compare.json from an older rechain
        (out / "compare.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "rows"}))
        _cut(out / damage.removesuffix("-unrecorded"), 1)
    elif damage.endswith("-other"):            # another comparison's table, of one scenario
        (out / "compare.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "rows"}))
        table = pd.read_csv(out / "kpis_long.csv")
        table[table["scenario"] == "tiny"].to_csv(out / "kpis_long.csv", index=False)
    else:
        _cut(out / damage, 3 if damage != "series.csv" else 2)
    res = CliRunner().invoke(main, ["report", str(out)])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert f"{out}: {says}" in res.output and "allowed: the file as rechain wrote it" in res.output, res.output
    assert "Traceback" not in res.output and not (out / "report.html").exists()


def test_compare_html_shows_bands_over_seeds(whatif, tmp_path):
    out = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["compare", str(TINY), str(whatif), "--replicates", "2", "--out", str(out),
                                    "--rerun", "--workers", "1", "--html", "--quiet"])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    _self_contained(html)
    assert "tiny vs tiny_whatif" in html
    assert "2 seeds: 0, 1" in html
    assert re.search(r"\[[\d,.]+ to [\d,.]+\]", html), "no band across seeds"
    assert "vs reference" in html
    assert "behaviour.restock_strength" in html
    assert html.count("Flows through the chain by element") == 1 and "tiny_whatif, seed 0, 2024" in html
    assert "report.html" in json.loads((out / MARKER).read_text())["files"]


def test_a_comparison_of_different_periods_draws_its_flows_for_a_year_every_run_has(tmp_path):
    """A what-if ending before the reference's last year had its flow diagram drawn for that
    year, which it does not have: every panel read "no Pr-Nd flows" (an outside analyst's
    audit). By default the last year all runs cover in full; a --year one of them lacks is
    refused, naming the years they share."""
    long, short = tmp_path / "long.toml", tmp_path / "short.toml"
    long.write_text(f'extends = "{TINY.as_posix()}"\nname = "long"\nend = 2025-12-31\n', encoding="utf-8")
    short.write_text(f'extends = "{TINY.as_posix()}"\nname = "short"\nend = 2024-12-31\n', encoding="utf-8")
    out = tmp_path / "cmp"
    compare([long, short], 1, out_dir=out, workers=1, runs_dir=None, figures=False)
    res = CliRunner().invoke(main, ["report", str(out)])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    assert "long, seed 0, 2024 (flows" in html and "short, seed 0, 2024 (flows" in html
    assert "no Pr-Nd flows" not in html
    res = CliRunner().invoke(main, ["report", str(out), "--year", "2025"])
    assert res.exit_code == 2 and "--year: given 2025; allowed: a year every run of the comparison covers (2024)" \
        in res.output, res.output


def test_compare_report_reads_finished_runs_for_the_flows(whatif, tmp_path):
    runs = tmp_path / "outputs"
    for sc in (TINY, whatif):
        name = "tiny" if sc == TINY else "tiny_whatif"
        assert CliRunner().invoke(main, ["run", str(sc), "--out", str(runs / f"{name}-seed0"), "--quiet",
                                         "--no-figures"]).exit_code == 0
    comp = compare([TINY, whatif], 1, out_dir=runs / "compare-x", workers=1, runs_dir=runs, figures=False)
    assert sorted(comp.reused) == ["tiny-seed0", "tiny_whatif-seed0"]
    res = CliRunner().invoke(main, ["report", str(runs / "compare-x")])
    assert res.exit_code == 0, res.output
    html = (runs / "compare-x" / "report.html").read_text()
    assert "read from" in html and "One seed: no band" in html
    # a run's report puts its base's key figures beside its own when a run of the base (same seed) is there
    assert CliRunner().invoke(main, ["report", str(runs / "tiny_whatif-seed0")]).exit_code == 0
    html = (runs / "tiny_whatif-seed0" / "report.html").read_text()
    assert "Beside it, its base tiny with the same seed" in html and "tiny (base, seed 0)" in html
    assert "vs base" in html


def test_compare_report_says_in_how_many_seeds_a_price_had_not_recovered(whatif, tmp_path):
    """compare gives no mean for 'months to recover' when a seed had not recovered; the report
    says in how many seeds, as kpis.md does, not a bare 'not by the end'."""
    import pandas as pd
    out = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["compare", str(TINY), str(whatif), "--replicates", "2", "--out", str(out),
                                    "--rerun", "--workers", "1", "--quiet", "--no-figures"])
    assert res.exit_code == 0, res.output
    long, by_seed = pd.read_csv(out / "kpis_long.csv"), pd.read_csv(out / "kpis_by_seed.csv")
    kpi = next(k for k in long["kpi"] if k.startswith("months_to_recover_"))
    # as compare writes it when seed 1 of tiny_whatif ends before the price is back
    long.loc[(long["kpi"] == kpi) & (long["scenario"] == "tiny_whatif"), "mean"] = float("nan")
    mine = (by_seed["kpi"] == kpi) & (by_seed["scenario"] == "tiny_whatif")
    by_seed.loc[mine & (by_seed["seed"] == 0), "value"] = 3.0
    by_seed.loc[mine & (by_seed["seed"] == 1), "value"] = float("nan")
    long.to_csv(out / "kpis_long.csv", index=False)
    by_seed.to_csv(out / "kpis_by_seed.csv", index=False)
    res = CliRunner().invoke(main, ["report", str(out)])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    assert "not by the end in 1 of 2 seeds" in html, html[html.find("months until"):][:400]


def test_the_report_of_a_run_whose_base_changed_since_does_not_show_changes_it_never_made(tmp_path):
    """Edit the file a run's scenario extends after the run: the diff against today's base
    showed the edit as a change of the scenario; the run's manifest has the scenario's hash."""
    parent = tmp_path / "p.toml"
    parent.write_text(f'extends = "{TINY.as_posix()}"\nname = "p"\n[behaviour]\nw_news = 1.0\n')
    child = tmp_path / "c.toml"
    child.write_text('extends = "p.toml"\nname = "c"\n[behaviour]\nw_trend = 0.2\n')
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(child), "--out", str(out), "--quiet", "--no-figures"]).exit_code == 0
    assert CliRunner().invoke(main, ["report", str(out)]).exit_code == 0
    before = (out / "report.html").read_text()
    assert "behaviour.w_trend" in before and "behaviour.w_news" not in before
    parent.write_text(parent.read_text().replace("w_news = 1.0", "w_news = 3.0"))
    res = CliRunner().invoke(main, ["report", str(out)])
    assert res.exit_code == 0, res.output
    after = (out / "report.html").read_text()
    assert "behaviour.w_news" not in after
    assert "have changed since the run" in after and "the changes against its base cannot be shown" in after


def test_a_figure_of_a_year_the_run_covers_in_part_says_which_months():
    """A Jan-Mar run's 'domestic magnet output 2024' was the quarter's sum, read as the year's."""
    from rechain.report import part_of_year
    quarter = ["2024-01", "2024-02", "2024-03"]
    assert kpi_label("magnet_output_2024_t", quarter) == "domestic magnet output 2024 (Jan-Mar only)"
    assert kpi_label("exports_2025_t", [f"2025-{m:02d}" for m in range(1, 13)]) == "magnet exports 2025"
    assert kpi_label("magnet_output_2024_t") == "domestic magnet output 2024"
    assert part_of_year(["2024-12", "2025-01"], 2024) == "Dec"


def test_a_home_price_of_zero_gives_no_warning_under_quiet(tmp_path):
    """A start price of 1e-300 rounds to a home price of 0 in the report: the export price gap
    is then NaN (no gap can be measured), and ``--quiet`` printed numpy's RuntimeWarning about
    the division. It prints nothing."""
    tiny = Path(__file__).resolve().parent / "data" / "tiny.toml"
    f = tmp_path / "zero.toml"
    f.write_text(f'extends = "{tiny.as_posix()}"\nend = 2024-03-31\n[market.initial_price]\nprnd_oxide = 1e-300\n',
                 encoding="utf-8")
    res = CliRunner().invoke(main, ["run", str(f), "--quiet", "--html", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0 and res.output == "", res.output
    assert (tmp_path / "out" / "report.html").exists()


def test_a_change_against_a_base_near_zero_is_given_in_tonnes_not_per_cent():
    """8 t of shortfall to 6,546 t read "+83,460.9 % vs reference" (an outside analyst's audit)."""
    from rechain.html_report import _delta
    assert _delta(6546.35, 7.83, "t") == ("+6,539 t (836 times) vs reference", "delta-up")
    assert _delta(6546.35, 7.83, "t", against="base")[0] == "+6,539 t (836 times) vs base"
    assert _delta(110.0, 100.0, "t") == ("+10.0 % vs reference", "delta-up")
    assert _delta(1000.0, 100.0, "yuan/t")[0] == "+900.0 % vs reference"        # ten times: still a percentage
    assert _delta(1100.0, 100.0, "yuan/t")[0] == "+1,000 yuan/t (11.0 times) vs reference"
    assert _delta(0.5, 0.2, "share")[0] == "+30.00 pp vs reference"


def test_months_to_recover_keep_their_halves_and_the_seeds_that_came_back():
    """A mean of 0 and 1 month read "0" (the footnote's "never left"), 2.5 read "2", and "not by
    end in 1/2 seeds" hid the other seed's 12 months (an outside analyst's audit)."""
    import pandas as pd
    from rechain.report import months_text, not_recovered_text
    assert [months_text(v) for v in (0.0, 0.5, 2.5, 9.5, 13.0)] == ["0", "0.5", "2.5", "9.5", "13"]
    assert not_recovered_text(pd.Series([float("nan"), 12.0])) == "not by the end in 1 of 2 seeds (the other: 12)"
    assert not_recovered_text(pd.Series([float("nan"), float("nan")])) == "not by the end in 2 of 2 seeds"
    assert not_recovered_text(pd.Series([float("nan"), 3.0, 4.5])) == \
        "not by the end in 1 of 3 seeds (the others: 3, 4.5)"
