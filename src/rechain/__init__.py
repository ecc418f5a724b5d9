"""rechain: an agent-based model of the rare-earth -> NdFeB permanent-magnet chain.

>>> import rechain
>>> result = rechain.run("scenarios/baseline.toml", seed=1)   # doctest: +SKIP
>>> result.monthly.head()                                      # doctest: +SKIP

The names below load the model's libraries when first used, not on ``import rechain``: the
command line answers ``--help`` and ``check`` without them, and a Ctrl-C while they load
is handled as one later is (:mod:`rechain.__main__`).
"""

from __future__ import annotations

import importlib

__all__ = ["run", "RunResult", "Scenario", "ScenarioError", "load_scenario", "__version__"]

#: public name -> the module that defines it
_DEFINED_IN = {"run": ".results", "RunResult": ".results", "Scenario": ".scenario",
               "ScenarioError": ".scenario", "load_scenario": ".scenario"}



def _version() -> str:
    try:
        from importlib.metadata import version
        return version("rechain")
    except Exception:  # pragma: no cover - source tree without metadata
        return "0+unknown"


def __getattr__(name: str):
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    if name not in _DEFINED_IN:
        raise AttributeError(f"module 'rechain' has no attribute {name!r}")
    value = getattr(importlib.import_module(_DEFINED_IN[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # the public names and the module's dunders, not the helpers this file imports
    return sorted({*(n for n in globals() if n.startswith("__")), *__all__})
