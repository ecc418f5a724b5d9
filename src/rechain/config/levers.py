"""Levers that would act on nothing: warnings for ``rechain check``.

A scenario can be valid and still name something no firm or link carries — an export
control on Dy oxide when no buyer abroad buys Dy oxide, a disruption of overseas miners when
there are none, a tariff in a region that buys nothing. Such a lever passes validation and
changes nothing, so ``rechain check`` says so (a warning, not an error: a what-if may extend
a scenario that lacks the trade on purpose).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterator

from .plausibility import _years
from .schema import (_NAMED_LISTS, CARRIED_FROM, OUTSIDE_QUOTA_GROUPS, TRADED_MATERIALS, Scenario, _merge_key,
                     planning_horizon)

__all__ = ["idle_levers", "inert_keys"]

MAGNETS = ("magnet_std", "magnet_uh")


def _exported(sc: Scenario) -> dict[str, set[str]]:
    """Products bought abroad, per region name."""
    out: dict[str, set[str]] = {}
    for name, region in sc.regions.items():
        bought = set(region.materials_t_per_yr)
        if region.demand_t_per_yr and any(v > 0 for v in region.demand_t_per_yr.values()):
            if region.uh_share < 1.0:
                bought.add("magnet_std")
            if region.uh_share > 0.0:
                bought.add("magnet_uh")
        out[name] = bought
    return out


def _stage_firms(sc: Scenario) -> dict[str, set[str]]:
    """Where each stage has firms: region names ('china', 'abroad' or a buyer region)."""
    f = sc.firms
    china, abroad = {"china"}, {"abroad"}
    out = {
        "miners": china if f.rock_miners.count + f.ionic_miners.count else set(),
        "myanmar_holders": abroad if f.myanmar_holders.count else set(),
        "overseas_miners": abroad if f.overseas_miners.count and (
            f.overseas_miners.capacity_t_per_yr > 0 or any(f.overseas_miners.capacity_by_year.values())) else set(),
        "separation_plants": china if f.separation_plants.count else set(),
        "recyclers": china if f.recyclers.count else set(),
        "magnet_makers": china if f.magnet_makers.count else set(),
        "motor_makers": china if sc.sectors else set(),
        "overseas_buyers": set(sc.regions),
        "state_reserve": china if sc.stockpile.products else set(),
        "traders": china if f.traders.count else set(),
        "foreign_producers": abroad if f.foreign_producers.count and (
            f.foreign_producers.capacity_t_per_yr > 0 or any(f.foreign_producers.capacity_by_year.values())) else set(),
    }
    return out


# stages whose firms have capacity a disruption can take offline (kinds read it through
# the week's capacity share); traders, the reserve and buyers hold stock, not capacity
_WITH_CAPACITY = ("miners", "myanmar_holders", "overseas_miners", "separation_plants", "recyclers", "magnet_makers",
                  "foreign_producers")


def _ore_types(sc: Scenario) -> dict[str, set[str]]:
    """The ore types a disruption's ``ore_type`` can pick out, per stage."""
    f = sc.firms
    mined = ({"rock"} if f.rock_miners.count else set()) | ({"ionic"} if f.ionic_miners.count else set())
    return {"miners": mined, "overseas_miners": {"rock"}, "myanmar_holders": {"ionic"},
            "separation_plants": {"rock", "ionic"}, "foreign_producers": {f.foreign_producers.ore_type}}


