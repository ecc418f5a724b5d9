"""Each kind of firm on a tiny hand-made state: two firms, numbers worked out by hand.

The world is the baseline cut down to two firms of most kinds; the state each test needs is
set by hand (capacity, stock, orders, prices), the week's conditions are replaced where the
test needs them, and one hook of one kind is called.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
from support import baseline_dict

from rechain.accounting import Ledger
from rechain.book import Book
from rechain.conditions import Mode, PolicyTimeline
from rechain.kinds import (MagnetMakers, MotorMakers, MyanmarHolders, OverseasBuyers, Recyclers, RockMiners,
                           SeparationPlants, StateReserve, Traders)
from rechain.kinds.separation import oxide_offer_share
from rechain.network import MAG, MOTOR, MYANMAR, OVERSEAS, REC, RESERVE, ROCK, SEP, TRADER
from rechain.randomness import Streams
from rechain.recorder import Recorder
from rechain.scenario import deep_merge, scenario_from_dict
from rechain.state import FirmState, LinkState, MarketState
from rechain.world import build_world

TINY = {
    "spin_up_weeks": 0,
    "firms": {"rock_miners": {"count": 2}, "ionic_miners": {"count": 2}, "myanmar_holders": {"count": 2},
              "overseas_miners": {"count": 2}, "separation_plants": {"count": 2, "light_share": 0.5, "metal_line_share": 1.0},
              "recyclers": {"count": 2}, "magnet_makers": {"count": 2},
              "traders": {"count": 2, "storage_t": {"prnd_oxide": 100.0, "dy_oxide": 10.0},
                          "speculation_strength": 5.0}},
    # the hand-worked numbers below use these values, not the baseline's calibrated ones
    "behaviour": {"max_finished_cover_weeks": 12.0},
    "stockpile": {"products": ["dy_oxide"], "buy_t_per_yr": {"dy_oxide": 521.8}, "max_stock_t": {"dy_oxide": 50.0},
                  "release_t_per_yr": {"dy_oxide": 260.9}},
}


@pytest.fixture()
def tiny():
    """A two-firm world, fresh state at start prices, and a book in a run week."""
    return tiny_world()


def tiny_world(changes: dict | None = None):
    """The ``tiny`` fixture's world and book, with ``changes`` merged into its scenario."""
    d = deep_merge(deep_merge(baseline_dict(), TINY), changes or {})
    for s in d["sectors"].values():
        s["firms"] = 1
    for r in d["regions"].values():
        r["buyers"] = 1
    world = build_world(scenario_from_dict(d), Streams(1))
    timeline = PolicyTimeline(world)
    firms = FirmState.empty(world.n_firms, world.n_products, world.firms.capacity)
    links = LinkState.empty(world.n_links, world.link.n_slots, world.n_firms, world.n_products)
    market = MarketState.at_prices(world.start_price_yuan_per_t, world.materials.content, 4.0)
    book = Book(world, firms, links, market, Ledger(world.materials.elements), Recorder(world, timeline.quota_type_of_firm))
    book.cond = timeline.conditions(10, Mode.RUN)
    return world, book


def week(book, **changes):
    """The book's week with some conditions replaced."""
    book.cond = dataclasses.replace(book.cond, **changes)


def test_rock_miners_mine_the_quota_pace_within_what_pays_and_the_yard(tiny):
    world, book = tiny
    kind = RockMiners(world)
    i, k, f = kind.rows, kind.output[0], book.firms
    n = world.n_firms
    week(book, working_share=np.ones(n), capacity_share=np.ones(n), quota_year_t_per_wk=np.full(n, 100.0),
         quota_allowance_t=np.full(n, 1e9), weeks_left_in_year=52.18)
    f.capacity_t_per_wk[i] = [150.0, 60.0]          # the second is capacity-bound
    kind.cost[:] = 10000.0                           # ore price 36,000: a wide margin, full pace
    f.orders_expected_t_per_wk[i, k] = 100.0
    f.stock_t[i, k] = [0.0, 900.0]                   # 15 weeks of its even pace: the yard is filling (room 2 - 15/12)
    kind.produce(book)
    assert f.stock_t[i, k] == pytest.approx([100.0, 900.0 + 60.0 * 0.75])
    assert f.quota_used_t[i] == pytest.approx([100.0, 45.0])
    # a cash loss stops mining
    kind.cost[:] = 40000.0
    kind.produce(book)
    assert f.quota_used_t[i] == pytest.approx([100.0, 45.0])


