"""``rechain calibrate``: search behavioural parameters for the set that reproduces most facts.

The search is a sweep (:mod:`rechain.experiments.sweep`), run by the same executor into
the same store: a Latin hypercube (:func:`rechain.experiments.designs.latin_hypercube`, the
points a sweep with ``design = "lhs"`` draws for the same seed and ranges) over the
calibration space (``data/calibration_space.toml`` or a file of the same form), with the
scenario's own values as candidate 0, so the search can only improve on them. Each run
keeps the value of every fact ``rechain validate`` holds the scenario to (its ``facts_file``,
else ``data/facts.csv``: an era is calibrated on its own record; as there, the facts whose
months lie outside the run are left out of the scores, and a scenario with none in its run
is refused) and a stability
check: a shock-free variant of the candidate (:func:`rechain.scenario.quiet_variant`, ten
years: :data:`QUIET_YEARS`) run with the same seed must neither cycle (coefficient of
variation of monthly magnet output, months 7 on, at most ``max_quiet_cv``) nor drift (every
price within :data:`PRICE_BAND` of its first month). Replicate ``r`` of every candidate runs
with the same seed (common random numbers), so candidates differ by their parameters, not by
luck.

Candidates are ranked stable first, then by the required facts their replicate mean
reproduces (:func:`rechain.experiments.validate.judge`), then by all facts. The best
``finalists`` are re-run, in a second sweep, with ``final_replicates`` fresh seeds, which
also removes the luck of the search from their scores (ten by default: on five seeds the count
of required facts moves by one or two with the seeds alone, ``Validation.seed_range``).

With ``refine`` generations, the best candidate of the hypercube is refined by CMA-ES (the
``cma`` package; Hansen's covariance matrix adaptation evolution strategy): each generation
is a sweep of ``popsize`` points with the search's seeds, scored by :func:`miss_loss`, a
continuous measure of how far the runs are from the record (the hypercube alone only counts
facts hit, which says nothing about the ones nearly hit); every refined point joins the
candidates and competes for the finalists' places like the others.

With ``--also`` (repeatable), every candidate of every stage also runs on other scenarios that
extend the calibrated one (eras, say), each held to its own facts table: their facts add to
the candidate's counts and loss, and the missed required ones are listed as ``name:fact``.
The shock-free check stays the calibrated scenario's. A calibration held to another period
too is less likely to fit 2024-2025 alone (an era used so is no longer out of sample).

``OUT/`` (default ``outputs/calibration-<scenario>/``) holds ``search/``, ``refine/``, ``final/``
and ``also/<name>/<stage>/`` (sweep folders: ``rechain analyze`` reads them, and ``--resume``
carries on an interrupted calibration), every candidate's parameters and score
(``candidates.csv``), and the best set as a what-if that extends the calibrated scenario
(``best.toml``: runs as it is, or its tables can be pasted into the scenario).
"""

from __future__ import annotations

import functools
import json
import shlex
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click
import numpy as np
import pandas as pd

from ..options import NonEmptyPath, WholeNumber
from ..report import domestic_prices
from ..scenario import ScenarioError, deep_merge, load_scenario, read_toml_file, scenario_from_dict
from ..config.schema import derived_name
from . import designs
from .designs import Parameter, finite_number
from .executor import MAX_SEEDS, MAX_WORKERS, ClusterLost, exit_stopped, sigterm_as_interrupt
from .paths import PathError, _toml, is_unset_entry, lookup, parse_path, unquoted_key_hint
from .store import load_results, sweep_manifest, what_changed
from .runs import point_source
from .sweep import Sweep, _base_dict, execute

__all__ = ["load_space", "search_sweep", "also_sweep", "check_also", "calibrate", "best_scenario", "quiet_drift",
           "calibrate_command",
           "miss_loss", "fact_miss", "PRICE_BAND", "UNSTABLE_LOSS", "QUIET_COLUMNS", "QUIET_YEARS"]

#: a candidate's shock-free run may not take any price outside this band around its first month
PRICE_BAND = (0.67, 1.5)
#: added to the loss of a candidate whose shock-free run drifts out of PRICE_BAND or cycles:
#: more than any stable candidate's misses of the facts add up to
UNSTABLE_LOSS = 1000.0
#: years the shock-free variant runs: the horizon of the stability requirement (a shock-free
#: chain held within PRICE_BAND for ten years); a heavy rare earth's slow drift shows only
#: after several years
QUIET_YEARS = 10
#: what the stability check keeps of each run
QUIET_COLUMNS = ("quiet_cv", "quiet_price_low", "quiet_price_high")
#: what a calibration writes in its output folder (named in the folder's marker)
CALIBRATION_FILES = ("search", "refine", "final", "also", "holdout", "candidates.csv", "best.toml")
#: --samples and --finalists at most: with MAX_SEEDS seeds each, a stage stays well within a
#: sweep's MAX_RUNS (--samples 10**11 asked numpy for a 26 TiB hypercube)
MAX_CANDIDATES = 10_000
#: --refine at most (CMA-ES generations, one sweep each)
MAX_GENERATIONS = 1000


@dataclass(frozen=True)
class Dimension:
    key: str           # dotted path under the scenario, e.g. "behaviour.restock_strength"
    low: float
    high: float
    integer: bool = False


def load_space(path: str | Path | None = None) -> list[Dimension]:
    """Parameter ranges: ``[parameters] "behaviour.x" = {min = .., max = ..}``; raises
    :class:`ScenarioError` naming every mistake of the file."""
    dims, errors = _read_space(path)
    if errors:
        raise ScenarioError.of(errors)
    return dims


def _read_space(path: str | Path | None) -> tuple[list[Dimension], list[ScenarioError]]:
    """The space's ranges that are well formed, and the mistakes of the others and of the
    file's other keys (a file of the wrong kind, when it has no ranges at all)."""
    what = "a calibration space: [parameters] \"behaviour.x\" = { min = ..., max = ... }"
    if path is None:
        with resources.as_file(resources.files("rechain").joinpath("data/calibration_space.toml")) as packaged:
            data = read_toml_file(packaged, what)
        where: str | Path = "data/calibration_space.toml"
    else:
        data, where = read_toml_file(path, what), path
    extra = [key for key in data if key != "parameters"]          # in the file's order
    if extra:
        # a scenario or sweep file given as the space is the likely mistake: name every key
        # it has that a space has not, and what the file looks like
        listed = ", ".join(extra[:6]) + (f" and {len(extra) - 6} more" if len(extra) > 6 else "")
        looks = next((f"; it looks like a {name} file: give it as {how}" for name, marks, how in (
            ("scenario", {"extends", "start", "end", "firms", "behaviour", "market", "quotas"}, "SCENARIO"),
            ("sweep", {"base", "design", "samples", "points"}, "the file of rechain sweep"))
            if set(extra) & marks), "")
        keys = "keys" if len(extra) > 1 else "a key"
        found = ScenarioError(where, extra[0], f"given {listed}: {keys} a calibration space has not; allowed: "
                              f"{what}{looks}", line=_top_line(path, extra[0]), kind="unknown_key")
        if looks or "parameters" not in data:
            raise found         # another kind of file: its ranges are no use to check
    params = data.get("parameters", {})
    told = [found] if extra else []
    if not isinstance(params, dict):
        return [], [*told, ScenarioError(where, "parameters", f"given {_toml(params)}; allowed: {what}",
                                         line=_top_line(path, "parameters"), kind="type")]
    dims, errors = [], []
    for key, spec in params.items():
        try:           # every range's mistake at once, not one an attempt
            dims.append(_dimension(key, spec, where, path))
        except ScenarioError as e:
            errors.append(e)
    if not dims and not errors:
        errors.append(ScenarioError(where, "parameters", f"no parameters to calibrate; allowed: {what}",
                                    line=_top_line(path, "parameters"), kind="missing_key"))
    return dims, [*told, *errors]


