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


# --- ore mined and separated outside the quota is supply in the oxides' cost anchor ---------
def _stepped(extra: dict, weeks: int = 4):
    from support import baseline_dict

    from rechain.model import ChainModel
    from rechain.scenario import deep_merge, scenario_from_dict
    m = ChainModel(scenario_from_dict(deep_merge(baseline_dict(), extra)), seed=0)
    for _ in range(weeks):
        m.step()
    return m


_LOOSE = {"firms": {"rock_miners": {"outside_quota_share": 0.3, "enforcement": 0.5},
                    "ionic_miners": {"outside_quota_share": 0.3, "enforcement": 0.5},
                    "separation_plants": {"outside_quota_share": 0.3, "enforcement": 0.5}}}


def test_the_anchors_routes_count_what_is_mined_and_separated_outside_the_quota():
    """An era with much illegal mining (2011: about half the ion-adsorption ore) read a lasting
    shortage in the oxides' cost anchor, which counted only the quota's ore, while the ore mined
    beyond it was sold and separated: the long-run price rose 2.7 times in two years. The miners'
    route is the quota's pace plus what enforcement lets through (outside_quota_share x
    (1 - enforcement) of capacity), within capacity; the plants' room likewise."""
    import numpy as np

    from rechain.kinds.miners import RockMiners
    from rechain.kinds.separation import SeparationPlants
    from rechain.week import oxide_cost_ratio
    tight, loose = _stepped({}), _stepped(_LOOSE)
    for m in (tight, loose):
        rock = next(k for k in m.kinds if type(k) is RockMiners)
        cap = m.firms.capacity_t_per_wk[rock.rs]
        quota = m.book.cond.quota_year_t_per_wk[rock.rs]
        share = 0.3 * 0.5 if m is loose else 0.0
        assert np.allclose(rock.supply_routes(m.book).feed_t_per_wk, np.minimum(cap, quota + share * cap))
    room = [next(k for k in m.kinds if isinstance(k, SeparationPlants)).separation_room(m.book) for m in (tight, loose)]
    assert room[1].sum() > 1.05 * room[0].sum()
    # more supply at the same need: the marginal route is no dearer, and the shortage no larger
    assert oxide_cost_ratio(loose) < oxide_cost_ratio(tight)


def test_a_crackdown_takes_the_outside_supply_out_of_the_anchor_again():
    """A crackdown (a disruption with outside_quota_only) stops the work beyond the quota: the
    routes lose it too."""
    from rechain.kinds.miners import RockMiners
    crack = {**_LOOSE, "disruptions": [{"name": "crackdown", "target": "miners", "start": "2024-01-01",
                                        "end": "2024-06-30", "capacity_offline_share": 1.0,
                                        "outside_quota_only": True}]}
    tight, loose, cracked = _stepped({}), _stepped(_LOOSE), _stepped(crack)
    feed = [next(k for k in m.kinds if type(k) is RockMiners).supply_routes(m.book).feed_t_per_wk.sum()
            for m in (tight, loose, cracked)]
    assert feed[1] > feed[0]
    assert abs(feed[2] - feed[0]) < 1e-9 * feed[0]


# --- keys that passed check in silence and changed nothing (the malformed-input round) -------
@pytest.mark.parametrize("body, says", [
    ("[firms.rock_miners]\ninvestment_lead_weeks = 300\n",
     "firms.rock_miners.investment_lead_weeks: firms.rock_miners.investment_share_per_yr is 0"),
    ("[behaviour]\ncover_bounds = [1.0, 1.0]\nrestock_strength = 3\n",
     "behaviour.restock_strength: behaviour.cover_bounds is [1, 1]"),
    ("[firms.myanmar_holders]\nmin_offer_share = 1\nprice_floor_share = 0.5\n",
     "firms.myanmar_holders.price_floor_share: firms.myanmar_holders.min_offer_share is 1"),
    ("[firms.separation_plants]\nmin_offer_share = 1\nreservation_share = 0.5\n",
     "firms.separation_plants.reservation_share: firms.separation_plants.min_offer_share is 1"),
    ("[firms.separation_plants]\nmetal_line_share = 0\nreservation_share_by_product = { prnd_metal = 0.2 }\n",
     "reservation_share_by_product.prnd_metal: firms.separation_plants.metal_line_share is 0"),
    ("[sectors.elevators]\nseasonality = [1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2]\n",
     "sectors.elevators.seasonality: its twelve factors are all 1.2, and factors are normalised to mean 1"),
    ("[sectors.nev]\nunits_per_yr = {}\n", "sectors.nev.units_per_yr: an empty table merges"),
    ("[[quota_policy.quotas]]\ntype = \"mining_rock\"\nyear = 2023\ntotal_t = 236000\n"
     "batches = [{ issued = 2023-03-24, share = 0.9 }, { issued = 2023-12-20, share = 0.1 }]\n",
     "(mining_rock 2023).batches: of a year before the run (2024-01-01) only the total and the first batch's date"),
    ("[[export_controls]]\nname = \"second regime\"\nproducts = [\"magnet_uh\"]\nstart = 2025-05-01\n"
     "end = 2025-09-30\napproval = [{ start = 2025-05-01, rate = 1.0 }]\n",
     "export_controls[1] (second regime): wherever and whenever it applies, another control already holds"),
])
def test_check_names_a_key_that_changes_nothing(tmp_path, body, says):
    """Each passed check in silence and its run was the baseline's, byte for byte."""
    said = [w for w in _warnings(_what_if(tmp_path, body)) if says in w]
    assert len(said) == 1 and said[0].endswith(("acts on nothing", "act on nothing")), _warnings(_what_if(tmp_path, body))


