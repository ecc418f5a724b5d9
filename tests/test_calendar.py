"""The weekly calendar: Monday weeks, working shares from holidays, week-to-month split.

The holidays come from the `holidays` library and the rules in data/calendar.toml; the
former hand-kept 2024-2026 table is kept as tests/data/calendar_2024_2026.toml to compare.
"""

import datetime as dt

import numpy as np
import pytest

from rechain.calendar import CALENDARS, Calendar

D = dt.date


@pytest.fixture(scope="module")
def cal() -> Calendar:
    # The baseline period. 2024-01-01 is a Monday; 2024-01-01..2026-12-31 is
    # 366 + 365 + 364 = 1095 days after the first Monday -> 1095 // 7 + 1 = 157 weeks,
    # the last starting 2024-01-01 + 156*7 days = 2026-12-28.
    return Calendar.build(D(2024, 1, 1), D(2026, 12, 31))


def test_weeks_start_on_mondays(cal):
    assert cal.n_weeks == 157
    assert cal.weeks[0] == D(2024, 1, 1)
    assert cal.weeks[-1] == D(2026, 12, 28)
    assert all(w.weekday() == 0 for w in cal.weeks)
    assert all((b - a).days == 7 for a, b in zip(cal.weeks, cal.weeks[1:]))
    assert len(cal.months) == 36
    assert cal.months[0] == "2024-01" and cal.months[-1] == "2026-12"
    for name in CALENDARS:
        assert cal.working_share[name].shape == (157,)
        # a week with a make-up Saturday or Sunday works six days: 6/5 = 1.2
        assert np.all((cal.working_share[name] >= 0) & (cal.working_share[name] <= 1.2))
    assert cal.month_weights.shape == (157, 36)


def test_midweek_start_snaps_back_to_monday():
    c = Calendar.build(D(2024, 1, 3), D(2024, 1, 31))  # Wednesday
    assert c.weeks[0] == D(2024, 1, 1)
    assert c.weeks[-1] == D(2024, 1, 29)   # (Jan 31 - Jan 1) = 30 days -> 30 // 7 + 1 = 5 weeks
    assert c.n_weeks == 5


def test_week_of(cal):
    # 2025-01-27 is 366 + 26 = 392 days after 2024-01-01 -> week 56 (Wednesday 29th too)
    assert cal.week_of(D(2025, 1, 27)) == 56
    assert cal.week_of(D(2025, 1, 29)) == 56
    assert cal.week_of(D(2025, 2, 2)) == 56   # Sunday still in the same week
    assert cal.week_of(D(2025, 2, 3)) == 57
    assert cal.week_of(D(2023, 6, 1)) == 0    # clipped
    assert cal.week_of(D(2030, 1, 1)) == 156  # clipped


def test_chinese_new_year_2025_week(cal):
    # Week of Mon 2025-01-27 (library holidays + data/calendar.toml rules):
    #   Mon 27 Jan: travel days, the 6 days before the break (22-27 Jan), working_share 0.5
    #   Tue 28 - Fri 31 Jan: official holiday (28 Jan - 4 Feb), 0
    #   -> (0.5 + 0 + 0 + 0 + 0) / 5 = 0.1
    # (Not exactly 0: the rules treat Monday 27 Jan as a half-worked travel day.)
    w = cal.week_of(D(2025, 1, 27))
    assert cal.weeks[w] == D(2025, 1, 27)
    china = cal.working_share["china"]
    assert china[w] == pytest.approx(0.1)
    # Next week: Mon 3, Tue 4 Feb official (0), Wed-Fri 5-7 Feb slow restart (rest of the
    # week, 0.6),
    # Sat 8 Feb official make-up working day (1) -> 2.8 / 5 = 0.56
    assert china[w + 1] == pytest.approx(0.56)
    # it is the lowest China week of 2025
    in_2025 = [i for i, m in enumerate(cal.weeks) if m.year == 2025]
    assert int(np.argmin(china[in_2025])) + in_2025[0] == w
    # other calendars are not affected by Chinese New Year
    assert cal.working_share["west"][w] == pytest.approx(1.0)
    assert cal.working_share["other"][w] == pytest.approx(1.0)