def _dimension(key: str, spec: object, where: str | Path, path: str | Path | None) -> Dimension:
    """One ``[parameters]`` entry of a calibration space as a :class:`Dimension`, or the
    :class:`ScenarioError` naming what is wrong with it."""
    line = _space_line(path, key)
    if not isinstance(spec, dict) or "min" not in spec or "max" not in spec or set(spec) - {"min", "max", "integer"}:
        hint = unquoted_key_hint(key, spec, {"min", "max", "integer"})
        raise ScenarioError(where, f"parameters.{key}", f"given {_toml(spec)}; allowed: {{min = ..., max = ...}} "
                            f"with an optional integer = true{hint}", line=line, kind="type")
    lo, hi = spec["min"], spec["max"]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
        raise ScenarioError(where, f"parameters.{key}", f"given min {_toml(lo)} and max {_toml(hi)}; allowed: "
                            f"numbers", line=line, kind="type")
    if not (finite_number(lo) and finite_number(hi)):
        raise ScenarioError(where, f"parameters.{key}", f"given min {_toml(lo)} and max {_toml(hi)}; allowed: "
                            f"finite numbers", line=line, kind="out_of_range")
    if not isinstance(spec.get("integer", False), bool):
        raise ScenarioError(where, f"parameters.{key}.integer", f"given {spec['integer']!r}; allowed: true or "
                            f"false", line=line, kind="type")
    if not lo < hi:
        raise ScenarioError(where, f"parameters.{key}", f"given min {_toml(lo)} and max {_toml(hi)}; allowed: min "
                            f"below max", line=line, kind="out_of_range")
    if spec.get("integer", False) and max(abs(lo), abs(hi)) > 2 ** 53:
        # candidates are drawn as floats: beyond 2^53 a whole number is not the one given
        raise ScenarioError(where, f"parameters.{key}", f"given min {_toml(lo)} and max {_toml(hi)}; allowed: "
                            f"with integer = true, whole numbers within +-{2 ** 53:,} (2^53)",
                            line=line, kind="out_of_range")
    if spec.get("integer", False) and math.ceil(lo) > math.floor(hi):
        # every candidate would round to a whole number outside the range
        raise ScenarioError(where, f"parameters.{key}", f"given min {_toml(lo)} and max {_toml(hi)} with "
                            f"integer = true; allowed: a range holding at least one whole number",
                            line=line, kind="out_of_range")
    return Dimension(key, float(lo), float(hi), spec.get("integer", False))


def _nested(key: str, value: float) -> dict:
    out: dict = {}
    cur = out
    parts = key.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return out


def _override(dims: list[Dimension], point: np.ndarray) -> dict:
    over: dict = {}
    for d, v in zip(dims, point):
        val = int(round(v)) if d.integer else float(v)
        over = deep_merge(over, _nested(d.key, val))
    return over


@functools.lru_cache(maxsize=8)
def _facts_of(facts_file: str | None, names: tuple | None = None) -> tuple:
    """The facts table a calibration is held to: ``facts_file`` (an absolute path, as
    :func:`search_sweep` sets it in the base scenario) or the package's ``facts.csv``, its
    sector, region and export-quota names checked against ``names`` (:func:`_names`: the
    scenario's own) or, without them, the working folder's baseline."""
    from .validate import load_facts, vocabulary_of_names
    vocabulary = vocabulary_of_names(*(set(n) for n in names)) if names is not None else None
    return tuple(load_facts(Path(facts_file) if facts_file else None, vocabulary))


def _names(scenario) -> tuple:
    """The sector, region and export-quota names of a scenario (a loaded, validated dict or a
    :class:`~rechain.scenario.Scenario`): the names its facts may use, hashable for
    :func:`_facts_of`."""
    if isinstance(scenario, dict):
        sectors, regions = scenario.get("sectors") or {}, scenario.get("regions") or {}
        quotas = [q["name"] for q in scenario.get("export_quotas") or []]
    else:
        sectors, regions, quotas = scenario.sectors, scenario.regions, [q.name for q in scenario.export_quotas]
    return tuple(sorted(sectors)), tuple(sorted(regions)), tuple(sorted(quotas))


def _hold_to_own_facts(base: dict, scenario_path: str | Path) -> list[str]:
    """Point ``base`` at the facts table ``rechain validate`` holds the scenario to, by an
    absolute path so every candidate's run finds it wherever it runs (None: the package's);
    returns the table's fact ids (:class:`~rechain.experiments.validate.FactError` if it is
    missing or malformed, or if no fact falls within the run)."""
    from .validate import default_vocabulary, load_scenario_facts
    sc = load_scenario(scenario_path)
    facts_path, _ = load_scenario_facts(sc, default_vocabulary(sc))   # a wrong table named with its setter
    base["facts_file"] = str(facts_path) if facts_path else None
    _run_facts(base, scenario_path)            # before any run: a scenario with nothing to score
    return _fact_ids(base)


def _source_held_to_facts(scenario_path: Path, base: dict):
    """The scenario file as each candidate is written from (:func:`~rechain.experiments.runs.point_source`),
    with the facts table ``base`` was pointed at by :func:`_hold_to_own_facts`: a table named
    relative to the scenario's file is not found from where the runs run."""
    return point_source(scenario_path, {"facts_file": base["facts_file"]} if base["facts_file"] else None)


