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
        for g, share in ((m.mat.p("magnet_std"), 1.0 - m.uh_share[i]), (m.mat.p("magnet_uh"), m.uh_share[i])):
            want = m.demand_week[i] * share * cls.price_response(m, i, g)
            got = np.minimum(want, m.S[i, g])
            m.S[i, g] -= got
            m.ledger.add_sink(cls.sink, got.sum() * m.C[g])
            m.record_use(i, want, got)
            m.use_planned(i, g, want)

    @classmethod
    def price_response(cls, m, i: np.ndarray, g: int) -> np.ndarray | float:
        """Magnet use per unit responds to the magnet price through the sector's
        ``price_elasticity`` (ferrite or induction designs, thrifting): use falls by that share
        per 1 % rise of the price over its start level. 0 = fixed use."""
        eps = m.sector_elasticity[m.pop.group[i]]
        if not eps.any():
            return 1.0
        return (m.index_price[g] / m.initial_price[g]) ** (-eps)


class OverseasBuyer(MotorMaker):
    """A buyer abroad: needs an export licence for controlled products and keeps its own
    holidays (Christmas), so deliveries it cannot receive wait until January."""

    kind = OVERSEAS
    sink = "used_overseas"

    @classmethod
    def price_response(cls, m, i: np.ndarray, g: int) -> np.ndarray:
        """Buyers abroad can turn to other suppliers: demand for Chinese magnets falls by the
        region's ``price_elasticity`` per 1 % rise of the landed price (index price times
        duties and tariffs) over the start price."""
        r = m.pop.region[i]
        landed = m.index_price[g] * m.landed[m.t][g, r]
        eps = m.region_elasticity[r]
        return (landed / m.initial_price[g]) ** (-eps)
