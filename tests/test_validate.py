"""The facts table, the fact evaluator (on hand-made tables), the validate command, and
the baseline held to the record (the required facts of issue 4)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import rechain
from rechain.cli import main
from rechain.report import COLUMNS
from rechain.scenario import _resolve
from rechain.validate import (FLOW_VARIABLES, LEVEL_VARIABLES, PANELS, VARIABLES, Fact, FactError,
                              Validation, default_vocabulary, evaluate_fact, facts_in_run, format_table, judge, load_facts,
                              monthly_series, parse_period, summarise, vocabulary_of, write_outputs)
from rechain.experiments.validate import (check_selections, empty_selection, evaluate, price_paths,
                                          required_met_by_run, resampled_required, satisfies)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
REQUIRED = {f"F{i:02d}" for i in range(1, 32)} | {f"F{i}" for i in range(37, 53)} | {"F59", "F65"}   # with every price fact (issue 9)


# --------------------------------------------------------------------------- helpers
# the monthly table's units where not tonnes (a level in tonnes adds up over rows; a price does not)
UNITS = {"price": "yuan/kg", "price_long_run": "yuan/kg", "market_cover_weeks": "weeks", "stock_cover_days": "days",
         "sentiment": "index", "uncertainty": "index", "offer_share": "share"}


def table(rows: dict[tuple[str, str, str, str], dict[str, float]]) -> pd.DataFrame:
    """A monthly table from {(variable, stage, product, region): {month: value}}."""
    out = []
    for (var, stage, product, region), series in rows.items():
        for month, value in series.items():
            out.append(dict(month=month, stage=stage, product=product, region=region, variable=var,
                            value=float(value), unit=UNITS.get(var, "t")))
    return pd.DataFrame(out, columns=COLUMNS)


def months(start: str, n: int) -> list[str]:
    return [str(p) for p in pd.period_range(start, periods=n, freq="M")]


@pytest.fixture(scope="module")
def short_run() -> pd.DataFrame:
    """Monthly table of the baseline cut to Jan-Mar 2024 (4 spin-up weeks)."""
    data, _ = _resolve(BASELINE)
    end = dt.date(2024, 3, 31)
    data = _inside(dict(data, name="baseline-short", end=end, spin_up_weeks=4), data["start"], end)
    return rechain.run(data, seed=0).monthly


def _inside(node, start: dt.date, end: dt.date):
    """Drop named dated items (news, controls, disruptions, shocks ...) outside start..end."""
    if isinstance(node, dict):
        return {k: _inside(v, start, end) for k, v in node.items()}
    if isinstance(node, list):
        def keep(item) -> bool:
            if not (isinstance(item, dict) and "name" in item):
                return True
            first = item.get("date", item.get("start"))
            last = item.get("date", item.get("end"))
            return not ((isinstance(first, dt.date) and first > end) or (isinstance(last, dt.date) and last < start))
        return [_inside(i, start, end) for i in node if keep(i)]
    return node


# --------------------------------------------------------------------------- the facts table
def test_facts_load_with_unique_ids_and_the_required_set_of_issue_4():
    facts = load_facts()
    ids = [f.fact_id for f in facts]
    assert len(ids) == len(set(ids)) >= 60
    assert {f.fact_id for f in facts if f.required} == REQUIRED
    assert all(f.required for f in facts if f.variable == "price"), "every price fact is required (issue 9)"
    assert all(f.source for f in facts)
    # direction-only facts are in (sign checks)
    assert sum(f.comparison.startswith("direction") for f in facts) >= 10


def test_variable_list_is_the_monthly_tables(short_run):
    # export quota rows come with export quotas, which the baseline has none of
    # (tests/test_outside_round6.py runs one)
    assert set(VARIABLES) - {"export_quota_used", "export_quota_issued"} == set(short_run["variable"].unique())
    assert not set(FLOW_VARIABLES) & set(LEVEL_VARIABLES)


def test_every_fact_names_what_the_model_outputs(short_run):
    vocab = vocabulary_of(short_run)
    facts = load_facts(vocabulary=vocab)        # raises FactError naming the fact otherwise
    for f in facts:
        for other in (False, True) if f.uses_other else (False,):
            s = monthly_series(short_run, *f.selection(other))
            assert len(s) == 3 and s.notna().all(), f"{f.fact_id}: selection {f.selection(other)} is empty"


def test_facts_sharing_a_selection_look_it_up_once(short_run, monkeypatch):
    """3,000 facts took 88 s to validate, 58 s of it looking the same few selections up in the
    runs' table again for every fact (an outside analyst's table; now 18 s)."""
    import rechain.experiments.validate as mod
    calls = []
    real = mod._select
    monkeypatch.setattr(mod, "_select", lambda *a: calls.append(a[1:]) or real(*a))
    facts = [Fact(f"P{i}", "price", "2024-02", product="prnd_oxide", region="china", target=4e5 + i, tolerance=1,
                  unit="yuan/t") for i in range(50)]
    check_selections(facts, short_run)
    assert len(calls) <= 2, calls          # the rows, and their units: not once per fact
    bad = [*facts, Fact("Q", "price", "2024-02", product="prnd_oxide", region="mars", target=1, tolerance=1)]
    with pytest.raises(FactError, match="region 'mars'"):
        check_selections(bad, short_run)


def test_default_vocabulary_accepts_everything_the_model_outputs(short_run):
    default = default_vocabulary().names
    for var, names in vocabulary_of(short_run).names.items():
        for key, got in names.items():
            assert all(n in default[var][key] for n in got), (var, key, got)


def test_default_vocabulary_reads_a_working_baseline_that_extends_another_file(tmp_path, monkeypatch):
    """A project whose scenarios/baseline.toml only extends another file (a calibrated set
    pasted over the shipped one, say) named no sector at all: every fact of the package's
    table on a sector was refused ("product 'nev' does not occur with variable 'use'")."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "shipped.toml").write_text(BASELINE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "scenarios" / "baseline.toml").write_text('extends = "shipped.toml"\nname = "mine"\n',
                                                         encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    names = default_vocabulary().names
    assert {"nev", "wind", "other"} <= names["use"]["product"] and "eu" in names["exports"]["region"]
    assert len(load_facts(None)) > 0


def _write(tmp_path, rows: list[str]) -> Path:
    head = ("fact_id,required,description,variable,stage,product,region,period,measure,base_period,comparison,"
            "target,tolerance,unit,other_variable,other_stage,other_product,other_region,seed_fact,source,note")
    p = tmp_path / "facts.csv"
    p.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return p


GOOD = "X1,true,d,production,magnet_makers,magnet_std+magnet_uh,*,2025-10,mom_pct,,within,-5,3,%,,,,,S001,000,"
OWN_RATIO = "X1,true,d,price,market,prnd_oxide,*,2025-10,ratio,,within,1,0.5,x,,,,,S001,000,"


