"""`rechain check` warns of figures far from the ones they replace (unit slips), and says
nothing of ordinary changes or of the shipped scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rechain.cli import main
from rechain.config.plausibility import FAR, far_from_inherited, markup_absorbs_cost, named_items_replaced

ROOT = Path(__file__).resolve().parents[1]
PARENT = """\
name = "parent"
[market.initial_price]
prnd_oxide = 437000
dy_oxide = 2500
[sectors.nev]
units_per_yr = { 2024 = 12.0e6, 2025 = 14.0e6 }
[[quota_policy.quotas]]
type = "mining_rock"
year = 2024
total_t = 250000
"""


def _pair(tmp_path: Path, child: str) -> Path:
    (tmp_path / "parent.toml").write_text(PARENT, encoding="utf-8")
    f = tmp_path / "child.toml"
    f.write_text('extends = "parent.toml"\n' + child, encoding="utf-8")
    return f


@pytest.mark.parametrize("child, key, says", [
    # Dy oxide quoted in yuan/t where the market quotes yuan/kg: x720
    ("[market.initial_price]\ndy_oxide = 1800000\n", "market.initial_price.dy_oxide (line 3)",
     "given 1.8e+06, 720 times the one it replaces (2,500)"),
    # Pr-Nd oxide in yuan/kg where it is quoted in yuan/t
    ("[market.initial_price]\nprnd_oxide = 437\n", "market.initial_price.prnd_oxide", "1/1,000 of the one it replaces (437,000)"),
    # units in millions: the same year against its own figure, another year against the table's mean (13 M)
    ("[sectors.nev]\nunits_per_yr = { 2024 = 12.0 }\n", "sectors.nev.units_per_yr.2024", "1/1,000,000 of the one it replaces (1.2e+07)"),
    ("[sectors.nev]\nunits_per_yr = { 2019 = 1.3 }\n", "sectors.nev.units_per_yr.2019", "of the mean of its years 2024-2025 (1.3e+07)"),
    # figures at the ends of the float range: the ratio under- or overflows
    ("[sectors.nev]\nunits_per_yr = { 2025 = 5e-324 }\n", "sectors.nev.units_per_yr.2025", "a vanishing fraction of the one it replaces"),
    ("[market.initial_price]\ndy_oxide = 1e308\n", "market.initial_price.dy_oxide", "times the one it replaces"),
    # a quota in kt, for another year: against the quota of the same type
    ('[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2020\ntotal_t = 140\n',
     "quota_policy.quotas[mining_rock-2020].total_t", "1/1,786 of the mean of the mining_rock items it stands beside (250,000)"),
])
def test_a_unit_slip_is_named_with_its_key_and_the_figure_it_replaces(tmp_path, child, key, says):
    lines = far_from_inherited(_pair(tmp_path, child))
    assert len(lines) == 1, lines
    assert lines[0].startswith(key) and says in lines[0] and "parent.toml" in lines[0]


@pytest.mark.parametrize("child", [
    "[market.initial_price]\ndy_oxide = 1700\nprnd_oxide = 751000\n",       # the record's own swings
    "[sectors.nev]\nunits_per_yr = { 2019 = 1.24e6, 2020 = 1.37e6 }\n",   # an era: NEVs a tenth of 2024's
    '[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2020\ntotal_t = 120850\n',
    'name = "x"\n',                                                           # no figure at all
])
def test_ordinary_changes_and_eras_give_no_warning(tmp_path, child):
    assert far_from_inherited(_pair(tmp_path, child)) == []


def test_the_threshold_is_a_factor_either_way(tmp_path):
    below = _pair(tmp_path, f"[market.initial_price]\ndy_oxide = {2500 * FAR * 0.99}\n")
    assert far_from_inherited(below) == []
    above = _pair(tmp_path, f"[market.initial_price]\ndy_oxide = {2500 * FAR * 1.01}\n")
    assert len(far_from_inherited(above)) == 1


def test_check_prints_it_as_a_warning_and_exits_0(tmp_path):
    f = tmp_path / "dy.toml"
    f.write_text(f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\nname = "dy"\n'
                 '[market.initial_price]\ndy_oxide = 2500000\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "market.initial_price.dy_oxide" in res.output and "1,000 times" in res.output


def test_a_removed_item_replaces_nothing_and_its_other_keys_are_said_to_act_on_nothing(tmp_path):
    """`remove = true` deletes the inherited item: a figure beside it is no unit slip (it
    replaces nothing), but a key that does nothing, which check says."""
    news = ('[[news]]\nname = "Rumour"\ndate = 2024-03-01\nsign = 1\nstrength = 0.08\n'
            'half_life_weeks = 8\n')
    (tmp_path / "parent.toml").write_text(
        f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\nname = "parent"\n{news}', encoding="utf-8")
    f = tmp_path / "child.toml"
    f.write_text('extends = "parent.toml"\nname = "child"\n[[news]]\nname = "Rumour"\nremove = true\n'
                 'strength = 5\n', encoding="utf-8")
    assert far_from_inherited(f) == []
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 0, res.output
    assert "news[Rumour].strength: the item is removed (remove = true); it acts on nothing" in res.output
    assert "times the one it replaces" not in res.output


@pytest.mark.parametrize("scenario", sorted(p.name for p in (ROOT / "scenarios").glob("*.toml")))
def test_the_shipped_scenarios_raise_no_such_warning(scenario):
    assert far_from_inherited(ROOT / "scenarios" / scenario) == []


SHOCKED = PARENT + """[[sectors.nev.shocks]]
name = "lockdown"
start = 2024-04-01
end = 2024-05-31
multiplier = 0.7
"""


def test_a_list_item_without_a_name_is_said_to_drop_the_named_items_it_inherits(tmp_path):
    """An outside analyst's unnamed shock dropped the era's two named Covid shocks without a word."""
    (tmp_path / "parent.toml").write_text(SHOCKED, encoding="utf-8")
    f = tmp_path / "child.toml"
    f.write_text('extends = "parent.toml"\n[[sectors.nev.shocks]]\nstart = 2025-02-01\nend = 2025-02-28\n'
                 'multiplier = 0.3\n', encoding="utf-8")
    lines = named_items_replaced(f)
    assert len(lines) == 1 and lines[0].startswith("sectors.nev.shocks (line 2): an item without a name replaces "
                                                   "the 1 named item(s) inherited from") and "'lockdown'" in lines[0]
    real = tmp_path / "real.toml"      # check needs a whole scenario: the baseline has a named NEV shock
    real.write_text(f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\nname = "real"\n'
                    '[[sectors.nev.shocks]]\nstart = 2025-02-01\nend = 2025-02-28\nmultiplier = 0.3\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(real)])
    assert res.exit_code == 0 and "warning:" in res.output and "which are dropped" in res.output, res.output
    f.write_text(f.read_text().replace("[[sectors.nev.shocks]]\n", '[[sectors.nev.shocks]]\nname = "strike"\n'),
                 encoding="utf-8")
    assert named_items_replaced(f) == []          # named: added to the inherited one


@pytest.mark.parametrize("scenario", sorted(p.name for p in (ROOT / "scenarios").glob("*.toml")))
def test_no_shipped_scenario_drops_named_items_it_inherits(scenario):
    assert named_items_replaced(ROOT / "scenarios" / scenario) == []


MAKERS = PARENT + """[firms.magnet_makers]
cost_yuan_per_t = 60000
[firms.separation_plants]
metal_cost_yuan_per_t = 15000
"""


@pytest.mark.parametrize("child, says", [
    ("[firms.magnet_makers]\ncost_yuan_per_t = 120000\n",
     "parent.toml has 60,000, while the start prices of what it makes (market.initial_price.magnet_std, "
     "market.initial_price.magnet_uh) are inherited"),
    ("[firms.separation_plants]\nmetal_cost_yuan_per_t = 10000\n", "(about -5,000 yuan/t)"),
])
def test_a_cost_the_start_markup_absorbs_is_named_with_the_start_prices_to_change(tmp_path, child, says):
    """A what-if that changes the makers' processing cost and keeps their start prices moves
    their margin, not their price (found by an outside what-if audit): check says how to pass
    the cost on."""
    (tmp_path / "parent.toml").write_text(MAKERS, encoding="utf-8")
    f = tmp_path / "child.toml"
    f.write_text('extends = "parent.toml"\n' + child, encoding="utf-8")
    lines = markup_absorbs_cost(f)
    assert len(lines) == 1 and says in lines[0] and lines[0].startswith(child.split("]")[0][1:] + "."), lines
    # with the start prices changed too, or the cost as inherited, nothing to say
    f.write_text('extends = "parent.toml"\n' + child + "[market.initial_price]\nmagnet_uh = 400\nprnd_metal = 5e5\n",
                 encoding="utf-8")
    assert markup_absorbs_cost(f) == []


@pytest.mark.parametrize("scenario", sorted(p.name for p in (ROOT / "scenarios").glob("*.toml")))
def test_no_shipped_scenario_changes_a_cost_its_start_markup_absorbs(scenario):
    assert markup_absorbs_cost(ROOT / "scenarios" / scenario) == []


def test_a_cost_left_at_its_default_by_the_parent_is_compared_with_the_default(tmp_path):
    """The baseline never sets the plants' metal_cost_yuan_per_t (the schema's 15,000 holds), so
    a what-if raising it got no warning where the makers' cost did (an outside lever audit)."""
    f = tmp_path / "w.toml"
    f.write_text(f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\n'
                 "[firms.separation_plants]\nmetal_cost_yuan_per_t = 30000\n", encoding="utf-8")
    lines = markup_absorbs_cost(f)
    assert len(lines) == 1 and "keeps the default 15,000" in lines[0] and "prnd_metal" in lines[0], lines
