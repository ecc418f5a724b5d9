"""The what-if library: every shipped scenario loads, validates and runs, and every what-if
moves the chain the way its header says (``Claimed: ...``); plus ``rechain compare``.

Full runs are shared by the whole module (one pool of two processes, seeds 0 and 1); a
claim compares the mean over the two seeds of the what-if with that of its reference run
with the same seeds.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rechain.cli import main
from rechain.compare import _run_one, compare, recovery_months
from rechain.outputs import code_fingerprint
from rechain.results import run
from rechain.scenario import ScenarioError, load_scenario, scenario_hash

ROOT = Path(__file__).parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
# scenarios with their own facts table are validations, not what-ifs: eras restate another period
# (tests/test_era.py), the held-out records hold the baseline to other quotes (tests/test_holdout.py)
WHATIFS = [p for p in SCENARIOS if p.stem != "baseline" and "\nfacts_file =" not in p.read_text()]
TINY = ROOT / "tests" / "data" / "tiny.toml"
SEEDS = (0, 1)


# ---------------------------------------------------------------------------------------
# every shipped scenario
# ---------------------------------------------------------------------------------------
def test_the_library_has_the_what_ifs_the_issue_asks_for():
    names = {p.stem for p in SCENARIOS}
    assert {"baseline", "export_controls_2025", "no_export_controls", "licence_approvals_halved",
            "heavy_magnet_export_ban", "myanmar_stop_quarter", "mining_quota_frozen", "mining_quota_plus10",
            "recycling_30pct", "nev_robot_boom", "ce_substitution", "state_stockpile"} <= names
    used = {k for p in WHATIFS for k in ("export_quotas", "import_tariffs", "price_elasticity")
            if k in p.read_text()}
    assert used == {"export_quotas", "import_tariffs", "price_elasticity"}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_loads_validates_and_checks(path):
    sc = load_scenario(path)
    assert sc.name == path.stem
    res = CliRunner().invoke(main, ["check", str(path)])
    assert res.exit_code == 0, res.output
    assert "ok" in res.output


@pytest.mark.parametrize("path", WHATIFS, ids=[p.stem for p in WHATIFS])
def test_what_if_is_short_and_has_a_header(path):
    text = path.read_text()
    lines = text.splitlines()
    assert lines[0].startswith("# What-if:")
    header = "\n".join(line for line in lines if line.startswith("#"))
    for word in ("Question:", "Claimed:", "Changes:", "Sources:"):
        assert word in header, f"{path.name}: header lacks {word!r}"
    assert 'extends = "baseline.toml"' in text
    settings = [s for s in lines if s.strip() and not s.lstrip().startswith("#")
                and not re.match(r"^(extends|name|question|description)\s*=", s)]
    assert len(settings) <= 15, f"{path.name} has {len(settings)} lines of settings"
    assert path.stem in CLAIMED, f"{path.name}: add its claims to CLAIMS in this file"


def test_export_controls_2025_is_the_baseline_under_its_own_name():
    a = load_scenario(ROOT / "scenarios" / "baseline.toml").model_dump(mode="json")
    b = load_scenario(ROOT / "scenarios" / "export_controls_2025.toml").model_dump(mode="json")
    for key in ("name", "question", "description"):
        a.pop(key), b.pop(key)
    assert a == b


def test_a_what_if_says_nothing_of_itself_that_the_file_it_extends_says(tmp_path):
    """A what-if without its own name, description or question does not take the baseline's
    ("Reference run: ..."), which the HTML report would print as the what-if's question."""
    f = tmp_path / "no_header.toml"
    f.write_text(f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\n[behaviour]\nw_news = 2.0\n',
                 encoding="utf-8")
    sc = load_scenario(f)
    assert (sc.name, sc.description, sc.question) == ("no_header", "", "")
    g = tmp_path / "own.toml"
    g.write_text(f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\nquestion = "Twice the news?"\n',
                 encoding="utf-8")
    assert load_scenario(g).question == "Twice the news?"


# ---------------------------------------------------------------------------------------
# full runs, shared by the module
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, int], pd.DataFrame]:
    """Monthly tables of every shipped scenario with seeds 0 and 1 (two processes)."""
    tasks = [(load_scenario(p), s) for p in SCENARIOS for s in SEEDS]
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
        return {(name, seed): m for name, seed, m, _ in ex.map(_run_one, tasks)}


