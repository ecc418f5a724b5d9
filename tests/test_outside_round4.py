"""Findings of a fourth outside-style round (an analyst writing eras and what-ifs; a modeller
driving the commands and the API): each case as the outsider met it, held here."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support import BASELINE
from support import what_if as _what_if

from rechain.cli import main
from rechain.model import ChainModel
from rechain.network import FOREIGN, RESERVE, TRADER
from rechain.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


# --- check: more keys that act on nothing ----------------------------------------------------
@pytest.mark.parametrize("body, said", [
    ('[[import_tariffs]]\nname = "nothing"\nproducts = ["magnet_std"]\nstart = 2025-01-01\nrate_share = 0.0\n',
     "import_tariffs[3] (nothing): rate_share is 0 (no charge); it acts on nothing"),
    ('[[export_duties]]\nname = "nothing"\nproducts = ["magnet_std"]\nstart = 2025-01-01\nrate_share = 0.0\n',
     "export_duties[0] (nothing): rate_share is 0 (no charge); it acts on nothing"),
    ('[magnet_recipes.magnet_std]\nthrift_price_elasticity = 0.0\nmax_added_share = 1.0\n',
     "magnet_recipes.magnet_std.max_added_share: magnet_recipes.magnet_std.thrift_price_elasticity is 0"),
    ('[regions.asean_india]\nmaterials_buyers = 50\n',
     "regions.asean_india.materials_buyers: regions.asean_india.materials_t_per_yr is not set"),
    ('[firms.separation_plants]\ncount = 1\n',
     "firms.separation_plants: count is 1 while light_share is 0.4: a plant separates one type of ore, so the one "
     "plant takes ion-adsorption ore only, with 24% of capacity_t_per_yr, and no plant buys rock-type ore"),
    ('end = 2028-12-31\n[after_last_year]\nrule = "hold"\ngrowth_pct_per_yr = 10\n',
     'after_last_year.growth_pct_per_yr: after_last_year.rule is "hold"'),
])
def test_check_warns_of_more_levers_that_act_on_nothing(tmp_path, body, said):
    res = CliRunner().invoke(main, ["check", str(_what_if(tmp_path, body))])
    assert res.exit_code == 0, res.output
    assert said in res.output


def test_check_is_quiet_where_those_keys_act(tmp_path):
    """The same keys where they act: a tariff above 0, max_added_share with recipes that follow
    prices, materials buyers of a region that buys oxides, growth under rule = "grow"."""
    body = ('end = 2028-12-31\n[[import_tariffs]]\nname = "some"\nproducts = ["magnet_std"]\nregions = ["us"]\nstart = 2025-01-01\n'
            'rate_share = 0.1\n[magnet_recipes.magnet_std]\nmax_added_share = 0.4\n'
            '[regions.eu]\nmaterials_buyers = 5\n[after_last_year]\nrule = "grow"\ngrowth_pct_per_yr = 3\n')
    res = CliRunner().invoke(main, ["check", str(_what_if(tmp_path, body))])
    assert res.exit_code == 0 and "warning" not in res.output, res.output


# --- the state reserve buys in China ----------------------------------------------------------
def test_the_reserve_buys_from_producers_in_china_only():
    """Producers abroad sell to buyers abroad only (docs/kinds.md): no link runs from them to
    China's reserve, while the reserve still reaches every producer in China."""
    sc = load_scenario(ROOT / "scenarios" / "state_stockpile.toml")
    m = ChainModel(sc, seed=0)
    w = m.world
    kind = w.firms.kind
    to_reserve = kind[w.links.dst] == RESERVE
    assert to_reserve.any()
    assert not (to_reserve & (kind[w.links.src] == FOREIGN)).any()
    oxide = w.materials.p("prnd_oxide")
    sellers_in_china = {int(i) for i in np.flatnonzero(w.firms.outputs[:, oxide])
                        if kind[i] not in (FOREIGN, RESERVE, TRADER)}
    reached = {int(s) for s in w.links.src[to_reserve & (w.links.prod == oxide)]}
    assert sellers_in_china <= reached


