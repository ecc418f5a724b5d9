"""End users of magnets: domestic motor makers by sector, and overseas buyers by region.

What an end user does each week: build magnets into its end products (the scenario's output
per year, monthly seasonality, shocks), using magnets from stock and recording any
shortfall; plan that use, which anchors its orders. Over a year or two a domestic sector
moves part of its use to other technologies (ferrite or induction motors, other designs)
when magnets stay dear, as far as ``substitutable_share`` allows and back again when they
get cheaper. An overseas buyer needs an export licence for controlled products, keeps its
own holidays (Christmas: deliveries it cannot receive wait until January), answers the
landed price (with duties and tariffs) at once, and orders less when licences are refused.
"""

from __future__ import annotations

import numba
import numpy as np

from ..book import Book
from ..network import MOTOR, OVERSEAS
from ..recipes import GRADES
from ..world import World
from .base import Firm, Kind

__all__ = ["MotorMakers", "OverseasBuyers", "MotorMaker", "OverseasBuyer", "LicenceMemory", "substitution_target"]


def substitution_target(price_ratio: np.ndarray, elasticity: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """Share of magnet use to move to other technologies when magnets cost ``price_ratio``
    times their start price: ``clip(elasticity * ln(ratio), 0, ceiling)``."""
    return np.clip(elasticity * np.log(np.maximum(price_ratio, 1e-9)), 0.0, ceiling)


class MotorMaker(Firm):
    """A domestic maker of end products (NEVs, wind turbines, air-conditioners, ...)."""


class OverseasBuyer(Firm):
    """A buyer of Chinese magnets abroad."""


class LicenceMemory:
    """What buyers abroad share: they order less of a product whose licences have been
    refused, and remember how their applications for each product fared (a refusal for one
    grade says nothing of another that needs no licence)."""

    def adjust_orders(self, book: Book, q: np.ndarray, supply_line: np.ndarray) -> None:
        """Buyers who have seen a product's licences refused order less of it:
        q x (0.5 + 0.5 success rate)."""
        q *= 0.5 + 0.5 * book.firms.licence_success[self.buy_firm, self.buy_product]

    def learn_from_licences(self, book: Book, buyer: np.ndarray, product: np.ndarray, tonnes: np.ndarray,
                            granted: np.ndarray) -> None:
        """Update each buyer's remembered licence success for each product by the tonnes
        granted this week."""
        mine = (buyer >= self.rs.start) & (buyer < self.rs.stop)
        if not mine.any():
            return
        P = book.world.n_products
        key = (buyer[mine] - self.rs.start) * P + product[mine]     # among this kind's rows
        tonnes, granted = tonnes[mine], granted[mine]
        n = (self.rs.stop - self.rs.start) * P
        rate = np.bincount(key, weights=granted * tonnes, minlength=n).reshape(-1, P)
        tot = np.bincount(key, weights=tonnes, minlength=n).reshape(-1, P)
        has = tot > 0
        r = book.behaviour.refusal_memory
        s = book.firms.licence_success[self.rs]                  # the kind's rows: a view
        s[has] = (1 - r) * s[has] + r * rate[has] / tot[has]


@numba.njit(cache=True, nogil=True)
def build_in(start: int, grades: np.ndarray, response: np.ndarray, demand_t: np.ndarray, demand_ahead_t: np.ndarray,
             stock_t: np.ndarray, use_expected_t_per_wk: np.ndarray, smoothing_weeks: float):
    """One pass over end users ``start ..`` (one row of ``response`` [firm, grade] each): each
    wants its week's need times its grade response, takes what its stock holds, and moves its
    planned use of each grade toward its need ahead (exponential smoothing). Updates
    ``stock_t`` and ``use_expected_t_per_wk`` in place; returns per firm t wanted and t got,
    and per grade t got."""
    n, k = response.shape
    wanted, got = np.zeros(n), np.zeros(n)
    got_by_grade = np.zeros(k)
    weeks = smoothing_weeks if smoothing_weeks > 1.0 else 1.0
    for r in range(n):
        row = start + r
        for j in range(k):
            g = grades[j]
            want = demand_t[row] * response[r, j]
            held = stock_t[row, g]
            take = want if want < held else held
            stock_t[row, g] = held - take
            wanted[r] += want
            got[r] += take
            got_by_grade[j] += take
            plan = use_expected_t_per_wk[row, g]
            use_expected_t_per_wk[row, g] = plan + (demand_ahead_t[row] * response[r, j] - plan) / weeks
    return wanted, got, got_by_grade


class MotorMakers(Kind):
    """Use magnets in end products; demand set by the sector's output, answering price."""

    code = MOTOR
    agent = MotorMaker
    sink = "used_domestic"

    def __init__(self, world: World):
        super().__init__(world)
        mat = world.materials
        self.grades = np.array([mat.p(g) for g in GRADES])
        uh = world.firms.uh_share[self.rows]
        self.grade_split = np.stack([1.0 - uh, uh], axis=1)               # [firm, grade]
        self.group = world.firms.group[self.rows]
        start = world.start_price_yuan_per_t[self.grades]
        self.start_cost = self.grade_split @ start                        # yuan per t of the firm's mix
        self.elasticity, self.ceiling = self.price_traits(world)

    def price_traits(self, world: World) -> tuple[np.ndarray, np.ndarray]:
        """Per firm, its sector's ``price_elasticity`` and ``substitutable_share``."""
        sectors = list(world.scenario.sectors.values())
        if not sectors:
            return np.zeros(0), np.zeros(0)
        return (np.array([s.price_elasticity for s in sectors])[self.group],
                np.array([s.substitutable_share for s in sectors])[self.group])

    def use(self, book: Book) -> None:
        i, g = self.rs, self.grades
        response = self.grade_split * self.price_response(book)
        wanted, got, got_by_grade = build_in(i.start, g, response, book.cond.demand_t, book.cond.demand_ahead_t,
                                             book.firms.stock_t, book.firms.use_expected_t_per_wk,
                                             book.use_smoothing_weeks())
        book.ledger.add_sink(self.sink, got_by_grade @ book.content[g])
        book.record_use(i, wanted, got)

    def price_response(self, book: Book) -> np.ndarray | float:
        """Share of the end product's magnet need still met by magnets, [firm, 1]."""
        return 1.0 - book.firms.substitution_share[self.rs, None]

    def adapt(self, book: Book) -> None:
        """Move toward the substitution the magnet price calls for, over
        ``substitution_adjust_weeks`` (models must be redesigned; 2011: ~10 % of demand a year)."""
        if not self.elasticity.any():
            return
        f = book.firms
        ratio = (self.grade_split @ book.market.price_yuan_per_t[self.grades]) / self.start_cost
        want = substitution_target(ratio, self.elasticity, self.ceiling)
        s = f.substitution_share[self.rows]
        f.substitution_share[self.rows] = s + (want - s) / book.behaviour.substitution_adjust_weeks


class OverseasBuyers(LicenceMemory, MotorMakers):
    """Buyers abroad: licences, own holidays, landed prices, memory of refusals."""

    code = OVERSEAS
    agent = OverseasBuyer
    sink = "used_overseas"

    def __init__(self, world: World):
        super().__init__(world)
        self.region = world.firms.region[self.rows]

    def price_traits(self, world: World) -> tuple[np.ndarray, np.ndarray]:
        """Per firm, its region's ``price_elasticity`` (regions 0 and 1 are China and abroad,
        which hold no buyers abroad); no substitution share: they answer at once."""
        regions = list(world.scenario.regions.values())
        region = world.firms.region[self.rows]
        return np.array([0.0, 0.0, *[r.price_elasticity for r in regions]])[region], np.zeros(region.size)

    def price_response(self, book: Book) -> np.ndarray | float:
        """Buyers abroad can turn to other suppliers: demand for Chinese magnets falls by the
        region's ``price_elasticity`` per 1 % rise of the landed price (market price times
        duties and tariffs) over the start price. Returns [firm, grade]."""
        if not self.elasticity.any():
            return 1.0
        g, r, cond = self.grades, self.region, book.cond
        tariff = cond.landed_factor[g][:, r] / cond.export_parity[g][:, r]   # tariff, freight left out [grade, firm]
        landed = book.market.export_price_yuan_per_t[g][:, r] * tariff / book.world.start_price_yuan_per_t[g][:, None]
        return landed.T ** (-self.elasticity[:, None])

    def adapt(self, book: Book) -> None:
        """Overseas buyers answer the landed price at once (``price_response``)."""