def idle_levers(sc: Scenario, own_quotas: set[tuple[str, int]] | None = None) -> list[str]:
    """One line per lever that names a product, region or stage nothing carries.

    ``own_quotas``: the (type, year) of the quotas the file itself sets (None: all of them);
    a quota of a year the run never reaches is idle, but inherited ones are harmless."""
    out: list[str] = []
    exported = _exported(sc)

    def trade_lever(where: str, products: list[str], regions: list[str]) -> None:
        names = list(sc.regions) if "all" in regions else [r for r in regions if r in sc.regions]
        if not names:
            out.append(f"{where}: names no region with buyers abroad ({regions}); it acts on nothing")
            return
        carried = set().union(*(exported[r] for r in names))
        idle = [p for p in products if p not in carried]
        if idle:
            hint = ""
            if any(p in TRADED_MATERIALS for p in idle):
                hint = " (add regions.<name>.materials_t_per_yr to trade oxides and metal)"
            elif any(p not in MAGNETS for p in idle):
                hint = f" (buyers abroad buy magnets and {', '.join(TRADED_MATERIALS)} only)"
            out.append(f"{where}: no buyer in {names} buys {idle}; for those it acts on nothing{hint}")

    for i, ec in enumerate(sc.export_controls):
        trade_lever(f"export_controls[{i}] ({ec.name})", ec.products, ec.regions)
    for i, q in enumerate(sc.export_quotas):
        trade_lever(f"export_quotas[{i}] ({q.name})", q.products, ["all"])
    for kind in ("export_duties", "import_tariffs"):
        for i, c in enumerate(getattr(sc, kind)):
            if c.rate_share == 0:
                out.append(f"{kind}[{i}] ({c.name}): rate_share is 0 (no charge); it acts on nothing")
                continue
            trade_lever(f"{kind}[{i}] ({c.name})", c.products, c.regions)
    for kind in ("export_duties", "import_tariffs"):
        for i, c in enumerate(getattr(sc, kind)):
            if c.rate_share == 0:
                continue            # said above
            # a duty or tariff reaches what buyers buy only through the landed price their demand answers
            names = list(sc.regions) if "all" in c.regions else [r for r in c.regions if r in sc.regions]
            # only the regions that buy what it charges (the lines above name the rest)
            names = [r for r in names if exported[r] & set(c.products)]
            deaf = [r for r in names if sc.regions[r].price_elasticity == 0]
            if not deaf:
                continue
            hint = "allowed: regions.<name>.price_elasticity > 0 for the regions it names"
            if kind == "import_tariffs" and len(deaf) == len(names):
                out.append(f"import_tariffs[{i}] ({c.name}): the buyers of {deaf} do not answer the landed price "
                           f"(price_elasticity 0); it acts on nothing; {hint}")
            else:
                # an export duty still raises the export price (what buyers abroad pay)
                out.append(f"{kind}[{i}] ({c.name}): the buyers of {deaf} do not answer the landed price "
                           f"(price_elasticity 0): it changes what they pay, not what they buy; {hint}")
    stages = _stage_firms(sc)
    ores = _ore_types(sc)
    for i, d in enumerate(sc.disruptions):
        where = f"disruptions[{i}] ({d.name})"
        if d.capacity_offline_share == 0:
            out.append(f"{where}: capacity_offline_share is 0 (takes no capacity offline); it acts on nothing")
            continue
        present = stages.get(d.target, set())
        if not present:
            out.append(f"{where}: stage {d.target!r} has no firms in this scenario; it acts on nothing")
            continue
        if "all" not in d.regions and not present & set(d.regions):
            out.append(f"{where}: stage {d.target!r} has no firms in {d.regions} (it has firms in "
                       f"{sorted(present)}); it acts on nothing")
        if d.outside_quota_only:
            if d.target not in ("miners", "separation_plants"):
                out.append(f"{where}: outside_quota_only stops work outside the quota, which only target "
                           f"'miners' and 'separation_plants' do; {d.target!r} firms do not, so it acts on nothing")
                continue
            hit = ("separation_plants",) if d.target == "separation_plants" else \
                {"rock": ("rock_miners",), "ionic": ("ionic_miners",)}.get(d.ore_type, ("rock_miners", "ionic_miners"))
            if not any(getattr(sc.firms, g).outside_share > 0 for g in hit):
                out.append(f"{where}: outside_quota_only, but {' and '.join(f'firms.{g}' for g in hit)} work nothing "
                           f"outside the quota (outside_quota_share 0 or enforcement 1); it acts on nothing")
                continue
        if d.target not in _WITH_CAPACITY:
            out.append(f"{where}: {d.target!r} firms have no capacity to take offline (they hold stock or "
                       f"buy); it acts on nothing; allowed targets: {', '.join(_WITH_CAPACITY)}")
            continue
        if d.ore_type == "all":
            continue
        if d.target not in ores:
            out.append(f"{where}: ore_type {d.ore_type!r} applies to miners and separation plants only; "
                       f"{d.target!r} firms have no ore type, so it is ignored and the disruption takes "
                       f"{d.capacity_offline_share:g} of all of them offline")
        elif d.ore_type not in ores[d.target]:
            out.append(f"{where}: {d.target!r} firms have no {d.ore_type!r} ore (they have "
                       f"{sorted(ores[d.target]) or 'none'}); it acts on nothing")
    for i, q in enumerate(sc.export_quotas):
        for j, other in enumerate(sc.export_quotas[:i]):
            shared = [p for p in q.products if p in other.products]
            if q.year == other.year and shared and sc.start.year <= q.year <= sc.end.year:
                out.append(f"export_quotas[{i}] ({q.name}): export_quotas[{j}] ({other.name}) also caps "
                           f"{', '.join(shared)} in {q.year}; each holds for its own products, so there the "
                           f"tighter binds, not their sum")
    sp = sc.stockpile
    late = sp.start is not None and sp.start > sc.end
    outside = late or sp.end is not None and sp.end < sc.start      # the reserve's dates miss the run
    if sp.products and outside:
        when = f"starts {sp.start}, after the run ends ({sc.end})" if late else \
            f"ends {sp.end}, before the run starts ({sc.start})"
        out.append(f"stockpile: {when}; it acts on nothing")
    inert = [p for p in sp.products if not sp.buy_t_per_yr.get(p) and not sp.initial_stock_t.get(p)]
    if inert:
        out.append(f"stockpile: {inert} have neither buy_t_per_yr nor initial_stock_t, so the reserve can neither "
                   f"buy nor release them; it acts on nothing")
    for p in sp.products:
        if p in inert:
            continue
        # the reserve buys within max_stock_t (none given: no limit) and releases at most
        # release_t_per_yr (none given: its whole stock)
        # (a stock at its limit makes room only by releasing)
        cap, held = sp.max_stock_t.get(p, float("inf")), sp.initial_stock_t.get(p, 0.0)
        releases = sp.release_t_per_yr.get(p, float("inf")) > 0
        can_buy = bool(sp.buy_t_per_yr.get(p)) and cap > 0 and (cap > held or releases)
        can_release = releases and (can_buy or held > 0)
        if can_buy and held > cap and not outside:
            out.append(f"stockpile: {p}: its initial_stock_t ({held:,.12g} t) is above its max_stock_t ({cap:,.12g} t), "
                       f"so the reserve buys no {p} until its releases take the stock below {cap:,.12g} t; give an "
                       f"initial_stock_t within max_stock_t if the reserve should buy from the start")
        if not can_buy and not can_release:
            why = ("buy_t_per_yr is 0" if not sp.buy_t_per_yr.get(p) else "its max_stock_t is 0, so it never buys"
                   if cap <= 0 else f"its initial_stock_t ({held:g} t) already fills its max_stock_t ({cap:g} t), "
                   f"so it never buys")
            out.append(f"stockpile: {p}: {why}, and its release_t_per_yr is 0, so it never releases its "
                       f"initial_stock_t; it acts on nothing" if sp.initial_stock_t.get(p) else
                       f"stockpile: {p}: {why}, and it has no initial_stock_t to release; it acts on nothing")
    for i, n in enumerate(sc.news):
        if n.strength == 0 and n.uncertainty == 0:
            out.append(f"news[{i}] ({n.name}): strength and uncertainty are both 0 (no expected change, no "
                       f"uncertainty); it acts on nothing")
            continue
        heard = [st for st in n.stages if stages.get(st)]
        if not heard:
            out.append(f"news[{i}] ({n.name}): no firms in stages {n.stages} hear it; it acts on nothing")
        elif "all" not in n.regions and not any(stages[st] & set(n.regions) for st in heard):
            where_firms = {st: sorted(stages[st]) for st in heard}
            out.append(f"news[{i}] ({n.name}): no firms of stages {n.stages} are in regions {n.regions} (they are "
                       f"in {where_firms}); it acts on nothing")
    for name, sector in sc.sectors.items():
        for i, sh in enumerate(sector.shocks):
            if sh.multiplier == 1:
                out.append(f"sectors.{name}.shocks[{i}] ({sh.name or 'unnamed'}): multiplier is 1 (output "
                           f"unchanged); it acts on nothing")
    rc = sc.recycling
    if rc.collection and rc.eol_magnets_t_per_yr > 0 and rc.collection[0].year > sc.start.year:
        first = rc.collection[0].year
        until = "in the whole run" if first > sc.end.year else f"from {sc.start} to {first - 1}-12-31"
        out.append(f"recycling.collection: its first step is {first}, so nothing is collected {until} (a step holds "
                   f"from its year on); add a step for {sc.start.year} to collect from the start")
    holders = {"mining_rock": "rock_miners", "mining_ionic": "ionic_miners", "separation": "separation_plants"}
    past_capacity: set[str] = set()        # a carried quota's type already named (its first year past capacity)
    for q in sc.quota_policy.quotas:
        carried = q.source.startswith(CARRIED_FROM)     # the file's after_last_year made it: the file's doing
        if own_quotas is not None and (q.type, q.year) not in own_quotas and not carried:
            continue
        if q.year > sc.end.year or q.year < sc.start.year - 1:
            out.append(f"quota_policy.quotas ({q.type} {q.year}): the run covers {sc.start}..{sc.end}, which "
                       f"reads the quotas of {sc.start.year - 1}..{sc.end.year}; this one acts on nothing")
            continue
        if q.year < sc.start.year:      # last year's: read only until this year's first batch
            continue
        name = holders[q.type]
        group = getattr(sc.firms, name)
        capacity = group.capacity_t_per_yr if group.count else 0.0
        if q.total_t > capacity and not getattr(group, "investment_share_per_yr", 0.0):
            if carried and q.type in past_capacity:
                continue
            past_capacity.add(q.type)
            what = f"the quota {q.source} is {q.total_t:,.0f} t this year, which" if carried \
                else f"total_t {q.total_t:,.0f} t"
            out.append(f"quota_policy.quotas ({q.type} {q.year}): {what} exceeds what firms.{name} can produce "
                       f"({capacity:,.0f} t a year, and they do not invest); the quota above that acts on nothing "
                       f"(raise firms.{name}.capacity_t_per_yr to let it bind)")
    sp = sc.firms.separation_plants
    n_light, n_ionic = sp.plants_by_ore()
    if sp.count == 1 and 0 < sp.light_share < 1:
        kind, share = ("rock-type", sp.light_capacity_share) if n_light else \
            ("ion-adsorption", 1.0 - sp.light_capacity_share)
        other = "ion-adsorption" if n_light else "rock-type"
        out.append(f"firms.separation_plants: count is 1 while light_share is {sp.light_share:g}: a plant separates "
                   f"one type of ore, so the one plant takes {kind} ore only, with {share:.0%} of capacity_t_per_yr, "
                   f"and no plant buys {other} ore (its miners' ore finds no buyer); allowed: count >= 2 for plants "
                   f"of both types, or light_share 0 or 1")
    for name in OUTSIDE_QUOTA_GROUPS:
        group = getattr(sc.firms, name)
        if group.outside_quota_share > 0 and group.enforcement >= 1.0:
            out.append(f"firms.{name}.outside_quota_share: enforcement = 1 stops all work outside the quota; "
                       f"it acts on nothing")
    return out


