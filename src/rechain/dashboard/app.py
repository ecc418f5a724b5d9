"""The dashboard page: Mesa's SolaraViz around the chain model, with rechain's levers,
the chain drawing, growing charts and a ticker of news and policy events.

Served by ``rechain dashboard`` (``solara run rechain.dashboard.app``); the scenario the
page opens with comes from the environment variable ``RECHAIN_DASHBOARD_SCENARIO`` (a
path), the picker lists the ``*.toml`` files beside it.
"""

from __future__ import annotations

import os
import warnings
from functools import lru_cache
from pathlib import Path

import solara

# Mesa 3.3's own ComponentsView trips Solara's hook check on import: a warning about Mesa's code
# that a student starting the dashboard can do nothing about
warnings.filterwarnings("ignore", message=r".*ComponentsView: `use_state` found despite early return",
                        category=UserWarning)
from mesa.visualization import SolaraViz  # noqa: E402
from mesa.visualization import solara_viz as _mesa_viz

from ..model import ChainModel
from .chain import chain_svg, last_day_shown
from .charts import charts_figure
from .events import fired, scenario_events
from .levers import Levers, apply_levers, scenario_files
from ..config.errors import real_path
from ..scenario import ScenarioError, load_scenario

__all__ = ["DashboardModel", "Page", "model_params", "SCENARIO_ENV"]

SCENARIO_ENV = "RECHAIN_DASHBOARD_SCENARIO"


def _start_path() -> Path:
    given = os.environ.get(SCENARIO_ENV)
    if given:
        return Path(given)
    return scenario_files().get("baseline", Path("scenarios/baseline.toml"))


def _choices() -> dict[str, Path]:
    """The scenario files beside the one the page opened with (those that load), by stem."""
    start = _start_path()
    return _loadable(str(real_path(start.parent)), str(real_path(start)))


@lru_cache(maxsize=4)
def _loadable(folder: str, start: str) -> dict[str, Path]:
    files = {}
    for stem, path in scenario_files(folder).items():
        try:
            load_scenario(path)
        except ScenarioError:
            continue                          # not a scenario (a calendar, a sweep) or a broken one
        files[stem] = path
    files.setdefault(Path(start).stem, Path(start))
    return files


class DashboardModel(ChainModel):
    """The chain model built from a picked scenario file and the dashboard's levers."""

    def __init__(self, scenario: str = "baseline", approval: float = 1.0, myanmar_stop_months: int = 0,
                 quota_growth_pct: float = 0.0, eol_target_pct: float = 0.0, restock: float = 1.0,
                 wait: float = 1.0, news: bool = True, seed: int = 0):
        path = _choices().get(scenario, Path(scenario))
        self.levers = Levers(approval=float(approval), myanmar_stop_months=int(myanmar_stop_months),
                             quota_growth_pct=float(quota_growth_pct), eol_target=float(eol_target_pct) / 100.0,
                             restock=float(restock), wait=float(wait), news=bool(news))
        self.unlevered = load_scenario(path)
        sc = apply_levers(self.unlevered, self.levers)
        super().__init__(sc, seed=int(seed))
        self.seed_value = int(seed)
        self.events = scenario_events(sc)
        self.flow_scale_t: float | None = None

    def chain_scale(self) -> float | None:
        """Tonnes a week drawn full width: fixed from the first week run, so widths compare."""
        if self.flow_scale_t is None and self.week > 0:
            self.flow_scale_t = max(1000.0, 1.25 * float(self.recorder.flows[0].sum(axis=2).max()))
        return self.flow_scale_t


