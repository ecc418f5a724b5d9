"""Separation plants: ore -> Pr-Nd, Dy and Tb oxides; part of the Pr-Nd made into metal.

What a plant does each week: work ore at the pace that uses its share of the year's separation
quota by year end (making up lost weeks, at most ``pace_multiple`` times the even pace; at most
its capacity) as far as the basket margin allows (the oxides' value at market
prices less the ore's price and the processing cost: full pace from
``full_run_margin_share`` of the basket, none at a loss), slowing as unsold oxide and metal
fill its store, within its working capacity, the quota issued so far and the ore in stock;
where the scenario allows separation outside the quota (``outside_quota_share``, less what
``enforcement`` and dated crackdowns stop), it works that much more ore when it pays; it
orders ore for that pace; it turns Pr-Nd oxide into metal as its metal orders call for,
buying oxide on the market when its own falls short; hold oxide back
when its price is below ``reservation_share`` of its long-run level or is expected to rise
(co-products are not dumped). Metal is priced at the cost of making it from oxide times the
start-of-run markup.
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..network import SEP
from ..policy.quotas import beyond_quota, quota_pace, quota_room
from ..rules.market import offer_share
from ..rules.pricing import margin_pace, storage_room
from ..world import World
from .base import Firm, Kind, Values

__all__ = ["SeparationPlants", "SeparationPlant", "oxide_offer_share"]


def oxide_offer_share(book: Book, firm: np.ndarray, product: np.ndarray) -> np.ndarray:
    """Share of its stock of separated ``product`` each holder ``firm`` offers, by the plants'
    rule (``firms.separation_plants``): less when prices are expected to rise, and less when the
    price is below its reservation share (``reservation_share``, or the product's own in
    ``reservation_share_by_product``) of its long-run price (co-products are held, not dumped).
    Recyclers, who sell the same oxides into the same market, use it too."""
    w, m = book.world, book.market
    cfg = w.scenario.firms.separation_plants
    return offer_share(book.firms.expected_change[firm], m.price_yuan_per_t[product],
                       w.reservation_share[product] * m.long_run_yuan_per_t[product], cfg.holdback_expectation,
                       cfg.holdback_price, cfg.min_offer_share)


class SeparationPlant(Firm):
    """A plant separating one ore type (rock-type or ion-adsorption), some with a metal line."""


class SeparationPlants(Kind):
    """Process one ore type each within their share of the separation quota."""

    code = SEP
    agent = SeparationPlant
    quota_type = "separation"

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
        self.lines = self.rows[self.has_metal_line]
        self.ore_key = self.rows * len(mat.products) + self.ore
        self.ore_content = mat.content[self.ore]        # [plant, element] per t REO of ore
        E = len(mat.elements)
        self.other_mask = np.eye(E)[e("other")]
        self.prnd_mask = np.eye(E)[e("prnd")]
        self.sold = np.array([p("prnd_oxide"), p("dy_oxide"), p("tb_oxide"), p("prnd_metal")])
        self.cost = world.firms.cost[self.rows]
        self.full_cost = self.cost + world.firms.capital_cost[self.rows]
        start = world.start_price_yuan_per_t
        self.metal_markup = start[self.metal] / self.metal_parity(start)

    def config(self):
        return self.cfg

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

    def basket_margin(self, price: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Value of a tonne of ore's oxides and the margin over ore price and ``cost``, yuan."""
        value = self.yields @ price[self.oxides]
        return value, value - price[self.ore] - cost

    def _even_pace(self, book: Book) -> tuple[np.ndarray | float, np.ndarray, np.ndarray]:
        """Per plant: the share of its ore that counts against the separation quota (all of it
        once imported ore counts, its domestic share before), the ore worked per t of quota used,
        and the ore it may work a week at this year's even pace (its quota share over the
        counted share, within its capacity; a year without a quota: its capacity), t REO."""
        f, cond, i = book.firms, book.cond, self.rs
        counted = 1.0 if cond.imports_count else 1.0 - f.import_share[i]
        per_ore = 1.0 / np.maximum(counted, 1e-6)
        return counted, per_ore, np.minimum(cond.quota_year_t_per_wk[i] * per_ore, f.capacity_t_per_wk[i])

    def separation_room(self, book: Book) -> np.ndarray:
        """Ore of each product the plants may work a week at this year's even pace, and what
        enforcement and crackdowns let them work beyond the quota (``outside_quota_share``),
        within their capacity, t REO [products]. The anchor's ore routes pass through it."""
        room = self._even_pace(book)[2]
        if self.cfg.outside_share > 0:
            i = self.rs
            cap = book.firms.capacity_t_per_wk[i]
            room = np.minimum(room + self.cfg.outside_share * cap * book.cond.outside_quota_open[i], cap)
        return np.bincount(self.ore, weights=room, minlength=book.world.n_products)

    def produce(self, book: Book) -> None:
        cfg, i = self.cfg, self.rs
        f, cond = book.firms, book.cond
        S, ore_key = f.stock_t.ravel(), self.ore_key
        ox, met, opm, yields = self.oxides, self.metal, self.oxide_per_metal, self.yields
        price = book.market.price_yuan_per_t
        cap = book.working_capacity(i)
        plan_metal = book.plan(i, met) * self.has_metal_line
        oxide_for_metal = plan_metal * (opm / (1.0 - cfg.metal_loss_share))
        counted, per_ore, even = self._even_pace(book)
        pace = np.minimum(quota_pace(book, cond.quota_year_t_per_wk[i], f.quota_used_t[i]) * per_ore,
                          f.capacity_t_per_wk[i]) * cond.working_share[i]
        basket, margin = self.basket_margin(price, self.cost)
        # separation beyond the quota (illegal separation), as far as enforcement and any
        # crackdown (a disruption of it alone) let it through
        outside_open = cfg.outside_share * cap * cond.outside_quota_open[i] if cfg.outside_share > 0 else None
        # unsold stock slows a plant as it fills the yard: weeks of its own even-pace output
        # (what it sells shows in prices, not here: orders alone do not make it run); a full
        # yard and a thin margin slow the work within the quota and beyond it alike. A crackdown
        # stops the work, not the yard (the flow it cut would fill the yard and stop the quota's work)
        normal_flow = even if outside_open is None else even + cfg.outside_share * cap
        held = f.stock_t[i, self.sold] @ price[self.sold]
        yard = storage_room(held, normal_flow * basket, book.behaviour.max_finished_cover_weeks)
        paying = margin_pace(margin, basket, cfg.full_run_margin_share)
        pace *= yard
        pace *= paying
        room = quota_room(book, i, f.quota_used_t[i], self.quota_type) * per_ore
        within = np.minimum(np.minimum(pace, cap), room)       # nobody plans beyond what they may run
        ore_wanted = within
        if outside_open is not None:
            ore_wanted = within + beyond_quota(cap, within, outside_open * yard * paying)
        r = np.minimum(ore_wanted, S[ore_key])
        f.quota_used_t[i] += np.minimum(r, within) * counted     # the quota's ore is worked first
        book.note_utilisation(i, r)
        S[ore_key] -= r
        made = r[:, None] * yields
        book.add_output(i, ox, made)
        ore_content = r @ self.ore_content                     # t REO-eq per element
        book.ledger.add_sink("separation_loss", ore_content * cfg.loss_share)
        book.ledger.add_sink("byproduct_sold", ore_content * self.other_mask * (1.0 - cfg.loss_share))
        # the metal line draws on the plant's oxide stock, own or bought
        k_ox = ox[0]
        feed = np.minimum(oxide_for_metal, f.stock_t[i, k_ox])
        f.stock_t[i, k_ox] -= feed
        book.add_output(i, met, feed * ((1.0 - cfg.metal_loss_share) / opm))
        book.ledger.add_sink("metal_loss", feed.sum() * cfg.metal_loss_share * self.prnd_mask)
        book.plan_use(self.rows, self.ore, ore_wanted)          # rows and ores paired
        if self.buys is not None:
            # oxide to buy: what the metal line needs beyond the plant's own output
            short = np.maximum(oxide_for_metal - made[:, 0], 0.0)[self.has_metal_line]
            book.plan_use(self.lines, k_ox, short)

    def start_markups(self) -> dict[int, float]:
        """Pr-Nd metal's start price over the cost of making it from oxide at the start prices
        (none without a metal line)."""
        return {int(self.metal): float(self.metal_markup)} if self.has_metal_line.any() else {}

    def long_run_value(self, book: Book, value: Values) -> None:
        """Metal: the cost of making it from oxide at market prices times the start-of-run
        markup (the trade quotes metal as oxide plus a processing fee), never below that cost."""
        parity = self.metal_parity(book.market.price_yuan_per_t)
        value.long_run[self.metal] = parity * self.metal_markup
        value.floor[self.metal] = parity

    def offer_share(self, book: Book) -> np.ndarray:
        """Oxides and metal held back by :func:`oxide_offer_share`."""
        return oxide_offer_share(book, self.sell_firm, self.sell_product)

    def expected_margin(self, book: Book) -> np.ndarray:
        """Basket margin at expected prices (:meth:`Book.investment_price`) over ore and full
        processing cost."""
        price = book.investment_price()
        _, margin = self.basket_margin(price, self.full_cost)
        return margin / np.maximum(price[self.ore] + self.full_cost, 1e-9)
