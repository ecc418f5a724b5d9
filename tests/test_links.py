"""The compiled per-link loops give exactly what their numpy expressions give (bit for bit,
but for a column sum numpy adds pairwise), on random links, including links that owe nothing
and buyers abroad."""

from __future__ import annotations

import numpy as np
import pytest

from rechain import links
from rechain.recorder import tally_shipments, value_by_stage
from rechain.rules.market import fill_pro_rata, logit_split
from rechain.rules.ordering import order_quantity, target_cover

N_LINKS, N_BUYS, N_SELLS = 5_000, 1_700, 400


@pytest.fixture(params=[0, 1, 2])
def rng(request):
    return np.random.default_rng(request.param)


def _tonnes(rng, n, zero_share=0.3):
    t = rng.lognormal(0.0, 2.0, n)
    t[rng.random(n) < zero_share] = 0.0
    return t


@pytest.mark.parametrize("index_type", [np.int64, np.int32])
def test_tally_is_bincount(rng, index_type):
    index = rng.integers(0, N_SELLS, N_LINKS).astype(index_type)
    weights = _tonnes(rng, N_LINKS)
    want = np.bincount(index, weights=weights, minlength=N_SELLS + 3)
    assert np.array_equal(links.tally(index, weights, N_SELLS + 3), want)     # bins past the last index: 0


def test_owed_by_seller(rng):
    seller = np.sort(rng.integers(0, N_SELLS, N_LINKS)).astype(np.int32)
    backlog = _tonnes(rng, N_LINKS)
    key = rng.permutation(3 * N_SELLS)[:N_SELLS]
    owed = np.full(3 * N_SELLS, -1.0)
    want = owed.copy()
    want[key] = np.bincount(seller, weights=backlog, minlength=N_SELLS)
    links.owed_by_seller(seller, backlog, key, owed)
    assert np.array_equal(owed, want)                 # other firms' entries untouched


def test_receive(rng):
    n_firms, n_products = 300, 10
    buyer = rng.integers(0, N_BUYS, N_LINKS)
    buy_key = rng.choice(n_firms * n_products, N_BUYS, replace=False)
    arriving, in_transit = _tonnes(rng, N_LINKS), _tonnes(rng, N_LINKS) + 5.0
    stock = _tonnes(rng, n_firms * n_products)
    spot = np.zeros(n_firms * n_products)
    spot[buy_key] = _tonnes(rng, N_BUYS)
    want_transit = in_transit - arriving
    want_stock = stock.copy()
    want_stock[buy_key] += np.bincount(buyer, weights=arriving, minlength=N_BUYS) + spot[buy_key]
    product = rng.integers(0, n_products, N_LINKS)
    on_links = links.receive(arriving, buyer, in_transit, buy_key, stock, spot, product, n_products)
    assert np.array_equal(on_links, np.bincount(product, weights=want_transit, minlength=n_products))
    assert np.array_equal(stock, want_stock)
    assert np.array_equal(in_transit, want_transit)
    assert not arriving.any() and not spot.any()


@pytest.mark.parametrize("has_pending", [False, True])
def test_on_order(rng, has_pending):
    buyer = rng.integers(0, N_BUYS, N_LINKS)
    backlog, transit, pending = (_tonnes(rng, N_LINKS) for _ in range(3))
    buy_key, spot = rng.choice(3 * N_BUYS, N_BUYS, replace=False), _tonnes(rng, 3 * N_BUYS)
    per_link = backlog + transit
    if has_pending:
        per_link = per_link + pending
    want = np.bincount(buyer, weights=per_link, minlength=N_BUYS) + spot[buy_key]
    got = links.ordered_not_received(buyer, backlog, transit, pending, has_pending, buy_key, spot)
    assert np.array_equal(got, want)


def test_normalise_orders_is_the_logit_split_times_the_order(rng):
    buyer = np.sort(rng.integers(0, N_BUYS, N_LINKS))
    ratio = rng.uniform(0.5, 2.0, N_LINKS)
    reliability = rng.uniform(0.0, 1.0, N_LINKS)
    reliability[::7] = 0.0                       # floored at 1e-6
    wanted = _tonnes(rng, N_BUYS)
    gamma = 4.0
    want = logit_split(buyer, ratio, reliability, gamma, N_BUYS) * wanted[buyer]
    attraction = np.exp(np.maximum(ratio * -gamma, -700.0))
    got = links.normalise_orders(buyer, attraction, reliability, wanted, N_BUYS)
    assert np.array_equal(got, want)


