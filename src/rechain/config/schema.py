"""The scenario schema: the pydantic models of a scenario file, the checks across keys,
:func:`quiet_variant` and :func:`json_schema`.

Every quantity carries its unit in its key name (``capacity_t_per_yr``,
``half_life_weeks``) or in its schema description, and every date is an ISO date. Reading
files and ``extends`` are in :mod:`rechain.config.loading`; the messages for bad input in
:mod:`rechain.config.errors`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from functools import partial
from typing import Annotated, Any, Callable, Literal

import numpy as np
from pydantic import (AfterValidator, BeforeValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError,
                      WrapValidator, field_validator, model_validator)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ..calendar import CALENDARS, WEEKENDS_ONLY_FIRST, WEEKENDS_ONLY_LAST, supported_range
from ..materials import PRODUCTS

__all__ = ["Scenario", "STAGES", "OUTSIDE_QUOTA_GROUPS", "json_schema", "quiet_variant", "carry_past_last_year",
           "years_without_quota", "year_table_at"]

STAGES = ("miners", "myanmar_holders", "overseas_miners", "separation_plants", "recyclers", "magnet_makers",
          "motor_makers", "overseas_buyers", "state_reserve", "traders", "foreign_producers")

# the years a yearly figure may name: any a period may run in (weekends only, 1950 to 2100)
YEAR_MIN, YEAR_MAX = WEEKENDS_ONLY_FIRST.year, WEEKENDS_ONLY_LAST.year

# Every figure is finite and at most 1e12 (tonnes, yuan, units a year: a million times the
# chain's size), so products of figures stay far from overflow.
BIG = 1e12
# A field's own Field(ge=..., le=...) does not narrow these types (pydantic keeps the last
# bound it is given, the type's), so a narrower range is a type of its own; a test checks
# every field (tests/test_input_bounds.py).
NonNeg = Annotated[float, Field(ge=0, le=BIG)]
Pos = Annotated[float, Field(gt=0, le=BIG)]
Share = Annotated[float, Field(ge=0, le=1)]
Percent = Annotated[float, Field(ge=0, le=100)]
# tonnes a year (capacities, demand, quotas): at most 1e8, some 300 times the world's magnet output
MAX_T_PER_YR = 1e8
Tonnes = Annotated[float, Field(ge=0, le=MAX_T_PER_YR)]
PosTonnes = Annotated[float, Field(gt=0, le=MAX_T_PER_YR)]
# a share that divides by its complement (losses, scrap): never all of it
LossShare = Annotated[float, Field(ge=0, le=0.9)]
# a response to a relative price or margin, used as an exponent or slope
Elasticity = Annotated[float, Field(ge=0, le=10)]
PosElasticity = Annotated[float, Field(gt=0, le=10)]
# a time constant of a model that steps a week at a time: one week to ten years
Weeks = Annotated[float, Field(ge=1, le=520)]
# a stock cover, weeks of flow: up to ten years
CoverWeeks = Annotated[float, Field(gt=0, le=520)]


def _plain_name(name: str) -> str:
    """A list item's name as a reader sees it: capitals and runs of spaces left out."""
    return " ".join(str(name).split()).casefold()


def _year_keys(table: dict, allow_empty: bool = False) -> dict:
    """Yearly tables are keyed by calendar years written as four digits ("2024")."""
    if not table and not allow_empty:
        raise ValueError('at least one year, e.g. { 2024 = ... }')
    problem = year_keys_problem(table)
    if problem:
        raise ValueError(problem)
    return table


def year_keys_problem(keys) -> str:
    """What is wrong with a yearly table's keys ("" if nothing): every key that is no
    four-digit year from ``YEAR_MIN`` to ``YEAR_MAX``, at once (an author fixing one should
    not meet the next on the next check)."""
    bad = [y for y in keys
           if not (isinstance(y, str) and len(y) == 4 and y.isascii() and y.isdigit() and YEAR_MIN <= int(y) <= YEAR_MAX)]
    if not bad:
        return ""
    given = ", ".join(repr(y) for y in bad)
    return f'given the key{"s" if len(bad) > 1 else ""} {given}; allowed: years {YEAR_MIN}-{YEAR_MAX} as keys ("2024")'


def _keys_beside_values(table: object, handler):
    """A yearly table's keys that are no years are told beside its values' mistakes, not
    hidden by them (a nan beside a key '20x5' was told alone, and the key on the next check)."""
    problem = year_keys_problem(table) if isinstance(table, dict) else ""
    if not problem:
        return handler(table)
    try:
        handler(table)
    except ValidationError as e:
        values = [d for d in _details(e) if d["loc"]]       # its own key error (no loc) is told below
        if values:
            raise _with(values, [((), problem)], table) from None
    raise ValueError(problem)


def _details(e: ValidationError) -> list:
    """A validation error's mistakes, to be raised again with others (:func:`_with`)."""
    out = []
    for er in e.errors():
        if er["type"] == "value_error" and "error" not in (er.get("ctx") or {}):
            # one told by a check of ours (:func:`_with`): its message as it was
            out.append(InitErrorDetails(type=PydanticCustomError("value_error", "{m}", {"m": er["msg"]}),
                                        loc=er["loc"], input=er["input"]))
        else:
            out.append(InitErrorDetails(type=er["type"], loc=er["loc"], input=er["input"], ctx=er.get("ctx", {})))
    return out


def _with(details: list, more: list[tuple[tuple, str]], given: Any = None) -> ValidationError:
    """One ValidationError of ``details`` and, beside them, ``more`` as (key path, message),
    each of the value ``given``."""
    return ValidationError.from_exception_data("Scenario", [
        *details, *(InitErrorDetails(type=PydanticCustomError("value_error", "{m}", {"m": m}), loc=loc, input=given)
                    for loc, m in more)])


def _told_beside_fields(checks: Callable[[dict], list[str]]):
    """A model's checks across its keys, told beside its keys' own mistakes: pydantic runs an
    "after" check only once every key is valid, so a bad figure hid a reserve's crossed dates
    or a period's end before its start. ``checks`` reads the raw table (values of the right
    type only) and returns the messages of its after-check, said at the model's own place."""
    def wrap(cls, data, handler):
        try:
            return handler(data)
        except ValidationError as e:
            # the after-check itself, once every key is valid, says all it has to say
            fields_failed = any(er["loc"] for er in e.errors())
            more = checks(data) if isinstance(data, dict) and fields_failed else []
            if not more:
                raise
            raise _with(_details(e), [((), m) for m in more]) from None
    return model_validator(mode="wrap")(classmethod(wrap))


def _dates_of(data: dict, *keys: str) -> list:
    """The values of ``keys`` in a raw table that are dates (ISO text read as a date), else None."""
    out = []
    for k in keys:
        v = _iso_date(data.get(k))
        out.append(v if isinstance(v, dt.date) and not isinstance(v, dt.datetime) else None)
    return out


#: a recipe's figure by year, wt %: each year's value in range and the keys years, told together
#: (a number's range is checked by the recipe)
PrNdYearFigures = Annotated[dict[str, Annotated[float, Field(gt=0, le=60)]], WrapValidator(_keys_beside_values)]
YearFigures = Annotated[dict[str, Annotated[float, Field(ge=0, le=60)]], WrapValidator(_keys_beside_values)]
YearTable = Annotated[dict[str, Tonnes], AfterValidator(_year_keys), WrapValidator(_keys_beside_values)]
PosYearTable = Annotated[dict[str, Pos], AfterValidator(_year_keys), WrapValidator(_keys_beside_values)]
OptYearTable = Annotated[dict[str, Tonnes], AfterValidator(partial(_year_keys, allow_empty=True)),
                         WrapValidator(_keys_beside_values)]


def _iso_date(value: object) -> object:
    """Dates come from TOML as dates; a Python caller may give ISO text (``"2025-04-04"``)."""
    # YYYY-MM-DD only: Python 3.11 also reads week dates (2025-W10-1) and 20250301
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value  # refused below with the usual date message
    return value


def _whole_sign(value: object) -> object:
    """A sign is written 1 or -1: true, 1.0 or -1.0 would pass the literal (True == 1)."""
    if isinstance(value, (bool, float)):
        given = str(value).lower() if isinstance(value, bool) else repr(value)      # as the file spells it
        raise ValueError(f"given {given}; allowed: 1 or -1, written as whole numbers")
    return value


Date = Annotated[dt.date, BeforeValidator(_iso_date)]
Sign = Annotated[Literal[-1, 1], BeforeValidator(_whole_sign)]
ProductName = Literal[PRODUCTS]  # type: ignore[valid-type]
# what separation plants and recyclers sell and may hold back
HeldProduct = Literal["prnd_oxide", "dy_oxide", "tb_oxide", "prnd_metal"]
StageName = Literal[STAGES]  # type: ignore[valid-type]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_default=True, allow_inf_nan=False, strict=True)


# ---------------------------------------------------------------------------------------
# firms
# ---------------------------------------------------------------------------------------
class FirmGroup(_Model):
    count: int = Field(ge=1, le=100_000, description="number of firms of this kind")
    capacity_t_per_yr: PosTonnes = Field(description="total capacity of the group, t of main output per year")
    capacity_spread: float = Field(0.4, ge=0, le=3, description="lognormal sigma of firm sizes (0 = equal)")
    cost_yuan_per_t: NonNeg = Field(0.0, description="variable (cash) cost of processing or mining, yuan per t of output; below it a firm stops")
    capital_cost_yuan_per_t: NonNeg = Field(0.0, description="capital charge and fixed costs per t of output at normal use; with cost_yuan_per_t the full cost that long-run prices answer to")
    investment_share_per_yr: Share = Field(0.0, description="capacity a firm adds per year when it runs full and expects a full-cost margin of 100 % (0: no new capacity)")
    retirement_share_per_yr: Share = Field(0.0, description="capacity a firm retires per year while its price stays below its full cost (0: none)")
    investment_lead_weeks: int = Field(78, ge=1, le=520, description="weeks from an investment decision to new capacity (mines: 5-7 years; plants: 1-2)")


class OutsideQuota(_Model):
    """Work outside the quota (illegal mining or separation), as far as enforcement lets it."""
    outside_quota_share: Share = Field(0.0, description="share of capacity that can work outside the quota (illegal mining, or separation of ore beyond the separation quota) when it pays, on top of the quota's work within capacity")
    enforcement: Share = Field(1.0, description="share of the work outside the quota that enforcement stops (1: none gets through)")

    @property
    def outside_share(self) -> float:
        """Share of capacity that may work outside the quota past enforcement (0: none)."""
        return self.outside_quota_share * (1.0 - self.enforcement)


#: the firm groups that may work outside their quota (their ``[firms.<group>]`` is an OutsideQuota)
OUTSIDE_QUOTA_GROUPS = ("rock_miners", "ionic_miners", "separation_plants")


class Miners(OutsideQuota, FirmGroup):
    """Domestic quota holders; ``capacity_t_per_yr`` in t REO."""
    full_run_margin_share: Annotated[float, Field(gt=0, le=1)] = Field(0.1, description="miners mine at their quota pace (quota_policy.pace_multiple) once the ore price exceeds their cash cost by this share of it; less below, none at a loss")


