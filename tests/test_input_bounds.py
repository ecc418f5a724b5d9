"""Figures the model cannot compute with are refused by ``check``, one line naming the key;
and a run that breaks down all the same ends in one line and writes nothing.

Each case is one a fuzzing campaign found passing ``rechain check`` and then ending ``rechain
run`` in a traceback (a division by ``1 - share``, an empty year table, a time constant under a
week, a figure near the float limit) or in NaN written to the tables.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import annotated_types as at
import numpy as np
import pytest
from click.testing import CliRunner
from pydantic import BaseModel
from support import BASELINE, baseline_dict

import rechain.config.schema as schema
import rechain.week as week
from rechain.accounting import NotFinite, check_finite
from rechain.cli import main
from rechain.config.schema import SeparationPlants
from rechain.scenario import ScenarioError, deep_merge, load_scenario, scenario_from_dict

TINY = Path(__file__).resolve().parent / "data" / "tiny.toml"
YEARS = ("2024", "2025", "2026")


def refused(override: dict) -> str:
    """The messages for the baseline with ``override`` merged in (it must be refused)."""
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(deep_merge(baseline_dict(), override))
    return "\n".join(str(e) for e in info.value.errors)


@pytest.mark.parametrize("override, key, allowed", [
    ({"firms": {"overseas_miners": {"capacity_by_year": {"next year": 30000}}}},
     "firms.overseas_miners.capacity_by_year", 'years 1950-2100 as keys ("2024")'),
    ({"sectors": {"nev": {"units_per_yr": {"2024": 1e6, "2025": 1e6, "2026": 1e6, "abc": 1.0}}}},
     "sectors.nev.units_per_yr", "given the key 'abc'"),
    ({"magnet_recipes": {"magnet_uh": {"dy_wt_pct": {}}}}, "magnet_recipes.magnet_uh.dy_wt_pct", "at least one year"),
    ({"magnet_recipes": {"magnet_std": {"prnd_wt_pct": 0.0}}}, "magnet_recipes.magnet_std.prnd_wt_pct",
     "given 0; allowed: a wt % > 0 and <= 60"),
    ({"magnet_recipes": {"magnet_uh": {"tb_wt_pct": {"2024": 0.3, "2025": 75.0}}}},
     # a year's value is named with its year since round 20
     "magnet_recipes.magnet_uh.tb_wt_pct.2025", "given 75.0; allowed: a number >= 0 and <= 60"),
    ({"firms": {"magnet_makers": {"scrap_share": 1.0}}}, "firms.magnet_makers.scrap_share", "<= 0.9"),
    ({"firms": {"magnet_makers": {"melt_loss_share": 1.0}}}, "firms.magnet_makers.melt_loss_share", "<= 0.9"),
    ({"firms": {"separation_plants": {"loss_share": 1.0}}}, "firms.separation_plants.loss_share", "<= 0.9"),
    ({"behaviour": {"cost_anchor_weeks": 1e-300}}, "behaviour.cost_anchor_weeks", ">= 1 and <= 520"),
    ({"behaviour": {"stock_adjust_weeks": 0.5}}, "behaviour.stock_adjust_weeks", ">= 1 and <= 520"),
    ({"behaviour": {"finished_cover_weeks": 1e300}}, "behaviour.finished_cover_weeks", "<= 520"),
    ({"behaviour": {"heterogeneity": 1000.0}}, "behaviour.heterogeneity", "<= 2"),
    ({"market": {"initial_price": {"light_ore": 1e300}}}, "market.initial_price.light_ore", "<= 1e+09"),
    ({"sectors": {"nev": {"magnet_kg_per_unit": {y: 1e300 for y in YEARS}}}},
     "sectors.nev.magnet_kg_per_unit.2024", "<= 10000"),
    ({"sectors": {"nev": {"units_per_yr": {y: 1e9 for y in YEARS}, "magnet_kg_per_unit": {y: 9000.0 for y in YEARS}}}},
     "sectors.nev.units_per_yr.2024", "at most 1e+08 t a year"),
    ({"regions": {"us": {"price_elasticity": 1e300}}}, "regions.us.price_elasticity", "<= 10"),
    ({"firms": {"separation_plants": {"light_capacity_share": 0.0}}},
     "firms.separation_plants.light_capacity_share", "above 0 (or light_share = 0)"),
    ({"firms": {"separation_plants": {"light_capacity_share": 1.0}}},
     "firms.separation_plants.light_capacity_share", "below 1 (or light_share = 1)"),
    ({"end": "2200-12-31", "after_last_year": {"rule": "hold"}}, "end", "2060-12-31"),
    ({"behaviour": {"cover_bounds": [1.0, 0.5]}}, "behaviour.cover_bounds", "0 <= low <= 1 <= high <= 100"),
    ({"name": "../../escaped"}, "name", "without /"),
    ({"name": "a\x00b"}, "name", "printable"),
    ({"name": "x" * 101}, "name", "1 to 100"),
    # these three once passed: the field's own bound was lost under its type's (1e12), and a
    # retirement share of 1e12 a year retired more capacity than there was
    ({"firms": {"myanmar_holders": {"retirement_share_per_yr": 1e12}}},
     "firms.myanmar_holders.retirement_share_per_yr", ">= 0 and <= 1"),
    ({"firms": {"rock_miners": {"investment_share_per_yr": 5.0}}}, "firms.rock_miners.investment_share_per_yr",
     ">= 0 and <= 1"),
    ({"firms": {"traders": {"carrying_cost_pct_per_yr": 1000.0}}}, "firms.traders.carrying_cost_pct_per_yr",
     ">= 0 and <= 100"),
])
def test_figures_the_model_cannot_compute_with_are_refused(override, key, allowed):
    msg = refused(override)
    assert f"{key}:" in msg and allowed in msg, msg


def test_a_figure_carried_past_the_end_only_for_planning_is_held_at_the_bound():
    """Figures given up to the end just under the bound, grown by the rule into the year end
    users plan ahead into: the run is not refused (its own years are all within bounds); that
    planning year is held at the bound."""
    d = deep_merge(baseline_dict(), {"regions": {"eu": {"demand_t_per_yr": {y: 0.99e8 for y in YEARS}}},
                                     "after_last_year": {"rule": "grow", "growth_pct_per_yr": 4.0}})
    sc = scenario_from_dict(d)
    assert sc.regions["eu"].demand_t_per_yr["2027"] == schema.MAX_T_PER_YR



@pytest.mark.parametrize("change, key, allowed", [
    (lambda d: d["news"][0].update(name=""), "news[0].name", "at least one character"),
    (lambda d: d["news"][0].update(stages=[]), "news[0].stages", "at least 1 item"),
    (lambda d: d["disruptions"][0].update(regions=[]), "disruptions[0].regions", "at least 1 item"),
    (lambda d: d.update(facts_file=""), "facts_file", "given an empty string; allowed"),
    (lambda d: d["regions"]["eu"].update(materials_t_per_yr={"light_ore": {y: 5.0 for y in YEARS}}),
     "regions.eu.materials_t_per_yr.light_ore", "given 'light_ore'; allowed: prnd_oxide"),
    (lambda d: d["recycling"].update(collection=[{"year": 2024, "rate": 0.1}, {"year": 2024, "rate": 0.2}]),
     "recycling", "each once"),
    # two approval rates or quota revisions from one date: the later replaced the earlier
    (lambda d: d["export_controls"][0].update(approval=[{"start": "2025-04-04", "rate": 0.5},
                                                         {"start": "2025-04-04", "rate": 0.6}]),
     "export_controls[0]", "approval steps must be one per date (the later of a date replaces the earlier"),
    (lambda d: d.update(export_quotas=[{"name": "q", "products": ["magnet_std"], "year": 2025, "total_t": 100,
                                        "revisions": [{"date": "2025-05-01", "total_t": 10},
                                                      {"date": "2025-05-01", "total_t": 20}]}]),
     "export_quotas[0]", "revisions must be one per date"),
])
def test_items_that_would_be_silently_ignored_are_refused(change, key, allowed):
    """An unnamed item cannot be merged or removed by a what-if, news heard by nobody and a
    disruption of no region do nothing, an empty facts_file fell back to the package's facts,
    and a year given twice in the collection kept one of the two rates unannounced."""
    d = baseline_dict()
    change(d)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d)
    msg = "\n".join(str(e) for e in info.value.errors)
    assert f"{key}" in msg and allowed in msg, msg
    assert all(e.key.startswith(key) for e in info.value.errors), msg   # the key, not "(scenario)"


@pytest.mark.parametrize("override, key, allowed", [
    ({"firms": {"rock_miners": {"count": True}}}, "firms.rock_miners.count", "given true (bool); allowed: a whole number"),
    ({"firms": {"rock_miners": {"count": 6.0}}}, "firms.rock_miners.count", "allowed: a whole number"),
    # it said "given 2024-01-01 (a date) (date)"
    ({"firms": {"rock_miners": {"capacity_t_per_yr": __import__("datetime").date(2024, 1, 1)}}},
     "firms.rock_miners.capacity_t_per_yr", "given 2024-01-01 (a date); allowed: a number"),
    ({"firms": {"rock_miners": {"capacity_t_per_yr": "140000"}}}, "firms.rock_miners.capacity_t_per_yr",
     "given '140000' (str); allowed: a number"),
    ({"behaviour": {"restock_strength": False}}, "behaviour.restock_strength", "allowed: a number"),
    ({"holidays": 1}, "holidays", "allowed: true or false"),
    ({"holidays": "yes"}, "holidays", "allowed: true or false"),
])
def test_a_figure_of_the_wrong_type_is_refused_not_converted(override, key, allowed):
    """TOML says what a value is: ``count = true`` or ``total_t = "251000"`` is a slip the
    analyst should hear about, not a 1 or a number read out of a string."""
    msg = refused(override)
    assert f"{key}:" in msg and allowed in msg, msg


def test_a_python_caller_may_give_dates_as_iso_text():
    sc = scenario_from_dict(deep_merge(baseline_dict(), {"start": "2024-01-01"}))
    assert sc.start == sc.start.fromisoformat("2024-01-01") and type(sc.start).__name__ == "date"
    assert "an ISO date" in refused({"start": "1 January 2024"})


def test_a_python_caller_extending_a_file_gets_one_line_and_a_way_that_works():
    # a dict with extends was "extends: unknown key (did you mean 'end'?)" and six missing keys
    import rechain
    from rechain.config.loading import scenario_data
    with pytest.raises(ScenarioError) as info:
        rechain.run({"extends": str(BASELINE), "end": "2024-01-07"})
    assert len(info.value.errors) == 1 and info.value.key == "extends" and "scenario_data" in str(info.value)
    # the way it names: the changes merged as a what-if's, its period's leftovers left out
    data, files, dropped = scenario_data(BASELINE, {"end": "2024-01-31"})
    assert scenario_from_dict(data).end.isoformat() == "2024-01-31" and files == [BASELINE] and dropped


def test_quota_batches_fall_in_their_year_or_the_one_before():
    d = baseline_dict()
    q = d["quota_policy"]["quotas"][0]
    q["batches"] = [{"issued": q["batches"][0]["issued"].replace(year=q["year"] - 2), "share": 1.0}]
    with pytest.raises(ScenarioError, match=f"allowed: batch dates in the quota's year {q['year']} or the year before"):
        scenario_from_dict(d)
    q["batches"] = [{"issued": q["batches"][0]["issued"].replace(year=q["year"] - 1, month=12, day=20), "share": 1.0}]
    scenario_from_dict(d)


def test_a_chain_with_nothing_to_buy_its_magnets_is_refused():
    d = baseline_dict()
    d["sectors"], d["regions"] = {}, {}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d)
    assert "sectors: no end-use sector" in str(info.value) and "allowed: at least one sector" in str(info.value)


def test_the_bounds_leave_the_shipped_scenarios_and_the_calibration_space_valid():
    """Every shipped scenario still loads (the calibration space's ranges lie within the bounds:
    tests/test_calibrate.py samples it)."""
    for path in sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml")):
        load_scenario(path)


def test_plants_by_ore_keeps_one_of_each_type_that_has_a_share():
    plants = lambda n, share: SeparationPlants(count=n, capacity_t_per_yr=1.0, light_share=share)  # noqa: E731
    assert plants(36, 0.4).plants_by_ore() == (14, 22)
    assert plants(2, 0.01).plants_by_ore() == (1, 1)
    assert plants(2, 0.99).plants_by_ore() == (1, 1)
    assert plants(3, 0.0).plants_by_ore() == (0, 3)
    assert plants(3, 1.0).plants_by_ore() == (3, 0)


def test_check_finite_names_what_broke():
    check_finite(3, "2025-01-06", {"a price": np.array([1.0, 2.0])})
    with pytest.raises(NotFinite, match=r"week 3 \(2025-01-06\): a stock is no longer a finite number"):
        check_finite(3, "2025-01-06", {"a price": np.array([1.0]), "a stock": np.array([[0.0, np.nan]])})


@pytest.mark.parametrize("suffix", [".toml", ".TOML"])
def test_a_run_that_breaks_down_ends_in_one_line_and_writes_nothing(tmp_path, monkeypatch, suffix):
    """Whatever slips past the bounds: the weekly check stops the run at the first number that
    is not finite, the CLI says so in one line (exit status 3) naming the scenario file, and no
    output folder appears."""
    real = week.long_run_prices

    def overflowing(chain):
        value = real(chain)
        value.long_run[:] = np.inf
        return value

    monkeypatch.setattr(week, "long_run_prices", overflowing)
    out = tmp_path / "out"
    scenario = TINY if suffix == ".toml" else tmp_path / f"tiny{suffix}"
    if scenario != TINY:
        scenario.write_text(f'extends = {json.dumps(str(TINY))}\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), "--quiet", "--no-figures"])
    assert res.exit_code == 3, res.output
    last = res.output.strip().splitlines()[-1]
    assert last.startswith(f"error: {scenario}: the run broke down in week") and "nothing was written" in last, res.output
    assert "Traceback" not in res.output and "Warning" not in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1, res.output   # the overflow's warnings are not printed
    assert not out.exists()


def test_nesting_too_deep_for_the_reader_is_one_error(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text('name = "deep"\nx = ' + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ScenarioError, match="nested too deeply"):
        load_scenario(path)


def test_an_extends_name_too_long_for_the_file_system_is_one_error(tmp_path):
    path = tmp_path / "long.toml"
    path.write_text(f'extends = "{"a" * 300}.toml"\n')
    with pytest.raises(ScenarioError, match="cannot be opened") as info:
        load_scenario(path)
    assert info.value.key == "extends"


def test_a_chain_of_extends_longer_than_allowed_is_one_error(tmp_path):
    """Python's recursion gave out near 1,000 files: a traceback; now the first file and the limit."""
    from rechain.config.loading import MAX_EXTENDS_DEPTH
    (tmp_path / "s0.toml").write_text(f'extends = "{BASELINE.as_posix()}"\nend = 2024-03-31\n')
    for i in range(1, MAX_EXTENDS_DEPTH + 2):
        (tmp_path / f"s{i}.toml").write_text(f'extends = "s{i - 1}.toml"\n[behaviour]\nw_news = 1.{i}\n')
    with pytest.raises(ScenarioError, match=f"more than {MAX_EXTENDS_DEPTH} files") as info:
        load_scenario(tmp_path / f"s{MAX_EXTENDS_DEPTH + 1}.toml")
    assert info.value.key == "extends" and Path(info.value.file).name == f"s{MAX_EXTENDS_DEPTH + 1}.toml"
    load_scenario(tmp_path / f"s{MAX_EXTENDS_DEPTH - 2}.toml")      # 100 files with the baseline: loads


