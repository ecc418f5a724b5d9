"""An outside audit of the day's own mends (December 2026): each defect it found in them, held
here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from support import BASELINE, what_if

import rechain
from rechain.scenario import ScenarioError, load_scenario

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"


def test_the_collection_lever_stays_above_a_ramp_within_the_year(tmp_path):
    """The lever wrote one point a year, held: a scenario ramping from 5 % (2024) to 90 % (2025)
    collected 564 and 664 t in May and June, 460 t with the lever at 30 %."""
    from rechain.conditions import collection_rate
    from rechain.dashboard.levers import apply_levers, eol_path
    f = tmp_path / "eol.toml"
    f.write_text(f'extends = "{TINY.as_posix()}"\nname = "eol"\n[recycling]\n'
                 f'collection = [{{ year = 2024, rate = 0.05 }}, {{ year = 2025, rate = 0.9 }}]\n', encoding="utf-8")
    sc = load_scenario(f)
    own = [(c.year, c.rate) for c in sc.recycling.collection]
    levered = [(c["year"], c["rate"]) for c in eol_path(sc, 0.3)]
    for t in np.linspace(2023.5, 2026.5, 61):
        assert collection_rate(levered, t) >= collection_rate(own, t) - 1e-12, t
    a = rechain.run(sc, seed=0).series("eol_collected")
    b = rechain.run(apply_levers(sc, eol_target=0.3), seed=0).series("eol_collected")
    assert (b >= a - 1e-6).all(), (a, b)


def test_the_collection_lever_raises_a_scenario_that_collects_nothing_yet(tmp_path):
    """A scenario whose first step is 2025 collects nothing in 2024: the lever said "no change:
    the scenario already collects that much"."""
    from rechain.dashboard.levers import Levers, eol_path
    f = tmp_path / "late.toml"
    f.write_text(f'extends = "{TINY.as_posix()}"\nname = "late"\n[recycling]\ncollection = [{{ year = 2025, rate = 0.3 }}]\n',
                 encoding="utf-8")
    sc = load_scenario(f)
    assert eol_path(sc, 0.3) is not None
    assert Levers(eol_target=0.3).changes(sc) == ["end-of-life collection rising to 30 %"]


def test_sweeps_leave_out_the_month_on_month_figure_of_a_month_cut_short(tmp_path):
    """RunResult.kpis() left it out, but a sweep and ScenarioFunction reported -58.9 %."""
    from rechain.experiments.sweep import available_kpis
    from rechain.sweep import ScenarioFunction
    short = what_if(tmp_path, "end = 2025-11-12\n", "nov")
    assert "magnet_output_mom_2025-11_pct" not in ScenarioFunction(short)()
    assert "magnet_output_mom_2025-11_pct" not in available_kpis(load_scenario(short).model_dump())
    whole = what_if(tmp_path, "end = 2025-11-30\n", "novw")
    assert "magnet_output_mom_2025-11_pct" in available_kpis(load_scenario(whole).model_dump())


def test_a_month_whose_last_week_the_run_covers_is_whole():
    """end = 2024-06-28, a Friday: the run covers to Sunday 30 June, and its table is the one
    of a run to the 30th, yet June was called cut short ("Jun 28")."""
    from rechain.report import month_cut_short
    assert month_cut_short(dt.date(2024, 6, 28)) is None
    assert month_cut_short(dt.date(2024, 6, 13)) == "2024-06"                    # to Sunday the 16th
    assert month_cut_short(dt.date(2024, 6, 27)) is None                          # its week ends Sunday the 30th
    assert month_cut_short(dt.date(2024, 6, 30)) is None


def _sweep(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "s.toml"
    f.write_text(f'base = "{TINY.as_posix()}"\ndesign = "table"\n{body}', encoding="utf-8")
    return f


def test_a_table_column_holding_a_table_sets_only_its_keys(tmp_path):
    """A column `behaviour = { w_news = ... }` beside `behaviour.w_anchor`, or `sectors.nev =
    { uh_share = ... }` with an override of another NEV key, ran before the clash check and were
    then refused: a table merges into the base's, it does not set the whole."""
    from rechain.experiments.sweep import load_sweep
    load_sweep(_sweep(tmp_path, 'points = [{ behaviour = { w_news = 1.0 }, "behaviour.w_anchor" = 0.5 }]\n'))
    load_sweep(_sweep(tmp_path, 'points = [{ "sectors.nev" = { uh_share = 0.3 } }]\n'
                                '[overrides.sectors.nev]\nprice_elasticity = 0.2\n'))
    with pytest.raises(ScenarioError, match=r"path behaviour.w_news is swept twice"):
        load_sweep(_sweep(tmp_path, 'points = [{ behaviour = { w_news = 1.0 }, "behaviour.w_news" = 0.5 }]\n'))


def test_a_summary_replaced_by_a_folder_or_a_link_is_refused_before_a_resume(tmp_path):
    """best.toml made a folder: a traceback after the runs, a temporary file left behind."""
    from rechain.outputs import OutputError, begin_output, refuse_edited, restamp
    out = tmp_path / "cal"
    with begin_output(out, "calibration", files=["best.toml"], open_=True):
        (out / "best.toml").write_text("# best\n", encoding="utf-8")
    restamp(out, ["best.toml"])
    (out / "best.toml").unlink()
    (out / "best.toml").mkdir()
    with pytest.raises(OutputError, match=r"best.toml.*move them out of the folder"):
        refuse_edited(out, "calibration")


def test_a_stop_hint_can_be_pasted_as_it_is():
    """`--space my space.toml` came out unquoted."""
    from rechain.experiments.calibrate import _options_given
    assert _options_given(space=Path("my space.toml"), samples=4) == " --space 'my space.toml' --samples 4"


def test_the_below_a_header_hint_is_given_only_below_a_header(tmp_path):
    """An inline list, with no header at all, was told "written below a [[disruptions]] header"."""
    f = what_if(tmp_path, 'disruptions = [{ name = "x", target = "miners", start = 2024-03-01, end = 2024-04-01, '
                          'capacity_offline_share = 0.5, news = [] }]\n', "inline")
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    assert "news (item" in str(e.value) and "written below" not in str(e.value), str(e.value)


def test_the_ticker_keeps_proper_names_and_says_no_change_plainly():
    from rechain.dashboard.events import _news_text, scenario_events
    text = " | ".join(e.text for e in scenario_events(load_scenario(BASELINE)))
    assert "miners (China), Myanmar ore" in text and "myanmar" not in text
    news = type("N", (), {"name": "calm", "sign": 1, "strength": 0.0, "stages": ["magnet_makers"], "regions": ["all"]})
    assert _news_text(news) == "calm (no price change expected; heard by magnet makers)"


def test_the_dashboard_shows_a_buyer_without_a_usual_pace_yet_as_white_and_lists_events_of_the_week_run():
    from rechain.dashboard.chain import chain_svg, last_day_shown
    from rechain.model import ChainModel, forget_model
    m = ChainModel(load_scenario(BASELINE), seed=0)
    try:
        assert last_day_shown(m) == dt.date(2023, 12, 31)
        m.step()
        assert last_day_shown(m) == dt.date(2024, 1, 7)
        svg = chain_svg(m)
        assert "orders: from week 8" in svg and 'fill="#ffffff"' in svg
    finally:
        forget_model(m)