def test_full_holiday_weeks_have_little_china_share(cal):
    # 2024: official holiday 10-17 Feb covers Mon 12 - Fri 16 Feb entirely, but Sun 18 Feb
    # is a make-up working day -> 1/5 = 0.2
    # 2026: official holiday 16-23 Feb covers Mon 16 - Fri 20 Feb entirely -> 0
    china = cal.working_share["china"]
    assert china[cal.week_of(D(2024, 2, 12))] == pytest.approx(0.2)
    assert china[cal.week_of(D(2026, 2, 16))] == 0.0


def test_make_up_days_and_partly_worked_national_day(cal):
    # Week of Mon 2025-09-22: five weekdays plus make-up Sunday 28 Sep -> 6/5 = 1.2
    china = cal.working_share["china"]
    assert china[cal.week_of(D(2025, 9, 22))] == pytest.approx(1.2)
    # Week of Mon 2025-10-06: Mon-Wed National Day at 0.7, Thu-Fri worked, make-up
    # Saturday 11 Oct -> (3 * 0.7 + 2 + 1) / 5 = 1.02
    assert china[cal.week_of(D(2025, 10, 6))] == pytest.approx(1.02)


def test_first_week_shares(cal):
    # Mon 2024-01-01 is New Year in china and west (4/5 = 0.8); east_asia closes 1-3 Jan
    # (2/5 = 0.4); "other" has weekends only (1.0).
    assert cal.working_share["china"][0] == pytest.approx(0.8)
    assert cal.working_share["west"][0] == pytest.approx(0.8)
    assert cal.working_share["east_asia"][0] == pytest.approx(0.4)
    assert cal.working_share["other"][0] == pytest.approx(1.0)


def test_west_christmas_2025(cal):
    # West closes 2025-12-22 .. 2026-01-01:
    #   week of Mon 22 Dec: all five weekdays closed -> 0
    #   week of Mon 29 Dec: Mon-Thu closed, Fri 2 Jan open -> 0.2
    # China works through Christmas (1.0) and closes 1-2 Jan 2026 (Mon-Wed open) with
    # Sunday 4 Jan a make-up day -> 4/5 = 0.8
    w = cal.week_of(D(2025, 12, 22))
    west, china = cal.working_share["west"], cal.working_share["china"]
    assert west[w] == pytest.approx(0.0)
    assert west[w + 1] == pytest.approx(0.2)
    assert west[w] < 0.5
    assert china[w] == pytest.approx(1.0)
    assert china[w + 1] == pytest.approx(0.8)


def test_month_weights_rows_sum_to_one(cal):
    assert cal.month_weights.sum(axis=1) == pytest.approx(np.ones(cal.n_weeks))
    assert np.all(cal.month_weights >= 0.0)


def test_month_weights_split_by_china_working_days(cal):
    j = {m: i for i, m in enumerate(cal.months)}
    # Week of Mon 2024-01-29: Mon-Wed (29-31 Jan) worked, Thu-Fri (1-2 Feb) worked and
    # Sun 4 Feb a make-up day -> 3:3
    w = cal.week_of(D(2024, 1, 29))
    assert cal.month_weights[w, j["2024-01"]] == pytest.approx(0.5)
    assert cal.month_weights[w, j["2024-02"]] == pytest.approx(0.5)
    # Week of Mon 2025-09-29: Mon-Tue worked (Sep), Wed-Fri 1-3 Oct National Day at 0.7
    #   -> September 2 / 4.1, October 2.1 / 4.1
    w = cal.week_of(D(2025, 9, 29))
    assert cal.month_weights[w, j["2025-09"]] == pytest.approx(2 / 4.1)
    assert cal.month_weights[w, j["2025-10"]] == pytest.approx(2.1 / 4.1)


