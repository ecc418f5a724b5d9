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

from .policy import QUOTA_TYPES

if TYPE_CHECKING:
    from .model import ChainModel

__all__ = ["monthly_table", "flows_table", "kpis", "write_figures", "summary_table", "COLUMNS"]

COLUMNS = ["month", "stage", "product", "region", "variable", "value", "unit"]
MAGNETS = ("magnet_std", "magnet_uh")
OXIDES_METAL = ("prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide")


def _month_means(m: "ChainModel", weekly: np.ndarray) -> np.ndarray:
    """Weekly levels averaged into months (weighted by the days each week gives a month)."""
    w = m.world.calendar.month_weights
    tot = w.sum(axis=0)
    norm = np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)
    x = np.nan_to_num(weekly)
    return np.tensordot(norm, x, axes=([0], [0]))


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
            if prod[:, s, k].any():
                tab.add(stage, product, region, "production", prod[:, s, k], "t")
            if orders[:, s, k].any():
                tab.add(stage, product, region, "orders", orders[:, s, k], "t")
    exp = cal.to_months(r.exports)                     # [month, stage, product, region]
    for s, stage in enumerate(stages):
        for k, product in enumerate(P):
            for g, region in enumerate(m.world.regions):
                if exp[:, s, k, g].any():
                    tab.add(stage, product, region, "exports", exp[:, s, k, g], "t")
    tab.add("separation_plants", "ore", "abroad", "imports", cal.to_months(r.imports), "t REO")
    price = _month_means(m, r.price)
    long_run = _month_means(m, r.long_run_price)
    cover = _month_means(m, r.market_cover)
    spot = cal.to_months(r.spot)
    for k, product in enumerate(P):
        unit = mat.price_unit[product]
        tab.add("market", product, "china", "price", price[:, k], unit)
        tab.add("market", product, "china", "price_long_run", long_run[:, k], unit)
        tab.add("market", product, "china", "market_cover_weeks", cover[:, k], "weeks")
        tab.add("market", product, "china", "spot_traded", spot[:, k], "t")
    # export prices (the price in a buyer region's name) where buyers abroad buy the product;
    # oxides and metal used abroad
    xp = _month_means(m, r.export_price)                 # [month, product, region]
    buys_abroad = np.zeros((len(P), len(m.world.regions)), bool)
    ab = m.world.abroad_buys
    buys_abroad[m.world.buys.product[ab], m.world.firms.region[m.world.buys.firm[ab]]] = True
    for k, g in zip(*np.nonzero(buys_abroad)):
        tab.add("market", P[k], m.world.regions[g], "price", xp[:, k, g], mat.price_unit[P[k]])
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
    want = cal.to_months(r.use_want)
    got = cal.to_months(r.use_got)
    for g, group in enumerate(r.groups):
        is_region = group in m.world.scenario.regions
        stage = "overseas_buyers" if is_region else "motor_makers"
        region = group if is_region else "china"
        sector = "all" if is_region else group
        tab.add(stage, sector, region, "demand", want[:, g], "t")
        tab.add(stage, sector, region, "use", got[:, g], "t")
        tab.add(stage, sector, region, "shortfall", want[:, g] - got[:, g], "t")
    lic = {"licences_pending": (_month_means(m, r.lic_pending_n), "applications"),
           "licences_pending_t": (_month_means(m, r.lic_pending_t), "t"),
           "licences_applied": (cal.to_months(r.licences_applied), "t"),
           "licences_granted": (cal.to_months(r.lic_granted), "t"),
           "licences_refused": (cal.to_months(r.lic_refused), "t")}
    for var, (vals, unit) in lic.items():
        tab.add("overseas_buyers", "controlled", "overseas", var, vals, unit)
    used = cal.to_months(r.quota_used)
    issued = _month_means(m, np.nan_to_num(r.quota_issued, nan=0.0))
    for q, qtype in enumerate(QUOTA_TYPES):
        stage = "separation_plants" if qtype == "separation" else "miners"
        tab.add(stage, qtype, "china", "quota_used", used[:, q], "t REO")
        tab.add(stage, qtype, "china", "quota_issued", issued[:, q], "t REO")
    tab.add("recyclers", "scrap", "china", "eol_collected", cal.to_months(r.eol), "t")
    tab.add("myanmar_holders", "ionic_ore", "abroad", "offer_share",
            _month_means(m, np.nan_to_num(r.offer_share, nan=1.0)), "share of stock offered")
    return tab.frame(COLUMNS)


FLOW_COLUMNS = ["month", "from_stage", "to_stage", "product", "region", "tonnes"]


ABROAD_STAGES = ("myanmar_holders", "overseas_miners")


