"""Supply disruptions: a share of a stage's capacity offline over a period."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..calendar import Calendar
from ..scenario import Scenario

__all__ = ["disruption_table", "dated_capacity"]


def disruption_table(sc: Scenario, cal: Calendar, pop, stages: tuple[str, ...]) -> np.ndarray:
    """Share of each firm's capacity available per week, [n_weeks, n_firms] in 0..1.

    A disruption hits the firms of its ``target`` stage that match its ``ore_type`` and
    ``regions``, and of those the first ``share_of_firms`` (a group of firms); a week counts it
    by the share of its seven days that fall inside it.
    """
    avail = np.ones((cal.n_weeks, pop.n))
    region_name = np.array(pop.region_names)[pop.region]
    for d in sc.disruptions:
        hit = pop.stage == stages.index(d.target)
        if d.ore_type != "all":
            hit &= pop.light == (d.ore_type == "rock")
        if "all" not in d.regions:
            hit &= np.isin(region_name, d.regions)
        firms = np.flatnonzero(hit)
        firms = firms[: int(np.ceil(d.share_of_firms * firms.size - 1e-9))]
        if firms.size == 0:
            continue
        for w, monday in enumerate(cal.weeks):
            days = sum(1 for k in range(7) if d.start <= monday + dt.timedelta(days=k) <= d.end)
            if days:
                avail[w, firms] -= d.capacity_offline_share * days / 7.0
    return np.clip(avail, 0.0, 1.0)


def dated_capacity(sc: Scenario, cal: Calendar, pop, kinds: dict[str, int]) -> np.ndarray:
    """Capacity of each firm per week as a multiple of its capacity at the start, [n_weeks, n_firms]:
    1 but for firm groups with ``capacity_by_year`` (from each year given, the group's capacity
    over its capacity at the start)."""
    out = np.ones((cal.n_weeks, pop.n))
    for group, code in kinds.items():
        cfg = getattr(sc.firms, group)
        table = getattr(cfg, "capacity_by_year", None)
        if not table:
            continue
        base = cfg.capacity_t_per_yr if cfg.capacity_t_per_yr > 0 else max(table.values())
        if base <= 0:
            continue
        years = sorted(int(y) for y in table)
        firms = np.flatnonzero(pop.kind == code)
        for w, monday in enumerate(cal.weeks):
            given = [y for y in years if y <= monday.year]
            level = table[str(given[-1])] if given else cfg.capacity_t_per_yr
            out[w, firms] = level / base
    return out