def test_month_weights_fall_back_to_calendar_days():
    # Custom China closure Mon 29 Jan - Fri 2 Feb 2024: the week has no working days, so it
    # splits by calendar days: 29-31 Jan = 3/7, 1-4 Feb = 4/7.
    hol = {"china": [{"start": D(2024, 1, 29), "end": D(2024, 2, 2)}]}
    c = Calendar.build(D(2024, 1, 1), D(2024, 3, 31), holidays=hol)
    w = c.week_of(D(2024, 1, 29))
    assert c.working_share["china"][w] == 0.0
    assert c.month_weights[w] == pytest.approx([3 / 7, 4 / 7, 0.0])
    # the custom holidays dict replaces the packaged one: no New Year on 1 Jan, west all 1
    assert c.working_share["china"][0] == pytest.approx(1.0)
    assert np.all(c.working_share["west"] == 1.0)


def test_a_month_the_period_holds_no_worked_day_of_is_left_out():
    # Ends Saturday 1 June 2024 (weekends only): the last week, Mon 27 May - Sun 2 June, has its
    # worked days in May, so June would get none of its flows and levels averaged to 0
    c = Calendar.build(D(2024, 5, 6), D(2024, 6, 1), holidays={})
    assert c.months == ["2024-05"]
    assert c.month_weights.sum(axis=1) == pytest.approx(np.ones(c.n_weeks))
    # ends Wednesday 1 May 2024, Labour Day, a holiday of the packaged calendar: Mon 29 and Tue
    # 30 April are worked, so April takes the week and May is left out
    c = Calendar.build(D(2024, 4, 1), D(2024, 5, 1))
    assert c.months == ["2024-04"]
    # a period that ends on a worked 1st keeps its month
    assert Calendar.build(D(2024, 4, 1), D(2024, 7, 1)).months[-1] == "2024-07"


def test_working_share_partial_days_and_extra_china():
    # Two half-worked days (Tue, Wed) -> (1 + 0.5 + 0.5 + 1 + 1) / 5 = 0.8
    hol = {"china": [{"start": D(2024, 3, 5), "end": D(2024, 3, 6), "working_share": 0.5}]}
    extra = [{"start": D(2024, 3, 11), "end": D(2024, 3, 13)}]  # Mon-Wed closed -> 0.4
    c = Calendar.build(D(2024, 3, 4), D(2024, 3, 31), holidays=hol, extra_china=extra)
    assert c.working_share["china"][0] == pytest.approx(0.8)
    assert c.working_share["china"][1] == pytest.approx(0.4)
    assert c.working_share["west"][1] == pytest.approx(1.0)
    # holidays on a weekend change nothing (already 0)
    c2 = Calendar.build(D(2024, 3, 4), D(2024, 3, 17),
                        holidays={"china": [{"start": D(2024, 3, 9), "end": D(2024, 3, 10)}]})
    assert c2.working_share["china"] == pytest.approx([1.0, 1.0])


def test_overlapping_holidays_take_the_lowest_share():
    # Wed 2024-03-06 is closed (0) and also inside a half-worked range listed after it:
    # the day stays closed. Week: Mon 1, Tue 0.5, Wed 0, Thu 0.5, Fri 1 -> 3 / 5 = 0.6
    hol = {"china": [{"start": D(2024, 3, 6), "end": D(2024, 3, 6)},
                     {"start": D(2024, 3, 5), "end": D(2024, 3, 7), "working_share": 0.5}]}
    c = Calendar.build(D(2024, 3, 4), D(2024, 3, 10), holidays=hol)
    assert c.working_share["china"] == pytest.approx([0.6])


def test_to_months_conserves_totals(cal):
    rng = np.random.default_rng(7)
    weekly = rng.uniform(0, 100, size=(cal.n_weeks, 3))
    monthly = cal.to_months(weekly)
    assert monthly.shape == (36, 3)
    assert monthly.sum(axis=0) == pytest.approx(weekly.sum(axis=0))
    one = cal.to_months(np.ones(cal.n_weeks))
    assert one.sum() == pytest.approx(cal.n_weeks)


