"""The week's per-link bookkeeping as compiled loops (numba).

A run trades along tens of thousands of supplier -> buyer links (hundreds of thousands with
ten times the firms). Written with numpy, each step of the bookkeeping is several passes
over the link arrays and as many temporaries; once the arrays outgrow the processor's cache
those passes, not the decisions, set the pace of a run. Each function here does in one or
two passes what the phases of :mod:`rechain.week` would otherwise do in many, and gives
exactly what the numpy expression in its docstring gives: the same operations on the same
numbers in the same order (sums by index accumulate in link order, as ``np.bincount`` does),
so no result depends on which is used (one exception, said where it is: a column sum numpy
may add pairwise); ``tests/test_links.py`` holds each to its numpy
expression. The rules themselves stay in :mod:`rechain.rules` as plain numpy.

Links are sorted by lead time, then product, so sums by product run over long stretches of
the same index; such a sum is kept in a register while its index stays the same and stored
when it changes (the same additions in the same order, without a round trip through memory
for each link).

Per link arrays are [E]; ``buyer`` / ``seller`` give each link's buyer pair / seller pair
(indices into ``World.buys`` / ``World.sells``).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["tally", "owed_by_seller", "receive", "ordered_not_received", "normalise_orders", "fill_pro_rata",
           "eligible_backlog", "settle_shipments", "drop_covered", "orders_wanted", "held_in_system", "price_pull",
           "book_orders", "spot_buy", "spot_sell"]

# cache=True: compiled once per installation (kept beside this file), not once per process
_compiled = numba.njit(cache=True, nogil=True)


@_compiled
def tally(index: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """``np.bincount(index, weights, minlength=n)`` for indices below ``n``, without numpy's
    passes to find the indices' range (and its copy of int32 indices)."""
    out = np.zeros(n)
    for i in range(index.shape[0]):
        out[index[i]] += weights[i]
    return out


@_compiled
def owed_by_seller(seller: np.ndarray, backlog_t: np.ndarray, sell_key: np.ndarray, owed_t: np.ndarray) -> None:
    """What each seller pair owes, its links' backlogs summed, written into ``owed_t`` (flat
    [firm * product]) at its key: ``owed_t[sell_key] = np.bincount(seller, backlog_t)``."""
    owed = tally(seller, backlog_t, sell_key.shape[0])
    for s in range(sell_key.shape[0]):
        owed_t[sell_key[s]] = owed[s]


@_compiled
def receive(arriving_t: np.ndarray, buyer: np.ndarray, in_transit_t: np.ndarray, buy_key: np.ndarray,
            stock_t: np.ndarray, spot_in_transit_t: np.ndarray, link_product: np.ndarray,
            n_products: int) -> np.ndarray:
    """Goods arriving this week (a pipeline slot, emptied) and last week's spot purchases enter
    the buyers' stocks, in place: ``stock_t[buy_key] += np.bincount(buyer, arriving_t) +
    spot_in_transit_t[buy_key]``, ``in_transit_t -= arriving_t``, ``arriving_t[:] = 0`` and
    the spot purchases (held only at buy pairs) set to 0. ``stock_t`` and ``spot_in_transit_t``
    are flat [firm * product]. Returns what is still in transit per product,
    ``np.bincount(link_product, in_transit_t)``."""
    received = np.zeros(buy_key.shape[0])
    on_links = np.zeros(n_products)
    product, run = (link_product[0] if link_product.shape[0] else 0), 0.0   # a run's sum (module docstring)
    for e in range(arriving_t.shape[0]):
        a = arriving_t[e]
        received[buyer[e]] += a
        left = in_transit_t[e] - a
        in_transit_t[e] = left
        arriving_t[e] = 0.0
        if link_product[e] != product:
            on_links[product] = run
            product = link_product[e]
            run = on_links[product]
        run += left
    if link_product.shape[0]:
        on_links[product] = run
    for b in range(buy_key.shape[0]):
        k = buy_key[b]
        stock_t[k] += received[b] + spot_in_transit_t[k]
        spot_in_transit_t[k] = 0.0
    return on_links


