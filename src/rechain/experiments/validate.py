"""Holding the model to the record: the facts table and ``rechain validate``.

``data/facts.csv`` lists what public market reports and the public record say happened
(``docs/sources.md``), one checkable fact a row. A fact selects a monthly series of the
run's monthly table (:func:`rechain.report.monthly_table`) by ``variable`` and the selectors ``stage``,
``product`` and ``region`` (``*`` or empty: any; ``a+b``: either), reduces it over a
``period`` with a ``measure``, and judges the result with a ``comparison``:

measure
    ``level``        the period's total (flows: production, exports, use ...) or mean
                     (levels: price, stock cover, sentiment ...);
    ``mom_pct``      % change of the mean month of the period against the period one month
                     earlier; ``qoq_pct`` three months earlier; ``yoy_pct`` a year earlier;
    ``change_pct``   % change against ``base_period`` (required; e.g. May against the mean
                     month of Q1); any of the % measures takes ``base_period`` if given;
    ``change``       the same, as a difference (for signed series such as sentiment);
                     a ``base_period`` ends before ``period`` starts;
    ``ratio``        level of the selection over the level of the ``other_*`` selection
                     (which must differ from the main one, as for the ``*_other`` comparisons).
comparison
    ``within``       ``|value - target| <= tolerance``;
    ``at_least`` / ``at_most``   ``value >= target - tolerance`` / ``value <= target + tolerance``;
    ``direction_up`` / ``direction_down``   ``value > tolerance`` / ``value < -tolerance``;
    ``less_than_other`` / ``greater_than_other``   the same measure of the ``other_*``
                     selection (empty fields: as the main one) subtracted: the value is the
                     difference, which must be ``< -tolerance`` / ``> tolerance``.

Within a month, flows are summed over the selected rows and levels averaged. Monthly
prices are monthly means of the weekly index, so a fact reported between two dates is
checked as a change of monthly means (the facts' notes say so).

:func:`evaluate_fact` is a pure function of a fact and a monthly table;
:func:`validate` runs a scenario over several seeds in parallel and summarises each fact:
its target, the simulated mean, min and max, the share of replicates that reproduce it,
and whether it is reproduced (the replicate mean satisfies the comparison).
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import stat
import sys
import time
import tomllib
import unicodedata
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

import click
import numpy as np
import pandas as pd

# how the monthly table is read: one rule for facts, sweeps and RunResult.series
from ..config.errors import _find_line, real_path
from ..options import NonEmptyPath, WholeNumber
from ..report import (CAPACITY_UNITS, FLOW_VARIABLES, LEVEL_VARIABLES, TONNE_UNITS, _as_read, _select, _split,
                      forms_of, mixed_selection, monthly_series, selector_problem)
from .executor import MAX_SEEDS, MAX_WORKERS

__all__ = ["Fact", "FactError", "Validation", "Vocabulary", "VARIABLES", "FLOW_VARIABLES", "LEVEL_VARIABLES",
           "MEASURES", "COMPARISONS", "load_facts", "check_given_facts", "scenario_facts_file", "load_scenario_facts",
           "default_vocabulary", "vocabulary_of", "check_selections", "facts_in_run",
           "empty_selection", "partial_selection", "outline_table", "check_facts_for", "package_facts_path",
           "parse_period", "monthly_series", "evaluate_fact", "judge", "evaluate", "summarise", "validate",
           "required_met_by_run", "format_table", "price_paths", "write_outputs", "write_figures", "validate_command"]

# --- what the monthly table holds (rechain.report.monthly_table) -------------------------
VARIABLES = FLOW_VARIABLES + LEVEL_VARIABLES
SIGNED_VARIABLES = ("sentiment",)          # may be negative: no % changes
PCT_MEASURES = {"mom_pct": 1, "qoq_pct": 3, "yoy_pct": 12, "change_pct": None}
MEASURES = ("level", *PCT_MEASURES, "change", "ratio")
COMPARISONS = ("within", "at_least", "at_most", "direction_up", "direction_down",
               "less_than_other", "greater_than_other")
NEEDS_TARGET = ("within", "at_least", "at_most")
COLUMNS = ["fact_id", "required", "description", "variable", "stage", "product", "region", "period",
           "measure", "base_period", "comparison", "target", "tolerance", "unit", "other_variable",
           "other_stage", "other_product", "other_region", "seed_fact", "source", "note"]
OTHER_COLUMNS = ("other_variable", "other_stage", "other_product", "other_region")
# a table must have these columns (a cell may be empty where the column allows it)
REQUIRED_COLUMNS = ("fact_id", "required", "variable", "stage", "product", "region", "period", "measure",
                    "comparison", "target", "tolerance")
# the monthly series the figures show, with the facts that fall on them
PANELS = {
    "ndfeb_output": ("NdFeB output (sintered blanks), t", "production", "magnet_makers", "magnet_std+magnet_uh", "*"),
    "magnet_exports": ("Magnet exports, t", "exports", "magnet_makers", "magnet_std+magnet_uh", "*"),
    "prnd_oxide_price": ("Pr-Nd oxide price, yuan/t", "price", "market", "prnd_oxide", "*"),
    "prnd_metal_price": ("Pr-Nd alloy price, yuan/t", "price", "market", "prnd_metal", "*"),
    "dy_oxide_price": ("Dy oxide price, yuan/kg", "price", "market", "dy_oxide", "*"),
    "tb_oxide_price": ("Tb oxide price, yuan/kg", "price", "market", "tb_oxide", "*"),
    "magnet_uh_price": ("52UH blank price, yuan/kg", "price", "market", "magnet_uh", "*"),
    "dy_tb_oxide_output": ("Dy + Tb oxide output (separation + recycling), t", "production",
                           "separation_plants+recyclers", "dy_oxide+tb_oxide", "*"),
}


class FactError(ValueError):
    """A fact that cannot be read or checked; the message names the fact and the field (one
    line per mistake when a table has several)."""

    def tell(self) -> None:
        """Each mistake on its own ``error:`` line on stderr, then their number if more than
        one: as a scenario's mistakes are told."""
        from ..config.loading import MAX_ERRORS_LISTED
        lines = [line for line in str(self).splitlines() if line.strip()]
        for line in lines[:MAX_ERRORS_LISTED]:
            click.echo(f"error: {line}", err=True)
        if len(lines) > MAX_ERRORS_LISTED:       # as for a scenario file: a script gone wrong is told in seconds
            click.echo(f"error: {len(lines) - MAX_ERRORS_LISTED:,} more mistakes are not listed; fix the ones above "
                       f"(often one slip, repeated) and check again", err=True)
        if len(lines) > 1:
            click.echo(f"{len(lines):,} errors", err=True)


# ---------------------------------------------------------------------------------------
# facts
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fact:
    """One checkable fact (a row of ``data/facts.csv``); see the module docstring."""

    fact_id: str
    variable: str
    period: str
    measure: str = "level"
    comparison: str = "within"
    stage: str = "*"
    product: str = "*"
    region: str = "*"
    base_period: str = ""
    target: float = math.nan
    tolerance: float = 0.0
    unit: str = ""
    required: bool = False
    description: str = ""
    other_variable: str = ""
    other_stage: str = ""
    other_product: str = ""
    other_region: str = ""
    seed_fact: str = ""
    source: str = ""
    note: str = ""
    where: str = field(default="", compare=False)   # "file, line N (id)" when read from a table

    def __post_init__(self) -> None:
        # an empty stage, product or region is "any", as "*" (a table's empty cell reads so)
        for key in ("stage", "product", "region"):
            if isinstance(getattr(self, key), str) and not getattr(self, key).strip():
                object.__setattr__(self, key, "*")

    @property
    def uses_other(self) -> bool:
        return self.measure == "ratio" or self.comparison in ("less_than_other", "greater_than_other")

    def selection(self, other: bool = False) -> tuple[str, str, str, str]:
        """(variable, stage, product, region) of the main or the ``other_*`` selection."""
        if not other:
            return self.variable, self.stage, self.product, self.region
        return (self.other_variable or self.variable, self.other_stage or self.stage,
                self.other_product or self.product, self.other_region or self.region)

    def months(self) -> list[str]:
        return parse_period(self.period)

    def base_months(self) -> list[str]:
        """The months a change is measured against (empty for level and ratio)."""
        if self.base_period:
            return parse_period(self.base_period)
        lag = PCT_MEASURES.get(self.measure)
        if lag is None:
            return []
        return [_shift(m, -lag) for m in self.months()]

    def target_text(self) -> str:
        """The target as a short phrase: '+7 ± 3 % MoM', 'down vs 2025-01/2025-03', ..."""
        base = f" vs {self.base_period}" if self.base_period else ""
        c = self.comparison
        if c == "within":
            return f"{_num(self.target, signed=self.measure != 'level')} ± {_num(self.tolerance, exact=True)} " \
                   f"{self.unit}".strip()
        if c == "at_least":
            return f">= {_num(self.target - self.tolerance)} {self.unit}".strip()
        if c == "at_most":
            return f"<= {_num(self.target + self.tolerance)} {self.unit}".strip()
        # a margin is shown when there is one: "down MoM" and "down MoM by > 3 %" judge apart
        pct = self.measure in PCT_MEASURES
        margin = f" by > {_num(self.tolerance, exact=True)}{' %' if pct else (' ' + self.unit if self.unit else '')}" \
            if self.tolerance > 0 else ""
        if c in ("direction_up", "direction_down"):
            word = "up" if c == "direction_up" else "down"
            what = {"mom_pct": " MoM", "qoq_pct": " QoQ", "yoy_pct": " YoY"}.get(self.measure, "")
            return f"{word}{what}{base}{margin}"
        v, s, p, _ = self.selection(other=True)
        sign = "<" if c == "less_than_other" else ">"
        how = " growth" if self.measure != "level" else ""
        of = f" of {p}" if p != self.product else ""
        return f"{sign} {v}{how}{of} ({s}){margin}"


def parse_period(period: str, column: str = "period") -> list[str]:
    """Months of a period: ``2025-02``, ``2025`` (its twelve months) or ``2025-01/2025-04``;
    ``column`` names it in messages (``period`` or ``base_period``).

    >>> parse_period("2025-01/2025-03")
    ['2025-01', '2025-02', '2025-03']
    """
    text = str(period).strip()
    try:
        if "/" in text:
            a, b = (s.strip() for s in text.split("/", 1))
            first, last = _month_range(a)[0], _month_range(b)[-1]
        else:
            first, last = _month_range(text)[0], _month_range(text)[-1]
    except FactError:
        # name the period as written: '2024/02' is a range's halves, each wrong, not period '02'
        raise FactError(f"{column} {text!r}: allowed YYYY-MM, YYYY or a range such as 2025-01/2025-04") from None
    try:
        start, end = pd.Period(first, "M"), pd.Period(last, "M")
    except (ValueError, OverflowError):     # year 0000
        raise FactError(f"{column} {text!r}: allowed YYYY-MM, YYYY or a range such as 2025-01/2025-04, "
                        f"years from 0001") from None
    if end < start:
        raise FactError(f"{column} {period!r} ends before it starts; allowed: a range from its first month to its last, "
                        f"such as {last}/{first}")
    return [str(p) for p in pd.period_range(start, end, freq="M")]


def _month_range(text: str) -> list[str]:
    if len(text) == 4 and text.isdigit():
        return [f"{text}-01", f"{text}-12"]
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return [text, text]
    raise FactError(f"period {text!r}: allowed YYYY-MM, YYYY or a range such as 2025-01/2025-04")


def _shift(month: str, n: int) -> str:
    return str(pd.Period(month, "M") + n)


def _truthy(v: Any, where: str) -> bool:
    s = str(v).strip().lower()
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no", ""):
        return False
    raise FactError(f"{where}: required: given {v!r}; allowed: true or false (also 1/0, yes/no; empty: false)")


def _float(v: Any, where: str, default: float) -> float:
    s = str(v).strip() if v is not None else ""
    if s == "":
        return default
    try:
        return float(s)
    except ValueError:
        raise FactError(f"{where}: not a number: {v!r}{_odd_characters(s)}") from None


#: characters a web page or a word processor puts in figures that look like ASCII ones
_LOOKALIKES = {"−": "-", "–": "-", "—": "-", " ": "nothing", " ": "nothing",
               " ": "nothing", "٫": ".", "．": "."}