def _run_facts(base: dict, scenario_path: str | Path) -> tuple:
    """The facts of ``base``'s table that a run of it can be scored on: those whose months lie
    in the run, by ``rechain validate``'s rule (:func:`~rechain.experiments.validate.facts_in_run`
    on the run's months); the others are left out of the counts and the loss, not missed.
    Raises :class:`~rechain.experiments.validate.FactError` when no fact falls within the run."""
    from ..calendar import whole_months
    from .validate import facts_in_run
    months = whole_months(base["start"], base["end"])          # those a fact is judged on
    name = Path(base["facts_file"]).name if base["facts_file"] else "facts.csv"
    inside, _ = facts_in_run(list(_facts_of(base["facts_file"], _names(base))), pd.DataFrame({"month": months}),
                             f"{scenario_path} (facts: {name})")
    return tuple(inside)


def _fact_ids(base: dict) -> list[str]:
    return [f.fact_id for f in _facts_of(base["facts_file"], _names(base))]


def _fact_values(monthly: pd.DataFrame, sc, seed: int) -> dict[str, float]:
    """A run's outputs in the final stage: the value of every fact of its scenario's table."""
    from .validate import evaluate
    ev = evaluate(list(_facts_of(sc.facts_file, _names(sc))), monthly)
    return {fid: float(v) for fid, v in zip(ev["fact_id"], ev["value"])}


def _facts_and_quiet(monthly: pd.DataFrame, sc, seed: int) -> dict[str, float]:
    """A run's outputs in the search: the value of every fact and :func:`quiet_drift`."""
    return {**_fact_values(monthly, sc, seed), **quiet_drift(sc, seed)}


def quiet_drift(sc, seed: int) -> dict[str, float]:
    """Run the shock-free variant of ``sc`` (:func:`rechain.scenario.quiet_variant`) and say
    how far it moves on its own over :data:`QUIET_YEARS` years: ``quiet_cv``, the coefficient
    of variation of monthly magnet output from month 7 on (a chain that cycles shows here),
    and ``quiet_price_low`` / ``quiet_price_high``, the lowest and highest monthly price of any
    product relative to its first month (a chain that drifts shows here)."""
    from ..report import magnet_output
    from ..results import run
    from ..scenario import quiet_variant
    from .paths import _plain

    quiet = scenario_from_dict(quiet_variant(_plain(sc.model_dump(mode="python")), QUIET_YEARS))
    table = run(quiet, seed=seed).monthly
    blanks = magnet_output(table).iloc[6:]
    price = domestic_prices(table).pivot_table(index="month", columns="product", values="value")
    rel = price.sort_index() / price.sort_index().iloc[0]
    return {"quiet_cv": float(blanks.std() / blanks.mean()), "quiet_price_low": float(rel.min().min()),
            "quiet_price_high": float(rel.max().max())}


def _current_value(loaded: dict, d: Dimension, space: str | Path | None) -> float:
    """The scenario's value of a searched parameter (raises if the key is not a number there, or
    not a whole number where the space samples whole numbers)."""
    where, key, allowed = _space_where(space), f"parameters.{d.key}", "allowed: a dotted path to a number, such as " \
        "\"behaviour.w_news\""
    line = _space_line(space, d.key)
    if "[" in d.key:
        raise ScenarioError(where, key, f"selects a list item, which a calibration space cannot search; {allowed}",
                            line=line, kind="unknown_key")
    try:
        if is_unset_entry(loaded, parse_path(d.key)):
            raise ScenarioError(where, key, "is an entry the scenario leaves unset (the model uses the table's "
                                "fallback there), so there is no current value to start from; give it one in the "
                                f"scenario first; {allowed}", line=line, kind="unknown_key")
        node = lookup(loaded, parse_path(d.key))
    except PathError as e:
        raise ScenarioError(where, key, f"is not a key of the scenario: {e}; {allowed}", line=line, kind="unknown_key") from None
    if node is None:
        raise ScenarioError(where, key, f"has no value in the scenario (an optional key left unset), so there is no "
                            f"current value to start from; give it one in the scenario first, or {allowed}",
                            line=line, kind="unknown_key")
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise ScenarioError(where, key, f"holds {_toml(node)}, not a number; {allowed}", line=line, kind="unknown_key")
    if d.integer and not isinstance(node, int):
        # rounding a real-valued figure would change the scenario's own value (candidate 0)
        raise ScenarioError(where, f"{key}.integer", f"given true, but the scenario's value is {_toml(node)}, not "
                            f"a whole number; allowed: integer = true only on a key that holds a whole number "
                            f"(a count)", line=line, kind="type")
    return float(node)


def _raw_value(loaded: dict, key: str) -> object:
    """What the scenario holds at a dotted ``key`` (None where nothing)."""
    node: object = loaded
    for p in key.split("."):
        node = node.get(p) if isinstance(node, dict) else None
    return node


def _space_where(space: str | Path | None) -> str | Path:
    return space or "data/calibration_space.toml"


def _top_line(space: str | Path | None, key: str) -> int | None:
    """The line of a top-level ``key`` in a space file the user gave (None for the package's)."""
    from ..config.errors import _find_line
    return _find_line(Path(space), [key]) if space else None


def _space_line(space: str | Path | None, key: str) -> int | None:
    """The line of ``[parameters] "key"`` in a space file the user gave (None for the package's)."""
    from ..config.errors import _find_line
    return _find_line(Path(space), ["parameters", key]) if space else None


def search_sweep(scenario_path: str | Path = "scenarios/baseline.toml", space: str | Path | None = None,
                 samples: int = 32, replicates: int = 2, seed: int = 0) -> Sweep:
    """The search of :func:`calibrate` as a sweep: candidate 0 is the scenario's own values
    (clipped to the space), candidates 1.. the ``samples`` points of the Latin hypercube that
    a sweep with ``design = "lhs"``, ``root_seed = seed`` and the space's ranges draws.

    Raises :class:`~rechain.scenario.ScenarioError` naming the space file for a key that is
    not a number of the scenario or a bound that makes the scenario invalid.
    """
    dims, errors = _read_space(space)      # every mistake of the space told at once, below
    base = _base_dict(Path(scenario_path), {}, None)      # validated, defaults filled in
    fact_ids = _hold_to_own_facts(base, scenario_path)
    current = {}
    for d in dims:
        try:
            current[d.key] = _current_value(base, d, space)
        except ScenarioError as e:
            errors.append(e)
    for d in dims:                  # each bound must give a valid scenario, or candidates would fail
        for what, v in (("min", d.low), ("max", d.high)) if d.key in current else ():
            try:
                scenario_from_dict(deep_merge(base, _override([d], np.array([v]))))
            except ScenarioError as e:
                # a whole-number key sampled as a float: say how to sample it as a whole number
                hint = "; add integer = true to sample whole numbers" if not d.integer and \
                    isinstance(_raw_value(base, d.key), int) else ""
                errors.append(ScenarioError(_space_where(space), f"parameters.{d.key}",
                                            f"{what} {int(v) if d.integer else format(v, 'g')} gives an invalid "
                                            f"scenario: {e.detail}{hint}", line=_space_line(space, d.key),
                                            kind="out_of_range"))
                break               # the one bound is enough to tell the range
    if errors:
        raise ScenarioError.of(errors)
    current = [current[d.key] for d in dims]
    params = [Parameter(d.key, d.key, parse_path(d.key), "range", min=d.low, max=d.high,
                        dtype="int" if d.integer else "float", base_value=c) for d, c in zip(dims, current)]
    points, unit = designs.sample("lhs", params, samples, seed)
    own = [min(max(c, d.low), d.high) for d, c in zip(dims, current)]
    points = [{p.name: p.from_unit(x) for p, x in zip(params, own)}, *points]
    return Sweep(name=f"calibrate-{base['name']}-search", file=None, base_file=Path(scenario_path), base=base,
                 parameters=params, design="lhs", samples=samples, replicates=replicates, root_seed=seed,
                 kpis=[*fact_ids, *QUIET_COLUMNS], series=[], points=points, unit_points=[own, *unit],
                 description="rechain calibrate: the scenario's own values, then a Latin hypercube",
                 measure=_facts_and_quiet, common_seeds=True, source=_source_held_to_facts(Path(scenario_path), base),
                 leading_points=1)


