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

Python API: :func:`run_sweep`, :func:`execute`, :func:`load_sweep`, and
:func:`~rechain.experiments.store.load_results`. The pieces live beside this module:
:mod:`.paths` (key paths), :mod:`.designs` (the designs), :mod:`.executor` (serial, local
processes or Dask), :mod:`.runs` (one run of a point), :mod:`.store` (the Parquet folder)
and :mod:`.functions` (the model as a plain function, for EMA Workbench and SALib).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import click
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config.errors import did_you_mean, reached_through
from ..config.schema import NAME_ALLOWED, folder_safe, stem_unfit
from ..options import NonEmptyPath, WholeNumber
from ..report import FLOW_VARIABLES, LEVEL_VARIABLES, MAGNETS, forms_of
from ..config.errors import _TYPE_ALLOWED
from ..accounting import RunBrokeDown
from ..config.loading import as_path
from ..scenario import STAGES, ScenarioError, _find_line, _inner_model, read_text_file, read_toml_file, scenario_data, \
    scenario_from_dict
from . import designs
from .designs import DESIGNS, DesignError, Parameter, _dtype_of, _value_key, finite_number
from .executor import (MAX_WORKERS, ClusterLost, DaskExecutor, batches, check_count, exit_stopped, open_executor,
                       sigterm_as_interrupt)
from .executor import batch_size as executor_batch_size
from ..config.errors import _bare_or_quoted
from .paths import (PathError, _plain, _step, _toml, assign, canonical_path, format_path, is_unset_entry, lookup,
                    parse_path, unquoted_key_hint)
from .runs import Context, PointSource, point_data, point_source, run_batch, series_at
from .store import (FORMAT, KEPT_RESUME, RUN_COLUMNS, STATUS_COLUMNS, _check_out, _part_files, _prepare_out, folder_lock,
                    _runs_schema, _series_schema, _write_errors, load_results, raise_if_unwritable, write_part)

__all__ = ["Sweep", "Parameter", "load_sweep", "run_sweep", "execute", "run_seed", "available_kpis",
           "SweepSummary", "sweep_command", "SERIES_VARIABLES"]

#: the most runs a sweep may have (run ids, seeds and the store are sized for it)
MAX_RUNS = 50_000_000
#: the most design points a sweep builds: the design is held in memory (about 0.7 kB a point
#: with two parameters), and a bigger one would exhaust a laptop before any check or output
MAX_POINTS = 2_000_000

#: monthly variables of :func:`rechain.report.monthly_table` a sweep can keep as series (every
#: variable a run writes, read as validate reads them: flows summed, levels averaged)
SERIES_VARIABLES = FLOW_VARIABLES + LEVEL_VARIABLES

#: keys that label or annotate a scenario (or name the facts ``validate`` reads): a sweep over
#: them would run the same model under other labels
NOT_INPUTS = frozenset({"name", "description", "question", "source", "facts_file"})


# ---------------------------------------------------------------------------------------
# the sweep file
# ---------------------------------------------------------------------------------------
class _Spec(BaseModel):
    # types taken as written, as in a scenario: replicates = "2" or root_seed = true is an error
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


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
    #: what a run keeps: None for the KPIs, or a module-level ``f(monthly, scenario, seed) -> dict``
    #: of the outputs named in ``kpis`` (``rechain calibrate`` keeps fact values)
    measure: Callable[..., dict[str, float]] | None = None
    #: True: replicate ``r`` of every point runs with the same seed (common random numbers),
    #: child ``r`` of the root seed; False: each run its own child
    common_seeds: bool = False
    #: the base as its files write it, each point built as a what-if of it (None: assigned onto ``base``)
    source: "PointSource | None" = None
    #: points given before the design's own (``rechain calibrate``'s candidate 0, the scenario's
    #: own values, ahead of its Latin hypercube); the manifest says so, for ``analyze``
    leading_points: int = 0

    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replicates

    def problem(self) -> dict:
        """The SALib problem dict of the sweep's parameters."""
        return designs.problem(self.parameters)

    def run_of(self, run_id: int) -> tuple[int, int, int, dict]:
        """(point_id, replicate, seed, parameter values) of run ``run_id``."""
        point, rep = divmod(run_id, self.replicates)
        return point, rep, run_seed(self.root_seed, rep if self.common_seeds else run_id), self.points[point]

    def spec_hash(self) -> str:
        """SHA-256 of what determines the results: base scenario, parameters, design, seeds, outputs."""
        blob = {"base": self.base, "parameters": [p.describe() for p in self.parameters],
                "design": self.design, "samples": self.samples, "replicates": self.replicates,
                "root_seed": self.root_seed, "kpis": self.kpis, "series": self.series,
                "points": self.points, "second_order": self.second_order, "morris_levels": self.morris_levels}
        if self.measure is not None:
            blob["measure"] = f"{self.measure.__module__}.{self.measure.__qualname__}"
        if self.common_seeds:
            blob["common_seeds"] = True
        return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()

    def manifest(self) -> dict:
        from ..outputs import code_fingerprint
        from ..results import package_version
        seeds = "replicate" if self.common_seeds else "run_id"
        return {"format": FORMAT, "name": self.name, "description": self.description,
                "sweep_file": str(self.file) if self.file else None, "base_file": str(self.base_file),
                "design": self.design, "samples": self.samples, "replicates": self.replicates,
                "root_seed": self.root_seed, "n_points": self.n_points, "n_runs": self.n_runs,
                "second_order": self.second_order, "morris_levels": self.morris_levels,
                "parameters": [p.describe() for p in self.parameters], "problem": self.problem(),
                **({"leading_points": self.leading_points} if self.leading_points else {}),
                "kpis": self.kpis, "series": self.series, "spec_sha256": self.spec_hash(),
                "rechain_version": package_version(), "rechain_code_sha256": code_fingerprint(),
                "python": sys.version.split()[0],
                "seeds": f"numpy.random.SeedSequence(root_seed).spawn(n)[{seeds}], "
                         "63 bits of generate_state(1, uint64)"}


def run_seed(root_seed: int, run_id: int) -> int:
    """The seed of run ``run_id``: child ``run_id`` of ``SeedSequence(root_seed).spawn(n)``.

    Computed without spawning the others (a spawned child is ``SeedSequence(entropy,
    spawn_key=(i,))``), as a non-negative 63-bit integer for ``mesa.Model(seed=...)``.
    """
    import numpy as np
    ss = np.random.SeedSequence(root_seed, spawn_key=(run_id,))
    return int(ss.generate_state(1, dtype=np.uint64)[0]) & (2**63 - 1)


def _err(file, key: str, msg: str, kind: str, needle: str | None = None, loc: list | None = None) -> ScenarioError:
    line = None
    if file is not None and Path(file).exists():
        if needle:
            line = _line_of(Path(file), needle)
        if line is None and loc:
            line = _find_line(Path(file), loc)
    return ScenarioError(file, key, msg, line=line, kind=kind)