def _has(own: dict, *path: str) -> bool:
    """Whether the file's own keys (``own``, as read) set ``path``."""
    node: object = own
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _own_item(own: dict, table: str, name: str) -> dict | None:
    """The file's own item of list ``table`` called ``name`` (None when the file sets none)."""
    return next((e for e in own.get(table) or [] if isinstance(e, dict) and e.get("name") == name), None)


def _own_lists(own: dict) -> list[tuple[tuple[str, ...], list]]:
    """The named lists the file sets itself (they merge by name across ``extends``)."""
    found = [((table,), own.get(table)) for table in _NAMED_LISTS]
    found.append((("quota_policy", "quotas"), (own.get("quota_policy") or {}).get("quotas")))
    return [(path, items) for path, items in found if isinstance(items, list)]


def _values(v) -> list[float]:
    return list(v.values()) if isinstance(v, dict) else [v]


def inert_keys(sc: Scenario, own: dict | None) -> list[str]:
    """One line per key the file itself sets (``own``: its keys as read, None for a whole
    scenario, whose every key is its own) that cannot act with the scenario's other keys as
    they are: a setting of a mechanism another key switches off. Each names the key that
    switches it on."""
    if own is None:
        return []
    out: list[str] = []

    def inert(path: tuple[str, ...], why: str) -> None:
        if _has(own, *path):
            out.append(f"{'.'.join(path)}: {why}; it acts on nothing")

    for path, items in _own_lists(own):
        for item in items:
            if isinstance(item, dict) and item.get("remove") is True:
                for key in sorted(set(item) - {"name", "type", "year", "remove"}):
                    out.append(f"{'.'.join(path)}[{_merge_key(item)}].{key}: the item is removed (remove = true); "
                               f"it acts on nothing")
    mm = sc.firms.magnet_makers
    if mm.dy_for_tb_max_share == 0:
        for key in ("dy_per_tb", "dy_for_tb_price_elasticity"):
            inert(("firms", "magnet_makers", key), "firms.magnet_makers.dy_for_tb_max_share is 0 (the Dy/Tb mix is fixed)")
    cheap_dy = {g: getattr(sc.magnet_recipes, g).cheap_dy_wt_pct for g in type(sc.magnet_recipes).model_fields
                if getattr(sc.magnet_recipes, g) is not None}
    if not any(cheap_dy.values()):
        inert(("firms", "magnet_makers", "cheap_dy_price_elasticity"), "no grade's magnet_recipes.<grade>."
              "cheap_dy_wt_pct is above 0 (no Dy is alloyed in when it is cheap)")
    elif mm.cheap_dy_price_elasticity == 0:
        for grade, pct in cheap_dy.items():
            if pct > 0:
                inert(("magnet_recipes", grade, "cheap_dy_wt_pct"), "firms.magnet_makers.cheap_dy_price_elasticity "
                      "is 0 (makers add no Dy however cheap)")
    for name in type(sc.firms).model_fields:
        group = getattr(sc.firms, name)
        if getattr(group, "count", None) == 0:
            for key in sorted(((own.get("firms") or {}).get(name) or {})):
                if key != "count":
                    inert(("firms", name, key), f"firms.{name}.count is 0 (there are no such firms)")
            continue
        if getattr(group, "outside_quota_share", None) == 0:
            inert(("firms", name, "enforcement"), f"firms.{name}.outside_quota_share is 0 (no work outside the quota)")
        if getattr(group, "investment_share_per_yr", None) == 0:
            inert(("firms", name, "investment_lead_weeks"), f"firms.{name}.investment_share_per_yr is 0 (they "
                  f"build no new capacity)")
        if getattr(group, "min_offer_share", None) == 1:
            for key in ("holdback_expectation", "holdback_price", "price_floor_share", "reservation_share",
                        "reservation_share_by_product"):
                if hasattr(group, key):
                    inert(("firms", name, key), f"firms.{name}.min_offer_share is 1 (they always offer all they "
                          f"hold, so nothing is held back)")
        if getattr(group, "holdback_price", None) == 0 and hasattr(group, "price_floor_share"):
            inert(("firms", name, "price_floor_share"), f"firms.{name}.holdback_price is 0 (no holding back below it)")
        years = [int(y) for y in getattr(group, "capacity_by_year", None) or {}]
        if years and min(years) > sc.end.year:
            inert(("firms", name, "capacity_by_year"), f"its years ({', '.join(map(str, sorted(years)))}) all come "
                  f"after the run's end ({sc.end})")
    # Ce for Pr-Nd answers the standard grade's thrift elasticity, diffusion and thrifting of
    # Dy and Tb the high grade's; each acts on the content every grade lets go of
    recipes = {g: getattr(sc.magnet_recipes, g) for g in ("magnet_std", "magnet_uh")}
    recipes = {g: r for g, r in recipes.items() if r is not None}
    heavy = {g: any(x > 0 for k in ("dy_wt_pct", "tb_wt_pct") for x in _values(getattr(r, k)))
             for g, r in recipes.items()}
    std, uh = recipes.get("magnet_std"), recipes.get("magnet_uh")
    for grade in recipes:
        if not heavy[grade]:
            inert(("magnet_recipes", grade, "min_heavy_share"), f"magnet_recipes.{grade} has no Dy or Tb")
        elif uh is not None and uh.thrift_price_elasticity == 0:
            inert(("magnet_recipes", grade, "min_heavy_share"),
                  "magnet_recipes.magnet_uh.thrift_price_elasticity is 0 (no thrifting of Dy and Tb)")
        if std is not None and std.thrift_price_elasticity == 0:
            inert(("magnet_recipes", grade, "min_prnd_share"),
                  "magnet_recipes.magnet_std.thrift_price_elasticity is 0 (no Ce for Pr-Nd)")
    if std is not None and all(r.min_prnd_share == 1 for r in recipes.values()):
        for key in ("thrift_price_elasticity", "max_added_share"):
            inert(("magnet_recipes", "magnet_std", key), "every grade's min_prnd_share is 1 (no Pr-Nd can be "
                  "replaced by Ce)")
    if uh is not None and all(r.min_heavy_share == 1 or not heavy[g] for g, r in recipes.items()):
        for key in ("thrift_price_elasticity", "max_added_share"):
            inert(("magnet_recipes", "magnet_uh", key), "no grade can give up Dy or Tb (min_heavy_share is 1, or "
                  "the grade has none)")
    for grade, r in recipes.items():
        if r.thrift_price_elasticity == 0:
            inert(("magnet_recipes", grade, "max_added_share"), f"magnet_recipes.{grade}.thrift_price_elasticity "
                  f"is 0 (recipes do not follow prices, so nothing is added back when the input is cheap)")
    plants = sc.firms.separation_plants
    if plants.count > 0 and plants.metal_line_share == 0:
        inert(("firms", "separation_plants", "reservation_share_by_product", "prnd_metal"),
              "firms.separation_plants.metal_line_share is 0 (no plant makes or holds metal)")
    b = sc.behaviour
    if b.cover_bounds[0] == b.cover_bounds[1]:
        for key in ("restock_strength", "wait_strength", "uncertainty_strength"):
            inert(("behaviour", key), f"behaviour.cover_bounds is [{b.cover_bounds[0]:g}, {b.cover_bounds[1]:g}] "
                  f"(buyers' target cover is held at {b.cover_bounds[0]:g} times normal whatever they expect)")
    for table, items in (("sectors", sc.sectors), ("regions", sc.regions)):
        for name, item in items.items():
            if len(set(item.seasonality)) == 1 and item.seasonality[0] != 1.0:
                inert((table, name, "seasonality"), f"its twelve factors are all {item.seasonality[0]:g}, and factors are "
                      f"normalised to mean 1 (a pattern within the year; a level is {table}.{name}."
                      f"{'units_per_yr' if table == 'sectors' else 'demand_t_per_yr'})")
    out += _empty_tables(own)
    out += _pre_run_batches(sc, own)
    for name, region in sc.regions.items():
        if not region.materials_t_per_yr:
            inert(("regions", name, "materials_buyers"), f"regions.{name}.materials_t_per_yr is not set (the "
                  f"region buys no oxides or metal)")
    if sc.after_last_year.rule == "hold":
        inert(("after_last_year", "growth_pct_per_yr"), 'after_last_year.rule is "hold" (figures carried past '
              'their last year are held; rule = "grow" grows them)')
    for name, sector in sc.sectors.items():
        if sector.substitutable_share == 0:
            inert(("sectors", name, "price_elasticity"), f"sectors.{name}.substitutable_share is 0 (no other "
                  f"technology can take over)")
        elif sector.price_elasticity == 0:
            inert(("sectors", name, "substitutable_share"), f"sectors.{name}.price_elasticity is 0 (no "
                  f"substitution)")
    qp = sc.quota_policy
    if qp.provisional_share <= qp.advance_share:
        inert(("quota_policy", "provisional_share"), f"it is at or below quota_policy.advance_share "
              f"({qp.advance_share:g}), which firms may already use of last year's quota before the first batch")
    no_end_of_life = sc.recycling.eol_magnets_t_per_yr == 0
    if no_end_of_life:
        for key in ("collection", "collection_price_elasticity", "max_collection_rate"):
            inert(("recycling", key), "recycling.eol_magnets_t_per_yr is 0 (no magnets reach end of life)")
    if not sc.stockpile.products:
        for key in (own.get("stockpile") or {}):
            if key != "products":
                inert(("stockpile", key), "stockpile.products is empty (there is no reserve)")
    else:
        # the market price tracks its anchor times a balance multiple within these bounds
        st = sc.stockpile
        if st.buy_below_share <= b.price_floor_multiple and _has(own, "stockpile", "buy_below_share"):
            out.append(f"stockpile.buy_below_share: it is at or below behaviour.price_floor_multiple "
                       f"({b.price_floor_multiple:g}), the least a glut multiplies the long-run anchor by, so the "
                       f"market price falls below it only while lagging a rising anchor and the reserve (almost) "
                       f"never buys")
        if st.sell_above_share >= b.price_ceiling_multiple and _has(own, "stockpile", "sell_above_share"):
            out.append(f"stockpile.sell_above_share: it is at or above behaviour.price_ceiling_multiple "
                       f"({b.price_ceiling_multiple:g}), the most a shortage multiplies the long-run anchor by, so "
                       f"the market price rises above it only while lagging a falling anchor and the reserve "
                       f"(almost) never sells")
    rc = sc.recycling
    # the price response scales the scheduled rate: nothing scheduled in the run, nothing to
    # scale (a step holds from its year on, none before the first; steps are sorted by year)
    none_scheduled = "recycling.collection schedules no collection (no step above a rate of 0)" \
        if all(c.rate == 0 for c in rc.collection) else \
        f"recycling.collection's first step is {rc.collection[0].year}, after the run ends ({sc.end})" \
        if rc.collection[0].year > sc.end.year else ""
    if not no_end_of_life and none_scheduled:
        for key in ("collection_price_elasticity", "max_collection_rate"):
            inert(("recycling", key), none_scheduled)
    elif not no_end_of_life and rc.collection_price_elasticity == 0 and \
            all(c.rate <= rc.max_collection_rate for c in rc.collection):
        inert(("recycling", "max_collection_rate"), "collection follows its schedule, which never reaches it "
              "(recycling.collection_price_elasticity is 0)")
    # quotas are issued for the year in hand and nobody plans on next year's, so a growth of
    # quotas none of which is carried acts on nothing, whatever else is carried (an outside
    # audit found the look-ahead note below said otherwise where nothing was)
    quota_growth = ("after_last_year", "quota_growth_pct_per_yr")
    if not any(q.source.startswith(CARRIED_FROM) for q in sc.quota_policy.quotas):
        inert(quota_growth, f"every quota is given up to the run's end ({sc.end}), so none is carried"
              + ("" if sc._carried else " (and no one plans on a quota past the run)"))
    if not sc._carried:
        for key in (own.get("after_last_year") or {}):
            if key != quota_growth[1] and _has(own, "after_last_year", key):
                out.append(f"after_last_year.{key}: every yearly figure is given up to the run's end ({sc.end}), so "
                           f"it acts only on the weeks end users plan ahead past that end")
    if not sc.export_controls and not sc.export_quotas:
        for key in ("export_premium_below_cover", "refusal_memory"):
            inert(("behaviour", key), "the scenario has no export controls and no export quotas (nothing holds "
                  "exports back, so no licence is refused and the export price stays at parity)")
    if not _ever_overdue(sc, sc.quota_policy.late_after_days):
        why = (f"no quota's first batch is overdue in the run (each comes before the date of last year's first "
               f"batch plus quota_policy.late_after_days, {sc.quota_policy.late_after_days} days)")
        inert(("behaviour", "quota_late_uncertainty"), why)
        inert(("quota_policy", "overdue_ration_weeks"), why)
    if not _ever_overdue(sc, 0):
        inert(("quota_policy", "late_after_days"), "no quota's first batch comes later in its year than last "
              "year's did, within the run, so none is overdue however short the grace")
    out += _idle_approval_steps(sc, own)
    out += _overruled_controls(sc, own)
    out += _saturated_news(sc, own)
    out += _years_past_the_run(sc, own)
    for name, group in sc.firms:
        from_start = [y for y in getattr(group, "capacity_by_year", {}) if int(y) <= sc.start.year]
        if from_start:
            inert(("firms", name, "capacity_t_per_yr"), f"firms.{name}.capacity_by_year gives "
                  f"{max(from_start, key=int)}, at or before the run's first year, so the run's capacity is "
                  f"capacity_by_year's from its first week")
    if not sc.holidays:
        for name in sc.regions:
            inert(("regions", name, "calendar"), "holidays = false runs every calendar as weekends only")
    # (a date of imported_ore_counts_from after the end is told nothing: TOML has no "none",
    # and such a date is how a file turns off the rule of the file it extends)
    for i, q in enumerate(sc.export_quotas):
        if _own_item(own, "export_quotas", q.name) is not None and not sc.start.year <= q.year <= sc.end.year:
            out.append(f"export_quotas[{i}] ({q.name}): year {q.year} lies outside the run ({sc.start}..{sc.end}); "
                       f"it acts on nothing")
    return out