def test_fill_pro_rata(rng):
    seller = rng.integers(0, N_SELLS, N_LINKS)
    available, backlog = _tonnes(rng, N_SELLS) * 3, _tonnes(rng, N_LINKS)
    want = fill_pro_rata(available, backlog, seller)
    got = links.fill_pro_rata(available, backlog, seller)
    assert np.array_equal(got, want)
    assert (np.bincount(seller, weights=got, minlength=N_SELLS) <= available * (1 + 1e-12) + 1e-12).all()


def test_settle_shipments(rng):
    seller, buyer = rng.integers(0, N_SELLS, N_LINKS), rng.integers(0, N_BUYS, N_LINKS)
    abroad = rng.random(N_LINKS) < 0.2
    lead = np.sort(rng.choice([1, 2, 5], N_LINKS))
    tick, n_slots = 7, 6
    eligible = _tonnes(rng, N_LINKS)
    eligible[::11] = 1e-10                       # owes (almost) nothing: reliability drifts to 1
    shipped = eligible * rng.uniform(0.0, 1.0, N_LINKS)
    backlog, transit, total = eligible + _tonnes(rng, N_LINKS), _tonnes(rng, N_LINKS), _tonnes(rng, N_LINKS)
    pipeline = _tonnes(rng, (n_slots, N_LINKS))
    reliability = rng.uniform(0.0, 1.0, N_LINKS)
    rate = 0.2
    # the numpy expressions ship() used
    want_backlog, want_transit, want_total = backlog - shipped, transit + shipped, total + shipped
    want_pipeline = pipeline.copy()
    for weeks in (1, 2, 5):
        at = lead == weeks
        want_pipeline[(tick + weeks) % n_slots, at] += shipped[at]
    owed = eligible > 1e-9
    step = np.divide(shipped, eligible, out=np.ones_like(reliability), where=owed)
    step -= reliability
    step *= np.where(owed, rate, rate * 0.25)
    want_reliability = reliability + step
    want_sent = np.bincount(seller, weights=shipped, minlength=N_SELLS)
    a = np.flatnonzero(abroad)
    want_abroad = np.bincount(seller[a], weights=shipped[a], minlength=N_SELLS)
    want_left = np.maximum(eligible - shipped, 0.0)          # every buyer takes it to its spot market
    want_unfilled = np.bincount(buyer, weights=want_left, minlength=N_BUYS)
    product = rng.integers(0, 10, N_LINKS)
    want_on_links = np.bincount(product, weights=want_transit, minlength=10)
    sent, sent_abroad, left, unfilled, on_links = links.settle_shipments(
        shipped, eligible, seller, buyer, abroad, lead, tick, backlog, transit, pipeline, total,
        reliability, rate, rate * 0.25, N_SELLS, N_BUYS, product, 10)
    for got, want in [(sent, want_sent), (sent_abroad, want_abroad), (left, want_left), (unfilled, want_unfilled),
                      (on_links, want_on_links),
                      (backlog, want_backlog), (transit, want_transit), (pipeline, want_pipeline),
                      (total, want_total), (reliability, want_reliability)]:
        assert np.array_equal(got, want)


@pytest.mark.parametrize("holiday", [False, True])
def test_eligible_backlog(rng, holiday):
    n_firms = 300
    src, dst = rng.integers(0, n_firms, N_LINKS), rng.integers(0, n_firms, N_LINKS)
    backlog = _tonnes(rng, N_LINKS)
    backlog[::13] = -1e-17                       # round-off below zero
    ws = rng.choice([0.0, 0.4, 1.0, 1.2], n_firms)
    want = np.maximum(backlog, 0.0)
    if holiday:
        capped = np.minimum(ws, 1.0)
        want *= np.minimum(capped[src], capped[dst])
    assert np.array_equal(links.eligible_backlog(backlog, src, dst, ws, holiday), want)


