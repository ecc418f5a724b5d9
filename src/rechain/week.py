"""The week, as one ordered list of phases.

``WEEK`` is the whole of what happens in a step, in order. Each phase is a function of the
chain (the model's world, state, kinds and books); kinds act inside the phases through their
hooks. The week's mode (dry run, spin-up, run) is decided once, by ``set_conditions``, and
every phase reads it from ``chain.book.cond``. ``docs/ODD.md``'s process overview lists the
same phases (a test checks it).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .links import (book_orders, drop_covered, eligible_backlog, fill_pro_rata, normalise_orders,
                    ordered_not_received, orders_wanted, owed_by_seller, price_pull, receive, settle_shipments,
                    spot_buy, spot_sell, tally)
from .accounting import Ledger, check_finite
from .book import Book
from .conditions import Mode, PolicyTimeline, WeekConditions
from .kinds import Kind, Values
from .kinds.magnets import end_use_blanks
from .policy.exports import apply_export_quotas
from .randomness import Streams
from .recorder import Recorder
from .rules.market import price_index
from .rules.ordering import smooth
from .rules.pricing import (adjust_price, balance_multiple, marginal_cost_ratio, seller_asks, shortage_multiple,
                            within_separation)
from .rules.sentiment import expected_change, news_weights, update_trend, update_uncertainty
from .state import FirmState, LinkState, MarketState
from .traits import Traits
from .world import World

__all__ = ["WEEK", "run_week", "Chain", "phase_names", "in_system", "measure_cover", "abroad_cover"]


class Chain(Protocol):
    """What the phases act on (the model provides it)."""

    world: World
    traits: Traits
    streams: Streams
    timeline: PolicyTimeline
    kinds: tuple[Kind, ...]
    acting: dict[str, tuple[Kind, ...]]
    firms: FirmState
    links: LinkState
    market: MarketState
    ledger: Ledger
    recorder: Recorder
    book: Book
    watched_product: np.ndarray
    ask_scatter: np.ndarray
    entry_route: tuple | None
    spot_share_of_buy: np.ndarray
    week: int
    tick: int
    mode: Mode
    check_balance: bool
    running: bool

    def collect(self) -> None: ...


# --------------------------------------------------------------------------------------------
def set_conditions(chain: Chain) -> None:
    """The regulator's week: working days, capacity offline, demand, quota issued, licence
    regimes, news; a new year starts quota use afresh."""
    cond = chain.timeline.conditions(chain.week, chain.mode)
    chain.book.cond = cond
    chain.recorder.start_week(cond.week, cond.recording)
    if cond.mode is Mode.RUN:
        if chain.timeline.is_new_year(cond.week):
            chain.firms.quota_used_t[:] = 0.0
        chain.recorder.note_quota_issued(cond.quota_issued_t)


def deliver(chain: Chain) -> None:
    """Goods in transit that are due arrive in the buyers' stock; so do last week's spot
    purchases."""
    w, f, lk = chain.world, chain.firms, chain.links
    N, P = w.n_firms, w.n_products
    slot = chain.tick % w.link.n_slots
    to_plants = w.link.to_separation_links
    got = lk.pipeline_t[slot, to_plants]
    # empties the slot, takes it off what is in transit and clears the spot purchases
    chain.book.on_links_t = receive(lk.pipeline_t[slot], w.link.buyer_pair, lk.in_transit_t, w.buys.key,
                                    f.stock_t.ravel(), lk.spot_in_transit_t.ravel(), w.links.prod, P)
    ore_in = np.bincount(w.links.dst[to_plants], weights=got, minlength=N)
    imported = np.bincount(w.links.dst[to_plants], weights=got * w.link.is_import[to_plants], minlength=N)
    share_now = np.divide(imported, ore_in, out=f.import_share.copy(), where=ore_in > 1e-9)
    f.import_share = smooth(f.import_share, share_now, 8.0)


def decide_licences(chain: Chain) -> None:
    """Licence applications due are approved (the order joins the backlog) or refused (the
    order is cancelled); overseas buyers remember how they fared."""
    w, lk, book = chain.world, chain.links, chain.book
    week = book.cond.week
    L = w.links
    approval = chain.timeline.regimes.approval[week]
    e, q, ok = lk.licences.decide(week, lambda e: approval[L.prod[e], w.link.region[e]], chain.streams("licences"))
    if e.size:
        np.add.at(lk.backlog_t, e[ok], q[ok])
        # flat [firm * product] keys: numpy's fast path for one index array
        np.add.at(chain.firms.orders_expected_t_per_wk.ravel(), w.link.seller_key[e[ok]],
                  q[ok] / w.scenario.behaviour.order_smoothing_weeks)
        for kind in chain.acting["learn_from_licences"]:
            kind.learn_from_licences(book, L.dst[e], L.prod[e], q, ok)
    if chain.recorder.enabled:
        chain.recorder.licences(granted=float(q[ok].sum()) if e.size else 0.0,
                                refused=float(q[~ok].sum()) if e.size else 0.0,
                                pending_n=lk.licences.n_pending, pending_t=lk.licences.t_pending)


def collect_end_of_life(chain: Chain) -> None:
    """End-of-life magnets are collected and reach the recyclers as scrap: the scheduled
    rate, more when scrap is dearer than at the start and less when it is cheaper
    (``collection_price_elasticity``), up to ``max_collection_rate`` of what reaches end of life."""
    cond, w = chain.book.cond, chain.world
    tonnes = cond.eol_collected_t
    if tonnes <= 0:
        return
    rc = w.scenario.recycling
    if rc.collection_price_elasticity > 0:
        scrap = w.scraps
        ratio = chain.market.price_yuan_per_t[scrap].sum() / w.start_price_yuan_per_t[scrap].sum()
        tonnes *= ratio ** rc.collection_price_elasticity
    # the cap holds for a scheduled rate too: collection cannot reach more than it allows
    tonnes = min(tonnes, cond.eol_available_t * rc.max_collection_rate)
    for kind in chain.acting["collect_end_of_life"]:
        kind.collect_end_of_life(chain.book, tonnes)
        if chain.recorder.enabled:
            chain.recorder.note_end_of_life(tonnes)


def produce(chain: Chain) -> None:
    """Sellers tally what they owe; then every kind produces, upstream first."""
    w, f = chain.world, chain.firms
    owed_by_seller(w.link.seller_pair, chain.links.backlog_t, w.sells.key, f.owed_t.ravel())
    for kind in chain.acting["produce"]:
        kind.produce(chain.book)


def use(chain: Chain) -> None:
    """End users build magnets into their products."""
    for kind in chain.acting["use"]:
        kind.use(chain.book)


def form_expectations(chain: Chain) -> None:
    """Every firm updates its expected change of the price it watches (trend, the pull of
    the long-run price, news, neighbours, noise) and its uncertainty (volatility, news,
    overdue quota batches)."""
    w, f, m, tr = chain.world, chain.firms, chain.market, chain.traits
    b, cond = w.scenario.behaviour, chain.book.cond
    watch = chain.watched_product
    r = np.log(m.index_yuan_per_t / m.previous_index_yuan_per_t)[watch]
    f.price_trend_per_wk = update_trend(f.price_trend_per_wk, r, tr.trend_weight)
    news = chain.timeline.news
    nw = news_weights(cond.week, news.week, news.signed_strength, news.half_life_weeks)
    heard = news.heard(nw) if (nw.size and cond.news_on) else np.zeros(w.n_firms)
    social = chain.traits.neighbours @ f.expected_change
    noise = b.noise * chain.traits.expectation_noise[chain.tick]
    # a product nobody prices (scrap of magnets without rare earths) has no gap to close
    gap = np.log(np.maximum(m.long_run_yuan_per_t, 1e-9) / np.maximum(m.index_yuan_per_t, 1e-9))[watch]
    f.expected_change = expected_change(f.price_trend_per_wk, heard, social, noise, b.horizon_weeks, b.w_trend,
                                        b.w_news, b.w_social, b.x_max, gap, b.w_anchor)
    shock = b.volatility_weight * np.abs(r)
    if news.any and cond.news_on:
        shock = shock + news.heard(news.uncertainty * (news.week == cond.week))
    qt = chain.timeline.quota_type_of_firm
    shock = shock + np.where(qt >= 0, cond.quota_overdue[qt] * b.quota_late_uncertainty, 0.0)
    f.uncertainty = update_uncertainty(f.uncertainty, b.uncertainty_decay, shock)


def place_orders(chain: Chain) -> None:
    """Buyers order (anchoring and adjustment toward an expectation-driven target cover;
    traders and the reserve by their own rules), split orders over their suppliers by price
    and reliability; controlled exports wait for a licence."""
    w, f, lk, m, tr, book = chain.world, chain.firms, chain.links, chain.market, chain.traits, chain.book
    b, cond = w.scenario.behaviour, book.cond
    L, buys = w.links, w.buys
    on_order = supply_line(chain)
    # rules.ordering's target_cover and order_quantity, in one pass over the buyer pairs
    q = orders_wanted(buys.firm, f.expected_change, f.uncertainty, tr.normal_cover_wk_of_buy,
                      tr.restock_strength_of_buy, tr.wait_strength_of_buy, b.uncertainty_strength,
                      b.cover_bounds[0], b.cover_bounds[1], buys.key, f.use_expected_t_per_wk.ravel(),
                      f.stock_t.ravel(), on_order, b.supply_line_weight, b.stock_adjust_weeks)
    for kind in chain.acting["adjust_orders"]:
        kind.adjust_orders(book, q[kind.buys], on_order[kind.buys])
    # a share of each domestic order goes to the spot market, the rest to contract suppliers
    spot = q * chain.spot_share_of_buy
    book.spot_wanted_t = spot                                               # per buy pair
    # each link's price over its buyer's reference: a seller's ask over the market price; buyers
    # abroad weigh Chinese exporters at the export price (ask x export premium) against their
    # region's export price, which comes to the same ratio, and producers abroad at their ask
    sells = w.sells
    ratio = f.ask_yuan_per_t.ravel()[sells.key] / np.maximum(m.price_yuan_per_t[sells.product], 1e-9)
    premium = export_premium(m)
    # the logit split of rules.market.logit_split, times each buyer pair's contract order
    attraction = price_pull(ratio, w.link.seller_pair, w.link.abroad, premium, L.prod, w.link.region,
                            -b.price_choice)
    np.exp(attraction, out=attraction)
    # the reserve's releases are announced: nobody orders from it while it releases nothing,
    # or its links would hold orders it never ships
    released = w.link.releases
    if released.size:
        offered = np.zeros(sells.n)
        for kind in chain.acting["releases"]:
            offered[kind.sells] = kind.releases(book)
        attraction[released[offered[w.link.seller_pair[released]] <= 0.0]] = 0.0
    order = normalise_orders(w.link.buyer_pair, attraction, lk.reliability, q - spot, buys.n)
    if cond.controls_on:
        regimes = chain.timeline.regimes
        x = w.link.export_links
        held = x[regimes.controlled[cond.week][w.link.export_product, w.link.export_region]]
        e = held[order[held] > 1e-9]
        pe, re_ = L.prod[e], w.link.region[e]
        t = cond.week
        lk.licences.apply(e, order[e], t, regimes.days_min[t][pe, re_], regimes.days_mode[t][pe, re_],
                          regimes.days_max[t][pe, re_], chain.streams("licences"))
        if chain.recorder.enabled:
            chain.recorder.note_licences_applied(order[e].sum())
        order[held] = 0.0
    book.orders_received_t = book_orders(order, w.link.seller_pair, lk.backlog_t, w.sells.n)   # per sell pair
    if chain.recorder.enabled:
        chain.recorder.add_orders(q)


def supply_line(chain: Chain) -> np.ndarray:
    """Ordered but not received, per buyer pair: backlog, licences pending, in transit, and
    bought on the spot market last week."""
    w, lk = chain.world, chain.links
    pending = lk.licences.n_pending > 0
    return ordered_not_received(w.link.buyer_pair, lk.backlog_t, lk.in_transit_t,
                                lk.licences.pending_by_edge(w.n_links) if pending else lk.backlog_t,
                                pending, w.buys.key, lk.spot_in_transit_t.ravel())


def set_prices(chain: Chain) -> None:
    """The market prices each product and sellers set their asks around it.

    Holders decide what share of their stock to offer; each product's saleable cover (stock
    offered over the orders sellers face) gives the balance multiple; the long-run price
    moves toward the marginal supplier's cost (oxides), the value of the oxides in it (ore,
    scrap) or the cost of its inputs (metal, magnets); the market price closes part of its
    gap to long-run price times balance multiple; each seller's ask scatters around it by its
    own cover, expectation and spare capacity, never below its cost floor. Before the run
    (spin-up) prices stay at their start values.
    """
    w, f, m, book = chain.world, chain.firms, chain.market, chain.book
    b, cond = w.scenario.behaviour, book.cond
    sells = w.sells
    stock, owed, faced = measure_cover(chain)
    if cond.mode is Mode.RUN:
        value = long_run_prices(chain)
        m.long_run_yuan_per_t = value.long_run
        target = m.long_run_yuan_per_t * balance_multiple(m.cover_wk / m.normal_cover_wk, w.cover_elasticity,
                                                          b.price_ceiling_multiple, b.price_floor_multiple,
                                                          w.scarcity_elasticity)
        target = np.maximum(np.minimum(target, value.ceiling), value.floor)
        m.price_yuan_per_t = adjust_price(m.price_yuan_per_t, target, b.price_adjust_weeks, b.max_weekly_price_move)
        set_export_prices(chain)
    # asks around the market price
    si, sk = sells.firm, sells.product
    own_cover = np.maximum(stock - owed, 0.0) / np.maximum(faced, 1e-9)
    gap = np.clip(np.log(b.finished_cover_weeks / np.maximum(own_cover, 1e-9)), -2.0, 2.0)
    f.normal_utilisation = smooth(f.normal_utilisation, f.utilisation, b.normal_utilisation_weeks)
    slack = np.where(w.firms.capacity[si] > 0, f.utilisation[si] - f.normal_utilisation[si], 0.0)
    ask = seller_asks(m.price_yuan_per_t[sk], gap, f.expected_change[si], slack, b.price_cover_response,
                      b.price_expectation_response, b.price_utilisation_response, b.ask_spread)
    ask *= chain.ask_scatter
    floor = np.zeros(sells.n)
    for kind in chain.acting["cost_floor"]:
        kind.cost_floor(book, floor[kind.sells])
    ask = np.maximum(ask, floor)
    for kind in chain.acting["final_asks"]:
        kind.final_asks(book, ask[kind.sells])
    f.ask_yuan_per_t.ravel()[sells.key] = ask


def set_export_prices(chain: Chain) -> None:
    """Export prices per product and region: the domestic price with China's export duty
    and freight to the region, and a premium where policy holds exports back (licences, bans,
    an export quota that cut last week's exports) and buyers abroad run short, as their stock
    cover falls below its normal level (the same bounded balance multiple as the market price;
    never a discount: exporters can always sell at home). Without such a barrier the export
    price is at parity."""
    w, m, cond = chain.world, chain.market, chain.book.cond
    b = w.scenario.behaviour
    # on the price China's market trades at (last week's index: what the monthly table reports)
    base = m.index_yuan_per_t[:, None] * cond.export_parity
    if not cond.controls_on and not m.export_quota_bound.any():     # nothing held back: parity
        m.export_price_yuan_per_t = base
        return
    # a premium only once their stock falls well below normal (an ordinary dip, a holiday,
    # is bridged from stock and orders in transit)
    cover, need = abroad_cover_and_need(chain)
    ratio = cover / (m.normal_abroad_cover * b.export_premium_below_cover)
    elasticity = w.cover_elasticity[:, None]
    premium = np.maximum(balance_multiple(ratio, elasticity, b.price_ceiling_multiple, b.price_floor_multiple), 1.0)
    # held back only where buyers abroad plan to use the product now: a ban on what a region
    # does not buy (or not yet) holds nothing back and must not move its export price off parity
    held = (cond.export_barrier | m.export_quota_bound[:, None]) & (need > 1e-9)
    held_price = adjust_price(m.export_price_yuan_per_t, base * premium, b.price_adjust_weeks,
                              b.max_weekly_price_move)
    # never below parity with the domestic price: that much an exporter gets without waiting;
    # and at parity where no policy holds exports back: exporters ship to the dearer market,
    # so a shortage abroad is China's own, priced in its index
    m.export_price_yuan_per_t = np.where(held, np.maximum(held_price, base), base)


def abroad_cover_and_need(chain: Chain) -> tuple[np.ndarray, np.ndarray]:
    """Buyers abroad's stock over their planned use times their normal cover (1 where nobody
    abroad plans to use it), and that planned use times normal cover, t, per product and region
    [P, R] each."""
    w, f = chain.world, chain.firms
    P, R = w.n_products, len(w.regions)
    ab = w.abroad_buys
    key = w.buys.product[ab] * R + w.firms.region[w.buys.firm[ab]]
    stock = np.bincount(key, weights=f.stock_t.ravel()[w.buys.key[ab]], minlength=P * R)
    need = np.bincount(key, weights=f.use_expected_t_per_wk.ravel()[w.buys.key[ab]]
                       * chain.traits.normal_cover_wk_of_buy[ab], minlength=P * R)
    cover = np.divide(stock, need, out=np.ones(P * R), where=need > 1e-9)
    return cover.reshape(P, R), need.reshape(P, R)


def abroad_cover(chain: Chain) -> np.ndarray:
    """Buyers abroad's stock over their planned use times their normal cover, per product and
    region [P, R] (1 where nobody abroad plans to use it)."""
    return abroad_cover_and_need(chain)[0]


def export_premium(m: MarketState) -> np.ndarray:
    """Export price over the domestic price per product and region [P, R]."""
    return m.export_price_yuan_per_t / np.maximum(m.price_yuan_per_t, 1e-9)[:, None]


def measure_cover(chain: Chain) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Holders decide what share of their stock to offer (``firms.offer_share``); China's
    market's saleable cover per product (``market.cover_wk``) is the stock offered over the
    orders sellers face (smoothed; Sterman's inventory coverage), producers abroad left out.
    Returns per sell pair stock, owed and orders faced (t, t, t/wk)."""
    w, f, m, book = chain.world, chain.firms, chain.market, chain.book
    sells = w.sells
    P = w.n_products
    offer = np.ones(sells.n)
    for kind in chain.acting["offer_share"]:
        offer[kind.sells] = kind.offer_share(book)
    np.clip(offer, 0.0, 1.0, out=offer)       # never more than the stock held
    f.offer_share.ravel()[sells.key] = offer
    stock = f.stock_t.ravel()[sells.key]
    owed = f.owed_t.ravel()[sells.key]
    faced = f.orders_expected_t_per_wk.ravel()[sells.key]
    # China's market: what producers abroad hold and are asked for is not on offer here
    home = w.spot_sells
    saleable = np.bincount(sells.product, weights=stock * offer * home, minlength=P)
    demand = np.bincount(sells.product, weights=faced * home, minlength=P)
    m.demand_t_per_wk = smooth(m.demand_t_per_wk, demand, w.scenario.behaviour.cover_demand_weeks) \
        if book.cond.mode is Mode.RUN else demand
    m.cover_wk = np.where(m.demand_t_per_wk > 1e-9, saleable / np.maximum(m.demand_t_per_wk, 1e-9),
                          m.normal_cover_wk)
    return stock, owed, faced