def _years_past_the_run(sc: Scenario, own: dict, path: tuple[str, ...] = ()) -> list[str]:
    """One line per yearly table the file itself sets (``own``) with years no week of the run
    reads: after the last year its end users plan into (the run's end plus
    ``behaviour.plan_ahead_weeks``; a recipe's figures, read at the run's own weeks and linear
    between years, read the first year after the run's last too). A year before the start may still be the nearest given, or a dated
    capacity's first, so only later ones are told."""
    planned = (sc.end + planning_horizon(sc.behaviour.plan_ahead_weeks)).year
    out = []
    for key, value in own.items():
        if not isinstance(value, dict) or not value:
            continue
        if path == () and key in ("quota_policy", "export_quotas"):    # quotas: told on their own
            continue
        if _years(value):
            # a recipe is read at the run's own weeks, linear between its years: the first year
            # after the run's last sets the slope into it, only the later ones act on nothing
            recipe = path[:1] == ("magnet_recipes",)
            last = sc.end.year if recipe else planned
            late = sorted((k for k in value if int(k) > last), key=int)
            between = recipe and late
            idle = late[1:] if between else late
            if idle:
                read = f"reads its years up to {last}" + (f" and the line toward {late[0]}" if between else "")
                out.append(f"{'.'.join((*path, key))}: the run {read} (it ends {sc.end}); "
                           f"{', '.join(idle)} act{'s' if len(idle) == 1 else ''} on nothing")
        else:
            out += _years_past_the_run(sc, value, (*path, key))
    return out


