"""The tables of a run agree with one another: flows.csv adds up to monthly.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rechain
from rechain.report import end_products, summary_table, year_labels


def _by(df: pd.DataFrame, keys: list[str], value: str) -> pd.Series:
    return df.groupby(keys)[value].sum().round(3).sort_index()


def test_flows_to_overseas_buyers_are_the_monthly_exports(baseline_run):
    flows, monthly = baseline_run.flows, baseline_run.monthly
    to_abroad = flows[flows["to_stage"] == "overseas_buyers"]
    from_china = to_abroad[to_abroad["from_stage"] != "foreign_producers"]
    exports = monthly[monthly["variable"] == "exports"]
    keys = ["month", "product", "region"]
    assert exports["value"].sum() > 0
    pd.testing.assert_series_equal(_by(from_china, keys, "tonnes"), _by(exports, keys, "value"),
                                   check_names=False)
    # each export counted once, by the stage that shipped it: magnets by their makers, oxides
    # and metal by plants, recyclers and traders
    assert "magnet_makers" in set(from_china["from_stage"])
    assert set(from_china[from_china["product"].isin(["magnet_std", "magnet_uh"])]["from_stage"]) == {"magnet_makers"}
    # producers abroad: their flows are the monthly sales abroad
    sales = monthly[monthly["variable"] == "sales_abroad"]
    foreign = to_abroad[to_abroad["from_stage"] == "foreign_producers"]
    assert sales["value"].sum() > 0
    pd.testing.assert_series_equal(_by(foreign, keys, "tonnes"), _by(sales, keys, "value"), check_names=False)


def test_flows_from_abroad_are_the_monthly_imports(baseline_run):
    flows, monthly = baseline_run.flows, baseline_run.monthly
    from_abroad = flows[flows["region"] == "abroad"]
    imports = monthly[monthly["variable"] == "imports"]
    assert set(from_abroad["from_stage"]) <= {"myanmar_holders", "overseas_miners"}
    assert set(from_abroad["to_stage"]) == {"separation_plants"}
    pd.testing.assert_series_equal(_by(from_abroad, ["month"], "tonnes"), _by(imports, ["month"], "value"),
                                   check_names=False, atol=1e-3)


def test_every_flow_row_is_a_shipment_once(baseline_run):
    flows = baseline_run.flows
    keys = ["month", "from_stage", "to_stage", "product", "region"]
    assert not flows.duplicated(keys).any()
    assert (flows["tonnes"] >= 0).all()


def test_series_reads_a_level_as_chinas_and_refuses_what_the_run_lacks(baseline_run):
    """`RunResult.series` reads as validate and sweeps do: a price is China's, not China's plus
    every export price; flows are summed; a name the run lacks is an error, not an empty series."""
    import pytest
    m = baseline_run.monthly
    china = m[(m["variable"] == "price") & (m["product"] == "prnd_oxide") & (m["region"] == "china")]
    got = baseline_run.series("price", product="prnd_oxide")
    assert list(got.index) == list(china["month"]) and (got.to_numpy() == china["value"].to_numpy()).all()
    blanks = m[(m["variable"] == "production") & (m["product"].isin(["magnet_std", "magnet_uh"]))]
    made = blanks.groupby("month")["value"].sum()
    assert (baseline_run.series("production", stage="magnet_makers", product="magnet_std+magnet_uh") == made).all()
    for variable, match, says in [("price", {}, "several units"), ("nonsense", {}, "does not have"),
                                  ("price", {"product": "nope"}, "has no price rows"),
                                  ("price", {"colour": "red"}, "unknown key 'colour'"),
                                  # 'magnet_std+' read as magnet_std alone measured half of what was meant
                                  ("production", {"product": "magnet_std+"}, "product 'magnet_std\\+' has an "
                                   "empty name beside a"),
                                  ("production", {"stage": "+"}, "empty name beside"),
                                  # oxide and metal are both yuan/t, but their mean is no product's price
                                  ("price", {"product": "prnd_oxide+prnd_metal"}, "their plain mean"),
                                  # ore, oxides and magnets: the same rare earths counted at each stage
                                  ("production", {}, "span magnets, metal \\(made from the oxide\\), ore, oxides"),
                                  # scrap is cut from the blanks their output already counts
                                  ("production", {"stage": "magnet_makers"}, "span magnets, scrap \\(cut from the"),
                                  ("demand", {"stage": "overseas_buyers"}, "span magnets, oxides and metal")]:
        with pytest.raises(ValueError, match=says):
            baseline_run.series(variable, **match)


def test_the_summary_labels_a_year_the_run_covers_in_part():
    """A run from July 2019 to March 2021: 2019's and 2021's totals are of those months only,
    and the summary says so (an analyst would set them beside a calendar year's record)."""
    months = [f"{y}-{m:02d}" for y in (2019, 2020, 2021) for m in range(1, 13)][6:27]
    monthly = pd.DataFrame({"month": months, "stage": "magnet_makers", "product": "magnet_std", "region": "china",
                            "variable": "production", "value": 1.0, "unit": "t"})
    table = summary_table(monthly)
    assert list(table.columns) == ["2019 (Jul-Dec)", "2020", "2021 (Jan-Mar)"]
    assert table.loc[("production", "magnet_makers/magnet_std", "t")].tolist() == [6.0, 12.0, 3.0]
    assert year_labels(pd.Series(["2024-01", "2024-02"])) == {"2024": "2024 (Jan-Feb)"}
    assert year_labels(pd.Series(["2024-05"])) == {"2024": "2024 (May)"}


def test_end_products_are_the_magnets_over_the_kg_per_unit_of_their_year():
    # worked by hand: 4 t and 8 t at 4 kg a unit in 2024, 10 t at 5 kg in 2025
    got = end_products(np.array([4.0, 8.0, 10.0]), {"2024": 4.0, "2025": 5.0}, ["2024-11", "2024-12", "2025-01"])
    np.testing.assert_allclose(got, [1000.0, 2000.0, 2000.0])


def test_a_sectors_shortfall_is_also_counted_in_its_own_units(baseline_run):
    """Each sector's magnet shortfall, as end products in the unit its scenario names
    (``unit_label``), at its kg per unit of each year."""
    m, sc = baseline_run.monthly, baseline_run.model.world.scenario
    mine = m[m["stage"] == "motor_makers"]
    for name, sector in sc.sectors.items():
        short = mine[(mine["product"] == name) & (mine["variable"] == "shortfall")].set_index("month")["value"]
        units = mine[(mine["product"] == name) & (mine["variable"] == "end_products_short")]
        assert set(units["unit"]) == {sector.unit_label}
        kg = np.array([sector.magnet_kg_per_unit[month[:4]] for month in short.index])
        got = units.set_index("month")["value"].reindex(short.index).to_numpy()
        # the table rounds both to 6 decimals: a tonne's rounding is 1000/kg end products
        assert np.all(np.abs(got - short.to_numpy() * 1000.0 / kg) <= 5e-7 * 1000.0 / kg + 1e-6), name


def test_flows_carry_the_elements_at_the_content_shipped(baseline_run):
    """The flow diagram read magnets at the package's default recipe: the baseline's high
    grade carries less Dy (1.253 wt %, not 1.5), so Dy in magnets was drawn about 20 % high."""
    from rechain.flowchart import element_flows
    from rechain.materials import materials
    flows, model = baseline_run.flows, baseline_run.model
    mat = model.world.materials
    oxide = flows[flows["product"] == "dy_oxide"]
    assert np.allclose(oxide["dy_t_reo"], oxide["tonnes"] * mat.content[mat.p("dy_oxide"), mat.e("dy")], atol=1e-5)
    uh = flows[(flows["product"] == "magnet_uh") & flows["month"].str.startswith("2026")]
    default = materials().content[materials().p("magnet_uh"), materials().e("dy")]
    per_t = uh["dy_t_reo"].sum() / uh["tonnes"].sum()
    assert per_t < 0.9 * default                       # the recipe in use, thrifted, not the default
    drawn = element_flows(flows, 2026)
    dy = drawn[(drawn["element"] == "dy") & (drawn["from_stage"] == "magnet_makers")]["tonnes"].sum()
    mags = flows[flows["month"].str.startswith("2026") & (flows["from_stage"] == "magnet_makers")]
    assert dy == pytest.approx(mags[mags["from_stage"] != mags["to_stage"]]["dy_t_reo"].sum())


def test_key_figures_of_exports_and_recycling_read_as_labelled(baseline_run):
    """The export price gap was a mean over buyer regions (the EU's +243 % read +187 %); the
    recyclers' share counted producers abroad in China's oxide output (validate's F63 does not)."""
    from rechain.report import kpis
    m = baseline_run.monthly
    k = kpis(m)
    price = m[m["variable"] == "price"]
    home = price[price["region"] == "china"].set_index(["product", "month"])["value"]
    abroad = price[(price["region"] != "china") & (price["product"] == "dy_oxide")]
    gaps = 100 * (abroad["value"].to_numpy() / home.loc[[("dy_oxide", mo) for mo in abroad["month"]]].to_numpy() - 1)
    assert k["export_price_gap_peak_dy_oxide_pct"] == pytest.approx(gaps.max())
    prod = m[(m["variable"] == "production") & m["product"].isin(["prnd_oxide", "dy_oxide", "tb_oxide"])]
    china = prod[prod["stage"].isin(["separation_plants", "recyclers"])]
    assert k["recycled_share_of_oxide"] == pytest.approx(china[china["stage"] == "recyclers"]["value"].sum()
                                                         / china["value"].sum())


def test_the_summary_keeps_units_and_forms_apart(baseline_run):
    t = summary_table(baseline_run.monthly)
    units = dict(zip(t.index.get_level_values("item"), t.index.get_level_values("unit")))
    assert units["miners/light_ore"] == "t REO" and units["separation_plants/prnd_oxide"] == "t"
    shortfall = {i for w, i, _ in t.index if w == "shortfall"}
    # at home and abroad apart: their sum as one "magnets" row hid where the shortage fell
    assert shortfall <= {"magnets, in China", "magnets, abroad", "oxides and metal, abroad"}
    assert "magnets, abroad" in shortfall
    m = baseline_run.monthly
    short = m[m["variable"] == "shortfall"]
    home = short[short["stage"] == "motor_makers"].groupby(short["month"].str[:4])["value"].sum()
    for year, v in home.items():
        if v > 0:
            assert t.loc[("shortfall", "magnets, in China", "t")].filter(like=year).iloc[0] == pytest.approx(v)


def test_a_saved_run_keeps_the_summary_it_prints(baseline_run, tmp_path):
    # an analyst opens summary.csv in a spreadsheet: the same figures, years as columns
    baseline_run.save(tmp_path / "run", figures=False)
    kept = pd.read_csv(tmp_path / "run" / "summary.csv", index_col=["what", "item", "unit"])
    printed = baseline_run.summary()
    assert list(kept.columns) == [str(c) for c in printed.columns]
    assert kept.index.equals(printed.index)
    np.testing.assert_allclose(kept.to_numpy(), printed.to_numpy(), rtol=1e-12)
    assert kept.loc[("exports", "magnets", "t"), "2024"] == pytest.approx(
        baseline_run.monthly.query("variable == 'exports' and month.str.startswith('2024')")
        .loc[lambda d: d["product"].str.startswith("magnet"), "value"].sum())


def test_capacity_online_is_reported_per_stage(baseline_run, make_scenario):
    """An analyst sees the capacity that disruptions take offline and investment builds."""
    m = baseline_run.monthly
    cap = m[m["variable"] == "capacity"].pivot_table(index="month", columns="stage", values="value")
    sc = baseline_run.scenario
    first = cap.iloc[0]
    assert first["magnet_makers"] == pytest.approx(sc.firms.magnet_makers.capacity_t_per_yr, rel=1e-3)
    assert first["miners"] == pytest.approx(sc.firms.rock_miners.capacity_t_per_yr
                                            + sc.firms.ionic_miners.capacity_t_per_yr, rel=1e-3)
    # 85 % of the overseas miners offline from 2025-04-10 (the baseline's disruption)
    before, after = cap.loc["2025-03", "overseas_miners"], cap.loc["2025-06", "overseas_miners"]
    assert after == pytest.approx(0.15 * before, rel=0.05)
    assert "motor_makers" not in cap.columns and "traders" not in cap.columns
    units = m[m["variable"] == "capacity"].groupby("stage")["unit"].first()
    assert units["magnet_makers"] == "t blanks/yr" and units["miners"] == "t REO/yr"


def test_a_reserve_that_never_traded_is_said_with_why(make_scenario):
    """A reserve whose band the prices never reach passes check and acts on nothing; the run
    says so, product by product (an outside audit found it silent)."""
    from rechain.report import idle_reserve
    over = {"stockpile": {"products": ["dy_oxide", "tb_oxide"], "initial_stock_t": {"dy_oxide": 50},
                                               "buy_t_per_yr": {"tb_oxide": 20}, "buy_below_share": 0.2,
                                               "sell_above_share": 3.5}}
    sc = make_scenario(over)
    res = rechain.run(sc, seed=0)
    line = idle_reserve(res.monthly, res.flows, sc.stockpile)
    assert line is not None and "neither bought nor sold" in line
    assert "dy_oxide: its monthly price" in line and "no buy_t_per_yr, so it buys none" in line
    assert "tb_oxide: its monthly price" in line and "tb_oxide: no" not in line
    # a band the prices cross: it trades, and nothing is said
    sc = make_scenario(dict(over, stockpile=dict(over["stockpile"], buy_below_share=1.5, sell_above_share=3.5)))
    res = rechain.run(sc, seed=0)
    assert idle_reserve(res.monthly, res.flows, sc.stockpile) is None
    # no reserve: nothing to say
    assert idle_reserve(res.monthly, res.flows, make_scenario().stockpile) is None