@pytest.mark.parametrize("any_covered", [False, True])
def test_drop_covered(rng, any_covered):
    buyer = rng.integers(0, N_BUYS, N_LINKS)
    backlog, wanted = _tonnes(rng, N_LINKS) + 1.0, _tonnes(rng, N_LINKS) * 0.5
    covered = rng.uniform(0.0, 1.0, N_BUYS) * any_covered
    want = backlog.copy()
    if any_covered:
        want -= wanted * covered[buyer]
    want *= 1.0 - 0.05
    links.drop_covered(backlog, wanted, covered, buyer, any_covered, 1.0 - 0.05)
    assert np.array_equal(backlog, want)


def test_orders_wanted_is_target_cover_then_order_quantity(rng):
    n_firms = 300
    firm = np.sort(rng.integers(0, n_firms, N_BUYS))
    expected = rng.normal(0.0, 0.2, n_firms)
    expected[::5] = 0.0
    uncertainty = rng.uniform(0.0, 2.0, n_firms)
    c0, kr, kw = rng.uniform(2, 12, N_BUYS), rng.uniform(0, 3, N_BUYS), rng.uniform(0, 3, N_BUYS)
    usage, stock, on_order = _tonnes(rng, N_BUYS), _tonnes(rng, N_BUYS) * 4, _tonnes(rng, N_BUYS) * 2
    cover = target_cover(c0, expected[firm], uncertainty[firm], kr, kw, 0.3, 0.5, 2.0)
    want = order_quantity(usage, stock, on_order, cover, 0.6, 4.0)
    # use and stock read from flat [firm * product] tables at each buyer pair's key
    key = rng.permutation(3 * N_BUYS)[:N_BUYS]
    usage_flat, stock_flat = np.full(3 * N_BUYS, np.nan), np.full(3 * N_BUYS, np.nan)
    usage_flat[key], stock_flat[key] = usage, stock
    got = links.orders_wanted(firm, expected, uncertainty, c0, kr, kw, 0.3, 0.5, 2.0, key, usage_flat, stock_flat,
                              on_order, 0.6, 4.0)
    assert np.array_equal(got, want)
    assert (got > 0).any() and (got == 0).any()      # both branches of the floor are exercised


def test_held_in_system(rng):
    n_firms, n_products = 300, 10
    stock, spot = _tonnes(rng, (n_firms, n_products)), _tonnes(rng, (n_firms, n_products))
    product, transit = rng.integers(0, n_products, N_LINKS), _tonnes(rng, N_LINKS)
    products = np.array([7, 3, 8])
    on_links = np.bincount(product, weights=transit, minlength=n_products)
    want = stock[:, products].sum(axis=0) + on_links[products] + spot[:, products].sum(axis=0)
    # numpy sums a column pairwise, the loop in order: equal to rounding, not bit for bit
    np.testing.assert_allclose(links.held_in_system(products, stock, on_links, spot), want, rtol=1e-13)


def test_price_pull(rng):
    n_products, n_regions = 10, 4
    seller, abroad = rng.integers(0, N_SELLS, N_LINKS), rng.random(N_LINKS) < 0.2
    product, region = rng.integers(0, n_products, N_LINKS), rng.integers(0, n_regions, N_LINKS)
    ratio_of_sell = rng.uniform(0.5, 2.0, N_SELLS)
    ratio_of_sell[:5] = 1e6                      # absurdly dear: held at -700
    premium = rng.uniform(0.8, 1.5, (n_products, n_regions))
    ratio = ratio_of_sell[seller]
    a = np.flatnonzero(abroad)
    ratio[a] /= premium[product[a], region[a]]
    want = np.maximum(ratio * -4.0, -700.0)
    assert np.array_equal(links.price_pull(ratio_of_sell, seller, abroad, premium, product, region, -4.0), want)


def test_book_orders(rng):
    seller, order, backlog = rng.integers(0, N_SELLS, N_LINKS), _tonnes(rng, N_LINKS), _tonnes(rng, N_LINKS)
    want_backlog, want = backlog + order, np.bincount(seller, weights=order, minlength=N_SELLS)
    got = links.book_orders(order, seller, backlog, N_SELLS)
    assert np.array_equal(got, want) and np.array_equal(backlog, want_backlog)


