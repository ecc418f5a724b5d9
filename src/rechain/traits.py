"""Behavioural traits of each firm, drawn once per run.

Heterogeneity is what turns rules into a market: each firm's trend weight, restocking and
wait-and-see strengths and normal cover are the scenario's values times a lognormal factor
(sigma ``behaviour.heterogeneity``), drawn from the stream of the firm's kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def per_kind(world: World, streams: Streams, stream: str, draw, shape: tuple) -> np.ndarray:
    """Random values per firm (rows = firms), each kind of firm from its own stream."""
    out = np.empty(shape)
    for code, rows in world.rows.items():
        if rows.size:
            out[rows] = draw(streams(stream, code), rows.size)
    return out


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
    return Traits(trend_weight=trend_weight, restock_strength=restock, wait_strength=wait, normal_cover_wk=cover,
                  normal_cover_wk_of_buy=cover[b], restock_strength_of_buy=restock[b], wait_strength_of_buy=wait[b])
