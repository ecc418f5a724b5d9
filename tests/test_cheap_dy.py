"""Cheap Dy finds a use: magnet makers alloy Dy into grades that can take it
(``magnet_recipes.<grade>.cheap_dy_wt_pct``) when Dy oxide is cheaper than at the start, from the
Dy their recipes leave; it is ordered like any input and never holds a blank back."""

from __future__ import annotations

import numpy as np
import pytest
from test_kinds import standard_grade_orders, tiny_world

from rechain.kinds import MagnetMakers
from rechain.kinds.magnets import cheap_dy_target, spare_dy_share


def test_cheap_dy_target_adds_dy_only_below_the_start_price():
    assert cheap_dy_target(100.0, 100.0, 2.0) == 0.0
    assert cheap_dy_target(150.0, 100.0, 2.0) == 0.0                         # dear: nothing added
    assert cheap_dy_target(100.0 * np.exp(-0.25), 100.0, 2.0) == pytest.approx(0.5)
    assert cheap_dy_target(100.0 * np.exp(-0.5), 100.0, 2.0) == pytest.approx(1.0)
    assert cheap_dy_target(1.0, 100.0, 2.0) == 1.0                            # at most all of it
    assert cheap_dy_target(50.0, 100.0, 0.0) == 0.0


def test_spare_dy_share_takes_only_what_the_recipes_leave():
    share = spare_dy_share(np.array([10.0, 5.0, 3.0, 4.0]), np.array([6.0, 6.0, 1.0, 0.0]),
                           np.array([8.0, 2.0, 1.0, 0.0]))
    # 4 of 8 left; nothing left; more than enough; nothing wanted
    assert share == pytest.approx([0.5, 0.0, 1.0, 1.0])


@pytest.fixture()
def makers():
    """Two magnet makers that alloy 0.6 wt % Dy into the standard grade at will."""
    world, book = tiny_world({"magnet_recipes": {"magnet_std": {"cheap_dy_wt_pct": 0.6}}})
    return world, book, MagnetMakers(world)


def test_the_standard_grade_takes_spare_dy_and_is_never_held_back_by_it(makers):
    world, book, kind = makers
    i, f = kind.rows, book.firms
    std, uh = standard_grade_orders(world, book, kind)
    b = book.behaviour
    f.stock_t[i, kind.oxide] = 1000.0
    f.stock_t[i, kind.metal] = 0.0
    f.dy_added_share[i] = 1.0
    s, loss = kind.cfg.scrap_share, kind.cfg.melt_loss_share
    blanks = 100.0 / (1 - s)
    dy_wanted = blanks * kind.cheap_dy[0] / (1 - loss)          # t Dy oxide the add-in takes
    f.stock_t[i, kind.dy] = [2.0 * dy_wanted, 0.5 * dy_wanted]   # the second has half of it
    f.use_expected_t_per_wk[i, kind.dy] = 0.0
    dy_before = f.stock_t[i, kind.dy].sum()
    kind.produce(book)
    # both make every blank they plan: the added Dy does not hold output back
    assert f.stock_t[i, std] == pytest.approx(100.0 * b.finished_cover_weeks + blanks * (1 - s))
    # the first uses all it wanted, the second all it had
    assert f.stock_t[i, kind.dy] == pytest.approx([dy_wanted, 0.0], abs=1e-9)
    # every tonne of Dy taken is in the blanks, their scrap or the melt loss
    dy_in_std = book.content[std][kind.e_dy] * f.stock_t[i, std].sum() \
        + book.content[kind.scraps[0]][kind.e_dy] * f.stock_t[i, kind.scraps[0]].sum()
    lost = book.ledger.sinks["magnet_loss"][kind.e_dy]
    taken = dy_before - f.stock_t[i, kind.dy].sum()
    assert taken == pytest.approx(1.5 * dy_wanted)
    assert dy_in_std + lost == pytest.approx(taken, rel=1e-9)
    # and they order the Dy the add-in wants, whatever they had this week
    assert (f.use_expected_t_per_wk[i, kind.dy] > 0.0).all()


def test_makers_add_dy_as_it_gets_cheap_and_stop_when_it_is_dear(makers):
    world, book, kind = makers
    f, m = book.firms, book.market
    el = world.scenario.firms.magnet_makers.cheap_dy_price_elasticity
    m.price_yuan_per_t[kind.dy] = 0.8 * world.start_price_yuan_per_t[kind.dy]
    for _ in range(2000):
        kind.adapt(book)
    assert f.dy_added_share[kind.rows] == pytest.approx(min(1.0, el * np.log(1.25)), rel=1e-3)
    recipe = kind.recipes_now(book)
    assert recipe[:, 0, kind.e_dy] == pytest.approx(f.dy_added_share[kind.rows] * kind.cheap_dy[0])
    m.price_yuan_per_t[kind.dy] = 1.2 * world.start_price_yuan_per_t[kind.dy]
    for _ in range(2000):
        kind.adapt(book)
    assert f.dy_added_share[kind.rows] == pytest.approx(0.0, abs=1e-6)
