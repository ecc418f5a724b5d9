"""Bad scenario files give one clear message, never a traceback; and ``extends`` merges.

The malformed files live in ``tests/malformed/``; most extend the baseline and add one bad
line. For each, the table below gives the :attr:`ScenarioError.kind` and substrings the
message must contain (the key path, what was given, what is allowed). The CLI must exit
with status 2, print the message, and write nothing.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rechain.cli import main
from rechain.scenario import (ERROR_KINDS, ScenarioError, _resolve, deep_merge, load_scenario,
                              scenario_from_dict)

HERE = Path(__file__).parent
MALFORMED = HERE / "malformed"
BASELINE = HERE.parent / "scenarios" / "baseline.toml"

# file, kind, substrings of the message (key path first), line of the bad key (None: not checked)
CASES = [
    ("unknown_key.toml", "unknown_key", ["behaviour.restock_strenght", "did you mean 'restock_strength'"], 4),
    ("unknown_top_key.toml", "unknown_key", ["spinup_weeks", "did you mean 'spin_up_weeks'"], 3),
    ("unknown_table.toml", "unknown_key", ["firms.magnet_maker", "did you mean 'magnet_makers'"], 3),
    ("wrong_type.toml", "type", ["firms.magnet_makers.count", "given 'many'", "a whole number"], 4),
    ("wrong_type_table.toml", "type", ["market.lead_times", "given 3", "a table"], 4),
    ("negative_value.toml", "out_of_range", ["firms.recyclers.capacity_t_per_yr", "given -5000", "> 0"], 4),
    # a whole number beyond a float's range is out of range, not "an int where a number is allowed"
    ("huge_whole_number.toml", "out_of_range", ["sectors.nev.units_per_yr.2024", "given 1000", "allowed: a number > 0",
                                                "<= 1e+12"], 4),
    ("infinite_value.toml", "out_of_range", ["firms.recyclers.capacity_t_per_yr", "given inf", "a finite number"], 4),
    ("share_above_one.toml", "out_of_range", ["firms.magnet_makers.oxide_feed_share", "given 1.5", "<= 1"], 4),
    ("bad_date.toml", "date", ["end", "2026-02-30", "ISO date"], 3),
    ("datetime_start.toml", "date", ["start", "given 2024-01-01T00:00:00 (a date and time)", "ISO date"], 3),
    ("bad_date_text.toml", "date", ["disruptions[", "].start", "'next spring'", "ISO date"], 6),
    # Python 3.11 reads week dates and 20250301 too; the format is year-month-day
    ("date_week.toml", "date", ["disruptions[", "].start", "'2025-W10-1'", "year-month-day"], 6),
    ("end_before_start.toml", "date_order", ["end", "2023-06-30", "after the start"], 3),
    ("disruption_end_before_start.toml", "date_order", ["].end", '"Mine collapse"', "before start"], 7),
    # one mistake, one error: the period starts before the figures, not 27 tables each lacking years
    ("era_before_figures.toml", "invalid", ["start", "given start 2019-01-01", "before the first year (2024) of 27",
                                            "lack 2019, 2020", "units_per_yr and magnet_kg_per_unit of sectors nev, wind",
                                            "materials_t_per_yr.prnd_metal of regions japan_korea",
                                            "[after_last_year] carries figures forward only"], 3),
    ("batches_out_of_order.toml", "date_order", ["quota_policy.quotas[", "mining_rock-2025",
                                                 "given batches issued 2025-09-30, 2025-06-30", "date order"], None),
    # the later step of a date replaced the earlier, which passed check and acted on nothing
    ("approval_same_date.toml", "invalid", ["export_controls[0]", "approval steps must be one per date",
                                            "2025-04-04 more than once"], 3),
    ("product_twice.toml", "invalid", ["export_controls[", "].products", '"Dy again"', "given 'dy_oxide' more than once",
                                       "each of the products once"], 5),
    ("quota_shares_above_one.toml", "invalid", ["quota_policy.quotas[", "sum 1.2", "at most 1"], None),
    ("news_outside_period.toml", "outside_period", ["news[", "].date", "2027-01-05", "2024-01-01..2026-12-31"], 5),
    ("control_outside_period.toml", "outside_period", ["export_controls[", "].start", "2027-05-01"], 6),
    ("disruption_outside_period.toml", "outside_period", ["disruptions[", '"2022 floods"', "2022-06-01"], 6),
    ("unknown_product.toml", "not_allowed", ["export_controls[", "].products[0]", "'magnet_xx'",
                                             "did you mean 'magnet_uh'", "'prnd_oxide'"], 5),
    ("unknown_stage.toml", "not_allowed", ["disruptions[", "].target", "'myanmar_holder'",
                                           "did you mean 'myanmar_holders'"], 5),
    ("unknown_region.toml", "unknown_region", ["news[", "].regions", "'europe'", "'eu'"], 8),
    ("reserved_region.toml", "invalid", ["regions.china", "given the region name 'china'", "reserves",
                                         "allowed: any other name"], 3),
    ("unknown_price_product.toml", "not_allowed", ["market.initial_price.prnd_oxid",
                                                   "did you mean 'prnd_oxide'"], 4),
    ("seasonality_zeros.toml", "out_of_range", ["sectors.nev.seasonality[0..11]", "given 0", "allowed: a number > 0"], 4),
    ("seasonality_11.toml", "length", ["sectors.nev.seasonality", "given 11 values", "12 monthly factors"], 4),
    ("missing_key.toml", "missing_key", ["news[", "].strength", '"Rumour"', "required key is missing"], None),
    ("bad_sign.toml", "not_allowed", ["news[", "].sign", "given unknown value 2", "-1 or 1"], 6),
    # true == 1 to Python: it passed as a rise
    ("cover_weeks_seller.toml", "not_allowed", ["behaviour.cover_weeks.miners", "'miners'",
                                                "'separation_plants', 'recyclers'"], 4),
    ("sign_true.toml", "invalid", ["news[", "].sign", "given true", "1 or -1, written as whole numbers"], 6),
    ("empty_approval.toml", "length", ["export_controls[", "].approval", "at least 1"], 5),
    ("processing_days.toml", "invalid", ["processing_working_days", "min 50", "min <= mode <= max"], 5),
    ("shock_end_before_start.toml", "date_order", ["sectors.nev.shocks[", "].end", "before start"], 6),
    ("remove_unknown.toml", "unknown_item", ["news.remove", "'Export controls on seven rare earths'",
                                             "did you mean 'Export controls on seven medium-heavy rare earths'"], 3),
    ("duplicate_names.toml", "duplicate_name", ["news", "'Rumour'", "each name once"], None),
    ("extends_missing.toml", "extends_missing", ["extends", "no_such_baseline.toml", "does not exist"], 2),
    ("extends_not_text.toml", "type", ["extends", "given 2024", "file name in quotes"], 2),
    ("circular_a.toml", "extends_cycle", ["extends", "circular_a.toml -> circular_b.toml -> circular_a.toml"], 2),
    ("not_toml.txt", "not_toml", ["not valid TOML", "line 1"], 1),
    # one line, not one per sweep key and per missing scenario key
    ("sweep_file.toml", "invalid", ["(scenario): is a sweep file", "run a sweep with rechain sweep"], None),
    ("empty_file.toml", "empty", ["(scenario)", "no keys", "extends = \"baseline.toml\""], None),
    # a misspelt sector or region reads as a new entry: one error that names the nearest, not three missing keys
    ("misspelt_sector.toml", "unknown_name", ["sectors.nevs", "did you mean 'nev'?", "lacks firms"], 3),
    ("misspelt_region.toml", "unknown_name", ["regions.europe", "did you mean 'eu'?", "lacks calendar"], 3),
    ("new_sector_incomplete.toml", "unknown_name", ["sectors.drones_delivery", "a new entry, lacking firms"], 3),
    # a misspelt required key of a list item: said once, with the item's own keys as allowed
    ("shock_key_typo.toml", "unknown_key", ["sectors.wind.shocks[0].multipler", "did you mean 'multiplier'",
                                            "allowed here: end, foreseen, multiplier, name"], 7),
]
IDS = [c[0].rsplit(".", 1)[0] for c in CASES]


@pytest.mark.parametrize("name", ["era_before_figures.toml", "seasonality_zeros.toml"])
def test_one_slip_is_one_error(name):
    """A start before the figures, not 27 tables each lacking years; twelve factors of 0, not
    twelve errors."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(MALFORMED / name)
    assert info.value.count == 1 and len(info.value.errors) == 1, str(info.value)


