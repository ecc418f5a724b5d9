"""Market rules: asking prices, supplier choice, filling orders, price indices, holding back.

Pure functions over arrays. Prices are yuan per tonne inside the model.
"""

from __future__ import annotations

import numpy as np

__all__ = ["update_ask", "logit_shares", "fill_pro_rata", "price_index", "offer_share"]


def update_ask(ask: np.ndarray, cover: np.ndarray, target: np.ndarray, x: np.ndarray,
               reference: np.ndarray, floor: np.ndarray, alpha_c: float, alpha_x: float,
               pull: float, max_move: float, slack: np.ndarray | float = 0.0,
               alpha_u: float = 0.0) -> np.ndarray:
    """One week of a seller's ask.

    ``p' = p (1 + alpha_c ln(c*/c) + alpha_x x + alpha_u (util - util*) + pull (ref/p - 1))``,
    the log cover ratio bounded to ±2, the move capped at ``max_move`` and the result
    floored at unit cost. Thin cover (c < c*) raises the ask (Sterman, Business Dynamics
    ch. 20); expected rises raise it; capacity idler than usual (``slack`` = util - normal
    util < 0) lowers it, as sellers compete for orders; ``pull`` draws it toward the market's reference price.
    """
    ratio = np.clip(np.log(np.maximum(target, 1e-9) / np.maximum(cover, 1e-9)), -2.0, 2.0)
    move = alpha_c * ratio + alpha_x * x + alpha_u * slack \
        + pull * (reference / np.maximum(ask, 1e-9) - 1.0)
    move = np.clip(move, -max_move, max_move)
    return np.maximum(ask * (1.0 + move), floor)


def logit_shares(buyer: np.ndarray, price: np.ndarray, ref: np.ndarray, weight: np.ndarray,
                 gamma: float, n_buyers: int) -> np.ndarray:
    """Multinomial-logit split of each buyer's order over its links.

    ``s_e ∝ w_e exp(-gamma p_e / ref_e)``, normalised over the links ``e`` of the same buyer.
    ``buyer`` holds a buyer key per link (e.g. firm*n_products + product).
    """
    # z <= 0; bounded so that a buyer whose links are all absurdly dear still splits evenly
    z = np.maximum(-gamma * price / np.maximum(ref, 1e-9), -700.0)
    w = np.maximum(weight, 1e-6) * np.exp(z)
    tot = np.bincount(buyer, weights=w, minlength=n_buyers)
    return w / tot[buyer]


def fill_pro_rata(available: np.ndarray, backlog: np.ndarray, seller: np.ndarray) -> np.ndarray:
    """Ship from each seller's available stock to its links' backlogs, pro rata.

    ``available`` is per seller key, ``backlog`` and ``seller`` per link. Returns t shipped
    per link; no seller ships more than it has, no link more than it is owed.
    """
    owed = np.bincount(seller, weights=backlog, minlength=available.shape[0]).astype(float)
    ratio = np.divide(np.minimum(available, owed), owed, out=np.zeros_like(owed), where=owed > 0)
    return backlog * ratio[seller]


def price_index(qty: np.ndarray, value: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Volume-weighted mean transaction price; last week's index where nothing traded."""
    return np.divide(value, qty, out=previous.copy(), where=qty > 1e-9)


def offer_share(x: np.ndarray, price: float | np.ndarray, floor: float | np.ndarray,
                h_x: float, h_p: float, f_min: float) -> np.ndarray:
    """Share of saleable stock a holder offers: ``clip(1 - h_x x - h_p max(0,(floor-P)/floor), f_min, 1)``."""
    gap = np.maximum(0.0, (floor - price) / np.maximum(floor, 1e-9))
    return np.clip(1.0 - h_x * x - h_p * gap, f_min, 1.0)
