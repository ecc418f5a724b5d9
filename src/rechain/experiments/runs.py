"""One run of one design point: the code that runs in the executor's workers.

A :class:`Context` holds what any run of an experiment needs (the base scenario as a dict,
the parameters' key paths, the outputs to keep) and is sent once to each worker (see
:mod:`.executor`); a task is a batch of ``(run_id, point_id, replicate, seed, values)``.
:func:`run_batch` runs each: the base scenario with the point's values assigned, one
model run with the run's seed, and the run's outputs (by default the KPIs of
:func:`rechain.report.kpis`, or what the context's ``measure`` computes from the monthly
table). A run that fails is recorded with its error; a batch never raises for a run.
"""

from __future__ import annotations

import copy
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..scenario import ScenarioError, scenario_from_dict
from . import executor
from .paths import PathError, _Name, _toml, assign, assign_as_written, lookup
from .store import SERIES_COLUMNS, _to_column

__all__ = ["Context", "PointSource", "point_source", "point_data", "run_batch", "evaluate_point"]


@dataclass(frozen=True)
class PointSource:
    """A base scenario as a what-if extending it is written: its files merged with the
    sweep's overrides, nothing validated, filled in or left out (``data``); its chain of files
    (parent first); and the overrides (what the sweep itself names)."""
    data: dict
    files: tuple[Path, ...]
    own: dict


def point_source(base_path: Path, overrides: dict | None = None) -> PointSource:
    """The :class:`PointSource` of the scenario file ``base_path`` with ``overrides``."""
    from ..config.loading import scenario_data
    data, files, _ = scenario_data(base_path, overrides or None, keep_outside=True)
    return PointSource(data=data, files=tuple(files), own=copy.deepcopy(overrides or {}))


@dataclass
class Context:
    """What a worker needs to run any point of an experiment (sent once per worker).

    ``measure``, when given, computes a run's outputs from ``(monthly, scenario, seed)``
    instead of the KPIs; it must be a module-level function (workers receive it pickled).
    """
    base: dict
    params: list[tuple[str, tuple, str]]     # (name, tokens, dtype)
    kpis: list[str]
    series: list[dict]
    sweep_file: str | None
    measure: Callable[..., dict[str, float]] | None = None
    #: the base as its files write it: a point is built as a what-if of it (None: the
    #: validated ``base`` with the values assigned, for a base made in Python)
    source: PointSource | None = None


def _scenario_at(ctx: Context, values: dict):
    """The scenario at a point: written as a what-if of the base that sets the point's values
    would be, so figures carried past the last given year follow a changed rule, and a
    changed period leaves out (or keeps) the inherited events as that what-if's would."""
    d = point_data(ctx.base, ctx.source, [(tokens, values[name]) for name, tokens, _ in ctx.params])
    try:
        return scenario_from_dict(d)
    except ScenarioError as e:
        shown = ", ".join(f"{n} = {_toml(values[n])}" for n, _, _ in ctx.params)
        raise ScenarioError(ctx.sweep_file, "parameters", f"the scenario at this point ({shown}) is invalid: "
                            f"{e.key}: {e.detail}", kind="point_invalid") from None


def point_data(base: dict, source: PointSource | None, values: list[tuple[tuple, object]]) -> dict:
    """The scenario dict (not yet validated) of the base with each ``(tokens, value)`` set:
    written into ``source`` as a what-if would set it, then the inherited dated items outside
    the period left out; assigned onto the validated ``base`` when there is no source. NumPy
    scalars (what SALib, EMA Workbench and pandas hand over) are taken as the Python numbers
    they hold: a numpy whole number is a whole number."""
    import numpy as np
    values = [(tokens, v.item() if isinstance(v, np.generic) else v) for tokens, v in values]
    # a table merges into the table as the files write it (what they leave out is the base's,
    # filled in by validation, and figures carried past the last year stay carried); a path
    # through a list item reads the validated base, whose items are where the path says
    values = [(tokens, _merged_table(source.data if source is not None and all(isinstance(t, str) for t in tokens)
                                     else base, tokens, v)) for tokens, v in values]
    if source is None:
        d = copy.deepcopy(base)
        for tokens, value in values:
            assign(d, tokens, value)
        return d
    from ..config.loading import drop_inherited_outside_period
    d = copy.deepcopy(source.data)
    named = copy.deepcopy(source.own)
    for tokens, value in values:
        _name_item(named, assign_as_written(d, base, tokens, value))
    drop_inherited_outside_period(d, named, list(source.files))
    return d


