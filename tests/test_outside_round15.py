"""Findings of an outside student's audit of the dashboard (December 2026): each case as the
outsider met it, held here."""

from __future__ import annotations

import datetime as dt

import numpy as np
from support import BASELINE

from rechain.dashboard.chain import ORDER_WEEKS, USUAL_WEEKS, chain_svg, ordering_pace, stage_state, week_words
from rechain.dashboard.events import scenario_events
from rechain.dashboard.levers import Levers, apply_levers, eol_path
from rechain.model import ChainModel, forget_model
from rechain.scenario import load_scenario, quiet_variant, scenario_from_dict


def test_a_restocking_wave_shows_in_the_colours_stage_by_stage():
    """The stages were coloured by mood, which every stage shares in the same week: no wave
    could climb. They are coloured by their orders against their usual pace: a rumour heard by
    the motor makers alone reaches the magnet makers' orders after theirs."""
    quiet = quiet_variant(load_scenario(BASELINE).model_dump(), years=2)
    rumour = {"name": "rumour", "date": dt.date(2024, 6, 3), "sign": 1, "strength": 0.15, "half_life_weeks": 6,
              "stages": ["motor_makers"]}
    m = ChainModel(scenario_from_dict({**quiet, "news": [rumour]}), seed=11)
    try:
        seen = []
        for _ in range(40):
            m.step()
            seen.append(ordering_pace(m))
        assert "miners" not in seen[-1] and "myanmar_holders" not in seen[-1]      # they only sell
        assert all(np.isnan(x["motor_makers"]) for x in seen[:2 * ORDER_WEEKS - 1])
        motor = np.array([x["motor_makers"] for x in seen])
        makers = np.array([x["magnet_makers"] for x in seen])
        assert np.nanmax(motor[22:]) > 1.15                                         # the wave at the users
        assert int(np.nanargmax(makers[22:])) > int(np.nanargmax(motor[22:]))       # ... then up the chain
        s = m.world.stages.index("magnet_makers")
        P = [m.world.materials.p(p) for p in ("prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide")]
        weekly = m.recorder.orders[:40, s][:, P].sum(axis=1)
        want = weekly[40 - ORDER_WEEKS:].mean() / weekly[40 - ORDER_WEEKS - USUAL_WEEKS:40 - ORDER_WEEKS].mean()
        assert stage_state(m)["magnet_makers"]["ordering"] == want
        svg = chain_svg(m)
        assert 'data-ordering="-1.0000"' in svg and "orders above usual (restocking)" in svg
    finally:
        forget_model(m)


def test_the_chain_names_the_week_whose_flows_it_shows():
    """After one Step the title read "week 1 (08 Jan 2024)" over the flows of 1-7 January."""
    m = ChainModel(load_scenario(BASELINE), seed=0)
    try:
        assert week_words(m) == "before the first week (01 Jan 2024)"
        m.step()
        assert week_words(m) == "week 1, 01 Jan 2024 on" and "week 1, 01 Jan 2024 on" in chain_svg(m)
    finally:
        forget_model(m)


def test_the_collection_lever_never_cuts_a_scenarios_recycling():
    """recycling_30pct with the lever at 10 %: collection cut from 30 % to 10 %, while the ticker
    said "rising to 10 %"; the baseline with 5 %: nothing changed, the lever listed as in force."""
    thirty = load_scenario(BASELINE.parent / "recycling_30pct.toml")
    assert eol_path(thirty, 0.10) is None
    assert apply_levers(thirty, eol_target=0.10).recycling == thirty.recycling
    assert "no change: the scenario already collects that much" in Levers(eol_target=0.10).changes(thirty)[0]
    base = load_scenario(BASELINE)
    raised = apply_levers(base, eol_target=0.3).recycling.collection
    assert raised[-1].rate == 0.3 and all(c.rate >= 0.05 - 1e-12 for c in raised)
    assert Levers(eol_target=0.3).changes(base) == ["end-of-life collection rising to 30 %"]


def test_the_ticker_speaks_in_words():
    """"(prices up, 12 %)" read as a price move; product codes (magnet_uh, dy_oxide); three
    quota lines a batch pushed the news off the ticker."""
    ev = scenario_events(load_scenario(BASELINE))
    text = " | ".join(e.text for e in ev)
    assert "firms expect prices to rise by about 12 %" in text and "prices up" not in text
    assert "heard by magnet makers" in text
    assert "magnet_uh" not in text and "dy_oxide" not in text and "52UH magnet blank, Dy oxide, Tb oxide" in text
    quota = [e for e in ev if e.kind == "quota"]
    assert len(quota) == len({e.date for e in quota})                  # one line a day of issue
