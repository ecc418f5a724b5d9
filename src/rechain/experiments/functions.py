"""rechain as a plain function of its parameters, for EMA Workbench, SALib, scipy and the like.

:func:`model_function` runs one point and returns its KPIs; :class:`ScenarioFunction`
(or :func:`make_model_function`) is the same bound to a sweep or scenario file, picklable
so that it runs in worker processes (EMA's ``MultiprocessingEvaluator``).
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..randomness import run_seed
from ..config.errors import real_path
from ..config.loading import as_path
from ..scenario import ScenarioError, read_text_file, read_toml_file
from .designs import Parameter, _dtype_of
from .paths import PathError, lookup, parse_path
from .runs import Context, evaluate_point
from .runs import PointSource, point_source
from .sweep import Sweep, _base_dict, available_kpis, load_sweep

__all__ = ["model_function", "make_model_function", "ScenarioFunction"]


@lru_cache(maxsize=8)
def _cached_sweep(path: str, mtime: float) -> Sweep:
    return load_sweep(path)



@lru_cache(maxsize=8)
def _cached_base(path: str, mtime: float) -> dict:
    return _base_dict(Path(path), {}, None)


@lru_cache(maxsize=8)
def _cached_source(path: str, mtime: float) -> PointSource:
    return point_source(Path(path))



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
        sw = sweep if isinstance(sweep, Sweep) else _cached_sweep(*_file_key(sweep))
        by_name = {p.name: p for p in sw.parameters} | {p.path: p for p in sw.parameters}
        src, kpi_names, file, source = sw.base, sw.kpis, sw.file, sw.source
    elif base is not None:
        key = _file_key(base)
        by_name, src, kpi_names, file = {}, _cached_base(*key), None, Path(base)
        source = _cached_source(*key)
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
    ctx = Context(base=src, params=plist, kpis=[], series=[], sweep_file=str(file) if file else None, source=source)
    k = evaluate_point(ctx, values, run_seed(seed))
    return {n: k.get(n, float("nan")) for n in kpi_names} if kpi_names else k



def make_model_function(sweep: str | Path | Sweep, seed: int = 0) -> "ScenarioFunction":
    """``model_function`` bound to a sweep file (and a seed): a picklable ``f(**params) -> dict``.

    Same as :class:`ScenarioFunction` ``(sweep, seed=seed)``.
    """
    return ScenarioFunction(sweep, seed=seed)


def _file_key(path: str | Path) -> tuple[str, float]:
    """A file's cache key: its absolute path, links followed, and its modification time. A
    file that cannot be read (missing, a folder, a link loop) raises :class:`ScenarioError`
    naming it, as loading it would."""
    try:
        return str(real_path(path)), Path(path).stat().st_mtime
    except OSError:
        read_text_file(path)        # raises the one-line error naming the file and why
        raise


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
    outcomes : KPI names to return (see :func:`rechain.report.kpis`); one name alone is one outcome.

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
            self.sweep, self.path = None, _file_key(as_path(path, "ScenarioFunction's path"))[0]
            raw = read_toml_file(self.path)
            self.is_sweep = "base" in raw           # sweep files name a base; scenarios never do
            known = self._load().kpis if self.is_sweep else available_kpis(self._base())
        self.seed = run_seed(seed)
        # one KPI's name is a list of one (a string iterated would be its letters)
        if outcomes is not None and not isinstance(outcomes, str) and (
                not isinstance(outcomes, (list, tuple)) or not outcomes or not all(isinstance(x, str) for x in outcomes)):
            # an empty list would run the model for nothing; 5 would fail as "not iterable"
            whose = "the sweep's KPIs" if self.is_sweep else "every KPI"
            raise ScenarioError(self.path, "outcomes", f"given {outcomes!r}; allowed: a KPI's name or a non-empty "
                                f"list of them, or None for {whose}",
                                kind="type")
        self.outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes) if outcomes is not None else None
        twice = next((x for x in self.outcomes or [] if self.outcomes.count(x) > 1), None)
        if twice is not None:
            raise ScenarioError(self.path, "outcomes", f"given {twice!r} twice; allowed: each KPI once", kind="invalid")
        for name in self.outcomes or []:
            if name not in known:
                near = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                what = f"{name!r} is not one of the sweep's KPIs (its outputs.kpis)" if self.is_sweep else \
                    f"unknown KPI {name!r}"
                raise ScenarioError(self.path, "outcomes", f"{what}{hint} Allowed: {', '.join(known)}",
                                    kind="unknown_kpi")

    def _load(self) -> Sweep:
        return self.sweep or _cached_sweep(*_file_key(self.path))

    def _base(self) -> dict:
        return _cached_base(*_file_key(self.path))

    def __call__(self, **params: Any) -> dict[str, float]:
        seed = params.pop("seed", self.seed)
        if isinstance(seed, (float, np.floating)) and float(seed).is_integer():
            seed = int(seed)            # some samplers hand an integer parameter over as a float
        seed = run_seed(seed)
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
