"""``rechain analyze`` (moved to :mod:`rechain.experiments.analyze`, re-exported here)."""

from __future__ import annotations

from .experiments.analyze import (analyze, analyze_command, morris_indices, RANK_BY, ranking_resolution,
                                  sensitivity, sobol_indices, _bar_figure, _manifest, _markdown, _point_means,
                                  _ranking_line, _safe, _scatter_figure, _write_analysis)  # noqa: F401

__all__ = ["analyze", "sensitivity", "sobol_indices", "morris_indices", "ranking_resolution", "analyze_command"]
