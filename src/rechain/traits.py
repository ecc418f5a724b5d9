"""Behavioural traits of each firm, drawn once per run.

Heterogeneity is what turns rules into a market: each firm's trend weight, restocking and
wait-and-see strengths and normal cover are the scenario's values times a lognormal factor
(sigma ``behaviour.heterogeneity``), drawn from the stream of the firm's kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .randomness import Streams
from .world import World

__all__ = ["Traits", "draw_traits", "per_kind"]


@dataclass(frozen=True)
class Traits:
    """Per-firm traits [N], and their values on each buyer pair [n_buys]."""

    trend_weight: np.ndarray        # lambda: weight of the latest weekly return in the trend
    restock_strength: np.ndarray    # kappa_r: target cover gained per unit expected rise
    wait_strength: np.ndarray       # kappa_w: target cover lost per unit expected fall
    normal_cover_wk: np.ndarray     # c0: normal input stock cover, weeks of use
    normal_cover_wk_of_buy: np.ndarray
    restock_strength_of_buy: np.ndarray
    wait_strength_of_buy: np.ndarray
    expectation_noise: np.ndarray   # standard normal shocks to expectations, [week incl. spin-up, firm]
    neighbours: sp.csr_matrix       # mean over linked firms (both ways): neighbours @ x, [N, N]


def per_kind(world: World, streams: Streams, stream: str, draw, shape: tuple, axis: int = 0) -> np.ndarray:
    """Random values per firm (firms along ``axis``, 0 or 1), each kind of firm from its own stream."""
    out = np.empty(shape)
    for code, rows in world.rows.items():
        if rows.size:
            if axis == 0:
                out[rows] = draw(streams(stream, code), rows.size)
            else:
                out[:, rows] = draw(streams(stream, code), rows.size)
    return out


def neighbour_matrix(world: World) -> sp.csr_matrix:
    """The mean over each firm's linked firms, links counted both ways, as a sparse matrix
    (a firm with no links gets 0): the same as :func:`rechain.rules.sentiment.neighbour_mean`."""
    L, n = world.links, world.n_firms
    rows = np.concatenate([L.dst, L.src])
    cols = np.concatenate([L.src, L.dst])
    weight = 1.0 / np.maximum(world.degree[rows], 1)
    return sp.csr_matrix((weight, (rows, cols)), shape=(n, n))


def draw_traits(world: World, streams: Streams) -> Traits:
    beh = world.scenario.behaviour
    n = world.n_firms
    het = beh.heterogeneity
    mult = per_kind(world, streams, "heterogeneity", lambda g, k: g.lognormal(0.0, het, (4, k)).T, (n, 4)).T
    cover_of_stage = np.array([beh.cover_weeks.get(s, 4.0) for s in world.stages])
    trend_weight = np.clip(beh.trend_smoothing * mult[0], 0.01, 1.0)
    restock = beh.restock_strength * mult[1]
    wait = beh.wait_strength * mult[2]
    cover = cover_of_stage[world.firms.stage] * mult[3]
    b = world.buys.firm
    weeks = world.scenario.spin_up_weeks + world.calendar.n_weeks
    noise = per_kind(world, streams, "expectations", lambda g, k: g.standard_normal((weeks, k)), (weeks, n), axis=1)
    return Traits(trend_weight=trend_weight, restock_strength=restock, wait_strength=wait, normal_cover_wk=cover,
                  normal_cover_wk_of_buy=cover[b], restock_strength_of_buy=restock[b], wait_strength_of_buy=wait[b],
                  expectation_noise=noise, neighbours=neighbour_matrix(world))
