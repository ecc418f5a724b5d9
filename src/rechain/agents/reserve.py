"""The state reserve: buys separated oxides in a price dip, releases them when prices run up."""

from __future__ import annotations

import numpy as np

from ..network import RESERVE
from .base import Firm


class StateReserve(Firm):
    """Buys up to ``buy_t_per_yr`` of each of its products while the price index is below
    ``buy_below_share`` of its anchor (the slow-moving price firms are used to) and its
    stock is under ``max_stock_t``; offers its stock to magnet makers at the index price
    while the index is above ``sell_above_share`` of the anchor. Active between
    ``start`` and ``end``."""

    kind = RESERVE

    @classmethod
    def act(cls, m) -> None:
        """The reserve makes nothing; its decisions are :meth:`orders` and :meth:`offer`."""

    @classmethod
    def _active(cls, m) -> bool:
        cfg = m.sc.stockpile
        return (cfg.start is None or m.date >= cfg.start) and (cfg.end is None or m.date <= cfg.end)

    @classmethod
    def orders(cls, m, i: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Tonnes the reserve orders this week for each of its (firm, product) pairs."""
        cfg = m.sc.stockpile
        if not cls._active(m) or m._spinning:
            return np.zeros(i.size)
        names = [m.mat.products[j] for j in k]
        rate = np.array([cfg.buy_t_per_yr.get(n, 0.0) for n in names]) / 52.18
        room = np.array([cfg.max_stock_t.get(n, np.inf) for n in names]) - m.S[i, k]
        cheap = m.index_price[k] < cfg.buy_below_share * m.anchor_price[k]
        return np.where(cheap, np.clip(np.minimum(rate, room), 0.0, None), 0.0)

    @classmethod
    def offer(cls, m, i: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Share of its stock the reserve offers this week (0 or 1 per pair)."""
        cfg = m.sc.stockpile
        if not cls._active(m) or m._spinning:
            return np.zeros(i.size)
        dear = m.index_price[k] > cfg.sell_above_share * m.anchor_price[k]
        return dear.astype(float)