def test_the_table_is_long_enough_and_covers_every_file():
    assert len(CASES) >= 15
    listed = {c[0] for c in CASES}
    on_disk = {p.name for p in MALFORMED.iterdir() if p.is_file()}
    assert on_disk - listed <= {"circular_b.toml"}, f"malformed files not in the table: {on_disk - listed}"
    assert listed <= on_disk
    assert {c[1] for c in CASES} <= set(ERROR_KINDS)


@pytest.mark.parametrize("name, kind, parts, line", CASES, ids=IDS)
def test_malformed_file_gives_one_clear_error(name, kind, parts, line):
    path = MALFORMED / name
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    msg = str(err)
    assert err.kind == kind, msg
    for p in parts:
        assert p in msg, f"{p!r} not in {msg!r}"
    if kind == "extends_cycle":
        assert Path(err.file).name.startswith("circular_")
    else:
        assert Path(err.file).name == name
    assert Path(err.file).name in msg.split(":")[0]     # the message starts with the file
    if line is not None:
        assert err.line == line, msg
        assert f"line {line}" in msg
    assert "\n" not in msg and "Traceback" not in msg


@pytest.mark.parametrize("name, kind, parts, line", CASES, ids=IDS)
def test_cli_exits_2_and_writes_nothing(name, kind, parts, line, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the default output folder would be tmp_path/outputs
    runner = CliRunner()
    for args in (["run", str(MALFORMED / name), "--out", str(tmp_path / "out")],
                 ["run", str(MALFORMED / name)],
                 ["check", str(MALFORMED / name)]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
        assert parts[0] in res.output and "Traceback" not in res.output
        assert res.output.count("error:") == 1
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize("name", ["unknown_key.toml", "news_outside_period.toml", "not_toml.txt",
                                  "circular_a.toml"])
def test_cli_in_a_real_process(name, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "rechain.cli", "run", str(MALFORMED / name), "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not out.exists() and not (tmp_path / "outputs").exists()


def test_missing_scenario_file_and_directory(tmp_path, monkeypatch):
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.toml")
    assert info.value.kind == "missing" and "nope.toml" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert info.value.kind == "not_a_file" and "directory" in str(info.value)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for target in (tmp_path / "nope.toml", tmp_path):
        res = runner.invoke(main, ["run", str(target), "--out", str(tmp_path / "out")])
        assert res.exit_code == 2 and "Traceback" not in res.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "outputs").exists()


def test_error_in_an_inherited_file_names_that_file(tmp_path):
    (tmp_path / "mid.toml").write_text(f'extends = "{BASELINE.as_posix()}"\nname = "mid"\n[[news]]\nname = "Bad"\n'
                                       'date = 2025-01-01\nsign = 1\nstrength = -0.1\n')
    (tmp_path / "child.toml").write_text('extends = "mid.toml"\n[behaviour]\nw_news = 2\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "child.toml")
    err = info.value
    assert err.kind == "out_of_range" and Path(err.file).name == "mid.toml" and err.line == 7
    assert "extended by" in str(err) and "child.toml" in str(err) and "].strength" in str(err)


def test_a_what_if_that_moves_the_start_past_the_inherited_end_is_blamed_itself(tmp_path):
    """The what-if's own start is at fault, not the end line of the file it extends."""
    (tmp_path / "late.toml").write_text(f'extends = "{BASELINE.as_posix()}"\nname = "late"\nstart = 2027-01-01\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "late.toml")
    err = info.value
    assert err.kind == "date_order" and Path(err.file).name == "late.toml" and err.line == 3 and err.key == "start"
    assert "after the end 2026-12-31 it inherits from" in str(err) and "baseline.toml" in str(err)


def test_cross_check_errors_point_at_the_right_item_in_the_inherited_file(tmp_path):
    """A check across keys that fails on an inherited item (here a region nobody defines)
    names the file that set the item and its line, not the what-if. (Inherited items that
    fall outside a shortened period are left out, not errors: see
    tests/test_trade.py::test_a_what_if_can_shorten_or_move_the_inherited_period.)"""
    (tmp_path / "mid.toml").write_text(f'extends = "{BASELINE.as_posix()}"\nname = "mid"\n[[news]]\n'
                                       'name = "Rumour"\ndate = 2024-05-01\nsign = 1\nstrength = 0.05\n'
                                       'regions = ["europe"]\n')
    (tmp_path / "short.toml").write_text('extends = "mid.toml"\nend = 2024-06-30\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "short.toml")
    err = info.value
    assert err.kind == "unknown_region"
    assert Path(err.file).name == "mid.toml" and err.line is not None
    assert 3 <= err.line <= 8 and "extended by" in str(err) and "short.toml" in str(err)


# ---------------------------------------------------------------------------------------
# extends and merge rules
# ---------------------------------------------------------------------------------------
def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_chain_of_three_files_resolves(tmp_path):
    _write(tmp_path / "a.toml", f'extends = "{BASELINE.as_posix()}"\nname = "a"\n[behaviour]\nw_news = 2.0\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    _write(sub / "b.toml", 'extends = "../a.toml"\n[behaviour]\nw_social = 0.1\n')
    _write(sub / "c.toml", 'extends = "b.toml"\nname = "c"\n[behaviour]\nw_news = 3.0\n')
    sc = load_scenario(sub / "c.toml")
    assert sc.name == "c"
    assert sc.behaviour.w_news == 3.0          # c overrides a
    assert sc.behaviour.w_social == 0.1        # from b
    base = load_scenario(BASELINE)
    assert sc.behaviour.restock_strength == base.behaviour.restock_strength   # from the baseline
    assert [Path(f).name for f in sc._files] == ["baseline.toml", "a.toml", "b.toml", "c.toml"]
    # a file without its own name takes its stem, not its parent's name
    assert load_scenario(sub / "b.toml").name == "b"



@pytest.mark.parametrize("file_name", [".hidden.toml", "x:y.toml"])
def test_a_file_whose_stem_cannot_be_a_name_is_told_to_set_one(tmp_path, file_name):
    """The name then comes from the stem: the message names this file and says to set
    ``name``, not the parent's ``name`` line."""
    p = _write(tmp_path / file_name, f'extends = "{BASELINE.as_posix()}"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    e = info.value
    assert Path(e.file).name == file_name and e.key == "name" and len(e.errors) == 1
    assert "cannot serve as one; allowed: a name = " in str(e) and "baseline.toml" not in str(e)


def test_tables_merge_key_by_key(tmp_path):
    p = _write(tmp_path / "w.toml", f'extends = "{BASELINE.as_posix()}"\n[firms.magnet_makers]\ncount = 40\n'
                                    '[sectors.nev]\nunits_per_yr = { 2026 = 25.0e6 }\n')
    sc, base = load_scenario(p), load_scenario(BASELINE)
    assert sc.firms.magnet_makers.count == 40
    assert sc.firms.magnet_makers.capacity_t_per_yr == base.firms.magnet_makers.capacity_t_per_yr
    assert sc.sectors["nev"].units_per_yr["2026"] == 25.0e6
    assert sc.sectors["nev"].units_per_yr["2025"] == base.sectors["nev"].units_per_yr["2025"]
    assert sc.sectors["nev"].seasonality == base.sectors["nev"].seasonality
    assert sc.sectors["wind"] == base.sectors["wind"]


def test_named_items_merge_append_and_remove(tmp_path):
    base = load_scenario(BASELINE)
    first = base.export_controls[0].name
    news0 = base.news[0].name
    p = _write(tmp_path / "w.toml", f'''extends = "{BASELINE.as_posix()}"
[[export_controls]]
name = "{first}"
approval = [{{ start = 2025-04-04, rate = 0.1 }}]
[[export_controls]]
name = "new regime"
products = ["dy_oxide"]
start = 2025-06-01
approval = [{{ start = 2025-06-01, rate = 0.5 }}]
[[news]]
name = "{news0}"
remove = true
''')
    sc = load_scenario(p)
    by_name = {c.name: c for c in sc.export_controls}
    assert len(sc.export_controls) == len(base.export_controls) + 1
    merged = by_name[first]
    assert [a.rate for a in merged.approval] == [0.1]                  # a plain list replaces
    assert merged.products == base.export_controls[0].products         # other keys inherited
    assert merged.processing_working_days == base.export_controls[0].processing_working_days
    assert by_name["new regime"].products == ["dy_oxide"]
    assert [c.name for c in sc.export_controls][-1] == "new regime"    # appended at the end
    assert news0 not in [n.name for n in sc.news] and len(sc.news) == len(base.news) - 1


@pytest.mark.parametrize("items, says, others", [
    # 'yes' was kept as an item's key and reported as "remove: unknown key"
    ('[{{ name = "{n}", remove = "yes" }}]', f"news.remove: given remove = 'yes' for '{{n}}'; allowed: true", []),
    # a nameless item: "remove = true for None", or, beside a named one, "no inherited item has that name"
    ('[{{ remove = true }}]', "news.remove: given remove = true in an item without a name; allowed: name =", []),
    ('[{{ name = "{n}", remove = true }}, {{ remove = true }}]', "given remove = true in an item without a name",
     []),
    # beside an item without a name the list replaces the inherited one: not "no inherited item has that name";
    # the unnamed item's own slip (news items need a name) is told after it
    ('[{{ name = "{n}", remove = true }}, {{ date = 2025-03-03, sign = 1, strength = 0.1 }}]',
     "given remove = true for '{n}' beside an item without a name: a list with an unnamed item replaces the "
     "inherited list whole, so nothing is left to remove; allowed: a name for every item (to add to and remove "
     "from the inherited '{n}', ", ["news[0].name"]),
])
def test_a_removal_that_cannot_be_read_says_why(items, says, others, tmp_path):
    n = load_scenario(BASELINE).news[0].name
    p = _write(tmp_path / "w.toml", f'extends = "{BASELINE.as_posix()}"\nnews = {items.format(n=n)}\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    errors = info.value.errors
    assert says.format(n=n) in str(errors[0]), str(info.value)
    assert [e.key for e in errors[1:]] == others, str(info.value)


def test_a_mistake_in_merging_is_told_with_the_files_other_mistakes(tmp_path):
    """A removal of nothing and a name given twice were raised alone, hiding the file's other
    slips until they were fixed one by one; now every one is told, in file order."""
    n = load_scenario(BASELINE).news[0].name
    p = _write(tmp_path / "w.toml", f'''extends = "{BASELINE.as_posix()}"
end = "2025-xx-01"
[[disruptions]]
name = "no such disruption"
remove = true
[[news]]
name = "{n}"
strength = 0.2
[[news]]
name = "{n}"
strength = 0.3
[firms.magnet_makers]
count = "many"
''')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    e = info.value
    keys = [x.key for x in e.errors]
    assert keys == ["end", "disruptions.remove", "news.name", "firms.magnet_makers.count"], str(e)
    # a name given twice is told at its second item, the one to mend (round 20: it was the first)
    assert [x.line for x in e.errors] == [2, 4, 10, 13], str(e)
    assert {x.kind for x in e.errors} == {"date", "unknown_item", "duplicate_name", "type"}
    # the CLI prints them all and exits 2
    r = CliRunner().invoke(main, ["check", str(p)])
    assert r.exit_code == 2 and "4 errors" in r.output and "Traceback" not in r.output, r.output


def test_a_merge_mistake_alone_is_still_one_error(tmp_path):
    p = _write(tmp_path / "w.toml", f'extends = "{BASELINE.as_posix()}"\n'
                                    'disruptions = [{ name = "no such disruption", remove = true }]\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert len(info.value.errors) == 1 and info.value.kind == "unknown_item" and info.value.line == 2


def test_a_quota_year_given_as_text_is_told_with_its_line(tmp_path):
    p = _write(tmp_path / "w.toml", f'''extends = "{BASELINE.as_posix()}"

[[quota_policy.quotas]]
type = "mining_rock"
year = "2025"
total_t = 1000
''')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    e = info.value
    assert ".year" in e.key and e.line == 5 and "given '2025' (str)" in str(e), str(e)


def test_quotas_merge_by_type_and_year(tmp_path):
    base = load_scenario(BASELINE)
    p = _write(tmp_path / "w.toml", f'''extends = "{BASELINE.as_posix()}"
[quota_policy]
quotas = [{{ type = "mining_rock", year = 2026, total_t = 123456 }},
          {{ type = "mining_rock", year = 2027, total_t = 1, batches = [{{ issued = 2026-12-01, share = 1.0 }}] }}]
''')
    sc = load_scenario(p)
    q = {(x.type, x.year): x for x in sc.quota_policy.quotas}
    qb = {(x.type, x.year): x for x in base.quota_policy.quotas}
    assert len(q) == len(qb) + 1
    assert q[("mining_rock", 2026)].total_t == 123456
    assert q[("mining_rock", 2026)].batches == qb[("mining_rock", 2026)].batches
    assert q[("separation", 2026)] == qb[("separation", 2026)]


def test_deep_merge_rules_directly():
    base = {"a": {"x": 1, "y": 2}, "items": [{"name": "p", "v": 1}, {"name": "q", "v": 2}], "l": [1, 2, 3]}
    over = {"a": {"y": 20}, "items": [{"name": "q", "v": 5}, {"name": "r", "v": 9}, {"name": "p", "remove": True}],
            "l": [7]}
    out = deep_merge(base, over)
    assert out["a"] == {"x": 1, "y": 20}
    assert out["items"] == [{"name": "q", "v": 5}, {"name": "r", "v": 9}]
    assert out["l"] == [7]
    assert base["items"][0] == {"name": "p", "v": 1}    # inputs untouched


def test_resolve_then_scenario_from_dict_round_trip():
    data, files = _resolve(BASELINE)
    assert [f.name for f in files] == ["baseline.toml"]
    sc = scenario_from_dict(data, BASELINE)
    assert sc.name == "baseline"
    data["behaviour"]["w_newz"] = 1.0
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, BASELINE)
    assert info.value.kind == "unknown_key" and "w_news" in str(info.value)


# ---------------------------------------------------------------------------------------
# every mistake of a file at once
# ---------------------------------------------------------------------------------------
MANY_MISTAKES = f'''extends = "{BASELINE.as_posix()}"
spinup_weeks = 4

[behaviour]
restock_strenght = 2
w_social = 1.5
noise = -0.1

[firms.magnet_makers]
count = "many"
scrap_share = 1.5

[firms.recyclers]
capacity_t_per_yr = -5000

[market]
lead_times = 3

[market.initial_price]
prnd_oxid = 450000

[[news]]
name = "Rumour"
date = 2025-03-01
sign = 2
strength = -0.05

[[disruptions]]
name = "Border closed"
target = "myanmar_holder"
start = 2025-05-01
end = 2025-07-31
capacity_offline_share = 1.5

[sectors.nev]
seasonality = [1, 1, 1]
uh_share = 2
'''
# (key, line) of every mistake above, in file order
MISTAKES = [("spinup_weeks", 2), ("behaviour.restock_strenght", 5), ("behaviour.w_social", 6),
            ("behaviour.noise", 7), ("firms.magnet_makers.count", 10), ("firms.magnet_makers.scrap_share", 11),
            ("firms.recyclers.capacity_t_per_yr", 14), ("market.lead_times", 17),
            ("market.initial_price.prnd_oxid", 20), ("].sign", 25), ("].strength", 26), ("].target", 30),
            ("].capacity_offline_share", 33), ("sectors.nev.seasonality", 36), ("sectors.nev.uh_share", 37)]


def test_every_mistake_of_a_file_is_reported_at_once(tmp_path):
    path = _write(tmp_path / "many.toml", MANY_MISTAKES)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert len(err.errors) == len(MISTAKES), str(err)
    for one, (key, line) in zip(err.errors, MISTAKES):
        assert key in one.key and one.line == line, str(one)
        assert Path(one.file).name == "many.toml" and f"many.toml, line {line}: " in str(one)
        assert "given" in one.detail or "did you mean" in one.detail, str(one)
        assert "allowed" in one.detail.lower(), str(one)
    assert str(err).splitlines() == [str(e) for e in err.errors]
    # the error itself is the first one, as a single error would be
    assert (err.file, err.key, err.line, err.kind) == (err.errors[0].file, err.errors[0].key, 2, "unknown_key")

    res = CliRunner().invoke(main, ["check", str(path)])
    assert res.exit_code == 2
    lines = res.output.splitlines()
    assert len(lines) == len(MISTAKES) + 1 and all(s.startswith("error: ") for s in lines[:-1])
    assert lines[-1] == f"{len(MISTAKES)} errors"


def _same_error(a: ScenarioError, b: ScenarioError) -> None:
    assert type(b) is type(a) and str(b) == str(a)
    assert (b.file, b.key, b.line, b.kind, b.detail, b.via, b.count) == (a.file, a.key, a.line, a.kind, a.detail,
                                                                          a.via, a.count)
    assert [str(e) for e in b.errors] == [str(e) for e in a.errors]


def test_scenario_errors_survive_pickling(tmp_path):
    """An error raised in a worker process reaches the parent pickled: it must come back as
    itself (a ScenarioError whose __init__ takes more than its message did not)."""
    from rechain.config.errors import OptionError
    from rechain.config.loading import _MergeError
    from rechain.outputs import OutputError
    with pytest.raises(ScenarioError) as many:
        load_scenario(_write(tmp_path / "many.toml", MANY_MISTAKES))
    with pytest.raises(ScenarioError) as one:
        load_scenario(MALFORMED / "unknown_key.toml")
    errors = [many.value, one.value, OptionError("--workers", 0, "must be 1 or more"),
              OutputError(tmp_path / "out", "is a file"), _MergeError(("a", "b"), "x.toml", "invalid", "bad")]
    for err in errors:
        back = pickle.loads(pickle.dumps(err))
        _same_error(err, back)
        # a single error lists itself
        assert len(back.errors) > 1 or back.errors[0] is back
    assert len(pickle.loads(pickle.dumps(many.value)).errors) == len(MISTAKES)


def _load_in_worker(path: str) -> None:
    load_scenario(path)


def test_a_bad_file_read_in_a_worker_process_gives_its_message_in_the_parent():
    import concurrent.futures as cf
    import multiprocessing as mp
    with pytest.raises(ScenarioError) as here:
        load_scenario(MALFORMED / "unknown_key.toml")
    with cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        with pytest.raises(ScenarioError) as there:
            pool.submit(_load_in_worker, str(MALFORMED / "unknown_key.toml")).result(timeout=120)
    _same_error(here.value, there.value)


def test_every_inconsistency_is_reported_at_once(tmp_path):
    """The checks across keys (period, regions, names) also report all they find."""
    path = _write(tmp_path / "w.toml", f'''extends = "{BASELINE.as_posix()}"
[[news]]
name = "Too late"
date = 2027-05-01
sign = 1
strength = 0.1
[[news]]
name = "Nowhere"
date = 2025-05-01
sign = 1
strength = 0.1
regions = ["atlantis"]
[[disruptions]]
name = "Long ago"
target = "miners"
start = 2020-01-01
end = 2020-02-01
capacity_offline_share = 0.5
''')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    kinds = sorted(e.kind for e in info.value.errors)
    assert kinds == ["outside_period", "outside_period", "unknown_region"], str(info.value)


def test_a_single_mistake_is_one_line_and_its_own_errors_list():
    with pytest.raises(ScenarioError) as info:
        load_scenario(MALFORMED / "unknown_key.toml")
    assert info.value.errors == [info.value] and "\n" not in str(info.value)


def test_a_byte_order_mark_is_accepted(tmp_path):
    """Editors on Windows may start a UTF-8 file with a BOM; it is not a TOML error."""
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + f'extends = "{BASELINE.as_posix()}"\n[behaviour]\nw_news = 2.0\n'.encode())
    assert load_scenario(path).behaviour.w_news == 2.0
    res = CliRunner().invoke(main, ["check", str(path)])
    assert res.exit_code == 0, res.output


def test_text_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(f'extends = "{BASELINE.as_posix()}"\n# Caf\xe9 prices\n'.encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.line == 2 and "not UTF-8" in str(info.value)


def test_a_nul_character_in_a_path_is_one_message(tmp_path):
    """A NUL in ``extends`` or in the path itself cannot name a file; say so, no ValueError."""
    child = tmp_path / "child.toml"
    child.write_text(f'extends = "{BASELINE.as_posix()}\\u0000x"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="extends: given .*NUL character; allowed: a file name") as err:
        load_scenario(child)
    assert err.value.kind == "type"
    with pytest.raises(ScenarioError, match="NUL character") as err:
        load_scenario(str(child) + "\x00")
    assert err.value.kind == "not_a_file"


def test_a_symbolic_link_loop_is_one_message_not_a_traceback(tmp_path, monkeypatch):
    """A scenario, an --also era or a facts_file that is a symbolic link loop: Path.resolve()
    raised a bare RuntimeError. Now the reading says what it is, in one line with exit 2 (and
    the dashboard's picker, which skips files that raise ScenarioError, leaves it out)."""
    (tmp_path / "a.toml").symlink_to("b.toml")
    (tmp_path / "b.toml").symlink_to("a.toml")
    with pytest.raises(ScenarioError, match="a.toml: is a symbolic link loop .*allowed: a scenario file") as err:
        load_scenario(tmp_path / "a.toml")
    assert err.value.kind == "not_a_file"
    (tmp_path / "facts.toml").write_text(f'extends = "{BASELINE.as_posix()}"\nfacts_file = "a.toml"\n')
    monkeypatch.chdir(tmp_path)
    for args in (["check", "a.toml"], ["run", "a.toml"], ["validate", "a.toml"], ["compare", str(BASELINE), "a.toml"],
                 ["calibrate", str(BASELINE), "--also", "a.toml"], ["dashboard", "a.toml", "--port", "1"],
                 ["check", "facts.toml"], ["validate", "facts.toml"]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2 and res.output.count("\n") == 1, (args, res.output)
        assert "a.toml: is a symbolic link loop (it leads back to itself, never to a file); allowed: a " in res.output
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize("recipe, says", [
    ("prnd_wt_pct = 60\ndy_wt_pct = 35\ntb_wt_pct = 8\n", "= 60 + 35 + 8 = 103;"),
    ("prnd_wt_pct = { 2024 = 30, 2026 = 60 }\ndy_wt_pct = { 2025 = 35 }\ntb_wt_pct = 8\n", "= 60 + 35 + 8 = 103 in 2026;"),
    ("prnd_wt_pct = 60\ndy_wt_pct = 32\ntb_wt_pct = 8\n", None),
    ("prnd_wt_pct = { 2024 = 30, 2026 = 60 }\ndy_wt_pct = { 2024 = 40, 2026 = 10 }\n", None),
], ids=["numbers", "by-year", "exactly-100", "by-year-within"])
def test_a_recipe_heavier_than_its_blank_is_refused(recipe, says, tmp_path):
    """Pr-Nd, Dy and Tb are wt % of the sintered blank, which is mostly iron and boron: a
    sum above 100 was accepted silently. One line names the recipe, the three keys, their
    sum (in the year a table reaches it) and the bound; 100 itself passes."""
    f = tmp_path / "recipe.toml"
    f.write_text(f'extends = "{BASELINE.as_posix()}"\n[magnet_recipes.magnet_uh]\n{recipe}', encoding="utf-8")
    if says is None:
        load_scenario(f)
        return
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert err.value.line == 2 and len(err.value.errors) == 1
    assert str(err.value) == (f"{f}, line 2: magnet_recipes.magnet_uh: given prnd_wt_pct + dy_wt_pct + tb_wt_pct "
                              f"{says} allowed: a sum of at most 100 (wt % of the whole blank, which is mostly "
                              f"iron and boron)")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2 and res.output == f"error: {err.value}\n"


def test_a_file_larger_than_any_scenario_is_refused_unread(tmp_path, monkeypatch):
    """A device such as /dev/zero never ends: reading stops at the limit with one message."""
    import rechain.config.loading as loading
    monkeypatch.setattr(loading, "MAX_INPUT_BYTES", 1000)
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="larger than 0 MB") as err:
        load_scenario(big)
    assert err.value.kind == "not_a_file"


def test_a_growth_rate_that_carries_a_quota_out_of_bounds_is_blamed_not_the_quota(tmp_path):
    """The carried figure is the rate's doing: the message names after_last_year, its line
    and the quota it carried too far, not a key the file never wrote."""
    f = tmp_path / "long.toml"
    f.write_text(f'extends = "{BASELINE.as_posix()}"\nend = 2040-12-31\n[after_last_year]\nrule = "grow"\n'
                 'growth_pct_per_yr = 50\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert err.value.kind == "out_of_range" and "line 5" in msg
    assert "after_last_year.growth_pct_per_yr: given 50, which carries the" in msg and "allowed: a lower rate" in msg


def test_extends_written_under_a_table_is_named_as_misplaced(tmp_path):
    """TOML puts a key after [behaviour] into that table: the file was read as a whole scenario
    and told of an unknown behaviour.extends and six missing keys, none naming the slip."""
    f = tmp_path / "late.toml"
    f.write_text(f'[behaviour]\nw_news = 2.0\nextends = "{BASELINE.as_posix()}"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert len(err.value.errors) == 1 and err.value.line == 3
    assert "behaviour.extends: given under [behaviour]" in str(err.value)
    assert 'allowed: extends = "..." at the top of the file, before any [table] header' in str(err.value)


@pytest.mark.parametrize("text, key", [("[news.foo]\nx = 1\n", "news"), ("[zz.a.b]\nx = 1\n", "zz")])
def test_a_table_header_inside_a_key_is_pointed_at(tmp_path, text, key):
    """[news.foo] (news is a list) and an unknown [zz.a.b] were told without a line."""
    f = tmp_path / "t.toml"
    f.write_text(f'extends = "{BASELINE.as_posix()}"\n' + text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert err.value.key == key and err.value.line == 2, str(err.value)


def test_a_name_ending_in_a_space_is_told_the_rule_it_breaks(tmp_path):
    f = tmp_path / "n.toml"
    f.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "abc "\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="nor ending with a space"):
        load_scenario(f)


def test_a_file_of_thousands_of_mistakes_lists_a_hundred_and_counts_the_rest(tmp_path):
    """A script gone wrong writes 1,500 news items dated after the run: the first hundred are
    told with their lines, one more line says how many are not, and the count is of them all
    (it took minutes: every mistake re-read and re-parsed every file of the chain)."""
    from rechain.config.loading import MAX_ERRORS_LISTED

    f = tmp_path / "many.toml"
    f.write_text(f'extends = "{BASELINE.as_posix()}"\n' + "".join(
        f'[[news]]\nname = "n{i}"\ndate = 2030-01-01\nsign = 1\nstrength = 0.1\n' for i in range(1500)),
        encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    told = err.value.errors
    assert len(told) == MAX_ERRORS_LISTED + 1 and err.value.count == 1500
    assert all(e.line and "allowed: a date within the simulated period" in str(e) for e in told[:-1])
    assert str(told[-1]).endswith("1,400 more mistakes are not listed; fix the ones above (often one slip, "
                                  "repeated) and check again")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2 and res.output.strip().endswith("1,500 errors")


def test_a_growth_rate_that_carries_demand_out_of_bounds_is_one_error_on_the_rate(tmp_path):
    """Sector demand carried at 50 %/yr to 2060 passes the bound on magnet use: one error on
    the rate's line, not one per carried year blamed on the extended file's sector lines."""
    f = tmp_path / "long.toml"
    f.write_text(f'extends = "{BASELINE.as_posix()}"\nend = 2060-12-31\n[after_last_year]\n'
                 'growth_pct_per_yr = 50\nquota_growth_pct_per_yr = 0\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert len(err.value.errors) == 1, err.value.errors
    msg = str(err.value)
    assert err.value.kind == "out_of_range" and "long.toml, line 4" in msg and "baseline.toml" not in msg
    assert "after_last_year.growth_pct_per_yr: given 50, which carries sectors." in msg
    assert "allowed: a lower rate" in msg


@pytest.mark.parametrize("table, name, says", [
    ("regions", "", "cannot name a column value"), ("regions", "*", "cannot name a column value"),
    ("regions", "eu ", "cannot name a column value"), ("regions", "CHINA", "which rechain reserves"),
    ("sectors", "all", "which rechain reserves (every sector)"), ("sectors", "dy_oxide", "reserves (a product)"),
    ("sectors", "a+b", "cannot name a column value"),
])
def test_a_sector_or_region_name_must_serve_as_a_column_value(tmp_path, table, name, says):
    """Names end up in the outputs' columns and in facts selections (* any, a+b several)."""
    entry = ('calendar = "other"\nbuyers = 2\nuh_share = 0.3\ndemand_t_per_yr = { 2024 = 100, 2025 = 100, 2026 = 100 }\n'
             if table == "regions" else
             'firms = 2\nuh_share = 0.3\nunits_per_yr = { 2024 = 100, 2025 = 100, 2026 = 100 }\n'
             'magnet_kg_per_unit = { 2024 = 1, 2025 = 1, 2026 = 1 }\n')
    f = tmp_path / "names.toml"
    f.write_text(f'extends = "{BASELINE.as_posix()}"\n[{table}."{name}"]\n{entry}', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    assert err.value.kind == "invalid" and f"given the {table[:-1]} name {name!r}" in str(err.value)
    assert says in str(err.value)


def _documented_examples() -> list[str]:
    """The error lines docs/scenarios.md shows a user, in its text block of examples."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text(encoding="utf-8")
    block = text.split("Examples:\n\n```text\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("error: tests/malformed/")]


@pytest.mark.parametrize("line", _documented_examples(), ids=lambda s: s.split(",")[0][len("error: tests/malformed/"):])
def test_the_documented_error_examples_are_what_check_prints(line, monkeypatch):
    """A user compares the message on the screen with the page: the page shows the tool's own
    words (up to its '...')."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    path = line[len("error: "):].split(",")[0]
    if "circular extends: " in line:     # the message names the file closing the cycle; the chain starts at the one checked
        path = "tests/malformed/" + line.split("circular extends: ")[1].split(" ")[0]
    res = CliRunner().invoke(main, ["check", path])
    assert res.exit_code == 2
    assert res.output.startswith(line.removesuffix("...").rstrip()), res.output


@pytest.mark.parametrize("parent, says", [
    ("a,b\n1,2\n", "parent.toml, line 1 (extended by child.toml): not valid TOML"),
    (b"name = \"x\xff\"\n", "parent.toml, line 1 (extended by child.toml): given byte 0xff, which is not UTF-8"),
    ("", "parent.toml (extended by child.toml): (scenario): the file has no keys"),
])
def test_a_parent_that_cannot_be_read_names_the_file_that_extends_it(tmp_path, parent, says):
    """A file reached through extends that was not TOML, not UTF-8 or empty was named alone,
    as if the user had given it: the message now says which file extends it."""
    p = tmp_path / "parent.toml"
    p.write_bytes(parent if isinstance(parent, bytes) else parent.encode())
    (tmp_path / "child.toml").write_text('extends = "parent.toml"\nname = "child"\n')
    res = CliRunner().invoke(main, ["check", str(tmp_path / "child.toml")])
    says = says.replace("parent.toml", str(tmp_path / "parent.toml")).replace("child.toml", str(tmp_path / "child.toml"))
    assert res.exit_code == 2 and says in res.output and res.output.count("\n") == 1, res.output


@pytest.mark.parametrize("body, key, says", [
    ('[[news]]\nname = "\\u001b[31mred"\ndate = 2024-03-01\nsign = 1\nstrength = 0.1\n', "news[",
     "given '\\x1b[31mred', which holds '\\x1b'; allowed: printable characters"),
    ('[[disruptions]]\nname = "two\\nlines"\ntarget = "myanmar_holders"\nstart = 2024-05-01\nend = 2024-06-01\n'
     'capacity_offline_share = 0.5\n', "disruptions[", "which holds '\\n'"),
    ('export_quotas = [{ name = "q+1", products = ["magnet_std"], year = 2024, total_t = 45000 }]\n',
     "export_quotas[0].name", "allowed: a name without + or * (it is the product of the quota's rows in monthly.csv"),
])
def test_item_names_that_would_break_messages_or_outputs_are_refused(tmp_path, body, key, says):
    """An export quota's name with a comma, a line break, + and * passed and became a
    ``product`` value no facts table could select; news with a terminal colour code printed
    it (an outside fuzzing round)."""
    p = _write(tmp_path / "w.toml", f'extends = "{BASELINE.as_posix()}"\n{body}')
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    e = info.value
    assert len(e.errors) == 1 and key in e.key and says in str(e), str(e)
    assert str(e).count("\n") == 0 and "\x1b" not in str(e)       # one line, the name shown as written


def test_shipped_item_names_pass():
    for f in sorted((BASELINE.parent).glob("*.toml")):
        load_scenario(f)