def overdue_spells(sc: Scenario, late_after_days: int) -> Iterator[tuple[Any, Any, dt.date, dt.date]]:
    """Each quota whose first batch the run reads as overdue (the model's own rule,
    :meth:`rechain.policy.quotas.QuotaBook.overdue`, with a grace of ``late_after_days``, on
    the days the run reads its quota, :func:`~rechain.policy.quotas.quota_read_days`): the
    quota, last year's, and the first and last day the run reads it overdue."""
    from ..calendar import Calendar
    from ..policy.quotas import QuotaBook, quota_read_days
    book = QuotaBook(sc)
    book.late_after = dt.timedelta(days=late_after_days)
    # the run's weeks (holidays do not move them; weekends only is enough and needs no library)
    read = quota_read_days(Calendar.build(sc.start, sc.end, holidays={}).weeks, sc.start)
    for (qtype, year), q in book.quotas.items():
        days = [d for d in read if d.year == year and book.overdue(qtype, d)]
        if days:
            yield q, book.quotas[(qtype, year - 1)], days[0], days[-1]


def _ever_overdue(sc: Scenario, late_after_days: int) -> bool:
    return next(overdue_spells(sc, late_after_days), None) is not None


def late_first_batches(sc: Scenario) -> list[str]:
    """One line per quota whose first batch comes overdue in the run, saying what firms do
    meanwhile (docs/ODD.md section 7.9): a late batch in a what-if or an era starves the
    chain for months, which `rechain check` should make visible (an outside era audit)."""
    qp = sc.quota_policy
    # before a year's first batch firms may use the larger of the two shares of last year's total
    share, key = max((qp.provisional_share, "provisional_share"), (qp.advance_share, "advance_share"))
    out = []
    for q, prev, since, until in overdue_spells(sc, qp.late_after_days):
        first = min((b.issued for b in q.batches), default=None)
        ration = (f"ration what is left over quota_policy.overdue_ration_weeks ({qp.overdue_ration_weeks:g})"
                  if qp.overdue_ration_weeks > 0 else "run dry once it is used (overdue_ration_weeks 0)")
        out.append(f"{q.type} {q.year}: first batch {first if first else 'none'}, overdue from {since} ({prev.year}'s "
                   f"first came {prev.batches[0].issued}, plus quota_policy.late_after_days {qp.late_after_days}); "
                   f"until it comes firms may use quota_policy.{key} {share:g} of {prev.year}'s total "
                   f"({share * prev.total_t:,.0f} t, {12.0 * share:.1f} months at {prev.year}'s pace) and {ration}")
    return out