def test_rock_miners_stop_at_the_quota_issued(tiny):
    world, book = tiny
    kind = RockMiners(world)
    i, k, f = kind.rows, kind.output[0], book.firms
    n = world.n_firms
    f.capacity_t_per_wk[i] = 1000.0
    kind.cost[:] = 0.0
    week(book, working_share=np.ones(n), capacity_share=np.ones(n), quota_year_t_per_wk=np.full(n, 500.0),
         quota_allowance_t=np.full(n, 30.0), weeks_left_in_year=52.18)
    f.quota_used_t[i] = [0.0, 25.0]
    kind.produce(book)
    assert f.stock_t[i, k] == pytest.approx([30.0, 5.0])


def test_myanmar_holders_mine_on_their_margin_and_hold_back_when_prices_are_low(tiny):
    world, book = tiny
    kind = MyanmarHolders(world)
    i, k, f, m = kind.rows, kind.output[0], book.firms, book.market
    n = world.n_firms
    cfg = kind.config()
    week(book, working_share=np.ones(n), capacity_share=np.ones(n))
    f.capacity_t_per_wk[i] = 100.0
    f.stock_t[i, k] = 0.0
    kind.cost[:] = 90000.0
    kind.normal_margin[:] = 120000.0
    m.price_yuan_per_t[k] = 210000.0                 # the normal margin: normal utilisation
    kind.produce(book)
    assert f.stock_t[i, k] == pytest.approx(100.0 * cfg.normal_utilisation)
    m.price_yuan_per_t[k] = 90000.0 + 120000.0 / 4   # a quarter of the margin: sqrt(1/4) at elasticity 0.5
    f.stock_t[i, k] = 0.0
    kind.produce(book)
    assert f.stock_t[i, k] == pytest.approx(100.0 * cfg.normal_utilisation * 0.25 ** cfg.supply_price_elasticity)
    # offer share: full at the long-run price, less below the reservation, less when a rise is expected
    m.long_run_yuan_per_t[k] = 200000.0
    m.price_yuan_per_t[k] = 200000.0
    assert kind.offer_share(book) == pytest.approx(1.0)
    m.price_yuan_per_t[k] = 0.5 * cfg.price_floor_share * 200000.0
    expected = max(1.0 - cfg.holdback_price * 0.5, cfg.min_offer_share)
    assert kind.offer_share(book) == pytest.approx(expected)


def test_separation_plants_turn_ore_into_oxides_and_metal_and_keep_every_tonne(tiny):
    world, book = tiny
    kind = SeparationPlants(world)
    i, f = kind.rows, book.firms
    n = world.n_firms
    week(book, working_share=np.ones(n), capacity_share=np.ones(n), quota_year_t_per_wk=np.full(n, 100.0),
         quota_allowance_t=np.full(n, 1e9), imports_count=True,
         weeks_left_in_year=52.18)
    f.capacity_t_per_wk[i] = 1000.0
    kind.cost[:] = 0.0
    met, ox = kind.metal, kind.oxides[0]
    f.orders_expected_t_per_wk[i, met] = 0.0          # no metal orders: all oxide
    f.stock_t[i, kind.ore] = 500.0
    before = (f.stock_t.sum(axis=0) @ book.content)
    kind.produce(book)
    assert f.stock_t[i, kind.ore] == pytest.approx(400.0)          # the quota's even pace
    made = f.stock_t[i][:, kind.oxides]
    assert made == pytest.approx(100.0 * kind.yields)
    src, snk = book.ledger.totals()
    after = f.stock_t.sum(axis=0) @ book.content
    assert after + snk == pytest.approx(before, rel=1e-12)         # nothing appears or vanishes
    # a metal line turns the plant's oxide into metal: 1.17 t oxide (+ loss) per t metal
    lines = kind.lines
    if lines.size == 0:
        pytest.skip("no plant with a metal line in this draw")
    f.orders_expected_t_per_wk[lines, met] = 10.0
    f.stock_t[lines, met] = 0.0
    f.stock_t[lines, ox] = 3000.0
    f.owed_t[:] = 0.0
    kind.produce(book)
    metal = f.stock_t[lines, met]
    assert (metal > 0).all()
    used = metal * kind.oxide_per_metal / (1 - kind.cfg.metal_loss_share)
    # 3,000 t of unsold oxide, over 24 weeks of its even-pace output, fill the store: no ore
    # is worked this week
    assert f.stock_t[lines, ox] == pytest.approx(3000.0 - used)
    assert f.stock_t[lines, kind.ore[np.isin(i, lines)]] == pytest.approx(400.0)