def test_to_months_hand_worked():
    # Jan-Feb 2024, one flow of 10 t in the week of 29 Jan (3:3 split, with the make-up
    # Sunday 4 Feb) and 7 t in week 0
    c = Calendar.build(D(2024, 1, 1), D(2024, 2, 29))
    weekly = np.zeros(c.n_weeks)
    weekly[0] = 7.0
    weekly[c.week_of(D(2024, 1, 29))] = 10.0
    assert c.to_months(weekly) == pytest.approx([7.0 + 5.0, 5.0])


@pytest.mark.parametrize("start,end", [
    (D(2024, 1, 3), D(2024, 3, 31)),   # starts on a Wednesday
    (D(2024, 1, 6), D(2024, 3, 31)),   # starts on a Saturday: week 0 worked days all before start
    (D(2025, 9, 1), D(2025, 10, 6)),   # ends on Mon 6 Oct, a China holiday
])
def test_to_months_conserves_totals_for_unaligned_periods(start, end):
    # Every simulated week is a step with flows, so every week's flows should land in some
    # reported month (the docstring: "split over the months a week touches").
    c = Calendar.build(start, end)
    assert c.to_months(np.ones(c.n_weeks)).sum() == pytest.approx(c.n_weeks)


# --- the library calendar: any year from 2000 to 2060 ---------------------------------

import pathlib  # noqa: E402
import tomllib  # noqa: E402

from rechain.calendar import (  # noqa: E402
    CalendarRangeError, check_period, day_shares, holidays_between, load_holidays,
    supported_range,
)

FORMER_TABLE = pathlib.Path(__file__).parent / "data" / "calendar_2024_2026.toml"

# Weeks where the library calendar differs from the former hand-kept 2024-2026 table:
# (calendar, Monday) -> (former share, library share, reason). Everything else is equal.
EXPECTED_DEVIATIONS = {
    # the former table stopped on 2026-12-31; Fri 1 Jan 2027 is New Year's Day everywhere
    ("china", D(2026, 12, 28)): (1.0, 0.8, "New Year's Day 2027 (Fri) was past the table"),
    ("west", D(2026, 12, 28)): (0.2, 0.0, "Christmas shutdown runs to 1 Jan 2027"),
    ("east_asia", D(2026, 12, 28)): (0.4, 0.2, "Japanese year end runs 29 Dec - 3 Jan 2027"),
    # Obon 13-16 Aug was missing from the former table in 2026 (Thu 13, Fri 14 Aug)
    ("east_asia", D(2026, 8, 10)): (1.0, 0.6, "Obon 2026 was missing"),
    # Korean Seollal and Chuseok (half the region at work) were not in the former table,
    # which folded "Chuseok" into the Japanese Obon dates
    ("east_asia", D(2024, 2, 5)): (1.0, 0.9, "Seollal 2024: Fri 9 Feb"),
    ("east_asia", D(2024, 2, 12)): (1.0, 0.9, "Seollal 2024: Mon 12 Feb (substitute)"),
    ("east_asia", D(2024, 9, 16)): (1.0, 0.7, "Chuseok 2024: Mon 16 - Wed 18 Sep"),
    ("east_asia", D(2025, 1, 27)): (1.0, 0.6, "Seollal 2025: Mon 27 - Thu 30 Jan"),
    ("east_asia", D(2025, 9, 29)): (1.0, 0.9, "Chuseok 2025 break: Fri 3 Oct"),
    ("east_asia", D(2025, 10, 6)): (1.0, 0.6, "Chuseok 2025 break: Mon 6 - Thu 9 Oct"),
    ("east_asia", D(2026, 2, 16)): (1.0, 0.7, "Seollal 2026: Mon 16 - Wed 18 Feb"),
    ("east_asia", D(2026, 9, 21)): (1.0, 0.8, "Chuseok 2026: Thu 24, Fri 25 Sep"),
}


