"""Scenario files: the schema, ``extends`` resolution, and one clear message for bad input.

A scenario is a TOML file. Every quantity carries its unit in its key name
(``capacity_t_per_yr``, ``half_life_weeks``) or in its schema description, and every date
is an ISO date. A what-if can say ``extends = "baseline.toml"`` and give only what
changes: tables merge key by key, and lists of named items (``[[export_controls]]``,
``[[news]]``, ``[[disruptions]]``, ``[[quotas]]``) merge item by item on their
``name`` (an item with ``remove = true`` deletes the inherited one of that name).

Errors in a file raise :class:`ScenarioError`, whose message names the file, the key
path (and line where it can be found), what was given and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from .calendar import CALENDARS
from .materials import PRODUCTS

__all__ = ["Scenario", "ScenarioError", "OptionError", "ERROR_KINDS", "load_scenario", "scenario_from_dict",
           "read_toml_file", "read_text_file", "STAGES", "json_schema"]

STAGES = ("miners", "myanmar_holders", "overseas_miners", "separation_plants", "recyclers", "magnet_makers",
          "motor_makers", "overseas_buyers", "state_reserve", "traders")

NonNeg = Annotated[float, Field(ge=0)]
Pos = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]
ProductName = Literal[PRODUCTS]  # type: ignore[valid-type]
StageName = Literal[STAGES]  # type: ignore[valid-type]


class ScenarioError(Exception):
    """A scenario or sweep file that cannot be used. ``str(err)`` is the message for the user.

    A file with several mistakes raises one ScenarioError for all of them: its attributes
    are those of the first, ``errors`` lists every one (each a ScenarioError), and
    ``str(err)`` gives them one per line. A single mistake gives one line, and ``errors``
    is ``[err]``.

    Attributes
    ----------
    file : the file that sets the bad key (a parent when the key is inherited)
    key : the key path, e.g. ``firms.recyclers.capacity_t_per_yr`` or ``news[3].date``
    line : line of the key in ``file`` when it can be found, else None
    kind : what is wrong, one of :data:`ERROR_KINDS`
    detail : the message without the file and key
    via : the file that was loaded, when it differs from ``file``
    errors : every mistake found, in the order of the file(s)
    """

    errors: list["ScenarioError"]

    def __init__(self, file: str | Path | None, key: str, message: str, line: int | None = None,
                 kind: str = "invalid", via: str | Path | None = None):
        self.file, self.key, self.line, self.kind, self.detail = file, key, line, kind, message
        self.via = via if via is not None and file is not None and Path(via).resolve() != Path(file).resolve() \
            else None
        where = _show(file) if file else "<scenario>"
        if line:
            where += f", line {line}"
        if self.via is not None:
            where += f" (extended by {_show(self.via)})"
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")
        self.errors = [self]

    @classmethod
    def of(cls, errors: list["ScenarioError"]) -> "ScenarioError":
        """One error standing for several (returned as it is when there is one): the first's
        attributes, all of them in ``errors`` in file order, ``str()`` one per line."""
        unique = list({str(e): e for e in errors}.values())
        unique.sort(key=lambda e: (_show(e.file) if e.file else "", e.line if e.line else 10**9))
        if len(unique) == 1:
            return unique[0]
        first = unique[0]
        combined = cls(first.file, first.key, first.detail, line=first.line, kind=first.kind, via=first.via)
        combined.errors = unique
        combined.args = ("\n".join(str(e) for e in unique),)
        return combined


class OptionError(ScenarioError):
    """A command-line value that cannot be used (an address, a count), not a file's key.

    ``str(err)`` is ``"<option> <value>: <message>"``; ``file`` and ``line`` are None.
    """

    def __init__(self, option: str, value: Any, message: str, kind: str = "invalid"):
        Exception.__init__(self, f"{option} {value}: {message}")
        self.file, self.key, self.line, self.kind, self.detail, self.via = None, option, None, kind, message, None
        self.errors = [self]


#: The kinds of :class:`ScenarioError`, with what each means.
ERROR_KINDS = {
    "missing": "the scenario file does not exist",
    "not_a_file": "the path is a directory, not a scenario file",
    "not_toml": "the file is not valid TOML (or not text at all)",
    "extends_missing": "the file named by `extends` does not exist",
    "extends_cycle": "`extends` leads back to a file already in the chain",
    "unknown_key": "a key the schema does not have (the nearest valid key is suggested)",
    "missing_key": "a required key is absent",
    "type": "a value of the wrong type (text for a number, a number for a table, ...)",
    "out_of_range": "a number outside its allowed range (negative tonnes, a share above 1, ...)",
    "not_allowed": "a name that is not one of the allowed values (product, stage, calendar, quota type)",
    "unknown_region": "a region that is not defined under [regions]",
    "unknown_item": "`remove = true` names no inherited item",
    "duplicate_name": "two items of one list share a name (or a quota type and year)",
    "date": "a date that cannot be read (use ISO dates such as 2025-04-04)",
    "date_order": "dates in the wrong order (an end before its start, batches or steps out of order)",
    "outside_period": "an event (news, control, disruption, shock) outside the simulated period",
    "length": "a list of the wrong length (seasonality needs 12 values, approval at least one step)",
    "scheduler": "a Dask scheduler that cannot be reached at the address given",
    "output": "an output folder rechain must not or cannot write (not its own, a file, not writable)",
    "invalid": "any other inconsistent value (quota batch shares above 1, min > mode, missing years)",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_default=True)


# ---------------------------------------------------------------------------------------
# firms
# ---------------------------------------------------------------------------------------
class FirmGroup(_Model):
    count: int = Field(ge=1, le=100_000, description="number of firms of this kind")
    capacity_t_per_yr: Pos = Field(description="total capacity of the group, t of main output per year")
    capacity_spread: float = Field(0.4, ge=0, le=3, description="lognormal sigma of firm sizes (0 = equal)")
    cost_yuan_per_t: NonNeg = Field(0.0, description="variable (cash) cost of processing or mining, yuan per t of output; below it a firm stops")
    capital_cost_yuan_per_t: NonNeg = Field(0.0, description="capital charge and fixed costs per t of output at normal use; with cost_yuan_per_t the full cost that long-run prices answer to")
    investment_share_per_yr: NonNeg = Field(0.0, le=1, description="capacity a firm adds per year when it runs full and expects a full-cost margin of 100 % (0: no new capacity)")
    retirement_share_per_yr: NonNeg = Field(0.0, le=1, description="capacity a firm retires per year while its price stays below its full cost (0: none)")
    investment_lead_weeks: int = Field(78, ge=1, le=520, description="weeks from an investment decision to new capacity (mines: 5-7 years; plants: 1-2)")


class Miners(FirmGroup):
    """Domestic quota holders; ``capacity_t_per_yr`` in t REO."""
    full_run_margin_share: Annotated[float, Field(gt=0, le=1)] = Field(0.1, description="miners mine at the quota's even pace once the ore price exceeds their cash cost by this share of it; less below, none at a loss")


class MyanmarHolders(FirmGroup):
    """Ore holders outside China's quota; ``capacity_t_per_yr`` is what they can mine, t REO."""
    initial_stock_weeks: NonNeg = Field(4.0, description="ore the holders have stockpiled at the start, weeks of their mining capacity (other firms start with stocks at their targets)")
    holdback_expectation: NonNeg = Field(4.0, description="h_x: offer share falls by this per unit expected price rise")
    holdback_price: NonNeg = Field(1.5, description="h_p: offer share falls by this per unit relative price below the floor")
    price_floor_share: Pos = Field(0.95, description="reservation price below which holders hold back, as a share of their full cost")
    min_offer_share: Share = Field(0.15, description="f_min: the share of stock always offered")
    storage_weeks: Pos = Field(26.0, description="holders stop mining when stock exceeds this many weeks of output")
    normal_utilisation: Share = Field(0.85, description="share of capacity mined at the normal margin (the start price)")
    supply_price_elasticity: NonNeg = Field(0.5, description="mining rate answers the margin over variable cost with this elasticity (0: fixed rate)")


