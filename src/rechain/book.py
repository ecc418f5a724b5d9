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
from .recorder import Recorder
from .rules.ordering import production_plan, smooth
from .state import FirmState, LinkState, MarketState
from .world import World

__all__ = ["Book"]


class Book:
    """Shared state and operations for one run; ``cond`` is replaced every week."""

    def __init__(self, world: World, firms: FirmState, links: LinkState, market: MarketState,
                 ledger: Ledger, recorder: Recorder):
        self.world = world
        self.behaviour = world.scenario.behaviour
        self.content = world.materials.content
        self.capacity = world.firms.capacity
        self.firms = firms
        self.links = links
        self.market = market
        self.ledger = ledger
        self.recorder = recorder
        self.cond: WeekConditions | None = None

    # --- what the week allows ------------------------------------------------------------
    def working_capacity(self, rows: np.ndarray) -> np.ndarray:
        """Capacity this week, t: nameplate times worked share times share not disrupted."""
        return self.capacity[rows] * self.cond.working_share[rows] * self.cond.capacity_share[rows]

    def plan(self, rows: np.ndarray, products: np.ndarray | int) -> np.ndarray:
        """Output firms ``rows`` want of ``products`` this week (:func:`production_plan`).

        Dear prices draw out supply: the order-driven plan is scaled by
        ``(P / P_anchor) ** supply_price_response`` (within 0.5..2).
        """
        b, f = self.behaviour, self.firms
        return production_plan(f.orders_expected_t_per_wk[rows, products] * self.market.supply_push[products],
                               f.stock_t[rows, products], f.owed_t[rows, products],
                               b.finished_cover_weeks, b.finished_adjust_weeks)

    # --- what firms did -------------------------------------------------------------------
    def add_output(self, rows, products, tonnes: np.ndarray, record: bool = True) -> None:
        self.firms.stock_t[rows, products] += tonnes
        if record:
            self.record_output(rows, products, tonnes)

    def record_output(self, rows, products, tonnes: np.ndarray) -> None:
        if self.recorder.enabled:
            self.recorder.add_production(rows, products, tonnes)

    def note_utilisation(self, rows: np.ndarray, throughput: np.ndarray) -> None:
        """Capacity utilisation: throughput over the week's working capacity, smoothed."""
        f = self.firms
        cap = self.capacity[rows] * self.cond.working_share[rows]
        now = np.divide(throughput, cap, out=f.utilisation[rows].copy(), where=cap > 1e-12)
        f.utilisation[rows] = smooth(f.utilisation[rows], np.clip(now, 0.0, 1.5), 4.0)

    def plan_use(self, rows, products, tonnes: np.ndarray) -> None:
        """Update the smoothed planned use of an input, which anchors ordering."""
        weeks = 1.0 if self.cond.mode is Mode.DRY_RUN else self.behaviour.usage_smoothing_weeks
        f = self.firms
        f.use_expected_t_per_wk[rows, products] = smooth(f.use_expected_t_per_wk[rows, products], tonnes, weeks)

    def record_use(self, rows: np.ndarray, want: np.ndarray, got: np.ndarray) -> None:
        if self.recorder.enabled:
            self.recorder.add_use(rows, want, got)