def test_library_calendar_reproduces_the_former_table(cal):
    former = tomllib.loads(FORMER_TABLE.read_text(encoding="utf-8"))
    old = Calendar.build(D(2024, 1, 1), D(2026, 12, 31),
                         holidays={name: former.get(name, []) for name in CALENDARS})
    found = {}
    for name in CALENDARS:
        for w in np.nonzero(~np.isclose(old.working_share[name], cal.working_share[name]))[0]:
            found[(name, cal.weeks[w])] = (old.working_share[name][w], cal.working_share[name][w])
    assert set(found) == set(EXPECTED_DEVIATIONS)
    for key, (was, now, _reason) in EXPECTED_DEVIATIONS.items():
        assert found[key] == pytest.approx((was, now)), key
    # China's working days, hence the week-to-month split, are unchanged within the period
    assert cal.month_weights == pytest.approx(old.month_weights)


def _worked_days_by_month(c: Calendar, name: str = "china") -> dict[str, float]:
    out = dict.fromkeys(c.months, 0.0)
    for d, s in zip(c.days, c.daily_share[name]):
        key = f"{d.year:04d}-{d.month:02d}"
        if key in out:
            out[key] += s
    return out


def _weekdays_by_month(c: Calendar) -> dict[str, int]:
    out = dict.fromkeys(c.months, 0)
    for d in c.days:
        key = f"{d.year:04d}-{d.month:02d}"
        if key in out and d.weekday() < 5:
            out[key] += 1
    return out


@pytest.mark.parametrize("year,new_year", [
    (2010, D(2010, 2, 14)), (2019, D(2019, 2, 5)), (2030, D(2030, 2, 3)),
])
def test_chinese_new_year_cuts_domestic_working_days_in_the_right_month(year, new_year):
    # the library's date of the festival (first day of the first lunar month)
    cny = [h for h in holidays_between("china", D(year, 1, 1), D(year, 12, 31))
           if h["name"] == "Chinese New Year (Spring Festival)"]
    assert cny[0]["start"] == new_year
    c = Calendar.build(D(year, 1, 1), D(year, 12, 31))
    worked, weekdays = _worked_days_by_month(c), _weekdays_by_month(c)
    cut = {m: weekdays[m] - worked[m] for m in c.months}
    feb, jan = f"{year}-02", f"{year}-01"
    # February loses most: at least four working days (2010: 7.5, 2019: 7.5, 2030: 5.9)
    assert max(cut, key=cut.get) == feb
    assert cut[feb] >= 4.0
    # January loses less: New Year's Day and, in 2019 and 2030, travel days late in the month
    assert cut[jan] < cut[feb]
    # the week of the festival is (nearly) closed in China, worked abroad
    w = c.week_of(new_year + dt.timedelta(days=1))
    assert c.working_share["china"][w] <= 0.4
    assert c.working_share["west"][w] == pytest.approx(1.0)


def test_make_up_working_days_2019():
    # 2019 notice: Spring Festival 4-10 Feb with Sat 2 and Sun 3 Feb worked; National Day
    # 1-7 Oct with Sun 29 Sep and Sat 12 Oct worked (also 28 Apr, 5 May for Labour Day)
    c = Calendar.build(D(2019, 1, 1), D(2019, 12, 31))
    made = [h["start"] for h in holidays_between("china", D(2019, 1, 1), D(2019, 12, 31))
            if h.get("makeup")]
    assert made == [D(2019, 2, 2), D(2019, 2, 3), D(2019, 4, 28), D(2019, 5, 5),
                    D(2019, 9, 29), D(2019, 10, 12)]
    china = c.working_share["china"]
    # week of Mon 28 Jan: Mon 1, Tue-Fri travel days 0.5, Sat 2 and Sun 3 Feb made up
    #   -> (1 + 4 * 0.5 + 1 + 1) / 5 = 1.0
    w = c.week_of(D(2019, 1, 28))
    assert c.daily_share["china"][7 * w: 7 * w + 7] == pytest.approx([1, .5, .5, .5, .5, 1, 1])
    assert china[w] == pytest.approx(1.0)
    # week of Mon 23 Sep: five days and Sun 29 Sep -> 6/5
    assert china[c.week_of(D(2019, 9, 23))] == pytest.approx(1.2)
    # week of Mon 7 Oct: Mon in the National Day break (0.7), Tue-Fri, Sat 12 Oct made up
    assert china[c.week_of(D(2019, 10, 7))] == pytest.approx((0.7 + 4 + 1) / 5)
    # abroad nobody works those weekends
    assert c.working_share["west"][c.week_of(D(2019, 9, 23))] == pytest.approx(1.0)


