"""Every lever acts: each key of the scenario format, changed, changes the run.

The keys are not listed by hand: they are read from a whole scenario (every default filled
in), so a key added to the schema is tested the day it is added. Each key is changed in the
first way that still validates (a number x1.5 or x0.5, a count +1, a flag flipped, a date a
month later, another allowed name, a year table scaled as a whole) and the run's monthly
table must differ from the unchanged run's.

Some keys act only where something else is switched on (an export quota's batches need an
export quota; enforcement needs mining outside the quota): those are tested in a *context*
that switches it on, each a small what-if on top of a smaller, faster baseline. Only free
text (names, descriptions, sources, labels) is exempt; ``facts_file`` acts on ``rechain
validate`` and is tested there.
"""

from __future__ import annotations

import copy
import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from support import baseline_dict

import rechain
from rechain.materials import PRODUCTS
from rechain.scenario import ScenarioError, deep_merge, json_schema, scenario_from_dict

TEXT = {"name", "description", "question", "source", "note", "unit_label", "facts_file"}

# a smaller chain than the baseline, same period and events: runs in a fraction of the time
SMALL = {
    "firms": {"rock_miners": {"count": 3}, "ionic_miners": {"count": 4}, "myanmar_holders": {"count": 8},
              "overseas_miners": {"count": 2}, "separation_plants": {"count": 10}, "recyclers": {"count": 10},
              "magnet_makers": {"count": 30}, "traders": {"count": 6}, "foreign_producers": {"count": 2}},
    "sectors": {name: {"firms": 8} for name in ("nev", "wind", "aircon", "elevators", "phones", "robots", "other")},
    "regions": {name: {"buyers": 6, "materials_buyers": 3} for name in ("eu", "us", "japan_korea", "asean_india",
                                                                        "rest_of_world")},
}

# what some keys need before they can act, each on top of SMALL
CONTEXTS = {
    "baseline": {},
    "stockpile": {"stockpile": {
        "products": ["prnd_oxide", "dy_oxide"], "start": "2024-03-04", "end": "2026-10-30",
        "buy_below_share": 1.0, "sell_above_share": 1.05, "buy_t_per_yr": {"prnd_oxide": 9000, "dy_oxide": 250},
        "max_stock_t": {"prnd_oxide": 7000, "dy_oxide": 200}, "initial_stock_t": {"prnd_oxide": 500, "dy_oxide": 20},
        "release_t_per_yr": {"prnd_oxide": 5000, "dy_oxide": 100}}},
    "export_quota": {"export_quotas": [{
        "name": "Pr-Nd oxide export quota 2025", "products": ["prnd_oxide", "prnd_metal"], "year": 2025,
        "total_t": 2500, "batches": [{"issued": "2025-01-01", "share": 0.5}, {"issued": "2025-07-01", "share": 0.5}],
        "revisions": [{"date": "2025-09-01", "total_t": 2200}]}]},
    "export_duty": {"export_duties": [{"name": "metal duty", "products": ["prnd_metal", "magnet_std"],
                                       "regions": ["japan_korea", "eu"], "rate_share": 0.2, "start": "2025-01-01",
                                       "end": "2026-06-30"}]},
    "outside_quota": {"firms": {"rock_miners": {"outside_quota_share": 0.3, "enforcement": 0.5},
                                "ionic_miners": {"outside_quota_share": 0.3, "enforcement": 0.5}}},
    # a crackdown on the mining outside the quota (a disruption of it alone)
    "crackdown": {"firms": {"rock_miners": {"outside_quota_share": 0.3, "enforcement": 0.5},
                            "ionic_miners": {"outside_quota_share": 0.3, "enforcement": 0.5}},
                  "disruptions": [{"name": "crackdown", "target": "miners", "start": "2024-03-01", "end": "2026-06-30",
                                   "capacity_offline_share": 0.8, "outside_quota_only": True}]},
    "dated_capacity": {"firms": {"myanmar_holders": {"capacity_by_year": {"2025": 30000, "2026": 60000}},
                                 "overseas_miners": {"capacity_by_year": {"2025": 30000, "2026": 50000}},
                                 "foreign_producers": {"capacity_by_year": {"2025": 40000}}}},
    "elastic": {"recycling": {"collection_price_elasticity": 0.5},
                "sectors": {"nev": {"price_elasticity": 0.3}}, "regions": {"eu": {"price_elasticity": 0.3}}},
    "invest": {"end": "2028-12-31", "firms": {
        g: {"investment_share_per_yr": 0.3, "retirement_share_per_yr": 0.2, "investment_lead_weeks": 40}
        for g in ("rock_miners", "ionic_miners", "myanmar_holders", "overseas_miners", "separation_plants",
                  "recyclers", "magnet_makers", "foreign_producers")}},
    "thin_margins": {"firms": {"rock_miners": {"cost_yuan_per_t": 30000}, "ionic_miners": {"cost_yuan_per_t": 170000}}},
    "holders": {"firms": {"overseas_miners": {"holdback_price": 2.0, "holdback_expectation": 2.0,
                                              "initial_stock_weeks": 60, "storage_weeks": 20},
                          "myanmar_holders": {"initial_stock_weeks": 60}}},
    "std_heavy": {"magnet_recipes": {"magnet_std": {"dy_wt_pct": 0.3, "tb_wt_pct": 0.05, "min_heavy_share": 0.6,
                                                    "thrift_price_elasticity": 0.5}}},
    "dy_tb_mix": {"firms": {"magnet_makers": {"dy_for_tb_max_share": 0.3}}},
    # a reservation share of Dy's own, above the price Dy falls to (an empty table has no value to change)
    "own_reservation": {"firms": {"separation_plants": {"reservation_share_by_product": {"dy_oxide": 0.95}}}},
    "grow": {"end": "2027-06-30", "after_last_year": {"quota_growth_pct_per_yr": 1.0}},
    "hold": {"end": "2027-06-30", "after_last_year": {"rule": "hold"}},
    # a long shortage: producers abroad run full and build, users substitute, collection runs
    # into its cap (keys that act only when prices stay high)
    "scarce": {"end": "2028-12-31",
               "disruptions": [{"name": "half the mines", "target": "miners", "start": "2024-03-01",
                                "end": "2028-12-31", "capacity_offline_share": 0.5}],
               "firms": {"overseas_miners": {"investment_lead_weeks": 40, "capital_cost_yuan_per_t": 10000}},
               "sectors": {"nev": {"price_elasticity": 1.0, "substitutable_share": 0.1}},
               "recycling": {"collection": [{"year": 2024, "rate": 0.5}], "max_collection_rate": 0.6,
                             "collection_price_elasticity": 0.5}},
    # plants and producers abroad whose full cost the basket never covers: they retire capacity
    "losses": {"firms": {"separation_plants": {"capital_cost_yuan_per_t": 400000, "retirement_share_per_yr": 0.2},
                         "foreign_producers": {"capital_cost_yuan_per_t": 400000}}},
    # a separation quota that binds (the baseline's 2026 quota is above what plants can run)
    "separation_cap": {"quota_policy": {"advance_share": 0.1,
                                        "quotas": [{"type": "separation", "year": 2026, "total_t": 200000}]}},
    # plants that separate ore beyond the quota (illegal separation)
    "separation_outside": {"firms": {"separation_plants": {"outside_quota_share": 0.1, "enforcement": 0.5}}},
}


