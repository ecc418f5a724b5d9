"""The chain drawn as an SVG: stages left to right, the week's flows between them.

Each stage that buys to use is a box coloured by how its orders for its main inputs over the
last four weeks compare with its usual pace (its orders over the half-year before, or the
weeks there are; white until it has ordered for eight weeks): red when
it orders above it (restocking), blue when below (waiting), so a restocking wave is seen
climbing the chain stage by stage (the motor makers first, the plants weeks later); stages
that only sell are grey. (Orders over use would not do: what a stage plans to use is not what
it orders at rest — magnet makers plan for blanks they cannot make — so each stage would wear
its own colour for good.) Each box also says its
firms' mood (the mean expected relative price change) and has a gauge of its stock cover
against normal (traders: the stock they hold of their storage); each arrow is as wide as the tonnes shipped that week. Reads only the
model's public state (``world``, ``firms``, ``recorder``).
"""

from __future__ import annotations

from html import escape

import numpy as np

from ..figures import STAGE_LABELS, STAGE_LAYOUT
from ..recorder import MAX_COVER_DAYS
from ..report import ORDERS_AGAINST

__all__ = ["chain_svg", "stage_state", "ordering_pace", "week_words", "last_day_shown", "POSITIONS", "LABELS"]

POSITIONS, LABELS = STAGE_LAYOUT, STAGE_LABELS
BOX_W, BOX_H, COL_W, ROW_H, X0, Y0 = 158, 70, 212, 112, 12, 34
MOOD_LIMIT = 0.2        # the colour saturates at +-20 % expected change
ORDER_LIMIT = 0.15      # ... and at orders 15 % above or below the usual pace
ORDER_WEEKS = 4         # orders read over the last four weeks (a holiday week orders little) ...
USUAL_WEEKS = 26        # ... against the half-year before them
#: each buying stage's main inputs: the ones its orders are read against its use of
ORDERED = {stage: products for stage, products, _, _ in ORDERS_AGAINST}
#: stages that hold stock to sell later, whose gauge is their stock against their storage
STORING = ("traders",)
WIDTH, HEIGHT = X0 + 4 * COL_W + BOX_W + 12, Y0 + 2 * ROW_H + BOX_H + 78


def _mood_colour(x: float, limit: float = MOOD_LIMIT) -> str:
    """Diverging colour: blue (wait-and-see) - white - red (restocking), saturating at
    ``limit``; light grey where there is nothing to colour by (nan)."""
    if not np.isfinite(x):
        return "#e4e4e4"
    t = float(np.clip(x / limit, -1, 1))
    lo, mid, hi = np.array([33, 102, 172]), np.array([247, 247, 247]), np.array([178, 24, 43])
    c = mid + (hi - mid) * t if t >= 0 else mid + (lo - mid) * (-t)
    return "#%02x%02x%02x" % tuple(int(round(v)) for v in c)


def ordering_pace(model) -> dict[str, float]:
    """Per buying stage (:data:`ORDERED`): its orders for its main inputs over the last
    :data:`ORDER_WEEKS` weeks over its orders in the :data:`USUAL_WEEKS` weeks before them, a
    week's mean each (1: ordering at its usual pace; above, restocking; below, waiting); nan
    until it has ordered for twice :data:`ORDER_WEEKS` weeks, or where it orders nothing."""
    w, r = model.world, model.recorder
    n = model.week
    mat = w.materials
    out = {}
    for s, stage in enumerate(w.stages):
        products = [mat.p(p) for p in ORDERED.get(stage, ()) if p in mat.products]
        if not products or not np.any(w.firms.stage == s):
            continue
        weekly = r.orders[:n, s][:, products].sum(axis=1)
        recent, usual = weekly[n - ORDER_WEEKS:], weekly[max(n - ORDER_WEEKS - USUAL_WEEKS, 0):n - ORDER_WEEKS]
        ok = n >= 2 * ORDER_WEEKS and usual.mean() > 1e-9
        out[stage] = float(recent.mean() / usual.mean()) if ok else float("nan")
    return out


def stage_state(model) -> dict[str, dict]:
    """Per stage present in the run: mood (mean expected change of its firms), ordering (its
    orders against its usual pace, :func:`ordering_pace`; nan for a stage that only sells), stock
    cover (days, last recorded week) and normal cover (days)."""
    w, r = model.world, model.recorder
    stage_of = w.firms.stage
    n_stage = len(w.stages)
    count = np.bincount(stage_of, minlength=n_stage)
    mood = np.bincount(stage_of, weights=model.firms.expected_change, minlength=n_stage) / np.maximum(count, 1)
    ordering = ordering_pace(model)
    b = model.scenario.behaviour
    n = model.week
    cover = r.cover_days[n - 1] if n > 0 else np.full(n_stage, np.nan)
    out = {}
    for s, stage in enumerate(w.stages):
        if count[s] == 0:
            continue
        normal = b.cover_weeks.get(stage, b.finished_cover_weeks) * 7.0
        out[stage] = {"mood": float(mood[s]), "ordering": ordering.get(stage, float("nan")),
                      "cover_days": float(cover[s]), "normal_days": normal, "firms": int(count[s])}
        if stage in STORING:
            # stockists neither use nor are ordered from: their gauge is what they hold of the
            # storage they have (their capacity, t), the sign of their speculation
            mine = stage_of == s
            out[stage]["held_t"] = float(model.firms.stock_t[mine].sum())
            out[stage]["storage_t"] = float(model.firms.capacity_t_per_wk[mine].sum())
    return out


