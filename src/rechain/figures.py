"""Small helpers shared by every figure rechain draws: readable date axes, embedding."""

from __future__ import annotations

import base64
import io
import warnings

# A scenario's name goes into figure titles; the plotting font has no glyphs for some
# scripts (Chinese, for one) and draws boxes for them. That is cosmetic: one warning per
# missing glyph per figure would bury the run's own messages, --quiet or not.
warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)

__all__ = ["date_axis", "png_base64", "month_dates", "label_lowest_panels", "STAGE_LAYOUT", "STAGE_LABELS", "STAGE_COLOURS"]

#: where each stage stands when the chain is drawn: (column, row), upstream on the left
#: (the dashboard's chain and the report's flow diagram)
STAGE_LAYOUT = {
    "miners": (0, 0.0), "myanmar_holders": (0, 1.0), "overseas_miners": (0, 2.0),
    "separation_plants": (1, 0.5), "recyclers": (1, 2.0),
    "traders": (2, 0.0), "state_reserve": (2, 2.0),
    "magnet_makers": (3, 1.0),
    "motor_makers": (4, 0.4), "overseas_buyers": (4, 1.6),
    "foreign_producers": (3, 2.4),
}
STAGE_LABELS = {
    "miners": "Miners (China)", "myanmar_holders": "Myanmar ore", "overseas_miners": "Overseas miners",
    "separation_plants": "Separation plants", "recyclers": "Recyclers", "traders": "Traders",
    "state_reserve": "State reserve", "magnet_makers": "Magnet makers", "motor_makers": "Motor makers (China)",
    "overseas_buyers": "Buyers abroad", "foreign_producers": "Producers abroad",
}

#: one colour per stage in every figure that draws stages as lines (a student compares them)
STAGE_COLOURS = {
    "miners": "tab:brown", "myanmar_holders": "tab:olive", "overseas_miners": "tab:pink",
    "separation_plants": "tab:blue", "recyclers": "tab:cyan", "traders": "tab:gray",
    "state_reserve": "black", "magnet_makers": "tab:green", "motor_makers": "tab:red",
    "overseas_buyers": "tab:purple", "foreign_producers": "tab:orange",
}


def date_axis(ax, minticks: int = 3, maxticks: int = 8) -> None:
    """Date ticks that do not overlap: a few well-placed ticks, labelled concisely
    ("2025", "Apr", "Jul", ...). Lines of a single date (a one-month run) show as points,
    on an axis a few weeks wide where the caller left the range to matplotlib (it spans
    years around one date)."""
    import matplotlib.dates as mdates

    lines = ax.get_lines()
    for line in lines:
        if len(line.get_xdata()) == 1:
            line.set_marker("o")        # a line through one point draws nothing
    if lines and ax.get_autoscalex_on() and ax.dataLim.width == 0:
        middle = ax.dataLim.x0
        ax.set_xlim(middle - 20, middle + 20)       # days
    locator = mdates.AutoDateLocator(minticks=minticks, maxticks=maxticks)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def label_lowest_panels(axes, n_shown: int, cols: int) -> None:
    """On a grid of panels sharing the time axis, with the ones after ``n_shown`` hidden: give
    every shown panel with none shown below it its dates (the shared axis labels only the
    bottom row, and a panel above a hidden one would have none)."""
    for i, ax in enumerate(list(axes)[:n_shown]):
        if i + cols >= n_shown:
            ax.tick_params(axis="x", labelbottom=True)


def month_dates(months):
    """Month labels ("2025-04") as timestamps at mid-month (bars sit on their month)."""
    import pandas as pd

    return pd.to_datetime(list(months), format="%Y-%m") + pd.Timedelta(days=14)


def png_base64(fig, dpi: int = 100) -> str:
    """A figure as a base64 PNG (for ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")
