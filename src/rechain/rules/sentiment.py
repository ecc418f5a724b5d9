"""Expectations: what a firm thinks the price it watches will do.

Pure functions over arrays of firms. ``x`` is the expected relative price change over the
horizon (0.05 = +5 %), ``u`` is uncertainty (dimensionless, 0 = calm).
"""

from __future__ import annotations

import numpy as np

__all__ = ["update_trend", "news_weights", "neighbour_mean", "expected_change", "update_uncertainty"]


def update_trend(g: np.ndarray, log_return: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Exponentially smoothed weekly log-return: ``g = (1-lam) g + lam r`` (Sterman's TREND)."""
    return (1.0 - lam) * g + lam * log_return


def news_weights(week: int, ev_week: np.ndarray, ev_signed_strength: np.ndarray,
                 ev_half_life: np.ndarray) -> np.ndarray:
    """Current signal of each scheduled news event: ``a s 2^(-(t-d)/h)`` for ``t >= d``, else 0."""
    age = week - ev_week
    out = ev_signed_strength * np.exp2(-np.maximum(age, 0) / ev_half_life)
    return np.where(age >= 0, out, 0.0)


def neighbour_mean(x: np.ndarray, src: np.ndarray, dst: np.ndarray,
                   degree: np.ndarray | None = None) -> np.ndarray:
    """Mean of the linked firms' values (links count both ways); 0 for a firm with no links.

    ``degree`` (links per firm, both ways) may be passed when it is known.
    """
    n = x.shape[0]
    tot = np.bincount(dst, weights=x[src], minlength=n) + np.bincount(src, weights=x[dst], minlength=n)
    deg = degree if degree is not None else np.bincount(dst, minlength=n) + np.bincount(src, minlength=n)
    return np.divide(tot, deg, out=np.zeros(n), where=deg > 0)


def expected_change(g: np.ndarray, news: np.ndarray, social: np.ndarray, noise: np.ndarray,
                    horizon: float, w_trend: float, w_news: float, w_social: float,
                    x_max: float, gap: np.ndarray | float = 0.0, w_anchor: float = 0.0) -> np.ndarray:
    """``x = clip(w_trend H g + w_anchor gap + w_news n + w_social m + noise, -x_max, x_max)``.

    ``gap = ln(P_ref / P)`` is how far the price stands below its long-run price (the cost
    anchor of the market): the "fundamentalist" part of expectations (Brock & Hommes 1998),
    which makes buyers shy of prices far above what they are used to (the "fear of high
    prices" downstream that market reports describe, [SMM-2025-10-31]).
    """
    x = w_trend * horizon * g + w_anchor * gap + w_news * news + w_social * social + noise
    return np.clip(x, -x_max, x_max)


def update_uncertainty(u: np.ndarray, decay: float, shock: np.ndarray) -> np.ndarray:
    """``u = decay u + shock``, floored at 0 (relief news can lower it)."""
    return np.maximum(decay * u + shock, 0.0)
