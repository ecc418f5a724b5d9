"""How a run starts: the opening state laid out near steady state, then a spin-up.

The start-of-run state of orders, backlogs and stocks is not observed, so
:func:`lay_out_opening_state` passes year-one demand up the links (with one dry-run planning
pass per stage) and puts stocks at their targets, and :func:`spin_up` then runs ordinary
weeks (``Mode.SPIN_UP``: a neutral world) so firms settle into their own routine. Prices and
expectations are reset to the scenario's start values afterwards; material stays where it is.
"""

from __future__ import annotations

import numpy as np

from .accounting import Ledger
from .conditions import Mode
from .network import ABROAD, IONIC, MAG, MOTOR, MYANMAR, OVERSEAS, OVERSEAS_MAT, REC, RESERVE, ROCK, SEP
from .traits import per_kind
from .week import Chain, abroad_cover, measure_cover, run_week

__all__ = ["lay_out_opening_state", "spin_up", "draw_ask_scatter", "start_market", "measured_normal_cover"]

# the dry-run planning passes, downstream first: each stage plans on its customers' orders
_DRY_RUN_STAGES = ((MAG,), (REC,), (SEP,), (ROCK, IONIC))


def draw_ask_scatter(chain: Chain) -> np.ndarray:
    """Each seller's own lasting scatter around the market price (2 %, lognormal), per sell pair."""
    w = chain.world
    N, P = w.n_firms, w.n_products
    scatter = per_kind(w, chain.streams, "asks", lambda g, n: g.lognormal(0.0, 0.02, (n, P)), (N, P))
    return scatter[w.sells.firm, w.sells.product]


def start_market(chain: Chain) -> None:
    """Prices, asks and expectations at the scenario's start values. The market's normal
    cover is the scenario's ``market.normal_cover_weeks`` (market data: a run that starts
    short or in glut reads it as such); a product it leaves out takes the cover the market
    holds now, after spin-up (within 0.5..26 weeks). Now is after the last spin-up week's
    shipments, while the run measures its cover before them: the oxides, shipped out every
    week, read zero and take the 0.5-week floor, as calibrated (ODD section 8)."""
    w, f, m = chain.world, chain.firms, chain.market
    start = w.start_price_yuan_per_t
    m.price_yuan_per_t = start.copy()
    m.long_run_yuan_per_t = start.copy()
    m.index_yuan_per_t = start.copy()
    m.previous_index_yuan_per_t = start.copy()
    f.ask_yuan_per_t[:] = 0.0
    f.ask_yuan_per_t.ravel()[w.sells.key] = start[w.sells.product] * chain.ask_scatter
    f.expected_change[:] = 0.0
    f.price_trend_per_wk[:] = 0.0
    f.uncertainty[:] = 0.0
    f.normal_utilisation = f.utilisation.copy()
    measure_cover(chain)
    m.normal_cover_wk = np.where(np.isnan(w.normal_cover_wk), measured_normal_cover(chain), w.normal_cover_wk)
    m.export_price_yuan_per_t[:] = start[:, None] * chain.timeline.export_parity[0]   # the index starts at start
    m.normal_abroad_cover = np.clip(abroad_cover(chain), 0.05, 20.0)


def measured_normal_cover(chain: Chain) -> np.ndarray:
    """The market's cover as last measured, within 0.5..26 weeks: the normal cover of a
    product the scenario's table leaves out, read at the start of the run (weeks, [P])."""
    return np.clip(chain.market.cover_wk, 0.5, 26.0)


