"""Figures far from the ones they replace: warnings for ``rechain check``.

A scenario that extends another restates a few of its figures. A start price typed in
yuan/t where the market quotes yuan/kg, a quota in kt where the file says t, units in
millions: each passes validation (a positive number) and runs to nonsense. When a figure a
file sets is 30 times or more larger or smaller than the one it replaces in the file it
extends (a unit slip is a factor of 100 to a million; an era's fastest-growing sector, NEVs
2019 against 2024-2026, about 13), ``rechain check`` says so — a warning, not an error: a what-if may mean it (demand
x10). A yearly table is compared year by year, or with the replaced table's mean where the
years differ (an era); a list item with the replaced item of the same name, or else with
the replaced items of the same ``type`` (an era's quotas).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterator

from .errors import _find_line, _locate_in, _show

__all__ = ["far_from_inherited", "named_items_replaced", "markup_absorbs_cost", "start_ratios_moved", "FAR",
           "RATIO_MOVED"]

#: the ratio either way from which a replaced figure is flagged
FAR = 30.0


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _mean(values: list) -> float | None:
    nums = [float(v) for v in values if _number(v)]
    return sum(nums) / len(nums) if nums else None


def _years(table: dict) -> bool:
    return bool(table) and all(str(k).isdigit() and len(str(k)) == 4 for k in table)


def _compare(own: Any, old: Any, path: tuple) -> Iterator[tuple[tuple, float, float, str]]:
    """(key path, given, replaced, what the replaced figure is) for every number of ``own``
    set against ``old``."""
    if isinstance(own, dict) and isinstance(old, dict):
        spread = _mean(list(old.values())) if _years(old) else None
        for key, value in own.items():
            if key in old:
                yield from _compare(value, old[key], (*path, key))
            elif spread is not None and _number(value) and _years({key: value}):
                # another year: against the table's mean
                years = sorted(int(y) for y in old)
                span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
                yield (*path, key), float(value), spread, f"the mean of its years {span}"
    elif isinstance(own, list) and isinstance(old, list):
        from .schema import _merge_key
        for i, item in enumerate(own):
            if not isinstance(item, dict) or item.get("remove") is True:
                continue        # a removed item replaces nothing
            name = _merge_key(item)
            match = [o for o in old if isinstance(o, dict) and name is not None and _merge_key(o) == name]
            if not match and "type" in item:
                match = [o for o in old if isinstance(o, dict) and o.get("type") == item["type"]]
            if not match:
                continue
            for key, value in item.items():
                olds = [o[key] for o in match if key in o]
                mean = _mean(olds)
                if _number(value) and mean is not None:
                    what = "the one it replaces" if name is not None and _merge_key(match[0]) == name else \
                        f"the mean of the {item['type']} items it stands beside"
                    yield (*path, f"[{name or i}]", key), float(value), mean, what
                elif len(olds) == 1:
                    yield from _compare(value, olds[0], (*path, f"[{name or i}]", key))
    elif _number(own) and _number(old):
        yield path, float(own), float(old), "the one it replaces"


def _own_and_inherited(path: Path) -> tuple[dict, dict, list]:
    """The keys ``path`` sets itself, the scenario it extends (resolved) and that one's files;
    nothing inherited (``{}``, no files) when it extends nothing."""
    from .loading import _resolve, read_toml_file, real_path
    own = read_toml_file(path)
    parent = own.pop("extends", None)
    if not isinstance(parent, str):
        return own, {}, []
    # relative to where the file really is, as the loader reads it (a link's target's folder)
    old, files = _resolve(real_path(path).parent / parent)
    return own, old, files


def far_from_inherited(path: str | Path) -> list[str]:
    """Warnings for the figures ``path`` sets that are ``FAR`` times or more away from the
    ones they replace in the file it extends (none when it extends nothing); the years of
    one table that stand far from the same figure are one line."""
    path = Path(path)
    own, old, files = _own_and_inherited(path)
    groups: dict[tuple, list[tuple[str, int | None, float, float]]] = {}
    for loc, given, replaced, what in _compare(own, old, ()):
        if given <= 0 or replaced <= 0 or FAR > given / replaced > 1.0 / FAR:
            continue
        keys = [k for k in loc if not str(k).startswith("[")]
        line = _find_line(path, keys)
        year = str(loc[-1]) if what.startswith("the mean of its years") else None
        base = loc[:-1] if year is not None else loc
        key = ".".join(str(k) for k in base).replace(".[", "[")
        # a table's years far from the same mean make one group; any other figure its own
        group = (key, what, replaced) if year is not None else (key, what, replaced, len(groups))
        groups.setdefault(group, []).append((year, line, given, replaced))
    out = []
    for (key, what, replaced, *_), items in groups.items():
        years = [y for y, *_ in items if y is not None]
        lines = sorted({ln for _, ln, *_ in items if ln})
        notes = [f"years {', '.join(years)}"] if len(years) > 1 else []
        if lines:
            notes.append(f"line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}")
        if len(years) == 1:
            key = f"{key}.{years[0]}"
        where = f" ({', '.join(notes)})" if notes else ""
        givens = [g for *_, g, _r in items]
        given = f"{givens[0]:,.6g}" if len(givens) == 1 else f"{min(givens):,.6g} to {max(givens):,.6g}"
        hows = [_how(g / replaced, replaced / g) for g in (min(givens), max(givens))]
        how = hows[0] if len(givens) == 1 or hows[0] == hows[1] else \
            f"{hows[0].removesuffix(' of').removesuffix(' times')} to {hows[1]}"
        out.append(f"{key}{where}: given {given}, {how} {what} ({replaced:,.6g}) in {_show(files[-1])}; a unit slip "
                   f"(yuan/t for yuan/kg, kt for t, millions for units, a share for a percentage)? If meant (another "
                   f"era's figure, a what-if), ignore this")
    return out


#: costs on which a product's long-run price is the start-of-run markup (start price over
#: what making it costs at the start): the cost key, the products it prices, their quote unit
#: over yuan/t (docs/ODD.md section 7.6)
MARKUP_COSTS = [
    (("firms", "magnet_makers", "cost_yuan_per_t"), ("magnet_std", "magnet_uh"), "yuan/kg", 1000.0),
    (("firms", "separation_plants", "metal_cost_yuan_per_t"), ("prnd_metal",), "yuan/t", 1.0),
]


def markup_absorbs_cost(path: str | Path) -> list[str]:
    """Warnings for a cost ``path`` changes from the file it extends while the start prices
    of what it prices at a start markup are inherited: the markup is re-read from the start
    prices, so the change moves the makers' margin, not the price (found by an outside
    what-if audit: doubled processing cost, 52UH +4 % where +16 % was meant)."""
    path = Path(path)
    own, old, files = _own_and_inherited(path)
    out = []
    for keys, products, unit, per_t in MARKUP_COSTS:
        given, replaced = _dig(own, keys), _dig(old, keys)
        if not files:                   # a file of its own sets its own start prices
            continue
        has = f"{_show(files[-1])} has"
        if replaced is None:            # the files it extends leave the cost at the schema's default
            replaced, has = _schema_default(keys), f"{_show(files[-1])} keeps the default"
        if not _number(given) or not _number(replaced) or given == replaced:     # validated: finite
            continue
        prices = _dig(own, ("market", "initial_price")) or {}
        if any(k in prices for k in products):
            continue
        key = ".".join(keys)
        named = ", ".join(f"market.initial_price.{k}" for k in products)
        line = _find_line(path, list(keys))
        where = f" (line {line})" if line else ""
        out.append(f"{key}{where}: given {given:,.6g} where {has} {replaced:,.6g}, while the start "
                   f"prices of what it makes ({named}) are inherited: their long-run price is the start markup on "
                   f"this cost, read from those start prices, so the change moves the margin, not the long-run "
                   f"price (docs/ODD.md section 7.6). The market price still moves where the cost binds: sellers "
                   f"never ask below their own cost, so a dearer cost lifts it as it nears the price, and a cheaper "
                   f"one lets it fall further in a glut. To pass the change into the long-run price from the start, "
                   f"change the start prices with it (about {(given - replaced) / per_t:+,.6g} {unit})")
    return out


#: a start-price ratio the model keeps for the whole run, moved this far either way by start
#: prices given in part, is named
RATIO_MOVED = 1.15
OXIDES = ("prnd_oxide", "dy_oxide", "tb_oxide")


def start_ratios_moved(path: str | Path) -> list[str]:
    """Warnings for start prices a file gives in part, which move ratios the model keeps from
    the start for the whole run (docs/ODD.md section 7.6): the oxides' split of their one cost
    anchor (their start prices' ratios), and each ore's and scrap's price over the value of
    its oxides. An outside lever audit set Pr-Nd oxide's start price alone to 600,000 yuan/t:
    Dy, Tb, the ores and the scraps all came out 12-18 % cheaper, their anchors read against a
    basket made dearer against the same costs."""
    import numpy as np

    from ..materials import materials
    path = Path(path)
    own, old, files = _own_and_inherited(path)
    given = _dig(own, ("market", "initial_price"))
    inherited = _dig(old, ("market", "initial_price"))
    if not files or not isinstance(given, dict) or not isinstance(inherited, dict):
        return []
    mat = materials()
    new = {**inherited, **given}
    if not all(_number(new.get(k)) and new[k] > 0 and _number(inherited.get(k)) and inherited[k] > 0
               for k in mat.products):
        return []                       # validation names what is missing or not a price
    before = np.array([inherited[k] for k in mat.products], float) / mat.quote_factor
    after = np.array([new[k] for k in mat.products], float) / mat.quote_factor
    changed_oxides = [k for k in OXIDES if k in given and given[k] != inherited[k]]
    if not changed_oxides:
        return []
    line = _find_line(path, ["market", "initial_price"])
    where = f" (line {line})" if line else ""
    out = []
    value_before, value_after = mat.oxide_value_yuan_per_t(before), mat.oxide_value_yuan_per_t(after)
    missing = [k for k in OXIDES if k not in given]
    if missing:
        p = mat.p
        moved = []
        for k in OXIDES[1:]:
            share = (after[p(k)] / after[p("prnd_oxide")]) / (before[p(k)] / before[p("prnd_oxide")])
            if not 1 / RATIO_MOVED < share < RATIO_MOVED:
                moved.append(f"{k} to Pr-Nd oxide {share:.2f} times the inherited ratio")
        if moved:
            out.append(f"market.initial_price{where}: {', '.join(changed_oxides)} given without {', '.join(missing)}: "
                       f"the three oxides share one cost anchor, split between them by their start prices' ratios for "
                       f"the whole run (docs/ODD.md section 7.6), so this moves {'; '.join(moved)}, and the anchor, "
                       f"reading the basket's start value against the same costs, pulls the others "
                       f"{'down' if value_after[mat.p('light_ore')] > value_before[mat.p('light_ore')] else 'up'}"
                       f" as well; give the three together (docs/eras.md)")
    for k in ("light_ore", "ionic_ore", "scrap_std", "scrap_uh"):
        i = mat.p(k)
        if k in given or value_before[i] <= 0 or value_after[i] <= 0:
            continue
        times = value_before[i] / value_after[i]          # its price over its oxides' value, against before
        if not 1 / RATIO_MOVED < times < RATIO_MOVED:
            keep = inherited[k] / times
            out.append(f"market.initial_price.{k}: inherited while the oxides' start prices change, so it starts at "
                       f"{times:.2f} times the ratio to its oxides' value it had; its long-run price keeps that ratio "
                       f"for the whole run (docs/ODD.md section 7.6), so it runs {'cheaper' if times < 1 else 'dearer'} "
                       f"against its oxides than in the file it extends; about {keep:,.0f} {mat.price_unit[k]} keeps "
                       f"the ratio")
    return out


def _schema_default(keys: tuple) -> Any:
    """The default the scenario schema gives the key at ``keys``, or None (a required key)."""
    from .errors import _field_info
    info = _field_info(keys)
    return None if info is None or info.is_required() else info.get_default(call_default_factory=True)


def _dig(d: Any, keys: tuple) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _how(times: float, inverse: float) -> str:
    """How far a figure stands from the one it replaces: "N times" or "1/N of"."""
    # the larger side over the smaller: a subnormal figure underflows given / replaced to 0
    ratio = times if times >= 1 else inverse
    if math.isinf(ratio):
        return "beyond any ratio to" if times >= 1 else "a vanishing fraction of"
    size = f"{ratio:,.0f}" if ratio < 1e15 else f"{ratio:.3g}"
    return f"{size} times" if times >= 1 else f"1/{size} of"


def _replaced_lists(own: Any, old: Any, path: tuple) -> Iterator[tuple[tuple, list]]:
    """(key path, inherited names) for every list of ``own`` that replaces a list of named
    items: one of its items has no name, so the list is not merged item by item."""
    from .loading import merges_by_name
    from .schema import _merge_key
    if isinstance(own, dict) and isinstance(old, dict):
        for key, value in own.items():
            if key in old:
                yield from _replaced_lists(value, old[key], (*path, key))
    elif isinstance(own, list) and isinstance(old, list) and own and old \
            and all(_merge_key(o) for o in old) and not merges_by_name(old, own):
        yield path, [str(_merge_key(o)) for o in old]


def named_items_replaced(path: str | Path) -> list[str]:
    """Warnings for each list ``path`` sets that replaces, not joins, the named items it
    inherits (an item without a name makes the whole list the file's own: the inherited
    shocks, news or disruptions are dropped)."""
    path = Path(path)
    own, old, files = _own_and_inherited(path)
    out = []
    for loc, names in _replaced_lists(own, old, ()):
        line = _find_line(path, list(loc))
        key = ".".join(str(k) for k in loc)
        shown = ", ".join(repr(n) for n in names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        out.append(f"{key}{f' (line {line})' if line else ''}: an item without a name replaces the {len(names)} "
                   f"named item(s) inherited from {_show(files[-1])} ({shown}), which are dropped; give every item "
                   f"a name to add it to them (the same name changes that one)")
    return out


def batches_emptied(path: str | Path) -> list[str]:
    """Warnings for each quota or export quota ``path`` gives ``batches = []`` where the item
    it inherits was issued in batches: an empty list issues the year's whole quota on
    1 January (docs/scenarios.md), a large change easily made by mistake (an outside audit)."""
    from .schema import _merge_key
    path = Path(path)
    own, old, files = _own_and_inherited(path)
    out = []
    lists = ((("quota_policy", "quotas"), (own.get("quota_policy") or {}).get("quotas"),
              (old.get("quota_policy") or {}).get("quotas")),
             (("export_quotas",), own.get("export_quotas"), old.get("export_quotas")))
    for loc, mine, theirs in lists:
        if not isinstance(mine, list) or not isinstance(theirs, list):
            continue
        inherited = {_merge_key(i): i for i in theirs if isinstance(i, dict)}
        for index, item in enumerate(mine):
            if not isinstance(item, dict) or item.get("batches") != []:
                continue
            before = (inherited.get(_merge_key(item)) or {}).get("batches") or []
            if not before:
                continue
            dates = ", ".join(str(b.get("issued")) for b in before if isinstance(b, dict))
            # the item's own line: its name tells it from the other items of the list
            line = _locate_in(path, (*loc, index, "batches"), own)[0]
            out.append(f"{'.'.join(loc)}[{_merge_key(item)}].batches{f' (line {line})' if line else ''}: [] issues "
                       f"the year's whole quota on 1 January, where the one inherited from {_show(files[-1])} was "
                       f"issued in {len(before)} batch(es) ({dates}); leave batches out to keep them")
    return out