def test_spot_buy_and_sell(rng):
    n_products, n_keys = 10, 6 * N_BUYS
    # buyers
    product, key = rng.integers(0, n_products, N_BUYS), rng.choice(n_keys, N_BUYS, replace=False)
    unfilled, spot_wanted = _tonnes(rng, N_BUYS), _tonnes(rng, N_BUYS)
    share = rng.uniform(0.0, 1.0, n_products)
    spot = _tonnes(rng, n_keys)
    wanted = unfilled + spot_wanted
    want_bought = wanted * share[product]
    want_spot = spot.copy()
    want_spot[key] += want_bought
    want_covered = np.divide(np.maximum(want_bought - spot_wanted, 0.0), unfilled, out=np.zeros(N_BUYS),
                             where=unfilled > 1e-12)
    bought, covered = links.spot_buy(unfilled, spot_wanted, product, share, key, spot)
    for got, want in [(bought, want_bought), (covered, want_covered), (spot, want_spot)]:
        assert np.array_equal(got, want)
    # sellers
    product, key = rng.integers(0, n_products, N_SELLS), rng.choice(n_keys, N_SELLS, replace=False)
    offered, received = _tonnes(rng, N_SELLS), _tonnes(rng, N_SELLS)
    stock, orders, ask = _tonnes(rng, n_keys) * 0.5, _tonnes(rng, n_keys), rng.uniform(1e3, 1e6, n_keys)
    want_sold = offered * share[product]
    want_stock, want_orders = stock.copy(), orders.copy()
    want_stock[key] = np.maximum(stock[key] - want_sold, 0.0)
    want_orders[key] = orders[key] + (received + want_sold - orders[key]) / np.maximum(6.0, 1.0)
    want_value = np.bincount(product, weights=want_sold * ask[key], minlength=n_products)
    sold, value = links.spot_sell(offered, product, share, key, stock, orders, received, ask, 6.0, n_products)
    for got, want in [(sold, want_sold), (value, want_value), (stock, want_stock), (orders, want_orders)]:
        assert np.array_equal(got, want)


def test_recorder_tallies_shipments_as_bincount(rng):
    """The recorder's one-pass tally (runs of a flow key summed in a register) equals numpy's
    bincount of each key, with keys in long runs as the sorted links have them and -1 where a
    link is not an export or a sale abroad."""
    n_flow, n_export, n_abroad = 40, 30, 12
    flow_key = np.sort(rng.integers(0, n_flow, N_LINKS)).astype(np.int32)
    flow_key[::97] = rng.integers(0, n_flow, flow_key[::97].size)      # runs broken now and then
    export_key = np.where(rng.random(N_LINKS) < 0.3, rng.integers(0, n_export, N_LINKS), -1).astype(np.int32)
    abroad_key = np.where(rng.random(N_LINKS) < 0.2, rng.integers(0, n_abroad, N_LINKS), -1).astype(np.int32)
    is_import = rng.random(N_LINKS) < 0.1
    shipped = _tonnes(rng, N_LINKS)
    flows, exports, imports, abroad = tally_shipments(shipped, flow_key, export_key, is_import, abroad_key,
                                                      n_flow, n_export, n_abroad)
    assert np.array_equal(flows, np.bincount(flow_key, weights=shipped, minlength=n_flow))
    x, a = export_key >= 0, abroad_key >= 0
    assert np.array_equal(exports, np.bincount(export_key[x], weights=shipped[x], minlength=n_export))
    assert np.array_equal(abroad, np.bincount(abroad_key[a], weights=shipped[a], minlength=n_abroad))
    assert imports == sum(shipped[is_import].tolist())            # added in link order, as Python's sum does
    empty = tally_shipments(shipped[:0], flow_key[:0], export_key[:0], is_import[:0], abroad_key[:0], 3, 2, 1)
    assert not any(np.any(v) for v in (empty[0], empty[1], empty[3])) and empty[2] == 0.0


def test_recorder_values_by_stage(rng):
    n_pairs, n_stages, n_products = 2_000, 6, 10
    key = rng.permutation(5 * n_pairs)[:n_pairs]
    product, stage = rng.integers(0, n_products, n_pairs), rng.integers(0, n_stages, n_pairs)
    first, second = _tonnes(rng, 5 * n_pairs), _tonnes(rng, 5 * n_pairs)
    price = rng.uniform(100, 1e6, n_products)
    a, b = value_by_stage(key, product, stage, first, second, price, n_stages)
    assert np.array_equal(a, np.bincount(stage, weights=first[key] * price[product], minlength=n_stages))
    assert np.array_equal(b, np.bincount(stage, weights=second[key] * price[product], minlength=n_stages))
