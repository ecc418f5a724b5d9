"""Malformed-input round 15 (December 2026): each defect an outside tester found, held here."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from support import BASELINE, what_if

import rechain
from rechain.cli import main
from rechain.scenario import ScenarioError, load_scenario


def _shared(a: pd.DataFrame, b: pd.DataFrame, last_month: str) -> pd.DataFrame:
    keys = [c for c in a.columns if c != "value"]
    both = a.merge(b, on=keys, suffixes=("_a", "_b"))
    return both[both["month"] <= last_month]


def test_a_foreseen_shock_after_the_end_stays_in_the_last_weeks_plans(tmp_path):
    """A run ending 26 October 2025 left out the baseline's NEV pull-forward (1 November 2025,
    foreseen), which end users of a longer run plan for twelve weeks ahead: 251 monthly rows of
    August and September 2025 differed from the same seed's run to December."""
    short = what_if(tmp_path, "end = 2025-10-26\n", "short")
    long_ = what_if(tmp_path, "end = 2025-12-31\n", "long")
    a, b = rechain.run(short, seed=0).monthly, rechain.run(long_, seed=0).monthly
    shared = _shared(a, b, "2025-09")
    assert len(shared) > 5000
    assert (shared["value_a"] == shared["value_b"]).all()
    # kept: the shock is in the shorter run's scenario, not among the items left out
    sc = load_scenario(short)
    assert any(sh.foreseen and sh.start.isoformat() == "2025-11-01" for sh in sc.sectors["nev"].shocks)


def test_a_file_may_date_a_foreseen_shock_within_the_planning_horizon_only(tmp_path):
    shock = ('[[sectors.wind.shocks]]\nname = "tender"\nstart = {start}\nend = 2025-03-31\n'
             'multiplier = 1.5\nforeseen = {foreseen}\n')
    body = "end = 2024-12-31\n"
    ok = what_if(tmp_path, body + shock.format(start="2025-01-20", foreseen="true"), "ok")
    assert load_scenario(ok).sectors["wind"].shocks[-1].name == "tender"
    for start, foreseen in (("2025-01-20", "false"), ("2025-06-02", "true")):
        f = what_if(tmp_path, body + shock.format(start=start, foreseen=foreseen), "late")
        with pytest.raises(ScenarioError, match=r"sectors\.wind\.shocks\[\d+\]\.start.*overlap the simulated period"):
            load_scenario(f)


def test_capacity_t_per_yr_does_nothing_where_capacity_by_year_covers_the_run(tmp_path):
    """Myanmar's output fell 15 % with capacity_t_per_yr 25,000 beside a capacity_by_year of
    50,000 from 2020: its yard and its utilisation were measured on the size the firms were
    drawn at, not on the dated one."""
    body = "end = 2024-06-30\n[firms.myanmar_holders]\ncapacity_by_year = { 2020 = 50000.0 }\n"
    runs = [rechain.run(what_if(tmp_path, body + extra, f"c{i}"), seed=0).monthly
            for i, extra in enumerate(("", "capacity_t_per_yr = 25000.0\n", "capacity_t_per_yr = 10.0\n"))]
    for other in runs[1:]:
        assert other["value"].tolist() == runs[0]["value"].tolist()


@pytest.mark.parametrize("group, size", [("myanmar_holders", 50000), ("overseas_miners", 45000)])
def test_capacity_t_per_yr_does_nothing_once_imported_ore_counts_either(tmp_path, group, size):
    """The audit of the mend above: from the day imported ore counts against the separation
    quota (the baseline's 28 July 2025), the quota's split between ore types read the size the
    firms were drawn at, so doubling capacity_t_per_yr moved 2,400 monthly rows."""
    body = f"end = 2025-12-31\n[firms.{group}]\ncapacity_by_year = {{ 2024 = {size} }}\n"
    one, two = (rechain.run(what_if(tmp_path, body + f"capacity_t_per_yr = {c}\n", f"q{c}"), seed=0).monthly
                for c in (size, 2 * size))
    assert one["value"].tolist() == two["value"].tolist()


@pytest.mark.parametrize("key", ["domestic_weeks", "ore_weeks", "import_weeks", "export_weeks"])
def test_a_lead_time_of_no_weeks_is_refused(tmp_path, key):
    """0 passed check and ran exactly as 1 (a shipment always arrives the next week at the
    earliest); the ODD says at least 1."""
    f = what_if(tmp_path, f"[market.lead_times]\n{key} = 0\n")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2
    assert f"line 4: market.lead_times.{key}: given 0; allowed: a number >= 1" in res.output


