"""The simulation clock: weekly steps on a real calendar with working days.

A step is one week starting on a Monday. Each calendar (``china``, ``west``,
``east_asia``, ``other``) gives, per week, the share of its five weekdays that are
worked. Weekly flows are reported by month, split over the months a week touches in
proportion to China's working days (calendar days when the week has none), so a
holiday moves volume between months the way it does in the statistics.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

__all__ = ["Calendar", "load_holidays", "day_shares", "CALENDARS"]

CALENDARS = ("china", "west", "east_asia", "other")


@lru_cache(maxsize=1)
def load_holidays() -> dict[str, list[dict]]:
    """Holiday ranges per calendar from ``data/calendar.toml`` (parsed once; read-only)."""
    text = resources.files("rechain").joinpath("data/calendar.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {name: list(data.get(name, [])) for name in CALENDARS}


def day_shares(days: list[dt.date], holidays: list[dict]) -> np.ndarray:
    """Worked share (0..1) of each day: weekends 0 unless a make-up day, holidays their
    working_share."""
    share = np.array([1.0 if d.weekday() < 5 else 0.0 for d in days])
    index = {d: i for i, d in enumerate(days)}
    for h in holidays:
        makeup = bool(h.get("makeup", False))
        d, end = h["start"], h["end"]
        ws = float(h.get("working_share", 1.0 if makeup else 0.0))
        while d <= end:
            i = index.get(d)
            if i is not None:
                if makeup and days[i].weekday() >= 5:
                    share[i] = max(share[i], ws)
                elif not makeup and days[i].weekday() < 5:
                    share[i] = min(share[i], ws)
            d += dt.timedelta(days=1)
    return share


@dataclass
class Calendar:
    """Weeks, working shares and the week-to-month split of one simulated period.

    Attributes
    ----------
    weeks : list of Monday dates, one per step
    months : list of ``YYYY-MM`` strings covering the period
    working_share : dict calendar -> array [n_weeks] of worked weekday share (0..1)
    month_weights : array [n_weeks, n_months], how each week's flows split over months
    """

    weeks: list[dt.date]
    months: list[str]
    working_share: dict[str, np.ndarray]
    month_weights: np.ndarray

    @classmethod
    def build(cls, start: dt.date, end: dt.date, holidays: dict[str, list[dict]] | None = None,
              extra_china: list[dict] | None = None) -> "Calendar":
        holidays = load_holidays() if holidays is None else holidays
        first = start - dt.timedelta(days=start.weekday())
        n_weeks = ((end - first).days // 7) + 1
        days = [first + dt.timedelta(days=i) for i in range(7 * n_weeks)]
        weeks = days[::7]
        shares = {}
        for name in CALENDARS:
            hol = list(holidays.get(name, []))
            if name == "china" and extra_china:
                hol += extra_china
            d = day_shares(days, hol).reshape(n_weeks, 7)
            shares[name] = np.minimum(d.sum(axis=1) / 5.0, 1.2)  # a make-up Saturday adds a day
        months = []
        m = dt.date(start.year, start.month, 1)
        while m <= end:
            months.append(f"{m.year:04d}-{m.month:02d}")
            m = dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)
        mindex = {k: i for i, k in enumerate(months)}
        china_days = day_shares(days, holidays.get("china", []) + (extra_china or []))
        weights = np.zeros((n_weeks, len(months)))
        for w in range(n_weeks):
            inside = [k for k in range(7) if start <= days[7 * w + k] <= end]
            wd = china_days[7 * w: 7 * w + 7]
            # split by worked days; a week with none worked inside the period by calendar days
            basis = wd if sum(wd[k] for k in inside) > 0 else np.ones(7)
            for k in inside:
                day = days[7 * w + k]
                weights[w, mindex[f"{day.year:04d}-{day.month:02d}"]] += basis[k]
            tot = weights[w].sum()
            if tot > 0:
                weights[w] /= tot
        return cls(weeks, months, shares, weights)

    @property
    def n_weeks(self) -> int:
        return len(self.weeks)

    def week_of(self, date: dt.date) -> int:
        """Index of the step that contains ``date`` (clipped to the period)."""
        w = (date - self.weeks[0]).days // 7
        return int(min(max(w, 0), self.n_weeks - 1))

    def to_months(self, weekly: np.ndarray) -> np.ndarray:
        """Weekly flows [n_weeks, ...] summed into months [n_months, ...]."""
        return np.tensordot(self.month_weights, weekly, axes=([0], [0]))