def _line_of(path: Path, needle: str) -> int | None:
    """The line that sets ``needle`` as a key (``needle = ...``, ``"needle" = ...`` or a table
    ``[parameters.needle]``), else the first that holds it (a parameter ``r`` was placed on
    the first line with an r in it)."""
    try:
        lines = [line.split("#", 1)[0] for line in
                 path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return None
    for i, code in enumerate(lines, 1):
        key = code.split("=", 1)[0].strip() if "=" in code else code.strip().strip("[]").rpartition(".")[2]
        if key.strip().strip('"\'') == needle:
            return i
    # then the line that gives it as a whole value ("prnd_oxid", not the kpis line holding
    # "price_mean_prnd_oxide"), then any that holds it
    for i, code in enumerate(lines, 1):
        if f'"{needle}"' in code or f"'{needle}'" in code:
            return i
    for i, code in enumerate(lines, 1):
        if needle in code:
            return i
    return None


def _points_said_once(errors: list[dict], given: Any, path: Path | None) -> tuple[list[dict], list[ScenarioError]]:
    """``points`` is text or a list: pydantic tries both and reports each failure, so one
    mistake read as two lines, one of them wrong ("allowed: text in quotes" for a list). A
    list keeps its own items' errors; anything else is one error naming both forms."""
    mine = [err for err in errors if tuple(err["loc"][:1]) == ("points",)]
    if not mine:
        return errors, []
    rest = [err for err in errors if tuple(err["loc"][:1]) != ("points",)]
    if isinstance(given, list):
        return rest + [err for err in mine if not (len(err["loc"]) == 2 and err["loc"][1] == "str")], []
    return rest, [_err(path, "points", f"given {_toml(given)}; allowed: a CSV file's name in quotes (points = "
                       f"\"points.csv\", relative to the sweep file) or a list of tables, one per run (points = "
                       f"[{{ key = value, ... }}, ...])", "type", needle="points")]


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
        return _err(path, key, f"unknown key{did_you_mean(loc[-1], allowed)}; allowed here: "
                    f"{', '.join(sorted(allowed))}", "unknown_key", loc=loc)
    if typ == "missing":
        return _err(path, key, "required key is missing", "missing_key", loc=loc)
    if typ == "literal_error":
        return _err(path, key, f"given {_toml(given)}; {err['msg'].lower()}", "not_allowed", loc=loc)
    if typ.startswith(("greater", "less")):
        # in a scenario's words (">= 1"), not pydantic's ("input should be greater than or equal to 1")
        ctx = err.get("ctx") or {}
        bound = " and ".join(f"{sym} {ctx[k]}" for k, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
                             if k in ctx) or err["msg"].lower()
        return _err(path, key, f"given {_toml(given)}; allowed: {bound}", "out_of_range", loc=loc)
    # in the words of a scenario's messages
    allowed = _TYPE_ALLOWED.get(typ.split("_")[0])
    if allowed is not None:
        return _err(path, key, f"given {_toml(given)}; allowed: {allowed}", "type", loc=loc)
    return _err(path, key, f"given {_toml(given)}; {err['msg']}", "type", loc=loc)


def _check_clashes(swept: list[Parameter], base: dict, overrides: dict, file: Path | None, found: "_Found",
                   where: str, others: list[Parameter] | None = None) -> None:
    """Each of ``swept`` (parameters, or a table's columns) that sets a value another of
    ``others`` (default: ``swept``) also sets — one value by two paths (an item by name and by
    index), or a key within a table another sets whole — or that ``[overrides]`` also sets:
    the runs would use one, and the other's column hold values never applied."""
    others = swept if others is None else others
    paths = {p.name: canonical_path(base, p.tokens) for p in [*swept, *others]}
    # a table's value (behaviour = { w_news = 1.0 }) merges into the base's table: it sets the
    # keys it holds, not the whole table
    leaves = {p.name: _keys_set(paths[p.name], p.tokens, p.levels) for p in [*swept, *others]}

    def within(a: str, b: str) -> bool:
        return a == b or a.startswith(b + ".") or b.startswith(a + ".")

    def clash(p: Parameter, q: Parameter) -> str | None:
        """The key both set (the longer of the two paths), or None."""
        return next((max(a, b, key=len) for a, _ in leaves[p.name] for b, _ in leaves[q.name] if within(a, b)), None)

    told: set[frozenset] = set()             # a pair is one mistake, told once
    for p in swept:
        with found:
            other, key = next(((q, k) for q in others if q.name != p.name
                               and frozenset((p.name, q.name)) not in told and (k := clash(p, q))), (None, None))
            if other is not None:
                told.add(frozenset((p.name, other.name)))
                same = f" (as {other.name!r} too)" if other.path == p.path else \
                    f" (parameter {other.name!r} reaches it as {other.path})"
                raise _err(file, f"{where}.{p.name}", f"path {key} is swept twice{same}; allowed: each "
                           f"key by one parameter or column", "invalid", needle=p.name)
        with found:
            # the swept values replace the override in every run: one of the two is a mistake
            if any(_overridden(overrides, tokens) for _, tokens in leaves[p.name]):
                raise _err(file, f"{where}.{p.name}", f"{p.path} is swept and also set in [overrides]; the "
                           f"swept values would replace the override in every run; allowed: the key in one of "
                           f"the two", "invalid", needle=p.name)


def _keys_set(path: str, tokens: tuple, levels: list | None) -> list[tuple[str, tuple]]:
    """The keys a parameter sets, as (path, tokens): its own, or, where every level is a table
    (merged into the base's), each key those tables hold, however deep."""
    if not levels or not all(isinstance(v, dict) for v in levels):
        return [(path, tokens)]
    out: dict[str, tuple] = {}

    def walk(value: dict, at: str, toks: tuple) -> None:
        for k, v in value.items():
            if isinstance(v, dict) and v:
                walk(v, f"{at}.{k}", (*toks, k))
            else:
                out[f"{at}.{k}"] = (*toks, k)

    for level in levels:
        walk(level, path, tuple(tokens))
    return list(out.items()) or [(path, tokens)]


def _overridden(overrides: dict, tokens: tuple) -> bool:
    """Whether ``[overrides]`` (a what-if's nested tables) sets the key at ``tokens``, or a
    table holding it or within it (a path through a list item is not followed)."""
    cur: Any = overrides
    for t in tokens:
        if not (isinstance(cur, dict) and isinstance(t, str) and t in cur):
            return False
        cur = cur[t]
    return True


def _base_dict(base_path: Path, overrides: dict, sweep_path: Path | None) -> dict:
    """The base scenario with overrides, validated, as a plain dict (defaults filled in)."""
    try:
        data, files, _dropped = scenario_data(base_path, overrides)
    except ScenarioError as e:
        # a base that cannot be read or merged: say which sweep names it
        raise e if sweep_path is None else reached_through(e, sweep_path, "the base of") from None
    try:
        sc = scenario_from_dict(data, base_path, files)
    except ScenarioError as e:
        if not overrides:
            raise e if sweep_path is None else reached_through(e, sweep_path, "the base of") from None
        # every mistake at once, each at the override's own line where it sets the key
        raise ScenarioError.of([_err(sweep_path, "overrides", f"the base scenario with these overrides is invalid: "
                                     f"{one.key}: {one.detail}", "invalid", loc=["overrides", *one.key.split(".")])
                                for one in e.errors]) from None
    return _plain(sc.model_dump(mode="python"))


def available_kpis(base: dict) -> list[str]:
    """KPI names :func:`rechain.report.kpis` gives for a scenario of this period.

    Worked out by calling ``kpis`` on a small synthetic monthly table that has every
    variable it reads, so the names follow the report module.
    """
    import pandas as pd

    from ..calendar import Calendar
    from ..materials import PRODUCTS
    from ..report import kpis

    months = list(Calendar.build(base["start"], base["end"], holidays=None if base.get("holidays", True) else {}).months)
    # what the scenario trades abroad: export prices per product, oxides and metal exported
    # and short abroad (the key figures a run gives only where that trade exists)
    abroad: dict[str, set[str]] = {}
    for name, region in (base.get("regions") or {}).items():
        bought = set((region or {}).get("materials_t_per_yr") or {})
        if (region or {}).get("demand_t_per_yr"):
            bought |= set(MAGNETS)
        abroad[name] = bought
    rows = []
    for mo in months:
        for p in PRODUCTS:
            rows.append((mo, "market", p, "china", "price", 1.0))
        for name, bought in abroad.items():
            for p in sorted(bought):
                rows.append((mo, "market", p, name, "price", 1.0))
                if p not in MAGNETS:
                    rows += [(mo, "separation_plants", p, name, "exports", 1.0),
                             (mo, "overseas_buyers", p, name, "shortfall", 1.0)]
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
    end = base["end"] if isinstance(base["end"], dt.date) else dt.date.fromisoformat(str(base["end"]))
    return list(kpis(df, None, end))


def _check_value(base: dict, p: Parameter, value: Any, file: Path | None, what: str,
                 source: PointSource | None = None) -> None:
    """Raise ScenarioError if setting ``p`` to ``value`` alone makes the base scenario invalid
    (the point built as a run builds it, :func:`~.runs.point_data`)."""
    d = point_data(base, source, [(p.tokens, value)])
    try:
        scenario_from_dict(d)
    except ScenarioError as e:
        raise _err(file, f"parameters.{p.name}", f"{what} {_toml(value)} does not give a valid scenario: "
                   f"{e.key}: {e.detail}", "out_of_range", needle=p.name) from None


def _parameter(name: str, entry: dict, base: dict, file: Path | None, design: str,
               source: PointSource | None = None, check_levels: bool = True) -> Parameter:
    """A declared parameter (or a points table's column), its levels or range checked
    against the base one value at a time (``check_levels`` False: a table's column, whose
    values are judged with the rest of their row, :func:`_table_points`)."""
    key = f"parameters.{name}"
    if not isinstance(entry, dict):
        raise _err(file, key, f"given {_toml(entry)}; a parameter is {{min = ..., max = ...}} or {{levels = [...]}}, "
                   "with an optional path = \"...\"", "type", needle=name)
    allowed = {"path", "min", "max", "levels"}
    extra = set(entry) - allowed
    hint = unquoted_key_hint(name, entry, allowed)
    if hint:
        raise _err(file, key, f"given a table, not a parameter{hint}", "type", needle=name)
    if extra:
        bad = sorted(extra)[0]
        raise _err(file, f"{key}.{bad}", f"unknown key{did_you_mean(bad, sorted(allowed))}; a parameter is "
                   f"{{min = ..., max = ...}} or "
                   f"{{levels = [...]}}, with an optional path = \"...\"", "unknown_key", needle=bad)
    path = entry.get("path", name)
    if not isinstance(path, str):
        raise _err(file, f"{key}.path", f"given {_toml(path)}; allowed: a key path in quotes", "type", needle=name)
    try:
        tokens = parse_path(path)
        # an entry the base leaves unset (a per-product table's missing product) is added
        base_value = None if is_unset_entry(base, tokens) else lookup(base, tokens)
    except PathError as e:
        raise _err(file, key, f"{path!r} is not a key of the base scenario: {e}", "unknown_parameter",
                   needle=name) from None
    if tokens[-1] in NOT_INPUTS:
        raise _err(file, key, f"{path!r} is a label or a note ({', '.join(sorted(NOT_INPUTS))} change no run); "
                   f"allowed: a key that is an input of the run (docs/scenarios.md)", "unknown_parameter", needle=name)
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
        if nums and not (finite_number(lo) and finite_number(hi)):
            raise _err(file, key, f"min and max must be finite numbers, got {_toml(lo)} and {_toml(hi)}",
                       "out_of_range", needle=name)
        if dates and any(isinstance(v, dt.datetime) for v in (lo, hi)):
            raise _err(file, key, "min and max must be dates (YYYY-MM-DD), not date-times", "type", needle=name)
        if not lo < hi:
            raise _err(file, key, f"given min {_toml(lo)} and max {_toml(hi)}; allowed: a min below the max (one "
                       f"value for every run: levels = [{_toml(lo)}], or the value in overrides)", "out_of_range",
                       needle=name)
        # an optional key left unset (None) takes a range of either kind: validation judges the values
        if base_value is not None and (isinstance(base_value, bool) or not isinstance(base_value, (int, float, dt.date))
                                       or isinstance(base_value, dt.date) != dates):
            raise _err(file, key, f"{path} is {_toml(base_value)} in the base scenario; a "
                       f"{'date' if dates else 'numeric'} range cannot replace it (use levels = [...])",
                       "type", needle=name)
        if design in ("grid", "table"):
            needs = ("levels = [...] for every parameter" if design == "grid" else
                     "its points (points = \"file.csv\" or an inline list of tables); a parameter declared for it "
                     "gives the levels = [...] a column may take")
            raise _err(file, key, f"a {design} design needs {needs}; min/max are for lhs, sobol and morris", "design",
                       needle=name)
        dtype = "date" if dates else ("int" if isinstance(base_value, int) else "float")
        p = Parameter(name, path, tokens, "range", min=lo, max=hi, dtype=dtype, base_value=base_value)
        for what, v in (("min", p.from_unit(p.bounds()[0])), ("max", p.from_unit(p.bounds()[1]))):
            _check_value(base, p, v, file, what, source)
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
        raise _err(file, f"{key}.levels", f"given {_toml(levels)}; allowed: a non-empty list of values", "type",
                   needle=name)
    seen = [_value_key(v) for v in levels]
    if len(set(seen)) < len(seen):
        dup = next(v for v, k in zip(levels, seen) if seen.count(k) > 1)
        raise _err(file, f"{key}.levels", f"level {_toml(dup)} is given twice", "invalid", needle=name)
    p = Parameter(name, path, tokens, "levels", levels=list(levels), dtype=_dtype_of(levels), base_value=base_value)
    if not check_levels:
        return p
    bad = []
    for v in levels:                    # every bad level told, not the first alone
        try:
            _check_value(base, p, v, file, "level", source)
        except ScenarioError as e:
            bad.append(e)
    if bad:
        raise ScenarioError.of(bad)
    return p


def _table_points(spec: SweepFile, file: Path | None, params: dict[str, Parameter], base: dict,
                  source: PointSource | None = None) -> tuple[list[Parameter], list[dict]]:
    if spec.points is None:
        raise _err(file, "points", "a table design runs the points of a table: points = \"file.csv\" or an inline "
                   "list of tables, one per run ([parameters] may declare the levels a column may take)",
                   "missing_key", needle="design")
    lines: list[int] = []          # each CSV row's line in its file, for messages
    if isinstance(spec.points, str):
        folder = file.parent if file else Path.cwd()
        csv_path = folder / spec.points
        if "\0" in spec.points:
            raise _err(file, "points", f"given {spec.points!r}, a path with a NUL character; allowed: a CSV "
                       "file's path relative to the sweep file", "invalid", needle="points")
        try:     # a spreadsheet's byte-order mark is no header; a stray byte is named with its line
            text = read_text_file(csv_path, "a table of points (.csv, UTF-8)")
        except ScenarioError as e:
            err = e.errors[0]
            line = f", line {err.line}" if err.line else ""
            raise _err(file, "points", f"{spec.points!r}{line}: {err.detail} (read relative to the "
                       f"sweep file's folder, {folder})",
                       "missing", needle="points") from None
        try:
            columns, rows = designs.table_rows(text, spec.points, lines)
        except DesignError as e:
            raise _err(file, "points", str(e), "invalid", needle="points") from None
    else:
        rows = [dict(r) for r in spec.points]
        columns = list(dict.fromkeys(k for r in rows for k in r))
    if not rows:
        table = f"{spec.points!r}" if isinstance(spec.points, str) else "the inline points"
        raise _err(file, "points", f"{table} holds no points; allowed: at least one point (a row under the header, "
                   f"or a table in the list), one per run", "invalid", needle="points")
    for i, r in enumerate(rows):
        missing = [c for c in columns if c not in r]
        if missing:
            raise _err(file, f"points[{i}]", f"lacks {', '.join(map(repr, missing))}; allowed: every point sets every "
                       f"column the others set", "missing_key", needle="points")
    order: list[Parameter] = []
    found = _Found()       # every column's first bad value, said together
    for c in columns:
        with found:
            p = _table_column(c, rows, spec, file, params, base, source, lines)
            order.append(p)
    unused = [n for n in params if n not in columns]
    for n in unused:
        with found:
            raise _err(file, f"parameters.{n}", "is declared but is not a column of the points table", "invalid",
                       needle=n)
    found.raise_any()
    # every row is judged whole before any run: a value that is no setting alone may be one with
    # its row (buy_below_share 1.3 beside sell_above_share 1.5), and values each valid alone may
    # fail together (a start after the row's end). A row's every mistake is told at the column it
    # lies in (a check across keys at the key it names, else the row's first column); each
    # column at its first row that fails
    told: set[str] = set()
    for i, r in enumerate(rows):
        data = None
        try:
            data = point_data(base, source, [(q.tokens, r[q.name]) for q in order])
            scenario_from_dict(data)
            continue
        except ScenarioError as e:
            mistakes = e.errors
        at = {q.name: _column_key(q.tokens, data) for q in order}
        for one in mistakes:
            key = one.key.split(" (item ")[0]
            within = [q for q in order if _under(key, at[q.name])]
            table = [q for q in order if _under(at[q.name], key.rsplit(".", 1)[0])] if "." in key else []
            column = max(within, key=lambda q: len(at[q.name])) if within else (table or order)[0]
            if column.name not in told:
                found.errors += _row_error(spec, file, column, r, i, lines, one).errors
                told.add(column.name)
    found.raise_any()
    return order, [{p.name: r[p.name] for p in order} for r in rows]


def _row_error(spec: SweepFile, file: Path | None, p: Parameter, r: dict, i: int, lines: list[int],
               one: ScenarioError) -> ScenarioError:
    return _err(file, f"points.{_shown(p.name)}", f"value {_toml(r[p.name])} (in {_point_place(spec, i, lines)}) does not "
                f"give a valid scenario: {one.key}: {one.detail}", "out_of_range", needle="points")


def _shown(column: str) -> str:
    """A points table's column as messages name it: as given, or, where it holds a character
    beyond printable ASCII (a Cyrillic e, a zero-width space), as the quoted TOML key with that
    character written out."""
    return column if all(32 <= ord(ch) < 127 for ch in column) else _bare_or_quoted(column)


def _under(key: str, path: str) -> bool:
    """Whether the key path ``key`` is ``path`` or lies within it (list items by position)."""
    return key == path or key.startswith((f"{path}.", f"{path}["))


def _column_key(tokens: tuple, data: dict | None) -> str:
    """A column's key path as an error names it, list items by position (``export_controls[1]
    .end`` for ``export_controls[B].end``): a named item's position is read in the row's
    scenario ``data`` (the rest of a path the data lacks is kept as given)."""
    done: list = []
    for t in tokens:
        try:
            data, at = _step(data, t, done)
        except PathError:
            return format_path([*done, *tokens[len(done):]])
        done.append(at)
    return format_path(done)


def _point_place(spec: SweepFile, i: int, lines: list[int]) -> str:
    """Where point ``i`` (from 0) of a points table is: its table, its number and, in a CSV,
    its line."""
    if not isinstance(spec.points, str):
        return f"the inline points, point {i + 1}"
    return f"{spec.points}, point {i + 1}" + (f", line {lines[i]}" if i < len(lines) else "")


def _table_column(c: str, rows: list[dict], spec: SweepFile, file: Path | None, params: dict[str, Parameter],
                  base: dict, source: PointSource | None, lines: list[int]) -> Parameter:
    """Column ``c`` of a points table as a parameter (its values put in ``rows`` as they will
    be set; :func:`_table_points` judges them with their rows); raises :class:`ScenarioError`
    for a column that is no key, or a value outside a declared parameter's levels."""
    # a whole number written by a spreadsheet as 4.0 is the whole number 4 where the key holds one
    if c not in params and _holds_int(base, c):
        for r in rows:
            if isinstance(r[c], float) and r[c].is_integer():
                r[c] = int(r[c])
    if c in params:
        p = params[c]
        allowed = {_value_key(v): v for v in p.levels}
        for i, r in enumerate(rows):
            if _value_key(r[c]) not in allowed:
                where = f" (in {_point_place(spec, i, lines)})" if isinstance(spec.points, str) \
                    else f" (point {i + 1})"
                raise _err(file, f"points.{_shown(c)}", f"value {_toml(r[c])}{where} is not one of the parameter's levels "
                           f"{_toml(p.levels)}", "out_of_range", needle="points")
            r[c] = allowed[_value_key(r[c])]
        return p
    levels = list({_value_key(r[c]): r[c] for r in rows}.values())
    try:
        p = _parameter(c, {"levels": levels}, base, file, "table", source, check_levels=False)
    except ScenarioError as e:
        raise _column_error(e, spec, file, c) from None
    return p                        # its values are judged with their rows (:func:`_table_points`)


def _column_error(e: ScenarioError, spec: SweepFile, file: Path | None, column: str) -> ScenarioError:
    """A table column that is no key of the base, named by the points table (the CSV, or the
    inline list); its values are judged with their rows (:func:`_table_points`)."""
    table = f"{spec.points}" if isinstance(spec.points, str) else "the inline points"
    if e.kind == "unknown_parameter":
        shown = _shown(column)
        return _err(file, f"points.{shown}", f"column {shown if shown != column else repr(column)} of {table}: not a "
                    f"key of the base scenario "
                    f"({e.detail.split(': ', 1)[-1]})", e.kind, needle="points")
    return e


def _holds_int(base: dict, path: str) -> bool:
    try:
        value = lookup(base, parse_path(path))
    except PathError:
        return False
    return isinstance(value, int) and not isinstance(value, bool)


def _design(spec: SweepFile, file: Path | None, params: list[Parameter]
            ) -> tuple[list[dict], list[list[float]] | None]:
    design, N = spec.design, spec.samples
    if design == "grid":
        return designs.grid(params), None
    if not params:
        raise _err(file, "parameters", f"a {design} design needs at least one parameter", "design", needle="design")
    if N is None:
        raise _err(file, "samples", f"a {design} design needs samples = N", "missing_key", needle="design")
    try:
        return designs.sample(design, params, N, spec.root_seed, second_order=spec.second_order,
                              morris_levels=spec.morris_levels)
    except ValueError as e:
        raise _err(file, "samples", str(e), "design", needle="samples") from None


def _check_outputs(spec: SweepFile, file: Path | None, base: dict, sc_names: dict, found: "_Found"
                   ) -> tuple[list[str], list[dict]]:
    """The KPIs and series a sweep keeps; their mistakes go to ``found``."""
    known = available_kpis(base)
    if spec.outputs.kpis == [] and not spec.outputs.series:
        with found:
            raise _err(file, "outputs.kpis", "given an empty list and no series: the sweep would keep nothing of its "
                       "runs; allowed: KPI names (leave the key out for all of them), or series to keep",
                       "invalid", needle="kpis")
    if spec.outputs.kpis is None:
        kpis = known
    else:
        kpis = list(dict.fromkeys(spec.outputs.kpis))
        for k in kpis:
            if spec.outputs.kpis.count(k) > 1:
                with found:        # as two series of one selection are
                    raise _err(file, "outputs.kpis", f"given {k!r} twice; allowed: each KPI once", "invalid", needle=k)
            if k not in known:
                with found:
                    raise _err(file, "outputs.kpis", f"unknown KPI {k!r}{did_you_mean(k, known)}; KPIs for a run of "
                               f"{base['start']}..{base['end']}: {', '.join(known)}", "unknown_kpi", needle=k)
        kpis = [k for k in kpis if k in known]
    series = []
    for i, s in enumerate(spec.outputs.series):
        with found:
            series.append(_series_spec(i, s, file, sc_names))
    labels = [s["name"] for s in series]
    with found:
        twice = next((n for n in labels if labels.count(n) > 1), None)
        if twice is not None:
            a, b = [s for s in series if s["name"] == twice][:2]
            same = all(a[k] == b[k] for k in ("variable", "stage", "product", "region"))
            raise _err(file, "outputs.series", "two series have the same selection; keep one" if same else
                       f"name {twice!r} is given to two series; give each its own name = ...", "invalid",
                       needle="series")
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
        from ..config.loading import MAX_ERRORS_LISTED, _told
        if self.errors:
            # beyond the first hundred, one line says how many more, as for a scenario file
            unique = ScenarioError.of(self.errors).errors if len(self.errors) > 1 else self.errors
            raise _told(unique[:MAX_ERRORS_LISTED], unique[0].file, max(len(unique) - MAX_ERRORS_LISTED, 0))


def _check_series_on_outline(series: list[dict], base: dict, file: Path | None) -> None:
    """Each series read on the rows the base's run will have before any run: a selection that
    makes no one series is refused with its reason, as validate and ``RunResult.series``
    refuse it. The levels are read on the model as built (:func:`~.validate.outline_table`);
    flows appear once something flows, so a series of flows is read on the base's first
    :data:`FIRST_WEEKS` weeks, and refused only for the rows there (tonnes of two forms left
    open): a selection of rows that come later is checked in each run."""
    from ..model import ChainModel
    from ..report import monthly_table, series_of
    model = ChainModel(scenario_from_dict(base), seed=0, check_balance=False)
    table = monthly_table(model)
    have = set(table["variable"])
    flows = [spec for spec in series if spec["variable"] in FLOW_VARIABLES]
    found = _Found()
    for spec in series:
        if spec["variable"] in have:
            with found:
                try:
                    series_at(table, spec, str(file) if file else None)
                except ScenarioError as e:
                    raise _err(file, "outputs.series", e.detail, "invalid", needle="series") from None
    if flows:
        try:
            for _ in range(min(FIRST_WEEKS, model.world.calendar.n_weeks)):
                model.step()
        except RunBrokeDown:      # the runs will say so, each
            flows = []
        table = monthly_table(model)
    for spec in flows:
        with found:
            try:
                series_of(table, spec["variable"],
                          **{k: spec[k] for k in ("stage", "product", "region") if spec.get(k) is not None})
            except ValueError as e:
                raise _err(file, "outputs.series", f"{spec['name']!r}: {str(e).removeprefix('series: ')}",
                           "invalid", needle="series") from None
    found.raise_any()


#: weeks of the base run whose flows a sweep's series of flows are read on before the runs
FIRST_WEEKS = 8


def _series_spec(i: int, s: SeriesSpec, file: Path | None, sc_names: dict) -> dict:
    """One checked ``[[outputs.series]]`` entry as a dict with its label."""
    key = f"outputs.series[{i}]"
    stages = set(STAGES) | {"market"}
    if s.variable not in SERIES_VARIABLES:
        hint = did_you_mean(s.variable, SERIES_VARIABLES)
        raise _err(file, f"{key}.variable", f"unknown variable {s.variable!r}{hint}; allowed: "
                   f"{', '.join(SERIES_VARIABLES)}", "not_allowed", needle=s.variable)
    if s.stage is not None and s.stage not in stages:
        raise _err(file, f"{key}.stage", f"unknown stage {s.stage!r}; allowed: {', '.join(sorted(stages))}",
                   "not_allowed", needle=s.stage)
    # several products of one form are joined by '+' (magnet_std+magnet_uh), as in facts
    for one in ([] if s.product is None else [x.strip() for x in s.product.split("+")]):
        if one not in sc_names["products"]:
            hint = did_you_mean(one, sorted(sc_names["products"]))
            raise _err(file, f"{key}.product", f"unknown product {one!r}{hint}" +
                       (f" in {s.product!r}" if one != s.product else "") +
                       f"; allowed: {', '.join(sorted(sc_names['products']))} (several of one form joined by '+')",
                       "not_allowed", needle=s.product)
    if s.product is not None and s.variable in FLOW_VARIABLES:
        # flows appear in runs only, so the outline cannot read them: tonnes of two forms are
        # refused here (light_ore+magnet_std added t REO of ore to t of blanks)
        names = [x.strip() for x in s.product.split("+")]
        forms = forms_of(names, s.variable)
        if len(forms) > 1:
            raise _err(file, f"{key}.product", f"{s.product!r} adds {s.variable} of {', '.join(forms)}, whose tonnes "
                       f"do not add up (the same rare earths at different stages); allowed: one product, or several "
                       f"of one form joined by '+'", "not_allowed", needle=s.product)
    if s.region is not None and s.region not in sc_names["regions"]:
        raise _err(file, f"{key}.region", f"unknown region {s.region!r}; allowed: "
                   f"{', '.join(sorted(sc_names['regions']))}", "not_allowed", needle=s.region)
    sel = {k: getattr(s, k) for k in ("stage", "product", "region") if getattr(s, k) is not None}
    label = s.name or s.variable + ("[" + ",".join(f"{k}={v}" for k, v in sel.items()) + "]" if sel else "")
    return {"name": label, "variable": s.variable, **{k: getattr(s, k) for k in ("stage", "product", "region")}}


def _check_n_runs(spec: SweepFile, file: Path | None, n_points: int) -> None:
    """Raise ScenarioError when ``n_points`` exceed :data:`MAX_POINTS` or, times the
    replicates, :data:`MAX_RUNS`."""
    n_runs = n_points * spec.replicates
    if n_points > MAX_POINTS:
        key = "samples" if spec.samples is not None else "parameters"
        raise _err(file, key, f"{n_points:,} design points is more than a sweep holds in memory (at most "
                   f"{MAX_POINTS:,} points, about {MAX_POINTS * 700 / 1e9:.1f} GB): use fewer levels or samples, or "
                   f"split the design into several sweeps with other root seeds (replicates multiply the runs, not "
                   f"the points)", "design", needle=key)
    if n_runs > MAX_RUNS:
        key = "samples" if spec.samples is not None else "parameters"
        raise _err(file, key, f"{n_runs:,} runs is more than a sweep can number ({n_points:,} points x "
                   f"{spec.replicates:,} replicates; at most {MAX_RUNS:,} runs): use fewer levels, samples or "
                   f"replicates", "design", needle=key)


#: a sweep's settings of one number or flag: a mistake in one of them is told beside what the
#: rest of the file's checks find, taken with the setting at its default
SETTINGS = ("samples", "replicates", "root_seed", "second_order", "morris_levels", "batch_size", "description")


def _rest_of_the_file(raw: dict, errors: list[dict], where: Path, file: Path | None) -> list[ScenarioError]:
    """Where only settings of one number or flag (:data:`SETTINGS`) are wrong, what the rest of
    the file's checks find with those settings at their defaults (a min above its max beside
    samples = 0 was told only once samples was mended)."""
    wrong = {err["loc"][0] for err in errors if err.get("loc")}
    if not wrong or not wrong <= set(SETTINGS):
        return []
    stand_in = {k: v for k, v in raw.items() if k not in wrong}
    if "samples" in wrong:
        stand_in["samples"] = 1         # a design that needs samples goes on to its parameters
    try:
        load_sweep(stand_in, where, _told_as=file)
    except ScenarioError as e:
        return [x for x in e.errors if x.key.split(".")[0] not in wrong]
    return []


def load_sweep(source: str | Path | dict, base_dir: str | Path | None = None, _told_as: Path | None = None) -> Sweep:
    """Read, validate and expand a sweep (a TOML path or the equivalent dict).

    Raises
    ------
    ScenarioError
        naming the sweep file and the key, for anything that cannot be used: unknown keys,
        a base scenario that does not load, a parameter path not in the base scenario, a
        level or bound the scenario validator rejects, an unknown KPI.
    """
    if isinstance(source, dict):
        file, raw = _told_as, copy.deepcopy(source)
        where = Path(base_dir) if base_dir else Path.cwd()
    else:
        file = as_path(source, "sweep")
        raw = read_toml_file(file, "a sweep file (.toml)")
        where = file.parent
    if "base" not in raw and {"extends", "start"} & set(raw):
        # else one error per scenario key and a missing base
        raise _err(file, "base", "is missing: this is a scenario file (extends, start, ...), not a sweep; "
                   "allowed: a sweep file (base = \"scenario.toml\", design, parameters); run a scenario with "
                   "rechain run", "missing_key")
    try:
        spec = SweepFile.model_validate(raw)
    except ValidationError as e:
        errors, told = _points_said_once(e.errors(), raw.get("points"), file)
        said = told + [_spec_error(err, file) for err in errors]
        name = raw.get("name")
        if isinstance(name, str) and name and not folder_safe(name) \
                and not any(getattr(x, "key", "") == "name" for x in said):
            # told with the other keys' mistakes, not only once they are mended
            said.append(_err(file, "name", f"given {name!r}; allowed: {NAME_ALLOWED}", "invalid", needle="name"))
        # a base scenario that is not there is said with them: what the parameters name in it
        # waits for a file whose own keys are right, but a missing file need not wait
        base = raw.get("base")
        if isinstance(base, str) and base and not (where / base).exists() and not (where / base).is_symlink() \
                and not any(getattr(x, "key", "") == "base" for x in said):
            said.append(_err(file, "base", f"scenario file {base!r} not found (looked in {where})", "missing",
                             needle="base"))
        said += _rest_of_the_file(raw, e.errors(), where, file)
        raise ScenarioError.of(said) from None
    found = _Found()
    with found:
        if spec.name and not folder_safe(spec.name):     # it names the default output folder, as a scenario's
            raise _err(file, "name", f"given {spec.name!r}; allowed: {NAME_ALLOWED}", "invalid", needle="name")
        if not spec.name and file is not None and not folder_safe(file.stem):
            # "..toml" swept into outputs/sweeps/. itself, the folder of every sweep
            raise _err(file, "name", stem_unfit(file.stem), "invalid")
    with found:
        if spec.design not in ("lhs", "sobol", "morris") and spec.samples is not None:
            raise _err(file, "samples", f"samples is for lhs, sobol and morris designs, not {spec.design}",
                       "design", needle="samples")
    with found:
        # a key of the file's own, told with its other keys' mistakes, before any check on the base
        if spec.design in ("lhs", "sobol", "morris") and spec.samples is None:
            raise _err(file, "samples", f"a {spec.design} design needs samples = N", "missing_key", needle="design")
    with found:
        if spec.design != "table" and spec.points is not None:
            raise _err(file, "points", "points is for design = \"table\"", "design", needle="points")
    # options of one design given with another would do nothing: second-order indices asked
    # of an LHS, say, are never computed
    for key, design in (("second_order", "sobol"), ("morris_levels", "morris")):
        with found:
            if key in raw and spec.design != design:
                raise _err(file, key, f"{key} is for design = \"{design}\", not {spec.design}", "design", needle=key)
    with found:
        # SALib's Morris steps by p / (2 (p - 1)) of the range: with p odd its points leave the
        # grid (2.3125 on the 3-level grid 0.25, 1.625, 3.0) and its trajectories are biased
        if spec.design == "morris" and spec.morris_levels % 2:
            raise _err(file, "morris_levels", f"given {spec.morris_levels}; allowed: an even number of levels (2, 4, "
                       f"6, ...): with an odd number the Morris design samples off its own grid", "design",
                       needle="morris_levels")
    base_path = where / spec.base
    with found:
        # a link (to nowhere, or a loop) or a folder: reading it says which, naming the file
        if not base_path.exists() and not base_path.is_symlink():
            raise _err(file, "base", f"scenario file {spec.base!r} not found (looked in {where})", "missing",
                       needle="base")
        base = _base_dict(base_path, spec.overrides, file)
    for key in sorted(NOT_INPUTS & set(spec.overrides)):
        with found:     # set in every run, it would change none (the runs are named by the sweep)
            raise _err(file, f"overrides.{key}", f"{key!r} is a label or a note ({', '.join(sorted(NOT_INPUTS))} "
                       f"change no run); allowed: keys that are inputs of the run (docs/scenarios.md)", "invalid",
                       loc=["overrides", key])
    found.raise_any()        # what follows needs the base scenario
    source = point_source(base_path, spec.overrides)

    too_big = False
    if spec.design == "grid":
        # a grid's size is its levels' product: a grid past the limits is told beside the keys'
        # mistakes without checking each level against the base (60,000 levels took a minute)
        sizes = [len(e["levels"]) for e in spec.parameters.values()
                 if isinstance(e, dict) and isinstance(e.get("levels"), list)]
        try:
            _check_n_runs(spec, file, math.prod(sizes))
        except ScenarioError:
            too_big = True
    params: dict[str, Parameter] = {}
    for name, entry in spec.parameters.items():
        with found:
            params[name] = _parameter(name, entry, base, file, spec.design, source, check_levels=not too_big)
    if too_big:                     # told where the parameters that are keys make it too big
        with found:
            _check_n_runs(spec, file, math.prod(len(p.levels) for p in params.values() if p.kind == "levels"))
    _check_clashes(list(params.values()), base, spec.overrides, file, found, "parameters")

    for p in params.values():
        with found:
            # Morris steps over morris_levels evenly spaced values: other counts of levels would
            # map unevenly onto them (some never run, others twice as often)
            if spec.design == "morris" and p.kind == "levels" and len(p.levels) != spec.morris_levels:
                raise _err(file, f"parameters.{p.name}.levels", f"given {len(p.levels)} levels with design = "
                           f"\"morris\" and morris_levels = {spec.morris_levels}; allowed: exactly "
                           f"{spec.morris_levels} levels (the Morris grid's steps), another morris_levels, or a range "
                           "{ min = ..., max = ... }", "design", needle=p.name)

    names = {"products": _product_names(base), "regions": set(base["regions"]) | {"china", "abroad", "overseas",
                                                                                 "all"}}
    kpis, series = _check_outputs(spec, file, base, names, found)
    if series and not found.errors:
        with found:
            _check_series_on_outline(series, base, file)
    reserved = set(RUN_COLUMNS) | set(STATUS_COLUMNS) | set(kpis)
    for n in params:
        with found:
            if n in reserved:
                raise _err(file, f"parameters.{n}", f"name {n!r} is taken by a column of the results; give the "
                           "parameter another name with path = ...", "invalid", needle=n)
    found.raise_any()

    if spec.design == "table":
        order, points = _table_points(spec, file, params, base, source)
        # the table's columns as the declared parameters: one key by two columns, or a column
        # also in [overrides], would set it twice, and the table record a value never used
        _check_clashes([p for p in order if p.name not in params], base, spec.overrides, file, found, "points",
                       others=order)
        found.raise_any()
        unit = None
    else:
        order = list(params.values())
        # counted before the design is built: a big grid would exhaust the memory first
        _check_n_runs(spec, file, designs.n_points(spec.design, order, spec.samples, spec.second_order))
        points, unit = _design(spec, file, order)
    _check_n_runs(spec, file, len(points))
    return Sweep(name=spec.name or (file.stem if file else "sweep"), file=file, base_file=base_path, base=base,
                 parameters=order, design=spec.design, samples=spec.samples, replicates=spec.replicates,
                 root_seed=spec.root_seed, kpis=kpis, series=series, points=points, unit_points=unit,
                 second_order=spec.second_order, morris_levels=spec.morris_levels, batch_size=spec.batch_size,
                 description=spec.description, raw=raw, source=source)


def _product_names(base: dict) -> set[str]:
    from ..materials import PRODUCTS
    from ..policy import QUOTA_TYPES
    return set(PRODUCTS) | set(base["sectors"]) | set(QUOTA_TYPES) | {"ore", "magnets", "all", "controlled",
                                                                      "scrap"}


def _context(sw: Sweep) -> Context:
    return Context(base=sw.base, params=[(p.name, p.tokens, p.dtype) for p in sw.parameters], kpis=sw.kpis,
                   series=sw.series, sweep_file=str(sw.file) if sw.file else None, measure=sw.measure,
                   source=sw.source)


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
             f"{self.workers} worker(s), {self.backend})") if self.ran else \
            f"nothing left to run of its {self.n_runs} runs"
        if self.failed_total and not self.ran:
            s += " (--resume does not run failed runs again: sweep into a new folder to retry them)"

        if self.skipped:
            s += f"; {self.skipped} were already done"
        s += f"\nresults: {self.out / 'runs'}, {self.out / 'series'} (rechain.sweep.load_results)"
        if self.failed_total:
            s += (f"\n{self.failed_total} run(s) failed: see {self.out / 'errors.csv'} "
                  f"(or the status and error columns of {self.out / 'runs'})")
        else:
            s += "\nno run failed"
        return s


