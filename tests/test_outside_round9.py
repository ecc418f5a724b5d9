"""Findings of the outside-style round that wrote the 2019-2020 and 2011-2012 eras from the
docs alone, as an analyst would (December 2026): each case as the outsider met it, held here."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import what_if as _what_if

from rechain.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _warnings(path) -> list[str]:
    res = CliRunner().invoke(main, ["check", str(path)])
    assert res.exit_code == 0, res.output
    return [line for line in res.output.splitlines() if line.startswith("warning:")]


def test_check_warns_of_an_ore_priced_above_what_separating_it_pays(tmp_path):
    """An era that scaled the ion-adsorption ore's start price to 150,000 yuan/t REO, above the
    value of the oxides in it at its start prices, ran with plants taking almost none of it and
    Dy and Tb up 63-68 % in its first month; check warned only that the oxides' cost anchor stood
    2.5 times their start prices, which did not say why."""
    dear = _what_if(tmp_path, "[market.initial_price]\nionic_ore = 150000\ndy_oxide = 1230\ntb_oxide = 2950\n"
                              "prnd_oxide = 290000\n", "dear")
    said = [w for w in _warnings(dear) if "market.initial_price.ionic_ore:" in w]
    assert len(said) == 1, _warnings(dear)
    assert "times the most its buyers can pay for it at the start prices" in said[0]
    assert "materials.toml" in said[0]


@pytest.mark.parametrize("scenario", sorted(p.name for p in (ROOT / "scenarios").glob("*.toml")))
def test_no_shipped_scenario_prices_an_ore_or_scrap_above_what_its_buyers_can_pay(scenario):
    assert not [w for w in _warnings(ROOT / "scenarios" / scenario) if "the most its buyers can pay" in w]
