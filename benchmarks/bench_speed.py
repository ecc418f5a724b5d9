"""Speed benchmark for rechain: what a whole run costs, against a Mesa reference.

Measures, in one process on one machine, interleaved so that a change in the machine's
load hits both sides alike:

1. ``rechain.run(baseline, seed)`` end to end: building the world (firms, links, timetables,
   Mesa agents), the opening state and spin-up, every weekly step, and the monthly and flow
   tables: what each run of a sweep pays.
2. Mesa's bundled Boltzmann wealth example with the same number of agents and the same
   number of steps, construction included, at the example's default density (one agent per
   grid cell), collecting data every step as the example does.
3. The ratio of agent-steps per second, rechain / Boltzmann (= Boltzmann's seconds / rechain's
   seconds, since agents and steps are equal): the median over paired runs. Target: >= 1.5.
   Steps are the scenario's weeks; agents are ``len(model.agents)`` (one per firm).
4. The baseline with 10x the firms (every firm group's count and capacity, every sector's
   firms, every region's buyers of magnets and of oxides and metal and their demand, quota
   totals and end-of-life flow times 10, so the chain keeps its balance), as the time ratio 10x / 1x of a whole run. Target: <= 5.

A first, untimed run of each warms the process up (imports, caches). Absolute times depend
on the machine; only the ratios are meant to be compared.

Usage: python benchmarks/bench_speed.py [--repeats N] [--seed S] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path

import mesa
from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth

import rechain
from rechain.model import ChainModel, forget_model
from rechain.scenario import Scenario, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
SCALE = 10
SPEED_TARGET = 1.5
SCALE_TARGET = 5.0


def time_rechain(sc: Scenario, seed: int) -> dict:
    """Wall time of one whole ``rechain.run``; agents and steps from a model of the same scenario."""
    t0 = time.perf_counter()
    rechain.run(sc, seed=seed)
    sec = time.perf_counter() - t0
    return {"seconds": sec}


def size_of(sc: Scenario) -> tuple[int, int]:
    """Agents (Mesa agents, one per firm) and weekly steps of a scenario's run."""
    m = ChainModel(sc, seed=0)
    n, steps = len(m.agents), m.world.calendar.n_weeks
    forget_model(m)
    return n, steps


def time_boltzmann(n: int, steps: int, seed: int) -> dict:
    """Wall time of building ``BoltzmannWealth`` with ``n`` agents and stepping it ``steps`` times."""
    width = math.ceil(math.sqrt(n))        # default density: 100 agents on 10 x 10
    height = math.ceil(n / width)
    t0 = time.perf_counter()
    model = BoltzmannWealth(n=n, width=width, height=height, seed=seed)
    for _ in range(steps):
        model.step()
    return {"seconds": time.perf_counter() - t0, "grid": [width, height]}


def scaled(sc: Scenario, k: int) -> Scenario:
    """The scenario with ``k`` times the firms, capacities and demand (see module docstring)."""
    d = sc.model_dump()
    for g in d["firms"].values():
        if "count" in g:
            g["count"] *= k
        if "capacity_t_per_yr" in g:
            g["capacity_t_per_yr"] *= k
        if "storage_t" in g:
            g["storage_t"] = {p: v * k for p, v in g["storage_t"].items()}
        if g.get("capacity_by_year"):
            g["capacity_by_year"] = {y: v * k for y, v in g["capacity_by_year"].items()}
    for s in d["sectors"].values():
        s["firms"] *= k
        s["units_per_yr"] = {y: v * k for y, v in s["units_per_yr"].items()}
    for r in d["regions"].values():
        r["buyers"] *= k
        r["demand_t_per_yr"] = {y: v * k for y, v in r["demand_t_per_yr"].items()}
        r["materials_buyers"] *= k
        r["materials_t_per_yr"] = {p: {y: v * k for y, v in t.items()} for p, t in r["materials_t_per_yr"].items()}
    for q in d["quota_policy"]["quotas"]:
        q["total_t"] *= k
    d["recycling"]["eol_magnets_t_per_yr"] *= k
    d["name"] = f"{d['name']}-x{k}"
    return scenario_from_dict(d)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="paired runs; the median is reported")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, metavar="OUT", help="also write the figures to this JSON file")
    a = ap.parse_args(argv)

    sc = load_scenario(BASELINE)
    big_sc = scaled(sc, SCALE)
    agents, steps = size_of(sc)
    big_agents, _ = size_of(big_sc)
    time_rechain(sc, a.seed)                       # warm-up: imports, caches, holiday tables
    time_boltzmann(agents, steps, a.seed)
    pairs, scale = [], []
    for r in range(a.repeats):
        rc = time_rechain(sc, a.seed + r)
        bz = time_boltzmann(agents, steps, a.seed + r)
        pairs.append((rc["seconds"], bz["seconds"]))
    for r in range(max(3, a.repeats // 2)):
        small = time_rechain(sc, a.seed + r)["seconds"]
        big = time_rechain(big_sc, a.seed + r)["seconds"]
        scale.append((small, big))
    speed_ratio = statistics.median(b / r for r, b in pairs)
    scale_ratio = statistics.median(b / s for s, b in scale)
    rc_sec = statistics.median(p[0] for p in pairs)
    bz_sec = statistics.median(p[1] for p in pairs)
    big_sec = statistics.median(b for _, b in scale)

    print(f"rechain speed benchmark: whole runs, construction included (median of {a.repeats} paired runs; "
          f"Python {platform.python_version()}, Mesa {mesa.__version__})")
    print(f"{'model':<26}{'agents':>8}{'steps':>7}{'seconds':>10}{'agent-steps/s':>16}")
    for name, n, sec in (("rechain.run(baseline)", agents, rc_sec), ("Mesa Boltzmann wealth", agents, bz_sec),
                         (f"rechain.run({SCALE}x firms)", big_agents, big_sec)):
        print(f"{name:<26}{n:>8}{steps:>7}{sec:>10.3f}{n * steps / sec:>16,.0f}")
    print(f"speed ratio rechain / Boltzmann (agent-steps/s): {speed_ratio:6.2f}   target >= {SPEED_TARGET}  "
          f"{'OK' if speed_ratio >= SPEED_TARGET else 'MISSED'}")
    print(f"time ratio {SCALE}x / 1x firms ({big_agents} / {agents} agents): {scale_ratio:6.2f}   "
          f"target <= {SCALE_TARGET}  {'OK' if scale_ratio <= SCALE_TARGET else 'MISSED'}")
    out = {"repeats": a.repeats, "seed": a.seed, "python": platform.python_version(), "mesa": mesa.__version__,
           "machine": platform.machine(), "agents": agents, "steps": steps, "rechain_seconds": rc_sec,
           "boltzmann_seconds": bz_sec, "speed_ratio": speed_ratio, f"rechain_x{SCALE}_agents": big_agents,
           f"rechain_x{SCALE}_seconds": big_sec, "scale_time_ratio": scale_ratio}
    if a.json:
        a.json.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {a.json}")
    return out


if __name__ == "__main__":
    main()
