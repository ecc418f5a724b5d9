"""The chain model: firms trading along a network, one week per step.

Step order (one week):

1. the regulator sets the week: working shares, capacity offline, quota issued, licence regimes;
2. goods in transit arrive; licence applications due are decided; collected end-of-life
   magnets reach the recyclers;
3. firms produce, upstream first: miners, Myanmar holders, separation plants, recyclers,
   magnet makers; then motor makers and overseas buyers use magnets;
4. every firm updates its expectation of the price it watches (trend, news, neighbours);
5. buyers order (anchoring and adjustment, with expectation-driven target cover) and split
   orders over their linked suppliers by price and reliability;
6. sellers set asks from stock cover and expectations;
7. sellers ship from stock to their backlogs, pro rata; a price index per product is the
   volume-weighted mean of the week's transaction prices;
8. the material balance is checked per element, and the week is recorded.
"""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np

from .accounting import Ledger
from .agents import AGENT_CLASSES, Regulator, StateReserve
from .calendar import CALENDARS, Calendar, day_shares, load_holidays
from .market import fill_pro_rata, logit_shares, offer_share, price_index, update_ask
from .materials import Materials, materials
from .network import (ABROAD, EXPORT, HOLDERS, IMPORT, KINDS, MAG, RESERVE, MOTOR, MYANMAR, OVERSEAS, REC, SEP, IONIC, ROCK,
                      build_links, build_population, to_networkx)
from .ordering import order_quantity, production_plan, smooth, target_cover
from .policy import QUOTA_TYPES, ExportRegimes, LicenceQueue, QuotaBook, disruption_table
from .recorder import Recorder
from .scenario import STAGES, Scenario
from .sentiment import expected_change, neighbour_mean, news_weights, update_trend, update_uncertainty

__all__ = ["ChainModel", "forget_model"]

WEEKS_PER_YEAR = 52.18


