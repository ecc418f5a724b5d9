"""The price-formation rules (rechain.rules.pricing), each on hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rechain.rules.pricing import (adjust_price, balance_multiple, margin_pace, margin_utilisation,
                                   marginal_cost_ratio, seller_asks, shortage_multiple, storage_room,
                                   storage_target, within_separation)


def test_balance_multiple_is_one_at_normal_cover_and_bounded_either_side():
    g = balance_multiple(np.array([1.0, 0.0, 1e9]), elasticity=1.0, ceiling=4.0, floor=0.4)
    assert g == pytest.approx([1.0, 4.0, 0.4], abs=1e-6)


def test_balance_multiple_elasticity_at_normal_cover():
    # d ln g / d ln x at x = 1 is -elasticity
    for elasticity in (0.2, 0.6, 1.0):
        h = 1e-5
        up, down = balance_multiple(np.array([1 + h, 1 - h]), elasticity, 4.0, 0.4)
        assert (math.log(up) - math.log(down)) / (math.log(1 + h) - math.log(1 - h)) == \
            pytest.approx(-elasticity, rel=1e-4)


def test_balance_multiple_hand_worked():
    # a = (4 - 1) / (1 - 0.4) = 5, b = 1 * 36 / (3.6 * 5) = 2: g(0.5) = 0.4 + 3.6 / (1 + 5 / 4) = 2
    assert float(balance_multiple(0.5, 1.0, 4.0, 0.4)) == pytest.approx(2.0)


def test_a_shortage_can_bite_harder_than_a_glut_of_the_same_size():
    # worked by hand: a = 5; elasticity 0.5 gives b = 1, scarcity elasticity 1 gives b = 2
    # g(0.5) = 0.4 + 3.6 / (1 + 5 * 0.25) = 2 (scarcity side); g(2) = 0.4 + 3.6 / (1 + 5 * 2) = 0.727 (glut side)
    g = balance_multiple(np.array([0.5, 1.0, 2.0]), 0.5, 4.0, 0.4, scarcity_elasticity=1.0)
    assert g == pytest.approx([2.0, 1.0, 0.4 + 3.6 / 11])
    # the same elasticity either side: the curve of old; the elasticity just below 1 is the scarcity one
    assert balance_multiple(np.array([0.5, 2.0]), 0.5, 4.0, 0.4, scarcity_elasticity=0.5) == \
        pytest.approx(balance_multiple(np.array([0.5, 2.0]), 0.5, 4.0, 0.4))
    h = 1e-6
    below, one = balance_multiple(np.array([1 - h, 1.0]), 0.5, 4.0, 0.4, scarcity_elasticity=1.0)
    assert (math.log(below) - math.log(one)) / math.log(1 - h) == pytest.approx(-1.0, rel=1e-4)
    # per product: only the products whose scarcity elasticity is higher change
    g = balance_multiple(np.array([0.5, 0.5]), np.array([0.5, 0.5]), 4.0, 0.4, np.array([0.5, 1.0]))
    assert g == pytest.approx([float(balance_multiple(0.5, 0.5, 4.0, 0.4)), 2.0])


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 50.0), st.floats(0.0, 50.0), st.floats(0.05, 2.0), st.floats(1.0, 10.0))
def test_balance_multiple_falls_with_cover(x1, x2, elasticity, scarcity_multiple):
    lo, hi = sorted((x1, x2))
    g_lo, g_hi = balance_multiple(np.array([lo, hi]), elasticity, 4.0, 0.4, elasticity * scarcity_multiple)
    assert 0.4 - 1e-12 <= g_hi <= g_lo <= 4.0 + 1e-12


def test_adjust_price_closes_part_of_the_gap_in_logs_and_caps_the_move():
    # target 2x, 10 weeks: one week moves exp(ln 2 / 10)
    p = adjust_price(np.array([100.0]), np.array([200.0]), adjust_weeks=10, max_move=0.5)
    assert p[0] == pytest.approx(100.0 * 2 ** 0.1)
    capped = adjust_price(np.array([100.0, 100.0]), np.array([1e6, 1e-6]), adjust_weeks=1, max_move=0.1)
    assert capped == pytest.approx([110.0, 90.0])


def test_marginal_cost_ratio_reads_the_merit_order_at_demand():
    # two routes: ratio 0.5 supplying 10, ratio 1.0 supplying 10 (middles at 5 and 15)
    cost, value = np.array([50.0, 100.0]), np.array([100.0, 100.0])
    supply = np.array([[10.0], [10.0]])
    assert marginal_cost_ratio(cost, value, supply, np.array([5.0]))[0] == pytest.approx(0.5)
    assert marginal_cost_ratio(cost, value, supply, np.array([10.0]))[0] == pytest.approx(0.75)
    assert marginal_cost_ratio(cost, value, supply, np.array([2.0]))[0] == pytest.approx(0.5)     # cheapest
    assert marginal_cost_ratio(cost, value, supply, np.array([99.0]))[0] == pytest.approx(1.0)    # dearest
    # the order the routes are given in does not matter
    assert marginal_cost_ratio(cost[::-1], value, supply[::-1], np.array([10.0]))[0] == pytest.approx(0.75)


def test_shortage_multiple_hand_worked():
    assert shortage_multiple(90.0, 100.0, 1.0, 4.0) == 1.0            # routes cover the need
    assert shortage_multiple(100.0, 100.0, 1.0, 4.0) == 1.0
    assert shortage_multiple(110.0, 100.0, 1.0, 4.0) == pytest.approx(1.1)
    assert shortage_multiple(121.0, 100.0, 0.5, 4.0) == pytest.approx(1.1)
    assert shortage_multiple(1000.0, 100.0, 1.0, 4.0) == pytest.approx(4.0)   # at most the ceiling
    assert shortage_multiple(50.0, 0.0, 2.0, 4.0) == pytest.approx(16.0)      # nothing can supply it
    assert shortage_multiple(150.0, 100.0, 0.0, 4.0) == 1.0           # switched off


def test_seller_asks_tilt_and_spread():
    price = np.array([100.0, 100.0, 100.0, 100.0])
    ask = seller_asks(price, cover_gap=np.array([0.0, 1.0, 0.0, 0.0]), expectation=np.array([0.0, 0.0, 1.0, 0.0]),
                      slack=np.array([0.0, 0.0, 0.0, -10.0]), cover_response=0.1, expectation_response=0.2,
                      utilisation_response=0.05, spread=0.3)
    assert ask == pytest.approx([100.0, 100.0 * math.exp(0.1), 100.0 * math.exp(0.2), 100.0 * math.exp(-0.3)])


def test_storage_target_holds_only_what_the_appreciation_pays_for():
    cap = np.array([100.0, 100.0, 100.0])
    # carrying 1 %/week over 10 weeks costs 10 %: an expected rise of 10 % holds nothing
    held = storage_target(cap, np.array([0.1, 0.15, 0.6]), horizon_weeks=10, carrying_cost_per_wk=0.01, strength=4)
    assert held == pytest.approx([0.0, 20.0, 100.0])


def test_margin_pace_and_storage_room_hand_worked():
    assert margin_pace(np.array([-5.0, 0.0, 5.0, 20.0]), np.array([100.0] * 4), 0.1) == pytest.approx(
        [0.0, 0.0, 0.5, 1.0])
    # full pace up to 10 weeks of the flow, none at 20
    assert storage_room(np.array([50.0, 150.0, 250.0]), np.array([10.0] * 3), 10.0) == pytest.approx([1.0, 0.5, 0.0])


def test_margin_utilisation_hand_worked():
    # normal margin 50: at margin 50 the normal rate, at 100 twice it (capped at 1), none at or below cost
    u = margin_utilisation(np.array([150.0, 200.0, 100.0, 80.0]), np.full(4, 100.0), np.full(4, 50.0),
                           elasticity=1.0, normal=0.6)
    assert u == pytest.approx([0.6, 1.0, 0.0, 0.0])


def test_extreme_allowed_bounds_compute_without_numpy_warnings():
    """A ceiling or floor just off 1 and a weekly move of 100 % are allowed: the curve's limits
    and an unbounded fall come out without overflow or log(0) warnings."""
    import warnings
    from rechain.rules.pricing import adjust_price, balance_multiple
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = balance_multiple(np.array([0.0, 0.5, 1.0, 2.0, 50.0]), 0.5, 1.0001, 0.4)
        assert np.isfinite(g).all() and g[2] == pytest.approx(1.0) and g.min() >= 0.4 and g.max() <= 1.0001
        g = balance_multiple(np.array([0.0, 1.0, 50.0]), 0.5, 4.0, 0.999)
        assert np.isfinite(g).all() and g[1] == pytest.approx(1.0)
        p = adjust_price(np.array([100.0, 100.0]), np.array([1e-12, 1e6]), 1.0, 1.0)
        assert p[0] < 1e-6 and p[1] == pytest.approx(200.0)


# --------------------------------------------------------------------------- within_separation
def test_within_separation_scales_the_routes_of_an_ore_together():
    # ore 0: routes of 30 + 10 and 20 t a week, 60 t, room 30 -> each halved; ore 1: 5 t within
    # its room of 100, whole; scrap (None) never passes the plants, whole
    feed = within_separation([np.array([30.0, 10.0]), np.array([20.0]), np.array([5.0]), np.array([7.0])],
                             [0, 0, 1, None], np.array([30.0, 100.0]))
    assert feed == pytest.approx([15.0, 5.0, 10.0, 5.0, 7.0])


def test_within_separation_room_enough_or_none():
    feeds, ores = [np.array([4.0, 6.0]), np.array([2.0])], [0, None]
    assert within_separation(feeds, ores, np.array([10.0])) == pytest.approx([4.0, 6.0, 2.0])   # exactly fits
    assert within_separation(feeds, ores, np.array([0.0])) == pytest.approx([0.0, 0.0, 2.0])    # no quota: only scrap


@given(st.lists(st.floats(0.0, 1e5), min_size=1, max_size=6), st.floats(0.0, 1e5))
@settings(max_examples=200, deadline=None, database=None)
def test_within_separation_never_exceeds_the_room_nor_adds(feeds, room):
    out = within_separation([np.array([f]) for f in feeds], [0] * len(feeds), np.array([room]))
    assert out.sum() <= max(room, 0.0) + 1e-6 * max(1.0, sum(feeds))
    assert np.all(out <= np.array(feeds) + 1e-9)
    assert out.sum() == pytest.approx(min(sum(feeds), room), rel=1e-9, abs=1e-9)