@pytest.mark.parametrize("row, message", [
    (GOOD.replace("production", "output"), "variable 'output' is not in the monthly table"),
    (GOOD.replace("magnet_makers", "magnet_maker"), "stage 'magnet_maker' does not occur"),
    (GOOD.replace("magnet_std+magnet_uh", "magnet_std+magnet_xx"), "product 'magnet_xx' does not occur"),
    # a stray '+' measured magnet_std alone, half of what was meant
    (GOOD.replace("magnet_std+magnet_uh", "magnet_std+"), "product 'magnet_std+' has an empty name beside a '+'"),
    (GOOD.replace("magnet_std+magnet_uh", "magnet_std++magnet_uh"), "has an empty name beside a '+'"),
    # the same in the other series of a ratio (compared with the main one before the names are checked)
    ("X1,true,d,price,market,prnd_oxide,*,2025-10,ratio,,within,1,0.5,x,price,market,dy_oxide+,*,S001,000,",
     "product 'dy_oxide+' has an empty name beside a '+'"),
    (GOOD.replace("mom_pct", "mom"), "measure 'mom'"),
    (GOOD.replace("within", "close_to"), "comparison 'close_to'"),
    (GOOD.replace(",-5,3,", ",,3,"), "(X1): target: given no number for comparison 'within'; allowed: a finite number"),
    (GOOD.replace(",-5,3,", ",-5,-3,"), "(X1): tolerance: given -3; allowed: a finite number >= 0"),
    (GOOD.replace(",-5,3,", ",-5,nan,"), "(X1): tolerance: given nan; allowed: a finite number >= 0"),
    (GOOD.replace(",-5,3,", ",-5,inf,"), "(X1): tolerance: given inf; allowed: a finite number >= 0"),
    (GOOD.replace(",-5,3,", ",-5,1e999,"), "(X1): tolerance: given 1e999; allowed: a finite number >= 0"),
    (GOOD.replace(",-5,3,", ",nan,3,"), "(X1): target: given nan; allowed: a finite number, or empty where"),
    (GOOD.replace(",-5,3,", ",-inf,3,"), "(X1): target: given -inf; allowed: a finite number, or empty where"),
    (GOOD.replace(",-5,3,", ",abc,3,"), "(X1): target: given abc; allowed: a finite number"),
    (GOOD.replace("within,-5", "direction_up,inf"), "(X1): target: given inf; allowed: a finite number"),
    (GOOD.replace("2025-10", "2025-13"), "period '2025-13'"),
    (GOOD.replace("mom_pct,,within,-5", "level,,direction_up,"), "needs a change measure"),
    (GOOD.replace("mom_pct,,", "change_pct,,"), "needs a base_period"),
    (GOOD.replace("true", "maybe"), "required: given 'maybe'; allowed: true or false"),
    (GOOD.replace("within", "less_than_other"), "(X1): other_variable, other_stage, other_product, other_region: "
     "given all empty; allowed: another series than the main selection for comparison 'less_than_other' to "
     "compare with (an empty other_* column takes the main one's value)"),
    (GOOD.replace("mom_pct,,within", "level,,greater_than_other").replace(",,,,,S001", ",production,,,,S001"),
     "given the main selection again (production, magnet_makers, magnet_std+magnet_uh, *); allowed: another series"),
    # a ratio of a selection to itself is always 1: reproduced whatever the run
    (OWN_RATIO, "(X1): other_variable, other_stage, other_product, other_region: given all empty; allowed: "
     "another series than the main selection for measure 'ratio' to divide by"),
    (OWN_RATIO.replace(",,,,,S001", ",,market,prnd_oxide,*,S001"), "given the main selection again"),
    (OWN_RATIO.replace(",,,,,S001", ",,,prnd_oxide+prnd_metal,,S001"), None),
    # a change against a base that does not end before the period starts
    (GOOD.replace("mom_pct,,", "change_pct,2025-10,"), "(X1): base_period: given 2025-10; allowed: a period "
     "ending by 2025-09, before period 2025-10"),
    (GOOD.replace("mom_pct,,", "mom_pct,2025-11,"), "base_period: given 2025-11; allowed: a period ending by 2025-09"),
    (GOOD.replace("2025-10,mom_pct,,", "2025-10/2025-12,change,2025-09/2025-10,"),
     "base_period: given 2025-09/2025-10; allowed: a period ending by 2025-09, before period 2025-10/2025-12"),
    (GOOD.replace("2025-10,mom_pct,,", "2025-10/2025-12,change_pct,2025-07/2025-09,"), None),
    ("X1,false,d,sentiment,motor_makers,all,all,2025-11,mom_pct,,direction_up,,0,,,,,,,000,",
     "use measure 'change'"),

    # found by an outside analyst's tables: a year pandas cannot hold; cells the fact does not read
    (GOOD.replace("2025-10", "0000-01"), "period '0000-01': allowed YYYY-MM, YYYY or a range such as "
     "2025-01/2025-04, years from 0001"),
    (GOOD.replace("mom_pct,,within,-5", "mom_pct,,direction_up,10"), "(X1): target: given 10, which comparison "
     "'direction_up' does not read (it judges the sign, with tolerance as the margin); allowed: an empty target, "
     "or comparison at_least"),
    (GOOD.replace("mom_pct,,within,-5", "level,2025-09,within,-5"), "(X1): base_period: given 2025-09, which "
     "measure 'level' does not read"),
    (GOOD.replace(",,,,,S001", ",production,,,,S001"), "(X1): other_variable 'production': not read by measure "
     "'mom_pct' with comparison 'within'"),
    # a unit that contradicts the measure: a level typed into a % change, a series' unit on a ratio
    (GOOD.replace(",%,", ",yuan/t,"), "(X1): unit: given 'yuan/t', but measure 'mom_pct' gives a % change"),
    (GOOD.replace(",%,", ",pp,"), None),
    (GOOD.replace(",%,", ",% vs Q1 mean,"), None),
    (OWN_RATIO.replace(",x,", ",yuan/t,").replace(",,,,,S001", ",,,dy_oxide,,S001"),
     "(X1): unit: given 'yuan/t', but measure 'ratio' divides one series by another"),
    # ... and a unit the package fixes: prices in their quoted unit, flows of products in tonnes
    (GOOD.replace("mom_pct,,within,-5,3,%", "level,,within,20000,3000,kt"),
     "(X1): unit: given 'kt', but production of magnet_std+magnet_uh is in t; allowed: t (convert the figures)"),
    ("X1,true,d,price,market,prnd_oxide,*,2025-10,level,,within,440,40,yuan/kg,,,,,S001,000,",
     "(X1): unit: given 'yuan/kg', but price of prnd_oxide is in yuan/t; allowed: yuan/t"),
    ("X1,true,d,price,market,dy_oxide,*,2025-10,level,,within,1700,170,yuan/kg,,,,,S001,000,", None),
    (GOOD.replace("2025-10", "2025-10/2025-09"), "ends before it starts; allowed: a range from its first month"),
    # found by an outside analyst's tables: a month-on-month change on a year (the year's mean
    # against the twelve months one month earlier: never what "+7 % MoM" means)
    (GOOD.replace("2025-10", "2025"), "(X1): measure 'mom_pct' on period '2025' (12 months); allowed: a month "
     "such as 2025-08, or yoy_pct for a year against the year before, or change_pct with a base_period"),
    (GOOD.replace("2025-10,mom_pct", "2025-07/2025-09,mom_pct"), "measure 'mom_pct' on period '2025-07/2025-09'"),
    (GOOD.replace("2025-10,mom_pct", "2025,qoq_pct"), "measure 'qoq_pct' on period '2025' (12 months)"),
    (GOOD.replace("2025-10,mom_pct", "2025-07/2025-09,qoq_pct"), None),
    (GOOD.replace("2025-10,mom_pct,,", "2025-07/2025-09,mom_pct,2025-04/2025-06,"), None),
    # ... a sum naming a product twice (a slip for +magnet_uh: it summed magnet_std once)
    (GOOD.replace("magnet_std+magnet_uh", "magnet_std+magnet_std"),
     "product 'magnet_std+magnet_std' names magnet_std more than once; allowed: names joined by '+', each once"),
    # ... figures with look-alike characters, named; invisible and control characters refused
    (GOOD.replace(",-5,3,", ",\u221251,3,"), "(X1): target: given \u221251 (it holds U+2212 MINUS SIGN: type '-' "
     "there); allowed: a finite number"),
    (GOOD.replace(",-5,3,", ",-5,1\u00a0000,"), "(X1): tolerance: given 1\u00a0000 (it holds U+00A0 NO-BREAK SPACE: "
     "type nothing there)"),
    (GOOD.replace("X1,", "X1\u200b,", 1), "fact_id: given 'X1\\u200b', which holds U+200B (ZERO WIDTH SPACE); "
     "allowed: visible text"),
    (GOOD.replace(",d,", ",te\x00st,"), "description: given 'te\\x00st', which holds U+0000 (a control character)"),
    (GOOD.replace(",d,", ',"two\nlines\tand a tab",'), None),
])
def test_bad_rows_raise_a_clear_error(tmp_path, row, message):
    if message is None:                         # the good neighbour of a bad row loads
        assert [f.fact_id for f in load_facts(_write(tmp_path, [row]))] == ["X1"]
        return
    with pytest.raises(FactError, match="line 2") as err:
        load_facts(_write(tmp_path, [row]))
    assert message in str(err.value)


def test_an_empty_fact_id_says_what_is_allowed(tmp_path):
    with pytest.raises(FactError, match="line 2") as err:
        load_facts(_write(tmp_path, [GOOD.replace("X1,", ",", 1)]))
    assert "fact_id: given nothing; allowed: a short id unique in the table" in str(err.value)


def test_a_target_beyond_any_market_figure_is_shown_short(tmp_path):
    """1e308 is a finite target (it loads); written out in full it took 400 characters of
    every table it stood in."""
    fact = load_facts(_write(tmp_path, [GOOD.replace("mom_pct,,within,-5", "mom_pct,,within,1e308")]))[0]
    assert fact.target_text() == "+1e+308 ± 3 %"


def test_column_names_in_upper_case_are_told_as_such(tmp_path):
    """An upper-case header listed all 21 columns as unknown and all 11 required ones as
    missing, with no "did you mean"."""
    p = tmp_path / "upper.csv"
    p.write_text("FACT_ID,Required,variable,stage,product,region,period,measure,comparison,target,tolerance\n"
                 "X1,true,price,market,prnd_oxide,*,2024-07,level,within,400000,40000\n", encoding="utf-8")
    with pytest.raises(FactError, match=r"upper.csv: the column names are not in lower case \(given 'FACT_ID', "
                                        r"'Required'\); allowed: the names as written in docs/eras.md, in lower "
                                        r"case \(fact_id, required\)$"):
        load_facts(p)
    p.write_text("fact_id,required,variable,stage,product,region,period,measure,comparison,target,Tolerence\n")
    with pytest.raises(FactError, match=r"unknown column\(s\) 'Tolerence' \(did you mean 'tolerance'\?\)"):
        load_facts(p)


def test_duplicate_ids_and_unknown_columns_are_refused(tmp_path):
    with pytest.raises(FactError, match="duplicate fact_id 'X1'"):
        load_facts(_write(tmp_path, [GOOD, GOOD]))
    p = tmp_path / "bad.csv"
    p.write_text("fact_id,variable,period,measure,comparison,colour\n", encoding="utf-8")
    with pytest.raises(FactError, match="unknown column"):
        load_facts(p)


