"""Policy instruments: quota batches, licence queue, export-control regimes."""

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from rechain.calendar import Calendar
from rechain.materials import PRODUCTS
from rechain.policy import ExportRegimes, LicenceQueue, QuotaBook
from rechain.scenario import ApprovalStep, ExportControl, load_scenario

D = dt.date
BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


@pytest.fixture(scope="module")
def sc():
    return load_scenario(BASELINE)


@pytest.fixture(scope="module")
def book(sc):
    return QuotaBook(sc)


# --------------------------------------------------------------------------- QuotaBook
# Baseline: provisional_share 0.5, advance_share 0.5, late_after_days 45.
# mining_rock totals: 2023 236 000 ; 2024 250 850 (batches 2024-02-06 0.5, 2024-08-20 0.5)
#                     2025 251 000 (2025-06-30 0.5, 2025-09-30 0.5) ; 2026 251 000 (02-10, 08-20)

def test_quota_settings_read_from_baseline(book):
    assert book.provisional_share == 0.5
    assert book.advance_share == 0.5
    assert book.late_after == dt.timedelta(days=45)
    assert book.total("mining_rock", 2024) == 250850
    assert book.total("mining_rock", 2027) is None


def test_issued_before_first_batch_is_provisional(book):
    # 2024-01-15: nothing issued; base = 2023 total 236 000
    # max(0 + 0.5*236000, 0.5*236000) = 118 000, uncapped before the first batch
    assert book.issued("mining_rock", D(2024, 1, 15)) == pytest.approx(118000.0)
    # 2025-05-31: the 2025 batches are late; base = 2024 total 250 850 -> 125 425
    assert book.issued("mining_rock", D(2025, 5, 31)) == pytest.approx(125425.0)


def test_issued_after_first_batch_runs_ahead(book):
    # 2024-02-06 (issue day counts): got = 0.5*250850 = 125 425 ; + 0.5*236000 = 243 425
    # < total 250 850 -> 243 425
    assert book.issued("mining_rock", D(2024, 2, 5)) == pytest.approx(118000.0)
    assert book.issued("mining_rock", D(2024, 2, 6)) == pytest.approx(243425.0)
    # 2025-07-01: got = 125 500 ; + 0.5*250850 = 250 925 < 251 000 -> 250 925
    assert book.issued("mining_rock", D(2025, 7, 1)) == pytest.approx(250925.0)
    # ionic 2025-07-01: got = 9 500 ; + 0.5*19150 = 19 075 > 19 000 -> capped at 19 000
    assert book.issued("mining_ionic", D(2025, 7, 1)) == pytest.approx(19000.0)


def test_issued_in_full_after_last_batch(book):
    assert book.issued("mining_rock", D(2024, 8, 20)) == pytest.approx(250850.0)
    assert book.issued("mining_rock", D(2024, 12, 31)) == pytest.approx(250850.0)
    assert book.issued("separation", D(2025, 9, 30)) == pytest.approx(350000.0)


def test_issued_without_quota_or_previous_year(book):
    assert book.issued("mining_rock", D(2027, 3, 1)) == math.inf
    # 2023 has no 2022 quota: base falls back to its own total 236 000 -> 118 000
    assert book.issued("mining_rock", D(2023, 1, 10)) == pytest.approx(118000.0)


def test_issued_never_decreases_within_a_year(book):
    days = [D(2025, 1, 1) + dt.timedelta(days=i) for i in range(365)]
    vals = [book.issued("separation", d) for d in days]
    assert all(b >= a for a, b in zip(vals, vals[1:]))
    assert vals[-1] == pytest.approx(350000.0)


def test_overdue_2025(book):
    # last year's first batch 2024-02-06 -> expected 2025-02-06 + 45 days = 2025-03-23
    assert not book.overdue("mining_rock", D(2025, 2, 6))
    assert not book.overdue("mining_rock", D(2025, 3, 23))   # not yet late on the day
    assert book.overdue("mining_rock", D(2025, 3, 24))
    assert book.overdue("separation", D(2025, 6, 29))
    assert not book.overdue("mining_rock", D(2025, 6, 30))   # first 2025 batch issued


