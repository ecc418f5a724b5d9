"""Holding the model to the record (moved to :mod:`rechain.experiments.validate`, re-exported here)."""

from __future__ import annotations

from .experiments.validate import (check_selections, COLUMNS, COMPARISONS, default_vocabulary, evaluate,
                                   evaluate_fact, Fact, FactError, facts_in_run, FLOW_VARIABLES, format_table, judge,
                                   LEVEL_VARIABLES, load_facts, MEASURES, monthly_series, NEEDS_TARGET, PANELS,
                                   parse_period, PCT_MEASURES, SIGNED_VARIABLES, summarise, validate,
                                   validate_command, Validation, VARIABLES, Vocabulary, vocabulary_of,
                                   write_figures, write_outputs, _AnyName, _check_fact, _fact_from_row, _float,
                                   _markdown, _measure, _month_range, _num, _panel_facts, _period_value,
                                   _run_monthly, _select, _shift, _split, _truthy, _union)  # noqa: F401

__all__ = ["Fact", "FactError", "Validation", "Vocabulary", "VARIABLES", "FLOW_VARIABLES", "LEVEL_VARIABLES",
           "MEASURES", "COMPARISONS", "load_facts", "default_vocabulary", "vocabulary_of", "check_selections", "facts_in_run",
           "parse_period", "monthly_series", "evaluate_fact", "judge", "evaluate", "summarise", "validate",
           "format_table", "write_outputs", "write_figures", "validate_command"]
