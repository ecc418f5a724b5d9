"""What every kind of firm has: its rows, its slices of pairs, its hooks, its Mesa agent view.

A kind decides for all its firms at once, on arrays (the same rule per firm, evaluated
together for speed). The generic phases of the week call a kind's hooks once per week over
the kind's rows; a hook a kind does not need keeps the default, which does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import mesa
import numpy as np

from ..book import Book
from ..world import World

__all__ = ["Kind", "Firm", "Routes", "Values"]


class Firm(mesa.Agent):
    """A firm as a Mesa agent: a read-only view of its row in the state arrays.

    The model's ``agents`` and ``agents_by_type[...]`` hold these for inspection and the
    dashboard; the behaviour lives in the kind (:class:`Kind`) acting on all rows at once.
    """

    def __init__(self, model: mesa.Model, idx: int):
        super().__init__(model)
        self.idx = idx

    @property
    def stage(self) -> str:
        w = self.model.world
        return w.stages[w.firms.stage[self.idx]]

    @property
    def region(self) -> str:
        w = self.model.world
        return w.firms.region_names[w.firms.region[self.idx]]

    @property
    def capacity_t_per_wk(self) -> float:
        return float(self.model.firms.capacity_t_per_wk[self.idx])

    @property
    def stock_t(self) -> dict[str, float]:
        """Stock per product, t (inputs and finished goods)."""
        row = self.model.firms.stock_t[self.idx]
        return {p: float(row[j]) for j, p in enumerate(self.model.world.materials.products) if row[j] > 0}

    @property
    def asks(self) -> dict[str, float]:
        """Asking price per product sold, in the market's quoted unit."""
        w = self.model.world
        ask = self.model.firms.ask_yuan_per_t[self.idx]
        return {p: float(ask[j] * w.materials.quote_factor[j])
                for j, p in enumerate(w.materials.products) if w.firms.outputs[self.idx, j]}

    @property
    def expectation(self) -> float:
        """Expected relative price change of the product the firm watches."""
        return float(self.model.firms.expected_change[self.idx])

    @property
    def uncertainty(self) -> float:
        return float(self.model.firms.uncertainty[self.idx])

    @property
    def suppliers(self) -> list[int]:
        links = self.model.world.links
        return sorted(set(links.src[links.dst == self.idx].tolist()))

    @property
    def customers(self) -> list[int]:
        links = self.model.world.links
        return sorted(set(links.dst[links.src == self.idx].tolist()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} #{self.idx} {self.region}>"


@dataclass
class Values:
    """Per product [P]: long-run price, the lowest price it can stay at (the cheapest
    producer's cash cost), the highest its buyers can pay (what a unit yields them less
    their processing cost); yuan/t. Kinds fill in the products they price."""

    long_run: np.ndarray
    floor: np.ndarray
    ceiling: np.ndarray


@dataclass(frozen=True)
class Routes:
    """Supply routes of separated rare earths through a kind's firms, for the cost anchor:
    per firm, the full cost of a unit of feed (t REO of ore, or t of scrap) taken all the
    way to oxide, yuan; the feed it can supply per week, t; and what a unit yields of each
    element's oxide [rows, 3: Pr-Nd, Dy, Tb], t. ``ore`` is the product of ore the feed is,
    where China's separation plants must work it (None: separated elsewhere, or scrap)."""

    cost_yuan: np.ndarray
    feed_t_per_wk: np.ndarray
    oxide_yield: np.ndarray
    ore: int | None = None


class Kind:
    """One kind of firm over its rows. Subclasses set ``code`` and ``agent`` and override hooks.

    Hooks, in the order the week calls them:
      ``learn_from_licences(book, buyer, product, tonnes, granted)``  after licences are decided
      ``collect_end_of_life(book, tonnes)``  take in collected end-of-life magnets (recyclers)
      ``produce(book)``        make output (upstream kinds first)
      ``use(book)``            build magnets into end products (end users)
      ``adjust_orders(book, q, supply_line)``  change this kind's order quantities (views)
      ``releases(book)``       per sell pair, what it announces it will offer this week (0:
                               buyers send it no contract orders; the state reserve)
      ``offer_share(book)``    share of saleable stock offered per sell pair, or None (all)
      ``long_run_value(book, value)``  long-run price of products this kind prices, the
                               lowest price they can stay at (cash cost) and the highest its
                               buyers can pay (``value`` holds the three [P] arrays)
      ``supply_routes(book)``  its firms as supply routes of separated rare earths, or None
      ``cost_floor(book, floor)``    lowest ask of its sell pairs (view)
      ``final_asks(book, ask)``      asks set by a rule rather than around the market price
      ``invest(book)``         review capacity (every ``investment_review_weeks``)
      ``adapt(book)``          move substitution and recipes toward what prices call for
    """

    code: ClassVar[int]
    agent: ClassVar[type[Firm]] = Firm

    def __init__(self, world: World):
        self.world = world
        self.rows: np.ndarray = world.rows[self.code]
        # the rows of a kind are contiguous: a slice indexes them without copying
        self.rs = slice(int(self.rows[0]), int(self.rows[-1]) + 1) if self.rows.size else slice(0, 0)
        self.sells: slice | None = world.sells.by_kind.get(self.code)
        self.buys: slice | None = world.buys.by_kind.get(self.code)
        # firm and product of each of the kind's sell and buy pairs (empty when it has none)
        own_sells = self.sells if self.sells is not None else slice(0, 0)
        own_buys = self.buys if self.buys is not None else slice(0, 0)
        self.sell_firm: np.ndarray = world.sells.firm[own_sells]
        self.sell_product: np.ndarray = world.sells.product[own_sells]
        self.buy_firm: np.ndarray = world.buys.firm[own_buys]
        self.buy_product: np.ndarray = world.buys.product[own_buys]
        self.present = self.rows.size > 0

    def config(self):
        """The scenario's table for this kind (a firm group), or None."""
        return None

    def watched_product(self) -> np.ndarray:
        """The price each firm forms expectations about: Pr-Nd oxide, the chain's bellwether."""
        return np.full(self.rows.size, self.world.materials.p("prnd_oxide"))

    # --- hooks (defaults do nothing) -------------------------------------------------------
    def produce(self, book: Book) -> None:
        pass

    def use(self, book: Book) -> None:
        pass

    def adjust_orders(self, book: Book, q: np.ndarray, supply_line: np.ndarray) -> None:
        pass

    def offer_share(self, book: Book) -> np.ndarray | None:
        return None

    def long_run_value(self, book: Book, value: "Values") -> None:
        pass

    def supply_routes(self, book: Book) -> Routes | None:
        return None

    def separation_room(self, book: Book) -> np.ndarray | None:
        """Ore of each product China's plants may work a week this year, t REO [products]
        (their quota and capacity); None where this kind separates nothing."""
        return None

    def start_markups(self) -> dict[int, float]:
        """The products this kind makes and prices at cost times the start-of-run markup, each
        with that markup (start price over what making it cost at the start prices); read by
        ``rechain check``, not by the week."""
        return {}

    def start_ceilings(self) -> dict[int, float]:
        """The products this kind sells whose buyers can pay at most what the product's content
        is worth to them (ore to plants, scrap to recyclers), each with its start price over that
        most at the start prices (above 1: its buyers lose money on it from the first week);
        read by ``rechain check``, not by the week."""
        return {}

    def cost_floor(self, book: Book, floor: np.ndarray) -> None:
        pass

    def final_asks(self, book: Book, ask: np.ndarray) -> None:
        pass

    def releases(self, book: Book) -> np.ndarray | None:
        return None

    def learn_from_licences(self, book: Book, buyer: np.ndarray, product: np.ndarray, tonnes: np.ndarray,
                            granted: np.ndarray) -> None:
        pass

    def adapt(self, book: Book) -> None:
        pass

    def expected_margin(self, book: Book) -> np.ndarray | None:
        """Expected margin of each firm over its full cost at long-run prices (0.2 = 20 %)."""
        return None

    def invest(self, book: Book) -> None:
        """Add capacity when running full at a good expected margin; retire it at a loss.

        New capacity (``investment_share_per_yr`` of capacity per year at a 100 % margin,
        scaled by the margin and by how full the firm runs) arrives after
        ``investment_lead_weeks``; capacity retires while the expected price is below full cost,
        ``retirement_share_per_yr`` a year at a 100 % loss, less in proportion to a smaller one.
        The expected price is :meth:`Book.investment_price`."""
        cfg = self.config()
        if cfg is None or not self.present or (cfg.investment_share_per_yr == 0 and cfg.retirement_share_per_yr == 0):
            return
        margin = self.expected_margin(book)
        if margin is None:
            return
        f, rows = book.firms, self.rows
        period = book.behaviour.investment_review_weeks / 52.18
        cap = f.capacity_t_per_wk[rows]
        busy = np.clip((f.utilisation[rows] - 0.75) / 0.15, 0.0, 1.0)
        add = cap * cfg.investment_share_per_yr * period * np.clip(margin, 0.0, 1.0) * busy
        f.capacity_on_order.order(rows, add, book.cond.week + cfg.investment_lead_weeks)
        retire = cap * cfg.retirement_share_per_yr * period * np.clip(-margin, 0.0, 1.0)
        f.capacity_t_per_wk[rows] = cap - retire
