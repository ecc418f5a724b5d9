"""Miners: domestic quota holders (rock-type, ion-adsorption) and Myanmar ore holders."""

from __future__ import annotations

import numpy as np

from ..network import ABROAD, IONIC, MYANMAR, ROCK
from .base import Firm


class RockMiner(Firm):
    """Mines rock-type (light-RE) ore within its share of the issued mining quota."""

    kind = ROCK
    quota_type = "mining_rock"

    @classmethod
    def act(cls, m) -> None:
        i = m.idx[cls.kind]
        if i.size == 0:
            return
        k = m.main_output[i]
        plan = m.plan(i, k)
        cap = m.pop.capacity[i] * m.ws[i] * m.avail[i]
        room = np.maximum(m.quota_allowance[i] - m.quota_used_firm[i], 0.0) * m.quota_pace[i]
        y = np.minimum(np.minimum(cap, plan), room)
        m.quota_used_firm[i] += y
        m.utilised(i, y)
        m.produce(i, k, y)
        m.ledger.add_source("mined_domestic", (y[:, None] * m.C[k]).sum(axis=0))


class IonicMiner(RockMiner):
    """Mines ion-adsorption ore (the domestic Dy/Tb source) within its quota share."""

    kind = IONIC
    quota_type = "mining_ionic"


class MyanmarHolder(Firm):
    """Mines ion-adsorption ore outside China's quota and sells or holds it back.

    Mining stops as the stockpile nears ``storage_weeks`` of output; how much of the stock
    is offered each week follows :func:`rechain.market.offer_share` (less when prices are
    low or expected to rise).
    """

    kind = MYANMAR

    @classmethod
    def config(cls, m):
        return m.sc.firms.myanmar_holders

    @classmethod
    def act(cls, m) -> None:
        i = m.idx[cls.kind]
        if i.size == 0:
            return
        cfg = cls.config(m)
        k = m.main_output[i]
        cap = m.pop.capacity[i]
        room = np.clip(2.0 - m.S[i, k] / (cfg.storage_weeks * cap), 0.0, 1.0)
        y = cap * m.ws[i] * m.avail[i] * room
        m.produce(i, k, y)
        m.ledger.add_source("mined_abroad", (y[:, None] * m.C[k]).sum(axis=0))


class OverseasMiner(MyanmarHolder):
    """Rock-type ore mined abroad (US, Australia, ...) and sold to Chinese plants; outside
    China's quota; holds back like the Myanmar holders, and can be cut off by tariffs."""

    kind = ABROAD

    @classmethod
    def config(cls, m):
        return m.sc.firms.overseas_miners
