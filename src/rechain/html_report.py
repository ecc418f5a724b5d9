"""``rechain report RUN_OR_COMPARE_DIR``: one self-contained ``report.html`` to send to a colleague.

It says what question the scenario asks, what it changes against the scenario it extends
(computed from the run's manifest and the base file, key by key), the key figures with units
(and the 5-95 % quantiles across seeds for a comparison with replicates), the main figures and a
flow diagram of the chain by element for one year. Figures are embedded as base64 PNG: the
file fetches nothing and can be mailed as it is. The page is laid out by a Jinja2 template
(``templates/report.html.j2``, autoescaped).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, model_validator

from .options import NonEmptyPath
from .outputs import OutputError, add_file, check_writable, holds_run_of, output_kind, rows_written, write_file
from .report import (COLUMNS, ELEMENT_COLUMNS, TEXT_COLUMNS, band_words, blanks_not_made, months_text, part_of_year,
                     not_as_written, not_by_end, not_months, not_numbers, not_recovered_text)
from .config.errors import first_problem
from .scenario import ScenarioError, load_scenario, scenario_data, scenario_from_dict, scenario_hash

__all__ = ["build_report", "write_report", "write_report_into", "scenario_changes", "report_command", "kpi_label",
           "kpi_unit"]

REPORT = "report.html"
GENERATOR = '<meta name="generator" content="rechain report'
PRODUCTS = {"prnd_oxide": "Pr-Nd oxide", "prnd_metal": "Pr-Nd metal", "dy_oxide": "Dy oxide",
            "tb_oxide": "Tb oxide", "magnet_std": "standard magnets", "magnet_uh": "52UH magnets",
            "light_ore": "rock-type ore", "ionic_ore": "ion-adsorption ore", "scrap_std": "standard scrap",
            "scrap_uh": "52UH scrap"}
UNSHOWN_KEYS = {"name", "question", "description"}
#: compare's overlaid series (series.csv): title and unit
OVERLAYS = {"price_prnd_oxide": ("Pr-Nd oxide price", "yuan/t"), "price_dy_oxide": ("Dy oxide price", "yuan/kg"),
            "price_tb_oxide": ("Tb oxide price", "yuan/kg"),
            "magnet_output": ("Magnet output (sintered blanks)", "t per month"),
            "exports": ("Magnet exports", "t per month"),
            "dytb_oxide_output": ("Dy + Tb oxide output (separation + recycling)", "t per month")}
MAIN_PRICES = ("prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide", "magnet_std", "magnet_uh")


# --- what a scenario changes against its base ------------------------------------------------
def _item_key(item: Any) -> str | None:
    if isinstance(item, dict):
        if "name" in item and item["name"]:
            return str(item["name"])
        if "type" in item and "year" in item:
            return f"{item['type']}-{item['year']}"
    return None


def _named(items: Any) -> bool:
    return isinstance(items, list) and bool(items) and all(_item_key(i) for i in items)


def _show(v: Any, limit: int = 180) -> str:
    if v is None:
        return "(absent)"
    if isinstance(v, float):
        return f"{v:,.6g}"
    text = v if isinstance(v, str) else json.dumps(v, default=str, separators=(", ", ": "), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scenario_changes(this: dict, base: dict, _path: str = "") -> list[dict[str, str]]:
    """Every key in which ``this`` scenario (a dumped scenario dict) differs from ``base``:
    ``key`` (dotted path; named list items as ``list[name]``), ``what`` (changed, added,
    removed), ``base`` and ``this`` (values as text)."""
    out: list[dict[str, str]] = []

    def one(key: str, what: str, a: Any, b: Any) -> None:
        out.append({"key": key, "what": what, "base": _show(a), "this": _show(b)})

    def walk(a: dict, b: dict, key_of) -> None:
        for k in [*a, *(k for k in b if k not in a)]:
            key = key_of(k)
            if k not in b:
                one(key, "removed", a[k], None)
            elif k not in a:
                one(key, "added", None, b[k])
            else:
                out.extend(scenario_changes(b[k], a[k], key))

    if isinstance(this, dict) and isinstance(base, dict):
        shown = (lambda d: {k: v for k, v in d.items() if _path or k not in UNSHOWN_KEYS})
        walk(shown(base), shown(this), lambda k: f"{_path}.{k}" if _path else str(k))
    elif (_named(this) or this == []) and (_named(base) or base == []) and (this or base):
        walk({_item_key(i): i for i in base}, {_item_key(i): i for i in this}, lambda k: f"{_path}[{k}]")
    elif this != base:
        # a key the schema holds as None (absent) in one of them is added or removed, not changed
        one(_path, "added" if base is None else "removed" if this is None else "changed", base, this)
    return out


def _summary(changes: list[dict[str, str]], base_name: str) -> str:
    if not changes:
        return f"Nothing: it runs {base_name} as it is."
    kinds = {w: sum(c["what"] == w for c in changes) for w in ("changed", "added", "removed")}
    parts = [f"{n} {w}" for w, n in kinds.items() if n]
    tops = sorted({re.split(r"[.\[]", c["key"])[0] for c in changes})
    return (f"Against {base_name}: {len(changes)} key(s) ({', '.join(parts)}), in "
            f"{', '.join('[' + t + ']' for t in tops)}.")


def _base_file(files: list[str]) -> Path | None:
    """The file a scenario extends: the one before it in its ``extends`` chain, where it is
    now (or under ./scenarios/ by name when the run came from elsewhere)."""
    if len(files) < 2:
        return None
    p = Path(files[-2])
    if p.exists():
        return p
    alt = Path("scenarios") / p.name
    return alt if alt.exists() else p


def _scenario_block(name: str, scenario: dict | None, files: list[str], reference: bool = False) -> dict:
    block = {"name": name, "reference": reference, "question": "", "description": "", "changes": [],
             "base_name": "its base", "changes_summary": "", "base": None}
    if scenario is None:
        block["changes_summary"] = "The scenario as run is not known (its file is missing)."
        return block
    block["question"] = scenario.get("question", "")
    block["description"] = scenario.get("description", "")
    base = _base_file(files)
    if base is None:
        block["changes_summary"] = "A whole scenario: it extends no other file."
        return block
    try:
        base_sc = load_scenario(base)
    except ScenarioError as e:
        block["changes_summary"] = f"Its base, {base}, does not load here ({e.errors[0] if e.errors else e})."
        return block
    block["base_name"], block["base"] = base_sc.name, base_sc
    if base_sc.description == block["description"]:
        block["description"] = ""          # inherited, says nothing of this scenario
    block["changes"] = _changes_over_its_period(scenario, base, base_sc)
    block["changes_summary"] = f"It extends {base.name}. " + _summary(block["changes"], base_sc.name)
    return block


def _changes_over_its_period(scenario: dict, base: Path, base_sc) -> list[dict[str, str]]:
    """The keys in which a scenario differs from its base. When its period differs, the rest
    is compared with the base run over the same period, so the figures both carry past their
    last given year by the same rule (``after_last_year``) are not listed as added."""
    base_dump = base_sc.model_dump(mode="json")
    period = {k: scenario.get(k) for k in ("start", "end")}
    changes = _within_run(scenario_changes(scenario, base_dump), scenario)
    if all(period[k] == base_dump.get(k) for k in period):
        return changes
    try:
        data, _, _ = scenario_data(base, period)
        same_period = scenario_from_dict(data).model_dump(mode="json")
    except (ScenarioError, ValueError, TypeError):
        # the base does not run over this period (an era before its figures): every difference
        # shown, but a year of a yearly table that only the base's own period carried past its
        # last given year (`extends` cannot take a year away, so it is no change of the
        # scenario), and a dated item of the base's that the loader left out as outside this
        # period (`rechain check` lists those as "left out")
        return [c for c in changes if not (c["what"] == "removed" and (re.fullmatch(r".*\.\d{4}", c["key"])
                                                                       or _left_out(c["key"], base_dump, period)))]
    return [c for c in changes if c["key"] in period] + \
        [c for c in _within_run(scenario_changes(scenario, same_period), scenario) if c["key"] not in period]


def _within_run(changes: list[dict[str, str]], scenario: dict) -> list[dict[str, str]]:
    """``changes`` less the years of yearly tables past the run's last year where the same
    table changes within the run too: figures carried there only for the weeks end users plan
    ahead, which follow from the years the scenario gives (a what-if of 2026's NEV output
    changes the 2027 carried from it). A table changed past the end alone is kept where the
    weeks planned ahead reach its year (``behaviour.plan_ahead_weeks``): they read it, so it
    changes the run (a 2027 NEV figure moved 2026's last months); a year beyond their reach is
    read by no week and changes nothing."""
    import datetime as dt
    end = str(scenario.get("end") or "")[:4]
    if not end.isdigit():
        return changes
    # the last year the weeks planned ahead reach: a figure past it is read by no week of the run
    ahead = float((scenario.get("behaviour") or {}).get("plan_ahead_weeks") or 0.0)
    last_date = _date_or_none(str(scenario.get("end")))
    reach = (last_date + dt.timedelta(weeks=ahead)).year if last_date else int(end)

    def past_end(c: dict) -> re.Match | None:
        m = re.fullmatch(r"(.*)\.(\d{4})", c["key"])
        return m if m and int(m.group(2)) > int(end) else None

    within = {m.group(1) for c in changes if (m := re.fullmatch(r"(.*)\.(\d{4})", c["key"])) and not past_end(c)}
    return [c for c in changes if not ((m := past_end(c)) and (m.group(1) in within or int(m.group(2)) > reach))]


def _left_out(key: str, base: dict, period: dict) -> bool:
    """Whether ``key`` (``news[name]``, ``sectors.nev.shocks[name]``) names a dated item of the
    base that lies wholly outside ``period``: the loader leaves such inherited items out."""
    from .config.loading import _SPANNING, _as_date, _outside
    m = re.fullmatch(r"(?:sectors\.([^.\[]+)\.)?(\w+)\[(.+)\]", key)
    start, end = _as_date(period.get("start")), _as_date(period.get("end"))
    if m is None or start is None or end is None:
        return False
    holder = (base.get("sectors") or {}).get(m.group(1)) if m.group(1) else base
    items = holder.get(m.group(2)) if isinstance(holder, dict) else None
    item = next((i for i in items if _item_key(i) == m.group(3)), None) if isinstance(items, list) else None
    return item is not None and _outside(item, start, end, m.group(2) in _SPANNING) is not None


# --- key figures ------------------------------------------------------------------------------
_LABELS = [
    (r"price_peak_(\w+)", "peak price, {}"), (r"price_mean_(\w+)", "mean price, {}"),
    (r"price_end_(\w+)", "price at the end, {}"),
    (r"months_to_recover_(\w+)", "months until within 10 % of the reference, {}"),
    (r"magnet_output_mom_([\d-]+)_pct", "magnet output, change on the month before, {}"),
    (r"magnet_output_(\d{4})_t", "domestic magnet output {}"), (r"exports_(\d{4})_t", "magnet exports {}"),
    (r"exports_oxide_metal_(\d{4})_t", "oxide and metal exports {}"),
    (r"export_price_gap_peak_(\w+)_pct", "export price over China's price, peak, {}"),
]
_FIXED = {"shortfall_overseas_t": "shortfall of buyers abroad, magnets", "shortfall_domestic_t": "shortfall of motor makers",
          "recycled_share_of_oxide": "recyclers' share of China's oxide output (new scrap from magnet making, "
                                     "most of it, and end-of-life magnets)",
          "licences_granted_t": "export licences granted", "licences_refused_t": "export licences refused",
          "magnet_output_t": "domestic magnet output", "magnet_output_change_t": "magnet output vs reference",
          "magnet_output_change_pct": "magnet output vs reference", "exports_t": "magnet exports",
          "shortfall_overseas_oxide_metal_t": "shortfall of buyers abroad, oxide and metal",
          "exports_oxide_metal_t": "oxide and metal exports"}


def kpi_label(kpi: str, months=None, end=None) -> str:
    """A key figure's name in words; a figure of a year the run (``months``, ending on
    ``end``) covers in part says which months it sums."""
    from .report import part_of_year
    for pattern, text in _LABELS:
        m = re.fullmatch(pattern, kpi)
        if m:
            label = text.format(PRODUCTS.get(m.group(1), m.group(1)))
            year = m.group(1)
            span = part_of_year(months, year, end) if months is not None and re.fullmatch(r"\d{4}", year) else ""
            return f"{label} ({span} only)" if span else label
    return _FIXED.get(kpi, kpi.replace("_", " "))


def kpi_unit(kpi: str, price_units: dict[str, str]) -> str:
    """A key figure's unit: prices in the market's unit of the product, else by its name."""
    m = re.fullmatch(r"price_(?:peak|mean|end)_(\w+)", kpi)
    if m:
        return price_units.get(m.group(1), "")
    suffixes = {"_pct": "%", "_t": "t"}
    if kpi.startswith("months_to_recover_"):
        return "months"
    if "share" in kpi:
        return "share"
    return next((u for s, u in suffixes.items() if kpi.endswith(s)), "")


def _shown_kpi(kpi: str) -> bool:
    """Prices of the traded products only (ore and scrap prices are in the tables)."""
    m = re.fullmatch(r"price_(?:peak|mean|end)_(\w+)", kpi)
    return m is None or m.group(1) in MAIN_PRICES


def _num(v: float, unit: str, year: int | None = None) -> str:
    if v is None or not np.isfinite(v):
        return not_by_end(year) if unit == "months" else "n/a"
    if unit == "share":
        return f"{v:.3f}"
    if unit == "%":
        return f"{v:+.1f}"
    if unit == "months":
        return months_text(v)
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}" if abs(v) >= 10 else f"{v:.3g}"


def _delta(v: float, ref: float, unit: str, against: str = "reference") -> tuple[str, str]:
    if not (np.isfinite(v) and np.isfinite(ref)) or v == ref:
        return "", ""
    cls = "delta-up" if v > ref else "delta-down"
    if unit == "share":         # a share's change in percentage points, as the shares are read
        return f"{100 * (v - ref):+.2f} pp vs {against}", cls
    if unit == "%":
        return f"{v - ref:+.1f} pp vs {against}", cls
    if unit == "months" or ref == 0:
        return f"{v - ref:+,.3g} vs {against}", cls
    change = v / ref - 1
    if abs(change) >= 10:
        # beside a base near zero a percentage says nothing (8 t of shortfall to 6,546 t read
        # "+83,460.9 %"): the change itself, in the figure's unit, and the times it is
        return f"{_signed(v - ref, unit)} ({_num(v / ref, '')} times) vs {against}", cls
    return f"{100 * change:+.1f} % vs {against}", cls


def _signed(x: float, unit: str) -> str:
    """A change with its sign, as :func:`_num` writes a figure in ``unit``."""
    return ("+" if x > 0 else "-") + _num(abs(x), unit) + (f" {unit}" if unit and unit not in ("share", "%") else "")


# --- the two kinds of folder --------------------------------------------------------------------
# what a report reads of the files rechain wrote: their columns and keys
_COLUMNS = {"monthly.csv": tuple(COLUMNS),
            "flows.csv": ("month", "from_stage", "to_stage", "product", "region", "tonnes"),
            "kpis_long.csv": ("scenario", "kpi", "unit", "mean", "p05", "p95", "seeds"),
            "series.csv": ("scenario", "seed", "month", "series", "value"),
            "kpis_by_seed.csv": ("scenario", "seed", "kpi", "value")}
#: a run's tables, whose figures are all numbers (a comparison's may be NaN: "not by end")
_NUMBERS = {"monthly.csv": "value", "flows.csv": "tonnes"}
_AS_WRITTEN = "allowed: the file as rechain wrote it (run or compare again to write it anew)"
#: a comparison's figures: numbers, or empty where there is none ("not by end")
_MAYBE_EMPTY = {"kpis_long.csv": ("mean", "p05", "p95", "seeds"), "kpis_by_seed.csv": ("value",),
                "series.csv": ("value",)}


class DamagedOutput(OutputError):
    """A file of an output folder that is missing or not as rechain wrote it (one line, exit 2)."""

    def __init__(self, path: Path, what: str):
        super().__init__(path.parent, f"{path.name}: {what}; {_AS_WRITTEN}")


def _read_csv(path: Path) -> pd.DataFrame:
    """A table of an output folder, with the columns a report reads."""
    try:
        table = pd.read_csv(path, dtype=TEXT_COLUMNS)
    except FileNotFoundError:
        raise DamagedOutput(path, "missing") from None
    except (OSError, ValueError, pd.errors.ParserError) as e:   # EmptyDataError is a ValueError
        raise DamagedOutput(path, f"cannot be read as a table ({str(e).splitlines()[0]})") from None
    lacks = [c for c in _COLUMNS.get(path.name, ()) if c not in table.columns]
    if lacks:
        raise DamagedOutput(path, f"lacks the column(s) {', '.join(lacks)}")
    if path.name == "monthly.csv" and table.empty:     # every run has months: a header alone is a cut file
        raise DamagedOutput(path, "has its header but no rows")
    if path.name in _NUMBERS and (why := not_as_written(table, _NUMBERS[path.name])):
        raise DamagedOutput(path, why)
    for column in _MAYBE_EMPTY.get(path.name, ()):
        if (why := not_numbers(table, column, empty_ok=True)) is not None:
            raise DamagedOutput(path, why)
    if path.name == "series.csv" and (why := not_months(table)) is not None:
        raise DamagedOutput(path, why)
    if path.name == "flows.csv":       # the element tonnes (an older rechain wrote none)
        for column in (c for c in ELEMENT_COLUMNS if c in table.columns):
            if (why := not_numbers(table, column)) is not None:
                raise DamagedOutput(path, why)
    return table


def _whole(table: pd.DataFrame, path: Path, manifest: dict) -> pd.DataFrame:
    """``table`` if it has the rows the run wrote (its manifest says how many; one an older
    rechain wrote does not), else :class:`DamagedOutput`: a file cut short would be reported as
    if the rows it lost were zero."""
    wrote = rows_written(manifest, path.name)
    if wrote is not None and len(table) != wrote:
        raise DamagedOutput(path, f"has {len(table):,} rows where the run wrote {wrote:,}")
    return table


class _RunManifest(BaseModel):
    """What a report reads of a run's ``manifest.json`` (:func:`rechain.results.run` writes it)."""
    model_config = ConfigDict(extra="allow")
    scenario_name: StrictStr
    seed: StrictInt
    scenario: dict[str, Any] | None = None
    scenario_files: list[StrictStr] = []
    scenario_sha256: StrictStr | None = None
    scenario_files_sha256: list[StrictStr | None] | None = None
    rows: dict[str, StrictInt] | None = None       # an older rechain wrote none