def test_a_stricter_overlapping_control_is_not_called_idle(tmp_path):
    body = ("[[export_controls]]\nname = \"second regime\"\nproducts = [\"magnet_uh\"]\nstart = 2025-05-01\n"
            "end = 2025-09-30\napproval = [{ start = 2025-05-01, rate = 0.0 }]\n")
    assert not [w for w in _warnings(_what_if(tmp_path, body)) if "second regime" in w]


def test_check_says_a_reserve_band_beyond_the_price_bounds_hardly_ever_trades(tmp_path):
    """A Dy reserve buying below 1e-12 of the anchor and selling above 1e12 of it passed check;
    the run was the baseline's with empty reserve rows."""
    body = ("[stockpile]\nproducts = [\"dy_oxide\"]\nbuy_below_share = 1e-12\nsell_above_share = 1e12\n"
            "buy_t_per_yr = { dy_oxide = 100 }\nmax_stock_t = { dy_oxide = 500 }\n")
    said = _warnings(_what_if(tmp_path, body))
    assert any("stockpile.buy_below_share: it is at or below behaviour.price_floor_multiple" in w for w in said), said
    assert any("stockpile.sell_above_share: it is at or above behaviour.price_ceiling_multiple" in w for w in said)


def test_a_sweep_over_a_label_is_refused(tmp_path):
    """A sweep over `description` ran, said no run failed, and its analysis listed the label as a
    parameter whose points differed by seed noise alone."""
    from support import BASELINE
    f = tmp_path / "s.toml"
    f.write_text(f'base = "{BASELINE.as_posix()}"\nname = "s"\ndesign = "grid"\nreplicates = 1\n'
                 '[parameters]\n"description" = { levels = ["a", "b"] }\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["sweep", str(f), "--workers", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "parameters.description: 'description' is a label or a note" in res.output
    assert not (tmp_path / "out").exists()


def test_a_folder_given_for_a_file_is_told_what_is_allowed(tmp_path):
    """click's own message named the mistake but not what to give instead."""
    res = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert res.exit_code == 2
    assert "is a directory; allowed: a file's path, not a folder's" in res.output, res.output
    f = tmp_path / "afile"
    f.write_text("x", encoding="utf-8")
    res = CliRunner().invoke(main, ["run", str(ROOT / "scenarios" / "baseline.toml"), "--out", str(f)])
    assert res.exit_code == 2
    assert "is a file; allowed: a folder's path, not a file's" in res.output, res.output
    assert f.read_text(encoding="utf-8") == "x"


# --- a run says when its oxides' supply routes fall well short of what users need -------------
def test_short_supply_years_are_the_years_whose_route_cover_falls_below_the_bound():
    import pandas as pd

    from rechain.report import ROUTES_SHORT, short_supply_years
    months = [f"2011-{m:02d}" for m in range(1, 13)] + [f"2012-{m:02d}" for m in range(1, 13)]
    values = [0.5] * 12 + [ROUTES_SHORT + 0.1] * 6 + [ROUTES_SHORT - 0.1] * 6     # 2012's mean: the bound
    monthly = pd.DataFrame({"month": months, "stage": "market", "product": "oxides", "region": "china",
                            "variable": "route_supply_cover", "value": values, "unit": "ratio"})
    assert short_supply_years(monthly) == {"2011": pytest.approx(0.5)}


def test_a_run_whose_supply_falls_well_short_says_so(tmp_path):
    """The 2011 draft's routes gave half of what its users needed for two years; its prices rose
    2.5 times, and only reading the model's internals told the analyst why."""
    short = _what_if(tmp_path, "end = 2024-12-31\n[[quota_policy.quotas]]\ntype = \"mining_rock\"\nyear = 2024\n"
                               "total_t = 40000\nbatches = [{ issued = 2024-02-06, share = 1.0 }]\n", "short")
    res = CliRunner().invoke(main, ["run", str(short), "--no-figures", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    notes = [line for line in res.output.splitlines() if line.startswith("note: in 2024 the oxides' supply routes")]
    assert len(notes) == 1, res.output
    import pandas as pd
    m = pd.read_csv(tmp_path / "out" / "monthly.csv", dtype={"month": str})
    cover = m[m["variable"] == "route_supply_cover"]
    assert len(cover) == 12 and (cover["unit"] == "ratio").all()
    assert cover["value"].mean() < 0.75


def test_the_baseline_reads_its_route_cover_and_names_no_short_year():
    import rechain
    from rechain.report import short_supply_years
    res = rechain.run(ROOT / "scenarios" / "baseline.toml", seed=0)
    cover = res.series("route_supply_cover")
    assert len(cover) == 36 and cover.between(0.5, 1.5).all()
    assert short_supply_years(res.monthly) == {}