def _odd_characters(text: str) -> str:
    """`` (it holds U+2212 MINUS SIGN: type '-')`` for characters in ``text`` beyond printable
    ASCII, which read like the ones meant but are not (a minus copied from a web page, a
    non-breaking space as a thousands separator, a zero-width space); "" if none."""
    odd = []
    for ch in dict.fromkeys(text):
        if " " <= ch <= "~":
            continue
        name = unicodedata.name(ch, "a control character")
        use = _LOOKALIKES.get(ch)
        odd.append(f"U+{ord(ch):04X} {name}" + (f": type {use if use == 'nothing' else repr(use)} there" if use
                                                  else ""))
    return f" (it holds {'; '.join(odd[:3])})" if odd else ""


def _finite(v: Any, where: str, default: float, allowed: str = "a finite number") -> float:
    """The number in a cell (``default`` if empty). float() also reads ``nan`` and ``inf``,
    which no fact can be judged against (a nan tolerance fails every value, an infinite one
    passes every one), so they are refused like text, in one message."""
    try:
        x = _float(v, where, default)
    except FactError:
        x = math.nan
    s = str(v).strip() if v is not None else ""
    if s and not math.isfinite(x):
        raise FactError(f"{where}: given {s}{_odd_characters(s)}; allowed: {allowed}")
    return x


@dataclass(frozen=True)
class Vocabulary:
    """Names the model outputs: variables, and per variable the stages, products and regions."""

    names: dict[str, dict[str, set[str]]]
    #: the names are those a run of the scenario output (not all the model can output): a row
    #: appears once something happens (no buyers abroad, no magnet exports)
    of_run: bool = False

    def check(self, fact: Fact, other: bool = False) -> None:
        var, stage, product, region = fact.selection(other)
        where = (fact.where or f"fact {fact.fact_id}") + (" (other_*)" if other else "")
        if var not in self.names:
            raise FactError(f"{where}: variable {var!r} is not in the monthly table; allowed: "
                            f"{', '.join(sorted(self.names))}")
        for key, sel in (("stage", stage), ("product", product), ("region", region)):
            allowed = self.names[var][key]
            try:
                names = _split(sel)
            except ValueError:
                raise FactError(f"{where}: {key} {sel!r} {selector_problem(sel)}; allowed: names joined by '+', "
                                f"each once (such as {'+'.join(sorted(allowed)[:2])}), or * for any") from None
            for name in names or []:
                if name in allowed:
                    continue
                names_here = ", ".join(sorted(allowed))
                if self.of_run:
                    raise FactError(f"{where}: {key} {name!r} does not occur with variable {var!r} in this "
                                    f"scenario's runs (a row appears only where something happens: no buyers "
                                    f"abroad, no exports, say); allowed here: {names_here} (or * for any), or a "
                                    f"facts table without the fact for this scenario")
                raise FactError(f"{where}: {key} {name!r} does not occur with variable {var!r}; "
                                f"allowed: {names_here} (or * for any)")
        named = _split(product) or []
        if var in FLOW_VARIABLES and len(named) > 1 and len(forms_of(named, var)) > 1:
            # known from the names alone: refused before any run (light_ore+magnet_std was
            # refused only once the replicates had run)
            raise FactError(f"{where}: product {product!r}: adds {var} of {', '.join(forms_of(named, var))}, whose "
                            f"tonnes do not add up (the same rare earths at different stages); allowed: a product, "
                            f"or several of one form joined by '+'")


def vocabulary_of(table: pd.DataFrame) -> Vocabulary:
    """The names that occur in a monthly table, per variable."""
    names: dict[str, dict[str, set[str]]] = {}
    for var, g in table.groupby("variable", sort=False):
        names[str(var)] = {k: set(map(str, g[k].unique())) for k in ("stage", "product", "region")}
    return Vocabulary(names, of_run=True)


def default_vocabulary(scenario=None) -> Vocabulary:
    """The names the model's monthly table uses, from the package's own lists.

    Sector and region names come from ``scenario`` (a :class:`~rechain.scenario.Scenario`)
    when given; otherwise from ``scenarios/baseline.toml`` when it can be found (the working
    folder, then the source tree), otherwise any name is accepted there and
    :func:`check_selections` catches what a run does not output.
    """
    from ..scenario import ScenarioError, load_scenario

    if scenario is None:
        for base in (Path.cwd(), Path(__file__).resolve().parents[3]):
            path = base / "scenarios" / "baseline.toml"
            if path.exists():
                # loaded as a run loads it, so a baseline that extends another file names
                # the sectors and regions of both; one that does not load names nothing
                try:
                    scenario = load_scenario(path)
                except (ScenarioError, OSError):
                    pass
                break
    if scenario is None:
        return vocabulary_of_names(None, None, None)
    return vocabulary_of_names(set(scenario.sectors), set(scenario.regions),
                               {q.name for q in scenario.export_quotas})


def vocabulary_of_names(sectors: set[str] | None, regions: set[str] | None,
                        export_quotas: set[str] | None) -> Vocabulary:
    """The names the model's monthly table uses, with a scenario's own ``sectors``, ``regions``
    and ``export_quotas`` (None: any name is accepted there)."""
    from ..materials import PRODUCTS
    from ..policy import QUOTA_TYPES
    from ..scenario import STAGES

    stages, products = set(STAGES), set(PRODUCTS)
    any_name: set[str] = _AnyName()
    sec = sectors if sectors is not None else any_name
    reg = regions if regions is not None else any_name
    firms = stages - {"motor_makers", "overseas_buyers"}
    v = {
        "production": dict(stage=firms, product=products, region={"china", "abroad"}),
        "orders": dict(stage=stages - {"miners", "myanmar_holders", "overseas_miners"}, product=products,
                       region={"china", "overseas"}),
        "exports": dict(stage=firms, product=products, region=reg),
        "imports": dict(stage={"separation_plants"}, product={"ore"}, region={"abroad"}),
        "price": dict(stage={"market"}, product=products, region=_union(reg, {"china"})),
        "licences_pending": dict(stage={"overseas_buyers"}, product={"controlled"}, region={"overseas"}),
        "quota_used": dict(stage={"miners", "separation_plants"}, product=set(QUOTA_TYPES), region={"china"}),
        "eol_collected": dict(stage={"recyclers"}, product={"scrap"}, region={"china"}),
        "offer_share": dict(stage={"myanmar_holders"}, product={"ionic_ore"}, region={"abroad"}),
    }
    for var in ("stock_cover_days", "sentiment", "uncertainty"):
        v[var] = dict(stage=stages, product={"all"}, region={"all"})
    for var in ("demand", "use", "shortfall"):
        v[var] = dict(stage={"motor_makers", "overseas_buyers"},
                      product=_union(sec, {"all", "prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide"}),
                      region=_union(reg, {"china"}))
    v["end_products_short"] = dict(stage={"motor_makers"}, product=sec, region={"china"})
    v["sales_abroad"] = dict(stage={"foreign_producers"}, product=products, region=reg)
    for var in ("licences_pending_t", "licences_applied", "licences_granted", "licences_refused"):
        v[var] = v["licences_pending"]
    v["quota_issued"] = v["quota_used"]
    for var in ("price_long_run", "market_cover_weeks"):
        v[var] = dict(v["price"], region={"china"})
    v["spot_traded"] = dict(v["price"], region={"china", "abroad"})     # China's spot market and the one abroad
    v["route_supply_cover"] = dict(stage={"market"}, product={"oxides"}, region={"china"})
    v["capacity"] = dict(stage=set(CAPACITY_UNITS), product={"all"}, region={"all"})
    v["output_short_of_inputs"] = dict(stage={"magnet_makers"}, product={"prnd_oxide", "dy_oxide", "tb_oxide"},
                                       region={"china"})
    # one row per export quota, named in the product column
    quotas = export_quotas if export_quotas is not None else any_name
    for var in ("export_quota_used", "export_quota_issued"):
        v[var] = dict(stage={"overseas_buyers"}, product=quotas, region={"overseas"})
    assert set(v) == set(VARIABLES)
    return Vocabulary(v)


class _AnyName(set):
    """A set that contains every name (for names only a scenario knows)."""

    def __contains__(self, item: object) -> bool:
        return True


def _union(a: set[str], b: set[str]) -> set[str]:
    return a if isinstance(a, _AnyName) else a | b


def _fact_from_row(row: dict[str, str], line: int, path: str,
                   extra_checks: tuple[Callable[[Fact, str], None], ...] = ()) -> Fact:
    """One row of a facts table as a :class:`Fact`, checked (:data:`_FACT_CHECKS`, then
    ``extra_checks``); :class:`FactError` telling every mistake of the row, one line each."""
    fid = (row.get("fact_id") or "").strip()
    where = f"{path}, line {line}" + (f" ({fid})" if fid else "")
    if not fid:
        raise FactError(f"{where}: fact_id: given nothing; allowed: a short id unique in the table, such as F01")
    kw: dict[str, Any] = {k: (row.get(k) or "").strip() for k in COLUMNS}
    for k, cell in kw.items():
        # a control character (NUL, a terminal code) or an invisible one (a zero-width space)
        # would pass into the tables and the terminal, or make two ids look alike
        hidden = [ch for ch in cell if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t\n\r"]
        if hidden:
            raise FactError(f"{where}: {k}: given {cell[:40]!r}{'...' if len(cell) > 40 else ''}, which holds "
                            f"U+{ord(hidden[0]):04X} ({unicodedata.name(hidden[0], 'a control character')}); "
                            f"allowed: visible text (tabs and line breaks in a quoted cell are fine)")
    for k in ("description", "source", "note"):     # a line break in a quoted cell: one line in tables
        kw[k] = " ".join(kw[k].splitlines())
    told: list[str] = []        # every mistake of the row at once

    def read(how: Callable[[], Any], stand_in: Any) -> Any:
        try:
            return how()
        except FactError as e:
            told.append(str(e))
            return stand_in
    kw["required"] = read(lambda: _truthy(kw["required"], where), True)
    kw["target"] = read(lambda: _finite(kw["target"], f"{where}: target", math.nan,
                                        "a finite number, or empty where the comparison takes none"), None)
    kw["tolerance"] = read(lambda: _finite(kw["tolerance"], f"{where}: tolerance", 0.0, "a finite number >= 0"), 0.0)
    for k in ("stage", "product", "region"):
        kw[k] = kw[k] or "*"
    told_target = kw["target"] is None
    if told_target:
        kw["target"] = math.nan
    fact = Fact(**kw, where=where)
    # a target told unreadable is not told again as missing
    told += [m for m in _mistakes(fact, where, (*_FACT_CHECKS, *extra_checks))
             if not (told_target and m.startswith(f"{where}: target:"))]
    if told:
        raise FactError("\n".join(told))
    return fact


def _check_fact(f: Fact, where: str) -> None:
    """Every check of one fact (:data:`_FACT_CHECKS`), each mistake told, one line each."""
    told = _mistakes(f, where)
    if told:
        raise FactError("\n".join(told))


def _mistakes(f: Fact, where: str, checks: tuple | None = None) -> list[str]:
    """What each of ``checks`` (default :data:`_FACT_CHECKS`) finds wrong with fact ``f``."""
    told = []
    for check in _FACT_CHECKS if checks is None else checks:
        try:
            check(f, where)
        except FactError as e:
            told.append(str(e))
    return told


def _not_a_number(v: object) -> bool:
    return isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))


def _check_numbers(f: Fact, where: str) -> None:
    for key in ("target", "tolerance"):       # a Fact made in Python, not read from a table
        v = getattr(f, key)
        if _not_a_number(v):
            raise FactError(f"{where}: {key}: given {v!r} ({type(v).__name__}); allowed: a number"
                            + (" (math.nan where the comparison takes none)" if key == "target" else ""))
    if not (math.isfinite(f.tolerance) and f.tolerance >= 0):
        raise FactError(f"{where}: tolerance: given {f.tolerance:g}; allowed: a finite number >= 0")


def _check_periods(f: Fact, where: str) -> None:
    try:
        f.months()
        if f.base_period:
            parse_period(f.base_period, "base_period")
    except FactError as e:
        raise FactError(f"{where}: {e}") from None