def long_run_prices(chain: Chain) -> Values:
    """This week's long-run price of every product, with the lowest price each can stay at
    (the cheapest producer's cash cost where it has one) and the highest its buyers can pay.

    Oxides: Pr-Nd, Dy and Tb come out of the same ores, so costs anchor their basket, not
    each one: the long-run prices of all three move together (over ``cost_anchor_weeks``)
    until the marginal supply route — in merit order of full cost over basket value, the
    dearest still needed to meet what end users need (:func:`end_use_need`), valued at
    long-run prices — just covers its full cost, but never above what a new mine would need (the entry
    route: the overseas miners' full cost plus separation) unless the need exceeds what every
    route can supply (:func:`~rechain.rules.pricing.shortage_multiple`: a new mine takes
    years). Their relative prices are left to their own balances.
    Ore, metal, magnets and scrap: what their kinds say they are worth at market prices."""
    w, m, book = chain.world, chain.market, chain.book
    b = w.scenario.behaviour
    value = Values(long_run=m.long_run_yuan_per_t.copy(), floor=np.zeros(w.n_products),
                   ceiling=np.full(w.n_products, np.inf))
    for kind in chain.acting["long_run_value"]:
        kind.long_run_value(book, value)
    ratio = oxide_cost_ratio(chain)
    if ratio is not None:
        ox = w.oxides
        value.long_run[ox] = m.long_run_yuan_per_t[ox] * ratio ** (1.0 / b.cost_anchor_weeks)
    return value


