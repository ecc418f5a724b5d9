"""Batch sweeps (moved to :mod:`rechain.experiments`): this module re-exports the names it
had, from :mod:`~rechain.experiments.sweep` (the sweep file and running it),
:mod:`~rechain.experiments.paths` (key paths), :mod:`~rechain.experiments.designs`,
:mod:`~rechain.experiments.executor`, :mod:`~rechain.experiments.runs`,
:mod:`~rechain.experiments.store` and :mod:`~rechain.experiments.functions` (the model as a
plain function), so that ``from rechain.sweep import ...`` keeps working."""

from __future__ import annotations

from .experiments.paths import (assign, format_path, lookup, parse_path, PathError, _item_name, _Name, _plain,
                                _step, _toml)  # noqa: F401
from .experiments.designs import (DESIGNS, Parameter, _coerce_cell, _dtype_of, _value_key)  # noqa: F401
from .experiments.executor import (PARENT_CHECK_S, SCHEDULER_CONNECT_S, Terminated, _connect, _exit_with_parent,
                                   _init_worker)  # noqa: F401
from .experiments.runs import (_error_text, _evaluate, _forget, _scenario_at, _series_rows)  # noqa: F401
from .experiments.store import (FORMAT, load_results, RUN_COLUMNS, SERIES_COLUMNS, STATUS_COLUMNS, SWEEP_FILES,
                                sweep_manifest, _arrow_types, _check_out, _design_table, _empty_runs_schema,
                                _part_files, _prepare_out, _runs_schema, _series_schema, _to_column,
                                _write_atomic, _write_errors, _write_json_atomic)  # noqa: F401
from .experiments.sweep import (available_kpis, execute, load_sweep, Outputs, run_seed, run_sweep,
                                SERIES_VARIABLES, SeriesSpec, Sweep, sweep_command, SweepFile, SweepSummary,
                                _base_dict, _check_outputs, _check_value, _context, _design, _err,
                                _Found, _line_of, _parameter, _product_names, _series_spec, _Spec, _spec_error,
                                _table_points)  # noqa: F401
from .experiments.functions import (make_model_function, model_function, ScenarioFunction, _cached_base,
                                    _cached_sweep)  # noqa: F401
from .experiments.runs import Context as _Context  # noqa: F401
from .experiments.runs import run_batch as _run_batch  # noqa: F401
from .experiments.executor import sigterm_as_interrupt as _sigterm_as_interrupt  # noqa: F401

__all__ = ["Sweep", "Parameter", "load_sweep", "run_sweep", "load_results", "model_function",
           "make_model_function", "ScenarioFunction", "run_seed", "parse_path", "available_kpis", "SweepSummary",
           "sweep_command", "SERIES_VARIABLES", "sweep_manifest"]
