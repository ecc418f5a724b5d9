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

__all__ = ["Scenario", "ScenarioError", "load_scenario", "scenario_from_dict", "STAGES", "json_schema"]

STAGES = ("miners", "myanmar_holders", "overseas_miners", "separation_plants", "recyclers", "magnet_makers",
          "motor_makers", "overseas_buyers", "state_reserve")

NonNeg = Annotated[float, Field(ge=0)]
Pos = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]
ProductName = Literal[PRODUCTS]  # type: ignore[valid-type]
StageName = Literal[STAGES]  # type: ignore[valid-type]


class ScenarioError(Exception):
    """A scenario or sweep file that cannot be used. ``str(err)`` is the message for the user."""

    def __init__(self, file: str | Path | None, key: str, message: str, line: int | None = None,
                 kind: str = "invalid"):
        self.file, self.key, self.line, self.kind, self.detail = file, key, line, kind, message
        where = f"{file}" if file else "<scenario>"
        if line:
            where += f", line {line}"
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_default=True)


# ---------------------------------------------------------------------------------------
# firms
# ---------------------------------------------------------------------------------------
class FirmGroup(_Model):
    count: int = Field(ge=1, le=100_000, description="number of firms of this kind")
    capacity_t_per_yr: Pos = Field(description="total capacity of the group, t of main output per year")
    capacity_spread: float = Field(0.4, ge=0, le=3, description="lognormal sigma of firm sizes (0 = equal)")
    cost_yuan_per_t: NonNeg = Field(0.0, description="processing or mining cost, yuan per t of output")
    initial_stock_weeks: NonNeg = Field(4.0, description="finished and input stock at the start, weeks of flow")


class Miners(FirmGroup):
    """Domestic quota holders; ``capacity_t_per_yr`` in t REO."""


class MyanmarHolders(FirmGroup):
    """Ore holders outside China's quota; ``capacity_t_per_yr`` is what they can mine, t REO."""
    holdback_expectation: NonNeg = Field(4.0, description="h_x: offer share falls by this per unit expected price rise")
    holdback_price: NonNeg = Field(1.5, description="h_p: offer share falls by this per unit relative price below the floor")
    price_floor_share: Pos = Field(0.95, description="price below which holders hold back, as a share of the start price")
    min_offer_share: Share = Field(0.15, description="f_min: the share of stock always offered")
    storage_weeks: Pos = Field(26.0, description="holders stop mining when stock exceeds this many weeks of output")


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


class Recyclers(FirmGroup):
    """``capacity_t_per_yr`` is scrap processed, t."""
    recovery_yield: Share = Field(0.92, description="share of the scrap's rare-earth content recovered as oxide")


class MagnetMakers(FirmGroup):
    """``capacity_t_per_yr`` is sintered blanks, t."""
    scrap_share: Share = Field(0.22, description="share of blank mass machined off as scrap (public figure 20-30 %)")
    melt_loss_share: Share = Field(0.01, description="share of rare-earth input lost in melting/sintering")
    oxide_feed_share: Share = Field(0.25, description="share of Pr-Nd bought as oxide (toll-converted) instead of metal")


class Shock(_Model):
    name: str = ""
    start: dt.date
    end: dt.date
    multiplier: NonNeg = Field(description="multiplies end-product output while active (subsidy > 1, slump < 1)")
    source: str = ""


class Sector(_Model):
    firms: int = Field(ge=1, le=100_000, description="number of motor makers in the sector")
    units_per_yr: dict[str, Pos] = Field(description="end-product output per calendar year, units")
    magnet_kg_per_unit: dict[str, Pos] = Field(description="finished magnet per unit, kg, per year")
    unit_label: str = "units"
    uh_share: Share = Field(description="share of the sector's magnets that are the high-coercivity Dy/Tb grade")
    seasonality: list[Pos] = Field(default_factory=lambda: [1.0] * 12, description="12 monthly output factors (normalised to mean 1)")
    shocks: list[Shock] = Field(default_factory=list)
    source: str = ""

    @field_validator("seasonality")
    @classmethod
    def _twelve(cls, v: list[float]) -> list[float]:
        if len(v) != 12:
            raise ValueError(f"needs 12 monthly factors, got {len(v)}")
        return v


