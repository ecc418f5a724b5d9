"""Batch sweeps: many runs of one scenario over a design of parameter values.

A sweep file (TOML) names a base scenario, the parameters to vary (scenario key paths),
a design, replicates and a root seed, and the outputs to keep::

    name = "behaviour_sobol"
    base = "../baseline.toml"           # relative to the sweep file
    design = "sobol"                    # grid | lhs | sobol | morris | table
    samples = 64                        # N as SALib means it (sobol: N (D+2) points)
    replicates = 1
    root_seed = 20250404

    [parameters]
    "behaviour.restock_strength" = { min = 0.2, max = 3.0 }
    approval = { path = "export_controls[April 2025 medium-heavy controls].approval[0].rate",
                 levels = [0.3, 0.6, 0.9] }

    [outputs]
    kpis = ["price_peak_prnd_oxide"]    # names from rechain.report.kpis (default: all)
    series = [{ variable = "price", product = "prnd_oxide" }]

A key path is dotted; list items are chosen by ``[name]`` (their ``name`` field, or
``type-year`` for quotas) or ``[index]``. An optional ``[overrides]`` table is merged onto
the base scenario first (as ``extends`` would), e.g. to add the disruption a parameter
then varies.

Runs are numbered point-major, replicate-minor; run ``i`` gets the seed of
``numpy.random.SeedSequence(root_seed).spawn(n_runs)[i]``, so the results do not depend on
the number of workers or the order in which runs finish. Results stream to
``OUT/runs/part-*.parquet`` (one row per run) and ``OUT/series/part-*.parquet`` (chosen
monthly series in long form), one file per finished batch, each written under a temporary
name and moved into place, so an interrupted sweep leaves only whole files and
``resume=True`` carries on where it stopped.

Python API: :func:`run_sweep`, :func:`load_results`, :func:`load_sweep`,
:func:`model_function` (one run of one point) and :class:`ScenarioFunction` (a picklable
``f(**params) -> dict`` for EMA Workbench and the like).
"""

from __future__ import annotations

import contextlib
import copy
import csv
import datetime as dt
import difflib
import hashlib
import io
import itertools
import json
import math
import os
import re
import shutil
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import click
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .scenario import (STAGES, OptionError, ScenarioError, _find_line, _inner_model, _resolve, deep_merge,
                       read_toml_file, scenario_from_dict)

__all__ = ["Sweep", "Parameter", "load_sweep", "run_sweep", "load_results", "model_function",
           "make_model_function", "ScenarioFunction", "run_seed", "parse_path", "available_kpis", "SweepSummary", "sweep_command",
           "SERIES_VARIABLES", "sweep_manifest"]

DESIGNS = ("grid", "lhs", "sobol", "morris", "table")
RUN_COLUMNS = ("run_id", "point_id", "replicate", "seed")
STATUS_COLUMNS = ("status", "error")
SERIES_COLUMNS = ("run_id", "point_id", "replicate", "series", "variable", "stage", "product", "region",
                  "month", "value")
#: monthly variables of :func:`rechain.report.monthly_table` a sweep can keep as series
SERIES_VARIABLES = ("production", "orders", "exports", "imports", "price", "stock_cover_days", "sentiment",
                    "uncertainty", "demand", "use", "shortfall", "licences_pending", "licences_pending_t",
                    "licences_applied", "licences_granted", "licences_refused", "quota_used", "quota_issued",
                    "eol_collected", "offer_share")
FORMAT = "rechain-sweep/1"
#: what a sweep writes in its output folder (named in the folder's marker)
SWEEP_FILES = ("manifest.json", "design.parquet", "sweep.toml", "runs", "series", "errors.csv", "analysis")


# ---------------------------------------------------------------------------------------
# key paths
# ---------------------------------------------------------------------------------------
class _Name(str):
    """A ``[name]`` selector in a key path (a list item chosen by its name)."""


class PathError(ValueError):
    """A key path that does not lead to a value of the scenario."""


def parse_path(path: str) -> tuple:
    """Split a key path into keys (str), item names (:class:`_Name`) and indices (int).

    >>> parse_path("export_controls[April 2025 controls].approval[0].rate")
    ('export_controls', 'April 2025 controls', 'approval', 0, 'rate')
    """
    if not isinstance(path, str) or not path.strip():
        raise PathError("a key path must be a non-empty string")
    tokens: list = []
    buf, i, n, need_key = "", 0, len(path), True
    while i < n:
        c = path[i]
        if c == "[":
            if buf:
                tokens.append(buf.strip())
                buf = ""
            elif need_key and not tokens:
                raise PathError(f"{path!r}: must start with a key, not '['")
            j = path.find("]", i)
            if j < 0:
                raise PathError(f"{path!r}: '[' at position {i} is never closed")
            sel = path[i + 1:j].strip()
            if not sel:
                raise PathError(f"{path!r}: empty [] at position {i}")
            if len(sel) >= 2 and sel[0] == sel[-1] and sel[0] in "'\"":
                tokens.append(_Name(sel[1:-1]))
            elif sel.isdigit():
                tokens.append(int(sel))
            else:
                tokens.append(_Name(sel))
            i = j + 1
            need_key = False
            if i < n:
                if path[i] == ".":
                    i += 1
                    need_key = True
                elif path[i] != "[":
                    raise PathError(f"{path!r}: expected '.' or '[' after ']' at position {i}")
            continue
        if c == "]":
            raise PathError(f"{path!r}: ']' at position {i} without '['")
        if c == ".":
            if not buf.strip():
                raise PathError(f"{path!r}: empty key at position {i}")
            tokens.append(buf.strip())
            buf, need_key = "", True
            i += 1
            continue
        buf += c
        i += 1
    if buf.strip():
        tokens.append(buf.strip())
    elif need_key:
        raise PathError(f"{path!r}: ends with '.'")
    return tuple(tokens)


def format_path(tokens: tuple | list) -> str:
    out = ""
    for t in tokens:
        if isinstance(t, _Name):
            out += f"[{t}]"
        elif isinstance(t, int):
            out += f"[{t}]"
        else:
            out += f".{t}" if out else t
    return out


def _item_name(item: Any) -> str | None:
    if isinstance(item, dict):
        if item.get("name"):
            return str(item["name"])
        if "type" in item and "year" in item:
            return f"{item['type']}-{item['year']}"
    return None


