"""Trade abroad in oxides and metal: export prices, export restrictions, export quotas in
batches, producers abroad, and `rechain check` warning of levers that act on nothing."""

from __future__ import annotations

import copy
import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from support import BASELINE, baseline_dict

import rechain
import rechain.model
from rechain.cli import main
from rechain.config.levers import idle_levers, inert_keys
from rechain.config.schema import years_without_quota
from rechain.policy.exports import export_quota_allowance_t, export_quota_used_before_t
from rechain.conditions import demand_table
from rechain.scenario import ScenarioError, deep_merge, load_scenario, scenario_from_dict

D = dt.date
END_2025 = {"end": dt.date(2025, 12, 31)}


def within(d: dict) -> dict:
    """The scenario dict with dated items that fall outside its period left out."""
    start, end = pd.Timestamp(d["start"]).date(), pd.Timestamp(d["end"]).date()

    def day(x):
        return pd.Timestamp(x).date()
    d["news"] = [n for n in d.get("news", []) if start <= day(n["date"]) <= end]
    d["disruptions"] = [x for x in d.get("disruptions", []) if day(x["start"]) <= end and day(x["end"]) >= start]
    for key in ("export_controls", "import_tariffs", "export_duties"):
        d[key] = [x for x in d.get(key, []) if day(x["start"]) <= end]
    for s in d["sectors"].values():
        s["shocks"] = [x for x in s.get("shocks", []) if day(x["start"]) <= end and day(x["end"]) >= start]
    return d


def run(over: dict | None = None, seed: int = 0) -> pd.DataFrame:
    d = deep_merge(deep_merge(baseline_dict(), END_2025), over or {})
    return rechain.run(scenario_from_dict(within(d)), seed=seed).monthly


def series(m: pd.DataFrame, variable: str, **match) -> pd.Series:
    d = m[m["variable"] == variable]
    for k, v in match.items():
        d = d[d[k].isin(v)] if isinstance(v, (list, tuple)) else d[d[k] == v]
    agg = "mean" if variable == "price" else "sum"
    return d.groupby("month")["value"].agg(agg)


@pytest.fixture(scope="module")
def base():
    return run()


# --- export quota allowance: hand-worked -------------------------------------------------
def _quota(total, batches=(), revisions=()):
    return SimpleNamespace(total_t=total, batches=[SimpleNamespace(issued=d, share=s) for d, s in batches],
                           revisions=[SimpleNamespace(date=d, total_t=t) for d, t in revisions])


def test_export_quota_allowance_hand_worked():
    q = _quota(1000.0, batches=[(D(2025, 1, 1), 0.5), (D(2025, 7, 1), 0.5)], revisions=[(D(2025, 9, 1), 800.0)])
    assert export_quota_allowance_t(q, D(2025, 3, 1)) == 500.0          # first batch only
    assert export_quota_allowance_t(q, D(2025, 7, 1)) == 1000.0         # both batches
    assert export_quota_allowance_t(q, D(2025, 9, 1)) == 800.0          # cut from September
    assert export_quota_allowance_t(_quota(300.0), D(2025, 1, 1)) == 300.0   # no batches: all on 1 January
    late = _quota(1000.0, batches=[(D(2025, 4, 1), 0.6)])
    assert export_quota_allowance_t(late, D(2025, 3, 31)) == 0.0
    assert export_quota_allowance_t(late, D(2025, 12, 31)) == pytest.approx(600.0)  # the rest never issued


def test_a_run_starting_mid_year_finds_the_year_s_quota_spent_at_an_even_pace():
    """A run from 1 July: exports of the first half went on at an even pace within what was
    issued, so half the year's cap is spent, not all of the first batch left to the run."""
    q = _quota(2000.0, batches=[(D(2024, 12, 28), 0.74), (D(2025, 7, 8), 0.26)])
    q.year = 2025
    elapsed = (D(2025, 7, 1) - D(2025, 1, 1)).days / 365
    assert export_quota_used_before_t(q, D(2025, 7, 1)) == pytest.approx(2000.0 * elapsed)
    assert export_quota_used_before_t(q, D(2025, 1, 1)) == 0.0          # a run from New Year spent nothing
    assert export_quota_used_before_t(q, D(2026, 3, 1)) == 0.0          # another year's quota
    small = _quota(2000.0, batches=[(D(2025, 1, 1), 0.2), (D(2025, 9, 1), 0.8)])
    small.year = 2025
    assert export_quota_used_before_t(small, D(2025, 7, 1)) == pytest.approx(400.0)   # no more than was issued
    over = {"start": "2025-07-01", "end": "2025-12-31", "export_quotas": [
        {"name": "Pr-Nd 2025", "products": ["prnd_oxide", "prnd_metal"], "year": 2025, "total_t": 2000,
         "batches": [{"issued": "2024-12-28", "share": 0.74}, {"issued": "2025-07-08", "share": 0.26}]}]}
    m = rechain.run(scenario_from_dict(within(deep_merge(baseline_dict(), over))), seed=0).monthly
    h2 = series(m, "exports", product=["prnd_oxide", "prnd_metal"]).sum()
    assert 0.5 * 2000 * (1 - elapsed) < h2 <= 2000 * (1 - elapsed) * (1 + 1e-6)