class Region(_Model):
    calendar: Literal[CALENDARS] = Field(description="holiday calendar of the region's buyers")  # type: ignore[valid-type]
    buyers: int = Field(ge=1, le=100_000)
    demand_t_per_yr: dict[str, NonNeg] = Field(description="magnets the region's buyers use per year, t")
    uh_share: Share = Field(description="share of the region's demand in the Dy/Tb grade")
    price_elasticity: NonNeg = Field(0.0, description="share of demand lost per 1 % rise of the landed price (with duties and tariffs) over its start level")
    seasonality: list[Pos] = Field(default_factory=lambda: [1.0] * 12)
    source: str = ""

    @field_validator("seasonality")
    @classmethod
    def _twelve(cls, v: list[float]) -> list[float]:
        if len(v) != 12:
            raise ValueError(f"needs 12 monthly factors, got {len(v)}")
        return v


class Firms(_Model):
    rock_miners: Miners
    ionic_miners: Miners
    myanmar_holders: MyanmarHolders
    overseas_miners: OverseasMiners = Field(default_factory=OverseasMiners)
    separation_plants: SeparationPlants
    recyclers: Recyclers
    magnet_makers: MagnetMakers


# ---------------------------------------------------------------------------------------
# market and behaviour
# ---------------------------------------------------------------------------------------
class LeadTimes(_Model):
    domestic_weeks: int = Field(1, ge=0, le=26)
    ore_weeks: int = Field(2, ge=0, le=26)
    import_weeks: int = Field(3, ge=0, le=26, description="Myanmar ore to Chinese plants")
    export_weeks: int = Field(5, ge=0, le=26, description="China to overseas buyers, by sea")


class Market(_Model):
    initial_price: dict[ProductName, Pos] = Field(  # type: ignore[valid-type]
        description="price at the start in the market's quoted unit (yuan/t or yuan/kg, see materials)")
    lead_times: LeadTimes = Field(default_factory=LeadTimes)
    links_per_buyer: int = Field(3, ge=1, le=50, description="suppliers each buyer is linked to, per product")
    backlog_cancel_share: Share = Field(0.15, description="share of an unfilled backlog buyers cancel each week")


class Behaviour(_Model):
    # expectations (MECHANISMS.md)
    trend_smoothing: Share = Field(0.3, description="lambda: weight of the latest weekly log-return in the trend")
    horizon_weeks: Pos = Field(8.0, description="H: horizon of the expected price change")
    w_trend: NonNeg = Field(1.0, description="weight of the extrapolated price trend")
    w_anchor: NonNeg = Field(0.5, description="weight of the pull back toward the anchor price (fundamentalist)")
    anchor_weeks: Pos = Field(26.0, description="time constant of the slow anchor price, weeks")
    w_news: NonNeg = Field(1.0)
    w_social: Share = Field(0.4)
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
    finished_adjust_weeks: Pos = Field(3.0)
    # pricing
    price_cover_response: NonNeg = Field(0.02, description="alpha_c: weekly price move per unit cover gap")
    price_expectation_response: NonNeg = Field(0.05, description="alpha_x: weekly price move per unit expected change")
    price_utilisation_response: NonNeg = Field(0.05, description="alpha_u: weekly price move per unit utilisation above normal")
    normal_utilisation_weeks: Pos = Field(52.0, description="a firm's normal utilisation is its own, smoothed over this many weeks")
    price_market_pull: Share = Field(0.3, description="weekly pull of an ask toward the market index")
    max_weekly_price_move: Share = Field(0.03, description="cap on a seller's weekly ask change")
    price_choice: NonNeg = Field(4.0, description="gamma: buyers' price sensitivity in splitting orders")
    reliability_smoothing: Share = Field(0.2)
    refusal_memory: Share = Field(0.2, description="overseas buyers' weekly update of their licence success rate")


# ---------------------------------------------------------------------------------------
# policy
# ---------------------------------------------------------------------------------------
class QuotaBatch(_Model):
    issued: dt.date
    share: Annotated[float, Field(gt=0, le=1)] = Field(description="share of the year's total issued")