def _empty_tables(own: dict, path: tuple[str, ...] = ()) -> list[str]:
    """One line per empty table a file that extends another sets: tables merge key by key with
    the file extended, so an empty one changes nothing."""
    if not path and "extends" not in own:
        return []
    out = []
    for key, value in own.items():
        if isinstance(value, dict):
            if value:
                out += _empty_tables(value, (*path, key))
            else:
                out.append(f"{'.'.join((*path, key))}: an empty table merges into the one the file extends key by "
                           f"key, so it changes nothing; it acts on nothing")
    return out


def _pre_run_batches(sc: Scenario, own: dict) -> list[str]:
    """One line per quota of the year before the run whose batches after the first the file
    sets: of that year (not simulated) only the total and the first batch's date are read."""
    out = []
    mine = [e for e in (own.get("quota_policy") or {}).get("quotas") or [] if isinstance(e, dict)]
    for i, q in enumerate(sc.quota_policy.quotas):
        item = next((e for e in mine if e.get("type") == q.type and e.get("year") == q.year), None)
        if q.year < sc.start.year and item is not None and len(item.get("batches") or []) > 1:
            out.append(f"quota_policy.quotas[{i}] ({q.type} {q.year}).batches: of a year before the run ({sc.start}) "
                       f"only the total and the first batch's date are read (what firms may run ahead of the "
                       f"run's first batch), so the later batches and every share act on nothing")
    return out


