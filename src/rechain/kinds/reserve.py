"""The state reserve: buys separated oxides in a price dip, releases them when prices run up.

What the reserve does each week (between ``start`` and ``end`` of the scenario's
``[stockpile]``): the mechanics of any stockholder with a policy rule instead of a profit
motive. It orders each of its products while the market price is below ``buy_below_share``
of the long-run price (the marginal supplier's cost) and its stock is under ``max_stock_t``;
it offers its stock at the market price while that is above ``sell_above_share`` of the
long-run price. Both are graduated, as buffer-stock agreements graduate their interventions
(the 1979 International Natural Rubber Agreement's "may buy" and "must buy" prices): the
share of its rate (``buy_t_per_yr``; ``release_t_per_yr``, or its whole stock) it trades grows
with the gap from the band's edge, all of it once the gap is the band's own width. A
reserve that bought its whole rate at the first cent below the band stopped and started
abruptly and, on some seeds, made Pr-Nd more volatile (docs/ODD.md section 7.15). It makes
nothing.
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..conditions import WEEKS_PER_YEAR, Mode
from ..network import RESERVE
from ..rules.market import band_depth
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
        """Replace the ordinary order rule: buy in a dip, the more the deeper, up to the stock limit."""
        if not self.active(book):
            q[:] = 0.0
            return
        k, m = self.buy_product, book.market
        room = self.max_stock_t - book.firms.stock_t[self.buy_firm, k] - supply_line
        depth = self._depth(self.cfg.buy_below_share * m.long_run_yuan_per_t[k] - m.price_yuan_per_t[k], k, m)
        q[:] = np.clip(np.minimum(self.rate_t_per_wk * depth, room), 0.0, None)

    def offer_share(self, book: Book) -> np.ndarray:
        """Its stock (within the release rate) while prices run above the band, the more the
        higher; none otherwise."""
        if not self.active(book):
            return np.zeros(self.sell_product.size)
        k, m = self.sell_product, book.market
        depth = self._depth(m.price_yuan_per_t[k] - self.cfg.sell_above_share * m.long_run_yuan_per_t[k], k, m)
        stock = book.firms.stock_t[self.sell_firm, k]
        share = np.minimum(1.0, np.divide(self.release_t_per_wk, stock, out=np.zeros_like(stock), where=stock > 0))
        return share * depth

    def _depth(self, gap: np.ndarray, k: np.ndarray, m) -> np.ndarray:
        """The share of its rate the reserve trades: ``gap`` (yuan/t past the band's edge)
        over the band's width at product ``k``'s long-run price."""
        width = (self.cfg.sell_above_share - self.cfg.buy_below_share) * m.long_run_yuan_per_t[k]
        return band_depth(gap, width)

    def releases(self, book: Book) -> np.ndarray:
        """What it offers this week, per sell pair, as announced before buyers order: while
        it offers nothing, nobody orders from it."""
        return self.offer_share(book)

    def final_asks(self, book: Book, ask: np.ndarray) -> None:
        """The reserve sells at the market price."""
        ask[:] = book.market.price_yuan_per_t[self.sell_product]