def _table_sweep(search: Sweep, suffix: str, points: list[dict], replicates: int, root_seed: int, kpis: list[str],
                 measure, description: str) -> Sweep:
    """A later stage of the calibration: the given points as a table sweep over the search's
    scenario and parameters, with common seeds."""
    return Sweep(name=search.name.removesuffix("-search") + suffix, file=None, base_file=search.base_file,
                 base=search.base, parameters=search.parameters, design="table", samples=None,
                 replicates=replicates, root_seed=root_seed, kpis=kpis, series=[], points=points,
                 unit_points=None, description=description, measure=measure, common_seeds=True,
                 source=search.source)


def _final_sweep(search: Sweep, candidates: list[int], replicates: int, points: list[dict] | None = None) -> Sweep:
    """The finalists re-run with ``replicates`` fresh seeds (root seed one above the search's),
    the shock-free check included; ``points`` are all candidates' parameters (the search's by
    default)."""
    points = search.points if points is None else points
    return _table_sweep(search, "-final", [points[c] for c in candidates], replicates, search.root_seed + 1,
                        [*_fact_ids(search.base), *QUIET_COLUMNS], _facts_and_quiet,
                        f"rechain calibrate: candidates {candidates} of the search, fresh seeds")


def _worst_quiet(before, after: dict) -> dict:
    """A finalist's shock-free figures over the search's seeds (``before``) and the finals'
    fresh ones (``after``): the widest band, the largest cycle, stable only if stable on both."""
    def pick(f, a, b):
        both = [float(x) for x in (a, b) if not pd.isna(x)]
        return f(both) if both else math.nan
    return {"quiet_cv": pick(max, before["quiet_cv"], after["quiet_cv"]),
            "quiet_price_low": pick(min, before["quiet_price_low"], after["quiet_price_low"]),
            "quiet_price_high": pick(max, before["quiet_price_high"], after["quiet_price_high"]),
            "stable": bool(before["stable"]) and bool(after["stable"])}


def _unset_there(loaded: dict, key: str) -> bool:
    """Whether a searched key is an entry the scenario leaves unset (False where the path is
    wrong: :func:`_current_value` then says how)."""
    try:
        return is_unset_entry(loaded, parse_path(key))
    except PathError:
        return False


def also_sweep(search: Sweep, scenario_path: str | Path, stage: str, points: list[dict], replicates: int,
               root_seed: int) -> Sweep:
    """The candidates ``points`` on another scenario (``--also``: an era, say), held to that
    scenario's own facts table; ``stage`` names the stage (``search``, ``refine-000``, ``final``).
    Raises :class:`~rechain.scenario.ScenarioError` naming the file when a searched key is
    not a number there (a point that makes it invalid fails its runs, as in the search)."""
    path = Path(scenario_path)
    base = _base_dict(path, {}, None)
    for p in search.parameters:
        if not _unset_there(base, p.name):               # an entry left unset there is added
            _current_value(base, Dimension(p.name, float(p.min), float(p.max)), path)
    ids = _hold_to_own_facts(base, path)
    return Sweep(name=f"calibrate-{base['name']}-also-{stage}", file=None, base_file=path, base=base,
                 parameters=search.parameters, design="table", samples=None, replicates=replicates,
                 root_seed=root_seed, kpis=ids, series=[], points=points, unit_points=None,
                 description=f"rechain calibrate --{'holdout' if stage == 'holdout' else 'also'}: the candidates "
                             f"of stage {stage} on {base['name']}",
                 measure=_fact_values, common_seeds=True, source=_source_held_to_facts(path, base))


def check_held_facts(path: str | Path) -> None:
    """The facts table ``path``'s scenario is held to, checked as ``rechain check`` and
    ``validate`` check it (:func:`~rechain.experiments.validate.check_facts_for`: a selection the
    run cannot answer, a price target in another unit): a typo there would steer which
    candidate wins. Raises :class:`~rechain.experiments.validate.FactError`."""
    from .validate import check_facts_for, default_vocabulary, load_scenario_facts, package_facts_path
    sc = load_scenario(path)
    facts_path, facts = load_scenario_facts(sc, default_vocabulary(sc))
    check_facts_for(sc, facts, str(facts_path) if facts_path else package_facts_path())


def _load_mistakes(paths: list[Path]) -> list[ScenarioError]:
    """The mistakes of the scenario files ``paths`` that do not load, each file once."""
    out = []
    for path in dict.fromkeys(paths):
        try:
            load_scenario(path)
        except ScenarioError as e:
            out.append(e)
    return out


def check_also(search: Sweep, also: list[Path], holdout: list[Path] = ()) -> list[str]:
    """The names of the ``--also`` and then the ``--holdout`` scenarios, once each has been
    found to load, to have every searched key and a facts table that loads (else
    :class:`~rechain.scenario.ScenarioError` or :class:`~rechain.experiments.validate.FactError`
    naming the file); their runs are filed by name, so two of one name, or one of the
    calibrated scenario's name, are refused."""
    given = [*also, *holdout]
    names = [also_sweep(search, a, "check", search.points[:1], 1, 0).base["name"] for a in given]
    for i, (a, n) in enumerate(zip(given, names)):
        option = "--also" if i < len(also) else "--holdout"
        if n == search.base["name"]:
            # its facts would count twice (and its runs be filed beside the search's own)
            raise ScenarioError(a, "name", f"{n!r} is the name of the calibrated scenario itself, whose facts "
                                f"count already; allowed: other scenarios (an era, held-out records)", kind="invalid")
        if n in names[:i]:                   # named at the second of the two
            raise ScenarioError(a, "name", f"{n!r} is the name of another --also or --holdout scenario "
                                f"(given to {option} here); allowed: scenarios of different names", kind="invalid")
    return names


