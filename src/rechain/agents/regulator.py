"""The regulator: carries out the scenario's policy timeline week by week."""

from __future__ import annotations

import mesa
import numpy as np

from ..policy import QUOTA_TYPES


class Regulator(mesa.Agent):
    """Issues quota batches, runs the export-licence regimes and the holiday calendar.

    Each week it sets what firms may see: the quota issued so far (and whether a batch
    is overdue), which exports need a licence and at what approval rate, each firm's
    working share and available capacity.
    """

    def __init__(self, model):
        super().__init__(model)
        self.overdue: dict[str, bool] = {q: False for q in QUOTA_TYPES}
        # the timeline is known in advance: what is issued, complete or overdue each week
        book, weeks = model.quota_book, model.cal.weeks
        self._issued = {q: [book.issued(q, d) for d in weeks] for q in QUOTA_TYPES}
        self._complete = {q: [book.complete(q, d) for d in weeks] for q in QUOTA_TYPES}
        self._overdue = {q: [book.overdue(q, d) for d in weeks] for q in QUOTA_TYPES}
        self._buyers = model.demand_col >= 0

    def step(self) -> None:
        m = self.model
        t, date = m.t, m.date
        m.ws = m.ws_table[t][m.cal_index]
        m.avail = m.avail_table[t][m.pop.stage]
        m.demand_week = np.where(self._buyers, m.demand_table[t][m.demand_col] * m.pop.demand_share, 0.0)
        if t == 0 or date.year != m.cal.weeks[t - 1].year:
            m.quota_used_firm[:] = 0.0
            m.separation_shares(date.year)
        pacing = max(m.sc.quota_policy.pacing_weeks, 1.0)
        for q in QUOTA_TYPES:
            issued = self._issued[q][t]
            firms = m.quota_firms[q]
            m.quota_allowance[firms] = issued * m.quota_share[firms] if np.isfinite(issued) else np.inf
            # until the year's quota is all out, firms pace what is left rather than run it dry
            m.quota_pace[firms] = 1.0 if self._complete[q][t] else 1.0 / pacing
            self.overdue[q] = self._overdue[q][t]
            m.rec.quota_issued[t, QUOTA_TYPES.index(q)] = issued if np.isfinite(issued) else np.nan
        m.imports_count = (m.sc.quota_policy.imported_ore_counts_from is not None
                           and date >= m.sc.quota_policy.imported_ore_counts_from)