class OverseasMiners(MyanmarHolders):
    """Rock-type ore mined abroad and shipped to Chinese plants (e.g. US, Australian, Lao
    concentrate); outside China's mining quota; ``capacity_t_per_yr`` in t REO."""
    count: int = Field(0, ge=0, le=100_000, description="number of firms (0 = none)")
    capacity_t_per_yr: NonNeg = Field(0.0, description="what they can mine and ship, t REO per year")


class SeparationPlants(FirmGroup):
    """``capacity_t_per_yr`` is ore processed, t REO."""
    light_share: Share = Field(0.5, description="share of plants processing rock-type ore (the rest ion-adsorption)")
    light_capacity_share: Share = Field(0.75, description="share of separation capacity on rock-type ore")
    holdback_expectation: NonNeg = Field(1.0, description="h_x: plants offer less oxide per unit expected price rise")
    metal_line_share: Share = Field(0.6, description="share of plants with a metal line (oxide -> Pr-Nd metal)")
    loss_share: Share = Field(0.03, description="share of REO lost in separation")
    metal_loss_share: Share = Field(0.01, description="share of Pr-Nd lost turning oxide into metal")
    metal_cost_yuan_per_t: NonNeg = Field(15000.0, description="oxide-to-metal conversion cost, yuan/t metal")
    metal_lines_buy_oxide: bool = Field(True, description="plants with a metal line also buy Pr-Nd oxide on the market when their own falls short")
    full_run_margin_share: Annotated[float, Field(gt=0, le=1)] = Field(0.1, description="plants run their ore at the pace orders ask once the basket margin (oxide value less ore and processing cost) reaches this share of the basket; less below it, none at a loss")
    reservation_share: Share = Field(0.9, description="plants hold oxide back when its price falls below this share of its long-run price")
    holdback_price: NonNeg = Field(1.0, description="h_p: plants offer this much less per unit relative price below their reservation")
    min_offer_share: Share = Field(0.3, description="the share of oxide stock plants always offer")


class Recyclers(FirmGroup):
    """``capacity_t_per_yr`` is scrap processed, t."""
    recovery_yield: Share = Field(0.92, description="share of the scrap's rare-earth content recovered as oxide")


class Traders(_Model):
    """Stockists and traders: buy and hold oxides and metal while the expected appreciation
    beats the carrying cost, and sell when it does not (competitive storage)."""
    count: int = Field(0, ge=0, le=100_000, description="number of traders (0 = none)")
    storage_t: dict[ProductName, NonNeg] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="total stock all traders together may hold, t per product")
    carrying_cost_pct_per_yr: NonNeg = Field(8.0, le=100, description="interest, storage and insurance, % of the price per year")
    speculation_strength: NonNeg = Field(5.0, description="share of storage filled per unit expected excess return over the horizon")
    capacity_spread: float = Field(0.4, ge=0, le=3, description="lognormal sigma of trader sizes")


class MagnetMakers(FirmGroup):
    """``capacity_t_per_yr`` is sintered blanks, t."""
    scrap_share: Share = Field(0.22, description="share of blank mass machined off as scrap (public figure 20-30 %)")
    melt_loss_share: Share = Field(0.01, description="share of rare-earth input lost in melting/sintering")
    oxide_feed_share: Share = Field(0.25, description="share of Pr-Nd bought as oxide (toll-converted) instead of metal")


class Shock(_Model):
    name: str = Field("", description="name; a what-if merges or removes the shock by it")
    start: dt.date = Field(description="first day of the shock")
    end: dt.date = Field(description="last day of the shock")
    multiplier: NonNeg = Field(description="multiplies end-product output while active (subsidy > 1, slump < 1)")
    source: str = Field("", description="where the figures come from (free text)")


class Sector(_Model):
    firms: int = Field(ge=1, le=100_000, description="number of motor makers in the sector")
    units_per_yr: dict[str, Pos] = Field(description="end-product output per calendar year, units")
    magnet_kg_per_unit: dict[str, Pos] = Field(description="finished magnet per unit, kg, per year")
    unit_label: str = Field("units", description="what a unit is, for labels (vehicles, MW installed, units)")
    uh_share: Share = Field(description="share of the sector's magnets that are the high-coercivity Dy/Tb grade")
    price_elasticity: NonNeg = Field(0.0, description="long-run share of the sector's magnet use lost per 1 % rise of the magnet price over its start level (ferrite or induction motors, other designs), reached over behaviour.substitution_adjust_weeks")
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


class Region(_Model):
    calendar: Literal[CALENDARS] = Field(description="holiday calendar of the region's buyers")  # type: ignore[valid-type]
    buyers: int = Field(ge=1, le=100_000, description="number of buyer firms in the region")
    demand_t_per_yr: dict[str, NonNeg] = Field(description="magnets the region's buyers use per year, t")
    uh_share: Share = Field(description="share of the region's demand in the Dy/Tb grade")
    price_elasticity: NonNeg = Field(0.0, description="share of demand lost per 1 % rise of the landed price (with duties and tariffs) over its start level")
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


# ---------------------------------------------------------------------------------------
# market and behaviour
# ---------------------------------------------------------------------------------------
class LeadTimes(_Model):
    domestic_weeks: int = Field(1, ge=0, le=26, description="shipping time between Chinese firms")
    ore_weeks: int = Field(2, ge=0, le=26, description="domestic ore to separation plants")
    import_weeks: int = Field(3, ge=0, le=26, description="Myanmar ore to Chinese plants")
    export_weeks: int = Field(5, ge=0, le=26, description="China to overseas buyers, by sea")


class Market(_Model):
    initial_price: dict[ProductName, Pos] = Field(  # type: ignore[valid-type]
        description="price at the start in the market's quoted unit (yuan/t or yuan/kg, see materials)")
    lead_times: LeadTimes = Field(default_factory=LeadTimes, description="shipping times")
    links_per_buyer: int = Field(3, ge=1, le=50, description="suppliers each buyer is linked to, per product")
    backlog_cancel_share: Share = Field(0.15, description="share of an unfilled backlog buyers cancel each week")