# --- export restrictions on oxides and metal ---------------------------------------------
OXIDE_BAN = {"export_controls": [{"name": "Dy oxide ban", "products": ["dy_oxide", "tb_oxide"], "start": "2025-01-06",
                                  "approval": [{"start": "2025-01-06", "rate": 0.0}]}]}
METAL_DUTY = {"export_duties": [{"name": "metal duty", "products": ["prnd_metal", "prnd_oxide"], "regions": ["all"],
                                 "rate_share": 0.25, "start": "2025-01-01"}]}
OXIDE_QUOTA = {"export_quotas": [{"name": "Pr-Nd quota 2025", "products": ["prnd_oxide", "prnd_metal"],
                                  "year": 2025, "total_t": 2000}]}


@pytest.mark.parametrize("over, products", [(OXIDE_BAN, ["dy_oxide"]), (METAL_DUTY, ["prnd_metal", "prnd_oxide"]),
                                            (OXIDE_QUOTA, ["prnd_oxide", "prnd_metal"])],
                         ids=["licence ban on Dy/Tb oxide", "25 % duty on Pr-Nd metal and oxide",
                              "export quota on Pr-Nd oxide and metal"])
def test_export_restrictions_on_oxides_and_metal(base, over, products):
    """A restriction: exports down, the export price up over the domestic price, the
    domestic price down or flat (what cannot leave stays at home)."""
    m = run(over)
    year = slice("2025-02", "2025-12")
    for product in products:
        exported = series(m, "exports", product=product).loc[year].sum()
        exported_base = series(base, "exports", product=product).loc[year].sum()
        assert exported < 0.99 * exported_base, (product, exported, exported_base)
        abroad = m[(m["variable"] == "price") & (m["product"] == product) & (m["region"] != "china")]
        abroad_base = base[(base["variable"] == "price") & (base["product"] == product) & (base["region"] != "china")]
        gap = abroad.groupby("month")["value"].mean().loc[year].mean() / series(m, "price", product=product,
                                                                                 region="china").loc[year].mean()
        gap_base = abroad_base.groupby("month")["value"].mean().loc[year].mean() / series(
            base, "price", product=product, region="china").loc[year].mean()
        assert gap > gap_base, (product, gap, gap_base)
        home = series(m, "price", product=product, region="china").loc[year].mean()
        home_base = series(base, "price", product=product, region="china").loc[year].mean()
        assert home <= 1.02 * home_base, (product, home, home_base)


def test_export_price_is_parity_when_trade_is_free():
    """No restriction: the export price is the domestic price with freight (the premium only
    arises when buyers abroad run short; they can, a little, in ordinary weeks)."""
    d = within(deep_merge(baseline_dict(), {"export_controls": [], "import_tariffs": [], "end": "2024-12-31"}))
    m = rechain.run(scenario_from_dict(d), seed=0).monthly
    home = series(m, "price", product="prnd_oxide", region="china")
    jk = series(m, "price", product="prnd_oxide", region="japan_korea")
    freight = d["regions"]["japan_korea"]["freight_share"]
    ratio = jk / home
    # the export price follows last week's index: within a few per cent of parity
    assert ratio.min() >= (1.0 + freight) * 0.97
    assert ratio.median() < 1.10


# --- export quotas in batches, counted by calendar year ----------------------------------
BATCHED = {"export_quotas": [{"name": "Pr-Nd quota 2025", "products": ["prnd_oxide", "prnd_metal"], "year": 2025,
                              "total_t": 4500, "batches": [{"issued": "2025-01-01", "share": 0.5},
                                                           {"issued": "2025-07-01", "share": 0.5}]}]}


def test_mid_year_cut_lowers_second_half_exports_and_the_year_never_exceeds_its_quota():
    cut = copy.deepcopy(BATCHED)
    cut["export_quotas"][0]["revisions"] = [{"date": "2025-07-01", "total_t": 3000}]
    full, lower = run(BATCHED), run(cut)
    pn = ["prnd_oxide", "prnd_metal"]
    h2 = slice("2025-07", "2025-12")
    assert series(lower, "exports", product=pn).loc[h2].sum() < series(full, "exports", product=pn).loc[h2].sum()
    for m, cap in ((full, 4500), (lower, 3000)):
        assert series(m, "exports", product=pn).loc["2025-01":"2025-12"].sum() <= cap * (1 + 1e-6)
        # the first batch caps the first half
        assert series(m, "exports", product=pn).loc["2025-01":"2025-06"].sum() <= 2250 * (1 + 1e-6)