def test_overdue_other_years(book):
    # 2024: issued 2024-02-06, well before 2023's date + 45 days (2024-05-08)
    assert not book.overdue("mining_rock", D(2024, 1, 15))
    assert not book.overdue("mining_rock", D(2024, 3, 1))
    # 2026: last year's first batch was 2025-06-30, so 2026-02-01 is not late
    assert not book.overdue("mining_rock", D(2026, 2, 1))
    # no previous year / no quota: never overdue
    assert not book.overdue("mining_rock", D(2023, 12, 1))
    assert not book.overdue("mining_rock", D(2027, 12, 1))


def test_overdue_when_last_first_batch_was_29_february(sc):
    # Move the 2024 rock batch to 29 Feb: 2025 expected = 28 Feb + 45 days = 2025-04-14
    s = sc.model_copy(deep=True)
    q = next(q for q in s.quota_policy.quotas if (q.type, q.year) == ("mining_rock", 2024))
    q.batches[0].issued = D(2024, 2, 29)
    b = QuotaBook(s)
    assert not b.overdue("mining_rock", D(2025, 4, 14))
    assert b.overdue("mining_rock", D(2025, 4, 15))


# --------------------------------------------------------------------------- LicenceQueue
def test_licence_queue_hand_worked_due_weeks():
    # min = mode = max = 12 working days -> 12/5 = 2.4 -> 3 weeks ; 0 days -> at least 1 week
    q = LicenceQueue()
    rng = np.random.default_rng(0)
    q.apply(np.array([0, 1]), np.array([5.0, 6.0]), 10, np.array([12.0, 0.0]),
            np.array([12.0, 0.0]), np.array([12.0, 0.0]), rng)
    assert list(q.due) == [13, 11]
    assert q.n_pending == 2
    assert q.t_pending == pytest.approx(11.0)
    assert q.pending_by_edge(3) == pytest.approx([5.0, 6.0, 0.0])


def test_licence_queue_whole_weeks_of_working_days():
    # 25 working days at five a week is exactly 5 weeks: decided in week 10 + 5 = 15
    q = LicenceQueue()
    d = np.full(3, 25.0)
    q.apply(np.arange(3), np.ones(3), 10, d, d, d, np.random.default_rng(1))
    assert list(q.due) == [15, 15, 15]


def test_licence_queue_empty_apply_is_noop():
    q = LicenceQueue()
    q.apply(np.zeros(0, np.int64), np.zeros(0), 3, np.zeros(0), np.zeros(0), np.zeros(0),
            np.random.default_rng(0))
    assert q.n_pending == 0
    e, qty, ok = q.decide(100, np.ones(1), np.random.default_rng(0))
    assert e.size == qty.size == ok.size == 0


