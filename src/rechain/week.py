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

from .accounting import Ledger
from .book import Book
from .conditions import Mode, PolicyTimeline
from .kinds import Kind
from .policy.exports import apply_export_quotas
from .randomness import Streams
from .recorder import Recorder
from .rules.market import fill_pro_rata, logit_shares, price_index, update_ask
from .rules.ordering import order_quantity, smooth, target_cover
from .rules.sentiment import expected_change, neighbour_mean, news_weights, update_trend, update_uncertainty
from .state import FirmState, LinkState, MarketState
from .traits import Traits, per_kind
from .world import World

__all__ = ["WEEK", "run_week", "Chain", "phase_names"]


class Chain(Protocol):
    """What the phases act on (the model provides it)."""

    world: World
    traits: Traits
    streams: Streams
    timeline: PolicyTimeline
    kinds: tuple[Kind, ...]
    firms: FirmState
    links: LinkState
    market: MarketState
    ledger: Ledger
    recorder: Recorder
    book: Book
    watched_product: np.ndarray
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
    """Goods in transit that are due arrive in the buyers' stock."""
    w, f, lk = chain.world, chain.firms, chain.links
    N, P = w.n_firms, w.n_products
    slot = chain.tick % w.link.n_slots
    arrived = lk.pipeline_t[slot]
    f.stock_t += np.bincount(w.link.buyer_key, weights=arrived, minlength=N * P).reshape(N, P)
    dst = w.links.dst
    ore_in = np.bincount(dst, weights=arrived * w.link.to_separation, minlength=N)
    imported = np.bincount(dst, weights=arrived * w.link.is_import, minlength=N)
    share_now = np.divide(imported, ore_in, out=f.import_share.copy(), where=ore_in > 1e-9)
    f.import_share = smooth(f.import_share, share_now, 8.0)
    lk.in_transit_t -= arrived
    lk.pipeline_t[slot] = 0.0


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
        np.add.at(chain.firms.orders_expected_t_per_wk, (L.src[e[ok]], L.prod[e[ok]]),
                  q[ok] / w.scenario.behaviour.order_smoothing_weeks)
        for kind in chain.kinds:
            kind.learn_from_licences(book, L.dst[e], q, ok)
    if chain.recorder.enabled:
        chain.recorder.licences(granted=float(q[ok].sum()) if e.size else 0.0,
                                refused=float(q[~ok].sum()) if e.size else 0.0,
                                pending_n=lk.licences.n_pending, pending_t=lk.licences.t_pending)


def collect_end_of_life(chain: Chain) -> None:
    """Collected end-of-life magnets reach the recyclers as scrap."""
    tonnes = chain.book.cond.eol_collected_t
    if tonnes <= 0:
        return
    for kind in chain.kinds:
        if kind.present and hasattr(kind, "collect_end_of_life"):
            kind.collect_end_of_life(chain.book, tonnes)
            if chain.recorder.enabled:
                chain.recorder.note_end_of_life(tonnes)


def produce(chain: Chain) -> None:
    """Sellers tally what they owe; then every kind produces, upstream first."""
    w, f = chain.world, chain.firms
    f.owed_t = np.bincount(w.link.seller_key, weights=chain.links.backlog_t,
                           minlength=w.n_firms * w.n_products).reshape(w.n_firms, w.n_products)
    for kind in chain.kinds:
        if kind.present:
            kind.produce(chain.book)


def use(chain: Chain) -> None:
    """End users build magnets into their products."""
    for kind in chain.kinds:
        if kind.present:
            kind.use(chain.book)


def form_expectations(chain: Chain) -> None:
    """Every firm updates its expected change of the price it watches (trend, anchor, news,
    neighbours, noise) and its uncertainty (volatility, news, overdue quota batches)."""
    w, f, m, tr = chain.world, chain.firms, chain.market, chain.traits
    b, cond = w.scenario.behaviour, chain.book.cond
    watch = chain.watched_product
    r = np.log(m.index_yuan_per_t / m.previous_index_yuan_per_t)[watch]
    f.price_trend_per_wk = update_trend(f.price_trend_per_wk, r, tr.trend_weight)
    news = chain.timeline.news
    nw = news_weights(cond.week, news.week, news.signed_strength, news.half_life_weeks)
    heard = news.hear @ nw if (nw.size and cond.news_on) else np.zeros(w.n_firms)
    social = neighbour_mean(f.expected_change, w.links.src, w.links.dst, w.degree)
    noise = b.noise * per_kind(w, chain.streams, "expectations", lambda g, n: g.standard_normal(n), (w.n_firms,))
    m.anchor_yuan_per_t = smooth(m.anchor_yuan_per_t, m.index_yuan_per_t, b.anchor_weeks)
    m.supply_push = np.clip((m.index_yuan_per_t / m.anchor_yuan_per_t) ** b.supply_price_response, 0.5, 2.0)
    gap = np.log(m.anchor_yuan_per_t / m.index_yuan_per_t)[watch]
    f.expected_change = expected_change(f.price_trend_per_wk, heard, social, noise, b.horizon_weeks, b.w_trend,
                                        b.w_news, b.w_social, b.x_max, gap, b.w_anchor)
    shock = b.volatility_weight * np.abs(r)
    if news.any and cond.news_on:
        shock = shock + news.hear @ (news.uncertainty * (news.week == cond.week))
    qt = chain.timeline.quota_type_of_firm
    shock = shock + np.where(qt >= 0, cond.quota_overdue[qt] * b.quota_late_uncertainty, 0.0)
    f.uncertainty = update_uncertainty(f.uncertainty, b.uncertainty_decay, shock)


