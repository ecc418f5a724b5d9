"""Findings of an outside era audit (2016-2018, December 2026): each case as the outsider met
it, held here."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from support import what_if

from rechain.cli import main

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"


def test_every_bad_year_of_a_table_is_named_at_once(tmp_path):
    """Two bad years in one capacity_by_year: only the first was named, the second only on
    the next check."""
    bad = what_if(tmp_path, '[firms.myanmar_holders]\ncapacity_by_year = { "20x6" = 5000, "1850" = 5000 }\n', "years")
    res = CliRunner().invoke(main, ["check", str(bad)])
    assert res.exit_code == 2
    line = [x for x in res.output.splitlines() if "capacity_by_year" in x]
    assert len(line) == 1 and "'20x6', '1850'" in line[0] and "years 1990-2100" in line[0], res.output


def test_the_line_after_a_run_names_every_file_it_wrote(tmp_path):
    """`rechain run` said it wrote monthly, flows, summary and the manifest; it also wrote the
    mass balance and the weekly table."""
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(TINY), "--out", str(out)])
    assert res.exit_code == 0, res.output
    said = res.output.strip().splitlines()[-1]
    assert said.startswith(f"wrote {out}/ (")
    for f in out.iterdir():
        if not f.name.startswith("."):
            assert f.name in said, (f.name, said)
    assert "6 figures" in said



def test_a_producer_abroad_whose_dated_capacity_grows_finds_buyers_for_it():
    """Foreign producers given 150,000 t REO by `capacity_by_year = { 2024 = 150000 }` made as
    much as with `capacity_t_per_yr = 150000` but sold +1.5 % against +56-85 %: buyers had chosen
    their suppliers by the 30,000 t the group was sized at. They now choose by the capacity at
    its height in the run."""
    import rechain
    from rechain.scenario import scenario_from_dict
    from support import baseline_dict

    def sold(**group) -> float:
        d = baseline_dict()
        d["firms"]["foreign_producers"].update(group)
        monthly = rechain.run(scenario_from_dict(d), seed=0).monthly
        return float(monthly.loc[monthly["variable"] == "sales_abroad", "value"].sum())

    dated, sized = sold(capacity_by_year={"2024": 150000}), sold(capacity_t_per_yr=150000)
    assert dated > 1.3 * sold()
    assert abs(dated / sized - 1.0) < 0.1, (dated, sized)


def test_the_spin_up_counts_imported_ore_as_the_first_week_does():
    """With imported ore counting against the separation quota from the start, the spin-up
    worked a quota shared out for imports that did not count: ion-adsorption plants separated
    all of Myanmar's ore and the run opened on 570 t of Dy oxide in their yards (the baseline's
    none), so a tighter rule read as a Dy glut (an outside lever audit)."""
    import datetime as dt

    from support import baseline_dict

    from rechain.conditions import Mode, PolicyTimeline
    from rechain.randomness import Streams
    from rechain.scenario import scenario_from_dict
    from rechain.world import build_world
    for counts_from, expected in ((dt.date(2024, 1, 1), True), (dt.date(2025, 7, 28), False)):
        d = baseline_dict()
        d["quota_policy"]["imported_ore_counts_from"] = counts_from
        timeline = PolicyTimeline(build_world(scenario_from_dict(d), Streams(0)))
        for mode in (Mode.DRY_RUN, Mode.SPIN_UP, Mode.RUN):
            assert timeline.conditions(0, mode).imports_count is expected, (counts_from, mode)


def test_check_names_the_ratios_a_start_price_given_alone_moves(tmp_path):
    """Pr-Nd oxide's start price alone at 600,000 yuan/t made Dy, Tb, the ores and the scraps
    12-18 % cheaper, and check said only that metal was priced below cost (an outside lever
    audit): the model keeps the oxides' split of their anchor and each feed's price over its
    oxides' value from the start prices."""
    alone = what_if(tmp_path, "[market.initial_price]\nprnd_oxide = 600000\n", "alone")
    res = CliRunner().invoke(main, ["check", str(alone)])
    assert res.exit_code == 0, res.output
    split = [x for x in res.output.splitlines() if "share one cost anchor" in x]
    assert len(split) == 1 and "dy_oxide to Pr-Nd oxide 0.73 times" in split[0] and "pulls the others down" in split[0]
    feeds = [x for x in res.output.splitlines() if "inherited while the oxides' start prices change" in x]
    assert {x.split("market.initial_price.")[1].split(":")[0] for x in feeds} == \
        {"light_ore", "ionic_ore", "scrap_std", "scrap_uh"}
    # given together, the ratios are kept: nothing to say
    together = what_if(tmp_path, "[market.initial_price]\nprnd_oxide = 600000\ndy_oxide = 3409\ntb_oxide = 9955\n"
                                 "light_ore = 48600\nionic_ore = 243300\nscrap_std = 157\nscrap_uh = 212\n", "together")
    res = CliRunner().invoke(main, ["check", str(together)])
    assert "share one cost anchor" not in res.output and "inherited while the oxides" not in res.output, res.output
