"""Findings of the outside-style round that wrote the 2016-2018 era (China's crackdown on
illegal mining) from the docs alone: each case as the outsider met it, held here."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from support import BASELINE
from support import what_if as _what_if

import rechain
from rechain.cli import main
from rechain.scenario import load_scenario

_FACT_HEADER = ("fact_id,required,description,variable,stage,product,region,period,measure,base_period,"
                "comparison,target,tolerance,unit,source,note\n")


# --- a fact outside the run is named, with the right reason ---------------------------------
def _with_facts(tmp_path, rows: str):
    (tmp_path / "f.csv").write_text(_FACT_HEADER + rows, encoding="utf-8")
    return _what_if(tmp_path, 'end = 2024-12-31\nfacts_file = "f.csv"\n')


_ROWS = ('M1,true,"Pr-Nd up",price,market,prnd_oxide,*,2024-08,level,,within,400000,80000,yuan/t,,\n'
         'M2,true,"a year mistyped",price,market,prnd_oxide,*,2025-08,level,,within,400000,80000,yuan/t,,\n')


def test_check_names_a_fact_outside_the_run_and_why(tmp_path):
    """`check` said "1 of 2 within" without naming the fact; a year mistyped dropped it silently."""
    res = CliRunner().invoke(main, ["check", str(_with_facts(tmp_path, _ROWS))])
    assert res.exit_code == 0, res.output
    assert "(1 of 2 within the run's period" in res.output
    assert "warning:" in res.output and "facts left out, not within the run (rechain validate will not check " \
        "them): M2 (2025-08: after the run's last whole month, 2024-12)" in res.output, res.output


def test_validate_says_a_fact_is_after_the_run_not_in_a_part_month(tmp_path):
    """It said "their months not all whole months of the run" of a month wholly after it."""
    res = CliRunner().invoke(main, ["validate", str(_with_facts(tmp_path, _ROWS)), "--replicates", "1",
                                    "--workers", "1", "--no-figures", "--out", str(tmp_path / "v")])
    assert res.exit_code in (0, 1), res.output
    said = "M2 (2025-08: after the run's last whole month, 2024-12)"
    assert f"left out, not within the run (not checked): {said}" in res.output
    assert "whole months of the run" not in res.output
    assert said in (tmp_path / "v" / "facts.md").read_text(encoding="utf-8")


# --- a quota batch dated outside its year: the batches' own line ------------------------------
def test_a_batch_outside_its_year_points_at_the_batches_line(tmp_path):
    f = _what_if(tmp_path, '[[quota_policy.quotas]]\ntype = "separation"\nyear = 2025\ntotal_t = 270000\n'
                           'batches = [{ issued = 2026-03-01, share = 1.0 }]\n')
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert f"{f.name}, line 7: quota_policy.quotas" in res.output and ".batches" in res.output, res.output
    assert "given 2026-03-01; allowed: batch dates in the quota's year 2025 or the year before" in res.output


def test_an_export_quota_revision_outside_its_year_points_at_its_line(tmp_path):
    f = _what_if(tmp_path, '[[export_quotas]]\nname = "x"\nproducts = ["prnd_oxide"]\nyear = 2025\n'
                           'total_t = 2500\nrevisions = [{ date = 2026-02-01, total_t = 2000 }]\n')
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2, res.output
    assert f"{f.name}, line 8: export_quotas" in res.output and ".revisions" in res.output, res.output
    assert "allowed: revision dates in the quota's year 2025" in res.output


# --- a dated crackdown on mining outside the quota ------------------------------------------
_OUTSIDE = "[firms.ionic_miners]\noutside_quota_share = 0.3\nenforcement = 0.5\n"
_CRACKDOWN = ('[[disruptions]]\nname = "crackdown"\ntarget = "miners"\nore_type = "ionic"\nstart = 2025-03-01\n'
              'end = 2025-12-31\ncapacity_offline_share = 0.9\noutside_quota_only = true\n')


def _yearly(monthly, variable, stage, product):
    rows = monthly[(monthly.variable == variable) & (monthly.stage == stage) & (monthly["product"] == product)]
    return rows.assign(year=rows.month.str[:4]).groupby("year").value.sum()


def test_a_crackdown_stops_mining_outside_the_quota_and_not_within_it(tmp_path):
    """A disruption of the miners was the only way to date a crackdown, and it cut the
    quota's own mining too once capacity fell below the quota."""
    loose = rechain.run(load_scenario(_what_if(tmp_path, _OUTSIDE, "loose")), seed=0)
    crack = rechain.run(load_scenario(_what_if(tmp_path, _OUTSIDE + _CRACKDOWN, "crack")), seed=0)
    mined = {k: _yearly(r.monthly, "production", "miners", "ionic_ore") for k, r in (("loose", loose), ("crack", crack))}
    quota = {k: _yearly(r.monthly, "quota_used", "miners", "mining_ionic") for k, r in (("loose", loose),
                                                                                        ("crack", crack))}
    # 2025: 90 % of the outside mining stopped from March, the quota's mining unchanged
    assert mined["crack"]["2025"] < mined["loose"]["2025"] - 1000.0
    assert np.isclose(quota["crack"]["2025"], quota["loose"]["2025"], rtol=1e-9)
    assert np.isclose(mined["crack"]["2024"], mined["loose"]["2024"], rtol=1e-9)     # before it: the same
    outside = {k: sum(e["source_mined_outside_quota"] for e in r.mass_balance.values())
               for k, r in (("loose", loose), ("crack", crack))}
    assert outside["crack"] < 0.8 * outside["loose"]