def test_separation_plants_stop_at_a_basket_loss(tiny):
    world, book = tiny
    kind = SeparationPlants(world)
    i, f = kind.rows, book.firms
    n = world.n_firms
    week(book, working_share=np.ones(n), capacity_share=np.ones(n), quota_year_t_per_wk=np.full(n, 100.0),
         quota_allowance_t=np.full(n, 1e9), imports_count=True,
         weeks_left_in_year=52.18)
    f.capacity_t_per_wk[i] = 1000.0
    f.stock_t[i, kind.ore] = 500.0
    book.market.price_yuan_per_t[kind.ore] = 1e7     # ore dearer than its oxides
    kind.produce(book)
    assert f.stock_t[i, kind.ore] == pytest.approx(500.0)


def test_recyclers_recover_the_yield_of_their_scrap(tiny):
    world, book = tiny
    kind = Recyclers(world)
    i, f = kind.rows, book.firms
    n = world.n_firms
    week(book, working_share=np.ones(n), capacity_share=np.ones(n))
    f.capacity_t_per_wk[i] = 1000.0
    f.stock_t[i, kind.scrap[0]] = [100.0, 0.0]
    f.stock_t[i, kind.scrap[1]] = [0.0, 100.0]
    kind.produce(book)
    content = book.content[kind.scrap][:, kind.elements] * kind.cfg.recovery_yield
    worked = 50.0                                    # half the scrap in hand, no orders
    assert f.stock_t[i[0]][kind.oxides] == pytest.approx(worked * content[0])
    assert f.stock_t[i[1]][kind.oxides] == pytest.approx(worked * content[1])


def standard_grade_orders(world, book, kind) -> tuple[int, int]:
    """A full working week with room to spare; the makers' orders are 100 t a week of the
    standard grade, at its normal finished cover (so the plan is the orders), none of 52UH.
    Returns the two grades."""
    i, f = kind.rows, book.firms
    n = world.n_firms
    week(book, working_share=np.ones(n), capacity_share=np.ones(n))
    f.capacity_t_per_wk[i] = 1e6
    std, uh = kind.grades
    f.orders_expected_t_per_wk[i, std] = 100.0
    f.stock_t[i, std] = 100.0 * book.behaviour.finished_cover_weeks
    f.stock_t[i, uh] = 0.0
    f.orders_expected_t_per_wk[i, uh] = 0.0
    return std, uh


def test_magnet_makers_make_what_raw_materials_allow_and_machine_scrap(tiny):
    world, book = tiny
    kind = MagnetMakers(world)
    i, f = kind.rows, book.firms
    std, uh = standard_grade_orders(world, book, kind)
    b = book.behaviour
    s = kind.cfg.scrap_share
    per_blank = book.content[std] / (1 - kind.cfg.melt_loss_share)
    need = 100.0 / (1 - s) * per_blank[kind.e_prnd]
    f.stock_t[i, kind.oxide] = [need, need / 2]      # the second has half the Pr-Nd it needs
    f.stock_t[i, kind.metal] = 0.0
    kind.produce(book)
    blanks = np.array([100.0, 50.0]) / (1 - s)
    assert f.stock_t[i, std] == pytest.approx(100.0 * b.finished_cover_weeks + blanks * (1 - s))
    assert f.stock_t[i, kind.scraps[0]] == pytest.approx(blanks * s)
    assert f.stock_t[i, kind.oxide] == pytest.approx([0.0, 0.0], abs=1e-9)