class _CompareMeta(BaseModel):
    """What a report reads of a comparison's ``compare.json`` (:func:`rechain.experiments.compare.compare`)."""
    model_config = ConfigDict(extra="allow")
    scenarios: list[StrictStr] = Field(min_length=1)
    seeds: list[StrictInt] = Field(min_length=1)
    reference: StrictStr
    files: list[list[StrictStr]] | None = None
    scenario_sha256: dict[str, StrictStr] = {}
    reused_runs: list[StrictStr] = []
    rows: dict[str, StrictInt] | None = None       # an older rechain wrote none

    @model_validator(mode="after")
    def _agree(self) -> "_CompareMeta":
        if len(set(self.scenarios)) < len(self.scenarios):
            raise ValueError(f"scenarios: {self.scenarios} names a scenario twice")
        if self.reference not in self.scenarios:
            raise ValueError(f"reference: {self.reference!r} is not one of the scenarios {self.scenarios}")
        if self.files is not None and len(self.files) != len(self.scenarios):
            raise ValueError(f"files: {len(self.files)} lists of files for {len(self.scenarios)} scenarios")
        return self


_MODELS: dict[str, type[BaseModel]] = {"manifest.json": _RunManifest, "compare.json": _CompareMeta}


def _read_json(path: Path) -> dict:
    """A JSON file of an output folder, with the keys a report reads, of the right types and
    agreeing with each other (the models above)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DamagedOutput(path, "missing") from None
    except (OSError, ValueError) as e:          # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise DamagedOutput(path, f"cannot be read as JSON ({e})") from None
    if not isinstance(data, dict):
        raise DamagedOutput(path, f"given a JSON {type(data).__name__}, not an object")
    model = _MODELS.get(path.name)
    if model is not None:
        try:
            model.model_validate(data)
        except ValidationError as e:
            raise DamagedOutput(path, first_problem(e)) from None
    return data


def _complete(table: pd.DataFrame, path: Path, meta: dict, names: list[str], seeds: list[int] | None = None,
              by: str = "kpi") -> pd.DataFrame:
    """A comparison's table ``table`` if it has the rows the comparison wrote (``rows`` in
    compare.json; an older rechain kept none) and a row for every scenario (and seed) of it,
    each with the same ``by`` values; else :class:`DamagedOutput`: a table cut short or copied
    from another comparison would be reported as if the lost rows were zero, or fail."""
    wrote = rows_written(meta, path.name)
    if wrote is not None and len(table) != wrote:
        raise DamagedOutput(path, f"has {len(table):,} rows where the comparison wrote {wrote:,}")
    keys = [(n, s) for n in names for s in seeds] if seeds is not None else [(n,) for n in names]
    cols = ["scenario", "seed"] if seeds is not None else ["scenario"]
    have = {tuple(k): frozenset(group) for k, group in table.groupby(cols)[by]}     # keys: 1-tuples too
    missing = [k for k in keys if k not in have]
    if missing:
        what = " seed ".join(map(str, missing[0]))
        raise DamagedOutput(path, f"has no rows for scenario {what} of compare.json (cut short, or from another "
                            f"comparison)")
    if len({have[k] for k in keys}) > 1:
        raise DamagedOutput(path, f"lacks some {by} values for some scenarios (cut short, or from another comparison)")
    return table


def _figure(fig, caption: str) -> dict[str, str]:
    from .figures import png_base64
    return {"png": png_base64(fig, dpi=90), "caption": caption}


def _check_year(flows: pd.DataFrame, year: int | None, folder: Path | None = None, end=None) -> str:
    from .flowchart import default_year
    from .report import month_cut_short
    years = sorted({m[:4] for m in flows["month"]})
    if year is None:
        return default_year(flows, month_cut_short(end))
    if str(year) not in years:
        raise OptionYear(year, years, folder)
    return str(year)


def _shared_year(flows: list[pd.DataFrame], year: int | None, folder: Path | None = None) -> str:
    """The year of a comparison's flow diagrams: ``year`` if every run covers it (else
    :class:`OptionYear` with the years they all cover), by default the last year every run
    covers in full (a what-if ending in September drew its diagram for the reference's last
    year, which it does not have: every panel read "no flows"), else the last they share."""
    covered = [{m[:4] for m in f["month"]} for f in flows]
    shared = sorted(set.intersection(*covered))
    if year is not None:
        if str(year) not in shared:
            raise OptionYear(year, shared or sorted(covered[0]), folder, "every run of the comparison covers")
        return str(year)
    from .flowchart import full_years
    full = sorted(set(shared).intersection(*map(full_years, flows)))
    return (full or shared or [_check_year(flows[0], None, folder)])[-1]


class OptionYear(ScenarioError):
    def __init__(self, year: int, years: list[str], folder: Path | None = None, who: str = "the run covers"):
        super().__init__(folder, "--year", f"given {year}; allowed: a year {who} ({', '.join(years)})",
                         kind="option")


def sector_rows(monthly: pd.DataFrame) -> list[dict[str, str]]:
    """End use by sector over the run: magnets used and short (t), and the end products the
    shortfall stands for in the sector's own unit (its ``unit_label``)."""
    rows = monthly[(monthly["stage"] == "motor_makers")
                   & monthly["variable"].isin(["use", "shortfall", "end_products_short"])]
    out = []
    for sector, g in rows.groupby("product", sort=False):
        total = g.groupby("variable")["value"].sum()
        short_units = g.loc[g["variable"] == "end_products_short", "unit"]
        out.append({"sector": sector, "use_t": _num(total.get("use", np.nan), "t"),
                    "short_t": _num(total.get("shortfall", np.nan), "t"),
                    "short_units": _num(total.get("end_products_short", np.nan), ""),
                    "unit": short_units.iloc[0] if len(short_units) else ""})
    return out


