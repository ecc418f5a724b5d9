"""Policy instruments: quotas issued in batches, export-control regimes, licence queues,
supply disruptions. The :class:`~rechain.agents.Regulator` agent carries these out week by
week; the firms see only what has been issued or decided so far.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from .calendar import Calendar
from .scenario import Scenario

__all__ = ["QuotaBook", "ExportRegimes", "LicenceQueue", "disruption_table"]

QUOTA_TYPES = ("mining_rock", "mining_ionic", "separation")


class QuotaBook:
    """Issued quota to date, per quota type and year (t REO).

    Firms may use what has been issued plus ``advance_share`` of last year's total
    (running ahead in the expectation of the next batch), and before a year's first batch at
    least ``provisional_share`` of last year's total. A first batch later than last year's
    date plus ``late_after_days`` is *overdue*, which firms read as a signal.
    """

    def __init__(self, sc: Scenario):
        self.provisional_share = sc.quota_policy.provisional_share
        self.advance_share = sc.quota_policy.advance_share
        self.late_after = dt.timedelta(days=sc.quota_policy.late_after_days)
        self.quotas = {(q.type, q.year): q for q in sc.quota_policy.quotas}

    def total(self, qtype: str, year: int) -> float | None:
        q = self.quotas.get((qtype, year))
        return None if q is None else q.total_t

    def issued(self, qtype: str, date: dt.date) -> float:
        """Allowance for the year of ``date`` as of ``date``; ``inf`` if no quota is set."""
        q = self.quotas.get((qtype, date.year))
        prev = self.quotas.get((qtype, date.year - 1))
        if q is None:
            return math.inf
        got = sum(b.share for b in q.batches if b.issued <= date) * q.total_t
        base = prev.total_t if prev is not None else q.total_t
        if got >= q.total_t - 1e-9:
            return q.total_t
        return min(max(got + self.advance_share * base, self.provisional_share * base), q.total_t
                   if got > 0 else math.inf)

    def complete(self, qtype: str, date: dt.date) -> bool:
        """The year's whole quota has been issued (or none is set)."""
        q = self.quotas.get((qtype, date.year))
        return q is None or sum(b.share for b in q.batches if b.issued <= date) >= 1.0 - 1e-9

    def overdue(self, qtype: str, date: dt.date) -> bool:
        """No batch issued yet this year although last year's first came earlier (plus grace)."""
        q = self.quotas.get((qtype, date.year))
        prev = self.quotas.get((qtype, date.year - 1))
        if q is None or prev is None:
            return False
        if any(b.issued <= date for b in q.batches):
            return False
        first = prev.batches[0].issued
        try:
            expected = first.replace(year=date.year)
        except ValueError:  # 29 Feb
            expected = first.replace(year=date.year, day=28)
        return date > expected + self.late_after


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
        return e, q, ok

    def pending_by_edge(self, n_edges: int) -> np.ndarray:
        return np.bincount(self.edge, weights=self.qty, minlength=n_edges)

    @property
    def n_pending(self) -> int:
        return int(self.edge.size)

    @property
    def t_pending(self) -> float:
        return float(self.qty.sum())


def disruption_table(sc: Scenario, cal: Calendar, stages: tuple[str, ...]) -> np.ndarray:
    """Share of each stage's capacity available per week, [n_weeks, n_stages] in 0..1.

    A week counts a disruption by the share of its seven days that fall inside it.
    """
    avail = np.ones((cal.n_weeks, len(stages)))
    for d in sc.disruptions:
        s = stages.index(d.target)
        for w, monday in enumerate(cal.weeks):
            days = sum(1 for k in range(7) if d.start <= monday + dt.timedelta(days=k) <= d.end)
            if days:
                avail[w, s] -= d.capacity_offline_share * days / 7.0
    return np.clip(avail, 0.0, 1.0)