class MyanmarHolders(FirmGroup):
    """Ore holders outside China's quota; ``capacity_t_per_yr`` is what they can mine, t REO."""
    initial_stock_weeks: Annotated[float, Field(ge=0, le=520)] = Field(4.0, description="ore the holders have stockpiled at the start, weeks of their mining capacity (other firms start with stocks at their targets)")
    holdback_expectation: NonNeg = Field(4.0, description="h_x: offer share falls by this per unit expected price rise")
    holdback_price: NonNeg = Field(1.5, description="h_p: offer share falls by this per unit relative price below the floor")
    price_floor_share: Pos = Field(0.95, description="reservation price below which holders hold back, as a share of the ore's long-run price")
    min_offer_share: Share = Field(0.15, description="f_min: the share of stock always offered")
    storage_weeks: CoverWeeks = Field(26.0, description="holders slow their mining as stock passes this many weeks of output, and stop at twice that")
    normal_utilisation: Share = Field(0.85, description="share of capacity mined at the normal margin (the start price)")
    supply_price_elasticity: Elasticity = Field(0.5, description="mining rate answers the margin over variable cost with this elasticity (0: fixed rate)")
    capacity_by_year: OptYearTable = Field(default_factory=dict, description="dated capacity: from each year given, the group's capacity in t REO per year (mines that open, grow or close, as Myanmar's did from 2017); capacity_t_per_yr before the first")


class OverseasMiners(MyanmarHolders):
    """Rock-type ore mined abroad and shipped to Chinese plants (e.g. US, Australian, Lao
    concentrate); outside China's mining quota; ``capacity_t_per_yr`` in t REO."""
    count: int = Field(0, ge=0, le=100_000, description="number of firms (0 = none)")
    capacity_t_per_yr: Tonnes = Field(0.0, description="what they can mine and ship, t REO per year")
    capacity_by_year: OptYearTable = Field(default_factory=dict, description="dated capacity: from each year given, the group's capacity in t REO per year (mines that start or close); capacity_t_per_yr before the first")


class ForeignProducers(FirmGroup):
    """Mines and separation plants outside China (Lynas in Malaysia, MP Materials in the US,
    ...) that sell oxides and metal to buyers abroad, outside China's quotas and export
    controls. ``capacity_t_per_yr`` is ore separated, t REO per year."""
    count: int = Field(0, ge=0, le=100_000, description="number of firms (0 = none)")
    capacity_t_per_yr: Tonnes = Field(0.0, description="ore they can mine and separate, t REO per year")
    capacity_by_year: OptYearTable = Field(default_factory=dict, description="dated capacity: from each year given, t REO per year")
    ore_type: Literal["rock", "ionic"] = Field("rock", description="the ore they work (its Pr-Nd, Dy and Tb content)")
    metal_share: Share = Field(0.3, description="share of their Pr-Nd made into metal")


class SeparationPlants(OutsideQuota, FirmGroup):
    """``capacity_t_per_yr`` is ore processed, t REO. ``count`` is a setting of the model, not
    only a description of the industry: the baseline's 36 plants are what it was calibrated
    with, and with a handful the run differs at the same capacity (with 6, Pr-Nd oxide about
    15 % cheaper: a small clay plant with a metal line can stand idle behind its metal stock,
    and imported ore beside the quota reaches only the plants linked to its sellers;
    docs/ODD.md section 8). Compare a changed count with the baseline before reading it as
    consolidation."""
    light_share: Share = Field(0.5, description="share of plants processing rock-type ore (the rest ion-adsorption)")
    light_capacity_share: Share = Field(0.75, description="share of separation capacity on rock-type ore")
    holdback_expectation: NonNeg = Field(1.0, description="h_x: plants (and recyclers, who sell the same oxides) offer less oxide per unit expected price rise")
    metal_line_share: Share = Field(0.6, description="share of plants with a metal line (oxide -> Pr-Nd metal)")
    loss_share: LossShare = Field(0.03, description="share of REO lost in separation")
    metal_loss_share: LossShare = Field(0.01, description="share of Pr-Nd lost turning oxide into metal")
    metal_cost_yuan_per_t: NonNeg = Field(15000.0, description="oxide-to-metal conversion cost, yuan/t metal")
    metal_lines_buy_oxide: bool = Field(True, description="plants with a metal line also buy Pr-Nd oxide on the market when their own falls short")
    full_run_margin_share: Annotated[float, Field(gt=0, le=1)] = Field(0.1, description="plants run ore at their quota pace once the basket margin (oxide value less ore and processing cost) reaches this share of the basket; less below it, none at a loss")
    reservation_share: Share = Field(0.9, description="plants (and recyclers) hold oxide back when its price falls below this share of its long-run price")
    reservation_share_by_product: dict[HeldProduct, Share] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="per product the holders sell (prnd_oxide, dy_oxide, tb_oxide, prnd_metal), a reservation share in place of reservation_share: Dy and Tb are most of an ion-adsorption plant's income, so their holders need not hold them back where Pr-Nd's do")
    holdback_price: NonNeg = Field(1.0, description="h_p: plants (and recyclers) offer this much less per unit relative price below their reservation")
    min_offer_share: Share = Field(0.3, description="the share of oxide stock plants (and recyclers) always offer")

    def plants_by_ore(self) -> tuple[int, int]:
        """Plants on rock-type and on ion-adsorption ore: ``light_share`` of them rounded, at
        least one of a type whose share is above 0 and at least one of the other unless it is 1."""
        n_light = int(round(self.count * self.light_share))
        n_light = min(max(n_light, 1 if self.light_share > 0 else 0), self.count - (1 if self.light_share < 1 else 0))
        return n_light, self.count - n_light


class Recyclers(FirmGroup):
    """``capacity_t_per_yr`` is scrap processed, t."""
    recovery_yield: Share = Field(0.92, description="share of the scrap's rare-earth content recovered as oxide")


class Traders(_Model):
    """Stockists and traders: buy and hold oxides and metal while the expected appreciation
    beats the carrying cost, and sell when it does not (competitive storage)."""
    count: int = Field(0, ge=0, le=100_000, description="number of traders (0 = none)")
    storage_t: dict[ProductName, Tonnes] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="total stock all traders together may hold, t per product")
    carrying_cost_pct_per_yr: Percent = Field(8.0, description="interest, storage and insurance, % of the price per year")
    speculation_strength: NonNeg = Field(5.0, description="share of storage filled per unit expected excess return over the horizon")
    capacity_spread: float = Field(0.4, ge=0, le=3, description="lognormal sigma of trader sizes")


class MagnetMakers(FirmGroup):
    """``capacity_t_per_yr`` is sintered blanks, t."""
    scrap_share: LossShare = Field(0.22, description="share of blank mass machined off as scrap (public figure 20-30 %)")
    melt_loss_share: LossShare = Field(0.01, description="share of rare-earth input lost in melting/sintering")
    oxide_feed_share: Share = Field(0.25, description="share of Pr-Nd bought as oxide (toll-converted) instead of metal")
    dy_for_tb_max_share: Share = Field(0.0, description="the most of a recipe's Tb makers replace by Dy when Dy is cheap against Tb (and of it they add back in place of Dy when Tb is cheap), a share of the recipe's Tb (0: fixed mix)")
    dy_per_tb: Annotated[float, Field(gt=0, le=10)] = Field(1.5, description="t of Dy that give a blank the coercivity of 1 t of Tb")
    dy_for_tb_price_elasticity: Elasticity = Field(1.0, description="share of a recipe's Tb replaced by Dy per 1 % rise of the Tb/Dy price ratio over its start, reached over behaviour.thrift_adjust_weeks (a fall: Dy replaced by Tb), within dy_for_tb_max_share")
    cheap_dy_price_elasticity: Elasticity = Field(2.0, description="share of each grade's magnet_recipes.<grade>.cheap_dy_wt_pct makers add per 1 % fall of the Dy oxide price under its start, reached over behaviour.thrift_adjust_weeks (none at or above the start price)")


class Shock(_Model):
    name: str = Field("", description="name; a what-if merges or removes the shock by it")
    start: Date = Field(description="first day of the shock")
    end: Date = Field(description="last day of the shock")
    multiplier: Annotated[float, Field(ge=0, le=100)] = Field(description="multiplies end-product output while active (subsidy > 1, slump < 1)")
    foreseen: bool = Field(False, description="end users see it coming in their production schedule, behaviour.plan_ahead_weeks ahead (an announced policy change); otherwise it surprises them when it starts. A foreseen shock may start up to those weeks after the period ends (it is in the last weeks' plans), and one inherited from an extended file is kept there, so a shorter run's weeks are a longer one's")
    source: str = Field("", description="where the figures come from (free text)")


class Sector(_Model):
    firms: int = Field(ge=1, le=100_000, description="number of motor makers in the sector")
    units_per_yr: PosYearTable = Field(description="end-product output per calendar year, units")
    magnet_kg_per_unit: Annotated[dict[str, Annotated[float, Field(gt=0, le=10_000)]], AfterValidator(_year_keys),
                                  WrapValidator(_keys_beside_values)] = Field(description="finished magnet per unit, kg, per year (at most 10 t)")
    unit_label: str = Field("units", description="what a unit is (vehicles, MW installed): the unit of the sector's shortfall counted in end products (end_products_short in monthly.csv, the sector table of report.html)")
    uh_share: Share = Field(description="share of the sector's magnets that are the high-coercivity Dy/Tb grade")
    price_elasticity: Elasticity = Field(0.0, description="long-run share of the sector's magnet use lost per 1 % rise of the magnet price over its start level (ferrite or induction motors, other designs), reached over behaviour.substitution_adjust_weeks")
    substitutable_share: Share = Field(0.3, description="the most of the sector's magnet use that other technologies can take over")
    seasonality: list[Pos] = Field(default_factory=lambda: [1.0] * 12, description="12 monthly output factors (normalised to mean 1)")
    shocks: list[Shock] = Field(default_factory=list,
                                description="periods when output is multiplied (subsidies, slumps, booms)")
    source: str = Field("", description="where the figures come from (free text)")

    @field_validator("seasonality")
    @classmethod
    def _twelve(cls, v: list[float]) -> list[float]:
        if len(v) != 12:
            raise ValueError(f"needs 12 monthly factors, got {len(v)}")
        return v


#: what buyers abroad may buy besides magnets (regions.<name>.materials_t_per_yr)
TRADED_MATERIALS = ("prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide")


class Region(_Model):
    calendar: Literal[CALENDARS] = Field(description="holiday calendar of the region's buyers")  # type: ignore[valid-type]
    buyers: int = Field(ge=1, le=100_000, description="number of buyer firms in the region")
    demand_t_per_yr: OptYearTable = Field(description="magnets the region's buyers use per year, t")
    uh_share: Share = Field(description="share of the region's demand in the Dy/Tb grade")
    materials_t_per_yr: dict[ProductName, YearTable] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="oxides and metal the region's magnet makers and other users buy per year, t, per product and year (e.g. prnd_metal = { 2024 = 3000 })")
    materials_buyers: int = Field(5, ge=1, le=100_000, description="number of buyers of oxides and metal in the region")
    freight_share: Share = Field(0.0, description="freight and insurance to the region, share of the domestic price: the export price is the domestic price with China's export duty and this, when trade flows freely")
    price_elasticity: Elasticity = Field(0.0, description="share of demand lost per 1 % rise of the landed price (with duties and tariffs) over its start level")
    seasonality: list[Pos] = Field(default_factory=lambda: [1.0] * 12,
                                   description="12 monthly demand factors (normalised to mean 1)")
    source: str = Field("", description="where the figures come from (free text)")

    @field_validator("seasonality")
    @classmethod
    def _twelve(cls, v: list[float]) -> list[float]:
        if len(v) != 12:
            raise ValueError(f"needs 12 monthly factors, got {len(v)}")
        return v