def _overruled_controls(sc: Scenario, own: dict) -> list[str]:
    """One line per export control the file sets that the others overrule wherever it applies:
    where regimes overlap the strictest holds (lowest approval rate, longest processing,
    :class:`~rechain.policy.exports.ExportRegimes`), so a control no stricter anywhere than
    those it overlaps changes no week."""
    import numpy as np

    from ..calendar import Calendar
    from ..policy.exports import ExportRegimes
    controls = sc.export_controls
    mine = [i for i, ec in enumerate(controls) if _own_item(own, "export_controls", ec.name) is not None]
    if len(controls) < 2 or not mine:
        return []
    cal = Calendar.build(sc.start, sc.end, holidays={})      # the weeks alone: regimes ignore holidays
    products = tuple(sorted({p for ec in controls for p in ec.products}))
    regions = list(sc.regions)

    def regimes(items):
        r = ExportRegimes.build(sc.model_copy(update={"export_controls": items}), cal, products, regions)
        return r.controlled, r.approval, r.days_min, r.days_mode, r.days_max

    full = regimes(controls)
    out = []
    for i in mine:
        without = regimes([ec for j, ec in enumerate(controls) if j != i])
        if all(np.array_equal(a, b) for a, b in zip(full, without)):
            out.append(f"export_controls[{i}] ({controls[i].name}): wherever and whenever it applies, another control "
                       f"already holds as low an approval rate and as long a processing time (where controls overlap "
                       f"the strictest holds, docs/ODD.md section 7.4); it acts on nothing")
    return out