class Behaviour(_Model):
    # expectations (docs/ODD.md, section 7.1)
    trend_smoothing: Share = Field(0.3, description="lambda: weight of the latest weekly log-return in the trend")
    horizon_weeks: Pos = Field(8.0, description="H: horizon of the expected price change")
    w_trend: NonNeg = Field(1.0, description="weight of the extrapolated price trend")
    w_anchor: NonNeg = Field(0.5, description="weight of the pull back toward the anchor price (fundamentalist)")
    w_news: NonNeg = Field(1.0, description="weight of scheduled news in the expected price change")
    w_social: Share = Field(
        0.4, description="weight of linked firms' expectations (sentiment spreading along the network)")
    noise: NonNeg = Field(0.01, description="sigma of the idiosyncratic expectation shock")
    x_max: Pos = Field(0.3, description="bound on the expected relative price change")
    heterogeneity: NonNeg = Field(0.25, description="lognormal sigma of firm-level behavioural parameters")
    # uncertainty
    uncertainty_decay: Share = Field(0.85, description="weekly persistence of uncertainty")
    volatility_weight: NonNeg = Field(1.0, description="uncertainty added per unit |weekly log-return|")
    quota_late_uncertainty: NonNeg = Field(0.15, description="uncertainty added each week a quota batch is overdue")
    # ordering (Sterman anchoring and adjustment)
    cover_weeks: dict[StageName, Pos] = Field(  # type: ignore[valid-type]
        default_factory=lambda: {"separation_plants": 6.0, "recyclers": 4.0, "magnet_makers": 5.0,
                                 "motor_makers": 6.0, "overseas_buyers": 10.0},
        description="c0: normal input stock cover, weeks of use")
    restock_strength: NonNeg = Field(3.0, description="kappa_r: target cover rises by this per unit expected rise")
    wait_strength: NonNeg = Field(3.0, description="kappa_w: target cover falls by this per unit expected fall")
    uncertainty_strength: NonNeg = Field(0.6, description="kappa_u: target cover falls by this per unit uncertainty")
    cover_bounds: tuple[Share, Pos] = Field((0.3, 2.5), description="target cover bounds as multiples of c0")
    supply_line_weight: Share = Field(0.5, description="beta: share of the supply line managers account for")
    stock_adjust_weeks: Pos = Field(4.0, description="tau_S: weeks to close a stock gap")
    order_smoothing_weeks: Pos = Field(3.0, description="L: production follows orders smoothed over this lag")
    usage_smoothing_weeks: Pos = Field(6.0, description="buyers' expected use is planned use smoothed over this many weeks")
    finished_cover_weeks: Pos = Field(3.0, description="sellers' normal finished-goods cover, weeks of orders")
    max_finished_cover_weeks: Pos = Field(12.0, description="commodity producers (miners, plants) slow down as unsold stock passes this many weeks of their orders, and stop at twice that")
    finished_adjust_weeks: Pos = Field(3.0,
                                       description="weeks sellers take to close a gap in their finished-goods cover")
    # pricing
    # market price formation (rules/pricing.py)
    price_cover_elasticity: Pos = Field(0.6, description="s_c: elasticity of the market price of ore, oxides and scrap to its stock cover at normal cover (1: half the cover, about twice the price)")
    processed_price_cover_elasticity: Pos = Field(0.3, description="the same for metal and magnets, whose price is mostly the cost of their inputs passed on")
    price_ceiling_multiple: Annotated[float, Field(gt=1, le=50)] = Field(4.0, description="the most a deficit can multiply the market price over its long-run anchor")
    price_floor_multiple: Annotated[float, Field(gt=0, lt=1)] = Field(0.4, description="the least a glut can multiply the market price by")
    price_adjust_weeks: Pos = Field(6.0, description="weeks the market price takes to close its gap to the balance price")
    max_weekly_price_move: Annotated[float, Field(gt=0, le=1)] = Field(0.1, description="cap on the market price's weekly move (0.1 allows x4.5 in four months; 2011 saw x4-5 in six)")
    cover_demand_weeks: Pos = Field(13.0, description="the market judges cover against orders smoothed over this many weeks (it looks through seasons)")
    cost_anchor_weeks: Pos = Field(52.0, description="weeks the expected long-run price takes to move to the marginal supplier's cost")
    # sellers' asks around the market price
    price_cover_response: NonNeg = Field(0.05, description="alpha_c: a seller's ask rises by this per unit log gap between normal and own cover")
    price_expectation_response: NonNeg = Field(0.1, description="alpha_x: a seller's ask rises by this per unit expected change")
    price_utilisation_response: NonNeg = Field(0.1, description="alpha_u: a seller's ask falls by this per unit utilisation below its normal")
    ask_spread: Share = Field(0.1, description="asks stay within this log distance of the market price")
    normal_utilisation_weeks: Pos = Field(52.0, description="a firm's normal utilisation is its own, smoothed over this many weeks")
    # answers to price
    substitution_adjust_weeks: Pos = Field(78.0, description="weeks end users take to move toward the substitution the magnet price calls for (1-2 years)")
    thrift_adjust_weeks: Pos = Field(78.0, description="weeks magnet makers take to move their Dy/Tb and Pr-Nd use per kg toward what prices call for")
    investment_review_weeks: Pos = Field(13.0, description="firms review capacity every this many weeks")
    price_choice: NonNeg = Field(4.0, description="gamma: buyers' price sensitivity in splitting orders")
    spot_share: Share = Field(0.3, description="share of a domestic buyer's orders placed on the spot market, the rest with its contract suppliers")
    reliability_smoothing: Share = Field(
        0.2, description="weight of the latest fill rate in a buyer's view of a supplier's reliability")
    refusal_memory: Share = Field(0.2, description="overseas buyers' weekly update of their licence success rate")


# ---------------------------------------------------------------------------------------
# policy
# ---------------------------------------------------------------------------------------
class QuotaBatch(_Model):
    issued: dt.date = Field(description="date the batch is issued")
    share: Annotated[float, Field(gt=0, le=1)] = Field(description="share of the year's total issued")


class Quota(_Model):
    name: str = Field("", description="optional; default '<type>-<year>' (what-ifs merge quotas by type and year)")
    type: Literal["mining_rock", "mining_ionic", "separation"] = Field(description="which quota")
    year: int = Field(ge=1990, le=2100, description="calendar year of the quota")
    total_t: NonNeg = Field(description="the year's quota, t REO")
    batches: list[QuotaBatch] = Field(min_length=1,
                                      description="issue dates and shares of the year's total, in date order")
    source: str = Field("", description="where the figures come from (free text)")

    @model_validator(mode="after")
    def _check(self) -> "Quota":
        if not self.name:
            self.name = f"{self.type}-{self.year}"
        dates = [b.issued for b in self.batches]
        if dates != sorted(dates):
            raise ValueError("batches must be in date order")
        if sum(b.share for b in self.batches) > 1.0 + 1e-9:
            raise ValueError("batch shares add up to more than 1")
        return self


class QuotaPolicy(_Model):
    provisional_share: Share = Field(0.5, description="share of last year's quota firms may use before this year's first batch")
    advance_share: Share = Field(0.25, description="share of last year's quota firms may run ahead of the batches issued, expecting the next")
    pace_multiple: Annotated[float, Field(ge=1, le=10)] = Field(1.25, description="while the year's quota is not all issued, a holder uses at most this multiple of its weekly share of the year's quota (last year's until this year's is known), so what is issued lasts")
    late_after_days: int = Field(45, ge=0, le=365, description="a first batch later than last year's date plus this is overdue")
    imported_ore_counts_from: dt.date | None = Field(None, description="from this date imported ore counts against the separation quota")
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
    start: dt.date = Field(description="date from which this approval rate applies")
    rate: Share = Field(description="share of licence applications approved (0 = a ban)")


class ExportControl(_Model):
    name: str = Field(description="unique name; a what-if merges or removes the item by it")
    products: list[ProductName] = Field(min_length=1,  # type: ignore[valid-type]
                                        description="products whose exports need a licence")
    start: dt.date = Field(description="first day licences are required")
    end: dt.date | None = Field(None, description="last day (none: to the end of the run)")
    regions: list[str] = Field(default_factory=lambda: ["all"],
                               description="destination regions it applies to: 'all' or names under [regions]")
    processing_working_days: ProcessingDays = Field(
        default_factory=ProcessingDays, description="licence processing time, triangular, in working days")
    approval: list[ApprovalStep] = Field(min_length=1, description="approval rate from each date on")
    source: str = Field("", description="where the figures come from (free text)")

    @model_validator(mode="after")
    def _dates(self) -> "ExportControl":
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        d = [a.start for a in self.approval]
        if d != sorted(d):
            raise ValueError("approval steps must be in date order")
        return self


