"""Weekly records of a run, kept as numpy arrays (cheap to fill, turned into tables by
:mod:`rechain.report`).

The recorder is fed by the week's phases; it never reads the model. It records only in
``RUN`` weeks (``enabled`` is set from the week's mode).
"""

from __future__ import annotations

import numba
import numpy as np

from .network import EXPORT, FOREIGN_TRADE, IMPORT, MOTOR, OVERSEAS
from .policy import QUOTA_TYPES
from .state import FirmState, MarketState
from .world import World

__all__ = ["Recorder"]

#: the longest stock cover reported, days (ten years): a cover past it is shown as it
MAX_COVER_DAYS = 3650.0


@numba.njit(cache=True, nogil=True)
def value_by_stage(key: np.ndarray, product: np.ndarray, stage: np.ndarray, first: np.ndarray, second: np.ndarray,
                   price: np.ndarray, n_stages: int):
    """Two [firm, product] tables (flattened) valued at ``price`` over the (firm, product)
    pairs ``key``, summed by stage: ``np.bincount(stage, first[key] * price[product])`` and the
    same for ``second``."""
    a, b = np.zeros(n_stages), np.zeros(n_stages)
    for i in range(key.shape[0]):
        p = price[product[i]]
        a[stage[i]] += first[key[i]] * p
        b[stage[i]] += second[key[i]] * p
    return a, b


@numba.njit(cache=True, nogil=True)
def tally_shipments(shipped: np.ndarray, flow_key: np.ndarray, export_key: np.ndarray, is_import: np.ndarray,
                    abroad_key: np.ndarray, n_flow: int, n_export: int, n_abroad: int):
    """The week's shipments per link, summed in one pass: by (stage from, stage to, product),
    exports by (stage, product, region) (``export_key`` -1 on other links), imports into China,
    and sales between producers and buyers abroad by (product, region) (``abroad_key`` -1 on
    other links); each sum in link order, as ``np.bincount`` adds.

    Links come sorted so that long runs share a flow key: the run's sum is kept in a register
    and stored when the key changes (the same additions in the same order, without waiting on
    memory for each)."""
    flows, exports, abroad = np.zeros(n_flow), np.zeros(n_export), np.zeros(n_abroad)
    imports = 0.0
    if shipped.shape[0] == 0:
        return flows, exports, imports, abroad
    key = flow_key[0]
    run = 0.0
    for e in range(shipped.shape[0]):
        s = shipped[e]
        if flow_key[e] != key:
            flows[key] = run
            key = flow_key[e]
            run = flows[key]
        run += s
        if export_key[e] >= 0:
            exports[export_key[e]] += s
        if is_import[e]:
            imports += s
        if abroad_key[e] >= 0:
            abroad[abroad_key[e]] += s
    flows[key] = run
    return flows, exports, imports, abroad


