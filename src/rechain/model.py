"""The chain model: firms trading along a network, one week per step.

``ChainModel`` is a short facade: it builds the world (:mod:`rechain.world`), the firms'
traits, the state containers (:mod:`rechain.state`) and the kinds of firm
(:mod:`rechain.kinds`), lays out the opening state and spins up (:mod:`rechain.startup`), and
steps the week (:data:`rechain.week.WEEK`). Each firm is also a Mesa agent, a read-only view
of its row (``model.agents``, ``model.agents_by_type[MagnetMaker]``).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import NamedTuple

import mesa
import networkx as nx
import numpy as np

from .accounting import Ledger
from .book import Book
from .conditions import Mode, PolicyTimeline
from .kinds import KINDS_IN_CHAIN_ORDER, acting
from .network import BUYERS_ABROAD, RESERVE, to_networkx
from .randomness import Streams
from .recorder import Recorder
from .scenario import Scenario
from .startup import draw_ask_scatter, lay_out_opening_state, spin_up
from .state import FirmState, LinkState, MarketState
from .traits import draw_traits
from .week import end_use_need, in_system, limit_to_separation, oxide_cost_ratio, run_week
from .world import build_world

__all__ = ["ChainModel", "forget_model"]


class ChainModel(mesa.Model):
    """Agent-based model of the rare-earth -> NdFeB magnet chain.

    Parameters
    ----------
    scenario : a validated :class:`~rechain.scenario.Scenario`
    seed : random seed; the same seed gives the same run
    check_balance : check the per-element material balance every week (raises on failure)

    Public state: ``world`` (fixed for the run), ``firms``, ``links``, ``market`` (what
    changes each week), ``recorder`` (the weekly records), ``ledger`` (the mass balance).
    """

    def __init__(self, scenario: Scenario, seed: int | None = None, check_balance: bool = True):
        super().__init__(seed=seed)
        self.check_balance = check_balance
        # no seed: one drawn from Mesa's generator (itself seeded from the OS)
        self.streams = Streams(seed if seed is not None else int(self.rng.integers(2**62)))
        self.world = world = build_world(scenario, self.streams)
        self.traits = draw_traits(world, self.streams)
        self.timeline = PolicyTimeline(world)
        self.kinds = tuple(cls(world) for cls in KINDS_IN_CHAIN_ORDER)
        self.acting = acting(self.kinds)
        self.entry_route = entry_route(world)
        self.watched_product = np.empty(world.n_firms, dtype=np.int64)
        for kind in self.kinds:
            self.watched_product[kind.rows] = kind.watched_product()
        self.firms = FirmState.empty(world.n_firms, world.n_products, world.firms.capacity)
        self.links = LinkState.empty(world.n_links, world.link.n_slots, world.n_firms, world.n_products)
        abroad = np.isin(world.firms.kind, BUYERS_ABROAD)
        self.market = MarketState.at_prices(world.start_price_yuan_per_t, world.materials.content,
                                            scenario.behaviour.finished_cover_weeks, len(world.regions),
                                            np.unique(world.firms.region[abroad]))
        self.ledger = Ledger(world.materials.elements)
        self.recorder = Recorder(world, self.timeline.quota_type_of_firm)
        self.book = Book(world, self.firms, self.links, self.market, self.ledger, self.recorder)
        self.week = 0          # index of the scenario week to step next
        self.tick = 0          # weeks stepped, spin-up included (the pipeline's clock)
        self.mode = Mode.DRY_RUN
        self.running = True
        self.datacollector = None
        agent_class = {k.code: k.agent for k in self.kinds}
        with cycle_collector_paused():
            for i in range(world.n_firms):
                agent_class[world.firms.kind[i]](self, i)
        self.ask_scatter = draw_ask_scatter(self)
        # domestic buyers place part of their orders on the spot market; buyers abroad (and
        # the reserve, which buys by its own rule) through contracts only
        spot = ~np.isin(world.firms.kind[world.buys.firm], (*BUYERS_ABROAD, RESERVE))
        self.spot_share_of_buy = np.where(spot, scenario.behaviour.spot_share, 0.0)
        self.firms.ask_yuan_per_t.ravel()[world.sells.key] = world.start_price_yuan_per_t[world.sells.product] \
            * self.ask_scatter
        lay_out_opening_state(self)
        spin_up(self, scenario.spin_up_weeks)
        self.datacollector = mesa.DataCollector(
            model_reporters={"week": "t", "price": prices_reported, "sentiment": sentiment_reported})

    # --- the week --------------------------------------------------------------------------
    def step(self) -> None:
        if not self.running:
            return
        run_week(self, Mode.RUN)

    def run(self, progress=None) -> None:
        """Run to the end of the scenario; ``progress`` is called with the week index."""
        while self.running:
            self.step()
            if progress is not None:
                progress(self.week)

    def collect(self) -> None:
        """Mesa's DataCollector takes the week's model-level series (called by ``record``)."""
        if self.datacollector is not None:
            self.datacollector.collect(self)

    # --- views ----------------------------------------------------------------------------
    @property
    def t(self) -> int:
        """Weeks of the scenario stepped so far."""
        return self.week

    @property
    def scenario(self) -> Scenario:
        return self.world.scenario

    @property
    def date(self):
        cal = self.world.calendar
        return cal.weeks[min(self.week, cal.n_weeks - 1)]

    def in_system(self) -> np.ndarray:
        """Material in stocks and in transit, t REO-eq per element."""
        return in_system(self)

    @property
    def network(self) -> nx.DiGraph:
        """The trade network as a ``networkx.DiGraph`` with tonnes shipped so far per link."""
        w = self.world
        return to_networkx(w.firms, w.links, w.materials, w.stages, self.links.shipped_total_t)


def start_anchor_pull(scenario: Scenario) -> float:
    """How far the oxides' long-run price will move from the scenario's start prices: the
    marginal supply route's full cost over the basket's value at those prices, read once after
    spin-up (:func:`~rechain.week.oxide_cost_ratio`; 1: the start prices are what the dearest
    route needed costs, and 1 without supply routes). An era far from 2024 starts far from 1,
    and its prices drift toward 2024's costs."""
    return start_readings(scenario)[0]


