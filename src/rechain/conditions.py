"""What firms face each week: the scenario's timetables turned into one ``WeekConditions``.

:class:`PolicyTimeline` is built once per run from the scenario (quota batches, export
regimes, trade charges, disruptions, holidays, end-use demand, news, end-of-life flow) and
answers ``conditions(week, mode)``. The *mode* of a week is decided once and read by every
phase: ``RUN`` weeks follow the timetables; ``SPIN_UP`` and ``DRY_RUN`` weeks (before the run
starts) face a neutral world: full working weeks, year-one average demand, no quota limit,
no news, controls, charges, export quotas, end-of-life flow or state reserve.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field, replace

import numpy as np

from .calendar import CALENDARS, Calendar, CalendarRangeError, _next_month
from .config.schema import OUTSIDE_QUOTA_GROUPS, planning_horizon
from .network import ABROAD, FOREIGN, IONIC, KINDS, MYANMAR, OVERSEAS, ROCK, SEP
from .policy import (QUOTA_TYPES, ExportRegimes, FirmWeekTable, QuotaBook, capacity_resets, dated_capacity,
                     dated_multiple, disruption_table, quota_read_days)
from .world import World

__all__ = ["Mode", "WeekConditions", "PolicyTimeline", "WEEKS_PER_YEAR"]

WEEKS_PER_YEAR = 52.18


class Mode(enum.Enum):
    """What kind of week is being stepped."""

    DRY_RUN = "dry run"   # one planning pass per stage while the opening state is laid out
    SPIN_UP = "spin-up"   # ordinary weeks before the start, to settle stocks and order books
    RUN = "run"           # a week of the scenario, recorded


@dataclass(frozen=True)
class WeekConditions:
    """The week as firms see it. Arrays over firms are [N]; over products and regions [P, R]."""

    mode: Mode
    week: int                         # index of the scenario week (0 before the run starts)
    date: dt.date                     # its Monday
    working_share: np.ndarray         # worked share of the firm's weekdays (holidays), [N]
    capacity_share: np.ndarray        # capacity available as a multiple of the firm's own: disruptions, dated capacity, [N]
    disruption_share: np.ndarray      # share of the firm not disrupted (at most 1): what it can still ship, [N]
    dated_share: np.ndarray           # capacity as a multiple of the firm's own from capacity_by_year alone, [N]
    outside_quota_open: np.ndarray    # share of a firm's work outside the quota that crackdowns let through, [N]
    demand_t: np.ndarray              # end users' magnet need this week, t, [N]
    demand_ahead_t: np.ndarray        # their mean weekly need over the weeks they plan ahead, t, [N]
    quota_allowance_t: np.ndarray     # quota a holder may have used by now this year, t REO, [N]
    weeks_left_in_year: float         # weeks from this one to the end of its year, this one included
    quota_year_t_per_wk: np.ndarray   # the year's quota of a holder (known or expected) per week, t REO, [N]
    quota_overdue: np.ndarray         # per quota type: a year's first batch is late, [3] bool
    quota_issued_t: np.ndarray        # per quota type: issued so far (nan: none set), [3]
    imports_count: bool               # imported ore counts against the separation quota
    controls_on: bool                 # some export needs a licence this week
    export_barrier: np.ndarray        # exports need a licence this week (held back by policy), [P, R] bool
    served_from_china: np.ndarray     # per buy pair, the share of its need China may serve: buyers abroad's
                                      # licence approval rate in force, 1 at home and where none is needed, [buys]
    eol_collected_t: float            # end-of-life magnets collected this week at the scheduled rate, t
    eol_available_t: float            # end-of-life magnets reaching recyclers' reach this week, t
    news_on: bool
    export_quotas_on: bool
    landed_factor: np.ndarray         # (1 + export duty)(1 + import tariff) per product and region, [P, R]
    export_duty_factor: np.ndarray    # (1 + China's export duty) per product and region, [P, R]
    export_parity: np.ndarray         # export over domestic price in free trade: duty and freight, [P, R]
    materials_demand_t: np.ndarray    # oxides and metal the regions' buyers need this week, t, [R, P]
    materials_ahead_t: np.ndarray     # their mean weekly need over the weeks they plan ahead, t, [R, P]
    # firms whose dated capacity begins this week: back to their start size, so that the
    # group's capacity is the year's figure
    capacity_reset: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def recording(self) -> bool:
        return self.mode is Mode.RUN


#: the firm groups a scenario may give capacity by year (``capacity_by_year``)
DATED_GROUPS = {"myanmar_holders": MYANMAR, "overseas_miners": ABROAD, "foreign_producers": FOREIGN}


class PolicyTimeline:
    """The scenario's timetables, laid out per week, and the neutral world before the run."""

    def __init__(self, world: World):
        sc, cal, pop = world.scenario, world.calendar, world.firms
        self.world = world
        W, N = cal.n_weeks, pop.n
        self.n_weeks = W
        self.dates = cal.weeks
        self.quota_dates = quota_read_days(cal.weeks, sc.start)
        # per-week values are kept per calendar, demand group and quota holder and spread over
        # the firms when a week is asked for: a [weeks, firms] table costs more to build than
        # a run spends reading it
        self.working_share_by_calendar = np.stack([cal.working_share[c] for c in CALENDARS], axis=1)   # [W, C]
        self.calendar_index = world.calendar_index
        dated = dated_capacity(sc, cal, pop, DATED_GROUPS)
        self.disruption_share = disruption_table(sc, cal, pop, world.stages)
        working_outside = np.zeros(pop.n, bool)     # the miners and plants that work outside the quota at all
        for group in OUTSIDE_QUOTA_GROUPS:
            if getattr(sc.firms, group).outside_share > 0:
                working_outside |= pop.kind == KINDS.index(group.removesuffix("s"))     # rock_miners: rock_miner
        self.outside_quota_open = disruption_table(sc, cal, pop, world.stages, outside_quota=working_outside)
        self.dated_share = dated
        self.capacity_share = self.disruption_share.times(dated)
        self.capacity_resets = capacity_resets(sc, cal, pop, DATED_GROUPS)
        self.start_capacity_share = dated.week(0)     # before the run: the mines that exist at the start
        # end-use demand, per group (sector, region) [W, G]; a firm's is its group's times its share
        self.demand_column = np.where(pop.kind == OVERSEAS, pop.group + len(sc.sectors), pop.group)
        # the schedule end users plan on, run on past the end by the weeks they plan ahead:
        # the same as what they use unless some shock comes unannounced
        ahead_world = world_until(world, sc.end + planning_horizon(sc.behaviour.plan_ahead_weeks))
        surprises = any(not sh.foreseen for s in sc.sectors.values() for sh in s.shocks)
        schedule = demand_table(ahead_world)
        table = schedule[:W]
        planned = demand_table(ahead_world, foreseen_only=True) if surprises else schedule
        year_world = world_until(world, sc.start + dt.timedelta(weeks=53))
        self.first_year_demand = demand_table(year_world)[: min(52, year_world.calendar.n_weeks)].mean(axis=0)
        buyers = self.demand_column >= 0
        self._group_of_firm = np.where(buyers, self.demand_column, 0)
        self._demand_share = np.where(buyers, pop.demand_share, 0.0)
        self.group_demand_t = table
        self.neutral_demand_t = np.where(buyers, self.first_year_demand[self.demand_column] * pop.demand_share, 0.0)
        # what end users plan to build over the coming weeks: their schedule, with the shocks
        # they were told of; a shock nobody announced enters their plans only as it happens
        surprise = np.divide(table, planned[:W], out=np.ones_like(table), where=planned[:W] > 0)
        self.group_demand_ahead_t = ahead_mean(planned, sc.behaviour.plan_ahead_weeks)[:W] * surprise
        # quotas
        self.quota_book = QuotaBook(sc)
        self.quota_firms = {"mining_rock": world.rows[ROCK], "mining_ionic": world.rows[IONIC],
                            "separation": world.rows[SEP]}
        self.quota_type_of_firm = np.full(N, -1)
        for qi, q in enumerate(QUOTA_TYPES):
            self.quota_type_of_firm[self.quota_firms[q]] = qi
        self._lay_out_quotas()
        # export regimes and trade charges
        self.regimes = ExportRegimes.build(sc, cal, world.materials.products, world.regions)
        self.controls_on = self.regimes.controlled.any(axis=(1, 2))
        self._no_barrier = np.zeros(self.regimes.controlled.shape[1:], bool)
        # most weeks no licence is refused: every buy pair may be served, one shared array
        self._all_served = np.ones(world.buys.n)
        self._approval_cut = (self.regimes.approval < 1.0).any(axis=(1, 2))
        self.export_duty_factor, tariff = trade_charge_factors(world)
        self.landed_factor = self.export_duty_factor * tariff
        # the export price over the domestic one when trade flows freely: duty and freight
        freight = np.array([0.0, 0.0, *[r.freight_share for r in sc.regions.values()]])
        self.export_parity = self.export_duty_factor * (1.0 + freight)[None, None, :]
        self.neutral_landed = np.ones(self.landed_factor.shape[1:])
        materials = materials_demand_table(ahead_world)
        self.materials_demand_t = materials[:W]                               # [W, R, P]
        self.materials_ahead_t = ahead_mean(materials, sc.behaviour.plan_ahead_weeks)[:W]
        self.first_year_materials_t = materials_demand_table(year_world)[: min(52, year_world.calendar.n_weeks)] \
            .mean(axis=0)
        self.eol_t = eol_table(world)
        self.eol_available_t = world.scenario.recycling.eol_magnets_t_per_yr / WEEKS_PER_YEAR
        # news
        self.news = NewsTable(world)
        self._ones = np.ones(N)
        self._infinite = np.full(N, np.inf)
        self._no_overdue = np.zeros(len(QUOTA_TYPES), bool)
        self._nan3 = np.full(len(QUOTA_TYPES), np.nan)
        self._no_firms = np.zeros(0, np.int64)

    # ------------------------------------------------------------------------------------
    def conditions(self, week: int, mode: Mode) -> WeekConditions:
        if mode is not Mode.RUN:
            return WeekConditions(
                mode=mode, week=0, date=self.dates[0], working_share=self._ones,
                capacity_share=self.start_capacity_share, disruption_share=self._ones,
                dated_share=self.start_capacity_share, outside_quota_open=self._ones,
                demand_t=self.neutral_demand_t,
                demand_ahead_t=self.neutral_demand_t, quota_allowance_t=self._infinite, weeks_left_in_year=26.0,
                quota_year_t_per_wk=self._first_quota_year_t_per_wk, quota_overdue=self._no_overdue,
                quota_issued_t=self._nan3, imports_count=self._imports_count_at_start, controls_on=False,
                export_barrier=self._no_barrier, served_from_china=self._all_served, eol_collected_t=0.0,
                eol_available_t=0.0, news_on=False, export_quotas_on=False,
                landed_factor=self.neutral_landed, export_duty_factor=self.neutral_landed,
                export_parity=self.neutral_landed,
                materials_demand_t=self.first_year_materials_t, materials_ahead_t=self.first_year_materials_t)
        sc = self.world.scenario
        date = self.dates[week]
        frm = sc.quota_policy.imported_ore_counts_from
        return WeekConditions(
            mode=mode, week=week, date=date,
            working_share=self.working_share_by_calendar[week][self.calendar_index],
            capacity_share=self.capacity_share.week(week),
            disruption_share=self.disruption_share.week(week),
            dated_share=self.dated_share.week(week),
            outside_quota_open=self.outside_quota_open.week(week),
            demand_t=self.group_demand_t[week][self._group_of_firm] * self._demand_share,
            demand_ahead_t=self.group_demand_ahead_t[week][self._group_of_firm] * self._demand_share,
            quota_allowance_t=self.quota_allowance_t.week(week),
            weeks_left_in_year=self._weeks_left_in_year(week),
            quota_year_t_per_wk=self.quota_year_t_per_wk.week(week), quota_overdue=self.quota_overdue[week],
            quota_issued_t=self.quota_issued_t[week], imports_count=frm is not None and date >= frm,
            controls_on=bool(self.controls_on[week]), export_barrier=self.regimes.controlled[week],
            served_from_china=self.world.served_from_china(self.regimes.approval[week])
            if self._approval_cut[week] else self._all_served,
            eol_collected_t=float(self.eol_t[week]),
            eol_available_t=self.eol_available_t, news_on=True, export_quotas_on=bool(sc.export_quotas),
            landed_factor=self.landed_factor[week], export_duty_factor=self.export_duty_factor[week],
            export_parity=self.export_parity[week],
            materials_demand_t=self.materials_demand_t[week], materials_ahead_t=self.materials_ahead_t[week],
            capacity_reset=self.capacity_resets.get(week, self._no_firms))

    def _weeks_left_in_year(self, week: int) -> float:
        """Weeks from the week's quota date to the end of its year (31 December included)."""
        date = self.quota_dates[week]
        return ((dt.date(date.year, 12, 31) - date).days + 1) / 7.0

    def is_new_year(self, week: int) -> bool:
        """The week starts the run or a new calendar year (quota use starts again)."""
        return week == 0 or self.quota_dates[week].year != self.quota_dates[week - 1].year

    # ------------------------------------------------------------------------------------
    def _lay_out_quotas(self) -> None:
        """Allowance and pace per week and firm, issued and overdue per week and type."""
        sc, book = self.world.scenario, self.quota_book
        W, N = self.n_weeks, self.world.n_firms
        holders = np.sort(np.concatenate(list(self.quota_firms.values())))
        column = {q: np.searchsorted(holders, firms) for q, firms in self.quota_firms.items()}
        allowance = np.full((W, holders.size), np.inf)
        year_pace = np.full((W, holders.size), np.inf)
        self.quota_overdue = np.zeros((W, len(QUOTA_TYPES)), bool)
        self.quota_issued_t = np.full((W, len(QUOTA_TYPES)), np.nan)
        shares = {}
        for w, date in enumerate(self.quota_dates):
            if date.year not in shares:
                shares[date.year] = self.quota_shares(date.year)
            share = shares[date.year]
            for qi, q in enumerate(QUOTA_TYPES):
                issued = book.issued(q, date)
                firms, cols = self.quota_firms[q], column[q]
                # the year's quota as the market reads it: this year's total, else last year's
                total = book.total(q, date.year)
                total = book.total(q, date.year - 1) if total is None else total
                if total is not None:
                    year_pace[w, cols] = total * share[firms] / WEEKS_PER_YEAR
                allowance[w, cols] = issued * share[firms] if np.isfinite(issued) else np.inf
                self.quota_overdue[w, qi] = book.overdue(q, date)
                self.quota_issued_t[w, qi] = issued if np.isfinite(issued) else np.nan
        self.quota_allowance_t = FirmWeekTable(holders, allowance, np.inf, N)
        self.quota_year_t_per_wk = FirmWeekTable(holders, year_pace, np.inf, N)
        self._first_quota_year_t_per_wk = self.quota_year_t_per_wk.week(0)
        # the spin-up works the first year's quota shares, which count imported ore for the
        # whole year the rule begins in (quota_shares): it counts the ore as those shares do
        # (had it not, a rule of the start's year let plants separate all of Myanmar's ore on a
        # quota sized for it as well, and the run opened on a glut of Dy: outside audits)
        frm = self.world.scenario.quota_policy.imported_ore_counts_from
        self._imports_count_at_start = frm is not None and frm.year <= self.quota_dates[0].year

    def quota_shares(self, year: int) -> np.ndarray:
        """Each quota holder's share of its type's quota in ``year`` [N] (0 for others).

        Miners share theirs by capacity. The separation quota is split between rock-type and
        ion-adsorption plants by the feed each type can expect that year (MIIT issues both by
        ore type): the mining quota of the type, plus imports of that type once imported ore
        counts; then by capacity within the type."""
        world, book = self.world, self.quota_book
        pop = world.firms
        share = np.zeros(world.n_firms)
        for q in ("mining_rock", "mining_ionic"):
            f = self.quota_firms[q]
            cap = pop.capacity[f]
            share[f] = cap / max(cap.sum(), 1e-12)
        f = self.quota_firms["separation"]
        if f.size == 0:
            return share
        rock = book.total("mining_rock", year)
        ionic = book.total("mining_ionic", year)
        light = pop.light[f]
        cap = pop.capacity[f]
        if rock is None or ionic is None or rock + ionic <= 0 or light.all() or (~light).all():
            share[f] = cap / max(cap.sum(), 1e-12)
            return share
        frm = world.scenario.quota_policy.imported_ore_counts_from
        if frm is not None and frm.year <= year:
            # the imports the year can bring: the groups' capacity in that year (capacity_by_year)
            firms = world.scenario.firms
            overseas = pop.capacity[world.rows[ABROAD]].sum() * dated_multiple(firms.overseas_miners, year)
            myanmar = pop.capacity[world.rows[MYANMAR]].sum() * dated_multiple(firms.myanmar_holders, year)
            rock += overseas * WEEKS_PER_YEAR
            ionic += myanmar * WEEKS_PER_YEAR
        w_light = rock / (rock + ionic)
        share[f] = np.where(light, w_light * cap / cap[light].sum(), (1 - w_light) * cap / cap[~light].sum())
        return share