def oxide_cost_ratio(chain: Chain) -> float | None:
    """The marginal supply route's full cost over the value of its oxides at their long-run
    prices (:func:`long_run_prices`: capped by the entry route, times the shortage multiple
    beyond every route's supply): above 1 the oxides' long run is too cheap to bring forth
    what users need, below 1 dearer than it takes. None without supply routes. Keeps the
    routes' supply over that need in ``market.oxide_route_cover`` (the recorder's
    ``route_supply_cover``)."""
    w, m, book = chain.world, chain.market, chain.book
    routes = [kind.supply_routes(book) for kind in chain.acting["supply_routes"]]
    if not routes:
        return None
    b = w.scenario.behaviour
    cost = np.concatenate([r.cost_yuan for r in routes])
    feed = limit_to_separation(chain, routes)
    yields = np.concatenate([r.oxide_yield for r in routes])
    long_run = m.long_run_yuan_per_t[w.oxides]
    # end use, not the makers' plans: those also rebuild stocks and buy Pr-Nd for blanks the
    # Dy or Tb in hand cannot make, a bullwhip the long run must not read as lasting need
    need = float(end_use_need(w, chain.firms, book.cond) @ long_run)  # yuan per week
    basket = yields @ long_run                                         # yuan per unit of feed
    ratio = marginal_cost_ratio(cost, basket, (feed * basket)[:, None], np.array([need]))[0]
    entry = chain.entry_route
    if entry is not None:    # a new mine can always be built: the long run never costs more
        ratio = min(ratio, entry[0] / max(float(entry[1] @ long_run), 1e-9))
    # ... but not within the year: beyond what the routes can supply, the price must ration
    supply = float(feed @ basket)
    m.oxide_route_cover = supply / need if need > 1e-9 else float("nan")
    return ratio * shortage_multiple(need, supply, b.shortage_price_exponent, b.price_ceiling_multiple)


