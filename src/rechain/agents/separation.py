"""Separation plants: ore -> Pr-Nd, Dy and Tb oxides; part of the Pr-Nd made into metal."""

from __future__ import annotations

import numpy as np

from ..network import SEP
from .base import Firm


class SeparationPlant(Firm):
    """Processes one ore type within its share of the separation quota.

    Throughput follows the order book: enough ore to meet the plan of the most demanding
    product among those that bring at least ``MIN_REVENUE_SHARE`` of the revenue from a
    tonne of ore (a plant cannot make Dy without making Pr-Nd). Co-products it cannot sell
    pile up, lower their asks and so clear the market.
    A plant with a metal line turns as much of its own Pr-Nd oxide into metal as its metal
    orders call for, before offering the rest as oxide.
    """

    kind = SEP
    MIN_REVENUE_SHARE = 0.15

    @classmethod
    def act(cls, m) -> None:
        i = m.idx[cls.kind]
        if i.size == 0:
            return
        cfg = m.sc.firms.separation_plants
        p, C, e = m.mat.p, m.C, m.mat.e
        ore = m.main_input[i]
        ox = np.array([p("prnd_oxide"), p("dy_oxide"), p("tb_oxide")])
        met = p("prnd_metal")
        opm = m.mat.oxide_per_metal[e("prnd")]
        # t of each oxide per t REO of ore
        yields = C[ore][:, [e("prnd"), e("dy"), e("tb")]] * (1.0 - cfg.loss_share)
        cap = m.pop.capacity[i] * m.ws[i] * m.avail[i]
        # metal line
        has_metal = m.pop.metal_share[i] > 0
        plan_metal = np.where(has_metal, m.plan(i, met), 0.0)
        oxide_for_metal = plan_metal * opm / (1.0 - cfg.metal_loss_share)
        need = m.plan(i[:, None], ox)
        need[:, 0] += oxide_for_metal
        value = yields * m.index_price[ox]
        w = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-12)
        per_product = np.divide(need, yields, out=np.zeros_like(need), where=yields > 1e-9)
        ore_wanted = np.where(w >= cls.MIN_REVENUE_SHARE, per_product, 0.0).max(axis=1)
        counted = np.where(m.imports_count, 1.0, 1.0 - m.import_share[i])
        room = np.maximum(m.quota_allowance[i] - m.quota_used_firm[i], 0.0) * m.quota_pace[i] \
            / np.maximum(counted, 1e-6)
        ore_wanted = np.minimum.reduce([ore_wanted, cap, room])  # nobody plans beyond what they may run
        r = np.minimum(ore_wanted, m.S[i, ore])
        m.quota_used_firm[i] += r * counted
        m.utilised(i, r)
        m.S[i, ore] -= r
        out = r[:, None] * yields
        m.produce(i[:, None], ox, out)
        ore_content = r[:, None] * C[ore]
        m.ledger.add_sink("separation_loss", ore_content.sum(axis=0) * cfg.loss_share)
        other = np.zeros(len(m.mat.elements))
        other[e("other")] = ore_content[:, e("other")].sum() * (1.0 - cfg.loss_share)
        m.ledger.add_sink("byproduct_sold", other)
        # metal line draws on the plant's own oxide
        k_ox = ox[0]
        feed = np.minimum(oxide_for_metal, m.S[i, k_ox])
        m.S[i, k_ox] -= feed
        metal = feed * (1.0 - cfg.metal_loss_share) / opm
        m.produce(i, met, metal)
        loss = np.zeros(len(m.mat.elements))
        loss[e("prnd")] = (feed * cfg.metal_loss_share).sum()
        m.ledger.add_sink("metal_loss", loss)
        m.use_planned(i, ore, ore_wanted)