@pytest.mark.parametrize("lines, said", [
    ("start = 2024-05-01\nend = 2024-03-01\n",
     "line 7: stockpile.end: end 2024-03-01 is before start 2024-05-01"),
    ("buy_below_share = 1.3\nsell_above_share = 1.2\n",
     "line 6: stockpile.buy_below_share: buy_below_share 1.3 is not below sell_above_share 1.2"),
])
def test_a_reserves_crossed_keys_are_named_at_their_own_line(tmp_path, lines, said):
    """Both were told at the [stockpile] header's line, as 'stockpile:'."""
    f = what_if(tmp_path, '[stockpile]\nproducts = ["prnd_oxide"]\nbuy_t_per_yr = { prnd_oxide = 5000 }\n' + lines)
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2
    assert said in res.output


@pytest.mark.parametrize("lines, said", [
    ("sell_above_share = 0.5\n", "line 4: stockpile.sell_above_share: buy_below_share 0.95 is not below"),
    ("start = 2027-01-01\n", "line 4: stockpile.start: end 2026-12-31 is before start 2027-01-01"),
])
def test_a_reserves_crossed_keys_are_named_where_the_what_if_crossed_them(tmp_path, lines, said):
    """The audit of the mend above: a what-if of the shipped reserve that moved one key was
    told at the extended file's line of the other, a file the user never edited."""
    f = tmp_path / "r.toml"
    f.write_text(f'extends = "{(BASELINE.parent / "state_stockpile.toml").as_posix()}"\nname = "r"\n[stockpile]\n'
                 + lines, encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2
    assert f"r.toml, {said}" in res.output


def test_every_ragged_row_of_a_points_table_is_told_at_once(tmp_path):
    """Three runs were needed to learn of three bad rows; the bad value was named by its point,
    not the line it is on."""
    (tmp_path / "pts.csv").write_text("behaviour.restock_strength,behaviour.w_news\n1.0,1.0\n2.0\n3.0,1.0,9\n"
                                      ",1.0\n", encoding="utf-8")
    f = tmp_path / "s.toml"
    f.write_text(f'base = "{BASELINE.as_posix()}"\nname = "t"\ndesign = "table"\npoints = "pts.csv"\n',
                 encoding="utf-8")
    res = CliRunner().invoke(main, ["sweep", str(f), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "pts.csv, line 3: given 1 cell; line 4: given 3 cells; allowed: 2, one per column" in res.output
    assert not (tmp_path / "o").exists()
    (tmp_path / "pts.csv").write_text("behaviour.restock_strength,behaviour.w_news\n1.0,1.0\n\n,1.0\n",
                                      encoding="utf-8")
    res = CliRunner().invoke(main, ["sweep", str(f), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "value '' (in pts.csv, point 2, line 4)" in res.output


def test_two_thousand_ragged_rows_are_one_short_line(tmp_path):
    from rechain.experiments.designs import DesignError, table_rows
    with pytest.raises(DesignError) as err:
        table_rows("a,b\n" + "1\n" * 2000, "p.csv")
    said = str(err.value)
    assert said.startswith("p.csv, line 2: given 1 cell; line 3: given 1 cell;")
    assert "; and 1990 more rows; allowed: 2" in said and len(said) < 400


def test_a_points_tables_value_is_judged_with_its_row(tmp_path):
    """The audit of the mends: a column's value was checked against the base alone, so the
    point (buy_below_share 1.3, sell_above_share 1.5) was refused as 'not below 1.2', the
    base's sell_above_share, though a scenario file with the same pair checks."""
    from rechain.experiments.sweep import load_sweep
    f = tmp_path / "s.toml"
    f.write_text(f'base = "{(BASELINE.parent / "state_stockpile.toml").as_posix()}"\nname = "t"\ndesign = "table"\n'
                 'points = "p.csv"\n[overrides]\nend = 2024-03-31\n', encoding="utf-8")
    csv = tmp_path / "p.csv"
    csv.write_text("stockpile.buy_below_share,stockpile.sell_above_share\n0.9,1.2\n1.3,1.5\n", encoding="utf-8")
    assert [p["stockpile.buy_below_share"] for p in load_sweep(f).points] == [0.9, 1.3]
    csv.write_text("stockpile.buy_below_share,stockpile.sell_above_share\n0.9,1.2\n1.3,1.5\n1.4,1.25\n",
                   encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"points.stockpile.buy_below_share: value 1.4 \(in p.csv, point 3, "
                                            r"line 4\) does not give a valid scenario: .*not below sell_above_share"):
        load_sweep(f)


@pytest.mark.parametrize("body", ["end = 9999-12-20\n", "end = 2025-10-26\n[behaviour]\nplan_ahead_weeks = 1e308\n",
                                  "end = 2025-10-26\n[behaviour]\nplan_ahead_weeks = true\n"])
def test_the_planning_horizon_is_read_safely_before_validation(tmp_path, body):
    """Keeping a foreseen shock past the end reads the horizon before the schema checks it:
    an end near the calendar's last day, or a horizon the schema refuses, must give the
    schema's one message, not an overflow."""
    res = CliRunner().invoke(main, ["check", str(what_if(tmp_path, body))])
    assert res.exit_code == 2 and res.output.startswith("error: ") and "Traceback" not in res.output