def start_readings(scenario: Scenario) -> tuple[float, dict[str, float], dict[str, float],
                                                dict[str, "OxideBalance"]]:
    """:func:`start_anchor_pull`; each made product's start markup: its start price over
    what making it costs at the start prices (blanks: raw materials and the makers' mean
    processing cost, ``MagnetMakers``; Pr-Nd metal: oxide and conversion, ``SeparationPlants``),
    which their long-run prices keep (docs/ODD.md section 7.6), below 1 under cost: sellers do
    not sell below it, so the price rises to it in the first weeks; each ore's and scrap's
    start price over the most its buyers can pay for it at the start prices (the value of the
    oxides recovered less processing), above 1 their buyers lose money on it, so they take
    little of it until its price falls to that; and :func:`start_balance`."""
    chain = ChainModel(scenario, seed=0, check_balance=False)
    ratio = oxide_cost_ratio(chain)
    products = chain.world.materials.products
    present = [kind for kind in chain.kinds if kind.present]
    markups = {products[k]: m for kind in present for k, m in kind.start_markups().items()}
    ceilings = {products[k]: c for kind in present for k, c in kind.start_ceilings().items()}
    balance = start_balance(chain)
    forget_model(chain)
    return (1.0 if ratio is None else float(ratio)), markups, ceilings, balance


class OxideBalance(NamedTuple):
    """One oxide's balance at a run's start, t of oxide a week (:func:`start_balance`)."""

    need_t: float               # what end users plan to take
    supply_t: float             # what the supply routes deliver, within what the plants may separate
    brought_t: float            # what the routes would deliver without that limit