@_compiled
def ordered_not_received(buyer: np.ndarray, backlog_t: np.ndarray, in_transit_t: np.ndarray, pending_t: np.ndarray,
                         has_pending: bool, buy_key: np.ndarray, spot_in_transit_t: np.ndarray) -> np.ndarray:
    """Ordered but not received, per buyer pair, t: ``np.bincount(buyer, backlog_t +
    in_transit_t (+ pending_t)) + spot_in_transit_t[buy_key]`` (``spot_in_transit_t`` flat)."""
    out = np.zeros(buy_key.shape[0])
    for e in range(backlog_t.shape[0]):
        v = backlog_t[e] + in_transit_t[e]
        if has_pending:
            v = v + pending_t[e]
        out[buyer[e]] += v
    for b in range(buy_key.shape[0]):
        out[b] = out[b] + spot_in_transit_t[buy_key[b]]
    return out


@_compiled
def normalise_orders(buyer: np.ndarray, attraction: np.ndarray, weight: np.ndarray, wanted_t: np.ndarray,
                     n_buys: int) -> np.ndarray:
    """Each buyer pair's order split over its links by attraction (in place, returned), t.

    ``z = attraction * max(weight, 1e-6)``; ``z / bincount(buyer, z)[buyer] * wanted_t[buyer]``:
    the logit split of :func:`rechain.rules.market.logit_split` (given ``exp(-gamma ratio)``)
    times what each buyer pair orders on contract; a buyer pair whose links all have
    attraction 0 (closed) orders nothing on them."""
    total = np.zeros(n_buys)
    for e in range(attraction.shape[0]):
        w = weight[e]
        z = attraction[e] * (w if w > 1e-6 else 1e-6)
        attraction[e] = z
        total[buyer[e]] += z
    for e in range(attraction.shape[0]):
        b = buyer[e]
        attraction[e] = attraction[e] / total[b] * wanted_t[b] if total[b] > 0.0 else 0.0
    return attraction


@_compiled
def fill_pro_rata(available_t: np.ndarray, backlog_t: np.ndarray, seller: np.ndarray) -> np.ndarray:
    """:func:`rechain.rules.market.fill_pro_rata`: ship from each seller pair's available stock
    to its links' backlogs, pro rata; t per link."""
    n = available_t.shape[0]
    owed = tally(seller, backlog_t, n)
    ratio = np.zeros(n)
    for s in range(n):
        if owed[s] > 0:
            a = available_t[s]
            ratio[s] = (a if a < owed[s] else owed[s]) / owed[s]
    shipped = np.empty(backlog_t.shape[0])
    for e in range(backlog_t.shape[0]):
        shipped[e] = backlog_t[e] * ratio[seller[e]]
    return shipped


@_compiled
def eligible_backlog(backlog_t: np.ndarray, src: np.ndarray, dst: np.ndarray, working_share: np.ndarray,
                     holiday: bool) -> np.ndarray:
    """What may ship on each link this week, t: its backlog (round-off below 0 counts as 0),
    times the lesser worked share of its two ends in a week with a holiday somewhere:
    ``np.maximum(backlog_t, 0) * np.minimum(ws[src], ws[dst])`` with ``ws`` capped at 1."""
    out = np.empty(backlog_t.shape[0])
    for e in range(backlog_t.shape[0]):
        b = backlog_t[e]
        b = b if b > 0.0 else 0.0
        if holiday:
            a, c = working_share[src[e]], working_share[dst[e]]
            a = a if a < 1.0 else 1.0
            c = c if c < 1.0 else 1.0
            b = b * (a if a < c else c)
        out[e] = b
    return out


