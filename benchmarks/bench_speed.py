"""Speed benchmark for rechain: how fast the model steps, relative to a Mesa reference.

Measures, in one process and on one machine:

1. ``ChainModel.run()`` on ``scenarios/baseline.toml`` (stepping only, not construction),
   as agent-steps per second = agents x weekly steps / seconds (median of the repeats;
   the agent count is ``len(model.agents)``, which includes the Regulator).
2. Mesa's bundled Boltzmann wealth example with the same number of agents, at the
   example's default density (100 agents on 10 x 10 = one agent per cell), for the same
   number of steps; it collects data every step, as the example does.
3. The ratio rechain / Boltzmann in agent-steps per second (the median over repeats of the
   ratio of paired, interleaved runs, so that load changes hit both).  Target: >= 1.0.
4. The baseline with 10x the firms: every firm group's ``count`` and
   ``capacity_t_per_yr``, every sector's ``firms``, every region's ``buyers``, and
   the demand (sectors' ``units_per_yr``, regions' ``demand_t_per_yr``) times 10.  So
   that the chain stays balanced, the quota totals and the end-of-life magnet flow are
   also times 10.  Reported as the run-time ratio 10x / 1x.  Target: <= 10 (linear or
   better in the number of firms).

Absolute times depend on the machine; only the ratios are meant to be compared.

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

from rechain.model import ChainModel
from rechain.scenario import Scenario, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
SCALE = 10


def time_rechain(sc: Scenario, repeats: int, seed: int) -> dict:
    """Median wall time of ``model.run()`` (construction excluded)."""
    times, agents, steps = [], 0, 0
    for r in range(repeats):
        model = ChainModel(sc, seed=seed + r)
        agents, steps = len(model.agents), model.cal.n_weeks
        t0 = time.perf_counter()
        model.run()
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    return {"agents": agents, "steps": steps, "seconds": sec, "agent_steps_per_s": agents * steps / sec}


def time_boltzmann(n: int, steps: int, repeats: int, seed: int) -> dict:
    """Median wall time of ``steps`` calls to ``BoltzmannWealth.step()`` with ``n`` agents."""
    width = math.ceil(math.sqrt(n))        # default density: 100 agents on 10 x 10
    height = math.ceil(n / width)
    times = []
    for r in range(repeats):
        model = BoltzmannWealth(n=n, width=width, height=height, seed=seed + r)
        t0 = time.perf_counter()
        for _ in range(steps):
            model.step()
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    return {"agents": n, "steps": steps, "grid": [width, height], "seconds": sec,
            "agent_steps_per_s": n * steps / sec}


def scaled(sc: Scenario, k: int) -> Scenario:
    """The scenario with ``k`` times the firms, capacities and demand (see module docstring)."""
    d = sc.model_dump()
    for g in d["firms"].values():
        g["count"] *= k
        g["capacity_t_per_yr"] *= k
    for s in d["sectors"].values():
        s["firms"] *= k
        s["units_per_yr"] = {y: v * k for y, v in s["units_per_yr"].items()}
    for r in d["regions"].values():
        r["buyers"] *= k
        r["demand_t_per_yr"] = {y: v * k for y, v in r["demand_t_per_yr"].items()}
    for q in d["quota_policy"]["quotas"]:
        q["total_t"] *= k
    d["recycling"]["eol_magnets_t_per_yr"] *= k
    d["name"] = f"{d['name']}-x{k}"
    return scenario_from_dict(d)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="runs per measurement; the median is reported")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, metavar="OUT", help="also write the figures to this JSON file")
    a = ap.parse_args(argv)

    sc = load_scenario(BASELINE)
    # interleave the two models' repeats so that a change in the machine's load hits both
    pairs = []
    for r in range(a.repeats):
        b1 = time_rechain(sc, 1, a.seed + r)
        b2 = time_boltzmann(b1["agents"], b1["steps"], 1, a.seed + r)
        pairs.append((b1, b2))
    base = min((p[0] for p in pairs), key=lambda d: d["seconds"])
    base["seconds"] = statistics.median(p[0]["seconds"] for p in pairs)
    base["agent_steps_per_s"] = base["agents"] * base["steps"] / base["seconds"]
    boltz = dict(pairs[0][1])
    boltz["seconds"] = statistics.median(p[1]["seconds"] for p in pairs)
    boltz["agent_steps_per_s"] = boltz["agents"] * boltz["steps"] / boltz["seconds"]
    big = time_rechain(scaled(sc, SCALE), a.repeats, a.seed)
    speed_ratio = statistics.median(p[0]["seconds"] and (p[1]["seconds"] / p[0]["seconds"]) for p in pairs)
    scale_ratio = big["seconds"] / base["seconds"]

    rows = [("rechain baseline", base), ("Mesa Boltzmann wealth", boltz), (f"rechain {SCALE}x firms", big)]
    print(f"rechain speed benchmark (median of {a.repeats}; Python {platform.python_version()}, "
          f"Mesa {mesa.__version__})")
    print(f"{'model':<24}{'agents':>8}{'steps':>7}{'seconds':>10}{'agent-steps/s':>16}")
    for name, r in rows:
        print(f"{name:<24}{r['agents']:>8}{r['steps']:>7}{r['seconds']:>10.3f}{r['agent_steps_per_s']:>16,.0f}")
    print(f"Boltzmann grid {boltz['grid'][0]} x {boltz['grid'][1]}")
    print(f"speed ratio rechain / Boltzmann (agent-steps/s): {speed_ratio:6.2f}   target >= 1.0  "
          f"{'OK' if speed_ratio >= 1.0 else 'MISSED'}")
    print(f"time ratio {SCALE}x / 1x firms ({big['agents']} / {base['agents']} agents): {scale_ratio:6.2f}   "
          f"target <= {SCALE}  {'OK' if scale_ratio <= SCALE else 'MISSED'}")

    out = {"repeats": a.repeats, "seed": a.seed, "python": platform.python_version(),
           "mesa": mesa.__version__, "machine": platform.machine(), "rechain": base,
           "boltzmann": boltz, f"rechain_x{SCALE}": big, "speed_ratio": speed_ratio,
           "scale_time_ratio": scale_ratio}
    if a.json:
        a.json.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {a.json}")
    return out


if __name__ == "__main__":
    main()