def _sel(m: pd.DataFrame, variable: str, **match) -> pd.Series:
    d = m[m["variable"] == variable]
    for k, v in match.items():
        d = d[d[k].isin(v)] if isinstance(v, (list, tuple)) else d[d[k] == v]
    return d.groupby("month")["value"].sum()


MAGNETS = ["magnet_std", "magnet_uh"]


def total(variable, first, last, **match):
    return lambda m: float(_sel(m, variable, **match).loc[first:last].sum())


def mean_price(product, first, last, region="china"):
    return lambda m: float(_sel(m, "price", product=product, region=region).loc[first:last].mean())


def min_price(product, region="china"):
    return lambda m: float(_sel(m, "price", product=product, region=region).min())


def recycled_share(m):
    p = m[(m["variable"] == "production") & m["product"].isin(["prnd_oxide", "dy_oxide", "tb_oxide"])]
    return float(p.loc[p["stage"] == "recyclers", "value"].sum() / p["value"].sum())


MAGNETS = ["magnet_std", "magnet_uh"]
# (what-if, reference, what is measured, metric, direction the header claims)
CLAIMS = [
    ("myanmar_stop_quarter", "baseline", "ore imports May-Jul 2025, t REO",
     total("imports", "2025-05", "2025-07", stage="separation_plants"), "lower"),
    ("myanmar_stop_quarter", "baseline", "mean Dy oxide price May 2025-Apr 2026",
     mean_price("dy_oxide", "2025-05", "2026-04"), "higher"),
    ("myanmar_stop_quarter", "baseline", "mean Tb oxide price May 2025-Apr 2026",
     mean_price("tb_oxide", "2025-05", "2026-04"), "higher"),
    ("no_export_controls", "baseline", "magnet exports 2025, t", total("exports", "2025-01", "2025-12", product=MAGNETS), "higher"),
    ("no_export_controls", "baseline", "overseas shortfall, t",
     total("shortfall", "2024-01", "2026-12", stage="overseas_buyers"), "lower"),
    ("heavy_magnet_export_ban", "baseline", "UH magnet exports May 2025-Mar 2026, t",
     total("exports", "2025-05", "2026-03", product="magnet_uh"), "lower"),
    ("heavy_magnet_export_ban", "baseline", "magnet exports 2025, t", total("exports", "2025-01", "2025-12", product=MAGNETS), "lower"),
    ("licence_approvals_halved", "baseline", "licences granted, t",
     total("licences_granted", "2024-01", "2026-12"), "lower"),
    ("licence_approvals_halved", "baseline", "magnet exports 2025, t", total("exports", "2025-01", "2025-12", product=MAGNETS), "lower"),
    ("licence_approvals_halved", "baseline", "overseas shortfall, t",
     total("shortfall", "2024-01", "2026-12", stage="overseas_buyers"), "higher"),
    ("mining_quota_frozen", "baseline", "rock-type ore mined 2026, t REO",
     total("production", "2026-01", "2026-12", stage="miners", product="light_ore"), "lower"),
    ("mining_quota_plus10", "mining_quota_frozen", "mean Pr-Nd oxide price 2026",
     mean_price("prnd_oxide", "2026-01", "2026-12"), "lower"),
    ("recycling_30pct", "baseline", "recyclers' share of oxide output", recycled_share, "higher"),
    ("nev_robot_boom", "baseline", "magnet output 2025, t",
     total("production", "2025-01", "2025-12", stage="magnet_makers", product=MAGNETS), "higher"),
    ("nev_robot_boom", "baseline", "mean Pr-Nd oxide price 2025-2026",
     mean_price("prnd_oxide", "2025-01", "2026-12"), "higher"),
    ("ce_substitution", "baseline", "mean Pr-Nd oxide price", mean_price("prnd_oxide", "2024-01", "2026-12"),
     "lower"),
    ("dy_tb_mix", "baseline", "mean Tb oxide price 2025-2026", mean_price("tb_oxide", "2025-01", "2026-12"), "lower"),
    ("dy_tb_mix", "baseline", "mean 52UH magnet price 2025-2026", mean_price("magnet_uh", "2025-01", "2026-12"),
     "lower"),
    ("state_stockpile", "baseline", "lowest Pr-Nd oxide price", min_price("prnd_oxide"), "higher"),
    ("export_quota_magnets", "baseline", "magnet exports 2026, t", total("exports", "2026-01", "2026-12", product=MAGNETS), "lower"),
    ("export_quota_magnets", "baseline", "overseas shortfall, t",
     total("shortfall", "2024-01", "2026-12", stage="overseas_buyers"), "higher"),
    ("us_magnet_tariff", "baseline", "magnet exports to the US 2026, t",
     total("exports", "2026-01", "2026-12", product=MAGNETS, region="us"), "lower"),
    ("illegal_supply", "baseline", "Pr-Nd oxide separated 2024-2026, t",
     total("production", "2024-01", "2026-12", stage="separation_plants", product="prnd_oxide"), "higher"),
    ("illegal_supply", "baseline", "mean Pr-Nd oxide price 2024-2026", mean_price("prnd_oxide", "2024-01", "2026-12"),
     "lower"),
]
CLAIMED = {(c.values if hasattr(c, "values") else c)[0] for c in CLAIMS} | {"export_controls_2025"}   # the latter: test above