def test_recyclers_hold_oxide_back_below_the_plants_reservation_price(tiny):
    world, book = tiny
    kind = Recyclers(world)
    m, cfg = book.market, world.scenario.firms.separation_plants
    k = kind.sell_product
    book.firms.expected_change[:] = 0.0
    m.long_run_yuan_per_t[k] = 1000.0
    m.price_yuan_per_t[k] = 1000.0
    assert kind.offer_share(book) == pytest.approx(1.0)
    # 1 % under each product's reservation price (the plants' share, or the product's own)
    m.price_yuan_per_t[k] = 0.99 * world.reservation_share[k] * 1000.0
    assert kind.offer_share(book) == pytest.approx(max(1.0 - cfg.holdback_price * 0.01, cfg.min_offer_share))


def test_a_products_own_reservation_share_replaces_the_plants_for_that_product_only():
    """``reservation_share_by_product``: Dy's holders at 0.6 of its long-run price still
    offer all of it at 0.7, while Pr-Nd's (at the plants' own 0.87) hold part back."""
    d = deep_merge(baseline_dict(), TINY)
    d["firms"]["separation_plants"].update(reservation_share=0.87, holdback_price=10.0, min_offer_share=0.0,
                                           reservation_share_by_product={"dy_oxide": 0.6})
    world = build_world(scenario_from_dict(d), Streams(1))
    book = SimpleNamespace(world=world, firms=FirmState.empty(world.n_firms, world.n_products, world.firms.capacity),
                           market=MarketState.at_prices(world.start_price_yuan_per_t, world.materials.content, 4.0))
    dy, prnd = world.materials.p("dy_oxide"), world.materials.p("prnd_oxide")
    assert world.reservation_share[[dy, prnd]] == pytest.approx([0.6, 0.87])
    m = book.market
    m.long_run_yuan_per_t[[dy, prnd]] = 1000.0
    m.price_yuan_per_t[[dy, prnd]] = 700.0
    firm = np.zeros(2, dtype=int)
    # 0.7 of the long-run price: above Dy's reservation (all offered), 17 points under Pr-Nd's
    assert oxide_offer_share(book, firm, np.array([dy, prnd])) == pytest.approx([1.0, 0.0])
    m.price_yuan_per_t[dy] = 0.99 * 0.6 * 1000.0                     # 1 % under Dy's own
    assert oxide_offer_share(book, firm, np.array([dy]))[0] == pytest.approx(1.0 - 10.0 * 0.01)


def test_magnet_makers_thrift_dy_and_tb_when_they_are_dear(tiny):
    world, book = tiny
    kind = MagnetMakers(world)
    f, m = book.firms, book.market
    m.price_yuan_per_t[[kind.dy, kind.tb]] = 2.0 * world.start_price_yuan_per_t[[kind.dy, kind.tb]]
    for _ in range(2000):
        kind.adapt(book)
    target = min(1.0, kind.elasticity_heavy * np.log(2.0))
    assert f.heavy_thrift[kind.rows] == pytest.approx(target, rel=1e-3)
    recipe = kind.recipes_now(book)
    base = world.recipes.content[book.cond.week, 1]
    assert recipe[:, 1, kind.e_dy] == pytest.approx(base[kind.e_dy] * (1 - target * kind.substitutable_heavy[1]))