def test_a_row_with_more_cells_than_columns_and_lines_after_blank_ones_are_named(tmp_path):
    # the extra cells were dropped without a word; a row after blank lines was given the
    # line it would have without them
    with pytest.raises(FactError, match=r"facts.csv, line 2: given 23 cells, more than the header's 21 columns "
                                        r"\(first extra: 'extra'\); allowed: a cell per column"):
        load_facts(_write(tmp_path, [GOOD + ",extra,x"]))
    with pytest.raises(FactError, match=r"facts.csv, line 4 \(X1\): required: given 'maybe'"):
        load_facts(_write(tmp_path, ["", "", GOOD.replace("true", "maybe")]))


def test_a_short_row_a_repeated_column_and_tabs_are_refused(tmp_path):
    # a row short of cells had its tolerance read as 0 and its unit as empty
    with pytest.raises(FactError, match=r"facts.csv, line 2: given 19 cells, fewer than the header's 21 columns "
                                        r"\(none for source, note\); allowed: a cell per column"):
        load_facts(_write(tmp_path, [GOOD.rsplit(",", 2)[0]]))
    p = _write(tmp_path, [GOOD + ",99"])
    p.write_text(p.read_text().replace(",note\n", ",target\n", 1).replace(",note,", ",target,"), encoding="utf-8")
    with pytest.raises(FactError, match=r"column\(s\) 'target' given more than once; allowed: each column once"):
        load_facts(p)
    p.write_text(p.read_text().replace(",", "\t"), encoding="utf-8")
    with pytest.raises(FactError, match="the columns are separated by tabs"):
        load_facts(p)


def test_a_fact_in_another_unit_or_over_rows_of_several_is_refused(tmp_path):
    """An analyst's Dy price in yuan/t was judged against the run's yuan/kg; a price over
    products of two units, and exports of ore, oxides and magnets together, were one number."""
    t = pd.DataFrame([dict(month="2024-03", stage="market", product=p, region="china", variable="price", value=v,
                           unit=u) for p, v, u in (("dy_oxide", 2000, "yuan/kg"), ("prnd_oxide", 4e5, "yuan/t"))]
                     + [dict(month="2024-03", stage="traders", product=p, region="eu", variable="exports", value=5.0,
                             unit="t") for p in ("prnd_oxide", "magnet_std")])
    dy = Fact("X1", "price", "2024-03", stage="market", product="dy_oxide", target=2e6, tolerance=1e5, unit="yuan/t")
    with pytest.raises(FactError, match=r"unit: given 'yuan/t', but the run's price for this selection is in "
                                        r"yuan/kg; allowed: yuan/kg \(convert the figures\), or empty"):
        check_selections([dy], t)
    check_selections([replace(dy, unit="yuan/kg", target=2000)], t)
    with pytest.raises(FactError, match=r"product '\*': selects price rows in yuan/kg, yuan/t, which make no one"):
        check_selections([replace(dy, product="*", unit="")], t)
    out = Fact("X2", "exports", "2024-03", stage="traders", target=10, tolerance=1, unit="t")
    with pytest.raises(FactError, match=r"product '\*': leaves open exports of magnets, oxides and metal"):
        check_selections([out], t)
    # named, the tonnes still do not add up (light_ore+magnet_std was scored as reproduced: an
    # outside malformed-input round); one form named together does
    with pytest.raises(FactError, match=r"product 'magnet_std\+prnd_oxide': adds exports of magnets, oxides"):
        check_selections([replace(out, product="magnet_std+prnd_oxide")], t)
    check_selections([replace(out, product="magnet_std")], t)


def _prices_and_quotas() -> pd.DataFrame:
    rows = [("price", "market", "dy_oxide", "china", 2000.0, "yuan/kg"),
            ("price", "market", "prnd_oxide", "china", 4e5, "yuan/t"),
            ("price", "market", "prnd_oxide", "eu", 4.4e5, "yuan/t"),
            ("end_products_short", "motor_makers", "nev", "china", 50.0, "vehicles"),
            ("shortfall", "motor_makers", "nev", "china", 0.1, "t"),
            ("quota_issued", "miners", "mining_rock", "china", 100.0, "t REO"),
            ("quota_issued", "separation_plants", "separation", "china", 110.0, "t REO")]
    return pd.DataFrame([dict(month="2024-03", stage=st, product=p, region=r, variable=v, value=x, unit=u)
                         for v, st, p, r, x, u in rows])


def test_a_comparison_of_a_price_per_kg_with_one_per_tonne_is_made_per_tonne():
    """An outside modeller's Pr-Nd / Dy ratio (0.18 in early 2024) read 200: yuan/t over
    yuan/kg; and Tb dearer than Pr-Nd came out cheaper. Both sides are now per tonne."""
    t = _prices_and_quotas()
    ratio = Fact("X1", "price", "2024-03", measure="ratio", stage="market", product="prnd_oxide", target=0.2,
                 tolerance=0.01, other_product="dy_oxide")
    assert evaluate_fact(ratio, t)["value"] == pytest.approx(4e5 / 2e6)
    assert evaluate_fact(replace(ratio, product="dy_oxide", other_product="prnd_oxide"), t)["value"] \
        == pytest.approx(2e6 / 4e5)
    dearer = Fact("X2", "price", "2024-03", comparison="greater_than_other", stage="market", product="dy_oxide",
                  other_product="prnd_oxide")
    got = evaluate_fact(dearer, t)
    assert got["value"] == pytest.approx(2000.0 - 400.0) and got["ok"]        # in the main side's yuan/kg
    check_selections([ratio, dearer], t)
    # a difference of series that do not convert means nothing; their ratio may (t per vehicle)
    apart = Fact("X3", "end_products_short", "2024-03", comparison="less_than_other", stage="motor_makers",
                 product="nev", other_variable="shortfall")
    with pytest.raises(FactError, match=r"the main series is in vehicles and the other in t, whose difference"):
        check_selections([apart], t)
    check_selections([replace(apart, comparison="within", measure="ratio", target=500, tolerance=1)], t)


def test_selections_that_mix_stages_of_quotas_or_china_with_export_prices_are_refused():
    """quota_issued over every stage added the mining quotas to the separation quota; a price
    over China and a buyer region averaged the domestic and the export price."""
    t = _prices_and_quotas()
    quotas = Fact("X1", "quota_issued", "2024-03", target=210, tolerance=1)
    with pytest.raises(FactError, match=r"stage '\*': adds quota_issued of mining_rock, separation, the mining "
                                        r"quotas and the separation quota"):
        check_selections([quotas], t)
    check_selections([replace(quotas, stage="miners")], t)
    mixed = Fact("X2", "price", "2024-03", stage="market", product="prnd_oxide", region="china+eu", target=4e5,
                 tolerance=1e4)
    with pytest.raises(FactError, match=r"region 'china\+eu': averages China's price with buyer regions' export"):
        check_selections([mixed], t)
    check_selections([replace(mixed, region="*"), replace(mixed, region="eu")], t)


def test_a_fact_on_rows_this_scenario_s_runs_lack_says_so_not_that_the_table_is_wrong():
    """Found by an outside analyst: with no demand abroad there are no magnet exports, and a
    fact on them was refused as if its stage were misspelt (and check had passed it)."""
    t = pd.DataFrame({"month": ["2025-03", "2025-04"], "stage": "recyclers", "product": "prnd_oxide",
                      "region": "eu", "variable": "exports", "value": 1.0, "unit": "t"})
    fact = Fact("X1", "exports", "2025-04", stage="magnet_makers", product="magnet_std", measure="mom_pct",
                target=-51, tolerance=10, unit="% MoM")
    with pytest.raises(FactError, match=r"stage 'magnet_makers' does not occur with variable 'exports' in this "
                                        r"scenario's runs \(a row appears only where something happens"):
        check_selections([fact], t)


def test_every_mistake_of_a_facts_table_is_told_at_once(tmp_path):
    rows = [GOOD.replace("2025-10", "2025Q1"), GOOD.replace("X1", "X2").replace("magnet_std+magnet_uh", "ndpr"),
            GOOD.replace("X1", "X3").replace(",-5,3,", ",-5,-1,"), GOOD.replace("X1", "X4")]
    with pytest.raises(FactError) as err:
        load_facts(_write(tmp_path, rows))
    lines = str(err.value).splitlines()
    assert len(lines) == 3 and [ln.split(",")[1].strip()[:6] for ln in lines] == ["line 2", "line 3", "line 4"]
    assert "period '2025Q1'" in lines[0] and "product 'ndpr'" in lines[1] and "tolerance: given -1" in lines[2]


def test_excel_s_trailing_commas_and_blank_rows_are_read_as_nothing(tmp_path):
    """Excel writes a blank row as ',,,,' and a column it once held as a trailing comma."""
    p = _write(tmp_path, [GOOD + ",,", ",,,,,,,,,,,,,,,,,,,,,,", GOOD.replace("X1", "X2") + ",,"])
    head, *rest = p.read_text(encoding="utf-8").splitlines()
    p.write_text("\n".join([head + ",,", *rest]) + "\n", encoding="utf-8")
    assert [f.fact_id for f in load_facts(p)] == ["X1", "X2"]
    p.write_text("\n".join([head + ",,", GOOD + ",,x"]) + "\n", encoding="utf-8")
    with pytest.raises(FactError, match=r"line 2: given 23 cells, more than the header's 21 columns \(first extra: 'x'\)"):
        load_facts(p)
    p.write_text("\n".join([head.replace(",source,", ",,"), GOOD]) + "\n", encoding="utf-8")
    with pytest.raises(FactError, match=r"header column\(s\) 20 have no name"):
        load_facts(p)


