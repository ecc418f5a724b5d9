"""Sweep benchmark: throughput, parallel efficiency, mesa.batch_run, and memory at scale.

Measures, on short versions of ``tests/data/tiny.toml`` (six months, few firms):

1. **Throughput**: runs/s of ``rechain.sweep.execute`` with 1 worker (in this process)
   and with 2 worker processes, wall time including pool start-up and Parquet writing;
   parallel efficiency = (runs/s with 2) / (2 x runs/s with 1).
2. **mesa.batch_run** on as many runs (same parameter levels, distinct seeds, the same
   work per run: model, monthly table, KPIs), with 1 and 2 processes, through a small
   mesa-compatible subclass of ``ChainModel`` that takes keyword parameters.
3. **Memory**: peak resident set size of a sweep of 100 and of 2,000 runs of a
   one-month scenario, each in a fresh subprocess (``resource.getrusage``): the main
   process (which writes the results) and the largest worker. "Flat" means the
   2,000-run peak is about the 100-run peak. For reference, the peak RSS of
   ``mesa.batch_run`` (which holds every result in memory) on the same runs.

Absolute figures depend on the machine and on its load; compare within one run.

Usage: python benchmarks/bench_sweep.py [--runs 60] [--memory-runs 100 2000] [--json OUT]
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mesa

from rechain.model import ChainModel
from rechain.report import kpis, monthly_table
from rechain.scenario import scenario_from_dict
from rechain.sweep import execute, load_results, load_sweep, run_seed

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.toml"
LEVELS = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0]


def spec(runs: int, end: dt.date, spin_up: int | None = None, series: bool = True) -> dict:
    """A grid sweep of ``runs`` runs: 10 restock strengths x runs/10 replicates."""
    over: dict = {"end": end}
    if spin_up is not None:
        over["spin_up_weeks"] = spin_up
    return {"name": f"bench{runs}", "base": str(TINY), "design": "grid", "replicates": max(1, runs // len(LEVELS)),
            "root_seed": 1, "overrides": over,
            "parameters": {"behaviour.restock_strength": {"levels": LEVELS}},
            "outputs": {"kpis": ["price_peak_prnd_oxide", "magnet_output_2024_t", "exports_2024_t"],
                        "series": [{"variable": "price", "product": "prnd_oxide"}] if series else []}}


# --- mesa.batch_run wrapper -------------------------------------------------------------
_BASE: dict | None = None


def _base() -> dict:
    global _BASE
    if _BASE is None:
        _BASE = load_sweep(spec(10, dt.date(2024, 3, 31))).base
    return _BASE


class BatchChain(ChainModel):
    """ChainModel with keyword parameters, as ``mesa.batch_run`` constructs models.

    Computes the same KPIs as a sweep run when the last week is done.
    """

    def __init__(self, restock_strength: float = 1.0, seed: int | None = None, end: str = "2024-03-31",
                 spin_up_weeks: int | None = None):
        d = copy.deepcopy(_base())
        d["behaviour"]["restock_strength"] = restock_strength
        d["end"] = dt.date.fromisoformat(end)
        if spin_up_weeks is not None:
            d["spin_up_weeks"] = spin_up_weeks
        super().__init__(scenario_from_dict(d), seed=seed)
        self.kpi = {}

    def step(self) -> None:
        super().step()
        if not self.running and not self.kpi:
            self.kpi = kpis(monthly_table(self))


def batch_run_same_runs(sw_spec: dict, processes: int) -> tuple[float, int]:
    """Wall time and number of results of mesa.batch_run on as many runs as the sweep (own seeds)."""
    sw = load_sweep(sw_spec)
    seeds = [run_seed(sw.root_seed, i) for i in range(sw.n_runs)]
    # batch_run makes the product of the parameter lists: levels x replicate seeds
    # (its `iterations` would repeat the same seed)
    params = {"restock_strength": LEVELS, "seed": seeds[: sw.replicates],
              "end": sw_spec["overrides"]["end"].isoformat()}
    if "spin_up_weeks" in sw_spec["overrides"]:
        params["spin_up_weeks"] = sw_spec["overrides"]["spin_up_weeks"]
    t0 = time.perf_counter()
    res = mesa.batch_run(BatchChain, params, number_processes=processes, iterations=1, max_steps=10_000,
                         display_progress=False)
    return time.perf_counter() - t0, len(res)


# --- throughput -------------------------------------------------------------------------
def throughput(runs: int, workers: int, tmp: Path) -> dict:
    sp = spec(runs, dt.date(2024, 3, 31))
    s = execute(sp, out=tmp / f"w{workers}", workers=workers)
    return {"runs": s.ran, "seconds": s.seconds, "runs_per_s": s.runs_per_s, "failed": s.failed_now,
            "first_result_s": s.first_result_s, "steady_runs_per_s": s.steady_runs_per_s}


# --- memory -----------------------------------------------------------------------------
_MEM_CHILD = r"""
import datetime as dt, json, resource, sys
sys.path.insert(0, {bench!r})
from bench_sweep import spec, BatchChain, LEVELS
import mesa
runs, workers, out, mode = {runs}, {workers}, {out!r}, {mode!r}
sp = spec(runs, dt.date(2024, 1, 31), spin_up=0)
if mode == "sweep":
    from rechain.sweep import execute
    s = execute(sp, out=out, workers=workers)
    n = s.ran
