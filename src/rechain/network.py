"""The firm population and the trade network it trades on.

Firms are numbered 0..N-1; their state lives in arrays indexed by that number (see
:mod:`rechain.state`). Links are supplier -> buyer for one product, with a lead time
in weeks and a flow type (domestic, import into China, export from China, abroad: from
producers outside China to buyers abroad). Orders and
goods move only along links. :func:`to_networkx` gives the graph as a ``networkx.DiGraph``.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .materials import Materials
from .policy.disruptions import dated_multiple
from .scenario import Scenario

__all__ = ["KINDS", "KIND_STAGE", "Population", "Links", "build_population", "build_links", "to_networkx",
           "DOMESTIC", "IMPORT", "EXPORT"]

# kind codes, in chain order
ROCK, IONIC, MYANMAR, SEP, REC, MAG, MOTOR, OVERSEAS, ABROAD, RESERVE, TRADER, OVERSEAS_MAT, FOREIGN = range(13)
KINDS = ("rock_miner", "ionic_miner", "myanmar_holder", "separation_plant", "recycler",
         "magnet_maker", "motor_maker", "overseas_buyer", "overseas_miner", "state_reserve", "trader",
         "overseas_material_buyer", "foreign_producer")
KIND_STAGE = ("miners", "miners", "myanmar_holders", "separation_plants", "recyclers",
              "magnet_makers", "motor_makers", "overseas_buyers", "overseas_miners", "state_reserve", "traders",
              "overseas_buyers", "foreign_producers")
HOLDERS = (MYANMAR, ABROAD)   # ore holders outside China's quota, selling into China
BUYERS_ABROAD = (OVERSEAS, OVERSEAS_MAT)
DOMESTIC, IMPORT, EXPORT, FOREIGN_TRADE = 0, 1, 2, 3
FLOW_NAMES = ("domestic", "import", "export", "abroad")   # abroad: from producers outside China to buyers abroad


@dataclass
class Population:
    """Static attributes of every firm (arrays of length N)."""

    kind: np.ndarray          # kind code
    stage: np.ndarray         # stage index into STAGES
    region: np.ndarray        # index into region_names (0 = china, 1 = abroad (ore holders and producers outside China), then the buyer regions)
    calendar: list[str]       # holiday calendar per firm
    capacity: np.ndarray      # t of main output per week (ore t REO, blanks t, scrap t); 0 for buyers;
                              # traders: storage, t
    cost: np.ndarray          # variable cost, yuan per t of main output
    capital_cost: np.ndarray  # capital charge and fixed costs, yuan per t of main output
    light: np.ndarray         # separation plants: True if processing rock-type ore
    metal_share: np.ndarray   # separation plants: 1 if the plant has a metal line
    group: np.ndarray         # motor makers: sector index; overseas buyers: region index; else -1
    demand_share: np.ndarray  # share of its sector's/region's demand a buyer holds
    uh_share: np.ndarray      # buyers: share of their magnets in the Dy/Tb grade
    inputs: np.ndarray        # bool [N, P] products the firm buys
    outputs: np.ndarray       # bool [N, P] products the firm sells
    region_names: list[str]
    sector_names: list[str]
    # each firm's capacity when the run starts, dated capacity included, t per week: what
    # buyers choose their suppliers by
    link_capacity: np.ndarray

    @property
    def n(self) -> int:
        return self.kind.shape[0]


@dataclass
class Links:
    """Supplier -> buyer links, one per product (arrays of length E)."""

    src: np.ndarray
    dst: np.ndarray
    prod: np.ndarray
    lead: np.ndarray
    flow: np.ndarray

    @property
    def n(self) -> int:
        return self.src.shape[0]


def _sizes(rng: np.random.Generator, n: int, total: float, spread: float) -> np.ndarray:
    w = rng.lognormal(0.0, spread, n) if spread > 0 else np.ones(n)
    return total * w / w.sum()


def build_population(sc: Scenario, mat: Materials, rng: np.random.Generator, stages: tuple[str, ...]
                     ) -> Population:
    """Create the firms of the scenario with heterogeneous sizes and costs."""
    f = sc.firms
    rows: list[dict] = []
    region_names = ["china", "abroad", *sc.regions]
    sector_names = list(sc.sectors)

    def add(kind: int, count: int, cap_total: float, spread: float, cost: float, capital: float = 0.0,
            per_week: bool = True, **extra) -> None:
        caps = _sizes(rng, count, cap_total / 52.18 if per_week else cap_total, spread)
        scatter = rng.lognormal(0.0, 0.1, count)
        costs = cost * scatter if cost > 0 else np.zeros(count)
        capital_costs = capital * scatter if capital > 0 else np.zeros(count)
        for i in range(count):
            rows.append(dict(kind=kind, capacity=caps[i], cost=costs[i], capital=capital_costs[i],
                             **{k: (v[i] if isinstance(v, np.ndarray) else v) for k, v in extra.items()}))

    def add_group(kind: int, g, **extra) -> None:
        add(kind, g.count, g.capacity_t_per_yr, g.capacity_spread, g.cost_yuan_per_t, g.capital_cost_yuan_per_t,
            **extra)

    # at_start: a dated group's capacity at the start over the one it is sized at: buyers choose
    # their suppliers by what they can supply when the run starts (a later step is not foreseen,
    # so the years before it do not depend on it or on the run's end)
    start_year = sc.start.year
    add_group(ROCK, f.rock_miners, light=True)
    add_group(IONIC, f.ionic_miners)
    # sized at their capacity at the start (above 0), which their capacity_by_year then scales
    add_group(MYANMAR, f.myanmar_holders, region=1, at_start=dated_multiple(f.myanmar_holders, start_year))
    om = f.overseas_miners
    if om.count > 0 and (om.capacity_t_per_yr > 0 or any(v > 0 for v in om.capacity_by_year.values())):
        # sized at their capacity at the start, or (mines yet to open) their largest dated one
        first = om.capacity_t_per_yr if om.capacity_t_per_yr > 0 else max(om.capacity_by_year.values())
        add(ABROAD, om.count, first, om.capacity_spread, om.cost_yuan_per_t, om.capital_cost_yuan_per_t,
            region=1, light=True, at_start=dated_multiple(om, start_year))
    sp = f.separation_plants
    n_light, n_ionic = sp.plants_by_ore()
    ms = lambda n: (rng.random(n) < sp.metal_line_share).astype(float)  # noqa: E731
    if n_light:
        add(SEP, n_light, sp.capacity_t_per_yr * sp.light_capacity_share, sp.capacity_spread,
            sp.cost_yuan_per_t, sp.capital_cost_yuan_per_t, light=True, metal_share=ms(n_light))
    if n_ionic:
        add(SEP, n_ionic, sp.capacity_t_per_yr * (1 - sp.light_capacity_share), sp.capacity_spread,
            sp.cost_yuan_per_t, sp.capital_cost_yuan_per_t, light=False, metal_share=ms(n_ionic))
    add_group(REC, f.recyclers)
    add_group(MAG, f.magnet_makers)
    for si, (name, sec) in enumerate(sc.sectors.items()):
        share = _sizes(rng, sec.firms, 1.0, 0.8)
        for i in range(sec.firms):
            rows.append(dict(kind=MOTOR, capacity=0.0, cost=0.0, capital=0.0, group=si, demand_share=share[i],
                             uh=sec.uh_share))
    for ri, (name, reg) in enumerate(sc.regions.items()):
        share = _sizes(rng, reg.buyers, 1.0, 0.8)
        for i in range(reg.buyers):
            rows.append(dict(kind=OVERSEAS, capacity=0.0, cost=0.0, capital=0.0, group=ri, demand_share=share[i],
                             region=2 + ri, uh=reg.uh_share))

    tr = f.traders
    traded = [k for k, v in tr.storage_t.items() if v > 0]
    if tr.count > 0 and traded:
        # each trader deals in one product; traders are shared out by storage
        total = sum(tr.storage_t[k] for k in traded)
        counts = [max(1, int(round(tr.count * tr.storage_t[k] / total))) for k in traded]
        for product, n in zip(traded, counts):
            add(TRADER, n, tr.storage_t[product], tr.capacity_spread, 0.0, per_week=False, product=product)
    if sc.stockpile.products:
        rows.append(dict(kind=RESERVE, capacity=0.0, cost=0.0, capital=0.0))
    # buyers of oxides and metal abroad, and the producers outside China who sell to them
    for ri, (name, reg) in enumerate(sc.regions.items()):
        if reg.materials_t_per_yr:
            share = _sizes(rng, reg.materials_buyers, 1.0, 0.8)
            for i in range(reg.materials_buyers):
                rows.append(dict(kind=OVERSEAS_MAT, capacity=0.0, cost=0.0, capital=0.0, group=ri,
                                 demand_share=share[i], region=2 + ri, products=list(reg.materials_t_per_yr)))
    fp = f.foreign_producers
    if fp.count > 0 and (fp.capacity_t_per_yr > 0 or any(v > 0 for v in fp.capacity_by_year.values())):
        first = fp.capacity_t_per_yr if fp.capacity_t_per_yr > 0 else max(fp.capacity_by_year.values())
        add(FOREIGN, fp.count, first, fp.capacity_spread, fp.cost_yuan_per_t, fp.capital_cost_yuan_per_t,
            region=1, light=fp.ore_type == "rock", metal_share=float(fp.metal_share > 0),
            at_start=dated_multiple(fp, start_year))
    n, P = len(rows), len(mat.products)
    kind = np.array([r["kind"] for r in rows])
    region = np.array([r.get("region", 0) for r in rows])
    cal_of_region = ["china", "other", *[r.calendar for r in sc.regions.values()]]
    inputs = np.zeros((n, P), bool)
    outputs = np.zeros((n, P), bool)
    p = mat.p
    light = np.array([bool(r.get("light", False)) for r in rows])
    metal_share = np.array([float(r.get("metal_share", 0.0)) for r in rows])
    uh_share = np.array([r.get("uh", 0.0) for r in rows])
    of = lambda *codes: np.flatnonzero(np.isin(kind, codes))        # noqa: E731
    oxides = [p("prnd_oxide"), p("dy_oxide"), p("tb_oxide")]
    outputs[of(ROCK, ABROAD), p("light_ore")] = True
    outputs[of(IONIC, MYANMAR), p("ionic_ore")] = True
    i = of(SEP)
    inputs[i, np.where(light[i], p("light_ore"), p("ionic_ore"))] = True
    outputs[np.ix_(i, oxides)] = True
    outputs[i, p("prnd_metal")] = metal_share[i] > 0
    # a metal line buys oxide on the market when the plant's own falls short
    inputs[i, p("prnd_oxide")] = (metal_share[i] > 0) & sc.firms.separation_plants.metal_lines_buy_oxide
    i = of(REC)
    inputs[np.ix_(i, [p("scrap_std"), p("scrap_uh")])] = True
    outputs[np.ix_(i, oxides)] = True
    i = of(MAG)
    inputs[np.ix_(i, [p("prnd_metal"), *oxides])] = True
    outputs[np.ix_(i, [p("magnet_std"), p("magnet_uh"), p("scrap_std"), p("scrap_uh")])] = True
    i = of(TRADER)
    traded_product = np.array([p(rows[j]["product"]) for j in i], dtype=np.int64)
    inputs[i, traded_product] = outputs[i, traded_product] = True
    i = of(RESERVE)
    for q in sc.stockpile.products:
        inputs[i, p(q)] = outputs[i, p(q)] = True
    i = of(MOTOR, OVERSEAS)
    inputs[i, p("magnet_std")] = uh_share[i] < 1.0
    inputs[i, p("magnet_uh")] = uh_share[i] > 0.0
    for ri, reg in enumerate(sc.regions.values()):
        i = np.flatnonzero((kind == OVERSEAS_MAT) & (region == 2 + ri))
        for q in reg.materials_t_per_yr:
            inputs[i, p(q)] = True
    i = of(FOREIGN)
    outputs[np.ix_(i, oxides)] = True
    outputs[i, p("prnd_metal")] = metal_share[i] > 0
    stage = np.array([stages.index(KIND_STAGE[k]) for k in kind])
    return Population(
        kind=kind, stage=stage, region=region, calendar=[cal_of_region[g] for g in region],
        capacity=np.array([r["capacity"] for r in rows]), cost=np.array([r["cost"] for r in rows]),
        capital_cost=np.array([r["capital"] for r in rows]),
        light=light, metal_share=metal_share,
        group=np.array([r.get("group", -1) for r in rows]),
        demand_share=np.array([r.get("demand_share", 0.0) for r in rows]),
        uh_share=uh_share,
        inputs=inputs, outputs=outputs, region_names=region_names, sector_names=sector_names,
        link_capacity=np.array([r["capacity"] * r.get("at_start", 1.0) for r in rows]))


def supply_weight(pop: Population, mat: Materials, sellers: np.ndarray, k: int) -> np.ndarray:
    """How much of product ``k`` each seller can be expected to supply, for choosing links.

    Capacity times the content of ``k``'s element in what the seller processes, so a
    rock-type plant with a trace of Dy is rarely anyone's Dy supplier. A group with dated
    capacity is chosen by its capacity at the start, the dated figure included (producers
    abroad given five times their size for the start year had been chosen by the size
    they are built at, and sold almost none of it: an outside lever audit).
    """
    cap = pop.link_capacity[sellers]
    el = np.flatnonzero(mat.content[k])
    if k in (mat.p("prnd_oxide"), mat.p("prnd_metal"), mat.p("dy_oxide"), mat.p("tb_oxide")) and el.size == 1:
        e = el[0]
        feed = np.where(pop.kind[sellers] == REC, mat.content[mat.p("scrap_uh"), e],
                        np.where(pop.light[sellers], mat.content[mat.p("light_ore"), e],
                                 mat.content[mat.p("ionic_ore"), e]))
        return cap * feed
    return cap


def weighted_choice_without_replacement(rng: np.random.Generator, items: np.ndarray, weight: np.ndarray,
                                        buyers: np.ndarray, m: int) -> np.ndarray:
    """For each buyer, up to ``m`` distinct items other than itself, drawn with probability in
    proportion to ``weight`` (0: never) without replacement. Returns [buyers, m] item ids, -1
    where fewer than ``m`` can be drawn.

    Draws are made one round at a time for all buyers together; a draw that repeats an earlier
    pick (or the buyer itself) is drawn again, so no buyer-by-seller table is ever built and the
    cost grows with buyers x m, not buyers x items.
    """
    nb = buyers.size
    out = np.full((nb, m), -1, dtype=np.int64)
    total = weight.sum()
    if total <= 0 or nb == 0:
        return out
    cdf = np.cumsum(weight) / total
    cdf[-1] = 1.0
    for j in range(min(m, int((weight > 0).sum()))):
        todo = np.arange(nb)
        for _ in range(200):
            pick = items[np.minimum(np.searchsorted(cdf, rng.random(todo.size), side="right"), items.size - 1)]
            clash = (pick == buyers[todo]) | (out[todo, :j] == pick[:, None]).any(axis=1)
            out[todo[~clash], j] = pick[~clash]
            todo = todo[clash]
            if todo.size == 0:
                break
        if todo.size:      # a buyer whose only candidates are itself or already taken
            out[todo, j] = -1
    return out


def build_links(pop: Population, sc: Scenario, mat: Materials, rng: np.random.Generator) -> Links:
    """Link each buyer to ``links_per_buyer`` producers of each input (buyers of oxides and
    metal abroad to ``links_per_buyer_abroad``), drawn without
    replacement with probability in proportion to their expected supply, and
    make sure every seller has at least one buyer for each of its outputs. The state reserve
    buys from every producer and releases to every magnet maker; traders and the reserve
    otherwise reach buyers on the spot market."""
    m = sc.market.links_per_buyer
    src, dst, prod = [], [], []
    for k in range(len(mat.products)):
        sellers = np.flatnonzero(pop.outputs[:, k])
        buyers = np.flatnonzero(pop.inputs[:, k])
        if sellers.size == 0 or buyers.size == 0:
            continue
        producer = ~np.isin(pop.kind[sellers], (RESERVE, TRADER))
        weight = np.where(producer, np.maximum(supply_weight(pop, mat, sellers, k), 1e-12), 0.0)
        is_reserve = pop.kind[buyers] == RESERVE
        regular = buyers[~is_reserve]
        linked = np.zeros(sellers.size, bool)
        # buyers in China buy from producers in China; buyers abroad also from producers abroad
        abroad = np.isin(pop.kind[regular], BUYERS_ABROAD)
        materials = pop.kind[regular] == OVERSEAS_MAT
        foreign = pop.kind[sellers] == FOREIGN
        groups = ((regular[~abroad], np.where(foreign, 0.0, weight), m),
                  (regular[abroad & ~materials], weight, m),
                  (regular[materials], weight, sc.market.links_per_buyer_abroad))
        for group, w_group, n_links in groups:
            if group.size and (w_group > 0).any():
                chosen = weighted_choice_without_replacement(rng, sellers, w_group, group, n_links)
                rows = np.repeat(group, chosen.shape[1]).reshape(chosen.shape)
                ok = chosen >= 0
                src.append(chosen[ok]), dst.append(rows[ok]), prod.append(np.full(int(ok.sum()), k))
                linked |= np.isin(sellers, chosen[ok])
        for b in buyers[is_reserve]:                     # the reserve buys from every producer in China
            chosen = sellers[producer & ~foreign & (sellers != b)]
            src.append(chosen), dst.append(np.full(chosen.size, b)), prod.append(np.full(chosen.size, k))
        mags = buyers[pop.kind[buyers] == MAG]
        for s in sellers[pop.kind[sellers] == RESERVE]:  # ... and releases to every magnet maker
            src.append(np.full(mags.size, s)), dst.append(mags), prod.append(np.full(mags.size, k))
            linked[sellers == s] = True
        base = regular[~np.isin(pop.kind[regular], (TRADER,))]
        lonely = sellers[~linked & ~foreign]
        self_sellers = [(lonely, base)]
        if foreign.any():
            self_sellers.append((sellers[~linked & foreign], base[np.isin(pop.kind[base], BUYERS_ABROAD)]))
        for lonely, base in self_sellers:
            _link_lonely(rng, lonely, base, k, src, dst, prod)
    return _finish_links(pop, sc, mat, src, dst, prod)


def _link_lonely(rng: np.random.Generator, lonely: np.ndarray, base: np.ndarray, k: int, src: list, dst: list,
                 prod: list) -> None:
    """Give each seller nobody chose one buyer of ``base``, drawn at random (not itself)."""
    if not (lonely.size and base.size):
        return
    pick = base[rng.integers(0, base.size, lonely.size)]
    clash = pick == lonely
    if clash.any() and base.size > 1:             # nobody sells to itself
        pick[clash] = base[(np.searchsorted(base, lonely[clash]) + 1) % base.size]
    ok = pick != lonely
    src.append(lonely[ok]), dst.append(pick[ok]), prod.append(np.full(int(ok.sum()), k))


def _finish_links(pop: Population, sc: Scenario, mat: Materials, src: list, dst: list, prod: list) -> Links:
    """Flow type and lead time of each link; links sorted by lead time (then product, seller,
    buyer), so goods enter the pipeline by slices."""
    lt = sc.market.lead_times
    src = np.concatenate(src) if src else np.zeros(0, np.int64)
    dst = np.concatenate(dst) if dst else np.zeros(0, np.int64)
    prod = np.concatenate(prod) if prod else np.zeros(0, np.int64)
    kind_s, kind_d = pop.kind[src], pop.kind[dst]
    flow = np.full(src.size, DOMESTIC)
    flow[np.isin(kind_s, HOLDERS)] = IMPORT
    flow[np.isin(kind_d, BUYERS_ABROAD)] = EXPORT
    flow[kind_s == FOREIGN] = FOREIGN_TRADE
    lead = np.full(src.size, lt.domestic_weeks)
    is_ore = np.isin(prod, [mat.p("light_ore"), mat.p("ionic_ore")])
    lead[is_ore] = lt.ore_weeks
    lead[flow == IMPORT] = lt.import_weeks
    lead[(flow == EXPORT) | (flow == FOREIGN_TRADE)] = lt.export_weeks
    lead = np.maximum(lead, 1)
    order = np.lexsort((dst, src, prod, lead))
    return Links(src=src[order], dst=dst[order], prod=prod[order], lead=lead[order], flow=flow[order])


def to_networkx(pop: Population, links: Links, mat: Materials, stages: tuple[str, ...],
                shipped: np.ndarray | None = None) -> nx.DiGraph:
    """The trade network as a DiGraph: nodes are firms, edges supplier -> buyer.

    Node attributes: ``kind``, ``stage``, ``region``, ``capacity_t_per_wk``. Edge attributes:
    ``products`` (list), ``lead_time_weeks``, ``cross_border`` and ``flow``; with
    ``shipped`` (t per link), ``shipped_t`` per product.
    """
    g = nx.DiGraph()
    for i in range(pop.n):
        g.add_node(i, kind=KINDS[pop.kind[i]], stage=stages[pop.stage[i]],
                   region=pop.region_names[pop.region[i]], capacity_t_per_wk=float(pop.capacity[i]))
    for e in range(links.n):
        u, v, k = int(links.src[e]), int(links.dst[e]), mat.products[links.prod[e]]
        if g.has_edge(u, v):
            d = g.edges[u, v]
            d["products"].append(k)
        else:
            g.add_edge(u, v, products=[k], lead_time_weeks=int(links.lead[e]),
                       cross_border=bool(links.flow[e] != DOMESTIC), flow=FLOW_NAMES[links.flow[e]],
                       shipped_t={})
        if shipped is not None:
            g.edges[u, v]["shipped_t"][k] = float(shipped[e])
    return g