def test_licence_queue_decides_each_application_once_and_not_early():
    # 3 edges x 20 applications, week 5, 10..30 working days -> due in weeks 7..11
    # edge 0 always approved (rate 1), edge 1 always refused (rate 0), edge 2 at 0.5
    rng = np.random.default_rng(42)
    n = 20
    edges = np.repeat(np.arange(3), n)
    qty = np.arange(1.0, 3 * n + 1)           # distinct quantities identify applications
    q = LicenceQueue()
    q.apply(edges, qty, 5, np.full(3 * n, 10.0), np.full(3 * n, 20.0), np.full(3 * n, 30.0), rng)
    due = q.due.copy()
    assert due.min() >= 7 and due.max() <= 11
    assert q.n_pending == 3 * n
    approval = np.array([1.0, 0.0, 0.5])

    for week in (5, 6):
        e, _, _ = q.decide(week, approval, rng)
        assert e.size == 0                    # nothing is decided before its due week
    approved, refused, seen = [], [], []
    for week in range(7, 15):
        pending_before = q.qty.copy()
        e, dq, ok = q.decide(week, approval, rng)
        # only applications due by this week come back
        assert np.all(np.isin(dq, qty[due <= week]))
        assert not np.any(np.isin(dq, qty[due > week]))
        assert np.all(np.isin(dq, pending_before))
        assert q.n_pending == pending_before.size - dq.size
        seen += list(dq)
        approved += list(dq[ok])
        refused += list(dq[~ok])
        assert np.all(ok[e == 0]) and not np.any(ok[e == 1])
    # every application decided exactly once; the queue is empty
    assert sorted(seen) == list(qty)
    assert q.n_pending == 0 and q.t_pending == 0.0
    assert set(approved).isdisjoint(refused)
    assert set(qty[edges == 0]) <= set(approved)
    assert set(qty[edges == 1]) <= set(refused)
    # edge 2 at rate 0.5 over 20 draws: both outcomes occur (seeded)
    e2 = set(qty[edges == 2])
    assert e2 & set(approved) and e2 & set(refused)


def test_licence_queue_is_reproducible_with_seed():
    def run(seed):
        rng = np.random.default_rng(seed)
        q = LicenceQueue()
        q.apply(np.arange(10), np.ones(10), 0, np.full(10, 10.0), np.full(10, 30.0),
                np.full(10, 45.0), rng)
        return q.due.copy()
    assert np.array_equal(run(3), run(3))
    d = run(3)
    # 10..45 working days -> 2..9 weeks
    assert d.min() >= 2 and d.max() <= 9


# --------------------------------------------------------------------------- ExportRegimes
@pytest.fixture(scope="module")
def regimes(sc):
    cal = Calendar.build(sc.start, sc.end)
    regions = ["china", "abroad", *sc.regions]
    return cal, regions, ExportRegimes.build(sc, cal, PRODUCTS, regions)


def test_export_regimes_shapes(regimes):
    cal, regions, rg = regimes
    shape = (cal.n_weeks, len(PRODUCTS), len(regions))
    for arr in (rg.controlled, rg.approval, rg.days_min, rg.days_mode, rg.days_max):
        assert arr.shape == shape


def test_magnet_uh_controlled_from_april_2025(regimes):
    # Control starts Fri 2025-04-04; the week's decisions fall by Friday, so the week of
    # Mon 2025-03-31 is the first controlled one, the week of 2025-03-24 is not.
    cal, regions, rg = regimes
    uh, dy, tb = PRODUCTS.index("magnet_uh"), PRODUCTS.index("dy_oxide"), PRODUCTS.index("tb_oxide")
    w0 = cal.week_of(D(2025, 3, 31))
    assert not rg.controlled[:w0, uh].any()
    assert rg.controlled[w0:, uh].all()          # no end date: controlled to the period end
    assert rg.controlled[w0:, dy].all() and rg.controlled[w0:, tb].all()
    assert not rg.controlled[w0 - 1, dy].any()
    # never controlled
    for p in ("prnd_oxide", "prnd_metal", "light_ore", "scrap_std"):
        assert not rg.controlled[:, PRODUCTS.index(p)].any()
    # uncontrolled cells: approval 1, no processing time
    assert np.all(rg.approval[~rg.controlled] == 1.0)
    assert np.all(rg.days_max[~rg.controlled] == 0.0)