def _step(cur: Any, t: Any, done: list) -> tuple[Any, Any]:
    """One step of a key path: returns (child, key or index within ``cur``)."""
    where = format_path(done) or "the scenario"
    if isinstance(t, _Name):
        if not isinstance(cur, list):
            raise PathError(f"{where} is not a list; [{t}] selects a list item by name")
        names = [_item_name(x) for x in cur]
        if t not in names:
            known = [x for x in names if x]
            near = difflib.get_close_matches(t, known, n=1, cutoff=0.5)
            hint = f"; did you mean [{near[0]}]?" if near else ""
            raise PathError(f"{where} has no item named {str(t)!r}{hint} Items: {known}")
        k = names.index(t)
        return cur[k], k
    if isinstance(t, int):
        if not isinstance(cur, list):
            raise PathError(f"{where} is not a list; [{t}] selects a list item by index")
        if t >= len(cur):
            raise PathError(f"{where} has {len(cur)} item(s); index [{t}] is out of range")
        return cur[t], t
    if isinstance(cur, list):
        raise PathError(f"{where} is a list; choose an item with [name] or [index] before .{t}")
    if not isinstance(cur, dict):
        raise PathError(f"{where} is a value ({_toml(cur)}), not a table; it has no key {t!r}")
    if t not in cur:
        near = difflib.get_close_matches(t, [str(k) for k in cur], n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise PathError(f"{where} has no key {t!r}{hint}")
    return cur[t], t


def lookup(data: Any, tokens: tuple) -> Any:
    """The value at a parsed key path (raises :class:`PathError`)."""
    cur, done = data, []
    for t in tokens:
        cur, _ = _step(cur, t, done)
        done.append(t)
    return cur


def assign(data: Any, tokens: tuple, value: Any) -> None:
    """Set the value at a parsed key path in place (raises :class:`PathError`)."""
    cur, done = data, []
    for t in tokens[:-1]:
        cur, _ = _step(cur, t, done)
        done.append(t)
    _, key = _step(cur, tokens[-1], done)
    cur[key] = value


# ---------------------------------------------------------------------------------------
# the sweep file
# ---------------------------------------------------------------------------------------
class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeriesSpec(_Spec):
    variable: str = Field(description="a monthly variable, e.g. price, production, exports")
    stage: str | None = None
    product: str | None = None
    region: str | None = None
    name: str | None = Field(None, description="label in the series table (default from the selection)")


class Outputs(_Spec):
    kpis: list[str] | None = Field(None, description="KPI names from rechain.report.kpis (default: all)")
    series: list[SeriesSpec] = Field(default_factory=list)


class SweepFile(_Spec):
    name: str = ""
    description: str = ""
    base: str = Field(description="scenario file, relative to the sweep file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="merged onto the base scenario first")
    parameters: dict[str, Any] = Field(default_factory=dict, description="name or key path -> {min, max} or {levels}")
    design: Literal[DESIGNS] = "grid"  # type: ignore[valid-type]
    samples: int | None = Field(None, ge=1, le=10_000_000, description="N for lhs, sobol, morris")
    points: str | list[dict[str, Any]] | None = Field(None, description="table design: CSV file or inline list")
    replicates: int = Field(1, ge=1, le=100_000)
    root_seed: int = Field(0, ge=0, le=2**63 - 1)
    second_order: bool = Field(False, description="sobol: also sample for second-order indices")
    morris_levels: int = Field(4, ge=2, le=100, description="morris: grid levels p")
    batch_size: int | None = Field(None, ge=1, le=10_000, description="runs per task (default: automatic)")
    outputs: Outputs = Field(default_factory=Outputs)


@dataclass
class Parameter:
    """One swept quantity: a scenario key path and the values it may take.

    ``kind`` is "range" (continuous between ``min`` and ``max``) or "levels"; ``dtype`` is
    how its values are stored (int, float, bool, date, str, json).
    """
    name: str
    path: str
    tokens: tuple
    kind: str
    min: Any = None
    max: Any = None
    levels: list | None = None
    dtype: str = "float"
    base_value: Any = None

    def bounds(self) -> list[float]:
        """Bounds of the SALib problem (levels map to [0, n))."""
        if self.kind == "levels":
            return [0.0, float(len(self.levels))]
        if self.dtype == "date":
            return [float(self.min.toordinal()), float(self.max.toordinal())]
        return [float(self.min), float(self.max)]

    def from_unit(self, x: float) -> Any:
        """The parameter value of a SALib sample coordinate ``x`` (in :meth:`bounds`)."""
        if self.kind == "levels":
            return self.levels[min(max(int(math.floor(x)), 0), len(self.levels) - 1)]
        if self.dtype == "date":
            return dt.date.fromordinal(int(round(x)))
        if self.dtype == "int":
            return int(round(x))
        return float(x)

    def describe(self) -> dict:
        d = {"name": self.name, "path": self.path, "kind": self.kind, "dtype": self.dtype}
        if self.kind == "range":
            d.update(min=self.min, max=self.max)
        else:
            d["levels"] = self.levels
        d["base_value"] = self.base_value
        return d


@dataclass
class Sweep:
    """A loaded and checked sweep: the base scenario, the parameters and the design points."""
    name: str
    file: Path | None
    base_file: Path
    base: dict                     # the base scenario (overrides applied) as a validated, plain dict
    parameters: list[Parameter]
    design: str
    samples: int | None
    replicates: int
    root_seed: int
    kpis: list[str]
    series: list[dict]
    points: list[dict]             # parameter values per design point, in point order
    unit_points: list[list[float]] | None   # SALib sample matrix (lhs, sobol, morris)
    second_order: bool = False
    morris_levels: int = 4
    batch_size: int | None = None
    description: str = ""
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replicates

    def problem(self) -> dict:
        """The SALib problem dict of the sweep's parameters."""
        return {"num_vars": len(self.parameters), "names": [p.name for p in self.parameters],
                "bounds": [p.bounds() for p in self.parameters]}

    def run_of(self, run_id: int) -> tuple[int, int, int, dict]:
        """(point_id, replicate, seed, parameter values) of run ``run_id``."""
        point, rep = divmod(run_id, self.replicates)
        return point, rep, run_seed(self.root_seed, run_id), self.points[point]

    def spec_hash(self) -> str:
        """SHA-256 of what determines the results: base scenario, parameters, design, seeds, outputs."""
        blob = {"base": self.base, "parameters": [p.describe() for p in self.parameters],
                "design": self.design, "samples": self.samples, "replicates": self.replicates,
                "root_seed": self.root_seed, "kpis": self.kpis, "series": self.series,
                "points": self.points, "second_order": self.second_order, "morris_levels": self.morris_levels}
        return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()

    def manifest(self) -> dict:
        from .results import package_version
        return {"format": FORMAT, "name": self.name, "description": self.description,
                "sweep_file": str(self.file) if self.file else None, "base_file": str(self.base_file),
                "design": self.design, "samples": self.samples, "replicates": self.replicates,
                "root_seed": self.root_seed, "n_points": self.n_points, "n_runs": self.n_runs,
                "second_order": self.second_order, "morris_levels": self.morris_levels,
                "parameters": [p.describe() for p in self.parameters], "problem": self.problem(),
                "kpis": self.kpis, "series": self.series, "spec_sha256": self.spec_hash(),
                "rechain_version": package_version(), "python": sys.version.split()[0],
                "seeds": "numpy.random.SeedSequence(root_seed).spawn(n_runs)[run_id], "
                         "63 bits of generate_state(1, uint64)"}


def run_seed(root_seed: int, run_id: int) -> int:
    """The seed of run ``run_id``: child ``run_id`` of ``SeedSequence(root_seed).spawn(n)``.

    Computed without spawning the others (a spawned child is ``SeedSequence(entropy,
    spawn_key=(i,))``), as a non-negative 63-bit integer for ``mesa.Model(seed=...)``.
    """
    import numpy as np
    ss = np.random.SeedSequence(root_seed, spawn_key=(run_id,))
    return int(ss.generate_state(1, dtype=np.uint64)[0]) & (2**63 - 1)


def _plain(obj: Any) -> Any:
    """Tuples to lists, recursively (so every list in the scenario can be assigned into)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _err(file, key: str, msg: str, kind: str, needle: str | None = None, loc: list | None = None) -> ScenarioError:
    line = None
    if file is not None and Path(file).exists():
        if needle:
            line = _line_of(Path(file), needle)
        if line is None and loc:
            line = _find_line(Path(file), loc)
    return ScenarioError(file, key, msg, line=line, kind=kind)


def _line_of(path: Path, needle: str) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for i, line in enumerate(lines, 1):
        if needle in line.split("#", 1)[0]:
            return i
    return None


def _spec_error(err: dict, path: Path | None) -> ScenarioError:
    """One :class:`ScenarioError` for one pydantic error of a sweep file."""
    loc = list(err["loc"])
    if loc and loc[0] == "points":     # drop pydantic's union-branch names (points = str | list)
        loc = [p for i, p in enumerate(loc) if not (i == 1 and isinstance(p, str))]
    key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    typ, given = err["type"], err.get("input")
    if typ == "extra_forbidden":
        model: Any = SweepFile
        for p in loc[:-1]:
            if isinstance(p, int):
                continue
            ann = getattr(model, "model_fields", {}).get(p)
            model = _inner_model(ann.annotation) if ann else None
            if model is None:
                break
        allowed = list(getattr(model, "model_fields", {})) if model else []
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return _err(path, key, f"unknown key{hint} Allowed here: {', '.join(sorted(allowed))}", "unknown_key", loc=loc)
    if typ == "missing":
        return _err(path, key, "required key is missing", "missing_key", loc=loc)
    if typ == "literal_error":
        return _err(path, key, f"given {_toml(given)}; {err['msg'].lower()}", "not_allowed", loc=loc)
    if typ.startswith(("greater", "less")):
        return _err(path, key, f"given {_toml(given)}; allowed: {err['msg'].lower()}", "out_of_range", loc=loc)
    return _err(path, key, f"given {_toml(given)}; {err['msg']}", "type", loc=loc)


def _toml(v: Any) -> str:
    """A value as a user writes it in a TOML file: dates as 2025-04-01, lists in brackets."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    return repr(v)


def _value_key(v: Any) -> str:
    """A value as a comparable key (1 and 1.0 alike)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return repr(float(v))
    return json.dumps(v, sort_keys=True, default=str)


def _dtype_of(values: list) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values):
        return "date"
    if all(isinstance(v, str) for v in values):
        return "str"
    return "json"


def _coerce_cell(text: str) -> Any:
    """A CSV cell as int, float, bool, date or string."""
    t = text.strip()
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    try:
        return float(t)
    except ValueError:
        pass
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        return dt.date.fromisoformat(t)
    except ValueError:
        return t


def _base_dict(base_path: Path, overrides: dict, sweep_path: Path | None) -> dict:
    """The base scenario with overrides, validated, as a plain dict (defaults filled in)."""
    data, _files = _resolve(base_path)
    data.setdefault("name", base_path.stem)
    if overrides:
        data = deep_merge(data, overrides)
    try:
        sc = scenario_from_dict(data, base_path)
    except ScenarioError as e:
        if not overrides:
            raise
        raise _err(sweep_path, "overrides", f"the base scenario with these overrides is invalid: "
                   f"{e.key}: {e.detail}", "invalid", needle="[overrides") from None
    return _plain(sc.model_dump(mode="python"))


def available_kpis(base: dict) -> list[str]:
    """KPI names :func:`rechain.report.kpis` gives for a scenario of this period.

    Worked out by calling ``kpis`` on a small synthetic monthly table that has every
    variable it reads, so the names follow the report module.
    """
    import pandas as pd

    from .calendar import Calendar
    from .materials import PRODUCTS
    from .report import kpis

    months = list(Calendar.build(base["start"], base["end"]).months)
    rows = []
    for mo in months:
        for p in PRODUCTS:
            rows.append((mo, "market", p, "china", "price", 1.0))
        rows += [(mo, "magnet_makers", "magnet_std", "china", "production", 1.0),
                 (mo, "separation_plants", "prnd_oxide", "china", "production", 1.0),
                 (mo, "recyclers", "prnd_oxide", "china", "production", 1.0),
                 (mo, "magnet_makers", "magnet_std", "eu", "exports", 1.0),
                 (mo, "overseas_buyers", "all", "eu", "shortfall", 1.0),
                 (mo, "motor_makers", "nev", "china", "shortfall", 1.0),
                 (mo, "overseas_buyers", "controlled", "overseas", "licences_granted", 1.0),
                 (mo, "overseas_buyers", "controlled", "overseas", "licences_refused", 1.0)]
    df = pd.DataFrame(rows, columns=["month", "stage", "product", "region", "variable", "value"])
    df["unit"] = ""
    return list(kpis(df))


def _check_value(base: dict, p: Parameter, value: Any, file: Path | None, what: str) -> None:
    """Raise ScenarioError if setting ``p`` to ``value`` alone makes the base scenario invalid."""
    d = copy.deepcopy(base)
    assign(d, p.tokens, value)
    try:
        scenario_from_dict(d)
    except ScenarioError as e:
        raise _err(file, f"parameters.{p.name}", f"{what} {_toml(value)} does not give a valid scenario: "
                   f"{e.key}: {e.detail}", "out_of_range", needle=p.name) from None


def _parameter(name: str, entry: dict, base: dict, file: Path | None, design: str) -> Parameter:
    key = f"parameters.{name}"
    if not isinstance(entry, dict):
        raise _err(file, key, f"given {_toml(entry)}; a parameter is {{min = ..., max = ...}} or {{levels = [...]}}, "
                   "with an optional path = \"...\"", "type", needle=name)
    allowed = {"path", "min", "max", "levels"}
    extra = set(entry) - allowed
    if extra:
        bad = sorted(extra)[0]
        near = difflib.get_close_matches(bad, sorted(allowed), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise _err(file, f"{key}.{bad}", f"unknown key{hint} A parameter is {{min = ..., max = ...}} or "
                   f"{{levels = [...]}}, with an optional path = \"...\"", "unknown_key", needle=bad)
    path = entry.get("path", name)
    if not isinstance(path, str):
        raise _err(file, f"{key}.path", f"must be a key path (string), got {path!r}", "type", needle=name)
    try:
        tokens = parse_path(path)
        base_value = lookup(base, tokens)
    except PathError as e:
        raise _err(file, key, f"{path!r} is not a key of the base scenario: {e}", "unknown_parameter",
                   needle=name) from None
    has_range = "min" in entry or "max" in entry
    if has_range and "levels" in entry:
        raise _err(file, key, "give either min and max (continuous) or levels, not both", "invalid", needle=name)
    if has_range:
        if "min" not in entry or "max" not in entry:
            raise _err(file, key, "a continuous parameter needs both min and max", "missing_key", needle=name)
        lo, hi = entry["min"], entry["max"]
        dates = isinstance(lo, dt.date) and isinstance(hi, dt.date)
        nums = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi))
        if not (dates or nums):
            raise _err(file, key, f"min and max must both be numbers or both dates, got {_toml(lo)} and {_toml(hi)}",
                       "type", needle=name)
        if dates and any(isinstance(v, dt.datetime) for v in (lo, hi)):
            raise _err(file, key, "min and max must be dates (YYYY-MM-DD), not date-times", "type", needle=name)
        if not lo < hi:
            raise _err(file, key, f"min ({lo}) must be below max ({hi})", "out_of_range", needle=name)
        if isinstance(base_value, bool) or not isinstance(base_value, (int, float, dt.date)) or \
                isinstance(base_value, dt.date) != dates:
            raise _err(file, key, f"{path} is {_toml(base_value)} in the base scenario; a "
                       f"{'date' if dates else 'numeric'} range cannot replace it (use levels = [...])",
                       "type", needle=name)
        if design in ("grid", "table"):
            raise _err(file, key, f"a {design} design needs levels = [...] for every parameter; min/max are "
                       "for lhs, sobol and morris", "design", needle=name)
        dtype = "date" if dates else ("int" if isinstance(base_value, int) else "float")
        p = Parameter(name, path, tokens, "range", min=lo, max=hi, dtype=dtype, base_value=base_value)
        for what, v in (("min", p.from_unit(p.bounds()[0])), ("max", p.from_unit(p.bounds()[1]))):
            _check_value(base, p, v, file, what)
        return p
    if "levels" not in entry:
        raise _err(file, key, "needs {min = ..., max = ...} or {levels = [...]}", "missing_key", needle=name)
    if design == "sobol":
        # Saltelli sampling and Sobol indices assume a continuous input; a few levels would
        # be drawn unevenly and their indices read as if they were a range
        raise _err(file, key, "given levels = [...] with design = \"sobol\"; allowed: a range { min = ..., "
                   "max = ... } (levels are for grid, table, lhs and morris designs)", "design", needle=name)
    levels = entry["levels"]
    if not isinstance(levels, list) or not levels:
        raise _err(file, f"{key}.levels", f"must be a non-empty list, got {_toml(levels)}", "type", needle=name)
    seen = [_value_key(v) for v in levels]
    if len(set(seen)) < len(seen):
        dup = next(v for v, k in zip(levels, seen) if seen.count(k) > 1)
        raise _err(file, f"{key}.levels", f"level {_toml(dup)} is given twice", "invalid", needle=name)
    p = Parameter(name, path, tokens, "levels", levels=list(levels), dtype=_dtype_of(levels), base_value=base_value)
    for v in levels:
        _check_value(base, p, v, file, "level")
    return p


def _table_points(spec: SweepFile, file: Path | None, params: dict[str, Parameter], base: dict
                  ) -> tuple[list[Parameter], list[dict]]:
    if spec.points is None:
        raise _err(file, "points", "a table design needs points = \"file.csv\" or an inline list of tables",
                   "missing_key", needle="design")
    if isinstance(spec.points, str):
        csv_path = (file.parent if file else Path.cwd()) / spec.points
        try:
            text = csv_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise _err(file, "points", f"cannot read {spec.points!r} ({e.__class__.__name__}; looked in "
                       f"{csv_path.parent})", "missing", needle="points") from None
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise _err(file, "points", f"{spec.points} has no header row", "invalid", needle="points")
        rows = []
        for i, r in enumerate(reader, 2):
            if None in r or any(v is None for v in r.values()):
                raise _err(file, "points", f"{spec.points}, line {i}: wrong number of cells", "invalid",
                           needle="points")
            rows.append({k: _coerce_cell(v) for k, v in r.items()})
        columns = list(reader.fieldnames)
    else:
        rows = [dict(r) for r in spec.points]
        columns = list(dict.fromkeys(k for r in rows for k in r))
    if not rows:
        raise _err(file, "points", "the table has no points", "invalid", needle="points")
    for i, r in enumerate(rows):
        missing = [c for c in columns if c not in r]
        if missing:
            raise _err(file, f"points[{i}]", f"lacks {missing}", "missing_key", needle="points")
    order: list[Parameter] = []
    for c in columns:
        if c in params:
            p = params[c]
            allowed = {_value_key(v): v for v in p.levels}
            for r in rows:
                if _value_key(r[c]) not in allowed:
                    raise _err(file, f"points.{c}", f"value {_toml(r[c])} is not one of the parameter's levels "
                               f"{_toml(p.levels)}", "out_of_range", needle="points")
                r[c] = allowed[_value_key(r[c])]
        else:
            levels = list({_value_key(r[c]): r[c] for r in rows}.values())
            p = _parameter(c, {"levels": levels}, base, file, "table")
        order.append(p)
    unused = [n for n in params if n not in columns]
    if unused:
        raise _err(file, f"parameters.{unused[0]}", "is declared but is not a column of the points table",
                   "invalid", needle=unused[0])
    return order, [{p.name: r[p.name] for p in order} for r in rows]


def _design(spec: SweepFile, file: Path | None, params: list[Parameter]
            ) -> tuple[list[dict], list[list[float]] | None]:
    design, N = spec.design, spec.samples
    names = [p.name for p in params]
    if design == "grid":
        combos = itertools.product(*[p.levels for p in params])
        return [dict(zip(names, c)) for c in combos], None
    if not params:
        raise _err(file, "parameters", f"a {design} design needs at least one parameter", "design", needle="design")
    if N is None:
        raise _err(file, "samples", f"a {design} design needs samples = N", "missing_key", needle="design")
    problem = {"num_vars": len(params), "names": names, "bounds": [p.bounds() for p in params]}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if design == "lhs":
                from SALib.sample import latin
                X = latin.sample(problem, N, seed=spec.root_seed)
            elif design == "sobol":
                if N & (N - 1):
                    raise ValueError(f"samples = {N}: Sobol' sampling needs a power of 2 (e.g. "
                                     f"{2 ** max(1, round(math.log2(N)))})")
                from SALib.sample import sobol
                X = sobol.sample(problem, N, calc_second_order=spec.second_order, scramble=True,
                                 seed=spec.root_seed)
            else:
                if N < 2:
                    raise ValueError("samples (trajectories) must be at least 2 for Morris")
                from SALib.sample import morris
                X = morris.sample(problem, N, num_levels=spec.morris_levels, seed=spec.root_seed)
    except ValueError as e:
        raise _err(file, "samples", str(e), "design", needle="samples") from None
    points = [{p.name: p.from_unit(x) for p, x in zip(params, row)} for row in X]
    return points, [list(map(float, row)) for row in X]


def _check_outputs(spec: SweepFile, file: Path | None, base: dict, sc_names: dict, found: "_Found"
                   ) -> tuple[list[str], list[dict]]:
    """The KPIs and series a sweep keeps; their mistakes go to ``found``."""
    known = available_kpis(base)
    if spec.outputs.kpis is None:
        kpis = known
    else:
        kpis = list(dict.fromkeys(spec.outputs.kpis))
        for k in kpis:
            if k not in known:
                near = difflib.get_close_matches(k, known, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                with found:
                    raise _err(file, "outputs.kpis", f"unknown KPI {k!r}{hint} KPIs for a run of "
                               f"{base['start']}..{base['end']}: {', '.join(known)}", "unknown_kpi", needle=k)
        kpis = [k for k in kpis if k in known]
    series = []
    for i, s in enumerate(spec.outputs.series):
        with found:
            series.append(_series_spec(i, s, file, sc_names))
    labels = [s["name"] for s in series]
    with found:
        if len(set(labels)) < len(labels):
            raise _err(file, "outputs.series", "two series have the same selection; give them distinct name = ...",
                       "invalid", needle="series")
    return kpis, series


class _Found:
    """Mistakes of one file, gathered (``with found: ...``) to be reported together."""

    def __init__(self) -> None:
        self.errors: list[ScenarioError] = []

    def __enter__(self) -> "_Found":
        return self

    def __exit__(self, typ, exc, tb) -> bool:
        if isinstance(exc, ScenarioError):
            self.errors += exc.errors
            return True
        return False

    def raise_any(self) -> None:
        if self.errors:
            raise ScenarioError.of(self.errors)


def _series_spec(i: int, s: SeriesSpec, file: Path | None, sc_names: dict) -> dict:
    """One checked ``[[outputs.series]]`` entry as a dict with its label."""
    key = f"outputs.series[{i}]"
    stages = set(STAGES) | {"market"}
    if s.variable not in SERIES_VARIABLES:
        near = difflib.get_close_matches(s.variable, SERIES_VARIABLES, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise _err(file, f"{key}.variable", f"unknown variable {s.variable!r}{hint} Allowed: "
                   f"{', '.join(SERIES_VARIABLES)}", "not_allowed", needle=s.variable)
    if s.stage is not None and s.stage not in stages:
        raise _err(file, f"{key}.stage", f"unknown stage {s.stage!r}; allowed: {', '.join(sorted(stages))}",
                   "not_allowed", needle=s.stage)
    if s.product is not None and s.product not in sc_names["products"]:
        near = difflib.get_close_matches(s.product, sorted(sc_names["products"]), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise _err(file, f"{key}.product", f"unknown product {s.product!r}{hint}", "not_allowed",
                   needle=s.product)
    if s.region is not None and s.region not in sc_names["regions"]:
        raise _err(file, f"{key}.region", f"unknown region {s.region!r}; allowed: "
                   f"{', '.join(sorted(sc_names['regions']))}", "not_allowed", needle=s.region)
    sel = {k: getattr(s, k) for k in ("stage", "product", "region") if getattr(s, k) is not None}
    label = s.name or s.variable + ("[" + ",".join(f"{k}={v}" for k, v in sel.items()) + "]" if sel else "")
    return {"name": label, "variable": s.variable, **{k: getattr(s, k) for k in ("stage", "product", "region")}}


def load_sweep(source: str | Path | dict, base_dir: str | Path | None = None) -> Sweep:
    """Read, validate and expand a sweep (a TOML path or the equivalent dict).

    Raises
    ------
    ScenarioError
        naming the sweep file and the key, for anything that cannot be used: unknown keys,
        a base scenario that does not load, a parameter path not in the base scenario, a
        level or bound the scenario validator rejects, an unknown KPI.
    """
    if isinstance(source, dict):
        file, raw = None, copy.deepcopy(source)
        where = Path(base_dir) if base_dir else Path.cwd()
    else:
        file = Path(source)
        raw = read_toml_file(file, "a sweep file (.toml)")
        where = file.parent
    try:
        spec = SweepFile.model_validate(raw)
    except ValidationError as e:
        raise ScenarioError.of([_spec_error(err, file) for err in e.errors()]) from None
    found = _Found()
    with found:
        if spec.design not in ("lhs", "sobol", "morris") and spec.samples is not None:
            raise _err(file, "samples", f"samples is for lhs, sobol and morris designs, not {spec.design}",
                       "design", needle="samples")
    with found:
        if spec.design != "table" and spec.points is not None:
            raise _err(file, "points", "points is for design = \"table\"", "design", needle="points")
    base_path = where / spec.base
    with found:
        if not base_path.is_file():
            raise _err(file, "base", f"scenario file {spec.base!r} not found (looked in {where})", "missing",
                       needle="base")
        base = _base_dict(base_path, spec.overrides, file)
    found.raise_any()        # what follows needs the base scenario

    params: dict[str, Parameter] = {}
    for name, entry in spec.parameters.items():
        with found:
            params[name] = _parameter(name, entry, base, file, spec.design)
    paths = [p.path for p in params.values()]
    for p in params.values():
        with found:
            if paths.count(p.path) > 1:
                raise _err(file, f"parameters.{p.name}", f"path {p.path} is swept twice", "invalid", needle=p.name)

    names = {"products": _product_names(base), "regions": set(base["regions"]) | {"china", "abroad", "overseas",
                                                                                 "all"}}
    kpis, series = _check_outputs(spec, file, base, names, found)
    reserved = set(RUN_COLUMNS) | set(STATUS_COLUMNS) | set(kpis)
    for n in params:
        with found:
            if n in reserved:
                raise _err(file, f"parameters.{n}", f"name {n!r} is taken by a column of the results; give the "
                           "parameter another name with path = ...", "invalid", needle=n)
    found.raise_any()

    if spec.design == "table":
        order, points = _table_points(spec, file, params, base)
        unit = None
    else:
        order = list(params.values())
        points, unit = _design(spec, file, order)
    n_runs = len(points) * spec.replicates
    if n_runs > 50_000_000:
        raise _err(file, "samples", f"{n_runs:,} runs is more than a sweep can number", "design", needle="samples")
    return Sweep(name=spec.name or (file.stem if file else "sweep"), file=file, base_file=base_path, base=base,
                 parameters=order, design=spec.design, samples=spec.samples, replicates=spec.replicates,
                 root_seed=spec.root_seed, kpis=kpis, series=series, points=points, unit_points=unit,
                 second_order=spec.second_order, morris_levels=spec.morris_levels, batch_size=spec.batch_size,
                 description=spec.description, raw=raw)


def _product_names(base: dict) -> set[str]:
    from .materials import PRODUCTS
    from .policy import QUOTA_TYPES
    return set(PRODUCTS) | set(base["sectors"]) | set(QUOTA_TYPES) | {"ore", "magnets", "all", "controlled",
                                                                      "scrap"}


# ---------------------------------------------------------------------------------------
# one run (runs in the worker processes)
# ---------------------------------------------------------------------------------------
@dataclass
class _Context:
    """What a worker needs to run any point of a sweep (sent once per worker or per task)."""
    base: dict
    params: list[tuple[str, tuple, str]]     # (name, tokens, dtype)
    kpis: list[str]
    series: list[dict]
    sweep_file: str | None


def _context(sw: Sweep) -> _Context:
    return _Context(base=sw.base, params=[(p.name, p.tokens, p.dtype) for p in sw.parameters], kpis=sw.kpis,
                    series=sw.series, sweep_file=str(sw.file) if sw.file else None)


def _scenario_at(ctx: _Context, values: dict):
    d = copy.deepcopy(ctx.base)
    for name, tokens, _ in ctx.params:
        assign(d, tokens, values[name])
    try:
        return scenario_from_dict(d)
    except ScenarioError as e:
        shown = ", ".join(f"{n} = {_toml(values[n])}" for n, _, _ in ctx.params)
        raise ScenarioError(ctx.sweep_file, "parameters", f"the scenario at this point ({shown}) is invalid: "
                            f"{e.key}: {e.detail}", kind="point_invalid") from None


def _evaluate(ctx: _Context, values: dict, seed: int):
    """Run one point with one seed: (KPI dict, monthly table or None)."""
    from .model import ChainModel
    from .report import kpis, monthly_table

    sc = _scenario_at(ctx, values)
    model = ChainModel(sc, seed=seed)
    try:
        model.run()
        monthly = monthly_table(model)
    finally:
        _forget(model)
    return kpis(monthly), monthly


def _forget(model) -> None:
    """Let a finished model be freed (see :func:`rechain.model.forget_model`)."""
    from .model import forget_model
    forget_model(model)


def _series_rows(ctx: _Context, monthly, head: tuple) -> dict[str, list]:
    cols: dict[str, list] = {c: [] for c in SERIES_COLUMNS}
    for s in ctx.series:
        sel = monthly["variable"] == s["variable"]
        for k in ("stage", "product", "region"):
            if s[k] is not None:
                sel &= monthly[k] == s[k]
        g = monthly[sel].groupby("month", sort=True)["value"].sum()
        n = len(g)
        for c, v in zip(("run_id", "point_id", "replicate"), head):
            cols[c] += [v] * n
        cols["series"] += [s["name"]] * n
        for k in ("variable", "stage", "product", "region"):
            cols[k] += [s[k]] * n
        cols["month"] += list(g.index)
        cols["value"] += [float(x) for x in g.values]
    return cols


def _error_text(e: BaseException) -> str:
    if isinstance(e, ScenarioError):
        return str(e)
    tb = traceback.extract_tb(e.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
    return f"{e.__class__.__name__}: {e}{where}"


_WORKER_CTX: _Context | None = None


#: how often a worker process checks that the sweep's main process is still there, s
PARENT_CHECK_S = 0.5


def _init_worker(ctx: _Context, parent_pid: int | None = None) -> None:
    """Set up a worker process: the sweep's context, and a watchdog for its parent."""
    global _WORKER_CTX
    _WORKER_CTX = ctx
    if parent_pid is not None:
        _exit_with_parent(parent_pid)


def _exit_with_parent(parent_pid: int) -> None:
    """End this process soon after ``parent_pid`` (the sweep's main process) is gone.

    A worker whose parent was killed (SIGKILL, or a SIGTERM that left no time to clean
    up) would otherwise block for ever writing its result to a pipe nobody reads. An
    orphan is adopted by another process, so ``os.getppid()`` changes: portable, unlike
    Linux's PR_SET_PDEATHSIG, and a daemon thread runs while the main thread is blocked.
    """
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(3)    # no clean-up: there is no one left to report to

    threading.Thread(target=watch, name="rechain-parent-watchdog", daemon=True).start()


def _run_batch(batch: list[tuple], ctx: _Context | None = None) -> tuple[list[dict], dict[str, list]]:
    """Run a batch of ``(run_id, point_id, replicate, seed, values)``; never raises for a run."""
    ctx = ctx if ctx is not None else _WORKER_CTX
    rows, series = [], {c: [] for c in SERIES_COLUMNS}
    nan = float("nan")
    for run_id, point_id, rep, seed, values in batch:
        row = {"run_id": run_id, "point_id": point_id, "replicate": rep, "seed": seed}
        row.update({name: _to_column(values[name], dtype) for name, _, dtype in ctx.params})
        try:
            k, monthly = _evaluate(ctx, values, seed)
            row.update({name: float(k.get(name, nan)) for name in ctx.kpis})
            row.update(status="ok", error=None)
            if ctx.series:
                for c, v in _series_rows(ctx, monthly, (run_id, point_id, rep)).items():
                    series[c] += v
        except Exception as e:  # noqa: BLE001 - a failed run is recorded, the sweep goes on
            row.update({name: nan for name in ctx.kpis})
            row.update(status="error", error=_error_text(e))
        rows.append(row)
    return rows, series


def _to_column(v: Any, dtype: str) -> Any:
    return json.dumps(v, sort_keys=True, default=str) if dtype == "json" else v


# ---------------------------------------------------------------------------------------
# the model as a plain function (EMA Workbench style)
# ---------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _cached_sweep(path: str, mtime: float) -> Sweep:
    return load_sweep(path)


@lru_cache(maxsize=8)
def _cached_base(path: str, mtime: float) -> dict:
    return _base_dict(Path(path), {}, None)


def model_function(sweep: str | Path | Sweep | None = None, *, base: str | Path | None = None, seed: int = 0,
                   **params: Any) -> dict[str, float]:
    """Run one point and return its KPIs: a plain ``f(**params) -> dict`` model.

    Parameters
    ----------
    sweep : a sweep file or :class:`Sweep`; ``params`` are then its parameter names (or their
        key paths), unset ones keep the base scenario's values, and the KPIs are the sweep's.
    base : a scenario file, when no sweep is given; ``params`` are then key paths.
    seed : the run's seed.
    **params : parameter values. Dotted key paths go in as ``**{"behaviour.w_trend": 0.5}``.

    Returns
    -------
    dict of KPI name -> value (see :func:`rechain.report.kpis`).

    Raises
    ------
    ScenarioError if a parameter is unknown or its value makes the scenario invalid.

    Examples
    --------
    >>> f = make_model_function("scenarios/sweeps/behaviour_sobol.toml")   # doctest: +SKIP
    >>> f(**{"behaviour.restock_strength": 2.0})["price_peak_prnd_oxide"]   # doctest: +SKIP

    With EMA Workbench, use :class:`ScenarioFunction`: ``Model("rechain",
    function=ScenarioFunction(path))``, with ``RealParameter`` uncertainties named like the
    sweep's parameters (or with ``variable_name`` set to a key path).
    """
    if sweep is not None:
        sw = sweep if isinstance(sweep, Sweep) else _cached_sweep(str(Path(sweep).resolve()),
                                                                  Path(sweep).stat().st_mtime)
        by_name = {p.name: p for p in sw.parameters} | {p.path: p for p in sw.parameters}
        src, kpi_names, file = sw.base, sw.kpis, sw.file
    elif base is not None:
        by_name, src, kpi_names, file = {}, _cached_base(str(Path(base).resolve()), Path(base).stat().st_mtime), \
            None, Path(base)
    else:
        raise TypeError("model_function needs sweep=... or base=...; for a function of the parameters "
                        "alone (EMA Workbench's Model(function=...)), use ScenarioFunction(path)")
    plist, values = [], {}
    for key, v in params.items():
        p = by_name.get(key)
        if p is None:
            try:
                tokens = parse_path(key)
                lookup(src, tokens)
            except PathError as e:
                raise ScenarioError(file, key, f"not a parameter of the sweep nor a key of the base scenario: {e}",
                                    kind="unknown_parameter") from None
            p = Parameter(key, key, tokens, "levels", levels=[v], dtype=_dtype_of([v]))
        plist.append((p.name, p.tokens, p.dtype))
        values[p.name] = v
    ctx = _Context(base=src, params=plist, kpis=[], series=[], sweep_file=str(file) if file else None)
    k, _ = _evaluate(ctx, values, seed)
    return {n: k.get(n, float("nan")) for n in kpi_names} if kpi_names else k


def make_model_function(sweep: str | Path | Sweep, seed: int = 0) -> "ScenarioFunction":
    """``model_function`` bound to a sweep file (and a seed): a picklable ``f(**params) -> dict``.

    Same as :class:`ScenarioFunction` ``(sweep, seed=seed)``.
    """
    return ScenarioFunction(sweep, seed=seed)


class ScenarioFunction:
    """rechain as a plain function ``f(**params) -> dict`` of KPIs, for EMA Workbench, SALib,
    scipy and the like. Picklable, so it runs in worker processes (EMA's
    ``MultiprocessingEvaluator``): it holds only the file's path, the seed and the outcomes,
    and each process loads the file once.

    Parameters
    ----------
    path : a sweep file or a scenario file (or a loaded :class:`Sweep`).
        With a sweep, the parameters are its parameter names or key paths, and the outcomes
        default to the sweep's KPIs; with a scenario, the parameters are key paths
        (``"behaviour.w_news"``) and the outcomes default to every KPI. Parameters not given
        keep the file's values.
    seed : the seed of every run, unless a call passes ``seed=...`` (e.g. an EMA
        ``IntegerParameter("seed", ...)`` for replicates).
    outcomes : KPI names to return (see :func:`rechain.report.kpis`).

    Raises
    ------
    ScenarioError when the file does not load or an outcome is not a KPI of it (at once),
    and when a call's parameter is unknown or makes the scenario invalid.

    Examples
    --------
    >>> from ema_workbench import Model, RealParameter, ScalarOutcome     # doctest: +SKIP
    >>> model = Model("rechain", function=ScenarioFunction("scenarios/baseline.toml",
    ...                                                    outcomes=["price_peak_prnd_oxide"]))
    >>> model.uncertainties = [RealParameter("w_news", 0.5, 2.0, variable_name="behaviour.w_news")]
    >>> model.outcomes = [ScalarOutcome("price_peak_prnd_oxide")]
    """

    def __init__(self, path: str | Path | Sweep, seed: int = 0, outcomes: list[str] | None = None):
        if isinstance(path, Sweep):
            self.sweep, self.path, self.is_sweep = path, str(path.file) if path.file else None, True
            known = path.kpis
        else:
            self.sweep, self.path = None, str(Path(path).resolve())
            raw = read_toml_file(self.path)
            self.is_sweep = "base" in raw           # sweep files name a base; scenarios never do
            known = self._load().kpis if self.is_sweep else available_kpis(self._base())
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = seed
        self.outcomes = list(outcomes) if outcomes is not None else None
        for name in self.outcomes or []:
            if name not in known:
                near = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ScenarioError(self.path, "outcomes", f"unknown KPI {name!r}{hint} Allowed: {', '.join(known)}",
                                    kind="unknown_kpi")

    def _load(self) -> Sweep:
        return self.sweep or _cached_sweep(self.path, Path(self.path).stat().st_mtime)

    def _base(self) -> dict:
        return _cached_base(self.path, Path(self.path).stat().st_mtime)

    def __call__(self, **params: Any) -> dict[str, float]:
        seed = int(params.pop("seed", self.seed))
        if self.is_sweep:
            k = model_function(self._load(), seed=seed, **params)
        else:
            k = model_function(base=self.path, seed=seed, **params)
        return {n: k.get(n, float("nan")) for n in self.outcomes} if self.outcomes is not None else k

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.path is not None:
            state["sweep"] = None       # reloaded (and cached) in each process
        return state

    def __repr__(self) -> str:
        return f"ScenarioFunction({self.path!r}, seed={self.seed}, outcomes={self.outcomes!r})"


# ---------------------------------------------------------------------------------------
# results on disk
# ---------------------------------------------------------------------------------------
def _arrow_types():
    import pyarrow as pa
    return {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "date": pa.date32(),
            "str": pa.string(), "json": pa.string()}


def _runs_schema(sw: Sweep):
    import pyarrow as pa
    t = _arrow_types()
    fields = [pa.field("run_id", pa.int64()), pa.field("point_id", pa.int64()), pa.field("replicate", pa.int32()),
              pa.field("seed", pa.int64())]
    fields += [pa.field(p.name, t[p.dtype]) for p in sw.parameters]
    fields += [pa.field(k, pa.float64()) for k in sw.kpis]
    fields += [pa.field("status", pa.string()), pa.field("error", pa.string())]
    meta = {"rechain_sweep": json.dumps({"parameters": [p.name for p in sw.parameters], "kpis": sw.kpis})}
    return pa.schema(fields, metadata=meta)


def _series_schema():
    import pyarrow as pa
    return pa.schema([pa.field("run_id", pa.int64()), pa.field("point_id", pa.int64()),
                      pa.field("replicate", pa.int32())]
                     + [pa.field(c, pa.string()) for c in ("series", "variable", "stage", "product", "region",
                                                            "month")]
                     + [pa.field("value", pa.float64())])


def _write_atomic(table, path: Path) -> None:
    import pyarrow.parquet as pq
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def _part_files(d: Path) -> list[Path]:
    return sorted(p for p in d.glob("part-*.parquet") if p.is_file()) if d.is_dir() else []


def _write_json_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _design_table(sw: Sweep):
    import pyarrow as pa
    t = _arrow_types()
    cols = {"point_id": pa.array(range(sw.n_points), pa.int64())}
    for p in sw.parameters:
        cols[p.name] = pa.array([_to_column(pt[p.name], p.dtype) for pt in sw.points], t[p.dtype])
    if sw.unit_points is not None:
        for j, p in enumerate(sw.parameters):
            cols[f"x:{p.name}"] = pa.array([row[j] for row in sw.unit_points], pa.float64())
    return pa.table(cols)


def _check_out(sw: Sweep, out: Path, resume: bool) -> None:
    """Raise unless the sweep may write to ``out``: a new or empty folder, or (``resume``)
    the folder of this same sweep. Writes nothing."""
    from .outputs import check_output_dir, check_writable

    old = sweep_manifest(out)
    if old is None:
        check_output_dir(out, "sweep", replace=False)    # a sweep never replaces anything
        return
    if not resume:
        raise ScenarioError(out, "", "already holds the results of a sweep; pass --resume to continue it, "
                            "or choose another --out", kind="out_exists")
    if old.get("spec_sha256") != sw.spec_hash():
        raise ScenarioError(sw.file, "", f"is not the sweep whose results are in {out} (the sweep file, its "
                            "base scenario or their design changed); choose another --out", kind="resume_mismatch")
    check_writable(out)


def _prepare_out(sw: Sweep, out: Path, resume: bool) -> set[int]:
    """Create the output folder (checked by :func:`_check_out`); return the run ids already done."""
    import pyarrow.parquet as pq

    from .outputs import write_marker

    man_path = out / "manifest.json"
    if not man_path.exists():
        out.mkdir(parents=True, exist_ok=True)
        write_marker(out, "sweep", files=list(SWEEP_FILES), open_=True)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    (out / "series").mkdir(parents=True, exist_ok=True)
    for d in (out / "runs", out / "series", out):
        for tmp in d.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
    done: set[int] = set()
    runs_parts = _part_files(out / "runs")
    for f in runs_parts:
        done.update(pq.read_table(f, columns=["run_id"]).column("run_id").to_pylist())
    # a series part whose runs part never landed belongs to runs that will be run again
    names = {f.name for f in runs_parts}
    for f in _part_files(out / "series"):
        if f.name not in names:
            f.unlink()
    if not man_path.exists():
        _write_atomic(_design_table(sw), out / "design.parquet")
        if sw.file is not None:
            shutil.copyfile(sw.file, out / "sweep.toml")
        _write_json_atomic(sw.manifest(), man_path)
    return done


def sweep_manifest(out_dir: str | Path) -> dict | None:
    """The manifest of a sweep output folder, or None when ``out_dir`` holds no sweep."""
    try:
        man = json.loads((Path(out_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return man if isinstance(man, dict) and man.get("format") == FORMAT else None


def load_results(out_dir: str | Path, columns: list[str] | None = None):
    """The runs and series tables of a sweep output folder, as ``(runs_df, series_df)``.

    Rows are sorted by ``run_id`` (and series by run, series, month), whatever order the
    runs finished in; only whole part files are read.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    if sweep_manifest(out) is None:
        raise ScenarioError(out, "", "is not a sweep output folder (no sweep manifest.json); give the --out "
                            "folder of `rechain sweep`", kind="missing")

    def read(d: Path, schema, sort: list[str]) -> pd.DataFrame:
        parts = _part_files(d)
        if not parts:
            return schema.empty_table().to_pandas()
        cols = None if columns is None or d.name != "runs" else list(dict.fromkeys(["run_id", *columns]))
        tables = [pq.read_table(f, columns=cols) for f in parts]
        df = pa.concat_tables(tables, promote_options="default").to_pandas()
        return df.sort_values(sort, kind="stable").reset_index(drop=True)

    man = json.loads((out / "manifest.json").read_text())
    runs = read(out / "runs", _empty_runs_schema(man), ["run_id"])
    runs = runs.drop_duplicates("run_id", keep="first").reset_index(drop=True)
    series = read(out / "series", _series_schema(), ["run_id", "series", "month"])
    return runs, series


def _empty_runs_schema(man: dict):
    import pyarrow as pa
    t = _arrow_types()
    return pa.schema([pa.field("run_id", pa.int64()), pa.field("point_id", pa.int64()),
                      pa.field("replicate", pa.int32()), pa.field("seed", pa.int64())]
                     + [pa.field(p["name"], t[p["dtype"]]) for p in man["parameters"]]
                     + [pa.field(k, pa.float64()) for k in man["kpis"]]
                     + [pa.field("status", pa.string()), pa.field("error", pa.string())])


# ---------------------------------------------------------------------------------------
# executing a sweep
# ---------------------------------------------------------------------------------------
@dataclass
class SweepSummary:
    """What a call of :func:`execute` did."""
    out: Path
    n_runs: int
    skipped: int
    ran: int
    failed_now: int
    failed_total: int
    seconds: float
    workers: int
    backend: str
    first_result_s: float = float("nan")     # until the first batch came back (includes start-up)
    first_batch: int = 0

    @property
    def steady_runs_per_s(self) -> float:
        """Runs per second after the first batch came back (start-up excluded)."""
        dt_ = self.seconds - self.first_result_s
        return (self.ran - self.first_batch) / dt_ if dt_ > 0 and self.ran > self.first_batch else float("nan")

    @property
    def runs_per_s(self) -> float:
        return self.ran / self.seconds if self.seconds > 0 else float("nan")

    def text(self) -> str:
        s = (f"ran {self.ran} of {self.n_runs} runs in {self.seconds:.1f} s ({self.runs_per_s:.2f} runs/s, "
             f"{self.workers} worker(s), {self.backend})")
        if self.skipped:
            s += f"; {self.skipped} were already done"
        s += f"\nresults: {self.out / 'runs'}, {self.out / 'series'} (rechain.sweep.load_results)"
        if self.failed_total:
            s += (f"\n{self.failed_total} run(s) failed: see {self.out / 'errors.csv'} "
                  f"(or the status and error columns of {self.out / 'runs'})")
        else:
            s += "\nno run failed"
        return s


def _batches(sw: Sweep, todo: list[int], size: int) -> Iterator[list[tuple]]:
    for i in range(0, len(todo), size):
        chunk = []
        for rid in todo[i:i + size]:
            point, rep, seed, values = sw.run_of(rid)
            chunk.append((rid, point, rep, seed, values))
        yield chunk


class _LocalBackend:
    name = "local processes"

    def __init__(self, workers: int, ctx: _Context):
        import concurrent.futures as cf
        import multiprocessing as mp
        self.cf = cf
        # spawn, stated explicitly: `import mesa` makes it the default anyway, and fork after
        # threads (pyarrow, tqdm) is unsafe
        self.pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                           initializer=_init_worker, initargs=(ctx, os.getpid()))
        self.slots = workers
        self.pending: set = set()

    def submit(self, batch):
        fut = self.pool.submit(_run_batch, batch)
        self.pending.add(fut)
        return fut

    def next_done(self):
        done, _ = self.cf.wait(self.pending, return_when=self.cf.FIRST_COMPLETED)
        for fut in done:
            self.pending.discard(fut)
        return done

    def close(self, cancel: bool = False):
        if cancel:
            # stop the batches under way too (their runs are run again on --resume): waiting
            # for them would keep an interrupted or terminated sweep alive for a whole batch.
            # The pool's own process table is the one place that lists exactly its workers.
            for proc in list(getattr(self.pool, "_processes", {}).values()):
                proc.terminate()
        self.pool.shutdown(wait=True, cancel_futures=cancel)


#: seconds to wait for a Dask scheduler before saying it cannot be reached
SCHEDULER_CONNECT_S = 5


def _connect(client_class, address: str):
    """A Dask client of the scheduler at ``address``, or one line saying it cannot be reached."""
    try:
        return client_class(address, timeout=SCHEDULER_CONNECT_S)
    except ValueError as e:
        raise OptionError("--scheduler", address, f"is not a scheduler address ({e}); allowed: tcp://HOST:PORT "
                          "or local", kind="scheduler") from None
    except (OSError, TimeoutError) as e:
        why = f"no answer within {SCHEDULER_CONNECT_S} s" if "Timed out" in str(e) else str(e)
        raise OptionError("--scheduler", address, f"cannot reach a Dask scheduler there ({why}); start one "
                          "(`dask scheduler`) and give the address it prints, or use --scheduler local",
                          kind="scheduler") from None


class _DaskBackend:
    name = "dask"

    def __init__(self, address: str, workers: int, ctx: _Context):
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError:  # pragma: no cover - depends on the environment
            raise click.UsageError("--scheduler needs dask.distributed: pip install 'rechain[dask]'") from None
        self.cluster = None
        if address == "local":
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=":0")   # any free port: never clashes
            self.client = Client(self.cluster)
        else:
            self.client = _connect(Client, address)
        self.ctx = self.client.scatter(ctx, broadcast=True)
        self.ac = as_completed()
        self.name = f"dask {self.client.scheduler.address}"
        threads = sum(w.get("nthreads", 1) for w in self.client.scheduler_info().get("workers", {}).values())
        self.slots = max(1, threads)

    def submit(self, batch):
        fut = self.client.submit(_run_batch, batch, self.ctx, pure=False)
        self.ac.add(fut)
        return fut

    def next_done(self):
        return [next(self.ac)]

    def close(self, cancel: bool = False):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


class _SerialBackend:
    """Runs batches in this process, one by one (``workers=1``): no start-up cost, easy to debug."""
    name = "this process"

    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.slots = 1
        self.queue: list = []

    def submit(self, batch):
        self.queue.append(batch)

    def next_done(self):
        batch = self.queue.pop(0)
        return [_Done(_run_batch(batch, self.ctx))]

    def close(self, cancel: bool = False):
        self.queue.clear()


@dataclass
class _Done:
    value: Any

    def result(self):
        return self.value


def execute(sweep: str | Path | dict | Sweep, out: str | Path | None = None, workers: int | None = None,
            scheduler: str | None = None, resume: bool = False, batch_size: int | None = None,
            progress: bool = False, echo: Callable[[str], None] | None = None) -> SweepSummary:
    """Run a sweep into ``out`` and return what was done (no results are held in memory).

    ``workers=1`` runs in this process; more start a ``ProcessPoolExecutor`` (spawn);
    ``scheduler`` ("local" or a Dask scheduler address) sends the batches to Dask instead.
    """
    import pyarrow as pa
    from tqdm import tqdm

    sw = sweep if isinstance(sweep, Sweep) else load_sweep(sweep)
    out = Path(out) if out is not None else Path("outputs") / "sweeps" / sw.name
    workers = max(1, int(workers if workers is not None else (os.cpu_count() or 1)))
    _check_out(sw, out, resume)
    ctx = _context(sw)
    t0 = time.perf_counter()
    # the scheduler is reached before anything is written: an unreachable one leaves no folder
    backend: Any = _DaskBackend(scheduler, workers, ctx) if scheduler else None
    try:
        done = _prepare_out(sw, out, resume)
    except BaseException:
        if backend is not None:
            backend.close(cancel=True)
        raise
    todo = [i for i in range(sw.n_runs) if i not in done]
    skipped = sw.n_runs - len(todo)
    runs_schema, series_schema = _runs_schema(sw), _series_schema()

    failed_now = ran = first_n = 0
    first_s = float("nan")
    if backend is None:
        backend = _LocalBackend(workers, ctx) if workers > 1 and todo else _SerialBackend(ctx)
    n_parallel = backend.slots
    # a few batches per worker and at most 16 runs per batch: the progress bar moves, the
    # part files stay few, and a worker's start-up is shared by many runs
    size = batch_size or sw.batch_size or max(1, min(16, len(todo) // (4 * n_parallel) or 1))
    if echo:
        echo(f"{sw.name}: {sw.n_points} points x {sw.replicates} replicate(s) = {sw.n_runs} runs"
             + (f", {skipped} already done" if skipped else "") + f"; {backend.name}, batches of {size}")
    bar = tqdm(total=len(todo), unit="run", desc=sw.name, disable=not progress, dynamic_ncols=True,
               smoothing=0.1, file=sys.stderr)
    bar.set_postfix(failed=0)
    batches = _batches(sw, todo, size)
    window = 2 * n_parallel
    in_flight = 0
    cancelled = True
    try:
        for b in itertools.islice(batches, window):
            backend.submit(b)
            in_flight += 1
        while in_flight:
            for fut in backend.next_done():
                in_flight -= 1
                rows, series = fut.result()
                if not ran:
                    first_s, first_n = time.perf_counter() - t0, len(rows)
                name = f"part-{rows[0]['run_id']:09d}-{rows[-1]['run_id']:09d}.parquet"
                if series["run_id"]:
                    _write_atomic(pa.table(series, schema=series_schema), out / "series" / name)
                _write_atomic(pa.Table.from_pylist(rows, schema=runs_schema), out / "runs" / name)
                nf = sum(r["status"] != "ok" for r in rows)
                failed_now += nf
                ran += len(rows)
                bar.set_postfix(failed=failed_now, refresh=False)
                bar.update(len(rows))
                nxt = next(batches, None)
                if nxt is not None:
                    backend.submit(nxt)
                    in_flight += 1
        cancelled = False
    except BaseException as e:
        import concurrent.futures.process as cfp
        if isinstance(e, cfp.BrokenProcessPool):
            raise RuntimeError(f"a worker process died ({e}); the runs finished so far are in {out}; "
                               "run the sweep again with --resume to finish it") from None
        raise
    finally:
        bar.close()
        backend.close(cancel=cancelled)
    seconds = time.perf_counter() - t0
    failed_total = _write_errors(out)
    return SweepSummary(out=out, n_runs=sw.n_runs, skipped=skipped, ran=ran, failed_now=failed_now,
                        failed_total=failed_total, seconds=seconds, workers=n_parallel, backend=backend.name,
                        first_result_s=first_s, first_batch=first_n)


def _write_errors(out: Path) -> int:
    """Collect failed runs (all part files, one at a time) into errors.csv; return their number."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    failed = []
    for f in _part_files(out / "runs"):
        t = pq.read_table(f)
        t = t.filter(pc.not_equal(t.column("status"), "ok"))
        if t.num_rows:
            failed.append(t)
    path = out / "errors.csv"
    if not failed:
        path.unlink(missing_ok=True)
        return 0
    import pyarrow as pa
    df = pa.concat_tables(failed).to_pandas().sort_values("run_id").drop_duplicates("run_id")
    meta = json.loads((out / "manifest.json").read_text())
    cols = ["run_id", "point_id", "replicate", "seed", *[p["name"] for p in meta["parameters"]], "error"]
    tmp = path.with_name(f".{path.name}.tmp")
    df[cols].to_csv(tmp, index=False)
    os.replace(tmp, path)
    return len(df)


def run_sweep(path_or_spec: str | Path | dict | Sweep, workers: int | None = 1, out: str | Path | None = None,
              scheduler: str | None = None, resume: bool = False, batch_size: int | None = None,
              progress: bool = False):
    """Run a sweep and return its tables ``(runs_df, series_df)`` (see :func:`load_results`).

    Parameters
    ----------
    path_or_spec : a sweep TOML file, the same content as a dict (``base`` relative to the
        working directory), or a loaded :class:`Sweep`.
    workers : processes to use (1: in this process).
    out : output folder (default ``outputs/sweeps/<name>``); it must be new or empty unless
        ``resume`` is true.
    scheduler : "local" or a Dask scheduler address, to run the batches on Dask.
    resume : skip the runs already in ``out``.

    Examples
    --------
    >>> runs, series = run_sweep("scenarios/sweeps/policy_grid.toml", workers=2,
    ...                          out="outputs/sweeps/policy_grid")      # doctest: +SKIP
    >>> runs.groupby("approval_rate")["exports_2025_t"].mean()          # doctest: +SKIP
    """
    summary = execute(path_or_spec, out=out, workers=workers, scheduler=scheduler, resume=resume,
                      batch_size=batch_size, progress=progress)
    return load_results(summary.out)


# ---------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------
class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a sweep stops as it does on Ctrl-C."""


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """While the block runs, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt):
    finished batches are kept, workers are stopped, and the sweep can be resumed."""
    import signal

    def handler(signum, frame):
        raise Terminated()

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:          # not the main thread: leave SIGTERM as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="worker processes (default: the number of CPUs; 1 runs in this process)")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="run on Dask: a scheduler address (tcp://host:8786) or 'local' for a local cluster")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="output folder (default outputs/sweeps/<sweep name>)")
@click.option("--resume", is_flag=True, help="continue an interrupted sweep in --out, skipping finished runs")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="runs per task (default: automatic)")
@click.option("--quiet", is_flag=True, help="no progress bar")
def sweep_command(sweep_file: Path, workers: int | None, scheduler: str | None, out_dir: Path | None,
                  resume: bool, batch_size: int | None, quiet: bool) -> None:
    """Run the batch sweep SWEEP_FILE: many runs of a scenario over a design of parameters.

    Results stream to OUT/runs/ and OUT/series/ (Parquet, one file per finished batch);
    analyse them with `rechain analyze OUT`.
    """
    sw = load_sweep(sweep_file)
    out = out_dir or Path("outputs") / "sweeps" / sw.name
    try:
        with _sigterm_as_interrupt():
            summary = execute(sw, out=out, workers=workers, scheduler=scheduler, resume=resume,
                              batch_size=batch_size, progress=not quiet, echo=None if quiet else click.echo)
    except KeyboardInterrupt as e:
        what = "terminated" if isinstance(e, Terminated) else "interrupted"
        click.echo(f"\n{what}: the runs finished so far are in {out}; continue with "
                   f"`rechain sweep {sweep_file} --out {out} --resume`", err=True)
        sys.exit(143 if isinstance(e, Terminated) else 130)
    click.echo(summary.text())
    if not quiet:
        click.echo(f"next: rechain analyze {summary.out}")
