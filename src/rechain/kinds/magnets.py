"""Magnet makers: Pr-Nd metal/oxide, Dy and Tb -> sintered NdFeB blanks, machined to magnets.

What a magnet maker does each week: make two grades — standard (no Dy/Tb) and
high-coercivity (52UH, Dy/Tb-bearing) — as its order book asks (orders smoothed over the
order lag, plus closing the finished-stock gap), within its working capacity and what its
raw-material stock allows, to the recipe in use; machine ``scrap_share`` of each blank off
as scrap, which it sells to recyclers; buy its Pr-Nd as metal or oxide by their relative
price. Over a year or two its recipes follow prices: dear Pr-Nd brings Ce into the standard
grade, dear Dy and Tb bring grain-boundary diffusion and thrifting into the high grade, as
far as the technology allows (``magnet_recipes``); cheap Dy is alloyed into grades that can
take it (``cheap_dy_wt_pct``), from the Dy left once every grade's recipe is served. Blanks
are priced at raw materials plus processing (less the scrap credit) times the start-of-run
markup, never below that cost, and dearer while end users want more blanks than the makers'
lines can make (new lines take a year or two). Production is counted in blanks.
"""

from __future__ import annotations

import math

import numpy as np

from ..book import Book
from ..network import MAG
from ..recipes import GRADES
from ..rules.pricing import shortage_multiple
from ..world import World
from .base import Firm, Kind, Values

__all__ = ["MagnetMakers", "MagnetMaker", "metal_share", "thrift_target", "cheap_dy_target", "spare_dy_share",
           "scarcest_input", "end_use_blanks"]


def metal_share(theta0: float, p_oxide: float, p_metal: float, oxide_per_metal: float,
                conversion_cost: float, elasticity: float = 4.0, metal_loss: float = 0.0) -> float:
    """Share of Pr-Nd bought as metal: ``theta0`` at cost parity, less when metal is dear.

    Parity is oxide made into metal (``p_oxide * oxide_per_metal / (1 - loss) +
    conversion_cost``, as the separation plants reckon it); the share moves with
    (parity / p_metal) ** elasticity, within [0, 1].
    """
    parity = p_oxide * oxide_per_metal / (1.0 - metal_loss) + conversion_cost
    return float(np.clip(theta0 * (parity / max(p_metal, 1e-9)) ** elasticity, 0.0, 1.0))


def thrift_target(price: float, start_price: float, elasticity: float, max_added: float = 0.0) -> float:
    """Share of the substitutable content a maker wants to give up at ``price``:
    ``clip(elasticity * ln(price / start), -max_added, 1)``; below the start price it is
    negative: the cheaper input is used more freely (less Ce, bulk Dy instead of grain-boundary
    diffusion), up to ``max_added`` of the substitutable content added back."""
    return float(np.clip(elasticity * np.log(max(price, 1e-9) / max(start_price, 1e-9)), -max_added, 1.0))


def cheap_dy_target(price: float, start_price: float, elasticity: float) -> float:
    """Share of a grade's ``cheap_dy_wt_pct`` a maker wants to alloy in at Dy oxide ``price``:
    ``clip(elasticity * ln(start / price), 0, 1)``, the adding-back side of :func:`thrift_target`
    alone: none at or above the start price, all of it once the price is ``exp(-1 / elasticity)``
    of the start (elasticity 2: 0.61)."""
    return max(0.0, -thrift_target(price, start_price, elasticity, max_added=1.0))


def spare_dy_share(dy_stock_t: np.ndarray, dy_required_t: np.ndarray, dy_optional_t: np.ndarray) -> np.ndarray:
    """Share of the Dy each maker would alloy in at will (``dy_optional_t``) that its stock
    covers once the Dy its recipes require (``dy_required_t``) is taken: the added Dy never
    holds a blank back, it takes what is left."""
    left = np.maximum(dy_stock_t - dy_required_t, 0.0)
    return np.minimum(1.0, np.divide(left, dy_optional_t, out=np.ones_like(left), where=dy_optional_t > 1e-12))