def model_params() -> dict:
    """The levers as SolaraViz user inputs (each neutral at its default)."""
    start = _start_path()
    return {
        "scenario": {"type": "Select", "value": start.stem, "values": list(_choices()), "label": "Scenario"},
        "approval": {"type": "SliderFloat", "value": 1.0, "min": 0.0, "max": 1.0, "step": 0.05,
                     "label": "Licence approvals x"},
        "myanmar_stop_months": {"type": "SliderInt", "value": 0, "min": 0, "max": 12, "step": 1,
                                "label": "Myanmar stop, months"},
        "quota_growth_pct": {"type": "SliderFloat", "value": 0.0, "min": -20.0, "max": 30.0, "step": 1.0,
                             "label": "Quota growth %/yr"},
        "eol_target_pct": {"type": "SliderInt", "value": 0, "min": 0, "max": 60, "step": 5,
                           "label": "EOL collection target %"},
        "restock": {"type": "SliderFloat", "value": 1.0, "min": 0.0, "max": 3.0, "step": 0.1,
                    "label": "Restocking x"},
        "wait": {"type": "SliderFloat", "value": 1.0, "min": 0.0, "max": 3.0, "step": 0.1,
                 "label": "Wait-and-see x"},
        "news": {"type": "Checkbox", "value": True, "label": "News on"},
        "seed": {"type": "SliderInt", "value": 0, "min": 0, "max": 99, "step": 1, "label": "Seed"},
    }


# --- components (each called with the model after every step) ---------------------------
def ChainView(model: DashboardModel):
    return solara.Card(
        "The chain this week",
        children=[solara.HTML(tag="div", unsafe_innerHTML=chain_svg(model, model.chain_scale()),
                              classes=["rechain-chain-view"])])


def run_ended_html(model: DashboardModel) -> str:
    """A line saying the run is over, once it is ("" before): Mesa greys Play and Step out
    at the end without a word."""
    if model.running:
        return ""
    return (f'<p class="rechain-ended" style="color:#b00"><b>The run has ended</b> (week {model.week}, '
            f'{model.scenario.end}): press Reset to run it again, with the levers as set.</p>')


def Ticker(model: DashboardModel):
    shown = last_day_shown(model)         # the week the chain draws, not the next one
    items = fired(model.events, shown, last=10)
    recent = [e for e in items if (shown - e.date).days < 28]
    rows = "".join(
        f'<li style="margin-bottom:4px;{"font-weight:bold" if e in recent else "color:#555"}">'
        f'<span style="font-family:monospace">{e.date:%Y-%m-%d}</span> '
        f'<span style="color:#888">[{e.kind}]</span> {solara_escape(e.text)}</li>' for e in items)
    lever_text = "; ".join(model.levers.changes(model.unlevered)) or "none (the scenario as written)"
    body = (f'<div class="rechain-ticker" data-count="{len(items)}" '
            f'style="font-size:13px;max-height:520px;overflow-y:auto">{run_ended_html(model)}'
            f'<p><b>{solara_escape(model.scenario.name)}</b>, seed {model.seed_value}, '
            f'levers: {solara_escape(lever_text)}</p>'
            f'<p style="color:#555">{solara_escape(model.scenario.question or model.scenario.description or "")}</p>'
            + (f'<ul style="padding-left:16px">{rows}</ul>' if rows else
               '<p style="color:#888">No news or policy event yet.</p>') + "</div>")
    return solara.Card("News and policy events", children=[solara.HTML(tag="div", unsafe_innerHTML=body)])


def Charts(model: DashboardModel):
    fig = charts_figure(model, width_in=9.0)
    return solara.Card("As it runs", children=[solara.FigureMatplotlib(fig, format="png")])


def solara_escape(text: str) -> str:
    from html import escape
    return escape(str(text))