class Firms(_Model):
    rock_miners: Miners = Field(description="rock-type (bastnaesite/monazite) miners holding the mining_rock quota")
    ionic_miners: Miners = Field(description="ion-adsorption clay miners holding the mining_ionic quota")
    myanmar_holders: MyanmarHolders = Field(description="Myanmar ion-adsorption ore holders, outside China's quota")
    overseas_miners: OverseasMiners = Field(
        default_factory=OverseasMiners, description="rock-type ore mined abroad, sold to Chinese plants (default: none)")
    separation_plants: SeparationPlants = Field(
        description="separation plants: ore to Pr-Nd, Dy and Tb oxide (and Pr-Nd metal)")
    recyclers: Recyclers = Field(description="scrap recyclers: NdFeB scrap to oxides")
    magnet_makers: MagnetMakers = Field(description="sintered NdFeB magnet makers")
    traders: Traders = Field(default_factory=Traders, description="stockists who speculate on oxides and metal (default: none)")
    foreign_producers: ForeignProducers = Field(
        default_factory=ForeignProducers, description="mines and separation abroad selling oxides and metal to buyers abroad (default: none)")


# ---------------------------------------------------------------------------------------
# market and behaviour
# ---------------------------------------------------------------------------------------
class LeadTimes(_Model):
    domestic_weeks: int = Field(1, ge=1, le=26, description="shipping time between Chinese firms")
    ore_weeks: int = Field(2, ge=1, le=26, description="domestic ore to separation plants")
    import_weeks: int = Field(3, ge=1, le=26, description="Myanmar ore to Chinese plants")
    export_weeks: int = Field(5, ge=1, le=26, description="China to overseas buyers, by sea")


class Market(_Model):
    initial_price: dict[ProductName, Annotated[float, Field(gt=0, le=1e9)]] = Field(  # type: ignore[valid-type]
        description="price at the start in the market's quoted unit (yuan/t or yuan/kg, see materials)")
    lead_times: LeadTimes = Field(default_factory=LeadTimes, description="shipping times")
    links_per_buyer: int = Field(3, ge=1, le=50, description="suppliers each buyer is linked to, per product")
    links_per_buyer_abroad: int = Field(8, ge=1, le=200, description="suppliers each buyer of oxides and metal abroad is linked to, per product (a few large buyers deal with many exporters)")
    backlog_cancel_share: Share = Field(0.15, description="share of an unfilled backlog buyers cancel each week")
    price_cover_elasticity: dict[ProductName, Elasticity] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="per product, how strongly its price answers its cover (overrides behaviour.price_cover_elasticity / processed_price_cover_elasticity for it): a thin market such as Dy or Tb oxide moves more on the same imbalance")
    normal_cover_weeks: dict[ProductName, Annotated[float, Field(ge=0.05, le=26)]] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="per product, the cover (weeks of the orders its sellers face) its market holds when settled: the balance its price reads a shortage or a glut against. A product left out takes the cover its market holds at the start of the run, after spin-up (within 0.5..26 weeks), so a run that starts short reads its own shortage as normal")


class Behaviour(_Model):
    # expectations (docs/ODD.md, section 7.1)
    trend_smoothing: Share = Field(0.3, description="lambda: weight of the latest weekly log-return in the trend")
    horizon_weeks: Weeks = Field(8.0, description="H: horizon of the expected price change")
    w_trend: NonNeg = Field(1.0, description="weight of the extrapolated price trend")
    w_anchor: NonNeg = Field(0.5, description="weight of the pull back toward the anchor price (fundamentalist)")
    w_news: NonNeg = Field(1.0, description="weight of scheduled news in the expected price change")
    w_social: Share = Field(
        0.4, description="weight of linked firms' expectations (sentiment spreading along the network)")
    noise: Annotated[float, Field(ge=0, le=1)] = Field(0.01, description="sigma of the idiosyncratic expectation shock")
    x_max: Annotated[float, Field(gt=0, le=2)] = Field(0.3, description="bound on the expected relative price change")
    heterogeneity: Annotated[float, Field(ge=0, le=2)] = Field(0.25, description="lognormal sigma of firm-level behavioural parameters")
    # uncertainty
    uncertainty_decay: Share = Field(0.85, description="weekly persistence of uncertainty")
    volatility_weight: NonNeg = Field(1.0, description="uncertainty added per unit |weekly log-return|")
    quota_late_uncertainty: NonNeg = Field(0.15, description="uncertainty added each week a quota batch is overdue")
    # ordering (Sterman anchoring and adjustment)
    # only these stages order to a stock cover (traders and the reserve by their own rules)
    cover_weeks: dict[Literal["separation_plants", "recyclers", "magnet_makers", "motor_makers",
                              "overseas_buyers"], CoverWeeks] = Field(
        default_factory=lambda: {"separation_plants": 6.0, "recyclers": 4.0, "magnet_makers": 5.0,
                                 "motor_makers": 6.0, "overseas_buyers": 10.0},
        description="c0: normal input stock cover, weeks of use")
    restock_strength: NonNeg = Field(3.0, description="kappa_r: target cover rises by this per unit expected rise")
    wait_strength: NonNeg = Field(3.0, description="kappa_w: target cover falls by this per unit expected fall")
    uncertainty_strength: NonNeg = Field(0.6, description="kappa_u: target cover falls by this per unit uncertainty")
    cover_bounds: tuple[float, float] = Field((0.3, 2.5), strict=False, description="target cover bounds as multiples of c0")
    supply_line_weight: Share = Field(0.5, description="beta: share of the supply line managers account for")
    stock_adjust_weeks: Weeks = Field(4.0, description="tau_S: weeks to close a stock gap")
    order_smoothing_weeks: Weeks = Field(3.0, description="L: production follows orders smoothed over this lag")
    usage_smoothing_weeks: Weeks = Field(6.0, description="buyers' expected use is planned use smoothed over this many weeks")
    export_premium_below_cover: Annotated[float, Field(gt=0, le=1)] = Field(0.7, description="buyers abroad bid the export price above parity (domestic price with duty and freight) once their stock falls below this share of its normal cover")
    plan_ahead_weeks: Annotated[float, Field(ge=1, le=52)] = Field(8.0, description="end users plan their use on their production schedule this many weeks ahead (seasonality and known shocks included)")
    finished_cover_weeks: CoverWeeks = Field(3.0, description="sellers' normal finished-goods cover, weeks of orders")
    max_finished_cover_weeks: CoverWeeks = Field(12.0, description="commodity producers (miners, plants, producers abroad) slow down as unsold stock passes this many weeks of their own even-pace output (producers abroad and mining outside the quota: of their working capacity), and stop at twice that")
    finished_adjust_weeks: Weeks = Field(3.0,
                                       description="weeks sellers take to close a gap in their finished-goods cover")
    # pricing
    # market price formation (rules/pricing.py)
    price_cover_elasticity: PosElasticity = Field(0.6, description="s_c: elasticity of the market price of ore, oxides and scrap to its stock cover at normal cover (1: half the cover, about twice the price)")
    processed_price_cover_elasticity: PosElasticity = Field(0.3, description="the same for metal and magnets, whose price is mostly the cost of their inputs passed on")
    scarcity_elasticity_multiple: Annotated[float, Field(ge=1, le=10)] = Field(1.0, description="below normal cover the separated oxides' and metal's prices answer it this many times as steeply as above (a stock cannot fall below zero, so a shortage bites harder than a glut of the same size; Deaton and Laroque 1992); 1: alike")
    price_ceiling_multiple: Annotated[float, Field(gt=1, le=50)] = Field(4.0, description="the most a deficit can multiply the market price over its long-run anchor; also the most the export premium can multiply the export price by where licences, a ban or an export quota hold exports back (the premium is the same balance multiple, read on buyers abroad's cover; docs/ODD.md section 7.8)")
    price_floor_multiple: Annotated[float, Field(gt=0, lt=1)] = Field(0.4, description="the least a glut can multiply the market price by; with the ceiling it sets the balance multiple's shape on both sides (its steepness near normal cover follows from both and the cover elasticity), so it also shapes the export premium where exports are held back (docs/ODD.md sections 7.6, 7.8): 0.95 makes that premium far steeper")
    price_adjust_weeks: Weeks = Field(6.0, description="weeks the market price takes to close its gap to the balance price")
    max_weekly_price_move: Annotated[float, Field(gt=0, le=1)] = Field(0.1, description="cap on the market price's weekly move (0.1 allows x4.5 in four months, as fast as 2011's x4-5 in six; a cap, not a driver: the model does not make the 2011 spike, docs/eras.md). The index reported (`price` in monthly.csv, `weekly_model_vars.csv`) is the volume-weighted mean of what trades at the sellers' asks, which scatter around the market price, so it can move more in a week when the sellers who trade change")
    cover_demand_weeks: Weeks = Field(13.0, description="the market judges cover against orders smoothed over this many weeks (it looks through seasons)")
    shortage_price_exponent: Annotated[float, Field(ge=0, le=3)] = Field(1.0, description="how far the oxides' long-run price rises while what users need exceeds what every supply route can deliver (the entry cap cannot help within the year), and the magnets' while end users want more blanks than the makers' installed lines can make (new lines take investment_lead_weeks): (need / supply) to this power, at most the ceiling multiple; 0: not at all")
    cost_anchor_weeks: Weeks = Field(52.0, description="weeks the expected long-run price takes to move to the marginal supplier's cost")
    # sellers' asks around the market price
    price_cover_response: NonNeg = Field(0.05, description="alpha_c: a seller's ask rises by this per unit log gap between normal and own cover")
    price_expectation_response: NonNeg = Field(0.1, description="alpha_x: a seller's ask rises by this per unit expected change")
    price_utilisation_response: NonNeg = Field(0.1, description="alpha_u: a seller's ask falls by this per unit utilisation below its normal")
    ask_spread: Share = Field(0.1, description="asks stay within this log distance of the market price")
    normal_utilisation_weeks: Weeks = Field(52.0, description="a firm's normal utilisation is its own, smoothed over this many weeks")
    # answers to price
    substitution_adjust_weeks: Weeks = Field(78.0, description="weeks end users take to move toward the substitution the magnet price calls for (1-2 years)")
    thrift_adjust_weeks: Weeks = Field(78.0, description="weeks magnet makers take to move their Dy/Tb and Pr-Nd use per kg toward what prices call for")
    investment_review_weeks: Weeks = Field(13.0, description="firms review capacity every this many weeks")
    price_choice: NonNeg = Field(4.0, description="gamma: buyers' price sensitivity in splitting orders")
    spot_share: Share = Field(0.3, description="share of a domestic buyer's orders placed on the spot market, the rest with its contract suppliers")
    reliability_smoothing: Share = Field(
        0.2, description="weight of the latest fill rate in a buyer's view of a supplier's reliability (a quarter of it, toward full reliability, in weeks nothing is owed on the link)")
    refusal_memory: Share = Field(0.2, description="overseas buyers' weekly update of their licence success rate")

    @field_validator("cover_bounds")
    @classmethod
    def _low_then_high(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 <= v[0] <= 1.0 <= v[1] <= 100.0:
            raise ValueError(f"given [{v[0]:g}, {v[1]:g}]; allowed: [low, high] with 0 <= low <= 1 <= high <= 100 "
                             f"(multiples of the normal cover)")
        return v


# ---------------------------------------------------------------------------------------
# policy
# ---------------------------------------------------------------------------------------
class QuotaBatch(_Model):
    issued: Date = Field(description="date the batch is issued")
    share: Annotated[float, Field(gt=0, le=1)] = Field(description="share of the year's total issued")


class QuotaRevision(_Model):
    date: Date = Field(description="date from which the new total holds")
    total_t: Tonnes = Field(description="the year's total from that date, t")


def _one_per_date(items: str, dates: list[dt.date]) -> None:
    """Dated ``items`` that replace one another (approval steps, quota revisions): no two on
    one date, else ValueError naming the dates."""
    if twice := sorted({d for d in dates if dates.count(d) > 1}):
        raise ValueError(f"{items} must be one per date (the later of a date replaces the earlier, which would "
                         f"act on nothing); given {', '.join(map(str, twice))} more than once")


def _dated_within(items: str, item: str, dates: list[dt.date], year: int, before: bool,
                  one_per_date: bool = False) -> None:
    """A quota's dated ``items`` (batches, revisions) must be in date order and fall in its
    ``year`` (or, with ``before``, the year before); with ``one_per_date`` (items that replace
    one another, as revisions do) no two on one date. ValueError naming the dates at fault."""
    if dates != sorted(dates):
        raise ValueError(f"{items} must be in date order")
    if one_per_date:
        _one_per_date(items, dates)
    if bad := [d for d in dates if not (year - 1 if before else year) <= d.year <= year]:
        allowed = f"the quota's year {year}" + (" or the year before" if before else "")
        raise ValueError(f"given {', '.join(map(str, bad))}; allowed: {item} dates in {allowed}")


def _dated_field(items: str, item: str, dated: str, before: bool, one_per_date: bool = False):
    """A field validator running :func:`_dated_within` on the list field ``items`` (its
    elements' date attribute ``dated``) against the ``year`` field read before it, so that
    an error points at the list's own line."""
    def check(cls, value, info):
        year = info.data.get("year")
        if year is not None:
            _dated_within(items, item, [getattr(v, dated) for v in value], year, before, one_per_date)
        return value
    return field_validator(items)(classmethod(check))


def _each_once(field: str):
    """A field validator: each element of the list field ``field`` given once (a product
    named twice in a control or a cap is a slip: it would act, or count, twice or not at all)."""
    def check(cls, value):
        if twice := sorted({v for v in value if value.count(v) > 1}):
            raise ValueError(f"given {', '.join(map(repr, twice))} more than once; allowed: each of the {field} once")
        return value
    return field_validator(field)(classmethod(check))


class Quota(_Model):
    name: str = Field("", description="optional; default '<type>-<year>' (what-ifs merge quotas by type and year)")
    type: Literal["mining_rock", "mining_ionic", "separation"] = Field(description="which quota")
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX, description="calendar year of the quota")
    total_t: Tonnes = Field(description="the year's quota, t REO")
    batches: list[QuotaBatch] = Field(default_factory=list,
                                      description="issue dates and shares of the year's total, in date order; dates in the year or the year before (a first batch issued in December); none: all on 1 January. Of the year before the run (not simulated) only the total and the first batch's date are read")
    source: str = Field("", description="where the figures come from (free text)")

    # a year's first batch may come in the December before it, never later than the year
    _batches_dated = _dated_field("batches", "batch", "issued", before=True)

    @model_validator(mode="after")
    def _check(self) -> "Quota":
        if not self.name:
            self.name = f"{self.type}-{self.year}"
        if not self.batches:        # as export quotas: all issued on 1 January
            self.batches = [QuotaBatch(issued=dt.date(self.year, 1, 1), share=1.0)]
        if sum(b.share for b in self.batches) > 1.0 + 1e-9:
            raise ValueError("batch shares add up to more than 1")
        return self