def _held_out(search: Sweep, holdout: list[Path], candidates: list[int], points: list[dict], replicates: int,
              root_seed: int, where: Path, resume: bool, run: dict) -> dict[int, dict]:
    """Run ``candidates`` on every ``--holdout`` scenario into ``where/holdout/<name>``: per
    candidate, ``holdout_<name>_required_reproduced`` and ``_required`` (and ``_facts_reproduced``,
    ``_facts``) by its replicate mean, the scores of records the search never saw."""
    out: dict[int, dict] = {c: {} for c in candidates}
    for path in holdout:
        sw = also_sweep(search, path, "holdout", [points[c] for c in candidates], replicates, root_seed)
        name = sw.base["name"]
        scores = _scores(_stage(sw, where / "holdout" / name, resume, **run), None, _run_facts(sw.base, path))
        for i, c in enumerate(candidates):
            for k in ("required_reproduced", "required", "facts_reproduced", "facts"):
                out[c][f"holdout_{name}_{k}"] = scores[i][k]
    return out


def fact_miss(fact, value: float) -> float:
    """How far ``value`` misses ``fact``, 0 when it is reproduced: beyond the tolerance in
    units of the tolerance for a number, per 10 percentage points (or 10 units) on the wrong
    side for a direction or a comparison with another series; 3 for a value that is missing."""
    if value is None or not math.isfinite(value):
        return 3.0
    c, t, tol = fact.comparison, fact.target, fact.tolerance
    if c == "within":
        return max(0.0, abs(value - t) - tol) / max(tol, 1e-9)
    if c == "at_least":
        return max(0.0, t - tol - value) / max(tol, abs(t) * 0.05, 1e-9)
    if c == "at_most":
        return max(0.0, value - t - tol) / max(tol, abs(t) * 0.05, 1e-9)
    if c in ("direction_up", "greater_than_other"):
        return 0.0 if value > tol else (tol - value + 1.0) / 10.0
    if c in ("direction_down", "less_than_other"):
        return 0.0 if value < -tol else (value + tol + 1.0) / 10.0
    return 0.0


def miss_loss(values: dict[str, float], facts, quiet: dict[str, float] | None = None,
              max_quiet_cv: float = 0.1) -> float:
    """A candidate's distance from the record: the sum of :func:`fact_miss` over the facts
    (required ones weigh 1, the others 0.3), plus, given the shock-free run's ``quiet``
    figures and when it is unstable, :data:`UNSTABLE_LOSS` and 10 per unit of log-distance of
    its prices outside :data:`PRICE_BAND` and 10 per ``max_quiet_cv`` of cycling beyond it.

    The flat :data:`UNSTABLE_LOSS` puts every unstable candidate behind every stable one, as
    the candidates' ranking does: with only the graded terms, a CMA-ES search found unstable
    points that miss the facts by less and spent its generations among them."""
    loss = sum(fact_miss(f, values.get(f.fact_id, math.nan)) * (1.0 if f.required else 0.3) for f in facts)
    if quiet is not None:
        lo, hi, cv = quiet.get("quiet_price_low", math.nan), quiet.get("quiet_price_high", math.nan), \
            quiet.get("quiet_cv", math.nan)
        if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(cv)):
            return loss + UNSTABLE_LOSS + 100.0
        drift = max(0.0, math.log(PRICE_BAND[0] / max(lo, 1e-9))) + max(0.0, math.log(hi / PRICE_BAND[1]))
        cycling = max(0.0, cv - max_quiet_cv) / max_quiet_cv
        if drift > 0 or cycling > 0:
            loss += UNSTABLE_LOSS + 10.0 * drift + 10.0 * cycling
    return float(loss)


def _losses(runs: pd.DataFrame, max_quiet_cv: float, facts) -> dict[int, float]:
    """:func:`miss_loss` of each design point's replicate mean against ``facts`` (a failed
    run: a large loss)."""
    ids = [f.fact_id for f in facts]
    out = {}
    for point, g in runs.groupby("point_id"):
        if (g["status"] != "ok").any():
            out[int(point)] = 1e6
            continue
        values = g[ids].mean().to_dict()
        quiet = {"quiet_cv": float(g["quiet_cv"].max()), "quiet_price_low": float(g["quiet_price_low"].min()),
                 "quiet_price_high": float(g["quiet_price_high"].max())} if "quiet_cv" in g else None
        out[int(point)] = miss_loss(values, facts, quiet, max_quiet_cv)
    return out


def _also_stage(search: Sweep, also: list[Path], stage: str, points: list[dict], replicates: int, root_seed: int,
                where: Path, resume: bool, run: dict) -> list[tuple[str, dict, dict]]:
    """Run ``points`` on every ``--also`` scenario into ``where/also/<name>/<stage>``; returns
    each one's name, :func:`_scores` and :func:`_losses` (its own facts, no shock-free check)."""
    out = []
    for path in also:
        sw = also_sweep(search, path, stage, points, replicates, root_seed)
        facts = _run_facts(sw.base, path)
        runs = _stage(sw, where / "also" / sw.base["name"] / stage, resume, **run)
        out.append((sw.base["name"], _scores(runs, None, facts), _losses(runs, 0.0, facts)))
    return out


def _merge(scores: dict[int, dict], losses: dict[int, float], extra: list[tuple[str, dict, dict]]) -> None:
    """Add each ``--also`` scenario's facts to every point's counts and loss (in place); its
    missed required facts are listed as ``name:fact``."""
    for name, also_scores, also_losses in extra:
        for point, s in scores.items():
            a = also_scores[point]
            for k in ("required_reproduced", "required", "facts_reproduced", "facts"):
                s[k] += a[k]
            missed = " ".join(f"{name}:{fid}" for fid in a["failing_required"].split())
            s["failing_required"] = " ".join(x for x in (s["failing_required"], missed) if x)
            losses[point] += also_losses[point]


def _refine_sweep(search: Sweep, points: list[dict], generation: int) -> Sweep:
    """One CMA-ES generation as a sweep: the given points with the search's seeds."""
    return _table_sweep(search, f"-refine-{generation:03d}", points, search.replicates, search.root_seed,
                        search.kpis, _facts_and_quiet, f"rechain calibrate: CMA-ES generation {generation}")


