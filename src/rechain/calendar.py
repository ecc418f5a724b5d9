"""The simulation clock: weekly steps on a real calendar with working days.

A step is one week starting on a Monday. Each calendar (``china``, ``west``,
``east_asia``, ``other``) gives, per week, the share of its five weekdays that are
worked. Weekly flows are reported by month, split over the months a week touches in
proportion to China's working days (calendar days when the week has none), so a
holiday moves volume between months the way it does in the statistics.

The holidays come from the maintained ``holidays`` library (official public holidays per
country and China's make-up working days on weekends); ``data/calendar.toml`` says which
library holidays each calendar takes and adds the customary shutdowns around them (Chinese
New Year travel days and slow restart, National Day partly worked, Christmas to New Year
abroad, ...). Scenario periods from 2000-01-01 to 2060-12-31 are supported
(:func:`supported_range`); outside it :class:`CalendarRangeError` is raised.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np

__all__ = ["Calendar", "CalendarRangeError", "holidays_between", "load_holidays", "day_shares",
           "supported_range", "check_period", "CALENDARS", "WEEKENDS_ONLY_FIRST", "WEEKENDS_ONLY_LAST"]

CALENDARS = ("china", "west", "east_asia", "other")

# The project's supported scenario period; narrowed to the library's years if those are fewer.
SUPPORTED_FIRST = dt.date(2000, 1, 1)
SUPPORTED_LAST = dt.date(2060, 12, 31)
# Without the holiday calendars (weekends only) a period needs no library's years.
WEEKENDS_ONLY_FIRST = dt.date(1950, 1, 1)
WEEKENDS_ONLY_LAST = dt.date(2100, 12, 31)

_ONE = dt.timedelta(days=1)


class CalendarRangeError(ValueError):
    """A date outside the supported calendar range (one-line message naming both)."""

    def __init__(self, date: dt.date, first: dt.date, last: dt.date):
        self.date, self.first, self.last = date, first, last
        super().__init__(f"date {date.isoformat()} is outside the supported calendar range "
                         f"{first.isoformat()} to {last.isoformat()}")

    def __reduce__(self):
        # rebuilt from its three dates, not from the message (a worker process's error
        # reaches the parent pickled)
        return type(self), (self.date, self.first, self.last)


# --- the rules file ---------------------------------------------------------------------

_REFS = ("anchor", "anchor_monday", "break_start", "break_end", "restart_week_end")
_POINT = re.compile(r"^\s*(?:(?P<md>\d{2})-(?P<dd>\d{2})|(?P<ref>[a-z_]+))\s*"
                    r"(?:(?P<sign>[+-])\s*(?P<n>\d+))?\s*$")


@dataclass(frozen=True)
class _Rule:
    name: str
    country: str | None
    anchor: str | None
    start: tuple[str | tuple[int, int], int]   # (reference or (month, day), offset in days)
    end: tuple[str | tuple[int, int], int]
    working_share: float
    replaces_official: bool


@dataclass(frozen=True)
class _Spec:
    country: str | None
    official: tuple[str, ...] | None    # None: all public holidays of `country`
    makeup: bool
    rules: tuple[_Rule, ...]


def _point(text: object, where: str) -> tuple[str | tuple[int, int], int]:
    m = _POINT.match(text) if isinstance(text, str) else None
    if m is None or (m["ref"] and m["ref"] not in _REFS):
        raise ValueError(f"{where}: {text!r} is not 'MM-DD' or one of {', '.join(_REFS)} "
                         "with an optional '+ N' / '- N'")
    off = int(m["n"] or 0) * (-1 if m["sign"] == "-" else 1)
    if m["ref"]:
        return m["ref"], off
    month, day = int(m["md"]), int(m["dd"])
    dt.date(2000, month, day)   # a real day of a (leap) year, or ValueError
    return (month, day), off


def _parse_spec(name: str, table: dict) -> _Spec:
    where = f"data/calendar.toml [{name}]"
    unknown = set(table) - {"country", "official", "makeup", "rule"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    country = table.get("country")
    official = table.get("official", [])
    if official == "all":
        official = None
    elif not (isinstance(official, list) and all(isinstance(s, str) for s in official)):
        raise ValueError(f"{where}: official must be \"all\" or a list of holiday names")
    else:
        official = tuple(official)
    if country is None and (official is None or official or table.get("makeup")):
        raise ValueError(f"{where}: official holidays or make-up days need a country")
    rules = []
    for i, r in enumerate(table.get("rule", [])):
        rw = f"{where} rule {i + 1}"
        unknown = set(r) - {"name", "country", "anchor", "from", "to", "working_share",
                            "replaces_official"}
        if unknown:
            raise ValueError(f"{rw}: unknown keys {sorted(unknown)}")
        start, end = _point(r.get("from"), rw + " from"), _point(r.get("to"), rw + " to")
        anchor = r.get("anchor")
        if anchor is None and any(isinstance(p[0], str) for p in (start, end)):
            raise ValueError(f"{rw}: a point tied to a holiday needs an anchor")
        rcountry = r.get("country", country)
        if anchor is not None and rcountry is None:
            raise ValueError(f"{rw}: an anchor needs a country")
        ws = float(r.get("working_share", 0.0))
        if not 0.0 <= ws <= 1.0:
            raise ValueError(f"{rw}: working_share must be within 0..1")
        rules.append(_Rule(str(r.get("name", "customary shutdown")), rcountry, anchor, start, end,
                           ws, bool(r.get("replaces_official", False))))
    return _Spec(country, official, bool(table.get("makeup", False)), tuple(rules))


@lru_cache(maxsize=1)
def _specs() -> dict[str, _Spec]:
    text = resources.files("rechain").joinpath("data/calendar.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    missing = [c for c in CALENDARS if c not in data]
    if missing or set(data) - set(CALENDARS):
        raise ValueError(f"data/calendar.toml must have exactly the tables {', '.join(CALENDARS)}")
    return {name: _parse_spec(name, data[name]) for name in CALENDARS}


# --- the library ------------------------------------------------------------------------

def _countries() -> set[str]:
    specs = _specs()
    return {c for s in specs.values() for c in [s.country, *(r.country for r in s.rules)] if c}


@lru_cache(maxsize=1)
def supported_range() -> tuple[dt.date, dt.date]:
    """First and last supported day of a scenario period: 2000-01-01 to 2060-12-31, narrowed
    to the years the ``holidays`` library covers for the calendars' countries (one year of
    margin each side, for holidays that cross New Year)."""
    import holidays as holidays_lib

    first, last = SUPPORTED_FIRST, SUPPORTED_LAST
    for code in _countries():
        cls = holidays_lib.country_holidays(code, years=[]).__class__
        first = max(first, dt.date(getattr(cls, "start_year", 1) + 1, 1, 1))
        last = min(last, dt.date(getattr(cls, "end_year", 9998) - 1, 12, 31))
    return first, last


def check_period(start: dt.date, end: dt.date) -> None:
    """Raise :class:`CalendarRangeError` if ``start`` or ``end`` is outside
    :func:`supported_range` (for the scenario loader to check a period up front)."""
    first, last = supported_range()
    for d in (start, end):
        if not first <= d <= last:
            raise CalendarRangeError(d, first, last)


@lru_cache(maxsize=None)
def _library_year(country: str, year: int
                  ) -> tuple[dict[dt.date, tuple[str, ...]], frozenset[dt.date]]:
    """Public holidays (date -> English names) and weekend make-up working days of one year."""
    import holidays as holidays_lib

    h = holidays_lib.country_holidays(country, years=year, language="en_US")
    days = {d: tuple(h.get_list(d)) for d in sorted(h) if d.year == year}
    makeup = frozenset(d for d in getattr(h, "weekend_workdays", ()) if d.year == year)
    return days, makeup


def _is_off(country: str, d: dt.date) -> bool:
    days, makeup = _library_year(country, d.year)
    return d in days or (d.weekday() >= 5 and d not in makeup)


def _base_name(name: str) -> str:
    return name[:-len(" (observed)")] if name.endswith(" (observed)") else name


def _resolve(point: tuple[str | tuple[int, int], int], year: int, anchor: dt.date | None,
             country: str | None) -> dt.date:
    ref, off = point
    if isinstance(ref, tuple):
        d = dt.date(year, *ref) if ref != (2, 29) or year % 4 == 0 else dt.date(year, 3, 1)
    else:
        if anchor is None or country is None:
            raise ValueError(f"{ref!r} needs an anchor holiday and its country")
        if ref == "anchor":
            d = anchor
        elif ref == "anchor_monday":
            wd = anchor.weekday()
            d = anchor - dt.timedelta(days=wd) if wd < 5 else anchor + dt.timedelta(days=7 - wd)
        elif ref == "break_start":
            d = anchor
            while _is_off(country, d - _ONE):
                d -= _ONE
        else:
            d = anchor
            while _is_off(country, d + _ONE):
                d += _ONE
            if ref == "restart_week_end":
                d += _ONE
                while d.weekday() >= 5:
                    d += _ONE
                d += dt.timedelta(days=6 - d.weekday())
    return d + dt.timedelta(days=off)


@lru_cache(maxsize=None)
def _year_events(calname: str, year: int) -> tuple[tuple[tuple[dt.date, str, float, int], ...],
                                                    frozenset[dt.date]]:
    """What one calendar's entries for ``year`` say: (day, name, share, kind) with kind 0 an
    official holiday, 1 a span replacing official closures, 2 a span that only lowers; and
    the make-up days. Rule spans may run into the next year."""
    spec = _specs()[calname]
    events: list[tuple[dt.date, str, float, int]] = []
    makeup: frozenset[dt.date] = frozenset()
    if spec.country is not None:
        days, made = _library_year(spec.country, year)
        for d, names in days.items():
            taken = [n for n in names if spec.official is None or _base_name(n) in spec.official]
            if taken:
                events.append((d, "; ".join(taken), 0.0, 0))
        if spec.makeup:
            makeup = made
    for r in spec.rules:
        anchor = None
        if r.anchor is not None:
            days, _ = _library_year(r.country, year)
            anchor = next((d for d, names in days.items() if r.anchor in names), None)
            if anchor is None:
                continue
        start = _resolve(r.start, year, anchor, r.country)
        end = _resolve(r.end, year, anchor, r.country)
        if end < start and isinstance(r.end[0], tuple):
            end = _resolve(r.end, year + 1, anchor, r.country)
        d = start
        while d <= end:
            events.append((d, r.name, r.working_share, 1 if r.replaces_official else 2))
            d += _ONE
    return tuple(events), makeup


def holidays_between(calendar_name: str, first_day: dt.date, last_day: dt.date) -> list[dict]:
    """Holiday entries of one calendar that touch ``first_day`` .. ``last_day``.

    Each entry is a dict ``{"name", "start", "end", "working_share"}`` (a run of days with
    the same name and share; ``working_share`` 0 closes the weekdays, more leaves that share
    worked), or, for an official make-up working day on a weekend,
    ``{"name", "start", "end", "working_share": 1.0, "makeup": True}``: the shape
    :func:`day_shares` reads. Entries are clipped to the range and sorted by start.

    The range may be any days of the weeks that touch :func:`supported_range` (so a
    calendar's whole Monday-to-Sunday weeks are covered); otherwise
    :class:`CalendarRangeError`. Unknown calendar names raise ``KeyError``.
    """
    if calendar_name not in CALENDARS:
        raise KeyError(f"unknown calendar {calendar_name!r}; known: {', '.join(CALENDARS)}")
    lo, hi = supported_range()
    pad_lo = lo - dt.timedelta(days=lo.weekday())
    pad_hi = hi + dt.timedelta(days=6 - hi.weekday())
    for d in (first_day, last_day):
        if not pad_lo <= d <= pad_hi:
            raise CalendarRangeError(d, lo, hi)
    if last_day < first_day:
        return []
    share: dict[dt.date, tuple[float, str]] = {}
    replaced: dict[dt.date, tuple[float, str]] = {}
    lowered: dict[dt.date, tuple[float, str]] = {}
    makeup: set[dt.date] = set()
    for year in range(first_day.year - 1, last_day.year + 1):
        events, made = _year_events(calendar_name, year)
        makeup.update(d for d in made if first_day <= d <= last_day)
        for d, name, ws, kind in events:
            if not first_day <= d <= last_day:
                continue
            target = (share, replaced, lowered)[kind]
            if d not in target or ws < target[d][0]:
                target[d] = (ws, name)
    for d, v in replaced.items():
        share[d] = v
    for d, v in lowered.items():
        if d not in share or v[0] < share[d][0]:
            share[d] = v
    out: list[dict] = []
    for d in sorted(share):
        ws, name = share[d]
        last = out[-1] if out else None
        if (last is not None and "makeup" not in last and last["name"] == name
                and last["working_share"] == ws and last["end"] + _ONE == d):
            last["end"] = d
        else:
            out.append({"name": name, "start": d, "end": d, "working_share": ws})
    out += [{"name": "make-up working day", "start": d, "end": d, "working_share": 1.0,
             "makeup": True} for d in sorted(makeup)]
    out.sort(key=lambda h: h["start"])
    return out


@lru_cache(maxsize=4)
def _all_holidays(first_day: dt.date, last_day: dt.date) -> dict[str, tuple[dict, ...]]:
    return {name: tuple(holidays_between(name, first_day, last_day)) for name in CALENDARS}


def load_holidays(first_day: dt.date | None = None, last_day: dt.date | None = None
                  ) -> dict[str, list[dict]]:
    """Holiday entries per calendar (:func:`holidays_between` for each name).

    Compatibility shim for the former fixed 2024-2026 table: without dates it covers the
    whole supported range (correct for any period, but slower to read than needed; prefer
    ``holidays_between`` for the period, or ``Calendar.daily_share``).
    """
    if first_day is None or last_day is None:
        lo, hi = supported_range()
        first_day = first_day or lo - dt.timedelta(days=lo.weekday())
        last_day = last_day or hi + dt.timedelta(days=6 - hi.weekday())
    return {name: [dict(h) for h in v] for name, v in _all_holidays(first_day, last_day).items()}


# --- working shares ---------------------------------------------------------------------

def day_shares(days: list[dt.date], holidays: list[dict]) -> np.ndarray:
    """Worked share (0..1) of each day: weekends 0 unless a make-up day, holidays their
    working_share."""
    share = np.array([1.0 if d.weekday() < 5 else 0.0 for d in days])
    if not days:
        return share
    first = days[0]
    contiguous = (days[-1] - first).days == len(days) - 1
    index = None if contiguous else {d: i for i, d in enumerate(days)}
    for h in holidays:
        makeup = bool(h.get("makeup", False))
        d, end = h["start"], h["end"]
        ws = float(h.get("working_share", 1.0 if makeup else 0.0))
        while d <= end:
            if contiguous:
                i = (d - first).days
                i = i if 0 <= i < len(days) else None
            else:
                i = index.get(d)
            if i is not None:
                if makeup and days[i].weekday() >= 5:
                    share[i] = max(share[i], ws)
                elif not makeup and days[i].weekday() < 5:
                    share[i] = min(share[i], ws)
            d += _ONE
    return share


def whole_months(start: dt.date, end: dt.date) -> list[str]:
    """The ``YYYY-MM`` months that ``start`` .. ``end`` covers from their first day to their last
    (a fact about a month's flows is judged only on a month simulated whole).

    >>> whole_months(dt.date(2024, 1, 20), dt.date(2024, 4, 30))
    ['2024-02', '2024-03', '2024-04']
    """
    months = []
    m = dt.date(start.year, start.month, 1)
    while m <= end:
        following = _next_month(m)
        if m >= start and following - dt.timedelta(days=1) <= end:
            months.append(f"{m.year:04d}-{m.month:02d}")
        m = following
    return months


def _next_month(first: dt.date) -> dt.date:
    """The first day of the month after the one ``first`` (a first of the month) opens."""
    return dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)


@dataclass
class Calendar:
    """Weeks, working shares and the week-to-month split of one simulated period.

    Attributes
    ----------
    weeks : list of Monday dates, one per step
    months : list of ``YYYY-MM`` strings covering the period
    working_share : dict calendar -> array [n_weeks] of worked weekday share (0..1.2)
    month_weights : array [n_weeks, n_months], how each week's flows split over months
    days : list of the 7 * n_weeks days of the weeks (Monday of the first to Sunday of the last)
    daily_share : dict calendar -> array [7 * n_weeks], each day's worked share
        (:func:`day_shares`; weekends 0 unless made up; weekends only with holidays off)
    """

    weeks: list[dt.date]
    months: list[str]
    working_share: dict[str, np.ndarray]
    month_weights: np.ndarray
    days: list[dt.date] = field(default_factory=list)
    daily_share: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def build(cls, start: dt.date, end: dt.date, holidays: dict[str, list[dict]] | None = None,
              extra_china: list[dict] | None = None) -> "Calendar":
        """The calendar of ``start`` .. ``end`` (weeks snap back to the Monday).

        ``holidays`` None: the packaged calendars (library holidays and ``data/calendar.toml``
        rules; the period must lie in :func:`supported_range`, else
        :class:`CalendarRangeError`); a dict: these entries per calendar name instead (``{}``:
        weekends only, for steady-state checks; any dates). ``extra_china`` adds entries to
        ``china``.
        """
        first = start - dt.timedelta(days=start.weekday())
        n_weeks = ((end - first).days // 7) + 1
        days = [first + dt.timedelta(days=i) for i in range(7 * n_weeks)]
        weeks = days[::7]
        if holidays is None:
            check_period(start, end)
            holidays = {name: holidays_between(name, days[0], days[-1]) for name in CALENDARS}
        shares, daily = {}, {}
        for name in CALENDARS:
            hol = list(holidays.get(name, []))
            if name == "china" and extra_china:
                hol += extra_china
            daily[name] = day_shares(days, hol)
            # a make-up Saturday adds a day
            shares[name] = np.minimum(daily[name].reshape(n_weeks, 7).sum(axis=1) / 5.0, 1.2)
        months = []
        m = dt.date(start.year, start.month, 1)
        while m <= end:
            months.append(f"{m.year:04d}-{m.month:02d}")
            m = _next_month(m)
        mindex = {k: i for i, k in enumerate(months)}
        china_days = daily["china"]
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
        # a month of which the period holds only days China does not work, while the week's
        # worked days inside the period fall in the month before (a period ending on 1 May
        # after a worked 30 April, or on a Saturday the 1st), gets none of the week's flows,
        # which count there: it is left out, or it would report nothing made and its levels at
        # 0. A week whose days inside the period are all off (ending on Monday 2 June 2025, a
        # holiday) is split by calendar days and keeps its month: the week is run, and booking
        # it into a month it does not touch would swell that month against a run that ends
        # there
        kept = weights.sum(axis=0) > 0
        if not kept.all():
            months = [k for k, keep in zip(months, kept) if keep]
            weights = weights[:, kept]
        return cls(weeks, months, shares, weights, days, daily)

    @property
    def n_weeks(self) -> int:
        return len(self.weeks)

    @cached_property
    def day_grid(self) -> dict[str, np.ndarray]:
        """The days as arrays, computed once: ``day`` (datetime64[D]), ``year``,
        ``month_of_year`` (0-11), ``month_slot`` (index of the day's month in the period) and,
        per slot, ``month_days`` (calendar days of the whole month, in the grid or not)."""
        day = np.array(self.days, dtype="datetime64[D]")
        month = day.astype("datetime64[M]")
        month_index = month.astype(int)                                       # months since 1970
        slots, month_slot = np.unique(month, return_inverse=True)
        month_days = ((slots + 1).astype("datetime64[D]") - slots.astype("datetime64[D]")).astype(float)
        return {"day": day, "year": day.astype("datetime64[Y]").astype(int) + 1970,
                "month_of_year": month_index % 12, "month_slot": month_slot, "month_days": month_days}

    def week_of(self, date: dt.date) -> int:
        """Index of the step that contains ``date`` (clipped to the period)."""
        w = (date - self.weeks[0]).days // 7
        return int(min(max(w, 0), self.n_weeks - 1))

    def to_months(self, weekly: np.ndarray) -> np.ndarray:
        """Weekly flows [n_weeks, ...] summed into months [n_months, ...]."""
        return np.tensordot(self.month_weights, weekly, axes=([0], [0]))