class QuotaPolicy(_Model):
    provisional_share: Share = Field(0.5, description="share of last year's quota firms may use before this year's first batch (a floor: at or below advance_share it acts on nothing)")
    advance_share: Share = Field(0.25, description="share of last year's quota firms may run ahead of the batches issued, expecting the next")
    pace_multiple: Annotated[float, Field(ge=1, le=10)] = Field(1.25, description="quota holders aim to use their year's share by year end, making up weeks lost to holidays, disruptions or slumps, but never run faster than this multiple of their even weekly share of the year's quota (last year's until this year's is known)")
    late_after_days: int = Field(45, ge=0, le=365, description="a first batch later than last year's date plus this is overdue")
    overdue_ration_weeks: Annotated[float, Field(ge=0, le=52)] = Field(0.0, description="while a year's first batch is overdue, holders spread what is left of their allowance over this many weeks (each week uses left / weeks) instead of running dry; 0 = no rationing")
    imported_ore_counts_from: Date | None = Field(None, description="from this date imported ore counts against the separation quota, and the quota is shared between rock-type and ion-adsorption plants by their feed with imports (before it, a plant's ore is one blend: a quota that binds holds its imported ore back with the domestic, and a quota of 0 stops it too; docs/ODD.md section 7.11). So in the model the rule mostly moves quota from the rock-type plants to the ion-adsorption ones, which work most of the imports: an earlier date raises Pr-Nd and leaves Dy and Tb a little lower (section 8)")
    quotas: list[Quota] = Field(default_factory=list, description="annual quotas, one per type and year")


class ProcessingDays(_Model):
    min: NonNeg = Field(10, description="shortest processing time, working days")
    mode: NonNeg = Field(30, description="most likely processing time, working days")
    max: NonNeg = Field(45, description="longest processing time, working days")

    @model_validator(mode="after")
    def _order(self) -> "ProcessingDays":
        if not self.min <= self.mode <= self.max:
            raise ValueError("needs min <= mode <= max")
        return self


class ApprovalStep(_Model):
    start: Date = Field(description="date from which this approval rate applies (a step dated before the control's start holds from that start)")
    rate: Share = Field(description="share of licence applications approved (0 = a ban)")


class ExportControl(_Model):
    name: str = Field(min_length=1, description="unique name; a what-if merges or removes the item by it")
    products: list[ProductName] = Field(min_length=1,  # type: ignore[valid-type]
                                        description="products whose exports need a licence")
    start: Date = Field(description="first day licences are required")
    end: Date | None = Field(None, description="last day (none: to the end of the run)")
    regions: list[str] = Field(default_factory=lambda: ["all"], min_length=1,
                               description="destination regions it applies to: 'all' or names under [regions]")
    processing_working_days: ProcessingDays = Field(
        default_factory=ProcessingDays, description="licence processing time, triangular, in working days")
    approval: list[ApprovalStep] = Field(min_length=1, description="approval rate from each date on; applications made from the control's start to its first step wait for it (their processing starts then)")
    source: str = Field("", description="where the figures come from (free text)")
    _products_once = _each_once("products")

    @model_validator(mode="after")
    def _dates(self) -> "ExportControl":
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        d = [a.start for a in self.approval]
        if d != sorted(d):
            raise ValueError("approval steps must be in date order")
        _one_per_date("approval steps", d)
        return self


class Disruption(_Model):
    name: str = Field(min_length=1, description="unique name; a what-if merges or removes the item by it")
    target: StageName = Field(description="stage whose capacity is cut")  # type: ignore[valid-type]
    start: Date = Field(description="first day of the disruption")
    end: Date = Field(description="last day of the disruption")
    capacity_offline_share: Share = Field(description="share of the target's capacity offline")
    ore_type: Literal["all", "rock", "ionic"] = Field("all", description="miners and plants of this ore type only (one province's suspension: ionic)")
    regions: list[str] = Field(default_factory=lambda: ["all"], min_length=1, description="firms in these regions only: 'all', 'china', 'abroad' or names under [regions]")
    share_of_firms: Annotated[float, Field(gt=0, le=1)] = Field(1.0, description="the share of the stage's firms hit (a group of firms), the first in the stage's order; the rest run on")
    outside_quota_only: bool = Field(False, description="a crackdown on illegal mining or separation: the share is taken from the work outside the quota only (target miners or separation_plants, where that group works outside it: outside_quota_share above 0, enforcement below 1); the quota's work runs on; share_of_firms counts only the firms that work outside it")
    source: str = Field("", description="where the figures come from (free text)")

    @model_validator(mode="after")
    def _dates(self) -> "Disruption":
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class NewsEvent(_Model):
    name: str = Field(min_length=1, description="unique name; a what-if merges or removes the item by it")
    date: Date = Field(description="the day the news breaks (within start..end)")
    sign: Sign = Field(description="1: prices expected to rise; -1: to fall")
    strength: NonNeg = Field(description="a: expected relative price change the news implies")
    half_life_weeks: Annotated[float, Field(gt=0, le=520)] = Field(4.0, description="weeks for the news' effect to halve")
    uncertainty: float = Field(0.0, ge=-1, le=1, description="uncertainty the news adds (or, negative, removes) for those who hear it")
    stages: list[StageName] = Field(default_factory=lambda: list(STAGES), min_length=1,  # type: ignore[valid-type]
                                    description="stages whose firms hear it")
    regions: list[str] = Field(default_factory=lambda: ["all"], min_length=1,
                               description="regions whose firms hear it: 'all', 'china' or names under [regions]")
    source: str = Field("", description="where the figures come from (free text)")


class Recipe(_Model):
    """Rare-earth content of a magnet grade, metal wt % of the sintered blank. Each figure is
    a number or a table by year (linear between the years given, held outside them); Pr-Nd,
    Dy and Tb together are at most 100 in every year."""
    # a number or a table by year: a number's range is checked by _pct (a union would report each
    # branch), a table's year by year by its type (told beside its keys that are no years)
    prnd_wt_pct: float | PrNdYearFigures = Field(description="Pr-Nd, wt % (an NdFeB magnet has some)",
                                                  json_schema_extra={"allowed": "> 0, <= 60"})
    dy_wt_pct: float | YearFigures = Field(0.0, description="Dy, wt %", json_schema_extra={"allowed": ">= 0, <= 60"})
    tb_wt_pct: float | YearFigures = Field(0.0, description="Tb, wt %", json_schema_extra={"allowed": ">= 0, <= 60"})
    min_prnd_share: Share = Field(1.0, description="least share of the recipe's Pr-Nd that Ce substitution can leave (1: none possible)")
    min_heavy_share: Share = Field(1.0, description="least share of the recipe's Dy and Tb that grain-boundary diffusion and thrifting can leave (1: none possible)")
    thrift_price_elasticity: Elasticity = Field(0.0, description="share of the substitutable Pr-Nd (Dy/Tb) given up per 1 % rise of its price over the start (long run); as much added back per 1 % fall, up to max_added_share")
    max_added_share: Share = Field(0.5, description="when the input is cheaper than at the start, the most of the substitutable content makers add back (less Ce, bulk Dy instead of diffusion), as a share of it")
    cheap_dy_wt_pct: Annotated[float, Field(ge=0, le=10)] = Field(0.0, description="Dy, wt %, makers alloy into the grade when Dy oxide is cheaper than at the start (mid grades made with bulk Dy for heat resistance), at most; taken only from Dy left over once every grade's own recipe is served, so it never holds output back (firms.magnet_makers.cheap_dy_price_elasticity: how far)")
    source: str = Field("", description="where the figures come from (free text)")

    @field_validator("prnd_wt_pct", "dy_wt_pct", "tb_wt_pct")
    @classmethod
    def _pct(cls, v, info):
        low = 0.0 if info.field_name == "prnd_wt_pct" else None     # None: 0 itself allowed
        for x in (v.values() if isinstance(v, dict) else [v]):
            if not (x > 0.0 if low is not None else x >= 0.0) or not x <= 60.0:
                raise ValueError(f"given {x:g}; allowed: a wt % {'> 0' if low is not None else '>= 0'} and <= 60"
                                 + (" (a magnet without Pr-Nd is no NdFeB magnet)" if low is not None else ""))
        if isinstance(v, dict):
            _year_keys(v)
        return v

    @model_validator(mode="after")
    def _sum(self) -> "Recipe":
        # a blank is mostly iron and boron: its rare earths cannot weigh more than all of it.
        # Year tables are linear between their years, so the sum is largest in one of them
        figures = (self.prnd_wt_pct, self.dy_wt_pct, self.tb_wt_pct)
        years = sorted({int(y) for v in figures if isinstance(v, dict) for y in v})
        for year in years or [0]:
            at = [float(year_table_at(v, year)) for v in figures]
            if sum(at) > 100.0:
                raise ValueError(f"given prnd_wt_pct + dy_wt_pct + tb_wt_pct = {' + '.join(f'{x:g}' for x in at)} = "
                                 f"{sum(at):g}{f' in {year}' if years else ''}; allowed: a sum of at "
                                 f"most 100 (wt % of the whole blank, which is mostly iron and boron)")
        return self