def test_motor_makers_use_magnets_from_stock_and_substitute_when_they_stay_dear(tiny):
    world, book = tiny
    kind = MotorMakers(world)
    i, f = kind.rows, book.firms
    n = world.n_firms
    demand = np.zeros(n)
    demand[i] = 10.0
    week(book, demand_t=demand)
    f.stock_t[i][:, kind.grades] = 0.0
    f.stock_t[i[0], kind.grades] = 100.0
    kind.use(book)
    want = 10.0 * kind.grade_split
    assert f.stock_t[i[0], kind.grades] == pytest.approx(100.0 - want[0])
    src, snk = book.ledger.totals()
    assert snk.sum() > 0
    # dear magnets: substitution moves toward elasticity x ln(price ratio), capped
    book.market.price_yuan_per_t[kind.grades] = 3.0 * world.start_price_yuan_per_t[kind.grades]
    for _ in range(2000):
        kind.adapt(book)
    target = np.minimum(kind.elasticity * np.log(3.0), kind.ceiling)
    assert f.substitution_share[i] == pytest.approx(target, rel=1e-3)


def test_overseas_buyers_order_less_after_refusals(tiny):
    world, book = tiny
    kind = OverseasBuyers(world)
    f = book.firms
    buyer = kind.rows[0]
    uh, std = world.materials.p("magnet_uh"), world.materials.p("magnet_std")
    kind.learn_from_licences(book, np.array([buyer, buyer]), np.array([uh, uh]), np.array([10.0, 30.0]),
                             np.array([True, False]))
    r = book.behaviour.refusal_memory
    assert f.licence_success[buyer, uh] == pytest.approx((1 - r) + r * 0.25)
    # a refusal for the high grade says nothing of the standard grade, which needs no licence
    assert f.licence_success[buyer, std] == 1.0
    q = np.ones(world.buys.by_kind[OVERSEAS].stop - world.buys.by_kind[OVERSEAS].start)
    kind.adjust_orders(book, q, np.zeros_like(q))
    firms, products = world.buys.firm[kind.buys], world.buys.product[kind.buys]
    assert q[(firms == buyer) & (products == uh)] == pytest.approx(0.5 + 0.5 * f.licence_success[buyer, uh])
    assert q[(firms == buyer) & (products == std)] == pytest.approx(1.0)


def test_traders_hold_stock_only_while_the_expected_rise_beats_carrying_costs(tiny):
    world, book = tiny
    kind = Traders(world)
    f = book.firms
    q = np.ones(kind.rows.size)
    f.expected_change[kind.rows] = 0.0                 # no rise expected: hold nothing
    kind.adjust_orders(book, q, np.zeros_like(q))
    assert q == pytest.approx(0.0)
    f.expected_change[kind.rows] = 0.5                 # a big expected rise: fill the store
    kind.adjust_orders(book, q, np.zeros_like(q))
    assert q == pytest.approx(kind.storage_t / book.behaviour.stock_adjust_weeks)
    f.stock_t[kind.rows, kind.product] = kind.storage_t
    f.expected_change[kind.rows] = 0.0                 # the rise is over: offer everything
    assert kind.offer_share(book) == pytest.approx(1.0)


def test_the_reserve_buys_in_a_dip_and_releases_in_a_spike(tiny):
    """Band 0.9-1.25 of a long-run price of 100: its width is 35. The reserve trades the
    share of its rate that the price's distance past the band's edge is of that width."""
    world, book = tiny
    kind = StateReserve(world)
    m, f = book.market, book.firms
    k = kind.buy_product[0]
    m.long_run_yuan_per_t[k] = 100.0
    m.price_yuan_per_t[k] = 55.0                       # 35 below 90: its whole rate
    q = np.zeros(1)
    kind.adjust_orders(book, q, np.zeros(1))
    assert q == pytest.approx([10.0])                  # 521.8 t/yr = 10 t/wk
    f.stock_t[kind.rows[0], k] = 45.0
    kind.adjust_orders(book, q, np.zeros(1))
    assert q == pytest.approx([5.0])                   # up to its 50 t limit
    f.stock_t[kind.rows[0], k] = 0.0
    m.price_yuan_per_t[k] = 80.0                       # 10 below 90: 10/35 of its rate
    kind.adjust_orders(book, q, np.zeros(1))
    assert q == pytest.approx([10.0 * 10.0 / 35.0])
    f.stock_t[kind.rows[0], k] = 45.0
    m.price_yuan_per_t[k] = 110.0                      # inside the band: neither
    kind.adjust_orders(book, q, np.zeros(1))
    assert q == pytest.approx([0.0]) and kind.offer_share(book) == pytest.approx([0.0])
    m.price_yuan_per_t[k] = 130.0                      # 5 above 125: 5/35 of 5 t/wk, of 45 t
    assert kind.offer_share(book) == pytest.approx([5.0 / 35.0 * 5.0 / 45.0])
    m.price_yuan_per_t[k] = 160.0                      # 35 above: its whole 5 t/wk
    assert kind.offer_share(book) == pytest.approx([5.0 / 45.0])