def test_a_quota_year_keeps_its_last_days():
    """A week that straddles New Year counts its exports by days, as the monthly table does:
    a small quota for one year is never overrun in that year's months."""
    over = {"end": "2025-01-31", "export_quotas": [
        {"name": "tiny 2024", "products": ["prnd_oxide", "prnd_metal"], "year": 2024, "total_t": 1200},
        {"name": "tiny 2025", "products": ["prnd_oxide", "prnd_metal"], "year": 2025, "total_t": 100}]}
    m = rechain.run(scenario_from_dict(within(deep_merge(baseline_dict(), over))), seed=0).monthly
    pn = ["prnd_oxide", "prnd_metal"]
    assert series(m, "exports", product=pn).loc["2024-01":"2024-12"].sum() <= 1200 * (1 + 1e-6)
    assert series(m, "exports", product=pn).loc["2025-01"].sum() <= 100 * (1 + 1e-6)


# --- producers abroad with dated capacity ------------------------------------------------
def test_producers_abroad_start_when_their_capacity_does():
    m = run({"firms": {"foreign_producers": {"capacity_t_per_yr": 0, "capacity_by_year": {"2025": 30000}}}})
    sales = series(m, "sales_abroad")
    assert sales.loc["2024-01":"2024-12"].sum() == 0.0
    assert sales.loc["2025-03":"2025-12"].sum() > 0.0


def test_producers_abroad_gain_when_china_restricts():
    m0, m1 = run(), run(OXIDE_QUOTA)
    year = slice("2025-03", "2025-12")
    pn = ["prnd_oxide", "prnd_metal"]
    assert series(m1, "sales_abroad", product=pn).loc[year].sum() > series(m0, "sales_abroad", product=pn).loc[year].sum()


def test_buyers_abroad_reach_producers_abroad_on_the_spot_market_abroad(base):
    """What buyers abroad's suppliers fail to deliver meets what producers abroad offered but
    did not ship on their contracts: the spot market abroad. When China's exports of Pr-Nd oxide
    and metal are held to a quota, buyers abroad find more of it there; every tonne traded
    there is a sale of the producers abroad (in their ``sales_abroad``)."""
    pn = ["prnd_oxide", "prnd_metal"]
    year = slice("2025-03", "2025-12")
    squeezed = run(OXIDE_QUOTA)
    spot = {name: series(m, "spot_traded", region="abroad", product=pn).loc[year].sum()
            for name, m in (("base", base), ("squeezed", squeezed))}
    assert spot["squeezed"] > spot["base"] * 1.2 and spot["squeezed"] > 100.0, spot
    for m in (base, squeezed):
        for product in pn:
            traded = series(m, "spot_traded", region="abroad", product=product)
            sold = series(m, "sales_abroad", product=product).reindex(traded.index, fill_value=0.0)
            assert (traded <= sold + 1e-6).all()
    # the monthly table keeps the two spot markets apart
    assert set(base[base["variable"] == "spot_traded"]["region"]) == {"china", "abroad"}


# --- mining outside the quota ------------------------------------------------------------
def test_mining_outside_the_quota_adds_ore_enforcement_stops_it(base):
    def ore(m):
        return series(m, "production", stage="miners").loc["2024-01":"2025-12"].sum()

    loose = run({"firms": {"rock_miners": {"outside_quota_share": 0.3, "enforcement": 0.0}}})
    strict = run({"firms": {"rock_miners": {"outside_quota_share": 0.3, "enforcement": 1.0}}})
    assert ore(loose) > ore(base) * 1.02
    assert np.array_equal(strict["value"].to_numpy(), base["value"].to_numpy())
    # it never counts against the quota: quota use stays within what was issued
    used = series(loose, "quota_used", product="mining_rock").loc["2024-01":"2024-12"].sum()
    issued = series(loose, "quota_issued", product="mining_rock").loc["2024-12"].sum()
    assert used <= issued * (1 + 1e-6)


def test_mining_outside_the_quota_comes_on_top_of_the_quota(base):
    """A miner fills its quota first and mines beyond it from the capacity left: the yard and the
    margin slow both alike. (The yard was judged on the quota's pace for the quota's mining and
    on the whole capacity for the rest, so a filling yard stopped the legal mining first and
    the quota went a quarter unused while ore was mined outside it.)"""
    loose = run({"firms": {"ionic_miners": {"outside_quota_share": 0.5, "enforcement": 0.3}}})
    year = slice("2024-01", "2024-12")

    def used(m):
        return series(m, "quota_used", product="mining_ionic").loc[year].sum()

    mined = series(loose, "production", stage="miners", product="ionic_ore").loc[year].sum()
    assert used(loose) >= 0.95 * used(base), (used(loose), used(base))
    assert mined > used(loose) + 1000.0          # and the outside mining adds to it


# --- disruptions of part of a stage ------------------------------------------------------
def test_disruption_of_one_ore_type_hits_only_those_firms(base):
    over = {"disruptions": [{"name": "ionic suspension", "target": "miners", "ore_type": "ionic",
                             "start": "2024-03-01", "end": "2024-08-31", "capacity_offline_share": 0.8}]}
    m = run(over)
    months = slice("2024-04", "2024-08")
    ionic = series(m, "production", stage="miners", product="ionic_ore").loc[months].sum()
    ionic0 = series(base, "production", stage="miners", product="ionic_ore").loc[months].sum()
    assert ionic < 0.5 * ionic0
    rock = series(m, "production", stage="miners", product="light_ore").loc[months].sum()
    rock0 = series(base, "production", stage="miners", product="light_ore").loc[months].sum()
    assert rock == pytest.approx(rock0, rel=0.1)


