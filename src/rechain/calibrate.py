"""``rechain calibrate``: search behavioural parameters for the set that reproduces most facts.

A Latin-hypercube sample of the parameter space (``data/calibration_space.toml`` or a file
of the same form) is run with a few seeds each through the same machinery as
``rechain validate``; each candidate is scored by the required facts it reproduces (the
mean over seeds within tolerance), then by all facts. The best candidates are re-run with
more seeds. Writes ``outputs/calibration-<scenario>/``: every candidate's parameters and
score (``candidates.csv``), and the best set as a what-if that extends the calibrated
scenario (``best.toml``: runs as it is, or its tables can be pasted into the scenario).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click
import numpy as np
import pandas as pd

from .scenario import ScenarioError, _resolve, deep_merge, load_scenario, read_toml_file, scenario_from_dict

__all__ = ["load_space", "calibrate", "calibrate_command"]


@dataclass(frozen=True)
class Dimension:
    key: str           # dotted path under the scenario, e.g. "behaviour.restock_strength"
    low: float
    high: float
    integer: bool = False


def load_space(path: str | Path | None = None) -> list[Dimension]:
    """Parameter ranges: ``[parameters] "behaviour.x" = {min = .., max = ..}``."""
    what = "a calibration space: [parameters] \"behaviour.x\" = { min = ..., max = ... }"
    if path is None:
        with resources.as_file(resources.files("rechain").joinpath("data/calibration_space.toml")) as packaged:
            data = read_toml_file(packaged, what)
        where: str | Path = "data/calibration_space.toml"
    else:
        data, where = read_toml_file(path, what), path
    extra = sorted(set(data) - {"parameters"})
    if extra:
        raise ScenarioError(where, extra[0], f"unknown key; allowed: {what}", kind="unknown_key")
    params = data.get("parameters", {})
    if not isinstance(params, dict):
        raise ScenarioError(where, "parameters", f"given {params!r}; allowed: {what}", kind="type")
    dims = []
    for key, spec in params.items():
        if not isinstance(spec, dict) or "min" not in spec or "max" not in spec or set(spec) - {"min", "max", "integer"}:
            raise ScenarioError(where, f"parameters.{key}", f"given {spec!r}; allowed: {{min = ..., max = ...}} "
                                f"with an optional integer = true", kind="type")
        lo, hi = spec["min"], spec["max"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
            raise ScenarioError(where, f"parameters.{key}", f"given min {lo!r} and max {hi!r}; allowed: numbers",
                                kind="type")
        if not lo < hi:
            raise ScenarioError(where, f"parameters.{key}", f"given min {lo} and max {hi}; allowed: min below max",
                                kind="out_of_range")
        dims.append(Dimension(key, float(lo), float(hi), bool(spec.get("integer", False))))
    if not dims:
        raise ScenarioError(where, "parameters", f"no parameters to calibrate; allowed: {what}", kind="missing_key")
    return dims


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


def _evaluate(args) -> pd.DataFrame:
    """Worker: run one (candidate, seed) and evaluate every fact on its monthly table."""
    base, over, seed = args
    from .results import run
    from .validate import evaluate, load_facts
    sc = scenario_from_dict(deep_merge(base, over))
    table = run(sc, seed=seed).monthly
    return evaluate(load_facts(), table)


def _quiet_cv(args) -> float:
    """Worker: coefficient of variation of monthly magnet output, months 7.. of a shock-free
    run (a parameter set whose chain cycles on its own shows up here)."""
    base, over, seed = args
    from .report import magnet_output
    from .results import run
    from .scenario import quiet_variant
    table = run(scenario_from_dict(quiet_variant(deep_merge(base, over))), seed=seed).monthly
    blanks = magnet_output(table).iloc[6:]
    return float(blanks.std() / blanks.mean())


def _score(per_seed: list[pd.DataFrame]) -> dict[str, float]:
    from .validate import judge, load_facts
    facts = {f.fact_id: f for f in load_facts()}
    values = pd.concat([d[["fact_id", "value"]] for d in per_seed]).groupby("fact_id")["value"].mean()
    req = [fid for fid, f in facts.items() if f.required]
    ok = {fid: bool(judge(facts[fid], v)) if np.isfinite(v) else False for fid, v in values.items()}
    return {"required_reproduced": sum(ok.get(fid, False) for fid in req), "required": len(req),
            "facts_reproduced": sum(ok.values()), "facts": len(facts),
            "failing_required": " ".join(fid for fid in req if not ok.get(fid, False))}


def _current_value(loaded: dict, d: Dimension, space: str | Path | None) -> float:
    """The scenario's value of a searched parameter (raises if the key is not a number there)."""
    node: object = loaded
    for p in d.key.split("."):
        node = node.get(p) if isinstance(node, dict) else None
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise ScenarioError(space or "data/calibration_space.toml", f"parameters.{d.key}",
                            f"is not a numeric key of the scenario (it holds {node!r}); allowed: a dotted path "
                            f"to a number, such as \"behaviour.w_news\"", kind="unknown_key")
    return float(node)


