"""Scrap recyclers: NdFeB scrap -> Pr-Nd, Dy and Tb oxides.

What a recycler does each week: recover ``recovery_yield`` of the rare earths in the scrap it
works, as much as its oxide orders call for (and at least half its scrap in hand, which it
works off over about two weeks), within its working capacity. Its feed is the magnet makers'
machining scrap plus collected end-of-life magnets (more of them when scrap is dear), so when
magnet output falls its oxide output falls with it ([SMM-2025-05-31]). It holds its oxides back
below the separation plants' reservation price, as they do. Each recycler is a
supply route of the oxides at its full recycling cost (scrap is a by-product: its price is a
rent, not a cost of supply).
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..network import REC
from ..world import World
from .base import Firm, Kind, Routes
from .separation import oxide_offer_share

__all__ = ["Recyclers", "Recycler"]


class Recycler(Firm):
    """A recycler of magnet scrap and collected end-of-life magnets."""


class Recyclers(Kind):
    """Recover oxides from scrap; take in collected end-of-life magnets."""

    code = REC
    agent = Recycler

    def __init__(self, world: World):
        super().__init__(world)
        mat = world.materials
        p, e = mat.p, mat.e
        self.cfg = world.scenario.firms.recyclers
        self.scrap = np.array([p("scrap_std"), p("scrap_uh")])
        self.oxides = np.array([p("prnd_oxide"), p("dy_oxide"), p("tb_oxide")])
        self.elements = [e("prnd"), e("dy"), e("tb")]
        # magnets reaching end of life were made years ago: the first week's recipes
        self.end_of_life_content = mat.content[self.scrap].copy()
        self.full_cost = world.firms.cost[self.rows] + world.firms.capital_cost[self.rows]

    def config(self):
        return self.cfg

    def collect_end_of_life(self, book: Book, tonnes: float) -> None:
        """Collected end-of-life magnets reach the recyclers as scrap, half of each grade,
        shared by capacity."""
        i = self.rows
        share = book.capacity[i] / book.capacity[i].sum()
        for g, k in enumerate(self.scrap):
            added = book.add_mixed_output(i, k, 0.5 * tonnes * share, np.broadcast_to(
                self.end_of_life_content[g], (i.size, self.end_of_life_content.shape[1])), record=False)
            book.ledger.add_source("eol_collected", added)

    def _mix(self, book: Book) -> tuple[np.ndarray, np.ndarray]:
        stock = book.firms.stock_t[self.rs, self.scrap]
        total = stock.sum(axis=1)
        mix = np.where(total[:, None] > 1e-12, stock / np.maximum(total[:, None], 1e-12), 0.5)
        return mix, total

    def produce(self, book: Book) -> None:
        i, C = self.rs, book.content
        scrap, ox = self.scrap, self.oxides
        mix, total = self._mix(book)
        content_per_t = C[scrap][:, self.elements]                       # [grade, Pr-Nd Dy Tb]
        yields = (mix @ content_per_t) * self.cfg.recovery_yield          # t oxide per t scrap
        need = book.plan(i, ox)
        value = yields * book.market.price_yuan_per_t[ox]
        w = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-12)
        per_product = np.divide(need, yields, out=np.zeros_like(need), where=yields > 1e-9)
        wanted = np.where(w >= 0.15, per_product, 0.0).max(axis=1)
        cap = book.working_capacity(i)
        # scrap in hand is worked off over about two weeks whatever the order book says
        wanted = np.minimum(np.maximum(wanted, 0.5 * total), cap)
        r = np.minimum(wanted, total)
        book.note_utilisation(i, r)
        # t scrap per grade; r x stock / total can round one ulp above the stock
        used = np.minimum(r[:, None] * mix, book.firms.stock_t[i, scrap])
        book.firms.stock_t[i, scrap] -= used
        content = used @ C[scrap]                                          # REO-eq per element
        book.add_output(i, ox, content[:, self.elements] * self.cfg.recovery_yield)
        book.ledger.add_sink("recycling_loss", content.sum(axis=0) * (1.0 - self.cfg.recovery_yield))
        book.plan_use(i, scrap, wanted[:, None] * np.where(total[:, None] > 1e-12, mix, 0.5))

    def offer_share(self, book: Book) -> np.ndarray:
        """Recyclers sell the plants' oxides into the same market and hold them back by the
        plants' rule (:func:`~rechain.kinds.separation.oxide_offer_share`)."""
        return oxide_offer_share(book, self.sell_firm, self.sell_product)

    def supply_routes(self, book: Book) -> Routes:
        """Scrap they plan to work, but no more than they have lately worked (their smoothed
        utilisation of capacity), at their full recycling cost: scrap is a by-product whose
        supply does not answer its price (its price is a rent), so the route's cost is what
        it takes to recycle it, and its size what scrap arises, not what idle lines could
        take (found by an outside what-if audit: three times the recyclers' capacity read as
        2.3 times the scrap and took the oxides' anchor 19 % down)."""
        mix, _ = self._mix(book)
        C = book.content
        f = book.firms
        planned = f.use_expected_t_per_wk[self.rows][:, self.scrap].sum(axis=1)
        feed = np.minimum(planned, f.utilisation[self.rows] * f.capacity_t_per_wk[self.rows])
        return Routes(self.full_cost, feed, (mix @ C[self.scrap][:, self.elements]) * self.cfg.recovery_yield)

    def expected_margin(self, book: Book) -> np.ndarray:
        """Oxide value of scrap at expected prices (:meth:`Book.investment_price`) against
        scrap and full recycling cost."""
        mix, _ = self._mix(book)
        price = book.investment_price()
        C = book.content
        value = (mix @ C[self.scrap][:, self.elements]) * self.cfg.recovery_yield @ price[self.oxides]
        cost = mix @ price[self.scrap] + self.full_cost
        return value / np.maximum(cost, 1e-9) - 1.0