def input_short_rows(monthly: pd.DataFrame, end=None) -> tuple[list[str], list[dict]]:
    """The magnet makers' planned blanks not made for want of each raw material (t, the
    scarcest input each grade's recipe needs), per year: the years and one row per input
    that ever held output back (none: an empty list)."""
    from .report import year_labels
    table = blanks_not_made(monthly)
    labels = year_labels(monthly["month"], end)      # a year covered in part, as the summary labels it
    years = [labels.get(str(y), str(y)) for y in table.columns]
    return years, [{"input": product, "values": [_num(v, "t") for v in per_year]}
                   for product, per_year in table.iterrows()]


def _run_context(folder: Path, year: int | None) -> dict:
    from .flowchart import figure_element_flows
    from .report import FIGURES, kpis

    manifest = _read_json(folder / "manifest.json")
    monthly = _whole(_read_csv(folder / "monthly.csv"), folder / "monthly.csv", manifest)
    flows = _whole(_read_csv(folder / "flows.csv"), folder / "flows.csv", manifest)
    name, seed = manifest["scenario_name"], manifest["seed"]
    units = dict(monthly.loc[monthly["variable"] == "price", ["product", "unit"]].drop_duplicates().values)
    files = manifest.get("scenario_files", [])
    if _changed_since(files, manifest.get("scenario_sha256"), manifest.get("scenario_files_sha256")):
        # today's base is not the one the run extended: a diff against it would show changes
        # the scenario never made
        block = _scenario_block(name, manifest.get("scenario"), [])
        block["changes_summary"] = (f"Its files ({', '.join(Path(f).name for f in files)}) have changed since the "
                                    f"run (the scenario they give now has another hash, or a file of the chain other "
                                    f"bytes): the changes against its base cannot be shown.")
    else:
        block = _scenario_block(name, manifest.get("scenario"), files)
    base_sc = block.pop("base")
    sc_dict = manifest.get("scenario") or {}
    period = (str(sc_dict.get("start", monthly["month"].min())), str(sc_dict.get("end", monthly["month"].max())))
    end = _date_or_none(period[1])
    base_period = None if base_sc is None else (f"{base_sc.start:%Y-%m-%d}", f"{base_sc.end:%Y-%m-%d}")
    # totals over another period are no reference: beside it only a base of the same days (a
    # run that ends on 13 December holds less of December than its base)
    same_period = base_period == period
    base_run = None if base_sc is None or not same_period else \
        _finished_run(folder, base_sc.name, scenario_hash(base_sc), seed)
    mine = kpis(monthly, flows, end)
    theirs = {}
    if base_run is not None:
        try:
            theirs = kpis(_whole(_read_csv(base_run / "monthly.csv"), base_run / "monthly.csv",
                                 _read_json(base_run / "manifest.json")), None, end)
        except OutputError:         # a damaged run of the base is no run of it: report without it
            base_run = None
    rows = []
    for k, v in mine.items():
        if not _shown_kpi(k):
            continue
        unit = kpi_unit(k, units)
        cells = [{"value": _num(v, unit)}]
        if base_run is not None:
            ref = theirs.get(k, np.nan)
            cells = [{"value": _num(ref, unit)}, {"value": _num(v, unit)}]
            cells[1]["delta"], cells[1]["delta_class"] = _delta(v, ref, unit, "base")
        rows.append({"label": kpi_label(k, monthly["month"].unique(), end), "unit": unit, "cells": cells})
    if base_run is not None:
        note = (f"Beside it, its base {base_sc.name} with the same seed, read from {base_run}. One seed each: "
                f"no band across seeds (rechain compare --replicates N gives one).")
    elif base_sc is not None and not same_period:
        note = (f"One seed: no band across seeds. Its base, {base_sc.name}, covers {base_period[0]} to "
                f"{base_period[1]}, not this run's {period[0]} to {period[1]}: its totals are no reference for "
                f"these, so it is not shown beside them.")
    elif base_sc is not None:
        note = (f"One seed: no band across seeds. To see the change against {base_sc.name}, run it with the same "
                f"seed beside this folder (rechain run {_base_file(manifest['scenario_files'])} --seed {seed}), or "
                f"use rechain compare --replicates N.")
    else:
        note = "One seed: no band across seeds (rechain compare --replicates N gives one)."
    yr = _check_year(flows, year, folder, end)
    title = f"({name}, seed {seed})"
    figures = [_figure(make(monthly, title), caption) for (fname, make), caption in zip(FIGURES.items(), (
        "Price indices, monthly means, each in the market's quoted unit: China's price solid, its long-run "
        "price (the cost anchor the market is pulled to) dotted, export prices by region dashed; the separated "
        "products first, then the ores (per t REO) and the scrap.",
        "Production by stage, t per month; below each, the change on the month before (clipped at +-60 %).",
        "Magnet exports by destination region, t per month (oxide and metal exports are in the key figures).",
        "Stock cover: buyers' input stock in days of planned use; ore sellers' finished stock in days of orders.",
        "Sentiment: each stage's mean expected relative price change; above zero buyers restock and sellers "
        "hold back, below buyers wait.",
        "Orders by stage, each as % of its own mean month: above 100 a stage orders ahead of its use "
        "(restocking), below it waits; a swing that grows from stage to stage up the chain is the bullwhip.",
    ))]
    prov = [("scenario", name), ("seed", seed), ("scenario SHA-256", manifest.get("scenario_sha256", "")),
            ("scenario files", ", ".join(manifest.get("scenario_files", []))),
            ("rechain version of the run", manifest.get("rechain_version", "")),
            ("weeks, firms, links", f"{manifest.get('weeks')}, {manifest.get('firms')}, {manifest.get('links')}")]
    return {
        "title": f"rechain report: {name}", "subtitle": f"One run, seed {seed}, {monthly['month'].min()} to "
        f"{monthly['month'].max()}.",
        "scenarios": [block],
        "kpi_columns": ([f"{base_sc.name} (base, seed {seed})"] if base_run is not None else []) + [name],
        "kpi_rows": rows, "kpi_note": note + " Prices in the market's units; tonnes as t.",
        "sectors": sector_rows(monthly),
        "input_short": dict(zip(("years", "rows"), input_short_rows(monthly, end))),
        "figures": figures, "year": _year_shown(flows, yr, end),
        "flow_figures": [_figure(figure_element_flows(flows, yr, title, end), f"{name}, seed {seed}, {yr}"
                                 + _part_words(part_of_year(flows["month"], yr, end)) + ".")],
        "flow_note": "", "provenance": prov,
    }


