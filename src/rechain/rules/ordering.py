"""Ordering and production planning rules (anchoring and adjustment, Sterman 1989).

Pure functions over arrays; quantities in t per week, stocks in t, covers in weeks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["smooth", "target_cover", "order_quantity", "production_plan"]


def smooth(prev: np.ndarray, new: np.ndarray, weeks: float | np.ndarray) -> np.ndarray:
    """First-order exponential smoothing with time constant ``weeks`` (>= 1)."""
    return prev + (new - prev) / np.maximum(weeks, 1.0)


def target_cover(c0: np.ndarray, x: np.ndarray, u: np.ndarray, k_restock: np.ndarray,
                 k_wait: np.ndarray, k_unc: float, lo: float, hi: float) -> np.ndarray:
    """Target stock cover ``c* = c0 (1 + kr max(x,0) - kw max(-x,0) - ku u)``, bounded to [lo c0, hi c0].

    Expected rises raise it (restocking), expected falls and uncertainty lower it (wait-and-see).
    """
    f = 1.0 + k_restock * np.maximum(x, 0.0) - k_wait * np.maximum(-x, 0.0) - k_unc * u
    return c0 * np.clip(f, lo, hi)


def order_quantity(usage: np.ndarray, stock: np.ndarray, supply_line: np.ndarray,
                   cover: np.ndarray, beta: float, tau: float) -> np.ndarray:
    """``max(0, D + (c* D - S - beta SL) / tau)``: replace use, close the stock gap.

    ``beta < 1`` means managers under-count what is already on order, the source of the
    bullwhip.
    """
    return np.maximum(0.0, usage + (cover * usage - stock - beta * supply_line) / tau)


def production_plan(orders_hat: np.ndarray, finished: np.ndarray, backlog: np.ndarray,
                    cover: float, tau: float) -> np.ndarray:
    """Output wanted this week: smoothed orders plus closing the net finished-stock gap.

    Net stock is finished stock less the backlog still owed, so a growing order book
    raises output with the lag set by the order smoothing.
    """
    return np.maximum(0.0, orders_hat + (cover * orders_hat - (finished - backlog)) / tau)