def test_thrift_target_gives_up_content_when_dear_and_adds_it_back_when_cheap():
    from rechain.kinds.magnets import thrift_target
    assert thrift_target(100.0, 100.0, 0.5, 0.5) == 0.0
    assert thrift_target(200.0, 100.0, 0.5, 0.5) == pytest.approx(0.5 * np.log(2.0))
    assert thrift_target(50.0, 100.0, 0.5, 0.5) == pytest.approx(-0.5 * np.log(2.0))
    assert thrift_target(10.0, 100.0, 0.5, 0.3) == pytest.approx(-0.3)           # added back at most 0.3
    assert thrift_target(1e6, 100.0, 0.5, 0.3) == 1.0
    assert thrift_target(50.0, 100.0, 0.5) == 0.0                                # no adding back by default


def test_build_in_takes_what_stock_holds_and_plans_toward_the_need_ahead():
    from rechain.kinds.buyers import build_in
    # rows 1 and 2 are end users; grades are products 0 and 3
    stock = np.array([[9.0, 0, 0, 9.0], [5.0, 0, 0, 1.0], [0.0, 0, 0, 8.0]])
    plan = np.array([[0.0, 0, 0, 0.0], [4.0, 0, 0, 4.0], [2.0, 0, 0, 2.0]])
    response = np.array([[0.75, 0.25], [0.5, 0.5]])
    demand, ahead = np.array([0.0, 8.0, 6.0]), np.array([0.0, 12.0, 6.0])
    wanted, got, by_grade = build_in(1, np.array([0, 3]), response, demand, ahead, stock, plan, 4.0)
    # firm 1 wants 6 + 2, has 5 + 1; firm 2 wants 3 + 3, has 0 + 8
    np.testing.assert_allclose(wanted, [8.0, 6.0])
    np.testing.assert_allclose(got, [6.0, 3.0])
    np.testing.assert_allclose(by_grade, [5.0, 4.0])
    np.testing.assert_allclose(stock[1:, [0, 3]], [[0.0, 0.0], [0.0, 5.0]])
    np.testing.assert_allclose(stock[0], [9.0, 0, 0, 9.0])             # not an end user: untouched
    # plans move a quarter of the way to the need ahead: firm 1 toward 9 and 3, firm 2 toward 3 and 3
    np.testing.assert_allclose(plan[1:, [0, 3]], [[4.0 + 5 / 4, 4.0 - 1 / 4], [2.25, 2.25]])


def test_dy_tb_mix_moves_tb_to_dy_at_the_coercivity_exchange_rate():
    from rechain.kinds.magnets import dy_tb_mix
    dy, tb = dy_tb_mix(np.array([1.2]), np.array([0.3]), np.array([0.5]), 1.5)
    assert tb[0] == pytest.approx(0.15) and dy[0] == pytest.approx(1.2 + 0.15 * 1.5)
    dy, tb = dy_tb_mix(np.array([1.2]), np.array([0.3]), np.array([-0.5]), 1.5)
    assert tb[0] == pytest.approx(0.45) and dy[0] == pytest.approx(1.2 - 0.15 * 1.5)
    # never below zero Dy: at most all of it moves to Tb
    dy, tb = dy_tb_mix(np.array([0.1]), np.array([1.0]), np.array([-0.5]), 2.0)
    assert dy[0] == pytest.approx(0.0) and tb[0] == pytest.approx(1.05)
    dy, tb = dy_tb_mix(np.array([1.2]), np.array([0.3]), np.array([0.0]), 1.5)
    assert (dy[0], tb[0]) == (1.2, 0.3)