@pytest.mark.parametrize("whatif, ref, what, metric, direction", CLAIMS,
                         ids=[(lambda v: f"{v[0]}:{v[2].split(',')[0]}")(c.values if hasattr(c, "values") else c)
                              for c in CLAIMS])
def test_what_if_moves_the_way_its_header_claims(runs, whatif, ref, what, metric, direction):
    a = [metric(runs[(whatif, s)]) for s in SEEDS]
    b = [metric(runs[(ref, s)]) for s in SEEDS]
    ma, mb = float(np.mean(a)), float(np.mean(b))
    detail = f"{what}: {whatif} {a} (mean {ma:,.4g}) vs {ref} {b} (mean {mb:,.4g})"
    if direction == "lower":
        assert ma < mb, detail
    else:
        assert ma > mb, detail


def test_heavy_magnet_ban_all_but_stops_uh_exports(runs):
    metric = total("exports", "2025-05", "2026-03", product="magnet_uh")
    for s in SEEDS:
        assert metric(runs[("heavy_magnet_export_ban", s)]) < 0.05 * metric(runs[("baseline", s)])


def test_export_quota_caps_2026_exports(runs):
    for s in SEEDS:
        assert total("exports", "2026-01", "2026-12", product=MAGNETS)(runs[("export_quota_magnets", s)]) <= 45000 * (1 + 1e-9)


@pytest.mark.parametrize("name", ["baseline", "illegal_supply"])
def test_a_years_quota_use_stays_within_what_was_issued(runs, name):
    """Each year's quota use, summed over its months, stays within what was issued that year:
    the work outside the quotas (illegal_supply) never counts against them, and a week across
    New Year counts in the year whose quota it used (the baseline's 2026 read 266,417 t of
    rock-type quota used against 266,000 when that week was split by days)."""
    for s in SEEDS:
        m = runs[(name, s)]
        q = m[m["variable"].isin(["quota_used", "quota_issued"])].assign(year=lambda d: d["month"].str[:4])
        used = q[q["variable"] == "quota_used"].groupby(["product", "year"])["value"].sum()
        issued = q[q["variable"] == "quota_issued"].groupby(["product", "year"])["value"].max()
        assert (used <= issued + 1e-6).all(), (used - issued)[used > issued + 1e-6]


def test_recycling_ramp_collects_six_times_as_much_in_2026(runs):
    eol = total("eol_collected", "2026-01", "2026-12")
    for s in SEEDS:
        assert eol(runs[("recycling_30pct", s)]) == pytest.approx(6.0 * eol(runs[("baseline", s)]), rel=0.02)


# ---------------------------------------------------------------------------------------
# rechain compare
# ---------------------------------------------------------------------------------------
def test_recovery_months():
    ref = pd.Series([100.0] * 8, index=[f"2025-{i:02d}" for i in range(1, 9)])
    assert recovery_months(ref * 1.05, ref) == 0.0
    bump = ref.copy()
    bump.iloc[2:5] = 130.0
    assert recovery_months(bump, ref) == 3.0
    late = ref.copy()
    late.iloc[6:] = 150.0
    assert math.isnan(recovery_months(late, ref))
    # a run longer than its reference: judged on the months both have (a month without a
    # reference counted as within the band, and a price 20 % off in the last shared month
    # read as recovered)
    off_at_end = bump.copy()
    off_at_end.iloc[2:5] = 100.0
    off_at_end.iloc[5] = 120.0
    assert math.isnan(recovery_months(off_at_end, ref.iloc[:6]))
    assert recovery_months(bump, ref.iloc[:6]) == 3.0


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("tiny")
    ban = d / "tiny_ban.toml"
    ban.write_text(f'extends = "{TINY.as_posix()}"\nname = "tiny_ban"\n'
                   '[[export_controls]]\nname = "ban"\nproducts = ["magnet_uh", "magnet_std"]\nstart = 2024-02-01\n'
                   'approval = [{ start = 2024-02-01, rate = 0.0 }]\n')
    return [TINY, ban]