def _monday_shown(model):
    """The Monday of the week the drawing shows (the week just run), or None before any."""
    cal, n = model.world.calendar, model.week
    return cal.weeks[min(n, cal.n_weeks) - 1] if n > 0 else None


def last_day_shown(model):
    """The last day of the week the drawing shows (the Sunday of the week just run; the day
    before the first week before any has run): the ticker lists the events up to it."""
    import datetime as dt
    monday = _monday_shown(model)
    return model.world.calendar.weeks[0] - dt.timedelta(days=1) if monday is None else monday + dt.timedelta(days=6)


def week_words(model) -> str:
    """The week the drawing shows, in words: the week just run (its flows), or before the
    first one."""
    monday = _monday_shown(model)
    if monday is None:
        return f"before the first week ({model.world.calendar.weeks[0]:%d %b %Y})"
    return f"week {model.week}, {monday:%d %b %Y} on"


def _fmt_t(x: float) -> str:
    if x >= 1000:
        return f"{x / 1000:.1f} kt"
    return f"{x:.0f} t" if x >= 10 else f"{x:.1f} t"


def _box_xy(stage: str) -> tuple[float, float]:
    col, row = POSITIONS.get(stage, (2, 1.0))
    return X0 + col * COL_W, Y0 + row * ROW_H