def test_swap_target_follows_the_tb_dy_price_ratio_within_its_bound():
    from rechain.kinds.magnets import swap_target
    assert swap_target(3.0, 3.0, 1.5, 0.4) == 0.0
    assert swap_target(3.3, 3.0, 1.5, 0.4) == pytest.approx(1.5 * np.log(1.1))
    assert swap_target(2.7, 3.0, 1.5, 0.4) == pytest.approx(1.5 * np.log(0.9))
    assert swap_target(30.0, 3.0, 1.5, 0.4) == 0.4 and swap_target(0.3, 3.0, 1.5, 0.4) == -0.4


def test_makers_move_tb_to_dy_when_tb_grows_dear_against_dy():
    """Once the Tb/Dy price ratio has moved (in the shock-free first year Dy falls further than
    Tb), makers allowed to change the mix put less of the dearer and more of the cheaper into
    each high-grade blank than with a fixed mix."""
    import rechain
    from support import quiet_dict

    from rechain.kinds.magnets import MagnetMakers
    from rechain.network import MAG
    from rechain.scenario import scenario_from_dict
    d = quiet_dict(1)
    fixed = rechain.run(scenario_from_dict(d), seed=0, keep_model=True)
    d["firms"]["magnet_makers"]["dy_for_tb_max_share"] = 0.3
    mixed = rechain.run(scenario_from_dict(d), seed=0, keep_model=True)

    def high_grade(r):
        """Mean Dy and Tb content of the high grade over the makers, t per t blank."""
        mag = next(k for k in r.model.kinds if isinstance(k, MagnetMakers))
        recipe = mag.recipes_now(r.model.book)[:, 1].mean(axis=0)
        e = r.model.world.materials.e
        return recipe[e("dy")], recipe[e("tb")]
    start = d["market"]["initial_price"]
    px = fixed.monthly[(fixed.monthly.variable == "price") & (fixed.monthly.month == "2024-12")
                       & (fixed.monthly.stage == "market") & (fixed.monthly.region == "china")].set_index("product").value
    up = px["tb_oxide"] / px["dy_oxide"] > start["tb_oxide"] / start["dy_oxide"]
    swap = mixed.model.firms.tb_swap[mixed.model.world.firms.kind == MAG]
    assert swap.size and ((swap > 0).all() if up else (swap < 0).all())
    assert not fixed.model.firms.tb_swap.any()
    (dy_fixed, tb_fixed), (dy_mixed, tb_mixed) = high_grade(fixed), high_grade(mixed)
    assert (tb_mixed < tb_fixed) == up and (dy_mixed > dy_fixed) == up


def test_buyers_abroad_take_their_region_s_elasticity_however_many_sectors_there_are():
    """More buyer regions than end-use sectors: each buyer abroad answers its own region's
    price elasticity (it once indexed the sectors' list by region and failed)."""
    d = deep_merge(baseline_dict(), TINY)
    d["sectors"] = {"nev": d["sectors"]["nev"]}
    for n, name in enumerate(("africa", "latam", "middle_east")):
        d["regions"][name] = {"calendar": "other", "buyers": 1, "uh_share": 0.3, "price_elasticity": 0.1 * (n + 1),
                              "demand_t_per_yr": {"2024": 1000.0, "2025": 1000.0, "2026": 1000.0}}
    for r in d["regions"].values():
        r["buyers"] = 1
    world = build_world(scenario_from_dict(d), Streams(1))
    kind = OverseasBuyers(world)
    regions = list(world.scenario.regions.values())
    assert len(regions) > len(world.scenario.sectors)
    want = [([0.0, 0.0] + [r.price_elasticity for r in regions])[g] for g in world.firms.region[kind.rows]]
    assert kind.elasticity.tolist() == pytest.approx(want)
    assert MotorMakers(world).elasticity.tolist() == [world.scenario.sectors["nev"].price_elasticity] * MotorMakers(world).rows.size