def test_disruption_of_a_share_of_firms_is_milder(base):
    def cut(share):
        over = {"disruptions": [{"name": "recyclers halt", "target": "recyclers", "share_of_firms": share,
                                 "start": "2024-03-01", "end": "2024-08-31", "capacity_offline_share": 1.0}]}
        return series(run(over), "production", stage="recyclers").loc["2024-04":"2024-08"].sum()
    half, whole = cut(0.5), cut(1.0)
    assert whole < half < series(base, "production", stage="recyclers").loc["2024-04":"2024-08"].sum()


# --- check warns of levers that act on nothing -------------------------------------------
def test_check_warns_of_an_export_control_on_a_product_nobody_abroad_buys(tmp_path):
    d = baseline_dict()
    for r in d["regions"].values():
        r.pop("materials_t_per_yr", None)
    sc = scenario_from_dict(d)
    lines = idle_levers(sc)
    assert any("export_controls[0]" in line and "dy_oxide" in line for line in lines)
    assert idle_levers(scenario_from_dict(baseline_dict())) == []


def test_a_collection_schedule_that_starts_after_the_run_says_nothing_is_collected_in_the_whole_run():
    """The warning said 'from 2024-01-01 to 2029-12-31' of a run that ends in 2026 (found by an
    outside analyst, on an era whose schedule began after it)."""
    d = deep_merge(baseline_dict(), {"recycling": {"collection": [{"year": 2030, "rate": 0.5}]}})
    lines = [line for line in idle_levers(scenario_from_dict(d)) if line.startswith("recycling.collection")]
    assert len(lines) == 1 and "so nothing is collected in the whole run" in lines[0], lines
    d = deep_merge(baseline_dict(), {"recycling": {"collection": [{"year": 2025, "rate": 0.5}]}})
    lines = [line for line in idle_levers(scenario_from_dict(d)) if line.startswith("recycling.collection")]
    assert len(lines) == 1 and "from 2024-01-01 to 2024-12-31" in lines[0], lines


def test_check_warns_of_a_disruption_of_a_stage_with_no_firms():
    d = deep_merge(baseline_dict(), {"disruptions": [
        {"name": "nobody", "target": "foreign_producers", "start": "2025-01-01", "end": "2025-02-01",
         "capacity_offline_share": 0.5}], "firms": {"foreign_producers": {"count": 0}}})
    lines = idle_levers(scenario_from_dict(d))
    assert any("foreign_producers" in line and "no firms" in line for line in lines)


@pytest.mark.parametrize("change, says", [
    # traders and the reserve hold stock; no capacity to take offline
    ({"disruptions": [{"name": "traders out", "target": "traders", "start": "2025-01-01", "end": "2025-12-31",
                       "capacity_offline_share": 1.0}]}, "'traders' firms have no capacity"),
    # miners abroad are all rock-type
    ({"disruptions": [{"name": "ionic abroad", "target": "overseas_miners", "ore_type": "ionic",
                       "start": "2025-01-01", "end": "2025-06-30", "capacity_offline_share": 0.5}]},
     "'overseas_miners' firms have no 'ionic' ore"),
    # the baseline has no state reserve to hear it
    ({"news": [{"name": "reserve rumour", "date": "2025-03-03", "sign": 1, "strength": 0.3, "half_life_weeks": 4,
                "stages": ["state_reserve"]}]}, "no firms in stages ['state_reserve'] hear it"),
    # a quota for a year the run never reads
    ({"quota_policy": {"quotas": [{"type": "mining_rock", "year": 2027, "total_t": 300000,
                                   "batches": [{"issued": "2027-02-01", "share": 1.0}]}]}},
     "(mining_rock 2027): the run covers 2024-01-01..2026-12-31"),
    # a reserve that can neither buy nor release
    ({"stockpile": {"products": ["dy_oxide"]}}, "neither buy_t_per_yr nor initial_stock_t"),
    # items whose size is no change at all
    ({"news": [{"name": "idle rumour", "date": "2025-03-03", "sign": 1, "strength": 0.0}]},
     "(idle rumour): strength and uncertainty are both 0"),
    ({"disruptions": [{"name": "idle outage", "target": "separation_plants", "start": "2025-01-01",
                       "end": "2025-02-01", "capacity_offline_share": 0.0}]}, "capacity_offline_share is 0"),
    ({"sectors": {"nev": {"shocks": [{"name": "flat", "start": "2025-01-01", "end": "2025-06-30",
                                      "multiplier": 1.0}]}}}, "multiplier is 1"),
    # a reserve whose dates lie after the run
    ({"stockpile": {"products": ["dy_oxide"], "buy_t_per_yr": {"dy_oxide": 100}, "start": "2030-01-01"}},
     "stockpile: starts 2030-01-01, after the run ends (2026-12-31)"),
    # a tariff reaches buyers only through a landed price they answer (the EU's do not)
    ({"import_tariffs": [{"name": "EU duty", "products": ["magnet_std"], "regions": ["eu"], "rate_share": 2.0,
                          "start": "2025-01-01"}]}, "the buyers of ['eu'] do not answer the landed price"),
])
def test_check_warns_of_levers_no_firm_can_act_on(change, says):
    lines = idle_levers(scenario_from_dict(deep_merge(baseline_dict(), change)))
    assert any(says in line and "acts on nothing" in line for line in lines), lines


