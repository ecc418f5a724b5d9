"""The shipped 2021-2023 era (scenarios/era_2021_2023.toml): it checks clean, its facts load,
its citation keys are listed sources, and a 2021 run makes about the magnet output of 2021.

The output check is a sanity check of the encoding (demand an order of magnitude off, a quota
that never issues), not a calibration target: docs/eras.md reports how the era scores.
"""

from __future__ import annotations

import re

import pandas as pd
from click.testing import CliRunner
from support import ROOT

import rechain
from rechain.cli import main
from rechain.experiments.validate import load_facts
from rechain.scenario import _resolve, deep_merge, scenario_from_dict

ERA = ROOT / "scenarios" / "era_2021_2023.toml"
FACTS = ROOT / "scenarios" / "facts" / "era_2021_2023.csv"
OUTPUT_2021_T = 207_100          # sintered blanks, 2021 ([SMM-2022-02-21])


def test_the_era_checks_clean():
    res = CliRunner().invoke(main, ["check", str(ERA)])
    assert res.exit_code == 0, res.output
    assert "warning" not in res.output.lower()
    assert "era_2021_2023, 2021-01-01 to 2023-12-31" in res.output


def test_the_era_names_its_facts_and_they_load():
    sc = rechain.load_scenario(ERA)
    assert (ERA.parent / sc.facts_file).resolve() == FACTS.resolve()
    facts = load_facts(FACTS)
    assert len(facts) == 40
    assert all(f.period[:4] in ("2021", "2022", "2023") for f in facts)
    # the quota facts check the scenario's own inputs, so none of them is required
    assert not any(f.required for f in facts if f.variable == "quota_issued")


def test_the_era_cites_listed_sources():
    listed = set(re.findall(r"\[[A-Za-z]+-\d{4}(?:-\d{2}){0,2}\]",
                            (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")))
    cited = set(re.findall(r"\[[A-Za-z]+-\d{4}(?:-\d{2}){0,2}\]", ERA.read_text(encoding="utf-8")))
    cited |= {k for f in load_facts(FACTS) for k in re.findall(r"\[[^\]]+\]", f.source + " " + f.note)}
    assert cited and cited - listed == set()


def _era_2021() -> dict:
    """The era cut to 2021: end on 2021-12-31, events after it dropped."""
    data = deep_merge(_resolve(ERA)[0], {"end": pd.Timestamp("2021-12-31").date()})
    end = data["end"]
    data["news"] = [n for n in data["news"] if n["date"] <= end]
    data["disruptions"] = [d for d in data["disruptions"] if d["start"] <= end]
    for s in data["sectors"].values():
        s["shocks"] = [sh for sh in s.get("shocks", []) if sh["start"] <= end]
    return data


def test_a_2021_run_makes_about_the_magnet_output_of_2021():
    res = rechain.run(scenario_from_dict(_era_2021()), seed=0)
    m = res.monthly
    made = m[(m["variable"] == "production") & (m["stage"] == "magnet_makers")
             & m["product"].isin(["magnet_std", "magnet_uh"]) & m["month"].str.startswith("2021")]["value"].sum()
    assert abs(made / OUTPUT_2021_T - 1.0) <= 0.25, f"2021 magnet output {made:,.0f} t vs {OUTPUT_2021_T:,} t"