def test_facts_made_in_python_are_checked_as_a_table_s_rows_are():
    from rechain.experiments.validate import check_given_facts
    vocab = default_vocabulary()
    good = Fact("P1", "price", "2025-01", stage="market", product="dy_oxide", target=1665.0, tolerance=166.5)
    assert [f.fact_id for f in check_given_facts([good], vocab)] == ["P1"]
    for bad, says in [([replace(good, measure="avg")], "fact P1: measure 'avg'"),
                      ([replace(good, target="1665")], "fact P1: target: given '1665' (str); allowed: a number"),
                      ([replace(good, tolerance=-1.0)], "tolerance: given -1"),
                      ([good, good], "duplicate fact_id 'P1'"),
                      ([replace(good, variable="prices")], "fact P1: variable 'prices' is not in the monthly table"),
                      ("facts.csv", "given str 'facts.csv'; allowed: a list of Fact (a facts table's path goes to "
                                    "facts_file=)"),
                      ([{"fact_id": "P1"}], "item 0: given dict; allowed: a Fact")]:
        with pytest.raises(FactError) as err:
            check_given_facts(bad, vocab)
        assert says in str(err.value) and str(err.value).startswith("the facts given"), str(err.value)


def test_a_price_target_in_another_unit_is_refused_before_the_runs(tmp_path):
    """A Pr-Nd quote of 370 (yuan/kg) against the run's yuan/t was scored as a plain miss."""
    facts = _write(tmp_path, ["X1,false,d,price,market,prnd_oxide,*,2024-07,level,,within,370,37,,,,,,,000,"])
    sc = tmp_path / "slip.toml"
    sc.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "slip"\nfacts_file = "{facts.name}"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(sc)])
    assert res.exit_code == 2
    assert ("facts.csv, line 2 (X1): target: given 370, 1/1,189 times the scenario's start price of prnd_oxide "
            "(440,000 yuan/t, market.initial_price)") in res.output, res.output
    facts.write_text(facts.read_text().replace(",370,37,", ",370000,37000,"), encoding="utf-8")
    assert CliRunner().invoke(main, ["check", str(sc)]).exit_code == 0


def test_check_warns_of_a_tolerance_that_decides_the_fact_whatever_the_run(tmp_path):
    """Tolerance 0 on a price (never met by a simulated mean) and a band reaching zero (always
    met) were taken without a word (an outside analyst's tables)."""
    row = "X{},false,d,price,market,prnd_oxide,*,2024-07,level,,within,{},{},,,,,,,000,"
    facts = _write(tmp_path, [row.format(1, 400000, 0), row.format(2, 400000, 1e12), row.format(3, 400000, 40000)])
    sc = tmp_path / "tol.toml"
    sc.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "tol"\nfacts_file = "{facts.name}"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(sc)])
    assert res.exit_code == 0, res.output
    warned = [line for line in res.output.splitlines() if "facts table:" in line]
    assert warned == [
        f"warning: {sc}: facts table: X1: tolerance 0, so only a simulated figure of exactly 400,000 meets it; give "
        f"how far from the target still counts (the quote's precision; 8-10 % for a monthly price, docs/eras.md)",
        f"warning: {sc}: facts table: X2: tolerance 1e+12 is the target 400,000 or more: the band reaches zero, so "
        f"almost any run meets it"]


def test_tonnes_held_add_up_over_the_rows_of_a_fact():
    t = pd.DataFrame([dict(month="2024-03", stage="policy", product=q, region="china", variable="quota_issued",
                           value=v, unit="t REO") for q, v in (("mining_rock", 100.0), ("mining_ionic", 20.0))])
    both = Fact("X1", "quota_issued", "2024-03", stage="policy", product="mining_rock+mining_ionic", target=120)
    assert evaluate_fact(both, t)["value"] == pytest.approx(120.0)