# --- producers abroad count in China's cost anchor only as far as they can sell --------------
def test_producers_abroad_meet_no_more_need_than_buyers_abroad_have():
    """Capacity abroad that no buyer takes does not lower China's long-run price: the route's
    feed, valued at long-run prices, is at most what buyers abroad use a week."""
    from rechain.kinds.abroad import ForeignProducers
    big = load_scenario(ROOT / "scenarios" / "baseline.toml")
    sc = big.model_copy(update={"firms": big.firms.model_copy(update={
        "foreign_producers": big.firms.foreign_producers.model_copy(update={"capacity_t_per_yr": 300000.0})})})
    m = ChainModel(sc, seed=0)
    for _ in range(4):
        m.step()
    kind = next(k for k in m.kinds if isinstance(k, ForeignProducers))
    routes = kind.supply_routes(m.book)
    lr = m.market.long_run_yuan_per_t
    supplied = float(routes.feed_t_per_wk.sum() * (kind.yields @ lr[kind.oxides]))
    f = m.firms
    used = f.use_expected_t_per_wk.ravel()[kind.market_pairs]
    worth = np.where(kind.market_product == kind.metal, lr[kind.oxides[0]] * kind.oxide_per_metal,
                     lr[kind.market_product])
    assert used.sum() > 0
    assert supplied == pytest.approx(float(used @ worth), rel=1e-9)
    full = float((f.capacity_t_per_wk[kind.rs] * m.book.cond.capacity_share[kind.rs]).sum())
    assert routes.feed_t_per_wk.sum() < 0.5 * full


# --- the report of a projection lists what the file changed, not what both carry -------------
def test_report_of_a_later_period_lists_only_the_keys_the_file_changed(tmp_path):
    """A file that only moves the period past the base's last given year: the figures both
    carry by the same rule are no change of its own; its start and end are."""
    proj = _what_if(tmp_path, "start = 2027-01-01\nend = 2027-06-30\n", "proj")
    runner = CliRunner()
    out = tmp_path / "proj"
    assert runner.invoke(main, ["run", str(proj), "--no-figures", "--quiet", "--out", str(out)]).exit_code == 0
    res = runner.invoke(main, ["report", str(out)])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Against baseline: 2 key(s) (2 changed), in [end], [start]." in html
    # a change beside the period is still listed
    proj2 = _what_if(tmp_path, "start = 2027-01-01\nend = 2027-06-30\n[firms.recyclers]\ncount = 30\n", "proj2")
    out2 = tmp_path / "proj2"
    assert runner.invoke(main, ["run", str(proj2), "--no-figures", "--quiet", "--out", str(out2)]).exit_code == 0
    assert runner.invoke(main, ["report", str(out2)]).exit_code == 0
    assert "Against baseline: 3 key(s) (3 changed), in [end], [firms], [start]." in \
        (out2 / "report.html").read_text(encoding="utf-8")


# --- where a run stops does not change the weeks it shares with a longer one -------------------
@pytest.mark.parametrize("end, last_week_whole", [("2024-06-30", False), ("2024-12-30", True)])
def test_a_shorter_run_is_the_first_part_of_the_longer_one(tmp_path, end, last_week_whole):
    """The same seed gives the same numbers in every week two periods share: the neutral
    world before the run reads the first year's demand whatever the end (a run of half a year
    was spun up on half a year's seasons), and firms plan the weeks ahead past the end (the
    last weeks planned on fewer weeks). The last week of a run ending on a Monday runs whole
    and may differ by what is dated after its end (left out of the shorter period)."""
    import rechain
    full = rechain.run(BASELINE, seed=0, keep_model=True)
    part = rechain.run(_what_if(tmp_path, f"end = {end}\n"), seed=0, keep_model=True)
    a = full.model.datacollector.get_model_vars_dataframe()
    b = part.model.datacollector.get_model_vars_dataframe()
    shared = len(b) - (1 if last_week_whole else 0)
    assert 20 < shared < len(a)
    for column in ("price", "sentiment"):
        np.testing.assert_array_equal(np.stack(a[column].iloc[:shared].to_numpy()),
                                      np.stack(b[column].iloc[:shared].to_numpy()))