class Quota(_Model):
    name: str = ""
    type: Literal["mining_rock", "mining_ionic", "separation"]
    year: int = Field(ge=1990, le=2100)
    total_t: NonNeg = Field(description="the year's quota, t REO")
    batches: list[QuotaBatch] = Field(min_length=1)
    source: str = ""

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
    late_after_days: int = Field(45, ge=0, le=365, description="a first batch later than last year's date plus this is overdue")
    imported_ore_counts_from: dt.date | None = Field(None, description="from this date imported ore counts against the separation quota")
    quotas: list[Quota] = Field(default_factory=list)


class ProcessingDays(_Model):
    min: NonNeg = 10
    mode: NonNeg = 30
    max: NonNeg = 45

    @model_validator(mode="after")
    def _order(self) -> "ProcessingDays":
        if not self.min <= self.mode <= self.max:
            raise ValueError("needs min <= mode <= max")
        return self


class ApprovalStep(_Model):
    start: dt.date
    rate: Share


class ExportControl(_Model):
    name: str
    products: list[ProductName] = Field(min_length=1)  # type: ignore[valid-type]
    start: dt.date
    end: dt.date | None = None
    regions: list[str] = Field(default_factory=lambda: ["all"])
    processing_working_days: ProcessingDays = Field(default_factory=ProcessingDays)
    approval: list[ApprovalStep] = Field(min_length=1, description="approval rate from each date on")
    source: str = ""

    @model_validator(mode="after")
    def _dates(self) -> "ExportControl":
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        d = [a.start for a in self.approval]
        if d != sorted(d):
            raise ValueError("approval steps must be in date order")
        return self


class Disruption(_Model):
    name: str
    target: StageName  # type: ignore[valid-type]
    start: dt.date
    end: dt.date
    capacity_offline_share: Share = Field(description="share of the target's capacity offline")
    source: str = ""

    @model_validator(mode="after")
    def _dates(self) -> "Disruption":
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class NewsEvent(_Model):
    name: str
    date: dt.date
    sign: Literal[-1, 1]
    strength: NonNeg = Field(description="a: expected relative price change the news implies")
    half_life_weeks: Pos = 4.0
    uncertainty: float = Field(0.0, ge=-1, le=1, description="uncertainty the news adds (or, negative, removes) for those who hear it")
    stages: list[StageName] = Field(default_factory=lambda: list(STAGES))  # type: ignore[valid-type]
    regions: list[str] = Field(default_factory=lambda: ["all"])
    source: str = ""


class CollectionStep(_Model):
    year: int = Field(ge=1990, le=2100)
    rate: Share = Field(description="share of end-of-life magnets collected from this year on")


class Recycling(_Model):
    eol_magnets_t_per_yr: NonNeg = Field(0.0, description="magnets in products reaching end of life per year, t")
    collection: list[CollectionStep] = Field(
        default_factory=list, description="share of end-of-life magnets collected and sold to recyclers, by year")

    @model_validator(mode="after")
    def _order(self) -> "Recycling":
        years = [c.year for c in self.collection]
        if years != sorted(years):
            raise ValueError("collection steps must be in year order")
        return self


class ExportQuota(_Model):
    name: str
    products: list[ProductName] = Field(min_length=1)  # type: ignore[valid-type]
    year: int = Field(ge=1990, le=2100)
    total_t: NonNeg = Field(description="tonnes of these products that may be exported in the year")
    source: str = ""


class TradeCharge(_Model):
    name: str
    products: list[ProductName] = Field(min_length=1)  # type: ignore[valid-type]
    regions: list[str] = Field(default_factory=lambda: ["all"], description="buyer regions it applies to")
    start: dt.date
    end: dt.date | None = None
    rate_share: NonNeg = Field(description="ad-valorem rate, share of the price (0.25 = 25 %)")
    source: str = ""

    @model_validator(mode="after")
    def _dates(self) -> "TradeCharge":
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Stockpile(_Model):
    """A state reserve that buys when prices dip below their recent level and releases
    when they climb above it."""
    products: list[ProductName] = Field(default_factory=list)  # type: ignore[valid-type]
    start: dt.date | None = None
    end: dt.date | None = None
    buy_below_share: Pos = Field(0.9, description="buys while the price index is below this share of its anchor price")
    sell_above_share: Pos = Field(1.25, description="releases while the price index is above this share of its anchor")
    buy_t_per_yr: dict[ProductName, NonNeg] = Field(default_factory=dict,  # type: ignore[valid-type]
                                                    description="buying rate per product, t per year")
    max_stock_t: dict[ProductName, NonNeg] = Field(default_factory=dict,  # type: ignore[valid-type]
                                                   description="largest stock the reserve holds, t")
    initial_stock_t: dict[ProductName, NonNeg] = Field(default_factory=dict)  # type: ignore[valid-type]
    source: str = ""


