"""What is fixed for a run: materials, calendar, the firms and the links they trade on.

:func:`build_world` reads a scenario once and lays out the index arrays every phase uses:
the rows of each kind of firm, the (firm, product) pairs each firm buys and sells, and for
each link the buyer pair and seller key it feeds. Nothing here changes during a run; what
changes lives in :mod:`rechain.state`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import CALENDARS, Calendar
from .materials import Materials, materials
from .network import (BUYERS_ABROAD, EXPORT, FOREIGN, FOREIGN_TRADE, IMPORT, KINDS, MAG, MOTOR, OVERSEAS, RESERVE,
                      SEP, TRADER, Links, Population, build_links, build_population)
from .randomness import Streams
from .recipes import GRADES, RecipeBook, recipe_book
from .scenario import STAGES, Scenario

__all__ = ["World", "Pairs", "build_world", "PROCESSED"]

#: products priced mostly as the cost of their inputs (their own balance weighs less)
PROCESSED = ("prnd_metal", "magnet_std", "magnet_uh")
#: the separated products traded from stock (oxides and metal), whose prices answer a
#: shortage more steeply than a glut (behaviour.scarcity_elasticity_multiple)
STOCKED = ("prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide")


@dataclass(frozen=True)
class Pairs:
    """(firm, product) pairs, e.g. every input a firm buys; ``key = firm * P + product``.

    Pairs are ordered by firm, so the pairs of one kind of firm form one contiguous slice
    (``by_kind[code]``).
    """

    firm: np.ndarray
    product: np.ndarray
    key: np.ndarray
    by_kind: dict[int, slice]

    @property
    def n(self) -> int:
        return self.firm.shape[0]


@dataclass(frozen=True)
class LinkIndex:
    """Per link: which buyer pair it serves, which seller key ships on it, where it goes."""

    buyer_pair: np.ndarray       # index into World.buys
    seller_pair: np.ndarray      # index into World.sells
    seller_key: np.ndarray       # src * P + product
    buyer_key: np.ndarray        # dst * P + product
    region: np.ndarray           # destination region index
    is_export: np.ndarray        # bool
    export_links: np.ndarray     # indices of export links
    export_product: np.ndarray   # product of each export link (export_links order)
    export_region: np.ndarray    # destination region of each export link (export_links order)
    is_import: np.ndarray        # bool: ore shipped into China
    to_separation: np.ndarray    # bool: delivers to a separation plant
    to_separation_links: np.ndarray   # indices of those links
    n_slots: int                 # pipeline slots: longest lead + 1
    by_product: tuple            # link indices carrying each product
    all: np.ndarray              # 0..E-1
    abroad: np.ndarray           # bool: the link runs from a producer abroad to a buyer abroad
    to_abroad: np.ndarray        # bool: the link goes to a buyer abroad
    releases: np.ndarray         # indices of the links the state reserve releases on


@dataclass(frozen=True)
class World:
    """Everything fixed for one run."""

    scenario: Scenario
    materials: Materials
    calendar: Calendar
    firms: Population
    links: Links
    link: LinkIndex
    buys: Pairs
    sells: Pairs
    rows: dict[int, np.ndarray]          # kind code -> firm rows (contiguous)
    main_output: np.ndarray              # product each firm mainly sells [N]
    main_input: np.ndarray               # product each firm mainly buys [N]
    calendar_index: np.ndarray           # index into CALENDARS per firm [N]
    start_price_yuan_per_t: np.ndarray   # [P]
    recipes: RecipeBook                  # magnet recipes per week
    key_product: np.ndarray              # product of each firm * P + product key [N * P]
    key_stage: np.ndarray                # stage of each key's firm [N * P]
    oxides: np.ndarray                   # Pr-Nd, Dy and Tb oxide, in element order
    scraps: np.ndarray                   # standard and high-grade scrap
    cover_elasticity: np.ndarray         # [P] how strongly each price answers its market's cover
    normal_cover_wk: np.ndarray          # [P] the market's settled cover, weeks (NaN: measured at the start)
    reservation_share: np.ndarray        # [P] share of its long-run price below which plants and recyclers hold a product back
    scarcity_elasticity: np.ndarray      # [P] the same below normal cover
    spot_sells: np.ndarray               # [sell pairs] bool: sells on China's spot market (not producers abroad)
    abroad_buys: np.ndarray              # indices of buy pairs of buyers abroad
    spot_key_of_sell: np.ndarray         # [sell pairs] spot market * P + product (market 0: China's, 1: abroad)
    spot_key_of_buy: np.ndarray          # [buy pairs] the same for buyers (buyers abroad trade in market 1)
    direct_oxide_use_buys: np.ndarray    # indices of buy pairs of oxides and metal by their end users (buyers
                                         # abroad; not magnet makers, the plants' metal lines, traders or the reserve)
    end_use_magnet_buys: np.ndarray      # indices of buy pairs of magnets by their end users (motor makers and
                                         # buyers of magnets abroad)

    @property
    def stages(self) -> tuple[str, ...]:
        return STAGES

    @property
    def n_firms(self) -> int:
        return self.firms.n

    @property
    def n_products(self) -> int:
        return len(self.materials.products)

    @property
    def n_links(self) -> int:
        return self.links.n

    @property
    def regions(self) -> list[str]:
        return list(self.firms.region_names)

    def served_from_china(self, approval: np.ndarray) -> np.ndarray:
        """Per buy pair, the share of its need China's market may serve: for buyers abroad the
        export licences' approval rate in force for the product and their region (``approval``,
        [P, R]; 1 where no licence is needed), 1 at home. What export controls keep from buyers
        abroad is a need China's supply is not let meet."""
        share = np.ones(self.buys.n)
        ab = self.abroad_buys
        share[ab] = approval[self.buys.product[ab], self.firms.region[self.buys.firm[ab]]]
        return share



