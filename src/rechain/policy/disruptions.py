"""Supply disruptions: a share of a stage's capacity offline over a period."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..calendar import Calendar
from ..scenario import Scenario

__all__ = ["disruption_table"]


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
