"""Export regimes: licence requirements with approval rates and processing times, and the
queue of licence applications they create.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from ..calendar import Calendar
from ..scenario import Scenario

__all__ = ["ExportRegimes", "LicenceQueue", "apply_export_quotas"]


@dataclass
class ExportRegimes:
    """Per week, product and destination region: controlled?, approval rate, processing days.

    Arrays are [n_weeks, n_products, n_regions]. Where regimes overlap the strictest
    applies (lowest approval rate, longest processing time).
    """

    controlled: np.ndarray
    approval: np.ndarray
    days_min: np.ndarray
    days_mode: np.ndarray
    days_max: np.ndarray

    @classmethod
    def build(cls, sc: Scenario, cal: Calendar, products: tuple[str, ...], regions: list[str]) -> "ExportRegimes":
        shape = (cal.n_weeks, len(products), len(regions))
        ctrl = np.zeros(shape, bool)
        appr = np.ones(shape)
        dmin, dmode, dmax = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        for ec in sc.export_controls:
            rmask = np.array([("all" in ec.regions) or (r in ec.regions) for r in regions])
            pmask = np.array([p in ec.products for p in products])
            for w, monday in enumerate(cal.weeks):
                day = monday + dt.timedelta(days=4)  # the week's decisions fall by Friday
                if day < ec.start or (ec.end is not None and monday > ec.end):
                    continue
                rate = None
                for step in ec.approval:
                    if step.start <= day:
                        rate = step.rate
                rate = ec.approval[0].rate if rate is None else rate
                sel = np.ix_([w], pmask, rmask)
                appr[sel] = np.where(ctrl[sel], np.minimum(appr[sel], rate), rate)
                pd_ = ec.processing_working_days
                dmin[sel] = np.maximum(dmin[sel], pd_.min)
                dmode[sel] = np.maximum(dmode[sel], pd_.mode)
                dmax[sel] = np.maximum(dmax[sel], pd_.max)
                ctrl[sel] = True
        return cls(ctrl, appr, dmin, dmode, dmax)


@dataclass
class LicenceQueue:
    """Applications for controlled exports: one per order on a cross-border link.

    Each has a decision week drawn from a triangular distribution of working days (five
    a week) and is approved with the approval rate in force when it is decided; a refused
    application cancels its order.
    """

    edge: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    qty: np.ndarray = field(default_factory=lambda: np.zeros(0))
    due: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_links: int = 0                                     # > 0: keep the tonnes pending per link
    pending_t: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if self.n_links and self.pending_t.size != self.n_links:
            self.pending_t = np.zeros(self.n_links)

    def apply(self, edges: np.ndarray, qty: np.ndarray, week: int, dmin: np.ndarray,
              dmode: np.ndarray, dmax: np.ndarray, rng: np.random.Generator) -> None:
        if edges.size == 0:
            return
        lo, hi = dmin, np.maximum(dmax, dmin)
        spread = hi - lo > 1e-9
        mode = np.clip(dmode, lo, hi)
        # a degenerate distribution (min = mode = max) is that number of days, no draw needed
        days = np.where(spread, rng.triangular(lo, mode, np.where(spread, hi, lo + 1.0)), lo)
        due = week + np.maximum(1, np.ceil(days / 5.0)).astype(np.int64)
        self.edge = np.concatenate([self.edge, edges])
        self.qty = np.concatenate([self.qty, qty])
        self.due = np.concatenate([self.due, due])
        if self.n_links:
            np.add.at(self.pending_t, edges, qty)

    def decide(self, week: int, approval_of_edge, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decide the applications due; returns (edge, qty, approved mask) and drops them.

        ``approval_of_edge`` is an array over all links, or a function of the due links'
        indices returning their approval rates.
        """
        now = self.due <= week
        if not now.any():
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool)
        e, q = self.edge[now], self.qty[now]
        rate = approval_of_edge(e) if callable(approval_of_edge) else approval_of_edge[e]
        ok = rng.random(e.size) < rate
        keep = ~now
        self.edge, self.qty, self.due = self.edge[keep], self.qty[keep], self.due[keep]
        if self.n_links:
            np.subtract.at(self.pending_t, e, q)
            if not self.edge.size:
                self.pending_t[:] = 0.0          # nothing pending: clear round-off
        return e, q, ok

    def pending_by_edge(self, n_edges: int) -> np.ndarray:
        """Tonnes pending per link [n_edges]."""
        if self.n_links == n_edges:
            return np.maximum(self.pending_t, 0.0)
        return np.bincount(self.edge, weights=self.qty, minlength=n_edges)

    @property
    def n_pending(self) -> int:
        return int(self.edge.size)

    @property
    def t_pending(self) -> float:
        return float(self.qty.sum())


def apply_export_quotas(shipped: np.ndarray, world, date: dt.date, left: dict) -> np.ndarray:
    """Scale this week's exports of quota-bound products down to the quota left.

    ``left`` maps (quota item, year) to the tonnes still allowed and is updated in place.
    A week counts toward the year its Thursday falls in (most of its days, as ISO weeks)."""
    year = (date + dt.timedelta(days=3)).year
    L, mat = world.links, world.materials
    for qi, q in enumerate(world.scenario.export_quotas):
        if q.year != year:
            continue
        pm = np.isin(L.prod, [mat.p(p) for p in q.products]) & world.link.is_export
        want = shipped[pm].sum()
        room = left.setdefault((qi, year), q.total_t)
        if want > room:
            shipped = np.where(pm, shipped * (room / want), shipped)
            want = room
        left[(qi, year)] = room - want
    return shipped
