"""Measure the market's normal cover of a scenario: the cover (weeks of the orders sellers
face) each product's market holds after the spin-up, per seed, and the median over seeds.

The baseline's ``[market] normal_cover_weeks`` is this measurement's median over seeds 0-19,
rounded (docs/ODD.md section 7.6). It is the cover the model's 2024 chain holds once its
firms have settled, so a what-if that starts short (demand doubled from day one, another
era) reads its shortage against it instead of taking its own opening state as normal. The
measurement does not depend on the table itself: prices are not moved in the spin-up.

    python docs/measure_normal_cover.py [scenarios/baseline.toml] [--seeds 20]
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def cover_after_spin_up(scenario_path: str, seed: int) -> tuple[tuple[str, ...], np.ndarray]:
    """Products and the cover each market holds after the spin-up, as the model measures a
    normal cover the table leaves out, for one seed."""
    from rechain.model import ChainModel
    from rechain.scenario import load_scenario
    from rechain.startup import measured_normal_cover
    model = ChainModel(load_scenario(Path(scenario_path)), seed=seed)
    return model.world.materials.products, measured_normal_cover(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "baseline.toml"))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with ProcessPoolExecutor(args.workers) as pool:
        got = list(pool.map(cover_after_spin_up, [args.scenario] * args.seeds, range(args.seeds)))
    products = got[0][0]
    covers = np.array([c for _, c in got])
    for j, name in enumerate(products):
        print(f"{name:<11} median {np.median(covers[:, j]):6.2f}  range {covers[:, j].min():.2f}..{covers[:, j].max():.2f}")
    table = ", ".join(f"{name} = {np.median(covers[:, j]):.2g}" for j, name in enumerate(products))
    print(f"normal_cover_weeks = {{ {table} }}")


if __name__ == "__main__":
    main()
