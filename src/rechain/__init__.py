"""rechain: an agent-based model of the rare-earth -> NdFeB permanent-magnet chain.

>>> import rechain
>>> result = rechain.run("scenarios/baseline.toml", seed=1)   # doctest: +SKIP
>>> result.monthly.head()                                      # doctest: +SKIP
"""

from .results import RunResult, run
from .scenario import Scenario, ScenarioError, load_scenario

__all__ = ["run", "RunResult", "Scenario", "ScenarioError", "load_scenario", "__version__"]

try:
    from importlib.metadata import version as _v
    __version__ = _v("rechain")
except Exception:  # pragma: no cover - source tree without metadata
    __version__ = "0+unknown"
