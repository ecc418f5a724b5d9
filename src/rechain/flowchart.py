"""A Sankey-like diagram of the chain by element (Pr-Nd, Dy, Tb) for one year, drawn with
matplotlib from ``flows.csv`` and the element content of each product.

Tonnes of product shipped between stages times the product's content of an element
(``rechain.materials.materials().content``, t REO-eq per t) gives the element's flow. Stages
stand in columns, upstream on the left; a band's width is the element's tonnes a year.
Shipments back up the chain (scrap from magnet makers to recyclers) are drawn as dashed
arcs below, with their tonnes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .figures import STAGE_LABELS, STAGE_LAYOUT
from .materials import materials
from .report import ELEMENT_COLUMNS, FLOW_ELEMENTS

__all__ = ["element_flows", "within_stage_flows", "figure_element_flows", "ELEMENTS_SHOWN", "default_year",
           "full_years"]

ELEMENTS_SHOWN = {"prnd": "Pr-Nd", "dy": "Dy", "tb": "Tb"}

COLUMNS, LABELS = STAGE_LAYOUT, STAGE_LABELS


def default_year(flows: pd.DataFrame, cut: str | None = None) -> str:
    """The last year the flows cover in full (12 months, none of them ``cut`` short), else the
    last year."""
    years = sorted({m[:4] for m in flows["month"]})
    return (sorted(full_years(flows, cut)) or years or [""])[-1]


def full_years(flows: pd.DataFrame, cut: str | None = None) -> set[str]:
    """The years (YYYY) whose twelve months the flows cover, a month ``cut`` short (``YYYY-MM``:
    the run ended inside it) not counted."""
    months = set(flows["month"]) - {cut}
    return {y for y in {m[:4] for m in months} if sum(m.startswith(y) for m in months) == 12}


def element_flows(flows: pd.DataFrame, year: str | int) -> pd.DataFrame:
    """Yearly flows between stages by element: ``element, from_stage, to_stage, tonnes`` (t REO-eq).

    From the element columns of ``flows.csv`` (the content the run shipped: a magnet's Dy
    follows its recipe in use); a flows table without them (written by an older rechain)
    is read at the package's default content."""
    f = flows[flows["month"].astype(str).str.startswith(str(year))]
    return _by_element(f[f["from_stage"] != f["to_stage"]])


def within_stage_flows(flows: pd.DataFrame, year: str | int) -> pd.DataFrame:
    """Yearly trade between firms of the same stage by element (plants buying oxide from other
    plants for their metal lines, say): ``element, from_stage, to_stage, tonnes``. A diagram of
    flows between stages does not draw them, and says so (:func:`_draw_element`)."""
    f = flows[flows["month"].astype(str).str.startswith(str(year))]
    return _by_element(f[f["from_stage"] == f["to_stage"]])


def _by_element(f: pd.DataFrame) -> pd.DataFrame:
    """``flows.csv`` rows summed per stage pair and element, t REO-eq (:func:`element_flows`)."""
    if set(ELEMENT_COLUMNS) <= set(f.columns):
        out = (f.groupby(["from_stage", "to_stage"], as_index=False)[ELEMENT_COLUMNS].sum()
               .rename(columns=dict(zip(ELEMENT_COLUMNS, FLOW_ELEMENTS)))
               .melt(["from_stage", "to_stage"], var_name="element", value_name="tonnes"))
        out = out[out["tonnes"] > 0].sort_values(["element", "from_stage", "to_stage"], ignore_index=True)
        return out[["element", "from_stage", "to_stage", "tonnes"]]
    mat = materials()
    rows = []
    g = f.groupby(["from_stage", "to_stage", "product"])["tonnes"].sum()
    for (src, dst, product), t in g.items():
        if product not in mat.products:
            continue
        content = mat.content[mat.p(product)]
        for el in ELEMENTS_SHOWN:
            v = float(t) * float(content[mat.e(el)])
            if v > 0:
                rows.append((el, src, dst, v))
    out = pd.DataFrame(rows, columns=["element", "from_stage", "to_stage", "tonnes"])
    return out.groupby(["element", "from_stage", "to_stage"], as_index=False)["tonnes"].sum()