def _enums() -> list[str]:
    out: set[str] = set()

    def walk(x):
        if isinstance(x, dict):
            if "enum" in x:
                out.update(v for v in x["enum"] if isinstance(v, str))
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(json_schema())
    return sorted(out)


ENUMS = _enums()
NAMES = ("china", "abroad", *baseline_dict()["regions"], *PRODUCTS)     # what lists of names may hold
# keys that say which item an item is (changing them makes another item, tested as such)
IDENTITY = {("quota_policy", "quotas", "type"), ("quota_policy", "quotas", "year"), ("export_quotas", "year")}


@lru_cache(maxsize=None)
def context_raw(name: str) -> dict:
    """The context as written (what a user's file says; defaults not filled in)."""
    return deep_merge(deep_merge(baseline_dict(), SMALL), CONTEXTS[name])


@lru_cache(maxsize=None)
def context_dict(name: str) -> dict:
    """The context as a whole scenario (every default filled in): where the keys are read."""
    return scenario_from_dict(context_raw(name)).model_dump(mode="json", exclude_none=False)


def _leaves(x, path=()):
    """Key paths of a whole scenario dict: year tables and product tables as one lever each,
    the last item of each list of items, lists of plain values as one lever."""
    if isinstance(x, dict):
        if x and all(not isinstance(v, (dict, list)) for v in x.values()) and (
                all(k.isdigit() for k in x) or set(x) <= set(PRODUCTS)):
            yield path                       # a table: year -> value, product -> value
            return
        for k, v in x.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(x, list) and x and isinstance(x[0], dict):
        # the last item: the latest quota, batch or approval step, inside the period
        yield from _leaves(x[-1], (*path, len(x) - 1))
    else:
        yield path


def _get(d, path):
    for p in path:
        d = d[p]
    return d


def _set(d, path, value):
    """A copy of the dict as written with one key set (intermediate tables created: a key
    left at its default is absent from the file)."""
    d = copy.deepcopy(d)
    cur = d
    for p in path[:-1]:
        cur = cur[p] if isinstance(cur, list) else cur.setdefault(p, {})
    cur[path[-1]] = value
    return d


