"""Miners: domestic quota holders (rock-type, ion-adsorption) and ore holders outside
China's quota (Myanmar ion-adsorption ore, rock-type concentrate from abroad).

What a miner does each week: a domestic quota holder mines its share of the year's quota at
the pace that uses its year's share by year end (making up weeks lost, at most
``pace_multiple`` times the even pace) while the ore pays (full pace from a margin of
``full_run_margin_share`` of the ore's price over cash cost, none at a loss), within its
working capacity and the quota issued so far, and slows as unsold ore fills its yard; where the scenario allows mining outside the
quota (``outside_quota_share``, less what ``enforcement`` and dated crackdowns stop), it mines that much more when
it pays. Holders outside the quota mine into a stockpile at a rate that
answers their margin, and offer only part of it when the price is below what they expect
to get in the long run or is expected to rise. Ore is priced at the value of its oxide
content (its netback, at the start-of-run ratio); each miner is also a supply route whose
full cost, with separation, anchors the long-run price of the oxides.
"""

from __future__ import annotations

import math

import numpy as np

from ..book import Book
from ..network import ABROAD, IONIC, MYANMAR, ROCK
from ..policy.quotas import beyond_quota, quota_pace, quota_room
from ..rules.market import offer_share
from ..rules.pricing import margin_pace, margin_utilisation, storage_room
from ..world import World
from .base import Firm, Kind, Routes, Values

__all__ = ["RockMiners", "IonicMiners", "MyanmarHolders", "OverseasMiners", "RockMiner", "IonicMiner",
           "MyanmarHolder", "OverseasMiner"]


class RockMiner(Firm):
    """A rock-type (bastnaesite/monazite) miner holding part of the ``mining_rock`` quota."""


class IonicMiner(Firm):
    """An ion-adsorption clay miner (the domestic Dy/Tb source) holding ``mining_ionic`` quota."""


class MyanmarHolder(Firm):
    """A holder of Myanmar ion-adsorption ore, outside China's quota."""


class OverseasMiner(Firm):
    """A rock-type miner abroad (US, Australia, ...) selling concentrate to Chinese plants."""


class _OreSellers(Kind):
    """What everyone who mines and sells ore shares: netback pricing, cost floor, routes."""

    def __init__(self, world: World):
        super().__init__(world)
        mat = world.materials
        e = mat.e
        start = world.start_price_yuan_per_t
        value = mat.oxide_value_yuan_per_t(start)
        self.netback_ratio = np.divide(start, value, out=np.ones_like(start), where=value > 0)
        self.output = world.main_output[self.rows]
        # every firm of a kind of miner mines the same ore
        self.ore = int(self.output[0]) if self.present else 0
        pop = world.firms
        self.cost = pop.cost[self.rows]
        sep = world.scenario.firms.separation_plants
        # a tonne of ore taken all the way to oxide: mining plus separation, full cost
        self.route_cost = self.cost + pop.capital_cost[self.rows] + sep.cost_yuan_per_t + sep.capital_cost_yuan_per_t
        self.full_cost = self.cost + pop.capital_cost[self.rows]
        self.route_yield = mat.content[self.output][:, [e("prnd"), e("dy"), e("tb")]] * (1.0 - sep.loss_share)
        self.least_cost = float(self.cost.min()) if self.present else 0.0
        self.ceiling_share = (1.0 - sep.loss_share) * (1.0 - sep.full_run_margin_share)
        self.separation_cost = sep.cost_yuan_per_t
        self.sell_cost = pop.cost[self.sell_firm]

    def long_run_value(self, book: Book, value: Values) -> None:
        """Ore is worth a share of its oxide content at market prices (its netback), the
        share the market paid at the start (as Baotou's concentrate formula and the Myanmar
        carbonate trade do); it cannot stay below the cheapest miner's cash cost, nor above
        what separating it leaves a plant running at full pace."""
        k = self.ore
        content_value = float(book.content[k] @ book.world.materials.oxide_price_vector(book.market.price_yuan_per_t))
        value.long_run[k] = content_value * self.netback_ratio[k]
        value.floor[k] = max(value.floor[k], self.least_cost)
        value.ceiling[k] = self._most_paid(content_value)

    def start_ceilings(self) -> dict[int, float]:
        """The ore's start price over the most a plant can pay for it at the start prices (what
        :meth:`long_run_value` caps it at)."""
        if not self.present:
            return {}
        w = self.world
        k = self.ore
        most = self._most_paid(float(w.materials.content[k] @ w.materials.oxide_price_vector(w.start_price_yuan_per_t)))
        return {k: float(w.start_price_yuan_per_t[k] / most) if most > 0 else math.inf}

    def _most_paid(self, content_value: float) -> float:
        """The most a plant running at full pace can pay for a tonne of the ore whose oxides are
        worth ``content_value``, yuan: their value after losses and margin, less separation."""
        return content_value * self.ceiling_share - self.separation_cost

    def cost_floor(self, book: Book, floor: np.ndarray) -> None:
        floor[:] = self.sell_cost

    def expected_margin(self, book: Book) -> np.ndarray:
        """Expected ore price (:meth:`Book.investment_price`) against the firm's full cost."""
        return book.investment_price()[self.ore] / np.maximum(self.full_cost, 1e-9) - 1.0