def _part_words(span: str) -> str:
    """A flow diagram's caption on a year a run covers in part ("Jan-Jun"), or ""."""
    return f", {span} only: its tonnes are not a whole year's" if span else ""


def _finished_run(near: Path, name: str, sha: str, seed: int) -> Path | None:
    """A finished run folder of exactly this scenario (hash) and seed, beside ``near`` or under ./outputs."""
    for root in (near.parent, Path("outputs")):
        run = root / f"{name}-seed{seed}"
        if holds_run_of(run, sha, seed):
            return run
    return None


def _changed_since(files: list[str], sha: str | None, file_shas: list | None = None) -> bool:
    """Do the scenario files of a run give another scenario now than the one it ran (hash
    ``sha``), or has any of them (the base too) other bytes than it had (``file_shas``)? A
    file that no longer loads counts as changed; no record, as unchanged."""
    if not files or not sha or not Path(files[-1]).exists():
        return False
    from .results import file_sha256
    if isinstance(file_shas, list) and len(file_shas) == len(files) and \
            any(old is not None and file_sha256(f) != old for f, old in zip(files, file_shas)):
        return True
    try:
        return scenario_hash(load_scenario(files[-1])) != sha
    except ScenarioError:
        return True


def _compare_flows(folder: Path, name: str, sha: str, seed: int, files: list[str]) -> tuple[pd.DataFrame | None, str]:
    """The flows of one scenario of a comparison: from a finished run of it (same hash and
    seed) beside the comparison or under ./outputs, else by running it again."""
    run = _finished_run(folder, name, sha, seed)
    if run is not None:
        try:
            return _read_csv(run / "flows.csv"), f"read from {run}"
        except OutputError:         # damaged since: run it again, below
            pass
    if files and Path(files[-1]).exists():
        sc = load_scenario(files[-1])
        if scenario_hash(sc) == sha:
            from .results import run as run_scenario
            return run_scenario(sc, seed=seed).flows, f"run again from {files[-1]}, seed {seed}"
    return None, f"no flows: no finished run of {name} seed {seed} and its file has changed or moved"