class Recorder:
    """Per-week arrays: production, orders, shipments between stages, exports by region,
    end use and shortfall, prices, stock cover, sentiment, licences and quota use."""

    def __init__(self, world: World, quota_type_of_firm: np.ndarray):
        self.world = world
        self.enabled = False
        self.week = 0
        cal, mat, pop, L = world.calendar, world.materials, world.firms, world.links
        W, P = cal.n_weeks, len(mat.products)
        NS, R = len(world.stages), len(world.regions)
        self.NS, self.R, self.P = NS, R, P
        self.groups = list(world.scenario.sectors) + list(world.scenario.regions)
        G = len(self.groups)
        self.production = np.zeros((W, NS, P))
        self.orders = np.zeros((W, NS, P))
        self.flows = np.zeros((W, NS, NS, P))
        self.exports = np.zeros((W, NS, P, R))
        self.imports = np.zeros(W)
        self.sales_abroad = np.zeros((W, P, R))        # producers abroad to buyers abroad
        self.material_want = np.zeros((W, R, P))       # oxides and metal buyers abroad wanted
        self.material_got = np.zeros((W, R, P))
        self.export_price = np.zeros((W, P, R))
        #: blanks the magnet makers planned but their stock of Pr-Nd, Dy, Tb did not allow, t
        self.input_short = np.zeros((W, 3))
        self.use_want = np.zeros((W, G))
        self.use_got = np.zeros((W, G))
        self.price = np.zeros((W, P))
        #: element content of a tonne of each product, t REO-eq per t, as shipped that week
        #: (magnets follow the recipe in use: thrift and the Dy/Tb mix change it)
        self.content = np.zeros((W, P, len(mat.elements)))
        self.market_price = np.zeros((W, P))
        self.long_run_price = np.zeros((W, P))
        self.market_cover = np.zeros((W, P))
        self.route_cover = np.full(W, np.nan)
        self.spot = np.zeros((W, P))                   # China's spot market
        self.spot_abroad = np.zeros((W, P))            # the spot market abroad
        self.cover_days = np.full((W, NS), np.nan)
        self.sentiment = np.zeros((W, NS))
        self.uncertainty = np.zeros((W, NS))
        #: capacity online per stage, t/wk (built less retired, dated capacities, less what
        #: disruptions take offline; before holidays)
        self.capacity = np.zeros((W, NS))
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
        # int32: these are read once per link every week; half the bytes of numpy's default
        self._flow_key = ((pop.stage[L.src] * NS + pop.stage[L.dst]) * P + L.prod).astype(np.int32)
        # per link: its export key (stage, product, region), -1 if not an export; its key among
        # sales between producers and buyers abroad (product, region), -1 if not one of them
        self._export_key = np.where(L.flow == EXPORT, (pop.stage[L.src] * P + L.prod) * R + pop.region[L.dst],
                                    -1).astype(np.int32)
        self._is_import = L.flow == IMPORT
        self._abroad_key = np.where(L.flow == FOREIGN_TRADE, L.prod * R + pop.region[L.dst], -1).astype(np.int32)
        self._abroad_stages = [world.stages.index(s) for s in ("myanmar_holders", "overseas_miners")]
        grp = np.full(pop.n, -1)
        for code, offset in ((MOTOR, 0), (OVERSEAS, len(world.scenario.sectors))):
            rows = world.rows[code]
            grp[rows] = pop.group[rows] + offset
        self._group = grp
        self._stage_count = np.bincount(pop.stage, minlength=NS)
        self.has_stage = self._stage_count > 0
        buys, sells = world.buys, world.sells
        self._order_key = pop.stage[buys.firm] * P + buys.product
        # spot trades per stage and market (China's spot market's products, then those abroad)
        self._buy_stage_key = pop.stage[buys.firm] * 2 * P + world.spot_key_of_buy
        self._sell_stage_key = pop.stage[sells.firm] * 2 * P + world.spot_key_of_sell
        ab = world.abroad_buys                                 # they trade on the spot market abroad
        self._abroad_spot_buys = ab
        self._abroad_spot_key = buys.product[ab] * R + pop.region[buys.firm[ab]]
        self._st_b, self._st_s = pop.stage[buys.firm], pop.stage[sells.firm]
        self._quota_holders = np.flatnonzero(quota_type_of_firm >= 0)
        self._quota_type = quota_type_of_firm[self._quota_holders]
        # production is summed by stage as it is made
        self._stage_of_firm = pop.stage
        self._week_prod = np.zeros((NS, P))
        self._buys = np.zeros(NS, bool)
        self._buys[np.unique(pop.stage[buys.firm])] = True

    def start_week(self, week: int, recording: bool) -> None:
        self.week = week
        self.enabled = recording

    # --- filled during the week ------------------------------------------------------------
    def add_production(self, i: np.ndarray | slice, k, y: np.ndarray) -> None:
        """Output ``y`` of firms ``i``: of product ``k`` (one, or one per firm) when ``y`` is [n],
        of products ``k`` [g] when ``y`` is [n, g]."""
        stage = self._stage_of_firm[i]
        y = np.asarray(y, dtype=float)
        at = (stage[:, None], np.asarray(k)[None, :]) if y.ndim == 2 else (stage, k)
        np.add.at(self._week_prod, at, y)

    def add_input_short(self, short_t: np.ndarray) -> None:
        """Planned blanks the magnet makers could not make this week, t, by the scarcest
        raw material (Pr-Nd, Dy, Tb)."""
        self.input_short[self.week] += short_t

    def add_use(self, i: np.ndarray, want: np.ndarray, got: np.ndarray) -> None:
        G = len(self.groups)
        g = self._group[i]
        self.use_want[self.week] += np.bincount(g, weights=want, minlength=G)
        self.use_got[self.week] += np.bincount(g, weights=got, minlength=G)

    def add_material_use(self, i: np.ndarray, k: np.ndarray, want: np.ndarray, got: np.ndarray) -> None:
        """Oxides and metal used abroad this week, per (firm, product) pair."""
        R, P = self.R, self.P
        key = self.world.firms.region[i] * P + k
        self.material_want[self.week] += np.bincount(key, weights=want, minlength=R * P).reshape(R, P)
        self.material_got[self.week] += np.bincount(key, weights=got, minlength=R * P).reshape(R, P)

    def add_orders(self, q: np.ndarray) -> None:
        """Orders placed this week by each buyer pair (firm, input), summed by stage."""
        P = self.P
        self.orders[self.week] += np.bincount(self._order_key, weights=q, minlength=self.NS * P).reshape(self.NS, P)

    def add_shipments(self, shipped: np.ndarray) -> None:
        t, P, NS, R = self.week, self.P, self.NS, self.R
        flows, exports, imports, abroad = tally_shipments(shipped, self._flow_key, self._export_key, self._is_import,
                                                          self._abroad_key, NS * NS * P, NS * P * R, P * R)
        self.flows[t] = flows.reshape(NS, NS, P)
        self.exports[t] = exports.reshape(NS, P, R)
        self.imports[t] = imports
        self.sales_abroad[t] = abroad.reshape(P, R)

    def add_spot(self, sold: np.ndarray, bought: np.ndarray, cleared: np.ndarray) -> None:
        """Spot trades of the week (t per sell pair and per buy pair; ``cleared`` per market,
        China's products then those abroad): stage-to-stage flows, each seller stage's sales
        shared over the buyer stages by what they bought in the same market; China's spot
        volume; ore holders abroad selling in China count as imports, producers abroad selling
        abroad as their sales abroad."""
        t, P, NS, R = self.week, self.P, self.NS, self.R
        out = np.bincount(self._sell_stage_key, weights=sold, minlength=NS * 2 * P).reshape(NS, 2 * P)
        into = np.bincount(self._buy_stage_key, weights=bought, minlength=NS * 2 * P).reshape(NS, 2 * P)
        share = np.divide(into, cleared[None, :], out=np.zeros_like(into), where=cleared[None, :] > 1e-12)
        self.flows[t] += (out[:, None, :] * share[None, :, :]).reshape(NS, NS, 2, P).sum(axis=2)
        self.spot[t], self.spot_abroad[t] = cleared[:P], cleared[P:]
        self.imports[t] += out[self._abroad_stages, :P].sum()   # ore holders abroad selling spot
        if cleared[P:].any():
            self.sales_abroad[t] += np.bincount(self._abroad_spot_key, weights=bought[self._abroad_spot_buys],
                                                minlength=P * R).reshape(P, R)

    def licences(self, granted: float, refused: float, pending_n: int, pending_t: float) -> None:
        t = self.week
        self.lic_granted[t], self.lic_refused[t] = granted, refused
        self.lic_pending_n[t], self.lic_pending_t[t] = pending_n, pending_t

    def note_licences_applied(self, tonnes: float) -> None:
        self.licences_applied[self.week] = tonnes

    def note_offer_share(self, share: float) -> None:
        self.offer_share[self.week] = share

    def note_end_of_life(self, tonnes: float) -> None:
        self.eol[self.week] = tonnes

    def note_quota_issued(self, issued: np.ndarray) -> None:
        self.quota_issued[self.week] = issued

    # --- closing the week ---------------------------------------------------------------
    def end_week(self, firms: FirmState, market: MarketState, new_year: bool, capacity_share: np.ndarray) -> None:
        """Close week ``self.week``'s records; ``capacity_share`` [N]: each firm's capacity
        online this week over its own (disruptions, dated capacities)."""
        t, w = self.week, self.world
        mat = w.materials
        self.production[t] = self._week_prod
        self._week_prod[:] = 0.0
        self.price[t] = market.index_yuan_per_t * mat.quote_factor
        self.content[t] = market.content_t_per_t
        self.market_price[t] = market.price_yuan_per_t * mat.quote_factor
        self.long_run_price[t] = market.long_run_yuan_per_t * mat.quote_factor
        self.market_cover[t] = market.cover_wk
        self.route_cover[t] = market.oxide_route_cover
        self.export_price[t] = market.export_price_yuan_per_t * mat.quote_factor[:, None]
        st = w.firms.stage
        count = np.maximum(self._stage_count, 1)
        self.sentiment[t] = np.bincount(st, weights=firms.expected_change, minlength=self.NS) / count
        self.uncertainty[t] = np.bincount(st, weights=firms.uncertainty, minlength=self.NS) / count
        self.capacity[t] = np.bincount(st, weights=firms.capacity_t_per_wk * capacity_share, minlength=self.NS)
        # stock cover: value-weighted input stock over planned use (buyers), else finished
        # stock over orders (miners, holders), in days
        ip = market.index_yuan_per_t
        buys, sells = w.buys, w.sells
        S = firms.stock_t.ravel()
        sv, uv = value_by_stage(buys.key, buys.product, self._st_b, S, firms.use_expected_t_per_wk.ravel(), ip,
                                self.NS)
        fs, fo = value_by_stage(sells.key, sells.product, self._st_s, S, firms.orders_expected_t_per_wk.ravel(), ip,
                                self.NS)
        num = np.where(self._buys, sv, fs)
        den = np.where(self._buys, uv, fo)
        cover = np.divide(7.0 * num, den, out=np.full(self.NS, np.nan), where=den > 1e-9)
        # orders near zero (an outage, a stage nobody orders from) make the ratio run to 1e18
        # days: beyond ten years it says only "more than anyone will need"
        self.cover_days[t] = np.minimum(cover, MAX_COVER_DAYS)
        used = np.bincount(self._quota_type, weights=firms.quota_used_t[self._quota_holders],
                           minlength=len(QUOTA_TYPES))
        self.quota_used[t] = used - (0.0 if new_year and t > 0 else self._quota_prev)
        self._quota_prev = used