def test_a_named_pipe_is_refused_not_waited_on(tmp_path):
    """Opening a FIFO blocks until something writes to it: `check` hung."""
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="named pipe"):
        load_scenario(fifo)
    (tmp_path / "what_if.toml").write_text('extends = "pipe.toml"\n')
    with pytest.raises(ScenarioError, match="named pipe"):
        load_scenario(tmp_path / "what_if.toml")


def _schema_models():
    return [cls for _, cls in inspect.getmembers(schema, inspect.isclass)
            if issubclass(cls, BaseModel) and cls.__module__ == schema.__name__]


def test_every_field_keeps_the_narrowest_bound_it_declares():
    """Pydantic applies the last of several bounds a field carries (its type's, then its own
    ``Field``'s, or the reverse), not the narrowest: a field whose own ``le=1`` came before its
    type's 1e12 accepted 1e12. Every field's effective bound must be its narrowest."""
    loose = []
    for cls in _schema_models():
        for name, field in cls.model_fields.items():
            uppers = [m.le for m in field.metadata if isinstance(m, at.Le)] + \
                     [m.lt for m in field.metadata if isinstance(m, at.Lt)]
            lowers = [m.ge for m in field.metadata if isinstance(m, at.Ge)] + \
                     [m.gt for m in field.metadata if isinstance(m, at.Gt)]
            if uppers and uppers[-1] != min(uppers) or lowers and lowers[-1] != max(lowers):
                loose.append(f"{cls.__name__}.{name}: {field.metadata}")
    assert not loose, loose
    assert len(_schema_models()) > 10                   # the scan saw the schema