def lay_out_opening_state(chain: Chain) -> None:
    """Expected use and orders from year-one demand, passed up the links with equal splits;
    stocks at their targets; the material in them counted as mined before the run."""
    w, f, tl = chain.world, chain.firms, chain.timeline
    sc, pop, L = w.scenario, w.firms, w.links
    P, N = w.n_products, w.n_firms
    mat = w.materials
    std, uh = mat.p("magnet_std"), mat.p("magnet_uh")
    for code in (MOTOR, OVERSEAS):
        i = w.rows[code]
        col = pop.group[i] + (0 if code == MOTOR else len(sc.sectors))
        d = tl.first_year_demand[col] * pop.demand_share[i]
        f.use_expected_t_per_wk[i, std] = d * (1.0 - pop.uh_share[i])
        f.use_expected_t_per_wk[i, uh] = d * pop.uh_share[i]
    i = w.rows[OVERSEAS_MAT]
    if i.size:
        region = pop.region[i]
        f.use_expected_t_per_wk[i] = tl.first_year_materials_t[region] * pop.demand_share[i, None] * pop.inputs[i]
    # the reserve releases nothing before the run: its links carry no opening orders
    ordinary = pop.kind[L.src] != RESERVE
    links_per_pair = np.bincount(w.link.buyer_pair, weights=ordinary, minlength=w.buys.n)

    def pass_up(codes: tuple[int, ...]) -> None:
        buyer_mask = np.isin(pop.kind[L.dst], codes) & ordinary
        flow = f.use_expected_t_per_wk[L.dst, L.prod] / np.maximum(links_per_pair[w.link.buyer_pair], 1.0) \
            * buyer_mask
        f.orders_expected_t_per_wk += np.bincount(w.link.seller_key, weights=flow, minlength=N * P).reshape(N, P)

    pass_up((MOTOR, OVERSEAS, OVERSEAS_MAT))
    f.owed_t[:] = 0.0
    cover = sc.behaviour.finished_cover_weeks
    by_code = {k.code: k for k in chain.kinds}
    for codes in _DRY_RUN_STAGES:
        for code in codes:
            i = w.rows[code]
            f.stock_t[i] = f.orders_expected_t_per_wk[i] * cover
        saved = f.stock_t.copy()
        _dry_run(chain, [by_code[c] for c in codes])
        f.stock_t = saved
        pass_up(codes)
    f.stock_t[:] = np.where(pop.outputs, f.orders_expected_t_per_wk * cover, 0.0)
    buys = w.buys
    f.stock_t[buys.firm, buys.product] = chain.traits.normal_cover_wk[buys.firm] \
        * f.use_expected_t_per_wk[buys.firm, buys.product]
    for code, cfg in ((MYANMAR, sc.firms.myanmar_holders), (ABROAD, sc.firms.overseas_miners)):
        i = w.rows[code]
        # weeks of the capacity at the start (capacity_by_year's figure for the start's year)
        f.stock_t[i, w.main_output[i]] = pop.capacity[i] * tl.start_capacity_share[i] * cfg.initial_stock_weeks
    for name, qty in sc.stockpile.initial_stock_t.items():
        f.stock_t[w.rows[RESERVE], mat.p(name)] = qty
    # the goods already in this stock were mined before the run: count them as sources
    chain.ledger.add_source("mined_domestic", f.stock_t.sum(axis=0) @ mat.content)


def _dry_run(chain: Chain, kinds) -> None:
    """One planning pass of ``kinds`` in a neutral week; only their planned use and
    utilisation are kept (stock is restored by the caller, quota use is reset)."""
    book = chain.book
    ledger = book.ledger
    book.ledger = Ledger(chain.world.materials.elements)
    book.cond = chain.timeline.conditions(0, Mode.DRY_RUN)
    chain.recorder.start_week(0, False)
    for kind in kinds:
        if kind.present:
            kind.produce(book)
    book.ledger = ledger
    chain.firms.quota_used_t[:] = 0.0


def spin_up(chain: Chain, weeks: int) -> None:
    """Run ``weeks`` neutral weeks, then set prices, asks and expectations to the start.

    Material that arrived during spin-up came from sources counted in a spin-up ledger; its
    net (what is now in the system beyond the opening state) joins the run's opening balance.
    """
    w, f = chain.world, chain.firms
    if weeks > 0:
        run_ledger = chain.ledger
        chain.ledger = chain.book.ledger = Ledger(w.materials.elements)
        for _ in range(weeks):
            run_week(chain, Mode.SPIN_UP)
        src, snk = chain.ledger.totals()
        run_ledger.add_source("mined_domestic", src - snk)
        chain.ledger = chain.book.ledger = run_ledger
        f.quota_used_t[:] = 0.0
    chain.book.cond = chain.timeline.conditions(0, Mode.SPIN_UP)
    start_market(chain)
