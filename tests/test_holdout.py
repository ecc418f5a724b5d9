"""The held-out market records: the baseline, unchanged, with a facts table of monthly price
quotes that the calibration never saw — April 2025 to February 2026
(scenarios/holdout_2025_2026.toml) and 2024 (scenarios/holdout_2024.toml). Each checks clean,
changes nothing in the chain, its facts load and cite listed sources, none of them repeats a
monthly price level of facts.csv, and `rechain validate` scores it.

docs/eras.md ("Held-out market records") reports the scores; they are not asserted here.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from support import ROOT

import rechain
from rechain.cli import main
from rechain.experiments.validate import load_facts, parse_period

HOLDOUT = ROOT / "scenarios" / "holdout_2025_2026.toml"
FACTS = ROOT / "scenarios" / "facts" / "holdout_2025_2026.csv"
KEY = re.compile(r"\[[A-Z][A-Za-z]+-\d{4}(?:-\d{2}){0,2}\]")
# scenario, its facts table, how many facts, first and last month
TABLES = [(HOLDOUT, FACTS, 38, "2025-04", "2026-02"),
          (ROOT / "scenarios" / "holdout_2024.toml", ROOT / "scenarios" / "facts" / "holdout_2024.csv", 12,
           "2024-05", "2024-12")]
IDS = [t[0].stem for t in TABLES]


@pytest.mark.parametrize("held, facts, n, first, last", TABLES, ids=IDS)
def test_the_holdout_checks_clean(held, facts, n, first, last):
    res = CliRunner().invoke(main, ["check", str(held)])
    assert res.exit_code == 0, res.output
    assert "warning" not in res.output.lower()
    assert f"facts: {facts} ({n} of {n} within the run's period, for rechain validate)" in res.output


def test_check_reads_a_scenarios_facts_table_as_validate_would(tmp_path):
    """`rechain check` catches a facts_file that is missing, a folder, malformed or has no fact
    in the run, with one error line and exit 2, before anyone waits for runs."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "bad.csv").write_text(FACTS.read_text().splitlines()[0] + "\nX1,true,x,price,market,prnd_oxide,*,"
                                      "2025-02,mom_pct,,within,0,nan,% MoM,,,,,,src,\n")
    (tmp_path / "late.csv").write_text(FACTS.read_text().splitlines()[0] + "\nX1,true,x,price,market,prnd_oxide,*,"
                                       "2031-02,level,,within,1,1,yuan/t,,,,,,src,\n")
    for given, says in [("nowhere.csv", "does not exist"), ("folder", "is a folder"),
                        ("bad.csv", "tolerance: given nan"), ("late.csv", "no fact falls within the run")]:
        sc = tmp_path / "s.toml"
        sc.write_text(f'extends = "{HOLDOUT.as_posix()}"\nfacts_file = "{given}"\n')
        res = CliRunner().invoke(main, ["check", str(sc)])
        assert res.exit_code == 2 and res.output.count("\n") == 1 and says in res.output, res.output
        assert res.output.startswith("error: ") and str(tmp_path) in res.output, res.output


@pytest.mark.parametrize("path", [t[0] for t in TABLES], ids=IDS)
def test_the_holdout_is_the_baseline_with_other_facts(path):
    held = rechain.load_scenario(path).model_dump()
    base = rechain.load_scenario(ROOT / "scenarios" / "baseline.toml").model_dump()
    differs = {k for k in held if held[k] != base[k]}
    assert differs == {"name", "description", "question", "facts_file"}


@pytest.mark.parametrize("held, path, n, first, last", TABLES, ids=IDS)
def test_its_facts_are_monthly_prices_the_calibration_did_not_see(held, path, n, first, last):
    facts = load_facts(path)
    assert len(facts) == n and all(f.required for f in facts)
    assert all(f.variable == "price" and f.measure == "level" for f in facts)
    assert all(len(parse_period(f.period)) == 1 for f in facts)
    assert {f.product for f in facts} == {"prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide"}
    months = {m for f in facts for m in parse_period(f.period)}
    assert min(months) == first and max(months) == last
    # no month and product whose monthly price level facts.csv already checks (for 2025 it
    # checks only the direction of October: F51, F52; for 2024 the 52UH blank and the annual
    # mean of Pr-Nd oxide, F65, which says nothing of its months)
    seen = {(f.product, m) for f in load_facts() if f.variable == "price" and f.measure == "level"
            and len(parse_period(f.period)) == 1 for m in parse_period(f.period)}
    assert not seen & {(f.product, m) for f in facts for m in parse_period(f.period)}
    ids = {f.fact_id for f in facts}
    assert not ids & {f.fact_id for f in load_facts()}


@pytest.mark.parametrize("path", [t[1] for t in TABLES], ids=IDS)
def test_its_facts_cite_listed_sources(path):
    listed = set(KEY.findall((ROOT / "docs" / "sources.md").read_text(encoding="utf-8")))
    cited = {k for f in load_facts(path) for k in KEY.findall(f.source)}
    assert all(f.source for f in load_facts(path))
    assert cited and cited <= listed


@pytest.mark.parametrize("held, facts, n, first, last", TABLES, ids=IDS)
def test_validate_scores_the_baseline_on_the_held_out_records(tmp_path, held, facts, n, first, last):
    out = tmp_path / "v"
    res = CliRunner().invoke(main, ["validate", str(held), "--replicates", "1", "--workers", "1",
                                    "--no-figures", "--out", str(out)])
    # exit 1: a required record is missed (the baseline misses some; docs/eras.md)
    assert res.exit_code in (0, 1), res.output
    assert re.search(rf"score \d+/{n} = ", res.output)
    assert (out / "facts.csv").is_file()
