"""``rechain compare`` (moved to :mod:`rechain.experiments.compare`, re-exported here)."""

from __future__ import annotations

from .experiments.compare import (compare, compare_command, Comparison, default_out_dir, KPI_LABELS,
                                  MAIN_PRODUCTS, main_series, RECOVERY_BAND, recovery_months, SERIES,
                                  _finished_run, _fmt, _kpi_unit, _kpis_of_run, _label, _markdown, _run_one,
                                  _units, _write_figures)  # noqa: F401

__all__ = ["compare", "Comparison", "compare_command", "MAIN_PRODUCTS", "SERIES", "recovery_months"]