@_compiled
def settle_shipments(shipped_t: np.ndarray, eligible_t: np.ndarray, seller: np.ndarray, buyer: np.ndarray,
                     to_abroad: np.ndarray, lead_weeks: np.ndarray, tick: int,
                     backlog_t: np.ndarray, in_transit_t: np.ndarray, pipeline_t: np.ndarray,
                     shipped_total_t: np.ndarray, reliability: np.ndarray, learn_owed: float,
                     learn_idle: float, n_sells: int, n_buys: int, link_product: np.ndarray, n_products: int):
    """The books after shipping: backlogs, goods in transit, reliability, what is left wanted.

    In place: ``backlog_t -= shipped_t``, ``in_transit_t += shipped_t``, ``shipped_total_t +=
    shipped_t``; each link's shipment joins the pipeline slot of its arrival week
    (``(tick + lead_weeks) % n_slots``); a link's reliability moves toward the share of what it
    owed that it shipped (``learn_owed`` of the way) if it owed something (> 1e-9 t), else toward
    1 (``learn_idle``). Returns t sent per seller pair, of it to buyers abroad, per link what its
    buyer still wanted (``max(eligible - shipped, 0)``: it goes to the buyer's spot market), its sum per
    buyer pair (``np.bincount(buyer, left_wanted)``) and what is now in transit per product
    (``np.bincount(link_product, in_transit_t)``)."""
    n_slots = pipeline_t.shape[0]
    this_slot = tick % n_slots    # lead_weeks < n_slots: a slot wraps at most once (no division per link)
    sent = np.zeros(n_sells)
    sent_abroad = np.zeros(n_sells)
    left_wanted = np.empty(shipped_t.shape[0])
    unfilled = np.zeros(n_buys)
    on_links = np.zeros(n_products)
    product, run = (link_product[0] if link_product.shape[0] else 0), 0.0   # a run's sum (module docstring)
    for e in range(shipped_t.shape[0]):
        s, owed = shipped_t[e], eligible_t[e]
        backlog_t[e] -= s
        sent[seller[e]] += s
        if to_abroad[e]:
            sent_abroad[seller[e]] += s
        slot = this_slot + lead_weeks[e]
        if slot >= n_slots:
            slot -= n_slots
        pipeline_t[slot, e] += s
        now_in_transit = in_transit_t[e] + s
        in_transit_t[e] = now_in_transit
        if link_product[e] != product:
            on_links[product] = run
            product = link_product[e]
            run = on_links[product]
        run += now_in_transit
        if owed > 1e-9:
            step = (s / owed - reliability[e]) * learn_owed
        else:
            step = (1.0 - reliability[e]) * learn_idle
        reliability[e] += step
        shipped_total_t[e] += s
        left = owed - s
        left = left if left > 0.0 else 0.0
        left_wanted[e] = left
        unfilled[buyer[e]] += left
    if link_product.shape[0]:
        on_links[product] = run
    return sent, sent_abroad, left_wanted, unfilled, on_links


@_compiled
def drop_covered(backlog_t: np.ndarray, wanted_t: np.ndarray, covered: np.ndarray, buyer: np.ndarray,
                 any_covered: bool, keep_share: float) -> None:
    """Contract orders replaced by spot purchases leave the backlog, then a share of every
    backlog is cancelled, in place: ``backlog_t -= wanted_t * covered[buyer]`` (if
    ``any_covered``); ``backlog_t *= keep_share``."""
    for e in range(backlog_t.shape[0]):
        b = backlog_t[e]
        if any_covered:
            b = b - wanted_t[e] * covered[buyer[e]]
        backlog_t[e] = b * keep_share


@_compiled
def orders_wanted(firm: np.ndarray, expected_change: np.ndarray, uncertainty: np.ndarray,
                  normal_cover_wk: np.ndarray, restock_strength: np.ndarray, wait_strength: np.ndarray,
                  uncertainty_strength: float, cover_lo: float, cover_hi: float, buy_key: np.ndarray,
                  usage_t_per_wk: np.ndarray, stock_t: np.ndarray, on_order_t: np.ndarray,
                  supply_line_weight: float, stock_adjust_weeks: float) -> np.ndarray:
    """Each buyer pair's order this week, t: :func:`rechain.rules.ordering.target_cover` with its
    firm's expectation and uncertainty, then :func:`rechain.rules.ordering.order_quantity`
    with its use and stock (``usage_t_per_wk`` and ``stock_t`` flat [firm * product], read at
    ``buy_key``)."""
    out = np.empty(firm.shape[0])
    for i in range(firm.shape[0]):
        x = expected_change[firm[i]]
        rise = x if x > 0.0 else 0.0
        fall = -x if -x > 0.0 else 0.0
        f = 1.0 + restock_strength[i] * rise - wait_strength[i] * fall - uncertainty_strength * uncertainty[firm[i]]
        f = f if f > cover_lo else cover_lo
        f = f if f < cover_hi else cover_hi
        cover = normal_cover_wk[i] * f
        use = usage_t_per_wk[buy_key[i]]
        q = use + (cover * use - stock_t[buy_key[i]] - supply_line_weight * on_order_t[i]) / stock_adjust_weeks
        out[i] = q if q > 0.0 else 0.0
    return out


