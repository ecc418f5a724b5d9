"""Scrap recyclers: NdFeB scrap -> Pr-Nd, Dy and Tb oxides."""

from __future__ import annotations

import numpy as np

from ..network import REC
from .base import Firm


class Recycler(Firm):
    """Recovers ``recovery_yield`` of the rare earths in the scrap it buys.

    Its feed is the magnet makers' machining scrap (plus collected end-of-life magnets),
    so when magnet output falls the recycler's oxide output falls with it (002).
    """

    kind = REC

    @classmethod
    def act(cls, m) -> None:
        i = m.idx[cls.kind]
        if i.size == 0:
            return
        cfg = m.sc.firms.recyclers
        p, C, e = m.mat.p, m.C, m.mat.e
        scrap = np.array([p("scrap_std"), p("scrap_uh")])
        ox = np.array([p("prnd_oxide"), p("dy_oxide"), p("tb_oxide")])
        els = [e("prnd"), e("dy"), e("tb")]
        stock = m.S[i][:, scrap]
        total = stock.sum(axis=1)
        mix = np.where(total[:, None] > 1e-12, stock / np.maximum(total[:, None], 1e-12), 0.5)
        yields = (mix @ C[scrap][:, els]) * cfg.recovery_yield          # t oxide per t scrap
        rows = i[:, None]
        need = m.plan(rows, ox)
        value = yields * m.index_price[ox]
        w = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-12)
        per_product = np.divide(need, yields, out=np.zeros_like(need), where=yields > 1e-9)
        wanted = np.where(w >= 0.15, per_product, 0.0).max(axis=1)
        cap = m.pop.capacity[i] * m.ws[i] * m.avail[i]
        # scrap in hand is worked off over about two weeks whatever the order book says
        wanted = np.minimum(np.maximum(wanted, 0.5 * total), cap)
        r = np.minimum(wanted, total)
        m.utilised(i, r)
        used = r[:, None] * mix                                          # t scrap per grade
        m.S[i[:, None], scrap[None, :]] -= used
        content = used @ C[scrap]                                        # REO-eq per element
        m.produce(rows, ox, content[:, els] * cfg.recovery_yield)
        m.ledger.add_sink("recycling_loss", content.sum(axis=0) * (1.0 - cfg.recovery_yield))
        m.use_planned(rows, scrap, wanted[:, None] * np.where(total[:, None] > 1e-12, mix, 0.5))