def test_magnet_uh_approval_steps_and_processing_days(regimes):
    cal, regions, rg = regimes
    uh = PRODUCTS.index("magnet_uh")
    # Fridays: 2025-04-04 -> 0.5 ; 2025-06-06 -> 0.5 ; 2025-06-13 -> 0.7 (step 06-10) ;
    # 2025-08-01 -> 0.9 (week of Mon 07-28)
    assert np.all(rg.approval[cal.week_of(D(2025, 3, 31)), uh] == 0.5)
    assert np.all(rg.approval[cal.week_of(D(2025, 6, 2)), uh] == 0.5)
    assert np.all(rg.approval[cal.week_of(D(2025, 6, 9)), uh] == 0.7)
    assert np.all(rg.approval[cal.week_of(D(2025, 7, 21)), uh] == 0.7)
    assert np.all(rg.approval[cal.week_of(D(2025, 7, 28)), uh] == 0.9)
    w = cal.week_of(D(2025, 5, 5))
    assert np.all(rg.days_min[w, uh] == 25) and np.all(rg.days_mode[w, uh] == 40)
    assert np.all(rg.days_max[w, uh] == 45)


def test_no_licence_is_approved_before_the_first_approval_step(sc):
    """Licences are required from the control's start; its first approval step says when
    approvals begin, and applications made before it wait for it. That date used to do
    nothing (the first rate applied from the control's start whatever it said), a key that
    passed check without acting (found from outside)."""
    s = sc.model_copy(deep=True)
    s.export_controls[0] = s.export_controls[0].model_copy(update={"approval": [
        ApprovalStep(start=D(2025, 5, 2), rate=0.5), ApprovalStep(start=D(2025, 6, 10), rate=0.7)]})
    cal = Calendar.build(s.start, s.end)
    rg = ExportRegimes.build(s, cal, PRODUCTS, ["china", "abroad", *s.regions])
    uh = PRODUCTS.index("magnet_uh")
    start, first = cal.week_of(D(2025, 3, 31)), cal.week_of(D(2025, 4, 28))     # Fridays 04-04, 05-02
    assert rg.controlled[start:first, uh].all() and np.all(rg.approval[start:first, uh] == 0.0)
    assert np.all(rg.approval[first, uh] == 0.5)
    assert np.all(rg.approval[cal.week_of(D(2025, 6, 9)), uh] == 0.7)
    # processing of an application made on Friday 04-04 starts on 05-02: 28 days, 20 working
    assert np.all(rg.days_min[start, uh] == 25 + 20) and np.all(rg.days_max[first, uh] == 45)


def test_second_regime_overlap_takes_the_strictest(sc):
    # A second regime (magnet_std, magnet_uh), 2025-10-09 .. 2025-11-09, rate 0.85, days
    # 10/25/45, over the April controls. First week: Mon 10-06 (its Friday is 10-10).
    # Last: Mon 11-03 (<= 11-09).
    s = sc.model_copy(deep=True)
    s.export_controls.append(ExportControl(
        name="October expansion", products=["magnet_std", "magnet_uh"], start=D(2025, 10, 9),
        end=D(2025, 11, 9), processing_working_days={"min": 10, "mode": 25, "max": 45},
        approval=[{"start": D(2025, 10, 9), "rate": 0.85}]))
    cal = Calendar.build(s.start, s.end)
    rg = ExportRegimes.build(s, cal, PRODUCTS, ["china", "abroad", *s.regions])
    uh, std = PRODUCTS.index("magnet_uh"), PRODUCTS.index("magnet_std")
    first, last = cal.week_of(D(2025, 10, 6)), cal.week_of(D(2025, 11, 3))
    assert not rg.controlled[first - 1, std].any()
    assert rg.controlled[first:last + 1, std].all()
    assert not rg.controlled[last + 1:, std].any()
    assert np.all(rg.approval[first:last + 1, std] == 0.85)
    assert np.all(rg.days_min[first, std] == 10) and np.all(rg.days_mode[first, std] == 25)
    # magnet_uh under both: lowest rate min(0.9, 0.85), longest days max(25,10), max(40,25)
    assert np.all(rg.approval[first:last + 1, uh] == 0.85)
    assert np.all(rg.days_min[first, uh] == 25) and np.all(rg.days_mode[first, uh] == 40)
    assert np.all(rg.days_max[first, uh] == 45)
    # after the second regime ends magnet_uh is back to the April regime's 0.9
    assert np.all(rg.approval[last + 1, uh] == 0.9)
    assert np.all(rg.approval[first - 1, uh] == 0.9)