class NewsTable:
    """Scheduled news: the week each breaks, its signed strength, half-life, the uncertainty
    it adds, and who hears it (by stage and region)."""

    def __init__(self, world: World):
        ev = world.scenario.news
        cal, pop = world.calendar, world.firms
        self.week = np.array([cal.week_of(e.date) for e in ev], dtype=np.int64)
        self.signed_strength = np.array([e.sign * e.strength for e in ev], dtype=float)
        self.half_life_weeks = np.array([e.half_life_weeks for e in ev], dtype=float)
        self.uncertainty = np.array([e.uncertainty for e in ev], dtype=float)
        # who hears an event depends only on a firm's stage and region: keep one row per
        # (stage, region) audience and spread it over the firms
        n_regions = len(pop.region_names)
        audience, self.audience_of_firm = np.unique(pop.stage * n_regions + pop.region, return_inverse=True)
        stage_of = np.array(world.stages)[audience // n_regions]
        region_of = np.array(pop.region_names)[audience % n_regions]
        hear = np.zeros((audience.size, len(ev)))
        for j, e in enumerate(ev):
            st = np.isin(stage_of, e.stages)
            rg = np.ones(audience.size, bool) if "all" in e.regions else np.isin(region_of, e.regions)
            hear[:, j] = st & rg
        self.hear_by_audience = hear       # [audiences, n_events]

    def heard(self, per_event: np.ndarray) -> np.ndarray:
        """What each firm hears of a value per event: the sum over the events it hears, [N]."""
        return (self.hear_by_audience @ per_event)[self.audience_of_firm]

    @property
    def any(self) -> bool:
        return self.week.size > 0


def world_until(world: World, end: dt.date) -> World:
    """The world with its calendar run on from the start to ``end`` (the run's own world when
    the holiday calendars do not reach that far). What firms plan on reaches past the run's
    end — the first year's demand before the run, the weeks they plan ahead in its last
    weeks — and must not depend on where the run stops, or the same seed would give other
    numbers in the months a short run and a long one share. Yearly figures missing for the
    weeks beyond the end are the nearest given (:func:`_nearest_year`)."""
    sc = world.scenario
    # on to the end of the following month: a month the weeks cut off is scaled to its
    # whole from its days inside, which would make the weeks read depend on where it is cut
    end = _next_month(_next_month(end.replace(day=1))) - dt.timedelta(days=1)
    try:
        cal = Calendar.build(sc.start, end, holidays=None if sc.holidays else {})
    except CalendarRangeError:
        return world
    return replace(world, calendar=cal)


def demand_table(world: World, foreseen_only: bool = False) -> np.ndarray:
    """Magnet use per week of each sector and region, t [n_weeks, n_sectors + n_regions].

    A month's use is the year's use / 12 times the month's seasonal factor (normalised
    to mean 1) times shocks (with ``foreseen_only``, only the shocks announced in advance:
    the schedule end users plan on); it is spread over the weeks by the buyers' working days.
    """
    sc = world.scenario
    groups = [(s.units_per_yr, s.magnet_kg_per_unit, s.seasonality,
               [sh for sh in s.shocks if sh.foreseen or not foreseen_only], "china")
              for s in sc.sectors.values()]
    groups += [(r.demand_t_per_yr, None, r.seasonality, [], r.calendar) for r in sc.regions.values()]
    out = np.zeros((world.calendar.n_weeks, len(groups)))
    for gi, group in enumerate(groups):
        out[:, gi] = spread_yearly(world, *group)
    return out


def spread_yearly(world: World, units: dict, kg: dict | None, season: list[float], shocks: list,
                  calendar: str) -> np.ndarray:
    """A yearly figure (units x kg per unit / 1000, or tonnes) per week, t [n_weeks]: a month
    gets the year's twelfth times its seasonal factor (normalised to mean 1) times shocks,
    spread over its days by the calendar's working days."""
    cal = world.calendar
    grid = cal.day_grid
    days, year, month_of_year, month_slot = grid["day"], grid["year"], grid["month_of_year"], grid["month_slot"]
    season = np.array(season) / np.mean(season)
    worked = cal.daily_share[calendar]
    # worked days of each month; the grid's first and last months may be cut off by the weeks
    # (a period starting or ending mid-month): scale those to the whole month, so that the
    # days in the grid get their month's rate, not the whole month's use crammed into them
    month_total = np.bincount(month_slot, weights=worked) * (grid["month_days"] / np.bincount(month_slot))
    per_year = {int(y): units[y] * (kg[y] / 1000.0 if kg is not None else 1.0) for y in units
                if kg is None or y in kg}
    first = int(year[0])
    by_year = np.array([_nearest_year(per_year, y) for y in range(first, int(year[-1]) + 1)])
    t_yr = by_year[year - first]
    mult = np.ones(days.size)
    for sh in shocks:
        inside = (days >= np.datetime64(sh.start)) & (days <= np.datetime64(sh.end))
        mult[inside] *= sh.multiplier
    share = np.divide(worked, month_total[month_slot], out=np.zeros(days.size), where=month_total[month_slot] > 0)
    daily = t_yr / 12.0 * season[month_of_year] * mult * share
    return daily.reshape(cal.n_weeks, 7).sum(axis=1)


def _nearest_year(per_year: dict[int, float], year: int) -> float:
    """The figure of ``year``, else of the nearest year given (the last before it first):
    a run's own years are all given (carried by ``after_last_year``); the weeks beyond its end
    that year-one demand reads may not be."""
    if year in per_year or not per_year:
        return per_year.get(year, 0.0)
    before = [y for y in per_year if y < year]
    return per_year[max(before)] if before else per_year[min(per_year)]


def collection_rate(steps: list[tuple[int, float]], frac_year):
    """The end-of-life collection rate at ``frac_year`` (2024.5: mid-2024; a number or an
    array) of the steps ``(year, rate)`` (``recycling.collection``): each year's rate from its
    1 January, linear between the years given (a ramp), held after the last, none before the
    first.

    >>> collection_rate([(2024, 0.05), (2026, 0.25)], 2025.0), collection_rate([(2025, 0.3)], 2024.5)
    (0.15, 0.0)
    """
    if not steps:
        return 0.0 if np.ndim(frac_year) == 0 else np.zeros(np.shape(frac_year))
    years, rates = np.array(sorted(steps), dtype=float).T
    rate = np.interp(frac_year, years, rates, left=0.0)
    return float(rate) if np.ndim(rate) == 0 else rate


def eol_table(world: World) -> np.ndarray:
    """End-of-life magnets collected per week, t, at :func:`collection_rate`."""
    rc = world.scenario.recycling
    frac_year = np.array([d.year + (d.timetuple().tm_yday - 1) / 365.25 for d in world.calendar.weeks])
    return rc.eol_magnets_t_per_yr * collection_rate([(c.year, c.rate) for c in rc.collection], frac_year) \
        / WEEKS_PER_YEAR


def trade_charge_factors(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Per week, product and region [W, P, R]: (1 + China's export duty) and (1 + the region's
    import tariff on Chinese goods); their product is the landed-price factor."""
    sc, cal = world.scenario, world.calendar
    products, regions = world.materials.products, world.regions
    out = []
    for charges in (sc.export_duties, sc.import_tariffs):
        factor = np.ones((cal.n_weeks, len(products), len(regions)))
        for c in charges:
            pm = np.array([p in c.products for p in products])
            rm = np.array([("all" in c.regions) or (r in c.regions) for r in regions])
            for w, monday in enumerate(cal.weeks):
                if monday + dt.timedelta(days=6) < c.start or (c.end is not None and monday > c.end):
                    continue
                factor[np.ix_([w], pm, rm)] *= 1.0 + c.rate_share
        out.append(factor)
    return out[0], out[1]


def ahead_mean(weekly: np.ndarray, weeks: float) -> np.ndarray:
    """Per week, the mean of ``weekly`` over that week and the ``weeks - 1`` after it (fewer
    at the end of the run), along axis 0."""
    h = max(int(round(weeks)), 1)
    n = weekly.shape[0]
    c = np.concatenate([np.zeros((1, *weekly.shape[1:])), np.cumsum(weekly, axis=0)])
    stop = np.minimum(np.arange(n) + h, n)
    span = (stop - np.arange(n)).reshape(-1, *([1] * (weekly.ndim - 1)))
    return (c[stop] - c[:n]) / span


def materials_demand_table(world: World) -> np.ndarray:
    """Oxides and metal the regions' buyers need per week, t [n_weeks, n_regions, n_products]
    (regions as in ``world.regions``: China and abroad are 0): the year's tonnes spread like
    the region's magnet demand (seasonality, the region's working days)."""
    sc, cal = world.scenario, world.calendar
    products, regions = world.materials.products, world.regions
    out = np.zeros((cal.n_weeks, len(regions), len(products)))
    for ri, (name, r) in enumerate(sc.regions.items()):
        for product, table in r.materials_t_per_yr.items():
            out[:, 2 + ri, products.index(product)] = spread_yearly(world, table, None, r.seasonality, [],
                                                                    r.calendar)
    return out