def year_table_at(figure: float | dict[str, float], when):
    """A figure given as a number or a table by year, at the fractional year(s) ``when``
    (2025.0 is the start of 2025): linear between the years given, held outside them."""
    if not isinstance(figure, dict):
        return np.full(np.shape(when), float(figure))
    points = sorted((int(y), float(v)) for y, v in figure.items())
    return np.interp(when, [y for y, _ in points], [v for _, v in points])


class MagnetRecipes(_Model):
    """Recipes of the two grades; missing ones keep the materials table's defaults."""
    magnet_std: Recipe | None = Field(None, description="standard grade (no Dy/Tb)")
    magnet_uh: Recipe | None = Field(None, description="high-coercivity grade (52UH, Dy/Tb-bearing)")


class CollectionStep(_Model):
    year: int = Field(
        ge=YEAR_MIN, le=YEAR_MAX, description="year from whose start this rate holds (linear between years)")
    rate: Share = Field(description="share of end-of-life magnets collected from this year on")


class Recycling(_Model):
    eol_magnets_t_per_yr: Tonnes = Field(0.0, description="magnets in products reaching end of life per year, t")
    collection_price_elasticity: Elasticity = Field(0.0, description="collection answers the scrap price: (price / start price) to this power times the scheduled rate, so it rises when scrap is dearer than at the start and falls when it is cheaper (0: the schedule)")
    max_collection_rate: Share = Field(0.9, description="the most of end-of-life magnets collection can reach, however dear scrap is")
    collection: list[CollectionStep] = Field(
        default_factory=list, description="share of end-of-life magnets collected and sold to recyclers, by year")

    @model_validator(mode="after")
    def _order(self) -> "Recycling":
        years = [c.year for c in self.collection]
        if years != sorted(set(years)):
            raise ValueError("collection steps must be in year order, one per year")
        return self


class ExportQuota(_Model):
    name: str = Field(min_length=1, description="unique name; a what-if merges or removes the item by it")
    products: list[ProductName] = Field(min_length=1,  # type: ignore[valid-type]
                                        description="products counted against the cap")
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX, description="calendar year of the cap")
    total_t: Tonnes = Field(description="tonnes of these products that may be exported in the year")
    batches: list[QuotaBatch] = Field(default_factory=list, description="issue dates and shares of the year's cap, in date order, in the year or the year before (counted from 1 January; none: all on 1 January)")
    revisions: list[QuotaRevision] = Field(default_factory=list, description="the year's cap from a date on (a cut or a rise mid-year), in date order")
    source: str = Field("", description="where the figures come from (free text)")
    _products_once = _each_once("products")

    # a year's first batch may be issued before the year (MOFCOM issued 2011's first export
    # quota batch on 28 December 2010); it counts from 1 January. Revisions change the year's
    # cap within the year.
    _batches_dated = _dated_field("batches", "batch", "issued", before=True)
    _revisions_dated = _dated_field("revisions", "revision", "date", before=False, one_per_date=True)

    @model_validator(mode="after")
    def _check(self) -> "ExportQuota":
        if sum(b.share for b in self.batches) > 1.0 + 1e-9:
            raise ValueError("batch shares add up to more than 1")
        return self


class TradeCharge(_Model):
    """An ad-valorem charge on China's exports (an export duty) or on a region's imports from
    China (a tariff). Charges in force on the same day multiply, (1 + a)(1 + b): an item with
    a new name adds a charge to the inherited ones; to change an inherited one, give its name."""

    name: str = Field(min_length=1, description="unique name; a what-if merges or removes the item by it")
    products: list[ProductName] = Field(min_length=1, description="products charged")  # type: ignore[valid-type]
    regions: list[str] = Field(default_factory=lambda: ["all"], min_length=1, description="buyer regions it applies to")
    start: Date = Field(description="first day in force")
    end: Date | None = Field(None, description="last day in force (none: to the end)")
    # at most 5 (500 %): the highest rates on record (145 % on US imports from China in April
    # 2025) stay within, a 25 meant as 25 % does not
    rate_share: Annotated[float, Field(ge=0, le=5)] = Field(description="ad-valorem rate, share of the price (0.25 = 25 %; 1.45 = 145 %)")
    source: str = Field("", description="where the figures come from (free text)")
    _products_once = _each_once("products")

    @model_validator(mode="after")
    def _dates(self) -> "TradeCharge":
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Stockpile(_Model):
    """A state reserve that buys when prices dip below their long-run anchor (the cost of
    the marginal supplier) and releases when they climb above it."""
    products: list[ProductName] = Field(default_factory=list,  # type: ignore[valid-type]
                                        description="products the reserve trades (empty: no reserve)")
    start: Date | None = Field(None, description="first day the reserve acts (none: from the start)")
    end: Date | None = Field(None, description="last day the reserve acts (none: to the end)")
    buy_below_share: Pos = Field(0.9, description="buys while the market price is below this share of its long-run anchor, the more the deeper the dip: its whole buying rate once the price is the band's width (sell_above_share - buy_below_share of the anchor) below it")
    sell_above_share: Pos = Field(1.25, description="releases while the market price is above this share of its long-run anchor, the more the higher: its whole release rate once the price is the band's width above it")
    buy_t_per_yr: dict[ProductName, Tonnes] = Field(default_factory=dict,  # type: ignore[valid-type]
                                                    description="most the reserve buys per product, t per year (in a dip the band's width deep or deeper)")
    max_stock_t: dict[ProductName, Tonnes] = Field(default_factory=dict,  # type: ignore[valid-type]
                                                   description="largest stock the reserve holds, t")
    initial_stock_t: dict[ProductName, Tonnes] = Field(default_factory=dict,  # type: ignore[valid-type]
                                                       description="stock the reserve starts with, t")
    release_t_per_yr: dict[ProductName, Tonnes] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="most the reserve releases per year, t per product, in a spike the band's width high or higher (absent: all its stock may go at once)")
    source: str = Field("", description="where the figures come from (free text)")
    _products_once = _each_once("products")

    @model_validator(mode="after")
    def _band(self) -> "Stockpile":
        mistakes = _reserve_mistakes(self.buy_below_share, self.sell_above_share, self.start, self.end)
        if len(mistakes) == 1:
            raise ValueError(mistakes[0])
        if mistakes:        # both told at once, each at its own key (config.errors)
            raise _with([], [((), m) for m in mistakes])
        return self

    _also = _told_beside_fields(lambda d: _reserve_mistakes(
        *(_number(d.get(k, Stockpile.model_fields[k].default)) for k in ("buy_below_share", "sell_above_share")),
        *_dates_of(d, "start", "end")))


def _number(v: object) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _reserve_mistakes(buy_below, sell_above, start, end) -> list[str]:
    """A state reserve's crossed keys (None: a value not known)."""
    mistakes = []
    # a reserve buying above the price it sells at would buy and release the same tonnes
    if buy_below is not None and sell_above is not None and buy_below >= sell_above:
        mistakes.append(f"buy_below_share {buy_below:g} is not below sell_above_share "
                        f"{sell_above:g}; allowed: a band, buying below the price it releases above")
    if start is not None and end is not None and end < start:
        mistakes.append(f"end {end} is before start {start}")
    return mistakes


class AfterLastYear(_Model):
    """How yearly figures (sector output and magnet use per unit, regions' demand, quotas)
    continue past the last year a file gives, so a scenario can run to any end date."""
    rule: Literal["hold", "grow"] = Field("hold", description="hold: repeat the last year's figure; grow: grow it by growth_pct_per_yr")
    growth_pct_per_yr: float = Field(0.0, ge=-50, le=50, description="yearly growth of carried figures under rule = \"grow\" (magnet use per unit is held)")
    quota_growth_pct_per_yr: float | None = Field(None, ge=-50, le=50, description="yearly growth of carried quotas, whatever the rule (none: as the other figures; 0 with rule = \"grow\": demand grows, quotas held)")