def test_overlap_keeps_lowest_rate_whatever_the_order(sc):
    # A later, laxer regime (rate 0.95, US only, days 5/10/20) over the April controls must
    # not raise magnet_uh approval for the US above the April step in force, nor shorten
    # its processing times; other regions are untouched by the extra regime.
    s = sc.model_copy(deep=True)
    s.export_controls.append(ExportControl(
        name="lax extra", products=["magnet_uh"], start=D(2025, 5, 5), end=D(2025, 5, 30),
        regions=["us"], processing_working_days={"min": 5, "mode": 10, "max": 20},
        approval=[{"start": D(2025, 5, 5), "rate": 0.95}]))
    cal = Calendar.build(s.start, s.end)
    regions = ["china", "abroad", *s.regions]
    rg = ExportRegimes.build(s, cal, PRODUCTS, regions)
    uh, us = PRODUCTS.index("magnet_uh"), regions.index("us")
    w = cal.week_of(D(2025, 5, 12))
    assert rg.approval[w, uh, us] == 0.5
    assert (rg.days_min[w, uh, us], rg.days_mode[w, uh, us], rg.days_max[w, uh, us]) == (25, 40, 45)
    # a product controlled only by the extra regime: controlled for the US only, rate 0.95
    s2 = sc.model_copy(deep=True)
    s2.export_controls = [ExportControl(
        name="us only", products=["prnd_metal"], start=D(2025, 5, 5), end=D(2025, 5, 30),
        regions=["us"], approval=[{"start": D(2025, 5, 5), "rate": 0.95}])]
    rg2 = ExportRegimes.build(s2, cal, PRODUCTS, regions)
    pm = PRODUCTS.index("prnd_metal")
    assert rg2.controlled[w, pm, us] and rg2.approval[w, pm, us] == 0.95
    others = [i for i in range(len(regions)) if i != us]
    assert not rg2.controlled[w, pm, others].any()
    assert np.all(rg2.approval[w, pm, others] == 1.0)
    # Fri 2025-05-02 < start 05-05: the week of 04-28 is not controlled; week of 05-26 is
    assert not rg2.controlled[cal.week_of(D(2025, 4, 28)), pm, us]
    assert rg2.controlled[cal.week_of(D(2025, 5, 26)), pm, us]
    assert not rg2.controlled[cal.week_of(D(2025, 6, 2)), pm, us]


def test_catch_up_pace_makes_up_lost_weeks_within_the_multiple():
    from rechain.policy.quotas import catch_up_pace
    # 52 t a year at 1 t/wk, half the year left: on schedule -> 1 t/wk; behind -> more, capped
    assert catch_up_pace(np.array([1.0]), np.array([26.0]), 26.0, 1.5, weeks_per_year=52.0) == pytest.approx([1.0])
    assert catch_up_pace(np.array([1.0]), np.array([20.0]), 26.0, 1.5, weeks_per_year=52.0) == pytest.approx(
        [32.0 / 26.0])
    assert catch_up_pace(np.array([1.0]), np.array([0.0]), 26.0, 1.5, weeks_per_year=52.0) == pytest.approx([1.5])
    # ahead of schedule slows down; the year's share used up stops
    assert catch_up_pace(np.array([1.0]), np.array([39.0]), 26.0, 1.5, weeks_per_year=52.0) == pytest.approx(
        [0.5])
    assert catch_up_pace(np.array([1.0]), np.array([60.0]), 26.0, 1.5, weeks_per_year=52.0) == pytest.approx([0.0])


