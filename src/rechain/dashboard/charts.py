"""The dashboard's charts: weekly series that grow as the model runs, on the run's full
date range (so the line advances from left to right). Plain matplotlib Figures (no pyplot:
they are drawn in the server's threads)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..figures import STAGE_LABELS, date_axis

__all__ = ["charts_figure", "PANELS"]

PANELS = ("prices", "heavy_prices", "production", "cover", "licences", "shortfall")
BUYING_STAGES = ("separation_plants", "recyclers", "magnet_makers", "motor_makers", "overseas_buyers")


def _thousands() -> FuncFormatter:
    """Tick labels of tonnes and prices: thousands as 600,000, small values as they are (one
    per axis: matplotlib ties a formatter to its axis)."""
    return FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 else f"{v:g}")


def _production(model, n):
    w, r = model.world, model.recorder
    S, P = w.stages.index, w.materials.p
    prod = r.production[:n]
    oxides = [P("prnd_oxide"), P("dy_oxide"), P("tb_oxide")]
    magnets = [P("magnet_std"), P("magnet_uh")]
    return {
        "mining, China (t REO)": prod[:, S("miners")].sum(axis=1),
        "separated oxides (t)": prod[:, S("separation_plants")][:, oxides].sum(axis=1),
        "recycled oxides (t)": prod[:, S("recyclers")][:, oxides].sum(axis=1),
        "magnet blanks (t)": prod[:, S("magnet_makers")][:, magnets].sum(axis=1),
    }


def charts_figure(model, width_in: float = 12.0) -> Figure:
    """Six panels of weekly series up to the model's current week."""
    w, r = model.world, model.recorder
    mat = w.materials
    n = model.week
    weeks = np.array(w.calendar.weeks, dtype="datetime64[D]")
    x = weeks[:n]
    fig = Figure(figsize=(width_in, width_in * 0.62), dpi=80, layout="constrained")
    axes = fig.subplots(3, 2, sharex=True).ravel()

    ax = axes[0]
    k = mat.p("prnd_oxide")
    ax.plot(x, r.price[:n, k], color="tab:blue", label="Pr-Nd oxide")
    k = mat.p("prnd_metal")
    ax.plot(x, r.price[:n, k], color="tab:cyan", label="Pr-Nd metal")
    ax.set_ylabel(mat.price_unit["prnd_oxide"])
    ax.set_title("Prices: Pr-Nd oxide and metal", fontsize=10)

    ax = axes[1]
    for prod, col, label in (("dy_oxide", "tab:orange", "Dy oxide"), ("tb_oxide", "tab:red", "Tb oxide"),
                             ("magnet_uh", "tab:purple", "52UH blank")):
        ax.plot(x, r.price[:n, mat.p(prod)], color=col, label=label)
    ax.set_ylabel(mat.price_unit["dy_oxide"])
    if n > 0:
        from matplotlib.ticker import LogLocator, StrMethodFormatter
        ax.set_yscale("log")
        # plain numbers (600, 2,000, 6,000) as on the other panels, not 6x10^3
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.yaxis.set_minor_formatter(StrMethodFormatter(""))
    ax.set_title("Prices: Dy, Tb oxide, 52UH blank (log)", fontsize=10)

    ax = axes[2]
    for (name, series), col in zip(_production(model, n).items(), ("tab:brown", "tab:blue", "tab:green",
                                                                     "tab:gray")):
        ax.plot(x, series, label=name, color=col, lw=1.2)
    ax.set_ylabel("t per week")
    ax.set_title("Production by stage", fontsize=10)

    ax = axes[3]
    for stage in BUYING_STAGES:
        s = w.stages.index(stage)
        if r.has_stage[s]:
            ax.plot(x, r.cover_days[:n, s], label=STAGE_LABELS.get(stage, stage.replace("_", " ")), lw=1.2)
    ax.set_ylabel("days of use")
    ax.set_title("Input stock cover", fontsize=10)

    ax = axes[4]
    # tonnes, not applications: every link files a part-order each week, so the count of
    # applications is mostly the size of the network, not the queue
    ax.fill_between(x, r.lic_pending_t[:n], color="tab:red", alpha=0.3, lw=0)
    ax.plot(x, r.lic_pending_t[:n], color="tab:red", lw=1.2, label="waiting for a licence (t)")
    # refusals empty the queue: without them approvals cut to zero looked like a shorter queue
    # (an outside student's audit)
    ax.plot(x, r.lic_refused[:n], color="black", lw=1.0, ls="--", label="refused this week (t)")
    ax.set_ylabel("t of exports")
    ax.set_title("Export licences: waiting and refused", fontsize=10)

    ax = axes[5]
    short = r.use_want[:n] - r.use_got[:n]
    n_sectors = len(model.scenario.sectors)
    ax.plot(x, short[:, :n_sectors].sum(axis=1), color="tab:blue", label="motor makers, China")
    ax.plot(x, short[:, n_sectors:].sum(axis=1), color="tab:red", label="buyers abroad")
    ax.set_ylabel("t of magnets per week")
    ax.set_title("Shortfall: magnets wanted but not got", fontsize=10)
    # upstream of the shortfall, on its own axis: blanks the makers planned (their stock-building
    # included) but lacked Dy, Tb or Pr-Nd for; on the shortfall's axis it dwarfed a shortfall
    # near zero, and read as one (an outside student's audit)
    twin = ax.twinx()
    twin.plot(x, r.input_short[:n].sum(axis=1), color="tab:purple", ls=":", lw=1.0,
              label="makers: planned blanks not made (right axis)")
    twin.set_ylabel("planned blanks not made, t/wk", color="tab:purple", fontsize=8)
    twin.tick_params(axis="y", colors="tab:purple", labelsize=8)
    top = twin.dataLim.ymax if np.isfinite(twin.dataLim.ymax) and twin.dataLim.ymax > 0 else 1.0
    twin.set_ylim(0, top * 1.05)
    twin.yaxis.set_major_formatter(_thousands())
    handles = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()

    for a in axes:
        a.set_xlim(weeks[0], weeks[-1])
        a.grid(alpha=0.3)
        if a is axes[5]:
            # the shortfall's lines and the twin axis's in one legend
            a.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="best", framealpha=0.85)
        elif a.get_legend_handles_labels()[0]:
            # "best": the lines start at the top left, where a fixed legend hid them
            a.legend(fontsize=8, loc="best", framealpha=0.85)
        if a.get_yscale() == "linear":
            # no negative prices or tonnes, even on an empty panel; thousands as 600,000
            top = a.get_ylim()[1] if np.isfinite(a.dataLim.ymax) and a.dataLim.ymax > 0 else 1.0
            a.set_ylim(0, top)
            a.yaxis.set_major_formatter(_thousands())
        date_axis(a)
    if n == 0:
        fig.suptitle("Press Step or Play to run the model", fontsize=10)
    return fig
