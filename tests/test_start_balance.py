"""``rechain check`` reads the chain's balance at the start: what end users plan to take of
each oxide against what the supply routes deliver (:func:`rechain.model.start_balance`), and
warns when a scenario starts far from it. An era drafted with a supply missing (the 2019-2020
and 2011-2012 drafts of an outside round: Pr-Nd planned at 1.15 times its supply) ran a
year of prices rationing the shortage, and the analyst learnt of it only from the run."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from support import BASELINE, ROOT
from support import what_if as _what_if

from rechain.cli import BALANCE_GLUT, BALANCE_SHORT, main
from rechain.model import ChainModel, forget_model, start_balance
from rechain.scenario import load_scenario

OXIDES = ("prnd_oxide", "dy_oxide", "tb_oxide")


def _balance_warnings(path) -> list[str]:
    res = CliRunner().invoke(main, ["check", str(path)])
    assert res.exit_code == 0, res.output
    return [line for line in res.output.splitlines() if line.startswith("warning:") and " t a week" in line]


def test_the_baseline_starts_near_balance():
    chain = ChainModel(load_scenario(BASELINE), seed=0, check_balance=False)
    balance = start_balance(chain)
    forget_model(chain)
    assert list(balance) == list(OXIDES)
    for product, (need, supply, brought) in balance.items():
        assert need > 0 and supply > 0, product
        assert BALANCE_GLUT <= need / supply <= BALANCE_SHORT, (product, need, supply)


def test_more_end_use_than_supply_is_warned_per_oxide(tmp_path):
    """2.3 times the 2024 NEV output from the start: every oxide short, each said once, with
    the tonnes on both sides."""
    many = _what_if(tmp_path, "[sectors.nev]\nunits_per_yr = { 2024 = 30e6 }\n", "many_nevs")
    said = _balance_warnings(many)
    assert [w.split(": ")[2] for w in said] == list(OXIDES), said
    for line in said:
        assert "its price climbs until use falls or supply grows" in line
    # Pr-Nd: even unseparated the routes' ore falls short; Dy and Tb: the plants' limit alone
    assert "Both mining and separation hold it back" in said[0] and "a supply is missing" in said[0]
    assert all("What holds supply back is separation" in line for line in said[1:])


def test_a_shortage_made_by_the_separation_quota_names_separation(tmp_path):
    """An outside analyst's 2017 draft was told "a supply is missing (imports, work outside the
    quota...)", tripled mining outside the quota and moved supply by a tonne: the separation
    quota held it. A 2024 separation quota of 170,000 t against 254,000."""
    tight = _what_if(tmp_path, '[[quota_policy.quotas]]\ntype = "separation"\nyear = 2024\ntotal_t = 170000\n', "tight")
    said = _balance_warnings(tight)
    assert [w.split(": ")[2] for w in said] == ["prnd_oxide"], said
    assert "What holds supply back is separation: the routes bring ore for" in said[0]
    assert "outside_quota_share" in said[0] and "a supply is missing" not in said[0]


def test_less_end_use_than_supply_is_warned_as_a_glut(tmp_path):
    """A fifth of the baseline's end use in every sector: the oxides start in glut."""
    sc = load_scenario(BASELINE)
    body = "".join(f"[sectors.{name}]\nunits_per_yr = {{ 2024 = {s.units_per_yr['2024'] * 0.2:.6g} }}\n"
                   for name, s in sc.sectors.items())
    few = _what_if(tmp_path, body, "few")
    said = _balance_warnings(few)
    assert [w.split(": ")[2] for w in said] == list(OXIDES), said
    assert all("its price falls until its holders keep it back or supply is cut" in w for w in said)


@pytest.mark.parametrize("scenario", sorted(p.name for p in (ROOT / "scenarios").glob("*.toml")
                                            if not p.name.startswith("era_")))
def test_no_shipped_what_if_starts_far_from_balance(scenario):
    assert _balance_warnings(ROOT / "scenarios" / scenario) == []


@pytest.mark.parametrize("need, supply, says", [
    (0.0, 0.0, None),                   # an oxide nobody makes or uses
    (0.004, 0.0, "plan to take 0.004 t a week, while the supply routes deliver none of it then"),
    (0.0, 3.0, "plan to take none of it, while the supply routes deliver 3.0 t a week then"),
    (0.001, 40.0, "plan to take 0.001 t a week, 2.5e-05 of the 40.0 t a week the supply routes deliver then"),
    (30.0, 20.0, "plan to take 30.0 t a week, 1.50 times the 20.0 t a week the supply routes deliver then"),
])
def test_the_balance_warning_reads_well_at_the_edges(monkeypatch, need, supply, says):
    """Not "0.00 times the 0.0 t a week" (an outside fuzzing round): small figures keep their
    digits, and a side with none says so."""
    import rechain.model
    from rechain.cli import _anchor_far
    monkeypatch.setattr(rechain.model, "start_readings",
                        lambda sc: (1.0, {}, {}, {"dy_oxide": rechain.model.OxideBalance(need, supply, supply)}))
    said = _anchor_far(load_scenario(BASELINE))
    if says is None:
        assert said == []
    else:
        assert len(said) == 1 and said[0].startswith("dy_oxide: ") and says in said[0], said
