"""Scenario files: the schema, ``extends`` resolution, and one clear message for bad input.

The code lives in the package :mod:`rechain.config`: :mod:`~rechain.config.schema` (the
pydantic models, ``STAGES``, :func:`json_schema`, :func:`quiet_variant`),
:mod:`~rechain.config.loading` (TOML reading, ``extends``, :func:`deep_merge`,
:func:`load_scenario`, :func:`scenario_from_dict`, :func:`scenario_hash`) and
:mod:`~rechain.config.errors` (:class:`ScenarioError`, ``ERROR_KINDS``, line finding and
messages). This module re-exports every name of the three, so that
``from rechain.scenario import ...`` keeps working.
"""

from __future__ import annotations

from .config.errors import (ERROR_KINDS, OptionError, ScenarioError, _allowed_keys, _bounds, _cross_check,
                            _describe, _field_info, _find_line, _find_name_line, _given, _index_lines,
                            _inner_model, _item_label, _key_of, _locate, _locate_in, _meaning, _problem_errors,
                            _selector_text, _show, _split_key, _STR, _TYPE_ALLOWED, _value_error)  # noqa: F401
from .config.loading import (deep_merge, load_scenario, read_text_file, read_toml_file, scenario_data,
                             scenario_from_dict, scenario_hash, _MergeError, _resolve, _strip_removals)  # noqa: F401
from .config.schema import (AfterLastYear, ApprovalStep, Behaviour, carry_past_last_year, CollectionStep,
                            Disruption, ExportControl, ExportQuota, FirmGroup, Firms, json_schema, LeadTimes,
                            MagnetMakers, MagnetRecipes, Market, Miners, MyanmarHolders, NewsEvent, NonNeg,
                            OverseasMiners, Pos, ProcessingDays, ProductName, quiet_variant, Quota, QuotaBatch,
                            QuotaPolicy, Recipe, Recyclers, Recycling, Region, Scenario, Sector,
                            SeparationPlants, Share, Shock, StageName, STAGES, Stockpile, TradeCharge, Traders,
                            _carry, _cross_problems, _extra_problems, _merge_key, _Model, _NAMED_ITEMS,
                            _NAMED_LISTS, _partial, _Problems, _region_problems)  # noqa: F401

__all__ = ["Scenario", "ScenarioError", "OptionError", "ERROR_KINDS", "load_scenario", "scenario_from_dict",
           "read_toml_file", "read_text_file", "STAGES", "json_schema"]