def test_make_up_working_days_2025():
    made = [h["start"] for h in holidays_between("china", D(2025, 1, 1), D(2025, 12, 31))
            if h.get("makeup")]
    assert made == [D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28),
                    D(2025, 10, 11)]
    c = Calendar.build(D(2025, 1, 1), D(2025, 12, 31))
    days = {d: s for d, s in zip(c.days, c.daily_share["china"])}
    # a make-up Sunday inside the travel days is worked in full; its neighbours are not
    assert days[D(2025, 1, 26)] == 1.0 and days[D(2025, 1, 27)] == 0.5
    # Sat 27 Apr: week of 21 Apr works six days
    assert c.working_share["china"][c.week_of(D(2025, 4, 21))] == pytest.approx(1.2)
    # the make-up days count in the month: April 2025 has 22 weekdays, 4 Apr is Qingming
    assert _worked_days_by_month(c)["2025-04"] == pytest.approx(22 - 1 + 1)


@pytest.mark.parametrize("year", [2010, 2019, 2030])
def test_national_day_is_partly_worked_in_october(year):
    c = Calendar.build(D(year, 1, 1), D(year, 12, 31))
    days = dict(zip(c.days, c.daily_share["china"]))
    # 1-3 Oct are statutory: inside the break, worked at 0.7 (continuous lines) when weekdays
    for d in (D(year, 10, k) for k in (1, 2, 3)):
        assert days[d] == (0.7 if d.weekday() < 5 else 0.0)
    # October's weekdays lose at least 0.3 of the three statutory days
    october = [s for d, s in days.items() if (d.year, d.month) == (year, 10) and d.weekday() < 5]
    statutory_weekdays = sum(D(year, 10, k).weekday() < 5 for k in (1, 2, 3))
    assert len(october) - sum(october) >= 0.3 * statutory_weekdays - 1e-9
    # other calendars work through it
    w = c.week_of(D(year, 10, 2))
    assert c.working_share["west"][w] == pytest.approx(1.0)


@pytest.mark.parametrize("year", [2010, 2019, 2025, 2030, 2040, 2060])
def test_christmas_closes_the_west(year):
    c = Calendar.build(D(year, 1, 1), D(year, 12, 31))
    christmas = D(year, 12, 25)
    # the shutdown starts on the Monday of Christmas week (the week after, when Christmas
    # falls on a weekend) and runs to New Year's Day
    first_weekday = christmas + dt.timedelta(days=(7 - christmas.weekday()) % 7
                                             if christmas.weekday() >= 5 else 0)
    w = c.week_of(first_weekday)
    assert c.working_share["west"][w] == 0.0
    assert c.working_share["china"][w] >= 0.8   # China works (New Year's Day aside)
    assert holidays_between("west", christmas, christmas)[0]["name"] in (
        "Christmas Day", "Christmas to New Year shutdown")


def test_outside_the_supported_range_is_a_clear_error():
    assert supported_range() == (D(2000, 1, 1), D(2060, 12, 31))
    with pytest.raises(CalendarRangeError) as e:
        Calendar.build(D(1999, 6, 7), D(2001, 12, 31))
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert "\n" not in msg
    assert "1999-06-07" in msg and "2000-01-01" in msg and "2060-12-31" in msg
    # it crosses process boundaries (a sweep's workers) as itself
    import pickle
    back = pickle.loads(pickle.dumps(e.value))
    assert type(back) is CalendarRangeError and str(back) == msg
    assert (back.date, back.first, back.last) == (e.value.date, e.value.first, e.value.last)
    with pytest.raises(CalendarRangeError, match="2061-01-04"):
        Calendar.build(D(2060, 1, 2), D(2061, 1, 4))
    with pytest.raises(CalendarRangeError, match="2065-01-01"):
        check_period(D(2050, 1, 1), D(2065, 1, 1))
    with pytest.raises(CalendarRangeError):
        holidays_between("china", D(1990, 1, 1), D(1990, 12, 31))
    # whole weeks at the ends of the range are fine (Mon 27 Dec 1999 .. Sun 6 Jan 2061)
    assert holidays_between("china", D(1999, 12, 27), D(2000, 1, 2))
    holidays_between("west", D(2060, 12, 27), D(2061, 1, 2))
    with pytest.raises(KeyError):
        holidays_between("mars", D(2024, 1, 1), D(2024, 1, 7))


