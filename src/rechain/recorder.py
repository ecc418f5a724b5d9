"""Weekly records of a run, kept as numpy arrays (cheap to fill, turned into tables by
:mod:`rechain.report`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .network import EXPORT, IMPORT, MOTOR, OVERSEAS
from .policy import QUOTA_TYPES

if TYPE_CHECKING:
    from .model import ChainModel

__all__ = ["Recorder"]


class Recorder:
    """Per-week arrays: production, orders, shipments between stages, exports by region,
    end use and shortfall, prices, stock cover, sentiment, licences and quota use."""

    def __init__(self, m: "ChainModel"):
        self.m = m
        self.enabled = True
        W, P = m.cal.n_weeks, m.P
        NS, R = len(m.stages), len(m.regions)
        self.NS, self.R = NS, R
        self.groups = list(m.sc.sectors) + list(m.sc.regions)
        G = len(self.groups)
        self.production = np.zeros((W, NS, P))
        self.orders = np.zeros((W, NS, P))
        self.flows = np.zeros((W, NS, NS, P))
        self.exports = np.zeros((W, P, R))
        self.imports = np.zeros(W)
        self.use_want = np.zeros((W, G))
        self.use_got = np.zeros((W, G))
        self.price = np.zeros((W, P))
        self.cover_days = np.full((W, NS), np.nan)
        self.sentiment = np.zeros((W, NS))
        self.uncertainty = np.zeros((W, NS))
        self.lic_granted = np.zeros(W)
        self.lic_refused = np.zeros(W)
        self.lic_pending_n = np.zeros(W)
        self.lic_pending_t = np.zeros(W)
        self.licences_applied = np.zeros(W)
        self.quota_used = np.zeros((W, len(QUOTA_TYPES)))
        self.quota_issued = np.full((W, len(QUOTA_TYPES)), np.nan)
        self.eol = np.zeros(W)
        self.offer_share = np.full(W, np.nan)
        self._quota_prev = np.zeros(len(QUOTA_TYPES))
        L = m.links
        self._flow_key = (m.pop.stage[L.src] * NS + m.pop.stage[L.dst]) * P + L.prod
        self._export_idx = np.flatnonzero(L.flow == EXPORT)
        self._import_idx = np.flatnonzero(L.flow == IMPORT)
        self._export_key = (L.prod * R + m.pop.region[L.dst])[self._export_idx]
        grp = np.full(m.N, -1)
        grp[m.idx[MOTOR]] = m.pop.group[m.idx[MOTOR]]
        grp[m.idx[OVERSEAS]] = m.pop.group[m.idx[OVERSEAS]] + len(m.sc.sectors)
        self._group = grp
        self._stage_count = np.bincount(m.pop.stage, minlength=NS)
        self.has_stage = self._stage_count > 0
        self._order_key = m.pop.stage[m.bi] * P + m.bk
        self._st_b, self._st_s = m.pop.stage[m.bi], m.pop.stage[m.si]
        self._quota_holders = np.flatnonzero(m.quota_type_of_firm >= 0)
        self._quota_type = m.quota_type_of_firm[self._quota_holders]
        # production is gathered per firm during the week and summed by stage once
        self._week_prod = np.zeros((m.N, P))
        self._stage_onehot = np.zeros((NS, m.N))
        self._stage_onehot[m.pop.stage, np.arange(m.N)] = 1.0
        self._buys = np.zeros(NS, bool)
        self._buys[np.unique(m.pop.stage[m.bi])] = True

    # --- filled during the week ------------------------------------------------------------
    def add_production(self, i: np.ndarray, k, y: np.ndarray) -> None:
        if not self.enabled:
            return
        self._week_prod[i, k] += y

    def add_use(self, i: np.ndarray, want: np.ndarray, got: np.ndarray) -> None:
        if not self.enabled:
            return
        G = len(self.groups)
        g = self._group[i]
        self.use_want[self.m.t] += np.bincount(g, weights=want, minlength=G)
        self.use_got[self.m.t] += np.bincount(g, weights=got, minlength=G)

    def add_orders(self, q: np.ndarray) -> None:
        """Orders placed this week by each buyer pair (firm, input), summed by stage."""
        if not self.enabled:
            return
        P = self.m.P
        self.orders[self.m.t] += np.bincount(self._order_key, weights=q, minlength=self.NS * P).reshape(self.NS, P)

    def add_shipments(self, shipped: np.ndarray) -> None:
        if not self.enabled:
            return
        t, P = self.m.t, self.m.P
        self.flows[t] = np.bincount(self._flow_key, weights=shipped, minlength=self.NS * self.NS * P
                                    ).reshape(self.NS, self.NS, P)
        self.exports[t] = np.bincount(self._export_key, weights=shipped[self._export_idx],
                                      minlength=P * self.R).reshape(P, self.R)
        self.imports[t] = float(shipped[self._import_idx].sum())

    def licences(self, granted: float, refused: float, pending_n: int, pending_t: float) -> None:
        t = self.m.t
        self.lic_granted[t], self.lic_refused[t] = granted, refused
        self.lic_pending_n[t], self.lic_pending_t[t] = pending_n, pending_t

    # --- closing the week ---------------------------------------------------------------
    def end_week(self) -> None:
        m, t = self.m, self.m.t
        self.production[t] = self._stage_onehot @ self._week_prod
        self._week_prod[:] = 0.0
        self.price[t] = m.index_price * m.mat.quote_factor
        st = m.pop.stage
        self.sentiment[t] = np.bincount(st, weights=m.x, minlength=self.NS) / np.maximum(self._stage_count, 1)
        self.uncertainty[t] = np.bincount(st, weights=m.u, minlength=self.NS) / np.maximum(self._stage_count, 1)
        # stock cover: value-weighted input stock over planned use (buyers), else finished
        # stock over orders (miners, holders), in days
        ip = m.index_price
        pb, ps = ip[m.bk], ip[m.sk]
        S = m.S.ravel()
        sv = np.bincount(self._st_b, weights=S[m._bkey] * pb, minlength=self.NS)
        uv = np.bincount(self._st_b, weights=m.Dhat.ravel()[m._bkey] * pb, minlength=self.NS)
        fs = np.bincount(self._st_s, weights=S[m._skey] * ps, minlength=self.NS)
        fo = np.bincount(self._st_s, weights=m.Ohat.ravel()[m._skey] * ps, minlength=self.NS)
        num = np.where(self._buys, sv, fs)
        den = np.where(self._buys, uv, fo)
        self.cover_days[t] = np.divide(7.0 * num, den, out=np.full(self.NS, np.nan), where=den > 1e-9)
        used = np.bincount(self._quota_type, weights=m.quota_used_firm[self._quota_holders],
                           minlength=len(QUOTA_TYPES))
        new_year = t > 0 and m.cal.weeks[t].year != m.cal.weeks[t - 1].year
        self.quota_used[t] = used - (0.0 if new_year else self._quota_prev)
        self._quota_prev = used