class Disruption(_Model):
    name: str = Field(description="unique name; a what-if merges or removes the item by it")
    target: StageName = Field(description="stage whose capacity is cut")  # type: ignore[valid-type]
    start: dt.date = Field(description="first day of the disruption")
    end: dt.date = Field(description="last day of the disruption")
    capacity_offline_share: Share = Field(description="share of the target's capacity offline")
    source: str = Field("", description="where the figures come from (free text)")

    @model_validator(mode="after")
    def _dates(self) -> "Disruption":
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class NewsEvent(_Model):
    name: str = Field(description="unique name; a what-if merges or removes the item by it")
    date: dt.date = Field(description="the day the news breaks (within start..end)")
    sign: Literal[-1, 1] = Field(description="1: prices expected to rise; -1: to fall")
    strength: NonNeg = Field(description="a: expected relative price change the news implies")
    half_life_weeks: Pos = Field(4.0, description="weeks for the news' effect to halve")
    uncertainty: float = Field(0.0, ge=-1, le=1, description="uncertainty the news adds (or, negative, removes) for those who hear it")
    stages: list[StageName] = Field(default_factory=lambda: list(STAGES),  # type: ignore[valid-type]
                                    description="stages whose firms hear it")
    regions: list[str] = Field(default_factory=lambda: ["all"],
                               description="regions whose firms hear it: 'all', 'china' or names under [regions]")
    source: str = Field("", description="where the figures come from (free text)")


class Recipe(_Model):
    """Rare-earth content of a magnet grade, metal wt % of the sintered blank. Each figure is
    a number or a table by year (linear between the years given, held outside them)."""
    prnd_wt_pct: float | dict[str, NonNeg] = Field(description="Pr-Nd, wt %")
    dy_wt_pct: float | dict[str, NonNeg] = Field(0.0, description="Dy, wt %")
    tb_wt_pct: float | dict[str, NonNeg] = Field(0.0, description="Tb, wt %")
    min_prnd_share: Share = Field(1.0, description="least share of the recipe's Pr-Nd that Ce substitution can leave (1: none possible)")
    min_heavy_share: Share = Field(1.0, description="least share of the recipe's Dy and Tb that grain-boundary diffusion and thrifting can leave (1: none possible)")
    thrift_price_elasticity: NonNeg = Field(0.0, description="share of the substitutable Pr-Nd (Dy/Tb) given up per 1 % rise of its price over the start (long run)")
    source: str = Field("", description="where the figures come from (free text)")

    @field_validator("prnd_wt_pct", "dy_wt_pct", "tb_wt_pct")
    @classmethod
    def _pct(cls, v):
        vals = v.values() if isinstance(v, dict) else [v]
        for x in vals:
            if not 0 <= x <= 60:
                raise ValueError(f"a wt % between 0 and 60, got {x}")
        if isinstance(v, dict):
            for y in v:
                if not (y.isdigit() and len(y) == 4):
                    raise ValueError(f"years as keys (\"2024\"), got {y!r}")
        return v


class MagnetRecipes(_Model):
    """Recipes of the two grades; missing ones keep the materials table's defaults."""
    magnet_std: Recipe | None = Field(None, description="standard grade (no Dy/Tb)")
    magnet_uh: Recipe | None = Field(None, description="high-coercivity grade (52UH, Dy/Tb-bearing)")


class CollectionStep(_Model):
    year: int = Field(
        ge=1990, le=2100, description="year from whose start this rate holds (linear between years)")
    rate: Share = Field(description="share of end-of-life magnets collected from this year on")


class Recycling(_Model):
    eol_magnets_t_per_yr: NonNeg = Field(0.0, description="magnets in products reaching end of life per year, t")
    collection_price_elasticity: NonNeg = Field(0.0, description="collection rises by this share per 1 % rise of the scrap price over its start (0: fixed)")
    max_collection_rate: Share = Field(0.9, description="the most of end-of-life magnets collection can reach, however dear scrap is")
    collection: list[CollectionStep] = Field(
        default_factory=list, description="share of end-of-life magnets collected and sold to recyclers, by year")

    @model_validator(mode="after")
    def _order(self) -> "Recycling":
        years = [c.year for c in self.collection]
        if years != sorted(years):
            raise ValueError("collection steps must be in year order")
        return self


class ExportQuota(_Model):
    name: str = Field(description="unique name; a what-if merges or removes the item by it")
    products: list[ProductName] = Field(min_length=1,  # type: ignore[valid-type]
                                        description="products counted against the cap")
    year: int = Field(ge=1990, le=2100, description="calendar year of the cap")
    total_t: NonNeg = Field(description="tonnes of these products that may be exported in the year")
    source: str = Field("", description="where the figures come from (free text)")


class TradeCharge(_Model):
    name: str = Field(description="unique name; a what-if merges or removes the item by it")
    products: list[ProductName] = Field(min_length=1, description="products charged")  # type: ignore[valid-type]
    regions: list[str] = Field(default_factory=lambda: ["all"], description="buyer regions it applies to")
    start: dt.date = Field(description="first day in force")
    end: dt.date | None = Field(None, description="last day in force (none: to the end)")
    rate_share: NonNeg = Field(description="ad-valorem rate, share of the price (0.25 = 25 %)")
    source: str = Field("", description="where the figures come from (free text)")

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
    start: dt.date | None = Field(None, description="first day the reserve acts (none: from the start)")
    end: dt.date | None = Field(None, description="last day the reserve acts (none: to the end)")
    buy_below_share: Pos = Field(0.9, description="buys while the market price is below this share of its long-run anchor")
    sell_above_share: Pos = Field(1.25, description="releases while the market price is above this share of its long-run anchor")
    buy_t_per_yr: dict[ProductName, NonNeg] = Field(default_factory=dict,  # type: ignore[valid-type]
                                                    description="buying rate per product, t per year")
    max_stock_t: dict[ProductName, NonNeg] = Field(default_factory=dict,  # type: ignore[valid-type]
                                                   description="largest stock the reserve holds, t")
    initial_stock_t: dict[ProductName, NonNeg] = Field(default_factory=dict,  # type: ignore[valid-type]
                                                       description="stock the reserve starts with, t")
    release_t_per_yr: dict[ProductName, NonNeg] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="most the reserve releases per year, t per product (absent: all its stock may go at once)")
    source: str = Field("", description="where the figures come from (free text)")


class AfterLastYear(_Model):
    """How yearly figures (sector output and magnet use per unit, regions' demand, quotas)
    continue past the last year a file gives, so a scenario can run to any end date."""
    rule: Literal["hold", "grow"] = Field("hold", description="hold: repeat the last year's figure; grow: grow it by growth_pct_per_yr")
    growth_pct_per_yr: float = Field(0.0, ge=-50, le=50, description="yearly growth of carried figures under rule = \"grow\" (magnet use per unit is held)")


class Scenario(_Model):
    name: str = Field(description="scenario name, used for output folders (default: the file's stem)")
    description: str = Field("", description="one line on what the scenario is")
    question: str = Field("", description="the question this scenario answers")
    start: dt.date = Field(description="first day simulated")
    end: dt.date = Field(description="last day simulated")
    firms: Firms = Field(description="the firm population by kind")
    sectors: dict[str, Sector] = Field(description="domestic end-use sectors (motor makers), by name")
    regions: dict[str, Region] = Field(description="overseas buyer regions, by name")
    market: Market = Field(description="start prices, lead times and network links")
    behaviour: Behaviour = Field(default_factory=Behaviour,
                                 description="behavioural parameters: expectations, ordering, pricing")
    quota_policy: QuotaPolicy = Field(default_factory=QuotaPolicy, description="mining and separation quotas")
    export_controls: list[ExportControl] = Field(default_factory=list, description="licence regimes on exports")
    disruptions: list[Disruption] = Field(default_factory=list, description="supply disruptions (capacity offline)")
    news: list[NewsEvent] = Field(default_factory=list, description="scheduled news events")
    recycling: Recycling = Field(default_factory=Recycling, description="end-of-life magnet collection")
    export_quotas: list[ExportQuota] = Field(default_factory=list, description="yearly caps on exports")
    export_duties: list[TradeCharge] = Field(default_factory=list, description="China's duties on exports")
    import_tariffs: list[TradeCharge] = Field(default_factory=list, description="buyer regions' tariffs on Chinese goods")
    stockpile: Stockpile = Field(default_factory=Stockpile,
                                 description="a state reserve that buys in price dips and sells in spikes")
    prnd_reduction_std: Share = Field(0.0, description="share of Pr-Nd in the standard grade replaced by Ce from the start (on top of what prices call for)")
    magnet_recipes: MagnetRecipes = Field(default_factory=MagnetRecipes, description="rare-earth content of each magnet grade, and how far it can be thrifted")
    after_last_year: AfterLastYear | None = Field(None, description="carry yearly figures past the last year given (absent: every simulated year must be given)")
    spin_up_weeks: int = Field(26, ge=0, le=520, description="ordinary weeks run before the start to settle stocks and order books")
    holidays: bool = Field(True, description="apply the holiday calendars (false: weekends only, for steady-state checks)")
    _files: list[str] = PrivateAttr(default_factory=list)
    _carried: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _cross_checks(self) -> "Scenario":
        if self.after_last_year is not None and self.end > self.start:
            self._carried = carry_past_last_year(self)
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