def _merged_table(data: dict, tokens: tuple, value: object) -> object:
    """A table given for a key that holds a table in ``data`` (``behaviour = {
    restock_strength = 1 }``) merged into it as a what-if's would: the keys it leaves out keep
    the base's values rather than fall back to the schema's defaults."""
    if not isinstance(value, dict):
        return value
    from ..config.loading import deep_merge
    try:
        held = lookup(data, tokens)
    except PathError:
        return value
    return deep_merge(copy.deepcopy(held), value) if isinstance(held, dict) else value


def _name_item(named: dict, path: list) -> None:
    """Record in ``named`` (a what-if's own table) the dated item a parameter's path goes
    through, so that it is not left out as inherited: a swept date outside the period is an
    error to report, not an event to drop in silence."""
    first = next((i for i, t in enumerate(path) if isinstance(t, _Name)), None)
    if first is None:
        return
    holder = named
    for key in path[:first - 1]:             # plain keys: the first named item comes after them
        holder = holder.setdefault(key, {}) if isinstance(holder, dict) else None
    items = holder.setdefault(path[first - 1], []) if isinstance(holder, dict) else None
    if isinstance(items, list):
        items.append({"name": str(path[first])})


def _evaluate(ctx: Context, values: dict, seed: int):
    """Run one point with one seed: (outputs dict, monthly table)."""
    from ..model import ChainModel
    from ..report import kpis, monthly_table

    sc = _scenario_at(ctx, values)
    model = ChainModel(sc, seed=seed)
    try:
        model.run()
        monthly = monthly_table(model)
    finally:
        _forget(model)
    # with the run's end: a month it holds in part has no month-on-month figure
    return (kpis(monthly, None, sc.end) if ctx.measure is None else ctx.measure(monthly, sc, seed)), monthly


def evaluate_point(ctx: Context, values: dict, seed: int) -> dict[str, float]:
    """The outputs of one run of the point ``values`` with ``seed`` (raises if it fails)."""
    return _evaluate(ctx, values, seed)[0]


def _forget(model) -> None:
    """Let a finished model be freed (see :func:`rechain.model.forget_model`)."""
    from ..model import forget_model
    forget_model(model)


def _series_rows(ctx: Context, monthly, head: tuple) -> dict[str, list]:
    cols: dict[str, list] = {c: [] for c in SERIES_COLUMNS}
    for s in ctx.series:
        # flows summed, levels averaged (a price with no region: China's), as validate reads them;
        # a selection that makes no one series (several units, ore and magnets added up, no
        # rows at all) fails the run with its reason rather than store a number that means nothing
        g = series_at(monthly, s, ctx.sweep_file)
        n = len(g)
        for c, v in zip(("run_id", "point_id", "replicate"), head):
            cols[c] += [v] * n
        cols["series"] += [s["name"]] * n
        for k in ("variable", "stage", "product", "region"):
            cols[k] += [s[k]] * n
        cols["month"] += list(g.index)
        cols["value"] += [float(x) for x in g.values]
    return cols


def series_at(monthly, spec: dict, where: str | None):
    """The monthly series a sweep keeps for ``spec`` (``variable``, ``stage``, ``product``,
    ``region``, ``name``), read by :func:`rechain.report.series_of`; raises
    :class:`ScenarioError` naming the sweep's series where the selection makes no one series."""
    from ..report import series_of
    from .validate import empty_selection

    match = {k: spec[k] for k in ("stage", "product", "region") if spec.get(k) is not None}
    try:
        g = series_of(monthly, spec["variable"], **match)
    except ValueError as e:
        raise ScenarioError(where, "outputs.series", f"{spec['name']!r}: {str(e).removeprefix('series: ')}",
                            kind="invalid") from None
    if g.empty:
        sel = (spec["variable"], *(spec.get(k) or "*" for k in ("stage", "product", "region")))
        raise ScenarioError(where, "outputs.series", f"{spec['name']!r}: {empty_selection(monthly, sel)}",
                            kind="invalid")
    return g


def _error_text(e: BaseException) -> str:
    if isinstance(e, ScenarioError):
        return str(e)
    tb = traceback.extract_tb(e.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
    return f"{e.__class__.__name__}: {e}{where}"


def run_batch(batch: list[tuple], ctx: Context | None = None) -> tuple[list[dict], dict[str, list]]:
    """Run a batch of ``(run_id, point_id, replicate, seed, values)``; never raises for a run.

    ``ctx`` defaults to the one the executor sent to this worker.
    """
    ctx = ctx if ctx is not None else executor.shared()
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
            interrupt = executor.stop_inside(e)
            if interrupt is not None:       # Ctrl-C or a stop signal inside compiled code: not the run's failure
                raise interrupt from None
            row.update({name: nan for name in ctx.kpis})
            row.update(status="error", error=_error_text(e))
        rows.append(row)
    return rows, series

