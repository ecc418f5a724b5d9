"""Material accounting per element: every tonne is somewhere.

Sources bring material into the model (ore mined at home, within the quota or outside it, or
abroad (Myanmar, overseas mines, producers abroad), end-of-life
magnets collected); sinks take it out (process losses, by-product REO sold outside the
chain, magnets built into end products at home or abroad). Everything else is in a
firm's stock or in transit. Each step :meth:`Ledger.check` asserts, per element,

    sources = stocks + in transit + sinks

to floating-point tolerance, and raises :class:`MassBalanceError` otherwise.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ABS_TOL_T", "Ledger", "RunBrokeDown", "MassBalanceError", "NotFinite", "SOURCES", "SINKS"]

#: what the balance may be off by whatever the totals, t: a gram, far below any flow the model
#: reports, far above the round-off of adding many tiny stocks (capacities of a microgram)
ABS_TOL_T = 1e-6

SOURCES = ("mined_domestic", "mined_outside_quota", "mined_abroad", "eol_collected")
SINKS = ("separation_loss", "metal_loss", "magnet_loss", "recycling_loss", "byproduct_sold",
         "used_domestic", "used_overseas")


class RunBrokeDown(RuntimeError):
    """A run that cannot go on: its books no longer balance or its numbers left the finite
    range. Schema bounds keep plausible scenarios away from it; the CLI reports it in one line.
    A command that runs several scenarios sets ``where`` (the scenario's file or name and the
    seed), so the line names the one that broke down."""

    where: str | None = None


class MassBalanceError(RunBrokeDown):
    """Material appeared or vanished."""


class NotFinite(RunBrokeDown):
    """A price or a stock is no longer a finite number (an overflow or 0/0 upstream)."""


def check_finite(week: int, date, named: dict[str, np.ndarray]) -> None:
    """Raise :class:`NotFinite` naming the first of ``named`` arrays that holds a value that
    is not a finite number: nothing NaN or infinite is ever written to a run's tables."""
    for name, values in named.items():
        if not np.isfinite(values).all():
            raise NotFinite(f"the run broke down in week {week} ({date}): {name} is no longer a finite number; "
                            f"a figure of the scenario lies beyond what the model can compute with")


class Ledger:
    """Cumulative sources and sinks, t REO-eq per element."""

    def __init__(self, elements: tuple[str, ...], rtol: float = 1e-9):
        self.elements = elements
        self.rtol = rtol
        n = len(elements)
        self.sources = {k: np.zeros(n) for k in SOURCES}
        self.sinks = {k: np.zeros(n) for k in SINKS}
        self.last_error = np.zeros(n)
        self._src_total = np.zeros(n)
        self._snk_total = np.zeros(n)

    def add_source(self, kind: str, amount: np.ndarray) -> None:
        self.sources[kind] += amount
        self._src_total += amount

    def add_sink(self, kind: str, amount: np.ndarray) -> None:
        self.sinks[kind] += amount
        self._snk_total += amount

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative sources and sinks per element (kept as running totals)."""
        return self._src_total.copy(), self._snk_total.copy()

    def check(self, in_system: np.ndarray, week: int | None = None) -> np.ndarray:
        """Compare sources with stocks + transit + sinks; raise if they differ."""
        src, snk = self.totals()
        err = src - snk - in_system
        scale = np.maximum(np.maximum(src, in_system + snk), 1.0)
        self.last_error = err
        bad = np.abs(err) > self.rtol * scale + ABS_TOL_T
        if bad.any():
            names = [f"{self.elements[i]}: {err[i]:+.6g} t" for i in np.flatnonzero(bad)]
            raise MassBalanceError(f"mass balance broken at week {week}: " + ", ".join(names))
        return err

    def summary(self, in_system: np.ndarray | None = None) -> dict[str, dict[str, float | bool]]:
        """Cumulative totals by element, for reports and tests. With ``in_system`` (what stocks
        and transit hold at the end), also ``in_system_at_end``, the ``residual`` (sources less
        sinks less that, t) and whether the balance ``holds`` to the check's tolerance: a reader
        of ``mass_balance.json`` can see it close."""
        out: dict[str, dict[str, float | bool]] = {}
        src, snk = self.totals()
        for j, el in enumerate(self.elements):
            row: dict[str, float | bool] = {f"source_{k}": float(v[j]) for k, v in self.sources.items()}
            row.update({f"sink_{k}": float(v[j]) for k, v in self.sinks.items()})
            if in_system is not None:
                residual = src[j] - snk[j] - in_system[j]
                scale = max(src[j], in_system[j] + snk[j], 1.0)
                row.update(in_system_at_end=float(in_system[j]), residual=float(residual),
                           holds=bool(abs(residual) <= self.rtol * scale + ABS_TOL_T))
            out[el] = row
        return out