#: the help under the levers, one entry a line (the first in bold)
LEVER_HELP = (
    "Reset applies the levers.",
    "Each is neutral at its default; a lever moved since the last Reset shows its new value but acts only "
    "after Reset (the ticker lists the levers in force).",
    "Render Interval: weeks run between two redraws; Step and Play move that many weeks at a time. Mesa's step "
    "counter also counts the steps asked for after the last week; the chain's title gives the week just run.",
    "Licence approvals x: multiplies the scenario's approval rates (none without export controls).",
    "Myanmar stop: months with no Myanmar ore, from May 2025 (a run without May 2025: from a third of the way in).",
    "Quota growth: extra growth of mining and separation quotas after the first year.",
    "EOL collection target: end-of-life collection raised toward this rate by the last year, never below the "
    "scenario's own (0: the scenario's).",
    "Restocking x / Wait-and-see x: how strongly firms build stock on expected rises / run it down on expected "
    "falls.",
)


@solara.component
def LeverInput(name: str, options: dict, on_change):
    """One lever, its current value in its label (Mesa's inputs do not show it)."""
    value, set_value = solara.use_state(options.get("value"))

    def changed(v):
        set_value(v)
        on_change(name, v)

    label = options.get("label", name)
    kind = options.get("type")
    if kind in ("SliderFloat", "SliderInt"):
        shown = f"{value:g}" if isinstance(value, (int, float)) else str(value)
        slider = solara.SliderFloat if kind == "SliderFloat" else solara.SliderInt
        slider(f"{label}: {shown}", value=value, on_value=changed, min=options["min"], max=options["max"],
               step=options["step"], thumb_label=True)
    elif kind == "Select":
        solara.Select(label, value=value, on_value=changed, values=options["values"])
    elif kind == "Checkbox":
        solara.Checkbox(label=label, value=value, on_value=changed)
    else:                                           # pragma: no cover - not used by the page
        raise ValueError(f"{kind} is not a supported input type")


@solara.component
def LeverInputs(user_params, on_change=None):
    """Stands in for Mesa's ``UserInputs`` (same arguments): the levers, with their values."""
    with solara.Column(gap="2px"):
        for name, options in user_params.items():
            LeverInput(name, options, on_change)
        # plain HTML, not solara.Markdown, which fetches KaTeX for maths the page never has (a
        # 404 on a machine without internet)
        lines = [f"<b>{solara_escape(LEVER_HELP[0])}</b> {solara_escape(LEVER_HELP[1])}",
                 *map(solara_escape, LEVER_HELP[2:])]
        solara.HTML(tag="div", unsafe_innerHTML="<br>".join(lines), style={"font-size": "12px", "color": "#555"})


COMPONENTS = [(ChainView, 0), (Ticker, 0), (Charts, 0)]
_LAYOUT = [
    {"i": 0, "x": 0, "y": 0, "w": 12, "h": 14, "moved": False},
    {"i": 1, "x": 8, "y": 14, "w": 4, "h": 20, "moved": False},
    {"i": 2, "x": 0, "y": 14, "w": 8, "h": 20, "moved": False},
]
_mesa_layout = _mesa_viz.make_initial_grid_layout


def _layout(num_components: int):
    """Mesa lays every component out half-width; the chain wants the full width."""
    return [dict(x) for x in _LAYOUT] if num_components == len(_LAYOUT) else _mesa_layout(num_components)


@solara.component
def OnePage(components, model):
    """Stands in for Mesa's ``ComponentsView`` (same arguments): the page's components on one
    draggable grid, without the tab bar Mesa puts over them, which names the one page "Page 0"."""
    layout, set_layout = solara.use_state(_layout(len(components)))
    solara.GridDraggable(items=[_mesa_viz._wrap_component(c)(model) for c, _ in components],
                         grid_layout=layout, resizable=True, draggable=True, on_grid_layout=set_layout)


_mesa_viz.make_initial_grid_layout = _layout
_mesa_viz.UserInputs = LeverInputs
_mesa_viz.ComponentsView = OnePage


@solara.component
def Page():
    params = model_params()
    start = {k: v["value"] for k, v in params.items()}
    model = solara.use_memo(lambda: DashboardModel(**start), [])
    return SolaraViz(model, components=COMPONENTS, model_params=params,
                     name="rechain: the rare-earth to magnet chain", play_interval=150)
