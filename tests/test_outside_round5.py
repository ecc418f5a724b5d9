"""Findings of a fifth outside-style round (an economist writing what-ifs against another era
and a projection): each case as the outsider met it, held here."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from support import what_if as _what_if

from rechain.cli import main


# --- compare: what an export ban on oxides costs buyers abroad ---------------------------------
def test_compare_shows_the_oxide_shortfall_and_oxide_exports_abroad(tmp_path):
    """A ban on Dy and Tb oxide exports falls on magnet makers abroad: the comparison shows
    their shortfall and the oxide exports it stops, not only magnets (where the ban read as
    costless: -13 t)."""
    from rechain.experiments.compare import compare
    ref = _what_if(tmp_path, "end = 2024-09-30\n", "ref")
    ban = _what_if(tmp_path, 'end = 2024-09-30\n[[export_controls]]\nname = "ban"\nproducts = ["dy_oxide", "tb_oxide"]\n'
                   'start = 2024-01-15\napproval = [{ start = 2024-01-15, rate = 0.0 }]\n', "ban")
    comp = compare([ref, ban], seeds=[0], workers=1, runs_dir=None, out_dir=tmp_path / "cmp", figures=False)
    short = comp.kpis.loc[("shortfall_overseas_oxide_metal_t", "t")]
    assert short["ban"] > short["ref"] + 10.0
    exported = comp.kpis.loc[("exports_oxide_metal_t", "t")]
    assert exported["ban"] < exported["ref"]
    md = (tmp_path / "cmp" / "kpis.md").read_text(encoding="utf-8")
    assert "| overseas shortfall, oxide and metal | t |" in md
    assert "| oxide and metal exports | t |" in md


# --- check: a duty or tariff on buyers who do not answer the landed price ----------------------
@pytest.mark.parametrize("kind, regions, said", [
    ("export_duties", '["all"]', "export_duties[0] (d): the buyers of ['eu', 'japan_korea', 'asean_india', 'rest_of_world'] do not answer"
     " the landed price (price_elasticity 0): it changes what they pay, not what they buy"),
    ("export_duties", '["eu"]', "export_duties[0] (d): the buyers of ['eu'] do not answer"),
    ("import_tariffs", '["us", "eu"]', "import_tariffs[3] (d): the buyers of ['eu'] do not answer the landed price"
     " (price_elasticity 0): it changes what they pay, not what they buy"),
])
def test_check_says_which_buyers_a_duty_cannot_move(tmp_path, kind, regions, said):
    """A 25 % duty on all buyers moved exports -0.3 % without a word: only the US buyers answer
    the landed price in the baseline."""
    body = f'[[{kind}]]\nname = "d"\nproducts = ["magnet_uh"]\nregions = {regions}\nstart = 2025-01-01\nrate_share = 0.25\n'
    res = CliRunner().invoke(main, ["check", str(_what_if(tmp_path, body))])
    assert res.exit_code == 0, res.output
    assert said in res.output.replace("\n", " ").replace("  ", " ")


def test_check_is_quiet_for_a_duty_on_buyers_who_answer_it(tmp_path):
    body = '[[export_duties]]\nname = "d"\nproducts = ["magnet_uh"]\nregions = ["us"]\nstart = 2025-01-01\nrate_share = 0.25\n'
    res = CliRunner().invoke(main, ["check", str(_what_if(tmp_path, body))])
    assert res.exit_code == 0 and "landed price" not in res.output, res.output


# --- a quota for a year the base lacks needs no batches ------------------------------------------
def test_a_quota_without_batches_is_issued_on_the_first_of_january(tmp_path):
    """As export quotas: a year's quota written with its total only is all issued on 1 January
    (it was refused for a year the base lacks, accepted for one it has)."""
    from rechain.scenario import load_scenario
    body = ('end = 2027-12-31\n[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2027\ntotal_t = 250000\n')
    sc = load_scenario(_what_if(tmp_path, body))
    q = next(q for q in sc.quota_policy.quotas if (q.type, q.year) == ("mining_rock", 2027))
    assert [(b.issued.isoformat(), b.share) for b in q.batches] == [("2027-01-01", 1.0)]
    res = CliRunner().invoke(main, ["check", str(tmp_path / "w.toml")])
    assert res.exit_code == 0, res.output