def limit_to_separation(chain: Chain, routes: list) -> np.ndarray:
    """The routes' feed a week, t, within what China's plants may separate this year
    (:func:`~rechain.rules.pricing.within_separation`; as it is without plants)."""
    rooms = [kind.separation_room(chain.book) for kind in chain.acting["separation_room"]]
    feeds = [r.feed_t_per_wk for r in routes]
    if not rooms:
        return np.concatenate(feeds)
    return within_separation(feeds, [r.ore for r in routes], np.sum(rooms, axis=0))


def oxides_used(w: World, firms: FirmState, pairs: np.ndarray, served: np.ndarray) -> np.ndarray:
    """What the buy ``pairs`` plan to use a week of Pr-Nd, Dy and Tb oxide [3], t, metal
    counted as the oxide in it; each pair's times ``served`` (per buy pair)."""
    buys, mat = w.buys, w.materials
    used = firms.use_expected_t_per_wk.ravel()[buys.key[pairs]] * served[pairs]
    per_product = np.bincount(buys.product[pairs], weights=used, minlength=w.n_products)
    need = per_product[w.oxides]
    need[0] += per_product[mat.p("prnd_metal")] * mat.oxide_per_metal[mat.e("prnd")]
    return need


def end_use_need(w: World, firms: FirmState, cond: WeekConditions) -> np.ndarray:
    """What end users' plans take of the oxides a week, t of Pr-Nd, Dy and Tb oxide [3]: the
    magnets motor makers and buyers abroad plan to use, as blanks (machining scrap added
    back) at the week's recipes with the melt loss, and the oxides and metal (as its oxide)
    buyers abroad plan to use; what buyers abroad plan counted at the export licences'
    approval rate in force (``cond.served_from_china``), since what
    China may not export is no need its supply routes meet. Unlike the magnet makers' plans it
    carries no stock-building, and it goes on growing when the makers cannot plan for more
    (short of capacity or of material), so a shortage beyond every supply route shows in it."""
    mat = w.materials
    served = cond.served_from_china
    content = w.recipes.content[cond.week]                             # [grade, element] per t blank
    in_magnets = end_use_blanks(w, firms, served) @ content / (1.0 - w.scenario.firms.magnet_makers.melt_loss_share)
    return in_magnets[[mat.e("prnd"), mat.e("dy"), mat.e("tb")]] + oxides_used(w, firms, w.direct_oxide_use_buys, served)


