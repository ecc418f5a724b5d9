"""The book every kind of firm writes its week into.

A kind's hooks receive a :class:`Book`: the week's conditions, the state containers and the
few shared operations on them (plan output from the order book, add output, note planned
use and utilisation, book material into the ledger, record use). Kinds never reach the
model; everything they act on comes through here.
"""

from __future__ import annotations

import numpy as np

from .accounting import Ledger
from .conditions import Mode, WeekConditions
from .links import held_in_system
from .recorder import Recorder
from .rules.ordering import production_plan, smooth
from .state import FirmState, LinkState, MarketState
from .world import World

__all__ = ["Book", "mix"]


def mix(content_per_t: np.ndarray, tonnes: float, added_content: np.ndarray, added_tonnes: float) -> np.ndarray:
    """Composition after ``added_tonnes`` (carrying ``added_content``, t per element) join
    ``tonnes`` of composition ``content_per_t``: the total of each element is kept exactly."""
    return (content_per_t * tonnes + added_content) / (tonnes + added_tonnes)


class Book:
    """Shared state and operations for one run; ``cond`` is replaced every week."""

    def __init__(self, world: World, firms: FirmState, links: LinkState, market: MarketState,
                 ledger: Ledger, recorder: Recorder):
        self.world = world
        self.behaviour = world.scenario.behaviour
        self.firms = firms
        self.links = links
        self.market = market
        self.ledger = ledger
        self.recorder = recorder
        self.cond: WeekConditions | None = None
        # t in transit on links per product, from the week's deliveries until shipping (None:
        # not known, sum the links)
        self.on_links_t: np.ndarray | None = None

    @property
    def content(self) -> np.ndarray:
        """Element content of a tonne of each product now, t REO-eq/t [P, E]."""
        return self.market.content_t_per_t

    @property
    def capacity(self) -> np.ndarray:
        """Capacity of each firm now, t/wk [N]."""
        return self.firms.capacity_t_per_wk

    # --- what the week allows ------------------------------------------------------------
    def working_capacity(self, rows: np.ndarray) -> np.ndarray:
        """Capacity this week, t: capacity times worked share times share not disrupted."""
        return self.capacity[rows] * self.cond.working_share[rows] * self.cond.capacity_share[rows]

    def plan(self, rows: np.ndarray, products: np.ndarray | int) -> np.ndarray:
        """Output firms ``rows`` want of ``products`` this week (:func:`production_plan`):
        smoothed orders plus closing the gap to their normal finished cover."""
        b, f = self.behaviour, self.firms
        return production_plan(f.orders_expected_t_per_wk[rows, products], f.stock_t[rows, products],
                               f.owed_t[rows, products], b.finished_cover_weeks, b.finished_adjust_weeks)

    def price(self, products) -> np.ndarray:
        """Market price of ``products``, yuan/t."""
        return self.market.price_yuan_per_t[products]

    # --- what firms did -------------------------------------------------------------------
    def add_output(self, rows, products, tonnes: np.ndarray, record: bool = True) -> None:
        self.firms.stock_t[rows, products] += tonnes
        if record:
            self.record_output(rows, products, tonnes)

    def record_output(self, rows, products, tonnes: np.ndarray) -> None:
        if self.recorder.enabled:
            self.recorder.add_production(rows, products, tonnes)

    def add_mixed_output(self, rows: np.ndarray, product: int, tonnes: np.ndarray, content_per_t: np.ndarray,
                         record: bool = True) -> np.ndarray:
        """Add output of a product whose composition varies (magnets, scrap): every tonne of
        it in the system shares one composition, which the new tonnes (``content_per_t``
        [rows, E]) mix into. Returns the element content added, t REO-eq [E]."""
        added = tonnes @ content_per_t
        total = tonnes.sum()
        if total > 0:
            held = self.tonnes_in_system(product)
            c = self.market.content_t_per_t
            c[product] = mix(c[product], held, added, total)
        self.add_output(rows, product, tonnes, record)
        return added

    def mix_in(self, products: np.ndarray, tonnes: np.ndarray, content: np.ndarray) -> None:
        """Mix new output of several variable-composition products into their compositions at
        once: ``tonnes`` [k] with element ``content`` [k, E] join what the system holds (call
        before the tonnes are added to stocks)."""
        made = tonnes > 0
        if not made.any():
            return
        held = held_in_system(products, self.firms.stock_t, self.in_transit_by_product(),
                              self.links.spot_in_transit_t)
        c = self.market.content_t_per_t
        k = products[made]
        c[k] = (c[k] * held[made, None] + content[made]) / (held[made, None] + tonnes[made, None])

    def in_transit_by_product(self) -> np.ndarray:
        """Tonnes in transit on links per product [P]: as the week's deliveries and shipping
        summed them (nothing else moves goods in transit), else summed over the links."""
        if self.on_links_t is not None:
            return self.on_links_t
        return np.bincount(self.world.links.prod, weights=self.links.in_transit_t, minlength=self.world.n_products)

    def tonnes_in_system(self, product: int) -> float:
        """Tonnes of ``product`` in stocks, in transit on links and bought on the spot market."""
        lk = self.links
        on_links = lk.in_transit_t[self.world.link.by_product[product]].sum()
        return float(self.firms.stock_t[:, product].sum() + on_links + lk.spot_in_transit_t[:, product].sum())

    def note_utilisation(self, rows: np.ndarray, throughput: np.ndarray) -> None:
        """Capacity utilisation: throughput over the week's working capacity, smoothed. The
        capacity is the firm's size in the week's year (``capacity_by_year``), not the size it
        was drawn at: a group sized by a dated table is as busy as one sized by the same figure."""
        f = self.firms
        cap = self.capacity[rows] * self.cond.working_share[rows] * self.cond.dated_share[rows]
        now = np.divide(throughput, cap, out=f.utilisation[rows].copy(), where=cap > 1e-12)
        f.utilisation[rows] = smooth(f.utilisation[rows], np.clip(now, 0.0, 1.5), 4.0)

    def investment_price(self) -> np.ndarray:
        """The price a firm expects over the life of new capacity, per product, yuan/t: between
        today's market price and the long-run anchor (their geometric mean), so lasting
        scarcity draws investment and a lasting glut retires capacity, while a passing spike
        does little."""
        m = self.market
        return np.sqrt(np.maximum(m.price_yuan_per_t, 0.0) * np.maximum(m.long_run_yuan_per_t, 0.0))

    def use_smoothing_weeks(self) -> float:
        """Over how many weeks planned use follows use (1 in a dry run: at once)."""
        return 1.0 if self.cond.mode is Mode.DRY_RUN else float(self.behaviour.usage_smoothing_weeks)

    def plan_use(self, rows, products, tonnes: np.ndarray) -> None:
        """Update the smoothed planned use of an input, which anchors ordering."""
        weeks = self.use_smoothing_weeks()
        f = self.firms
        f.use_expected_t_per_wk[rows, products] = smooth(f.use_expected_t_per_wk[rows, products], tonnes, weeks)

    def record_use(self, rows: np.ndarray, want: np.ndarray, got: np.ndarray) -> None:
        if self.recorder.enabled:
            self.recorder.add_use(rows, want, got)