# --- check reads a linked what-if's base where the loader does -------------------------------
def test_check_of_a_linked_what_if_reads_the_base_the_run_reads(tmp_path):
    """A what-if reached through a link in another folder: its ``extends`` is relative to the
    file linked to (as the loader reads it), for the warnings too."""
    real = tmp_path / "real"
    real.mkdir()
    shutil.copy(BASELINE, real / "baseline.toml")
    (real / "wi.toml").write_text('extends = "baseline.toml"\nname = "wi"\n[behaviour]\nw_news = 2.0\n',
                                  encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "wi.toml"
    link.symlink_to(real / "wi.toml")
    res = CliRunner().invoke(main, ["check", str(link)])
    assert res.exit_code == 0 and "error" not in res.output and "warning" not in res.output, res.output
    # a file where the link's folder would put the base is not the base
    (tmp_path / "baseline.toml").write_text(BASELINE.read_text(encoding="utf-8").replace(
        "w_news = 1.924", "w_news = 0.01"), encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(link)])
    assert res.exit_code == 0 and "warning" not in res.output, res.output


# --- a report is not written into another run's folder -------------------------------------
def test_a_report_under_any_name_is_not_written_into_another_output(tmp_path):
    """Named in that folder's marker, it went with the folder when the next run replaced it."""
    from test_output_safety import cheap_run
    a, b = cheap_run(tmp_path / "a"), cheap_run(tmp_path / "b")
    res = CliRunner().invoke(main, ["report", str(a), "--out", str(b / "analysis-for-boss.html")])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert f"is inside the run output in {b}" in res.output and "not of" in res.output
    assert not (b / "analysis-for-boss.html").exists()


# --- a base edited after the run --------------------------------------------------------------
def test_report_says_when_the_base_changed_since_the_run(tmp_path):
    """A what-if that sets the key the base then changed gives the same scenario hash; the
    report must not show the base's new value as the one the run was set beside."""
    base = tmp_path / "base.toml"
    shutil.copy(BASELINE, base)
    wi = tmp_path / "w.toml"
    wi.write_text('extends = "base.toml"\nname = "w"\nend = 2024-02-29\n[behaviour]\nw_news = 2.5\n',
                  encoding="utf-8")
    runner = CliRunner()
    out = tmp_path / "o"
    assert runner.invoke(main, ["run", str(wi), "--no-figures", "--quiet", "--out", str(out)]).exit_code == 0
    assert runner.invoke(main, ["report", str(out)]).exit_code == 0
    assert "behaviour.w_news" in (out / "report.html").read_text(encoding="utf-8")
    base.write_text(base.read_text(encoding="utf-8").replace("w_news = 1.924", "w_news = 0.5"), encoding="utf-8")
    assert runner.invoke(main, ["report", str(out)]).exit_code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "have changed since the run" in html and "behaviour.w_news" not in html


# --- names and messages -----------------------------------------------------------------------
def test_a_region_cannot_be_called_overseas(tmp_path):
    """The outputs already use it for all buyers abroad together (orders, licence rows)."""
    body = ('[regions.overseas]\ncalendar = "west"\nbuyers = 5\ndemand_t_per_yr = { 2024 = 100, 2025 = 100, '
            '2026 = 100 }\nuh_share = 0.5\n')
    res = CliRunner().invoke(main, ["check", str(_what_if(tmp_path, body))])
    assert res.exit_code == 2 and "regions.overseas" in res.output and "which rechain reserves" in res.output


