"""Mining and separation quotas: annual totals issued in batches (t REO).

Firms see only what has been issued so far; a year's first batch later than usual is
*overdue*, which firms read as a signal of caution.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from ..scenario import Scenario

__all__ = ["QUOTA_TYPES", "QuotaBook", "catch_up_pace", "quota_pace", "quota_room", "stretched_room", "beyond_quota",
           "quota_read_days", "same_time_next_year"]

QUOTA_TYPES = ("mining_rock", "mining_ionic", "separation")


def catch_up_pace(year_t_per_wk, used_t, weeks_left: float, multiple: float, weeks_per_year: float = 52.18):
    """The pace a quota holder aims at this week, t REO: what is left of its year's share
    spread over the weeks left in the year, so weeks lost to holidays, disruptions or a
    slump are made up later (and a holder ahead of schedule slows); never more than
    ``multiple`` times its even weekly share (``year_t_per_wk``), nor below zero."""
    left = np.maximum(year_t_per_wk * weeks_per_year - used_t, 0.0) / max(weeks_left, 1.0)
    return np.minimum(left, multiple * year_t_per_wk)


def quota_pace(book, year_t_per_wk, used_t):
    """A holder's quota pace this week (t REO): :func:`catch_up_pace` in the run; the even
    pace before it (spin-up weeks have no calendar year)."""
    cond = book.cond
    if cond.mode.name != "RUN":
        return year_t_per_wk
    return catch_up_pace(year_t_per_wk, used_t, cond.weeks_left_in_year, book.world.scenario.quota_policy.pace_multiple)


def beyond_quota(capacity_t, within_t, open_t):
    """Work beyond the quota this week, t REO (illegal mining or separation): what the quota's
    own work (``within_t``) leaves of the working capacity, up to ``open_t``, what enforcement,
    crackdowns, a full yard and a thin margin let through; it never counts against the quota."""
    return np.minimum(np.maximum(capacity_t - within_t, 0.0), open_t)


def stretched_room(allowance_t, used_t, overdue: bool, ration_weeks: float):
    """What a holder lets itself use this week of what is left of its allowance, t REO.

    All of it as a rule; while the year's first batch is overdue, a holder that cannot tell
    when it will come spreads what is left over ``ration_weeks`` (this week's share is
    ``left / ration_weeks``), rather than run dry and stop for weeks (0 = no rationing)."""
    left = np.maximum(allowance_t - used_t, 0.0)
    if overdue and ration_weeks > 0:
        return left / max(ration_weeks, 1.0)
    return left


def quota_room(book, rows, used_t, quota_type: str):
    """:func:`stretched_room` for the holders ``rows`` of ``quota_type`` this week."""
    cond = book.cond
    overdue = bool(cond.quota_overdue[QUOTA_TYPES.index(quota_type)])
    return stretched_room(cond.quota_allowance_t[rows], used_t, overdue,
                          book.world.scenario.quota_policy.overdue_ration_weeks)


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

    def overdue(self, qtype: str, date: dt.date) -> bool:
        """No batch issued yet this year although last year's first came earlier (plus grace)."""
        q = self.quotas.get((qtype, date.year))
        prev = self.quotas.get((qtype, date.year - 1))
        if q is None or prev is None:
            return False
        if any(b.issued <= date for b in q.batches):
            return False
        return date > same_time_next_year(prev.batches[0].issued) + self.late_after


def quota_read_days(weeks: list[dt.date], start: dt.date) -> list[dt.date]:
    """The day each week reads its quota: its Monday, but never before the run's start (a run
    that starts on 1 January, a Friday, works its first week against that year's quota, not
    the year before's, which it has no other week of)."""
    return [max(monday, start) for monday in weeks]


def same_time_next_year(date: dt.date) -> dt.date:
    """``date`` a year on (28 February for a 29 February): when last year's first batch came,
    a year later. A first batch issued the December before its year stays in December."""
    try:
        return date.replace(year=date.year + 1)
    except ValueError:  # 29 February
        return date.replace(year=date.year + 1, day=28)
