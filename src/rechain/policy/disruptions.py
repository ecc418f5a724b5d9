"""Supply disruptions: a share of a stage's capacity offline over a period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ..calendar import Calendar
from ..scenario import Scenario

__all__ = ["FirmWeekTable", "disruption_table", "dated_capacity", "capacity_resets", "dated_capacity_t_per_yr", "dated_multiple"]


@dataclass(frozen=True)
class FirmWeekTable:
    """A value per week and firm, [n_weeks, n_firms], kept only for the firms where it ever
    differs from ``default``: building the whole table would cost more than a run spends
    reading it, since most firms never see a disruption, a dated capacity or a quota."""

    firms: np.ndarray     # the firms it is kept for, [k]
    values: np.ndarray    # their value per week, [n_weeks, k]
    default: float        # every other firm's value in every week
    n_firms: int

    def week(self, w: int) -> np.ndarray:
        """Every firm's value in week ``w``, [n_firms]."""
        out = np.full(self.n_firms, self.default)
        out[self.firms] = self.values[w]
        return out

    def dense(self) -> np.ndarray:
        """The whole table, [n_weeks, n_firms] (for inspection and tests)."""
        out = np.full((self.values.shape[0], self.n_firms), self.default)
        out[:, self.firms] = self.values
        return out

    def times(self, other: "FirmWeekTable") -> "FirmWeekTable":
        """The product of two tables of the same shape (defaults multiply too)."""
        firms = np.union1d(self.firms, other.firms)
        return FirmWeekTable(firms, self._at(firms) * other._at(firms), self.default * other.default, self.n_firms)

    def _at(self, firms: np.ndarray) -> np.ndarray:
        out = np.full((self.values.shape[0], firms.size), self.default)
        inside = np.isin(firms, self.firms)
        out[:, inside] = self.values[:, np.searchsorted(self.firms, firms[inside])]
        return out


def disruption_table(sc: Scenario, cal: Calendar, pop, stages: tuple[str, ...],
                     outside_quota: np.ndarray | None = None) -> FirmWeekTable:
    """Share of each firm's capacity available per week, [n_weeks, n_firms] in 0..1.

    A disruption hits the firms of its ``target`` stage that match its ``ore_type`` and
    ``regions``, and of those the first ``share_of_firms`` (a group of firms); a week counts it
    by the share of its seven days that fall inside it. Given ``outside_quota`` (the firms that
    mine outside the quota, [n_firms] bool) the table is of the crackdowns instead
    (``outside_quota_only``): the share of that mining each lets through, ``share_of_firms``
    counted among those firms.
    """
    region_name = np.array(pop.region_names)[pop.region]
    hits = []
    crackdowns = outside_quota is not None
    chosen = [d for d in sc.disruptions if d.outside_quota_only == crackdowns]
    for d in chosen:
        hit = pop.stage == stages.index(d.target)
        if d.ore_type != "all":
            hit &= pop.light == (d.ore_type == "rock")
        if "all" not in d.regions:
            hit &= np.isin(region_name, d.regions)
        if crackdowns:
            hit &= outside_quota
        firms = np.flatnonzero(hit)
        hits.append(firms[: int(np.ceil(d.share_of_firms * firms.size - 1e-9))])
    touched = np.unique(np.concatenate(hits)) if hits else np.zeros(0, np.int64)
    avail = np.ones((cal.n_weeks, touched.size))
    for d, firms in zip(chosen, hits):
        if firms.size == 0:
            continue
        cols = np.searchsorted(touched, firms)
        for w, monday in enumerate(cal.weeks):
            days = sum(1 for k in range(7) if d.start <= monday + dt.timedelta(days=k) <= d.end)
            if days:
                avail[w, cols] -= d.capacity_offline_share * days / 7.0
    return FirmWeekTable(touched, np.clip(avail, 0.0, 1.0), 1.0, pop.n)


def dated_capacity_t_per_yr(group, year: int) -> float:
    """A firm group's capacity in ``year``, t REO a year: the figure of the latest year its
    ``capacity_by_year`` gives up to ``year``, ``capacity_t_per_yr`` before the first."""
    table = getattr(group, "capacity_by_year", None) or {}
    given = [y for y in sorted(int(y) for y in table) if y <= year]
    return float(table[str(given[-1])]) if given else float(group.capacity_t_per_yr)


def dated_multiple(group, year: int) -> float:
    """A firm group's capacity in ``year`` over the size its firms were drawn at
    (``capacity_t_per_yr``, or the largest figure of ``capacity_by_year`` where that is 0);
    1 without ``capacity_by_year``."""
    table = getattr(group, "capacity_by_year", None)
    if not table:
        return 1.0
    base = group.capacity_t_per_yr if group.capacity_t_per_yr > 0 else max(table.values())
    return dated_capacity_t_per_yr(group, year) / base if base > 0 else 1.0


def capacity_resets(sc: Scenario, cal: Calendar, pop, kinds: dict[str, int]) -> dict[int, np.ndarray]:
    """The weeks (after the first) in which a year given in a group's ``capacity_by_year``
    begins, and the group's firms: from each year given the figure is the group's capacity,
    so there its firms are set back to their start size (the dated multiple is of it) and
    invest and retire from that figure again, whether or not it differs from the year before's."""
    out: dict[int, list] = {}
    for group, code in kinds.items():
        table = getattr(getattr(sc.firms, group), "capacity_by_year", None) or {}
        firms = np.flatnonzero(pop.kind == code)
        for year in sorted(int(y) for y in table):
            week = next((w for w, monday in enumerate(cal.weeks) if max(monday, sc.start).year >= year), None)
            if week and firms.size:            # a year of the first week is the start's own size
                out.setdefault(week, []).append(firms)
    return {w: np.unique(np.concatenate(f)) for w, f in sorted(out.items())}


def dated_capacity(sc: Scenario, cal: Calendar, pop, kinds: dict[str, int]) -> FirmWeekTable:
    """Capacity of each firm per week as a multiple of its capacity at the start, [n_weeks, n_firms]:
    1 but for firm groups with ``capacity_by_year`` (from each year given, the group's capacity
    over its capacity at the start)."""
    columns = []
    for group, code in kinds.items():
        cfg = getattr(sc.firms, group)
        table = getattr(cfg, "capacity_by_year", None)
        if not table or (cfg.capacity_t_per_yr <= 0 and max(table.values()) <= 0):
            continue
        # the first week's Monday may fall in the year before the start: it runs the start's year
        level = np.array([dated_multiple(cfg, max(monday, sc.start).year) for monday in cal.weeks])
        firms = np.flatnonzero(pop.kind == code)
        columns.append((firms, np.repeat(level[:, None], firms.size, axis=1)))
    if not columns:
        return FirmWeekTable(np.zeros(0, np.int64), np.ones((cal.n_weeks, 0)), 1.0, pop.n)
    firms = np.concatenate([f for f, _ in columns])
    values = np.concatenate([v for _, v in columns], axis=1)
    order = np.argsort(firms, kind="stable")
    return FirmWeekTable(firms[order], values[:, order], 1.0, pop.n)