def _idle_approval_steps(sc: Scenario, own: dict) -> list[str]:
    """One line per approval step of an export control the file sets that never decides a
    licence: a step a later one replaces before the control starts (the rate in force when it
    starts is that of the last step dated by then), or one dated after the control, or the
    run, ends."""
    out = []
    for i, ec in enumerate(sc.export_controls):
        if "approval" not in (_own_item(own, "export_controls", ec.name) or {}):
            continue
        last = min(ec.end or sc.end, sc.end)
        for j, step in enumerate(ec.approval):
            if j + 1 < len(ec.approval) and ec.approval[j + 1].start <= ec.start:
                why = f"step {j + 1} ({ec.approval[j + 1].start}) replaces it before the control starts ({ec.start})"
            elif step.start > last:
                why = f"after the {'run' if last == sc.end else 'control'} ends ({last})"
            else:
                continue
            out.append(f"export_controls[{i}] ({ec.name}).approval[{j}]: from {step.start}, {why}; it acts on nothing")
    return out


def _saturated_news(sc: Scenario, own: dict) -> list[str]:
    """One line per news item the file sets that alone holds its hearers' expected change at
    its bound (``behaviour.x_max``) for more than its half-life: a strength that large acts as
    a longer spell at the bound, not as a larger expectation (the record's news moved
    expectations by a few per cent, docs/ODD.md section 7.1)."""
    b = sc.behaviour
    out = []
    for i, ev in enumerate(sc.news):
        signal = ev.strength * b.w_news
        if _own_item(own, "news", ev.name) is None or signal < 2.0 * b.x_max:
            continue
        weeks = ev.half_life_weeks * math.log2(signal / b.x_max)
        out.append(f"news[{i}] ({ev.name}): strength {ev.strength:g} x behaviour.w_news {b.w_news:g} = {signal:.3g} "
                   f"is {signal / b.x_max:.3g} times behaviour.x_max {b.x_max:g}, the bound on anyone's expected "
                   f"change: the news alone holds its hearers there for its first {weeks:.3g} weeks, and a larger "
                   f"strength only lengthens that spell (the record's news: 0.02-0.12)")
    return out