def _refine(search: Sweep, dims: list[Dimension], start: dict, generations: int, popsize: int, sigma: float,
            seed: int, where: Path, resume: bool, max_quiet_cv: float, run: dict, facts,
            also=None) -> list[tuple[list[dict], dict, dict]]:
    """CMA-ES from ``start`` over the space scaled to the unit cube, on the summed loss of the
    scenario and the ``also(stage, points)`` scenarios; returns each generation's points,
    scores and losses."""
    import cma

    lo = np.array([d.low for d in dims])
    span = np.array([d.high - d.low for d in dims])
    x0 = np.clip((np.array([start[d.key] for d in dims]) - lo) / span, 0.0, 1.0)
    es = cma.CMAEvolutionStrategy(x0, sigma, {"popsize": popsize, "seed": seed + 1, "bounds": [0.0, 1.0],
                                              "verbose": -9})
    done = []
    for gen in range(generations):
        xs = es.ask()
        points = [{d.key: (int(round(v)) if d.integer else float(v)) for d, v in zip(dims, lo + np.clip(x, 0, 1) * span)}
                  for x in xs]
        runs = _stage(_refine_sweep(search, points, gen), where / f"gen-{gen:03d}", resume, **run)
        scores, losses = _scores(runs, max_quiet_cv, facts), _losses(runs, max_quiet_cv, facts)
        if also is not None:
            _merge(scores, losses, also(f"refine-{gen:03d}", points))
        es.tell(xs, [losses[i] for i in range(len(points))])
        done.append((points, scores, losses))
        if run.get("echo"):
            run["echo"](f"CMA-ES generation {gen}: best loss {min(losses.values()):.2f}")
    return done


def _scores(runs: pd.DataFrame, max_quiet_cv: float | None, facts=None) -> dict[int, dict]:
    """Per design point: the ``facts`` (default: the package's table) its replicate mean
    reproduces and (with ``max_quiet_cv``) whether it is stable; a failed run counts as
    reproducing nothing and as unstable."""
    from .validate import judge
    facts = {f.fact_id: f for f in (_facts_of(None) if facts is None else facts)}
    req = [fid for fid, f in facts.items() if f.required]
    runs = runs.copy()
    runs.loc[runs["status"] != "ok", list(facts)] = np.nan
    out = {}
    for point, g in runs.groupby("point_id"):
        values = g[list(facts)].mean()      # over the runs that finished, as validate's mean
        ok = {fid: bool(judge(facts[fid], v)) if np.isfinite(v) else False for fid, v in values.items()}
        s = {"replicates": int(len(g)), "required_reproduced": sum(ok[fid] for fid in req), "required": len(req),
             "facts_reproduced": sum(ok.values()), "facts": len(facts),
             "failing_required": " ".join(fid for fid in req if not ok[fid])}
        if max_quiet_cv is not None:
            done = (g["status"] == "ok").all()
            s["quiet_cv"] = float(g["quiet_cv"].max()) if done else math.nan
            s["quiet_price_low"] = float(g["quiet_price_low"].min()) if done else math.nan
            s["quiet_price_high"] = float(g["quiet_price_high"].max()) if done else math.nan
            s["stable"] = bool(done and s["quiet_cv"] <= max_quiet_cv and PRICE_BAND[0] <= s["quiet_price_low"]
                               and s["quiet_price_high"] <= PRICE_BAND[1])
        out[int(point)] = s
    return out


def _stage(sw: Sweep, out: Path, resume: bool, **run) -> pd.DataFrame:
    """Run one stage of the calibration into ``out`` and return its runs table."""
    old = sweep_manifest(out)
    if resume and old is not None and old.get("spec_sha256") != sw.spec_hash():
        from ..outputs import output_kind
        root = next((p for p in out.parents if output_kind(p) == "calibration"), out.parent)
        stage = out.relative_to(root).as_posix() if out.is_relative_to(root) else out.name
        raise ScenarioError(root, "", f"holds a calibration made with other settings: its {stage} stage's runs differ "
                            f"from the ones asked for now ({what_changed(old, sw.manifest())}); resume it with the "
                            f"options it was made with (the scenario and its facts table, --space, --samples, --replicates, --refine, "
                            f"--popsize, --finalists, --final-replicates, --also, --holdout, --seed), or run into "
                            f"another --out", kind="resume_mismatch")
    execute(sw, out=out, resume=resume, **run)
    return load_results(out, columns=["point_id", *sw.kpis, "status"])[0]


def calibrate(scenario_path: str | Path = "scenarios/baseline.toml", space: str | Path | None = None,
              samples: int = 32, replicates: int = 2, finalists: int = 4, final_replicates: int = 10,
              workers: int = 2, seed: int = 0, max_quiet_cv: float = 0.1, *, out: str | Path | None = None,
              scheduler: str | None = None, resume: bool = False, progress: bool = False,
              echo=None, refine: int = 0, popsize: int = 8, sigma: float = 0.15,
              also: list[str | Path] = (), holdout: list[str | Path] = ()) -> pd.DataFrame:
    """Latin-hypercube search, then the finalists again; returns one row per candidate, best first.

    Candidates whose shock-free chain cycles or drifts (see :func:`quiet_drift`;
    ``quiet_cv`` above ``max_quiet_cv`` or a price outside :data:`PRICE_BAND` on any
    replicate) are ranked after all stable ones. The runs go to ``out/search/`` and
    ``out/final/`` (sweep folders; ``resume`` carries on an interrupted calibration there),
    or to a temporary folder when ``out`` is None. ``workers``, ``scheduler``: see
    :func:`rechain.experiments.sweep.execute`. ``refine``, ``popsize``, ``sigma``: CMA-ES
    generations after the hypercube (0: none), points per generation, initial step (a share
    of each range). ``also``: other scenarios (eras, say) every candidate is run on too, each
    held to its own facts table: their facts add to the counts and the loss (the shock-free
    check stays the scenario's), so the set found must do well on all of them. ``holdout``:
    scenarios of records kept out of the search (:func:`_held_out`): the finalists and the
    scenario's own values (candidate 0) run on each with the finalists' seeds, their scores
    reported in ``holdout_<name>_*`` columns and never used to rank, so a set that fits the
    facts by fitting their noise shows as one that does worse on records it never saw.
    """
    search = search_sweep(scenario_path, space, samples, replicates, seed)
    facts = _run_facts(search.base, scenario_path)
    dims = load_space(space)
    also, holdout = [Path(a) for a in also], [Path(h) for h in holdout]
    check_also(search, also, holdout)
    run = dict(workers=workers, scheduler=scheduler, progress=progress, echo=echo)
    order = ["stable", "required_reproduced", "facts_reproduced", "loss"]
    with tempfile.TemporaryDirectory(prefix="rechain-calibrate-") as tmp:
        where = Path(out) if out is not None else Path(tmp)

        def also_runs(stage: str, pts: list[dict], reps: int = search.replicates, root: int = search.root_seed):
            return _also_stage(search, also, stage, pts, reps, root, where, resume, run)

        runs = _stage(search, where / "search", resume, **run)
        scores, losses = _scores(runs, max_quiet_cv, facts), _losses(runs, max_quiet_cv, facts)
        points = list(search.points)
        _merge(scores, losses, also_runs("search", points))
        rows = [{"candidate": c, **scores[c], "loss": losses[c], **{d.key: points[c][d.key] for d in dims}}
                for c in range(search.n_points)]
        if refine > 0:
            best = min(rows, key=lambda r: r["loss"])
            for gen_points, gen_scores, gen_losses in _refine(
                    search, dims, points[best["candidate"]], refine, popsize, sigma, seed, where / "refine", resume,
                    max_quiet_cv, run, facts, also_runs if also else None):
                for j, pt in enumerate(gen_points):
                    rows.append({"candidate": len(points), **gen_scores[j], "loss": gen_losses[j], **pt})
                    points.append(pt)
        table = pd.DataFrame(rows).sort_values(order, ascending=[False, False, False, True], kind="stable")
        top = [int(c) for c in table["candidate"].head(finalists)]
        final = _scores(_stage(_final_sweep(search, top, final_replicates, points), where / "final", resume, **run),
                        max_quiet_cv, facts)
        _merge(final, dict.fromkeys(final, 0.0),
               also_runs("final", [points[c] for c in top], final_replicates, search.root_seed + 1))
        held = _held_out(search, holdout, sorted({0, *top}), points, final_replicates, search.root_seed + 1,
                         where, resume, run) if holdout else {}
    for i, c in enumerate(top):
        row = table["candidate"] == c
        # a finalist is stable only if its shock-free chain held on the fresh seeds too: two
        # seeds of the search let through sets that left the band on others
        worst = _worst_quiet(table.loc[row].iloc[0], final[i])
        for k, v in {**final[i], **worst}.items():
            table.loc[row, k] = v
    for c, scores in held.items():
        for k, v in scores.items():
            table.loc[table["candidate"] == c, k] = v
    table["finalist"] = table["candidate"].isin(top)
    return table.sort_values(["stable", "finalist", "replicates", "required_reproduced", "facts_reproduced", "loss"],
                             ascending=[False, False, False, False, False, True], kind="stable").reset_index(drop=True)


