"""What every kind of firm has: its rows, its slices of pairs, its hooks, its Mesa agent view.

A kind decides for all its firms at once, on arrays (the same rule per firm, evaluated
together for speed). The generic phases of the week call a kind's hooks once per week over
the kind's rows; a hook that a kind does not need keeps the default, which does nothing.
"""

from __future__ import annotations

from typing import ClassVar

import mesa
import numpy as np

from ..book import Book
from ..world import World

__all__ = ["Kind", "Firm"]


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
        return float(self.model.world.firms.capacity[self.idx])

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


class Kind:
    """One kind of firm over its rows. Subclasses set ``code`` and ``agent`` and override hooks.

    Hooks, in the order the week calls them:
      ``produce(book)``        make output (upstream kinds, in chain order)
      ``use(book)``            use magnets in end products (end users)
      ``adjust_orders(book, q)``  change this kind's order quantities (view over its buy pairs)
      ``price_terms(book, floor, ref)``  cost floor and reference price of its asks (views)
      ``final_asks(book, ask, ref)``     asks set by a rule rather than the ask update (views)
      ``offer_share(book)``    share of saleable stock offered per sell pair, or None (all)
      ``learn_from_licences(book, buyer, tonnes, granted)``  after licences are decided
    """

    code: ClassVar[int]
    agent: ClassVar[type[Firm]] = Firm

    def __init__(self, world: World):
        self.world = world
        self.rows: np.ndarray = world.rows[self.code]
        self.sells: slice | None = world.sells.by_kind.get(self.code)
        self.buys: slice | None = world.buys.by_kind.get(self.code)

    @property
    def present(self) -> bool:
        return self.rows.size > 0

    def watched_product(self) -> np.ndarray:
        """The price each firm forms expectations about: Pr-Nd oxide, the chain's bellwether."""
        return np.full(self.rows.size, self.world.materials.p("prnd_oxide"))

    # --- hooks (defaults do nothing) -------------------------------------------------------
    def produce(self, book: Book) -> None:
        pass

    def use(self, book: Book) -> None:
        pass

    def adjust_orders(self, book: Book, q: np.ndarray) -> None:
        pass

    def price_terms(self, book: Book, floor: np.ndarray, ref: np.ndarray) -> None:
        pass

    def final_asks(self, book: Book, ask: np.ndarray, ref: np.ndarray) -> None:
        pass

    def offer_share(self, book: Book) -> np.ndarray | None:
        return None

    def learn_from_licences(self, book: Book, buyer: np.ndarray, tonnes: np.ndarray, granted: np.ndarray) -> None:
        pass
