"""Malformed-input round 13 (December 2026), on the inputs less travelled: calibration spaces,
facts tables, sweep points and outputs, the Python API. Each case as the outsider met it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import rechain
from rechain.cli import main
from rechain.scenario import ScenarioError

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"
HEADER = ("fact_id,required,description,variable,stage,product,region,period,measure,base_period,comparison,target,"
          "tolerance,unit,other_variable,other_stage,other_product,other_region,seed_fact,source,note\n")


def _held_to(tmp_path: Path, rows: str) -> Path:
    (tmp_path / "facts.csv").write_text(HEADER + rows, encoding="utf-8")
    f = tmp_path / "held.toml"
    f.write_text(f'extends = "{TINY.as_posix()}"\nname = "held"\nfacts_file = "facts.csv"\n', encoding="utf-8")
    return f


def test_calibrate_checks_its_facts_as_check_and_validate_do(tmp_path):
    """A Dy target of 1 yuan/kg (for 2,500): refused by check and validate, but calibrate scored
    it, and the one typo ranked the candidates."""
    held = _held_to(tmp_path, "B2,true,small,price,market,dy_oxide,*,2024-03,level,,within,1,1,yuan/kg,,,,,,,\n")
    out = tmp_path / "cal"
    res = CliRunner().invoke(main, ["calibrate", str(held), "--samples", "2", "--replicates", "1", "--finalists", "1",
                                    "--final-replicates", "1", "--workers", "1", "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "line 2 (B2): target: given 1, 1/2,500 times the scenario's start price" in res.output
    assert not out.exists()


def test_a_price_target_at_or_below_zero_is_refused(tmp_path):
    held = _held_to(tmp_path, "N1,true,neg,price,market,prnd_oxide,*,2024-03,level,,within,-380000,1000,yuan/t,,,,,,,\n")
    res = CliRunner().invoke(main, ["check", str(held)])
    assert res.exit_code == 2 and "target: given -380,000; allowed: a price above 0, in yuan/t" in res.output, \
        res.output


def test_every_price_slip_of_a_facts_table_is_told_at_once(tmp_path):
    """Three slips were told in three rounds."""
    held = _held_to(tmp_path, "B1,true,big,price,market,prnd_oxide,*,2024-03,level,,within,1e9,1,yuan/t,,,,,,,\n"
                              "B2,true,small,price,market,dy_oxide,*,2024-03,level,,within,1,1,yuan/kg,,,,,,,\n")
    res = CliRunner().invoke(main, ["check", str(held)])
    assert res.exit_code == 2 and "(B1)" in res.output and "(B2)" in res.output and "2 errors" in res.output, \
        res.output


def _sweep(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "s.toml"
    f.write_text(f'base = "{TINY.as_posix()}"\n{body}', encoding="utf-8")
    return f


@pytest.mark.parametrize("body, said", [
    ('design = "table"\npoints = [{ "behaviour.restock_strength" = 0.6 }]\n[overrides.behaviour]\nrestock_strength = 2.4\n',
     "behaviour.restock_strength is swept and also set in [overrides]"),
    ('design = "table"\npoints = [{ rs = 0.6, "behaviour.restock_strength" = 2.4 }]\n[parameters.rs]\n'
     'path = "behaviour.restock_strength"\nlevels = [0.6]\n', "is swept twice (as 'rs' too)"),
    ('design = "table"\npoints = [{ "behaviour.restock_strength" = 0.6, behaviour = { restock_strength = 2.4 } }]\n',
     "path behaviour.restock_strength is swept twice (parameter 'behaviour' reaches it as behaviour)"),
])
def test_a_key_a_table_sets_twice_is_refused(tmp_path, body, said):
    """The override was dropped, or the runs table recorded a value the run did not use."""
    from rechain.experiments.sweep import load_sweep
    with pytest.raises(ScenarioError) as e:
        load_sweep(_sweep(tmp_path, body))
    assert said in str(e.value) and len(e.value.errors) == 1, str(e.value)


def test_sweep_file_mistakes_are_capped_at_a_hundred(tmp_path):
    from rechain.experiments.sweep import load_sweep
    params = "".join(f'"behaviour.nope{i}" = {{ levels = [1.0, 2.0] }}\n' for i in range(150))
    with pytest.raises(ScenarioError) as e:
        load_sweep(_sweep(tmp_path, "[parameters]\n" + params))
    assert len(e.value.errors) == 101 and "50 more mistakes are not listed" in str(e.value.errors[-1])


def test_points_and_kpis_messages_say_what_is_allowed(tmp_path):
    from rechain.experiments.sweep import load_sweep
    with pytest.raises(ScenarioError, match=r"the inline points holds no points; allowed: at least one point"):
        load_sweep(_sweep(tmp_path, 'design = "table"\npoints = []\n'))
    with pytest.raises(ScenarioError, match=r"points\[0\]: lacks 'behaviour.wait_strength'; allowed: every point sets every column"):
        load_sweep(_sweep(tmp_path, 'design = "table"\npoints = [{ "behaviour.w_news" = 1.0 }, '
                                    '{ "behaviour.wait_strength" = 1.0 }]\n'))
    with pytest.raises(ScenarioError, match=r"outputs.kpis: given 'price_mean_prnd_oxide' twice; allowed: each KPI"):
        load_sweep(_sweep(tmp_path, '[parameters]\n"behaviour.w_news" = { levels = [1.0, 2.0] }\n[outputs]\n'
                                    'kpis = ["price_mean_prnd_oxide", "price_mean_prnd_oxide"]\n'))


def test_every_range_of_a_calibration_space_is_checked_at_once(tmp_path):
    from rechain.experiments.calibrate import load_space
    f = tmp_path / "space.toml"
    f.write_text('[parameters]\n"behaviour.w_trend" = { min = 0.5, max = 0.1 }\n"behaviour.w_anchor" = { min = 1, '
                 'max = 1 }\n"behaviour.wait_strength" = { min = "a", max = 2 }\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        load_space(f)
    assert [x.line for x in e.value.errors] == [2, 3, 4]


def test_a_long_list_of_allowed_names_is_not_cut_as_a_value():
    """`allowed: aircon, all, ..., ion'... (281 characters)+')`: the closing quote of 'zzz' and the
    opening one of '+' were read as one long value."""
    from rechain.cli import _cut_long_values
    line = "error: s.toml: unknown product 'zzz'; allowed: " + ", ".join(["aircon"] * 60) + \
        " (several of one form joined by '+')"
    assert _cut_long_values(line) == line
    assert "... (300 characters)" in _cut_long_values("given '" + "a" * 300 + "'; allowed")


def test_the_python_api_names_a_wrong_argument():
    from rechain.sweep import ScenarioFunction
    with pytest.raises(TypeError, match="ScenarioFunction's path: given NoneType None; allowed: a file's path"):
        ScenarioFunction(None)
    for bad in (5, []):
        with pytest.raises(ScenarioError, match=r"outcomes: given .*; allowed: a KPI's name or a non-empty list"):
            ScenarioFunction(TINY, outcomes=bad)
    res = rechain.run(TINY, seed=0)
    assert res.series("price", product="prnd_oxide", stage=None).equals(res.series("price", product="prnd_oxide"))
    with pytest.raises(TypeError, match=r"product given \['prnd_oxide'\] \(list\); allowed: a name"):
        res.series("price", product=["prnd_oxide"])
