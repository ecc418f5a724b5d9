"""Turning a finished run into tables, figures and key figures.

``monthly_table`` is the tidy table behind ``monthly.csv``
(``month, stage, product, region, variable, value, unit``); ``flows_table`` the monthly
tonnes between stages behind ``flows.csv``; ``kpis`` the headline numbers used by
summaries, comparisons and sweeps; ``write_figures`` the PNG figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .figures import STAGE_COLOURS
from .policy import QUOTA_TYPES
from .policy.exports import export_quota_allowance_t
from .world import STOCKED as OXIDES_METAL

if TYPE_CHECKING:
    from .model import ChainModel

__all__ = ["idle_reserve", "monthly_table", "end_products", "flows_table", "kpis", "write_figures", "not_months", "summary_table", "series_of",
           "monthly_series", "not_numbers", "not_as_written", "COLUMNS", "TEXT_COLUMNS", "FLOW_VARIABLES", "LEVEL_VARIABLES",
           "months_text", "not_by_end", "not_recovered_text", "band_words"]

COLUMNS = ["month", "stage", "product", "region", "variable", "value", "unit"]
# the columns of an output folder's tables read back as text (a month such as 2025-10 is not a
# number, a product such as 'nan' not a missing value)
TEXT_COLUMNS = {c: str for c in ("month", "stage", "product", "region", "variable", "unit", "from_stage", "to_stage",
                                 "scenario", "kpi")}
MAGNETS = ("magnet_std", "magnet_uh")
# the form a product's tonnes are in, for adding flows up: ore (t REO), separated oxides and
# metal, magnets and their scrap (a sector's or region's magnet demand counts as magnets)
_FORM = {"light_ore": "ore", "ionic_ore": "ore", "prnd_oxide": "oxides and metal", "prnd_metal": "oxides and metal",
         "dy_oxide": "oxides and metal", "tb_oxide": "oxides and metal"}
# in production, metal is made from oxide counted in the plants' oxide output and scrap is cut
# from blanks counted in magnet output: added to what they came from, the same tonnes count twice
_MADE_FROM = {"prnd_oxide": "oxides", "dy_oxide": "oxides", "tb_oxide": "oxides",
              "prnd_metal": "metal (made from the oxide)", "scrap_std": "scrap (cut from the blanks)",
              "scrap_uh": "scrap (cut from the blanks)"}


def _month_means(m: "ChainModel", weekly: np.ndarray) -> np.ndarray:
    """Weekly levels averaged into months (weighted by the days each week gives a month)."""
    w = m.world.calendar.month_weights
    tot = w.sum(axis=0)
    norm = np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)
    x = np.nan_to_num(weekly)
    return np.tensordot(norm, x, axes=([0], [0]))


def _quota_months(m: "ChainModel", weekly: np.ndarray) -> np.ndarray:
    """Weekly quota use [weeks, types] summed into months as flows are (by the days each week
    gives a month), but a week across New Year counts wholly in the year whose quota it used
    (its Monday's, never before the run's start: ``PolicyTimeline.quota_dates``), so that a
    year's months add up to that year's use, within what was issued."""
    cal = m.world.calendar
    weights = cal.month_weights.copy()
    years = np.array([int(k[:4]) for k in cal.months])
    for w, date in enumerate(m.timeline.quota_dates):
        other = (years != date.year) & (weights[w] > 0)
        if not other.any():
            continue
        moved, weights[w, other] = weights[w, other].sum(), 0.0
        same = (years == date.year) & (weights[w] > 0)
        if same.any():
            weights[w, same] += moved * weights[w, same] / weights[w, same].sum()
        elif f"{date.year:04d}-{date.month:02d}" in cal.months:
            weights[w, cal.months.index(f"{date.year:04d}-{date.month:02d}")] = moved
    return np.tensordot(weights, weekly, axes=([0], [0]))


class _Table:
    """Monthly series gathered as (metadata, values) and laid out in long form at once."""

    def __init__(self, months: list[str]):
        self.months = months
        self.meta: list[tuple[str, str, str, str, str]] = []
        self.values: list[np.ndarray] = []

    def add(self, stage: str, product: str, region: str, variable: str, values: np.ndarray, unit: str) -> None:
        self.meta.append((stage, product, region, variable, unit))
        self.values.append(np.asarray(values, dtype=float))

    def frame(self, columns: list[str]) -> pd.DataFrame:
        n, k = len(self.months), len(self.meta)
        if k == 0:
            return pd.DataFrame(columns=columns)
        meta = np.array(self.meta, dtype=object).reshape(k, 5)
        data = {"month": np.tile(np.array(self.months, dtype=object), k)}
        for j, name in enumerate(("stage", "product", "region", "variable", "unit")):
            data[name] = np.repeat(meta[:, j], n)
        data["value"] = np.round(np.concatenate(self.values), 6)
        return pd.DataFrame(data)[columns]


def _region_of_stage(stage: str) -> str:
    return "abroad" if stage in ("myanmar_holders", "overseas_miners", "foreign_producers") else (
        "overseas" if stage == "overseas_buyers" else "china")


def end_products(magnets_t: np.ndarray, kg_per_unit: dict[str, float], months: list[str]) -> np.ndarray:
    """The end products (a sector's units: vehicles, MW installed) whose finished magnets
    ``magnets_t`` (t per month) are, at the kg per unit of each month's year: what a
    shortfall of magnets means in the sector's own terms."""
    kg = np.array([kg_per_unit[month[:4]] for month in months], dtype=float)
    return np.asarray(magnets_t, dtype=float) * 1000.0 / kg


def monthly_table(m: "ChainModel") -> pd.DataFrame:
    """All monthly series of a run in long form, with units."""
    r, cal, mat = m.recorder, m.world.calendar, m.world.materials
    P, stages = mat.products, m.world.stages
    tab = _Table(cal.months)
    prod = cal.to_months(r.production)
    orders = cal.to_months(r.orders)
    for s, stage in enumerate(stages):
        region = _region_of_stage(stage)
        for k, product in enumerate(P):
            if prod[:, s, k].any():     # ore in t REO, as its imports and quotas are counted
                tab.add(stage, product, region, "production", prod[:, s, k], mat.units[product])
            if orders[:, s, k].any():
                tab.add(stage, product, region, "orders", orders[:, s, k], mat.units[product])
    exp = cal.to_months(r.exports)                     # [month, stage, product, region]
    for s, stage in enumerate(stages):
        for k, product in enumerate(P):
            for g, region in enumerate(m.world.regions):
                if exp[:, s, k, g].any():
                    tab.add(stage, product, region, "exports", exp[:, s, k, g], mat.units[product])
    tab.add("separation_plants", "ore", "abroad", "imports", cal.to_months(r.imports), "t REO")
    # blanks planned but not made for want of a raw material, by the scarcest one (the
    # recorder keeps them in the order of the world's oxides: Pr-Nd, Dy, Tb)
    short = cal.to_months(r.input_short)
    for j, k in enumerate(m.world.oxides):
        tab.add("magnet_makers", P[k], "china", "output_short_of_inputs", short[:, j], "t")
    price = _month_means(m, r.price)
    long_run = _month_means(m, r.long_run_price)
    cover = _month_means(m, r.market_cover)
    spot = cal.to_months(r.spot)
    for k, product in enumerate(P):
        unit = mat.price_unit[product]
        tab.add("market", product, "china", "price", price[:, k], unit)
        tab.add("market", product, "china", "price_long_run", long_run[:, k], unit)
        tab.add("market", product, "china", "market_cover_weeks", cover[:, k], "weeks")
        tab.add("market", product, "china", "spot_traded", spot[:, k], mat.units[product])
    # the oxides' supply routes over their users' need (what the long-run price rations)
    known = np.isfinite(r.route_cover)
    if known.any():
        w = m.world.calendar.month_weights * known[:, None]
        tot = w.sum(axis=0)
        route = np.divide(np.nan_to_num(r.route_cover) @ w, tot, out=np.full(tot.shape, np.nan), where=tot > 0)
        tab.add("market", "oxides", "china", "route_supply_cover", route, "ratio")
    # export prices (the price in a buyer region's name) where buyers abroad buy the product;
    # oxides and metal used abroad
    xp = _month_means(m, r.export_price)                 # [month, product, region]
    buys_abroad = np.zeros((len(P), len(m.world.regions)), bool)
    ab = m.world.abroad_buys
    buys_abroad[m.world.buys.product[ab], m.world.firms.region[m.world.buys.firm[ab]]] = True
    for k, g in zip(*np.nonzero(buys_abroad)):
        tab.add("market", P[k], m.world.regions[g], "price", xp[:, k, g], mat.price_unit[P[k]])
    # the spot market abroad: producers abroad selling what buyers abroad's suppliers left unfilled
    spot_abroad = cal.to_months(r.spot_abroad)
    for k in np.flatnonzero(buys_abroad.any(axis=1)):
        tab.add("market", P[k], "abroad", "spot_traded", spot_abroad[:, k], mat.units[P[k]])
    sales = cal.to_months(r.sales_abroad)                # [month, product, region]
    m_want, m_got = cal.to_months(r.material_want), cal.to_months(r.material_got)   # [month, region, product]
    for g, region in enumerate(m.world.regions):
        for k, product in enumerate(P):
            if sales[:, k, g].any():
                tab.add("foreign_producers", product, region, "sales_abroad", sales[:, k, g], "t")
            if m_want[:, g, k].any():
                tab.add("overseas_buyers", product, region, "demand", m_want[:, g, k], "t")
                tab.add("overseas_buyers", product, region, "use", m_got[:, g, k], "t")
                tab.add("overseas_buyers", product, region, "shortfall", m_want[:, g, k] - m_got[:, g, k], "t")
    cover = _month_means(m, r.cover_days)
    sent = _month_means(m, r.sentiment)
    unc = _month_means(m, r.uncertainty)
    for s, stage in enumerate(stages):
        if not r.has_stage[s]:
            continue
        tab.add(stage, "all", "all", "stock_cover_days", cover[:, s], "days")
        tab.add(stage, "all", "all", "sentiment", sent[:, s], "expected relative price change")
        tab.add(stage, "all", "all", "uncertainty", unc[:, s], "index")
    # capacity where it bounds output; traders' is storage, buyers have none
    cap = _month_means(m, r.capacity) * WEEKS_PER_YEAR
    for stage, unit in CAPACITY_UNITS.items():
        s = stages.index(stage)
        if r.has_stage[s]:
            tab.add(stage, "all", "all", "capacity", cap[:, s], unit)
    want = cal.to_months(r.use_want)
    got = cal.to_months(r.use_got)
    sectors = m.world.scenario.sectors
    for g, group in enumerate(r.groups):
        is_region = group in m.world.scenario.regions
        stage = "overseas_buyers" if is_region else "motor_makers"
        region = group if is_region else "china"
        sector = "all" if is_region else group
        tab.add(stage, sector, region, "demand", want[:, g], "t")
        tab.add(stage, sector, region, "use", got[:, g], "t")
        short = want[:, g] - got[:, g]
        tab.add(stage, sector, region, "shortfall", short, "t")
        if not is_region:
            tab.add(stage, sector, region, "end_products_short",
                    end_products(short, sectors[group].magnet_kg_per_unit, cal.months), sectors[group].unit_label)
    lic = {"licences_pending": (_month_means(m, r.lic_pending_n), "applications"),
           "licences_pending_t": (_month_means(m, r.lic_pending_t), "t"),
           "licences_applied": (cal.to_months(r.licences_applied), "t"),
           "licences_granted": (cal.to_months(r.lic_granted), "t"),
           "licences_refused": (cal.to_months(r.lic_refused), "t")}
    for var, (vals, unit) in lic.items():
        tab.add("overseas_buyers", "controlled", "overseas", var, vals, unit)
    _export_quota_rows(tab, m, exp)
    used = _quota_months(m, r.quota_used)
    issued = _month_means(m, np.nan_to_num(r.quota_issued, nan=0.0))
    for q, qtype in enumerate(QUOTA_TYPES):
        stage = "separation_plants" if qtype == "separation" else "miners"
        tab.add(stage, qtype, "china", "quota_used", used[:, q], "t REO")
        tab.add(stage, qtype, "china", "quota_issued", issued[:, q], "t REO")
    tab.add("recyclers", "scrap", "china", "eol_collected", cal.to_months(r.eol), "t")
    tab.add("myanmar_holders", "ionic_ore", "abroad", "offer_share",
            _month_means(m, np.nan_to_num(r.offer_share, nan=1.0)), "share of stock offered")
    return tab.frame(COLUMNS)


def _export_quota_rows(tab, m: "ChainModel", exports: np.ndarray) -> None:
    """Per export quota (product column: its name): ``export_quota_used``, the tonnes of its
    products exported from China in the month while the month lies in the quota's year (as
    the quota counts them: its cap binds on these), and ``export_quota_issued``, the tonnes
    of the year's cap issued by the month's last day (0 outside its year). ``exports``:
    [month, stage, product, region], the monthly table's."""
    mat = m.world.materials
    months = m.world.calendar.months
    by_product = exports.sum(axis=(1, 3))                               # [month, product]
    ends = [pd.Period(mo, "M").end_time.date() for mo in months]
    for q in m.world.scenario.export_quotas:
        in_year = np.array([mo.startswith(f"{q.year}-") for mo in months])
        used = by_product[:, [mat.p(p) for p in q.products]].sum(axis=1) * in_year
        issued = np.array([export_quota_allowance_t(q, end) if inside else 0.0 for end, inside in zip(ends, in_year)])
        tab.add("overseas_buyers", q.name, "overseas", "export_quota_used", used, "t")
        tab.add("overseas_buyers", q.name, "overseas", "export_quota_issued", issued, "t")


FLOW_COLUMNS = ["month", "from_stage", "to_stage", "product", "region", "tonnes"]
#: the stages whose oxide output is China's (producers abroad separate their own ore elsewhere)
CHINA_OXIDE_STAGES = ("separation_plants", "recyclers")
#: what a stage's capacity is counted in, a year (monthly.csv's ``capacity``)
CAPACITY_UNITS = {"miners": "t REO/yr", "myanmar_holders": "t REO/yr", "overseas_miners": "t REO/yr",
                  "separation_plants": "t REO/yr of ore", "recyclers": "t scrap/yr", "magnet_makers": "t blanks/yr",
                  "foreign_producers": "t REO/yr"}
#: weeks in a year, to state a weekly capacity a year
WEEKS_PER_YEAR = 365.25 / 7
#: the elements whose tonnes flows.csv also gives (t REO-eq, at the content shipped each week)
FLOW_ELEMENTS = ("prnd", "dy", "tb")
ELEMENT_COLUMNS = [f"{el}_t_reo" for el in FLOW_ELEMENTS]


ABROAD_STAGES = ("myanmar_holders", "overseas_miners")


def flows_table(m: "ChainModel") -> pd.DataFrame:
    """Monthly tonnes shipped between stages, by product.

    ``region`` is where the goods go abroad or come from: shipments to overseas buyers are
    split by destination region (each counted once, from the stage that shipped it; from
    Chinese stages they add up to the ``exports`` of :func:`monthly_table`, from producers
    abroad to its ``sales_abroad``), shipments from ore holders abroad are
    "abroad" (they add up to its ``imports``), all others "china". ``prnd_t_reo``, ``dy_t_reo``
    and ``tb_t_reo`` are the tonnes of each element in them, at the content each week's
    shipments carried (a magnet's Dy follows the recipe in use, not the package's default).
    """
    r, cal, mat = m.recorder, m.world.calendar, m.world.materials
    stages, regions = m.world.stages, m.world.regions
    content = r.content[:, :, [mat.e(el) for el in FLOW_ELEMENTS]]          # [week, product, element]
    fl = cal.to_months(r.flows)            # [month, from, to, product]
    fl_el = cal.to_months(r.flows[..., None] * content[:, None, None, :, :])
    exp = cal.to_months(r.exports)         # [month, from, product, region]
    exp_el = cal.to_months(r.exports[..., None] * content[:, None, :, None, :])
    foreign = stages.index("foreign_producers")
    exp[:, foreign] = cal.to_months(r.sales_abroad)      # producers abroad sell to buyers abroad only
    exp_el[:, foreign] = cal.to_months(r.sales_abroad[..., None] * content[:, :, None, :])
    over = stages.index("overseas_buyers")
    months = cal.months
    meta, values, elements = [], [], []
    for a, src in enumerate(stages):
        for b, dst in enumerate(stages):
            for k, product in enumerate(mat.products):
                if b == over:
                    for g, region in enumerate(regions):
                        if exp[:, a, k, g].any():
                            meta.append((src, dst, product, region))
                            values.append(exp[:, a, k, g])
                            elements.append(exp_el[:, a, k, g])
                elif fl[:, a, b, k].any():
                    meta.append((src, dst, product, "abroad" if src in ABROAD_STAGES else "china"))
                    values.append(fl[:, a, b, k])
                    elements.append(fl_el[:, a, b, k])
    columns = FLOW_COLUMNS + ELEMENT_COLUMNS
    if not meta:
        return pd.DataFrame(columns=columns)
    n, kk = len(months), len(meta)
    meta_a = np.array(meta, dtype=object).reshape(kk, 4)
    data = {"month": np.tile(np.array(months, dtype=object), kk)}
    for j, name in enumerate(("from_stage", "to_stage", "product", "region")):
        data[name] = np.repeat(meta_a[:, j], n)
    data["tonnes"] = np.round(np.concatenate(values), 6)
    by_element = np.concatenate(elements)                                   # [rows, element]
    for j, name in enumerate(ELEMENT_COLUMNS):
        data[name] = np.round(by_element[:, j], 6)
    return pd.DataFrame(data)[columns]


def domestic_prices(monthly: pd.DataFrame) -> pd.DataFrame:
    """The rows of China's market prices (export prices carry the buyer region's name)."""
    return monthly[(monthly["variable"] == "price") & (monthly["region"] == "china")]


# --- reading the monthly table: flows add up over the rows a selection leaves open, levels
# (prices, cover, ...) do not (rechain validate, sweeps and RunResult.series read it so) --------
FLOW_VARIABLES = ("production", "orders", "exports", "imports", "demand", "use", "shortfall", "end_products_short",
                  "output_short_of_inputs",
                  "licences_applied", "licences_granted", "licences_refused", "quota_used", "eol_collected",
                  "spot_traded", "sales_abroad", "export_quota_used")
LEVEL_VARIABLES = ("capacity", "price", "price_long_run", "market_cover_weeks", "route_supply_cover", "stock_cover_days", "sentiment", "uncertainty",
                   "licences_pending", "licences_pending_t", "quota_issued", "offer_share",
                   "export_quota_issued")


#: units of tonnes held or moved: such levels (licences pending, quota issued) add up over rows
TONNE_UNITS = frozenset({"t", "t REO"})


def forms_of(products, variable: str = "") -> list[str]:
    """The forms (ore, oxides and metal, magnets) ``products`` span, quota types aside: tonnes
    of different forms are the same rare earths at different stages and do not add up. In
    ``production`` metal and scrap are forms of their own (made from oxide and blanks that
    the same stage's output already counts)."""
    made = _MADE_FROM if variable == "production" else {}
    return sorted({made.get(p) or _FORM.get(p, "magnets") for p in products if p not in QUOTA_TYPES})


def _split(sel: str) -> list[str] | None:
    """Selector ``a+b`` -> ['a', 'b']; ``*`` or empty -> None (any).

    Raises ValueError for what :func:`selector_problem` finds: an empty name beside a '+'
    (``a+`` read as ``a`` alone would measure part of what was meant), or a name twice."""
    sel = (sel or "").strip()
    if sel in ("", "*"):
        return None
    problem = selector_problem(sel)
    if problem:
        allowed = "each name once, joined by '+'" if "more than once" in problem else \
            "names joined by '+', or * for any"
        raise ValueError(f"{sel!r} {problem}; allowed: {allowed}")
    return [s.strip() for s in sel.split("+")]


def selector_problem(sel: str) -> str:
    """What is wrong with selector ``sel`` (``a+b``), in words, or "": an empty name beside a
    '+', or a name given twice (magnet_std+magnet_std, a slip for +magnet_uh, summed the one
    product once)."""
    names = [s.strip() for s in (sel or "").strip().split("+")]
    if not all(names):
        return "has an empty name beside a '+'"
    twice = sorted({n for n in names if names.count(n) > 1})
    return f"names {', '.join(twice)} more than once" if twice else ""


def _select(table: pd.DataFrame, variable: str, stage: str, product: str, region: str) -> pd.DataFrame:
    sel = table["variable"] == variable
    for key, s in (("stage", stage), ("product", product), ("region", region)):
        names = _split(s)
        if names is not None:
            sel &= table[key].isin(names)
    return table[sel]


def monthly_series(table: pd.DataFrame, variable: str, stage: str = "*", product: str = "*",
                   region: str = "*") -> pd.Series:
    """One monthly series: flows summed over the selected rows, levels averaged, but levels in
    tonnes (licences pending, quota issued) summed: they add up. A level in any region (``*``)
    is China's where the table has one (export prices carry their buyer region's name;
    averaging them with the domestic price would mean nothing)."""
    rows = _select(table, variable, stage, product, region)
    if region == "*" and variable in LEVEL_VARIABLES:
        home = rows[rows["region"] == "china"]
        if not home.empty:
            rows = home
    g = rows.groupby("month")["value"]
    adds_up = variable in FLOW_VARIABLES or (not rows.empty and set(rows["unit"]) <= TONNE_UNITS)
    return (g.sum() if adds_up else g.mean()).sort_index()


def series_of(df: pd.DataFrame, variable: str, **match) -> pd.Series:
    """One monthly series of a monthly table, read as ``rechain validate`` and sweeps read it
    (:func:`monthly_series`): flows summed over whatever
    ``match`` (``stage``, ``product``, ``region``; ``a+b`` for several) leaves open, levels
    (prices, cover, ...) averaged, and a level in any region is China's where there is one
    (export prices carry their buyer region's name); levels in tonnes (licences pending, quota
    issued) add up like flows. Raises ValueError for a variable or name
    the table does not have, for a level whose open rows carry several units (a price
    over every product), and for a flow whose open rows span ore, oxides and magnets (whose
    tonnes do not add up) unless ``product`` names what to add."""
    keys = ("stage", "product", "region")
    for k in match:
        if k not in keys:
            raise ValueError(f"series: unknown key {k!r}; allowed: {', '.join(keys)}")
    match = {k: v for k, v in match.items() if v is not None}       # None: left open, as not given
    for k, v in match.items():
        if not isinstance(v, str):
            raise TypeError(f"series: {k} given {v!r} ({type(v).__name__}); allowed: a name, several joined by "
                            f"'+' ('magnet_std+magnet_uh'), or None to leave it open")
    names = sorted(df["variable"].unique())
    if variable not in names:
        raise ValueError(f"series: given variable {variable!r}, which this run does not have; allowed: "
                         f"{', '.join(names)}")
    rows = df[df["variable"] == variable]
    for k, v in match.items():
        have = set(rows[k])
        try:
            names = _split(str(v)) or []
        except ValueError as e:
            raise ValueError(f"series: {k} {e}") from None
        for one in names:
            if one not in have:
                raise ValueError(f"series: {k} {one!r} has no {variable} rows in this run; allowed: "
                                 f"{', '.join(sorted(have))}")
    sel = [str(match.get(k, "*")) for k in keys]
    picked = _select(rows, variable, *sel)
    if variable not in LEVEL_VARIABLES:
        # named or left open, tonnes of ore and of magnets are the same rare earths at two
        # stages: light_ore+magnet_std added t REO of ore to t of blanks (a malformed-input round)
        forms = forms_of(picked["product"], variable)
        if len(forms) > 1:
            names = sorted(set(picked["product"]))
            given = "rows left open" if "product" not in match else f"rows of {match['product']!r}"
            raise ValueError(f"series: {variable} {given} span {', '.join(forms)}, whose tonnes do not "
                             f"add up (the same rare earths at different stages); allowed: a product, or several "
                             f"of one form joined by '+', from {', '.join(names)}")
    if variable in LEVEL_VARIABLES:
        units = sorted(set(picked["unit"]))
        if len(units) > 1 and not set(units) <= TONNE_UNITS:
            key, value = _one_unit_choice(picked)
            raise ValueError(f"series: {variable} rows left open carry several units ({', '.join(units)}); "
                             f"allowed: a selection of one unit, such as {key}={value!r}")
        products = sorted(set(picked["product"]))
        if variable.startswith("price") and len(products) > 1:
            # the mean of two products' prices is no product's price (oxide and metal are both yuan/t)
            raise ValueError(f"series: {variable} of several products ({', '.join(products)}) would be their plain "
                             f"mean, no product's price; allowed: one product, such as product={products[0]!r}")
    # and whatever else rechain validate refuses of a selection: flows of several units (vehicles
    # and MW short), the mining quotas with the separation quota (one ore counted twice)
    problem = mixed_selection(picked, (variable, *sel))
    if problem:
        raise ValueError(f"series: {problem}")
    return monthly_series(df, variable, *sel)


def _as_read(rows: pd.DataFrame, var: str, region: str) -> pd.DataFrame:
    """The selected ``rows`` as :func:`monthly_series` reads them: a level in any region is
    China's where the table has one (export prices carry their buyer region's name)."""
    if var in LEVEL_VARIABLES and region in ("", "*") and (rows["region"] == "china").any():
        return rows[rows["region"] == "china"]
    return rows


def _one_unit_choice(rows: pd.DataFrame) -> tuple[str, str]:
    """The key (product, stage or region) whose every name selects rows of one unit, and its
    first such name: what a selection of several units should name (capacity is t REO/yr at
    the miners and t/yr at the magnet makers, under one product 'all')."""
    for key in ("product", "stage", "region"):
        units = rows.groupby(key)["unit"].nunique()
        if rows[key].nunique() > 1 and (units <= 1).all():
            return key, str(sorted(set(map(str, rows[key])))[0])
    return "product", str(sorted(set(map(str, rows["product"])))[0])


def mixed_selection(rows: pd.DataFrame, sel: tuple[str, str, str, str], prefix: str = "") -> str:
    """Why the ``rows`` a selection picks cannot make one series, or "": several units (a mean
    of yuan/t and yuan/kg prices), or tonnes of ore, oxides and magnets added up (the same
    rare earths at several stages) where ``product`` is left open."""
    var, stage, product, region = sel
    rows = _as_read(rows, var, region)
    if var in ("quota_issued", "quota_used") and rows["stage"].nunique() > 1:
        return (f"{prefix}stage {stage!r}: adds {var} of {', '.join(sorted(set(rows['product'])))}, the mining "
                f"quotas and the separation quota: the same rare earths at two stages; allowed: stage "
                f"{' or '.join(sorted(set(rows['stage'])))}")
    regions = set(map(str, rows["region"]))
    if var in LEVEL_VARIABLES and "china" in regions and len(regions) > 1:
        return (f"{prefix}region {region!r}: averages China's {var} with buyer regions' export {var}s, which mean "
                f"different things; allowed: china, or buyer regions ({', '.join(sorted(regions - {'china'}))})")
    units = sorted(set(map(str, rows["unit"])))
    if len(units) > 1 and not set(units) <= TONNE_UNITS:
        key, value = _one_unit_choice(rows)
        given = {"stage": stage, "product": product, "region": region}[key]
        return (f"{prefix}{key} {given!r}: selects {var} rows in {', '.join(units)}, which make no one series; "
                f"allowed: a {key} of one unit, such as {value!r}")
    if var in FLOW_VARIABLES:
        # named or left open: light_ore+magnet_std added t REO of ore to t of blanks
        forms = forms_of(rows["product"], var)
        if len(forms) > 1:
            what = "leaves open" if _split(product) is None else "adds"
            return (f"{prefix}product {product!r}: {what} {var} of {', '.join(forms)}, whose tonnes do not add "
                    f"up (the same rare earths at different stages); allowed: a product, or several of one form "
                    f"joined by '+', from {', '.join(sorted(set(rows['product'])))}")
    return ""


def magnet_output(monthly: pd.DataFrame) -> pd.Series:
    """Sintered blanks produced per month, t."""
    sel = (monthly["variable"] == "production") & (monthly["stage"] == "magnet_makers") \
        & monthly["product"].isin(MAGNETS)
    return monthly[sel].groupby("month")["value"].sum()


def not_numbers(table: pd.DataFrame, column: str = "value", empty_ok: bool = False) -> str | None:
    """Why ``column`` of a table read back from a file does not read as finite numbers (the
    first value that is not one, text or empty or NaN or infinite, and its line), or None when
    all do. ``empty_ok``: an empty cell, NaN or an infinity is allowed (a comparison writes
    none where there is none, "not by end"), only text is not.

    rechain writes no missing or infinite value into a run's tables (a run that reaches one
    stops, status 3), so one there means the file was edited or damaged.
    """
    numbers = pd.to_numeric(table[column], errors="coerce")
    bad = (numbers.isna() & table[column].notna()).to_numpy() if empty_ok else \
        ~np.isfinite(numbers.to_numpy(dtype=float))
    if not bad.any():
        return None
    i = int(bad.argmax())
    given = table[column].iloc[i]
    shown = "an empty value or NaN" if pd.isna(given) else repr(str(given))
    more = int(bad.sum()) - 1
    return (f"{column}: given {shown} on line {i + 2}{f' (and {more} more)' if more else ''}, "
            f"not a {'number' if empty_ok else 'finite number'}")


def not_months(table: pd.DataFrame) -> str | None:
    """Why the ``month`` column of a table read back from a file is not months written
    ``YYYY-MM`` (the first that is not and its line), or None."""
    months = table["month"].astype(str)
    bad = ~months.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").to_numpy()
    if not bad.any():
        return None
    i = int(bad.argmax())
    return f"month: given {months.iloc[i]!r} on line {i + 2}, not a month written YYYY-MM"


#: the columns that name one row of a run's table (rechain writes each once)
ROW_KEYS = {"value": ["month", "stage", "product", "region", "variable"],
            "tonnes": ["month", "from_stage", "to_stage", "product", "region"]}


def not_as_written(table: pd.DataFrame, column: str = "value") -> str | None:
    """Why a run's table read back from a file (``column``: its figures, ``value`` for
    monthly.csv, ``tonnes`` for flows.csv) is not as rechain wrote it: a figure that is not a
    number (:func:`not_numbers`), a month that is not ``YYYY-MM``, or a row given twice. None
    when it is."""
    if (why := not_numbers(table, column) or not_months(table)) is not None:
        return why
    twice = table.duplicated(ROW_KEYS[column]).to_numpy()
    if twice.any():
        i = int(twice.argmax())
        row = ", ".join(f"{k} {table[k].iloc[i]}" for k in ROW_KEYS[column])
        return f"line {i + 2} gives the row ({row}) a second time"
    return None


def last_day_run(end):
    """The last day a run ending on ``end`` (a date) covers: the Sunday of ``end``'s week (the
    model steps whole weeks, and the rest of the last week counts in ``end``'s month)."""
    import datetime as dt
    return end + dt.timedelta(days=6 - end.weekday())


def month_cut_short(end) -> str | None:
    """The month (``YYYY-MM``) a run ending on ``end`` (a date) holds only in part, or None:
    the run covers to the Sunday of ``end``'s week (:func:`last_day_run`), so ``end``'s month is
    whole when that Sunday is its last day or later (README, "What a run writes": ``end`` on a
    Friday the 28th of June holds all of June).

    >>> import datetime as dt
    >>> month_cut_short(dt.date(2024, 6, 28)), month_cut_short(dt.date(2024, 6, 13))
    (None, '2024-06')
    """
    import calendar
    if end is None:
        return None
    last = last_day_run(end)
    whole = last.month != end.month or last.day == calendar.monthrange(end.year, end.month)[1]
    return None if whole else f"{end:%Y-%m}"


def kpis(monthly: pd.DataFrame, flows: pd.DataFrame | None = None, end=None) -> dict[str, float]:
    """Headline figures of a run, from its monthly table.

    Prices are in market units; tonnes in t. Names carry their unit or meaning. With the
    run's ``end`` date, a month-on-month change is not given for a month the run holds only in
    part (a month cut short at the 15th read as output falling by half).
    """
    cut = month_cut_short(end)
    out: dict[str, float] = {}
    price = domestic_prices(monthly)
    for product, g in price.groupby("product"):
        out[f"price_peak_{product}"] = float(g["value"].max())
        out[f"price_mean_{product}"] = float(g["value"].mean())
        out[f"price_end_{product}"] = float(g["value"].iloc[-1])
    mag = magnet_output(monthly)
    years = sorted({m[:4] for m in mag.index})
    for y in years:
        out[f"magnet_output_{y}_t"] = float(mag[[m for m in mag.index if m.startswith(y)]].sum())
    exported = monthly[monthly["variable"] == "exports"]
    for name, sel in (("exports", exported["product"].isin(MAGNETS)),
                      ("exports_oxide_metal", ~exported["product"].isin(MAGNETS))):
        by_month = exported[sel].groupby("month")["value"].sum()
        if name == "exports" or not by_month.empty:
            for y in years:
                out[f"{name}_{y}_t"] = float(by_month[[m for m in by_month.index if m.startswith(y)]].sum())
    prices = monthly[monthly["variable"] == "price"]
    abroad_price = prices[prices["region"] != "china"]
    for product, g in abroad_price.groupby("product", sort=True):
        # the largest gap any buyer region faced in any month (a mean over the regions
        # understated it: the EU's +243 % read as +187 %)
        home = price[price["product"] == product].set_index("month")["value"]
        with np.errstate(divide="ignore", invalid="ignore"):    # a home price of 0 has no gap: NaN
            gap = 100.0 * (g["value"].to_numpy() / home.reindex(g["month"]).to_numpy() - 1.0)
        out[f"export_price_gap_peak_{product}_pct"] = float(np.nanmax(gap)) if np.isfinite(gap).any() else float("nan")
    short = monthly[monthly["variable"] == "shortfall"]
    abroad = short[short["stage"] == "overseas_buyers"]
    out["shortfall_overseas_t"] = float(abroad[~abroad["product"].isin(OXIDES_METAL)]["value"].sum())
    if abroad["product"].isin(OXIDES_METAL).any():
        out["shortfall_overseas_oxide_metal_t"] = float(abroad[abroad["product"].isin(OXIDES_METAL)]["value"].sum())
    out["shortfall_domestic_t"] = float(short[short["stage"] == "motor_makers"]["value"].sum())
    prod = monthly[monthly["variable"] == "production"]
    # China's oxide output, as fact F63 reads it
    oxides = prod[prod["product"].isin(["prnd_oxide", "dy_oxide", "tb_oxide"]) & prod["stage"].isin(CHINA_OXIDE_STAGES)]
    total = oxides["value"].sum()
    out["recycled_share_of_oxide"] = float(oxides[oxides["stage"] == "recyclers"]["value"].sum() / total) \
        if total > 0 else 0.0
    out["licences_granted_t"] = float(monthly[monthly["variable"] == "licences_granted"]["value"].sum())
    out["licences_refused_t"] = float(monthly[monthly["variable"] == "licences_refused"]["value"].sum())
    for mo in ("2025-10", "2025-11"):
        prev = (pd.Period(mo, "M") - 1).strftime("%Y-%m")
        if mo in mag.index and prev in mag.index and mag[prev] > 0 and mo != cut:
            out[f"magnet_output_mom_{mo}_pct"] = float(100 * (mag[mo] / mag[prev] - 1))
    return out


def summary_table(monthly: pd.DataFrame, end=None) -> pd.DataFrame:
    """Annual totals and mean prices: the table the CLI prints (with the run's ``end`` date, a
    year whose last month the run holds in part is labelled so)."""
    df = monthly.copy()
    df["year"] = df["month"].str[:4]
    rows = []
    prod = df[df["variable"] == "production"]
    for (stage, product, unit), g in prod.groupby(["stage", "product", "unit"]):
        if product.startswith("scrap"):
            continue
        for y, v in g.groupby("year")["value"].sum().items():
            rows.append(("production", f"{stage}/{product}", y, v, unit))     # ore in t REO
    exported = df[df["variable"] == "exports"]
    for item, sel in (("magnets", exported["product"].isin(MAGNETS)),
                      ("oxides and metal", ~exported["product"].isin(MAGNETS))):
        for y, v in exported[sel].groupby("year")["value"].sum().items():
            rows.append(("exports", item, y, v, "t"))
    # tonnes of magnets and of oxides and metal are different forms: one row each
    # the magnets short at home (motor makers) and abroad told apart: their sum read as one
    # figure hid where the shortage fell (an outside analyst's audit)
    short = df[df["variable"] == "shortfall"]
    material = short["product"].isin(OXIDES_METAL)
    home = short["stage"] == "motor_makers"
    for item, sel in (("magnets, in China", ~material & home), ("magnets, abroad", ~material & ~home),
                      ("oxides and metal, abroad", material)):
        for y, v in short[sel].groupby("year")["value"].sum().items():
            rows.append(("shortfall", item, y, v, "t"))
    for product, per_year in blanks_not_made(monthly).iterrows():
        for y, v in per_year.items():
            rows.append(("blanks not made", f"short of {product}", y, v, "t"))
    for (product, unit), g in domestic_prices(df).groupby(["product", "unit"]):
        for y, v in g.groupby("year")["value"].mean().items():
            rows.append(("mean price", product, y, v, unit))
    t = pd.DataFrame(rows, columns=["what", "item", "year", "value", "unit"])
    table = t.pivot_table(index=["what", "item", "unit"], columns="year", values="value", aggfunc="sum")
    return table.rename(columns=year_labels(df["month"], end))


def blanks_not_made(monthly: pd.DataFrame) -> pd.DataFrame:
    """What the magnet makers planned but their raw-material stock did not allow
    (``output_short_of_inputs``), t of blanks per input (rows: those that ever held output
    back, in the table's order) and year (columns: every year the table has)."""
    rows = monthly[monthly["variable"] == "output_short_of_inputs"]
    table = rows.pivot_table(index="product", columns=rows["month"].str[:4].rename("year"), values="value",
                             aggfunc="sum", fill_value=0.0, sort=False).sort_index(axis=1)
    return table[(table > 0).any(axis=1)]


#: a year whose oxides' supply routes give less than this share of what their users need is
#: named after a run: the long-run price rations the rest (docs/eras.md; the baseline's years
#: stand at 1.02-1.07 on seeds 0-2: end use a little under what the routes can give)
ROUTES_SHORT = 0.75


def short_supply_years(monthly: pd.DataFrame) -> dict[str, float]:
    """The years (with their mean) whose ``route_supply_cover`` falls below
    :data:`ROUTES_SHORT`: every supply route of the oxides together gave less than that share
    of what their users needed."""
    rows = monthly[monthly["variable"] == "route_supply_cover"]
    means = rows.groupby(rows["month"].str[:4])["value"].mean()
    return {str(y): float(v) for y, v in means.items() if v < ROUTES_SHORT}


def idle_reserve(monthly: pd.DataFrame, flows: pd.DataFrame, stockpile) -> str | None:
    """A line saying the state reserve (``stockpile``, the scenario's ``[stockpile]``) neither
    bought nor sold in the run, and why, product by product: no buying rate, no stock, or a
    band the prices never reached; None if it traded or there is none. A reserve whose band
    the run never touches acts on nothing, and an analyst must hear so (an outside audit)."""
    if not stockpile.products:
        return None
    reserve = flows[(flows["to_stage"] == "state_reserve") ^ (flows["from_stage"] == "state_reserve")]
    if reserve["tonnes"].sum() > 0:
        return None
    price = domestic_prices(monthly).set_index(["product", "month"])["value"]
    anchor = monthly[monthly["variable"] == "price_long_run"].set_index(["product", "month"])["value"]
    why = []
    for product in stockpile.products:
        can_buy = stockpile.buy_t_per_yr.get(product, 0.0) > 0
        has_stock = stockpile.initial_stock_t.get(product, 0.0) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (price.xs(product) / anchor.xs(product)).replace([np.inf, -np.inf], np.nan).dropna()
        reasons = [f"its monthly price {ratio.min():.2f}-{ratio.max():.2f}x its long-run price"
                   if not ratio.empty else "no priced month"]
        if not can_buy:
            reasons.append("no buy_t_per_yr, so it buys none")
        if not can_buy and not has_stock:
            reasons.append("no initial_stock_t to release")
        why.append(f"{product}: {', '.join(reasons)}")
    return (f"the state reserve neither bought nor sold. It buys below {stockpile.buy_below_share:g}x and "
            f"releases above {stockpile.sell_above_share:g}x of a product's long-run price (the week's market "
            f"price, which the monthly index follows): " + "; ".join(why))


def year_labels(months: pd.Series, end=None) -> dict[str, str]:
    """``{"2019": "2019 (Jul-Dec)"}`` for each year the run covers only in part (its totals
    are of those months, not the calendar year's; with the run's ``end`` date, a last month it
    holds in part says so: "2026 (Jan-Dec 13)"); whole years keep their number."""
    out = {}
    for year in sorted({str(m)[:4] for m in months}):
        span = part_of_year(months, year, end)
        if span:
            out[year] = f"{year} ({span})"
    return out


def part_of_year(months, year: str | int, end=None) -> str:
    """The months of ``year`` that ``months`` (``YYYY-MM``) cover, as "Jan-Mar", when they
    cover it in part; "" when they cover all of it (or none). With the run's ``end`` date, a
    last month the run holds only in part (:func:`month_cut_short`) ends the span with its day.

    >>> part_of_year(["2024-01", "2024-02", "2024-03"], 2024), part_of_year(["2024-12"], 2024)
    ('Jan-Mar', 'Dec')
    >>> import datetime as dt
    >>> part_of_year([f"2026-{m:02d}" for m in range(1, 13)], 2026, dt.date(2026, 12, 13))
    'Jan-Dec 13'
    """
    import calendar
    have = sorted({int(str(m)[5:7]) for m in months if str(m).startswith(str(year))})
    cut = month_cut_short(end)
    cut_here = bool(have) and cut == f"{year}-{have[-1]:02d}"
    if not have or (len(have) == 12 and not cut_here):
        return ""
    first, last = calendar.month_abbr[have[0]], calendar.month_abbr[have[-1]]
    if cut_here:
        day = last_day_run(end).day         # the run covers the rest of the last week
        return f"{first} 1-{day}" if first == last else f"{first}-{last} {day}"
    return first if first == last else f"{first}-{last}"


# --- figures ---------------------------------------------------------------------------------
PRICE_PRODUCTS = ("prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide", "magnet_uh", "magnet_std")
#: the feeds' prices, drawn after the separated products in prices.png
FEED_PRICE_PRODUCTS = ("light_ore", "ionic_ore", "scrap_std", "scrap_uh")
PRICE_LABELS = {"prnd_oxide": "Pr-Nd oxide", "prnd_metal": "Pr-Nd metal", "dy_oxide": "Dy oxide",
                "tb_oxide": "Tb oxide", "magnet_uh": "52UH magnet blank", "magnet_std": "standard magnet blank",
                "light_ore": "rock-type (light) ore", "ionic_ore": "ion-adsorption ore",
                "scrap_std": "standard-grade scrap", "scrap_uh": "52UH scrap"}
BUYING_STAGES = ("separation_plants", "recyclers", "magnet_makers", "motor_makers", "overseas_buyers",
                 "state_reserve", "traders")
SELLING_STAGES = ("miners", "myanmar_holders", "overseas_miners")
MOM_LIMIT_PCT = 60.0     # month-on-month panels are clipped here, so they never dominate


def _months_x(months):
    from .figures import month_dates
    return month_dates(months)


def _stage_label(stage: str) -> str:
    return stage.replace("_", " ")


def _pivot(monthly: pd.DataFrame, variable: str, columns: str, months: list[str]) -> pd.DataFrame:
    """One variable by month and ``columns``, without series that are empty (all zero or missing):
    no line for a kind of firm the scenario does not have."""
    d = monthly[monthly["variable"] == variable].pivot_table(index="month", columns=columns, values="value",
                                                            aggfunc="sum").reindex(months)
    keep = [c for c in d.columns if d[c].fillna(0).abs().sum() > 0]
    return d[keep]


def figure_prices(monthly: pd.DataFrame, title: str = ""):
    """Monthly price indices, one panel per traded product, each in the market's quoted unit:
    China's index, its long-run price (the cost anchor it is pulled to, docs/ODD.md section
    7.6) and the export prices buyers abroad pay. The separated products come first; the
    ores (yuan/t REO) and the scrap last, since a Myanmar stop or a scrap rule shows there."""
    from matplotlib.figure import Figure

    from .figures import date_axis, label_lowest_panels
    months = sorted(monthly["month"].unique())
    x = _months_x(months)
    prices = monthly[monthly["variable"] == "price"]
    price = domestic_prices(monthly)
    anchor = monthly[monthly["variable"] == "price_long_run"]
    abroad = prices[prices["region"] != "china"]
    shown = [p for p in PRICE_PRODUCTS + FEED_PRICE_PRODUCTS if (price["product"] == p).any()]
    cols = 4
    rows = max(1, -(-len(shown) // cols))
    fig = Figure(figsize=(15, 3.2 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True)).ravel()
    for ax, product in zip(axes, shown):
        g = price[price["product"] == product].set_index("month").reindex(months)
        unit = g["unit"].dropna().iloc[0] if g["unit"].notna().any() else ""
        ax.plot(x, g["value"], color="tab:blue", label="China")
        a = anchor[anchor["product"] == product].set_index("month").reindex(months)["value"]
        if a.notna().any():
            ax.plot(x, a, color="0.45", ls=":", lw=1.2, label="long-run price")
        # export prices (with duty and freight), one dashed line per buyer region
        for region, e in abroad[abroad["product"] == product].groupby("region"):
            ax.plot(x, e.set_index("month").reindex(months)["value"], ls="--", lw=1, label=f"export, {region}")
        ax.legend(fontsize=7)
        ax.set_title(PRICE_LABELS.get(product, product), fontsize=10)
        ax.set_ylabel(unit + (" REO" if product in ("light_ore", "ionic_ore") and unit else ""))
        ax.grid(alpha=0.3)
        ax.yaxis.set_major_formatter("{x:,.0f}")
        date_axis(ax)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    label_lowest_panels(axes, len(shown), cols)
    fig.suptitle(f"Prices in China (solid), their long-run price (dotted) and for buyers abroad (dashed), "
                 f"monthly means in the market's units {title}".strip())
    return fig


def production_series(monthly: pd.DataFrame) -> dict[str, tuple[pd.Series, str]]:
    """The production series of the figures: name -> (monthly series, unit)."""
    prod = monthly[monthly["variable"] == "production"]
    oxides = prod["product"].isin(["prnd_oxide", "dy_oxide", "tb_oxide"])
    return {
        "mining in China": (prod[prod["stage"] == "miners"].groupby("month")["value"].sum(), "t REO per month"),
        "separated oxides": (prod[(prod["stage"] == "separation_plants") & oxides].groupby("month")["value"].sum(),
                             "t per month"),
        "recycled oxides": (prod[(prod["stage"] == "recyclers") & oxides].groupby("month")["value"].sum(),
                            "t per month"),
        "magnet blanks": (magnet_output(monthly), "t per month"),
    }


def month_on_month_pct(s: pd.Series) -> pd.Series:
    """Month-on-month change, %; missing where the month before is too small to compare
    (under 5 % of the series' median), so a restart from near zero does not show as +1,000 %."""
    prev = s.shift(1)
    floor = 0.05 * float(s[s > 0].median()) if (s > 0).any() else np.inf
    return (100.0 * (s / prev - 1.0)).where(prev > floor)


def figure_production(monthly: pd.DataFrame, title: str = ""):
    """Production by stage as monthly bars, each over a small month-on-month panel clipped at
    +-60 % (a clipped month is marked at the edge)."""
    from matplotlib.figure import Figure

    from .figures import date_axis
    months = sorted(monthly["month"].unique())
    x = _months_x(months)
    fig = Figure(figsize=(13, 7.5), layout="constrained")
    outer = fig.add_gridspec(2, 2)
    for cell, (name, (s, unit)) in zip(outer, production_series(monthly).items()):
        inner = cell.subgridspec(2, 1, height_ratios=[3, 1], hspace=0.05)
        ax = fig.add_subplot(inner[0])
        mom_ax = fig.add_subplot(inner[1], sharex=ax)
        s = s.reindex(months).fillna(0.0)
        ax.bar(x, s.to_numpy(), width=22, color="tab:gray")
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(unit)
        ax.yaxis.set_major_formatter("{x:,.0f}")
        ax.grid(alpha=0.3)
        ax.tick_params(labelbottom=False)
        mom = month_on_month_pct(s).to_numpy()
        shown = np.clip(mom, -MOM_LIMIT_PCT, MOM_LIMIT_PCT)
        colours = np.where(np.nan_to_num(mom) >= 0, "tab:green", "tab:red")
        mom_ax.bar(x, np.nan_to_num(shown), width=22, color=colours)
        over = np.abs(np.nan_to_num(mom)) > MOM_LIMIT_PCT
        if over.any():
            mom_ax.scatter(x[over], shown[over], marker="^", s=12, color="k", zorder=3)
        mom_ax.axhline(0, color="k", lw=0.5)
        mom_ax.set_ylim(-MOM_LIMIT_PCT * 1.1, MOM_LIMIT_PCT * 1.1)
        mom_ax.set_ylabel("MoM %", fontsize=8)
        mom_ax.tick_params(axis="y", labelsize=7)
        mom_ax.grid(alpha=0.3)
        date_axis(mom_ax)
    fig.suptitle(f"Production by stage; below each, month-on-month change in % (clipped at "
                 f"+-{MOM_LIMIT_PCT:.0f} %, marked) {title}".strip())
    return fig


def _by_series(monthly: pd.DataFrame, variable: str, columns: str, title: str, ylabel: str, draw,
               ncol: int = 5):
    """One panel of ``variable`` by month and ``columns`` (empty series left out), each
    series drawn by ``draw(ax, x, values, label)``."""
    from matplotlib.figure import Figure

    from .figures import date_axis
    months = sorted(monthly["month"].unique())
    x = _months_x(months)
    d = _pivot(monthly, variable, columns, months)
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax = fig.subplots()
    for col in d.columns:
        if columns == "stage":        # each stage in its own colour, the same in every figure
            ax.set_prop_cycle(color=[STAGE_COLOURS.get(col, "tab:gray")])
        draw(ax, x, d[col].fillna(0.0).to_numpy() if variable == "exports" else d[col].to_numpy(),
             _stage_label(col))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(d.columns):
        ax.legend(ncol=ncol, fontsize=8)
    ax.grid(alpha=0.3)
    date_axis(ax)
    return fig


def figure_exports(monthly: pd.DataFrame, title: str = ""):
    """Magnet exports by destination region, stacked monthly bars."""
    bottom: list[np.ndarray] = []

    def bar(ax, x, y, label):
        base = bottom[-1] if bottom else np.zeros(len(y))
        ax.bar(x, y, width=22, bottom=base, label=label)
        bottom.append(base + y)

    magnets = monthly[(monthly["variable"] != "exports") | monthly["product"].isin(MAGNETS)]
    fig = _by_series(magnets, "exports", "region", f"Magnet exports by destination region {title}".strip(),
                     "t per month", bar)
    fig.axes[0].yaxis.set_major_formatter("{x:,.0f}")
    return fig


def figure_stock_cover(monthly: pd.DataFrame, title: str = ""):
    """Stock cover by stage: buyers' input stock (days of planned use), and ore sellers'
    finished stock (days of orders, log scale: Myanmar's holders hold years of it)."""
    from matplotlib.figure import Figure

    from .figures import date_axis
    months = sorted(monthly["month"].unique())
    x = _months_x(months)
    d = _pivot(monthly, "stock_cover_days", "stage", months)
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for ax, stages, what in ((axes[0], BUYING_STAGES, "input stock, days of planned use"),
                             (axes[1], SELLING_STAGES, "finished stock, days of orders (log scale)")):
        cols = [s for s in stages if s in d.columns]
        for col in cols:
            ax.plot(x, d[col].to_numpy(), label=_stage_label(col), color=STAGE_COLOURS.get(col, "tab:gray"))
        ax.set_ylabel("days")
        ax.set_title(what, fontsize=10)
        if cols:
            ax.legend(fontsize=8, ncol=2)
        ax.grid(alpha=0.3)
        date_axis(ax)
    if any(s in d.columns for s in SELLING_STAGES):
        axes[1].set_yscale("log")
    fig.suptitle(f"Stock cover by stage {title}".strip())
    return fig


#: the orders figure: what each buying stage orders (its main inputs) against what it uses or
#: makes of them, both from monthly.csv: (stage, products ordered, variable, products of it)
ORDERS_AGAINST = (("motor_makers", ("magnet_std", "magnet_uh"), "use", None),
                  ("overseas_buyers", ("magnet_std", "magnet_uh"), "use", ("all",)),
                  ("magnet_makers", ("prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide"), "production",
                   ("magnet_std", "magnet_uh")),
                  ("recyclers", ("scrap_std", "scrap_uh"), "production", None),
                  ("separation_plants", ("light_ore", "ionic_ore"), "production", ("prnd_oxide", "dy_oxide",
                                                                                    "tb_oxide")))


def orders_against_use(monthly: pd.DataFrame) -> pd.DataFrame:
    """Each buying stage's orders for its main inputs over what it uses (end users) or makes
    (firms that transform them) per month, as % of the run's mean of that ratio: 100 is
    ordering at its usual pace for what it uses; above, ordering ahead (restocking); below,
    waiting. Stages the scenario lacks are left out. Month x stage."""
    months = sorted(monthly["month"].unique())
    out = pd.DataFrame(index=pd.Index(months, name="month"))
    for stage, ordered, variable, used in ORDERS_AGAINST:
        rows = monthly[monthly["stage"] == stage]
        orders = rows[(rows["variable"] == "orders") & rows["product"].isin(ordered)].groupby("month")["value"].sum()
        base = rows[rows["variable"] == variable]
        if used is not None:
            base = base[base["product"].isin(used)]
        base = base.groupby("month")["value"].sum()
        ratio = (orders / base.where(base > 0)).reindex(months)
        mean = float(ratio.mean()) if ratio.notna().any() else 0.0
        if mean > 0:
            out[stage] = 100.0 * ratio / mean
    return out


def figure_orders(monthly: pd.DataFrame, title: str = ""):
    """Orders against use by stage (:func:`orders_against_use`): a restocking wave shows as
    stages ordering ahead of use, a wait-and-see lull as stages ordering less than they use,
    and the bullwhip as swings that grow from one stage to the next up the chain."""
    from matplotlib.figure import Figure

    from .figures import date_axis
    d = orders_against_use(monthly)
    x = _months_x(list(d.index))
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax = fig.subplots()
    words = {"use": "use", "production": "output"}
    for stage, ordered, variable, _ in ORDERS_AGAINST:
        if stage in d.columns:
            ax.plot(x, d[stage].to_numpy(), color=STAGE_COLOURS.get(stage, "tab:gray"),
                    label=f"{_stage_label(stage)}: {' + '.join(p.replace('_', ' ') for p in ordered)} "
                          f"ordered over {words[variable]}")
    ax.axhline(100, color="k", lw=0.5)
    ax.set_ylabel("orders over use, % of the run's mean")
    ax.set_title(f"Orders against use by stage (above 100: ordering ahead, restocking; below: waiting) "
                 f"{title}".strip())
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    date_axis(ax)
    return fig


def figure_sentiment(monthly: pd.DataFrame, title: str = ""):
    """Mood by stage: the mean expected relative price change of each stage's firms, %."""
    fig = _by_series(monthly, "sentiment", "stage",
                     f"Sentiment by stage (above 0: prices expected to rise, buyers restock and sellers hold "
                     f"back; below: buyers wait) {title}".strip(),
                     "expected price change, %", lambda ax, x, y, label: ax.plot(x, 100 * y, label=label),
                     ncol=4)
    fig.axes[0].axhline(0, color="k", lw=0.5)
    return fig


#: the run's figures: file name -> function of (monthly, title) returning a Figure
FIGURES = {
    "prices.png": figure_prices,
    "production.png": figure_production,
    "exports.png": figure_exports,
    "stock_cover.png": figure_stock_cover,
    "sentiment.png": figure_sentiment,
    "orders.png": figure_orders,
}


def write_figures(monthly: pd.DataFrame, out_dir, title: str = "") -> list[str]:
    """Write the standard PNG figures; returns their file names."""
    from pathlib import Path

    out_dir = Path(out_dir)
    files = []
    for name, make in FIGURES.items():
        fig = make(monthly, title)
        fig.savefig(out_dir / name, dpi=110)
        files.append(name)
    return files


# --- words for figures over seeds (compare's tables and the HTML report) ----------------------
def months_text(v: float) -> str:
    """A mean of months over seeds: whole where it is (0 only for "never left" in every seed),
    else to one decimal (a mean of 0 and 1 is 0.5, not "0"; 2.5 is not rounded to 2)."""
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def not_by_end(year: int | str | None = None) -> str:
    """What a recovery that did not happen is called: by the end of the run, or of ``year``
    when the key figures are of one year (``compare --year``)."""
    return f"not by the end of {year}" if year else "not by the end"


def not_recovered_text(values: pd.Series, year: int | str | None = None) -> str:
    """``not by the end in 1 of 2 seeds (the other: 12)``: a mean of months over seeds is given
    only when every seed's price came back; the others' months are still said."""
    back = [months_text(x) for x in values if np.isfinite(x)]
    others = f" (the other{'s' if len(back) > 1 else ''}: {', '.join(back)})" if back else ""
    return f"{not_by_end(year)} in {int(values.isna().sum())} of {len(values)} seeds{others}"


def band_words(n_seeds: int) -> str:
    """What the band of ``n_seeds`` seeds is, in words: the 5 % and 95 % quantiles of the seeds'
    values, which with few seeds lie just inside the lowest and highest run (two seeds: 90 % of
    the way between them), a spread of the runs and not a 90 % interval of what other seeds
    would give (an outside analyst read "[5 %, 95 %]" from two seeds as the latter)."""
    few = (f" (from {n_seeds} seeds they lie just inside the lowest and highest run: the runs' spread, "
           f"not an interval other seeds would fall in; more seeds, --replicates 20 or so, make it one)"
           if n_seeds < 20 else "")
    return f"the 5 % and 95 % quantiles of the {n_seeds} seeds' values{few}"