def _runs(sw: Sweep, todo: list[int]) -> Iterator[tuple]:
    """``(run_id, point_id, replicate, seed, values)`` of the runs ``todo``, in order."""
    for rid in todo:
        point, rep, seed, values = sw.run_of(rid)
        yield rid, point, rep, seed, values


#: a sweep projected to take at least this long says so after its first batch, s
LONG_SWEEP_S = 600


def projected_seconds(n_runs: int, first_n: int, first_s: float, parallel: int) -> float:
    """How long ``n_runs`` take if they go as the first batch did: ``first_n`` runs in
    ``first_s`` seconds on one of ``parallel`` workers running at once, s."""
    if first_n <= 0 or not first_s > 0:
        return 0.0
    return n_runs * first_s / (first_n * max(parallel, 1))


def duration_words(seconds: float) -> str:
    """``"3 h 05 min"``, ``"12 min"``: a projected duration, to the minute."""
    minutes = int(round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{max(minutes, 1)} min"


def execute(sweep: str | Path | dict | Sweep, out: str | Path | None = None, workers: int | None = None,
            scheduler: str | None = None, resume: bool = False, batch_size: int | None = None,
            progress: bool = False, echo: Callable[[str], None] | None = None) -> SweepSummary:
    """Run a sweep into ``out`` and return what was done (no results are held in memory).

    ``workers=1`` runs in this process; more start local processes (spawn); ``scheduler``
    ("local" or a Dask scheduler address) sends the batches to Dask instead (see
    :mod:`rechain.experiments.executor`).
    """
    from tqdm import tqdm

    check_count("workers", workers, 1, MAX_WORKERS, none_ok=True)
    check_count("batch_size", batch_size, 1, MAX_RUNS, none_ok=True)
    from ..outputs import default_folder
    sw = sweep if isinstance(sweep, Sweep) else load_sweep(sweep)
    out = Path(out) if out is not None else Path("outputs") / "sweeps" / default_folder(sw.name)
    _check_out(sw, out, resume)
    # one sweep at a time on a folder: held before anything in it is touched (a --resume
    # while the sweep still runs would clear its files being written and run its runs twice)
    with folder_lock(out) as lock:
        ctx = _context(sw)
        t0 = time.perf_counter()
        # the scheduler is reached before anything is written: an unreachable one leaves no folder
        ex: Any = DaskExecutor(scheduler, workers or os.cpu_count() or 1, ctx) if scheduler is not None else None
        try:
            done = _prepare_out(sw, out, resume)
            lock.take()                 # a folder made just now
        except BaseException as e:
            if ex is not None:
                ex.close(cancel=True)
            raise_if_unwritable(e, out, "no run was started: free some space or choose another --out")
            raise
        todo = [i for i in range(sw.n_runs) if i not in done]
        skipped = sw.n_runs - len(todo)
        runs_schema, series_schema = _runs_schema(sw), _series_schema()

        failed_now = ran = first_n = 0
        first_s = float("nan")
        ex = ex or open_executor(workers, shared=ctx, tasks=len(todo))
        n_parallel = ex.slots
        size = batch_size or sw.batch_size or executor_batch_size(len(todo), n_parallel)
        if echo:
            # a grid without parameters is allowed (replicates of the base alone), but say so:
            # an empty [parameters] table may be a mistake the user would not see otherwise
            points = (f"{sw.n_points} point (no parameters: the base scenario as it is)" if not sw.parameters
                      else f"{sw.n_points} points")
            echo(f"{sw.name}: {points} x {sw.replicates} replicate(s) = {sw.n_runs} runs"
                 + (f", {skipped} already done" if skipped else "") + f"; {ex.name}, batches of {size}")
        bar = tqdm(total=len(todo), unit="run", desc=sw.name, disable=not progress, dynamic_ncols=True,
                   smoothing=0.1, file=sys.stderr)
        bar.set_postfix(failed=0)
        try:
            with ex:
                for _, (rows, series) in ex.map(run_batch, batches(_runs(sw, todo), size)):
                    if not ran:
                        first_s, first_n = time.perf_counter() - t0, len(rows)
                        projected = projected_seconds(len(todo), first_n, first_s, n_parallel)
                        if echo and projected >= LONG_SWEEP_S:
                            # a sweep of many hours is told within its first batch, not at its end
                            bar.clear()
                            echo(f"{sw.name}: at the first batch's pace ({first_n} runs in {first_s:.0f} s, start-up "
                                 f"included, {n_parallel} at a time) the {len(todo):,} runs take about "
                                 f"{duration_words(projected)}; Ctrl-C stops, --resume carries on")
                    write_part(out, rows, series, runs_schema, series_schema)
                    failed_now += sum(r["status"] != "ok" for r in rows)
                    ran += len(rows)
                    bar.set_postfix(failed=failed_now, refresh=False)
                    bar.update(len(rows))
        except BaseException as e:
            import concurrent.futures.process as cfp
            if isinstance(e, cfp.BrokenProcessPool):
                raise RuntimeError(f"a worker process died ({e}); the runs finished so far are in {out}; "
                                   "run the sweep again with --resume to finish it") from None
            raise
        finally:
            bar.close()
        seconds = time.perf_counter() - t0
        try:
            failed_total = _write_errors(out)
        except OSError as e:
            raise_if_unwritable(e, out, KEPT_RESUME)
            raise
    return SweepSummary(out=out, n_runs=sw.n_runs, skipped=skipped, ran=ran, failed_now=failed_now,
                        failed_total=failed_total, seconds=seconds, workers=n_parallel, backend=ex.name,
                        first_result_s=first_s, first_batch=first_n)


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
@click.command("sweep")
@click.argument("sweep_file", type=NonEmptyPath(dir_okay=False, path_type=Path))
@click.option("--workers", type=WholeNumber(1, MAX_WORKERS), default=None,
              help="worker processes (default: the number of CPUs; 1 runs in this process)")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="run on Dask: a scheduler address (tcp://host:8786) or 'local' for a local cluster")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path), default=None,
              help="output folder (default outputs/sweeps/<sweep name>)")
