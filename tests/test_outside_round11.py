"""Findings of an outside era audit (2010-2012, December 2026) and a malformed-input round: each
case as the outsider met it, held here."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from support import what_if

from rechain.cli import main
from rechain.experiments.compare import same_as_reference

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"


def test_each_emptied_batches_warning_names_its_own_line(tmp_path):
    """Three export quotas each given `batches = []` were all told "(line 10)", the first one's."""
    body = "".join(f'[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = {year}\nbatches = []\n'
                   for year in (2024, 2025))
    emptied = what_if(tmp_path, body, "emptied")
    res = CliRunner().invoke(main, ["check", str(emptied)])
    assert res.exit_code == 0, res.output
    said = [line for line in res.output.splitlines() if "].batches (line" in line]
    assert len(said) == 2, res.output
    lines = emptied.read_text(encoding="utf-8").splitlines()
    for year, warning in zip((2024, 2025), said):
        assert f"[mining_rock-{year}]" in warning
        told = int(warning.split("].batches (line ")[1].split(")")[0])
        assert lines[told - 1] == "batches = []" and lines[told - 2] == f"year = {year}", (told, warning)


def _table(price: float) -> pd.DataFrame:
    return pd.DataFrame({"month": ["2024-01", "2024-01", "2024-01"], "stage": ["market", "policy", "miners"],
                         "product": ["prnd_oxide", "all", "light_ore"], "region": ["china"] * 3,
                         "variable": ["price", "export_quota_issued", "capacity"], "value": [price, 5.0, 9.0],
                         "unit": ["yuan/t", "t", "t"]})


def test_same_as_reference_reads_behaviour_not_the_echoed_inputs():
    base, same, moved = _table(100.0), _table(100.0), _table(101.0)
    # what a scenario sets and the run only echoes does not count as acting
    same.loc[same["variable"] == "export_quota_issued", "value"] = 50.0
    same.loc[same["variable"] == "capacity", "value"] = 90.0
    monthly = {("ref", 0): base, ("ref", 1): base, ("same", 0): same, ("same", 1): same,
               ("moved", 0): same, ("moved", 1): moved}
    assert same_as_reference(monthly, ["ref", "same", "moved"], [0, 1]) == ["same"]
    # a different row order is the same table
    monthly[("same", 1)] = same.iloc[::-1]
    assert same_as_reference(monthly, ["ref", "same"], [0, 1]) == ["same"]


def test_compare_says_when_a_what_if_ran_exactly_as_its_reference(tmp_path):
    """A what-if raising an export quota that never binds changed no figure on any seed; compare
    said nothing of it and its peak-price note gave a false reason (an outside era audit)."""
    alike = tmp_path / "alike.toml"
    alike.write_text(f'extends = "{TINY.as_posix()}"\nname = "alike"\n', encoding="utf-8")
    out = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["compare", str(TINY), str(alike), "--out", str(out), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "warning: alike ran exactly as tiny on every seed" in res.output
    assert "alike ran exactly as tiny" in (out / "kpis.md").read_text(encoding="utf-8")
    meta = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert meta["same_note"].startswith("alike ran exactly as tiny") and meta["peak_note"] == ""
    # a what-if that acts is not told so
    moved = tmp_path / "moved.toml"
    moved.write_text(f'extends = "{TINY.as_posix()}"\nname = "moved"\n[sectors.nev]\nunits_per_yr = {{ 2024 = 20000000 }}\n',
                     encoding="utf-8")
    res = CliRunner().invoke(main, ["compare", str(TINY), str(moved), "--out", str(tmp_path / "cmp2"), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "ran exactly as" not in res.output