class Scenario(_Model):
    name: str
    description: str = ""
    question: str = Field("", description="the question this scenario answers")
    start: dt.date
    end: dt.date
    firms: Firms
    sectors: dict[str, Sector]
    regions: dict[str, Region]
    market: Market
    behaviour: Behaviour = Field(default_factory=Behaviour)
    quota_policy: QuotaPolicy = Field(default_factory=QuotaPolicy)
    export_controls: list[ExportControl] = Field(default_factory=list)
    disruptions: list[Disruption] = Field(default_factory=list)
    news: list[NewsEvent] = Field(default_factory=list)
    recycling: Recycling = Field(default_factory=Recycling)
    export_quotas: list[ExportQuota] = Field(default_factory=list)
    export_duties: list[TradeCharge] = Field(default_factory=list, description="China's duties on exports")
    import_tariffs: list[TradeCharge] = Field(default_factory=list, description="buyer regions' tariffs on Chinese goods")
    stockpile: Stockpile = Field(default_factory=Stockpile)
    prnd_reduction_std: Share = Field(0.0, description="share of Pr-Nd in the standard grade replaced by Ce")
    spin_up_weeks: int = Field(26, ge=0, le=520, description="ordinary weeks run before the start to settle stocks and order books")
    holidays: bool = Field(True, description="apply the holiday calendars (false: weekends only, for steady-state checks)")
    _files: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _cross_checks(self) -> "Scenario":
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        years = {str(y) for y in range(self.start.year, self.end.year + 1)}
        for sname, s in self.sectors.items():
            for key in ("units_per_yr", "magnet_kg_per_unit"):
                missing = years - set(getattr(s, key))
                if missing:
                    raise ValueError(f"sectors.{sname}.{key} lacks year(s) {sorted(missing)} of the simulated period")
        for rname, r in self.regions.items():
            missing = years - set(r.demand_t_per_yr)
            if missing:
                raise ValueError(f"regions.{rname}.demand_t_per_yr lacks year(s) {sorted(missing)}")
        for i, ev in enumerate(self.news):
            if not self.start <= ev.date <= self.end:
                raise ValueError(f"news[{i}] ({ev.name}) date {ev.date} is outside the simulated period {self.start}..{self.end}")
            _check_regions(ev.regions, self.regions, f"news[{i}].regions")
        for i, ec in enumerate(self.export_controls):
            if not ec.start <= self.end:
                raise ValueError(f"export_controls[{i}] ({ec.name}) starts {ec.start}, after the simulated period ends {self.end}")
            _check_regions(ec.regions, self.regions, f"export_controls[{i}].regions")
        for kind in ("export_duties", "import_tariffs"):
            for i, c in enumerate(getattr(self, kind)):
                if c.start > self.end:
                    raise ValueError(f"{kind}[{i}] ({c.name}) starts {c.start}, after the simulated period ends {self.end}")
                _check_regions(c.regions, self.regions, f"{kind}[{i}].regions")
        for i, d in enumerate(self.disruptions):
            if d.start > self.end or d.end < self.start:
                raise ValueError(f"disruptions[{i}] ({d.name}) {d.start}..{d.end} lies outside the simulated period")
        missing = set(PRODUCTS) - set(self.market.initial_price)
        if missing:
            raise ValueError(f"market.initial_price lacks {sorted(missing)}")
        return self


def _check_regions(given: list[str], regions: dict, where: str) -> None:
    for r in given:
        if r != "all" and r != "china" and r not in regions:
            raise ValueError(f"{where}: unknown region {r!r}; allowed: 'all', 'china', {sorted(regions)}")


def json_schema() -> dict:
    """JSON Schema of the scenario format (for editors and docs)."""
    return Scenario.model_json_schema()


# ---------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------
def _merge_key(item: Any) -> str | None:
    if isinstance(item, dict):
        if "name" in item:
            return str(item["name"])
        if "type" in item and "year" in item:
            return f"{item['type']}-{item['year']}"
    return None