def calibrate(scenario_path: str | Path = "scenarios/baseline.toml", space: str | Path | None = None,
              samples: int = 32, replicates: int = 2, finalists: int = 4, final_replicates: int = 5,
              workers: int = 2, seed: int = 0, max_quiet_cv: float = 0.1) -> pd.DataFrame:
    """Latin-hypercube search; returns one row per candidate, best first.

    Candidates whose shock-free chain cycles (coefficient of variation of monthly magnet
    output above ``max_quiet_cv`` on either of two seeds) are ranked after all stable ones.
    """
    from scipy.stats import qmc

    dims = load_space(space)
    base = _resolve(Path(scenario_path))[0]
    base.setdefault("name", Path(scenario_path).stem)     # as load_scenario names it
    unit = qmc.LatinHypercube(d=len(dims), seed=np.random.default_rng(seed)).random(samples)
    lows = np.array([d.low for d in dims])
    highs = np.array([d.high for d in dims])
    points = lows + unit * (highs - lows)
    # the scenario's own values are candidate 0, so the search can only improve on them
    loaded = scenario_from_dict(base).model_dump()   # with the schema's defaults filled in
    current = [_current_value(loaded, d, space) for d in dims]
    for d in dims:                  # each bound must give a valid scenario, or candidates would fail
        for what, v in (("min", d.low), ("max", d.high)):
            try:
                scenario_from_dict(deep_merge(base, _override([d], np.array([v]))))
            except ScenarioError as e:
                raise ScenarioError(space or "data/calibration_space.toml", f"parameters.{d.key}",
                                    f"{what} {v:g} gives an invalid scenario: {e.detail}", kind="out_of_range") from None
    points = np.vstack([np.clip(current, lows, highs), points])
    overs = [_override(dims, pt) for pt in points]
    ctx = mp.get_context("spawn")

    from tqdm import tqdm

    def pmap(fn, jobs, desc):
        bar = dict(total=len(jobs), desc=desc, unit="run", delay=2.0, leave=False, disable=None)
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
                return list(tqdm(ex.map(fn, jobs), **bar))
        return [fn(j) for j in tqdm(jobs, **bar)]

    def run_all(cands: list[int], reps: int, desc: str) -> dict[int, dict]:
        res = pmap(_evaluate, [(base, overs[c], s) for c in cands for s in range(reps)], desc)
        return {c: _score(res[i * reps:(i + 1) * reps]) for i, c in enumerate(cands)}

    cands = list(range(len(points)))
    cv = pmap(_quiet_cv, [(base, overs[c], s) for c in cands for s in (5, 6)], "calibrate: quiet-chain check")
    scores = run_all(cands, replicates, "calibrate: candidates")
    for i, c in enumerate(cands):
        scores[c]["quiet_cv"] = max(cv[2 * i], cv[2 * i + 1])
        scores[c]["stable"] = scores[c]["quiet_cv"] <= max_quiet_cv
    rows = [{"candidate": c, "replicates": replicates, **scores[c],
             **{d.key: (int(round(v)) if d.integer else float(v)) for d, v in zip(dims, points[c])}}
            for c in scores]
    table = pd.DataFrame(rows).sort_values(["stable", "required_reproduced", "facts_reproduced"],
                                           ascending=False)
    top = table["candidate"].head(finalists).tolist()
    final = run_all(top, final_replicates, "calibrate: finalists")
    for c, s in final.items():
        for k, v in s.items():
            table.loc[table["candidate"] == c, k] = v
        table.loc[table["candidate"] == c, "replicates"] = final_replicates
    return table.sort_values(["stable", "replicates", "required_reproduced", "facts_reproduced"],
                             ascending=False).reset_index(drop=True)


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
        groups.setdefault(head, []).append(f"{leaf} = {int(v) if d.integer else round(float(v), 4)}")
    target = Path(scenario_path).resolve()
    try:
        parent = Path(os.path.relpath(target, Path(out_dir).resolve())).as_posix()
    except ValueError:      # another drive (Windows): no relative path exists
        parent = target.as_posix()
    lines = [f"# rechain calibrate: {int(row['required_reproduced'])}/{int(row['required'])} required and "
             f"{int(row['facts_reproduced'])}/{int(row['facts'])} facts over {int(row['replicates'])} seeds.",
             "# Run it as it is, or paste the tables below into the scenario it extends.",
             f"extends = {json.dumps(parent)}", f"name = {json.dumps(name)}", *groups.pop("", [])]
    for head, items in groups.items():
        lines += ["", f"[{head}]", *items]
    return "\n".join(lines) + "\n"


@click.command("calibrate")
@click.argument("scenario", required=False, default="scenarios/baseline.toml",
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--space", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="parameter ranges (default: the packaged calibration_space.toml)")
@click.option("--samples", default=32, show_default=True, type=click.IntRange(min=1), help="Latin-hypercube candidates")
@click.option("--replicates", default=2, show_default=True, type=click.IntRange(min=1), help="seeds per candidate in the search")
@click.option("--finalists", default=4, show_default=True, type=click.IntRange(min=1), help="best candidates re-run with more seeds")
@click.option("--final-replicates", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1, max=64))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="seed of the sample design")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def calibrate_command(scenario, space, samples, replicates, finalists, final_replicates, workers, seed, out_dir):
    """Search behavioural parameters of SCENARIO to reproduce the most facts."""
    from .outputs import check_output_dir, output_dir

    sc = load_scenario(scenario)
    dims = load_space(space)
    out_dir = check_output_dir(out_dir or Path("outputs") / f"calibration-{sc.name}", "calibration")
    table = calibrate(scenario, space, samples, replicates, finalists, final_replicates, workers, seed)
    with output_dir(out_dir, "calibration") as tmp:
        table.to_csv(tmp / "candidates.csv", index=False)
        (tmp / "best.toml").write_text(best_scenario(table, dims, scenario, out_dir, f"{sc.name}_calibrated"))
    cols = ["candidate", "stable", "quiet_cv", "replicates", "required_reproduced", "facts_reproduced",
            "failing_required"]
    with pd.option_context("display.width", 160):
        click.echo(table[cols].head(10).to_string(index=False))
    click.echo(f"\nbest set written to {out_dir}/best.toml")
