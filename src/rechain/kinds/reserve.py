"""The state reserve: buys separated oxides in a price dip, releases them when prices run up.

What the reserve does each week (between ``start`` and ``end`` of the scenario's
``[stockpile]``): the mechanics of any stockholder with a policy rule instead of a profit
motive. It orders up to ``buy_t_per_yr`` of each of its products while the market price is
below ``buy_below_share`` of the long-run price (the marginal supplier's cost) and its stock
is under ``max_stock_t``; it offers its stock (at most ``release_t_per_yr``) at the market
price while that is above ``sell_above_share`` of the long-run price. It makes nothing.
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..conditions import WEEKS_PER_YEAR, Mode
from ..network import RESERVE
from ..world import World
from .base import Firm, Kind

__all__ = ["StateReserve", "StateReserveAgent"]


class StateReserveAgent(Firm):
    """The state reserve."""


class StateReserve(Kind):
    code = RESERVE
    agent = StateReserveAgent

    def __init__(self, world: World):
        super().__init__(world)
        self.cfg = world.scenario.stockpile
        products = world.materials.products
        bought = [products[j] for j in self.buy_product]
        self.rate_t_per_wk = np.array([self.cfg.buy_t_per_yr.get(n, 0.0) for n in bought]) / WEEKS_PER_YEAR
        self.max_stock_t = np.array([self.cfg.max_stock_t.get(n, np.inf) for n in bought])
        sold = [products[j] for j in self.sell_product]
        self.release_t_per_wk = np.array([self.cfg.release_t_per_yr.get(n, np.inf) for n in sold]) / WEEKS_PER_YEAR

    def active(self, book: Book) -> bool:
        cfg, cond = self.cfg, book.cond
        return cond.mode is Mode.RUN and (cfg.start is None or cond.date >= cfg.start) \
            and (cfg.end is None or cond.date <= cfg.end)

    def adjust_orders(self, book: Book, q: np.ndarray, supply_line: np.ndarray) -> None:
        """Replace the ordinary order rule: buy in a dip, up to the stock limit."""
        if not self.active(book):
            q[:] = 0.0
            return
        k, m = self.buy_product, book.market
        room = self.max_stock_t - book.firms.stock_t[self.buy_firm, k] - supply_line
        cheap = m.price_yuan_per_t[k] < self.cfg.buy_below_share * m.long_run_yuan_per_t[k]
        q[:] = np.where(cheap, np.clip(np.minimum(self.rate_t_per_wk, room), 0.0, None), 0.0)

    def offer_share(self, book: Book) -> np.ndarray:
        """Its stock (within the release rate) while prices run above the band, none otherwise."""
        if not self.active(book):
            return np.zeros(self.sell_product.size)
        k, m = self.sell_product, book.market
        dear = m.price_yuan_per_t[k] > self.cfg.sell_above_share * m.long_run_yuan_per_t[k]
        stock = book.firms.stock_t[self.sell_firm, k]
        share = np.minimum(1.0, np.divide(self.release_t_per_wk, stock, out=np.zeros_like(stock), where=stock > 0))
        return np.where(dear, share, 0.0)

    def releases(self, book: Book) -> np.ndarray:
        """What it offers this week, per sell pair, as announced before buyers order: while
        it offers nothing, nobody orders from it."""
        return self.offer_share(book)

    def final_asks(self, book: Book, ask: np.ndarray) -> None:
        """The reserve sells at the market price."""
        ask[:] = book.market.price_yuan_per_t[self.sell_product]