def deep_merge(base: Any, over: Any) -> Any:
    """Merge ``over`` onto ``base``: tables key by key, named lists item by item."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(over, list) and over and all(_merge_key(i) for i in over) \
            and all(_merge_key(i) for i in base):
        out = {_merge_key(i): i for i in base}
        for item in over:
            key = _merge_key(item)
            if item.get("remove"):
                out.pop(key, None)
            elif key in out:
                out[key] = deep_merge(out[key], item)
            else:
                out[key] = item
        return list(out.values())
    return over


def _read_toml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found", kind="missing") from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as e:
        raise ScenarioError(path, "", f"cannot be read as a text file ({e.__class__.__name__})", kind="not_toml") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise ScenarioError(path, "", f"not valid TOML: {e}", line=int(m.group(1)) if m else None,
                            kind="not_toml") from None


def _resolve(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict, list[Path]]:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(chain[0], "extends", f"circular extends: {cycle}", kind="extends_cycle")
    data = _read_toml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data, [path]
    if not isinstance(parent, str):
        raise ScenarioError(path, "extends", f"must be a file name (string), got {parent!r}", kind="type")
    ppath = (path.parent / parent)
    if not ppath.exists():
        raise ScenarioError(path, "extends", f"file {parent!r} not found (looked in {path.parent})",
                            line=_find_line(path, ["extends"]), kind="extends_missing")
    base, files = _resolve(ppath, (*chain, path))
    return deep_merge(base, data), [*files, path]


def _find_line(path: Path | None, loc: list) -> int | None:
    """Best-effort line of the last named key of ``loc`` in the file."""
    if path is None or not Path(path).exists():
        return None
    names = [str(x) for x in loc if isinstance(x, str)]
    if not names:
        return None
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    key = re.escape(names[-1])
    pat = re.compile(rf'^\s*(\[+\s*)?([\w."-]*\.)?"?{key}"?\s*(=|\]|\.)')
    inline = re.compile(rf'[{{,]\s*"?{key}"?\s*=')
    for i, line in enumerate(lines, 1):
        if pat.search(line) or inline.search(line):
            return i
    return None


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


def _describe(err: dict, path: Path | None) -> ScenarioError:
    loc = tuple(err["loc"])
    key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    typ = err["type"]
    given = err.get("input")
    line = _find_line(path, list(loc))
    if typ == "extra_forbidden":
        allowed = _allowed_keys(loc)
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return ScenarioError(path, key, f"unknown key{hint} Allowed here: {', '.join(sorted(allowed))}",
                             line=line, kind="unknown_key")
    if typ == "missing":
        return ScenarioError(path, key, "required key is missing", line=line, kind="missing_key")
    if typ in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return ScenarioError(path, key, f"given {given!r}; allowed: {err['msg'].lower()}", line=line,
                             kind="out_of_range")
    if typ == "literal_error":
        return ScenarioError(path, key, f"given {given!r}; {err['msg'].lower()}", line=line, kind="not_allowed")
    if typ.startswith(("date", "datetime")):
        return ScenarioError(path, key, f"given {given!r}; allowed: an ISO date such as 2025-04-04", line=line,
                             kind="date")
    if typ == "value_error" or typ == "assertion_error":
        msg = err["msg"].removeprefix("Value error, ")
        kind = "date" if ("before" in msg or "outside" in msg or "order" in msg or "after" in msg) else "invalid"
        return ScenarioError(path, key or "(scenario)", msg, line=line, kind=kind)
    return ScenarioError(path, key, f"given {given!r}; {err['msg']}", line=line, kind="type")


def scenario_from_dict(data: dict, path: Path | None = None) -> Scenario:
    """Validate a merged scenario dict; raise :class:`ScenarioError` on the first problem."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        errs = sorted(e.errors(), key=lambda x: x["type"] != "extra_forbidden")
        raise _describe(errs[0], path) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load, resolve ``extends`` and validate a scenario file."""
    path = Path(path)
    data, files = _resolve(path)
    data.setdefault("name", path.stem)
    sc = scenario_from_dict(data, path)
    sc._files = [str(f) for f in files]  # type: ignore[attr-defined]
    return sc


def scenario_hash(sc: Scenario) -> str:
    """SHA-256 of the scenario as loaded (canonical JSON)."""
    text = json.dumps(sc.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