def _cross_problems(sc: "Scenario") -> list[str]:
    """Checks across keys: period, years given, events within the period, regions defined."""
    if sc.end <= sc.start:
        return [f"end {sc.end} must be after start {sc.start}"]    # the checks below need a period
    out = []
    years = {str(y) for y in range(sc.start.year, sc.end.year + 1)}
    for sname, s in sc.sectors.items():
        for key in ("units_per_yr", "magnet_kg_per_unit"):
            missing = years - set(getattr(s, key))
            if missing:
                out.append(f"sectors.{sname}.{key} lacks year(s) {sorted(missing)} of the simulated period")
    for rname, r in sc.regions.items():
        missing = years - set(r.demand_t_per_yr)
        if missing:
            out.append(f"regions.{rname}.demand_t_per_yr lacks year(s) {sorted(missing)}")
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
    missing = set(PRODUCTS) - set(sc.market.initial_price)
    if missing:
        out.append(f"market.initial_price lacks {sorted(missing)}")
    return out


def _region_problems(given: list[str], regions: dict, where: str) -> list[str]:
    return [f"{where}: unknown region {r!r}; allowed: 'all', 'china', {sorted(regions)}"
            for r in given if r != "all" and r != "china" and r not in regions]


def _carry(table: dict, years: list[int], factor: float) -> list[int]:
    """Fill the years of ``years`` after the last one given in ``table`` (keys are year
    strings): each is the previous year's value times ``factor``. Returns the years added."""
    given = sorted(int(y) for y in table)
    if not given:
        return []
    added = []
    for y in years:
        if y > given[-1] and str(y) not in table:
            table[str(y)] = table[str(y - 1)] * factor if str(y - 1) in table else table[str(given[-1])]
            added.append(y)
    return added


def carry_past_last_year(sc: "Scenario") -> list[str]:
    """Continue yearly figures past the last year given, by ``sc.after_last_year``.

    Sector output (``units_per_yr``) and regions' demand grow by the rule's rate; magnet use
    per unit is held; each quota type's last year is repeated (grown by the rate) with its
    batches on the same days of the year. Returns one line per figure carried, for ``check``.
    """
    rule = sc.after_last_year
    g = 1.0 + (rule.growth_pct_per_yr / 100.0 if rule.rule == "grow" else 0.0)
    how = "held" if g == 1.0 else f"grown {rule.growth_pct_per_yr:+g} %/yr"
    years = list(range(sc.start.year, sc.end.year + 1))
    lines = []

    def note(key: str, added: list[int], what: str) -> None:
        if added:
            span = f"{added[0]}" if len(added) == 1 else f"{added[0]}-{added[-1]}"
            lines.append(f"{key}: {span} {what}")

    for name, sector in sc.sectors.items():
        note(f"sectors.{name}.units_per_yr", _carry(sector.units_per_yr, years, g), how)
        note(f"sectors.{name}.magnet_kg_per_unit", _carry(sector.magnet_kg_per_unit, years, 1.0), "held")
    for name, region in sc.regions.items():
        note(f"regions.{name}.demand_t_per_yr", _carry(region.demand_t_per_yr, years, g), how)
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
                sc.quota_policy.quotas.append(Quota(
                    type=qtype, year=y, total_t=q.total_t * g ** (y - q.year),
                    batches=[QuotaBatch(issued=shifted(b.issued), share=b.share) for b in q.batches],
                    source=f"carried from {q.year} ({how})"))
                added.append(y)
        note(f"quota_policy.quotas[{qtype}]", added, how)
    return lines


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
        r["demand_t_per_yr"] = held(r["demand_t_per_yr"])
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
# loading
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


class _MergeError(ScenarioError):
    """Raised by :func:`deep_merge` (a :class:`ScenarioError` without a file);
    :func:`_resolve` re-raises it naming the file and line."""

    def __init__(self, keypath: tuple, name: str, kind: str, message: str):
        super().__init__(None, ".".join(str(k) for k in keypath), message, kind=kind)
        self.keypath, self.name, self.message = keypath, name, message


def _strip_removals(items: list, keypath: tuple) -> list:
    """A list that replaces nothing inherited: ``remove = true`` has nothing to remove."""
    for item in items:
        if isinstance(item, dict) and "remove" in item:
            if item["remove"] is True:
                raise _MergeError((*keypath, "remove"), str(_merge_key(item)), "unknown_item",
                                  f"given remove = true for {_merge_key(item)!r}, but no inherited item "
                                  f"has that name (nothing to remove)")
    return [{k: v for k, v in i.items() if k != "remove"} if isinstance(i, dict) and i.get("remove") is False
            else i for i in items]


def deep_merge(base: Any, over: Any, _keypath: tuple = ()) -> Any:
    """Merge ``over`` onto ``base``: tables key by key, named lists item by item.

    - tables (dicts) merge recursively, ``over`` winning on leaves;
    - lists whose items all have a ``name`` (or a ``type`` and ``year``, as quotas do) merge
      item by item on that key: an item of the same name is merged into the inherited one,
      a new name is appended, and ``remove = true`` deletes the inherited item of that name;
    - any other value or list (seasonality, approval steps, batches) replaces the inherited one.

    Raises :class:`ScenarioError` (kind ``unknown_item`` or ``duplicate_name``) when
    ``remove = true`` names no inherited item or when ``over`` names the same item twice.
    """
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if k in base:
                out[k] = deep_merge(base[k], v, (*_keypath, k))
            else:
                out[k] = _strip_removals(v, (*_keypath, k)) if isinstance(v, list) else v
        return out
    if isinstance(base, list) and isinstance(over, list) and over and all(_merge_key(i) for i in over) \
            and all(_merge_key(i) for i in base):
        seen: set[str] = set()
        for item in over:
            key = _merge_key(item)
            if key in seen:
                raise _MergeError((*_keypath, "name"), str(key), "duplicate_name",
                                  f"given two items named {key!r} in one file; allowed: each name once")
            seen.add(key)
        out = {_merge_key(i): i for i in base}
        for item in over:
            key = _merge_key(item)
            if "remove" in item:
                flag = item["remove"]
                if flag is True:
                    if key not in out:
                        near = difflib.get_close_matches(str(key), [str(k) for k in out], n=1, cutoff=0.5)
                        hint = f"; did you mean {near[0]!r}?" if near else "."
                        raise _MergeError((*_keypath, "remove"), str(key), "unknown_item",
                                          f"given remove = true for {key!r}, but no inherited item has that "
                                          f"name{hint} Inherited: {', '.join(repr(str(k)) for k in out)}")
                    out.pop(key)
                    continue
                item = {k: v for k, v in item.items() if k != "remove"} if flag is False else item
            out[key] = deep_merge(out[key], item, _keypath) if key in out else item
        return list(out.values())
    if isinstance(over, list):
        return _strip_removals(over, _keypath)
    return over


