"""Price formation: a market price anchored in costs and the physical balance.

Pure functions over arrays (prices in yuan per tonne). The formulations follow the
commodity-market literature:

* the price answers the market's stock coverage through a **bounded** decreasing function
  (Meadows, *Dynamics of Commodity Production Cycles*, 1970; Sterman, *Business Dynamics*,
  2000, ch. 20): half the normal cover roughly doubles the price, twice the cover halves
  it, but the multiple never leaves ``[floor, ceiling]``, so no deficit or glut can make the
  price run away;
* the long-run expected price drifts toward the cost of the **marginal supplier** (the most
  expensive supply route still needed to meet demand, in merit order); for joint products
  (Pr-Nd, Dy and Tb come out of the same ore) the route's full cost is set against its
  basket valued at long-run prices, and the three long-run prices move together by one
  factor until the marginal route just covers its cost; their relative prices are left to
  their own balances;
* each seller's ask scatters around the market price by its own cover, expectation and
  spare capacity, within a bounded spread;
* holders keep stock only while the expected appreciation covers the carrying cost
  (competitive storage: Deaton and Laroque 1992; QuantEcon, "Commodity prices").
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["balance_multiple", "adjust_price", "marginal_cost_ratio", "within_separation", "seller_asks",
           "storage_target", "margin_utilisation", "margin_pace", "storage_room", "shortage_multiple"]


def balance_multiple(cover_ratio: np.ndarray | float, elasticity: np.ndarray | float, ceiling: float,
                     floor: float, scarcity_elasticity: np.ndarray | float | None = None) -> np.ndarray:
    """Price multiple for a market's cover ratio ``x = cover / normal cover``.

    ``g(x) = floor + (ceiling - floor) / (1 + a x^b)`` with ``a = (ceiling - 1) / (1 - floor)``,
    so ``g(1) = 1``, ``g(0) = ceiling``, ``g(inf) = floor``, and ``b`` is set so that the
    elasticity of ``g`` at ``x = 1`` is ``-elasticity`` (Sterman's ``s_c``; 1: half the cover,
    about twice the price). Needs ``floor < 1 < ceiling``. Below normal cover (``x < 1``)
    ``scarcity_elasticity`` takes the place of ``elasticity`` when given: a stock cannot fall
    below zero, so a shortage lifts a stocked commodity's price more steeply than a glut of
    the same size lowers it (competitive storage: Deaton and Laroque 1992); ``g`` stays
    continuous at ``x = 1``.
    """
    a = (ceiling - 1.0) / (1.0 - floor)
    x = np.maximum(np.asarray(cover_ratio, dtype=float), 0.0)
    if scarcity_elasticity is not None:
        elasticity = np.where(x < 1.0, scarcity_elasticity, elasticity)
    b = np.asarray(elasticity, dtype=float) * (1.0 + a) ** 2 / ((ceiling - floor) * a)
    # a ceiling or floor close to 1 makes b huge: x**b overflows to inf (or 0**b to 0), and
    # the curve's limit there, the floor (or the ceiling), is the right answer
    with np.errstate(over="ignore", divide="ignore"):
        return floor + (ceiling - floor) / (1.0 + a * x ** b)


def adjust_price(price: np.ndarray, target: np.ndarray, adjust_weeks: float, max_move: float) -> np.ndarray:
    """One week of partial adjustment toward ``target`` in log terms, the move capped at
    ``max_move`` either way (a share of the price: 0.15 allows x4.5 in six months)."""
    step = np.log(np.maximum(target, 1e-9) / np.maximum(price, 1e-9)) / max(adjust_weeks, 1.0)
    down = math.log1p(-max_move) if max_move < 1.0 else -math.inf     # a 100 % fall: no bound below
    return price * np.exp(np.clip(step, down, math.log1p(max_move)))


def marginal_cost_ratio(route_cost: np.ndarray, route_value: np.ndarray, route_supply: np.ndarray,
                        demand: np.ndarray) -> np.ndarray:
    """Cost-to-value ratio of the marginal route, per element.

    ``route_cost`` [R]: full cost of a unit of feed (ore or scrap) through the route, yuan;
    ``route_value`` [R]: what that unit's elements are worth at current prices, yuan;
    ``route_supply`` [R, E]: what the route can supply of each element per week;
    ``demand`` [E]: what is wanted of each element per week.
    Routes are taken in merit order (cheapest per unit of value first); the supply curve of
    an element runs through each route's ratio at the middle of the route's supply, linear in
    between, and is read at the element's demand (below the first middle: the cheapest
    route; beyond all supply: the dearest).
    """
    ratio = route_cost / np.maximum(route_value, 1e-9)
    order = np.argsort(ratio, kind="stable")
    ratio, supply = ratio[order], route_supply[order]
    mid = np.cumsum(supply, axis=0) - 0.5 * supply                    # [R, E]
    out = np.empty(demand.shape[0])
    for e in range(demand.shape[0]):
        s = supply[:, e]
        if s.all():
            out[e] = np.interp(demand[e], mid[:, e], ratio)
        else:
            keep = s > 0
            out[e] = np.interp(demand[e], mid[keep, e], ratio[keep]) if keep.any() else ratio[-1]
    return out


def within_separation(feeds: list[np.ndarray], ores: list[int | None], room_t: np.ndarray) -> np.ndarray:
    """Supply routes' feed a week, t, concatenated, with the routes of each ore scaled down
    together to ``room_t[ore]``, the ore China's plants may work a week (a mine whose ore no
    plant may separate supplies no oxide); routes with ore None (scrap, ore separated abroad)
    pass whole."""
    out = [np.asarray(f, dtype=float) for f in feeds]
    for ore in {o for o in ores if o is not None}:
        through = [j for j, o in enumerate(ores) if o == ore]
        total = sum(float(out[j].sum()) for j in through)
        if total > room_t[ore]:
            for j in through:
                out[j] = out[j] * (max(float(room_t[ore]), 0.0) / total)
    return np.concatenate(out) if out else np.zeros(0)


def shortage_multiple(need: float, supply: float, exponent: float, ceiling: float) -> float:
    """How far a shortage beyond every supply route lifts the long-run price:
    ``min(need / supply, ceiling) ** exponent`` when what users need exceeds what the routes can
    supply, else 1. A new mine caps the long-run price at its cost, but takes years to come:
    until then the price must ration the users (1: a 10 % shortage, 10 % dearer)."""
    if need <= supply:
        return 1.0
    return float(min(need / max(supply, 1e-9), ceiling) ** exponent)


def seller_asks(market_price: np.ndarray, cover_gap: np.ndarray, expectation: np.ndarray,
                slack: np.ndarray, cover_response: float, expectation_response: float,
                utilisation_response: float, spread: float) -> np.ndarray:
    """Each seller's ask around the market price of its product.

    ``ask = P exp(clip(a_c ln(c*/c) + a_x x + a_u slack, -spread, spread))``: sellers with
    thin cover (``cover_gap = ln(c*/c) > 0``) or who expect rises ask more, sellers with idle
    capacity (``slack < 0``) less. ``cover_gap`` should already be bounded.
    """
    tilt = cover_response * cover_gap + expectation_response * expectation + utilisation_response * slack
    return market_price * np.exp(np.clip(tilt, -spread, spread))


def storage_target(capacity_t: np.ndarray, expected_change: np.ndarray, horizon_weeks: float,
                   carrying_cost_per_wk: float, strength: float) -> np.ndarray:
    """Stock a speculative holder wants, t: competitive storage.

    The expected excess return over the horizon is ``x - carry * H``; the holder fills
    ``strength`` times that share of its storage capacity (within 0..capacity), so it holds
    nothing unless the expected appreciation beats the carrying cost.
    """
    excess = expected_change - carrying_cost_per_wk * horizon_weeks
    return capacity_t * np.clip(strength * excess, 0.0, 1.0)


def margin_pace(margin: np.ndarray, value: np.ndarray, full_margin_share: float) -> np.ndarray:
    """Share of its allowed pace a commodity producer runs: all of it once the margin is
    ``full_margin_share`` of the value of what it makes, less below, none at a cash loss."""
    return np.clip(margin / (full_margin_share * np.maximum(value, 1e-9)), 0.0, 1.0)


def storage_room(stock: np.ndarray, flow: np.ndarray, max_cover_weeks: float) -> np.ndarray:
    """Share of its pace a producer keeps up as unsold stock fills its yard: all of it up to
    ``max_cover_weeks`` of the flow it sells, falling to none at twice that."""
    return np.clip(2.0 - stock / (max_cover_weeks * np.maximum(flow, 1e-12)), 0.0, 1.0)


def margin_utilisation(price: np.ndarray, variable_cost: np.ndarray, normal_margin: np.ndarray,
                       elasticity: float, normal: float = 1.0) -> np.ndarray:
    """Share of capacity a producer outside the quota runs: ``normal`` at its normal margin,
    more when the margin is wider, less when it narrows, nothing at or below variable cost.

    ``u = clip(normal (m / m0)^elasticity, 0, 1)`` with ``m = max(price - cost, 0)``.
    """
    m = np.maximum(price - variable_cost, 0.0)
    return np.clip(normal * (m / np.maximum(normal_margin, 1e-9)) ** elasticity, 0.0, 1.0)
