"""End users of magnets: domestic motor makers by sector, and overseas buyers by region."""

from __future__ import annotations

import numpy as np

from ..network import MOTOR, OVERSEAS
from .base import Firm


class MotorMaker(Firm):
    """Builds magnets into end products (NEVs, wind turbines, air-conditioners ...).

    End-product output is exogenous (the scenario's units per year, monthly seasonality,
    shocks); a maker uses magnets from stock to meet it and records any shortfall.
    """

    kind = MOTOR
    sink = "used_domestic"

    @classmethod
    def act(cls, m) -> None:
        i = m.idx[cls.kind]
        if i.size == 0:
            return
        g = m.grade_pair                                           # [magnet_std, magnet_uh]
        rows = i[:, None]
        want = m.demand_week[rows] * m.grade_split[i] * cls.price_response(m, i, g)
        got = np.minimum(want, m.S[rows, g])
        m.S[rows, g] -= got
        m.ledger.add_sink(cls.sink, got.sum(axis=0) @ m.C[g])
        m.record_use(i, want.sum(axis=1), got.sum(axis=1))
        m.use_planned(rows, g, want)

    @classmethod
    def price_response(cls, m, i: np.ndarray, g: np.ndarray) -> np.ndarray | float:
        """Magnet use per unit of grades ``g`` responds to their price through the sector's
        ``price_elasticity`` (ferrite or induction designs, thrifting): use falls by that share
        per 1 % rise of the price over its start level. 0 = fixed use. Returns [firm, grade]."""
        if not m.sector_elasticity.any():
            return 1.0
        eps = m.sector_elasticity[m.pop.group[i]][:, None]
        return (m.index_price[g] / m.initial_price[g])[None, :] ** (-eps)


class OverseasBuyer(MotorMaker):
    """A buyer abroad: needs an export licence for controlled products and keeps its own
    holidays (Christmas), so deliveries it cannot receive wait until January."""

    kind = OVERSEAS
    sink = "used_overseas"

    @classmethod
    def price_response(cls, m, i: np.ndarray, g: np.ndarray) -> np.ndarray | float:
        """Buyers abroad can turn to other suppliers: demand for Chinese magnets falls by the
        region's ``price_elasticity`` per 1 % rise of the landed price (index price times
        duties and tariffs) over the start price. Returns [firm, grade]."""
        if not m.region_elasticity.any():
            return 1.0
        r = m.pop.region[i]
        landed = (m.index_price[g] / m.initial_price[g])[None, :] * m.landed[m.t][g][:, r].T
        return landed ** (-m.region_elasticity[r][:, None])