class Scenario(_Model):
    name: str = Field(description="scenario name, used for output folders (default: the file's stem)")
    description: str = Field("", description="one line on what the scenario is")
    question: str = Field("", description="the question this scenario answers")
    start: Date = Field(description="first day of the period reported; the model steps whole weeks, Monday to Sunday, from the Monday on or before it")
    end: Date = Field(description="last day of the period reported, after the start (a period is two days or more); the last week simulated is the one holding it, whole (a week that straddles start or end is run whole and its flows reported in the period's months, split over its days inside the period by China's working days)")
    firms: Firms = Field(description="the firm population by kind")
    sectors: dict[str, Sector] = Field(description="domestic end-use sectors (motor makers), by name")
    regions: dict[str, Region] = Field(description="overseas buyer regions, by name (any name but 'china', 'all', 'abroad' and 'overseas', which rechain reserves)")
    market: Market = Field(description="start prices, lead times and network links")
    behaviour: Behaviour = Field(default_factory=Behaviour,
                                 description="behavioural parameters: expectations, ordering, pricing")
    quota_policy: QuotaPolicy = Field(default_factory=QuotaPolicy, description="mining and separation quotas")
    export_controls: list[ExportControl] = Field(default_factory=list, description="licence regimes on exports")
    disruptions: list[Disruption] = Field(default_factory=list, description="supply disruptions (capacity offline)")
    news: list[NewsEvent] = Field(default_factory=list, description="scheduled news events")
    recycling: Recycling = Field(default_factory=Recycling, description="end-of-life magnet collection")
    export_quotas: list[ExportQuota] = Field(default_factory=list, description="yearly caps on exports; where two caps of a year cover one product, each holds for its own products, so the tighter binds (check says so)")
    export_duties: list[TradeCharge] = Field(default_factory=list, description="China's duties on exports")
    import_tariffs: list[TradeCharge] = Field(default_factory=list, description="buyer regions' tariffs on Chinese goods")
    stockpile: Stockpile = Field(default_factory=Stockpile,
                                 description="a state reserve that buys in price dips and sells in spikes")
    prnd_reduction_std: Share = Field(0.0, description="share of Pr-Nd in the standard grade replaced by Ce from the start (on top of what prices call for)")
    magnet_recipes: MagnetRecipes = Field(default_factory=MagnetRecipes, description="rare-earth content of each magnet grade, and how far it can be thrifted")
    after_last_year: AfterLastYear | None = Field(None, description="carry yearly figures past the last year given (absent: every simulated year must be given)")
    spin_up_weeks: int = Field(26, ge=0, le=520, description="ordinary weeks run before the start to settle stocks and order books")
    holidays: bool = Field(True, description="apply the holiday calendars (false: weekends only, for steady-state checks)")
    facts_file: str | None = Field(None, description="facts table (CSV, as src/rechain/data/facts.csv) that `rechain validate` holds this scenario to, relative to the file (none: the package's 2024-2025 facts)")
    _files: list[str] = PrivateAttr(default_factory=list)

    @field_validator("facts_file")
    @classmethod
    def _a_file(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("given an empty string; allowed: a CSV file's path relative to the scenario, or no "
                             "facts_file at all (the package's 2024-2025 facts)")
        return v

    @field_validator("name")
    @classmethod
    def _folder_safe(cls, v: str) -> str:
        """The name becomes part of an output folder's name: one plain path component."""
        if not folder_safe(v):
            raise ValueError(f"given {v!r}; allowed: {NAME_ALLOWED}")
        return v
    _carried: list[str] = PrivateAttr(default_factory=list)
    _planned_past_end: str = PrivateAttr(default="")     # the demand carried only for the weeks planned past the end
    _dropped: list[str] = PrivateAttr(default_factory=list)

    _period_also = _told_beside_fields(lambda d: _period_mistakes(*_dates_of(d, "start", "end")))

    @model_validator(mode="after")
    def _cross_checks(self) -> "Scenario":
        first, last = supported_range() if self.holidays else (WEEKENDS_ONLY_FIRST, WEEKENDS_ONLY_LAST)
        allowed = (f"{first} to {last} (or {WEEKENDS_ONLY_FIRST} to {WEEKENDS_ONLY_LAST} with holidays = false: "
                   "weekends only)" if self.holidays else f"{first} to {last} with holidays = false")
        outside = [((key,), "invalid", f"given {day}, outside the years "
                    f"{'the holiday calendars cover' if self.holidays else 'supported'}; allowed: {allowed}")
                   for key, day in (("start", self.start), ("end", self.end)) if not first <= day <= last]
        if outside:     # figures are not carried into years the model cannot simulate
            raise _Problems(outside)
        if self.after_last_year is not None and self.end > self.start:
            self._carried, self._planned_past_end = carry_past_last_year(self)
        problems = _cross_problems(self)
        if self.end > self.start:       # without a period, the other checks would only echo that
            problems += _extra_problems(self)
        if problems:
            raise _Problems(problems)
        return self


class _Problems(ValueError):
    """Every inconsistency of a scenario found by the whole-scenario checks, raised at once.

    ``problems`` holds, each, either a message naming its own key path (parsed by
    :func:`_cross_check`) or a ``(key path, kind, text)`` tuple.
    """

    def __init__(self, problems: list):
        super().__init__("; ".join(p if isinstance(p, str) else p[2] for p in problems))
        self.problems = problems


# names of regions with a meaning of their own (in `regions = [...]` lists and the outputs' region column)
RESERVED_REGIONS = {"china": "China's domestic market", "all": "every region", "abroad": "every region outside China",
                    "overseas": "all buyers abroad together, in the outputs' orders and licence rows"}
_TABLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")


def _table_name_problem(name: str, reserved: dict[str, str], suffix: str) -> str | None:
    """Why a sector's or region's name cannot serve (it is a column value of every output and a
    selection in facts tables, where ``*`` means any and ``a+b`` several), else None."""
    if name.lower() in reserved:   # they already mean something in `regions = [...]` and in the outputs
        word = name.lower()
        return f"which rechain reserves ({reserved[word]}); allowed: any other name, such as {word}_{suffix}"
    if not _TABLE_NAME.fullmatch(name):
        return ("which cannot name a column value; allowed: letters, digits, _ and -, starting with a letter "
                "or digit (no spaces, *, + or commas)")
    return None


#: lists of named items whose names reach the outputs and the messages
NAMED_ITEMS = ("news", "disruptions", "export_controls", "export_quotas", "export_duties", "import_tariffs")


def _item_name_problems(sc) -> list:
    """An item's name with a control character (a line break, a tab, a terminal code) breaks
    the one-line messages and the outputs' rows it names; an export quota's name is the
    ``product`` of its rows in ``monthly.csv``, where a facts table selects with ``*`` (any)
    and ``a+b`` (several), so it holds neither."""
    out = []
    items = [(field, i, item.name) for field in NAMED_ITEMS for i, item in enumerate(getattr(sc, field))]
    items += [(f"sectors.{sname}.shocks", i, shock.name) for sname, s in sc.sectors.items()
              for i, shock in enumerate(s.shocks)]
    for field, i, name in items:
        odd = list(dict.fromkeys(c for c in name if not c.isprintable()))
        if odd:
            out.append(((*field.split("."), i, "name"), "invalid",
                        f"given {name!r}, which holds {', '.join(repr(c) for c in odd)}; allowed: printable characters "
                        f"(a line break, tab or terminal code would break the messages and output rows it names)"))
    for i, quota in enumerate(sc.export_quotas):
        if ("+" in quota.name or "*" in quota.name) and quota.name.isprintable():     # else said above
            out.append((("export_quotas", i, "name"), "invalid",
                        f"given {quota.name!r}; allowed: a name without + or * (it is the product of the quota's "
                        f"rows in monthly.csv, where a facts table selects with * for any and a+b for several)"))
    return out


#: the longest scenario name (it goes into output folder names)
NAME_MAX_CHARS = 100
NAME_ALLOWED = (f"1 to {NAME_MAX_CHARS} printable characters, not starting with '.' or a space nor ending with a "
                "space, and without / \\ : * ? \" < > | (the name goes into output folder names)")


def folder_safe(name: str) -> bool:
    """True when ``name`` can name an output folder: one plain path component."""
    return 1 <= len(name) <= NAME_MAX_CHARS and not name.startswith((".", " ")) and not name.endswith(" ") and \
        not any(c in '/\\:*?"<>|' or not c.isprintable() for c in name)


def derived_name(name: str, suffix: str) -> str:
    """A scenario name made from another by a suffix ("_calibrated"), cut to stay a name.

    >>> len(derived_name("a" * 95, "_calibrated")), derived_name("base", "_calibrated")
    (100, 'base_calibrated')
    """
    return name[:NAME_MAX_CHARS - len(suffix)].rstrip() + suffix


def stem_unfit(stem: str) -> str:
    """What is wrong when a file without a ``name`` key has a stem that cannot name a folder."""
    return (f"not given, and the file name's stem {stem!r} cannot serve as one; allowed: a name = \"...\" line in "
            f"the file ({NAME_ALLOWED}), or a file name whose stem is one")


def _tables_named(keys: list[str]) -> str:
    """Yearly tables' dotted keys, every one, grouped by their kind of table (an era's author
    must give each of them, so none may hide behind "and 19 more").

    >>> _tables_named(["sectors.nev.units_per_yr", "sectors.nev.magnet_kg_per_unit", "sectors.wind.units_per_yr",
    ...                "sectors.wind.magnet_kg_per_unit", "regions.eu.demand_t_per_yr"])
    'units_per_yr and magnet_kg_per_unit of sectors nev and wind; demand_t_per_yr of regions eu'
    """
    by_field: dict[tuple[str, str], list[str]] = {}
    for key in keys:
        table, name, *rest = key.split(".") if key.count(".") >= 2 else (key, "", "")
        by_field.setdefault((table, ".".join(rest)), []).append(name)
    by_names: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (table, field), names in by_field.items():
        by_names.setdefault((table, tuple(names)), []).append(field)

    def listed(items) -> str:
        items = list(items)
        return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
    return "; ".join(f"{listed(fields)} of {table} {listed(names)}" for (table, names), fields in by_names.items())


def _lacking_years(lacking: list, start: dt.date) -> list:
    """A problem per yearly table that lacks years of the period; but where more than three
    tables lack the same years and every one of those years comes before each table's first,
    the period starts before the figures: one problem, on ``start``, naming the tables (an
    era written on the baseline must give its own years; ``after_last_year`` carries figures
    forward only)."""
    same = {tuple(missing) for _, missing, _, _ in lacking}
    early = all(int(missing[-1]) < min(int(y) for y in table) for _, missing, table, _ in lacking if table)
    if len(lacking) <= 3 or len(same) != 1 or not early:
        return [problem for *_, problem in lacking]
    missing = list(same.pop())
    keys = [key for key, *_ in lacking]
    shown = _tables_named(keys)
    first = min(min(int(y) for y in table) for _, _, table, _ in lacking if table)
    return [(("start",), "invalid",
             f"given start {start}, before the first year ({first}) of {len(keys)} yearly tables, which lack "
             f"{', '.join(missing)}: {shown}; allowed: a value for every simulated year in each (an era before "
             f"the figures it extends gives its own, docs/eras.md; [after_last_year] carries figures forward "
             f"only), or a later start")]


def _period_mistakes(start: dt.date | None, end: dt.date | None) -> list[str]:
    """A period's end not after its start (None: a date not known)."""
    return [f"end {end} must be after start {start}"] if start is not None and end is not None and end <= start \
        else []


def _cross_problems(sc: "Scenario") -> list:
    """Checks across keys: period, years given, events within the period, regions defined."""
    if sc.end <= sc.start:
        return _period_mistakes(sc.start, sc.end)    # the checks below need a period
    out = []
    lacking: list = []          # (key, years it lacks, its table, problem)
    years = {str(y) for y in range(sc.start.year, sc.end.year + 1)}
    for sname, s in sc.sectors.items():
        for year in sorted(set(s.units_per_yr) & set(s.magnet_kg_per_unit)):
            use_t = s.units_per_yr[year] * s.magnet_kg_per_unit[year] / 1000.0
            if use_t > MAX_T_PER_YR:
                out.append((("sectors", sname, "units_per_yr", year), "invalid",
                            f"given {s.units_per_yr[year]:g} units at {s.magnet_kg_per_unit[year]:g} kg each, "
                            f"{use_t:.3g} t of magnets a year; allowed: at most {MAX_T_PER_YR:g} t a year"))
        for key in ("units_per_yr", "magnet_kg_per_unit"):
            missing = years - set(getattr(s, key))
            if missing:
                lacking.append((f"sectors.{sname}.{key}", sorted(missing), getattr(s, key),
                                f"sectors.{sname}.{key} lacks year(s) {sorted(missing)} of the simulated period"))
    for sname in sc.sectors:
        if text := _table_name_problem(sname, {"all": "every sector", **{p: "a product" for p in PRODUCTS}}, "sector"):
            out.append((("sectors", sname), "invalid", f"given the sector name {sname!r}, {text}"))
    for rname, r in sc.regions.items():
        if text := _table_name_problem(rname, RESERVED_REGIONS, "buyers"):
            out.append((("regions", rname), "invalid", f"given the region name {rname!r}, {text}"))
        missing = years - set(r.demand_t_per_yr)
        if missing and r.demand_t_per_yr:       # an empty table: the region buys no magnets
            lacking.append((f"regions.{rname}.demand_t_per_yr", sorted(missing), r.demand_t_per_yr,
                            f"regions.{rname}.demand_t_per_yr lacks year(s) {sorted(missing)}"))
        for product, table in r.materials_t_per_yr.items():
            missing = years - set(table)
            if missing:
                lacking.append((f"regions.{rname}.materials_t_per_yr.{product}", sorted(missing), table,
                                f"regions.{rname}.materials_t_per_yr.{product} lacks year(s) {sorted(missing)}"))
            if product not in TRADED_MATERIALS:
                out.append((("regions", rname, "materials_t_per_yr", product), "not_allowed",
                            f"given {product!r}; allowed: {', '.join(TRADED_MATERIALS)} (magnets go "
                            f"under demand_t_per_yr)"))
    out += _lacking_years(lacking, sc.start)
    out += _item_name_problems(sc)
    for i, ev in enumerate(sc.news):
        if not sc.start <= ev.date <= sc.end:
            out.append(f"news[{i}] ({ev.name}) date {ev.date} is outside the simulated period {sc.start}..{sc.end}")
        out += _region_problems(ev.regions, sc.regions, f"news[{i}].regions")
    for i, ec in enumerate(sc.export_controls):
        if not ec.start <= sc.end:
            out.append(f"export_controls[{i}] ({ec.name}) starts {ec.start}, after the simulated period ends {sc.end}")
        out += _region_problems(ec.regions, sc.regions, f"export_controls[{i}].regions")
    for kind in ("export_duties", "import_tariffs"):
        for i, c in enumerate(getattr(sc, kind)):
            if c.start > sc.end:
                out.append(f"{kind}[{i}] ({c.name}) starts {c.start}, after the simulated period ends {sc.end}")
            out += _region_problems(c.regions, sc.regions, f"{kind}[{i}].regions")
    for i, d in enumerate(sc.disruptions):
        if d.start > sc.end or d.end < sc.start:
            out.append(f"disruptions[{i}] ({d.name}) {d.start}..{d.end} lies outside the simulated period")
        out += [f"disruptions[{i}].regions: unknown region {r!r}; allowed: 'all', 'china', 'abroad', "
                f"{sorted(sc.regions)}" for r in d.regions if r not in ("all", "china", "abroad", *sc.regions)]
    missing = set(PRODUCTS) - set(sc.market.initial_price)
    if missing:
        out.append(f"market.initial_price lacks {sorted(missing)}")
    if not sc.sectors and not any(r.demand_t_per_yr or r.materials_t_per_yr for r in sc.regions.values()):
        out.append((("sectors",), "invalid", "no end-use sector, and no region abroad with demand: nothing would "
                    "buy magnets or materials; allowed: at least one sector, or a region with demand_t_per_yr or "
                    "materials_t_per_yr"))
    sp = sc.firms.separation_plants
    n_light, n_ionic = sp.plants_by_ore()
    share_key = ("firms", "separation_plants", "light_capacity_share")
    if n_light and sp.light_capacity_share == 0:
        out.append((share_key, "invalid", f"given 0 while light_share {sp.light_share:g} makes {n_light} of the "
                    f"{sp.count} plants work rock-type ore; allowed: above 0 (or light_share = 0)"))
    if n_ionic and sp.light_capacity_share == 1:
        out.append((share_key, "invalid", f"given 1 while light_share {sp.light_share:g} makes {n_ionic} of the "
                    f"{sp.count} plants work ion-adsorption ore; allowed: below 1 (or light_share = 1)"))
    return out


def _region_problems(given: list[str], regions: dict, where: str) -> list[str]:
    return [f"{where}: unknown region {r!r}; allowed: 'all', 'china', {sorted(regions)}"
            for r in given if r != "all" and r != "china" and r not in regions]


def _carry(table: dict, years: list[int], factor: float) -> list[int]:
    """Fill the years of ``years`` after the last one given in ``table`` (keys are year
    strings): the last given value times ``factor`` once for every year since it (a period
    that starts years after the last given one is grown over the years between). Returns the
    years added.

    >>> t = {"2026": 100.0}; _carry(t, [2028, 2029], 1.1), round(t["2028"], 6), round(t["2029"], 6)
    ([2028, 2029], 121.0, 133.1)
    """
    given = sorted(int(y) for y in table)
    if not given:
        return []
    last = given[-1]
    added = []
    for y in years:
        if y > last and str(y) not in table:
            table[str(y)] = table[str(last)] * factor ** (y - last)
            added.append(y)
    return added


def years_without_quota(sc: "Scenario") -> list[str]:
    """One line per quota type that has no quota for some simulated years before its first
    given year (figures are carried forward, never back), or between two given years (a gap
    is not filled, as a what-if that removes one year's quota leaves it): those years run
    without a quota of that type, firms limited only by their capacity, but for a year after
    one with a quota, which holders pace on that quota. For ``rechain
    check``'s warnings: an era written from the baseline must state its own quotas."""
    years = range(sc.start.year, sc.end.year + 1)
    given: dict[str, set[int]] = {}
    zero: dict[str, set[int]] = {}
    for q in sc.quota_policy.quotas:
        given.setdefault(q.type, set()).add(q.year)
        if q.total_t <= 0 and q.year in years:
            zero.setdefault(q.type, set()).add(q.year)
    out = []
    for qtype, ys in sorted(zero.items()):
        what = "mine" if qtype.startswith("mining") else "separate"
        out.append(f"quota_policy.quotas: the {qtype} quota for {', '.join(map(str, sorted(ys)))} is 0 t: its "
                   f"holders {what} nothing under it that year (the chain runs on stocks, ore from outside the quota "
                   f"and recycling); if that is the what-if, ignore this")
    for qtype, have in sorted(given.items()):
        first = min(have)
        lacking = [y for y in years if y < first]
        if lacking:
            span = f"{lacking[0]}" if len(lacking) == 1 else f"{lacking[0]}-{lacking[-1]}"
            out.append(f"quota_policy.quotas: no {qtype} quota for {span} (the first given is {first}); "
                       f"those years run without one, firms limited only by their capacity")
        # (no quota can be given before the first year a period may run in: nothing to tell there)
        if first == sc.start.year and sc.start.year - 1 not in have and sc.start.year > YEAR_MIN:
            # the early-year allowance is a share of the year before's quota (provisional_share)
            out.append(f"quota_policy.quotas: no {qtype} quota for {first - 1}, the year before the run starts; "
                       f"until {first}'s batches are issued, holders work on provisional_share of {first}'s own "
                       f"quota instead of {first - 1}'s (give the {first - 1} quota, docs/eras.md step 3)")
        gaps = [y for y in years if first < y < max(have) and y not in have]
        if gaps:
            # holders pace their year on last year's quota until this year's is known: a year
            # after a quota year runs at that pace, later ones at capacity
            paced = [y for y in gaps if y - 1 in have]
            free = [y for y in gaps if y - 1 not in have]
            how = "; ".join(
                [", ".join(f"{y} at the pace of {y - 1}'s quota" for y in paced)
                 + " (holders pace a year on the year before's quota until its own is issued)"] * bool(paced)
                + [f"{', '.join(map(str, free))} without a quota, firms limited only by their capacity"] * bool(free))
            out.append(f"quota_policy.quotas: no {qtype} quota for {', '.join(map(str, gaps))}, between years "
                       f"that have one (a gap is not filled from the year before): {how}")
    return out


#: how a quota carried past the last year given says so (its ``source``)
CARRIED_FROM = "carried from"


def carry_past_last_year(sc: "Scenario") -> tuple[list[str], str]:
    """Continue yearly figures past the last year given, by ``sc.after_last_year``.

    Sector output (``units_per_yr``) and regions' demand grow by the rule's rate; magnet use
    per unit is held; each quota type's last year is repeated (grown by the rate) with its
    batches on the same days of the year. Demand runs one year further than the run: end users
    plan weeks ahead (``behaviour.plan_ahead_weeks``), past the run's end, and those weeks
    must read what a longer run would use, or a run's last months would depend on where it
    stops. Returns, for ``check``, one line per figure carried into the run's years, and one
    line for the demand of the year after the end ("" when none is carried there).
    """
    rule = sc.after_last_year
    g = 1.0 + (rule.growth_pct_per_yr / 100.0 if rule.rule == "grow" else 0.0)
    how = "held" if g == 1.0 else f"grown {rule.growth_pct_per_yr:+g} %/yr"
    quota_pct = rule.quota_growth_pct_per_yr
    g_quota = g if quota_pct is None else 1.0 + quota_pct / 100.0
    how_quota = how if quota_pct is None else "held" if quota_pct == 0 else f"grown {quota_pct:+g} %/yr"
    years = list(range(sc.start.year, sc.end.year + 1))
    # demand: the weeks planned past the run's end too; none past the last year a period may
    # run in, whose weeks no calendar holds (a run ending in 2100 plans on within it)
    planned = years + [sc.end.year + 1] * (sc.end.year < YEAR_MAX)
    lines = []
    planned_past_end = []

    def note(key: str, added: list[int], what: str) -> None:
        if added and added[-1] > sc.end.year:
            planned_past_end.append(key)
            added = added[:-1]
        if added:
            span = f"{added[0]}" if len(added) == 1 else f"{added[0]}-{added[-1]}"
            lines.append(f"{key}: {span} {what}")

    def too_much(what: str, given: float, year: int, tonnes: float) -> "_Problems":
        """The rate, not a figure the user wrote, is to blame for a carried figure beyond bounds."""
        return _Problems([(("after_last_year", "growth_pct_per_yr"), "out_of_range",
                           f"given {rule.growth_pct_per_yr:g}, which carries {what} from {given:,.6g} to "
                           f"{tonnes:.3g} t a year by {year}, beyond what a figure may be (at most "
                           f"{MAX_T_PER_YR:g} t a year); allowed: a lower rate, an earlier end, or the figures "
                           f"of later years given")])

    def last_given(table: dict) -> str | None:
        return max(table, key=int) if table else None

    def past_bound(what: str, tonnes: dict, added: list[int], last: str | None) -> list[str]:
        """The carried years whose ``tonnes`` a year pass the bound: refused (the rate is to
        blame) when one is a run's year, else returned, to be held at the bound (the year end
        users plan into past the end). Nothing when the last given figure is itself beyond it:
        its own check names it."""
        if not added or tonnes[last] > MAX_T_PER_YR:
            return []
        over = [str(y) for y in added if tonnes[str(y)] > MAX_T_PER_YR]
        if over and int(over[0]) <= sc.end.year:
            raise too_much(what, tonnes[last], int(over[0]), tonnes[over[0]])
        return over

    for name, sector in sc.sectors.items():
        last = last_given(sector.units_per_yr)
        added_units = _carry(sector.units_per_yr, planned, g)
        note(f"sectors.{name}.units_per_yr", added_units, how)
        note(f"sectors.{name}.magnet_kg_per_unit", _carry(sector.magnet_kg_per_unit, planned, 1.0), "held")
        use_t = {y: sector.units_per_yr[y] * sector.magnet_kg_per_unit.get(y, 0.0) / 1000.0
                 for y in sector.units_per_yr}
        for y in past_bound(f"sectors.{name}'s magnet use", use_t, added_units, last):
            sector.units_per_yr[y] *= MAX_T_PER_YR / use_t[y]
    for name, region in sc.regions.items():
        tables = [(f"regions.{name}.demand_t_per_yr", region.demand_t_per_yr)] + \
            [(f"regions.{name}.materials_t_per_yr.{product}", table)
             for product, table in region.materials_t_per_yr.items()]
        for key, table in tables:
            last = last_given(table)
            added = _carry(table, planned, g)
            note(key, added, how)
            for y in past_bound(key, table, added, last):
                table[y] = MAX_T_PER_YR
    last: dict[str, Quota] = {}
    for q in sc.quota_policy.quotas:
        if q.type not in last or q.year > last[q.type].year:
            last[q.type] = q
    for qtype, q in last.items():
        added = []
        for y in years:
            if y > q.year:
                def shifted(d: dt.date, n: int = y - q.year) -> dt.date:
                    return d.replace(year=d.year + n) if not (d.month == 2 and d.day == 29) else \
                        d.replace(year=d.year + n, day=28)
                total = q.total_t * g_quota ** (y - q.year)
                try:
                    carried = Quota(type=qtype, year=y, total_t=total, source=f"{CARRIED_FROM} {q.year} ({how_quota})",
                                    batches=[QuotaBatch(issued=shifted(b.issued), share=b.share) for b in q.batches])
                except ValidationError:     # the rate, not a figure the user wrote, is to blame
                    key = "growth_pct_per_yr" if quota_pct is None else "quota_growth_pct_per_yr"
                    raise _Problems([(("after_last_year", key), "out_of_range",
                                      f"given {getattr(rule, key):g}, which carries the {qtype} quota of {q.year} "
                                      f"to {total:,.0f} t by {y}, beyond what a quota may be; allowed: a lower rate, "
                                      f"an earlier end, or the quotas of later years given")]) from None
                sc.quota_policy.quotas.append(carried)
                added.append(y)
        note(f"quota_policy.quotas[{qtype}]", added, how_quota)
    past_end = f"{len(planned_past_end)} demand figures of {sc.end.year + 1} ({how}, magnet use per unit held): " \
        f"only the weeks end users plan ahead past the run's end read them" if planned_past_end else ""
    return lines, past_end


def quiet_variant(data: dict, years: int = 3) -> dict:
    """A scenario dict with every shock switched off and every yearly figure held at its
    first year's value: no news, controls, trade charges, disruptions, holidays or
    seasonality; end-use demand, quotas (issued whole on 1 January) and capacities as in the
    first year, for ``years`` years.

    The check of a market that clears: such a chain, started near steady state, stays there.
    Used by the stability tests and by ``rechain calibrate`` to reject parameter sets that
    drift or cycle on their own.
    """
    import copy
    d = copy.deepcopy(data)
    for k in ("news", "disruptions", "export_controls", "export_quotas", "export_duties", "import_tariffs"):
        d[k] = []
    d["holidays"] = False
    first_year = d["start"].year
    run_years = [str(first_year + i) for i in range(years)]

    def held(table: dict) -> dict:
        first = table[str(first_year)] if str(first_year) in table else table[min(table)]
        return {y: first for y in run_years}

    for s in d["sectors"].values():
        s["seasonality"] = [1.0] * 12
        s["shocks"] = []
        for key in ("units_per_yr", "magnet_kg_per_unit"):
            s[key] = held(s[key])
    for r in d["regions"].values():
        r["seasonality"] = [1.0] * 12
        if r.get("demand_t_per_yr"):
            r["demand_t_per_yr"] = held(r["demand_t_per_yr"])
        for product, table in r.get("materials_t_per_yr", {}).items():
            r["materials_t_per_yr"][product] = held(table)
    for group in ("myanmar_holders", "overseas_miners", "foreign_producers"):     # dated capacity: as at the start
        cfg = d.get("firms", {}).get(group, {})
        table = cfg.pop("capacity_by_year", None)
        if table:
            given = sorted(int(y) for y in table if int(y) <= first_year)
            cfg["capacity_t_per_yr"] = table[str(given[-1])] if given else cfg.get("capacity_t_per_yr", 0.0)
    for recipe in d.get("magnet_recipes", {}).values():             # recipes as at the start
        for key in ("prnd_wt_pct", "dy_wt_pct", "tb_wt_pct"):
            if isinstance(recipe.get(key), dict):
                given = sorted(int(y) for y in recipe[key])
                upto = [y for y in given if y <= first_year]
                recipe[key] = recipe[key][str(upto[-1] if upto else given[0])]
    qp = d.setdefault("quota_policy", {})
    quotas = qp.get("quotas", [])
    kept = []
    for qtype in sorted({q["type"] for q in quotas}):
        mine = sorted((q for q in quotas if q["type"] == qtype), key=lambda q: q["year"])
        base = next((q for q in mine if q["year"] == first_year), mine[-1] if mine[-1]["year"] < first_year
                    else mine[0])
        for y in range(first_year - 1, first_year + years):
            kept.append({"type": qtype, "year": y, "total_t": base["total_t"],
                         "batches": [{"issued": dt.date(y, 1, 1), "share": 1.0}]})
    qp["quotas"] = kept
    frm = qp.get("imported_ore_counts_from")
    if frm is not None and frm > d["start"]:     # a change of quota rules is a shock too
        qp["imported_ore_counts_from"] = None
    d.pop("after_last_year", None)
    d["end"] = d["end"].replace(year=first_year + years - 1)
    return d


def json_schema() -> dict:
    """JSON Schema (draft 2020-12) of the scenario file format, for editors.

    A file without ``extends`` is a whole scenario: every key without a default is
    required (except ``name``, which defaults to the file's stem). A file with ``extends``
    is a partial scenario (a what-if): every key is optional, and items of the named lists
    may say ``remove = true``. Unknown keys and wrong types are errors in both. Dates are
    ISO date strings, as editors pass TOML dates to a JSON Schema.
    """
    whole = Scenario.model_json_schema()
    defs = whole.pop("$defs")
    whole["required"] = [k for k in whole["required"] if k != "name"]
    defs["Scenario"] = whole
    partial = {f"Partial{k}": _partial(v) for k, v in defs.items()}
    partial["PartialScenario"]["properties"] = {
        "extends": {"type": "string", "description": "the scenario file this one changes, relative to this file"},
        **partial["PartialScenario"]["properties"]}
    partial["PartialScenario"]["required"] = ["extends"]
    for item in _NAMED_ITEMS:
        partial[f"Partial{item}"]["properties"]["remove"] = {
            "type": "boolean", "description": "true: delete the inherited item of this name"}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "rechain scenario",
            "description": "A whole scenario, or (with extends) a partial one that changes another",
            "type": "object",
            "if": {"required": ["extends"]},
            "then": {"$ref": "#/$defs/PartialScenario"},
            "else": {"$ref": "#/$defs/Scenario"},
            "$defs": {**defs, **partial}}


