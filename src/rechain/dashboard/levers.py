"""The levers a student turns on the dashboard, applied to a scenario.

Every lever is neutral at its default: with the defaults, :func:`apply_levers` returns the
scenario unchanged, whichever scenario is picked. The same function serves the notebook and
tests (it needs no browser).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from ..config.schema import MAX_T_PER_YR
from ..scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict

__all__ = ["Levers", "apply_levers", "eol_path", "load_with_levers", "scenario_files", "MYANMAR_STOP", "default_scenario_dir"]

#: name of the disruption the Myanmar lever adds
MYANMAR_STOP = "Myanmar ore stopped (dashboard)"


@dataclass(frozen=True)
class Levers:
    """Lever settings; each default leaves the scenario as it is.

    approval : multiplies every licence approval rate of the scenario's export controls (capped at 1)
    myanmar_stop_months : months with no ore from the Myanmar holders (from May 2025 when the
        run covers it, else from a third of the way into the run); 0 = none
    quota_growth_pct : extra growth of every mining and separation quota, % per year after
        the first year of the run, on top of the scenario's own figures
    eol_target : end-of-life collection rate reached by the last year of the run, rising
        linearly from the first year's; never below the scenario's own rate of a year (the lever
        raises collection, it does not cut a scenario's recycling); 0 = the scenario's own
    restock : multiplies the restocking strength (target cover raised by expected rises)
    wait : multiplies the wait-and-see strength (target cover cut by expected falls)
    news : keep the scenario's scheduled news (False: no news at all)
    """

    approval: float = 1.0
    myanmar_stop_months: int = 0
    quota_growth_pct: float = 0.0
    eol_target: float = 0.0
    restock: float = 1.0
    wait: float = 1.0
    news: bool = True

    def __post_init__(self) -> None:
        """Each knob's value as given, or a ValueError naming it and what is allowed (before any
        scaling, so the message speaks of the value the user turned the knob to)."""
        rules = {"approval": (0.0, None, "a number >= 0 (a multiple of the approval rates)"),
                 "myanmar_stop_months": (0, None, "a whole number of months >= 0"),
                 "quota_growth_pct": (-99.0, 100.0, "a number of % a year within -99..100"),
                 "eol_target": (0.0, 1.0, "a collection rate within 0..1"),
                 "restock": (0.0, None, "a number >= 0 (a multiple of the restocking strength)"),
                 "wait": (0.0, None, "a number >= 0 (a multiple of the wait-and-see strength)")}
        for key, (low, high, allowed) in rules.items():
            v = getattr(self, key)
            whole = key == "myanmar_stop_months"
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) \
                and (not whole or float(v).is_integer()) and v >= low and (high is None or v <= high)
            if not ok:
                raise ValueError(f"{key}: given {v!r}; allowed: {allowed}")
        if not isinstance(self.news, bool):
            raise ValueError(f"news: given {self.news!r}; allowed: True or False")

    def is_neutral(self) -> bool:
        return self == Levers()

    def changes(self, scenario: Scenario | None = None) -> list[str]:
        """What the levers change, in words (empty when neutral); given the ``scenario`` they act
        on, a lever that leaves it as it is says so."""
        out = []
        if self.approval != 1.0:
            out.append(f"licence approval rates x{self.approval:g}")
        if self.myanmar_stop_months:
            out.append(f"Myanmar ore stopped for {self.myanmar_stop_months} month(s)")
        if self.quota_growth_pct:
            out.append(f"quotas {self.quota_growth_pct:+g} %/yr on top of the scenario's")
        if self.eol_target:
            idle = scenario is not None and eol_path(scenario, self.eol_target) is None
            out.append(f"end-of-life collection rising to {100 * self.eol_target:.0f} %" +
                       (" (no change: the scenario already collects that much)" if idle else ""))
        if self.restock != 1.0:
            out.append(f"restocking strength x{self.restock:g}")
        if self.wait != 1.0:
            out.append(f"wait-and-see strength x{self.wait:g}")
        if not self.news:
            out.append("no news")
        return out


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    return dt.date(d.year + y, m + 1, 1)


def eol_path(scenario: Scenario, target: float) -> list[dict] | None:
    """The collection steps (``recycling.collection``) that rise linearly from the first year's
    rate to ``target`` by the last year, never below the scenario's own rate at any time (each
    point the higher of the two, at every year of either path: between two points both ramps
    are straight, so the line joining the higher ends stays above both); None when that would
    raise no rate (the scenario already collects that much)."""
    from ..conditions import collection_rate
    rec = scenario.model_dump()["recycling"]
    own = [(c["year"], c["rate"]) for c in rec["collection"]]
    start, end = scenario.start.year, scenario.end.year
    r0 = collection_rate(own, start)

    def lever(year: int) -> float:
        if year >= end:
            return float(target)
        return r0 + (float(target) - r0) * (year - start) / (end - start)

    years = sorted({*(y for y, _ in own), *range(start, end + 1)})
    path = [{"year": y, "rate": max(collection_rate(own, y), lever(y)) if y >= start else collection_rate(own, y)}
            for y in years]
    if all(st["rate"] <= collection_rate(own, st["year"]) + 1e-12 for st in path) and rec["eol_magnets_t_per_yr"] > 0:
        return None
    return path


def apply_levers(scenario: Scenario, levers: Levers | None = None, **kw) -> Scenario:
    """A copy of ``scenario`` with the levers applied (``levers`` or keyword settings)."""
    lv = levers if levers is not None else Levers(**kw)
    if lv.is_neutral():
        return scenario
    d = scenario.model_dump()
    start, end = scenario.start, scenario.end
    if lv.approval != 1.0:
        for ec in d["export_controls"]:
            for step in ec["approval"]:
                step["rate"] = min(1.0, max(0.0, step["rate"] * lv.approval))
    if lv.myanmar_stop_months > 0:
        first = dt.date(2025, 5, 1)
        if not start <= first < end:
            mid = start + (end - start) / 3
            first = max(start, dt.date(mid.year, mid.month, 1))
        last = min(end, _add_months(first, int(lv.myanmar_stop_months)) - dt.timedelta(days=1))
        d["disruptions"] = [x for x in d["disruptions"] if x["name"] != MYANMAR_STOP] + [
            {"name": MYANMAR_STOP, "target": "myanmar_holders", "start": first, "end": last,
             "capacity_offline_share": 1.0, "source": "dashboard lever"}]
    if lv.quota_growth_pct:
        g = 1.0 + lv.quota_growth_pct / 100.0
        for q in d["quota_policy"]["quotas"]:
            if q["year"] > start.year:
                # compounded over decades, a quota can pass the largest a file may give: held
                # there, where it binds nothing (some 300 times the world's magnet output)
                q["total_t"] = min(q["total_t"] * g ** (q["year"] - start.year), MAX_T_PER_YR)
    path = eol_path(scenario, lv.eol_target) if lv.eol_target > 0 else None
    if path is not None:
        rec = d["recycling"]
        rec["collection"] = path
        if rec["eol_magnets_t_per_yr"] <= 0:
            rec["eol_magnets_t_per_yr"] = 20000.0     # the baseline's figure: something to collect
    b = d["behaviour"]
    b["restock_strength"] *= lv.restock
    b["wait_strength"] *= lv.wait
    if not lv.news:
        d["news"] = []
    d["name"] = scenario.name
    out = scenario_from_dict(d)
    out._files = list(getattr(scenario, "_files", []))     # type: ignore[attr-defined]
    return out


def default_scenario_dir() -> Path:
    """``scenarios/`` of the working directory, else of the source tree rechain runs from."""
    here = Path("scenarios")
    if here.is_dir() and any(here.glob("*.toml")):
        return here
    src = Path(__file__).resolve().parents[3] / "scenarios"
    return src if src.is_dir() else here


def scenario_files(folder: str | Path | None = None) -> dict[str, Path]:
    """The shipped scenario files of ``folder`` by stem, the baseline first."""
    folder = Path(folder) if folder is not None else default_scenario_dir()
    # regular files only: opening a named pipe (FIFO) called *.toml would wait for a writer forever
    files = sorted(p for p in folder.glob("*.toml") if p.is_file() and not only_facts(p))
    files.sort(key=lambda p: (p.stem != "baseline", p.stem))
    return {p.stem: p for p in files}


#: keys that name, describe or score a scenario without changing its run
_LABEL_KEYS = {"extends", "name", "description", "question", "facts_file"}


def only_facts(path: Path) -> bool:
    """Whether the scenario file at ``path`` extends another and changes nothing in its run
    (a held-out validation file: the baseline with another facts table). The picker leaves
    such files out: they run what their parent runs (an outside student's audit found two
    baselines under other names). A file that cannot be read is kept: choosing it says why."""
    from ..config.loading import read_toml_file
    try:
        own = read_toml_file(path)
    except ScenarioError:
        return False
    return "extends" in own and set(own) <= _LABEL_KEYS


def load_with_levers(path: str | Path, **levers) -> Scenario:
    """Load a scenario file and apply lever settings given by keyword."""
    return apply_levers(load_scenario(path), Levers(**levers))

