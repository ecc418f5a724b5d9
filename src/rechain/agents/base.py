"""Common base of all firms: identity and a view of the firm's row in the state arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import mesa

if TYPE_CHECKING:
    from ..model import ChainModel


class Firm(mesa.Agent):
    """A firm: its index into the model's arrays and read-only views of its state."""

    kind: ClassVar[int]
    model: "ChainModel"

    def __init__(self, model: "ChainModel", idx: int):
        super().__init__(model)
        self.idx = idx

    @property
    def stage(self) -> str:
        return self.model.stages[self.model.pop.stage[self.idx]]

    @property
    def region(self) -> str:
        return self.model.pop.region_names[self.model.pop.region[self.idx]]

    @property
    def capacity_t_per_wk(self) -> float:
        return float(self.model.pop.capacity[self.idx])

    @property
    def stock_t(self) -> dict[str, float]:
        """Stock per product, t (inputs and finished goods)."""
        row = self.model.S[self.idx]
        return {p: float(row[j]) for j, p in enumerate(self.model.mat.products) if row[j] > 0}

    @property
    def asks(self) -> dict[str, float]:
        """Asking price per product sold, in the market's quoted unit."""
        m = self.model
        return {p: float(m.ask[self.idx, j] * m.mat.quote_factor[j])
                for j, p in enumerate(m.mat.products) if m.pop.outputs[self.idx, j]}

    @property
    def expectation(self) -> float:
        """Expected relative price change of the product the firm watches."""
        return float(self.model.x[self.idx])

    @property
    def uncertainty(self) -> float:
        return float(self.model.u[self.idx])

    @property
    def suppliers(self) -> list[int]:
        return sorted(set(self.model.links.src[self.model.links.dst == self.idx].tolist()))

    @property
    def customers(self) -> list[int]:
        return sorted(set(self.model.links.dst[self.model.links.src == self.idx].tolist()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} #{self.idx} {self.region}>"