def _check_how(f: Fact, where: str) -> None:
    """Measure and comparison, and what they need of each other, the period and the target."""
    unknown = ([f"{where}: measure {f.measure!r}; allowed: {', '.join(MEASURES)}"] if f.measure not in MEASURES
               else []) + ([f"{where}: comparison {f.comparison!r}; allowed: {', '.join(COMPARISONS)}"]
                           if f.comparison not in COMPARISONS else [])
    if unknown:        # both told at once: what follows needs both
        raise FactError("\n".join(unknown))
    if _mistakes(f, where, (_check_periods,)) or any(map(_not_a_number, (f.target, f.tolerance))):
        return          # told by the other checks; what follows reads the periods and the numbers
    if f.comparison in NEEDS_TARGET and not math.isfinite(f.target):
        raise FactError(f"{where}: target: given no number for comparison {f.comparison!r}; allowed: a finite "
                        f"number (the comparison needs a numeric target)")
    span = {"mom_pct": (1, "a month such as 2025-08"), "qoq_pct": (3, "a month or a quarter such as "
                                                                       "2025-07/2025-09")}.get(f.measure)
    if span and not f.base_period and len(f.months()) > span[0]:
        # a year's mean against the year's mean one month earlier: defined, but never what a
        # record's "+7 % MoM" means
        raise FactError(f"{where}: measure {f.measure!r} on period {f.period!r} ({len(f.months())} months); allowed: "
                        f"{span[1]}, or yoy_pct for a year against the year before, or change_pct with a "
                        f"base_period")
    if f.measure in ("change_pct", "change") and not f.base_period:
        raise FactError(f"{where}: measure {f.measure!r} needs a base_period; allowed: the period it is measured "
                        f"against (such as 2025-01/2025-03), or measure mom_pct, qoq_pct or yoy_pct against the "
                        f"month, quarter or year before")
    if f.comparison.startswith("direction") and f.measure in ("level", "ratio"):
        raise FactError(f"{where}: comparison {f.comparison!r} needs a change measure "
                        f"(mom_pct, qoq_pct, yoy_pct, change_pct, change), not {f.measure!r}")
    if f.measure == "ratio" and f.comparison not in NEEDS_TARGET:
        raise FactError(f"{where}: measure 'ratio' goes with within, at_least or at_most")
    if f.measure in PCT_MEASURES and any(v in SIGNED_VARIABLES for v in
                                         (f.variable, f.other_variable) if v):
        raise FactError(f"{where}: {f.variable} can be negative; use measure 'change', not {f.measure!r}")
    _check_base_period(f, where)
    _check_other(f, where)
    _check_unused(f, where)
    _check_unit(f, where)


#: the checks of one fact, each independent of the others' outcome (a row's mistakes told together)
_FACT_CHECKS = (_check_numbers, _check_periods, _check_how)


#: units a % measure's figure may be written in ("% MoM", "% vs Q1 mean", ...), beside "%..."
PCT_UNITS = ("pp", "pct", "percent", "per cent", "percentage points")
#: the monthly table's units of quantities: a % change or a ratio is not in them
QUANTITY_UNITS = frozenset({"t", "t REO", "yuan/t", "yuan/kg", "weeks", "days", "applications"})


def _check_unit(f: Fact, where: str) -> None:
    """A unit that contradicts the measure is a sign the figure was meant otherwise (a price
    level typed into a % change fact, a yuan/kg quote against a yuan/t series): refused. The
    unit of a level is checked here where the package fixes it (prices, flows of named
    products); the rest against the run's rows (:func:`check_selections`)."""
    unit = f.unit.strip()
    if not unit:
        return
    if f.measure in PCT_MEASURES:
        if not (unit.startswith("%") or unit.lower() in PCT_UNITS):
            raise FactError(f"{where}: unit: given {unit!r}, but measure {f.measure!r} gives a % change; allowed: "
                            f"empty, '%' or a phrase starting with it (such as '% MoM'), or 'pp'")
        return
    if f.measure == "ratio":
        if unit.startswith("%") or unit.lower() in PCT_UNITS:
            raise FactError(f"{where}: unit: given {unit!r}, but measure 'ratio' gives a plain number (0.2 for "
                            f"20 %); allowed: empty, or a word for the number such as 'share' or 'x', with the "
                            f"target written as a fraction")
        if unit in QUANTITY_UNITS:
            raise FactError(f"{where}: unit: given {unit!r}, but measure 'ratio' divides one series by another: a "
                            f"number without the series' unit; allowed: empty, or a word for the number such as "
                            f"'share' or 'x'")
        return
    expected = series_units(f.variable, f.product)
    if expected and unit not in expected:
        raise FactError(f"{where}: unit: given {unit!r}, but {f.variable} of {f.product} is in "
                        f"{' and '.join(sorted(expected))}; allowed: {' or '.join(sorted(expected))} (convert the "
                        f"figures), or empty")


def series_units(variable: str, product: str) -> set[str]:
    """The units of ``variable`` for ``product`` (``a+b``: either; ``*``: unknown) where the
    package fixes them without a run: prices in each product's quoted unit, flows of products
    in tonnes (ore in t REO); an empty set where only the run's rows say."""
    from ..materials import materials
    mat = materials()
    try:
        names = _split(product)
    except ValueError:
        return set()
    if names is None or not set(names) <= set(mat.products):
        return {"t REO"} if variable in ("imports", "quota_used", "quota_issued") else set()
    if variable in ("price", "price_long_run"):
        return {mat.price_unit[n] for n in names}
    if variable in ("production", "orders", "exports", "sales_abroad", "spot_traded"):
        return {mat.units[n] for n in names}
    if variable in ("demand", "use", "shortfall"):
        return {"t"}
    return set()


def per_tonne_factor(unit: str) -> float | None:
    """What a price quoted in ``unit`` is multiplied by to give yuan/t (yuan/kg: 1,000), or
    None for a unit that is not a price per mass."""
    from ..materials import materials
    mat = materials()
    factors = {mat.price_unit[n]: float(q) for n, q in zip(mat.products, mat.quote_factor)}
    q = factors.get(unit)
    return None if not q else 1.0 / q


def _check_unused(f: Fact, where: str) -> None:
    """A cell the fact's measure or comparison does not read is a sign it was meant otherwise
    ('up by more than 10 %' written as direction_up with target 10 would pass at +1 %): refused."""
    if math.isfinite(f.target) and f.comparison not in NEEDS_TARGET:
        how = "at_least" if f.comparison in ("direction_up", "greater_than_other") else "at_most"
        raise FactError(f"{where}: target: given {f.target:g}, which comparison {f.comparison!r} does not read "
                        f"(it judges the sign, with tolerance as the margin); allowed: an empty target, or "
                        f"comparison {how} to judge against a figure")
    if f.base_period and f.measure in ("level", "ratio"):
        raise FactError(f"{where}: base_period: given {f.base_period}, which measure {f.measure!r} does not read; "
                        f"allowed: empty, or a change measure (change_pct, change) to compare with it")
    if not f.uses_other and any(getattr(f, k) for k in OTHER_COLUMNS):
        given = ", ".join(f"{k} {getattr(f, k)!r}" for k in OTHER_COLUMNS if getattr(f, k))
        raise FactError(f"{where}: {given}: not read by measure {f.measure!r} with comparison {f.comparison!r}; "
                        f"allowed: empty, or measure ratio / comparison less_than_other or greater_than_other")


def _check_base_period(f: Fact, where: str) -> None:
    """A change is measured against a base that ends before the period starts; a base that
    overlaps or follows it compares the period with itself or with its own future."""
    if f.measure not in (*PCT_MEASURES, "change") or not f.base_period:
        return
    first = f.months()[0]
    if f.base_months()[-1] >= first:           # YYYY-MM compare as text
        raise FactError(f"{where}: base_period: given {f.base_period}; allowed: a period ending by "
                        f"{_shift(first, -1)}, before period {f.period}")


def _check_other(f: Fact, where: str) -> None:
    """A ratio or a comparison with another series needs another series: with the other_*
    columns empty (they default to the main selection) or repeating it, a ratio is always 1
    and a difference always 0, whatever the run."""
    if not f.uses_other:
        return
    if not any(getattr(f, k) for k in OTHER_COLUMNS):
        given = "all empty"
    elif _selection_key(f.selection(other=True)) == _selection_key(f.selection()):
        given = "the main selection again (" + ", ".join(f.selection()) + ")"
    else:
        return
    what = "measure 'ratio' to divide by" if f.measure == "ratio" else f"comparison {f.comparison!r} to compare with"
    raise FactError(f"{where}: {', '.join(OTHER_COLUMNS)}: given {given}; allowed: another series than the main "
                    f"selection for {what} (an empty other_* column takes the main one's value)")


def _selection_key(sel: tuple[str, str, str, str]) -> tuple:
    """A selection as compared: ``*`` and empty alike, ``a+b`` as the set {a, b}."""
    var, *names = sel

    def key(n: str):
        try:
            split = _split(n)
        except ValueError:        # an empty or repeated name: the vocabulary check refuses it
            return n
        return None if split is None else frozenset(split)

    return (var, *(key(n) for n in names))


def scenario_facts_file(sc) -> Path | None:
    """The facts table a scenario names with ``facts_file`` (relative to the file of the
    ``extends`` chain that sets it: the nearest one that has it), or None for the package's.
    Raises :class:`FactError` when the file does not exist or is no file (a folder, a pipe),
    naming the scenario file that sets it and the line."""
    if not sc.facts_file:
        return None
    files = [Path(f) for f in getattr(sc, "_files", [])]
    own = files[-1] if files else None
    if "\x00" in sc.facts_file:
        raise FactError(f"{_setter(own)}: facts_file: given {sc.facts_file!r}, which holds a NUL character; "
                        f"allowed: a CSV facts table, relative to the scenario file")
    f = _file_setting_facts(sc)
    if f is not None:                          # the file whose value holds: relative to it, and to it only
        path = real_path(f.parent / sc.facts_file)
        if not os.path.lexists(path):          # a link loop is there: reading it says what it is
            raise FactError(f"{_setter(f)}: facts_file: {sc.facts_file!r} does not exist (looked for {path}); "
                            f"allowed: a CSV facts table, relative to the scenario file that sets it")
        return _a_table(path, _setter(f), sc.facts_file)
    path = Path(sc.facts_file)
    if not path.is_absolute() and files:
        path = real_path(own.parent / sc.facts_file)
    if not os.path.lexists(path):
        raise FactError(f"{_setter(own)}: facts_file: {sc.facts_file!r} does not exist (looked for {path}); "
                        f"allowed: a CSV facts table, relative to the scenario file")
    return _a_table(path, _setter(own), sc.facts_file)


def _file_setting_facts(sc) -> Path | None:
    """The file of the scenario's ``extends`` chain whose ``facts_file`` holds (the nearest to
    the scenario that sets it), or None when none can be read to say."""
    for f in reversed([Path(f) for f in getattr(sc, "_files", [])]):     # its own file first
        try:
            if "facts_file" in tomllib.loads(f.read_text(encoding="utf-8")):
                return f
        except (OSError, ValueError):
            continue
    return None


def load_scenario_facts(sc, vocabulary: Vocabulary | None = None) -> tuple[Path | None, list[Fact]]:
    """The facts a scenario is held to (:func:`scenario_facts_file`, :func:`load_facts`) and
    their path (None: the package's). A table that cannot be read as facts is named with the
    scenario file and line that point at it (a ``facts_file`` naming the wrong file showed only
    that file)."""
    path = scenario_facts_file(sc)
    try:
        return path, load_facts(path, vocabulary)
    except FactError as e:
        if path is None:
            raise
        files = [Path(f) for f in getattr(sc, "_files", [])]
        setter = _setter(_file_setting_facts(sc) or (files[-1] if files else None))
        first, *rest = str(e).split("\n")
        raise FactError("\n".join([f"{first} (the facts table that facts_file names, {setter})", *rest])) from None


def _setter(scenario_file: Path | None) -> str:
    """The scenario file that sets ``facts_file``, with the line where it does (if found)."""
    if scenario_file is None:
        return "<scenario>"
    line = _find_line(scenario_file, ["facts_file"])
    return f"{scenario_file}, line {line}" if line else str(scenario_file)