def place_orders(chain: Chain) -> None:
    """Buyers order (anchoring and adjustment toward an expectation-driven target cover),
    split orders over their suppliers by price and reliability; controlled exports wait for a
    licence."""
    w, f, lk, m, tr, book = chain.world, chain.firms, chain.links, chain.market, chain.traits, chain.book
    b, cond = w.scenario.behaviour, book.cond
    L, buys = w.links, w.buys
    usage = f.use_expected_t_per_wk.ravel()[buys.key]
    cover = target_cover(tr.normal_cover_wk_of_buy, f.expected_change[buys.firm], f.uncertainty[buys.firm],
                         tr.restock_strength_of_buy, tr.wait_strength_of_buy, b.uncertainty_strength,
                         b.cover_bounds[0], b.cover_bounds[1])
    q = order_quantity(usage, f.stock_t.ravel()[buys.key], supply_line(chain), cover, b.supply_line_weight,
                       b.stock_adjust_weeks)
    for kind in chain.kinds:
        if kind.buys is not None:
            kind.adjust_orders(book, q[kind.buys])
    price = f.ask_yuan_per_t.ravel()[w.link.seller_key]
    share = logit_shares(w.link.buyer_pair, price, m.index_yuan_per_t[L.prod], lk.reliability, b.price_choice, buys.n)
    order = q[w.link.buyer_pair] * share
    if cond.controls_on:
        regimes = chain.timeline.regimes
        x = w.link.export_links
        ctrl = np.zeros(w.n_links, bool)
        ctrl[x] = regimes.controlled[cond.week][L.prod[x], w.link.region[x]]
        e = np.flatnonzero(ctrl & (order > 1e-9))
        pe, re_ = L.prod[e], w.link.region[e]
        t = cond.week
        lk.licences.apply(e, order[e], t, regimes.days_min[t][pe, re_], regimes.days_mode[t][pe, re_],
                          regimes.days_max[t][pe, re_], chain.streams("licences"))
        if chain.recorder.enabled:
            chain.recorder.note_licences_applied(order[e].sum())
        order = np.where(ctrl, 0.0, order)
    lk.backlog_t += order
    N, P = w.n_firms, w.n_products
    received = np.bincount(w.link.seller_key, weights=order, minlength=N * P).reshape(N, P)
    f.orders_expected_t_per_wk = smooth(f.orders_expected_t_per_wk, received, b.order_smoothing_weeks)
    if chain.recorder.enabled:
        chain.recorder.add_orders(q)


def supply_line(chain: Chain) -> np.ndarray:
    """Ordered but not received, per buyer pair: backlog, licences pending, in transit."""
    w, lk = chain.world, chain.links
    per_link = lk.backlog_t + lk.in_transit_t
    if lk.licences.n_pending:
        per_link = per_link + lk.licences.pending_by_edge(w.n_links)
    return np.bincount(w.link.buyer_pair, weights=per_link, minlength=w.buys.n)


def set_asks(chain: Chain) -> None:
    """Sellers move their asks: stock cover, expectations, capacity slack, a pull toward the
    reference price of their kind, never below their cost floor."""
    w, f, m, book = chain.world, chain.firms, chain.market, chain.book
    b = w.scenario.behaviour
    sells = w.sells
    si, sk = sells.firm, sells.product
    net = np.maximum(f.stock_t[si, sk] - f.owed_t[si, sk], 0.0)
    cover = net / np.maximum(f.orders_expected_t_per_wk[si, sk], 1e-9)
    floor = np.zeros(sells.n)
    ref = m.index_yuan_per_t[sk].copy()
    for kind in chain.kinds:
        if kind.sells is not None:
            kind.price_terms(book, floor[kind.sells], ref[kind.sells])
    f.normal_utilisation = smooth(f.normal_utilisation, f.utilisation, b.normal_utilisation_weeks)
    slack = np.where(w.firms.capacity[si] > 0, f.utilisation[si] - f.normal_utilisation[si], 0.0)
    ask = update_ask(f.ask_yuan_per_t[si, sk], cover, b.finished_cover_weeks, f.expected_change[si], ref, floor,
                     b.price_cover_response, b.price_expectation_response, b.price_market_pull,
                     b.max_weekly_price_move, slack, b.price_utilisation_response)
    for kind in chain.kinds:
        if kind.sells is not None:
            kind.final_asks(book, ask[kind.sells], ref[kind.sells])
    f.ask_yuan_per_t[si, sk] = ask