@click.option("--resume", is_flag=True, help="continue an interrupted sweep in --out, skipping finished runs")
@click.option("--batch-size", type=WholeNumber(1, MAX_RUNS), default=None, help="runs per task (default: automatic)")
@click.option("--quiet", is_flag=True, help="no progress bar")
def sweep_command(sweep_file: Path, workers: int | None, scheduler: str | None, out_dir: Path | None,
                  resume: bool, batch_size: int | None, quiet: bool) -> None:
    """Run the batch sweep SWEEP_FILE: many runs of a scenario over a design of parameters.

    Results stream to OUT/runs/ and OUT/series/ (Parquet, one file per finished batch);
    analyse them with `rechain analyze OUT`.
    """
    from ..outputs import default_folder
    sw = load_sweep(sweep_file)
    out = out_dir or Path("outputs") / "sweeps" / default_folder(sw.name)
    if workers is not None and scheduler not in (None, "local"):
        click.echo(f"note: --workers {workers} is not used with --scheduler {scheduler}: the cluster's workers "
                   "run the sweep", err=True)
    try:
        with sigterm_as_interrupt():
            summary = execute(sw, out=out, workers=workers, scheduler=scheduler, resume=resume,
                              batch_size=batch_size, progress=not quiet, echo=None if quiet else click.echo)
    except (KeyboardInterrupt, ClusterLost) as e:
        # the hint repeats where it ran: copied as given, it resumes there
        where = (f" --scheduler {scheduler}" if scheduler is not None else "") + \
            (f" --workers {workers}" if workers and scheduler in (None, "local") else "")
        again = f"`rechain sweep {shlex.quote(str(sweep_file))} --out {shlex.quote(str(out))}{where} --resume`"
        if _part_files(out / "runs"):
            exit_stopped(e, f"the runs finished so far are in {out}; continue with {again}")
        # stopped while it set up or ran its first batch: nothing for analyze to read yet
        exit_stopped(e, f"no run had finished, so {out} holds none yet (nothing to analyze); start again with "
                        f"{again}")
    click.echo(summary.text())
    if summary.n_runs and summary.failed_total >= summary.n_runs:
        # nothing to analyse: say so with the status a script can test
        click.echo(f"error: {summary.out}: every run failed ({summary.failed_total} of {summary.n_runs}); their "
                   f"errors are in {summary.out / 'errors.csv'}", err=True)
        sys.exit(1)
    if not quiet:
        click.echo(f"next: rechain analyze {shlex.quote(str(summary.out))}")