def test_a_comma_in_an_unquoted_cell_is_named_as_such(tmp_path):
    """The extra cells of a row that ends in empty columns are empty, so the row was read one
    column out; the message says why its cells are wrong."""
    from rechain.experiments.validate import FactError, load_facts
    header = (ROOT / "src" / "rechain" / "data" / "facts.csv").read_text(encoding="utf-8").splitlines()[0]
    f = tmp_path / "facts.csv"
    f.write_text(header + "\nX1,true,oxide level, 1,000,price,market,prnd_oxide,*,2025-03,level,,within,444000,"
                 "44400,yuan/t,,,,,,,\n", encoding="utf-8")
    with pytest.raises(FactError) as info:
        load_facts(f)
    assert "the row has 23 cells, more than the header's 21 columns: a comma in a cell without double quotes" \
        in str(info.value)
    # Excel's trailing commas on a sound row: read, no complaint
    f.write_text(header + "\nX1,true,oxide level,price,market,prnd_oxide,*,2025-03,level,,within,444000,"
                 "44400,yuan/t,,,,,,,,,\n", encoding="utf-8")
    assert [x.fact_id for x in load_facts(f)] == ["X1"]


def test_analyze_says_on_screen_when_the_sweep_did_not_finish(tmp_path):
    tiny = ROOT / "tests" / "data" / "tiny.toml"
    spec = tmp_path / "s.toml"
    spec.write_text(f'base = "{tiny.as_posix()}"\ndesign = "grid"\n[overrides]\nend = 2024-02-29\n'
                    '[parameters]\n"behaviour.noise" = { levels = [0.0, 0.01, 0.02] }\n'
                    '[outputs]\nkpis = ["price_mean_prnd_oxide"]\n', encoding="utf-8")
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(main, ["sweep", str(spec), "--out", str(out), "--workers", "1", "--quiet"]).exit_code == 0
    res = runner.invoke(main, ["analyze", str(out), "--no-figures"])
    assert res.exit_code == 0 and "did not finish" not in res.output
    parts = sorted((out / "runs").glob("part-*.parquet"))
    parts[-1].unlink()
    res = runner.invoke(main, ["analyze", str(out), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "warning: the sweep did not finish: 1 of its 3 runs are missing" in res.stderr
    assert f"--out {out} --resume" in res.stderr


# --- compare: the price effect abroad, peaks that tell nothing, changes of shares ---------------
def test_compare_shows_the_export_price_gap_and_says_when_a_peak_is_shared(tmp_path):
    """The export price over China's is a key figure of a comparison as of a run (docs/
    scenarios.md); a peak price equal in every scenario, seed by seed, is said to be so."""
    from rechain.experiments.compare import compare
    ref = _what_if(tmp_path, "end = 2024-03-31\n", "ref")
    duty = _what_if(tmp_path, 'end = 2024-03-31\n[[export_duties]]\nname = "duty"\nproducts = ["magnet_uh"]\n'
                    'start = 2024-01-01\nrate_share = 0.5\n', "duty")
    comp = compare([ref, duty], seeds=[0], workers=1, runs_dir=None, out_dir=tmp_path / "cmp", figures=False)
    gap = comp.kpis.loc[("export_price_gap_peak_magnet_uh_pct", "%")]
    assert gap["duty"] > gap["ref"] + 30            # a 50 % duty, paid by buyers abroad
    md = (tmp_path / "cmp" / "kpis.md").read_text(encoding="utf-8")
    assert "| export price over China's, peak, magnet_uh | % |" in md
    # the two scenarios differ from January: no peak is shared, no note
    assert comp.peak_note == "" or "magnet_uh" not in comp.peak_note
    # a duty from the last week of March: the scenarios part after every main product's peak
    late = compare([ref, _what_if(tmp_path, 'end = 2024-03-31\n[[export_duties]]\nname = "duty"\n'
                                  'products = ["magnet_uh"]\nstart = 2024-03-25\nrate_share = 0.5\n', "late")],
                   seeds=[0], workers=1, runs_dir=None, write=False)
    assert late.peak_note.startswith("the peak price of prnd_oxide and prnd_metal and dy_oxide"), late.peak_note
    assert late.same_note == ""
    # a what-if that changes nothing is told so, and its alike peaks are no news beside that
    same = compare([ref, _what_if(tmp_path, "end = 2024-03-31\n", "same")], seeds=[0], workers=1,
                   runs_dir=None, write=False)
    assert same.same_note.startswith("same ran exactly as ref") and same.peak_note == ""


def test_html_deltas_of_shares_and_percentages_are_in_points():
    from rechain.html_report import _delta
    assert _delta(0.2003, 0.2, "share")[0] == "+0.03 pp vs reference"
    assert _delta(101.4, 83.3, "%")[0] == "+18.1 pp vs reference"
    assert _delta(2.0, 5.0, "months")[0] == "-3 vs reference"
    assert _delta(110.0, 100.0, "t")[0] == "+10.0 % vs reference"


def test_check_counts_in_the_singular_for_one(tmp_path):
    res = CliRunner().invoke(main, ["check", str(BASELINE)])
    assert "1 export control, 11 news events, 3 disruptions)" in res.output


# --- capacity added by year, and a run that breaks down inside compare -------------------------
def test_overseas_miners_capacity_by_year_above_the_start_keeps_the_books(tmp_path):
    """Capacity raised by year made the holders' offered share pass 1 (it was scaled by the
    capacity multiple): they shipped more than they held and the mass balance broke (seed 2).
    A disruption, not dated capacity, scales what they offer; no offer passes the stock."""
    import rechain
    wi = _what_if(tmp_path, "[firms.overseas_miners]\ncapacity_by_year = { 2025 = 67500, 2026 = 90000 }\n")
    res = rechain.run(wi, seed=2)
    assert res.manifest["weeks"] > 100

    def mined(monthly):
        ore = monthly[(monthly["variable"] == "production") & (monthly["stage"] == "overseas_miners")]
        return ore.groupby(ore["month"].str[:4])["value"].sum()
    more, base = mined(res.monthly), mined(rechain.run(BASELINE, seed=2).monthly)
    assert more["2024"] == pytest.approx(base["2024"], rel=1e-6)
    assert more["2025"] > 1.1 * base["2025"] and more["2026"] > 1.1 * base["2026"]


def test_compare_names_the_scenario_that_broke_down(tmp_path, monkeypatch):
    from rechain import results
    from rechain.accounting import MassBalanceError
    real = results.run

    def breaks(sc, seed=0, **kw):
        if sc.name == "broken":
            raise MassBalanceError("mass balance broken at week 3: prnd: -1 t")
        return real(sc, seed=seed, **kw)
    monkeypatch.setattr(results, "run", breaks)
    ref = _what_if(tmp_path, "end = 2024-02-29\n", "ref")
    bad = _what_if(tmp_path, "end = 2024-02-29\n", "broken")
    res = CliRunner().invoke(main, ["compare", str(ref), str(bad), "--workers", "1", "--no-figures", "--quiet",
                                    "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 3, res.output
    assert f"error: {bad} (seed 0): mass balance broken at week 3" in res.output
    assert not (tmp_path / "cmp").exists()


# --- a sweep may keep every key figure a run gives ----------------------------------------------
def test_a_sweep_knows_every_key_figure_a_run_of_its_base_gives():
    """The export price gaps, the oxide and metal exports and the oxide shortfall abroad were
    refused as unknown KPIs (the list came from a table with China's prices only)."""
    import json

    from rechain.experiments.sweep import available_kpis
    base = load_scenario(BASELINE).model_dump(mode="python")
    pinned = json.loads((ROOT / "tests" / "golden" / "baseline_seed0_kpis.json").read_text())
    assert set(available_kpis(base)) == set(pinned)
    assert "export_price_gap_peak_tb_oxide_pct" in available_kpis(base)


def test_seed_noise_share_is_the_variance_between_replicates_over_the_whole():
    """Points a (1, 3) and b (5, 7): variance 5 over the four runs, 1 within each point: 20 %."""
    import pandas as pd

    from rechain.experiments.analyze import seed_noise_share
    runs = pd.DataFrame({"point_id": [0, 0, 1, 1, 2], "k": [1.0, 3.0, 5.0, 7.0, 100.0],
                         "flat": [2.0, 2.0, 2.0, 2.0, 2.0]})
    share = seed_noise_share(runs, ["k", "flat"])
    assert share == {"k": pytest.approx(0.2)}          # point 2 has one replicate; flat has no variance