def ship(chain: Chain) -> None:
    """Sellers ship what they offer to their backlogs, pro rata, on days both ends work;
    the price index is the volume-weighted mean of the week's transaction prices."""
    w, f, lk, m, book = chain.world, chain.firms, chain.links, chain.market, chain.book
    b, cond = w.scenario.behaviour, book.cond
    L, sells = w.links, w.sells
    N, P = w.n_firms, w.n_products
    offered = f.stock_t.ravel()[sells.key]
    for kind in chain.kinds:
        if kind.sells is not None:
            share = kind.offer_share(book)
            if share is not None:
                offered[kind.sells] *= share
    available = np.zeros(N * P)
    available[sells.key] = offered
    # goods move on days both ends work: a holiday at the shipper or the receiver (Chinese
    # New Year, National Day, Christmas abroad) holds deliveries back until it is over
    ws = cond.working_share
    if ws.min() >= 1.0:
        eligible = lk.backlog_t
    else:
        ws = np.minimum(ws, 1.0)
        eligible = lk.backlog_t * np.minimum(ws[L.src], ws[L.dst])
    shipped = fill_pro_rata(available, eligible, w.link.seller_key)
    if cond.export_quotas_on:
        shipped = apply_export_quotas(shipped, w, cond.date, m.export_quota_left_t)
    owed = eligible.copy()
    lk.backlog_t -= shipped
    S = f.stock_t
    S -= np.bincount(w.link.seller_key, weights=shipped, minlength=N * P).reshape(N, P)
    np.maximum(S, 0.0, out=S)  # guards -1e-17 round-off only; fill_pro_rata never overdraws
    for lead, mask in w.link.lead_groups:
        lk.pipeline_t[(chain.tick + lead) % w.link.n_slots] += shipped * mask
    lk.in_transit_t += shipped
    price = f.ask_yuan_per_t.ravel()[w.link.seller_key]
    qty = np.bincount(L.prod, weights=shipped, minlength=P)
    val = np.bincount(L.prod, weights=shipped * price, minlength=P)
    m.previous_index_yuan_per_t = m.index_yuan_per_t
    m.index_yuan_per_t = price_index(qty, val, m.index_yuan_per_t)
    owing = owed > 1e-9
    rho = b.reliability_smoothing
    lk.reliability[owing] += rho * (shipped[owing] / owed[owing] - lk.reliability[owing])
    lk.backlog_t *= 1.0 - w.scenario.market.backlog_cancel_share
    lk.shipped_total_t += shipped
    if chain.recorder.enabled:
        chain.recorder.add_shipments(shipped)


def check_balance(chain: Chain) -> None:
    """Per element: sources = stocks + in transit + sinks (raises MassBalanceError)."""
    if chain.book.cond.mode is Mode.RUN and chain.check_balance:
        chain.ledger.check(in_system(chain), chain.book.cond.week)


def record(chain: Chain) -> None:
    """Close the week's records (run weeks only) and let Mesa's DataCollector collect."""
    cond = chain.book.cond
    if cond.recording:
        chain.recorder.end_week(chain.firms, chain.market, chain.timeline.is_new_year(cond.week))
        chain.collect()


def advance_clock(chain: Chain) -> None:
    """The pipeline's clock always moves; the scenario's week only in run weeks."""
    chain.tick += 1
    if chain.book.cond.mode is Mode.RUN:
        chain.week += 1
        chain.running = chain.week < chain.timeline.n_weeks


WEEK = (set_conditions, deliver, decide_licences, collect_end_of_life, produce, use, form_expectations,
        place_orders, set_asks, ship, check_balance, record, advance_clock)


def phase_names() -> list[str]:
    return [p.__name__ for p in WEEK]


def run_week(chain: Chain, mode: Mode) -> None:
    """One week of the given mode: every phase of ``WEEK`` in order."""
    chain.mode = mode
    for phase in WEEK:
        phase(chain)


def in_system(chain: Chain) -> np.ndarray:
    """Material in stocks and in transit, t REO-eq per element."""
    w = chain.world
    transit = np.bincount(w.links.prod, weights=chain.links.pipeline_t.sum(axis=0), minlength=w.n_products)
    return (chain.firms.stock_t.sum(axis=0) + transit) @ w.materials.content