def test_a_late_batch_stretches_what_is_left_of_the_allowance():
    from rechain.policy.quotas import stretched_room
    # 100 t issued, 60 t used: 40 t left; on time all of it may be used this week
    assert stretched_room(np.array([100.0]), np.array([60.0]), False, 13.0) == pytest.approx([40.0])
    # overdue: a quarter's rationing spreads it, 40 / 13 t this week
    assert stretched_room(np.array([100.0]), np.array([60.0]), True, 13.0) == pytest.approx([40.0 / 13.0])
    # no rationing (0 weeks), or less than a week, takes what is left at once
    assert stretched_room(np.array([100.0]), np.array([60.0]), True, 0.0) == pytest.approx([40.0])
    assert stretched_room(np.array([100.0]), np.array([60.0]), True, 0.5) == pytest.approx([40.0])
    # used beyond the allowance leaves nothing, never a negative room
    assert stretched_room(np.array([100.0]), np.array([120.0]), True, 13.0) == pytest.approx([0.0])


# --- end users' plans: announced shocks are foreseen, others surprise -----------------------
def _planned_nev(foreseen: bool):
    from support import baseline_dict

    from rechain.conditions import PolicyTimeline
    from rechain.randomness import Streams
    from rechain.scenario import scenario_from_dict
    from rechain.world import build_world
    d = baseline_dict()
    d["sectors"]["nev"]["shocks"] = [{"name": "slump", "start": "2025-03-03", "end": "2025-06-29",
                                      "multiplier": 0.5, "foreseen": foreseen}]
    world = build_world(scenario_from_dict(d), Streams(1))
    timeline = PolicyTimeline(world)
    nev = list(d["sectors"]).index("nev")
    start = world.calendar.week_of(dt.date(2025, 3, 3))
    return timeline.group_demand_t[:, nev], timeline.group_demand_ahead_t[:, nev], start


def test_a_surprise_shock_enters_plans_only_when_it_starts():
    need, ahead, start = _planned_nev(foreseen=False)
    told_need, told_ahead, _ = _planned_nev(foreseen=True)
    np.testing.assert_allclose(need, told_need)                      # the same use either way
    # the week before: a surprise is not in the plan; an announced slump already is
    assert ahead[start - 1] > told_ahead[start - 1] * 1.05
    # once it has started, both plan on it (the surprise: as it stands that week)
    assert ahead[start + 2] == pytest.approx(ahead[start + 2 - 4] * 0.5, rel=0.2)
    assert told_ahead[start + 2] < ahead[start - 1] * 0.7


# --------------------------------------------------------------------------- FirmWeekTable
def test_firm_week_table_keeps_only_the_firms_that_differ():
    from rechain.policy import FirmWeekTable
    # 3 weeks, 5 firms; firms 1 and 3 have their own values, the others 1.0
    a = FirmWeekTable(np.array([1, 3]), np.array([[0.5, 1.0], [0.25, 0.0], [1.0, 1.0]]), 1.0, 5)
    assert a.week(1) == pytest.approx([1.0, 0.25, 1.0, 0.0, 1.0])
    b = FirmWeekTable(np.array([3, 4]), np.array([[2.0, 3.0], [2.0, 3.0], [2.0, 3.0]]), 1.0, 5)
    product = a.times(b)
    np.testing.assert_array_equal(product.firms, [1, 3, 4])
    np.testing.assert_allclose(product.dense(), a.dense() * b.dense())
    np.testing.assert_allclose(product.week(0), [1.0, 0.5, 1.0, 2.0, 3.0])