_SEPARATION_OUTSIDE = "[firms.separation_plants]\noutside_quota_share = 0.1\nenforcement = 0.5\n"
_SEPARATION_CRACKDOWN = _CRACKDOWN.replace('target = "miners"\nore_type = "ionic"\n', 'target = "separation_plants"\n')


def test_separation_outside_the_quota_adds_oxide_and_never_counts_against_the_quota(tmp_path):
    """Ore mined outside the quota had no plant to separate it beyond the separation quota (the
    record of the 2010s has both); plants now may work ore outside the quota too, as far as
    enforcement lets them, and a crackdown on the plants stops that work alone."""
    runs = {name: rechain.run(load_scenario(_what_if(tmp_path, body, name)), seed=0) for name, body in (
        ("base", ""), ("loose", _SEPARATION_OUTSIDE), ("crack", _SEPARATION_OUTSIDE + _SEPARATION_CRACKDOWN))}
    oxide = {k: _yearly(r.monthly, "production", "separation_plants", "prnd_oxide") for k, r in runs.items()}
    quota = {k: _yearly(r.monthly, "quota_used", "separation_plants", "separation") for k, r in runs.items()}
    issued = runs["loose"].monthly.query("variable == 'quota_issued' and product == 'separation'")
    issued = issued.assign(year=issued.month.str[:4]).groupby("year").value.max()
    assert oxide["loose"]["2024"] > oxide["base"]["2024"] + 1000.0          # more Pr-Nd oxide made
    assert (quota["loose"] <= issued + 1e-6).all()                            # none of it against the quota
    price = {k: r.series("price", product="prnd_oxide").mean() for k, r in runs.items()}
    assert price["loose"] < price["base"]                                     # and it is sold
    # the crackdown (March to December 2025, 90 % of the work outside the quota) takes it back
    assert np.isclose(oxide["crack"]["2024"], oxide["loose"]["2024"], rtol=1e-9)
    assert oxide["crack"]["2025"] < oxide["loose"]["2025"] - 1000.0


def test_a_first_week_across_new_year_works_against_the_runs_first_quota(tmp_path):
    """A run starting on a Friday 1 January worked its first week (from the Monday before)
    against the year before's quota, so its first year's quota use came out above that year's
    quota (an era starting 2016-01-01: 88,556 t of rock-type quota used against 87,100)."""
    res = rechain.run(load_scenario(_what_if(tmp_path, "start = 2027-01-01\nend = 2027-12-31\n")), seed=0)
    m = res.monthly
    for quota_type in ("mining_rock", "mining_ionic", "separation"):
        used = m.query("variable == 'quota_used' and product == @quota_type").value.sum()
        issued = m.query("variable == 'quota_issued' and product == @quota_type").value.max()
        assert 0.9 * issued < used <= issued + 1e-6, (quota_type, used, issued)


@pytest.mark.parametrize("body, said", [
    (_CRACKDOWN, "outside_quota_only, but firms.ionic_miners work nothing outside the quota"),
    (_OUTSIDE + _SEPARATION_CRACKDOWN,
     "outside_quota_only, but firms.separation_plants work nothing outside the quota"),
    (_OUTSIDE + _CRACKDOWN.replace('target = "miners"\nore_type = "ionic"\n', 'target = "magnet_makers"\n'),
     "outside_quota_only stops work outside the quota, which only target 'miners' and 'separation_plants' do"),
])
def test_check_warns_of_a_crackdown_with_nothing_to_stop(tmp_path, body, said):
    res = CliRunner().invoke(main, ["check", str(_what_if(tmp_path, body))])
    assert res.exit_code == 0 and said in res.output and "it acts on nothing" in res.output, res.output


def test_a_crackdown_on_a_share_of_firms_counts_those_that_mine_outside_the_quota(tmp_path):
    """share_of_firms took the stage's first firms, the rock miners, so a quarter of the miners
    hit none of the ion-adsorption mines that mined outside the quota: no warning, no effect."""
    crack = _CRACKDOWN.replace('ore_type = "ionic"\n', "share_of_firms = 0.25\n")
    loose = rechain.run(load_scenario(_what_if(tmp_path, _OUTSIDE, "loose")), seed=0)
    some = rechain.run(load_scenario(_what_if(tmp_path, _OUTSIDE + crack, "some")), seed=0)
    outside = [sum(e["source_mined_outside_quota"] for e in r.mass_balance.values()) for r in (loose, some)]
    assert outside[1] < outside[0] - 100.0, outside
