"""Magnet makers: Pr-Nd metal/oxide, Dy and Tb -> sintered NdFeB blanks, machined to magnets.

What a magnet maker does each week: make two grades — standard (no Dy/Tb) and
high-coercivity (52UH, Dy/Tb-bearing) — as its order book asks (orders smoothed over the
order lag, plus closing the finished-stock gap), within its working capacity and what its
raw-material stock allows; machine ``scrap_share`` of each blank off as scrap, which it
sells to recyclers at the scrap's content value; buy its Pr-Nd as metal or oxide by their
relative price; price its magnets at raw materials plus processing (less the scrap credit)
times the start-of-run markup. Production is counted in blanks.
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..network import MAG
from ..world import World
from .base import Firm, Kind

__all__ = ["MagnetMakers", "MagnetMaker", "metal_share"]


def metal_share(theta0: float, p_oxide: float, p_metal: float, oxide_per_metal: float,
                conversion_cost: float, elasticity: float = 4.0) -> float:
    """Share of Pr-Nd bought as metal: ``theta0`` at cost parity, less when metal is dear.

    Parity is oxide made into metal (``p_oxide * oxide_per_metal + conversion_cost``);
    the share moves with (parity / p_metal) ** elasticity, within [0, 1].
    """
    parity = p_oxide * oxide_per_metal + conversion_cost
    return float(np.clip(theta0 * (parity / max(p_metal, 1e-9)) ** elasticity, 0.0, 1.0))


class MagnetMaker(Firm):
    """A sintered NdFeB magnet maker."""


class MagnetMakers(Kind):
    """Make standard and high-coercivity blanks; sell magnets and machining scrap."""

    code = MAG
    agent = MagnetMaker

    def __init__(self, world: World):
        super().__init__(world)
        mat = world.materials
        p, e = mat.p, mat.e
        self.cfg = world.scenario.firms.magnet_makers
        self.metal_cost = world.scenario.firms.separation_plants.metal_cost_yuan_per_t
        self.grades = np.array([p("magnet_std"), p("magnet_uh")])
        self.scraps = np.array([p("scrap_std"), p("scrap_uh")])
        self.metal, self.oxide, self.dy, self.tb = p("prnd_metal"), p("prnd_oxide"), p("dy_oxide"), p("tb_oxide")
        self.e_prnd, self.e_dy, self.e_tb = e("prnd"), e("dy"), e("tb")
        self.oxide_per_metal = mat.oxide_per_metal[e("prnd")]
        # element needs per t blank, REO-eq: [grade, element]
        self.per_blank = mat.content[self.grades] / (1.0 - self.cfg.melt_loss_share)
        start = world.start_price_yuan_per_t
        value = mat.oxide_value_yuan_per_t(start)
        self.netback_ratio = np.divide(start, value, out=np.ones_like(start), where=value > 0)
        if self.sells is not None:
            sk = world.sells.product[self.sells]
            self.sell_firm = world.sells.firm[self.sells]
            self.sells_magnet = np.isin(sk, self.grades)
            self.sells_scrap = np.isin(sk, self.scraps)
            self.magnet_product = sk[self.sells_magnet]
            self.scrap_product = sk[self.sells_scrap]
            self.magnet_cost = world.firms.cost[self.sell_firm[self.sells_magnet]]
        self.markup = np.ones(len(mat.products))
        if self.present:
            for k in self.grades:
                cost = self._unit_cost(start, np.full(self.rows.size, k), world.firms.cost[self.rows]).mean()
                self.markup[k] = start[k] / max(cost, 1e-9)

    def _unit_cost(self, price: np.ndarray, grade: np.ndarray, processing_cost: np.ndarray) -> np.ndarray:
        """Raw materials at market prices plus processing, less the scrap credit, yuan/t."""
        cfg = self.cfg
        opm = self.oxide_per_metal
        theta = 1.0 - cfg.oxide_feed_share
        per_t = self.world.materials.content[grade] / (1.0 - cfg.melt_loss_share)
        prnd_cost = theta * price[self.metal] / opm + (1 - theta) * price[self.oxide]
        rm = per_t[:, self.e_prnd] * prnd_cost + per_t[:, self.e_dy] * price[self.dy] \
            + per_t[:, self.e_tb] * price[self.tb]
        s = cfg.scrap_share
        scrap_k = np.where(grade == self.grades[0], self.scraps[0], self.scraps[1])
        return (rm + processing_cost) / (1.0 - s) - s / (1.0 - s) * price[scrap_k]

    def produce(self, book: Book) -> None:
        i, cfg = self.rows, self.cfg
        f = book.firms
        S = f.stock_t
        s = cfg.scrap_share
        grades, scraps, per_blank = self.grades, self.scraps, self.per_blank
        met, ox, dy, tb, opm = self.metal, self.oxide, self.dy, self.tb, self.oxide_per_metal
        e_prnd, e_dy, e_tb = self.e_prnd, self.e_dy, self.e_tb
        rows = i[:, None]
        plan = book.plan(rows, grades) / (1.0 - s)
        cap = book.working_capacity(i)
        plan *= np.minimum(1.0, cap / np.maximum(plan.sum(axis=1), 1e-12))[:, None]
        # what the raw-material stock allows
        pool = S[i, met] * opm + S[i, ox]
        need_prnd = plan @ per_blank[:, e_prnd]
        f_prnd = np.minimum(1.0, np.divide(pool, need_prnd, out=np.ones_like(pool), where=need_prnd > 1e-12))
        need_dy = plan @ per_blank[:, e_dy]
        need_tb = plan @ per_blank[:, e_tb]
        f_dy = np.minimum(1.0, np.divide(S[i, dy], need_dy, out=np.ones_like(pool), where=need_dy > 1e-12))
        f_tb = np.minimum(1.0, np.divide(S[i, tb], need_tb, out=np.ones_like(pool), where=need_tb > 1e-12))
        blanks = plan * np.stack([f_prnd, np.minimum.reduce([f_prnd, f_dy, f_tb])], axis=1)
        used = blanks @ per_blank                                  # [firm, element]
        book.note_utilisation(i, blanks.sum(axis=1))
        from_metal = used[:, e_prnd] * np.divide(S[i, met] * opm, pool, out=np.zeros_like(pool),
                                                 where=pool > 1e-12)
        S[i, met] -= from_metal / opm
        S[i, ox] -= used[:, e_prnd] - from_metal
        S[i, dy] -= used[:, e_dy]
        S[i, tb] -= used[:, e_tb]
        book.add_output(rows, grades, blanks * (1.0 - s), record=False)
        book.add_output(rows, scraps, blanks * s)
        book.record_output(rows, grades, blanks)
        book.ledger.add_sink("magnet_loss", used.sum(axis=0) - (blanks @ book.content[grades]).sum(axis=0))
        # planned raw-material use drives ordering, whatever the stock allowed this week;
        # the Pr-Nd is bought as metal or as oxide by their relative price
        price = book.market.index_yuan_per_t
        theta = metal_share(1.0 - cfg.oxide_feed_share, price[ox], price[met], opm, self.metal_cost)
        prnd_plan = plan @ per_blank[:, e_prnd]
        book.plan_use(rows, np.array([met, ox, dy, tb]),
                      np.stack([theta * prnd_plan / opm, (1.0 - theta) * prnd_plan, need_dy, need_tb], axis=1))

    def price_terms(self, book: Book, floor: np.ndarray, ref: np.ndarray) -> None:
        """Magnets: floor at unit cost, reference at cost times the start-of-run markup (the
        trade quotes blanks as raw materials plus a processing fee). Scrap: its content value."""
        price = book.market.index_yuan_per_t
        cost = self._unit_cost(price, self.magnet_product, self.magnet_cost)
        floor[self.sells_magnet] = cost
        ref[self.sells_magnet] = cost * self.markup[self.magnet_product]
        value = book.world.materials.oxide_value_yuan_per_t(price) * self.netback_ratio
        ref[self.sells_scrap] = value[self.scrap_product]

    def final_asks(self, book: Book, ask: np.ndarray, ref: np.ndarray) -> None:
        """Scrap trades at its content value."""
        ask[self.sells_scrap] = ref[self.sells_scrap]