def _pairs(firm: np.ndarray, product: np.ndarray, kind: np.ndarray, n_products: int) -> Pairs:
    by_kind = {}
    for code in range(len(KINDS)):
        at = np.flatnonzero(kind[firm] == code)
        if at.size:
            if at[-1] - at[0] + 1 != at.size:
                raise RuntimeError(f"pairs of kind {KINDS[code]} are not contiguous")
            by_kind[code] = slice(int(at[0]), int(at[-1]) + 1)
    return Pairs(firm=firm, product=product, key=firm * n_products + product, by_kind=by_kind)


def build_world(sc: Scenario, streams: Streams) -> World:
    """Lay out the firms, links and index arrays of a scenario."""
    base = materials()
    cal = Calendar.build(sc.start, sc.end, holidays=None if sc.holidays else {})
    recipes = recipe_book(sc, base, cal.weeks)
    mat = base
    for g, grade in enumerate(GRADES):     # magnets and scrap start with the recipes of the first week
        mat = mat.with_grade_content(grade, recipes.content[0, g])
    pop = build_population(sc, mat, streams("population"), STAGES)
    links = build_links(pop, sc, mat, streams("links"))
    P = len(mat.products)
    rows = {k: np.flatnonzero(pop.kind == k) for k in range(len(KINDS))}
    for k, r in rows.items():
        if r.size and r[-1] - r[0] + 1 != r.size:
            raise RuntimeError(f"firms of kind {KINDS[k]} are not contiguous")
    bi, bk = np.nonzero(pop.inputs)
    si, sk = np.nonzero(pop.outputs)
    buys = _pairs(bi, bk, pop.kind, P)
    sells = _pairs(si, sk, pop.kind, P)
    pair_of_key = np.full(pop.n * P, -1)
    pair_of_key[buys.key] = np.arange(buys.n)
    sell_pair_of_key = np.full(pop.n * P, -1)
    sell_pair_of_key[sells.key] = np.arange(sells.n)
    is_export = links.flow == EXPORT
    region = pop.region[links.dst]
    link = LinkIndex(
        # int32: read by the link loops every week, where the bytes moved set the pace
        buyer_pair=pair_of_key[links.dst * P + links.prod].astype(np.int32),
        seller_pair=sell_pair_of_key[links.src * P + links.prod].astype(np.int32),
        seller_key=links.src * P + links.prod,
        buyer_key=links.dst * P + links.prod,
        region=region,
        is_export=is_export,
        export_links=np.flatnonzero(is_export),
        export_product=links.prod[is_export],
        export_region=region[is_export],
        is_import=links.flow == IMPORT,
        to_separation=pop.kind[links.dst] == SEP,
        to_separation_links=np.flatnonzero(pop.kind[links.dst] == SEP),
        n_slots=int(links.lead.max()) + 1 if links.n else 1,
        by_product=tuple(np.flatnonzero(links.prod == k) for k in range(P)),
        all=np.arange(links.n),
        abroad=links.flow == FOREIGN_TRADE,
        to_abroad=np.isin(pop.kind[links.dst], BUYERS_ABROAD),
        releases=np.flatnonzero(pop.kind[links.src] == RESERVE),
    )
    start = np.array([sc.market.initial_price[k] for k in mat.products]) / mat.quote_factor
    spot_sells = pop.kind[sells.firm] != FOREIGN                   # producers abroad sell abroad only
    buyer_abroad = np.isin(pop.kind[buys.firm], BUYERS_ABROAD)
    oxides = np.array([mat.p("prnd_oxide"), mat.p("dy_oxide"), mat.p("tb_oxide")])
    oxide_use = np.flatnonzero(np.isin(buys.product, [*oxides, mat.p("prnd_metal")])
                               & ~np.isin(pop.kind[buys.firm], (SEP, TRADER, RESERVE)))
    cover_elasticity = np.array([sc.market.price_cover_elasticity.get(
        k, sc.behaviour.processed_price_cover_elasticity if k in PROCESSED else sc.behaviour.price_cover_elasticity)
        for k in mat.products])
    held = sc.firms.separation_plants
    reservation_share = np.array([held.reservation_share_by_product.get(k, held.reservation_share)
                                  for k in mat.products])
    return World(
        scenario=sc, materials=mat, calendar=cal, firms=pop, links=links, link=link, buys=buys, sells=sells,
        rows=rows, main_output=np.argmax(pop.outputs, axis=1), main_input=np.argmax(pop.inputs, axis=1),
        calendar_index=np.array([CALENDARS.index(c) for c in pop.calendar]),
        start_price_yuan_per_t=start, recipes=recipes, key_product=np.tile(np.arange(P), pop.n),
        key_stage=np.repeat(pop.stage, P),
        oxides=oxides,
        scraps=np.array([mat.p("scrap_std"), mat.p("scrap_uh")]),
        cover_elasticity=cover_elasticity,
        normal_cover_wk=np.array([sc.market.normal_cover_weeks.get(k, np.nan) for k in mat.products]),
        reservation_share=reservation_share,
        scarcity_elasticity=cover_elasticity * np.where(np.isin(mat.products, STOCKED),
                                                        sc.behaviour.scarcity_elasticity_multiple, 1.0),
        spot_sells=spot_sells,
        abroad_buys=np.flatnonzero(buyer_abroad),
        # two spot markets: China's, and abroad, where producers abroad meet buyers abroad
        spot_key_of_sell=(sells.product + P * ~spot_sells).astype(np.int64),
        spot_key_of_buy=(buys.product + P * buyer_abroad).astype(np.int64),
        direct_oxide_use_buys=oxide_use[pop.kind[buys.firm[oxide_use]] != MAG],
        end_use_magnet_buys=np.flatnonzero(np.isin(buys.product, [mat.p("magnet_std"), mat.p("magnet_uh")])
                                           & np.isin(pop.kind[buys.firm], (MOTOR, OVERSEAS))))