def _show(path: str | Path | None) -> str:
    """A path as the user would type it: relative to the working directory when below it."""
    if path is None:
        return "<scenario>"
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def read_text_file(path: str | Path, what: str = "a scenario file (.toml)") -> str:
    """The text of a UTF-8 file, a leading byte-order mark (BOM) dropped.

    Raises :class:`ScenarioError` naming the file for a missing file, a directory, a file
    that cannot be read, and bytes that are not UTF-8 (with the line of the first one).
    """
    path = Path(path)
    if path.is_dir():
        raise ScenarioError(path, "", f"given a directory; allowed: {what}", kind="not_a_file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found", kind="missing") from None
    except OSError as e:
        raise ScenarioError(path, "", f"cannot be read ({e.strerror or e.__class__.__name__}); allowed: {what}",
                            kind="not_toml") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ScenarioError(path, "", f"given byte 0x{data[e.start]:02x}, which is not UTF-8 text; allowed: {what} "
                            f"saved as UTF-8 (an editor's 'save with encoding' does it)", line=line,
                            kind="not_toml") from None
    return text.removeprefix("\ufeff")    # editors on Windows write a BOM; TOML readers reject it


def read_toml_file(path: str | Path, what: str = "a scenario file (.toml)") -> dict:
    """A TOML file as a dict (see :func:`read_text_file`); raises :class:`ScenarioError`
    with the line for TOML that does not parse, and the key for a date that cannot be read."""
    text = read_text_file(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        line = int(m.group(1)) if m else None
        if "date" in str(e).lower():
            bad = text.splitlines()[line - 1].strip() if line and line <= len(text.splitlines()) else ""
            key = bad.split("=", 1)[0].strip() if "=" in bad else ""
            raise ScenarioError(path, key, f"given {bad!r}, which is not a valid date; allowed: an ISO date "
                                f"such as 2025-04-04 (year-month-day)", line=line, kind="date") from None
        raise ScenarioError(path, "", f"not valid TOML: {e}. Allowed: {what}, of `key = value` lines and "
                            f"[table] headers (https://toml.io)", line=line, kind="not_toml") from None


def _resolve(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict, list[Path]]:
    """Read ``path`` and the files it ``extends``; return the merged dict and the files,
    parent first. Raises :class:`ScenarioError` for a missing, unreadable or circular chain."""
    path = Path(path).resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        last = chain[-1]
        raise ScenarioError(last, "extends", f"circular extends: {cycle}; allowed: a chain of files that "
                            f"ends in one without extends", line=_find_line(last, ["extends"]),
                            kind="extends_cycle")
    data = read_toml_file(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data, [path]
    line = _find_line(path, ["extends"])
    if not isinstance(parent, str) or not parent:
        raise ScenarioError(path, "extends", f"given {parent!r}; allowed: a file name in quotes, such as "
                            f"\"baseline.toml\"", line=line, kind="type")
    ppath = (path.parent / parent)
    if not ppath.exists():
        raise ScenarioError(path, "extends", f"given {parent!r}, but {_show(ppath)} does not exist; allowed: a "
                            f"path relative to {_show(path.parent) or '.'}/", line=line, kind="extends_missing")
    if ppath.is_dir():
        raise ScenarioError(path, "extends", f"given {parent!r}, which is a directory; allowed: a scenario file",
                            line=line, kind="extends_missing")
    base, files = _resolve(ppath, (*chain, path))
    try:
        merged = deep_merge(base, data)
    except _MergeError as e:
        key = ".".join(str(k) for k in e.keypath)
        raise ScenarioError(path, key, e.message, line=_find_name_line(path, e.name), kind=e.kind) from None
    return merged, [*files, path]


# --- finding the line of a key ----------------------------------------------------------
_STR = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def _split_key(key: str) -> tuple[str, ...]:
    parts = re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^.]+', key.strip())
    return tuple(p.strip().strip("\"'").strip() for p in parts if p.strip())


def _index_lines(text: str) -> list[tuple[int, tuple[str, ...], int | None, str]]:
    """(line number, key path, block start, text) for every line that sets a key or opens a
    table; lines inside a multi-line value inherit the key that opened it. ``block start`` is
    the line of the ``[[array]]`` header the line belongs to, if any."""
    out = []
    table: tuple[str, ...] = ()
    block = None
    depth, open_path = 0, ()
    for n, raw in enumerate(text.splitlines(), 1):
        code = _STR.sub('""', raw).split("#", 1)[0]
        if depth > 0:
            out.append((n, open_path, block, raw))
            depth += code.count("[") + code.count("{") - code.count("]") - code.count("}")
            continue
        s = code.strip()
        if not s:
            continue
        m2 = re.match(r"^\[\[(.+?)\]\]", raw.strip())
        m1 = re.match(r"^\[(.+?)\]", raw.strip())
        if m2:
            table, block = _split_key(m2.group(1)), n
            out.append((n, table, block, raw))
        elif m1:
            table, block = _split_key(m1.group(1)), None
            out.append((n, table, block, raw))
        else:
            m = re.match(r'^\s*((?:"(?:[^"\\]|\\.)*"|\'[^\']*\'|[\w\-]+)(?:\s*\.\s*(?:"(?:[^"\\]|\\.)*"|'
                         r'\'[^\']*\'|[\w\-]+))*)\s*=', raw)
            if not m:
                continue
            path = (*table, *_split_key(m.group(1)))
            out.append((n, path, block, raw))
            rest = code.split("=", 1)[1] if "=" in code else ""
            depth = rest.count("[") + rest.count("{") - rest.count("]") - rest.count("}")
            open_path = path
    return out


def _selector_text(item: Any) -> list[re.Pattern]:
    """Patterns that find a list item in a file: its name, or its type and year."""
    if not isinstance(item, dict):
        return []
    if item.get("name"):
        name = str(item["name"])
        return [re.compile(rf'name\s*=\s*["\']{re.escape(name)}["\']')]
    if "type" in item and "year" in item:
        return [re.compile(rf'type\s*=\s*["\']{re.escape(str(item["type"]))}["\']'),
                re.compile(rf'year\s*=\s*{re.escape(str(item["year"]))}\b')]
    return []


def _locate_in(path: Path, loc: tuple, data: dict | None) -> tuple[int | None, int]:
    """Best line for ``loc`` in one file and how much of the key path it matched (0: none)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, 0
    target = tuple(str(p) for p in loc if isinstance(p, str) and p != "[key]")
    # the first list item on the way, and the key path up to its list
    item, list_depth = None, None
    node: Any = data
    strs = 0
    for p in loc:
        if isinstance(p, int):
            if isinstance(node, list) and 0 <= p < len(node) and item is None:
                item, list_depth = node[p], strs
            node = node[p] if isinstance(node, list) and 0 <= p < len(node) else None
        else:
            strs += 1
            node = node.get(p) if isinstance(node, dict) else None
    pats = _selector_text(item)
    lines = text.splitlines()
    entries = _index_lines(text)
    block_text: dict[int, str] = {}
    starts = sorted({b for _, _, b, _ in entries if b is not None})
    for i, b in enumerate(starts):
        nxt = [n for n, p, bb, _ in entries if n > b and bb != b]
        end = nxt[0] - 1 if nxt else len(lines)
        block_text[b] = "\n".join(lines[b - 1:end])
    best, best_score = None, 0.0
    for n, path_, block, raw in entries:
        if not path_ or path_ != target[:len(path_)]:
            continue
        score = float(len(path_))
        if len(path_) < len(target):
            if re.search(rf'(^|[{{,\s.])"?{re.escape(target[-1])}"?\s*=', raw):
                score = len(target) - 0.5
        if pats and list_depth is not None and len(path_) >= list_depth:
            where = block_text.get(block, "") if block is not None else raw
            if not all(p.search(where) for p in pats) and not all(p.search(raw) for p in pats):
                continue
            score += 0.25
        if score > best_score:
            best, best_score = n, score
    return best, best_score


def _locate(files: list[Path], loc: tuple, data: dict | None) -> tuple[Path | None, int | None]:
    """The file of the ``extends`` chain (child first) that sets ``loc``, and its line."""
    if not files:
        return None, None
    best_file, best_line, best_score = files[-1], None, 0.0
    for f in reversed(files):
        line, score = _locate_in(f, loc, data)
        if score > best_score + 1e-9:
            best_file, best_line, best_score = f, line, score
    return best_file, best_line


def _find_line(path: Path | None, loc: list) -> int | None:
    """Best-effort line of ``loc`` (a key path) in one file."""
    if path is None or not Path(path).is_file():
        return None
    return _locate_in(Path(path), tuple(loc), None)[0]


def _find_name_line(path: Path, name: str) -> int | None:
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    pat = re.compile(rf'name\s*=\s*["\']{re.escape(name)}["\']')
    return next((i for i, line in enumerate(lines, 1) if pat.search(line)), None)


# --- describing a validation error --------------------------------------------------------
def _field_info(loc: tuple) -> Any:
    """The pydantic FieldInfo of the deepest named field on ``loc`` (None if unknown)."""
    from typing import get_origin
    model: Any = Scenario
    info = None
    keyed = False          # the last field was a table of models by name (sectors, regions)
    for part in loc:
        if isinstance(part, int) or part == "[key]":
            continue
        fields = getattr(model, "model_fields", None)
        if fields is not None and part in fields:
            info = fields[part]
            model = _inner_model(info.annotation)
            keyed = get_origin(info.annotation) is dict
        elif fields is not None and keyed:
            keyed = False  # the name of a sector or region: its model's fields come next
        elif fields is not None:
            return None    # an unknown name: keep nothing deeper
    return info


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names valid at the parent of ``loc`` (for 'did you mean')."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            if isinstance(model, type) and hasattr(model, "model_fields"):
                return list(model.model_fields)
            return []
        ann = fields[part].annotation
        model = _inner_model(ann)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _inner_model(ann: Any) -> Any:
    from typing import get_args
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in get_args(ann):
        m = _inner_model(a)
        if m is not None:
            return m
    return None


def _bounds(info: Any) -> str:
    """'>= 0 and <= 1' from a field's constraints (including those of dict values)."""
    from typing import get_args
    if info is None:
        return ""
    metas = list(getattr(info, "metadata", []))
    stack = [info.annotation]
    while stack:
        a = stack.pop()
        for x in get_args(a):
            if hasattr(x, "metadata"):
                metas += list(x.metadata)
            stack.append(x)
    b: dict[str, Any] = {}
    for md in metas:
        for attr in ("gt", "ge", "lt", "le"):
            v = getattr(md, attr, None)
            if v is not None:
                b.setdefault(attr, v)
    sym = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return " and ".join(f"{sym[a]} {b[a]:g}" if isinstance(b[a], float) else f"{sym[a]} {b[a]}"
                        for a in ("gt", "ge", "lt", "le") if a in b)


def _meaning(info: Any) -> str:
    d = getattr(info, "description", None)
    return f" (meaning: {d})" if d else ""


_TYPE_ALLOWED = {
    "int": "a whole number", "float": "a number", "bool": "true or false", "string": "text in quotes",
    "list": "a list in [ ]", "tuple": "a list in [ ]", "dict": "a table of key = value",
    "model": "a table of key = value", "literal": "one of the listed names",
}


def _given(v: Any) -> str:
    if isinstance(v, dict):
        return "a table {" + ", ".join(list(map(str, v))[:6]) + (", ..." if len(v) > 6 else "") + "}"
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def _key_of(loc: tuple) -> str:
    loc = tuple(p for p in loc if p != "[key]")
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")


def _item_label(data: dict | None, loc: tuple) -> str:
    """' (item "name")' for a loc through a named list item."""
    node: Any = data
    for p in loc:
        if isinstance(p, int):
            if isinstance(node, list) and 0 <= p < len(node) and isinstance(node[p], dict):
                k = _merge_key(node[p])
                return f' (item "{k}")' if k else ""
            return ""
        node = node.get(p) if isinstance(node, dict) else None
    return ""


def _cross_check(msg: str, data: dict | None) -> tuple[tuple, str, str]:
    """Key path, message and kind for a whole-scenario check (they name their own key)."""
    period = ""
    if isinstance(data, dict) and "start" in data and "end" in data:
        period = f"{data['start']}..{data['end']}"
    if m := re.match(r"^end (\S+) must be after start (\S+)$", msg):
        return ("end",), f"given end {m[1]} with start {m[2]}; allowed: an end date after the start", "date_order"
    if m := re.match(r"^(\w+)\[(\d+)\] \((.*)\) date (\S+) is outside the simulated period (\S+)$", msg):
        return (m[1], int(m[2]), "date"), (f"given {m[4]}; allowed: a date within the simulated period "
                                           f"{m[5]}"), "outside_period"
    if m := re.match(r"^(\w+)\[(\d+)\] \((.*)\) starts (\S+), after the simulated period ends (\S+)$", msg):
        return (m[1], int(m[2]), "start"), (f"given {m[4]}, after the simulated period ends {m[5]}; allowed: "
                                            f"a start within the simulated period {period}"), "outside_period"
    if m := re.match(r"^(\w+)\[(\d+)\] \((.*)\) (\S+)\.\.(\S+) lies outside the simulated period$", msg):
        return (m[1], int(m[2]), "start"), (f"given {m[4]}..{m[5]}; allowed: dates that overlap the "
                                            f"simulated period {period}"), "outside_period"
    if m := re.match(r"^(\w+)\[(\d+)\]\.regions: unknown region '(.*)'; allowed: (.*)$", msg):
        regions = ["all", "china", *sorted((data or {}).get("regions", {}))]
        near = difflib.get_close_matches(m[3], regions, n=1)
        hint = f"; did you mean {near[0]!r}? Allowed" if near else "; allowed"
        return (m[1], int(m[2]), "regions"), (f"given unknown region {m[3]!r}{hint}: "
                                              f"{', '.join(map(repr, regions))} (the regions under [regions])"), \
            "unknown_region"
    if m := re.match(r"^([\w.]+) lacks year\(s\) (\[.*?\])", msg):
        return tuple(m[1].split(".")), (f"lacks year(s) {m[2]} of the simulated period {period}; allowed: one "
                                        f"value per simulated year, e.g. {{ 2025 = ... }}"), "invalid"
    if m := re.match(r"^market\.initial_price lacks (.*)$", msg):
        return ("market", "initial_price"), f"lacks {m[1]}; allowed: a start price for every product", "missing_key"
    return (), msg, "invalid"


def _value_error(loc: tuple, msg: str, given: Any) -> tuple[str, str]:
    """Kind and fuller message for a field or item validator's complaint."""
    g = given if isinstance(given, dict) else {}
    if "before start" in msg:
        return "date_order", f"{msg}; allowed: an end on or after the start"
    if "batches must be in date order" in msg:
        dates = [str(b.get("issued")) for b in g.get("batches", []) if isinstance(b, dict)]
        return "date_order", f"given batches issued {', '.join(dates)}; allowed: batches in date order"
    if "approval steps must be in date order" in msg:
        dates = [str(b.get("start")) for b in g.get("approval", []) if isinstance(b, dict)]
        return "date_order", f"given approval steps from {', '.join(dates)}; allowed: steps in date order"
    if "collection steps must be in year order" in msg:
        years = [str(b.get("year")) for b in g.get("collection", []) if isinstance(b, dict)]
        return "date_order", f"given collection years {', '.join(years)}; allowed: years in increasing order"
    if "batch shares add up to more than 1" in msg:
        shares = [b.get("share") for b in g.get("batches", []) if isinstance(b, dict)]
        tot = sum(s for s in shares if isinstance(s, (int, float)))
        return "invalid", (f"given batch shares {shares} (sum {tot:g}); allowed: shares of the year's quota "
                           f"that add up to at most 1")
    if m := re.match(r"needs 12 monthly factors, got (\d+)", msg):
        return "length", (f"given {m[1]} values; allowed: 12 monthly factors, January to December "
                          f"(normalised to mean 1)")
    if "min <= mode <= max" in msg:
        return "invalid", (f"given min {g.get('min')}, mode {g.get('mode')}, max {g.get('max')}; allowed: "
                           f"min <= mode <= max (working days)")
    return "invalid", msg


def _describe(err: dict, path: Path | None, files: list[Path] | None = None,
              data: dict | None = None) -> ScenarioError:
    """One :class:`ScenarioError` for one pydantic error."""
    files = list(files) if files else ([Path(path)] if path else [])
    loc = tuple(err["loc"])
    typ = err["type"]
    given = err.get("input")
    msg = err["msg"]
    kind = "type"
    if typ in ("value_error", "assertion_error"):
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if not loc:
            loc, text, kind = _cross_check(msg, data)
        else:
            kind, text = _value_error(loc, msg, given)
            if "before start" in msg and loc and isinstance(loc[-1], int):
                loc = (*loc, "end")
    elif typ == "extra_forbidden":
        allowed = _allowed_keys(loc)
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        text = f"unknown key{hint} Allowed here: {', '.join(sorted(allowed))}"
        kind = "unknown_key"
    elif typ == "missing":
        text = f"required key is missing{_meaning(_field_info(loc))}"
        kind = "missing_key"
    elif typ in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        info = _field_info(loc)
        rng = _bounds(info) or msg.lower().removeprefix("input should be ")
        text = f"given {_given(given)}; allowed: a number {rng}{_meaning(info)}"
        kind = "out_of_range"
    elif typ == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        options = re.findall(r"'([^']*)'", expected)
        near = difflib.get_close_matches(str(given), options, n=1) if options else []
        hint = f"; did you mean {near[0]!r}? Allowed" if near else "; allowed"
        what = "name" if loc and loc[-1] == "[key]" else "value"
        text = f"given unknown {what} {_given(given)}{hint}: {expected}"
        kind = "not_allowed"
    elif typ.startswith(("date", "datetime")):
        text = f"given {_given(given)}; allowed: an ISO date such as 2025-04-04 (year-month-day)"
        kind = "date"
    elif typ in ("too_short", "too_long"):
        lim = (err.get("ctx") or {}).get("min_length" if typ == "too_short" else "max_length")
        text = f"given {_given(given)}; allowed: {'at least' if typ == 'too_short' else 'at most'} {lim} item(s)"
        kind = "length"
    else:
        base = typ.split("_")[0]
        allowed = _TYPE_ALLOWED.get(base, msg)
        info = _field_info(loc)
        text = f"given {_given(given)} ({type(given).__name__}); allowed: {allowed}{_meaning(info)}"
        kind = "type"
    file, line = _locate(files, loc, data)
    key = _key_of(loc) + _item_label(data, loc)
    via = files[-1] if files else None
    return ScenarioError(file or path, key or "(scenario)", text, line=line, kind=kind, via=via)


def _extra_problems(sc: "Scenario") -> list[tuple[tuple, str, str]]:
    """Checks the schema classes leave to the whole scenario, as (key path, kind, text):
    date order of shocks and the stockpile, shocks within the period, one item per name."""
    out = []
    for sname, s in sc.sectors.items():
        for i, sh in enumerate(s.shocks):
            if sh.end < sh.start:
                out.append((("sectors", sname, "shocks", i, "end"), "date_order",
                            f"given end {sh.end} before start {sh.start}; allowed: an end on or after the start"))
            if sh.start > sc.end or sh.end < sc.start:
                out.append((("sectors", sname, "shocks", i, "start"), "outside_period",
                            f"given {sh.start}..{sh.end}; allowed: dates that overlap the simulated period "
                            f"{sc.start}..{sc.end}"))
    st = sc.stockpile
    if st.start is not None and st.end is not None and st.end < st.start:
        out.append((("stockpile", "end"), "date_order",
                    f"given end {st.end} before start {st.start}; allowed: an end on or after the start"))
    for lname in _NAMED_LISTS:
        names = [getattr(x, "name", "") for x in getattr(sc, lname)]
        for i, n in enumerate(names):
            if n and n in names[:i]:
                out.append(((lname, i, "name"), "duplicate_name",
                            f"given two items named {n!r}; allowed: each name once"))
    keys = [(q.type, q.year) for q in sc.quota_policy.quotas]
    for i, k in enumerate(keys):
        if k in keys[:i]:
            out.append((("quota_policy", "quotas", i, "year"), "duplicate_name",
                        f"given two {k[0]} quotas for {k[1]}; allowed: one quota per type and year"))
    return out


def _problem_errors(problems: list, path: Path | None, files: list[Path], data: dict | None) -> list[ScenarioError]:
    """One :class:`ScenarioError` per whole-scenario problem (see :class:`_Problems`)."""
    out = []
    for p in problems:
        loc, text, kind = _cross_check(p, data) if isinstance(p, str) else (p[0], p[2], p[1])
        file, line = _locate(files, loc, data)
        out.append(ScenarioError(file or path, _key_of(loc) + _item_label(data, loc) or "(scenario)", text,
                                 line=line, kind=kind, via=files[-1] if files else None))
    return out


def scenario_from_dict(data: dict, path: Path | None = None, files: list[Path] | None = None) -> Scenario:
    """Validate a merged scenario dict; raise one :class:`ScenarioError` naming every problem.

    ``path`` is the file the dict came from (for the message); ``files`` the whole
    ``extends`` chain, parent first, so that the message can point at the file and line
    that set the bad key. Keys are checked one by one first; the checks across keys (dates
    within the period, regions defined, one item per name) run once every key is valid.
    """
    files = list(files) if files else ([Path(path)] if path else [])
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        errors: list[ScenarioError] = []
        for err in e.errors():
            problems = getattr((err.get("ctx") or {}).get("error"), "problems", None)
            if problems is not None and not err["loc"]:
                errors += _problem_errors(problems, path, files, data)
            else:
                errors.append(_describe(err, path, files, data))
        raise ScenarioError.of(errors) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load, resolve ``extends`` and validate a scenario file.

    The scenario's ``name`` is the file's own ``name`` key, or else the file's stem (a
    what-if does not inherit the name of the file it extends).

    Raises
    ------
    ScenarioError
        naming the file, key path, line, what was given and what is allowed.
    """
    path = Path(path)
    data, files = _resolve(path)
    try:
        own = tomllib.loads(read_text_file(files[-1]))
    except (OSError, tomllib.TOMLDecodeError):  # pragma: no cover - read fine a moment ago
        own = data
    if "name" not in own:
        data["name"] = path.stem
    sc = scenario_from_dict(data, path, files)
    sc._files = [str(f) for f in files]  # type: ignore[attr-defined]
    return sc


def scenario_hash(sc: Scenario) -> str:
    """SHA-256 of the scenario as loaded (canonical JSON)."""
    text = json.dumps(sc.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
