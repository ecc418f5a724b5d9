"""Separation plants: ore -> Pr-Nd, Dy and Tb oxides; part of the Pr-Nd made into metal.

What a plant does each week: work enough ore to meet the plan of its most demanding product
(among those bringing at least ``MIN_REVENUE_SHARE`` of a tonne of ore's revenue: a plant
cannot make Dy without making Pr-Nd), within its working capacity and its share of the
separation quota; turn as much of its own Pr-Nd oxide into metal as its metal orders call for;
price metal at the cost of making it from oxide times the start-of-run markup; offer less
oxide when it expects prices to rise.
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..network import SEP
from ..rules.market import offer_share
from ..world import World
from .base import Firm, Kind

__all__ = ["SeparationPlants", "SeparationPlant"]


class SeparationPlant(Firm):
    """A plant separating one ore type (rock-type or ion-adsorption), some with a metal line."""


class SeparationPlants(Kind):
    """Process one ore type each within their share of the separation quota."""

    code = SEP
    agent = SeparationPlant
    MIN_REVENUE_SHARE = 0.15

    def __init__(self, world: World):
        super().__init__(world)
        mat = world.materials
        p, e = mat.p, mat.e
        self.cfg = world.scenario.firms.separation_plants
        self.ore = world.main_input[self.rows]
        self.oxides = np.array([p("prnd_oxide"), p("dy_oxide"), p("tb_oxide")])
        self.metal = p("prnd_metal")
        self.oxide_per_metal = mat.oxide_per_metal[e("prnd")]
        # t of each oxide per t REO of ore
        self.yields = mat.content[self.ore][:, [e("prnd"), e("dy"), e("tb")]] * (1.0 - self.cfg.loss_share)
        self.has_metal_line = world.firms.metal_share[self.rows] > 0
        start = world.start_price_yuan_per_t
        self.metal_markup = start[self.metal] / self.metal_parity(start)
        if self.sells is not None:
            self.sells_metal = world.sells.product[self.sells] == self.metal

    def watched_product(self) -> np.ndarray:
        """Plants on ion-adsorption ore watch Dy oxide, the rest Pr-Nd oxide."""
        p = self.world.materials.p
        light = self.world.firms.light[self.rows]
        return np.where(light, p("prnd_oxide"), p("dy_oxide"))

    def metal_parity(self, price: np.ndarray) -> float:
        """Oxide made into metal, yuan/t metal: t oxide per t metal times the oxide price
        (grossed up for the conversion loss) plus the conversion cost."""
        return float(price[self.oxides[0]] * self.oxide_per_metal / (1.0 - self.cfg.metal_loss_share)
                     + self.cfg.metal_cost_yuan_per_t)

    def produce(self, book: Book) -> None:
        cfg, i, ore = self.cfg, self.rows, self.ore
        f, cond, C, e = book.firms, book.cond, book.content, book.world.materials.e
        ox, met, opm, yields = self.oxides, self.metal, self.oxide_per_metal, self.yields
        cap = book.working_capacity(i)
        plan_metal = np.where(self.has_metal_line, book.plan(i, met), 0.0)
        oxide_for_metal = plan_metal * opm / (1.0 - cfg.metal_loss_share)
        need = book.plan(i[:, None], ox)
        need[:, 0] += oxide_for_metal
        value = yields * book.market.index_yuan_per_t[ox]
        w = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-12)
        per_product = np.divide(need, yields, out=np.zeros_like(need), where=yields > 1e-9)
        ore_wanted = np.where(w >= self.MIN_REVENUE_SHARE, per_product, 0.0).max(axis=1)
        counted = np.where(cond.imports_count, 1.0, 1.0 - f.import_share[i])
        room = np.maximum(cond.quota_allowance_t[i] - f.quota_used_t[i], 0.0) * cond.quota_pace[i] \
            / np.maximum(counted, 1e-6)
        ore_wanted = np.minimum.reduce([ore_wanted, cap, room])  # nobody plans beyond what they may run
        r = np.minimum(ore_wanted, f.stock_t[i, ore])
        f.quota_used_t[i] += r * counted
        book.note_utilisation(i, r)
        f.stock_t[i, ore] -= r
        book.add_output(i[:, None], ox, r[:, None] * yields)
        ore_content = r[:, None] * C[ore]
        book.ledger.add_sink("separation_loss", ore_content.sum(axis=0) * cfg.loss_share)
        other = np.zeros(len(book.world.materials.elements))
        other[e("other")] = ore_content[:, e("other")].sum() * (1.0 - cfg.loss_share)
        book.ledger.add_sink("byproduct_sold", other)
        # the metal line draws on the plant's own oxide
        k_ox = ox[0]
        feed = np.minimum(oxide_for_metal, f.stock_t[i, k_ox])
        f.stock_t[i, k_ox] -= feed
        metal = feed * (1.0 - cfg.metal_loss_share) / opm
        book.add_output(i, met, metal)
        loss = np.zeros(len(book.world.materials.elements))
        loss[e("prnd")] = (feed * cfg.metal_loss_share).sum()
        book.ledger.add_sink("metal_loss", loss)
        book.plan_use(i, ore, ore_wanted)

    def price_terms(self, book: Book, floor: np.ndarray, ref: np.ndarray) -> None:
        """Metal: the cost of making it from oxide times the start-of-run markup (the trade
        quotes metal as oxide plus a processing fee). Oxides: the market index (default)."""
        ref[self.sells_metal] = self.metal_parity(book.market.index_yuan_per_t) * self.metal_markup

    def offer_share(self, book: Book) -> np.ndarray:
        firm = book.world.sells.firm[self.sells]
        return offer_share(book.firms.expected_change[firm], 1.0, 1.0, self.cfg.holdback_expectation, 0.0, 0.5)
