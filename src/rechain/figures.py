"""Small helpers shared by every figure rechain draws: readable date axes, embedding."""

from __future__ import annotations

import base64
import io

__all__ = ["date_axis", "png_base64", "month_dates"]


def date_axis(ax, minticks: int = 3, maxticks: int = 8) -> None:
    """Date ticks that do not overlap: a few well-placed ticks, labelled concisely
    ("2025", "Apr", "Jul", ...)."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=minticks, maxticks=maxticks)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def month_dates(months):
    """Month labels ("2025-04") as timestamps at mid-month (bars sit on their month)."""
    import pandas as pd

    return pd.to_datetime(list(months), format="%Y-%m") + pd.Timedelta(days=14)


def png_base64(fig, dpi: int = 100) -> str:
    """A figure as a base64 PNG (for ``<img src="data:image/png;base64,...">``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")