@_compiled
def held_in_system(products: np.ndarray, stock_t: np.ndarray, on_links_t: np.ndarray,
                   spot_in_transit_t: np.ndarray) -> np.ndarray:
    """Tonnes of each of ``products`` in firms' stocks, in transit on links (``on_links_t``, per
    product) and bought on the spot market [k]: ``stock_t[:, products].sum(axis=0) +
    on_links_t[products] + spot_in_transit_t[:, products].sum(axis=0)``, to rounding (numpy
    may add a column pairwise, this adds it in order)."""
    k = products.shape[0]
    stock = np.zeros(k)
    spot = np.zeros(k)
    for i in range(stock_t.shape[0]):
        for j in range(k):
            stock[j] += stock_t[i, products[j]]
            spot[j] += spot_in_transit_t[i, products[j]]
    out = np.empty(k)
    for j in range(k):
        out[j] = stock[j] + on_links_t[products[j]] + spot[j]
    return out


@_compiled
def price_pull(ratio_of_sell: np.ndarray, seller: np.ndarray, abroad: np.ndarray, premium: np.ndarray,
               product: np.ndarray, region: np.ndarray, minus_gamma: float) -> np.ndarray:
    """Each link's exponent in the logit split, ``max(-gamma * ratio, -700)``: its seller's ask
    over the market price, for links between producers and buyers abroad divided by the export
    premium of the link's product and region ([P, R]); ``np.exp`` of it is the link's pull."""
    out = np.empty(seller.shape[0])
    for e in range(seller.shape[0]):
        r = ratio_of_sell[seller[e]]
        if abroad[e]:
            r = r / premium[product[e], region[e]]
        z = r * minus_gamma
        out[e] = z if z > -700.0 else -700.0
    return out


@_compiled
def book_orders(order_t: np.ndarray, seller: np.ndarray, backlog_t: np.ndarray, n_sells: int) -> np.ndarray:
    """Orders join their links' backlogs (``backlog_t += order_t``, in place); returns t ordered
    per seller pair (``np.bincount(seller, order_t)``)."""
    received = np.zeros(n_sells)
    for e in range(order_t.shape[0]):
        backlog_t[e] += order_t[e]
        received[seller[e]] += order_t[e]
    return received


@_compiled
def spot_buy(unfilled_t: np.ndarray, spot_wanted_t: np.ndarray, buy_market: np.ndarray, buy_share: np.ndarray,
             buy_key: np.ndarray, spot_in_transit_t: np.ndarray):
    """Buyers on the spot markets, per buy pair: what each wants there (its unfilled
    contract orders plus its spot order), what it gets (``wanted * buy_share[market]``, its
    market being its spot market and product; added to ``spot_in_transit_t``, flat, in place)
    and the share of its unfilled contract orders that this covers beyond its spot order
    (``max(bought - spot_wanted, 0) / unfilled``, 0 where nothing is unfilled). Returns
    (bought, covered)."""
    n = unfilled_t.shape[0]
    bought, covered = np.empty(n), np.zeros(n)
    for b in range(n):
        got = (unfilled_t[b] + spot_wanted_t[b]) * buy_share[buy_market[b]]
        bought[b] = got
        spot_in_transit_t[buy_key[b]] += got
        beyond = got - spot_wanted_t[b]
        beyond = beyond if beyond > 0.0 else 0.0
        if unfilled_t[b] > 1e-12:
            covered[b] = beyond / unfilled_t[b]
    return bought, covered


@_compiled
def spot_sell(offered_t: np.ndarray, sell_market: np.ndarray, sell_share: np.ndarray, sell_key: np.ndarray,
              stock_t: np.ndarray, orders_expected_t_per_wk: np.ndarray, orders_received_t: np.ndarray,
              ask_yuan_per_t: np.ndarray, smoothing_weeks: float, n_markets: int):
    """Sellers on the spot markets, per sell pair: what each sells (``offered *
    sell_share[market]``, its market being its spot market and product), taken from its stock
    (never below 0); its smoothed orders take in the week's contract orders and spot sales
    (exponential smoothing over ``smoothing_weeks``). Stocks, orders and asks are flat
    [firm * product]; stocks and orders change in place. Returns (sold, value of the spot sales
    at the sellers' asks per market)."""
    n = offered_t.shape[0]
    sold, value = np.empty(n), np.zeros(n_markets)
    weeks = smoothing_weeks if smoothing_weeks > 1.0 else 1.0
    for s in range(n):
        k = sell_key[s]
        out = offered_t[s] * sell_share[sell_market[s]]
        sold[s] = out
        left = stock_t[k] - out
        stock_t[k] = left if left > 0.0 else 0.0
        before = orders_expected_t_per_wk[k]
        orders_expected_t_per_wk[k] = before + ((orders_received_t[s] + out) - before) / weeks
        value[sell_market[s]] += out * ask_yuan_per_t[k]
    return sold, value
