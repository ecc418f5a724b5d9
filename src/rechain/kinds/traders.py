"""Traders and stockists: buy and hold oxides and metal to sell them dearer.

What a trader does each week (competitive storage, Deaton and Laroque; QuantEcon's
"Commodity prices"): it wants to hold ``speculation_strength`` x (expected excess return)
of its storage, the expected excess return being its expected price change over the horizon
less the carrying cost (interest, storage); it orders toward that stock and offers whatever
it holds beyond it. So traders buy when they expect prices to rise faster than carrying
costs — a restocking wave of their own — and sell when they do not. Each trader deals in one
product and sells on the spot market.
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..network import TRADER
from ..rules.pricing import storage_target
from ..world import World
from .base import Firm, Kind

__all__ = ["Traders", "Trader"]


class Trader(Firm):
    """A stockist holding one product."""


class Traders(Kind):
    code = TRADER
    agent = Trader

    def __init__(self, world: World):
        super().__init__(world)
        self.cfg = world.scenario.firms.traders
        self.product = world.main_output[self.rows]
        self.storage_t = world.firms.capacity[self.rows]

    def watched_product(self) -> np.ndarray:
        return self.product.copy()

    def target_stock(self, book: Book) -> np.ndarray:
        b = book.behaviour
        carry = self.cfg.carrying_cost_pct_per_yr / 100.0 / 52.18
        return storage_target(self.storage_t, book.firms.expected_change[self.rows], b.horizon_weeks, carry,
                              self.cfg.speculation_strength)

    def adjust_orders(self, book: Book, q: np.ndarray, supply_line: np.ndarray) -> None:
        """Order toward the target stock (one buy pair per trader, in row order)."""
        gap = self.target_stock(book) - book.firms.stock_t[self.rows, self.product] - supply_line
        q[:] = np.maximum(gap, 0.0) / book.behaviour.stock_adjust_weeks

    def offer_share(self, book: Book) -> np.ndarray:
        """Offer what is held beyond the target stock (one sell pair per trader)."""
        stock = book.firms.stock_t[self.rows, self.product]
        excess = np.maximum(stock - self.target_stock(book), 0.0)
        return np.divide(excess, stock, out=np.zeros_like(stock), where=stock > 1e-12)
