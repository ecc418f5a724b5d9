"""End users of magnets: domestic motor makers by sector, and overseas buyers by region.

What an end user does each week: build magnets into its end products (the scenario's output
per year, monthly seasonality, shocks; less where the magnet price has risen and the sector
can substitute), using magnets from stock and recording any shortfall; plan that use, which
anchors its orders. An overseas buyer needs an export licence for controlled products, keeps
its own holidays (Christmas: deliveries it cannot receive wait until January), answers the
landed price (with duties and tariffs), and orders less when licences are refused.
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..network import MOTOR, OVERSEAS
from ..world import World
from .base import Firm, Kind

__all__ = ["MotorMakers", "OverseasBuyers", "MotorMaker", "OverseasBuyer"]


class MotorMaker(Firm):
    """A domestic maker of end products (NEVs, wind turbines, air-conditioners, ...)."""


class OverseasBuyer(Firm):
    """A buyer of Chinese magnets abroad."""


class MotorMakers(Kind):
    """Use magnets in end products; demand set by the sector's output, answering price."""

    code = MOTOR
    agent = MotorMaker
    sink = "used_domestic"

    def __init__(self, world: World):
        super().__init__(world)
        mat = world.materials
        self.grades = np.array([mat.p("magnet_std"), mat.p("magnet_uh")])
        uh = world.firms.uh_share[self.rows]
        self.grade_split = np.stack([1.0 - uh, uh], axis=1)               # [firm, grade]
        self.group = world.firms.group[self.rows]
        self.elasticity = self._elasticity()

    def _elasticity(self) -> np.ndarray:
        return np.array([s.price_elasticity for s in self.world.scenario.sectors.values()])

    def use(self, book: Book) -> None:
        i, g = self.rows, self.grades
        rows = i[:, None]
        S = book.firms.stock_t
        want = book.cond.demand_t[rows] * self.grade_split * self.price_response(book)
        got = np.minimum(want, S[rows, g])
        S[rows, g] -= got
        book.ledger.add_sink(self.sink, got.sum(axis=0) @ book.content[g])
        book.record_use(i, want.sum(axis=1), got.sum(axis=1))
        book.plan_use(rows, g, want)

    def price_response(self, book: Book) -> np.ndarray | float:
        """Magnet use per unit responds to the grade's price through the sector's
        ``price_elasticity`` (ferrite or induction designs, thrifting): use falls by that share
        per 1 % rise of the price over its start level. 0 = fixed use. Returns [firm, grade]."""
        if not self.elasticity.any():
            return 1.0
        g = self.grades
        eps = self.elasticity[self.group][:, None]
        return (book.market.index_yuan_per_t[g] / book.world.start_price_yuan_per_t[g])[None, :] ** (-eps)


class OverseasBuyers(MotorMakers):
    """Buyers abroad: licences, own holidays, landed prices, memory of refusals."""

    code = OVERSEAS
    agent = OverseasBuyer
    sink = "used_overseas"

    def _elasticity(self) -> np.ndarray:
        return np.array([0.0, 0.0, *[r.price_elasticity for r in self.world.scenario.regions.values()]])

    def price_response(self, book: Book) -> np.ndarray | float:
        """Buyers abroad can turn to other suppliers: demand for Chinese magnets falls by the
        region's ``price_elasticity`` per 1 % rise of the landed price (index price times
        duties and tariffs) over the start price. Returns [firm, grade]."""
        if not self.elasticity.any():
            return 1.0
        g = self.grades
        r = book.world.firms.region[self.rows]
        relative = book.market.index_yuan_per_t[g] / book.world.start_price_yuan_per_t[g]
        landed = relative[None, :] * book.cond.landed_factor[g][:, r].T
        return landed ** (-self.elasticity[r][:, None])

    def adjust_orders(self, book: Book, q: np.ndarray) -> None:
        """Buyers who have seen licences refused order less: q x (0.5 + 0.5 success rate)."""
        q *= 0.5 + 0.5 * book.firms.licence_success[book.world.buys.firm[self.buys]]

    def learn_from_licences(self, book: Book, buyer: np.ndarray, tonnes: np.ndarray, granted: np.ndarray) -> None:
        """Update each buyer's remembered licence success by the tonnes granted this week."""
        n = book.world.n_firms
        rate = np.bincount(buyer, weights=granted * tonnes, minlength=n)
        tot = np.bincount(buyer, weights=tonnes, minlength=n)
        has = tot > 0
        r = book.behaviour.refusal_memory
        s = book.firms.licence_success
        s[has] = (1 - r) * s[has] + r * rate[has] / tot[has]