def start_balance(chain: ChainModel) -> dict[str, OxideBalance]:
    """Per oxide (Pr-Nd, Dy, Tb), what end users plan to take of it a week at the run's start
    (:func:`~rechain.week.end_use_need`: the magnets and materials motor makers and buyers
    abroad plan to use, no stock-building) and what the supply routes feed China's plants and
    recyclers a week then (quotas' pace, imports, work outside the quota, scrap; within what
    the plants may separate: :func:`~rechain.week.limit_to_separation`; and without that
    limit), t of oxide a week. The same readings the week's cost anchor takes; a chain that
    starts far from balance spends its first year rationing a shortage by price or working off
    a glut."""
    w = chain.world
    routes = [kind.supply_routes(chain.book) for kind in chain.acting["supply_routes"]]
    if not routes:
        supply = brought = np.zeros(len(w.oxides))
    else:
        yields = np.concatenate([r.oxide_yield for r in routes])
        supply = limit_to_separation(chain, routes) @ yields
        brought = np.concatenate([r.feed_t_per_wk for r in routes]) @ yields
    need = end_use_need(w, chain.firms, chain.book.cond)
    return {w.materials.products[k]: OxideBalance(float(n), float(s), float(b))
            for k, n, s, b in zip(w.oxides, need, supply, brought)}


def entry_route(world) -> tuple[float, np.ndarray] | None:
    """Full cost of a tonne of REO from a new mine taken to oxide (the overseas miners' group
    cost and capital charge plus separation's), yuan, and what it yields of Pr-Nd, Dy and Tb
    oxide [3]; None when the scenario has no overseas miners to say what a new mine costs."""
    f = world.scenario.firms
    om, sep = f.overseas_miners, f.separation_plants
    if om.count == 0 or om.cost_yuan_per_t + om.capital_cost_yuan_per_t <= 0:
        return None
    mat = world.materials
    cost = om.cost_yuan_per_t + om.capital_cost_yuan_per_t + sep.cost_yuan_per_t + sep.capital_cost_yuan_per_t
    ore = mat.content[mat.p("light_ore")]
    yields = np.array([ore[mat.e("prnd")], ore[mat.e("dy")], ore[mat.e("tb")]]) * (1.0 - sep.loss_share)
    return float(cost), yields


@contextmanager
def cycle_collector_paused():
    """Python's cycle collector off while the Mesa agents are made (tens of thousands of
    long-lived objects, none of them garbage): otherwise every few hundred new objects set off
    a collection that walks all the objects made so far, a cost that grows with the square of
    the firms. Switched back on (if it was on) however the block ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def forget_model(model: mesa.Model) -> None:
    """Let a finished model be freed, at once and whole. Call it once its results have been
    taken: the model keeps no agents afterwards.

    Mesa 3.3 numbers agents with ``Agent._ids``, a ``defaultdict`` keyed by model that is
    never emptied: without dropping that entry every model a process builds stays in memory,
    and a worker running thousands of runs grows without bound. A model and its agents also
    refer to each other (each agent to its model, the model to its agents, and the model to
    its own ``step`` methods), so what is left would wait for Python's cycle collector, whose
    full passes walk every object in the process and land, some hundreds of milliseconds
    long, in whichever later run sets one off. Cutting those references frees the model
    when the last name for it goes.
    """
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)
    model.__dict__.get("_agents", {}).clear()
    model.__dict__.get("_agents_by_type", {}).clear()
    for bound_to_itself in ("_user_step", "step"):
        model.__dict__.pop(bound_to_itself, None)


def prices_reported(m: ChainModel) -> np.ndarray:
    """Reporter: this week's price index per product (materials order), quoted unit."""
    return m.recorder.price[m.recorder.week].copy()


def sentiment_reported(m: ChainModel) -> np.ndarray:
    """Reporter: this week's mean expected price change per stage (stage order)."""
    return m.recorder.sentiment[m.recorder.week].copy()