def finalist_lines(table: pd.DataFrame) -> list[str]:
    """One comment line for best.toml when the best candidate is not a finalist: every
    finalist left the shock-free band on its fresh seeds, so the best is a candidate of the
    search, checked on the search's seeds only."""
    row = table.iloc[0]
    if "finalist" not in table or bool(row["finalist"]) or not bool(row["stable"]):
        return []
    return [f"# NOTE: every finalist left the shock-free band on its fresh seeds; this is the best candidate "
            f"of the search, checked on its {int(row['replicates'])} seed{'' if int(row['replicates']) == 1 else 's'} "
            f"only (more --finalists re-run more candidates)."]


def best_scenario(table: pd.DataFrame, dims: list[Dimension], scenario_path: str | Path, out_dir: str | Path,
                  name: str) -> str:
    """The best candidate as a what-if of the calibrated scenario: ``extends`` it by a path
    relative to ``out_dir`` (where the file is written), so that it loads from there, and
    sets the searched parameters. Its tables can also be pasted into the scenario itself."""
    row = table.iloc[0]
    groups: dict[str, list[str]] = {}
    for d in dims:
        head, _, leaf = d.key.rpartition(".")
        v = row[d.key]
        # repr: the shortest text that reads back as the same float, so the file reruns the candidate scored
        groups.setdefault(head, []).append(f"{leaf} = {int(v) if d.integer else repr(float(v))}")
    target = Path(scenario_path).resolve()
    try:
        parent = Path(os.path.relpath(target, Path(out_dir).resolve())).as_posix()
    except ValueError:      # another drive (Windows): no relative path exists
        parent = target.as_posix()
    unstable = [] if bool(row["stable"]) else [
        f"# WARNING: no candidate passed the shock-free check (this one: prices {row['quiet_price_low']:.2f}x to "
        f"{row['quiet_price_high']:.2f}x of their start over ten years, cycle {row['quiet_cv']:.3f}); do not use it "
        f"as a baseline without looking at why."]
    lines = [f"# rechain calibrate: {int(row['required_reproduced'])}/{int(row['required'])} required and "
             f"{int(row['facts_reproduced'])}/{int(row['facts'])} facts over {int(row['replicates'])} "
             f"seed{'' if int(row['replicates']) == 1 else 's'}.",
             *held_out_lines(table),
             *finalist_lines(table),
             *unstable,
             "# Run it as it is, or paste the tables below into the scenario it extends.",
             f"extends = {json.dumps(parent)}", f"name = {json.dumps(name)}", *groups.pop("", [])]
    for head, items in groups.items():
        lines += ["", f"[{head}]", *items]
    return "\n".join(lines) + "\n"


def held_out_lines(table: pd.DataFrame) -> list[str]:
    """One comment line per ``--holdout`` scenario for best.toml: what the best candidate and
    the scenario's own values (candidate 0) reproduce of its records, never used to choose."""
    names = [c.removeprefix("holdout_").removesuffix("_required_reproduced") for c in table.columns
             if c.startswith("holdout_") and c.endswith("_required_reproduced")]
    if not names:
        return []
    best, own = table.iloc[0], table[table["candidate"] == 0].iloc[0]

    def score(row, name: str) -> str:
        got, of = row[f"holdout_{name}_required_reproduced"], row[f"holdout_{name}_required"]
        return "not scored (not a finalist)" if pd.isna(got) else f"{int(got)}/{int(of)}"
    return [f"# held out (never used to choose): {name} {score(best, name)} required, the scenario's own "
            f"values {score(own, name)}" for name in names]


def _check_calibration_out(out: Path, resume: bool) -> None:
    """Raise unless ``calibrate`` may write to ``out``: a new or empty folder, or (``resume``)
    an earlier calibration. Writes nothing."""
    from ..outputs import MARKER, check_output_dir, check_writable, refuse_edited

    try:
        marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        marker = None
    if isinstance(marker, dict) and marker.get("kind") == "calibration":
        if not resume:
            raise ScenarioError(out, "", "already holds a calibration; pass --resume (resume=True in Python) to continue it, or choose "
                                "another --out", kind="out_exists")
        refuse_edited(out, "calibration")     # best.toml or candidates.csv edited since
        check_writable(out)
        return
    check_output_dir(out, "calibration", replace=False)


def _options_given(**options) -> str:
    """The options of a calibration as a command line repeats them (`` --samples 4 --also era.toml``,
    quoted for the shell where needed), the ones left at None (or empty) out: a resume must give
    the same."""
    import shlex
    words = []
    for name, value in options.items():
        for one in (value if isinstance(value, (list, tuple)) else [value]):
            if one is not None:
                words.append(f" --{name.replace('_', '-')} {shlex.quote(str(one))}")
    return "".join(words)


