"""Trade in oxides and metal outside China: the buyers abroad who use them (magnet makers and
other users in Japan, Korea, Europe, the US ...) and the producers abroad who supply them
besides Chinese exporters (Lynas in Malaysia, MP Materials in the US ...).

What a buyer of oxides and metal abroad does each week: use what its region needs (the
scenario's tonnes per year, seasonality; less when the landed price — the export price with
the region's tariff — has risen over its start, by the region's ``price_elasticity``), from
stock, recording any shortfall; plan that use, which anchors its orders; order less after
licences are refused, like the region's magnet buyers.

What a producer abroad does each week: mine and separate its own ore at its capacity (dated,
when the scenario says so) as far as its basket of oxides, valued at export prices, pays
over its cash cost, slowing as unsold stock fills its store; turn part of its Pr-Nd into
metal; sell to buyers abroad only, outside China's quotas and controls, asking like any
seller around the market price — so when restrictions lift the export price over it, buyers
abroad turn to them; build capacity when the expected margin, at export prices, is wide.
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..network import FOREIGN, OVERSEAS_MAT
from ..rules.pricing import margin_pace, storage_room
from ..world import World
from .base import Firm, Kind, Routes
from .buyers import LicenceMemory

__all__ = ["OverseasMaterialBuyers", "ForeignProducers", "OverseasMaterialBuyer", "ForeignProducer"]


class OverseasMaterialBuyer(Firm):
    """A buyer of oxides or metal abroad (a magnet maker outside China, another user)."""


class ForeignProducer(Firm):
    """A mine with separation outside China selling oxides and metal abroad."""


class OverseasMaterialBuyers(LicenceMemory, Kind):
    code = OVERSEAS_MAT
    agent = OverseasMaterialBuyer
    sink = "used_overseas"

    def __init__(self, world: World):
        super().__init__(world)
        if self.buys is None:
            return
        pop, buys = world.firms, world.buys
        self.pair_key = buys.key[self.buys]
        self.pair_region = pop.region[self.buy_firm]
        self.pair_share = pop.demand_share[self.buy_firm]
        regions = list(world.scenario.regions.values())
        elasticity = np.array([0.0, 0.0, *[r.price_elasticity for r in regions]])
        self.pair_elasticity = elasticity[self.pair_region]

    def use(self, book: Book) -> None:
        f, cond = book.firms, book.cond
        S, key, k = f.stock_t.ravel(), self.pair_key, self.buy_product
        response = self.pair_share * self.price_response(book)
        want = cond.materials_demand_t[self.pair_region, k] * response
        got = np.minimum(want, S[key])
        S[key] -= got
        book.ledger.add_sink(self.sink, got @ book.content[k])
        if book.recorder.enabled:
            book.recorder.add_material_use(self.buy_firm, k, want, got)
        # planned on the coming weeks' schedule, smoothed like every buyer's
        U = f.use_expected_t_per_wk.ravel()
        weeks = 1.0 if cond.mode.name == "DRY_RUN" else book.behaviour.usage_smoothing_weeks
        U[key] += (cond.materials_ahead_t[self.pair_region, k] * response - U[key]) / max(weeks, 1.0)

    def price_response(self, book: Book) -> np.ndarray | float:
        """Use answers the landed price (export price with the region's tariff) over the start."""
        if not self.pair_elasticity.any():
            return 1.0
        m, cond = book.market, book.cond
        k, r = self.buy_product, self.pair_region
        tariff = cond.landed_factor[k, r] / cond.export_parity[k, r]     # tariff, freight left out
        landed = m.export_price_yuan_per_t[k, r] * tariff / book.world.start_price_yuan_per_t[k]
        return landed ** (-self.pair_elasticity)


class ForeignProducers(Kind):
    code = FOREIGN
    agent = ForeignProducer

    def __init__(self, world: World):
        super().__init__(world)
        mat = world.materials
        p, e = mat.p, mat.e
        self.cfg = world.scenario.firms.foreign_producers
        sep_loss = world.scenario.firms.separation_plants.metal_loss_share
        ore = p("light_ore") if self.cfg.ore_type == "rock" else p("ionic_ore")
        self.ore_content = mat.content[ore]
        self.oxides = np.array([p("prnd_oxide"), p("dy_oxide"), p("tb_oxide")])
        self.metal = p("prnd_metal")
        self.oxide_per_metal = mat.oxide_per_metal[e("prnd")]
        loss = world.scenario.firms.separation_plants.loss_share
        self.yields = self.ore_content[[e("prnd"), e("dy"), e("tb")]] * (1.0 - loss)
        self.loss = loss
        self.metal_loss = sep_loss
        self.prnd_mask = np.eye(len(mat.elements))[e("prnd")]
        self.other_mask = np.eye(len(mat.elements))[e("other")]
        self.cost = world.firms.cost[self.rows]
        self.full_cost = self.cost + world.firms.capital_cost[self.rows]
        self.sold = np.append(self.oxides, self.metal)
        # what buyers abroad use is the market producers abroad can reach
        buys = world.buys
        to_market = (world.firms.kind[buys.firm] == OVERSEAS_MAT) & np.isin(buys.product, self.sold)
        self.market_pairs, self.market_product = buys.key[to_market], buys.product[to_market]

    def config(self):
        return self.cfg

    def basket_value(self, book: Book, price_of: np.ndarray) -> float:
        """What a tonne of its ore yields as oxides at the given product prices, yuan."""
        return float(self.yields @ price_of[self.oxides])

    def world_price(self, book: Book) -> np.ndarray:
        """Prices abroad [P]: each product's export price, the mean over the regions that buy."""
        m = book.market
        return m.export_price_yuan_per_t[:, m.export_regions].mean(axis=1) if m.export_regions.size \
            else m.price_yuan_per_t

    def produce(self, book: Book) -> None:
        f, cond, i = book.firms, book.cond, self.rs
        price = self.world_price(book)
        basket = self.basket_value(book, price)
        full = book.working_capacity(i)
        pace = full * margin_pace(basket - self.cost, basket, 0.1)
        # unsold stock slows them down as it fills the yard (weeks of their full-pace output)
        pace *= storage_room(f.stock_t[i][:, self.sold] @ price[self.sold], full * basket,
                             book.behaviour.max_finished_cover_weeks)
        book.note_utilisation(i, pace)
        book.ledger.add_source("mined_abroad", pace.sum() * self.ore_content)
        made = pace[:, None] * self.yields                      # oxides
        to_metal = made[:, 0] * self.cfg.metal_share
        made[:, 0] -= to_metal
        book.add_output(i, self.oxides, made)
        book.add_output(i, self.metal, to_metal * (1.0 - self.metal_loss) / self.oxide_per_metal)
        worked = pace.sum() * self.ore_content                  # t REO-eq per element
        book.ledger.add_sink("separation_loss", worked * self.loss)
        book.ledger.add_sink("metal_loss", to_metal.sum() * self.metal_loss * self.prnd_mask)
        book.ledger.add_sink("byproduct_sold", worked * self.other_mask * (1.0 - self.loss))

    def supply_routes(self, book: Book) -> Routes:
        """Their own ore through their own separation, at full cost: what they can mine a week,
        but no more than buyers abroad use (valued at long-run prices, metal as the oxide in it):
        the oxides buyers abroad need come from them as well as from China, while what they
        could make beyond that reaches no buyer, so it meets no one's need."""
        feed = book.firms.capacity_t_per_wk[self.rs] * book.cond.capacity_share[self.rs]
        long_run = book.market.long_run_yuan_per_t
        used = book.firms.use_expected_t_per_wk.ravel()[self.market_pairs]
        worth = np.where(self.market_product == self.metal, long_run[self.oxides[0]] * self.oxide_per_metal,
                         long_run[self.market_product])
        reach = float(used @ worth)                                  # yuan a week
        supply = float(feed.sum() * (self.yields @ long_run[self.oxides]))
        if supply > reach:
            feed = feed * (reach / supply)
        return Routes(self.full_cost, feed, np.broadcast_to(self.yields, (feed.size, self.yields.size)))

    def expected_margin(self, book: Book) -> np.ndarray:
        basket = self.basket_value(book, self.world_price(book))
        return basket / np.maximum(self.full_cost, 1e-9) - 1.0