def ship(chain: Chain) -> None:
    """Sellers ship what they offer to their contract backlogs, pro rata, on days both ends
    work; what is left on either side goes to the spot market."""
    w, f, lk, m, book = chain.world, chain.firms, chain.links, chain.market, chain.book
    b, cond = w.scenario.behaviour, book.cond
    L, sells = w.links, w.sells
    P = w.n_products
    S = f.stock_t.ravel()
    available = np.maximum(S[sells.key] * f.offer_share.ravel()[sells.key], 0.0)   # per sell pair
    # goods move on days both ends work: a holiday at the shipper or the receiver (Chinese
    # New Year, National Day, Christmas abroad) holds deliveries back until it is over
    ws = cond.working_share
    eligible = eligible_backlog(lk.backlog_t, L.src, L.dst, ws, bool(ws.min() < 1.0))
    shipped = fill_pro_rata(available, eligible, w.link.seller_pair)
    if cond.export_quotas_on:
        m.export_quota_bound[:] = False
        shipped = apply_export_quotas(shipped, w, cond.week, m.export_quota_used_t, m.export_quota_bound)
    # backlogs, transit and reliability: a link's reliability learns from weeks it owed
    # something, the share it delivered; a link nobody orders on forgets, slowly, how it fared
    # (buyers give it another try one day)
    sent, sent_abroad, left_wanted, unfilled, book.on_links_t = settle_shipments(
        shipped, eligible, w.link.seller_pair, w.link.buyer_pair, w.link.to_abroad, L.lead,
        chain.tick, lk.backlog_t, lk.in_transit_t, lk.pipeline_t, lk.shipped_total_t, lk.reliability,
        b.reliability_smoothing, b.reliability_smoothing * 0.25, sells.n, w.buys.n, L.prod, P)
    S[sells.key] = np.maximum(S[sells.key] - sent, 0.0)  # guards -1e-17 round-off; nothing is overdrawn
    ask = f.ask_yuan_per_t.ravel()[sells.key]
    sent_home = sent - sent_abroad
    book.trade = {
        # a seller asks one price of all its buyers: value its sales in China per sell pair
        "qty": np.bincount(sells.product, weights=sent_home, minlength=P),
        "value": np.bincount(sells.product, weights=sent_home * ask, minlength=P),
        "left_offered": np.maximum(available - sent, 0.0),   # per sell pair
        "left_wanted": left_wanted,   # per link
        "unfilled": unfilled,         # per buy pair
    }
    if chain.recorder.enabled:
        chain.recorder.add_shipments(shipped)