def chain_svg(model, flow_scale_t: float | None = None) -> str:
    """The chain at the model's current week as an SVG string.

    ``flow_scale_t``: tonnes a week drawn 26 px wide (default: the largest flow of the week,
    at least 1,000 t); pass the same value every week so that widths can be compared.
    """
    w, r = model.world, model.recorder
    st = stage_state(model)
    n = model.week
    flows = r.flows[n - 1].sum(axis=2) if n > 0 else np.zeros((len(w.stages), len(w.stages)))
    pairs = set(zip(w.firms.stage[w.links.src].tolist(), w.firms.stage[w.links.dst].tolist()))
    pairs |= set(zip(*np.nonzero(flows > 0)))
    names = w.stages
    pairs = {(a, b) for a, b in pairs if a != b and names[a] in st and names[b] in st}
    scale = flow_scale_t or max(1000.0, float(flows.max()) if flows.size else 0.0)
    total = float(flows.sum() - np.trace(flows))      # within a stage is not between stages
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
             f'style="max-width:{WIDTH * 1.25:.0f}px;font-family:sans-serif" class="rechain-chain" '
             f'data-week="{n}">',
             '<defs><marker id="ah" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
             'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
             f'<text x="{X0}" y="18" font-size="15" font-weight="bold">{escape(model.scenario.name)} - '
             f'{week_words(model)}</text>',
             f'<text x="{WIDTH - 12}" y="18" font-size="12" text-anchor="end" fill="#444">this week: '
             f'{_fmt_t(total)} shipped between stages</text>']
    bottom = Y0 + 2 * ROW_H + BOX_H
    # flows first, boxes on top
    for a, b in sorted(pairs):
        t = float(flows[a, b])
        (xa, ya), (xb, yb) = _box_xy(names[a]), _box_xy(names[b])
        width = 1.0 + 25.0 * min(t / scale, 1.5) if t > 0 else 0.8
        colour = "#6b6b6b" if t > 0 else "#cccccc"
        dash = "" if t > 0 else ' stroke-dasharray="3,3"'
        if xb > xa:        # downstream: right side to left side
            x1, y1, x2, y2 = xa + BOX_W, ya + BOX_H / 2, xb - 4, yb + BOX_H / 2
            d = f"M{x1:.0f},{y1:.0f} C{x1 + 60:.0f},{y1:.0f} {x2 - 60:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2 - 4
        else:               # back upstream (scrap) or within a column: below the boxes
            x1, y1, x2, y2 = xa + BOX_W / 2, ya + BOX_H, xb + BOX_W / 2 + 20, yb + BOX_H + 4
            low = bottom + 40
            d = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{low:.0f} {x2:.0f},{low:.0f} {x2:.0f},{y2:.0f}"
            mx, my = (x1 + x2) / 2, low - 6
        parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-opacity="0.75" '
                     f'stroke-width="{width:.1f}"{dash} marker-end="url(#ah)" class="flow" '
                     f'data-from="{names[a]}" data-to="{names[b]}" data-tonnes="{t:.1f}">'
                     f'<title>{LABELS.get(names[a], names[a])} to {LABELS.get(names[b], names[b])}: '
                     f'{_fmt_t(t)} this week</title></path>')
        if t > 0 and total > 0 and t >= 0.03 * total:
            parts.append(f'<text x="{mx:.0f}" y="{my:.0f}" font-size="11" text-anchor="middle" fill="#333" '
                         f'paint-order="stroke" stroke="white" stroke-width="3">{_fmt_t(t)}</text>')
    for stage, s in st.items():
        x, y = _box_xy(stage)
        buys = np.isfinite(s["ordering"])
        # a stage that buys but has no usual pace yet is white (no colour yet), not "sells only"
        fill = "#ffffff" if stage in ORDERED and not buys else _mood_colour(s["ordering"] - 1.0, ORDER_LIMIT)
        dark = buys and abs(s["ordering"] - 1.0) > 0.6 * ORDER_LIMIT
        ink = "white" if dark else "#111"
        mood_txt = f"orders {100 * (s['ordering'] - 1):+.0f} % on usual" if buys else \
            (f"orders: from week {2 * ORDER_WEEKS}" if stage in ORDERED else f"mood {100 * s['mood']:+.0f} %")
        ordering_txt = (f"; orders over the last {ORDER_WEEKS} weeks {100 * (s['ordering'] - 1):+.1f} % on the "
                        f"{USUAL_WEEKS} weeks before" if buys else "")
        cover = s["cover_days"]
        idle = np.isfinite(cover) and cover >= MAX_COVER_DAYS      # a stock nobody orders from (a stop)
        cover_txt = ("cover: no orders" if idle else f"cover {cover:.0f} d") if np.isfinite(cover) else "cover -"
        frac = min(cover / (2 * s["normal_days"]), 1.0) if np.isfinite(cover) and not idle and s["normal_days"] > 0 \
            else 0.0
        stored = "storage_t" in s
        if stored:
            cover_txt = f"holds {_fmt_t(s['held_t'])} of {_fmt_t(s['storage_t'])}"
            frac = min(s["held_t"] / s["storage_t"], 1.0) if s["storage_t"] > 0 else 0.0
        gauge_txt = (f"stock held {cover_txt.removeprefix('holds ')} of storage" if stored else
                     f"stock cover {cover_txt.removeprefix('cover').lstrip(': ')} (normal {s['normal_days']:.0f} d)")
        tick = "" if stored else (f'<line x1="{x + BOX_W / 2}" x2="{x + BOX_W / 2}" y1="{y + 54}" y2="{y + 67}" '
                                  f'stroke="#e08214" stroke-width="2"/>')
        parts.append(f'<g class="stage" data-stage="{stage}" data-mood="{s["mood"]:.4f}" '
                     f'data-ordering="{s["ordering"] if buys else -1:.4f}" '
                     f'data-cover="{cover if np.isfinite(cover) else -1:.1f}">'
                     f'<title>{LABELS.get(stage, stage)}: {s["firms"]} firms; mean expected price change '
                     f'{100 * s["mood"]:+.1f} %{ordering_txt}; {gauge_txt}</title>'
                     f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" stroke="#333"/>'
                     f'<text x="{x + 8}" y="{y + 18}" font-size="13" font-weight="bold" fill="{ink}">'
                     f'{escape(LABELS.get(stage, stage))}</text>'
                     f'<text x="{x + 8}" y="{y + 35}" font-size="12" fill="{ink}">{mood_txt}</text>'
                     f'<text x="{x + 8}" y="{y + 51}" font-size="12" fill="{ink}">{cover_txt}</text>'
                     f'<rect x="{x + 8}" y="{y + 57}" width="{BOX_W - 16}" height="7" fill="white" '
                     f'stroke="#333" stroke-width="0.6"/>'
                     f'<rect x="{x + 8}" y="{y + 57}" width="{(BOX_W - 16) * frac:.1f}" height="7" fill="#333"/>'
                     f'{tick}</g>')
    # legend
    ly = HEIGHT - 16
    parts.append(f'<g font-size="11" fill="#333">'
                 f'<rect x="{X0}" y="{ly - 10}" width="12" height="12" fill="{_mood_colour(1.0)}"/>'
                 f'<text x="{X0 + 16}" y="{ly}">orders above usual (restocking)</text>'
                 f'<rect x="{X0 + 205}" y="{ly - 10}" width="12" height="12" fill="{_mood_colour(-1.0)}"/>'
                 f'<text x="{X0 + 221}" y="{ly}">orders below usual (waiting)</text>'
                 f'<rect x="{X0 + 390}" y="{ly - 10}" width="12" height="12" fill="{_mood_colour(float("nan"))}"/>'
                 f'<text x="{X0 + 406}" y="{ly}">sells only</text>'
                 f'<text x="{X0 + 480}" y="{ly}">bar: stock cover, orange tick = normal</text>'
                 f'<text x="{X0 + 700}" y="{ly}">arrows: tonnes shipped this week '
                 f'(26 px = {_fmt_t(scale)})</text></g>')
    parts.append("</svg>")
    return "".join(parts)