def _write_atomic_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@click.command("calibrate")
@click.argument("scenario", required=False, default="scenarios/baseline.toml",
                type=NonEmptyPath(dir_okay=False, path_type=Path))
@click.option("--space", type=NonEmptyPath(dir_okay=False, path_type=Path), default=None,
              help="parameter ranges (default: the packaged calibration_space.toml)")
@click.option("--samples", default=32, show_default=True, type=WholeNumber(1, MAX_CANDIDATES),
              help="Latin-hypercube candidates")
@click.option("--replicates", default=2, show_default=True, type=WholeNumber(1, MAX_SEEDS),
              help="seeds per candidate in the search")
@click.option("--finalists", default=4, show_default=True, type=WholeNumber(1, MAX_CANDIDATES),
              help="best candidates re-run with more seeds")
@click.option("--final-replicates", default=10, show_default=True, type=WholeNumber(1, MAX_SEEDS))
@click.option("--workers", default=2, show_default=True, type=WholeNumber(1, MAX_WORKERS))
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="run on Dask: a scheduler address (tcp://host:8786) or 'local' for a local cluster")
@click.option("--seed", default=0, show_default=True, type=WholeNumber(min=0), help="seed of the sample design")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path), default=None,
              help="output folder (default outputs/calibration-<scenario>)")
@click.option("--resume", is_flag=True, help="continue an interrupted calibration in --out, skipping finished runs")
@click.option("--refine", default=0, show_default=True, type=WholeNumber(0, MAX_GENERATIONS),
              help="CMA-ES generations refining the best candidate of the hypercube (0: none)")
@click.option("--popsize", default=8, show_default=True, type=WholeNumber(2, MAX_SEEDS),
              help="points per CMA-ES generation")
@click.option("--also", "also", multiple=True, type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="another scenario (an era, say) every candidate also runs on, held to its own facts (repeatable)")
@click.option("--holdout", "holdout", multiple=True, type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="a scenario of held-out records (repeatable): the finalists and the scenario's own values "
                   "are scored on its facts, never used to choose")
@click.option("--quiet", is_flag=True, help="no progress bars")
def calibrate_command(scenario, space, samples, replicates, finalists, final_replicates, workers, scheduler, seed,
                      out_dir, resume, refine, popsize, also, holdout, quiet):
    """Search behavioural parameters of SCENARIO to reproduce the most facts.

    The runs stream to OUT/search/ and OUT/final/ (sweep folders, Parquet), those of each
    --also scenario to OUT/also/<name>/ and of each --holdout scenario to OUT/holdout/<name>/;
    Ctrl-C keeps what is finished, and --resume carries on.
    """
    from ..outputs import begin_output, default_folder, restamp
    from .validate import FactError

    sc = load_scenario(scenario)
    out_dir = out_dir or Path("outputs") / default_folder(f"calibration-{sc.name}")
    try:
        # the space's, the facts tables' and the --also scenarios' mistakes before any folder
        try:
            search = search_sweep(scenario, space, samples, replicates, seed)
        except ScenarioError as e:
            # the --also and --holdout files' own mistakes beside the space's (whether they
            # hold the searched keys waits for a space that loads)
            raise ScenarioError.of([*e.errors, *(one for bad in _load_mistakes([*also, *holdout])
                                                 for one in bad.errors)]) from None
        check_also(search, list(also), list(holdout))
        told = []             # every table's mistakes at once
        for held in (scenario, *also, *holdout):
            try:
                check_held_facts(held)
            except FactError as one:
                told.append(str(one))
        if told:
            raise FactError("\n".join(told))
        dims = load_space(space)
    except FactError as e:
        e.tell()
        sys.exit(2)
    _check_calibration_out(out_dir, resume)
    try:
        # an error before any run (a scheduler that cannot be reached) takes back the new folder
        with begin_output(out_dir, "calibration", files=list(CALIBRATION_FILES), open_=True), \
                sigterm_as_interrupt():
            table = calibrate(scenario, space, samples, replicates, finalists, final_replicates, workers, seed,
                              out=out_dir, scheduler=scheduler, resume=resume, progress=not quiet,
                              echo=None if quiet else click.echo, refine=refine, popsize=popsize, also=also,
                              holdout=holdout)
    except (KeyboardInterrupt, ClusterLost) as e:
        where = f" --scheduler {scheduler}" if scheduler is not None else ""
        same = _options_given(samples=samples, replicates=replicates, finalists=finalists,
                              final_replicates=final_replicates, seed=seed, refine=refine, popsize=popsize,
                              space=space, also=also, holdout=holdout, workers=workers if scheduler is None else None)
        again = f"`rechain calibrate {shlex.quote(str(scenario))}{same} --out {shlex.quote(str(out_dir))}{where} --resume`"
        if any(out_dir.glob("*/runs/part-*.parquet")):     # a stage's finished batches
            exit_stopped(e, f"the runs finished so far are in {out_dir}; continue with {again}")
        exit_stopped(e, f"no run had finished, so {out_dir} holds none yet; start again with {again}")
    _write_atomic_text(table.to_csv(index=False), out_dir / "candidates.csv")
    best = best_scenario(table, dims, scenario, out_dir, derived_name(sc.name, "_calibrated"))
    _write_atomic_text(best, out_dir / "best.toml")
    restamp(out_dir, ["candidates.csv", "best.toml"])
    cols = ["candidate", "stable", "quiet_cv", "quiet_price_low", "quiet_price_high", "replicates",
            "required_reproduced", "facts_reproduced", "loss", "failing_required"]
    with pd.option_context("display.width", 180):
        click.echo(table[cols].head(10).to_string(index=False))
    for line in held_out_lines(table):
        click.echo(line.removeprefix("# "))
    for line in finalist_lines(table):
        click.echo("warning: " + line.removeprefix("# NOTE: "), err=True)
    click.echo(f"\nbest set written to {out_dir}/best.toml")
    if not bool(table.iloc[0]["stable"]):
        click.echo("warning: no candidate passed the shock-free check (columns stable, quiet_*); best.toml says so "
                   "in its header", err=True)
    _warn_failed_runs(out_dir)


def _warn_failed_runs(out_dir: Path) -> None:
    """One warning line when runs failed: a failed run scores as missing every fact, so a
    candidate table of failures looks like a search that found nothing."""
    failed = {t: pd.read_csv(t) for t in sorted(out_dir.rglob("errors.csv"))}
    failed = {t: f for t, f in failed.items() if len(f)}
    if failed:
        reason = str(next(iter(failed.values()))["error"].iloc[0]).splitlines()[0]
        where = ", ".join(str(t.relative_to(out_dir)) for t in failed)
        click.echo(f"warning: {sum(len(f) for f in failed.values())} runs failed (first: {reason}); "
                   f"listed in {where} under {out_dir}", err=True)