#: schema classes of the items of named lists (they merge by name, and can be removed)
_NAMED_ITEMS = ("ExportControl", "Disruption", "NewsEvent", "ExportQuota", "TradeCharge", "Quota")


def _partial(node: Any) -> Any:
    """A schema node with nothing required and references to the partial definitions."""
    if isinstance(node, dict):
        out = {k: _partial(v) for k, v in node.items() if not (k == "required" and isinstance(v, list))}
        if isinstance(out.get("$ref"), str):
            out["$ref"] = out["$ref"].replace("#/$defs/", "#/$defs/Partial")
        return out
    if isinstance(node, list):
        return [_partial(v) for v in node]
    return node


# ---------------------------------------------------------------------------------------
# named lists
# ---------------------------------------------------------------------------------------
# Lists whose items carry a ``name`` (or, for quotas, a type and year) merge item by item
# across ``extends``; an item with ``remove = true`` deletes the inherited one.
_NAMED_LISTS = ("export_controls", "disruptions", "news", "export_quotas", "export_duties", "import_tariffs")


def _merge_key(item: Any) -> str | None:
    if isinstance(item, dict):
        if "name" in item:
            return str(item["name"])
        if "type" in item and "year" in item:
            return f"{item['type']}-{item['year']}"
    return None



def planning_horizon(plan_ahead_weeks: float) -> dt.timedelta:
    """How far past a run's end its end users' plans reach (``behaviour.plan_ahead_weeks``,
    whole weeks, at least one): a foreseen shock starting within it is in their plans."""
    return dt.timedelta(weeks=max(int(round(plan_ahead_weeks)), 1))