class RockMiners(_OreSellers):
    """Mine rock-type ore within their share of the issued ``mining_rock`` quota."""

    code = ROCK
    agent = RockMiner
    quota_type = "mining_rock"

    def __init__(self, world: World):
        super().__init__(world)
        cfg = self.config()
        self.full_run_margin = cfg.full_run_margin_share
        self.outside_share = cfg.outside_share

    def config(self):
        return self.world.scenario.firms.rock_miners

    def produce(self, book: Book) -> None:
        i, k = self.rs, self.ore
        f, cond, b = book.firms, book.cond, book.behaviour
        price = book.market.price_yuan_per_t[k]
        even = cond.quota_year_t_per_wk[i]
        cap = book.working_capacity(i)
        # mining beyond the quota (illegal mining), as far as enforcement and any crackdown (a
        # disruption of it alone) let it through
        outside_open = self.outside_share * cap * cond.outside_quota_open[i] if self.outside_share > 0 else None
        # the yard holds so many weeks of all the mine's even pace, the quota's and beyond it as
        # enforcement lets it through; a full yard and a thin margin slow both alike. A crackdown
        # stops the work, not the yard: read on the flow it cut, the ore already mined would
        # fill the yard at once and stop the quota's mining too
        normal_flow = np.minimum(even, f.capacity_t_per_wk[i])
        if outside_open is not None:
            normal_flow = normal_flow + self.outside_share * cap
        slow = storage_room(f.stock_t[i, k], normal_flow, b.max_finished_cover_weeks) \
            * margin_pace(price - self.cost, price, self.full_run_margin)
        pace = np.minimum(quota_pace(book, even, f.quota_used_t[i]), f.capacity_t_per_wk[i]) * cond.working_share[i]
        room = quota_room(book, i, f.quota_used_t[i], self.quota_type)
        y = np.minimum(np.minimum(cap, pace * slow), room)
        f.quota_used_t[i] += y
        book.ledger.add_source("mined_domestic", y.sum() * book.content[k])
        if outside_open is not None:
            # ... from the capacity the quota's mining leaves: a miner fills its quota first; what
            # it mines beyond never counts against the quota
            outside = beyond_quota(cap, y, outside_open * slow)
            book.ledger.add_source("mined_outside_quota", outside.sum() * book.content[k])
            y = y + outside
        book.note_utilisation(i, y)
        book.add_output(i, k, y)

    def supply_routes(self, book: Book) -> Routes:
        """What the quota lets them mine this year and what enforcement and crackdowns let
        through beyond it (``outside_quota_share``), at most their capacity: ore mined outside
        the quota is supply like any other, and an era that had much of it is not short of it."""
        i = self.rs
        cap = book.firms.capacity_t_per_wk[i]
        allowed = book.cond.quota_year_t_per_wk[i]
        if self.outside_share > 0:
            allowed = allowed + self.outside_share * cap * book.cond.outside_quota_open[i]
        return Routes(self.route_cost, np.minimum(cap, allowed), self.route_yield, self.ore)


