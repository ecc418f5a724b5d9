"""Scrap recyclers: NdFeB scrap -> Pr-Nd, Dy and Tb oxides.

What a recycler does each week: recover ``recovery_yield`` of the rare earths in the scrap it
works, as much as its oxide orders call for (and at least half its scrap in hand, which it
works off over about two weeks), within its working capacity. Its feed is the magnet makers'
machining scrap plus collected end-of-life magnets, so when magnet output falls its oxide
output falls with it (SMM, 31 May 2025).
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..network import REC
from ..world import World
from .base import Firm, Kind

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

    def collect_end_of_life(self, book: Book, tonnes: float) -> None:
        """Collected end-of-life magnets reach the recyclers as scrap, half of each grade,
        shared by capacity."""
        i = self.rows
        share = book.capacity[i] / book.capacity[i].sum()
        for k in self.scrap:
            book.firms.stock_t[i, k] += 0.5 * tonnes * share
            book.ledger.add_source("eol_collected", 0.5 * tonnes * book.content[k])

    def produce(self, book: Book) -> None:
        i, C = self.rows, book.content
        scrap, ox, els = self.scrap, self.oxides, self.elements
        stock = book.firms.stock_t[i][:, scrap]
        total = stock.sum(axis=1)
        mix = np.where(total[:, None] > 1e-12, stock / np.maximum(total[:, None], 1e-12), 0.5)
        yields = (mix @ C[scrap][:, els]) * self.cfg.recovery_yield          # t oxide per t scrap
        rows = i[:, None]
        need = book.plan(rows, ox)
        value = yields * book.market.index_yuan_per_t[ox]
        w = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-12)
        per_product = np.divide(need, yields, out=np.zeros_like(need), where=yields > 1e-9)
        wanted = np.where(w >= 0.15, per_product, 0.0).max(axis=1)
        cap = book.working_capacity(i)
        # scrap in hand is worked off over about two weeks whatever the order book says
        wanted = np.minimum(np.maximum(wanted, 0.5 * total), cap)
        r = np.minimum(wanted, total)
        book.note_utilisation(i, r)
        used = r[:, None] * mix                                                # t scrap per grade
        book.firms.stock_t[i[:, None], scrap[None, :]] -= used
        content = used @ C[scrap]                                              # REO-eq per element
        book.add_output(rows, ox, content[:, els] * self.cfg.recovery_yield)
        book.ledger.add_sink("recycling_loss", content.sum(axis=0) * (1.0 - self.cfg.recovery_yield))
        book.plan_use(rows, scrap, wanted[:, None] * np.where(total[:, None] > 1e-12, mix, 0.5))