def _a_table(path: Path, where: str, given: str) -> Path:
    """``path`` if it can be read as a table: not a folder, a pipe or a device."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return path                # a link loop or no access: reading it says which
    if stat.S_ISDIR(mode):
        raise FactError(f"{where}: facts_file: {given!r} is a folder ({path}); allowed: a CSV facts table, "
                        f"relative to the scenario file")
    odd = ("a named pipe" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
           else "a socket" if stat.S_ISSOCK(mode) else None)
    if odd:
        raise FactError(f"{where}: facts_file: {given!r} is {odd} ({path}), not a file; allowed: a CSV facts table, "
                        f"relative to the scenario file")
    return path


def _read_facts_text(path: Path) -> str:
    """The text of a facts table (:func:`rechain.config.loading.read_text_file`: UTF-8, a
    byte-order mark dropped, which Excel's "CSV UTF-8" writes and which would otherwise stick to
    the first column's name), or :class:`FactError` in one line saying why it cannot be read."""
    from ..config.loading import read_text_file
    from ..scenario import ScenarioError
    try:
        return read_text_file(path, "a CSV facts table (facts_file)")
    except ScenarioError as e:
        raise FactError(str(e)) from None


def _csv_rows(reader: csv.DictReader, name: str):
    """The rows of ``reader``, each as ``(line, row, problem)`` with its line as the file
    numbers it and ``problem`` a :class:`FactError` naming the line, or None. Blank lines,
    rows of empty cells only (Excel writes a blank row as ``,,,,``) and rows whose first cell
    starts with ``#`` are skipped; empty cells beyond the header's columns (Excel's trailing
    commas) are dropped. A line the csv module cannot parse (a NUL byte, an unterminated
    quote at the end) ends the reading: what follows it is not rows."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield reader.line_num, None, FactError(f"{name}, line {reader.line_num}: not a CSV row ({e})")
            return
        extra = row.pop(None, None) or []
        if not any((v or "").strip() for v in (*row.values(), *extra)):
            continue
        if (row.get(reader.fieldnames[0]) or "").lstrip().startswith("#"):
            continue            # a row commented out, as analysts do
        short = [k for k, v in row.items() if v is None]
        if short:
            # a double quote left open runs on over the line breaks to the end of the file
            quote = any("\n" in (v or "") or "\r" in (v or "") for v in row.values()) and reader.line_num > 0
            yield reader.line_num, None, FactError(
                f"{name}, line {reader.line_num}: given {len(reader.fieldnames) - len(short)} cells, fewer than the "
                f"header's {len(reader.fieldnames)} columns (none for {', '.join(short)})"
                + ("; a cell runs over several lines: a double quote left open?" if quote else "")
                + "; allowed: a cell per column, an empty one between two commas, a double quote closed in its cell")
            continue
        filled = [c for c in extra if c.strip()]
        if filled:
            yield reader.line_num, None, FactError(
                f"{name}, line {reader.line_num}: given {len(reader.fieldnames) + len(extra)} cells, more than the "
                f"header's {len(reader.fieldnames)} columns (first extra: {filled[0]!r}); allowed: a cell per column, "
                f"a cell holding a comma in double quotes")
            continue
        if extra:       # empty, so maybe Excel's trailing commas: said only if the row is wrong
            row[_EXTRA_CELLS] = len(reader.fieldnames) + len(extra)
        yield reader.line_num, row, None


#: where :func:`_csv_rows` notes a row's cell count when it has more cells than the header (empty)
_EXTRA_CELLS = object()


def _read_rows(reader: csv.DictReader, name: str):
    """:func:`_csv_rows`, cells as long as the file may be (the csv module stops at 128 KiB,
    naming the line before the cell's)."""
    from ..config.loading import MAX_INPUT_BYTES
    limit = csv.field_size_limit(MAX_INPUT_BYTES)
    try:
        yield from _csv_rows(reader, name)
    finally:
        csv.field_size_limit(limit)


def load_facts(path: str | Path | None = None, vocabulary: Vocabulary | None = None) -> list[Fact]:
    """Read the facts table and check every row (the package's ``data/facts.csv`` by default).

    Every row must name a variable of the monthly table and stages, products and regions
    that occur with it (``vocabulary``: :func:`default_vocabulary` unless given, e.g. from
    :func:`vocabulary_of` a real table); measure, comparison, periods, target and tolerance
    must make sense together; ids must be unique. Raises :class:`FactError` naming the
    line, fact and field otherwise.
    """
    if path is None:
        text = resources.files("rechain").joinpath("data/facts.csv").read_text(encoding="utf-8")
        name = package_facts_path()
    else:
        from ..config.loading import as_path
        text = _read_facts_text(as_path(path, "facts"))
        name = str(path)
    # the csv module splits the lines: a line break inside a quoted cell stays in it, and only
    # \n, \r\n and \r end a row (str.splitlines also splits at U+2028, form feeds, ...)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = []
    try:
        # the header is the first row that is neither blank nor commented out with '#' (a note
        # above the header, as analysts write, is a comment like any other)
        for row in reader.reader:
            if any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#"):
                header = row
                break
    except csv.Error as e:
        raise FactError(f"{name}: not a CSV table ({e}); allowed: a UTF-8 CSV facts table") from None
    # Excel's trailing commas: columns without a name at the end of the header, empty below
    while header and not header[-1].strip():
        header = header[:-1]
    reader.fieldnames = header
    problems = _check_header(header, name)
    vocab = vocabulary or default_vocabulary()
    facts, seen = [], set()
    for line, row, problem in _read_rows(reader, name):
        if problem is not None:
            problems.append(str(problem))
            continue
        cells = row.pop(_EXTRA_CELLS, None)
        try:
            f = _fact_from_row(row, line, name, (lambda f, _: _check_names(f, vocab, seen),))
        except FactError as e:
            hint = "" if cells is None else (
                f" (the row has {cells} cells, more than the header's {len(header)} columns: a comma in a cell "
                f"without double quotes moves every cell after it one column on)")
            problems.append(str(e) + hint)
            continue
        facts.append(f)
    if problems:      # every mistake of the table at once, one line each
        raise FactError("\n".join(problems))
    if not facts:
        raise FactError(f"{name}: no facts (the header and no row, or only rows commented out with '#'); allowed: "
                        f"a row per fact under the header (docs/eras.md, the facts table)")
    return facts


def check_given_facts(facts: Any, vocabulary: Vocabulary, source: str = "the facts given") -> list[Fact]:
    """Facts made in Python (``validate(facts=[Fact(...), ...])``) checked as a table's rows
    are (:func:`load_facts`): each a :class:`Fact`, sound on its own, naming what the run
    outputs, ids unique. Raises :class:`FactError` naming ``source`` and the fact."""
    if isinstance(facts, (str, Path)) or not isinstance(facts, (list, tuple)):
        raise FactError(f"{source}: given {type(facts).__name__} {str(facts)[:80]!r}; allowed: a list of Fact "
                        f"(a facts table's path goes to facts_file=)")
    from dataclasses import replace
    checked, problems, seen = [], [], set()
    for i, f in enumerate(facts):
        if not isinstance(f, Fact):
            problems.append(f"{source}: item {i}: given {type(f).__name__}; allowed: a Fact")
            continue
        f = f if f.where else replace(f, where=f"{source}: fact {f.fact_id}")
        try:
            _check_fact(f, f.where)
            _check_names(f, vocabulary, seen)
        except FactError as e:
            problems.append(str(e))
        checked.append(f)
    if problems:
        raise FactError("\n".join(problems))
    if not checked:
        raise FactError(f"{source}: no facts")
    return checked


def _check_names(f: Fact, vocabulary: Vocabulary, seen: set[str]) -> None:
    """A fact's id is new to ``seen`` (then added) and its selections name what the run
    outputs; :class:`FactError` naming the fact otherwise."""
    if f.fact_id in seen:
        raise FactError(f"{f.where or f'fact {f.fact_id}'}: duplicate fact_id {f.fact_id!r}; allowed: each id once")
    seen.add(f.fact_id)
    vocabulary.check(f)
    if f.uses_other:
        vocabulary.check(f, other=True)


def _check_header(header: list[str], name: str) -> list[str]:
    """The columns a fact is read from must all be there (an empty cell is allowed where the
    column says what empty means); without ``required`` every fact would count as optional,
    without ``tolerance`` every ``within`` as exact, without ``product`` a price as the mean
    of every product's. Raises :class:`FactError` for a header the rows cannot be read
    under; returns the mistakes the rows can be read beside (unknown columns, none named like
    a known one, beside every required column: their cells are left out), to be told with
    the rows' own."""
    if not any(c.strip() for c in header):
        raise FactError(f"{name}: the file is empty (no header row); allowed: a CSV table whose first row names "
                        f"the columns {', '.join(REQUIRED_COLUMNS)}, one fact per row below it")
    if len(header) == 1 and ";" in header[0]:
        raise FactError(f"{name}: the header is one column, {header[0][:60]!r}: the columns are separated by ';'; "
                        f"allowed: a CSV table with commas between columns (save it as 'CSV UTF-8, comma "
                        f"delimited')")
    if len(header) == 1 and "\t" in header[0]:
        raise FactError(f"{name}: the header is one column, {header[0][:60]!r}: the columns are separated by tabs; "
                        f"allowed: a CSV table with commas between columns (save it as 'CSV UTF-8, comma "
                        f"delimited')")
    unnamed = [i + 1 for i, c in enumerate(header) if not c.strip()]
    if unnamed:
        raise FactError(f"{name}: header column(s) {', '.join(map(str, unnamed))} have no name; allowed: a name from "
                        f"{', '.join(COLUMNS)} for every column")
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise FactError(f"{name}: column(s) {', '.join(map(repr, twice))} given more than once; allowed: each "
                        f"column once")
    unknown = [c for c in header if c not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    problems = []
    if unknown:
        lower = [c for c in unknown if c.strip().lower() in COLUMNS]
        if len(lower) == len(unknown) and not [c for c in missing if c not in {u.strip().lower() for u in lower}]:
            spaced = [c for c in unknown if c != c.strip()]
            cased = [c for c in unknown if c.strip() != c.strip().lower()]
            if spaced and not cased:
                raise FactError(f"{name}: the column names have spaces around them (given "
                                f"{', '.join(map(repr, spaced[:3]))}{' ...' if len(spaced) > 3 else ''}); allowed: "
                                f"the names alone, with no space before or after a comma "
                                f"({', '.join(repr(c.strip()) for c in spaced[:3])}{' ...' if len(spaced) > 3 else ''})")
            raise FactError(f"{name}: the column names are not in lower case{' or have spaces around them' if spaced else ''} (given {', '.join(map(repr, unknown[:3]))}"
                            f"{' ...' if len(unknown) > 3 else ''}); allowed: the names as written in docs/eras.md, "
                            f"in lower case ({', '.join(c.strip().lower() for c in unknown[:3])}"
                            f"{' ...' if len(unknown) > 3 else ''})")
        hints = [f"{c!r} (spaces around {c.strip()!r})" if c.strip() in COLUMNS else
                 f"{c!r} (did you mean {c.strip().lower()!r}?)" if c.strip().lower() in COLUMNS else
                 f"{c!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(c, COLUMNS, 1)) else repr(c)
                 for c in unknown]
        problems.append(f"unknown column(s) {', '.join(hints)}")
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if not problems:
        return []
    optional = [c for c in COLUMNS if c not in REQUIRED_COLUMNS]
    said = (f"{name}: {'; '.join(problems)}; allowed: the columns {', '.join(REQUIRED_COLUMNS)} (a cell may be empty "
            f"where the format says so), and optionally {', '.join(optional)}")
    if missing or any(c.strip().lower() in COLUMNS for c in unknown):
        raise FactError(said)          # the rows' cells are not where their columns are read
    return [said]


def check_selections(facts: Iterable[Fact], table: pd.DataFrame, outline: bool = False) -> None:
    """Every fact's selections match rows of ``table`` and its months are in it; otherwise
    :class:`FactError` naming the fact's line, the column at fault and the names the run has.
    ``outline``: ``table`` is :func:`outline_table`'s, which has the rows of levels (prices,
    covers, quotas, demand) but not yet those of flows (a flow's row appears once something
    flows): facts of a variable it lacks are left to the check after the first run."""
    vocab = vocabulary_of(table)
    months = set(table["month"].unique())
    problems = []
    seen: dict = {}        # facts share selections: each is looked up in the table once
    for f in facts:
        if outline and not {f.variable, f.other_variable or f.variable} <= set(vocab.names):
            continue
        try:               # every fact's mistake at once, as a table's row mistakes are told
            _check_selection(f, vocab, table, months, seen)
        except FactError as e:
            problems.append(str(e))
    if problems:
        raise FactError("\n".join(problems))


def _selection_problem(table: pd.DataFrame, sel: tuple[str, str, str, str], prefix: str, seen: dict) -> str:
    """Why selection ``sel`` (of the main series, or the other with ``prefix`` ``other_``)
    picks no series of ``table`` ("" if it picks one), remembered in ``seen``."""
    def problem() -> str:
        rows = _select(table, *sel)
        return empty_selection(table, sel, prefix) if rows.empty else \
            partial_selection(table, sel, prefix) or mixed_selection(rows, sel, prefix)

    return _remembered(seen, ("problem", sel, prefix), problem)


def _remembered(seen: dict, key: tuple, make):
    """``seen[key]``, made by ``make()`` the first time."""
    if key not in seen:
        seen[key] = make()
    return seen[key]


def _check_selection(f: Fact, vocab: Vocabulary, table: pd.DataFrame, months: set[str],
                     seen: dict | None = None) -> None:
    """:func:`check_selections` for one fact (``seen``: what earlier facts' selections gave)."""
    seen = {} if seen is None else seen
    where = f.where or f"fact {f.fact_id}"
    vocab.check(f)
    if f.uses_other:
        vocab.check(f, other=True)
    for which in (False, True) if f.uses_other else (False,):
        problem = _selection_problem(table, f.selection(which), 'other_' if which else '', seen)
        if problem:
            raise FactError(f"{where}: {problem}")
    if f.uses_other and f.measure in ("level", "change"):
        main, other = (_remembered(seen, ("unit", sel), lambda sel=sel: selection_unit(table, sel))
                       for sel in (f.selection(), f.selection(other=True)))
        if main != other and not (per_tonne_factor(main) and per_tonne_factor(other)):
            raise FactError(f"{where}: other_*: the main series is in {main or 'several units'} and the other in "
                            f"{other or 'several units'}, whose difference means nothing; allowed: another series "
                            f"in the same unit (yuan/t against yuan/kg is compared per tonne), or measure ratio")
    if f.unit and f.measure in ("level", "change") and not f.uses_other:
        units = _remembered(seen, ("units", f.selection()),
                            lambda: sorted(set(map(str, _select(table, *f.selection())["unit"]))))
        if units and f.unit not in units:
            raise FactError(f"{where}: unit: given {f.unit!r}, but the run's {f.variable} for this selection is "
                            f"in {' and '.join(units)}; allowed: {' or '.join(units)} (convert the figures), or "
                            f"empty")
    need = set(f.months()) | set(f.base_months())
    if not need <= months:
        raise FactError(f"{where}: months {', '.join(sorted(need - months))} are outside the run "
                        f"({min(months)} .. {max(months)})")


def _beside(rows: pd.DataFrame, chosen: dict[str, str], key: str, prefix: str) -> tuple[list[str] | None, list[str], str]:
    """For column ``key`` of a selection (``chosen``: stage, product and region as given):
    the names asked for (None for any), those ``rows`` hold together with the other columns'
    names, and those other names as text for a message."""
    sub = rows
    for other, names in chosen.items():
        if other != key and _split(names) is not None:
            sub = sub[sub[other].isin(_split(names))]
    given = ", ".join(f"{prefix}{k} {v}" for k, v in chosen.items() if k != key and _split(v) is not None)
    return _split(chosen[key]), sorted(set(map(str, sub[key].unique()))), given


def partial_selection(table: pd.DataFrame, sel: tuple[str, str, str, str], prefix: str = "") -> str:
    """Why a sum of names (``a+b``) in ``sel`` holds a name that never occurs with the others,
    or "": the sum's other names would be judged alone, without a word (light_ore with stage
    magnet_makers). Read over every variable, so a flow that has not flowed yet is no error."""
    var, stage, product, region = sel
    chosen = {"stage": stage, "product": product, "region": region}
    for key in ("product", "stage", "region"):
        names, have, given = _beside(table, chosen, key, prefix)
        missing = [n for n in names or () if n not in have]
        if len(names or ()) > 1 and missing:
            return (f"{prefix}{key} {chosen[key]!r}: {', '.join(missing)} never occurs in the run"
                    + (f" with {given}" if given else "") + f", so the sum would be judged without it; allowed: "
                    f"{', '.join(have)}")
    return ""


def empty_selection(table: pd.DataFrame, sel: tuple[str, str, str, str], prefix: str = "") -> str:
    """Why ``sel`` (variable, stage, product, region) selects no rows of ``table``: the first
    of region, product and stage whose names never occur with the other two, and the names
    that do (each name may be valid alone: a Dy oxide price exists, and prices in the US,
    but not a Dy oxide price in the US, where nobody buys it)."""
    var, stage, product, region = sel
    rows = table[table["variable"] == var]
    chosen = {"stage": stage, "product": product, "region": region}
    for key in ("region", "product", "stage"):
        names, have, given = _beside(rows, chosen, key, prefix)
        if names is not None and have and not set(names) & set(have):
            return (f"{prefix}{key} {chosen[key]!r}: the run has no {var} rows for it"
                    + (f" with {given}" if given else "") + f"; allowed: {', '.join(have)} (or * for any)")
    return (f"the run has no {var} rows for {prefix}stage {stage!r}, {prefix}product {product!r} and "
            f"{prefix}region {region!r} together; allowed: names that occur together in the monthly table "
            f"(docs/scenarios.md, facts)")


def outline_table(sc) -> pd.DataFrame:
    """The monthly table's rows for scenario ``sc`` (a loaded :class:`~rechain.scenario.Scenario`)
    without running it: the model built (firms, links, spin-up) and its table read before the
    first week: the rows of levels are all there (values zero), those of flows not yet. Lets
    ``check`` and ``validate`` test a facts table against the run's names before any
    replicate runs."""
    from ..model import ChainModel
    from ..report import monthly_table

    return monthly_table(ChainModel(sc, seed=0, check_balance=False))


def check_facts_for(sc, facts: list[Fact], source: str) -> tuple[list[Fact], list[Fact]]:
    """The facts that fall within scenario ``sc``'s run and those left out (:func:`facts_in_run`),
    after checking every fact within it against the rows the run will have
    (:func:`check_selections` on :func:`outline_table`: levels; flows wait for a run). Raises
    :class:`FactError`, prefixed by ``source`` (the facts table), otherwise."""
    from ..calendar import whole_months
    table = outline_table(sc)
    # a month simulated in part (a run from 20 January) would judge a part-month's flows as a month's
    inside, outside = facts_in_run(facts, pd.DataFrame({"month": whole_months(sc.start, sc.end)}), source)
    told: list[str] = []           # every fact's mistake at once, not one a round
    try:
        _check_selections_of(source, inside, table, outline=True)
    except FactError as e:
        told += str(e).splitlines()
    for f in inside:
        slip = _price_slip(f, sc.market.initial_price)
        if slip:
            told.append(_naming(source, f"{f.where or f'fact {f.fact_id}'}: {slip}"))
    if told:
        raise FactError("\n".join(told))
    return inside, outside


#: a price fact's target this many times above or below the scenario's start price is taken
#: for a unit slip (yuan/kg for yuan/t is a factor of 1,000; the fastest rise of the record,
#: Dy and Tb in 2010-2011, was about ten-fold)
PRICE_SLIP_FACTOR = 100.0


def _price_slip(f: Fact, start_price: dict[str, float]) -> str:
    """Why a price level's target cannot be meant in the series' unit ("" if it can): it
    lies :data:`PRICE_SLIP_FACTOR` times or more from the scenario's start price of the
    products it selects (``start_price``: ``market.initial_price``, in the quoted units)."""
    if f.variable not in ("price", "price_long_run") or f.measure != "level" or f.comparison not in NEEDS_TARGET:
        return ""
    names = _split(f.product)
    if f.target is not None and np.isfinite(f.target) and f.target <= 0:
        unit = " and ".join(sorted(series_units(f.variable, f.product))) or "its quoted unit"
        return f"target: given {_num(f.target)}; allowed: a price above 0, in {unit}"
    if not names or not set(names) <= set(start_price) or not f.target > 0:
        return ""
    start = float(np.mean([start_price[n] for n in names]))
    ratio = f.target / start
    if 1.0 / PRICE_SLIP_FACTOR < ratio < PRICE_SLIP_FACTOR:
        return ""
    unit = " and ".join(sorted(series_units(f.variable, f.product))) or "its quoted unit"
    return (f"target: given {_num(f.target)}, {_num(ratio) if ratio >= 1 else '1/' + _num(1 / ratio)} times the "
            f"scenario's start price of {f.product} ({_num(start)} {unit}, market.initial_price): a figure in "
            f"another unit (yuan/kg for yuan/t is a factor of 1,000)?; allowed: a price in {unit}")


def _check_selections_of(source: str, facts: list[Fact], table: pd.DataFrame, outline: bool = False) -> None:
    """:func:`check_selections`, its error naming ``source`` (the facts table) unless it does."""
    try:
        check_selections(facts, table, outline)
    except FactError as e:
        raise FactError("\n".join(_naming(source, line) for line in str(e).splitlines())) from None


def _naming(source: str, message: str) -> str:
    """``message`` prefixed by ``source`` (the facts table) unless it names it already."""
    return message if message.startswith(source) else f"{source}: {message}"


def package_facts_path() -> str:
    """Where the package's own facts table is (for messages)."""
    return str(resources.files("rechain").joinpath("data/facts.csv"))


def facts_in_run(facts: list[Fact], table: pd.DataFrame, source: str = "the facts") -> tuple[list[Fact], list[Fact]]:
    """Split ``facts`` into those whose months all lie in ``table``'s months (the run's whole
    months) and those that do not (a shortened or moved period: they are left out, not failed). Raises
    :class:`FactError` when no fact falls within the run."""
    months = set(table["month"].unique())
    if not months:
        raise FactError(f"{source}: no fact falls within the run: it covers no calendar month from its first day "
                        f"to its last; allowed: a run of at least one whole month")
    inside, outside = [], []
    for f in facts:
        (inside if set(f.months()) | set(f.base_months()) <= months else outside).append(f)
    if not inside:
        base = [f.fact_id for f in facts if set(f.months()) <= months]
        why = f" (fact(s) {', '.join(base[:5])} fall within it, but the month(s) they compare with do not)" \
            if base else ""
        raise FactError(f"{source}: no fact falls within the run ({min(months)} .. {max(months)}){why}; allowed: "
                        f"a facts table (facts_file) with facts of the simulated period and of the months they "
                        f"compare with")
    return inside, outside


def why_left_out(fact: Fact, first: str, last: str) -> str:
    """Why ``fact`` is left out of a run whose whole months are ``first`` .. ``last``
    ("YYYY-MM"): "M03 (2019-08: after the run's last whole month, 2018-12)"."""
    months = sorted(set(fact.months()) | set(fact.base_months()))
    compared = " with the months it compares with" if not set(fact.base_months()) <= set(fact.months()) else ""
    if months[0] > last:
        why = f"after the run's last whole month, {last}"
    elif months[-1] < first:
        why = f"before the run's first whole month, {first}"
    else:
        why = f"partly outside the run's whole months, {first} .. {last}"
    return f"{fact.fact_id} ({fact.period}{compared}: {why})"


# ---------------------------------------------------------------------------------------
# evaluating a fact on one monthly table
# ---------------------------------------------------------------------------------------
def _period_value(series: pd.Series, months: list[str], variable: str, per_month: bool,
                  run_months: set[str] | None = None) -> float:
    flow = variable in FLOW_VARIABLES
    vals = series.reindex(months).to_numpy(dtype=float)
    if flow and run_months:
        # a run writes a flow's row only when something flowed: a month of the run without one is 0 t
        vals = np.where(np.isnan(vals) & np.isin(months, list(run_months)), 0.0, vals)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return math.nan
    if flow and not per_month:
        return float(vals.sum())
    return float(vals.mean())


def _measure(fact: Fact, table: pd.DataFrame, other: bool) -> tuple[float, float, float]:
    """(value, period value, base value) of one side of a fact."""
    var, stage, product, region = fact.selection(other)
    s = monthly_series(table, var, stage, product, region)
    run = set(table["month"]) if var in FLOW_VARIABLES and "month" in table else None
    if fact.measure in ("level", "ratio"):
        v = _period_value(s, fact.months(), var, False, run)
        return v, v, math.nan
    if fact.measure == "change":         # a flow's totals over the two periods, a level's means
        now = _period_value(s, fact.months(), var, False, run)
        base = _period_value(s, fact.base_months(), var, False, run)
        return now - base, now, base
    now = _period_value(s, fact.months(), var, True, run)
    base = _period_value(s, fact.base_months(), var, True, run)
    if not (math.isfinite(base) and base > 0 and math.isfinite(now)):
        return math.nan, now, base
    return 100.0 * (now / base - 1.0), now, base


def selection_unit(table: pd.DataFrame, sel: tuple[str, str, str, str]) -> str:
    """The unit of the series ``sel`` selects in ``table`` (read as :func:`monthly_series`
    reads it: a level in any region is China's), or "" if its rows have none or several."""
    var, stage, product, region = sel
    units = set(map(str, _as_read(_select(table, *sel), var, region)["unit"]))
    return units.pop() if len(units) == 1 else ""


def other_in_main_unit(fact: Fact, table: pd.DataFrame) -> float:
    """What the ``other_*`` side's level is multiplied by to be in the main side's unit: a
    price per kg against one per tonne is compared per the same mass (Pr-Nd oxide over Dy
    oxide per tonne, not yuan/t over yuan/kg); 1 for the same unit, for % measures and
    where the units do not convert."""
    if fact.measure not in ("level", "change", "ratio"):
        return 1.0
    main, other = selection_unit(table, fact.selection()), selection_unit(table, fact.selection(other=True))
    if main == other:
        return 1.0
    to_main, to_other = per_tonne_factor(main), per_tonne_factor(other)
    return to_other / to_main if to_main and to_other else 1.0


def evaluate_fact(fact: Fact, table: pd.DataFrame) -> dict[str, float | bool]:
    """Check one fact against one monthly table (pure function).

    Returns ``value`` (the number the comparison judges: the measure, the ratio, or the
    difference main - other), ``main`` and ``other`` (each side's measure), ``now`` and
    ``base`` (the main side's period and base values) and ``ok``.

    >>> f = Fact("T", "production", "2025-11", measure="mom_pct", target=10, tolerance=4)
    >>> t = pd.DataFrame({"month": ["2025-10", "2025-11"], "stage": "x", "product": "y",
    ...                   "region": "z", "variable": "production", "value": [100.0, 111.0], "unit": "t"})
    >>> round(evaluate_fact(f, t)["value"], 6), evaluate_fact(f, t)["ok"]
    (11.0, True)
    """
    main, now, base = _measure(fact, table, other=False)
    other = math.nan
    value = main
    why = _why_not_measured(fact, main, now, base)
    if fact.uses_other:
        scale = other_in_main_unit(fact, table)
        if fact.measure == "ratio":
            den = _measure(fact, table, other=True)[0] * scale
            other = den
            value = main / den if math.isfinite(den) and den != 0 else math.nan
            if not why and math.isfinite(den) and den == 0:
                why = "the other series is 0 over the period: a ratio to it cannot be formed"
        else:
            other, other_now, other_base = _measure(fact, table, other=True)
            other *= scale
            value = main - other
            why = why or _why_not_measured(fact, other, other_now, other_base, "the other series")
    return {"value": value, "main": main, "other": other, "now": now, "base": base, "ok": judge(fact, value),
            "why": why if not math.isfinite(value) else ""}


def _why_not_measured(fact: Fact, value: float, now: float, base: float, side: str = "the series") -> str:
    """Why one side of a fact has no number ("" when it has one): the judge fails a nan,
    and a user reading "nan" should learn which input to change."""
    if math.isfinite(value):
        return ""
    if not math.isfinite(now):
        return f"{side} has no value in {fact.period}"
    if not math.isfinite(base):
        return f"{side} has no value in the base months ({', '.join(fact.base_months())})"
    return (f"{side} is {_num(base)} in the base months: a % change from zero or below cannot be formed "
            "(measure change with a base_period compares the levels instead)")


def judge(fact: Fact, value: float) -> bool:
    """Does ``value`` satisfy the fact's comparison? (None reads as NaN: nothing.)"""
    return bool(satisfies(fact, np.array([value], dtype=float))[0])


def satisfies(fact: Fact, values: np.ndarray) -> np.ndarray:
    """:func:`judge` on an array of values at once (a value that is not finite satisfies nothing)."""
    c, t, tol = fact.comparison, fact.target, fact.tolerance
    eps = 1e-9 * max(1.0, abs(t)) if math.isfinite(t) else 0.0   # round-off in % changes
    with np.errstate(invalid="ignore"):
        if c == "within":
            ok = np.abs(values - t) <= tol + eps
        elif c == "at_least":
            ok = values >= t - tol - eps
        elif c == "at_most":
            ok = values <= t + tol + eps
        elif c in ("direction_up", "greater_than_other"):
            ok = values > tol
        elif c in ("direction_down", "less_than_other"):
            ok = values < -tol
        else:
            raise FactError(f"fact {fact.fact_id}: unknown comparison {c!r}")
    return ok & np.isfinite(values)


#: bootstrap resamples of the replicates behind :attr:`Validation.seed_range`
SEED_RESAMPLES = 1000
#: the central share of the resamples :attr:`Validation.seed_range` spans
SEED_RANGE_SHARE = 0.9


def resampled_required(facts: list[Fact], values: np.ndarray, resamples: int = SEED_RESAMPLES,
                       seed: int = 0) -> np.ndarray:
    """Required facts reproduced in each of ``resamples`` bootstrap resamples of the replicates.

    ``values[i, r]`` is fact ``i``'s value in replicate ``r`` (NaN: not measured). Each resample
    draws as many replicates as there are, with replacement, and judges every required fact
    on their mean, as :func:`summarise` judges it on all of them; the draws are seeded, so the
    same runs give the same counts."""
    n_rep = values.shape[1]
    picks = np.random.default_rng(seed).integers(0, n_rep, size=(resamples, n_rep))
    counts = np.zeros(resamples, dtype=int)
    for f, row in zip(facts, values):
        if f.required and np.isfinite(row).all():   # as in summarise: a fact some replicate lacks is not reproduced
            counts += satisfies(f, row[picks].mean(axis=1))
    return counts


def required_met_by_run(facts: list[Fact], per_run: list[pd.DataFrame]) -> np.ndarray:
    """Required facts each replicate reproduces on its own (its ``ok`` column of :func:`evaluate`),
    replicate ``r`` at index ``r``."""
    required = {f.fact_id for f in facts if f.required}
    return np.array([int(r.loc[r["fact_id"].isin(required), "ok"].astype(bool).sum()) for r in per_run], dtype=int)


def evaluate(facts: Iterable[Fact], table: pd.DataFrame) -> pd.DataFrame:
    """All facts on one monthly table: one row per fact (``fact_id, value, main, other, now, base, ok``)."""
    rows = [{"fact_id": f.fact_id, **evaluate_fact(f, table)} for f in facts]
    return pd.DataFrame(rows)


def summarise(facts: list[Fact], per_run: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per fact over replicates: target, simulated mean / min / max, share of
    replicates that reproduce it, and ``reproduced`` (the replicate mean satisfies the fact)."""
    stacked = pd.concat([r.assign(replicate=i) for i, r in enumerate(per_run)], ignore_index=True)
    rows = []
    for f in facts:
        g = stacked[stacked["fact_id"] == f.fact_id]
        vals = g["value"].to_numpy(dtype=float)
        fin = vals[np.isfinite(vals)]
        mean = float(fin.mean()) if fin.size == vals.size and fin.size else math.nan
        why = next((w for w in g.get("why", pd.Series(dtype=str)) if w), "")
        if why and fin.size:      # some replicates measured it: say which did not (replicate i is seed i)
            lacking = g.loc[~np.isfinite(vals), "replicate"].tolist()
            why = (f"in replicate{'s' if len(lacking) > 1 else ''} {', '.join(map(str, lacking))} of {vals.size}, "
                   f"{why}; the mean needs every replicate, and min and max are of the others")
        rows.append({
            "fact_id": f.fact_id, "required": f.required, "description": f.description, "period": f.period,
            "target": f.target_text(), "target_value": f.target, "tolerance": f.tolerance, "unit": f.unit,
            "mean": mean, "min": float(fin.min()) if fin.size else math.nan,
            "max": float(fin.max()) if fin.size else math.nan,
            "share_ok": float(g["ok"].mean()) if len(g) else 0.0, "replicates": int(len(g)),
            "reproduced": judge(f, mean), "seed_fact": f.seed_fact, "source": f.source,
            "not_measured": why,
        })
    return pd.DataFrame(rows)


#: a level whose runs' mean is this many times its target (or its target this many times the
#: mean) is told as a likely unit slip after the runs: Dy in 10,000 yuan/t (万元/t) reads 13
#: times low, tonnes given in kt 1,000 times; the record's own misses stay within a factor of 3
LEVEL_SLIP_FACTOR = 5.0
#: a percentage target within +-1 whose runs' mean is this many times it: written as a share?
PCT_SLIP_FACTOR = 20.0


def unit_slips(facts: list[Fact], table: pd.DataFrame) -> list[str]:
    """The facts whose target lies so far from what the runs give that it is more likely a
    figure in another unit than a miss: a level :data:`LEVEL_SLIP_FACTOR` times or more off
    (either way), a percentage within +-1 that the runs' mean exceeds :data:`PCT_SLIP_FACTOR`
    times (-0.51 for -51 %). One line each, to check, not an error: ``check`` cannot know the
    runs' values, and a target on a series it cannot tell apart by its size passes it."""
    notes = []
    mean_of = dict(zip(table["fact_id"], table["mean"]))
    for f in facts:
        mean = mean_of.get(f.fact_id, math.nan)
        if f.comparison not in NEEDS_TARGET or not math.isfinite(mean) or f.target == 0 or mean == 0:
            continue
        unit = selection_unit_name(f)
        if f.measure == "level" and f.target * mean > 0:
            ratio = mean / f.target
            if 1.0 / LEVEL_SLIP_FACTOR < ratio < LEVEL_SLIP_FACTOR:
                continue
            times = f"{_num(ratio)} times" if ratio >= 1 else f"1/{_num(1 / ratio)} of"
            hint = ("10,000 yuan/t for yuan/kg is a factor of 10, yuan/kg for yuan/t of 1,000"
                    if f.variable in ("price", "price_long_run") else "kt for t is a factor of 1,000")
            notes.append(f"{f.fact_id}: the runs' mean, {_num(mean)}{unit}, is {times} the target {_num(f.target)}: "
                         f"a figure in another unit ({hint})?")
        elif f.measure in PCT_MEASURES and abs(f.target) <= 1.0 and abs(mean) >= PCT_SLIP_FACTOR * abs(f.target):
            notes.append(f"{f.fact_id}: the target {_num(f.target, signed=True)} % is a {f.measure}, in per cent, "
                         f"and the runs give {_num(mean, signed=True)} %: a share written for a percentage "
                         f"({_num(f.target * 100, signed=True)} %)?")
    return notes


def tolerance_doubts(facts: Iterable[Fact]) -> list[str]:
    """Facts whose tolerance decides them whatever the run, one line each for ``check``: a
    ``within`` with tolerance 0 (met only by the exact figure, never by a simulated one), and a
    level whose band reaches zero or below (met by almost any run)."""
    doubts = []
    for f in facts:
        if f.comparison != "within" or not math.isfinite(f.target):
            continue
        if f.tolerance == 0:
            doubts.append(f"{f.fact_id}: tolerance 0, so only a simulated figure of exactly {_num(f.target)} meets "
                          f"it; give how far from the target still counts (the quote's precision; 8-10 % for a "
                          f"monthly price, docs/eras.md)")
        elif f.measure == "level" and f.target > 0 and f.tolerance >= f.target:
            doubts.append(f"{f.fact_id}: tolerance {_num(f.tolerance, exact=True)} is the target {_num(f.target)} "
                          f"or more: the band reaches zero, so almost any run meets it")
    return doubts


def selection_unit_name(f: Fact) -> str:
    """`` t`` or `` yuan/t`` after a level of the fact's series, where one unit is known."""
    units = series_units(f.variable, f.product)
    return f" {next(iter(units))}" if len(units) == 1 else ""


# ---------------------------------------------------------------------------------------
# running a scenario over seeds
# ---------------------------------------------------------------------------------------
@dataclass
class Validation:
    """The outcome of :func:`validate`.

    Attributes
    ----------
    table : one row per fact (see :func:`summarise`)
    facts : the facts checked
    monthly : the replicates' monthly tables (seed ``i`` at index ``i``)
    scenario_name, scenario_path, seeds, seconds : what was run and how long it took
    left_out : the facts whose months lie outside the run (not checked), each as its id with
        its period and why (:func:`why_left_out`)
    per_run : each replicate's fact values (:func:`evaluate`), seed ``i`` at index ``i``
    """

    table: pd.DataFrame
    facts: list[Fact]
    monthly: list[pd.DataFrame] = field(repr=False)
    scenario_name: str = ""
    scenario_path: str = ""
    seeds: list[int] = field(default_factory=list)
    seconds: float = 0.0
    left_out: list[str] = field(default_factory=list)
    facts_source: str = ""
    per_run: list[pd.DataFrame] = field(default_factory=list, repr=False)

    @property
    def checked(self) -> int:
        return int(len(self.table))

    @property
    def reproduced(self) -> int:
        return int(self.table["reproduced"].sum())

    @property
    def score(self) -> float:
        """Facts reproduced / facts checked."""
        return self.reproduced / self.checked if self.checked else 0.0

    @property
    def required_failed(self) -> list[str]:
        t = self.table
        return t.loc[t["required"] & ~t["reproduced"], "fact_id"].tolist()

    @property
    def passed(self) -> bool:
        """Every required fact reproduced."""
        return not self.required_failed

    def score_text(self) -> str:
        t = self.table
        req = t[t["required"]]
        return (f"score {self.reproduced}/{self.checked} = {self.score:.2f} facts reproduced; "
                f"required {int(req['reproduced'].sum())}/{len(req)}")

    @cached_property
    def seed_range(self) -> tuple[int, int] | None:
        """The central :data:`SEED_RANGE_SHARE` of the required facts reproduced over
        bootstrap resamples of the replicates (:func:`resampled_required`): how far the count
        could move with other seeds. None with fewer than two replicates (or their per-fact
        values, ``per_run``, not kept) or no required fact."""
        runs = self.per_run
        if len(runs) < 2 or not any(f.required for f in self.facts):
            return None
        ids = [f.fact_id for f in self.facts]
        values = np.column_stack([r.set_index("fact_id")["value"].reindex(ids).to_numpy(dtype=float) for r in runs])
        counts = resampled_required(self.facts, values)
        tail = (1.0 - SEED_RANGE_SHARE) / 2.0
        return int(np.quantile(counts, tail, method="lower")), int(np.quantile(counts, 1.0 - tail, method="higher"))

    @property
    def required_by_seed(self) -> np.ndarray | None:
        """Required facts each seed reproduces on its own (:func:`required_met_by_run`), in the
        order of ``seeds``; None without per-run values or required facts."""
        if not self.per_run or not any(f.required for f in self.facts):
            return None
        return required_met_by_run(self.facts, self.per_run)

    def seeds_text(self) -> str:
        """One line on each seed on its own, with the seeds that meet fewest: a mean over seeds
        whose runs took different courses describes none of them (docs/ODD.md section 8 traces
        one such course of the baseline). "" with fewer than two replicates."""
        counts = self.required_by_seed
        if counts is None or counts.size < 2:
            return ""
        n = int(self.table["required"].sum())
        seeds = self.seeds if len(self.seeds) == counts.size else list(range(counts.size))
        if counts.size <= 20:
            return (f"each seed on its own ({seeds[0]}..{seeds[-1]}): {', '.join(str(c) for c in counts)} "
                    f"of the {n} required facts")
        fewest = ", ".join(f"{seeds[i]} ({counts[i]})" for i in np.argsort(counts, kind="stable")[:3])
        return (f"each seed on its own: {counts.min()}-{counts.max()} of the {n} required facts "
                f"(median {np.median(counts):g}); fewest on seeds {fewest}: read a run on its own with rechain run --seed")

    def seed_range_text(self) -> str:
        """One line on :attr:`seed_range`, or "" when there is none."""
        span = self.seed_range
        if span is None:
            return ""
        n = int(self.table["required"].sum())
        if span[0] == span[1]:          # "likely 2-2 ... counts differ by less" said nothing
            return (f"with other seeds: likely {span[0]} of the {n} required facts met ({SEED_RANGE_SHARE:.0%} "
                    f"of {SEED_RESAMPLES:,} resamples of these {len(self.seeds)} seeds meet that many: the seeds' luck "
                    f"alone hardly moves the count)")
        return (f"with other seeds: likely {span[0]}-{span[1]} of the {n} required facts met (the seeds' luck "
                f"alone moves the count that much; {SEED_RANGE_SHARE:.0%} of {SEED_RESAMPLES:,} resamples of these "
                f"{len(self.seeds)} seeds fall there): two scenarios whose counts differ by less are not told apart")


def _run_monthly(task: tuple[str, int]) -> pd.DataFrame:
    """Worker: run the scenario ``(path, seed)`` and return its monthly table."""
    from ..results import run
    path, seed = task
    return run(path, seed=seed).monthly


def validate(scenario_path: str | Path = "scenarios/baseline.toml", replicates: int = 5, workers: int = 2,
             facts: list[Fact] | None = None, scheduler: str | None = None, progress: bool = False,
             facts_file: str | Path | None = None) -> Validation:
    """Run the scenario with seeds ``0 .. replicates-1`` and check every fact on each run.

    The facts are ``facts`` if given, else the table ``facts_file`` (a path), else the
    scenario's own ``facts_file``, else the package's.

    Runs go to the executor of the experiments (:mod:`rechain.experiments.executor`):
    ``workers`` spawned processes (``workers=1``: here, one after the other), or Dask with
    ``scheduler``; ``progress`` shows a bar over the runs. Raises
    :class:`~rechain.scenario.ScenarioError` if the scenario does not load and
    :class:`FactError` if a fact selects nothing in the run.
    """
    from tqdm import tqdm

    from ..scenario import load_scenario
    from .executor import check_count, open_executor

    check_count("replicates", replicates, 1, MAX_SEEDS)
    check_count("workers", workers, 1, MAX_WORKERS)
    t0 = time.perf_counter()
    sc = load_scenario(scenario_path)          # fails early, with the scenario's own message
    if facts is None:
        if facts_file is not None:
            facts_path = Path(facts_file)
            facts = load_facts(facts_path, default_vocabulary(sc))
        else:
            facts_path, facts = load_scenario_facts(sc, default_vocabulary(sc))
        source = str(facts_path) if facts_path else package_facts_path()
    else:
        source = "the facts given (validate(facts=...))"
        facts = check_given_facts(facts, default_vocabulary(sc), source)
    path = str(Path(scenario_path).resolve())
    # before any replicate runs: a fact the run cannot answer fails now, not after the runs
    facts, left_out = check_facts_for(sc, facts, source)
    from ..calendar import whole_months
    run_months = whole_months(sc.start, sc.end)
    seeds = list(range(replicates))
    tables: list[pd.DataFrame] = [pd.DataFrame()] * replicates
    # disable=None: no bar when stderr is not a terminal (redirected, the bar's redraws would
    # land between the table's lines)
    with open_executor(workers, scheduler, tasks=replicates) as ex, \
            tqdm(total=replicates, unit="run", desc=f"validate {sc.name}", disable=True if not progress else None,
                 leave=False, dynamic_ncols=True, file=sys.stderr) as bar:
        for i, table in ex.map(_run_monthly, [(path, s) for s in seeds]):
            tables[i] = table
            bar.update()
    # the flows' rows, which only a run has, on the rows of every replicate: a flow with no row
    # in one seed (nothing flowed) is there in another, and the answer is the same whichever
    # replicate comes back first
    _check_selections_of(source, facts, pd.concat(tables, ignore_index=True))
    per_run = [evaluate(facts, t) for t in tables]
    table = summarise(facts, per_run)
    return Validation(table=table, facts=facts, monthly=tables, scenario_name=sc.name,
                      scenario_path=str(scenario_path), seeds=seeds, seconds=time.perf_counter() - t0,
                      left_out=[why_left_out(f, run_months[0], run_months[-1]) for f in left_out],
                      facts_source=source, per_run=per_run)


# ---------------------------------------------------------------------------------------
# output: printed table, facts.csv, facts.md, prices.csv, figures
# ---------------------------------------------------------------------------------------
def _num(x: float, signed: bool = False, exact: bool = False) -> str:
    """A figure for the tables, rounded for reading; ``exact``: a figure the user wrote (a
    tolerance) keeps up to three decimals where rounding would change it (999.99, not 1000)."""
    if x is None or not math.isfinite(x):
        return "nan"
    a = abs(x)
    if exact and a < 1e12 and round(x, 3) != round(x):
        s = f"{x:,.3f}".rstrip("0").rstrip(".")
        return f"+{s}" if signed and x > 0 else s
    if a >= 1e12:       # beyond any market figure: a 300-digit integer would hide the table
        s = f"{x:.3g}"
    elif a >= 1000:
        s = f"{x:,.0f}"
    elif a >= 100:
        s = f"{x:.0f}"
    elif a >= 10:
        s = f"{x:.1f}"
    elif a >= 1 or a == 0:
        s = f"{x:.2f}".rstrip("0").rstrip(".") if a else "0"
    else:
        s = f"{x:.3g}"
    return f"+{s}" if signed and x > 0 else s


def format_table(v: Validation, width: int = 46) -> str:
    """The printed table: one line per fact."""
    head = f"{'fact':<4} {'req':<3} {'description':<{width}} {'target':<26} {'mean':>10} {'min .. max':>23} " \
           f"{'ok/n':>5}  reproduced"
    lines = [head, "-" * len(head)]
    for r in v.table.itertuples():
        desc = r.description if len(r.description) <= width else r.description[: width - 3] + "..."
        spread = f"{_num(r.min)} .. {_num(r.max)}"
        share = f"{round(r.share_ok * r.replicates)}/{r.replicates}"
        lines.append(f"{r.fact_id:<4} {'*' if r.required else '':<3} {desc:<{width}} {r.target:<26} "
                     f"{_num(r.mean):>10} {spread:>23} {share:>5}  {'yes' if r.reproduced else 'NO'}")
    lines += [f"{r.fact_id}: not measured: {r.not_measured}" for r in v.table.itertuples() if r.not_measured]
    return "\n".join(lines)


def _markdown(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        cells = []
        for x in row:
            if isinstance(x, float):
                cells.append(_num(x))
            else:
                cells.append(str(x).replace("|", "\\|"))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def price_paths(v: Validation) -> pd.DataFrame:
    """The simulated monthly price of every series a price-level fact quotes, beside the quotes.

    One row per series and month of the run: ``mean``, ``min`` and ``max`` over the
    replicates (the series as the facts read it: China's market where no region is named, in
    the market's units) and, in the months a level fact covers, its ``quote``, ``unit``,
    ``period`` and ``fact_id`` (a quote of a period's mean beside each of its months; a month
    two facts quote has a row for each). Empty when no fact quotes a price level."""
    quoting = [f for f in v.facts if f.variable == "price" and f.measure == "level" and f.comparison in NEEDS_TARGET]
    series: dict[tuple[str, str, str], list[Fact]] = {}
    for f in quoting:
        # one series however a fact names it: prices are the market's ("*" reads it), and a
        # price in any region ("*") is China's, as monthly_series reads it
        key = ("market" if f.stage == "*" else f.stage, f.product, "*" if f.region == "china" else f.region)
        series.setdefault(key, []).append(f)
    rows = []
    for (stage, product, region), facts in sorted(series.items()):
        runs = pd.concat([monthly_series(t, "price", stage, product, region) for t in v.monthly], axis=1)
        # the series' own unit on every row (a fact's unit, where given, is the same: load_facts checks it)
        units = sorted(set(map(str, _select(v.monthly[0], "price", stage, product, region)["unit"])))
        unit = units[0] if len(units) == 1 else ""
        for month, values in runs.iterrows():
            base = {"product": product, "stage": stage, "region": region, "month": month,
                    "mean": float(values.mean()), "min": float(values.min()), "max": float(values.max()), "unit": unit}
            quotes = [f for f in facts if month in f.months()]
            rows += [{**base, "quote": float(f.target), "period": f.period, "fact_id": f.fact_id}
                     for f in quotes] or [{**base, "quote": np.nan, "period": "", "fact_id": ""}]
    return pd.DataFrame(rows, columns=["product", "stage", "region", "month", "mean", "min", "max", "quote", "unit",
                                       "period", "fact_id"])


def _price_paths_markdown(paths: pd.DataFrame) -> list[str]:
    """facts.md's view of :func:`price_paths`: a row per month, for each quoted series the
    simulated mean (min-max) and the quotes of that month."""
    if paths.empty:
        return []
    out = pd.DataFrame(index=pd.Index(sorted(paths["month"].unique()), name="month"))
    for (product, stage, region), t in paths.groupby(["product", "stage", "region"], sort=True):
        units = sorted(set(t["unit"]) - {""})
        name = product + ("" if stage in ("*", "market") else f" ({stage})") + ("" if region == "*" else f", {region}")
        first = t.groupby("month").first()
        out[f"{name}, simulated ({', '.join(units)})"] = [f"{_num(a)} ({_num(lo)} .. {_num(hi)})" for a, lo, hi
                                                          in zip(first["mean"], first["min"], first["max"])]
        quoted = {m: [] for m in out.index}
        for r in t[t["fact_id"] != ""].itertuples():
            quoted[r.month].append(f"{_num(r.quote)} ({r.fact_id}" + ("" if r.period == r.month else
                                                                      f", mean of {r.period}") + ")")
        out[f"{name}, quoted"] = ["; ".join(quoted[m]) for m in out.index]
    table = out.reset_index()
    return ["## Prices against the record", "",
            "Each quoted price series month by month: the replicates' mean (min .. max) beside the quotes of the "
            "facts (a quote of a longer period's mean stands beside each of its months). The same as a table: "
            "`prices.csv`.", "", _markdown(table), ""]


def write_outputs(v: Validation, out_dir: str | Path, figures: bool = True) -> Path:
    """Write ``facts.csv``, ``facts.md``, ``prices.csv`` (:func:`price_paths`) and the figures
    to ``out_dir`` (all at once)."""
    from ..outputs import output_dir
    from ..results import package_version

    out_dir = Path(out_dir)
    with output_dir(out_dir, "validation") as tmp:
        v.table.to_csv(tmp / "facts.csv", index=False)
        paths = price_paths(v)
        if not paths.empty:
            paths.to_csv(tmp / "prices.csv", index=False)
        t = v.table
        show = pd.DataFrame({
            "fact": t["fact_id"], "required": t["required"].map({True: "yes", False: ""}),
            "description": t["description"], "target": t["target"], "mean": t["mean"],
            "min": t["min"], "max": t["max"],
            "replicates ok": [f"{round(s * n)}/{n}" for s, n in zip(t["share_ok"], t["replicates"])],
            "reproduced": t["reproduced"].map({True: "yes", False: "**no**"}), "source": t["source"],
        })
        notes = "\n".join([f"- **{r.fact_id}** not measured: {r.not_measured}."
                           for r in t.itertuples() if r.not_measured]
                          + [f"- **{f.fact_id}** ({f.seed_fact or 'mechanism'}): {f.note}" for f in v.facts if f.note])
        failed = v.required_failed
        spread = v.seed_range_text()
        slips = unit_slips(v.facts, v.table)
        md = [f"# Validation of `{v.scenario_name}` against the record", "",
              f"Scenario `{v.scenario_path}`, seeds {v.seeds[0]}..{v.seeds[-1]} ({len(v.seeds)} replicates), "
              f"rechain {package_version()}, {v.seconds:.1f} s.", "",
              f"**{v.score_text()}.**" + (f" Required facts not reproduced: {', '.join(failed)}." if failed else
                                           " Every required fact is reproduced.")
              + (f" Left out, not within the run: {'; '.join(v.left_out)}." if v.left_out else "")
              + (f" {spread[0].upper()}{spread[1:]}." if spread else "")
              + (f" {each[0].upper()}{each[1:]}." if (each := v.seeds_text()) else ""), "",
              *[f"Check the unit: {note}" for note in slips], *([""] if slips else []),
              "A fact is *reproduced* when the mean over replicates satisfies it; *replicates ok* counts the "
              "replicates that satisfy it on their own. Values are in the fact's unit (for comparisons with "
              "another series: the difference, main minus other). Monthly prices are monthly means of the "
              "weekly index, so changes reported between two dates are checked as changes of monthly means. "
              f"The facts are `{v.facts_source or package_facts_path()}`"
              + ("; `docs/ODD.md` lists the seed facts not checked and why." if not v.facts_source
                 or v.facts_source == package_facts_path() else "."), "", _markdown(show), "", *_price_paths_markdown(paths), "## Notes", "", notes, ""]
        if figures:
            files = write_figures(v, tmp)
            md += ["## Figures", "", *[f"![{f}]({f})" for f in files], ""]
        (tmp / "facts.md").write_text("\n".join(md), encoding="utf-8")
    return out_dir


def _panel_facts(v: Validation, panel: tuple[str, str, str, str, str]) -> list[Fact]:
    _, var, stage, product, region = panel

    def key(s: str) -> frozenset[str] | None:
        names = _split(s)
        return None if names is None else frozenset(names)

    def read_as(f_stage: str, f_region: str) -> tuple:
        # a price is the market's ("*" reads it) and in any region China's: one series however named
        if var in LEVEL_VARIABLES and var.startswith("price"):
            f_stage = "market" if key(f_stage) is None else f_stage
            f_region = "*" if key(f_region) == frozenset({"china"}) else f_region
        return key(f_stage), key(f_region)

    return [f for f in v.facts if f.variable == var and read_as(f.stage, f.region) == read_as(stage, region)
            and key(f.product) == key(product)]


def write_figures(v: Validation, out_dir: str | Path) -> list[str]:
    """One PNG per panel: the simulated monthly series (replicate mean, min-max band) with
    the reported points laid over it. A change is drawn at base x (1 + target), with its
    tolerance as an error bar; an annual total as its monthly mean; a direction as an
    arrow at the simulated value. Green: reproduced; red: not."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    status = dict(zip(v.table["fact_id"], v.table["reproduced"]))
    files = []
    for name, panel in PANELS.items():
        title, var, stage, product, region = panel
        runs = pd.concat([monthly_series(t, var, stage, product, region) for t in v.monthly], axis=1)
        months = list(runs.index)
        x = pd.to_datetime(months)
        pos = {m: x[i] for i, m in enumerate(months)}
        mean = runs.mean(axis=1)
        fig, ax = plt.subplots(figsize=(12, 4.8))
        ax.fill_between(x, runs.min(axis=1), runs.max(axis=1), color="tab:blue", alpha=0.2,
                        label=f"simulated, min-max of {runs.shape[1]} replicates")
        ax.plot(x, mean, color="tab:blue", lw=1.5, label="simulated, mean")
        for n, f in enumerate(_panel_facts(v, panel)):
            col = "tab:green" if status.get(f.fact_id) else "tab:red"
            offset = (6, 6 + 11 * (n % 3))
            ms = [m for m in f.months() if m in pos]
            if not ms:
                continue
            xs = [pos[m] for m in ms]
            label_x = xs[len(xs) // 2]
            if f.measure == "level" and f.comparison in NEEDS_TARGET:
                scale = len(f.months()) if var in FLOW_VARIABLES else 1
                y, err = f.target / scale, f.tolerance / scale
            elif f.measure in PCT_MEASURES and f.comparison in NEEDS_TARGET:
                base = _period_value(mean, f.base_months(), var, per_month=True)
                y, err = base * (1 + f.target / 100.0), base * f.tolerance / 100.0
            elif f.comparison.startswith("direction"):
                y = _period_value(mean, ms, var, per_month=True)
                if not math.isfinite(y):
                    continue
                ax.plot(label_x, y, marker="^" if f.comparison == "direction_up" else "v", ms=11, color=col,
                        ls="none")
                ax.annotate(f.fact_id, (label_x, y), textcoords="offset points", xytext=offset, fontsize=8,
                            color=col)
                if f.base_period:
                    bx = [pos[m] for m in f.base_months() if m in pos]
                    by = _period_value(mean, f.base_months(), var, per_month=True)
                    if bx and math.isfinite(by):
                        ax.hlines(by, bx[0], bx[-1], color=col, lw=1.5, ls=":")
                continue
            else:
                continue
            if not math.isfinite(y):
                continue
            if f.comparison in ("at_least", "at_most"):
                # a one-sided fact is its bound, the side it allows marked: not a band around the target
                up = f.comparison == "at_least"
                y = y - err if up else y + err
                if len(xs) > 1:
                    ax.hlines(y, xs[0], xs[-1], color=col, lw=2, ls="--")
                ax.plot(label_x, y, marker="^" if up else "v", ms=9, color=col, ls="none")
            elif len(xs) > 1:
                ax.hlines(y, xs[0], xs[-1], color=col, lw=2)
                ax.fill_between(xs, y - err, y + err, color=col, alpha=0.15, step="mid")
            else:
                ax.errorbar(xs, [y], yerr=[err] if err > 0 else None, fmt="o", color=col, capsize=4, ms=6)
            ax.annotate(f.fact_id, (label_x, y), textcoords="offset points", xytext=offset, fontsize=8, color=col)
        ax.set_title(f"{title}: {v.scenario_name} against the record")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
        with warnings.catch_warnings():
            # a long fact id as a label can leave no room to lay out; the figure is drawn anyway,
            # and matplotlib's warning would land among validate's lines
            warnings.simplefilter("ignore", UserWarning)
            fig.tight_layout()
        fname = f"{name}.png"
        fig.savefig(out_dir / fname, dpi=110)
        plt.close(fig)
        files.append(fname)
    return files


# ---------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------

def _instead(sc, facts_file: Path | None) -> str:
    """``, instead of the scenario's facts_file X`` when ``--facts`` replaces one scenario ``sc`` names."""
    if facts_file is None or not sc.facts_file:
        return ""
    try:
        own = str(scenario_facts_file(sc))
    except FactError:              # --facts stands in for a table that is not there: say so
        return f", instead of the scenario's facts_file {sc.facts_file!r}, which does not exist"
    return f", instead of the scenario's facts_file {own}"


@click.command(name="validate")
@click.argument("scenario", type=NonEmptyPath(dir_okay=False, path_type=Path), default=Path("scenarios/baseline.toml"))
@click.option("--replicates", default=5, show_default=True, type=WholeNumber(1, MAX_SEEDS), help="seeds 0..N-1")
@click.option("--workers", default=2, show_default=True, type=WholeNumber(1, MAX_WORKERS),
              help="parallel processes")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path), default=None,
              help="output folder (default outputs/validation-<scenario>)")
@click.option("--facts", "facts_file", type=NonEmptyPath(dir_okay=False, path_type=Path), default=None,
              help="a facts table (CSV, docs/eras.md) to check instead of the scenario's facts_file")
@click.option("--no-figures", is_flag=True, help="skip the PNG figures")
@click.pass_context
def validate_command(ctx: click.Context, scenario: Path, replicates: int, workers: int, out_dir: Path | None,
                     facts_file: Path | None, no_figures: bool) -> None:
    """Check SCENARIO (default scenarios/baseline.toml) against the facts of the record.

    Prints per fact the target, the simulated mean and spread over the replicates and
    whether it is reproduced, then the score; writes facts.csv, facts.md, prices.csv (the quoted
    price series month by month beside the quotes) and figures.
    The facts are the table given with --facts, else the scenario's facts_file (a key of the
    scenario, relative to its file), else the package's 2024-2025 facts (docs/eras.md). Exits with status 1 when a required
    fact is not reproduced, 2 on bad input.
    """
    from ..outputs import check_output_dir, default_folder
    from ..scenario import load_scenario

    sc = load_scenario(scenario)
    out_dir = out_dir or Path("outputs") / default_folder(f"validation-{sc.name}")
    check_output_dir(out_dir, "validation")       # before the runs
    try:
        v = validate(scenario, replicates=replicates, workers=workers, progress=True, facts_file=facts_file)
    except FactError as e:
        e.tell()
        ctx.exit(2)
    write_outputs(v, out_dir, figures=not no_figures)
    n_facts = len(v.facts) + len(v.left_out)
    click.echo(f"facts: {v.facts_source} ({n_facts:,} fact{'s' if n_facts != 1 else ''})"
               f"{_instead(sc, facts_file)}")
    click.echo(format_table(v))
    click.echo("")
    click.echo(f"{v.score_text()}  ({len(v.seeds)} replicates, {v.seconds:.1f} s)")
    if spread := v.seed_range_text():
        click.echo(spread)
    if each := v.seeds_text():
        click.echo(each)
    if v.required_failed:
        click.echo(f"required facts not reproduced: {', '.join(v.required_failed)}")
    if v.left_out:
        click.echo(f"left out, not within the run (not checked): {'; '.join(v.left_out)}")
    for note in unit_slips(v.facts, v.table):
        click.echo(f"check the unit: {note}")
    prices = ", prices.csv" if (Path(out_dir) / "prices.csv").exists() else ""
    click.echo(f"wrote {out_dir}/ (facts.csv, facts.md{prices}{', figures' if not no_figures else ''})")
    ctx.exit(0 if v.passed else 1)

