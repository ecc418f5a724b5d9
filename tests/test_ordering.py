"""Hand-worked checks of the ordering and production rules in rechain.rules.ordering."""

import numpy as np
import pytest

from rechain.rules.ordering import order_quantity, production_plan, smooth, target_cover


# --------------------------------------------------------------------------- smooth
def test_smooth_hand_worked():
    # 10 + (20 - 10) / 4 = 12.5 ; 20 + (8 - 20) / 3 = 16
    out = smooth(np.array([10.0, 20.0]), np.array([20.0, 8.0]), np.array([4.0, 3.0]))
    assert out == pytest.approx([12.5, 16.0])


def test_smooth_time_constant_floored_at_one_week():
    # weeks < 1 behaves as 1: jumps straight to the new value, never overshoots.
    out = smooth(np.array([10.0, 10.0]), np.array([20.0, 20.0]), np.array([0.5, 1.0]))
    assert out == pytest.approx([20.0, 20.0])
    # scalar time constant
    assert smooth(np.array([0.0]), np.array([9.0]), 0.1) == pytest.approx([9.0])


def test_smooth_stays_between_old_and_new():
    out = smooth(np.array([5.0]), np.array([1.0]), 6.0)
    assert 1.0 < out[0] < 5.0
    assert out == pytest.approx([5.0 - 4.0 / 6.0])


# --------------------------------------------------------------------------- target_cover
KR, KW, KU, LO, HI = 3.0, 3.0, 0.6, 0.3, 2.5


def _tc(c0, x, u):
    n = len(x)
    return target_cover(np.full(n, c0), np.asarray(x, float), np.asarray(u, float),
                        np.full(n, KR), np.full(n, KW), KU, LO, HI)


def test_target_cover_hand_worked():
    # c0 = 6
    # x = +0.1, u = 0:   f = 1 + 3*0.1           = 1.3 -> 7.8
    # x = -0.1, u = 0:   f = 1 - 3*0.1           = 0.7 -> 4.2
    # x = 0,    u = 0.5: f = 1 - 0.6*0.5         = 0.7 -> 4.2
    # x = 0,    u = 0:   f = 1                   -> 6
    # x = 0.2,  u = 0.5: f = 1 + 0.6 - 0.3       = 1.3 -> 7.8
    out = _tc(6.0, [0.1, -0.1, 0.0, 0.0, 0.2], [0.0, 0.0, 0.5, 0.0, 0.5])
    assert out == pytest.approx([7.8, 4.2, 4.2, 6.0, 7.8])


def test_target_cover_bounded():
    # x = +1: f = 4 -> clipped to 2.5 -> 15 ; x = -1: f = -2 -> clipped to 0.3 -> 1.8
    # u = 5: f = 1 - 3 = -2 -> 0.3 -> 1.8
    out = _tc(6.0, [1.0, -1.0, 0.0], [0.0, 0.0, 5.0])
    assert out == pytest.approx([15.0, 1.8, 1.8])


def test_target_cover_direction():
    out = _tc(5.0, [-0.05, 0.0, 0.05], [0.0, 0.0, 0.0])
    assert out[0] < out[1] < out[2]
    calm, worried = _tc(5.0, [0.0, 0.0], [0.0, 0.2])
    assert worried < calm


def test_target_cover_uses_per_firm_strengths():
    # firm 0 restocks strongly (kr = 5), firm 1 weakly (kr = 1); x = 0.1
    # f0 = 1.5 -> 6 ; f1 = 1.1 -> 4.4   (c0 = 4)
    out = target_cover(np.array([4.0, 4.0]), np.array([0.1, 0.1]), np.zeros(2),
                       np.array([5.0, 1.0]), np.array([3.0, 3.0]), KU, LO, HI)
    assert out == pytest.approx([6.0, 4.4])


# --------------------------------------------------------------------------- order_quantity
def test_order_quantity_hand_worked():
    # max(0, 10 + (3*10 - 20 - 0.5*10) / 4) = 10 + 5/4 = 11.25
    q = order_quantity(np.array([10.0]), np.array([20.0]), np.array([10.0]), np.array([3.0]), 0.5, 4.0)
    assert q == pytest.approx([11.25])


def test_order_quantity_full_supply_line_weight():
    # beta = 1: 10 + (30 - 20 - 10) / 4 = 10 (exactly replaces use)
    q = order_quantity(np.array([10.0]), np.array([20.0]), np.array([10.0]), np.array([3.0]), 1.0, 4.0)
    assert q == pytest.approx([10.0])


def test_order_quantity_underweighting_supply_line_orders_more():
    args = (np.array([10.0]), np.array([20.0]), np.array([40.0]), np.array([3.0]))
    full = order_quantity(*args, 1.0, 4.0)     # 10 + (30-20-40)/4 = 2.5
    half = order_quantity(*args, 0.5, 4.0)     # 10 + (30-20-20)/4 = 7.5
    assert full == pytest.approx([2.5])
    assert half == pytest.approx([7.5])
    assert half > full


def test_order_quantity_never_negative():
    # overstocked: 10 + (30 - 100 - 0) / 4 = -7.5 -> 0
    q = order_quantity(np.array([10.0, 0.0]), np.array([100.0, 5.0]), np.array([0.0, 0.0]),
                       np.array([3.0, 3.0]), 0.5, 4.0)
    assert q[0] == 0.0
    # no use, some stock: 0 + (0 - 5)/4 < 0 -> 0
    assert q[1] == 0.0


def test_order_quantity_vectorised_mixed():
    # firm A: 4 + (2*4 - 0 - 0.5*0)/2 = 4 + 4 = 8
    # firm B: 6 + (5*6 - 10 - 0.5*8)/2 = 6 + 16/2 = 14
    q = order_quantity(np.array([4.0, 6.0]), np.array([0.0, 10.0]), np.array([0.0, 8.0]),
                       np.array([2.0, 5.0]), 0.5, 2.0)
    assert q == pytest.approx([8.0, 14.0])


# --------------------------------------------------------------------------- production_plan
def test_production_plan_hand_worked():
    # 10 + (3*10 - (20 - 5)) / 3 = 10 + 15/3 = 15
    out = production_plan(np.array([10.0]), np.array([20.0]), np.array([5.0]), 3.0, 3.0)
    assert out == pytest.approx([15.0])


def test_production_plan_backlog_raises_output():
    no_backlog = production_plan(np.array([10.0]), np.array([20.0]), np.array([0.0]), 3.0, 3.0)
    backlog = production_plan(np.array([10.0]), np.array([20.0]), np.array([6.0]), 3.0, 3.0)
    # 10 + (30 - 20)/3 = 13.333 ; 10 + (30 - 14)/3 = 15.333 : 6 t backlog adds 6/3 = 2
    assert no_backlog == pytest.approx([10.0 + 10.0 / 3.0])
    assert backlog - no_backlog == pytest.approx([2.0])


def test_production_plan_floored_at_zero():
    # lots of finished stock: 10 + (30 - 200)/3 < 0 -> 0
    out = production_plan(np.array([10.0, 0.0]), np.array([200.0, 0.0]), np.array([0.0, 0.0]), 3.0, 3.0)
    assert out[0] == 0.0
    assert out[1] == 0.0  # nothing ordered, nothing in stock: 0