else:
    from rechain.sweep import load_sweep, run_seed
    sw = load_sweep(sp)
    seeds = [run_seed(sw.root_seed, i) for i in range(sw.replicates)]
    res = mesa.batch_run(BatchChain, {{"restock_strength": LEVELS, "seed": seeds, "end": "2024-01-31",
                                      "spin_up_weeks": 0}},
                         number_processes=workers, max_steps=10_000, display_progress=False)
    n = len(res)
print(json.dumps({{"runs": n, "main_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}}))
"""


def peak_memory(runs: int, workers: int, tmp: Path, mode: str = "sweep") -> dict:
    code = _MEM_CHILD.format(bench=str(Path(__file__).parent), runs=runs, workers=workers,
                             out=str(tmp / f"mem-{mode}-{runs}"), mode=mode)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    d = json.loads(out.stdout.strip().splitlines()[-1])
    d["seconds"] = time.perf_counter() - t0
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=120, help="runs for the throughput figures (multiple of 10)")
    ap.add_argument("--memory-runs", type=int, nargs="+", default=[100, 2000])
    ap.add_argument("--no-batch-run", action="store_true", help="skip the mesa.batch_run comparison")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    res: dict = {"python": platform.python_version(), "mesa": mesa.__version__, "cpus": os.cpu_count(),
                 "machine": platform.machine()}
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as d:
        tmp = Path(d)
        one = throughput(args.runs, 1, tmp)
        two = throughput(args.runs, 2, tmp)
        r1, _ = load_results(tmp / "w1")
        r2, _ = load_results(tmp / "w2")
        res["same_tables_1_vs_2_workers"] = bool(r1.equals(r2))
        res["sweep_1_worker"], res["sweep_2_workers"] = one, two
        res["parallel_efficiency"] = two["runs_per_s"] / (2 * one["runs_per_s"])
        res["parallel_efficiency_steady"] = two["steady_runs_per_s"] / (2 * one["steady_runs_per_s"])
        if not args.no_batch_run:
            sp = spec(args.runs, dt.date(2024, 3, 31))
            for p in (1, 2):
                sec, n = batch_run_same_runs(sp, p)
                res[f"batch_run_{p}_process"] = {"runs": n, "seconds": sec, "runs_per_s": n / sec}
        res["memory"] = {str(n): peak_memory(n, 2, tmp) for n in args.memory_runs}
        if not args.no_batch_run:
            res["memory_batch_run"] = {str(n): peak_memory(n, 2, tmp, mode="batch_run") for n in args.memory_runs}

    print(f"rechain sweep benchmark (Python {res['python']}, Mesa {res['mesa']}, {res['cpus']} CPUs)")
    print(f"throughput, {args.runs} runs of tiny.toml to 2024-03-31 (13 weeks + 4 spin-up), wall time incl. start-up:")
    rows = [("rechain sweep, 1 worker (in process)", res["sweep_1_worker"]),
            ("rechain sweep, 2 worker processes", res["sweep_2_workers"])]
    if not args.no_batch_run:
        rows += [("mesa.batch_run, 1 process", res["batch_run_1_process"]),
                 ("mesa.batch_run, 2 processes", res["batch_run_2_process"])]
    for name, r in rows:
        steady = f"  (after start-up: {r['steady_runs_per_s']:.2f} runs/s; first batch back after " \
                 f"{r['first_result_s']:.1f} s)" if "steady_runs_per_s" in r else ""
        print(f"  {name:<40} {r['runs']:>5} runs  {r['seconds']:7.2f} s  {r['runs_per_s']:6.2f} runs/s{steady}")
    print(f"  parallel efficiency with 2 workers: {res['parallel_efficiency']:.0%} overall, "
          f"{res['parallel_efficiency_steady']:.0%} after start-up; identical tables with 1 and 2 workers: "
          f"{res['same_tables_1_vs_2_workers']}")
    print("peak memory (RSS), one-month scenario, 2 workers, each sweep in a fresh process:")
    for n, m in res["memory"].items():
        print(f"  rechain sweep {int(n):>6} runs: main {m['main_maxrss_mib']:6.0f} MiB, largest worker "
              f"{m['worker_maxrss_mib']:6.0f} MiB  ({m['seconds']:.0f} s)")
    for n, m in res.get("memory_batch_run", {}).items():
        print(f"  mesa.batch_run {int(n):>5} runs: main {m['main_maxrss_mib']:6.0f} MiB, largest worker "
              f"{m['worker_maxrss_mib']:6.0f} MiB  ({m['seconds']:.0f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2, default=str) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