def clear_spot(chain: Chain) -> None:
    """The spot markets: stock offered but not shipped on contracts meets buyers' spot orders
    and the contract orders their suppliers could not fill, pro rata on both sides, so a
    surplus anywhere can clear. Two markets: China's (every seller but the producers abroad;
    buyers in China) and the one abroad (producers abroad; buyers abroad, whatever their
    contract suppliers, Chinese exporters among them, left unfilled). Spot purchases arrive
    next week (unfilled contract orders they replace leave the backlog); spot sales count as
    orders received. China's price index is the volume-weighted mean of the week's contract
    and spot trades in China; a week without trades in a product, its index is quoted at the
    market price (within the weekly cap on price moves)."""
    w, f, lk, m, book = chain.world, chain.firms, chain.links, chain.market, chain.book
    P, sells, buys = w.n_products, w.sells, w.buys
    trade = book.trade
    offered, wanted_link = trade["left_offered"], trade["left_wanted"]
    unfilled = trade["unfilled"]                                                        # per buy pair
    # per spot market and product: China's [0, P), abroad [P, 2P)
    supply = tally(w.spot_key_of_sell, offered, 2 * P)
    demand = tally(w.spot_key_of_buy, unfilled + book.spot_wanted_t, 2 * P)
    cleared = np.minimum(supply, demand)
    sell_share = np.divide(cleared, supply, out=np.zeros(2 * P), where=supply > 1e-9)
    buy_share = np.divide(cleared, demand, out=np.zeros(2 * P), where=demand > 1e-9)
    # what a buyer got on the spot market fills its spot order first, then its unfilled contracts
    bought, covered = spot_buy(unfilled, book.spot_wanted_t, w.spot_key_of_buy, buy_share, buys.key,
                               lk.spot_in_transit_t.ravel())
    drop_covered(lk.backlog_t, wanted_link, covered, w.link.buyer_pair, bool(covered.any()),
                 1.0 - w.scenario.market.backlog_cancel_share)
    # spot sales leave the sellers' stock and count as orders received
    sold, spot_value = spot_sell(offered, w.spot_key_of_sell, sell_share, sells.key, f.stock_t.ravel(),
                                 f.orders_expected_t_per_wk.ravel(), book.orders_received_t,
                                 f.ask_yuan_per_t.ravel(), float(w.scenario.behaviour.order_smoothing_weeks), 2 * P)
    qty = trade["qty"] + cleared[:P]
    value = trade["value"] + spot_value[:P]
    m.previous_index_yuan_per_t = m.index_yuan_per_t
    # a week nothing trades (a holiday, every seller offline) the index is quoted at the price the
    # market forms, moving no faster than prices may: frozen instead, it would leap when trade resumes
    quoted = adjust_price(m.index_yuan_per_t, m.price_yuan_per_t, 1.0, w.scenario.behaviour.max_weekly_price_move)
    m.index_yuan_per_t = price_index(qty, value, quoted)
    if chain.recorder.enabled and cleared.any():
        chain.recorder.add_spot(sold, bought, cleared)


