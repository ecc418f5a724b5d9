"""Hand-worked checks of the expectation rules in rechain.rules.sentiment."""

import numpy as np
import pytest

from rechain.rules.sentiment import (expected_change, neighbour_mean, news_weights, update_trend,
                               update_uncertainty)


# --------------------------------------------------------------------------- update_trend
def test_update_trend_hand_worked():
    # g = (1 - 0.25) * 0.1 + 0.25 * 0.3 = 0.075 + 0.075 = 0.15
    # g = (1 - 0.5) * -0.2 + 0.5 * 0.1 = -0.1 + 0.05 = -0.05
    g = update_trend(np.array([0.1, -0.2]), np.array([0.3, 0.1]), np.array([0.25, 0.5]))
    assert g == pytest.approx([0.15, -0.05])


def test_update_trend_lambda_extremes():
    g = np.array([0.1, 0.1])
    r = np.array([-0.4, -0.4])
    # lam = 0 keeps the old trend, lam = 1 takes the latest return.
    assert update_trend(g, r, np.array([0.0, 1.0])) == pytest.approx([0.1, -0.4])


def test_update_trend_moves_toward_return():
    g = np.array([0.0])
    out = update_trend(g, np.array([0.2]), np.array([0.3]))
    assert 0.0 < out[0] < 0.2
    assert out[0] == pytest.approx(0.06)  # 0.7*0 + 0.3*0.2


# --------------------------------------------------------------------------- news_weights
def test_news_weights_decay_and_future_events():
    # week 10:
    #  event 0 at week 8, half-life 2, a=+0.2: age 2 = one half-life -> 0.1
    #  event 1 at week 10, half-life 4, a=-0.1: age 0 -> -0.1 (full strength on the day)
    #  event 2 at week 12 (future), a=+0.5 -> 0
    #  event 3 at week 2, half-life 4, a=+0.8: age 8 = two half-lives -> 0.2
    out = news_weights(10, np.array([8, 10, 12, 2]), np.array([0.2, -0.1, 0.5, 0.8]),
                       np.array([2.0, 4.0, 1.0, 4.0]))
    assert out == pytest.approx([0.1, -0.1, 0.0, 0.2])


def test_news_weights_future_event_is_exactly_zero_even_with_strong_signal():
    out = news_weights(0, np.array([1]), np.array([-5.0]), np.array([0.5]))
    assert out[0] == 0.0


def test_news_weights_fractional_half_life():
    # age 3, half-life 1.5 -> 2^-2 = 0.25; a = -0.4 -> -0.1
    out = news_weights(5, np.array([2]), np.array([-0.4]), np.array([1.5]))
    assert out == pytest.approx([-0.1])


# --------------------------------------------------------------------------- neighbour_mean
def test_neighbour_mean_counts_links_both_ways_and_isolated_is_zero():
    # links 0-1 and 0-2; firm 3 isolated (its own value 4 must not leak in).
    # firm 0: neighbours 1, 2 -> (2 + 3) / 2 = 2.5
    # firm 1: neighbour 0 -> 1 ; firm 2: neighbour 0 -> 1 ; firm 3: no links -> 0
    x = np.array([1.0, 2.0, 3.0, 4.0])
    out = neighbour_mean(x, np.array([0, 0]), np.array([1, 2]))
    assert out == pytest.approx([2.5, 1.0, 1.0, 0.0])


def test_neighbour_mean_direction_does_not_matter():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    a = neighbour_mean(x, np.array([0, 0]), np.array([1, 2]))
    b = neighbour_mean(x, np.array([1, 2]), np.array([0, 0]))
    assert a == pytest.approx(b)


def test_neighbour_mean_chain_and_no_links_at_all():
    # chain 0-1-2: firm 1 sees (10 + 30)/2 = 20; ends see 20 each.
    x = np.array([10.0, 20.0, 30.0])
    assert neighbour_mean(x, np.array([0, 1]), np.array([1, 2])) == pytest.approx([20.0, 20.0, 20.0])
    empty = np.zeros(0, dtype=np.int64)
    out = neighbour_mean(x, empty, empty)
    assert out.shape == (3,)
    assert np.all(out == 0.0)


# --------------------------------------------------------------------------- expected_change
def test_expected_change_hand_worked():
    # w_trend H g = 1 * 8 * 0.01 = 0.08
    # w_anchor gap = 0.5 * 0.2 = 0.10
    # w_news n = 1 * 0.05 = 0.05
    # w_social m = 0.4 * 0.1 = 0.04
    # noise = 0.01
    # total = 0.28 (< x_max = 0.3)
    x = expected_change(np.array([0.01]), np.array([0.05]), np.array([0.1]), np.array([0.01]),
                        horizon=8.0, w_trend=1.0, w_news=1.0, w_social=0.4, x_max=0.3,
                        gap=np.array([0.2]), w_anchor=0.5)
    assert x == pytest.approx([0.28])


def test_expected_change_default_gap_ignored():
    # no anchor: 2 * 4 * 0.01 + 0.5 * 0.02 + 0.1 * (-0.1) + 0 = 0.08 + 0.01 - 0.01 = 0.08
    x = expected_change(np.array([0.01]), np.array([0.02]), np.array([-0.1]), np.array([0.0]),
                        horizon=4.0, w_trend=2.0, w_news=0.5, w_social=0.1, x_max=1.0)
    assert x == pytest.approx([0.08])


def test_expected_change_clipped_both_sides():
    # +: 1*8*0.1 = 0.8 -> clipped to 0.3 ; -: 1*8*(-0.1) = -0.8 -> -0.3 ; 0.1 stays
    g = np.array([0.1, -0.1, 0.0125])
    z = np.zeros(3)
    x = expected_change(g, z, z, z, horizon=8.0, w_trend=1.0, w_news=1.0, w_social=0.4, x_max=0.3)
    assert x == pytest.approx([0.3, -0.3, 0.1])


def test_expected_change_anchor_pulls_down_when_price_above_anchor():
    # price above anchor -> gap = ln(Pref/P) < 0 -> lower expectation
    z = np.zeros(1)
    gap = np.array([np.log(100.0 / 125.0)])
    x = expected_change(z, z, z, z, horizon=8.0, w_trend=1.0, w_news=1.0, w_social=0.4,
                        x_max=0.3, gap=gap, w_anchor=0.5)
    assert x[0] < 0.0
    assert x == pytest.approx([0.5 * np.log(0.8)])  # -0.1116


# --------------------------------------------------------------------------- update_uncertainty
def test_update_uncertainty_hand_worked_and_floor():
    # 0.8*0.5 + 0.1 = 0.5 ; 0.8*0.2 - 0.5 = -0.34 -> floored at 0 ; 0.8*1 + 0 = 0.8
    u = update_uncertainty(np.array([0.5, 0.2, 1.0]), 0.8, np.array([0.1, -0.5, 0.0]))
    assert u == pytest.approx([0.5, 0.0, 0.8])
    assert np.all(u >= 0.0)


def test_update_uncertainty_decays_geometrically_without_shocks():
    u = np.array([1.0])
    for _ in range(3):
        u = update_uncertainty(u, 0.5, np.zeros(1))
    assert u == pytest.approx([0.125])
