"""Miners: domestic quota holders (rock-type, ion-adsorption) and ore holders outside
China's quota (Myanmar ion-adsorption ore, rock-type concentrate from abroad).

What a miner does each week: mine what its order book asks for, within its working capacity
and (domestic miners) its share of the quota issued so far; price its ore toward the value
of its oxide content (netback), never below its mining cost. Holders outside the quota mine
into a stockpile and offer only part of it when prices are low or expected to rise.
"""

from __future__ import annotations

import numpy as np

from ..book import Book
from ..network import ABROAD, IONIC, MYANMAR, ROCK
from ..rules.market import offer_share
from ..world import World
from .base import Firm, Kind

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
    """Pricing shared by everyone who sells ore: netback reference, mining-cost floor."""

    def __init__(self, world: World):
        super().__init__(world)
        mat = world.materials
        start = world.start_price_yuan_per_t
        value = mat.oxide_value_yuan_per_t(start)
        self.netback_ratio = np.divide(start, value, out=np.ones_like(start), where=value > 0)
        if self.sells is not None:
            self.sell_cost = world.firms.cost[world.sells.firm[self.sells]]
            self.sell_product = world.sells.product[self.sells]
        self.output = world.main_output[self.rows]

    def price_terms(self, book: Book, floor: np.ndarray, ref: np.ndarray) -> None:
        """Floor: the firm's mining cost. Reference: the value of the ore's Pr-Nd, Dy and Tb
        at oxide prices, at the start-of-run ratio of ore price to that value."""
        floor[:] = self.sell_cost
        value = book.world.materials.oxide_value_yuan_per_t(book.market.index_yuan_per_t) * self.netback_ratio
        ref[:] = value[self.sell_product]


class RockMiners(_OreSellers):
    """Mine rock-type ore within their share of the issued ``mining_rock`` quota."""

    code = ROCK
    agent = RockMiner

    def produce(self, book: Book) -> None:
        i, k = self.rows, self.output
        f, cond = book.firms, book.cond
        plan = book.plan(i, k)
        cap = book.working_capacity(i)
        room = np.maximum(cond.quota_allowance_t[i] - f.quota_used_t[i], 0.0) * cond.quota_pace[i]
        y = np.minimum(np.minimum(cap, plan), room)
        f.quota_used_t[i] += y
        book.note_utilisation(i, y)
        book.add_output(i, k, y)
        book.ledger.add_source("mined_domestic", (y[:, None] * book.content[k]).sum(axis=0))


class IonicMiners(RockMiners):
    """Mine ion-adsorption ore within their share of the ``mining_ionic`` quota; they watch
    the Dy oxide price, the value of their ore."""

    code = IONIC
    agent = IonicMiner

    def watched_product(self) -> np.ndarray:
        return np.full(self.rows.size, self.world.materials.p("dy_oxide"))


class MyanmarHolders(_OreSellers):
    """Mine ion-adsorption ore outside China's quota and sell or hold it back.

    Mining slows as the stockpile nears ``storage_weeks`` of output and stops at twice that;
    the share of stock offered each week follows :func:`rechain.rules.market.offer_share`
    (less when prices are low or expected to rise), times the capacity not disrupted.
    """

    code = MYANMAR
    agent = MyanmarHolder
    records_offer_share = True

    def config(self):
        return self.world.scenario.firms.myanmar_holders

    def watched_product(self) -> np.ndarray:
        return np.full(self.rows.size, self.world.materials.p("dy_oxide"))

    def produce(self, book: Book) -> None:
        cfg = self.config()
        i, k = self.rows, self.output
        cap = book.capacity[i]
        room = np.clip(2.0 - book.firms.stock_t[i, k] / (cfg.storage_weeks * cap), 0.0, 1.0)
        y = cap * book.cond.working_share[i] * book.cond.capacity_share[i] * room
        book.add_output(i, k, y)
        book.ledger.add_source("mined_abroad", (y[:, None] * book.content[k]).sum(axis=0))

    def offer_share(self, book: Book) -> np.ndarray:
        cfg = self.config()
        firm = book.world.sells.firm[self.sells]
        ore = self.sell_product
        floor = cfg.price_floor_share * book.world.start_price_yuan_per_t[ore]
        f = offer_share(book.firms.expected_change[firm], book.market.index_yuan_per_t[ore], floor,
                        cfg.holdback_expectation, cfg.holdback_price, cfg.min_offer_share)
        if self.records_offer_share and book.recorder.enabled:
            book.recorder.note_offer_share(float(f.mean()))
        return f * book.cond.capacity_share[firm]


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