def test_compare_writes_table_and_plots(tiny_pair, tmp_path):
    out = tmp_path / "cmp"
    comp = compare(tiny_pair, seeds=[0, 1], out_dir=out, workers=2, runs_dir=None, band=True)
    assert comp.out_dir == out and comp.names == ["tiny", "tiny_ban"]
    for f in ("kpis.csv", "kpis.md", "kpis_long.csv", "kpis_by_seed.csv", "series.csv", "compare.json",
              "overview.png", "price_prnd_oxide.png", "price_dy_oxide.png", "price_tb_oxide.png",
              "magnet_output.png", "exports.png", "dytb_oxide_output.png"):
        assert (out / f).is_file(), f
    wide = pd.read_csv(out / "kpis.csv", index_col=[0, 1])
    assert list(wide.columns) == ["tiny", "tiny_ban"]
    kpis = set(wide.index.get_level_values(0))
    for k in ("price_peak_prnd_oxide", "price_mean_dy_oxide", "months_to_recover_tb_oxide", "shortfall_overseas_t",
              "magnet_output_change_pct", "recycled_share_of_oxide", "licences_granted_t"):
        assert k in kpis
    assert wide.loc[("magnet_output_change_t", "t"), "tiny"] == 0.0
    assert wide.loc[("exports_t", "t"), "tiny_ban"] < wide.loc[("exports_t", "t"), "tiny"]
    # magnet exports, as labelled: the same figure the single run's report gives per year
    from rechain.report import kpis as run_kpis
    single = run_kpis(run(TINY, seed=0).monthly)
    by_seed = pd.read_csv(out / "kpis_by_seed.csv")
    mine = by_seed[(by_seed["scenario"] == "tiny") & (by_seed["seed"] == 0)]
    assert mine[mine["kpi"] == "exports_t"]["value"].iloc[0] == pytest.approx(
        sum(v for k, v in single.items() if k.startswith("exports_2") and k.endswith("_t")))
    assert wide.loc[("shortfall_overseas_t", "t"), "tiny_ban"] > wide.loc[("shortfall_overseas_t", "t"), "tiny"]
    md = (out / "kpis.md").read_text()
    assert "| key figure | unit | tiny | tiny_ban |" in md and "[" in md      # the 90 % band
    long = pd.read_csv(out / "kpis_long.csv")
    assert (long["seeds"] == 2).all()
    finite = long[["p05", "mean", "p95"]].dropna()
    assert (finite["p05"] <= finite["mean"] + 1e-6).all() and (finite["mean"] <= finite["p95"] + 1e-6).all()
    series = pd.read_csv(out / "series.csv")
    assert set(series["series"]) == {"price_prnd_oxide", "price_dy_oxide", "price_tb_oxide", "magnet_output",
                                     "exports", "dytb_oxide_output"}
    assert set(series["seed"]) == {0, 1}


def test_compare_reuses_a_finished_run_with_the_same_hash(tiny_pair, tmp_path):
    runs_dir = tmp_path / "outputs"
    sc = load_scenario(TINY)
    res = run(sc, seed=0)
    res.save(runs_dir / "tiny-seed0", figures=False)
    manifest = json.loads((runs_dir / "tiny-seed0" / "manifest.json").read_text())
    assert manifest["scenario_sha256"] == scenario_hash(sc)
    comp = compare(tiny_pair, seeds=[0], runs_dir=runs_dir, write=False, workers=1)
    assert comp.reused == ["tiny-seed0"]
    fresh = compare(tiny_pair, seeds=[0], runs_dir=None, write=False, workers=1)
    pd.testing.assert_frame_equal(comp.kpis, fresh.kpis)
    # a run of a different scenario under the same name is not reused
    (runs_dir / "tiny-seed0" / "manifest.json").write_text(json.dumps({**manifest, "scenario_sha256": "x"}))
    assert compare(tiny_pair, seeds=[0], runs_dir=runs_dir, write=False, workers=1).reused == []
    # nor one made by other code (an upgrade): its numbers are not this code's (reused before)
    assert manifest["rechain_code_sha256"] == code_fingerprint()
    (runs_dir / "tiny-seed0" / "manifest.json").write_text(json.dumps({**manifest, "rechain_code_sha256": "0" * 64}))
    assert compare(tiny_pair, seeds=[0], runs_dir=runs_dir, write=False, workers=1).reused == []



