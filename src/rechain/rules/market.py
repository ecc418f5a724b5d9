"""Market rules: asking prices, supplier choice, filling orders, price indices, holding back.

Pure functions over arrays. Prices are yuan per tonne inside the model.
"""

from __future__ import annotations

import numpy as np

__all__ = ["logit_shares", "logit_split", "fill_pro_rata", "price_index", "offer_share", "band_depth"]


def logit_shares(buyer: np.ndarray, price: np.ndarray, ref: np.ndarray, weight: np.ndarray,
                 gamma: float, n_buyers: int) -> np.ndarray:
    """Multinomial-logit split of each buyer's order over its links.

    ``s_e ∝ w_e exp(-gamma p_e / ref_e)``, normalised over the links ``e`` of the same buyer.
    ``buyer`` holds a buyer key per link (e.g. firm*n_products + product).
    """
    return logit_split(buyer, price / np.maximum(ref, 1e-9), weight, gamma, n_buyers)


def logit_split(buyer: np.ndarray, price_ratio: np.ndarray, weight: np.ndarray, gamma: float,
                n_buyers: int) -> np.ndarray:
    """:func:`logit_shares` with each link's price already divided by its reference."""
    # z <= 0; bounded so that a buyer whose links are all absurdly dear still splits evenly
    z = np.maximum(price_ratio * -gamma, -700.0)
    np.exp(z, out=z)
    z *= np.maximum(weight, 1e-6)
    tot = np.bincount(buyer, weights=z, minlength=n_buyers)
    z /= tot[buyer]
    return z


def fill_pro_rata(available: np.ndarray, backlog: np.ndarray, seller: np.ndarray) -> np.ndarray:
    """Ship from each seller's available stock to its links' backlogs, pro rata.

    ``available`` is per seller key, ``backlog`` and ``seller`` per link. Returns t shipped
    per link; no seller ships more than it has, no link more than it is owed.
    """
    owed = np.bincount(seller, weights=backlog, minlength=available.shape[0]).astype(float)
    ratio = np.divide(np.minimum(available, owed), owed, out=np.zeros_like(owed), where=owed > 0)
    return backlog * ratio[seller]


def price_index(qty: np.ndarray, value: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Volume-weighted mean transaction price; ``previous`` (the quote without trades) where nothing traded."""
    return np.divide(value, qty, out=previous.copy(), where=qty > 1e-9)


def offer_share(x: np.ndarray, price: float | np.ndarray, floor: float | np.ndarray,
                h_x: float, h_p: float, f_min: float) -> np.ndarray:
    """Share of saleable stock a holder offers: ``clip(1 - h_x x - h_p max(0,(floor-P)/floor), f_min, 1)``."""
    gap = np.maximum(0.0, (floor - price) / np.maximum(floor, 1e-9))
    return np.clip(1.0 - h_x * x - h_p * gap, f_min, 1.0)


def band_depth(gap_yuan_per_t: np.ndarray, width_yuan_per_t: np.ndarray) -> np.ndarray:
    """Share of its rate a buffer stock trades: how far the price is past its band's edge
    (``gap``, yuan/t; 0 or less inside the band) over the band's width (yuan/t), within 0..1.
    A band of no width trades all or nothing."""
    gap = np.asarray(gap_yuan_per_t, dtype=float)
    width = np.broadcast_to(np.asarray(width_yuan_per_t, dtype=float), gap.shape)
    return np.clip(np.divide(gap, width, out=(gap > 0).astype(float), where=width > 0), 0.0, 1.0)
