"""Running a scenario and holding its results: the Python API behind ``rechain run``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .model import ChainModel, forget_model
from .outputs import code_fingerprint, output_dir
from .randomness import run_seed
from .report import flows_table, kpis, monthly_table, series_of, summary_table, write_figures
from .scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict, scenario_hash

__all__ = ["RunResult", "run", "package_version"]


def package_version() -> str:
    try:
        return version("rechain")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


@dataclass
class RunResult:
    """Everything a run produced, as pandas DataFrames.

    Attributes
    ----------
    scenario : the scenario as loaded (after ``extends``)
    seed : the seed of the run
    monthly : tidy monthly table (``month, stage, product, region, variable, value, unit``)
    flows : monthly tonnes between stages (``month, from_stage, to_stage, product, region, tonnes``)
    model_vars : weekly model-level series from Mesa's DataCollector (prices, sentiment)
    mass_balance : per element (``prnd``, ``dy``, ``tb``, ``other``), t REO-eq: cumulative
        ``source_*`` and ``sink_*`` totals, ``in_system_at_end`` (stocks and goods in transit),
        the ``residual`` (sources less sinks less what is in the system) and whether the
        balance ``holds`` to the weekly check's tolerance
    manifest : what made the run (scenario, hash, seed, version)
    model : the finished :class:`ChainModel` when ``keep_model=True``
    """

    scenario: Scenario
    seed: int
    monthly: pd.DataFrame
    flows: pd.DataFrame
    model_vars: pd.DataFrame
    mass_balance: dict[str, dict[str, float | bool]]
    manifest: dict[str, Any]
    model: ChainModel | None = field(default=None, repr=False)

    def kpis(self) -> dict[str, float]:
        return kpis(self.monthly, self.flows, self.scenario.end)

    def summary(self) -> pd.DataFrame:
        return summary_table(self.monthly, self.scenario.end)

    def series(self, variable: str, **match) -> pd.Series:
        """One monthly series, summed over whatever ``match`` leaves open."""
        return series_of(self.monthly, variable, **match)

    def save(self, out_dir: str | Path, figures: bool = True, extra: Callable[[Path], Any] | None = None) -> Path:
        """Write the run's files to ``out_dir`` all at once (a failed write leaves nothing).

        ``extra``: a function given the hidden folder the files are built in, once they are
        written, to add files of its own that are swapped in with them (``rechain run --html``:
        the report, which a failure or SIGTERM must not leave half-done).

        ``out_dir`` must be new, empty or an earlier run output of rechain's
        (:func:`rechain.outputs.check_output_dir`); raises :class:`rechain.outputs.OutputError` if not.
        """
        if not isinstance(out_dir, (str, Path)):
            raise TypeError(f"out_dir: given {type(out_dir).__name__} {out_dir!r:.60}; allowed: a folder's path "
                            f"(str or pathlib.Path)")
        out_dir = Path(out_dir)
        with output_dir(out_dir, "run") as tmp:
            self.monthly.to_csv(tmp / "monthly.csv", index=False)
            self.flows.to_csv(tmp / "flows.csv", index=False)
            self.model_vars.to_csv(tmp / "weekly_model_vars.csv", index=False)
            # the table `rechain run` prints, for a spreadsheet: one row per figure, a column per year
            self.summary().to_csv(tmp / "summary.csv")
            # the rows each table was written with: a table cut short since is told from whole
            manifest = dict(self.manifest, rows={"monthly.csv": len(self.monthly), "flows.csv": len(self.flows)})
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
            (tmp / "mass_balance.json").write_text(json.dumps(self.mass_balance, indent=2) + "\n")
            if figures:
                write_figures(self.monthly, tmp, title=f"({self.scenario.name}, seed {self.seed})")
            if extra is not None:
                extra(tmp)
        return out_dir


def weekly_model_vars(model: ChainModel) -> pd.DataFrame:
    """Mesa's DataCollector series as a flat table: one row per week, one column per series."""
    raw = model.datacollector.get_model_vars_dataframe()
    parts = [pd.DataFrame({"week": raw["week"], "date": [str(model.world.calendar.weeks[w]) for w in raw["week"]]})]
    parts.append(pd.DataFrame(np.vstack(raw["price"].to_numpy()), columns=list(model.world.materials.products)
                              ).add_prefix("price_"))
    stages = [s for j, s in enumerate(model.world.stages) if model.recorder.has_stage[j]]
    sent = np.vstack(raw["sentiment"].to_numpy())[:, model.recorder.has_stage]
    parts.append(pd.DataFrame(sent, columns=stages).add_prefix("sentiment_"))
    return pd.concat(parts, axis=1)


def _as_scenario(scenario: Scenario | str | Path | dict) -> Scenario:
    if isinstance(scenario, Scenario):
        # edited in Python since it was loaded (sc.end = ...): checked again, as its file would be
        scenario_from_dict(scenario.model_dump())
        return scenario
    if isinstance(scenario, dict):
        if "extends" in scenario:       # else "extends: unknown key (did you mean 'end'?)" and six missing keys
            raise ScenarioError(None, "extends", f"given {scenario['extends']!r} in a dict, which is a whole "
                                f"scenario (only files extend others); allowed: the what-if file's path, or the "
                                f"dict rechain.scenario.scenario_data(BASE_FILE, CHANGES)[0]", kind="unknown_key")
        return scenario_from_dict(scenario)
    if not isinstance(scenario, (str, Path)):
        raise TypeError(f"scenario: given {type(scenario).__name__} {scenario!r:.60}; allowed: a Scenario, a dict "
                        f"or the path of a scenario file (str or pathlib.Path)")
    return load_scenario(scenario)


def file_sha256(path: str | Path) -> str | None:
    """SHA-256 of a file's bytes (None when it cannot be read)."""
    import hashlib
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def run(scenario: Scenario | str | Path | dict, seed: int = 0, keep_model: bool = False,
        progress: Callable[[int], None] | None = None, check_balance: bool = True) -> RunResult:
    """Run a scenario (object, dict or TOML path) with one seed and return its tables.

    >>> res = run("scenarios/baseline.toml", seed=1)      # doctest: +SKIP
    >>> res.series("price", product="prnd_oxide")          # doctest: +SKIP
    """
    sc = _as_scenario(scenario)
    seed = run_seed(seed)
    model = ChainModel(sc, seed=seed, check_balance=check_balance)
    model.run(progress=progress)
    manifest = {
        "scenario_name": sc.name,
        "scenario_files": list(getattr(sc, "_files", [])),
        "scenario_sha256": scenario_hash(sc),
        # each file as it was: a base edited since, under a what-if that sets the same key,
        # gives the same scenario hash but no longer the base the run was compared with
        "scenario_files_sha256": [file_sha256(f) for f in getattr(sc, "_files", [])],
        "seed": seed,
        "mass_balance_checked_weekly": check_balance,
        "rechain_version": package_version(),
        "rechain_code_sha256": code_fingerprint(),
        "weeks": model.world.calendar.n_weeks,
        "firms": model.world.n_firms,
        "links": model.world.n_links,
        "scenario": sc.model_dump(mode="json"),
    }
    result = RunResult(
        scenario=sc, seed=seed, monthly=monthly_table(model), flows=flows_table(model),
        model_vars=weekly_model_vars(model),
        mass_balance=model.ledger.summary(model.in_system()), manifest=manifest, model=model if keep_model else None)
    if not keep_model:
        forget_model(model)
    return result