def invest(chain: Chain) -> None:
    """Capacity under construction that is due comes on stream; every
    ``investment_review_weeks`` firms review their capacity on expected margins."""
    book, f = chain.book, chain.firms
    cond = book.cond
    if cond.mode is not Mode.RUN:
        return
    if cond.capacity_reset.size:
        # a dated capacity is the group's figure from its year: the years before's building
        # and retiring are in it already (capacity under construction still comes on top)
        f.capacity_t_per_wk[cond.capacity_reset] = chain.world.firms.capacity[cond.capacity_reset]
    done = f.capacity_on_order.arrive(cond.week, chain.world.n_firms)
    if done is not None:
        f.capacity_t_per_wk += done
    if cond.week % max(int(round(chain.world.scenario.behaviour.investment_review_weeks)), 1) == 0:
        for kind in chain.acting["invest"]:
            kind.invest(book)


def adapt(chain: Chain) -> None:
    """End users move toward the substitution, magnet makers toward the recipes, that prices
    call for (slowly: over a year or two)."""
    if chain.book.cond.mode is not Mode.RUN:
        return
    for kind in chain.acting["adapt"]:
        kind.adapt(chain.book)


def check_balance(chain: Chain) -> None:
    """Per element: sources = stocks + in transit + sinks (raises MassBalanceError); and
    every price and stock a finite number (raises NotFinite), checked whatever the mode."""
    cond = chain.book.cond
    if cond.mode is Mode.RUN and chain.check_balance:
        chain.ledger.check(in_system(chain), cond.week)
    check_finite(cond.week, cond.date, {"a market price": chain.market.price_yuan_per_t,
                                        "a long-run price": chain.market.long_run_yuan_per_t,
                                        "a firm's stock": chain.firms.stock_t})


