"""Behavioural traits of each firm, drawn once per run.

Heterogeneity is what turns rules into a market: each firm's trend weight, restocking and
wait-and-see strengths and normal cover are the scenario's values times a lognormal factor
(sigma ``behaviour.heterogeneity``), drawn from the stream of the firm's kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .network import RESERVE
from .randomness import Streams
from .world import World

__all__ = ["Traits", "ExpectationNoise", "draw_traits", "per_kind"]


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
    expectation_noise: "ExpectationNoise"   # standard normal shocks to expectations: [tick] -> [firm]
    neighbours: sp.csr_matrix       # mean over linked firms (both ways): neighbours @ x, [N, N]


class ExpectationNoise:
    """Standard normal shocks to each firm's expectation, one row [N] per week stepped (spin-up
    included; ``noise[tick]``), drawn as the weeks come from the ``expectations`` stream of each
    firm's kind: the same numbers as drawing the whole [weeks, N] table at the start (a
    Generator's draws do not depend on how they are split into calls), without holding it."""

    def __init__(self, world: World, streams: Streams):
        # each kind's firms are contiguous rows (checked by build_world): drawn straight into
        # their slice of the week's row
        self._kinds = [(slice(int(rows[0]), int(rows[-1]) + 1), streams("expectations", code))
                       for code, rows in world.rows.items() if rows.size]
        self._row = np.zeros(world.n_firms)
        self._tick = -1

    def __getitem__(self, tick: int) -> np.ndarray:
        if tick < self._tick:
            raise IndexError(f"noise of week {tick} was drawn and dropped (now at {self._tick})")
        while self._tick < tick:
            row = np.empty_like(self._row)
            for rows, generator in self._kinds:
                generator.standard_normal(out=row[rows])
            self._row, self._tick = row, self._tick + 1
        return self._row


def per_kind(world: World, streams: Streams, stream: str, draw, shape: tuple) -> np.ndarray:
    """Random values per firm (rows = firms), each kind of firm from its own stream."""
    out = np.empty(shape)
    for code, rows in world.rows.items():
        if rows.size:
            out[rows] = draw(streams(stream, code), rows.size)
    return out


def neighbour_matrix(world: World) -> sp.csr_matrix:
    """The mean over each firm's linked firms, links counted both ways, as a sparse matrix
    (a firm with no links gets 0): the same as :func:`rechain.rules.sentiment.neighbour_mean`.
    The state reserve's links are left out: a policy rule, not a view that spreads."""
    L, n = world.links, world.n_firms
    talks = (world.firms.kind[L.src] != RESERVE) & (world.firms.kind[L.dst] != RESERVE)
    rows = np.concatenate([L.dst[talks], L.src[talks]])
    cols = np.concatenate([L.src[talks], L.dst[talks]])
    weight = 1.0 / np.maximum(np.bincount(rows, minlength=n)[rows], 1)     # links per firm, both ways
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
    return Traits(trend_weight=trend_weight, restock_strength=restock, wait_strength=wait, normal_cover_wk=cover,
                  normal_cover_wk_of_buy=cover[b], restock_strength_of_buy=restock[b], wait_strength_of_buy=wait[b],
                  expectation_noise=ExpectationNoise(world, streams), neighbours=neighbour_matrix(world))