def test_disruption_and_dated_capacity_tables_as_firms_see_them():
    from support import baseline_dict

    from rechain.network import ABROAD
    from rechain.policy import dated_capacity, disruption_table
    from rechain.randomness import Streams
    from rechain.scenario import scenario_from_dict
    from rechain.world import build_world
    d = baseline_dict()
    d["disruptions"] = [{"name": "half the plants, one week", "target": "separation_plants", "start": "2024-03-04",
                         "end": "2024-03-10", "capacity_offline_share": 0.5, "share_of_firms": 0.5}]
    world = build_world(scenario_from_dict(d), Streams(0))
    sc, cal, pop = world.scenario, world.calendar, world.firms
    table = disruption_table(sc, cal, pop, world.stages)
    week = cal.week_of(dt.date(2024, 3, 4))
    plants = np.flatnonzero(pop.stage == world.stages.index("separation_plants"))
    hit = plants[: int(np.ceil(0.5 * plants.size))]
    dense = table.dense()
    assert dense.shape == (cal.n_weeks, pop.n)
    np.testing.assert_allclose(dense[week, hit], 0.5)
    assert (np.delete(dense[week], hit) == 1.0).all() and (dense[week + 1] == 1.0).all()
    # overseas miners' capacity by year, over their capacity at the start
    d["firms"]["overseas_miners"]["capacity_by_year"] = {"2025": 2 * d["firms"]["overseas_miners"]["capacity_t_per_yr"]}
    world = build_world(scenario_from_dict(d), Streams(0))
    dated = dated_capacity(world.scenario, world.calendar, world.firms, {"overseas_miners": ABROAD})
    miners = world.rows[ABROAD]
    np.testing.assert_array_equal(dated.firms, miners)
    assert dated.week(0)[miners] == pytest.approx(1.0)
    assert dated.week(world.calendar.week_of(dt.date(2025, 6, 2)))[miners] == pytest.approx(2.0)
    assert (np.delete(dated.week(60), miners) == 1.0).all()


def test_work_beyond_the_quota_fills_what_the_quota_leaves_up_to_what_gets_through():
    from rechain.policy.quotas import beyond_quota
    cap = np.array([10.0, 10.0, 10.0, 10.0])
    within = np.array([4.0, 4.0, 10.0, 12.0])
    open_t = np.array([3.0, 9.0, 5.0, 5.0])
    # 3 of the 6 left; all 6 left; nothing left at full capacity, nor past it
    assert beyond_quota(cap, within, open_t).tolist() == [3.0, 6.0, 0.0, 0.0]


def test_a_dated_capacity_is_the_groups_capacity_whatever_was_built_or_retired_before():
    """An era author gives Myanmar's capacity for each year as recorded (an outside era of
    2016-2018: 18,000 and 28,000 t REO read 16,353 and 25,118 once the holders had retired
    part of 2016's). From each year given, the group's working capacity is the figure; its
    firms build and retire from there (without it, 2025's would read 59,258)."""
    from support import baseline_dict

    from rechain.model import ChainModel
    from rechain.network import MYANMAR
    from rechain.scenario import scenario_from_dict
    d = baseline_dict()
    start_t = d["firms"]["myanmar_holders"]["capacity_t_per_yr"]
    # 2026 repeats 2025's figure: a year given is the group's capacity, changed or not
    d["firms"]["myanmar_holders"]["capacity_by_year"] = {"2025": 60000, "2026": 60000}
    d["disruptions"] = []        # what a disruption takes offline is not a lack of capacity
    m = ChainModel(scenario_from_dict(d), seed=0)
    holders = m.world.rows[MYANMAR]
    start = m.world.firms.capacity[holders].sum() * 52.18
    seen = {}
    while m.running:
        m.step()
        cond = m.book.cond
        year = cond.date.year
        if year not in seen:   # the first week of each year, after its investment phase
            seen[year] = float((m.firms.capacity_t_per_wk[holders] * cond.capacity_share[holders]).sum() * 52.18)
        if cond.capacity_reset.size:
            assert set(cond.capacity_reset) == set(holders)
    # capacity under construction that comes due in the same week still comes on top
    for year, given in ((2025, 60000), (2026, 60000)):
        assert given * (1 - 1e-9) <= seen[year] <= given * 1.01
    assert seen[2024] == pytest.approx(start, rel=0.05) and start == pytest.approx(start_t, rel=1e-6)