def test_a_fact_on_a_month_simulated_in_part_is_left_out(tmp_path):
    from rechain.calendar import whole_months
    assert whole_months(dt.date(2024, 1, 20), dt.date(2024, 6, 5)) == ["2024-02", "2024-03", "2024-04", "2024-05"]
    assert whole_months(dt.date(2024, 1, 1), dt.date(2024, 1, 30)) == []
    scenario = _tiny_with_facts(tmp_path, [GOOD.replace("2025-10,mom_pct,,within,-5,3,%", f"{m},level,,at_least,0,0,t")
                                           .replace("X1", f"M{m[-1]}") for m in ("2024-01", "2024-02")])
    scenario.write_text(scenario.read_text() + "start = 2024-01-20\nend = 2024-03-31\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(scenario)])
    assert res.exit_code == 0 and "(1 of 2 within the run" in res.output, res.output


def test_facts_file_is_read_beside_the_file_that_sets_it(tmp_path):
    """A what-if setting its own facts_file, missing beside it, silently took the table of
    the same name beside the scenario it extends."""
    child = tmp_path / "child.toml"
    child.write_text(f'extends = "{(ROOT / "scenarios" / "holdout_2025_2026.toml").as_posix()}"\nname = "c"\n'
                     f'facts_file = "facts/holdout_2025_2026.csv"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(child)])
    assert res.exit_code == 2, res.output
    assert f"{child}, line 3: facts_file: 'facts/holdout_2025_2026.csv' does not exist" in res.output


@pytest.mark.parametrize("given, says", [("nope.csv", "'nope.csv' does not exist"), (".", "'.' is a folder"),
                                         ("pipe", "'pipe' is a named pipe")])
def test_a_facts_file_that_cannot_be_read_is_told_with_the_scenario_and_its_line(tmp_path, given, says):
    """A named pipe was told as "pipe: is a named pipe", naming neither the scenario nor the
    key; a missing table or a folder lacked the line (an outside fuzzing round)."""
    import os
    os.mkfifo(tmp_path / "pipe")
    scenario = tmp_path / "w.toml"
    scenario.write_text(f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\nname = "w"\n\n'
                        f'facts_file = "{given}"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(scenario)])
    assert res.exit_code == 2, res.output
    assert f"{scenario}, line 4: facts_file: {says}" in res.output and "Traceback" not in res.output, res.output


def test_line_breaks_inside_cells_and_long_cells_are_read_as_written(tmp_path):
    """U+2028 in a cell split its row in two (str.splitlines); a quoted line break showed as
    two lines in every table; a cell over 128 KiB was refused, naming the line before it."""
    rows = [GOOD.replace(",d,", ',"Pr-Nd oxide\nmonthly mean",').replace(",S001,000,", ",S001,000,a\u2028b"),
            GOOD.replace("X1", "X2").replace(",d,", "," + "long " * 30000 + ",")]
    facts = load_facts(_write(tmp_path, rows))
    assert [f.fact_id for f in facts] == ["X1", "X2"]
    assert facts[0].description == "Pr-Nd oxide monthly mean" and facts[0].note == "a b"
    assert facts[1].where.endswith("line 4 (X2)") and len(facts[1].description) > 140_000


def test_a_row_commented_out_is_skipped(tmp_path):
    """'#' before a row's id was read as a fact with id '#X1' and judged."""
    facts = load_facts(_write(tmp_path, ["#" + GOOD, "# an old fact, no cells", GOOD.replace("X1", "X2")]))
    assert [f.fact_id for f in facts] == ["X2"] and facts[0].where.endswith("line 4 (X2)")


def test_a_facts_table_with_a_byte_order_mark_loads(tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark: fact_id is still the first column."""
    p = _write(tmp_path, [GOOD])
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert [f.fact_id for f in load_facts(p)] == ["X1"]


def test_a_facts_table_that_cannot_be_read_is_one_clear_error(tmp_path):
    latin1 = _write(tmp_path, [GOOD.replace(",d,", ",d\u00e9cembre,")])
    latin1.write_bytes(latin1.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(FactError, match=r"facts.csv, line 2: given byte 0xe9, which is not UTF-8 text; allowed: a CSV "
                                        r"facts table \(facts_file\) saved as UTF-8"):
        load_facts(latin1)
    with pytest.raises(FactError, match=r"given a directory; allowed: a CSV facts table \(facts_file\)"):
        load_facts(tmp_path)
    with pytest.raises(FactError, match="nowhere.csv: file not found"):
        load_facts(tmp_path / "nowhere.csv")


@pytest.mark.parametrize("facts_file", ["latin1.csv", "folder", "nan.csv"])
def test_validate_with_an_unreadable_facts_file_exits_2_with_one_line(facts_file, tmp_path):
    (tmp_path / "latin1.csv").write_bytes("fact_id,description\nX1,d\u00e9cembre\n".encode("latin-1"))
    (tmp_path / "folder").mkdir()
    # a nan tolerance once printed "0 ± nan % MoM ... NO" and exit 1, as if the model had failed
    _write(tmp_path, [GOOD.replace("2025-10", "2024-02").replace(",-5,3,", ",0,nan,")]).rename(tmp_path / "nan.csv")
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'extends = "{(ROOT / "tests" / "data" / "tiny.toml").as_posix()}"\n'
                        f'name = "s"\nfacts_file = "{facts_file}"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["validate", str(scenario), "--replicates", "1", "--workers", "1",
                                    "--no-figures", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    # a folder is the scenario's mistake (its facts_file key); a bad table's, the table's
    named = scenario if facts_file == "folder" else tmp_path / facts_file
    assert res.output.count("\n") == 1 and res.output.startswith(f"error: {named}"), res.output
    assert res.output.split(f"{named}", 1)[1][:2] in (": ", ", "), res.output   # then the key or line
    assert not (tmp_path / "out").exists()


def test_parse_period():
    assert parse_period("2025-02") == ["2025-02"]
    assert parse_period("2024") == months("2024-01", 12)
    assert parse_period("2024-11/2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    for bad in ("2025-00", "25-01", "2025-04/2025-01", "Q1"):
        with pytest.raises(FactError):
            parse_period(bad)
    # named as written (it said period '02', one half of the slash)
    with pytest.raises(FactError, match=r"period '2024/02': allowed YYYY-MM"):
        parse_period("2024/02")


# --------------------------------------------------------------------------- the evaluator
OUT = ("production", "magnet_makers", "magnet_std", "china")
UH = ("production", "magnet_makers", "magnet_uh", "china")


def test_mom_sums_the_selected_products():
    t = table({OUT: {"2025-09": 60, "2025-10": 50}, UH: {"2025-09": 40, "2025-10": 45}})
    f = Fact("T", "production", "2025-10", measure="mom_pct", stage="magnet_makers",
             product="magnet_std+magnet_uh", target=-5, tolerance=3)
    r = evaluate_fact(f, t)
    assert r["value"] == pytest.approx(-5.0) and r["now"] == 95 and r["base"] == 100 and r["ok"]
    assert not evaluate_fact(replace(f, target=-10, tolerance=4), t)["ok"]       # -5 is 5 pp off
    only_std = evaluate_fact(replace(f, product="magnet_std"), t)
    assert only_std["value"] == pytest.approx(100 * (50 / 60 - 1))


def test_yoy_of_a_single_month_and_of_a_cumulative_period():
    vals = dict(zip(months("2024-01", 16), [10, 10, 10, 10] + [0] * 8 + [10, 11, 9, 5.5]))
    t = table({("exports", "magnet_makers", "magnet_uh", "eu"): vals})
    f = Fact("T", "exports", "2025-04", measure="yoy_pct", target=-45, tolerance=10)
    assert evaluate_fact(f, t)["value"] == pytest.approx(-45.0)
    cum = replace(f, period="2025-01/2025-04", target=2, tolerance=5)
    assert evaluate_fact(cum, t)["value"] == pytest.approx(100 * (35.5 / 40 - 1))
    assert not evaluate_fact(cum, t)["ok"]                                      # -11.25 % is outside +2 +- 5


def test_qoq_default_base_and_a_stated_base_period():
    vals = dict(zip(months("2025-01", 6), [100, 110, 90, 120, 80, 130]))
    t = table({("production", "recyclers", "dy_oxide", "china"): vals})
    q = Fact("T", "production", "2025-04/2025-06", measure="qoq_pct", target=10, tolerance=1)
    assert q.base_months() == ["2025-01", "2025-02", "2025-03"]
    assert evaluate_fact(q, t)["value"] == pytest.approx(10.0)
    may = Fact("T", "production", "2025-05", measure="change_pct", base_period="2025-01/2025-03",
               comparison="direction_down")
    r = evaluate_fact(may, t)
    assert r["base"] == pytest.approx(100.0) and r["value"] == pytest.approx(-20.0) and r["ok"]
    assert not evaluate_fact(replace(may, comparison="direction_up"), t)["ok"]
    assert not evaluate_fact(replace(may, tolerance=25.0), t)["ok"]             # a 20 % fall is not "over 25 %"


def test_level_sums_flows_and_averages_levels():
    yr = months("2024-01", 12)
    t = table({("use", "motor_makers", "nev", "china"): {m: 4750 for m in yr},
               ("price", "market", "dy_oxide", "china"): {m: 1600 + 10 * i for i, m in enumerate(yr)},
               ("price", "market", "tb_oxide", "china"): {m: 6000 for m in yr}})
    use = Fact("T", "use", "2024", stage="motor_makers", product="nev", target=57000, tolerance=2850)
    assert evaluate_fact(use, t)["value"] == pytest.approx(57000) and evaluate_fact(use, t)["ok"]
    price = Fact("T", "price", "2024-01/2024-03", product="dy_oxide", target=1610, tolerance=1)
    assert evaluate_fact(price, t)["value"] == pytest.approx(1610)
    both = Fact("T", "price", "2024-01", product="dy_oxide+tb_oxide", target=3800, tolerance=1)
    assert evaluate_fact(both, t)["value"] == pytest.approx(3800)               # mean over rows, not sum


def test_at_least_and_at_most():
    t = table({OUT: {"2025-01": 100, "2025-02": 108}})
    f = Fact("T", "production", "2025-02", measure="mom_pct", comparison="at_least", target=7)
    assert evaluate_fact(f, t)["ok"] and not evaluate_fact(replace(f, target=9), t)["ok"]
    g = replace(f, comparison="at_most")
    assert evaluate_fact(g, t)["ok"] is False and evaluate_fact(replace(g, target=8), t)["ok"]


def test_direction_facts_on_month_on_month_price_changes():
    t = table({("price", "market", "dy_oxide", "china"): {"2025-01": 1665, "2025-02": 1710}})
    up = Fact("T", "price", "2025-02", measure="mom_pct", comparison="direction_up", product="dy_oxide")
    assert evaluate_fact(up, t)["ok"]
    assert not evaluate_fact(replace(up, comparison="direction_down"), t)["ok"]
    flat = table({("price", "market", "dy_oxide", "china"): {"2025-01": 1665, "2025-02": 1665}})
    assert not evaluate_fact(up, flat)["ok"] and not evaluate_fact(replace(up, comparison="direction_down"), flat)["ok"]


def test_signed_series_use_differences():
    t = table({("sentiment", "motor_makers", "all", "all"): {"2025-10": -0.05, "2025-11": 0.04}})
    f = Fact("T", "sentiment", "2025-11", measure="change", base_period="2025-10", comparison="direction_up",
             stage="motor_makers")
    assert evaluate_fact(f, t)["value"] == pytest.approx(0.09) and evaluate_fact(f, t)["ok"]


def test_less_and_greater_than_other():
    t = table({("orders", "motor_makers", "magnet_std", "china"): {"2025-06": 800, "2025-10": 900,
                                                                   "2025-11": 1500, "2025-12": 1300},
               ("use", "motor_makers", "nev", "china"): {"2025-06": 700, "2025-10": 1000, "2025-11": 1050,
                                                         "2025-12": 1150},
               ("use", "motor_makers", "wind", "china"): {"2025-06": 300, "2025-10": 0, "2025-11": 0,
                                                          "2025-12": 0},
               ("exports", "magnet_makers", "magnet_std", "eu"): {"2025-10": 400, "2025-11": 400,
                                                                  "2025-12": 440}})
    june = Fact("T", "orders", "2025-06", comparison="less_than_other", stage="motor_makers",
                other_variable="use", other_product="*")
    r = evaluate_fact(june, t)
    assert r["main"] == 800 and r["other"] == 1000 and r["value"] == -200 and r["ok"]
    assert not evaluate_fact(replace(june, comparison="greater_than_other"), t)["ok"]
    # Nov-Dec growth vs October: exports +5 %, domestic use +10 % -> exports grow less
    lag = Fact("T", "exports", "2025-11/2025-12", measure="change_pct", base_period="2025-10",
               comparison="less_than_other", stage="magnet_makers", other_variable="use",
               other_stage="motor_makers")
    r = evaluate_fact(lag, t)
    assert r["main"] == pytest.approx(5.0) and r["other"] == pytest.approx(10.0) and r["ok"]


def test_ratio():
    t = table({("production", "recyclers", "prnd_oxide", "china"): {"2025-01": 8},
               ("production", "separation_plants", "prnd_oxide", "china"): {"2025-01": 92}})
    f = Fact("T", "production", "2025-01", measure="ratio", comparison="at_most", target=0.1,
             stage="recyclers", other_stage="separation_plants+recyclers")
    assert evaluate_fact(f, t)["value"] == pytest.approx(0.08) and evaluate_fact(f, t)["ok"]


def test_missing_or_zero_base_is_not_reproduced():
    t = table({OUT: {"2025-01": 0.0, "2025-02": 5.0}})
    f = Fact("T", "production", "2025-02", measure="mom_pct", comparison="direction_up")
    r = evaluate_fact(f, t)
    assert math.isnan(r["value"]) and not r["ok"]
    assert not judge(f, math.nan)
    # the reader of "nan" learns why and what to write instead
    assert r["why"] == ("the series is 0 in the base months: a % change from zero or below cannot be formed "
                        "(measure change with a base_period compares the levels instead)")
    assert evaluate_fact(replace(f, measure="change", base_period="2025-01"), t)["value"] == 5.0
    early = evaluate_fact(replace(f, period="2025-01"), t)
    assert early["why"] == "the series has no value in the base months (2024-12)"
    assert evaluate_fact(replace(f, comparison="within", target=0, tolerance=1e9), t)["why"].startswith("the series is 0")
    assert evaluate_fact(replace(f, measure="change", base_period="2025-01"), t)["why"] == ""


def test_a_fact_without_a_number_says_why_in_the_table_and_facts_md(tmp_path):
    t = table({OUT: {"2025-01": 0.0, "2025-02": 5.0}})
    f = Fact("Z1", "production", "2025-02", measure="mom_pct", comparison="direction_up", description="from zero")
    v = Validation(table=summarise([f], [evaluate([f], t)] * 2), facts=[f], monthly=[t, t], scenario_name="hand",
                   scenario_path="hand.toml", seeds=[0, 1], seconds=0.1)
    assert "Z1: not measured: the series is 0 in the base months" in format_table(v)
    md = (write_outputs(v, tmp_path / "v", figures=False) / "facts.md").read_text()
    assert "- **Z1** not measured: the series is 0 in the base months" in md


# --------------------------------------------------------------------------- summary, outputs, command
def _validation(values: dict[str, list[float]]) -> Validation:
    facts = [Fact("R1", "production", "2025-02", measure="mom_pct", target=7, tolerance=3, required=True,
                  stage="magnet_makers", product="magnet_std", description="required"),
             Fact("N1", "production", "2025-02", measure="mom_pct", comparison="direction_up",
                  stage="magnet_makers", product="magnet_std", description="optional")]
    runs = [pd.DataFrame({"fact_id": list(values), "value": [v[i] for v in values.values()],
                          "ok": [judge(f, v[i]) for f, v in zip(facts, values.values())]})
            for i in range(len(values["R1"]))]
    table_ = summarise(facts, runs)
    monthly = [table({OUT: dict(zip(months("2024-01", 24), [100 + i for i in range(24)]))})] * len(runs)
    return Validation(table=table_, facts=facts, monthly=monthly, scenario_name="hand", scenario_path="hand.toml",
                      seeds=list(range(len(runs))), seconds=0.1)


def test_summary_reproduced_by_the_replicate_mean():
    v = _validation({"R1": [3.0, 5.0, 12.0, 8.0, 9.0], "N1": [1.0, -1.0, 2.0, 0.5, -0.2]})
    r1 = v.table.set_index("fact_id").loc["R1"]
    assert r1["mean"] == pytest.approx(7.4) and r1["min"] == 3 and r1["max"] == 12
    assert r1["share_ok"] == pytest.approx(3 / 5) and r1["reproduced"]
    assert v.passed and v.score == 1.0
    bad = _validation({"R1": [1.0, 2.0, 3.0, 2.0, 1.0], "N1": [1.0, 1.0, 1.0, 1.0, 1.0]})
    assert bad.required_failed == ["R1"] and bad.score == 0.5
    assert "R1" in format_table(bad) and "NO" in format_table(bad)


def test_satisfies_is_judge_on_many_values():
    within = Fact("W", "production", "2025-02", measure="mom_pct", target=7, tolerance=3)
    down = Fact("D", "production", "2025-02", measure="mom_pct", comparison="direction_down")
    up = replace(down, comparison="direction_up")
    values = [3.9, 4.0, 7.0, 10.0, 10.1, -0.5, math.nan, math.inf, -math.inf]
    for f in (within, down, up):
        assert satisfies(f, pd.Series(values).to_numpy()).tolist() == [judge(f, v) for v in values]
    assert satisfies(within, pd.Series(values).to_numpy()).tolist() == [False, True, True, True, False, False, False,
                                                                        False, False]
    assert not judge(up, math.inf) and not judge(down, -math.inf)     # not finite: nothing


def test_the_seed_range_is_a_bootstrap_of_the_replicates():
    """Hand-worked: R1's replicates are -5 once and 5 four times against 0 +- 2.5. A resample of
    five replicates takes k of the -5s: its mean 5 - 2k is within the band for k = 2 or 3, with
    probability C(5,2) 0.2^2 0.8^3 + C(5,3) 0.2^3 0.8^2 = 0.256; R2 (always 1, within 1 +- 1)
    always counts; N1 is not required."""
    facts = [Fact("R1", "production", "2025-02", measure="mom_pct", target=0, tolerance=2.5, required=True),
             Fact("R2", "production", "2025-02", measure="mom_pct", target=1, tolerance=1, required=True),
             Fact("N1", "production", "2025-02", measure="mom_pct", target=0, tolerance=2.5)]
    values = pd.DataFrame({"R1": [-5.0, 5, 5, 5, 5], "R2": [1.0] * 5, "N1": [-5.0, 5, 5, 5, 5]}).T.to_numpy().copy()
    counts = resampled_required(facts, values, resamples=20000)
    assert set(counts.tolist()) == {1, 2}
    assert (counts == 2).mean() == pytest.approx(0.256, abs=0.01)
    assert (resampled_required(facts, values) == resampled_required(facts, values)).all()   # seeded
    # a replicate that could not measure R1 fails it in every resample, as the mean does
    values[0, 0] = math.nan
    assert set(resampled_required(facts, values).tolist()) == {1}
    runs = [pd.DataFrame({"fact_id": ["R1", "R2", "N1"], "value": values[:, i],
                          "ok": [judge(f, x) for f, x in zip(facts, values[:, i])]}) for i in range(5)]
    v = Validation(table=summarise(facts, runs), facts=facts, monthly=[], seeds=list(range(5)), per_run=runs)
    assert v.seed_range == (1, 1) and "likely 1 of the 2 required facts met (90% of" in v.seed_range_text()
    assert "hardly moves the count" in v.seed_range_text() and "1-1" not in v.seed_range_text()
    values[0, 0] = -5.0
    runs = [r.assign(value=values[:, i]) for i, r in enumerate(runs)]
    v = Validation(table=summarise(facts, runs), facts=facts, monthly=[], seeds=list(range(5)), per_run=runs)
    assert v.seed_range == (1, 2)      # P(2) = 0.256: inside the middle 90 %
    # one replicate, or none kept: no range
    assert Validation(table=summarise(facts, runs[:1]), facts=facts, monthly=[], per_run=runs[:1]).seed_range is None
    assert _validation({"R1": [7.0] * 3, "N1": [1.0] * 3}).seed_range_text() == ""


def test_each_seed_on_its_own_counts_the_required_facts_it_meets_alone(tmp_path):
    """Hand-worked: R1 (7 +- 3) is met by replicates 0 and 2 (7 and 9), missed by 1 (3);
    N1 is not required and never counts; the mean (6.3) meets R1, which replicate 1 alone does not."""
    v = _validation({"R1": [7.0, 3.0, 9.0], "N1": [1.0, 1.0, -1.0]})
    v.per_run = [pd.DataFrame({"fact_id": ["R1", "N1"], "value": [r1, n1], "ok": [judge(v.facts[0], r1), judge(v.facts[1], n1)]})
                 for r1, n1 in ((7.0, 1.0), (3.0, 1.0), (9.0, -1.0))]
    assert required_met_by_run(v.facts, v.per_run).tolist() == [1, 0, 1]
    assert v.seeds_text() == "each seed on its own (0..2): 1, 0, 1 of the 1 required facts"
    out = write_outputs(v, tmp_path / "validation-hand", figures=False)
    assert "Each seed on its own (0..2): 1, 0, 1 of the 1 required facts." in (out / "facts.md").read_text()
    # beyond twenty seeds: the range, the median and the three seeds that meet fewest, by seed
    many = [1] * 25
    many[7] = many[19] = many[3] = 0
    v.per_run = [pd.DataFrame({"fact_id": ["R1"], "value": [7.0 if m else 3.0], "ok": [bool(m)]}) for m in many]
    v.seeds = list(range(100, 125))
    assert v.seeds_text().startswith("each seed on its own: 0-1 of the 1 required facts (median 1); "
                                      "fewest on seeds 103 (0), 107 (0), 119 (0)")
    # one replicate, or no per-run values kept: nothing to say
    v.per_run = v.per_run[:1]
    assert v.seeds_text() == ""
    assert _validation({"R1": [7.0] * 3, "N1": [1.0] * 3}).seeds_text() == ""


def test_write_outputs(tmp_path):
    v = _validation({"R1": [7.0] * 3, "N1": [1.0] * 3})
    out = write_outputs(v, tmp_path / "validation-hand", figures=True)
    got = pd.read_csv(out / "facts.csv")
    assert list(got["fact_id"]) == ["R1", "N1"]
    md = (out / "facts.md").read_text()
    assert "score 2/2" in md and "| R1 |" in md
    assert (out / "ndfeb_output.png").stat().st_size > 0
    assert {f"{name}.png" for name in PANELS} <= {p.name for p in out.iterdir()}   # one figure per panel


def test_price_paths_set_the_simulated_prices_beside_the_quotes(tmp_path):
    """Every month of a quoted price series, replicate mean and range, with the quote in the
    months a level fact covers (a quarter's quote beside each of its months); other facts and
    the series no level fact quotes are left out."""
    dy = ("price", "market", "dy_oxide", "china")
    runs = [table({dy: {"2025-01": 2000, "2025-02": 1800, "2025-03": 1700, "2025-04": 1650}, OUT: {"2025-01": 1.0}}),
            table({dy: {"2025-01": 2200, "2025-02": 1600, "2025-03": 1500, "2025-04": 1550}, OUT: {"2025-01": 1.0}})]
    facts = [Fact("Q1", "price", "2025-01", target=1665, tolerance=166.5, stage="market", product="dy_oxide",
                  unit="yuan/kg", description="January"),
             Fact("Q2", "price", "2025-02/2025-03", target=1700, tolerance=170, stage="market", product="dy_oxide",
                  unit="yuan/kg", description="Feb-Mar"),
             Fact("C1", "price", "2025-02", measure="mom_pct", comparison="direction_down", stage="market",
                  product="dy_oxide", description="a change, not a quote")]
    v = Validation(table=summarise(facts, [evaluate(facts, r) for r in runs]), facts=facts, monthly=runs,
                   scenario_name="hand", scenario_path="hand.toml", seeds=[0, 1], seconds=0.1)
    paths = price_paths(v)
    assert list(paths["month"]) == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert list(paths["mean"]) == [2100, 1700, 1600, 1600] and list(paths["min"]) == [2000, 1600, 1500, 1550]
    assert list(paths["max"]) == [2200, 1800, 1700, 1650]
    assert list(paths["quote"])[:3] == [1665, 1700, 1700] and list(paths["fact_id"]) == ["Q1", "Q2", "Q2", ""]
    assert list(paths["unit"]) == ["yuan/kg"] * 4           # a month without a quote keeps the series' unit
    out = write_outputs(v, tmp_path / "v", figures=False)
    assert pd.read_csv(out / "prices.csv")["fact_id"].fillna("").tolist() == ["Q1", "Q2", "Q2", ""]
    md = (out / "facts.md").read_text()
    assert "## Prices against the record" in md
    assert "| 2025-01 | 2,100 (2,000 .. 2,200) | 1,665 (Q1) |" in md
    assert "| 2025-03 | 1,600 (1,500 .. 1,700) | 1,700 (Q2, mean of 2025-02/2025-03) |" in md
    # no level fact on a price: no prices.csv, no section
    v2 = _validation({"R1": [7.0] * 2, "N1": [1.0] * 2})
    assert price_paths(v2).empty
    out2 = write_outputs(v2, tmp_path / "v2", figures=False)
    assert not (out2 / "prices.csv").exists() and "Prices against" not in (out2 / "facts.md").read_text()


@pytest.mark.parametrize("values, status", [({"R1": [7.0] * 2, "N1": [-1.0] * 2}, 0),
                                            ({"R1": [0.0] * 2, "N1": [1.0] * 2}, 1)])
def test_command_exit_status(tmp_path, monkeypatch, values, status):
    import rechain.experiments.validate as mod      # the command's own module
    monkeypatch.setattr(mod, "validate", lambda *a, **k: _validation(values))
    res = CliRunner().invoke(main, ["validate", str(BASELINE), "--replicates", "2", "--no-figures",
                                    "--out", str(tmp_path / "out")])
    assert res.exit_code == status, res.output
    assert "score" in res.output and (tmp_path / "out" / "facts.md").exists()


def test_a_target_far_from_the_runs_is_told_as_a_likely_unit_slip(tmp_path, monkeypatch):
    """An outside analyst's slips that check cannot see (it knows no run's values): exports in
    kt, Dy oxide in 10,000 yuan/t (13 times low), a MoM change written as a share. Each is
    scored as a miss, and now also told as a likely unit slip; a plain miss is not."""
    from rechain.experiments.validate import unit_slips
    mags = "magnet_std+magnet_uh"
    facts = [Fact("KT", "exports", "2025", product=mags, stage="magnet_makers", target=57, tolerance=5),
             Fact("WAN", "price", "2025-01", product="dy_oxide", target=162, tolerance=16),
             Fact("SHARE", "exports", "2025-04", measure="mom_pct", product=mags, target=-0.51, tolerance=0.1),
             Fact("MISS", "price", "2025-01", product="prnd_oxide", target=300_000, tolerance=30_000),
             Fact("SMALL", "production", "2025-04", measure="mom_pct", product=mags, target=0.5, tolerance=3),
             Fact("DIR", "production", "2025-04", measure="mom_pct", comparison="direction_up", product=mags)]
    table_ = pd.DataFrame({"fact_id": ["KT", "WAN", "SHARE", "MISS", "SMALL", "DIR"],
                           "mean": [52_705.0, 1_953.0, -50.8, 466_785.0, 4.0, 900.0]})
    notes = unit_slips(facts, table_)
    assert notes == [
        "KT: the runs' mean, 52,705 t, is 925 times the target 57.0: a figure in another unit (kt for t is a "
        "factor of 1,000)?",
        "WAN: the runs' mean, 1,953 yuan/kg, is 12.1 times the target 162: a figure in another unit (10,000 yuan/t "
        "for yuan/kg is a factor of 10, yuan/kg for yuan/t of 1,000)?",
        "SHARE: the target -0.51 % is a mom_pct, in per cent, and the runs give -50.8 %: a share written for a "
        "percentage (-51.0 %)?"]
    # the command prints them after the score, and facts.md keeps them
    import rechain.experiments.validate as mod
    v = _validation({"R1": [700.0] * 2, "N1": [1.0] * 2})          # R1: +7 % MoM, the runs +700 %
    monkeypatch.setattr(mod, "validate", lambda *a, **k: v)
    res = CliRunner().invoke(main, ["validate", str(BASELINE), "--replicates", "2", "--no-figures",
                                    "--out", str(tmp_path / "out")])
    assert "check the unit: R1: the runs' mean, 700" not in res.output      # 7 is no share: not a slip
    v.table.loc[v.table["fact_id"] == "R1", "mean"] = 7000.0
    object.__setattr__(v.facts[0], "target", 0.07)
    res = CliRunner().invoke(main, ["validate", str(BASELINE), "--replicates", "2", "--no-figures",
                                    "--out", str(tmp_path / "out2")])
    assert "check the unit: R1: the target +0.07 % is a mom_pct, in per cent, and the runs give +7,000 %" in res.output
    assert "Check the unit: R1: the target +0.07 %" in (tmp_path / "out2" / "facts.md").read_text()


def test_validate_says_which_facts_table_it_read(tmp_path):
    """Only facts.md said it; with --facts in place of a scenario's facts_file that does not exist,
    nothing said so."""
    facts = _write(tmp_path, [GOOD])
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'extends = "{BASELINE.as_posix()}"\nname = "s"\nend = 2025-12-31\n'
                        f'facts_file = "nope.csv"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["validate", str(scenario), "--facts", str(facts), "--replicates", "1",
                                    "--workers", "1", "--no-figures", "--out", str(tmp_path / "out")])
    assert res.exit_code in (0, 1), res.output
    assert res.output.splitlines()[0] == (f"facts: {facts} (1 fact), instead of the scenario's facts_file "
                                          f"'nope.csv', which does not exist")


def test_a_utf16_table_is_named_as_utf16(tmp_path):
    """Excel's "Unicode text" is UTF-16: the message said byte 0xff, with no hint why."""
    p = tmp_path / "facts.csv"
    p.write_text("fact_id,variable\n", encoding="utf-16")
    with pytest.raises(FactError, match=r"given byte 0xff, which is not UTF-8 text \(the file is UTF-16 text: its "
                                        r"first bytes are UTF-16's byte-order mark\)"):
        load_facts(p)


# --------------------------------------------------------------------------- the baseline against the record
# Required facts the calibrated baseline does not yet reproduce, each explained in docs/ODD.md
# section 7.18. The list only grows in a commit that says why (F06 and F59: rationing a late
# quota's allowance, docs/ODD.md section 7.9, moved April's exports and June's blank price by less
# than the seeds scatter; F12 is met since; F14: with cheap Dy alloyed into the standard grade,
# docs/ODD.md section 7.16, November 2025's output rebound is +5.2 % on seeds 0-4 (before: +6.3 %), under
# its band's +6 %, while seeds 0-9 and 0-19 miss the same facts as before; F37, F38, F45, F49 and F50: the cost
# anchor's routes bounded by the separation quota lift the oxides at the end of 2024 a little, docs/ODD.md
# section 7.6, while F06, F13, F14 and F59 are met since, and seeds 0-9 meet 38 of 49 against 37 before; F37
# again: the recyclers' supply route bounded by the scrap they work, no longer by idle lines, lifts the
# anchor, and January 2025's Pr-Nd oxide is 467,000 yuan/t against 415,000 +- 10 % on seeds 0-4, while
# seeds 0-9 meet 38 of 49 as before, docs/ODD.md section 7.18): a required fact missed that is not on it
# fails the test.
KNOWN_REQUIRED_MISSES = {"F01", "F07", "F13", "F31", "F37", "F42", "F43", "F44", "F45", "F49", "F51", "F52"}


def test_baseline_reproduces_required_facts_but_the_documented_misses():
    """``rechain validate`` on the baseline (5 replicates) reproduces every required fact
    except the documented misses, which docs/ODD.md section 7.18 names and explains."""
    from rechain.validate import validate
    v = validate(BASELINE, replicates=5, workers=2)
    t = v.table
    bad = t[t["required"] & ~t["reproduced"]]
    unexpected = bad[~bad["fact_id"].isin(KNOWN_REQUIRED_MISSES)]
    detail = "; ".join(f"{r.fact_id} {r.description}: target {r.target}, mean {r.mean:.4g} "
                       f"(min {r.min:.4g}, max {r.max:.4g})" for r in unexpected.itertuples())
    assert unexpected.empty, f"{len(unexpected)} required fact(s) newly not reproduced: {detail}"
    odd = (Path(__file__).resolve().parents[1] / "docs" / "ODD.md").read_text(encoding="utf-8")
    section = odd[odd.index("### 7.18"):odd.index("### 7.19")]
    assert all(fid in section for fid in bad["fact_id"]), "docs/ODD.md 7.18 must explain every miss"
    # the seeds' spread of the count brackets the count itself
    low, high = v.seed_range
    assert low <= int(t["required"].sum()) - len(bad) <= high < int(t["required"].sum()) + 1


def test_facts_outside_a_shortened_run_are_left_out_not_failed(short_run, tmp_path, monkeypatch):
    facts = load_facts()
    inside, outside = facts_in_run(facts, short_run)
    assert inside and outside and len(inside) + len(outside) == len(facts)
    assert all(set(f.months()) | set(f.base_months()) <= set(short_run["month"]) for f in inside)
    with pytest.raises(FactError, match="no fact falls within the run"):
        facts_in_run([f for f in facts if f not in inside], short_run)
    # a change on the run's first month (2024-01): the fact's month is in, the month it compares with is not
    first = Fact("M1", "price", "2024-01", measure="mom_pct", product="prnd_oxide", target=0.0, tolerance=5.0)
    with pytest.raises(FactError, match=r"fact\(s\) M1 fall within it, but the month\(s\) they compare with do not"):
        facts_in_run([first], short_run)
    monkeypatch.chdir(tmp_path)
    for period, status, said in (("end = 2024-06-30", (0, 1), "left out, not within the run (not checked): F01 "
                                  "(2025-02 with the months it compares with: after the run's last whole month, 2024-06)"),
                                 ("start = 2026-01-01", (2,), "no fact falls within the run (2026-01 .. 2026-12)")):
        f = tmp_path / f"{period[:3]}.toml"
        f.write_text(f'extends = "{BASELINE}"\n{period}\nspin_up_weeks = 4\n', encoding="utf-8")
        res = CliRunner().invoke(main, ["validate", str(f), "--replicates", "1", "--workers", "1",
                                        "--no-figures", "--out", str(tmp_path / f"v{period[:3]}")])
        assert res.exit_code in status, res.output
        assert said in res.output and "Traceback" not in res.output


def _tiny_with_facts(tmp_path, rows: list[str]) -> Path:
    _write(tmp_path, rows)
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'extends = "{(ROOT / "tests" / "data" / "tiny.toml").as_posix()}"\n'
                        f'name = "s"\nfacts_file = "facts.csv"\n', encoding="utf-8")
    return scenario


# a Dy oxide price in the US, where nobody buys Dy oxide: each name is valid alone
DY_IN_US = "X1,true,d,price,market,dy_oxide,us,2024-03,level,,within,2000,100,yuan/kg,,,,,S001,000,"
# Dy oxide exported by magnet makers, who sell magnets: a flow, whose rows only a run has
DY_FROM_MAKERS = "X1,true,d,exports,magnet_makers,dy_oxide,*,2024-03,level,,within,10,5,t,,,,,S001,000,"


def test_check_refuses_a_fact_on_a_series_the_run_will_not_have(tmp_path):
    """check tests each fact against the rows the run will have, not each name alone, and
    says which names the run has with the others (before: after every replicate had run)."""
    res = CliRunner().invoke(main, ["check", str(_tiny_with_facts(tmp_path, [DY_IN_US]))])
    assert res.exit_code == 2, res.output
    assert f"{tmp_path / 'facts.csv'}, line 2 (X1): region 'us': the run has no price rows for it" in res.output
    assert "with stage market, product dy_oxide; allowed: china" in res.output and "Traceback" not in res.output


def test_validate_refuses_a_flow_fact_on_every_replicates_rows_naming_its_line(tmp_path, monkeypatch):
    """A flow's rows exist only in a run, and which exist differs by seed (nothing flowed):
    checked on every replicate's rows, so the answer does not depend on which came back first."""
    import rechain.experiments.validate as v
    runs = []
    real = v._run_monthly
    monkeypatch.setattr(v, "_run_monthly", lambda item: (runs.append(item), real(item))[1])
    scenario = _tiny_with_facts(tmp_path, [DY_FROM_MAKERS])
    assert CliRunner().invoke(main, ["check", str(scenario)]).exit_code == 0     # flows: left to the run
    res = CliRunner().invoke(main, ["validate", str(scenario), "--replicates", "3", "--workers", "1",
                                    "--no-figures", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "line 2 (X1): product 'dy_oxide': the run has no exports rows for it with stage magnet_makers; " \
           "allowed: magnet_std, magnet_uh" in res.output
    assert len(runs) == 3 and not (tmp_path / "out").exists()


def test_check_says_when_no_package_fact_falls_within_the_run_and_validate_names_the_table(tmp_path):
    scenario = tmp_path / "later.toml"
    scenario.write_text(f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\nname = "later"\n'
                        'start = 2027-01-01\nend = 2027-12-31\n[after_last_year]\nrule = "hold"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(scenario)])
    assert res.exit_code == 0 and "facts: none of the package's facts" in res.output, res.output
    assert "rechain validate needs a facts table of the period" in res.output
    res = CliRunner().invoke(main, ["validate", str(scenario), "--replicates", "1", "--workers", "1", "--no-figures",
                                    "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "rechain/data/facts.csv: no fact falls within the run" in res.output, res.output


def test_empty_selection_names_the_column_at_fault():
    table = pd.DataFrame({"variable": ["price"] * 3, "stage": ["market"] * 3, "product": ["dy_oxide", "dy_oxide", "magnet_uh"],
                          "region": ["china", "eu", "us"], "month": ["2024-01"] * 3, "value": [1.0] * 3})
    assert empty_selection(table, ("price", "market", "dy_oxide", "us")).startswith(
        "region 'us': the run has no price rows for it with stage market, product dy_oxide; allowed: china, eu")
    assert empty_selection(table, ("price", "market", "tb_oxide", "*")).startswith(
        "product 'tb_oxide': the run has no price rows for it with stage market; allowed: dy_oxide, magnet_uh")
    assert empty_selection(table, ("price", "miners", "dy_oxide", "china"), "other_").startswith("other_stage 'miners'")


def test_validate_takes_a_table_of_records_on_the_command_line(tmp_path):
    """An analyst's own records checked against any scenario without writing a scenario file."""
    rows = [GOOD.replace("X1", "A1").replace("production,magnet_makers,magnet_std+magnet_uh,*,2025-10,mom_pct,,within,-5,3,%",
                                            "price,market,prnd_oxide,*,2024-03,level,,within,400000,60000,yuan/t")]
    table = _write(tmp_path, rows)
    res = CliRunner().invoke(main, ["validate", str(ROOT / "tests" / "data" / "tiny.toml"), "--facts", str(table),
                                    "--replicates", "1", "--workers", "1", "--no-figures", "--out", str(tmp_path / "v")])
    assert res.exit_code in (0, 1), res.output
    assert "A1 " in res.output and "score" in res.output and "F01" not in res.output
    assert f"The facts are `{table}`." in (tmp_path / "v" / "facts.md").read_text(encoding="utf-8")
    res = CliRunner().invoke(main, ["validate", str(ROOT / "tests" / "data" / "tiny.toml"), "--facts",
                                    str(tmp_path / "none.csv"), "--out", str(tmp_path / "w")])
    assert res.exit_code == 2 and "none.csv" in res.output and not (tmp_path / "w").exists(), res.output


def test_a_fact_can_hold_a_stage_to_its_capacity(tmp_path, short_run):
    """An era's capacity record (magnet lines, mines) is a fact like any other: capacity online
    per producing stage, t a year (monthly.csv's capacity rows)."""
    rows = ["C1,true,lines,capacity,magnet_makers,all,all,2024-02,level,,within,380000,5000,t blanks/yr,,,,,S,x,",
            "C2,true,lines,capacity,magnet_makers,all,all,2024-02,level,,within,300000,5000,t blanks/yr,,,,,S,x,"]
    facts = load_facts(_write(tmp_path, rows), default_vocabulary())
    got = [evaluate_fact(f, short_run) for f in facts]
    assert got[0]["value"] == pytest.approx(380_000, rel=0.01) and got[0]["ok"] and not got[1]["ok"]
    with pytest.raises(FactError, match="capacity"):
        load_facts(_write(tmp_path, [rows[0].replace("magnet_makers", "motor_makers")]), default_vocabulary())
