"""Scenario files, in three modules: :mod:`.schema` (the pydantic models of a scenario),
:mod:`.loading` (reading TOML, ``extends``, validation) and :mod:`.errors` (one clear
message for bad input). :mod:`rechain.scenario` re-exports all of them.
"""
