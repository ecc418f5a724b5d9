"""Magnet makers: Pr-Nd metal/oxide, Dy and Tb -> sintered NdFeB blanks, machined to magnets."""

from __future__ import annotations

import numpy as np

from ..network import MAG
from .base import Firm


def metal_share(theta0: float, p_oxide: float, p_metal: float, oxide_per_metal: float,
                conversion_cost: float, elasticity: float = 4.0) -> float:
    """Share of Pr-Nd bought as metal: ``theta0`` at cost parity, less when metal is dear.

    Parity is oxide made into metal (``p_oxide * oxide_per_metal + conversion_cost``);
    the share moves with (parity / p_metal) ** elasticity, within [0, 1].
    """
    parity = p_oxide * oxide_per_metal + conversion_cost
    return float(np.clip(theta0 * (parity / max(p_metal, 1e-9)) ** elasticity, 0.0, 1.0))


class MagnetMaker(Firm):
    """Makes two grades: standard (no Dy/Tb) and high-coercivity (52UH, Dy/Tb-bearing).

    Output follows the order book (orders smoothed over the order lag, plus closing the
    finished-stock gap), within capacity times the week's working share, and within what
    its raw-material stock allows. Machining turns ``scrap_share`` of each blank into scrap,
    which it sells to recyclers. Production is counted in blanks.
    """

    kind = MAG

    @classmethod
    def act(cls, m) -> None:
        i = m.idx[cls.kind]
        if i.size == 0:
            return
        cfg = m.sc.firms.magnet_makers
        p, C, e = m.mat.p, m.C, m.mat.e
        s, eps = cfg.scrap_share, cfg.melt_loss_share
        grades = np.array([p("magnet_std"), p("magnet_uh")])
        scraps = np.array([p("scrap_std"), p("scrap_uh")])
        met, ox, dy, tb = p("prnd_metal"), p("prnd_oxide"), p("dy_oxide"), p("tb_oxide")
        opm = m.mat.oxide_per_metal[e("prnd")]
        # element needs per t blank, REO-eq: [grade, element]
        per_blank = C[grades] / (1.0 - eps)
        rows = i[:, None]
        plan = m.plan(rows, grades) / (1.0 - s)
        cap = m.pop.capacity[i] * m.ws[i] * m.avail[i]
        plan *= np.minimum(1.0, cap / np.maximum(plan.sum(axis=1), 1e-12))[:, None]
        # what the raw-material stock allows
        pool = m.S[i, met] * opm + m.S[i, ox]
        need_prnd = plan @ per_blank[:, e("prnd")]
        f_prnd = np.minimum(1.0, np.divide(pool, need_prnd, out=np.ones_like(pool), where=need_prnd > 1e-12))
        need_dy = plan @ per_blank[:, e("dy")]
        need_tb = plan @ per_blank[:, e("tb")]
        f_dy = np.minimum(1.0, np.divide(m.S[i, dy], need_dy, out=np.ones_like(pool), where=need_dy > 1e-12))
        f_tb = np.minimum(1.0, np.divide(m.S[i, tb], need_tb, out=np.ones_like(pool), where=need_tb > 1e-12))
        blanks = plan * np.stack([f_prnd, np.minimum.reduce([f_prnd, f_dy, f_tb])], axis=1)
        used = blanks @ per_blank                                  # [firm, element]
        m.utilised(i, blanks.sum(axis=1))
        from_metal = used[:, e("prnd")] * np.divide(m.S[i, met] * opm, pool, out=np.zeros_like(pool),
                                                    where=pool > 1e-12)
        m.S[i, met] -= from_metal / opm
        m.S[i, ox] -= used[:, e("prnd")] - from_metal
        m.S[i, dy] -= used[:, e("dy")]
        m.S[i, tb] -= used[:, e("tb")]
        m.produce(rows, grades, blanks * (1.0 - s), record=False)
        m.produce(rows, scraps, blanks * s)
        m.record_production(rows, grades, blanks)
        m.ledger.add_sink("magnet_loss", used.sum(axis=0) - (blanks @ C[grades]).sum(axis=0))
        # planned raw-material use drives ordering, whatever the stock allowed this week;
        # the Pr-Nd is bought as metal or as oxide by their relative price
        theta = metal_share(1.0 - cfg.oxide_feed_share, m.index_price[ox], m.index_price[met], opm,
                            m.sc.firms.separation_plants.metal_cost_yuan_per_t)
        prnd_plan = plan @ per_blank[:, e("prnd")]
        m.use_planned(rows, np.array([met, ox, dy, tb]),
                      np.stack([theta * prnd_plan / opm, (1.0 - theta) * prnd_plan, need_dy, need_tb], axis=1))
