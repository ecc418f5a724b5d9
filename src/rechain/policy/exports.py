"""Export regimes: licence requirements with approval rates and processing times, and the
queue of licence applications they create.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from ..calendar import Calendar
from ..scenario import Scenario

__all__ = ["ExportRegimes", "LicenceQueue", "apply_export_quotas", "export_quota_allowance_t", "export_quota_used_before_t"]


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
                # licences are required from the control's start; before its first approval
                # step none is approved yet (as in April 2025, when approvals took weeks to begin)
                rate = 0.0 if rate is None else rate
                sel = np.ix_([w], pmask, rmask)
                appr[sel] = np.where(ctrl[sel], np.minimum(appr[sel], rate), rate)
                pd_ = ec.processing_working_days
                # an application made before approvals begin waits for them: its processing
                # starts with the first approval step (working days, five in seven)
                wait = max((ec.approval[0].start - day).days, 0) * 5.0 / 7.0
                dmin[sel] = np.maximum(dmin[sel], pd_.min + wait)
                dmode[sel] = np.maximum(dmode[sel], pd_.mode + wait)
                dmax[sel] = np.maximum(dmax[sel], pd_.max + wait)
                ctrl[sel] = True
        return cls(ctrl, appr, dmin, dmode, dmax)


@dataclass
class LicenceQueue:
    """Applications for controlled exports: one per order on a cross-border link.

    Each has a decision week drawn from a triangular distribution of working days (five
    a week) and is approved with the approval rate in force when it is decided; a refused
    application cancels its order. Applications wait in one batch per due week, so a week's
    decisions touch only the applications due, however many are pending.
    """

    n_links: int = 0                                     # > 0: keep the tonnes pending per link
    pending_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # due week -> [(application number, link, tonnes), ...] in the order applied
    by_due_week: dict = field(default_factory=dict)
    n_applied: int = 0

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
        number = self.n_applied + np.arange(edges.size)
        self.n_applied += edges.size
        # one batch per due week, each in the order applied (a stable sort by due week; on
        # the weeks ahead as 16-bit integers numpy sorts by radix, in one pass)
        ahead = due - week
        order = np.argsort(ahead.astype(np.int16) if ahead.max() < 2**15 else ahead, kind="stable")
        due, number, edges_by_due, qty_by_due = due[order], number[order], edges[order], qty[order]
        cuts = [0, *(np.flatnonzero(np.diff(due)) + 1), due.size]
        for a, b in zip(cuts[:-1], cuts[1:]):
            self.by_due_week.setdefault(int(due[a]), []).append((number[a:b], edges_by_due[a:b], qty_by_due[a:b]))
        if self.n_links:
            if edges.size < 2 or (np.diff(edges) > 0).all():    # distinct links (one per link and week)
                self.pending_t[edges] += qty
            else:
                np.add.at(self.pending_t, edges, qty)

    def decide(self, week: int, approval_of_edge, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decide the applications due; returns (edge, qty, approved mask) and drops them.

        ``approval_of_edge`` is an array over all links, or a function of the due links'
        indices returning their approval rates. Applications come back in the order they
        were made.
        """
        weeks = [d for d in self.by_due_week if d <= week]
        if not weeks:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool)
        batches = [b for d in weeks for b in self.by_due_week.pop(d)]
        e = np.concatenate([b[1] for b in batches])
        q = np.concatenate([b[2] for b in batches])
        if len(weeks) > 1:                     # batches of several due weeks: back to the order applied
            order = np.argsort(np.concatenate([b[0] for b in batches]), kind="stable")
            e, q = e[order], q[order]
        rate = approval_of_edge(e) if callable(approval_of_edge) else approval_of_edge[e]
        ok = rng.random(e.size) < rate
        if self.n_links:
            np.subtract.at(self.pending_t, e, q)
            if not self.by_due_week:
                self.pending_t[:] = 0.0          # nothing pending: clear round-off
        return e, q, ok

    def _in_order(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Link, tonnes and due week of every pending application, in the order applied."""
        batches = [(d, b) for d, bs in self.by_due_week.items() for b in bs]
        if not batches:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
        order = np.argsort(np.concatenate([b[0] for _, b in batches]), kind="stable")
        edge = np.concatenate([b[1] for _, b in batches])[order]
        qty = np.concatenate([b[2] for _, b in batches])[order]
        due = np.concatenate([np.full(b[0].size, d, np.int64) for d, b in batches])[order]
        return edge, qty, due

    @property
    def edge(self) -> np.ndarray:
        """Link of each pending application, in the order applied."""
        return self._in_order()[0]

    @property
    def qty(self) -> np.ndarray:
        """Tonnes of each pending application, in the order applied."""
        return self._in_order()[1]

    @property
    def due(self) -> np.ndarray:
        """Due week of each pending application, in the order applied."""
        return self._in_order()[2]

    def pending_by_edge(self, n_edges: int) -> np.ndarray:
        """Tonnes pending per link [n_edges]."""
        if self.n_links == n_edges:
            return np.maximum(self.pending_t, 0.0)
        return np.bincount(self.edge, weights=self.qty, minlength=n_edges)

    @property
    def n_pending(self) -> int:
        return sum(b[0].size for d in self.by_due_week.values() for b in d)

    @property
    def t_pending(self) -> float:
        return float(sum(b[2].sum() for d in self.by_due_week.values() for b in d))


def export_quota_allowance_t(quota, day: dt.date) -> float:
    """Tonnes of an export quota's year cap issued by ``day``: the cap in force then (the
    latest revision on or before it, else ``total_t``) times the share of its batches issued
    by then (all of it on 1 January when the quota has no batches)."""
    total = quota.total_t
    for revision in quota.revisions:
        if revision.date <= day:
            total = revision.total_t
    if not quota.batches:
        return total
    return total * sum(b.share for b in quota.batches if b.issued <= day)


def export_quota_used_before_t(quota, start: dt.date) -> float:
    """Tonnes of an export quota's year taken to be spent before a run that starts within that
    year: exports went on at an even pace from 1 January, within what was issued by the start
    (a run from July finds the first half-year's batch spent, not waiting for it)."""
    first = dt.date(quota.year, 1, 1)
    if not first < start <= dt.date(quota.year, 12, 31):
        return 0.0
    elapsed = (start - first).days / ((dt.date(quota.year + 1, 1, 1) - first).days)
    issued = export_quota_allowance_t(quota, start - dt.timedelta(days=1))
    return min(issued, export_quota_allowance_t(quota, dt.date(quota.year, 12, 31)) * elapsed)


def apply_export_quotas(shipped: np.ndarray, world, week: int, used: dict,
                        bound: np.ndarray | None = None) -> np.ndarray:
    """Scale this week's exports of quota-bound products down to the quota room left
    (``bound`` [P], when given, marks the products whose exports a quota cut).

    ``used`` maps (quota item, year) to the tonnes exported against it so far and is updated
    in place. Exports count toward calendar years as the monthly table counts them: a week
    that straddles New Year splits its flows over the two years by worked days
    (``Calendar.month_weights``), and each year's part must fit that year's room. What is
    issued by the week's first day within the year may be shipped that week. A cut below what was
    already shipped stops the year's exports; it does not undo them."""
    cal = world.calendar
    share_of_year: dict[int, float] = {}
    for m, weight in zip(cal.months, cal.month_weights[week]):
        if weight > 0:
            share_of_year[int(m[:4])] = share_of_year.get(int(m[:4]), 0.0) + float(weight)
    monday = cal.weeks[week]
    L, mat, x = world.links, world.materials, world.link.export_links
    parts = []
    for qi, q in enumerate(world.scenario.export_quotas):
        share = share_of_year.get(q.year, 0.0)
        if share <= 0:
            continue
        first_day = max(monday, dt.date(q.year, 1, 1))     # a batch issued mid-week ships from next week
        on = x[np.isin(L.prod[x], [mat.p(p) for p in q.products])]
        if (qi, q.year) not in used:
            used[(qi, q.year)] = export_quota_used_before_t(q, world.scenario.start)
        room = max(export_quota_allowance_t(q, first_day) - used[(qi, q.year)], 0.0)
        want = float(shipped[on].sum()) * share
        if want > room:
            shipped = shipped.copy()
            shipped[on] *= room / want
            if bound is not None:
                bound[[mat.p(p) for p in q.products]] = True
        parts.append((qi, q, on, share))
    for qi, q, on, share in parts:       # count what finally ships (a later item may cut more)
        used[(qi, q.year)] += float(shipped[on].sum()) * share
    return shipped