def test_holidays_off_works_for_any_period():
    # steady-state checks: weekends only, no library, no range
    c = Calendar.build(D(2050, 1, 3), D(2050, 3, 27), holidays={})
    for name in CALENDARS:
        assert np.all(c.working_share[name] == 1.0)
        assert c.daily_share[name].sum() == 5 * c.n_weeks


@pytest.fixture(scope="module")
def whole_range() -> Calendar:
    return Calendar.build(D(2000, 1, 1), D(2040, 12, 31))


def test_build_2000_to_2040(whole_range):
    c = whole_range
    assert c.weeks[0] == D(1999, 12, 27) and c.weeks[-1] == D(2040, 12, 31)
    assert len(c.months) == 41 * 12
    assert c.month_weights.sum(axis=1) == pytest.approx(np.ones(c.n_weeks))
    for name in CALENDARS:
        s = c.working_share[name]
        assert np.all((s >= 0) & (s <= 1.2))
    for year in range(2000, 2041):
        idx = [i for i, w in enumerate(c.weeks) if w.year == year]
        china = c.working_share["china"][idx]
        # every year has a (nearly) closed Chinese New Year week in late January or February
        low = c.weeks[idx[int(np.argmin(china))]]
        assert china.min() <= 0.4
        # (2006: the May Day golden week, 1-7 May, is as closed)
        assert (D(year, 1, 13) <= low <= D(year, 2, 28)) or low.month == 5, (year, low)
        # and a closed Christmas week abroad
        assert c.working_share["west"][idx].min() == 0.0
        # China works 240-260 days a year (statutory holidays, customary shutdowns at part)
        worked = c.daily_share["china"][[7 * i + k for i in idx for k in range(7)]].sum()
        assert 235 <= worked <= 260


def test_holidays_between_shape_and_clipping():
    hs = holidays_between("china", D(2024, 2, 12), D(2024, 2, 20))
    assert [h["start"] for h in hs] == sorted(h["start"] for h in hs)
    for h in hs:
        assert set(h) <= {"name", "start", "end", "working_share", "makeup"}
        assert D(2024, 2, 12) <= h["start"] <= h["end"] <= D(2024, 2, 20)
    assert {"name": "make-up working day", "start": D(2024, 2, 18), "end": D(2024, 2, 18),
            "working_share": 1.0, "makeup": True} in hs
    assert holidays_between("other", D(2000, 1, 1), D(2040, 12, 31)) == []
    assert holidays_between("china", D(2024, 3, 1), D(2024, 2, 1)) == []


def test_load_holidays_shim_matches_the_calendar(cal):
    # the former call `day_shares(days, load_holidays()[name])` stays right for any period
    table = load_holidays()
    for name in CALENDARS:
        assert day_shares(cal.days, table[name]) == pytest.approx(cal.daily_share[name])
    assert load_holidays(D(2024, 1, 1), D(2024, 12, 31))["china"] == \
        holidays_between("china", D(2024, 1, 1), D(2024, 12, 31))


def test_rules_file_errors_name_the_entry():
    from rechain.calendar import _parse_spec
    with pytest.raises(ValueError, match=r"\[west\] rule 1 from"):
        _parse_spec("west", {"country": "DE", "rule": [{"from": "christmas", "to": "01-01",
                                                        "anchor": "Christmas Day"}]})
    with pytest.raises(ValueError, match="needs an anchor"):
        _parse_spec("west", {"country": "DE", "rule": [{"from": "break_start", "to": "01-01"}]})
    with pytest.raises(ValueError, match="unknown keys"):
        _parse_spec("west", {"country": "DE", "oficial": "all"})