def test_check_prints_warnings_and_carried_figures(tmp_path):
    f = tmp_path / "w.toml"
    base = (rechain.__file__.rsplit("/src/", 1)[0] + "/scenarios/baseline.toml")
    f.write_text(f'extends = "{base}"\nend = 2027-12-31\n'
                 '[[export_controls]]\nname = "ore"\nproducts = ["light_ore"]\nstart = 2025-01-01\n'
                 'approval = [{ start = 2025-01-01, rate = 0.5 }]\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 0, res.output
    assert "carried past the last year" in res.output and "2027" in res.output
    assert "warning:" in res.output and "light_ore" in res.output


def test_a_what_if_can_shorten_or_move_the_inherited_period(tmp_path):
    """Inherited dated items wholly outside the period are left out (and `check` says which);
    the file's own stay in, so one of its own outside the period is still an error."""
    base = (rechain.__file__.rsplit("/src/", 1)[0] + "/scenarios/baseline.toml")
    short = tmp_path / "short.toml"
    short.write_text(f'extends = "{base}"\nend = 2024-12-31\n', encoding="utf-8")
    sc = load_scenario(short)
    inherited = load_scenario(base)
    assert sc.end == dt.date(2024, 12, 31)
    assert [n.name for n in sc.news] == [n.name for n in inherited.news if n.date <= sc.end]
    assert sc.export_controls == [] and sc.import_tariffs == []
    assert all(d.start <= sc.end for d in sc.disruptions)
    assert len(sc._dropped) == (len(inherited.news) - len(sc.news) + len(inherited.export_controls)
                                + len(inherited.import_tariffs) + len(inherited.disruptions)
                                - len(sc.disruptions) + 1)          # + the NEV pull-forward shock
    res = CliRunner().invoke(main, ["check", str(short)])
    assert res.exit_code == 0, res.output
    assert "left out" in res.output and "Expanded export controls" in res.output
    moved = tmp_path / "moved.toml"
    moved.write_text(f'extends = "{base}"\nstart = 2025-01-01\n', encoding="utf-8")
    assert all(n.date >= dt.date(2025, 1, 1) for n in load_scenario(moved).news)
    own = tmp_path / "own.toml"
    own.write_text(f'extends = "{base}"\nend = 2024-12-31\n[[news]]\nname = "late"\ndate = 2025-03-01\n'
                   'sign = 1\nstrength = 0.05\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="news.*late.*2025-03-01"):
        load_scenario(own)


@pytest.mark.parametrize("start, end", [(dt.date(2024, 3, 1), dt.date(2024, 12, 31)),
                                        (dt.date(2024, 1, 1), dt.date(2024, 6, 15))])
def test_a_period_cut_mid_month_or_mid_week_spreads_use_at_its_months_rate(start, end):
    """The weeks of a period that starts or ends mid-week reach into a month only partly
    simulated: their days get that month's daily rate, not the whole month's use."""
    d = deep_merge(baseline_dict(), {"start": start, "end": end, "holidays": False})
    world = rechain.model.ChainModel(scenario_from_dict(within(d)), seed=0).world
    table = demand_table(world)
    weekly = table.sum(axis=1)
    typical = np.median(weekly)
    assert weekly[0] < 1.3 * typical and weekly[-1] < 1.3 * typical


def test_check_warns_of_a_year_removed_between_two_quotas():
    """A what-if that removes one year's quota (remove = true) leaves that year without one:
    the model does not fill the gap from the year before, so `rechain check` says so."""
    d = baseline_dict()
    d["quota_policy"]["quotas"] = [q for q in d["quota_policy"]["quotas"]
                                   if not (q["type"] == "mining_rock" and q["year"] == 2025)]
    lines = years_without_quota(scenario_from_dict(d))
    assert len(lines) == 1 and "no mining_rock quota for 2025, between years that have one" in lines[0]
    # as the run has it: a year after a quota year is paced on that quota (not run at capacity)
    assert "2025 at the pace of 2024's quota" in lines[0]
    m = rechain.run(d, seed=0).monthly
    mined = m[(m.variable == "production") & (m.stage == "miners") & (m["product"] == "light_ore")]
    by_year = mined.groupby(mined.month.str[:4])["value"].sum()
    before = next(q["total_t"] for q in d["quota_policy"]["quotas"] if q["type"] == "mining_rock" and q["year"] == 2024)
    assert by_year["2025"] < 1.05 * before < 0.9 * d["firms"]["rock_miners"]["capacity_t_per_yr"]


def test_check_warns_of_simulated_years_before_the_first_quota(tmp_path):
    """Quotas are carried forward, never back: years before a type's first quota run without
    one, and `rechain check` says so (an era written from the baseline must give its own)."""
    d = baseline_dict()
    d["quota_policy"]["quotas"] = [q for q in d["quota_policy"]["quotas"]
                                   if not (q["type"] == "mining_rock" and q["year"] in (2023, 2024))]
    lines = years_without_quota(scenario_from_dict(d))
    assert len(lines) == 1 and "no mining_rock quota for 2024 (the first given is 2025)" in lines[0]
    assert years_without_quota(scenario_from_dict(baseline_dict())) == []
    f = tmp_path / "early.toml"
    f.write_text(f'extends = "{BASELINE}"\nstart = 2022-01-01\nend = 2024-12-31\n'
                 + "".join(f"[sectors.{s}]\nunits_per_yr = {{ 2022 = 1.0e6, 2023 = 1.0e6 }}\n"
                           f"magnet_kg_per_unit = {{ 2022 = 1.0, 2023 = 1.0 }}\n" for s in d["sectors"])
                 + "".join(f"[regions.{r}]\ndemand_t_per_yr = {{ 2022 = 1000.0, 2023 = 1000.0 }}\n"
                           + "".join(f"materials_t_per_yr.{p} = {{ 2022 = 10.0, 2023 = 10.0 }}\n"
                                     for p in reg.get("materials_t_per_yr", {}))
                           for r, reg in d["regions"].items() if reg.get("demand_t_per_yr")), encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "no separation quota for 2022" in res.output


def test_check_warns_of_a_missing_quota_for_the_year_before_the_start():
    """The early-year allowance is a share of the year before's quota: an era that gives its
    first year's quota but not the year before's runs its first months on its own year's,
    and `rechain check` says so."""
    d = deep_merge(baseline_dict(), {"start": "2024-01-01"})
    d["quota_policy"]["quotas"] = [q for q in d["quota_policy"]["quotas"]
                                   if not (q["type"] == "separation" and q["year"] == 2023)]
    lines = years_without_quota(scenario_from_dict(d))
    assert len(lines) == 1 and "no separation quota for 2023, the year before the run starts" in lines[0]
    issued = rechain.run(d, seed=0).monthly
    early = issued[(issued.variable == "quota_issued") & (issued["product"] == "separation")].set_index("month")
    full = rechain.run(baseline_dict(), seed=0).monthly
    base = full[(full.variable == "quota_issued") & (full["product"] == "separation")].set_index("month")
    assert early.loc["2024-01", "value"] != base.loc["2024-01", "value"]     # the warning is about a real change


@pytest.mark.parametrize("own, says", [
    ({"firms": {"magnet_makers": {"dy_per_tb": 2.0}}}, "firms.magnet_makers.dy_per_tb: firms.magnet_makers.dy_for_tb_max_share is 0"),
    ({"firms": {"magnet_makers": {"cheap_dy_price_elasticity": 3.0}},
      "magnet_recipes": {"magnet_std": {"prnd_wt_pct": 30.0, "cheap_dy_wt_pct": 0.0}}},
     "firms.magnet_makers.cheap_dy_price_elasticity: no grade's magnet_recipes.<grade>.cheap_dy_wt_pct is above 0"),
    ({"firms": {"magnet_makers": {"cheap_dy_price_elasticity": 0.0}},
      "magnet_recipes": {"magnet_std": {"prnd_wt_pct": 30.0, "cheap_dy_wt_pct": 0.8}}},
     "magnet_recipes.magnet_std.cheap_dy_wt_pct: firms.magnet_makers.cheap_dy_price_elasticity is 0"),
    ({"firms": {"rock_miners": {"enforcement": 0.5}}}, "firms.rock_miners.enforcement: firms.rock_miners.outside_quota_share is 0"),
    ({"firms": {"overseas_miners": {"holdback_price": 0.0, "price_floor_share": 0.8}}},
     "firms.overseas_miners.price_floor_share: firms.overseas_miners.holdback_price is 0"),
    ({"magnet_recipes": {"magnet_std": {"min_heavy_share": 0.5}}}, "magnet_recipes.magnet_std has no Dy or Tb"),
    ({"stockpile": {"buy_below_share": 0.8}}, "stockpile.buy_below_share: stockpile.products is empty"),
    ({"recycling": {"max_collection_rate": 0.45}}, "recycling.max_collection_rate: collection follows its schedule"),
    # found by an outside analyst: settings of a mechanism another key switches off, in silence
    ({"magnet_recipes": {"magnet_std": {"min_prnd_share": 1.0, "thrift_price_elasticity": 2.0}}},
     "magnet_recipes.magnet_std.thrift_price_elasticity: every grade's min_prnd_share is 1"),
    ({"sectors": {"nev": {"substitutable_share": 0.0, "price_elasticity": 2.0}}},
     "sectors.nev.price_elasticity: sectors.nev.substitutable_share is 0"),
    ({"recycling": {"eol_magnets_t_per_yr": 0.0, "collection_price_elasticity": 2.0}},
     "recycling.collection_price_elasticity: recycling.eol_magnets_t_per_yr is 0"),
    ({"export_quotas": [{"name": "later", "products": ["dy_oxide"], "year": 2031, "total_t": 100.0}]},
     "export_quotas[0] (later): year 2031 lies outside the run"),
    ({"firms": {"overseas_miners": {"capacity_by_year": {"2030": 1000.0}}}}, "its years (2030) all come after the run's end"),
    # no firms of the kind: their settings have nobody to act on
    ({"firms": {"overseas_miners": {"count": 0, "capacity_t_per_yr": 1e6}}},
     "firms.overseas_miners.capacity_t_per_yr: firms.overseas_miners.count is 0"),
    # a step replaced before the control starts, one after the run: they passed check in silence
    ({"export_controls": [{"name": "April 2025 medium-heavy controls", "approval": [
        {"start": "2025-01-01", "rate": 0.1}, {"start": "2025-03-01", "rate": 0.6}]}]},
     "(April 2025 medium-heavy controls).approval[0]: from 2025-01-01, step 1 (2025-03-01) replaces it before the "
     "control starts (2025-04-04)"),
    ({"export_controls": [{"name": "April 2025 medium-heavy controls", "approval": [
        {"start": "2025-04-04", "rate": 0.1}, {"start": "2026-12-31", "rate": 0.6}, {"start": "2027-03-01", "rate": 1}]}]},
     "(April 2025 medium-heavy controls).approval[2]: from 2027-03-01, after the run ends (2026-12-31)"),
])
def test_check_warns_of_a_key_another_key_switches_off(own, says):
    """A key the file sets whose mechanism another key switches off passes validation and
    changes nothing: check names it and the key that switches it on."""
    sc = scenario_from_dict(deep_merge(baseline_dict(), own))
    lines = inert_keys(sc, own)
    assert any(says in line and line.endswith("it acts on nothing") for line in lines), lines
    assert inert_keys(sc, None) == []          # a whole scenario's keys are all its own: nothing to tell


def test_check_says_a_growth_rule_reaches_only_the_weeks_planned_past_the_end():
    """Every figure given up to the run's end: the rule acts only on the weeks end users plan
    ahead past it (a longer run's figures), and check says so rather than "acts on nothing"."""
    own = {"after_last_year": {"rule": "grow", "growth_pct_per_yr": 5.0}}
    lines = inert_keys(scenario_from_dict(deep_merge(baseline_dict(), own)), own)
    assert [line for line in lines if line.startswith("after_last_year.")] == [
        f"after_last_year.{key}: every yearly figure is given up to the run's end (2026-12-31), so it acts only "
        f"on the weeks end users plan ahead past that end" for key in ("rule", "growth_pct_per_yr")]


def test_no_warning_once_the_switching_key_is_on():
    own = {"firms": {"magnet_makers": {"dy_per_tb": 2.0, "dy_for_tb_max_share": 0.3}},
           "recycling": {"max_collection_rate": 0.02}}   # below the 5 % schedule: it caps collection
    assert inert_keys(scenario_from_dict(deep_merge(baseline_dict(), own)), own) == []


def test_check_warns_of_a_quota_above_what_the_holders_can_produce():
    sc = scenario_from_dict(deep_merge(baseline_dict(), {"firms": {"rock_miners": {"capacity_t_per_yr": 200000}}}))
    lines = idle_levers(sc)
    assert any("mining_rock 2025" in line and "exceeds what firms.rock_miners can produce" in line for line in lines)
    assert idle_levers(scenario_from_dict(baseline_dict())) == []


def test_an_ore_type_on_recyclers_is_said_to_be_ignored_not_idle():
    d = deep_merge(baseline_dict(), {"disruptions": [{"name": "rec", "target": "recyclers", "ore_type": "ionic",
                                                      "start": "2025-01-01", "end": "2025-12-31",
                                                      "capacity_offline_share": 1.0}]})
    lines = idle_levers(scenario_from_dict(d))
    assert any("it is ignored and the disruption takes 1 of all of them offline" in line for line in lines), lines


def test_check_warns_when_collection_starts_after_the_run():
    """A collection step holds from its year on: a run that starts before the first step
    collects nothing until then, and check says so (an era extending the baseline met it)."""
    d = baseline_dict()
    d["recycling"]["collection"] = [{"year": 2025, "rate": 0.05}]
    lines = idle_levers(scenario_from_dict(d))
    assert any(line.startswith("recycling.collection: its first step is 2025") and "2024-01-01 to 2024-12-31" in line
               for line in lines), lines
    d["recycling"]["collection"] = [{"year": 2024, "rate": 0.05}, {"year": 2025, "rate": 0.1}]
    assert not any(line.startswith("recycling.collection") for line in idle_levers(scenario_from_dict(d)))


def test_a_reserve_that_buys_above_the_price_it_sells_at_is_refused():
    """buy_below_share 1.5 with sell_above_share 0.8 passed check, and the reserve bought and
    released the same tonnes every week (found by an outside analyst)."""
    band = {"stockpile": {"products": ["dy_oxide"], "buy_t_per_yr": {"dy_oxide": 100},
                          "buy_below_share": 1.5, "sell_above_share": 0.8}}
    with pytest.raises(ScenarioError, match=r"stockpile.buy_below_share: buy_below_share 1.5 is not below sell_above_share 0.8; "
                                            r"allowed: a band"):
        scenario_from_dict(deep_merge(baseline_dict(), band))


def test_a_duty_on_what_no_buyer_abroad_can_buy_names_what_they_can():
    duty = {"export_duties": [{"name": "scrap duty", "products": ["scrap_std"], "regions": ["all"],
                               "rate_share": 0.2, "start": "2025-01-01"}]}
    lines = idle_levers(scenario_from_dict(deep_merge(baseline_dict(), duty)))
    said = [line for line in lines if "scrap duty" in line]
    assert said and "buyers abroad buy magnets and prnd_oxide, prnd_metal, dy_oxide, tb_oxide only" in said[0], lines
    assert "materials_t_per_yr" not in said[0]


def test_a_quota_grown_past_what_the_miners_can_produce_warns_once_per_type():
    """after_last_year grew the rock quota past the miners' capacity from 2029 in silence,
    while the same figure written out warned (found by an outside analyst)."""
    own = {"end": "2031-12-31", "after_last_year": {"rule": "grow", "growth_pct_per_yr": 6.0}}
    sc = scenario_from_dict(deep_merge(baseline_dict(), own))
    lines = [line for line in idle_levers(sc, set()) if "mining_rock" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("quota_policy.quotas (mining_rock 2029): the quota carried from 2026 (grown +6 %/yr) "
                               "is 316,810 t this year, which exceeds what firms.rock_miners can produce")


def test_quotas_can_be_held_while_demand_grows():
    """One growth rate carried demand and quotas alike; a projection of demand growing while
    quotas stay put (an analyst's common case) had to write every year out."""
    own = {"end": "2030-12-31", "after_last_year": {"rule": "grow", "growth_pct_per_yr": 4.0,
                                                    "quota_growth_pct_per_yr": 0.0}}
    sc = scenario_from_dict(deep_merge(baseline_dict(), own))
    quota = {(q.type, q.year): q.total_t for q in sc.quota_policy.quotas}
    assert quota[("mining_rock", 2030)] == quota[("mining_rock", 2026)]
    nev = sc.sectors["nev"].units_per_yr
    assert nev["2030"] == pytest.approx(nev["2026"] * 1.04 ** 4)
    assert "quota_policy.quotas[mining_rock]: 2027-2030 held" in sc._carried
    grown = scenario_from_dict(deep_merge(baseline_dict(), {**own, "after_last_year": {
        "rule": "hold", "quota_growth_pct_per_yr": 2.0}}))
    q2 = {(q.type, q.year): q.total_t for q in grown.quota_policy.quotas}
    assert q2[("mining_rock", 2028)] == pytest.approx(quota[("mining_rock", 2026)] * 1.02 ** 2)
    assert grown.sectors["nev"].units_per_yr["2030"] == grown.sectors["nev"].units_per_yr["2026"]


def test_a_quota_rate_with_every_quota_given_warns():
    own = {"end": "2027-12-31", "after_last_year": {"quota_growth_pct_per_yr": 2.0},
           "quota_policy": {"quotas": [{"type": t, "year": 2027, "total_t": 1000.0,
                                        "batches": [{"issued": "2027-02-01", "share": 1.0}]}
                                       for t in ("mining_rock", "mining_ionic", "separation")]}}
    lines = inert_keys(scenario_from_dict(deep_merge(baseline_dict(), own)), own)
    assert any(line.startswith("after_last_year.quota_growth_pct_per_yr: every quota is given up to the run's end")
               and line.endswith("it acts on nothing") for line in lines), lines


def test_a_period_that_starts_years_after_the_last_given_one_is_grown_over_the_gap(tmp_path):
    """A run of 2028 alone grew the quotas over 2027 and 2028 but held demand at 2026's
    figure: the carried years between the last given one and the period were skipped."""
    body = (f'extends = "{BASELINE}"\nstart = {{}}\nend = 2028-12-31\n'
            '[after_last_year]\nrule = "grow"\ngrowth_pct_per_yr = 4.0\n')
    (tmp_path / "later.toml").write_text(body.format("2028-01-01"))
    (tmp_path / "through.toml").write_text(body.format("2027-01-01"))
    later, through = (load_scenario(tmp_path / f) for f in ("later.toml", "through.toml"))
    for sc in (later, through):
        assert sc.sectors["nev"].units_per_yr["2028"] == pytest.approx(later.sectors["nev"].units_per_yr["2026"] * 1.04 ** 2)
        assert sc.regions["eu"].demand_t_per_yr["2028"] == pytest.approx(sc.regions["eu"].demand_t_per_yr["2026"] * 1.04 ** 2)
    quota = {(q.type, q.year): q.total_t for q in later.quota_policy.quotas}
    assert quota[("mining_rock", 2028)] == pytest.approx(quota[("mining_rock", 2026)] * 1.04 ** 2)