def _candidates(value, path):
    """Changed values to try, in order."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int) and not isinstance(value, bool):
        return [value + 1, max(value - 1, 0), -value, 2]
    if isinstance(value, float):
        if value == 0:
            return [0.2, 0.05, 0.5, 1.0, 2.0]
        return [value * 1.5, value * 0.5, value * 0.1, value * 3.0, value * 1.1, value * 0.9]
    if isinstance(value, dict):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
            return [{k: v * f for k, v in value.items()} for f in (1.5, 0.5)] + \
                [{k: (v if i else v * 1.5) for i, (k, v) in enumerate(value.items())}]
        return []
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
            return [(day + dt.timedelta(days=28)).isoformat(), (day - dt.timedelta(days=28)).isoformat()]
        except ValueError:
            return [e for e in ENUMS if e != value]
    if isinstance(value, list):
        if value and all(isinstance(v, (int, float)) for v in value):
            return [[value[0] * 1.5, *value[1:]]]
        if value and all(isinstance(v, str) for v in value):
            pool = [e for e in (*NAMES, *ENUMS) if e not in value]
            return ([value[:-1]] if len(value) > 1 else []) + [[e] for e in pool] + [[*value, e] for e in pool]
        return []
    return []


def _written(raw: dict, path: tuple) -> bool:
    """Whether every list item on the path is in the file as written (tables a file leaves out
    take their defaults and count as written)."""
    cur = raw
    for p in path:
        if isinstance(cur, list):
            if not isinstance(p, int) or p >= len(cur):
                return False
            cur = cur[p]
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            return True
    return True


def _cases():
    seen, cases = set(), []
    for ctx in CONTEXTS:
        for path in _leaves(context_dict(ctx)):
            if path in seen or any(p in TEXT for p in path if isinstance(p, str)):
                continue
            if tuple(p for p in path if isinstance(p, str)) in IDENTITY:
                continue
            if _get(context_dict(ctx), path) in ([], None):     # switched on in another context
                continue
            if not _written(context_raw(ctx), path):     # an item filled in by the model (a carried quota)
                continue
            # one sector and one region stand for all (the same keys)
            if path[0] == "sectors" and path[1] != "nev" or path[0] == "regions" and path[1] != "japan_korea":
                continue
            seen.add(path)
            cases.append(path)
    return cases


# the first approval step's date: when approvals begin after the control's start (the walk
# above takes the last item of each list; this first item acts on its own)
CASES = [*_cases(), ("export_controls", 0, "approval", 0, "start")]


@lru_cache(maxsize=None)
def _monthly(ctx: str, path: tuple | None, value_repr: str | None) -> pd.DataFrame:
    d = context_raw(ctx) if path is None else _set(context_raw(ctx), path, eval(value_repr))  # noqa: S307
    return rechain.run(scenario_from_dict(d), seed=0).monthly


def _acts(ctx: str, path: tuple) -> tuple[bool, str]:
    d = context_dict(ctx)
    try:
        value = _get(d, path)
    except (KeyError, IndexError, TypeError):
        return False, "absent"
    tried = []
    for cand in _candidates(value, path):
        try:
            scenario_from_dict(_set(context_raw(ctx), path, cand))
        except ScenarioError:
            continue
        base = _monthly(ctx, None, None)
        other = _monthly(ctx, path, repr(cand))
        tried.append(repr(cand))
        same = base.shape == other.shape and (base[["month", "stage", "product", "region", "variable"]].to_numpy()
                                              == other[["month", "stage", "product", "region",
                                                        "variable"]].to_numpy()).all() \
            and np.array_equal(base["value"].to_numpy(), other["value"].to_numpy())
        if not same:
            return True, repr(cand)
        if len(tried) >= 4:
            break
    return False, f"tried {tried or 'no valid change'}"


@pytest.mark.parametrize("path", CASES, ids=[".".join(map(str, p)) for p in CASES])
def test_every_lever_changes_the_run(path):
    notes = []
    for ctx in CONTEXTS:
        ok, how = _acts(ctx, path)
        if ok:
            return
        if how != "absent":
            notes.append(f"{ctx}: {how}")
    pytest.fail(f"{'.'.join(map(str, path))} changes nothing in the run ({'; '.join(notes)})")


def test_the_levers_cover_the_schema():
    """The walk reaches every group of the format (a lever test that skipped a group would
    pass for the wrong reason)."""
    heads = {p[0] for p in CASES}
    assert {"firms", "sectors", "regions", "behaviour", "market", "magnet_recipes", "quota_policy",
            "export_controls", "export_quotas", "export_duties", "import_tariffs", "disruptions", "news",
            "stockpile", "recycling", "after_last_year"} <= heads
    assert len(CASES) > 150