class ChainModel(mesa.Model):
    """Agent-based model of the rare-earth -> NdFeB magnet chain.

    Parameters
    ----------
    scenario : a validated :class:`~rechain.scenario.Scenario`
    seed : random seed; the same seed gives the same run
    check_balance : check the per-element material balance every step (raises on failure)
    """

    def __init__(self, scenario: Scenario, seed: int | None = None, check_balance: bool = True):
        super().__init__(seed=seed)
        self.sc = sc = scenario
        self.beh = sc.behaviour
        self.check_balance = check_balance
        base = materials()
        self.mat: Materials = base.with_prnd_scale("magnet_std", 1.0 - sc.prnd_reduction_std) \
            if sc.prnd_reduction_std > 0 else base
        self.C = self.mat.content
        self.stages = STAGES
        self.cal = Calendar.build(sc.start, sc.end, holidays=None if sc.holidays else {})
        # independent random streams per purpose (and per kind of firm below), so a what-if
        # that adds a firm or a licence regime does not shift every other random draw
        names = ("population", "links", "heterogeneity", "asks", "expectations", "licences")
        self.streams = dict(zip(names, self.rng.spawn(len(names))))
        self.pop = build_population(sc, self.mat, self.streams["population"], STAGES)
        self.links = build_links(self.pop, sc, self.mat, self.streams["links"])
        self.regions = list(self.pop.region_names)
        N, P, E = self.pop.n, len(self.mat.products), self.links.n
        self.N, self.P, self.E = N, P, E
        self.idx = {k: np.flatnonzero(self.pop.kind == k) for k in range(len(KINDS))}
        self.t = 0
        self.running = True

        # --- state arrays ---------------------------------------------------------------
        self.S = np.zeros((N, P))          # stock, t
        self.Ohat = np.zeros((N, P))       # smoothed orders received, t/wk
        self.Dhat = np.zeros((N, P))       # smoothed planned use of inputs, t/wk
        self.Bout = np.zeros((N, P))       # backlog owed to customers, t
        self.x = np.zeros(N)               # expected relative price change
        self.g = np.zeros(N)               # smoothed weekly log-return of the watched price
        self.u = np.zeros(N)               # uncertainty
        self.backlog = np.zeros(E)         # ordered, licensed, not yet shipped, t per link
        self.reliability = np.ones(E)
        self.lmax = int(self.links.lead.max()) + 1
        self.pipe = np.zeros((self.lmax, E))   # goods in transit by arrival slot
        self._tick = 0                         # weeks stepped, spin-up included (the pipeline's clock)
        self.licences = LicenceQueue()
        self.success = np.ones(N)          # overseas buyers' remembered licence success rate
        self.import_share = np.zeros(N)    # share of a plant's ore receipts that were imported
        self.shipped_total = np.zeros(E)
        self.util = np.full(N, 0.8)       # smoothed capacity utilisation
        self.util_normal = self.util.copy()  # what each firm is used to
        self.ledger = Ledger(self.mat.elements)

        # --- firm attributes derived from the population ------------------------------
        pop = self.pop
        self.main_output = np.argmax(pop.outputs, axis=1)
        self.main_input = np.argmax(pop.inputs, axis=1)
        self.uh_share = pop.uh_share
        self.cal_index = np.array([CALENDARS.index(c) for c in pop.calendar])
        self._kind_rows = [(k, i) for k, i in self.idx.items() if i.size]
        het = self.beh.heterogeneity
        self.kind_streams = {name: dict(zip(range(len(KINDS)), self.streams[name].spawn(len(KINDS))))
                             for name in ("heterogeneity", "asks", "expectations")}
        mult = self._per_kind("heterogeneity", lambda g, n: g.lognormal(0.0, het, (4, n)).T, (N, 4)).T
        self.lam = np.clip(self.beh.trend_smoothing * mult[0], 0.01, 1.0)
        self.k_restock = self.beh.restock_strength * mult[1]
        self.k_wait = self.beh.wait_strength * mult[2]
        c0_stage = np.array([self.beh.cover_weeks.get(s, 4.0) for s in STAGES])
        self.c0 = c0_stage[pop.stage] * mult[3]
        self.watch = self._watched_products()

        # buyer (firm, input) pairs and seller (firm, output) pairs
        self.bi, self.bk = np.nonzero(pop.inputs)
        self.si, self.sk = np.nonzero(pop.outputs)
        pair = np.full(N * P, -1)
        pair[self.bi * P + self.bk] = np.arange(self.bi.size)
        self.edge_pair = pair[self.links.dst * P + self.links.prod]
        self.edge_skey = self.links.src * P + self.links.prod
        self.export_edge = self.links.flow == EXPORT
        self.export_idx = np.flatnonzero(self.export_edge)
        self.edge_region = pop.region[self.links.dst]
        self._masks = self._seller_masks(self.si, self.sk)
        self.grade_pair = np.array([self.mat.p("magnet_std"), self.mat.p("magnet_uh")])
        self.grade_split = np.stack([1.0 - pop.uh_share, pop.uh_share], axis=1)  # [firm, grade]
        self._lead_groups = [(int(v), (self.links.lead == v).astype(float)) for v in np.unique(self.links.lead)]
        self._c0_b, self._kr_b, self._kw_b = self.c0[self.bi], self.k_restock[self.bi], self.k_wait[self.bi]
        self._skey = self.si * P + self.sk
        self._bkey = self.bi * P + self.bk
        self._overseas_b = pop.kind[self.bi] == OVERSEAS
        self._dkey = self.links.dst * P + self.links.prod
        self._to_sep = pop.kind[self.links.dst] == SEP
        self._is_import = self.links.flow == IMPORT
        self._degree = np.bincount(self.links.dst, minlength=N) + np.bincount(self.links.src, minlength=N)
        self.in_transit = np.zeros(E)          # t per link, equals pipe.sum(axis=0)
        self._sell_kind = {}
        for k in (MYANMAR, ABROAD, SEP):
            mask = pop.kind[self.si] == k
            self._sell_kind[k] = mask if mask.any() else None

        # --- time tables ---------------------------------------------------------------
        self.ws_table = np.stack([self.cal.working_share[c] for c in CALENDARS], axis=1)
        self.avail_table = disruption_table(sc, self.cal, STAGES)
        self.demand_table = self._demand_table()
        self.demand_col = np.where(pop.kind == OVERSEAS, pop.group + len(sc.sectors), pop.group)
        self.demand_week = np.zeros(N)
        self.regimes = ExportRegimes.build(sc, self.cal, self.mat.products, self.regions)
        self._controls_in_week = self.regimes.controlled.any(axis=(1, 2))
        self.quota_book = QuotaBook(sc)
        self._setup_quotas()
        self._setup_news()
        self.eol_week = self._eol_table()
        self.landed = self._trade_charges()
        self.export_quota_left: dict[tuple[int, int], float] = {}
        self.region_elasticity = np.array([0.0, 0.0, *[r.price_elasticity for r in sc.regions.values()]])
        self.sector_elasticity = np.array([s.price_elasticity for s in sc.sectors.values()])
        self.reserve_buy = self.pop.kind[self.bi] == RESERVE
        self.reserve_sell = self.pop.kind[self.si] == RESERVE

        # --- prices --------------------------------------------------------------------
        init = np.array([sc.market.initial_price[k] for k in self.mat.products]) / self.mat.quote_factor
        self.initial_price = init
        self.index_price = init.copy()
        self.prev_index = init.copy()
        self.anchor_price = init.copy()
        self.supply_push = np.ones(P)
        self.ask = init[None, :] * self._per_kind("asks", lambda g, n: g.lognormal(0.0, 0.02, (n, P)), (N, P))
        self.ask = np.where(pop.outputs, self.ask, 0.0)
        nb = self._netback(init)
        self.netback_ratio = np.divide(init, nb, out=np.ones(P), where=nb > 0)

        self.metal_markup = init[self.mat.p("prnd_metal")] / self._metal_parity(init)
        self.magnet_markup = np.ones(P)
        mags = self.idx[MAG]
        for g in ("magnet_std", "magnet_uh"):
            k = self.mat.p(g)
            if mags.size:
                cost = self._unit_cost_floor(mags, np.full(mags.size, k)).mean()
                self.magnet_markup[k] = init[k] / max(cost, 1e-9)

        # --- agents --------------------------------------------------------------------
        classes = {c.kind: c for c in AGENT_CLASSES}
        for i in range(N):
            classes[pop.kind[i]](self, i)
        self.regulator = Regulator(self)
        self.ws = self.ws_table[0][self.cal_index]
        self.avail = self.avail_table[0][pop.stage]
        self.imports_count = False

        self.rec = Recorder(self)
        self._spinning = False
        self._initialising = True
        self._initialise_flows()
        self._initialising = False
        self._spin_up(self.sc.spin_up_weeks)
        self.datacollector = mesa.DataCollector(
            model_reporters={"week": "t", "price": prices_reported, "sentiment": sentiment_reported})

    # ------------------------------------------------------------------------------------
    # set-up helpers
    # ------------------------------------------------------------------------------------
    def _per_kind(self, stream: str, draw, shape: tuple) -> np.ndarray:
        """Random values per firm, each kind of firm from its own stream (rows = firms)."""
        out = np.empty(shape)
        for k, i in self._kind_rows:
            out[i] = draw(self.kind_streams[stream][k], i.size)
        return out

    def _watched_products(self) -> np.ndarray:
        """The price each firm forms expectations about: Pr-Nd oxide, the chain's bellwether,
        except ion-adsorption ore holders and plants, who watch Dy oxide."""
        p = self.mat.p
        w = np.full(self.N, p("prnd_oxide"))
        heavy = np.isin(self.pop.kind, [IONIC, MYANMAR]) | ((self.pop.kind == SEP) & ~self.pop.light)
        w[heavy] = p("dy_oxide")
        return w

    @property
    def date(self) -> dt.date:
        return self.cal.weeks[min(self.t, self.cal.n_weeks - 1)]

    def _demand_table(self) -> np.ndarray:
        """Magnet use per week of each sector and region, t [n_weeks, n_sectors + n_regions].

        A month's use is the year's use / 12 times the month's seasonal factor (normalised
        to mean 1) times shocks; it is spread over the weeks by the buyers' working days.
        """
        sc, cal = self.sc, self.cal
        groups = [(s.units_per_yr, s.magnet_kg_per_unit, s.seasonality, s.shocks, "china")
                  for s in sc.sectors.values()]
        groups += [({y: v for y, v in r.demand_t_per_yr.items()}, None, r.seasonality, [], r.calendar)
                   for r in sc.regions.values()]
        W = cal.n_weeks
        first = cal.weeks[0]
        days = [first + dt.timedelta(days=d) for d in range(7 * W)]
        out = np.zeros((W, len(groups)))
        for gi, (units, kg, season, shocks, calname) in enumerate(groups):
            season = np.array(season) / np.mean(season)
            wd = day_shares(days, load_holidays().get(calname, []) if self.sc.holidays else [])
            month_key = np.array([d.year * 12 + d.month - 1 for d in days])
            month_tot = {mk: wd[month_key == mk].sum() for mk in np.unique(month_key)}
            daily = np.zeros(len(days))
            for di, d in enumerate(days):
                y = str(d.year)
                if y not in units or wd[di] == 0:
                    continue
                t_yr = units[y] * (kg[y] / 1000.0 if kg is not None else 1.0)
                mult = 1.0
                for sh in shocks:
                    if sh.start <= d <= sh.end:
                        mult *= sh.multiplier
                daily[di] = t_yr / 12.0 * season[d.month - 1] * mult * wd[di] / month_tot[month_key[di]]
            out[:, gi] = daily.reshape(W, 7).sum(axis=1)
        return out

    def _setup_quotas(self) -> None:
        self.quota_policy_imports_from = self.sc.quota_policy.imported_ore_counts_from
        kinds = {"mining_rock": ROCK, "mining_ionic": IONIC, "separation": SEP}
        self.quota_firms = {q: self.idx[k] for q, k in kinds.items()}
        self.quota_share = np.zeros(self.N)
        for q, f in self.quota_firms.items():
            if q == "separation":
                continue  # split by ore type each year, see separation_shares()
            cap = self.pop.capacity[f]
            self.quota_share[f] = cap / max(cap.sum(), 1e-12)
        self.quota_allowance = np.full(self.N, np.inf)
        self.quota_pace = np.ones(self.N)     # share of the remaining allowance usable this week
        self.quota_used_firm = np.zeros(self.N)
        self.quota_type_of_firm = np.full(self.N, -1)
        for qi, q in enumerate(QUOTA_TYPES):
            self.quota_type_of_firm[self.quota_firms[q]] = qi

    def _setup_news(self) -> None:
        ev = self.sc.news
        self.ev_week = np.array([self.cal.week_of(e.date) for e in ev], dtype=np.int64)
        self.ev_signed = np.array([e.sign * e.strength for e in ev], dtype=float)
        self.ev_half = np.array([e.half_life_weeks for e in ev], dtype=float)
        self.ev_unc = np.array([e.uncertainty for e in ev], dtype=float)
        hear = np.zeros((self.N, len(ev)))
        region_name = np.array(self.pop.region_names)[self.pop.region]
        stage_name = np.array(STAGES)[self.pop.stage]
        for j, e in enumerate(ev):
            st = np.isin(stage_name, e.stages)
            rg = np.ones(self.N, bool) if "all" in e.regions else np.isin(region_name, e.regions)
            hear[:, j] = st & rg
        self.hear = hear

    def separation_shares(self, year: int) -> None:
        """Split the separation quota between rock-type and ion-adsorption plants by the
        feed each type can expect that year (MIIT issues both by ore type): the mining quota
        of the type, plus imports of that type once imported ore counts; then by capacity."""
        f = self.quota_firms["separation"]
        if f.size == 0:
            return
        rock = self.quota_book.total("mining_rock", year)
        ionic = self.quota_book.total("mining_ionic", year)
        light = self.pop.light[f]
        cap = self.pop.capacity[f]
        if rock is None or ionic is None or rock + ionic <= 0 or light.all() or (~light).all():
            self.quota_share[f] = cap / max(cap.sum(), 1e-12)
            return
        frm = self.quota_policy_imports_from
        if frm is not None and frm.year <= year:
            rock += self.pop.capacity[self.idx[ABROAD]].sum() * WEEKS_PER_YEAR
            ionic += self.pop.capacity[self.idx[MYANMAR]].sum() * WEEKS_PER_YEAR
        w_light = rock / (rock + ionic)
        self.quota_share[f] = np.where(light, w_light * cap / cap[light].sum(),
                                       (1 - w_light) * cap / cap[~light].sum())

    def _eol_table(self) -> np.ndarray:
        """End-of-life magnets collected per week, t: the collection rate is interpolated
        linearly between the years given (a ramp) and held after the last."""
        rc = self.sc.recycling
        out = np.zeros(self.cal.n_weeks)
        if not rc.collection:
            return out
        years = np.array([c.year for c in rc.collection], dtype=float)
        rates = np.array([c.rate for c in rc.collection])
        for w, d in enumerate(self.cal.weeks):
            frac_year = d.year + (d.timetuple().tm_yday - 1) / 365.25
            rate = np.interp(frac_year, years, rates, left=0.0 if frac_year < years[0] else rates[0])
            out[w] = rc.eol_magnets_t_per_yr * rate / WEEKS_PER_YEAR
        return out

    def _trade_charges(self) -> tuple[np.ndarray, np.ndarray]:
        """Landed-price factor of each product for each region per week, [W, P, R]:
        (1 + China's export duty)(1 + the region's import tariff); and the export quota
        left per product and year is tracked separately."""
        W, P, R = self.cal.n_weeks, self.P, len(self.regions)
        factor = np.ones((W, P, R))
        for charges in (self.sc.export_duties, self.sc.import_tariffs):
            for c in charges:
                pm = np.array([p in c.products for p in self.mat.products])
                rm = np.array([("all" in c.regions) or (r in c.regions) for r in self.regions])
                for w, monday in enumerate(self.cal.weeks):
                    if monday + dt.timedelta(days=6) < c.start or (c.end is not None and monday > c.end):
                        continue
                    factor[np.ix_([w], pm, rm)] *= 1.0 + c.rate_share
        return factor

    def _netback(self, price: np.ndarray) -> np.ndarray:
        """Value of each product's Pr-Nd, Dy and Tb content at oxide prices, yuan/t."""
        p, e = self.mat.p, self.mat.e
        ox_price = np.zeros(len(self.mat.elements))
        ox_price[e("prnd")] = price[p("prnd_oxide")]
        ox_price[e("dy")] = price[p("dy_oxide")]
        ox_price[e("tb")] = price[p("tb_oxide")]
        return self.C @ ox_price

    def _initialise_flows(self) -> None:
        """Start near steady state: expected use and orders from year-one demand, passed up
        the links with equal splits, and stocks at their targets."""
        P, L = self.P, self.links
        beh, pop = self.beh, self.pop
        first_year = self.demand_table[: min(52, self.cal.n_weeks)].mean(axis=0)
        for kind in (MOTOR, OVERSEAS):
            i = self.idx[kind]
            col = pop.group[i] + (0 if kind == MOTOR else len(self.sc.sectors))
            d = first_year[col] * pop.demand_share[i]
            self.Dhat[i, self.mat.p("magnet_std")] = d * (1.0 - self.uh_share[i])
            self.Dhat[i, self.mat.p("magnet_uh")] = d * self.uh_share[i]
        nlinks = np.bincount(self.edge_pair, minlength=self.bi.size).astype(float)

        def pass_up(kinds: tuple[int, ...]) -> None:
            buyer_mask = np.isin(pop.kind[L.dst], kinds)
            flow = self.Dhat[L.dst, L.prod] / np.maximum(nlinks[self.edge_pair], 1.0) * buyer_mask
            self.Ohat += np.bincount(self.edge_skey, weights=flow, minlength=self.N * P).reshape(self.N, P)

        pass_up((MOTOR, OVERSEAS))
        self.Bout[:] = 0.0
        # dry-run the producers' planning rules once with stocks at target
        Fc = beh.finished_cover_weeks
        for kinds in ((MAG,), (REC,), (SEP,), (ROCK, IONIC)):
            for k in kinds:
                i = self.idx[k]
                self.S[i] = self.Ohat[i] * Fc
            saved = self.S.copy()
            self._dry_run(kinds)
            self.S = saved
            pass_up(kinds)
        self.S[:] = np.where(pop.outputs, self.Ohat * Fc, 0.0)
        self.S[self.bi, self.bk] = self.c0[self.bi] * self.Dhat[self.bi, self.bk]
        for kind, cfg in ((MYANMAR, self.sc.firms.myanmar_holders), (ABROAD, self.sc.firms.overseas_miners)):
            i = self.idx[kind]
            self.S[i, self.main_output[i]] = pop.capacity[i] * cfg.initial_stock_weeks
        for name, qty in self.sc.stockpile.initial_stock_t.items():
            self.S[self.idx[RESERVE], self.mat.p(name)] = qty
        # the goods already in this stock were mined before the run: count them as sources
        content = self.S.sum(axis=0) @ self.C
        self.ledger.add_source("mined_domestic", content)
        self._last_in_system = content

    def _spin_up(self, weeks: int) -> None:
        """Let the firms settle into their own routine before the run starts.

        The start-of-2024 state of orders, backlogs and stocks is not observed, so the model
        runs ``weeks`` ordinary weeks first (year-one average demand, full working weeks, no
        news, quotas or controls), then prices and expectations are reset to the scenario's
        start values and the records are cleared. Material stays where it is.
        """
        if weeks <= 0:
            return
        self._spinning = True
        saved_rec = self.rec.enabled
        self.rec.enabled = False
        ledger, self.ledger = self.ledger, Ledger(self.mat.elements)
        demand = np.where(self.demand_col >= 0,
                          self.demand_table[: min(52, self.cal.n_weeks)].mean(axis=0)[self.demand_col]
                          * self.pop.demand_share, 0.0)
        for _ in range(weeks):
            self.ws = np.ones(self.N)
            self.avail = np.ones(self.N)
            self.demand_week = demand
            self.quota_allowance[:] = np.inf
            self.quota_pace[:] = 1.0
            self._deliver()
            self._trade()
            self._tick += 1
        # material that arrived during spin-up came from sources counted in the spin-up
        # ledger; carry the net in-system change into the run's opening balance
        src, snk = self.ledger.totals()
        ledger.add_source("mined_domestic", src - snk)
        self.ledger = ledger
        self.rec.enabled = saved_rec
        self.quota_used_firm[:] = 0.0
        self.index_price = self.initial_price.copy()
        self.prev_index = self.initial_price.copy()
        self.anchor_price = self.initial_price.copy()
        self.supply_push = np.ones(self.P)
        self.ask = np.where(self.pop.outputs, self.initial_price[None, :]
                            * self._per_kind("asks", lambda g, n: g.lognormal(0.0, 0.02, (n, self.P)),
                                             self.ask.shape), 0.0)
        self.x[:] = 0.0
        self.g[:] = 0.0
        self.u[:] = 0.0
        self.util_normal = self.util.copy()
        self._spinning = False

    def _dry_run(self, kinds: tuple[int, ...]) -> None:
        ledger, self.ledger = self.ledger, Ledger(self.mat.elements)
        rec_on, self.rec.enabled = self.rec.enabled, False
        self.ws = np.ones(self.N)
        self.quota_allowance[:] = np.inf
        for c in AGENT_CLASSES:
            if c.kind in kinds:
                c.act(self)
        self.ledger, self.rec.enabled = ledger, rec_on
        self.quota_used_firm[:] = 0.0

    # ------------------------------------------------------------------------------------
    # helpers used by the agents
    # ------------------------------------------------------------------------------------
    def plan(self, i: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Output firms ``i`` want of product ``k`` this week (see :func:`production_plan`).

        Dear prices draw out supply: the order-driven plan is scaled by
        ``(P / P_anchor) ** supply_price_response`` (within 0.5..2), so producers run harder
        when the price stands above what the market is used to, and ease off below it.
        """
        b = self.beh
        return production_plan(self.Ohat[i, k] * self.supply_push[k], self.S[i, k], self.Bout[i, k],
                               b.finished_cover_weeks, b.finished_adjust_weeks)

    def produce(self, i: np.ndarray, k: np.ndarray | int, y: np.ndarray, record: bool = True) -> None:
        self.S[i, k] += y
        if record:
            self.record_production(i, k, y)

    def record_production(self, i: np.ndarray, k: np.ndarray | int, y: np.ndarray) -> None:
        if self.rec.enabled:
            self.rec.add_production(i, k, y)

    def utilised(self, i: np.ndarray, throughput: np.ndarray) -> None:
        """Record capacity utilisation (throughput over the week's working capacity), smoothed."""
        cap = self.pop.capacity[i] * self.ws[i]
        now = np.divide(throughput, cap, out=self.util[i].copy(), where=cap > 1e-12)
        self.util[i] = smooth(self.util[i], np.clip(now, 0.0, 1.5), 4.0)

    def use_planned(self, i: np.ndarray, k: np.ndarray | int, qty: np.ndarray) -> None:
        """Update the smoothed planned use of an input, which anchors ordering."""
        weeks = 1.0 if self._initialising else self.beh.usage_smoothing_weeks
        self.Dhat[i, k] = smooth(self.Dhat[i, k], qty, weeks)

    def record_use(self, i: np.ndarray, want: np.ndarray, got: np.ndarray) -> None:
        if self.rec.enabled:
            self.rec.add_use(i, want, got)

    # ------------------------------------------------------------------------------------
    # the week
    # ------------------------------------------------------------------------------------
    def step(self) -> None:
        if self.t >= self.cal.n_weeks:
            self.running = False
            return
        self.regulator.step()
        self._deliver()
        self._decide_licences()
        self._collect_eol()
        self._trade()
        if self.check_balance:
            self.ledger.check(self.in_system(), self.t)
        self.rec.end_week()
        self.datacollector.collect(self)
        self.t += 1
        self._tick += 1
        if self.t >= self.cal.n_weeks:
            self.running = False

    def _trade(self) -> None:
        """Produce (upstream first), use, expect, order, price and ship: the firms' week."""
        self.Bout = np.bincount(self.edge_skey, weights=self.backlog, minlength=self.N * self.P
                                ).reshape(self.N, self.P)
        for cls in AGENT_CLASSES:
            cls.act(self)
        self._form_expectations()
        self._order()
        self._set_prices()
        self._ship()

    def run(self, progress=None) -> None:
        """Run to the end of the scenario; ``progress`` is called with the week index."""
        while self.running:
            self.step()
            if progress is not None:
                progress(self.t)

    # --- 2. arrivals and licences -----------------------------------------------------------
    def _deliver(self) -> None:
        slot = self._tick % self.lmax
        arr = self.pipe[slot]
        L = self.links
        self.S += np.bincount(self._dkey, weights=arr, minlength=self.N * self.P).reshape(self.N, self.P)
        ore_in = np.bincount(L.dst, weights=arr * self._to_sep, minlength=self.N)
        imp_in = np.bincount(L.dst, weights=arr * self._is_import, minlength=self.N)
        share_now = np.divide(imp_in, ore_in, out=self.import_share.copy(), where=ore_in > 1e-9)
        self.import_share = smooth(self.import_share, share_now, 8.0)
        self.in_transit -= arr
        self.pipe[slot] = 0.0

    def _decide_licences(self) -> None:
        L = self.links
        approval = self.regimes.approval[self.t]
        e, q, ok = self.licences.decide(self.t, lambda e: approval[L.prod[e], self.edge_region[e]],
                                        self.streams["licences"])
        if e.size:
            np.add.at(self.backlog, e[ok], q[ok])
            np.add.at(self.Ohat, (L.src[e[ok]], L.prod[e[ok]]),
                      q[ok] / self.beh.order_smoothing_weeks)
            buyer = L.dst[e]
            rate = np.bincount(buyer, weights=ok * q, minlength=self.N)
            tot = np.bincount(buyer, weights=q, minlength=self.N)
            has = tot > 0
            r = self.beh.refusal_memory
            self.success[has] = (1 - r) * self.success[has] + r * rate[has] / tot[has]
        self.rec.licences(granted=float(q[ok].sum()) if e.size else 0.0,
                          refused=float(q[~ok].sum()) if e.size else 0.0,
                          pending_n=self.licences.n_pending, pending_t=self.licences.t_pending)

    def _collect_eol(self) -> None:
        """Collected end-of-life magnets go to recyclers as scrap, by capacity."""
        t_eol = self.eol_week[self.t]
        i = self.idx[REC]
        if t_eol <= 0 or i.size == 0:
            return
        share = self.pop.capacity[i] / self.pop.capacity[i].sum()
        for g in ("scrap_std", "scrap_uh"):
            k = self.mat.p(g)
            self.S[i, k] += 0.5 * t_eol * share
            self.ledger.add_source("eol_collected", 0.5 * t_eol * self.C[k])
        self.rec.eol[self.t] = t_eol

    # --- 4. expectations ------------------------------------------------------------------------
    def _form_expectations(self) -> None:
        b = self.beh
        r = np.log(self.index_price / self.prev_index)[self.watch]
        self.g = update_trend(self.g, r, self.lam)
        nw = news_weights(self.t, self.ev_week, self.ev_signed, self.ev_half)
        news = self.hear @ nw if (nw.size and not self._spinning) else np.zeros(self.N)
        social = neighbour_mean(self.x, self.links.src, self.links.dst, self._degree)
        noise = b.noise * self._per_kind("expectations", lambda g, n: g.standard_normal(n), (self.N,))
        self.anchor_price = smooth(self.anchor_price, self.index_price, b.anchor_weeks)
        self.supply_push = np.clip((self.index_price / self.anchor_price) ** b.supply_price_response, 0.5, 2.0)
        gap = np.log(self.anchor_price / self.index_price)[self.watch]
        self.x = expected_change(self.g, news, social, noise, b.horizon_weeks, b.w_trend, b.w_news,
                                 b.w_social, b.x_max, gap, b.w_anchor)
        shock = b.volatility_weight * np.abs(r)
        if self.ev_week.size and not self._spinning:
            shock = shock + self.hear @ (self.ev_unc * (self.ev_week == self.t))
        late = np.array([self.regulator.overdue[q] and not self._spinning for q in QUOTA_TYPES])
        qt = self.quota_type_of_firm
        shock = shock + np.where(qt >= 0, late[qt] * b.quota_late_uncertainty, 0.0)
        self.u = update_uncertainty(self.u, b.uncertainty_decay, shock)

    # --- 5. orders ------------------------------------------------------------------------------
    def _supply_line(self) -> np.ndarray:
        """Ordered but not received, per buyer pair: backlog, licences pending, in transit."""
        per_edge = self.backlog + self.in_transit
        if self.licences.n_pending:
            per_edge = per_edge + self.licences.pending_by_edge(self.E)
        return np.bincount(self.edge_pair, weights=per_edge, minlength=self.bi.size)

    def _order(self) -> None:
        b, L = self.beh, self.links
        bi, bk, key = self.bi, self.bk, self._bkey
        usage = self.Dhat.ravel()[key]
        cover = target_cover(self._c0_b, self.x[bi], self.u[bi], self._kr_b, self._kw_b,
                             b.uncertainty_strength, b.cover_bounds[0], b.cover_bounds[1])
        q = order_quantity(usage, self.S.ravel()[key], self._supply_line(), cover,
                           b.supply_line_weight, b.stock_adjust_weeks)
        ob = self._overseas_b
        q[ob] *= 0.5 + 0.5 * self.success[bi[ob]]
        if self.reserve_buy.any():
            r = self.reserve_buy
            q[r] = StateReserve.orders(self, bi[r], bk[r])
        price = self.ask.ravel()[self.edge_skey]
        share = logit_shares(self.edge_pair, price, self.index_price[L.prod], self.reliability,
                             b.price_choice, self.bi.size)
        order = q[self.edge_pair] * share
        if self._controls_in_week[self.t]:
            x = self.export_idx
            ctrl = np.zeros(self.E, bool)
            ctrl[x] = self.regimes.controlled[self.t][L.prod[x], self.edge_region[x]]
            e = np.flatnonzero(ctrl & (order > 1e-9))
            rg, pe, re_ = self.regimes, L.prod[e], self.edge_region[e]
            self.licences.apply(e, order[e], self.t, rg.days_min[self.t][pe, re_],
                                rg.days_mode[self.t][pe, re_], rg.days_max[self.t][pe, re_],
                                self.streams["licences"])
            self.rec.licences_applied[self.t] = order[e].sum()
            order = np.where(ctrl, 0.0, order)
        self.backlog += order
        received = np.bincount(self.edge_skey, weights=order, minlength=self.N * self.P).reshape(self.N, self.P)
        self.Ohat = smooth(self.Ohat, received, b.order_smoothing_weeks)
        self.rec.add_orders(q)

    # --- 6. prices ------------------------------------------------------------------------------
    def _set_prices(self) -> None:
        b = self.beh
        si, sk = self.si, self.sk
        net = np.maximum(self.S[si, sk] - self.Bout[si, sk], 0.0)
        cover = net / np.maximum(self.Ohat[si, sk], 1e-9)
        masks = self._masks
        floor = self._unit_cost_floor(si, sk, masks)
        ref = self._reference_price(si, sk, floor, masks)
        self.util_normal = smooth(self.util_normal, self.util, b.normal_utilisation_weeks)
        slack = np.where(self.pop.capacity[si] > 0, self.util[si] - self.util_normal[si], 0.0)
        new = update_ask(self.ask[si, sk], cover, b.finished_cover_weeks, self.x[si], ref, floor,
                         b.price_cover_response, b.price_expectation_response, b.price_market_pull,
                         b.max_weekly_price_move, slack, b.price_utilisation_response)
        self.ask[si, sk] = np.where(masks["scrap"], ref, new)  # scrap trades at its netback value
        if self.reserve_sell.any():
            r = self.reserve_sell
            self.ask[si[r], sk[r]] = self.index_price[sk[r]]

    def _seller_masks(self, si: np.ndarray, sk: np.ndarray) -> dict[str, np.ndarray]:
        """Which (seller, product) pairs price by which rule; fixed for a run."""
        p = self.mat.p
        kind = self.pop.kind[si]
        return {
            "scrap": np.isin(sk, [p("scrap_std"), p("scrap_uh")]),
            "tied": np.isin(sk, [p("light_ore"), p("ionic_ore"), p("scrap_std"), p("scrap_uh")]),
            "metal": sk == p("prnd_metal"),
            "magnet": (kind == MAG) & np.isin(sk, [p("magnet_std"), p("magnet_uh")]),
            "miner": np.isin(kind, [ROCK, IONIC, *HOLDERS]),
        }

    def _reference_price(self, si: np.ndarray, sk: np.ndarray, floor: np.ndarray,
                         masks: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The price each ask is pulled toward.

        Ore and scrap: the value of their oxide content (netback) at the start-of-run ratio.
        Pr-Nd metal and magnets: cost plus the start-of-run markup, the way the trade quotes
        them (raw material cost plus a processing fee). Oxides: the market index.
        """
        masks = masks if masks is not None else self._seller_masks(si, sk)
        nb = self._netback(self.index_price) * self.netback_ratio
        ref = self.index_price[sk].copy()
        tied = masks["tied"]
        ref[tied] = nb[sk[tied]]
        ref[masks["metal"]] = self._metal_parity(self.index_price) * self.metal_markup
        mag = masks["magnet"]
        ref[mag] = floor[mag] * self.magnet_markup[sk[mag]]
        return ref

    def _metal_parity(self, price: np.ndarray) -> float:
        """Oxide made into metal: t oxide per t metal times the oxide price plus conversion."""
        return float(price[self.mat.p("prnd_oxide")] * self.mat.oxide_per_metal[self.mat.e("prnd")]
                     / (1.0 - self.sc.firms.separation_plants.metal_loss_share)
                     + self.sc.firms.separation_plants.metal_cost_yuan_per_t)

    def _unit_cost_floor(self, si: np.ndarray, sk: np.ndarray,
                         masks: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Miners: mining cost. Magnet makers: raw materials at market prices plus processing,
        less the scrap credit. Joint products of separation and recycling: no floor."""
        masks = masks if masks is not None else self._seller_masks(si, sk)
        floor = np.zeros(si.size)
        miner = masks["miner"]
        floor[miner] = self.pop.cost[si[miner]]
        mag = masks["magnet"]
        if mag.any():
            cfg = self.sc.firms.magnet_makers
            p, e = self.mat.p, self.mat.e
            opm = self.mat.oxide_per_metal[e("prnd")]
            theta = 1.0 - cfg.oxide_feed_share
            per_t = self.C[sk[mag]] / (1.0 - cfg.melt_loss_share)
            ip = self.index_price
            prnd_cost = theta * ip[p("prnd_metal")] / opm + (1 - theta) * ip[p("prnd_oxide")]
            rm = per_t[:, e("prnd")] * prnd_cost + per_t[:, e("dy")] * ip[p("dy_oxide")] \
                + per_t[:, e("tb")] * ip[p("tb_oxide")]
            s = cfg.scrap_share
            scrap_k = np.where(sk[mag] == p("magnet_std"), p("scrap_std"), p("scrap_uh"))
            floor[mag] = (rm + self.pop.cost[si[mag]]) / (1.0 - s) - s / (1.0 - s) * ip[scrap_k]
        return floor

    # --- 7. shipping ------------------------------------------------------------------------------
    def _ship(self) -> None:
        L, b = self.links, self.beh
        S = self.S
        avail_pair = S.ravel()[self._skey]
        for hk, cfg in ((MYANMAR, self.sc.firms.myanmar_holders), (ABROAD, self.sc.firms.overseas_miners)):
            mh = self._sell_kind[hk]
            if mh is None:
                continue
            k = self.si[mh]
            ore = self.sk[mh]
            floor = cfg.price_floor_share * self.initial_price[ore]
            f = offer_share(self.x[k], self.index_price[ore], floor, cfg.holdback_expectation,
                            cfg.holdback_price, cfg.min_offer_share)
            avail_pair[mh] *= f * self.avail[k]
            if hk == MYANMAR:
                self.rec.offer_share[self.t] = float(f.mean())
        sep = self._sell_kind[SEP]
        if sep is not None:
            cfg = self.sc.firms.separation_plants
            avail_pair[sep] *= offer_share(self.x[self.si[sep]], 1.0, 1.0, cfg.holdback_expectation, 0.0, 0.5, )
        if self.reserve_sell.any():
            r = self.reserve_sell
            avail_pair[r] *= StateReserve.offer(self, self.si[r], self.sk[r])
        available = np.zeros(self.N * self.P)
        available[self._skey] = avail_pair
        # goods move on days both ends work: a holiday at the shipper or the receiver (Chinese
        # New Year, National Day, Christmas abroad) holds deliveries back until it is over
        if self.ws.min() >= 1.0:
            eligible = self.backlog
        else:
            ws = np.minimum(self.ws, 1.0)
            eligible = self.backlog * np.minimum(ws[self.links.src], ws[self.links.dst])
        shipped = fill_pro_rata(available, eligible, self.edge_skey)
        if self.sc.export_quotas and not self._spinning:
            shipped = self._apply_export_quotas(shipped)
        owed = eligible.copy()            # what could be delivered this week (holidays aside)
        self.backlog -= shipped
        S -= np.bincount(self.edge_skey, weights=shipped, minlength=self.N * self.P).reshape(self.N, self.P)
        np.maximum(S, 0.0, out=S)  # guards -1e-17 round-off only; fill_pro_rata never overdraws
        for lead, mask in self._lead_groups:
            self.pipe[(self._tick + lead) % self.lmax] += shipped * mask
        self.in_transit += shipped
        price = self.ask.ravel()[self.edge_skey]
        qty = np.bincount(L.prod, weights=shipped, minlength=self.P)
        val = np.bincount(L.prod, weights=shipped * price, minlength=self.P)
        self.prev_index = self.index_price
        self.index_price = price_index(qty, val, self.index_price)
        owing = owed > 1e-9
        rho = b.reliability_smoothing
        self.reliability[owing] += rho * (shipped[owing] / owed[owing] - self.reliability[owing])
        self.backlog *= 1.0 - self.sc.market.backlog_cancel_share
        self.shipped_total += shipped
        self.rec.add_shipments(shipped)

    def _apply_export_quotas(self, shipped: np.ndarray) -> np.ndarray:
        """Scale this week's exports of quota-bound products down to the quota left.

        A week counts toward the year its Thursday falls in (most of its days, as ISO weeks)."""
        year = (self.date + dt.timedelta(days=3)).year
        L = self.links
        for qi, q in enumerate(self.sc.export_quotas):
            if q.year != year:
                continue
            pm = np.isin(L.prod, [self.mat.p(p) for p in q.products]) & self.export_edge
            want = shipped[pm].sum()
            left = self.export_quota_left.setdefault((qi, year), q.total_t)
            if want > left:
                shipped = np.where(pm, shipped * (left / want), shipped)
                want = left
            self.export_quota_left[(qi, year)] = left - want
        return shipped

    # ------------------------------------------------------------------------------------
    def in_system(self) -> np.ndarray:
        """Material in stocks and in transit, t REO-eq per element."""
        transit = np.bincount(self.links.prod, weights=self.pipe.sum(axis=0), minlength=self.P)  # exact, not the running total
        return (self.S.sum(axis=0) + transit) @ self.C

    @property
    def network(self):
        """The trade network as a ``networkx.DiGraph`` with tonnes shipped so far per link."""
        return to_networkx(self.pop, self.links, self.mat, STAGES, self.shipped_total)


def forget_model(model: mesa.Model) -> None:
    """Drop Mesa's class-level reference to a finished model so it can be freed.

    Mesa 3.3 numbers agents with ``Agent._ids``, a ``defaultdict`` keyed by model that is
    never emptied: without this every model a process builds stays in memory, and a
    worker running thousands of runs grows without bound. Call it once a model's results
    have been taken (no agents are created after that).
    """
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


def prices_reported(m: ChainModel) -> np.ndarray:
    """Reporter: this week's price index per product (in ``m.mat.products`` order), quoted unit."""
    return m.rec.price[m.t].copy()


def sentiment_reported(m: ChainModel) -> np.ndarray:
    """Reporter: this week's mean expected price change per stage (``m.stages`` order)."""
    return m.rec.sentiment[m.t].copy()