def record(chain: Chain) -> None:
    """Close the week's records (run weeks only) and let Mesa's DataCollector collect."""
    cond = chain.book.cond
    if cond.recording:
        chain.recorder.end_week(chain.firms, chain.market, chain.timeline.is_new_year(cond.week), cond.capacity_share)
        chain.collect()


def advance_clock(chain: Chain) -> None:
    """The pipeline's clock always moves; the scenario's week only in run weeks."""
    chain.tick += 1
    if chain.book.cond.mode is Mode.RUN:
        chain.week += 1
        chain.running = chain.week < chain.timeline.n_weeks


WEEK = (set_conditions, deliver, decide_licences, collect_end_of_life, produce, use, form_expectations,
        place_orders, set_prices, ship, clear_spot, invest, adapt, check_balance, record, advance_clock)


def phase_names() -> list[str]:
    return [p.__name__ for p in WEEK]


def run_week(chain: Chain, mode: Mode) -> None:
    """One week of the given mode: every phase of ``WEEK`` in order."""
    chain.mode = mode
    for phase in WEEK:
        phase(chain)


def in_system(chain: Chain) -> np.ndarray:
    """Material in stocks and in transit (links and spot), t REO-eq per element."""
    w, lk = chain.world, chain.links
    transit = chain.book.in_transit_by_product()
    # column sums as products with a vector of ones: several times faster than sum(axis=0)
    # over a [firms, products] array, and this runs every week
    ones = np.ones(w.n_firms)
    held = ones @ chain.firms.stock_t + transit + ones @ lk.spot_in_transit_t
    return held @ chain.market.content_t_per_t
