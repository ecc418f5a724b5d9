"""Figures people can read: date ticks that do not overlap, month-on-month changes that do not
dominate, no series for kinds of firm the scenario lacks, a unit on every axis."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from rechain.materials import materials
from rechain.report import (FIGURES, MOM_LIMIT_PCT, figure_prices, figure_production, figure_sentiment,
                            figure_stock_cover, month_on_month_pct, write_figures)


def _drawn(fig):
    fig.canvas.draw()
    return fig


def _overlaps(labels) -> list[tuple[str, str]]:
    boxes = [(t.get_text(), t.get_window_extent()) for t in labels if t.get_visible() and t.get_text()]
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]


@pytest.mark.parametrize("name", list(FIGURES))
def test_date_ticks_do_not_overlap_and_every_axis_has_a_unit(baseline_run, name):
    fig = _drawn(FIGURES[name](baseline_run.monthly, "(baseline, seed 1)"))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes
    for ax in axes:
        assert ax.get_ylabel(), f"{name}: an axis without a unit ({ax.get_title()})"
        ticks = ax.get_xticklabels()
        assert not _overlaps(ticks), f"{name}: date labels overlap: {_overlaps(ticks)[:3]}"
    shown = [t.get_text() for ax in axes for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
    assert "2025" in shown                      # years, readable


def test_prices_are_in_the_markets_units(baseline_run):
    fig = figure_prices(baseline_run.monthly)
    units = {ax.get_title(): ax.get_ylabel() for ax in fig.axes if ax.get_visible()}
    mat = materials()
    assert units["Pr-Nd oxide"] == mat.price_unit["prnd_oxide"] == "yuan/t"
    assert units["Dy oxide"] == mat.price_unit["dy_oxide"] == "yuan/kg"
    assert units["52UH magnet blank"] == "yuan/kg"


def test_prices_show_the_feeds_and_each_long_run_price(baseline_run):
    """An analyst reads an ore stop or a scrap rule in the feeds' prices, and how far each index
    stands from the cost anchor it is pulled to."""
    fig = figure_prices(baseline_run.monthly)
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
    assert {"rock-type (light) ore", "ion-adsorption ore", "standard-grade scrap", "52UH scrap"} <= set(panels)
    assert panels["ion-adsorption ore"].get_ylabel() == "yuan/t REO"
    monthly = baseline_run.monthly
    anchor = monthly[(monthly["variable"] == "price_long_run") & (monthly["product"] == "dy_oxide")]
    line = {ln.get_label(): ln for ln in panels["Dy oxide"].get_lines()}["long-run price"]
    assert np.allclose(line.get_ydata(), anchor.sort_values("month")["value"].to_numpy())


def test_month_on_month_never_dominates(baseline_run):
    fig = figure_production(baseline_run.monthly)
    mom_axes = [ax for ax in fig.axes if ax.get_ylabel() == "MoM %"]
    bar_axes = [ax for ax in fig.axes if ax.get_ylabel() != "MoM %"]
    assert len(mom_axes) == 4 and len(bar_axes) == 4
    for ax in mom_axes:
        lo, hi = ax.get_ylim()
        assert -1.2 * MOM_LIMIT_PCT <= lo and hi <= 1.2 * MOM_LIMIT_PCT
        # the month-on-month panel is small beside its bars
        assert ax.get_position().height < 0.5 * bar_axes[0].get_position().height
    # a restart from (near) zero is not a +1,000 % month
    s = pd.Series([100.0, 100.0, 1.0, 120.0, 110.0])
    mom = month_on_month_pct(s)
    assert np.isnan(mom.iloc[3]) and mom.iloc[4] == pytest.approx(100 * (110 / 120 - 1))


def test_no_series_for_kinds_the_scenario_does_not_have(baseline_run):
    assert not baseline_run.model.recorder.has_stage[baseline_run.model.world.stages.index("state_reserve")]
    for make in (figure_stock_cover, figure_sentiment):
        fig = make(baseline_run.monthly)
        names = {line.get_label() for ax in fig.axes for line in ax.get_lines()}
        assert "state reserve" not in names
        for ax in fig.axes:
            for line in ax.get_lines():
                y = np.asarray(line.get_ydata(), dtype=float)
                if line.get_label().startswith("_"):
                    continue                    # reference lines (zero)
                assert np.nansum(np.abs(y)) > 0, f"an empty line: {line.get_label()}"


def test_write_figures_writes_the_five_pngs(baseline_run, tmp_path):
    files = write_figures(baseline_run.monthly, tmp_path, title="(baseline, seed 1)")
    assert files == list(FIGURES)
    for f in files:
        assert (tmp_path / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
