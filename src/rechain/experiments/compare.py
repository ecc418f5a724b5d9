"""Side-by-side comparison of scenarios: ``rechain compare A B [...]``.

Every scenario runs with the same seeds (or a finished run is read from
``outputs/<name>-seed<N>/`` when its ``manifest.json`` carries the same scenario hash), and
the first scenario is the reference, normally the baseline. The comparison goes to
``outputs/compare-<names>/``:

- ``kpis.csv`` / ``kpis.md``: one row per key figure, one column per scenario (the mean
  over seeds; with ``--replicates`` the Markdown also shows the 5 % and 95 % quantiles across
  seeds, :func:`band_words`);
- ``kpis_long.csv``: scenario, kpi, unit, mean, p05, p95, seeds (tidy);
- ``kpis_by_seed.csv``: every key figure of every run;
- ``series.csv``: the overlaid monthly series of every run (scenario, seed, month, series, value);
- ``overview.png`` and one ``<series>.png`` per main series: the scenarios overlaid (with
  ``--replicates``, the mean across seeds and the 5-95 % quantile band).

The key figures are those of :func:`rechain.report.kpis` plus, against the first scenario,
the months until prices return within 10 % of it and the change of domestic magnet output.
Each is taken over the months every scenario has: a scenario that shares no month with the
reference is refused before any run, and when the periods differ the key figures cover only
the shared months (like for like), a warning says so, and ``kpis.md``, ``compare.json`` and
the HTML report carry the same line; the overlaid series keep each scenario's own months.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import pandas as pd

from ..options import NonEmptyPath, WholeNumber
from ..report import band_words, months_text, not_by_end, not_recovered_text
from ..report import kpis as run_kpis
from ..report import CHINA_OXIDE_STAGES, COLUMNS, MAGNETS, TEXT_COLUMNS, domestic_prices, magnet_output, \
    not_as_written
from ..outputs import check_output_dir, code_fingerprint, default_folder, not_run_of, output_dir, rows_written
from ..randomness import is_whole_seed
from ..scenario import OptionError, Scenario, ScenarioError, load_scenario, scenario_hash
from .executor import MAX_SEEDS, MAX_WORKERS, check_count, open_executor

__all__ = ["compare", "Comparison", "compare_command", "MAIN_PRODUCTS", "SERIES", "recovery_months", "seed_quantile"]

#: Products whose prices the table reports.
MAIN_PRODUCTS = ("prnd_oxide", "prnd_metal", "dy_oxide", "tb_oxide", "magnet_std", "magnet_uh")

#: The overlaid series: key -> (title, unit).
SERIES = {
    "price_prnd_oxide": ("Pr-Nd oxide price", "yuan/t"),
    "price_dy_oxide": ("Dy oxide price", "yuan/kg"),
    "price_tb_oxide": ("Tb oxide price", "yuan/kg"),
    "magnet_output": ("Magnet output (sintered blanks)", "t/month"),
    "exports": ("Magnet exports", "t/month"),
    "dytb_oxide_output": ("Dy + Tb oxide output (separation + recycling)", "t/month"),
}

RECOVERY_BAND = 0.10   # prices "return" when within 10 % of the reference scenario's


@dataclass
class Comparison:
    """What :func:`compare` produced.

    Attributes
    ----------
    names : scenario names, the reference first
    seeds : the seeds every scenario ran with
    kpis : wide table, index (kpi, unit), one column per scenario (mean over seeds)
    kpis_long : tidy table scenario, kpi, unit, mean, p05, p95, seeds
    by_seed : every key figure of every run (scenario, seed, kpi, value)
    series : monthly series (scenario, seed, month, series, value)
    out_dir : where the files were written (None if nothing was written)
    reused : runs read from finished run folders instead of being run
    period_note : when the scenarios' periods differ, a line saying so ("" when they are the same)
    peak_note : when a product's peak price is the same in every scenario (:func:`shared_peaks`), a line saying so
    same_note : when a scenario ran exactly as the reference (:func:`same_as_reference`), a line saying so
    year_note : when the key figures are of one year (``year``), a line saying which months
    """

    names: list[str]
    seeds: list[int]
    kpis: pd.DataFrame
    kpis_long: pd.DataFrame
    by_seed: pd.DataFrame
    series: pd.DataFrame
    out_dir: Path | None
    reused: list[str]
    period_note: str = ""
    peak_note: str = ""
    same_note: str = ""
    year_note: str = ""
    year: int | None = None

    def markdown(self, band: bool = False) -> str:
        return _markdown(self, band)


# ---------------------------------------------------------------------------------------
# runs
# ---------------------------------------------------------------------------------------
def _run_one(task: tuple[Scenario, int]) -> tuple[str, int, pd.DataFrame, float]:
    """Worker: run one scenario with one seed; returns its monthly table."""
    from ..accounting import RunBrokeDown
    from ..results import run
    sc, seed = task
    t0 = time.perf_counter()
    try:
        res = run(sc, seed=seed)
    except RunBrokeDown as e:       # say which of the scenarios compared, not the first given
        files = getattr(sc, "_files", [])
        e.where = f"{files[-1] if files else sc.name} (seed {seed})"
        raise
    return sc.name, seed, res.monthly, time.perf_counter() - t0


def _first_last_month(sc: Scenario) -> tuple[str, str]:
    """The first and last month a run of ``sc`` tables: a month of which the period holds only
    days China does not work (``end = 2025-05-01``) is left out of the tables."""
    from ..calendar import Calendar
    months = Calendar.build(sc.start, sc.end, holidays=None if sc.holidays else {}).months
    return months[0], months[-1]


def _finished_run(runs_dir: Path, sc: Scenario, seed: int) -> tuple[pd.DataFrame | None, str | None]:
    """The monthly table of a finished run of exactly this scenario and seed, if there is one;
    else None and, where its folder is there, why it is not reused (in words)."""
    folder = runs_dir / f"{sc.name}-seed{seed}"
    if not folder.exists():
        return None, None
    why = not_run_of(folder, scenario_hash(sc), seed)
    if why is not None:
        return None, why
    cut = "its monthly.csv is not the table rechain wrote"
    try:
        monthly = pd.read_csv(folder / "monthly.csv", dtype=TEXT_COLUMNS)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, pd.errors.ParserError):
        return None, cut
    wrote = rows_written(manifest, "monthly.csv") if isinstance(manifest, dict) else None
    if wrote is not None and len(monthly) != wrote:
        return None, cut
    # a table edited or cut short since is not that run's: run it again rather than report on it
    if not set(COLUMNS) <= set(monthly.columns) or not (monthly["variable"] == "price").any() \
            or (monthly["month"].min(), monthly["month"].max()) != _first_last_month(sc) \
            or not_as_written(monthly) is not None:
        return None, cut
    return monthly, None


# ---------------------------------------------------------------------------------------
# figures and key figures
# ---------------------------------------------------------------------------------------
def main_series(monthly: pd.DataFrame) -> pd.DataFrame:
    """The overlaid series of one run, one column each, indexed by month."""
    price = domestic_prices(monthly).pivot_table(index="month", columns="product", values="value")
    prod = monthly[monthly["variable"] == "production"]
    dytb = prod[prod["product"].isin(["dy_oxide", "tb_oxide"]) & prod["stage"].isin(CHINA_OXIDE_STAGES)
                ].groupby("month")["value"].sum()
    # magnets only, as the key figure exports_t: oxide and metal tonnes do not add to magnets'
    exported = monthly[monthly["variable"] == "exports"]
    exports = exported[exported["product"].isin(MAGNETS)].groupby("month")["value"].sum()
    months = sorted(monthly["month"].unique())
    out = pd.DataFrame(index=pd.Index(months, name="month"))
    for p in ("prnd_oxide", "dy_oxide", "tb_oxide"):
        out[f"price_{p}"] = price[p] if p in price else np.nan
    out["magnet_output"] = magnet_output(monthly)
    out["exports"] = exports
    out["dytb_oxide_output"] = dytb
    return out.reindex(months).fillna({"magnet_output": 0.0, "exports": 0.0, "dytb_oxide_output": 0.0})


def seed_quantile(values: np.ndarray, q: float, missing_is_longest: bool = False) -> float:
    """The ``q`` quantile across seeds (linear, as numpy's). Missing values are left out, unless
    ``missing_is_longest``: a recovery that did not happen by the end ranks above every other,
    and a quantile that reaches it is missing too (nan: "not by end"), not the returned seeds'.

    >>> seed_quantile(np.array([0.0, np.nan]), 0.95), seed_quantile(np.array([0.0, np.nan]), 0.95, True)
    (0.0, nan)
    >>> seed_quantile(np.array([4.0, 2.0, np.nan, 6.0]), 0.5, True)
    5.0
    """
    finite = np.sort(values[np.isfinite(values)])
    n = len(values) if missing_is_longest else len(finite)
    if n == 0 or len(finite) == 0:
        return float("nan")
    h = (n - 1) * q
    lo, hi = int(np.floor(h)), int(np.ceil(h))
    if hi >= len(finite):
        return float("nan")
    return float(finite[lo] + (h - lo) * (finite[hi] - finite[lo]))


def recovery_months(price: pd.Series, reference: pd.Series, band: float = RECOVERY_BAND) -> float:
    """Months from the first month ``price`` is more than ``band`` away from ``reference``
    until the month from which it stays within the band to the end of the run.

    0 if it never leaves the band; ``nan`` if it has not returned by the end. Only the months
    both series have count (a run longer than its reference is judged up to the reference's
    end: a month without a reference is not a month within the band).

    >>> months = ["2024-01", "2024-02", "2024-03", "2024-04"]
    >>> recovery_months(pd.Series([100.0, 130.0, 105.0, 90.0], months), pd.Series([100.0] * 3, months[:3]))
    1.0
    >>> recovery_months(pd.Series([100.0, 100.0, 130.0, 100.0], months), pd.Series([100.0] * 3, months[:3]))
    nan
    """
    both = pd.concat([price, reference], axis=1, join="inner").dropna().sort_index()
    if both.empty:
        return float("nan")
    rel = (both.iloc[:, 0] / both.iloc[:, 1] - 1.0).abs()
    out = (rel > band).to_numpy()
    if not out.any():
        return 0.0
    first = int(np.argmax(out))
    last = len(out) - 1 - int(np.argmax(out[::-1]))
    if last == len(out) - 1:
        return float("nan")
    return float(last + 1 - first)


def _units(monthly: pd.DataFrame) -> dict[str, str]:
    price = domestic_prices(monthly).drop_duplicates("product")
    return dict(zip(price["product"], price["unit"]))


def _kpis_of_run(monthly: pd.DataFrame, ref: pd.DataFrame | None) -> dict[str, float]:
    k = run_kpis(monthly)
    out: dict[str, float] = {}
    for p in MAIN_PRODUCTS:
        out[f"price_peak_{p}"] = k.get(f"price_peak_{p}", np.nan)
        out[f"price_mean_{p}"] = k.get(f"price_mean_{p}", np.nan)
    price = domestic_prices(monthly).pivot_table(index="month", columns="product", values="value")
    rprice = None if ref is None else domestic_prices(ref).pivot_table(
        index="month", columns="product", values="value")
    for p in MAIN_PRODUCTS:
        if rprice is None or p not in price or p not in rprice:
            out[f"months_to_recover_{p}"] = 0.0
        else:
            out[f"months_to_recover_{p}"] = recovery_months(price[p], rprice[p])
    out["shortfall_overseas_t"] = k["shortfall_overseas_t"]
    # buyers abroad of oxide and metal (magnet makers abroad): an export ban on Dy/Tb oxide
    # falls on them, and the magnets-only figure above would show it as costless
    out["shortfall_overseas_oxide_metal_t"] = k.get("shortfall_overseas_oxide_metal_t", 0.0)
    out["shortfall_domestic_t"] = k["shortfall_domestic_t"]
    mag = float(magnet_output(monthly).sum())
    out["magnet_output_t"] = mag
    ref_mag = mag if ref is None else float(magnet_output(ref).sum())
    out["magnet_output_change_t"] = mag - ref_mag
    out["magnet_output_change_pct"] = 100.0 * (mag / ref_mag - 1.0) if ref_mag > 0 else np.nan
    # magnets, as its label and the single run's report have it (oxides and metal were counted too)
    exported = monthly[monthly["variable"] == "exports"]
    magnets = exported["product"].isin(MAGNETS)
    out["exports_t"] = float(exported.loc[magnets, "value"].sum())
    out["exports_oxide_metal_t"] = float(exported.loc[~magnets, "value"].sum())
    out["recycled_share_of_oxide"] = k["recycled_share_of_oxide"]
    out["licences_granted_t"] = k["licences_granted_t"]
    out["licences_refused_t"] = k["licences_refused_t"]
    # what buyers abroad pay over China's price: the price effect of export licences and quotas
    for p in MAIN_PRODUCTS:
        if f"export_price_gap_peak_{p}_pct" in k:
            out[f"export_price_gap_peak_{p}_pct"] = k[f"export_price_gap_peak_{p}_pct"]
    return out


def same_as_reference(monthly: dict, names: list[str], seeds: list[int]) -> list[str]:
    """The scenarios after the reference (``names[0]``) whose every monthly figure equals the
    reference's, seed by seed, leaving out the inputs a run echoes (quotas issued, capacity)
    and an export quota's own rows (its use is the exports it covers, compared as exports; a
    scenario without the quota has no such rows): nothing they change acted in the period (a
    quota that never binds, a date after the end), so the comparison tells nothing about them."""
    key = ["month", "stage", "product", "region", "variable"]

    def table(name: str, seed: int) -> pd.Series:
        m = monthly[(name, seed)]
        variable = m["variable"]
        echoed = variable.str.endswith("_issued") | (variable == "capacity") | variable.str.startswith("export_quota")
        return m[~echoed].set_index(key)["value"].sort_index()

    out = []
    for name in names[1:]:
        if all(table(name, seed).equals(table(names[0], seed)) for seed in seeds):
            out.append(name)
    return out


def shared_peaks(monthly: dict, names: list[str], seeds: list[int]) -> list[str]:
    """The main products whose peak price is the same in every scenario, seed by seed: it
    came before any scenario departed from the others (a price that fell from near its start),
    so it tells them apart in nothing."""
    if len(names) < 2:
        return []
    peaks = {}      # (name, seed) -> each product's peak price
    for name in names:
        for seed in seeds:
            price = domestic_prices(monthly[(name, seed)])
            peaks[(name, seed)] = price.groupby("product")["value"].max()
    out = []
    for p in MAIN_PRODUCTS:
        for seed in seeds:
            seen = np.array([peaks[(name, seed)].get(p, np.nan) for name in names], dtype=float)
            if not np.isfinite(seen).all() or not np.allclose(seen, seen[0], rtol=1e-9, atol=0.0):
                break
        else:
            out.append(p)
    return out


def _kpi_unit(kpi: str, price_units: dict[str, str]) -> str:
    if kpi.startswith(("price_peak_", "price_mean_")):
        return price_units.get(kpi.split("_", 2)[2], "")
    if kpi.startswith("months_to_recover_"):
        return "months"
    if kpi.endswith("_pct"):
        return "%"
    if kpi.endswith("_t"):
        return "t"
    if "share" in kpi:
        return "share"
    return ""


KPI_LABELS = {
    "price_peak": "peak price", "price_mean": "mean price",
    "months_to_recover": "months until within 10 % of reference",
    "shortfall_overseas_t": "overseas shortfall, magnets", "shortfall_domestic_t": "domestic shortfall",
    "shortfall_overseas_oxide_metal_t": "overseas shortfall, oxide and metal",
    "exports_oxide_metal_t": "oxide and metal exports",
    "magnet_output_t": "domestic magnet output", "magnet_output_change_t": "magnet output change vs reference",
    "magnet_output_change_pct": "magnet output change vs reference",
    "exports_t": "magnet exports",
    # most of what recyclers work is the makers' machining scrap: read as end-of-life recycling
    # alone, the share looks twice what the record says of it
    "recycled_share_of_oxide": "recyclers' share of China's oxide output (new scrap from magnet making, most of "
                               "it, and end-of-life magnets)",
    "export_price_gap_peak": "export price over China's, peak",
    "licences_granted_t": "licences granted", "licences_refused_t": "licences refused",
}


def _label(kpi: str) -> str:
    if kpi.startswith("export_price_gap_peak_") and kpi.endswith("_pct"):
        return f"{KPI_LABELS['export_price_gap_peak']}, {kpi[len('export_price_gap_peak_'):-len('_pct')]}"
    for stem in ("price_peak", "price_mean", "months_to_recover"):
        if kpi.startswith(stem + "_"):
            return f"{KPI_LABELS[stem]}, {kpi[len(stem) + 1:]}"
    return KPI_LABELS.get(kpi, kpi)


def _fmt(v: float, unit: str, year: int | None = None) -> str:
    if v is None or not np.isfinite(v):
        return not_by_end(year) if unit == "months" else "n/a"
    if unit == "share":
        return f"{v:.3f}"
    if unit in ("%",):
        return f"{v:+.1f}"
    if unit == "months":
        return months_text(v)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.3g}"


def _markdown(c: Comparison, band: bool) -> str:
    long = c.kpis_long.set_index(["kpi", "scenario"])
    head = "| key figure | unit | " + " | ".join(c.names) + " |"
    lines = [head, "|" + "---|" * (len(c.names) + 2)]
    for (kpi, unit), _ in c.kpis.iterrows():
        cells = []
        for n in c.names:
            r = long.loc[(kpi, n)]
            cell = _fmt(r["mean"], unit, c.year)
            if unit == "months" and not np.isfinite(r["mean"]):
                v = c.by_seed[(c.by_seed["scenario"] == n) & (c.by_seed["kpi"] == kpi)]["value"]
                cell = not_recovered_text(v, c.year) if len(v) > 1 else not_by_end(c.year)
            if band and r["seeds"] > 1 and np.isfinite(r["p05"]) and np.isfinite(r["p95"]) and unit != "months":
                cell += f" [{_fmt(r['p05'], unit)}, {_fmt(r['p95'], unit)}]"
            cells.append(cell)
        lines.append(f"| {_label(kpi)} | {unit} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _write_figures(c: Comparison, out: Path, band: bool) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..figures import date_axis
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    s = c.series
    files = []

    def draw(ax, key):
        title, unit = SERIES[key]
        d = s[s["series"] == key]
        for j, name in enumerate(c.names):
            g = d[d["scenario"] == name].pivot_table(index="month", columns="seed", values="value")
            x = pd.to_datetime(g.index)
            col = colours[j % len(colours)]
            ax.plot(x, g.mean(axis=1).to_numpy(), color=col, lw=1.6 if j else 2.2, label=name,
                    ls="-" if j else "--", zorder=3 if j == 0 else 2)
            if band and g.shape[1] > 1:
                ax.fill_between(x, g.quantile(0.05, axis=1).to_numpy(), g.quantile(0.95, axis=1).to_numpy(),
                                color=col, alpha=0.15, lw=0)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        ax.yaxis.set_major_formatter("{x:,.0f}")
        ax.grid(alpha=0.3)
        date_axis(ax)

    what = f"mean of {len(c.seeds)} seeds, band: 5-95 % quantiles" if band and len(c.seeds) > 1 else \
        (f"mean of {len(c.seeds)} seeds" if len(c.seeds) > 1 else f"seed {c.seeds[0]}")
    fig, axes = plt.subplots(2, 3, figsize=(15, 7.5), sharex=True)
    for ax, key in zip(axes.flat, SERIES):
        draw(ax, key)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{' vs '.join(c.names)} ({what}; dashed: reference)")
    fig.tight_layout()
    fig.savefig(out / "overview.png", dpi=100)
    plt.close(fig)
    files.append("overview.png")
    for key in SERIES:
        fig, ax = plt.subplots(figsize=(10, 4.2))
        draw(ax, key)
        ax.legend(fontsize=8)
        ax.set_title(f"{SERIES[key][0]} ({what})", fontsize=10)
        fig.tight_layout()
        fig.savefig(out / f"{key}.png", dpi=100)
        plt.close(fig)
        files.append(f"{key}.png")
    return files


def default_out_dir(names: list[str], root: Path = Path("outputs")) -> Path:
    """``outputs/compare-<names>``, shortened with a hash when the names are long."""
    slug = "-".join(re.sub(r"[^\w.]+", "_", n) for n in names)
    if len(slug) > 120:
        slug = slug[:100] + "-" + hashlib.sha1(slug.encode()).hexdigest()[:8]
    return root / default_folder(f"compare-{slug}")


# ---------------------------------------------------------------------------------------
# the comparison
# ---------------------------------------------------------------------------------------
def _months(sc: Scenario) -> str:
    return f"{sc.start:%Y-%m}..{sc.end:%Y-%m}"


def _periods(loaded: list[Scenario], given: list, year: int | None = None) -> str:
    """Check that every scenario shares a month with the reference (the first); raise
    :class:`ScenarioError` naming both periods when one does not. Returns a line saying how
    the periods differ when they do ("" when they are all the same): the key figures are then
    taken over the months all share (:func:`_shared_months`), of ``year`` alone when given."""
    ref = loaded[0]
    for i, sc in enumerate(loaded[1:], 1):
        if f"{sc.start:%Y-%m}" > f"{ref.end:%Y-%m}" or f"{sc.end:%Y-%m}" < f"{ref.start:%Y-%m}":
            where = None if isinstance(given[i], Scenario) else given[i]
            raise ScenarioError(where, "start, end", f"given {_months(sc)} ({sc.name}); allowed: a period that "
                                f"shares at least one month with the reference {ref.name}'s ({_months(ref)}), "
                                f"since compare sets each month beside the reference's", kind="invalid")
    if len({(sc.start, sc.end) for sc in loaded}) == 1:
        return ""
    shared = _shared_months(loaded)
    if shared is None:
        # key figures over no month, or over each run's own months, would not be like for like
        i = next(i for i, sc in enumerate(loaded[1:], 1) if (sc.start, sc.end) != (ref.start, ref.end))
        sc = loaded[i]
        where = None if isinstance(given[i], Scenario) else given[i]
        raise ScenarioError(where, "start, end", f"given {sc.start}..{sc.end} ({sc.name}), beside the reference "
                            f"{ref.name}'s {ref.start}..{ref.end}: no month that every run simulates whole and "
                            f"alike; allowed: periods that share at least one such month, since compare's key "
                            f"figures are taken over the months all share (a run that ends mid-week books the "
                            f"rest of that week in its last month, so that month is alike only when the run ends "
                            f"on a Sunday or where the others end; the same at the start with a Monday)",
                            kind="invalid")
    shared = f"{shared[0]}..{shared[1]}"
    # each run's months as its tables hold them: a last month of days China does not work is not
    tabled = ", ".join(f"{sc.name} {'..'.join(_first_last_month(sc))}" for sc in loaded)
    return (f"the periods differ ({tabled}; months all share: "
            f"{shared}): the key figures are over {'the months all share' if year is None else f'those of year {year}'}"
            f", so totals and changes are like for like; the series show each scenario's own months")


def _year_window(loaded: list[Scenario], year: int) -> tuple[str, str]:
    """First and last month (YYYY-MM) of ``year`` that every scenario reports alike
    (:func:`_shared_months`); raises :class:`ScenarioError` when they share none of it."""
    shared = _shared_months(loaded)
    if isinstance(year, bool) or not isinstance(year, int):
        raise OptionError("--year", repr(year), "allowed: a year, a whole number such as 2025", kind="type")
    first, last = (max(shared[0], f"{year}-01"), min(shared[1], f"{year}-12")) if shared else ("", "")
    if not shared or first > last:
        span = f"{shared[0]} .. {shared[1]}" if shared else "none"
        raise OptionError("--year", year, f"allowed: a year of the months every scenario reports alike ({span})",
                          kind="out_of_range")
    return first, last


def _shared_months(loaded: list[Scenario]) -> tuple[str, str] | None:
    """First and last month (YYYY-MM) that every scenario simulates whole and reports alike;
    None when they share none.

    A run's weeks are whole, and the days of its first and last weeks outside its period are
    reported in its first and last months (every tonne simulated is reported, docs/ODD.md
    section 2.3): a run ending on a Tuesday books that week's Wednesday to Sunday in its last
    month. Beside a run whose period goes on, such a month is not like for like (an outside
    analyst's what-if ending 30 September 2025 showed 2,542 t more magnet output than the
    baseline with nothing else changed), so it is left out unless every run ends (or starts)
    on the same day; so is a month a run covers only in part."""
    from ..calendar import whole_months
    same_start = len({sc.start for sc in loaded}) == 1
    same_end = len({sc.end for sc in loaded}) == 1
    firsts, lasts = [], []
    for sc in loaded:
        months = whole_months(sc.start, sc.end)
        if not same_end and sc.end.weekday() != 6 and months and months[-1] == f"{sc.end:%Y-%m}":
            months = months[:-1]
        if not same_start and sc.start.weekday() != 0 and months and months[0] == f"{sc.start:%Y-%m}":
            months = months[1:]
        if not months:
            return None
        firsts.append(months[0])
        lasts.append(months[-1])
    first, last = max(firsts), min(lasts)
    return (first, last) if first <= last else None


def _seed_list(seeds) -> list[int]:
    """``seeds`` as a list of distinct whole numbers >= 0 (a number N: 0..N-1); ValueError
    naming what is wrong, before anything runs."""
    if is_whole_seed(seeds):
        out = list(range(int(seeds)))
    elif isinstance(seeds, (list, tuple, np.ndarray, range)) and all(is_whole_seed(s) for s in seeds):
        out = [int(s) for s in seeds]
    else:
        raise ValueError(f"seeds: given {seeds!r}; allowed: a list of whole numbers >= 0, or a number N "
                         f"(seeds 0..N-1)")
    if not out:
        raise ValueError(f"seeds: given {seeds!r}; allowed: at least one seed")
    if len(set(out)) < len(out):
        raise ValueError(f"seeds: given {seeds!r}, a seed twice; allowed: distinct seeds (a seed repeated is "
                         f"the same run, and would narrow the band)")
    return out


def compare(scenarios: list[str | Path | Scenario], seeds: list[int] | int = 1, out_dir: str | Path | None = None,
            workers: int = 2, runs_dir: str | Path | None = "outputs", band: bool | None = None,
            figures: bool = True, write: bool = True, log=None, scheduler: str | None = None,
            html: bool = False, year: int | None = None) -> Comparison:
    """Run (or read) every scenario with the same seeds and compare them with the first.

    Parameters
    ----------
    scenarios : scenario files (or loaded scenarios); the first is the reference
    seeds : a list of seeds, or a number N meaning seeds 0..N-1
    out_dir : where to write (default ``outputs/compare-<names>``)
    workers : processes for the runs (1 or 2; see :mod:`rechain.experiments.executor`)
    runs_dir : where finished runs (``<name>-seed<N>/``) are looked for; None: always run
    band : show the 5-95 % quantile band across seeds (default: when there are several seeds)
    figures : write the PNG figures
    write : write the files at all (False: only return the tables)
    log : a function taking a line of progress text, or None
    scheduler : "local" or a Dask scheduler address, to run on Dask instead
    html : also write report.html (as ``rechain report`` does), in the same all-or-nothing write
    year : the key figures over the months of this calendar year alone that every scenario
        reports alike (a what-if of one year is diluted in a run of three); the series keep
        every month

    Raises
    ------
    ScenarioError
        if a scenario does not load; nothing is run or written then.
    """
    log = log or (lambda _msg: None)
    check_count("workers", workers, 1, MAX_WORKERS)
    seeds = _seed_list(seeds)
    if isinstance(scenarios, (str, Path, Scenario)):
        one = scenarios.name if isinstance(scenarios, Scenario) else scenarios
        raise ValueError(f"scenarios: given one scenario ({one}); allowed: a list of two or more, the first the "
                         f"reference")
    if len(scenarios) < 2:
        raise ValueError("compare needs at least two scenarios (the first is the reference)")
    loaded = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]   # all errors first
    given = [(i, Path(s).resolve()) for i, s in enumerate(scenarios) if isinstance(s, (str, Path))]
    for i, real in given:
        # one file under two paths (a link, ../): its name comes from each path, so the names
        # differ, and it would be compared with itself
        same = [str(scenarios[j]) for j, other in given if other == real and str(scenarios[j]) != str(scenarios[i])]
        if same and not any(j < i for j, other in given if other == real):
            raise ScenarioError(same[-1], "", f"given {same[-1]}, which is {scenarios[i]} under another path "
                                f"({real}), so the scenario would be compared with itself; allowed: "
                                f"each scenario once (the first is the reference the others are compared with)",
                                kind="duplicate_name")
    names = [sc.name for sc in loaded]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        both = [i for i, n in enumerate(names) if n == dup[0]]
        files = [str(scenarios[i]) for i in both if isinstance(scenarios[i], (str, Path))]
        # the later file is the one to rename (the first may be the reference); both are named
        where = scenarios[both[-1]] if isinstance(scenarios[both[-1]], (str, Path)) else None
        if len(files) == len(both) and len({Path(f).resolve() for f in files}) == 1:
            raise ScenarioError(where, "", f"given the same scenario file {len(files)} times; allowed: each scenario "
                                f"once (the first is the reference the others are compared with)",
                                kind="duplicate_name")
        also = f" (also {', '.join(files[:-1])})" if len(files) > 1 else ""
        count = "two" if len(both) == 2 else str(len(both))
        raise ScenarioError(where, "name", f"given the name {dup[0]!r} for {count} of the scenarios compared{also}; "
                            f"allowed: a different `name` in each file", kind="duplicate_name")
    year = int(year) if isinstance(year, np.integer) else year             # numpy's, as pandas hands over
    period_note = _periods(loaded, scenarios, year)
    window = _year_window(loaded, year) if year is not None else None      # before any run
    year_note = (f"the key figures are of {window[0]} .. {window[1]} alone (year {year}); the series and "
                 f"figures keep every month") if window else ""
    band = len(seeds) > 1 if band is None else band
    out = Path(out_dir) if out_dir is not None else default_out_dir(names)
    if write:
        check_output_dir(out, "compare")      # before any run: refuse a folder that is not ours

    monthly: dict[tuple[str, int], pd.DataFrame] = {}
    reused: list[str] = []
    tasks = []
    for sc in loaded:
        for seed in seeds:
            df, why = _finished_run(Path(runs_dir), sc, seed) if runs_dir is not None else (None, None)
            if df is not None:
                monthly[(sc.name, seed)] = df
                reused.append(f"{sc.name}-seed{seed}")
                log(f"read   {sc.name} seed {seed} from {Path(runs_dir) / f'{sc.name}-seed{seed}'}")
            else:
                if why is not None:
                    log(f"note: {Path(runs_dir) / f'{sc.name}-seed{seed}'} is not read, since {why}: "
                        f"{sc.name} seed {seed} is run again (the folder is left as it is)")
                tasks.append((sc, seed))
    workers = max(1, min(int(workers), 2, len(tasks) or 1))
    if period_note:
        log(f"warning: {period_note}")
    if tasks:
        with open_executor(workers, scheduler, tasks=len(tasks)) as ex:
            log(f"running {len(tasks)} run(s) on {ex.slots} process(es) ({ex.name}) ...")
            for _, (name, seed, df, secs) in ex.map(_run_one, tasks):
                monthly[(name, seed)] = df
                log(f"ran    {name} seed {seed} ({secs:.1f} s)")

    ref = names[0]
    units = _units(monthly[(ref, seeds[0])])
    shared = window or (_shared_months(loaded) if period_note else None)

    def like_for_like(table: pd.DataFrame) -> pd.DataFrame:
        """The rows of the months every scenario has (all rows when the periods agree)."""
        return table if shared is None else table[table["month"].between(*shared)]

    rows, srows = [], []
    for name in names:
        for seed in seeds:
            m = monthly[(name, seed)]
            k = _kpis_of_run(like_for_like(m), None if name == ref else like_for_like(monthly[(ref, seed)]))
            rows += [(name, seed, kpi, v) for kpi, v in k.items()]
            ser = main_series(m).reset_index().melt(id_vars="month", var_name="series", value_name="value")
            ser.insert(0, "seed", seed)
            ser.insert(0, "scenario", name)
            srows.append(ser)
    by_seed = pd.DataFrame(rows, columns=["scenario", "seed", "kpi", "value"])
    series = pd.concat(srows, ignore_index=True)
    kpi_order = list(dict.fromkeys(by_seed["kpi"]))

    def mean(x):
        # a recovery that did not happen in one seed is not averaged away
        return float(np.mean(x)) if np.isfinite(x).all() else np.nan

    g = by_seed.groupby(["scenario", "kpi"], sort=False)["value"]
    long = g.agg(mean=mean, seeds="size").reset_index()
    for col, q in (("p05", 0.05), ("p95", 0.95)):
        long.insert(len(long.columns) - 1, col, [seed_quantile(x.to_numpy(float), q, kpi.startswith("months_to_recover_"))
                                                 for (_, kpi), x in g])
    long.insert(2, "unit", [_kpi_unit(k, units) for k in long["kpi"]])
    wide = long.pivot(index=["kpi", "unit"], columns="scenario", values="mean")
    wide = wide.reindex(pd.MultiIndex.from_tuples([(k, _kpi_unit(k, units)) for k in kpi_order],
                                                  names=["kpi", "unit"]))[names]
    long["scenario"] = pd.Categorical(long["scenario"], names, ordered=True)
    long["kpi"] = pd.Categorical(long["kpi"], kpi_order, ordered=True)
    long = long.sort_values(["kpi", "scenario"]).reset_index(drop=True)
    long["scenario"] = long["scenario"].astype(str)
    long["kpi"] = long["kpi"].astype(str)
    flat = shared_peaks({k: like_for_like(v) for k, v in monthly.items()}, names, seeds)
    same = same_as_reference(monthly, names, seeds)
    same_note = (f"{' and '.join(same)} ran exactly as {ref} on every seed: every monthly figure but the quotas "
                 f"issued, capacities and export quotas' own rows is the same, so "
                 f"nothing {'they change' if len(same) > 1 else 'it changes'} acted in the period (a quota or "
                 f"licence rule that never binds — compare its use with its issue in monthly.csv, such as "
                 f"export_quota_used against export_quota_issued —, a date outside the run, a firm the "
                 f"scenario does not have)") if same else ""
    # with every scenario alike their peaks are alike too, for that reason alone
    peak_note = (f"the peak price of {' and '.join(flat)} is the same in every scenario, seed by seed: it came "
                 f"before any scenario departed from the others (the price fell from near its start), so it tells "
                 f"them apart in nothing: read the mean price and the series") \
        if flat and len(same) < len(names) - 1 else ""
    comp = Comparison(names=names, seeds=seeds, kpis=wide, kpis_long=long, by_seed=by_seed, series=series,
                      out_dir=None, reused=reused, period_note=period_note, peak_note=peak_note,
                      same_note=same_note, year_note=year_note, year=year)
    if not write:
        return comp

    with output_dir(out, "compare") as tmp:
        wide.to_csv(tmp / "kpis.csv")
        long.to_csv(tmp / "kpis_long.csv", index=False)
        by_seed.to_csv(tmp / "kpis_by_seed.csv", index=False)
        series.to_csv(tmp / "series.csv", index=False)
        md = (f"# {' vs '.join(names)}\n\nReference: **{ref}**. Seeds: {', '.join(map(str, seeds))} "
              f"(every scenario ran with the same seeds). Values are means over seeds"
              f"{'; in brackets ' + band_words(len(seeds)) if band and len(seeds) > 1 else ''}.\n\n"
              + (f"**Note:** {year_note}.\n\n" if year_note else "")
              + (f"**Note:** {period_note}.\n\n" if period_note else "")
              + (f"**Note:** {same_note}.\n\n" if same_note else "")
              + (f"**Note:** {peak_note}.\n\n" if peak_note else "")
              + _markdown(comp, band) +
              "\nmonths until within 10 % of reference: from the first month a price is more than 10 % "
              "away from the reference's (same seed) to the month from which it stays within 10 %; "
              "0 = never left; 'not by the end' = had not returned when the run ended, or the year with --year "
              "(then no mean is given; "
              "in kpis_long.csv such a seed ranks above every other, and a 5 % or 95 % quantile that reaches it "
              "is left empty too).\n")
        (tmp / "kpis.md").write_text(md)
        meta = {"scenarios": names, "files": [getattr(sc, "_files", []) for sc in loaded],
                "scenario_sha256": {sc.name: scenario_hash(sc) for sc in loaded}, "seeds": seeds,
                "rechain_code_sha256": code_fingerprint(),      # a report by other code says so
                "reused_runs": reused, "reference": ref, "band": bool(band), "period_note": period_note,
                "peak_note": peak_note, "same_note": same_note, "year": year, "year_note": year_note,
                # how many rows each table has, so a report can tell a table cut short
                "rows": {"kpis.csv": len(wide), "kpis_long.csv": len(long), "kpis_by_seed.csv": len(by_seed),
                         "series.csv": len(series)}}
        (tmp / "compare.json").write_text(json.dumps(meta, indent=2) + "\n")
        if figures:
            _write_figures(comp, tmp, band)
        if html:        # read from the files above, and swapped in with them
            from ..html_report import write_report_into
            write_report_into(tmp, out)
    comp.out_dir = out
    return comp


@click.command("compare")
@click.argument("scenarios", nargs=-1, required=True, type=NonEmptyPath(dir_okay=False, path_type=Path))
@click.option("--seeds", "n_seeds", type=WholeNumber(1, MAX_SEEDS), default=None,
              help="run every scenario with seeds FIRST..FIRST+N-1 (default 1 seed)")
@click.option("--replicates", type=WholeNumber(1, MAX_SEEDS), default=None,
              help="as --seeds N, and show the mean and the 5-95 % quantiles across seeds")
@click.option("--first-seed", default=0, show_default=True, type=WholeNumber(min=0), help="first seed")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path), default=None,
              help="output folder (default outputs/compare-<names>)")
@click.option("--workers", default=2, show_default=True, type=WholeNumber(1, 2),
              help="processes running the scenarios")
@click.option("--runs-dir", type=NonEmptyPath(file_okay=False, path_type=Path), default=Path("outputs"),
              show_default=True, help="where finished runs (<name>-seed<N>/) are looked for")
@click.option("--rerun", is_flag=True, help="run everything, ignoring finished runs")
@click.option("--no-figures", is_flag=True, help="skip the PNG figures")
@click.option("--html", is_flag=True, help="also write report.html (as rechain report does)")
@click.option("--year", type=WholeNumber(1900, 2200), default=None,
              help="key figures over this calendar year alone (the series keep every month)")
@click.option("--quiet", is_flag=True, help="print nothing but errors")
def compare_command(scenarios: tuple[Path, ...], n_seeds: int | None, replicates: int | None, first_seed: int,
                    out_dir: Path | None, workers: int, runs_dir: Path, rerun: bool, no_figures: bool,
                    html: bool, year: int | None, quiet: bool) -> None:
    """Compare SCENARIOS (the first is the reference, e.g. the baseline) run with the same seeds.

    Writes a key-figure table (kpis.csv, kpis.md) and overlay plots to
    outputs/compare-<names>/. Finished runs in outputs/<name>-seed<N>/ of the same
    scenario (same hash in manifest.json) are read instead of run again.
    """
    if n_seeds is not None and replicates is not None:
        raise click.UsageError("give either --seeds or --replicates, not both")
    if len(scenarios) < 2:
        raise click.UsageError("compare needs at least two scenarios (the first is the reference)")
    n = replicates or n_seeds or 1
    seeds = list(range(first_seed, first_seed + n))
    log = (lambda _m: None) if quiet else (lambda m: click.echo(m, err=True))
    comp = compare(list(scenarios), seeds, out_dir=out_dir, workers=workers,
                   runs_dir=None if rerun else runs_dir, band=replicates is not None and replicates > 1,
                   figures=not no_figures, log=log, html=html, year=year)
    if comp.period_note and quiet:
        click.echo(f"warning: {comp.period_note}", err=True)     # a warning, not progress: said even so
    if comp.same_note:
        click.echo(f"warning: {comp.same_note}", err=True)
    if comp.year_note and not quiet:
        click.echo(f"note: {comp.year_note}", err=True)
    if not quiet:
        click.echo(comp.markdown(band=replicates is not None and replicates > 1))
        click.echo(f"wrote {comp.out_dir}/ (kpis.csv, kpis.md, kpis_long.csv, kpis_by_seed.csv, series.csv"
                   f"{', figures' if not no_figures else ''}{', report.html' if html else ''})")