def _overlay_figure(series: pd.DataFrame, names: list[str], seeds: list[int]):
    from matplotlib.figure import Figure

    from .figures import date_axis, label_lowest_panels, month_dates
    band = len(seeds) > 1
    keys = list(dict.fromkeys(series["series"]))
    fig = Figure(figsize=(14, 3.75 * ((len(keys) + 2) // 3)), layout="constrained")
    axes = fig.subplots((len(keys) + 2) // 3, 3, sharex=True, squeeze=False).ravel()
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    label_lowest_panels(axes, len(keys), 3)
    for ax, key in zip(axes, keys):
        label, unit = OVERLAYS.get(key, (key.replace("_", " "), ""))
        d = series[series["series"] == key]
        for j, name in enumerate(names):
            g = d[d["scenario"] == name].pivot_table(index="month", columns="seed", values="value")
            x = month_dates(g.index)
            ax.plot(x, g.mean(axis=1).to_numpy(), lw=2.2 if j == 0 else 1.6, ls="--" if j == 0 else "-",
                    label=name, color=f"C{j}")
            if band:
                ax.fill_between(x, g.quantile(0.05, axis=1).to_numpy(), g.quantile(0.95, axis=1).to_numpy(),
                                color=f"C{j}", alpha=0.15, lw=0)
        ax.set_title(label, fontsize=10)
        ax.set_ylabel(unit)
        ax.yaxis.set_major_formatter("{x:,.0f}")
        ax.grid(alpha=0.3)
        date_axis(ax)
    axes[0].legend(fontsize=8)
    what = f"mean of {len(seeds)} seeds, 5-95 % band" if band else f"seed {seeds[0]}"
    fig.suptitle(f"{' vs '.join(names)} ({what}; dashed: reference)")
    return fig


def _year_shown(flows: pd.DataFrame, year: str, end=None) -> str:
    """``year`` as the flow diagram's heading says it: a year the run covers in part with its
    months ("2026 (Jan-Dec 13)"), as the summary labels it."""
    from .report import part_of_year
    span = part_of_year(flows["month"], year, end)
    return f"{year} ({span})" if span else str(year)


def _date_or_none(text: str):
    """A ``YYYY-MM-DD`` date, or None for anything else (an older manifest's month)."""
    import datetime as dt
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _compare_context(folder: Path, year: int | None) -> dict:
    from .flowchart import figure_element_flows

    meta = _read_json(folder / "compare.json")
    names, seeds, ref = meta["scenarios"], [int(s) for s in meta["seeds"]], meta["reference"]
    files = meta.get("files") or [[] for _ in names]
    hashes = meta.get("scenario_sha256", {})
    long = _complete(_read_csv(folder / "kpis_long.csv"), folder / "kpis_long.csv", meta, names)
    series = _complete(_read_csv(folder / "series.csv"), folder / "series.csv", meta, names, seeds, by="series")
    blocks = []
    for name, fl in zip(names, files):
        dumped = None
        if fl and Path(fl[-1]).exists():
            try:
                sc = load_scenario(fl[-1])
                dumped = sc.model_dump(mode="json") if scenario_hash(sc) == hashes.get(name) else None
            except ScenarioError:
                dumped = None
        block = _scenario_block(name, dumped, fl, reference=name == ref)
        block.pop("base")
        if dumped is None and fl:
            block["changes_summary"] = (f"Its file {fl[-1]} is missing or has changed since the comparison "
                                        f"(hash differs): the changes cannot be shown.")
        blocks.append(block)
    idx = long.set_index(["kpi", "scenario"])
    by_seed = _complete(_read_csv(folder / "kpis_by_seed.csv"), folder / "kpis_by_seed.csv", meta, names, seeds) \
        if (folder / "kpis_by_seed.csv").exists() else None
    rows = []
    for kpi in dict.fromkeys(long["kpi"]):
        unit = str(long.loc[long["kpi"] == kpi, "unit"].fillna("").iloc[0])
        cells = []
        for name in names:
            r = idx.loc[(kpi, name)]
            cell = {"value": _num(float(r["mean"]), unit, meta.get("year"))}
            if unit == "months" and not np.isfinite(r["mean"]) and by_seed is not None:
                # the mean is given only when every seed recovered: say in how many it had not
                v = by_seed[(by_seed["scenario"] == name) & (by_seed["kpi"] == kpi)]["value"]
                if len(v) > 1:
                    cell["value"] = not_recovered_text(v, meta.get("year"))
            if int(r["seeds"]) > 1 and np.isfinite(r["p05"]) and np.isfinite(r["p95"]) and unit != "months":
                cell["band"] = f"[{_num(float(r['p05']), unit)} to {_num(float(r['p95']), unit)}]"
            if name != ref and not kpi.startswith(("months_to_recover_", "magnet_output_change")):
                cell["delta"], cell["delta_class"] = _delta(float(r["mean"]), float(idx.loc[(kpi, ref), "mean"]), unit)
            cells.append(cell)
        rows.append({"label": kpi_label(kpi, series["month"].unique()), "unit": unit, "cells": cells})
    flow_figs, notes, read = [], [], []
    for name in names:
        flows, how = _compare_flows(folder, name, hashes.get(name, ""), seeds[0], files[names.index(name)])
        if flows is None:
            notes.append(how)
            continue
        read.append((name, flows, how))
    # the comparison's own year (compare --year) unless the report is asked for another
    shown_year = year if year is not None else meta.get("year")
    yr = _shared_year([flows for _, flows, _ in read], shown_year, folder) if read else None
    for name, flows, how in read:
        part = _part_words(part_of_year(flows["month"], yr)) if yr else ""
        flow_figs.append(_figure(figure_element_flows(flows, yr, f"({name}, seed {seeds[0]})"),
                                 f"{name}, seed {seeds[0]}, {yr}{part} (flows {how})."))
    prov = [("scenarios", ", ".join(names)), ("reference", ref), ("seeds", ", ".join(map(str, seeds))),
            *[(f"SHA-256 of {n}", hashes.get(n, "")) for n in names],
            ("runs read from finished run folders", ", ".join(meta.get("reused_runs", [])) or "none")]
    n = len(seeds)
    return {
        "title": f"rechain report: {' vs '.join(names)}",
        "subtitle": f"A comparison with the same seeds for every scenario ({n} seed{'s' if n > 1 else ''}: "
                    f"{', '.join(map(str, seeds))}); reference: {ref}.",
        "scenarios": blocks, "kpi_columns": names, "kpi_rows": rows,
        "sectors": [],          # a comparison keeps per-seed KPIs, not the sectors' monthly rows
        "input_short": {"years": [], "rows": []},
        "kpi_note": (f"Means over seeds; below, in brackets, {band_words(n)}, and the change against the "
                     "reference's mean. " if n > 1 else "One seed: no band (compare --replicates N gives one). ")
        + "Prices in the market's units; tonnes as t."
        + "".join(f" Note: {meta[k]}." for k in ("year_note", "period_note", "same_note", "peak_note")
                  if isinstance(meta.get(k), str) and meta[k]),
        "figures": [_figure(_overlay_figure(series, names, seeds), "The scenarios overlaid, monthly.")],
        "year": yr or (year or ""), "flow_figures": flow_figs, "flow_note": "; ".join(notes), "provenance": prov,
    }


def folder_kind(folder: Path) -> str:
    """``run`` or ``compare``; raises :class:`OutputError` for anything else."""
    kind = output_kind(folder)
    if kind in ("run", "compare"):
        return kind
    if kind is None and (folder / "manifest.json").exists() and (folder / "monthly.csv").exists():
        return "run"
    if kind is None and (folder / "compare.json").exists():
        return "compare"
    raise OutputError(folder, f"is {'a rechain ' + kind + ' output' if kind else 'not a rechain output'}; "
                      f"allowed: a folder written by rechain run or rechain compare")


def build_report(folder: str | Path, year: int | None = None, shown: str | Path | None = None) -> str:
    """The report of a run or comparison folder as one HTML string; ``shown``: the folder the
    report names as its source, when ``folder`` is the hidden one an output is built in."""
    import jinja2

    folder = Path(folder)
    kind = folder_kind(folder)
    ctx = _run_context(folder, year) if kind == "run" else _compare_context(folder, year)
    if _made_by_other_code(folder):     # in the page too: it is what a colleague is sent
        ctx["kpi_note"] += (" Note: the folder was made by other code than the rechain that wrote this report: its "
                            "figures are as that code made them" + ("; flow diagrams run again here are this code's"
                                                                    if kind == "compare" else "") + ".")
    changed = _edited_data(folder)
    if changed:                         # likewise: the page is what is sent on
        ctx["kpi_note"] += (f" Note: {_not_as_written_said(changed)}: the figures here are read as the folder "
                            f"stands now, not as rechain made them.")
    for row in ctx["kpi_rows"]:
        for cell in row["cells"]:
            for k in ("band", "delta", "delta_class"):
                cell.setdefault(k, "")
    from .results import package_version
    ctx.update(version=package_version(), written=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
               source=str(folder if shown is None else shown))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(resources.files("rechain").joinpath("templates/report.html.j2").read_text("utf-8"))
    return template.render(**ctx)


def write_report(folder: str | Path, out: str | Path | None = None, year: int | None = None) -> Path:
    """Write ``report.html`` into the output folder (named in its marker), or to ``out``.

    ``out`` may be a new file or an earlier rechain report; any other file is refused, before
    the report is built."""
    folder = Path(folder)
    target = folder / REPORT if out is None else Path(out)
    own = out is None and output_kind(folder) is not None     # its report, named in its marker
    if not own:
        _check_replaceable(target)
        _check_not_anothers_report(folder, target)
        check_writable(target.parent, target)     # /proc, /sys, a read-only disk: before the work
    html = build_report(folder, year)
    if own:
        return add_file(folder, REPORT, html, kinds=("run", "compare"))
    if target.parent.is_dir() and output_kind(target.parent):
        # into a rechain output folder: named in its marker, so the folder stays rechain's (a stray
        # file would make the next run into it refuse to replace the folder)
        return add_file(target.parent, target.name, html)
    return write_file(target, html)


def write_report_into(staging: str | Path, folder: str | Path) -> Path:
    """Write ``report.html`` into ``staging``, the hidden folder :class:`rechain.outputs.output_dir`
    builds the output for ``folder`` in: the report is then swapped into place with the rest, so
    a report that fails or is stopped (SIGTERM, a full disk) leaves the earlier output whole."""
    path = Path(staging) / REPORT
    path.write_text(build_report(staging, shown=folder), encoding="utf-8")
    return path


def _check_not_anothers_report(folder: Path, out: Path) -> None:
    """Refuse an ``--out`` inside another rechain output folder: as its report.html it would be
    read as (or replace) that folder's own report; under any name it would be named in that
    folder's marker and go when the folder is next replaced (another run into it)."""
    parent = out.parent
    for above in Path(os.path.abspath(parent)).parents:
        # a subfolder of an output is no file of its marker's: the next command writing there
        # would refuse the folder as holding files rechain did not write (a malformed-input round)
        if above.is_dir() and output_kind(above) is not None:
            raise OutputError(out, f"is in a subfolder of the {output_kind(above)} output in {above}, which holds files "
                              f"by plain name only (the next rechain command writing there would take the subfolder "
                              f"for files it did not write); allowed: {folder / REPORT}, another name in {folder}, "
                              f"or a folder that is not inside a rechain output")
    if parent.is_dir() and output_kind(parent) is not None and parent.resolve() != folder.resolve():
        what = f"is the report of the {output_kind(parent)} output in {parent}" if out.name == REPORT else \
            (f"is inside the {output_kind(parent)} output in {parent}, which the next rechain command writing "
             f"there replaces whole, this file with it")
        raise OutputError(out, f"{what}, not of {folder}; allowed: {folder / REPORT}, another name in {folder}, "
                          f"or a folder that is not a rechain output")


def _check_replaceable(out: Path) -> None:
    """Refuse an ``--out`` that is a folder, or a file that is not a report rechain wrote
    (a run's own monthly.csv, a user's notes): rechain replaces only its own reports."""
    allowed = "allowed: a new .html file, or a report rechain wrote before"
    if out.is_dir():
        raise OutputError(out, f"is a folder; {allowed}")
    if not os.path.lexists(out):
        return
    head = ""
    if out.is_file():            # never read a FIFO or a device: it may not end
        try:
            with out.open(encoding="utf-8", errors="replace") as f:
                head = f.read(400)
        except OSError:
            pass
    if GENERATOR not in head:
        raise OutputError(out, f"exists and is not a rechain report; rechain never replaces such files: {allowed}")


@click.command("report")
@click.argument("folder", type=NonEmptyPath(file_okay=False, path_type=Path))
@click.option("--year", type=int, default=None,
              help="year of the flow diagram by element (default: the last full year of the run; a comparison made with --year: its year)")
@click.option("--out", type=NonEmptyPath(dir_okay=False, path_type=Path), default=None,
              help="where to write (default FOLDER/report.html)")
def report_command(folder: Path, year: int | None, out: Path | None) -> None:
    """Write one self-contained report.html for a run or comparison folder.

    The question the scenario asks, what it changes against its base, the key figures with
    units (and bands over seeds for a comparison with replicates), the main figures and a
    flow diagram of the chain by element (Pr-Nd, Dy, Tb) for one year. Nothing in it is
    fetched from the network: mail it as it is.
    """
    if not folder.is_dir():
        raise OutputError(folder, "does not exist or is not a folder; allowed: a folder written by rechain run "
                          "or rechain compare")
    path = write_report(folder, out, year)
    click.echo(f"wrote {path}")
    changed = _edited_data(folder)
    if changed:
        again = "compare again" if folder_kind(folder) == "compare" else "run the scenario again"
        click.echo(f"note: {folder}: {_not_as_written_said(changed)}; the report shows the figures as the folder "
                   f"stands now (and says so); {again} for its own", err=True)
    if _made_by_other_code(folder):
        click.echo(f"note: {folder} was made by other code than this rechain's (the code fingerprint it records "
                   f"differs): the report shows its numbers as that code made them; run the scenario again to "
                   f"see this code's", err=True)


#: the files a report reads, per kind of output (:func:`_run_context`, :func:`_compare_context`)
REPORT_READS = {"run": ("manifest.json", "monthly.csv", "flows.csv"),
                "compare": ("compare.json", "kpis_long.csv", "series.csv", "kpis_by_seed.csv")}


def _edited_data(folder: Path) -> list[str]:
    """The files a report reads from a rechain output that are not as rechain wrote them (an
    edit, a file copied over one, a link put in its place, or one deleted)."""
    from .outputs import not_as_written
    return not_as_written(folder, REPORT_READS.get(folder_kind(folder) or "", ()))


def _not_as_written_said(changed: list[str]) -> str:
    """"monthly.csv is not as rechain wrote it", or "... are not as rechain wrote them"."""
    one = len(changed) == 1
    return f"{', '.join(changed)} {'is' if one else 'are'} not as rechain wrote {'it' if one else 'them'}"


def _made_by_other_code(folder: Path) -> bool:
    """Whether ``folder``'s manifest (a run's) or compare.json (a comparison's) names code other
    than this (none named: not known, no)."""
    from .outputs import code_fingerprint
    for name in ("manifest.json", "compare.json"):
        try:
            sha = json.loads((folder / name).read_text(encoding="utf-8")).get("rechain_code_sha256")
        except (OSError, ValueError, AttributeError):
            continue
        return isinstance(sha, str) and sha != code_fingerprint()
    return False