def _fmt_t(x: float) -> str:
    if x >= 1000:
        return f"{x / 1000:,.1f} kt"
    return f"{x:,.0f} t" if x >= 10 else f"{x:,.1f} t"


def _band(ax, x0, y0, x1, y1, w0, colour, alpha=0.45):
    """A band of width ``w0`` from (x0, y0 top) to (x1, y1 top), curving between."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    xm = (x0 + x1) / 2
    verts = [(x0, y0), (xm, y0), (xm, y1), (x1, y1), (x1, y1 - w0), (xm, y1 - w0), (xm, y0 - w0), (x0, y0 - w0),
             (x0, y0)]
    codes = [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4, Path.LINETO, Path.CURVE4, Path.CURVE4,
             Path.CURVE4, Path.CLOSEPOLY]
    ax.add_patch(PathPatch(Path(verts, codes), facecolor=colour, edgecolor="none", alpha=alpha))


def _draw_element(ax, ef: pd.DataFrame, element: str, colour: str, within: pd.DataFrame | None = None,
                  span: str = "") -> None:
    from matplotlib.patches import Rectangle

    d = ef[ef["element"] == element]
    # (what rounds to 0.0 t is left unsaid, as a drawn flow that small would be)
    inside = within[(within["element"] == element) & (within["tonnes"] >= 0.05)] if within is not None else None
    ax.set_axis_off()
    if d.empty or d["tonnes"].sum() <= 0:
        ax.text(0.5, 0.5, f"no {ELEMENTS_SHOWN[element]} flows", ha="center", va="center", transform=ax.transAxes)
        return
    stages = [s for s in COLUMNS if s in set(d["from_stage"]) | set(d["to_stage"])]
    fwd = d[[COLUMNS[a][0] < COLUMNS[b][0] for a, b in zip(d["from_stage"], d["to_stage"])]]
    back = d.drop(fwd.index)
    out_t = fwd.groupby("from_stage")["tonnes"].sum()
    in_t = fwd.groupby("to_stage")["tonnes"].sum()
    size = {s: max(out_t.get(s, 0.0), in_t.get(s, 0.0)) for s in stages}     # drawn: the bands must fit
    # labelled: what passes through, flows back up the chain (scrap to recyclers) included
    out_all, in_all = d.groupby("from_stage")["tonnes"].sum(), d.groupby("to_stage")["tonnes"].sum()
    through = {s: max(out_all.get(s, 0.0), in_all.get(s, 0.0)) for s in stages}
    top = max(size.values()) or 1.0
    scale = 0.75 / top                       # the largest node is 0.75 rows high
    node_w = 0.12
    # nodes: y is the top edge (rows grow downward, so plot -row)
    ytop = {s: -COLUMNS[s][1] + size[s] * scale / 2 for s in stages}
    for s in stages:
        x, h = COLUMNS[s][0], max(size[s] * scale, 0.01)
        ax.add_patch(Rectangle((x - node_w / 2, ytop[s] - h), node_w, h, facecolor="#444", edgecolor="none"))
        ax.text(x, ytop[s] + 0.04, f"{LABELS.get(s, s)}\n{_fmt_t(through[s])}", ha="center", va="bottom", fontsize=8)
    # bands: on each source's right edge stacked in the order of their targets (top first), on
    # each target's left edge in the order of their sources, so that bands do not cross at a node
    order = fwd.assign(ys=[-COLUMNS[s][1] for s in fwd["from_stage"]],
                       yd=[-COLUMNS[s][1] for s in fwd["to_stage"]]).reset_index(drop=True)
    order["w"] = order["tonnes"] * scale
    order["y_out"] = 0.0
    order["y_in"] = 0.0
    for col, end, key in (("y_out", "from_stage", "yd"), ("y_in", "to_stage", "ys")):
        used = dict.fromkeys(stages, 0.0)
        for i in order.sort_values(key, ascending=False).index:
            s = order.at[i, end]
            order.at[i, col] = ytop[s] - used[s]
            used[s] += order.at[i, "w"]
    total = float(fwd["tonnes"].sum())
    for _, r in order.iterrows():
        x0, x1 = COLUMNS[r["from_stage"]][0] + node_w / 2, COLUMNS[r["to_stage"]][0] - node_w / 2
        _band(ax, x0, r["y_out"], x1, r["y_in"], r["w"], colour)
        if r["tonnes"] >= 0.03 * total:
            ax.text((x0 + x1) / 2, (r["y_out"] + r["y_in"] - r["w"]) / 2, _fmt_t(r["tonnes"]), ha="center",
                    va="center", fontsize=7, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                                   "alpha": 0.8})
    low = min(ytop[s] - size[s] * scale for s in stages) - 0.25
    deepest = low
    small = back[back["tonnes"] < 0.02 * total]
    for _, r in back.drop(small.index).iterrows():
        a, b, t = r["from_stage"], r["to_stage"], r["tonnes"]
        xa, xb = COLUMNS[a][0], COLUMNS[b][0]
        ya, yb = ytop[a] - size[a] * scale, ytop[b] - size[b] * scale
        xs = np.linspace(0, 1, 40)
        x = xa + (xb - xa) * xs + (0.15 * np.sin(np.pi * xs) if xa == xb else 0.0)
        y = (ya * (1 - xs) + yb * xs) - np.sin(np.pi * xs) * (max(ya, yb) - low)
        ax.plot(x, y, ls="--", color=colour, lw=1.2)
        ax.annotate("", xy=(x[-1], y[-1]), xytext=(x[-3], y[-3]), arrowprops={"arrowstyle": "->", "color": colour})
        k = int(np.argmin(y))
        ax.text(x[k], y[k] - 0.04, f"{LABELS.get(a, a)} to {LABELS.get(b, b)}: {_fmt_t(t)}", ha="center",
                va="top", fontsize=7)
        deepest = min(deepest, float(y[k]) - 0.2)          # below the arc and its label
    if len(small):
        deepest -= 0.1
        ax.text(-0.45, deepest, f"not drawn: {len(small)} flow(s) back up the chain under 2 % of the total "
                f"({_fmt_t(float(small['tonnes'].sum()))} together)", fontsize=7, color="#555", va="top")
    if inside is not None and len(inside):
        # trade within a stage moves no tonne down the chain, but it can be large (an outside
        # analyst found 11 kt of Pr-Nd between separation plants left out without a word);
        # a line's height below the note above, if there is one (they overprinted)
        deepest -= 0.22 if len(small) else 0.1
        said = "; ".join(f"{LABELS.get(r['from_stage'], r['from_stage'])} {_fmt_t(float(r['tonnes']))}"
                         for _, r in inside.sort_values("tonnes", ascending=False).iterrows())
        ax.text(-0.45, deepest, f"not drawn, traded within a stage: {said}", fontsize=7, color="#555", va="top")
    ax.set_xlim(-0.5, 4.6)
    ax.set_ylim(deepest - 0.2, max(ytop.values()) + 0.35)
    ax.set_title(f"{ELEMENTS_SHOWN[element]}: t REO-eq {f'in {span}' if span else 'a year'} (band width = tonnes down the chain; node = the "
                 f"larger of in- and outflow, flows back up included)", fontsize=10, loc="left")


def figure_element_flows(flows: pd.DataFrame, year: str | int | None = None, title: str = "", end=None):
    """The diagram: one row per element (Pr-Nd, Dy, Tb), each on its own scale (``end``: the
    run's last day, to say a year whose last month it holds in part)."""
    from matplotlib.figure import Figure

    from .report import month_cut_short, part_of_year
    year = str(year) if year is not None else default_year(flows, month_cut_short(end))
    ef, within = element_flows(flows, year), within_stage_flows(flows, year)
    fig = Figure(figsize=(13, 13), layout="constrained")
    axes = fig.subplots(3, 1)
    span = part_of_year(flows["month"], year, end)
    for ax, el, colour in zip(axes, ELEMENTS_SHOWN, ("tab:blue", "tab:orange", "tab:red")):
        _draw_element(ax, ef, el, colour, within, span)      # a part of a year is no year's tonnes
    fig.suptitle(f"Flows through the chain by element, {year}{f' ({span} only)' if span else ''} {title}".strip())
    return fig