def flows_table(m: "ChainModel") -> pd.DataFrame:
    """Monthly tonnes shipped between stages, by product.

    ``region`` is where the goods go abroad or come from: shipments to overseas buyers are
    split by destination region (each counted once, from the stage that shipped it; from
    Chinese stages they add up to the ``exports`` of :func:`monthly_table`, from producers
    abroad to its ``sales_abroad``), shipments from ore holders abroad are
    "abroad" (they add up to its ``imports``), all others "china".
    """
    r, cal, mat = m.recorder, m.world.calendar, m.world.materials
    stages, regions = m.world.stages, m.world.regions
    fl = cal.to_months(r.flows)            # [month, from, to, product]
    exp = cal.to_months(r.exports)         # [month, from, product, region]
    foreign = stages.index("foreign_producers")
    exp[:, foreign] = cal.to_months(r.sales_abroad)      # producers abroad sell to buyers abroad only
    over = stages.index("overseas_buyers")
    months = cal.months
    meta, values = [], []
    for a, src in enumerate(stages):
        for b, dst in enumerate(stages):
            for k, product in enumerate(mat.products):
                if b == over:
                    for g, region in enumerate(regions):
                        if exp[:, a, k, g].any():
                            meta.append((src, dst, product, region))
                            values.append(exp[:, a, k, g])
                elif fl[:, a, b, k].any():
                    meta.append((src, dst, product, "abroad" if src in ABROAD_STAGES else "china"))
                    values.append(fl[:, a, b, k])
    if not meta:
        return pd.DataFrame(columns=FLOW_COLUMNS)
    n, kk = len(months), len(meta)
    meta_a = np.array(meta, dtype=object).reshape(kk, 4)
    data = {"month": np.tile(np.array(months, dtype=object), kk)}
    for j, name in enumerate(("from_stage", "to_stage", "product", "region")):
        data[name] = np.repeat(meta_a[:, j], n)
    data["tonnes"] = np.round(np.concatenate(values), 6)
    return pd.DataFrame(data)[FLOW_COLUMNS]


def domestic_prices(monthly: pd.DataFrame) -> pd.DataFrame:
    """The rows of China's market prices (export prices carry the buyer region's name)."""
    return monthly[(monthly["variable"] == "price") & (monthly["region"] == "china")]


def series_of(df: pd.DataFrame, variable: str, **match) -> pd.Series:
    """One monthly series of a monthly table, summed over whatever ``match`` leaves open."""
    sel = df["variable"] == variable
    for k, v in match.items():
        sel &= df[k] == v
    return df[sel].groupby("month")["value"].sum()


def magnet_output(monthly: pd.DataFrame) -> pd.Series:
    """Sintered blanks produced per month, t."""
    sel = (monthly["variable"] == "production") & (monthly["stage"] == "magnet_makers") \
        & monthly["product"].isin(MAGNETS)
    return monthly[sel].groupby("month")["value"].sum()


def kpis(monthly: pd.DataFrame, flows: pd.DataFrame | None = None) -> dict[str, float]:
    """Headline figures of a run, from its monthly table.

    Prices are in market units; tonnes in t. Names carry their unit or meaning.
    """
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
    export_price = prices[prices["region"] != "china"].groupby(["product", "month"])["value"].mean()
    for product in export_price.index.get_level_values(0).unique():
        home = price[price["product"] == product].set_index("month")["value"]
        gap = 100.0 * (export_price[product] / home.reindex(export_price[product].index) - 1.0)
        out[f"export_price_gap_peak_{product}_pct"] = float(gap.max())
    short = monthly[monthly["variable"] == "shortfall"]
    abroad = short[short["stage"] == "overseas_buyers"]
    out["shortfall_overseas_t"] = float(abroad[~abroad["product"].isin(OXIDES_METAL)]["value"].sum())
    if abroad["product"].isin(OXIDES_METAL).any():
        out["shortfall_overseas_oxide_metal_t"] = float(abroad[abroad["product"].isin(OXIDES_METAL)]["value"].sum())
    out["shortfall_domestic_t"] = float(short[short["stage"] == "motor_makers"]["value"].sum())
    prod = monthly[monthly["variable"] == "production"]
    oxides = prod[prod["product"].isin(["prnd_oxide", "dy_oxide", "tb_oxide"])]
    total = oxides["value"].sum()
    out["recycled_share_of_oxide"] = float(oxides[oxides["stage"] == "recyclers"]["value"].sum() / total) \
        if total > 0 else 0.0
    out["licences_granted_t"] = float(monthly[monthly["variable"] == "licences_granted"]["value"].sum())
    out["licences_refused_t"] = float(monthly[monthly["variable"] == "licences_refused"]["value"].sum())
    for mo in ("2025-10", "2025-11"):
        prev = (pd.Period(mo, "M") - 1).strftime("%Y-%m")
        if mo in mag.index and prev in mag.index and mag[prev] > 0:
            out[f"magnet_output_mom_{mo}_pct"] = float(100 * (mag[mo] / mag[prev] - 1))
    return out