@pytest.mark.parametrize("damage", ["a,b\n1,2\n", "header", "cut", "manifest_list", "twice", "month13"])
def test_compare_runs_again_rather_than_read_a_damaged_run(tiny_pair, tmp_path, damage):
    """A finished run whose table was edited, emptied or cut short, or whose manifest is not
    an object, is not that run any more: compare runs the scenario again (and leaves the
    user's folder as it is)."""
    runs_dir = tmp_path / "outputs"
    sc = load_scenario(TINY)
    run(sc, seed=0).save(runs_dir / "tiny-seed0", figures=False)
    monthly = runs_dir / "tiny-seed0" / "monthly.csv"
    lines = monthly.read_text().splitlines(keepends=True)
    if damage == "header":
        monthly.write_text(lines[0])
    elif damage == "cut":
        last = lines[-1].split(",")[0]
        monthly.write_text("".join(line for line in lines if not line.startswith(last)))
    elif damage == "manifest_list":
        (runs_dir / "tiny-seed0" / "manifest.json").write_text("[1, 2]")
    elif damage == "twice":        # a row given twice (a spreadsheet's paste): the KPIs could not be read
        monthly.write_text("".join([*lines[:3], lines[2], *lines[3:]]))
    elif damage == "month13":
        monthly.write_text("".join([lines[0], "2024-13" + lines[1][len("2024-01"):], *lines[2:]]))
    else:
        monthly.write_text(damage)
    before = monthly.read_bytes()
    comp = compare(tiny_pair, seeds=[0], runs_dir=runs_dir, write=False, workers=1)
    assert comp.reused == []
    fresh = compare(tiny_pair, seeds=[0], runs_dir=None, write=False, workers=1)
    pd.testing.assert_frame_equal(comp.kpis, fresh.kpis)
    assert monthly.read_bytes() == before


def test_compare_cli(tiny_pair, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["compare", *map(str, tiny_pair), "--no-figures", "--quiet"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "outputs" / "compare-tiny-tiny_ban" / "kpis.md").is_file()
    res = CliRunner().invoke(main, ["compare", *map(str, tiny_pair), "--seeds", "2", "--replicates", "2"])
    assert res.exit_code == 2


def test_compare_with_a_bad_scenario_runs_and_writes_nothing(tiny_pair, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = ROOT / "tests" / "malformed" / "unknown_key.toml"
    with pytest.raises(ScenarioError):
        compare([tiny_pair[0], bad], seeds=[0], out_dir=tmp_path / "cmp", workers=1)
    res = CliRunner().invoke(main, ["compare", str(tiny_pair[0]), str(bad), "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 2 and "restock_strength" in res.output
    assert not (tmp_path / "cmp").exists() and not (tmp_path / "outputs").exists()


# ---------------------------------------------------------------------------------------
# docs
# ---------------------------------------------------------------------------------------
def test_docs_key_reference_is_current():
    """docs/scenarios.md carries the key reference generated from the schema; after changing
    the schema, run `python docs/gen_scenario_reference.py --write`."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_scenario_reference", ROOT / "docs" / "gen_scenario_reference.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    doc = (ROOT / "docs" / "scenarios.md").read_text()
    assert gen.reference() in doc, "run: python docs/gen_scenario_reference.py --write"


def test_compare_series_read_as_their_titles(baseline_run):
    """'Magnet exports' summed oxide and metal exports in; 'Dy + Tb oxide output (separation +
    recycling)' counted producers abroad."""
    from rechain.experiments.compare import main_series
    m = baseline_run.monthly
    s = main_series(m)
    ex = m[(m["variable"] == "exports") & m["product"].isin(["magnet_std", "magnet_uh"])].groupby("month")["value"].sum()
    assert np.allclose(s["exports"].to_numpy(), ex.reindex(s.index).fillna(0.0).to_numpy())
    prod = m[(m["variable"] == "production") & m["product"].isin(["dy_oxide", "tb_oxide"])]
    china = prod[prod["stage"].isin(["separation_plants", "recyclers"])].groupby("month")["value"].sum()
    assert np.allclose(s["dytb_oxide_output"].to_numpy(), china.reindex(s.index).fillna(0.0).to_numpy())
    assert (prod["stage"] == "foreign_producers").any()          # there is something to leave out