def _extra_problems(sc: "Scenario") -> list[tuple[tuple, str, str]]:
    """Checks the schema classes leave to the whole scenario, as (key path, kind, text):
    date order of shocks, shocks within the period (a foreseen one may start
    within the planning horizon after it), one item per name."""
    out = []
    horizon = planning_horizon(sc.behaviour.plan_ahead_weeks)
    for sname, s in sc.sectors.items():
        for i, sh in enumerate(s.shocks):
            if sh.end < sh.start:
                out.append((("sectors", sname, "shocks", i, "end"), "date_order",
                            f"given end {sh.end} before start {sh.start}; allowed: an end on or after the start"))
            last_start = sc.end + horizon if sh.foreseen else sc.end
            if sh.start > last_start or sh.end < sc.start:
                weeks = horizon.days // 7
                ahead = (f" (a foreseen shock may start up to {weeks} week{'' if weeks == 1 else 's'} after it, "
                         f"behaviour.plan_ahead_weeks: end users plan for it)") if sh.foreseen else ""
                out.append((("sectors", sname, "shocks", i, "start"), "outside_period",
                            f"given {sh.start}..{sh.end}; allowed: dates that overlap the simulated period "
                            f"{sc.start}..{sc.end}{ahead}"))
    for lname in _NAMED_LISTS:
        names = [getattr(x, "name", "") for x in getattr(sc, lname)]
        for i, n in enumerate(names):
            if n and n in names[:i]:
                out.append(((lname, i, "name"), "duplicate_name",
                            f"given two items named {n!r}; allowed: each name once"))
                continue
            twin = next((m for m in names[:i] if m and _plain_name(m) == _plain_name(n)), None) if n else None
            if twin is not None:
                # two spellings of one name are two items: the later does not change the earlier
                out.append(((lname, i, "name"), "duplicate_name",
                            f"given {n!r} beside {twin!r}, names that differ only in capitals or spaces, so both "
                            f"are kept as two items (an item is changed only by its exact name); allowed: "
                            f"{twin!r} to change that item, or a name that differs in more than capitals and spaces"))
    for table in ("sectors", "regions"):
        names = list(getattr(sc, table))
        for i, n in enumerate(names):
            twin = next((m for m in names[:i] if _plain_name(m) == _plain_name(n)), None)
            if twin is not None:
                # [regions.US] beside the baseline's [regions.us] is a second region, not a change
                out.append(((table, n), "duplicate_name",
                            f"given {n!r} beside {twin!r}, names that differ only in capitals or spaces, so both "
                            f"are kept as two {table} (an entry is changed only by its exact name); allowed: "
                            f"[{table}.{twin}] to change that entry, or a name that differs in more than capitals "
                            f"and spaces"))
    keys = [(q.type, q.year) for q in sc.quota_policy.quotas]
    for i, k in enumerate(keys):
        if k in keys[:i]:
            out.append((("quota_policy", "quotas", i, "year"), "duplicate_name",
                        f"given two {k[0]} quotas for {k[1]}; allowed: one quota per type and year"))
    return out