def summary_table(monthly: pd.DataFrame) -> pd.DataFrame:
    """Annual totals and mean prices: the table the CLI prints."""
    df = monthly.copy()
    df["year"] = df["month"].str[:4]
    rows = []
    prod = df[df["variable"] == "production"]
    for (stage, product), g in prod.groupby(["stage", "product"]):
        if product.startswith("scrap"):
            continue
        for y, v in g.groupby("year")["value"].sum().items():
            rows.append(("production", f"{stage}/{product}", y, v, "t"))
    exported = df[df["variable"] == "exports"]
    for item, sel in (("magnets", exported["product"].isin(MAGNETS)),
                      ("oxides and metal", ~exported["product"].isin(MAGNETS))):
        for y, v in exported[sel].groupby("year")["value"].sum().items():
            rows.append(("exports", item, y, v, "t"))
    for y, v in df[df["variable"] == "shortfall"].groupby("year")["value"].sum().items():
        rows.append(("shortfall", "all users", y, v, "t"))
    for (product, unit), g in domestic_prices(df).groupby(["product", "unit"]):
        for y, v in g.groupby("year")["value"].mean().items():
            rows.append(("mean price", product, y, v, unit))
    t = pd.DataFrame(rows, columns=["what", "item", "year", "value", "unit"])
    return t.pivot_table(index=["what", "item", "unit"], columns="year", values="value", aggfunc="sum")


def write_figures(monthly: pd.DataFrame, out_dir, title: str = "") -> list[str]:
    """Write the standard PNG figures; returns their file names."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path

    out_dir = Path(out_dir)
    files = []
    months = sorted(monthly["month"].unique())
    x = pd.to_datetime(months)

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        files.append(name)

    price = domestic_prices(monthly)
    shown = ["prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide", "magnet_uh", "magnet_std"]
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), sharex=True)
    for ax, product in zip(axes.flat, shown):
        g = price[price["product"] == product].set_index("month").reindex(months)
        ax.plot(x, g["value"], color="tab:blue")
        ax.set_title(f"{product} ({g['unit'].dropna().iloc[0] if g['unit'].notna().any() else ''})", fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Price indices {title}")
    save(fig, "prices.png")

    prod = monthly[monthly["variable"] == "production"]
    series = {
        "mining (t REO)": prod[prod["stage"] == "miners"].groupby("month")["value"].sum(),
        "separated oxides (t)": prod[(prod["stage"] == "separation_plants")
                                     & prod["product"].str.endswith("oxide")].groupby("month")["value"].sum(),
        "recycled oxides (t)": prod[prod["stage"] == "recyclers"].groupby("month")["value"].sum(),
        "magnet blanks (t)": magnet_output(monthly),
    }
    fig, axes = plt.subplots(2, 2, figsize=(13, 6.5), sharex=True)
    for ax, (name, s) in zip(axes.flat, series.items()):
        s = s.reindex(months).fillna(0.0)
        ax.bar(x, s.values, width=20, color="tab:gray")
        ax.set_title(name, fontsize=10)
        ax2 = ax.twinx()
        mom = 100 * s.pct_change().replace([np.inf, -np.inf], np.nan)
        ax2.plot(x, mom.values, color="tab:red", lw=1)
        ax2.axhline(0, color="tab:red", lw=0.5, ls=":")
        ax2.set_ylabel("MoM %", color="tab:red")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Production by stage, with month-on-month change {title}")
    save(fig, "production.png")

    exp = monthly[monthly["variable"] == "exports"].pivot_table(index="month", columns="region", values="value",
                                                               aggfunc="sum").reindex(months).fillna(0.0)
    fig, ax = plt.subplots(figsize=(12, 4.5))
    bottom = np.zeros(len(months))
    for col in exp.columns:
        ax.bar(x, exp[col].values, width=20, bottom=bottom, label=col)
        bottom += exp[col].values
    ax.set_ylabel("t")
    ax.set_title(f"Magnet exports by region {title}")
    ax.legend(ncol=5, fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "exports.png")

    for var, name, ylabel in (("stock_cover_days", "stock_cover.png", "days"),
                              ("sentiment", "sentiment.png", "expected relative price change")):
        d = monthly[monthly["variable"] == var].pivot_table(index="month", columns="stage", values="value"
                                                           ).reindex(months)
        fig, ax = plt.subplots(figsize=(12, 4.5))
        for col in d.columns:
            ax.plot(x, d[col].values, label=col)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{var.replace('_', ' ')} by stage {title}")
        ax.legend(ncol=4, fontsize=8)
        ax.grid(alpha=0.3)
        if var == "sentiment":
            ax.axhline(0, color="k", lw=0.5)
        save(fig, name)
    return files
