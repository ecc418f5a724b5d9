"""Findings of an outside analyst's audit of the reports and comparisons (December 2026): each
case as the outsider met it, held here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner
from support import what_if

import rechain
from rechain.cli import main

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"


def test_a_seed_that_never_returned_is_not_left_out_of_the_quantiles():
    """kpis_long.csv gave p05 = p95 = 0 months for a price that had not returned on one of two
    seeds (numpy's nanquantile dropped it): it ranks above every other seed."""
    from rechain.experiments.compare import seed_quantile
    never = np.array([0.0, np.nan])
    assert np.isnan(seed_quantile(never, 0.05, True)) and np.isnan(seed_quantile(never, 0.95, True))
    assert seed_quantile(never, 0.95) == 0.0                       # other key figures: missing is left out
    three = np.array([2.0, 4.0, np.nan, 6.0])
    assert seed_quantile(three, 0.05, True) == 2.0 + 0.15 * 2.0      # within the returned seeds
    assert np.isnan(seed_quantile(three, 0.95, True))                 # reaches the seed that did not return
    assert seed_quantile(np.array([1.0, 2.0, 3.0]), 0.95) == float(np.quantile([1.0, 2.0, 3.0], 0.95))


def test_not_by_the_end_names_the_year_a_comparison_is_read_over():
    """`compare --year 2025` said "not by the end" for a price that came back in 2026."""
    from rechain.report import not_recovered_text
    v = pd.Series([np.nan, 12.0])
    assert not_recovered_text(v, 2025) == "not by the end of 2025 in 1 of 2 seeds (the other: 12)"
    assert not_recovered_text(v) == "not by the end in 1 of 2 seeds (the other: 12)"


def test_a_month_cut_short_has_no_month_on_month_change(tmp_path):
    """A run ending on 15 October 2025 showed magnet output -46 % on September: October held
    19 days."""
    from rechain.report import month_cut_short
    assert month_cut_short(dt.date(2025, 10, 15)) == "2025-10"
    assert month_cut_short(dt.date(2025, 10, 31)) is None and month_cut_short(dt.date(2024, 2, 29)) is None
    short = rechain.run(what_if(tmp_path, "end = 2025-10-15\n", "short"), seed=0).kpis()
    assert "magnet_output_mom_2025-10_pct" not in short
    whole = rechain.run(what_if(tmp_path, "end = 2025-10-31\n", "whole"), seed=0).kpis()
    assert "magnet_output_mom_2025-10_pct" in whole


def test_a_run_ending_mid_month_is_not_set_beside_its_whole_base(tmp_path):
    """`end = 2024-06-16` under a base ending 30 June: the report set the base's June beside
    the run's half June (-7 % output, -98 % shortfall)."""
    runs = tmp_path / "runs"
    base = CliRunner().invoke(main, ["run", str(TINY), "--out", str(runs / "tiny-seed0")])
    assert base.exit_code == 0, base.output
    f = tmp_path / "mid.toml"
    f.write_text(f'extends = "{TINY.as_posix()}"\nname = "mid"\nend = 2024-06-16\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["run", str(f), "--out", str(runs / "mid-seed0"), "--html"])
    assert res.exit_code == 0, res.output
    html = (runs / "mid-seed0" / "report.html").read_text(encoding="utf-8")
    assert "covers 2024-01-01 to 2024-06-30, not this run&#39;s 2024-01-01 to 2024-06-16" in html
    assert "vs base" not in html


def test_a_what_if_of_a_year_past_the_end_alone_is_listed_as_a_change():
    """A 2027 NEV figure in a run to 2026 changed its last months (end users plan ahead) but the
    report said "Nothing: it runs baseline as it is"; a 2027 carried from a changed 2026 is
    still not listed."""
    from rechain.html_report import _within_run
    sc = {"end": "2026-12-31", "behaviour": {"plan_ahead_weeks": 8.0}}
    alone = [{"key": "sectors.nev.units_per_yr.2027", "what": "changed"}]
    assert _within_run(alone, sc) == alone
    # beyond the weeks planned ahead, a year is read by no week: no change (an outside audit
    # found a 2026 figure listed for a run to June 2024)
    assert _within_run([{"key": "sectors.nev.units_per_yr.2026", "what": "changed"}],
                       {"end": "2024-06-30", "behaviour": {"plan_ahead_weeks": 8.0}}) == []
    carried = [{"key": "sectors.nev.units_per_yr.2026", "what": "changed"},
               {"key": "sectors.nev.units_per_yr.2027", "what": "changed"}]
    assert _within_run(carried, sc) == carried[:1]


def test_a_run_ending_in_a_month_of_holidays_alone_is_reused_by_compare(tmp_path):
    """`end = 2024-05-01` leaves May out of the tables (Labour Day), so compare never took the
    finished run for one of this scenario and ran it again."""
    from rechain.experiments.compare import _first_last_month
    from rechain.scenario import load_scenario
    f = tmp_path / "lab.toml"
    f.write_text(f'extends = "{TINY.as_posix()}"\nname = "lab"\nend = 2024-05-01\n', encoding="utf-8")
    assert _first_last_month(load_scenario(f)) == ("2024-01", "2024-04")
    runs = tmp_path / "runs"
    assert CliRunner().invoke(main, ["run", str(f), "--out", str(runs / "lab-seed0")]).exit_code == 0
    res = CliRunner().invoke(main, ["compare", str(TINY), str(f), "--runs-dir", str(runs),
                                    "--out", str(tmp_path / "cmp"), "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "ran    lab" not in res.output and "ran    tiny" in res.output, res.output


def test_partial_years_are_labelled_in_the_blanks_table():
    """The blanks-not-made table headed a run of July 2024 - October 2025 "2024 | 2025" under
    "t per year"; the summary labels them by their months."""
    from rechain.html_report import input_short_rows
    months = ["2024-07", "2024-08", "2025-01"]
    monthly = pd.DataFrame({"month": months, "stage": "magnet_makers", "product": "tb_oxide", "region": "china",
                            "variable": "output_short_of_inputs", "value": [5.0, 0.0, 2.0], "unit": "t"})
    years, rows = input_short_rows(monthly)
    assert years == ["2024 (Jul-Aug)", "2025 (Jan)"] and rows[0]["input"] == "tb_oxide"


def test_text_of_a_change_keeps_its_letters():
    """A news item named "Ärger" read "\\u00c4rger" in the value column of "what it changes"."""
    from rechain.html_report import _show
    assert _show({"name": "Ärger"}) == '{"name": "Ärger"}'


def test_a_price_panel_above_an_empty_place_has_its_dates():
    """prices.png: the ore panels over the grid's empty places had no year labels (the shared
    axis labels only the bottom row)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from rechain.report import figure_prices
    res = rechain.run(TINY, seed=0)
    fig = figure_prices(res.monthly)
    FigureCanvasAgg(fig).draw()
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) % 4 != 0          # a grid with empty places, the case met
    for ax in shown[-4:]:
        assert any(t.get_visible() and t.get_text() for t in ax.get_xticklabels()), ax.get_title()


def test_a_list_written_below_a_header_is_told_as_the_key_in_the_wrong_table(tmp_path):
    """`news = [{ name = ..., remove = true }]` below a [[disruptions]] item: the first line said
    the baseline has no such news item (it has); the mistake is the key in the disruption."""
    f = what_if(tmp_path, '[[disruptions]]\nname = "Kachin conflict around the Pangwa/Chipwi mines"\n'
                          'news = [{ name = "US reciprocal tariffs", remove = true }]\n', "misplaced")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2
    lines = [x for x in res.output.splitlines() if x.startswith("error")]
    assert len(lines) == 1, res.output
    assert "disruptions[2].news" in lines[0] and "unknown key" in lines[0]
    assert "news is a key of the top level: written below a [[disruptions]] header" in lines[0]


def test_a_year_whose_last_month_is_cut_short_is_labelled_so(tmp_path):
    """end = 2026-12-13: summary.csv, the key figures and the flow diagram called the year
    "2026" though December held 13 days."""
    from rechain.report import part_of_year
    assert part_of_year([f"2026-{m:02d}" for m in range(1, 13)], 2026, dt.date(2026, 12, 13)) == "Jan-Dec 13"
    assert part_of_year([f"2026-{m:02d}" for m in range(1, 13)], 2026, dt.date(2026, 12, 31)) == ""
    # the run covers the whole week of its end: to Sunday 19 October; a Friday the 28th of June
    # covers June whole (an outside audit: "Jun 28" over a month identical to a run to the 30th)
    assert part_of_year(["2025-10"], 2025, dt.date(2025, 10, 15)) == "Oct 1-19"
    assert part_of_year([f"2024-{m:02d}" for m in range(1, 7)], 2024, dt.date(2024, 6, 28)) == "Jan-Jun"
    f = tmp_path / "mid.toml"
    f.write_text(f'extends = "{TINY.as_posix()}"\nname = "mid"\nend = 2024-06-16\n', encoding="utf-8")
    assert list(rechain.run(f, seed=0).summary().columns) == ["2024 (Jan-Jun 16)"]
