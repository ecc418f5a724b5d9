"""The weekly calendar: Monday weeks, working shares from holidays, week-to-month split."""

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
    # Week of Mon 2025-01-27, per data/calendar.toml:
    #   Mon 27 Jan: "travel days" 22-27 Jan, working_share 0.5
    #   Tue 28 - Fri 31 Jan: official holiday (28 Jan - 4 Feb), 0
    #   -> (0.5 + 0 + 0 + 0 + 0) / 5 = 0.1
    # (Not exactly 0: the data treats Monday 27 Jan as a half-worked travel day.)
    w = cal.week_of(D(2025, 1, 27))
    assert cal.weeks[w] == D(2025, 1, 27)
    china = cal.working_share["china"]
    assert china[w] == pytest.approx(0.1)
    # Next week: Mon 3, Tue 4 Feb official (0), Wed-Fri 5-7 Feb slow restart (0.6),
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
