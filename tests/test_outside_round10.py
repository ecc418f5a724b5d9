"""Findings of an outside-style malformed-input round (December 2026): each case as the outsider
met it, held here."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from support import ROOT, what_if

from rechain.cli import main

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"
PACKAGE_FACTS = ROOT / "src" / "rechain" / "data" / "facts.csv"


def _one_error(res) -> str:
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    assert "Traceback" not in res.output
    return res.output


def test_a_run_ending_on_a_holiday_reports_no_empty_month(tmp_path):
    """A what-if ending on 1 May 2024 (Labour Day): the last week's worked days fell in April,
    so May got none of its flows, every May price read 0 and its route cover NaN; the run exited
    0, and its own --html, report and compare then read the table as damaged."""
    sc = tmp_path / "may.toml"
    sc.write_text(f'extends = "{TINY.as_posix()}"\nname = "may"\nend = 2024-05-01\n', encoding="utf-8")
    out = tmp_path / "may-run"
    res = CliRunner().invoke(main, ["run", str(sc), "--out", str(out), "--no-figures", "--html", "--quiet"])
    assert res.exit_code == 0, res.output
    monthly = pd.read_csv(out / "monthly.csv")
    assert monthly["month"].max() == "2024-04"
    assert monthly["value"].notna().all()
    assert (monthly.loc[monthly["variable"] == "price", "value"] > 0).all()
    assert "2024 (Jan-Apr)" in (out / "summary.csv").read_text()
    assert (out / "report.html").is_file()


def test_a_note_above_a_facts_tables_header_is_a_comment(tmp_path):
    table = tmp_path / "noted.csv"
    table.write_text("# facts of my era, from the trade press\n\n" + PACKAGE_FACTS.read_text(encoding="utf-8"),
                     encoding="utf-8")
    res = CliRunner().invoke(main, ["validate", "--facts", str(table), "--replicates", "1", "--no-figures",
                                    "--out", str(tmp_path / "v"), str(TINY)])
    assert "unknown column" not in res.output, res.output
    assert res.exit_code in (0, 1), res.output
    # a row below still names its own line
    lines = table.read_text(encoding="utf-8").splitlines()
    lines[4] = "F99,true,short"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["validate", "--facts", str(table), "--replicates", "1", "--no-figures",
                                    "--out", str(tmp_path / "v2"), str(TINY)])
    assert f"{table}, line 5: given 3 cells" in _one_error(res)


@pytest.mark.parametrize("command", [["check"], ["validate", "--replicates", "1", "--no-figures"]])
def test_a_facts_file_that_is_no_facts_table_is_named_with_the_scenario_that_points_at_it(tmp_path, command):
    """facts_file naming the era's own TOML file: the message named that file only, as if it
    were the table the analyst meant, not the key that pointed at it."""
    sc = tmp_path / "era.toml"
    sc.write_text(f'extends = "{TINY.as_posix()}"\nname = "era"\nfacts_file = "era.toml"\n', encoding="utf-8")
    res = CliRunner().invoke(main, [*command, str(sc), *(["--out", str(tmp_path / "v")] if len(command) > 1 else [])])
    said = _one_error(res)
    assert "unknown column(s)" in said and f"(the facts table that facts_file names, {sc}, line 3)" in said
    assert not (tmp_path / "v").exists()


def test_an_item_removed_twice_is_told_once(tmp_path):
    """Two [[news]] items of one name, both remove = true: besides the name given twice, a
    second error said no inherited item had that name, which it had."""
    sc = what_if(tmp_path, '[[news]]\nname = "US reciprocal tariffs"\nremove = true\n'
                           '[[news]]\nname = "US reciprocal tariffs"\nremove = true\n')
    said = _one_error(CliRunner().invoke(main, ["check", str(sc)]))
    assert "given two items named 'US reciprocal tariffs' in one file" in said


def test_a_sweep_count_out_of_range_is_told_in_the_scenarios_words(tmp_path):
    sweep = tmp_path / "zero.toml"
    sweep.write_text(f'name = "zero"\nbase = "{TINY.as_posix()}"\ndesign = "grid"\nreplicates = 0\n'
                     '[parameters.restock]\npath = "behaviour.restock_strength"\nlevels = [0.5, 1.0]\n', encoding="utf-8")
    said = _one_error(CliRunner().invoke(main, ["sweep", str(sweep), "--out", str(tmp_path / "s")]))
    assert "replicates: given 0; allowed: >= 1" in said and "input should be" not in said
    assert not (tmp_path / "s").exists()


def test_a_json_scenario_file_is_told_where_json_is_taken(tmp_path):
    sc = tmp_path / "w.json"
    sc.write_text(f'{{"extends": "{TINY.as_posix()}"}}', encoding="utf-8")
    said = _one_error(CliRunner().invoke(main, ["check", str(sc)]))
    assert "not valid TOML" in said and "a JSON scenario is given to the Python API as a dict" in said


def test_an_era_before_its_bases_figures_lists_no_carried_year_as_removed():
    """An era of 2016-2018 on the baseline: the run report listed sectors.nev.units_per_yr.2027
    and every yearly table's 2027 as 'removed', a year only the baseline's own period carried
    past its last given one (an outside era audit, December 2026). `extends` cannot take a year
    away; items removed by name are still listed."""
    from rechain.html_report import _changes_over_its_period
    from rechain.scenario import load_scenario
    era, base = ROOT / "scenarios" / "era_2021_2023.toml", ROOT / "scenarios" / "baseline.toml"
    changes = _changes_over_its_period(load_scenario(era).model_dump(mode="json"), base, load_scenario(base))
    removed = [c["key"] for c in changes if c["what"] == "removed"]
    assert not [k for k in removed if k.rsplit(".", 1)[-1].isdigit()], removed
    assert any(c["key"].endswith(".units_per_yr.2021") and c["what"] == "added" for c in changes)


def test_myanmar_holders_take_a_capacity_by_year(tmp_path):
    """An era across Myanmar's growth from 2017 had to stack 'offline' disruptions under an
    end-of-era capacity (an outside era audit): the holders now take capacity_by_year, as the
    miners and producers abroad do."""
    import rechain
    from rechain.scenario import load_scenario
    base = ROOT / "scenarios" / "baseline.toml"
    grown = what_if(tmp_path, "[firms.myanmar_holders]\ncapacity_by_year = { 2025 = 90000 }\n", "grown")
    assert load_scenario(grown).firms.myanmar_holders.capacity_by_year == {"2025": 90000.0}
    runs = {k: rechain.run(p, seed=0).monthly for k, p in (("base", base), ("grown", grown))}

    def imports(t, year):
        rows = t[(t["variable"] == "imports") & t["month"].str.startswith(year)]
        return float(rows["value"].sum())

    def mined(t, year):
        rows = t[(t["variable"] == "production") & (t["stage"] == "myanmar_holders") & t["month"].str.startswith(year)]
        return float(rows["value"].sum())

    def capacity(t, month):
        rows = t[(t["variable"] == "capacity") & (t["stage"] == "myanmar_holders") & (t["month"] == month)]
        return float(rows["value"].sum())

    assert capacity(runs["grown"], "2024-06") == pytest.approx(capacity(runs["base"], "2024-06"))
    assert capacity(runs["grown"], "2025-06") > 1.6 * capacity(runs["base"], "2025-06")    # 90,000 against 45,000
    assert imports(runs["grown"], "2024") == pytest.approx(imports(runs["base"], "2024"), rel=0.02)
    # they mine more (56 kt against 35 kt on seed 0); China takes a little more of it, its plants
    # bound by the separation quota, which counts imported ore from July 2025
    assert mined(runs["grown"], "2025") > 1.3 * mined(runs["base"], "2025")
    assert imports(runs["grown"], "2025") > imports(runs["base"], "2025")


def test_a_what_if_that_empties_a_quotas_batches_is_warned(tmp_path):
    """`batches = []` on an inherited quota issues the year's whole quota on 1 January (the
    baseline's 2025 batches are dated June and September): accepted silently, a large change
    easily made by mistake (an outside malformed-input audit). Leaving batches out keeps them."""
    emptied = what_if(tmp_path, '[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2025\nbatches = []\n', "emptied")
    res = CliRunner().invoke(main, ["check", str(emptied)])
    assert res.exit_code == 0, res.output
    said = [line for line in res.output.splitlines() if "batches" in line and line.startswith("warning:")]
    assert len(said) == 1 and "quota_policy.quotas[mining_rock-2025].batches (line 6)" in said[0], res.output
    assert "2 batch(es) (2025-06-30, 2025-09-30)" in said[0]
    kept = what_if(tmp_path, '[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2025\ntotal_t = 240000\n', "kept")
    res = CliRunner().invoke(main, ["check", str(kept)])
    assert res.exit_code == 0 and "batches" not in res.output, res.output
