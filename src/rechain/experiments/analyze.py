"""Sensitivity analysis and plots of a finished sweep: the Python API behind ``rechain analyze``.

For a Sobol design, first-order and total Sobol indices with confidence intervals
(SALib ``sobol.analyze``); for a Morris design, mu* and sigma (SALib ``morris.analyze``).
Replicates of a point are averaged first, so the indices describe the mean response.
For any design, scatter plots (continuous parameters) or box plots (levels) of the
KPIs against each parameter. Everything is written to ``SWEEP_OUTPUT/analysis/``:

- ``sensitivity.csv`` and ``sensitivity.md``: one row per KPI and parameter, ranked
  (Sobol: by ST; Morris: by mu*),
- ``sensitivity_second_order.csv`` (a Sobol design with ``second_order = true``): one row
  per KPI and pair of parameters, their interaction index S2 and its interval, ranked,
- ``sensitivity_<kpi>.png``: bar chart of the indices with their confidence intervals,
- ``scatter_<kpi>.png``: the KPI against each parameter, one panel per parameter,
- ``point_means.csv``: per design point, its parameter values and each KPI's mean,
  standard deviation and count over the successful replicates,
- ``summary.md``: the sweep, how many runs failed, which KPIs were left out and why, and
  per KPI whether the top-ranked parameter is resolved (its confidence interval clear of
  the next one's) or, if not, about how many samples would resolve it.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..options import NonEmptyPath, WholeNumber
from ..config.errors import cut_short
from ..scenario import ScenarioError
from ..outputs import check_output_dir, output_dir, output_kind
from .store import (damaged_manifest_error, folder_in_use, load_results, manifest_damage, manifest_problem,
                    sweep_manifest)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["analyze", "sensitivity", "sobol_indices", "morris_indices", "ranking_resolution", "analyze_command"]


#: fewer base samples than this and the bootstrap's confidence intervals mean nothing (one
#: sample resampled is always itself): they are reported as unknown, so no ranking is resolved
MIN_BOOTSTRAP_SAMPLES = 4


def sobol_indices(problem: dict, Y: np.ndarray, second_order: bool = False, seed: int | None = None,
                  conf_level: float = 0.95) -> pd.DataFrame:
    """First-order and total Sobol indices of one output, ranked by ST.

    ``Y`` is the output at the points of ``SALib.sample.sobol.sample(problem, N, ...)``, in
    their order. Returns columns ``parameter, S1, S1_conf, ST, ST_conf, rank``.
    """
    import numpy as np
    import pandas as pd
    from SALib.analyze import sobol

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        res = sobol.analyze(problem, np.asarray(Y, dtype=float), calc_second_order=second_order,
                            conf_level=conf_level, seed=seed)
    df = pd.DataFrame({"parameter": problem["names"], "S1": res["S1"], "S1_conf": res["S1_conf"],
                       "ST": res["ST"], "ST_conf": res["ST_conf"]})
    n_base = len(Y) // (problem["num_vars"] * (2 if second_order else 1) + 2)
    if n_base < MIN_BOOTSTRAP_SAMPLES:      # resampling so few points gives intervals of about 0: unknown
        df[["S1_conf", "ST_conf"]] = np.nan
    df = df.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    if second_order:
        # the pairs' interaction indices, which the N x (2k + 2) runs of such a design pay for
        names = problem["names"]
        pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
        s2 = pd.DataFrame({"parameter_a": [names[i] for i, _ in pairs], "parameter_b": [names[j] for _, j in pairs],
                           "S2": [float(res["S2"][i, j]) for i, j in pairs],
                           "S2_conf": [float(res["S2_conf"][i, j]) if n_base >= MIN_BOOTSTRAP_SAMPLES else np.nan
                                       for i, j in pairs]})
        df.attrs["second_order"] = s2.sort_values("S2", ascending=False, kind="stable").reset_index(drop=True)
    return df


def morris_indices(problem: dict, X: np.ndarray, Y: np.ndarray, num_levels: int = 4, seed: int | None = None,
                   conf_level: float = 0.95) -> pd.DataFrame:
    """Morris elementary-effect statistics of one output, ranked by mu*.

    Returns columns ``parameter, mu_star, mu_star_conf, sigma, mu, rank``.
    """
    import numpy as np
    import pandas as pd
    from SALib.analyze import morris

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        res = morris.analyze(problem, np.asarray(X, dtype=float), np.asarray(Y, dtype=float),
                             num_levels=num_levels, conf_level=conf_level, seed=seed)
    df = pd.DataFrame({"parameter": problem["names"], "mu_star": np.asarray(res["mu_star"], dtype=float),
                       "mu_star_conf": np.asarray(res["mu_star_conf"], dtype=float),
                       "sigma": np.asarray(res["sigma"], dtype=float), "mu": np.asarray(res["mu"], dtype=float)})
    if len(Y) // (problem["num_vars"] + 1) < MIN_BOOTSTRAP_SAMPLES:
        # two trajectories resampled give an interval of about nothing: unknown, as Sobol's
        df["mu_star_conf"] = np.nan
    df = df.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    return df


#: beyond this many times a sweep's samples, no figure of the samples that would rank two
#: parameters is given: intervals that wide say the indices themselves are not measured yet
FAR_MULTIPLE = 256

#: how far outside 0..1 a Sobol index may fall by rounding before it is read as noise
SOBOL_SLACK = 0.1


def _out_of_range(t: pd.DataFrame) -> str:
    """The worst Sobol index of ``t`` outside 0..1 (beyond :data:`SOBOL_SLACK`), in words, or "":
    indices that cannot be shares of a variance say the samples are too few."""
    if t.empty or "ST" not in t:
        return ""
    worst, text = SOBOL_SLACK, ""
    for col in ("S1", "ST"):
        for _, r in t.iterrows():
            v = float(r[col])
            off = max(-v, v - 1.0)
            if off > worst:
                worst, text = off, f"{col} {v:.2f} for {r['parameter']} ({r['kpi']})"
    return text


#: what the seed's noise does to what analyze writes: indices (sobol, morris: True) or point means
READS_NOISE = {True: "the indices read it as the parameters' effect",
               False: "the point means and plots carry it: a difference between points smaller than it is noise"}


def _too_few_samples(design: str, n: int, t: pd.DataFrame) -> str:
    """Why a sweep's ``n`` samples (base samples or trajectories) do not measure the indices
    ``t``, in words, or "" when nothing says so."""
    if t.empty:
        return ""
    if design == "sobol" and n < MIN_BOOTSTRAP_SAMPLES:
        return (f"the sweep has N = {n} base samples; below {MIN_BOOTSTRAP_SAMPLES} the Sobol indices below are "
                f"noise (outside 0-1, no confidence intervals): run the sweep with more samples (a power of 2, "
                f"such as 64)")
    if design == "sobol" and (bad := _out_of_range(t)):
        return (f"{bad}: an index outside 0-1 is sampling noise, so the sweep's N = {n} base samples do not "
                f"estimate these indices; run the sweep with more samples (a power of 2, such as {max(64, 4 * n)})")
    if design == "morris" and n < MIN_BOOTSTRAP_SAMPLES:
        return (f"the sweep has {n} trajectories; below {MIN_BOOTSTRAP_SAMPLES} the Morris statistics have no "
                f"confidence intervals and no parameter is named the most influential: run the sweep with more "
                f"samples (10 or more trajectories)")
    return ""


#: the index that ranks the parameters, and its confidence half-width, per method
RANK_BY = {"sobol": ("ST", "ST_conf"), "morris": ("mu_star", "mu_star_conf")}


def ranking_resolution(t: pd.DataFrame, samples: int, method: str) -> dict:
    """Whether one KPI's top-ranked parameter is resolved, and how many samples would resolve it.

    ``t`` is one KPI's ranked rows of :func:`sensitivity`; ``samples`` the sweep's N (Sobol
    base samples or Morris trajectories). The first two parameters are told apart when
    their 95 % confidence intervals do not overlap: ``s1 - c1 > s2 + c2``. Half-widths
    shrink about as ``1 / sqrt(N)``, so, if the indices stay as they are, the intervals part
    at ``N' = N ((c1 + c2) / (s1 - s2))^2`` (for Sobol, rounded up to a power of 2).

    Returns a dict: ``top``, ``second`` (None for a single parameter), their ``index`` and
    ``conf`` pairs, ``resolved``, and ``samples_needed`` (None when resolved, or when the
    two indices are equal or their intervals unknown, so that no N would do).
    """
    import math
    col, conf = RANK_BY[method]
    rows = t.sort_values(col, ascending=False, kind="stable")
    out = {"top": rows["parameter"].iloc[0], "second": None, "index": (float(rows[col].iloc[0]), None),
           "conf": (float(rows[conf].iloc[0]), None), "resolved": True, "samples_needed": None}
    if len(rows) < 2:
        return out
    (s1, s2), (c1, c2) = rows[col].iloc[:2].astype(float), rows[conf].iloc[:2].astype(float)
    out.update(second=rows["parameter"].iloc[1], index=(s1, s2), conf=(c1, c2))
    if not (math.isfinite(c1) and math.isfinite(c2)):
        out["resolved"], out["intervals_unknown"] = False, True
        return out
    out["resolved"] = bool(s1 - c1 > s2 + c2)
    gap = s1 - s2
    if not out["resolved"] and gap > 0:
        need = samples * ((c1 + c2) / gap) ** 2
        need = max(samples + 1, math.ceil(need * 1.0001))   # strictly beyond the touching point
        if need > FAR_MULTIPLE * samples:
            # intervals many times the gap: the indices are not measured yet, and a figure
            # extrapolated from them (N = 524,288 from N = 4) would be read as a plan
            out["far"] = True
        else:
            out["samples_needed"] = 2 ** math.ceil(math.log2(need)) if method == "sobol" else need
    return out


def _ranking_line(kpi: str, r: dict, samples: int, method: str) -> str:
    """One line of summary.md on how far the ranking of ``kpi`` can be trusted."""
    col = RANK_BY[method][0]

    def shown(i: int) -> str:
        return f"{col} {r['index'][i]:.2f} ± {r['conf'][i]:.2f}"

    if r["second"] is None:
        return f"- {kpi}: {r['top']} ({shown(0)}), the only parameter"
    if r["resolved"]:
        return (f"- {kpi}: **{r['top']}** is the most influential ({shown(0)}; next {r['second']}, {shown(1)}): "
                f"the confidence intervals do not overlap")
    if r.get("intervals_unknown"):
        return (f"- {kpi}: **not resolved** at N = {samples}: {r['top']} ({shown(0)}) and {r['second']} "
                f"({shown(1)}) cannot be ranked, their confidence intervals could not be estimated from so few "
                f"samples; run more")
    text = (f"- {kpi}: **not resolved** at N = {samples}: {r['top']} ({shown(0)}) and {r['second']} ({shown(1)}) "
            f"have overlapping confidence intervals, so neither can be called the most influential")
    if r["samples_needed"] is not None:
        text += (f"; about N = {r['samples_needed']:,} would separate them if the indices stay as they are "
                 f"(intervals shrink as 1/sqrt(N))")
    elif r.get("far"):
        text += (f"; their intervals are so wide against the gap that more than {FAR_MULTIPLE} times as many "
                 f"samples would be needed if the indices stayed as they are: run more samples to measure the "
                 f"indices first")
    else:
        text += "; their indices are equal, so more samples would not rank them"
    return text


def _manifest(out: Path) -> dict:
    man = sweep_manifest(out)
    damage = manifest_damage(out)
    if damage:
        raise damaged_manifest_error(out, damage)
    if man is None:
        what = "a folder that is no sweep output" if out.is_dir() else "no folder"
        raise ScenarioError(out, "", f"given {what}; allowed: the --out folder of `rechain sweep` (with the "
                            f"sweep's manifest.json)", kind="missing")
    problem = manifest_problem(man)
    if problem:
        raise damaged_manifest_error(out, problem)
    return man


def _point_means(runs: pd.DataFrame, kpis: list[str], n_points: int) -> pd.DataFrame:
    ok = runs[runs["status"] == "ok"]
    return ok.groupby("point_id")[kpis].mean().reindex(range(n_points))


def sensitivity(out_dir: str | Path, kpis: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Sensitivity indices of a Sobol or Morris sweep.

    Returns the long table (one row per KPI and parameter, with ``method``) and the KPIs
    left out with the reason (failed points, constant output, not in the sweep).
    """
    import numpy as np
    import pandas as pd
    out = Path(out_dir)
    man = _manifest(out)
    method = man["design"]
    if method not in ("sobol", "morris"):
        raise ScenarioError(out, "design", f"sensitivity indices need a sobol or morris design, this sweep is "
                            f"{method!r}", kind="design")
    want = kpis or man["kpis"]
    runs, _ = load_results(out, columns=["run_id", "point_id", "status", *[k for k in want if k in man["kpis"]]])
    skipped: dict[str, str] = {k: "not an output of this sweep" for k in want if k not in man["kpis"]}
    want = [k for k in want if k in man["kpis"]]
    means = _point_means(runs, want, man["n_points"])
    problem = {"num_vars": man["problem"]["num_vars"], "names": man["problem"]["names"],
               "bounds": man["problem"]["bounds"]}
    X = None
    if method == "morris":
        import pyarrow.parquet as pq
        design = pq.read_table(out / "design.parquet").to_pandas()
        X = design[[f"x:{n}" for n in problem["names"]]].to_numpy()
    tables, second = [], []
    for k in want:
        y = means[k].to_numpy(dtype=float)
        missing = int(np.isnan(y).sum())
        if missing:
            skipped[k] = f"{missing} of {len(y)} points have no successful run (or no value)"
            continue
        if np.nanstd(y) <= 1e-12 * max(1.0, np.nanmax(np.abs(y))):
            skipped[k] = "constant over the sweep"
            continue
        if method == "sobol":
            t = sobol_indices(problem, y, second_order=man.get("second_order", False), seed=man["root_seed"])
        else:
            t = morris_indices(problem, X, y, num_levels=man.get("morris_levels", 4), seed=man["root_seed"])
        if "second_order" in t.attrs:
            second.append(t.attrs.pop("second_order").assign(kpi=k)[["kpi", "parameter_a", "parameter_b", "S2",
                                                                      "S2_conf"]])
        t.insert(0, "kpi", k)
        t.insert(1, "method", method)
        tables.append(t)
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["kpi", "method", "parameter",
                                                                                       "rank"])
    if second:       # a design with second_order = true: the pairs' indices, read by analyze
        table.attrs["second_order"] = pd.concat(second, ignore_index=True)
    return table, skipped


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _markdown(df: pd.DataFrame, floatfmt: str = "{:.3g}") -> str:
    import numpy as np
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in df.iterrows():
        cells = [floatfmt.format(v) if isinstance(v, (float, np.floating)) else str(v) for v in r]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _bar_figure(t: pd.DataFrame, kpi: str, method: str, path: Path) -> None:
    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = t.iloc[::-1]
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(9.0, 1.4 + 0.45 * len(t)))
    if method == "sobol":
        ax.barh(y + 0.2, t["ST"], height=0.4, xerr=t["ST_conf"], label="total (ST)", color="tab:blue")
        ax.barh(y - 0.2, t["S1"], height=0.4, xerr=t["S1_conf"], label="first order (S1)", color="tab:orange")
        ax.set_xlabel("Sobol index (bars: 95 % confidence)")
    else:
        ax.barh(y, t["mu_star"], height=0.5, xerr=t["mu_star_conf"], label="mu*", color="tab:blue")
        ax.plot(t["sigma"], y, "o", color="tab:red", label="sigma")
        ax.set_xlabel("elementary effect (bars: 95 % confidence of mu*)")
    ax.set_yticks(y, t["parameter"])
    ax.axvline(0, color="k", lw=0.5)
    ax.set_title(f"{kpi}: {method} sensitivity", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _scatter_figure(runs: pd.DataFrame, kpi: str, params: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(1, len(params))
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    ok = runs[runs["status"] == "ok"]
    for ax, p in zip(axes.flat, params):
        name = p["name"]
        if p["kind"] == "levels" and len(p["levels"]) <= 20:
            levels = list(dict.fromkeys(ok[name].tolist()))
            try:
                levels = sorted(levels)
            except TypeError:
                pass
            data = [ok.loc[ok[name] == lv, kpi].dropna().to_numpy() for lv in levels]
            # a level that is a list or a table (export_controls = [...]) is cut to a label; where
            # the cut labels of two levels read alike, the levels are numbered in the sweep's order
            labels = [cut_short(str(lv), 24) for lv in levels]
            if len(set(labels)) < len(labels):
                # as the runs store them (a list or table level as JSON text, :func:`store._to_column`)
                order = [json.dumps(v, sort_keys=True, default=str) if p.get("dtype") == "json" else str(v)
                         for v in p["levels"]]
                labels = [f"level {order.index(str(lv)) + 1}" if str(lv) in order else f"level {k + 1}"
                          for k, lv in enumerate(levels)]
            ax.boxplot(data, tick_labels=labels)
            ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        else:
            ax.plot(ok[name], ok[kpi], ".", ms=3, alpha=0.6)
        ax.set_xlabel(name, fontsize=8)
        ax.set_ylabel(kpi, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(f"{kpi} against the swept parameters ({len(ok)} successful runs)", fontsize=10)
    with warnings.catch_warnings():     # a layout that cannot be tightened is drawn as it is, not told
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


#: the share of a KPI's variance between one point's replicates above which analyze warns
NOISY_SHARE = 0.5


def seed_noise_share(ok_runs, kpis: list[str]) -> dict[str, float]:
    """Per KPI, the share of its variance over all successful runs that lies between the
    replicates of one point (the mean within-point variance over the total): the seed's noise,
    which no parameter explains. Only KPIs of points with two or more replicates."""
    out = {}
    for k in kpis:
        values = ok_runs[["point_id", k]].dropna()
        counts = values.groupby("point_id")[k].transform("size")
        values = values[counts >= 2]
        total = float(values[k].var(ddof=0)) if len(values) > 1 else 0.0
        if total <= 0:
            continue
        within = float(values.groupby("point_id")[k].var(ddof=0).mean())
        out[k] = min(within / total, 1.0)
    return out


def analyze(out_dir: str | Path, kpis: list[str] | None = None, figures: bool = True,
            top: int | None = None) -> dict:
    """Write the analysis of a sweep output folder to ``out_dir/analysis`` and return a summary.

    The folder is written whole (a failure leaves the previous analysis, if any) and
    replaces only an earlier analysis of rechain's. Returns a dict with ``table`` (the
    ranked sensitivity table, empty for other designs), ``skipped`` (KPI -> reason),
    ``files`` (written paths), ``top`` (KPI -> top-ranked parameter) and ``ranking``
    (KPI -> :func:`ranking_resolution`: is that top rank resolved, and if not, the N that
    would resolve it).
    """
    out = Path(out_dir)
    man = _manifest(out)
    dest = out / "analysis"
    want = list(dict.fromkeys(kpis or man["kpis"]))      # a KPI named twice is analysed once
    if not want:        # `outputs.kpis = []`: the sweep kept series only
        raise ScenarioError(out, "outputs.kpis", "the sweep kept no KPIs (outputs.kpis = []), so there is nothing to "
                            "analyse; allowed: the folder of a sweep that keeps KPIs (leave outputs.kpis out for "
                            "all of them)", kind="invalid")
    unknown = [k for k in want if k not in man["kpis"]]
    if unknown:
        raise ScenarioError(out, "--kpi", f"{unknown[0]!r} is not an output of this sweep; its KPIs: "
                            f"{', '.join(man['kpis'])}", kind="unknown_kpi")
    if not len(load_results(out, columns=["run_id"])[0]):
        what, again = _how_to_finish(out, man)
        raise ScenarioError(out, "", f"holds none of the sweep's {man['n_runs']:,} runs yet, so there is nothing to "
                            f"analyse; allowed: a sweep with finished runs ({what} did not finish: {again} runs "
                            f"them)", kind="missing")
    check_output_dir(dest, "analysis", elsewhere="move or rename that analysis folder, or copy the sweep's folder "
                     "where it can be written (rechain analyze writes its analysis into the sweep's folder)")
    with output_dir(dest, "analysis") as tmp:
        res = _write_analysis(out, man, want, tmp, figures, top)
    res["files"] = [dest / f.name for f in res["files"]]
    res["dir"] = dest
    return res


def _write_analysis(out: Path, man: dict, want: list[str], dest: Path, figures: bool, top: int | None) -> dict:
    """The files of :func:`analyze`, written to ``dest``."""
    import pandas as pd
    files: list[Path] = []
    params = man["parameters"]
    runs, _ = load_results(out, columns=["run_id", "point_id", "status", *[p["name"] for p in params], *want])
    n_ok = int((runs["status"] == "ok").sum())
    table = pd.DataFrame()
    skipped: dict[str, str] = {}
    if man["design"] in ("sobol", "morris") and params:
        table, skipped = sensitivity(out, want)
        if not table.empty:
            table.to_csv(dest / "sensitivity.csv", index=False)
            files.append(dest / "sensitivity.csv")
            if "second_order" in table.attrs:
                table.attrs["second_order"].to_csv(dest / "sensitivity_second_order.csv", index=False)
                files.append(dest / "sensitivity_second_order.csv")
            md = [f"# Sensitivity of {man['name']} ({man['design']}, {man['n_points']} points x "
                  f"{man['replicates']} replicate(s); replicates averaged)\n"]
            for k, t in table.groupby("kpi", sort=False):
                t = t.drop(columns=["kpi", "method"])
                md += [f"## {k}\n", _markdown(t.head(top) if top else t), ""]
            (dest / "sensitivity.md").write_text("\n".join(md) + "\n")
            files.append(dest / "sensitivity.md")
            if figures:
                for k, t in table.groupby("kpi", sort=False):
                    path = dest / f"sensitivity_{_safe(k)}.png"
                    _bar_figure(t.head(top) if top else t, k, man["design"], path)
                    files.append(path)
    noise: dict[str, float] = {}
    if params and n_ok:
        # every design: mean, standard deviation and count of each KPI per point (over replicates)
        ok = runs[runs["status"] == "ok"]
        names = [p["name"] for p in params]
        g = ok.groupby("point_id")
        means = g[names].first().join(g[want].agg(["mean", "std", "count"]).set_axis(
            [f"{k}_{stat}" for k in want for stat in ("mean", "std", "count")], axis=1))
        means.to_csv(dest / "point_means.csv")
        noise = seed_noise_share(ok, want)
        files.append(dest / "point_means.csv")
    shown = [k for k in want if runs[k].notna().any() and runs[k].nunique() > 1]
    for k in want:
        if k not in shown and k not in skipped:
            values = runs[k].dropna()
            skipped[k] = ("no value in any run" if values.empty else
                          f"one value over the sweep ({values.iloc[0]:,.6g})" +
                          (f"; {len(runs) - len(values)} of {len(runs)} runs have none (a period that ends "
                           f"before it, say)" if len(values) < len(runs) else ""))
    if figures and params:
        for k in shown:
            path = dest / f"scatter_{_safe(k)}.png"
            _scatter_figure(runs, k, params, path)
            files.append(path)
    ranking = {k: ranking_resolution(t, man["samples"], man["design"]) for k, t in table.groupby("kpi", sort=False)} \
        if not table.empty else {}
    top_param = {k: r["top"] for k, r in ranking.items()}
    summary = [f"# Analysis of sweep {man['name']}\n",
               f"- design: {man['design']}, {man['n_points']} points x {man['replicates']} replicate(s) = "
               f"{man['n_runs']} runs",
               f"- runs found: {len(runs)}, successful: {n_ok}, failed: {len(runs) - n_ok}"
               + (" (see ../errors.csv)" if len(runs) > n_ok else ""),
               f"- parameters: {', '.join(p['name'] + ' (' + p['path'] + ')' for p in params) or 'none'}"]
    noisy = {k: v for k, v in noise.items() if v >= NOISY_SHARE}
    if noisy:
        summary.append(f"- seed noise: for {', '.join(f'{k} ({v:.0%})' for k, v in noisy.items())} that share "
                       f"of the variance lies between the replicates of one point, which no parameter explains; "
                       f"{READS_NOISE[man['design'] in ('sobol', 'morris')]}: run more replicates, or longer runs")
    elif man["replicates"] == 1 and man["design"] in ("sobol", "morris"):
        summary.append("- one replicate per point: the seed's noise cannot be told from the parameters' effect "
                       "(replicates >= 2 measures it)")
    if len(runs) < man["n_runs"]:
        what, again = _how_to_finish(out, man)
        summary.append(f"- {man['n_runs'] - len(runs)} runs are missing: "
                       + (f"{what} was still running when this was written (analyze again once it has finished)"
                          if folder_in_use(out) else f"{what} did not finish ({again} completes it)"))
    if ranking:
        col, _ = RANK_BY[man["design"]]
        summary += ["", "## Ranking of the parameters per KPI", "",
                    f"By {col} with 95 % confidence intervals, from N = {man['samples']} "
                    f"({'base samples' if man['design'] == 'sobol' else 'trajectories'}). The top parameter is "
                    f"named only when its interval and the next one's do not overlap."
                    + (f" With N below {MIN_BOOTSTRAP_SAMPLES} the intervals cannot be estimated (nan) and "
                       f"the indices themselves are noise: run the sweep with more samples."
                       if man["samples"] < MIN_BOOTSTRAP_SAMPLES else "")
                    + (" A Sobol index outside 0-1 is sampling noise, not an effect: so few samples do not "
                       "estimate the indices." if _out_of_range(table) else ""), ""]
        summary += [_ranking_line(k, r, man["samples"], man["design"]) for k, r in ranking.items()]
    if skipped:
        summary += ["", "## KPIs left out", ""] + [f"- {k}: {v}" for k, v in skipped.items()]
    (dest / "summary.md").write_text("\n".join(summary) + "\n")
    files.append(dest / "summary.md")
    return {"table": table, "skipped": skipped, "files": files, "top": top_param, "ranking": ranking,
            "noisy": noisy, "sweep_file": man.get("sweep_file"),
            "design": man["design"], "samples": man["samples"], "missing": max(man["n_runs"] - len(runs), 0),
            "n_runs": man["n_runs"]}


def _how_to_finish(out: Path, man: dict) -> tuple[str, str]:
    """What left the runs of sweep folder ``out`` (manifest ``man``) missing (``the sweep``,
    or ``the calibration`` whose stage it is) and the command that completes it: a
    calibration's stage is no sweep of its own (it has no sweep file, and its manifest's name
    is the calibration's), and only ``rechain calibrate --resume`` on the calibration's folder
    runs it on; a sweep saved inside a calibration's folder is still a sweep."""
    import shlex

    def shown(named: str | None, stand_in: str) -> str:
        # the file the manifest names, where it is still there from here (it is kept as given)
        return shlex.quote(named) if named and Path(named).is_file() else stand_in
    stage = man.get("sweep_file") is None and str(man.get("name", "")).startswith("calibrate-")
    root = next((p for p in Path(out).resolve().parents if output_kind(p) == "calibration"), None) if stage else None
    if root is not None:
        scenario = shown((sweep_manifest(root / "search") or {}).get("base_file"), "<the scenario calibrated>")
        return "the calibration", (f"`rechain calibrate {scenario} --out {shlex.quote(str(root))} --resume` with the "
                                   f"options it was started with")
    return "the sweep", f"`rechain sweep {shown(man.get('sweep_file'), '<its sweep file>')} --out " \
                        f"{shlex.quote(str(out))} --resume`"


@click.command("analyze")
@click.argument("sweep_output", type=NonEmptyPath(file_okay=False, path_type=Path))
@click.option("--kpi", "kpis", multiple=True, help="KPI to analyse (repeatable; default: all of the sweep's)")
@click.option("--top", type=WholeNumber(min=1), default=None, help="show only the N top-ranked parameters")
@click.option("--no-figures", is_flag=True, help="tables only")
def analyze_command(sweep_output: Path, kpis: tuple[str, ...], top: int | None, no_figures: bool) -> None:
    """Sensitivity indices (Sobol or Morris designs) and plots of a finished sweep.

    Writes SWEEP_OUTPUT/analysis/: sensitivity.csv/.md, bar figures, scatter or box plots
    of each KPI against the parameters, and summary.md.
    """
    import pandas as pd
    if not sweep_output.is_dir():
        raise ScenarioError(sweep_output, "", "folder not found", kind="missing")
    res = analyze(sweep_output, kpis=list(kpis) or None, figures=not no_figures, top=top)
    t = res["table"]
    if res["noisy"]:
        click.echo(f"warning: seed noise: {', '.join(f'{k} {v:.0%}' for k, v in res['noisy'].items())} of the "
                   f"variance lies between replicates of the same point; "
                   f"{READS_NOISE[res['design'] in ('sobol', 'morris')]} (summary.md)", err=True)
    if res["missing"] and folder_in_use(sweep_output):
        # a --resume now would be refused ("in use"): the sweep is still writing its runs
        click.echo(f"warning: the sweep is still running: {res['n_runs'] - res['missing']} of its {res['n_runs']} "
                   f"runs are done, and this analysis covers those; analyze again when it has finished", err=True)
    elif res["missing"]:
        what, again = _how_to_finish(sweep_output, sweep_manifest(sweep_output) or {"sweep_file": res["sweep_file"]})
        why = "sensitivity indices need every point" if res["design"] in ("sobol", "morris") else "its means lack those runs"
        click.echo(f"warning: {what} did not finish: {res['missing']} of its {res['n_runs']} runs are missing, so "
                   f"this analysis covers the runs done ({why}); finish it with {again}, then analyze again", err=True)
    few = _too_few_samples(res["design"], res["samples"], t)
    if few:
        click.echo(f"warning: {few}", err=True)
    if not t.empty:
        cols = ["kpi", "parameter", "S1", "S1_conf", "ST", "ST_conf"] if "ST" in t else \
            ["kpi", "parameter", "mu_star", "mu_star_conf", "sigma"]
        shown = t[t["rank"] <= (top or 3)][cols]
        with pd.option_context("display.width", 160, "display.max_rows", 200, "display.float_format",
                               "{:.3f}".format):
            click.echo(shown.to_string(index=False))
    for k, r in res["ranking"].items():
        if r["second"] is not None and not r["resolved"]:
            if r.get("intervals_unknown"):
                click.echo(f"{k}: ranking not resolved ({r['top']} and {r['second']}: no confidence intervals "
                           f"from so few samples; run more)")
                continue
            more = f"; about N = {r['samples_needed']:,} would separate them" if r["samples_needed"] else \
                (f"; more than {FAR_MULTIPLE} times the samples would be needed: run more to measure the indices "
                 f"first" if r.get("far") else "")
            click.echo(f"{k}: ranking not resolved ({r['top']} and {r['second']} overlap){more}")
    for k, why in res["skipped"].items():
        click.echo(f"left out {k}: {why}")
    click.echo(f"wrote {res['dir']}/ ({len(res['files'])} files)")