class IonicMiners(RockMiners):
    """Mine ion-adsorption ore within their share of the ``mining_ionic`` quota; they watch
    the Dy oxide price, the value of their ore."""

    code = IONIC
    agent = IonicMiner
    quota_type = "mining_ionic"

    def config(self):
        return self.world.scenario.firms.ionic_miners

    def watched_product(self) -> np.ndarray:
        return np.full(self.rows.size, self.world.materials.p("dy_oxide"))


class MyanmarHolders(_OreSellers):
    """Mine ion-adsorption ore outside China's quota and sell or hold it back.

    The mining rate answers the margin over cash cost (``normal_utilisation`` of capacity at
    the start-of-run margin, ``supply_price_elasticity``), slows as the stockpile nears
    ``storage_weeks`` of output and stops at twice that. The share of stock offered follows
    :func:`rechain.rules.market.offer_share`: less when the price is below
    ``price_floor_share`` of its long-run level (holders wait for better prices) or is
    expected to rise; times the capacity not disrupted.
    """

    code = MYANMAR
    agent = MyanmarHolder
    records_offer_share = True

    def __init__(self, world: World):
        super().__init__(world)
        start = world.start_price_yuan_per_t[self.output]
        self.normal_margin = np.maximum(start - self.cost, 0.05 * start)

    def config(self):
        return self.world.scenario.firms.myanmar_holders

    def watched_product(self) -> np.ndarray:
        return np.full(self.rows.size, self.world.materials.p("dy_oxide"))

    def produce(self, book: Book) -> None:
        cfg = self.config()
        i, k = self.rs, self.ore
        # the yard holds weeks of the output of the mines there are (capacity_by_year)
        cap = book.firms.capacity_t_per_wk[i] * book.cond.dated_share[i]
        room = np.clip(2.0 - book.firms.stock_t[i, k] / (cfg.storage_weeks * np.maximum(cap, 1e-12)), 0.0, 1.0)
        rate = margin_utilisation(book.market.price_yuan_per_t[k], self.cost, self.normal_margin,
                                  cfg.supply_price_elasticity, cfg.normal_utilisation)
        y = book.working_capacity(i) * room * rate
        book.note_utilisation(i, y)
        book.add_output(i, k, y)
        book.ledger.add_source("mined_abroad", y.sum() * book.content[k])

    def offer_share(self, book: Book) -> np.ndarray:
        """One sell pair per holder (its ore), in row order."""
        cfg = self.config()
        m, k = book.market, self.ore
        reservation = cfg.price_floor_share * m.long_run_yuan_per_t[k]
        f = offer_share(book.firms.expected_change[self.rs], m.price_yuan_per_t[k], reservation,
                        cfg.holdback_expectation, cfg.holdback_price, cfg.min_offer_share)
        if self.records_offer_share and book.recorder.enabled:
            book.recorder.note_offer_share(float(f.mean()))
        # a disruption (a border closed, a tariff) stops shipping as well as mining; more or fewer
        # mines (dated capacity) change what they mine, not the share of the stock they offer
        return f * book.cond.disruption_share[self.rs]

    def supply_routes(self, book: Book) -> Routes:
        feed = book.firms.capacity_t_per_wk[self.rs] * book.cond.capacity_share[self.rs]
        return Routes(self.route_cost, feed, self.route_yield, self.ore)


class OverseasMiners(MyanmarHolders):
    """Rock-type ore mined abroad and sold to Chinese plants, outside China's quota; holds
    back like the Myanmar holders (with its own parameters) and can be cut off by tariffs."""

    code = ABROAD
    agent = OverseasMiner
    records_offer_share = False

    def config(self):
        return self.world.scenario.firms.overseas_miners

    def watched_product(self) -> np.ndarray:
        return np.full(self.rows.size, self.world.materials.p("prnd_oxide"))