def dy_tb_mix(dy: np.ndarray, tb: np.ndarray, swap: np.ndarray, dy_per_tb: float) -> tuple[np.ndarray, np.ndarray]:
    """Dy and Tb content once a maker has moved ``swap`` of the Tb to Dy (negative: Dy to Tb),
    at ``dy_per_tb`` t of Dy for the coercivity of 1 t of Tb; never below zero Dy."""
    moved = np.maximum(tb * swap, -dy / dy_per_tb)       # t Tb per t blank given up (negative: taken up)
    return dy + moved * dy_per_tb, tb - moved


def swap_target(tb_dy_ratio: float, start_ratio: float, elasticity: float, max_share: float) -> float:
    """Share of the Tb a maker wants to replace by Dy at a Tb/Dy price ratio:
    ``clip(elasticity * ln(ratio / start), -max_share, max_share)`` (negative: Dy by Tb): the
    thrift rule with the same bound both ways."""
    return min(thrift_target(tb_dy_ratio, start_ratio, elasticity, max_share), max_share)


def scarcest_input(plan_t: np.ndarray, takes_dy: np.ndarray, takes_tb: np.ndarray, prnd_allows: np.ndarray,
                   dy_allows: np.ndarray, tb_allows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the raw-material stock lets a maker make of each grade it plans, and what it
    cannot make for want of each raw material.

    ``plan_t`` [firm, grade] are the planned blanks, t; ``takes_dy`` and ``takes_tb`` [firm,
    grade] whether the grade's recipe needs Dy and Tb; ``*_allows`` [firm] the share of the
    week's whole plan that the maker's stock of Pr-Nd (oxide and metal), Dy and Tb covers
    (at most 1). Each grade is held back by the scarcest input its recipe needs. Returns the
    share of each grade's plan made [firm, grade] and the planned blanks not made, t, charged
    to the scarcest input [3: Pr-Nd, Dy, Tb] (a tie to the first of them)."""
    shares = np.stack([np.broadcast_to(prnd_allows[:, None], plan_t.shape),
                       np.where(takes_dy, dy_allows[:, None], 1.0),
                       np.where(takes_tb, tb_allows[:, None], 1.0)], axis=-1)      # [firm, grade, input]
    made_share = shares.min(axis=-1)
    short_t = np.bincount(shares.argmin(axis=-1).ravel(), weights=(plan_t * (1.0 - made_share)).ravel(),
                          minlength=3)
    return made_share, short_t


def end_use_blanks(w: World, firms, served: np.ndarray) -> np.ndarray:
    """Blanks a week end users' plans call for from China's makers, t per grade [GRADES]: the
    magnets motor makers and buyers abroad plan to use, each buy pair's times the share of it
    China may serve (``served``, per buy pair: :meth:`~rechain.world.World.served_from_china`),
    with the machining scrap added back. Their plans, not the makers' orders and
    stock-building, so a restocking wave is not read as a shortage."""
    buys, mat = w.buys, w.materials
    eu = w.end_use_magnet_buys
    magnets = np.bincount(buys.product[eu], weights=firms.use_expected_t_per_wk.ravel()[buys.key[eu]] * served[eu],
                          minlength=w.n_products)
    return magnets[[mat.p(g) for g in GRADES]] / (1.0 - w.scenario.firms.magnet_makers.scrap_share)


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
        self.metal_loss = world.scenario.firms.separation_plants.metal_loss_share
        self.grades = np.array([p(g) for g in GRADES])
        self.scraps = np.array([p(g.replace("magnet_", "scrap_")) for g in GRADES])
        self.metal, self.oxide, self.dy, self.tb = p("prnd_metal"), p("prnd_oxide"), p("dy_oxide"), p("tb_oxide")
        self.e_prnd, self.e_dy, self.e_tb = e("prnd"), e("dy"), e("tb")
        self.oxide_per_metal = mat.oxide_per_metal[e("prnd")]
        self.n_elements = len(mat.elements)
        self.outputs = np.concatenate([self.grades, self.scraps])
        self.inputs = np.array([self.metal, self.oxide, self.dy, self.tb])
        rc = world.recipes
        self.substitutable_prnd = 1.0 - rc.min_prnd_share          # [grade]
        self.substitutable_heavy = 1.0 - rc.min_heavy_share
        self.elasticity_prnd = rc.thrift_elasticity[0]             # Ce in the standard grade
        self.elasticity_heavy = rc.thrift_elasticity[1]            # GBD in the high grade
        self.added_prnd, self.added_heavy = rc.max_added_share[0], rc.max_added_share[1]
        self.cheap_dy = rc.cheap_dy                                  # [grade] t REO-eq of Dy per t blank
        self.takes_cheap_dy = bool(self.cheap_dy.any())
        start = world.start_price_yuan_per_t
        self.start = start
        self.start_heavy = self._heavy_price(start, rc.content[0, 1])
        value = mat.oxide_value_yuan_per_t(start)
        # scrap's price over its oxides' value at the start; never above 1 (a recycler pays no
        # more than the oxides are worth), which also bounds it where that value is near zero
        self.netback_ratio = np.minimum(np.divide(start, value, out=np.ones_like(start), where=value > 0), 1.0)
        pop = world.firms
        self.processing_cost = pop.cost[self.rows]
        # the grades' unit costs at mean and least processing cost, in one call
        self._cost_grades = np.repeat(self.grades, 2)
        self._cost_levels = np.tile([self.processing_cost.mean(), self.processing_cost.min()], len(GRADES)) \
            if self.present else np.zeros(2 * len(GRADES))
        self.full_processing_cost = self.processing_cost + pop.capital_cost[self.rows]
        sk = self.sell_product
        self.sells_magnet = np.isin(sk, self.grades)
        self.sells_scrap = np.isin(sk, self.scraps)
        self.magnet_product = sk[self.sells_magnet]
        self.scrap_product = sk[self.sells_scrap]
        self.magnet_cost = pop.cost[self.sell_firm[self.sells_magnet]]
        self.markup = np.ones(len(mat.products))
        if self.present:
            for k in self.grades:
                cost = self.unit_cost(start, np.full(self.rows.size, k), self.processing_cost, mat.content).mean()
                self.markup[k] = start[k] / max(cost, 1e-9)

    def config(self):
        return self.cfg

    def _heavy_price(self, price: np.ndarray, uh_content: np.ndarray) -> float:
        """Dy and Tb price weighted by the high grade's content, yuan per t REO-eq."""
        return float(uh_content[self.e_dy] * price[self.dy] + uh_content[self.e_tb] * price[self.tb])

    def unit_cost(self, price: np.ndarray, grade: np.ndarray, processing_cost: np.ndarray,
                  content: np.ndarray) -> np.ndarray:
        """Raw materials at ``price`` plus processing, less the scrap credit, yuan/t blank sold."""
        cfg = self.cfg
        opm = self.oxide_per_metal
        theta = 1.0 - cfg.oxide_feed_share
        per_t = content[grade] / (1.0 - cfg.melt_loss_share)
        prnd_cost = theta * price[self.metal] / opm + (1 - theta) * price[self.oxide]
        rm = per_t[:, self.e_prnd] * prnd_cost + per_t[:, self.e_dy] * price[self.dy] \
            + per_t[:, self.e_tb] * price[self.tb]
        s = cfg.scrap_share
        scrap_k = np.where(grade == self.grades[0], self.scraps[0], self.scraps[1])
        return (rm + processing_cost) / (1.0 - s) - s / (1.0 - s) * price[scrap_k]

    def recipes_now(self, book: Book) -> np.ndarray:
        """Each maker's recipe this week, t REO-eq per t blank [firm, grade, element]: the
        scenario's recipe less what it has thrifted, with the cheap Dy it means to alloy in."""
        prnd, dy, tb = self._recipe_parts(book)
        dy = dy + self._added_dy(book)
        recipe = np.zeros((self.rows.size, len(GRADES), len(self.world.materials.elements)))
        recipe[:, :, self.e_prnd], recipe[:, :, self.e_dy], recipe[:, :, self.e_tb] = prnd, dy, tb
        return recipe

    def _added_dy(self, book: Book) -> np.ndarray:
        """Cheap Dy each maker means to alloy into each grade, t REO-eq per t blank [firm, grade]."""
        return book.firms.dy_added_share[self.rs, None] * self.cheap_dy[None, :]

    def _recipe_parts(self, book: Book) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pr-Nd, Dy and Tb content of each maker's blank of each grade, t REO-eq/t [firm, grade]."""
        f = book.firms
        base = book.world.recipes.content[book.cond.week]
        keep_prnd = 1.0 - f.prnd_thrift[self.rs, None] * self.substitutable_prnd[None, :]
        keep_heavy = 1.0 - f.heavy_thrift[self.rs, None] * self.substitutable_heavy[None, :]
        dy, tb = dy_tb_mix(base[None, :, self.e_dy] * keep_heavy, base[None, :, self.e_tb] * keep_heavy,
                           f.tb_swap[self.rs, None], self.cfg.dy_per_tb)
        return base[None, :, self.e_prnd] * keep_prnd, dy, tb

    def produce(self, book: Book) -> None:
        rs, cfg = self.rs, self.cfg
        f = book.firms
        S = f.stock_t
        s, loss = cfg.scrap_share, cfg.melt_loss_share
        grades, scraps = self.grades, self.scraps
        met, ox, dy, tb, opm = self.metal, self.oxide, self.dy, self.tb, self.oxide_per_metal
        r_prnd, r_dy, r_tb = self._recipe_parts(book)            # [firm, grade], per t blank
        plan = book.plan(rs, grades) / (1.0 - s)
        cap = book.working_capacity(rs)
        plan *= np.minimum(1.0, cap / np.maximum(plan.sum(axis=1), 1e-12))[:, None]
        # what the raw-material stock allows (needs per t blank include the melt loss)
        pool = S[rs, met] * opm + S[rs, ox]
        need_prnd = (plan * r_prnd).sum(axis=1) / (1.0 - loss)
        need_dy = (plan * r_dy).sum(axis=1) / (1.0 - loss)
        need_tb = (plan * r_tb).sum(axis=1) / (1.0 - loss)
        ones = np.ones_like(pool)
        f_prnd = np.minimum(1.0, np.divide(pool, need_prnd, out=ones.copy(), where=need_prnd > 1e-12))
        f_dy = np.minimum(1.0, np.divide(S[rs, dy], need_dy, out=ones.copy(), where=need_dy > 1e-12))
        f_tb = np.minimum(1.0, np.divide(S[rs, tb], need_tb, out=ones, where=need_tb > 1e-12))
        limit, short_t = scarcest_input(plan, r_dy > 0, r_tb > 0, f_prnd, f_dy, f_tb)
        blanks = plan * limit
        if self.takes_cheap_dy:
            # cheap Dy alloyed in from what the recipes leave: it is ordered, never waited for
            r_add = self._added_dy(book)
            add_t = (blanks * r_add).sum(axis=1) / (1.0 - loss)
            need_dy = need_dy + (plan * r_add).sum(axis=1) / (1.0 - loss)
            r_dy = r_dy + r_add * spare_dy_share(S[rs, dy], (blanks * r_dy).sum(axis=1) / (1.0 - loss),
                                                 add_t)[:, None]
        made = np.stack([(blanks * r_prnd).sum(axis=0), (blanks * r_dy).sum(axis=0),
                         (blanks * r_tb).sum(axis=0)], axis=1)    # [grade, (Pr-Nd, Dy, Tb)] in the blanks
        used = made.sum(axis=0) / (1.0 - loss)                   # into the furnace, Pr-Nd Dy Tb
        used_prnd = (blanks * r_prnd).sum(axis=1) / (1.0 - loss)
        book.note_utilisation(rs, blanks.sum(axis=1))
        from_metal = used_prnd * np.divide(S[rs, met] * opm, pool, out=np.zeros_like(pool), where=pool > 1e-12)
        S[rs, met] -= from_metal / opm
        S[rs, ox] -= used_prnd - from_metal
        S[rs, dy] -= (blanks * r_dy).sum(axis=1) / (1.0 - loss)
        S[rs, tb] -= (blanks * r_tb).sum(axis=1) / (1.0 - loss)
        for k in (met, ox, dy, tb):       # a stock used up exactly can round to -1e-17
            np.maximum(S[rs, k], 0.0, out=S[rs, k])
        # finished magnets and machining scrap carry the recipe: they mix into their grades
        E = self.n_elements
        content = np.zeros((4, E))
        content[0:2, [self.e_prnd, self.e_dy, self.e_tb]] = made * (1.0 - s)
        content[2:4, [self.e_prnd, self.e_dy, self.e_tb]] = made * s
        totals = blanks.sum(axis=0)
        book.mix_in(self.outputs, np.concatenate([totals * (1.0 - s), totals * s]), content)
        S[rs, grades] += blanks * (1.0 - s)
        S[rs, scraps] += blanks * s
        if book.recorder.enabled:
            book.recorder.add_production(rs, grades, blanks)
            book.recorder.add_input_short(short_t)
            book.recorder.add_production(rs, scraps, blanks * s)
        loss_t = np.zeros(E)
        loss_t[[self.e_prnd, self.e_dy, self.e_tb]] = used * loss
        book.ledger.add_sink("magnet_loss", loss_t)
        # planned raw-material use drives ordering, whatever the stock allowed this week;
        # the Pr-Nd is bought as metal or as oxide by their relative price
        price = book.market.price_yuan_per_t
        theta = metal_share(1.0 - cfg.oxide_feed_share, price[ox], price[met], opm, self.metal_cost,
                            metal_loss=self.metal_loss)
        wanted = np.empty((self.rows.size, 4))
        wanted[:, 0] = theta * need_prnd / opm
        wanted[:, 1] = (1.0 - theta) * need_prnd
        wanted[:, 2] = need_dy
        wanted[:, 3] = need_tb
        book.plan_use(rs, self.inputs, wanted)

    def adapt(self, book: Book) -> None:
        """Move the Ce share, the Dy/Tb thrift, the Dy/Tb mix and the cheap Dy alloyed in toward
        what prices call for, over ``thrift_adjust_weeks`` (a year or two: new grades must be
        qualified by customers)."""
        f, price = book.firms, book.market.price_yuan_per_t
        weeks = book.behaviour.thrift_adjust_weeks
        uh = book.world.recipes.content[book.cond.week, 1]
        want_prnd = thrift_target(price[self.oxide], self.start[self.oxide], self.elasticity_prnd, self.added_prnd)
        want_heavy = thrift_target(self._heavy_price(price, uh), self.start_heavy, self.elasticity_heavy,
                                   self.added_heavy)
        f.prnd_thrift[self.rows] += (want_prnd - f.prnd_thrift[self.rows]) / weeks
        f.heavy_thrift[self.rows] += (want_heavy - f.heavy_thrift[self.rows]) / weeks
        cfg = self.cfg
        if cfg.dy_for_tb_max_share > 0:
            want_swap = swap_target(price[self.tb] / max(price[self.dy], 1e-9),
                                    self.start[self.tb] / max(self.start[self.dy], 1e-9),
                                    cfg.dy_for_tb_price_elasticity, cfg.dy_for_tb_max_share)
            f.tb_swap[self.rows] += (want_swap - f.tb_swap[self.rows]) / weeks
        if self.takes_cheap_dy:
            want_dy = cheap_dy_target(price[self.dy], self.start[self.dy], cfg.cheap_dy_price_elasticity)
            f.dy_added_share[self.rows] += (want_dy - f.dy_added_share[self.rows]) / weeks

    def start_markups(self) -> dict[int, float]:
        """Each grade's start price over its unit cost at the start prices (mean processing cost)."""
        return {int(k): float(self.markup[k]) for k in self.grades}

    def start_ceilings(self) -> dict[int, float]:
        """Each scrap's start price over the most a recycler can pay for it at the start prices
        (its oxides' value recovered, less the recyclers' cost: what :meth:`long_run_value` caps
        it at)."""
        if not self.present:
            return {}
        most = self._most_paid(self.world.materials.oxide_value_yuan_per_t(self.start))
        return {int(k): float(self.start[k] / most[k]) if most[k] > 0 else math.inf for k in self.scraps}

    def _most_paid(self, worth: np.ndarray) -> np.ndarray:
        """The most a recycler can pay for a tonne of each product whose oxides are worth
        ``worth`` [P], yuan: what it recovers of them, less its cost."""
        rec = self.world.scenario.firms.recyclers
        return worth * rec.recovery_yield - rec.cost_yuan_per_t

    def long_run_value(self, book: Book, value: Values) -> None:
        """Blanks: unit cost at market prices (grade composition now, mean processing cost)
        times the start-of-run markup, times the shortage multiple while end users want more
        blanks than the installed lines can make (:func:`~rechain.rules.pricing.shortage_multiple`:
        new lines take ``investment_lead_weeks``, so until then the price rations), never below
        the cheapest maker's unit cost. Scrap: its oxide content's value at the start ratio."""
        price, content = book.market.price_yuan_per_t, book.content
        cost = self.unit_cost(price, self._cost_grades, self._cost_levels, content)   # [mean, least] x grades
        b = book.behaviour
        served = book.cond.served_from_china
        short = shortage_multiple(float(end_use_blanks(book.world, book.firms, served).sum()), self.line_capacity(book),
                                  b.shortage_price_exponent, b.price_ceiling_multiple)
        value.long_run[self.grades] = cost[0::2] * self.markup[self.grades] * short
        value.floor[self.grades] = cost[1::2]
        worth = content @ self._oxide_prices(price)
        value.long_run[self.scraps] = worth[self.scraps] * self.netback_ratio[self.scraps]
        value.ceiling[self.scraps] = self._most_paid(worth)[self.scraps]

    def line_capacity(self, book: Book) -> float:
        """Blanks the makers' installed lines can make a week, t. Lines down for a while (a
        disruption) or a holiday are not a lack of lines: that scarcity shows in the market's
        cover, and the long-run price looks through it."""
        return float(book.capacity[self.rows].sum())

    def _oxide_prices(self, price: np.ndarray) -> np.ndarray:
        ox = np.zeros(len(self.world.materials.elements))
        ox[self.e_prnd], ox[self.e_dy], ox[self.e_tb] = price[self.oxide], price[self.dy], price[self.tb]
        return ox

    def cost_floor(self, book: Book, floor: np.ndarray) -> None:
        """Magnets are not sold below their unit cost at market prices."""
        floor[self.sells_magnet] = self.unit_cost(book.market.price_yuan_per_t, self.magnet_product,
                                                  self.magnet_cost, book.content)

    def final_asks(self, book: Book, ask: np.ndarray) -> None:
        """Scrap trades at the market price of scrap."""
        ask[self.sells_scrap] = book.market.price_yuan_per_t[self.scrap_product]

    def expected_margin(self, book: Book) -> np.ndarray:
        """Expected blank prices (:meth:`Book.investment_price`) against full unit cost at
        those prices, weighted by each maker's orders."""
        lr = book.investment_price()
        n = self.rows.size
        margin = np.zeros((n, len(GRADES)))
        for g, k in enumerate(self.grades):
            cost = self.unit_cost(lr, np.full(n, k), self.full_processing_cost, book.content)
            margin[:, g] = lr[k] / np.maximum(cost, 1e-9) - 1.0
        w = book.firms.orders_expected_t_per_wk[self.rows][:, self.grades]
        w = np.where(w.sum(axis=1, keepdims=True) > 0, w, 1.0)
        return (margin * w).sum(axis=1) / w.sum(axis=1)
