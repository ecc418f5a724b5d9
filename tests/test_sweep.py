"""Batch sweeps: sweep files, seeds, parallel runs, resuming, failures, analysis.

All sweeps run the six-month, small-firm-count scenario ``tests/data/tiny.toml``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from support import ROOT

from rechain.analyze import analyze
from rechain.cli import main
from rechain.experiments import runs as runs_mod
from rechain.outputs import code_fingerprint
from rechain.scenario import ScenarioError
from rechain.sweep import (load_results, load_sweep, make_model_function, model_function, parse_path, run_seed,
                           run_sweep)

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"
GRID = DATA / "tiny_grid.toml"
APPROVAL = "export_controls[April 2025 medium-heavy controls].approval[0].rate"
CONTROLS = """
[[overrides.export_controls]]
name = "April 2025 medium-heavy controls"
products = ["magnet_uh", "dy_oxide", "tb_oxide"]
start = 2024-02-01
approval = [{ start = 2024-02-01, rate = 0.5 }]
"""

# a four-month tiny run with a Myanmar closure whose dates a sweep can vary
CLOSURE = """
[overrides]
end = 2024-04-30
[[overrides.disruptions]]
name = "closure"
target = "myanmar_holders"
start = 2024-02-01
end = 2024-04-01
capacity_offline_share = 0.5
"""

# a three-month tiny run at two noise levels
NOISE_LEVELS = """
design = "grid"
[overrides]
end = 2024-03-31
[parameters]
"behaviour.noise" = { levels = [0.0, 0.01] }
[outputs]
kpis = ["price_peak_prnd_oxide"]
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def tiny_sweep(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    """A sweep file in tmp_path whose base is the tiny scenario."""
    return write(tmp_path / name, f'base = "{TINY.as_posix()}"\n' + body)


# --------------------------------------------------------------------------- building blocks
def test_run_seed_is_the_spawned_child():
    children = np.random.SeedSequence(123).spawn(5)
    for i, ss in enumerate(children):
        assert run_seed(123, i) == int(ss.generate_state(1, dtype=np.uint64)[0]) & (2**63 - 1)
    assert len({run_seed(123, i) for i in range(100)}) == 100


@pytest.mark.parametrize("path, tokens", [
    ("behaviour.restock_strength", ("behaviour", "restock_strength")),
    (APPROVAL, ("export_controls", "April 2025 medium-heavy controls", "approval", 0, "rate")),
    ("sectors.nev.units_per_yr.2025", ("sectors", "nev", "units_per_yr", "2025")),
    ('disruptions["No. 18 closure"].end', ("disruptions", "No. 18 closure", "end")),
])
def test_parse_path(path, tokens):
    assert parse_path(path) == tokens


@pytest.mark.parametrize("bad", ["", "a..b", "a.", "[0].x", "a[0", "a]b", "a[0]b"])
def test_parse_path_rejects(bad):
    with pytest.raises(ValueError):
        parse_path(bad)


def test_points_run_order_and_values():
    sw = load_sweep(GRID)
    assert sw.n_points == 4 and sw.n_runs == 8
    # point-major, replicate-minor; grid: first parameter varies slowest
    assert [sw.run_of(i)[:2] for i in range(4)] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [p["approval"] for p in sw.points] == [0.3, 0.9, 0.3, 0.9]
    assert sw.run_of(5)[2] == run_seed(11, 5)


# --------------------------------------------------------------------------- parallel = serial
def test_one_and_two_workers_give_identical_tables(tmp_path):
    r1, s1 = run_sweep(GRID, workers=1, out=tmp_path / "w1")
    r2, s2 = run_sweep(GRID, workers=2, out=tmp_path / "w2", batch_size=1)
    assert len(r1) == 8 and (r1["status"] == "ok").all()
    assert list(r1["run_id"]) == list(range(8))
    pd.testing.assert_frame_equal(r1, r2)
    pd.testing.assert_frame_equal(s1, s2)
    assert set(s1["series"]) == {"price[product=prnd_oxide]"}
    assert len(s1) == 8 * 6                       # 8 runs x 6 months
    # replicates differ (own seeds), and a point's replicate matches a lone run with its seed
    assert r1.loc[0, "price_peak_prnd_oxide"] != r1.loc[1, "price_peak_prnd_oxide"]
    k = model_function(GRID, seed=int(r1.loc[3, "seed"]), **{"approval": 0.9,
                                                             "behaviour.restock_strength": 0.5})
    assert k["price_peak_prnd_oxide"] == r1.loc[3, "price_peak_prnd_oxide"]


def test_dask_local_cluster_gives_the_same_tables(tmp_path):
    pytest.importorskip("distributed")
    r1, s1 = run_sweep(GRID, workers=1, out=tmp_path / "serial")
    r2, s2 = run_sweep(GRID, workers=2, out=tmp_path / "dask", scheduler="local")
    pd.testing.assert_frame_equal(r1, r2)
    pd.testing.assert_frame_equal(s1, s2)


# --------------------------------------------------------------------------- kill and resume
def test_killed_sweep_resumes_with_every_run_once(tmp_path):
    spec = tiny_sweep(tmp_path, """
name = "kill_me"
design = "grid"
replicates = 5
root_seed = 3
batch_size = 1
[overrides]
end = 2024-04-30
[parameters]
"behaviour.restock_strength" = { levels = [0.5, 1.0, 1.5, 2.0] }
[outputs]
kpis = ["price_peak_prnd_oxide", "magnet_output_2024_t"]
series = [{ variable = "exports", product = "magnet_std+magnet_uh" }]
""")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "rechain.cli", "sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "runs").glob("part-*.parquet"))) < 3:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)     # the sweep and its worker processes
        proc.wait()
    n_before = len(list((out / "runs").glob("part-*.parquet")))
    assert 3 <= n_before < 20

    # resuming without --resume is refused; with it, only the missing runs are run
    res = CliRunner().invoke(main, ["sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet"])
    assert res.exit_code == 2 and "--resume" in res.output
    runs, series = run_sweep(spec, workers=1, out=out, resume=True)

    ids = []
    for f in (out / "runs").glob("part-*.parquet"):
        ids += pq.read_table(f, columns=["run_id"]).column("run_id").to_pylist()
    assert sorted(ids) == list(range(20))      # every run exactly once across the part files
    assert not list(out.rglob("*.tmp"))
    assert (runs["status"] == "ok").all()
    assert series.groupby("run_id").size().nunique() == 1 and series["run_id"].nunique() == 20

    ref, ref_series = run_sweep(spec, workers=1, out=tmp_path / "ref")
    pd.testing.assert_frame_equal(runs, ref)
    pd.testing.assert_frame_equal(series, ref_series)


def _descendants(pid: int) -> list[int]:
    """Processes below ``pid`` (Linux /proc), children first."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    out, todo = [], [pid]
    while todo:
        here = todo.pop()
        kids = [p for p, pp in parent.items() if pp == here]
        out += kids
        todo += kids
    return out


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (reaped or not, a zombie has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_killed_sweep_leaves_no_worker_behind_and_resumes(tmp_path, sig):
    """Only the main process is signalled (as a job scheduler or `kill PID` would): its
    worker processes must end within seconds, and --resume must complete the sweep."""
    spec = tiny_sweep(tmp_path, """
name = "orphans"
design = "grid"
replicates = 3
root_seed = 8
batch_size = 1
[overrides]
end = 2024-03-31
[parameters]
"behaviour.restock_strength" = { levels = [0.5, 1.0, 2.0] }
[outputs]
kpis = ["price_peak_prnd_oxide"]
series = [{ variable = "price", product = "prnd_oxide" }]
""")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "rechain.cli", "sweep", str(spec), "--workers", "2", "--out", str(out), "--quiet"]
    log = tmp_path / "stderr.txt"
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "runs").glob("part-*.parquet"))) < 2:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        workers = _descendants(proc.pid)
        assert len(workers) >= 2
        proc.send_signal(getattr(signal, sig))
        proc.wait(timeout=30)
        gone_by = time.monotonic() + 10
        while any(_running(p) for p in workers) and time.monotonic() < gone_by:
            time.sleep(0.1)
        assert not [p for p in workers if _running(p)], "worker processes outlived the sweep"
    finally:
        for p in workers + [proc.pid]:
            if _running(p):
                os.kill(p, signal.SIGKILL)
        proc.wait()
    if sig == "SIGTERM":      # as cleanly as Ctrl-C: a message saying how to resume
        assert proc.returncode == 143 and "--resume" in log.read_text()
    assert not list(out.rglob("*.tmp")) or sig == "SIGKILL"

    runs, series = run_sweep(spec, workers=1, out=out, resume=True)
    ids = []
    for f in (out / "runs").glob("part-*.parquet"):
        ids += pq.read_table(f, columns=["run_id"]).column("run_id").to_pylist()
    assert sorted(ids) == list(range(9))       # every run exactly once
    assert (runs["status"] == "ok").all() and series["run_id"].nunique() == 9


def test_resume_refuses_a_changed_sweep(tmp_path):
    body = NOISE_LEVELS
    spec = tiny_sweep(tmp_path, body)
    run_sweep(spec, out=tmp_path / "out")
    tiny_sweep(tmp_path, body.replace("0.01]", "0.02]"))
    res = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out"), "--resume", "--quiet"])
    assert res.exit_code == 2
    assert "is not the sweep whose results are in" in res.output
    assert "(changed: parameters)" in res.output        # what to put back (an outside audit)


def test_resume_refuses_runs_of_other_code(tmp_path):
    """The same seeds under other code give other numbers: a store made by another code (its
    manifest's code hash differs, or it has none, as before the hash was kept) is not resumed."""
    spec = tiny_sweep(tmp_path, NOISE_LEVELS)
    out = tmp_path / "out"
    run_sweep(spec, out=out)
    man_path = out / "manifest.json"
    man = json.loads(man_path.read_text())
    assert man["rechain_code_sha256"] == code_fingerprint()
    runs_before = sorted(p.name for p in (out / "runs").iterdir())
    for forged in ("0" * 64, None):
        if forged is None:
            man.pop("rechain_code_sha256")
        else:
            man["rechain_code_sha256"] = forged
        man_path.write_text(json.dumps(man))
        res = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--resume", "--quiet"])
        assert res.exit_code == 2, res.output
        assert "another version of rechain's code" in res.output and "Traceback" not in res.output
        assert sorted(p.name for p in (out / "runs").iterdir()) == runs_before


# --------------------------------------------------------------------------- failures
def test_a_failing_run_is_recorded_and_the_others_complete(tmp_path):
    # each level is valid alone, but a closure that ends before it starts is not
    spec = tiny_sweep(tmp_path, """
design = "grid"
root_seed = 5
""" + CLOSURE + """[parameters]
start = { path = "disruptions[closure].start", levels = [2024-02-01, 2024-03-15] }
end = { path = "disruptions[closure].end", levels = [2024-03-01, 2024-04-15] }
[outputs]
kpis = ["price_peak_prnd_oxide"]
""")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "1 run(s) failed" in res.output and "errors.csv" in res.output
    runs, _ = load_results(out)
    bad = runs[runs["status"] == "error"]
    assert len(runs) == 4 and len(bad) == 1
    row = bad.iloc[0]
    assert row["start"] == pd.Timestamp("2024-03-15").date() and row["end"] == pd.Timestamp("2024-03-01").date()
    assert "before start" in row["error"] and "s.toml" in row["error"]
    assert np.isnan(row["price_peak_prnd_oxide"])
    assert runs.loc[runs["status"] == "ok", "price_peak_prnd_oxide"].notna().all()
    errors = pd.read_csv(out / "errors.csv")
    assert list(errors["run_id"]) == [int(row["run_id"])]


def test_an_exception_inside_a_run_is_recorded(tmp_path, monkeypatch):
    spec = tiny_sweep(tmp_path, """
design = "grid"
[overrides]
end = 2024-03-31
[parameters]
"behaviour.noise" = { levels = [0.0, 0.01, 0.02] }
[outputs]
kpis = ["price_peak_prnd_oxide"]
""")
    real = runs_mod._evaluate

    def flaky(ctx, values, seed):
        if values["behaviour.noise"] == 0.01:
            raise FloatingPointError("boom")
        return real(ctx, values, seed)

    monkeypatch.setattr(runs_mod, "_evaluate", flaky)  # where a worker runs a point
    runs, _ = run_sweep(spec, workers=1, out=tmp_path / "out")
    assert list(runs["status"]) == ["ok", "error", "ok"]
    assert runs.loc[1, "error"].startswith("FloatingPointError: boom")


# --------------------------------------------------------------------------- malformed files
BAD = [
    ("unknown_key", 'desing = "grid"\n[parameters]\n"behaviour.noise" = { levels = [0.0] }\n',
     ["desing", "did you mean 'design'"]),
    ("unknown_path", '[parameters]\n"behaviour.restock_strengh" = { levels = [1.0] }\n',
     ["parameters.behaviour.restock_strengh", "did you mean 'restock_strength'", "line 3"]),
    ("unknown_item", '[parameters]\n"quota_policy.quotas[mining_rok-2024].total_t" = { levels = [1e5] }\n',
     ["no item named 'mining_rok-2024'", "did you mean [mining_rock-2024]"]),
    # an item the base does not have, in a list left empty (said "Items: []")
    ("item_of_an_empty_list", '[overrides]\nnews = []\n[parameters]\n"news[Rumour].strength" = { levels = [0.1] }\n',
     ["no item named 'Rumour'", "It has no items"]),
    ("level_out_of_range", '[parameters]\n"behaviour.w_social" = { levels = [0.5, 1.5] }\n',
     ["parameters.behaviour.w_social", "level 1.5 does not give a valid scenario", "given 1.5", "<= 1"]),
    ("min_above_max", 'design = "lhs"\nsamples = 4\n[parameters]\n"behaviour.noise" = { min = 0.2, max = 0.1 }\n',
     ["parameters.behaviour.noise", "given min 0.2 and max 0.1", "allowed: a min below the max"]),
    ("bad_design", 'design = "factorial"\n', ["design", "'factorial'", "'sobol'"]),
    ("not_a_parameter", '[parameters]\n"behaviour.noise" = 0.01\n',
     ["parameters.behaviour.noise", "given 0.01", "{levels = [...]}"]),
    ("sobol_samples", 'design = "sobol"\nsamples = 10\n[parameters]\n"behaviour.noise" = { min = 0.0, max = 0.1 }\n',
     ["samples", "power of 2"]),
    ("unknown_kpi", '[parameters]\n"behaviour.noise" = { levels = [0.0] }\n[outputs]\nkpis = ["price_peak_prnd"]\n',
     ["outputs.kpis", "unknown KPI 'price_peak_prnd'", "did you mean 'price_peak_prnd_"]),
    ("keeps_nothing", '[parameters]\n"behaviour.noise" = { levels = [0.0] }\n[outputs]\nkpis = []\n',
     ["outputs.kpis", "given an empty list and no series", "line 5"]),
    ("name_leaves_the_folder", 'name = "../../evil"\n[parameters]\n"behaviour.noise" = { levels = [0.0] }\n',
     ["line 2: name: given '../../evil'; allowed: 1 to 100 printable characters", "output folder names"]),
    ("name_absolute", 'name = "/tmp/evil"\n[parameters]\n"behaviour.noise" = { levels = [0.0] }\n',
     ["line 2: name: given '/tmp/evil'; allowed:"]),
    ("points_nul", 'design = "table"\npoints = "x\\u0000.csv"\n',
     ["line 3: points: given 'x\\x00.csv', a path with a NUL character; allowed: a CSV file's path"]),
    # a per-product entry the base leaves unset may be swept, but only under a name the table allows
    ("unset_entry_unknown_name",
     '[parameters]\n"firms.separation_plants.reservation_share_by_product.xx_oxide" = { levels = [0.6] }\n',
     ["is not a key of the base scenario", "has no entry 'xx_oxide'; did you mean 'tb_oxide'?",
      "(the table takes prnd_oxide, dy_oxide, tb_oxide, prnd_metal)"]),
    # points is text or a list: one line, not "allowed: text in quotes" and "allowed: a list" (an outside round)
    ("points_a_number", 'design = "table"\npoints = 5\n',
     ["line 3: points: given 5; allowed: a CSV file's name in quotes", "or a list of tables, one per run"]),
    ("points_a_table", 'design = "table"\npoints = { a = 1 }\n', ["points: given { a = 1 }; allowed: a CSV file's"]),
    ("points_a_list_of_lists", 'design = "table"\npoints = [[1, 2]]\n',
     ["points[0]: given [1, 2]; allowed: a table of key = value"]),
    # a table design runs its points: the advice for a range said "levels for every parameter", which then failed
    ("table_with_a_range", 'design = "table"\n[parameters]\n"behaviour.noise" = { min = 0.0, max = 0.1 }\n',
     ["a table design needs its points (points = \"file.csv\" or an inline list of tables)",
      "min/max are for lhs, sobol and morris"]),
    ("table_without_points", 'design = "table"\n[parameters]\n"behaviour.noise" = { levels = [0.0] }\n',
     ["points: a table design runs the points of a table: points = \"file.csv\" or an inline list"]),
    ("points_a_folder", 'design = "table"\npoints = "."\n',
     ["points: '.': given a directory", "read relative to the sweep file's folder"]),
    ("missing_base", None, ["base", "'nowhere.toml' not found"]),
    ("not_toml", None, ["not valid TOML"]),
]


@pytest.mark.parametrize("case, body, expected", BAD, ids=[b[0] for b in BAD])
def test_malformed_sweep_files_exit_2_with_one_clear_message(tmp_path, case, body, expected):
    if case == "missing_base":
        path = write(tmp_path / "s.toml", 'base = "nowhere.toml"\n')
    elif case == "not_toml":
        path = write(tmp_path / "s.toml", 'base = "x.toml\n')
    else:
        path = tiny_sweep(tmp_path, body)
    res = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 2, res.output
    msg = res.output.strip()
    assert msg.startswith(f"error: {path}") and msg.count("\n") == 0, msg
    for part in expected:
        assert part in msg, msg
    assert not (tmp_path / "out").exists()


def test_every_mistake_of_a_sweep_file_at_once(tmp_path):
    path = tiny_sweep(tmp_path, """
[parameters]
"behaviour.restock_strengh" = { levels = [1.0] }
"behaviour.w_social" = { levels = [0.5, 1.5] }
[outputs]
kpis = ["price_peak_prnd"]
""")
    res = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 2
    lines = res.output.splitlines()
    assert lines[-1] == "3 errors" and len(lines) == 4, res.output
    assert "restock_strengh" in lines[0] and "w_social" in lines[1] and "price_peak_prnd" in lines[2]
    assert all(s.startswith(f"error: {path}, line ") for s in lines[:3])
    assert not (tmp_path / "out").exists()


def test_sweep_messages_show_dates_as_written(tmp_path):
    path = tiny_sweep(tmp_path, CLOSURE + """[parameters]
start = { path = "disruptions[closure].start", levels = [2024-02-01, 2024-04-15] }
""")
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert "level 2024-04-15 does not give" in str(info.value) and "datetime" not in str(info.value)


def test_a_level_beyond_the_float_range_is_named_not_a_traceback(tmp_path):
    path = tiny_sweep(tmp_path, NOISE_LEVELS.replace("[0.0, 0.01]", "[0.0, 1" + "0" * 400 + "]"))
    res = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "parameters.behaviour.noise: level 1000" in res.output and "does not give a valid scenario" in res.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("setting, says", [
    ('replicates = "2"', "replicates: given '2'; allowed: a whole number"),
    ("root_seed = true", "root_seed: given true; allowed: a whole number"),
    ("root_seed = 1.0", "root_seed: given 1.0; allowed: a whole number"),
    ('second_order = "yes"', "second_order: given 'yes'; allowed: true or false"),
])
def test_sweep_settings_are_taken_as_written(tmp_path, setting, says):
    """As in a scenario, a setting of the wrong type is refused, not converted ("2" ran two
    replicates, "yes" was true)."""
    path = tiny_sweep(tmp_path, setting + "\n" + NOISE_LEVELS)
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert says in str(info.value)


@pytest.mark.parametrize("bound", ["1" + "0" * 400, "inf", "nan"])
def test_a_range_bound_that_is_not_a_finite_number_is_named(tmp_path, bound):
    path = tiny_sweep(tmp_path, f"""
design = "lhs"
samples = 2
[parameters]
"behaviour.noise" = {{ min = 0, max = {bound} }}
""")
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert "parameters.behaviour.noise: min and max must be finite numbers" in str(info.value)


def test_sobol_refuses_a_parameter_given_as_levels(tmp_path):
    path = tiny_sweep(tmp_path, """
design = "sobol"
samples = 4
[parameters]
"behaviour.noise" = { min = 0.0, max = 0.02 }
"behaviour.restock_strength" = { levels = [0.5, 2.0] }
""")
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    msg = str(info.value)
    assert "parameters.behaviour.restock_strength" in msg and "sobol" in msg and "min = ..., max = ..." in msg
    assert info.value.line == 7


def test_a_sweep_file_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GRID.read_bytes().replace(b'base = "tiny.toml"',
                                                                   f'base = "{TINY.as_posix()}"'.encode()))
    assert load_sweep(path).n_runs == 8


def test_a_base_that_shortens_the_period_loads_as_rechain_run_loads_it(tmp_path):
    # a what-if that ends before the baseline's news and controls: run and check leave those
    # out, so the sweep must too (it refused the base, naming every inherited item)
    write(tmp_path / "short.toml", f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\n'
          'end = 2024-03-31\n')
    sw = load_sweep(write(tmp_path / "s.toml", 'base = "short.toml"\n' + NOISE_LEVELS.replace("[overrides]\n"
                                                                                             "end = 2024-03-31\n", "")))
    assert sw.base["name"] == "short" and sw.base["news"] == [] and sw.base["description"] == ""
    assert sw.n_runs == 2
    # overrides that shorten the period merge as that what-if's keys would
    sw = load_sweep(write(tmp_path / "o.toml", f'base = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\n'
                          + NOISE_LEVELS))
    assert sw.base["name"] == "baseline" and sw.base["news"] == [] and sw.base["end"].isoformat() == "2024-03-31"


def test_a_points_table_naming_a_column_twice_is_refused_before_any_run(tmp_path):
    write(tmp_path / "t.csv", '"behaviour.noise","behaviour.noise"\n0.0,0.01\n')
    path = tiny_sweep(tmp_path, 'design = "table"\npoints = "t.csv"\n[outputs]\nkpis = ["price_peak_prnd_oxide"]\n')
    res = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 2, res.output
    assert res.output == (f"error: {path}, line 3: points: t.csv: given column 'behaviour.noise' twice in the "
                          "header row; allowed: each column once\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stem", [".", "a*b"])
def test_a_sweep_named_by_a_stem_that_cannot_name_a_folder_is_refused(stem, tmp_path):
    # "..toml" without a name swept into outputs/sweeps/. itself, the folder of every sweep
    with pytest.raises(ScenarioError, match=rf"name: not given, and the file name's stem '{re.escape(stem)}' cannot "
                                            r"serve as one"):
        load_sweep(tiny_sweep(tmp_path, NOISE_LEVELS, name=f"{stem}.toml"))


def test_a_parameter_error_names_the_parameter_s_line(tmp_path):
    # a parameter "r" was placed on the first line with an r in it (base = "...")
    path = tiny_sweep(tmp_path, 'design = "lhs"\nsamples = 2\n[parameters.r]\npath = "behaviour.restock_strength"\n'
                                'min = -1.0\nmax = 1.0\n')
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert info.value.key == "parameters.r" and info.value.line == 4, str(info.value)


def test_a_scenario_given_as_a_sweep_is_one_line():
    # it was one error per scenario key ("end: unknown key") and "base: required key is missing"
    with pytest.raises(ScenarioError) as info:
        load_sweep(TINY)
    assert len(info.value.errors) == 1 and "this is a scenario file" in str(info.value), str(info.value)


def test_a_points_table_row_is_named_by_its_line_in_the_file(tmp_path):
    # blank lines are skipped; the row after them was named as if they were not there
    write(tmp_path / "t.csv", '"behaviour.noise"\n0.0\n\n\n0.01,5\n')
    with pytest.raises(ScenarioError, match=r"t.csv, line 5: given 2 cells; allowed: 1, one per column"):
        load_sweep(tiny_sweep(tmp_path, 'design = "table"\npoints = "t.csv"\n'))


def test_a_points_table_with_a_byte_order_mark_loads(tmp_path):
    (tmp_path / "t.csv").write_bytes(b'\xef\xbb\xbf"behaviour.noise"\n0.0\n0.01\n')     # as a spreadsheet saves it
    sw = load_sweep(tiny_sweep(tmp_path, 'design = "table"\npoints = "t.csv"\n'))
    assert [p.name for p in sw.parameters] == ["behaviour.noise"]
    assert sw.points == [{"behaviour.noise": 0.0}, {"behaviour.noise": 0.01}]


def test_a_damaged_part_file_is_named_by_analyze_and_resume(tmp_path):
    spec = tiny_sweep(tmp_path, NOISE_LEVELS)
    out = tmp_path / "out"
    sweep = ["sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet", "--batch-size", "1"]
    assert CliRunner().invoke(main, sweep).exit_code == 0
    part = out / "runs" / "part-000000001-000000001.parquet"
    part.write_bytes(b"not parquet")              # a disk that filled up, a copy cut short
    expected = (f"error: {part}: is damaged (not a readable Parquet part file); delete it and the file of the "
                "same name in series/, then continue with --resume, which runs its runs again\n")
    for args in (["analyze", str(out), "--no-figures"], [*sweep, "--resume"]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2 and res.output == expected, res.output
    part.unlink()
    assert CliRunner().invoke(main, [*sweep, "--resume"]).exit_code == 0     # as the message says
    assert list(load_results(out)[0]["status"]) == ["ok", "ok"]


def test_a_damaged_manifest_is_named_by_analyze_resume_and_load_results(tmp_path):
    """A sweep folder whose manifest.json was cut short or edited was called "no sweep
    output" (analyze) or "already holds a sweep" (--resume): the manifest is named, with what
    is wrong and what to do. A run's folder, with a manifest of its own kind, is not called
    damaged."""
    spec = tiny_sweep(tmp_path, NOISE_LEVELS)
    out = tmp_path / "out"
    sweep = ["sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet"]
    assert CliRunner().invoke(main, sweep).exit_code == 0
    man = out / "manifest.json"
    whole = man.read_text(encoding="utf-8")
    tail = ("; it says what the sweep ran, so its results cannot be read or resumed without it: restore it "
            "(from a copy) or run the sweep into another --out\n")
    for text, what in ((whole[:40], "is damaged: not JSON text (line "), ("[1]", "is damaged: it lacks the sweep "
                       "manifest's \"format\" key"), ('{"format": 99}', "is of format 99, not this rechain's sweep format")):
        man.write_text(text, encoding="utf-8")
        for args in (["analyze", str(out), "--no-figures"], [*sweep, "--resume"], sweep):
            res = CliRunner().invoke(main, args)
            assert res.exit_code == 2 and res.output.startswith(f"error: {man}: {what}"), (args, res.output)
            assert res.output.endswith(tail) and res.output.count("\n") == 1
        with pytest.raises(ScenarioError, match="manifest.json: " + re.escape(what)):
            load_results(out)
    man.write_text(whole, encoding="utf-8")
    assert CliRunner().invoke(main, [*sweep, "--resume"]).exit_code == 0
    run_out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(TINY), "--out", str(run_out), "--no-figures", "--quiet"]).exit_code == 0
    res = CliRunner().invoke(main, ["analyze", str(run_out)])
    assert res.exit_code == 2 and "given a folder that is no sweep output" in res.output


def test_analyze_names_a_manifest_key_edited_by_hand_and_a_sweep_without_runs(tmp_path):
    """Keys of a sweep's manifest.json edited by hand (the KPIs, the counts, the design, the
    parameters) raised KeyError, TypeError or SALib's RuntimeError in analyze; a sweep whose
    runs were all removed was analysed into an empty analysis, exit 0. Each is one line naming
    what is wrong, exit 2, and no analysis folder."""
    spec = tiny_sweep(tmp_path, NOISE_LEVELS)
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet"]).exit_code == 0
    man = out / "manifest.json"
    whole = json.loads(man.read_text(encoding="utf-8"))
    for edit, what in (({"kpis": [1, 2]}, "kpis.0: given 1: Input should be a valid string"),
                       ({"kpis": None}, "kpis: given None: Input should be a valid list"),
                       ({"n_runs": "x"}, "n_runs: given 'x': Input should be a valid integer"),
                       ({"n_runs": 10 ** 12}, f"n_runs: {10 ** 12} runs for {whole['n_points']} points"),
                       ({"design": "sobol", "samples": 8}, "n_points: "),
                       ({"design": "zzz"}, "design: given 'zzz': Input should be 'grid', 'lhs'"),
                       ({"parameters": "abc"}, "parameters: given 'abc': Input should be a valid list")):
        man.write_text(json.dumps({**whole, **edit}), encoding="utf-8")
        res = CliRunner().invoke(main, ["analyze", str(out), "--no-figures"])
        assert res.exit_code == 2 and res.output.startswith(f"error: {man}: is damaged: {what}"), (edit, res.output)
        assert res.output.count("\n") == 1 and not (out / "analysis").exists()
    man.write_text(json.dumps(whole), encoding="utf-8")
    for part in (out / "runs").iterdir():
        part.unlink()
    res = CliRunner().invoke(main, ["analyze", str(out), "--no-figures"])
    assert res.exit_code == 2 and "holds none of the sweep's" in res.output and res.output.count("\n") == 1
    assert not (out / "analysis").exists()


def test_a_base_or_function_file_that_is_a_link_loop_says_so(tmp_path):
    """A sweep's base that was a symbolic link loop was reported "not found", and the Python
    API (make_model_function, model_function) raised a bare RuntimeError: each now says it is
    a link loop, naming it; a folder and a missing file are named for what they are."""
    (tmp_path / "a.toml").symlink_to("b.toml")
    (tmp_path / "b.toml").symlink_to("a.toml")
    (tmp_path / "folder.toml").mkdir()
    loop = "a.toml: is a symbolic link loop (it leads back to itself, never to a file)"
    # the sweep's base that cannot be read names the sweep too
    via = f"(the base of {tmp_path / 's.toml'})"
    for base, says in (("a.toml", loop.replace("a.toml:", f"a.toml {via}:")),
                       ("folder.toml", f"folder.toml {via}: given a directory"),
                       ("nowhere.toml", "base: scenario file 'nowhere.toml' not found")):
        spec = write(tmp_path / "s.toml", f'base = "{base}"\n' + NOISE_LEVELS)
        res = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(tmp_path / "out"), "--quiet"])
        assert res.exit_code == 2 and says in res.output and res.output.count("\n") == 1, res.output
    assert not (tmp_path / "out").exists()
    for call in (lambda: make_model_function(tmp_path / "a.toml"), lambda: model_function(base=tmp_path / "a.toml"),
                 lambda: model_function(sweep=tmp_path / "a.toml")):
        with pytest.raises(ScenarioError, match=re.escape(loop)):
            call()


def test_a_full_disk_names_the_folder_and_leaves_no_orphan_part(tmp_path, monkeypatch):
    """A disk that fills up while a batch is written said "the output cannot be written" with
    no folder, and left the batch's series part without its runs part. It names the sweep's
    folder and what to do; the series part goes with the runs part, and --resume finishes."""
    import errno

    from rechain.experiments import store

    spec = tiny_sweep(tmp_path, NOISE_LEVELS + 'series = [{ variable = "price", product = "prnd_oxide" }]\n')
    out = tmp_path / "out"
    sweep = ["sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet", "--batch-size", "1"]
    real = store._write_atomic

    def full_on_runs(table, path):
        if path.parent.name == "runs" and path.name.startswith("part-000000001"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(table, path)

    monkeypatch.setattr(store, "_write_atomic", full_on_runs)
    res = CliRunner().invoke(main, sweep)
    assert res.exit_code == 2, res.output
    assert res.output == (f"error: {out}: cannot be written (No space left on device); the runs finished before "
                          "are kept in it: make room and continue with --resume\n")
    assert [p.name for p in (out / "runs").iterdir()] == ["part-000000000-000000000.parquet"]
    assert [p.name for p in (out / "series").iterdir()] == ["part-000000000-000000000.parquet"]
    monkeypatch.setattr(store, "_write_atomic", real)
    assert CliRunner().invoke(main, [*sweep, "--resume"]).exit_code == 0
    runs, series = load_results(out)
    assert list(runs["status"]) == ["ok", "ok"] and series["run_id"].nunique() == 2


def test_a_part_cut_short_by_a_full_disk_leaves_no_hidden_file(tmp_path, monkeypatch):
    """The hidden file a part is written to first is removed when the write fails."""
    import errno

    import pyarrow as pa
    import pyarrow.parquet as pq

    from rechain.experiments import store

    def cut_short(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", cut_short)
    with pytest.raises(OSError):
        store._write_atomic(pa.table({"x": [1]}), tmp_path / "part.parquet")
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_whose_every_run_failed_exits_1(tmp_path):
    # each level is valid alone, but the closure then ends before it starts
    spec = tiny_sweep(tmp_path, CLOSURE + """[parameters]
start = { path = "disruptions[closure].start", levels = [2024-03-15] }
end = { path = "disruptions[closure].end", levels = [2024-03-01] }
[outputs]
kpis = ["price_peak_prnd_oxide"]
""")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet"])
    assert res.exit_code == 1, res.output
    assert res.stderr == f"error: {out}: every run failed (1 of 1); their errors are in {out / 'errors.csv'}\n"
    assert len(pd.read_csv(out / "errors.csv")) == 1


@pytest.mark.parametrize("design, body", [
    ("grid", "replicates = 100000\n[parameters]\n"
     + "".join(f'"behaviour.{k}" = {{ levels = [{", ".join(f"0.{i}" for i in range(8))}] }}\n'
               for k in ("noise", "w_social", "w_news"))),
    ("sobol", 'design = "sobol"\nsamples = 8388608\nsecond_order = true\n[parameters]\n'
     + "".join(f'"behaviour.{k}" = {{ min = 0.0, max = 0.1 }}\n' for k in ("noise", "w_social", "w_news"))),
    ("lhs", 'design = "lhs"\nsamples = 3000000\n[parameters]\n"behaviour.noise" = { min = 0.0, max = 0.1 }\n'),
])
def test_a_design_too_big_is_refused_before_it_is_built(design, body, tmp_path, monkeypatch):
    """8^3 points x 100,000 replicates, or 2^23 (2 x 3 + 2) Sobol' points: over the limit, and
    refused from the counts alone; building such a design could take all the machine's memory."""
    from rechain.experiments import designs

    def never(*args, **kwargs):
        raise AssertionError("the design was built before its size was checked")

    monkeypatch.setattr(designs, "grid", never)
    monkeypatch.setattr(designs, "sample", never)
    path = tiny_sweep(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert {"grid": "51,200,000 runs is more than a sweep can number",
            "sobol": "67,108,864 design points is more than a sweep holds in memory",
            "lhs": "3,000,000 design points is more than a sweep holds in memory"}[design] in str(info.value)
    res = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- designs and analysis
def test_sobol_top_parameter_is_stable_across_root_seeds(tmp_path):
    """The initial Pr-Nd oxide price dominates its mean price; noise barely matters."""
    tops = []
    for seed in (1, 2):
        spec = tiny_sweep(tmp_path, f"""
design = "sobol"
samples = 8
root_seed = {seed}
[overrides]
end = 2024-03-31
[parameters]
"market.initial_price.prnd_oxide" = {{ min = 300000, max = 600000 }}
"behaviour.noise" = {{ min = 0.0, max = 0.03 }}
[outputs]
kpis = ["price_mean_prnd_oxide"]
""", name=f"sobol{seed}.toml")
        runs, _ = run_sweep(spec, workers=2, out=tmp_path / f"sobol{seed}")
        assert len(runs) == 8 * (2 + 2)
        res = analyze(tmp_path / f"sobol{seed}", figures=seed == 1)
        t = res["table"]
        assert set(t.columns) >= {"kpi", "parameter", "S1", "S1_conf", "ST", "ST_conf", "rank"}
        tops.append(res["top"]["price_mean_prnd_oxide"])
        assert t.iloc[0]["ST"] > 0.5
    assert tops == ["market.initial_price.prnd_oxide"] * 2
    assert (tmp_path / "sobol1" / "analysis" / "sensitivity_price_mean_prnd_oxide.png").exists()
    assert "| market.initial_price.prnd_oxide |" in (tmp_path / "sobol1" / "analysis" / "sensitivity.md").read_text()


def test_morris_table_design_and_analyze_cli(tmp_path):
    spec = tiny_sweep(tmp_path, """
design = "morris"
samples = 2
morris_levels = 4
[overrides]
end = 2024-03-31
[parameters]
"market.initial_price.prnd_oxide" = { min = 300000, max = 600000 }
"firms.magnet_makers.count" = { min = 10, max = 30 }
[outputs]
kpis = ["price_mean_prnd_oxide"]
""")
    runs, _ = run_sweep(spec, workers=1, out=tmp_path / "m")
    assert len(runs) == 2 * 3
    assert runs["firms.magnet_makers.count"].dtype == np.int64          # int field: values rounded
    res = CliRunner().invoke(main, ["analyze", str(tmp_path / "m"), "--no-figures"])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "m" / "analysis" / "sensitivity.csv")
    assert {"mu_star", "sigma", "mu_star_conf"} <= set(t.columns)

    table = tiny_sweep(tmp_path, f"""
design = "table"
points = [{{ "{APPROVAL}" = 0.2 }}, {{ "{APPROVAL}" = 0.9 }}]
[outputs]
kpis = ["licences_refused_t"]
""" + CONTROLS, name="table.toml")
    runs, _ = run_sweep(table, workers=1, out=tmp_path / "t")
    assert list(runs[APPROVAL]) == [0.2, 0.9]
    assert runs.loc[0, "licences_refused_t"] > runs.loc[1, "licences_refused_t"]
    res = CliRunner().invoke(main, ["analyze", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "t" / "analysis" / "scatter_licences_refused_t.png").exists()
    means = pd.read_csv(tmp_path / "t" / "analysis" / "point_means.csv")
    assert list(means["licences_refused_t_count"]) == [1, 1]

    write(tmp_path / "points.csv", "rate,behaviour.noise\n0.9,0.0\n0.2,0.02\n")
    csv_table = tiny_sweep(tmp_path, """
design = "table"
points = "points.csv"
[parameters]
rate = { path = "export_controls[April 2025 medium-heavy controls].approval[0].rate", levels = [0.2, 0.9] }
[outputs]
kpis = ["licences_refused_t"]
""" + CONTROLS, name="csv.toml")
    runs, _ = run_sweep(csv_table, workers=1, out=tmp_path / "c")
    assert list(runs["rate"]) == [0.9, 0.2] and list(runs["behaviour.noise"]) == [0.0, 0.02]


def test_shipped_sweeps_load():
    for name in ("behaviour_sobol", "policy_grid"):
        sw = load_sweep(ROOT / "scenarios" / "sweeps" / f"{name}.toml")
        assert sw.n_runs > 0
    sw = load_sweep(ROOT / "scenarios" / "sweeps" / "policy_grid.toml")
    assert sw.n_runs == 5 * 4 * 3
    assert "magnet_output_mom_2025-10_pct" in load_sweep(ROOT / "scenarios" / "sweeps" / "behaviour_sobol.toml").kpis


def test_model_function_is_a_plain_function():
    f = make_model_function(GRID, seed=4)
    k = f(approval=0.3)
    assert set(k) == {"price_peak_prnd_oxide", "exports_2024_t", "magnet_output_2024_t", "licences_refused_t"}
    assert k == f(approval=0.3)                       # same seed, same run
    all_kpis = model_function(base=TINY, seed=4, **{"behaviour.restock_strength": 0.5})
    assert set(k) < set(all_kpis) and all_kpis["licences_refused_t"] == 0.0   # tiny has no licence regime
    with pytest.raises(ScenarioError, match="restock_strengh"):
        model_function(GRID, **{"behaviour.restock_strengh": 1.0})
    with pytest.raises(ScenarioError, match="invalid"):
        model_function(base=TINY, **{"behaviour.w_social": 2.0})


def test_finished_models_are_not_kept_in_memory(tmp_path):
    """Mesa 3.3 keeps every model in ``Agent._ids``; a sweep drops each finished one."""
    import mesa
    spec = tiny_sweep(tmp_path, """
design = "grid"
replicates = 3
[overrides]
end = 2024-03-31
[outputs]
kpis = ["price_peak_prnd_oxide"]
""")
    before = len(mesa.Agent._ids)
    runs, _ = run_sweep(spec, workers=1, out=tmp_path / "out")
    assert len(runs) == 3 and len(mesa.Agent._ids) == before


def test_a_points_table_value_outside_the_levels_names_the_table_and_the_point(tmp_path):
    """The message cited the sweep file's line only (found by an outside analyst)."""
    write(tmp_path / "pts.csv", "behaviour.noise\n0.0\n=1+1\n")
    spec = tiny_sweep(tmp_path, 'design = "table"\npoints = "pts.csv"\n[parameters]\n'
                                '"behaviour.noise" = { levels = [0.0, 0.01] }\n')
    with pytest.raises(ScenarioError, match=r"points.behaviour.noise: value '=1\+1' \(in pts.csv, point 2, line 3\) is "
                                            r"not one of the parameter's levels"):
        load_sweep(spec)


def test_analyze_warns_on_screen_when_sobol_indices_from_too_few_samples_are_noise(tmp_path):
    """N = 1 gave indices far outside 0-1 with nan intervals on screen and exit 0; only
    summary.md said they were noise (found by an outside analyst)."""
    spec = tiny_sweep(tmp_path, """
design = "sobol"
samples = 1
outputs = { kpis = ["price_mean_prnd_oxide"] }
overrides = { end = 2024-03-31 }
parameters = { "firms.magnet_makers.count" = { min = 10, max = 30 } }
""")
    run_sweep(spec, workers=1, out=tmp_path / "s")
    res = CliRunner().invoke(main, ["analyze", str(tmp_path / "s"), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "warning: the sweep has N = 1 base samples; below 4 the Sobol indices below are noise" in res.output


def test_analyze_refuses_a_sweep_that_kept_series_only(tmp_path):
    """`outputs.kpis = []` with series is a valid sweep, but there is nothing to rank: one
    message naming the folder and the key, no analysis folder."""
    spec = tiny_sweep(tmp_path, """
design = "grid"
[overrides]
end = 2024-02-29
[parameters]
"behaviour.noise" = { levels = [0.0] }
[outputs]
kpis = []
series = [{ variable = "price", product = "prnd_oxide" }]
""")
    run_sweep(spec, workers=1, out=tmp_path / "out")
    with pytest.raises(ScenarioError, match=r"outputs\.kpis: the sweep kept no KPIs"):
        analyze(tmp_path / "out")
    assert not (tmp_path / "out" / "analysis").exists()


def test_a_sweep_keeps_any_variable_a_run_writes_as_a_series(tmp_path):
    """The README lists sales_abroad, price_long_run, market_cover_weeks and spot_traded among
    a run's monthly variables; a sweep once refused them as series."""
    from rechain.report import FLOW_VARIABLES, LEVEL_VARIABLES
    from rechain.sweep import SERIES_VARIABLES
    assert set(SERIES_VARIABLES) == set(FLOW_VARIABLES) | set(LEVEL_VARIABLES)
    spec = tiny_sweep(tmp_path, """
name = "every_variable"
design = "grid"
replicates = 1
[overrides]
end = 2024-03-31
[parameters]
"behaviour.restock_strength" = { levels = [1.0] }
[outputs]
kpis = ["price_peak_prnd_oxide"]
series = [{ variable = "sales_abroad" }, { variable = "price_long_run", product = "prnd_oxide" },
          { variable = "market_cover_weeks", product = "prnd_oxide" }, { variable = "spot_traded", product = "prnd_oxide" }]
""")
    runs, series = run_sweep(spec, workers=1, out=tmp_path / "out")
    assert (runs["status"] == "ok").all()
    assert series["series"].nunique() == 4 and np.isfinite(series["value"]).all()
    lr = series[series["series"].str.contains("price_long_run")]["value"]
    assert (lr > 1e5).all()                      # yuan/t of Pr-Nd oxide, near its start price


# --------------------------------------------------------------------------- a point is a what-if of the base
def _point(sweep: dict, i: int):
    from rechain.experiments.runs import _scenario_at
    from rechain.experiments.sweep import _context, load_sweep
    sw = load_sweep(sweep)
    return _scenario_at(_context(sw), sw.points[i])


def test_a_swept_carry_rule_carries_the_figures_as_a_what_if_would(tmp_path):
    """The figures carried past the last given year follow the point's rule: they were
    carried once, at the base's rate, and every point ran the same demand."""
    from rechain.scenario import load_scenario
    (tmp_path / "y2027.toml").write_text(f'extends = "{ROOT / "scenarios" / "baseline.toml"}"\nname = "y2027"\n'
                                         'start = 2027-01-01\nend = 2027-03-31\n')
    (tmp_path / "g40.toml").write_text('extends = "y2027.toml"\n[after_last_year]\ngrowth_pct_per_yr = 40.0\n')
    sweep = {"base": str(tmp_path / "y2027.toml"), "design": "grid",
             "parameters": {"after_last_year.growth_pct_per_yr": {"levels": [0.0, 40.0]}},
             "outputs": {"kpis": ["price_peak_prnd_oxide"]}}
    flat, grown = (_point(sweep, i).sectors["nev"].units_per_yr for i in (0, 1))
    assert flat["2027"] == flat["2026"] and grown["2027"] == pytest.approx(flat["2026"] * 1.4)
    assert grown == load_scenario(tmp_path / "g40.toml").sectors["nev"].units_per_yr


def test_a_swept_period_keeps_and_leaves_out_inherited_events_as_a_what_if_would(tmp_path):
    from rechain.scenario import load_scenario
    (tmp_path / "short.toml").write_text(f'extends = "{ROOT / "scenarios" / "baseline.toml"}"\nend = 2024-03-31\n')
    (tmp_path / "dec.toml").write_text('extends = "short.toml"\nend = 2024-12-31\n')
    sweep = {"base": str(tmp_path / "short.toml"), "design": "grid",
             "parameters": {"end": {"levels": [dt.date(2024, 3, 31), dt.date(2024, 12, 31)]}},
             "outputs": {"kpis": ["price_peak_prnd_oxide"]}}
    longer, what_if = _point(sweep, 1), load_scenario(tmp_path / "dec.toml")
    assert [n.name for n in longer.news] == [n.name for n in what_if.news] != []
    assert [d.name for d in longer.disruptions] == [d.name for d in what_if.disruptions] != []
    # shorter than the baseline: its later events are left out, not an error
    shorter = dict(sweep, base=str(ROOT / "scenarios" / "baseline.toml"),
                   parameters={"end": {"levels": [dt.date(2024, 3, 31), dt.date(2024, 6, 30)]}})
    assert all(n.date <= dt.date(2024, 3, 31) for n in _point(shorter, 0).news)
    # a swept date is the sweep's own: outside the period it is an error, not dropped in silence
    with pytest.raises(ScenarioError, match=r"is invalid: news\[0\].date \(item \"China-US agreement on rare "
                                            r"earths\"\): given 2024-06-03; allowed: a date within"):
        _point(dict(shorter, parameters={"end": {"levels": [dt.date(2024, 3, 31)]},
                                         "news[China-US agreement on rare earths].date": {"levels": [dt.date(2024, 6, 3)]}}), 0)


def test_one_value_swept_by_name_and_by_index_is_refused():
    from rechain.experiments.sweep import load_sweep
    sweep = {"base": str(ROOT / "scenarios" / "baseline.toml"), "design": "grid",
             "parameters": {"by_name": {"path": "news[China-US agreement on rare earths].strength", "levels": [0.1, 0.2]},
                            "by_index": {"path": "news[10].strength", "levels": [0.3, 0.4]}},
             "outputs": {"kpis": ["price_peak_prnd_oxide"]}}
    with pytest.raises(ScenarioError, match=r"parameters.by_name: path news\[China-US agreement on rare earths\].strength "
                                            r"is swept twice \(parameter 'by_index' reaches it as news\[10\].strength\)"):
        load_sweep(sweep)


def test_whole_number_ranges_draw_every_value_alike_and_morris_levels_match_its_grid():
    from collections import Counter

    from rechain.experiments.sweep import load_sweep
    base = str(ROOT / "scenarios" / "baseline.toml")
    sw = load_sweep({"base": base, "design": "lhs", "samples": 400, "root_seed": 3,
                     "parameters": {"firms.rock_miners.count": {"min": 1, "max": 4}},
                     "outputs": {"kpis": ["price_peak_prnd_oxide"]}})
    drawn = Counter(p["firms.rock_miners.count"] for p in sw.points)
    assert sorted(drawn) == [1, 2, 3, 4] and set(drawn.values()) == {100}      # ends drawn half as often before
    morris = {"base": base, "design": "morris", "samples": 10, "outputs": {"kpis": ["price_peak_prnd_oxide"]}}
    with pytest.raises(ScenarioError, match=r"given 5 levels with design = \"morris\" and morris_levels = 4; allowed: "
                                            r"exactly 4 levels"):
        load_sweep({**morris, "parameters": {"behaviour.restock_strength": {"levels": [0.5, 1.0, 1.5, 2.0, 2.5]}}})
    sw = load_sweep({**morris, "parameters": {"behaviour.restock_strength": {"levels": [0.5, 1.0, 1.5, 2.0]},
                                              "behaviour.wait_strength": {"min": 0.5, "max": 2.5}}})
    used = Counter(p["behaviour.restock_strength"] for p in sw.points)
    assert sorted(used) == [0.5, 1.0, 1.5, 2.0]      # every level is a step of the grid


def test_a_series_that_makes_no_one_series_is_refused_or_fails_its_runs_with_the_reason():
    """A price over every product (yuan/t and yuan/kg averaged) and exports of ore, oxides
    and magnets added up were stored as if they were series; validate and RunResult.series
    refuse both."""
    from rechain.experiments.runs import series_at
    from rechain.experiments.sweep import load_sweep
    base = {"base": str(ROOT / "scenarios" / "baseline.toml"), "design": "grid",
            "parameters": {"behaviour.w_news": {"levels": [1.0]}}, "outputs": {"kpis": ["price_peak_prnd_oxide"]}}
    with pytest.raises(ScenarioError, match=r"outputs.series: 'price\[region=eu\]': price rows left open carry several "
                                            r"units \(yuan/kg, yuan/t\)"):
        load_sweep({**base, "outputs": {**base["outputs"], "series": [{"variable": "price", "region": "eu"}]}})
    # flows have rows only once something flows: each run refuses them with the reason
    import rechain
    monthly = rechain.run(str(ROOT / "tests" / "data" / "tiny.toml"), seed=0).monthly
    with pytest.raises(ScenarioError, match=r"'exports': exports rows left open span .*whose tonnes do not add up"):
        series_at(monthly, {"name": "exports", "variable": "exports", "stage": None, "product": None, "region": None}, "s.toml")
    with pytest.raises(ScenarioError, match=r"'p': .*the run has no production rows"):
        series_at(monthly, {"name": "p", "variable": "production", "stage": "miners", "product": "magnet_uh",
                            "region": None}, "s.toml")
    good = series_at(monthly, {"name": "x", "variable": "exports", "stage": None, "product": "magnet_std+magnet_uh",
                               "region": None}, "s.toml")
    assert len(good) > 0 and (good > 0).all()


@pytest.mark.parametrize("setting, says", [
    ("second_order = true", 'second_order: second_order is for design = "sobol", not grid'),
    ("morris_levels = 6", 'morris_levels: morris_levels is for design = "morris", not grid'),
])
def test_an_option_of_another_design_is_refused_not_ignored(tmp_path, setting, says):
    """Second-order indices asked of a grid or an LHS were never computed, in silence."""
    path = tiny_sweep(tmp_path, setting + "\n" + NOISE_LEVELS)
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert says in str(info.value)


def test_messages_name_what_is_wrong_with_a_path_or_a_series_name(tmp_path):
    """A name selector on a list of plain values was told the list 'has no items (a shorter
    period ...)'; two series given one name were said to have the same selection."""
    path = tiny_sweep(tmp_path, NOISE_LEVELS.replace('"behaviour.noise" = { levels = [0.0, 0.01] }',
                                                     '"sectors.nev.seasonality[last]" = { levels = [1.0, 1.1] }'))
    with pytest.raises(ScenarioError, match=r"sectors.nev.seasonality is a list of 12 value\(s\) without names; choose "
                                            r"one by its index, \[0\] to \[11\] \(given \[last\]\)"):
        load_sweep(path)
    two = NOISE_LEVELS.replace('kpis = ["price_peak_prnd_oxide"]', 'kpis = ["price_peak_prnd_oxide"]\nseries = [\n'
                               '  { variable = "price", product = "prnd_oxide", name = "p" },\n'
                               '  { variable = "price", product = "dy_oxide", name = "p" }]')
    with pytest.raises(ScenarioError, match="name 'p' is given to two series; give each its own name"):
        load_sweep(tiny_sweep(tmp_path, two, "two.toml"))


def test_an_unquoted_dotted_key_is_told_to_be_quoted(tmp_path):
    """TOML reads behaviour.w_news = {...} under [parameters] as a table 'behaviour': the
    message called the valid key w_news unknown."""
    from rechain.experiments.calibrate import load_space
    body = NOISE_LEVELS.replace('"behaviour.noise" = { levels = [0.0, 0.01] }',
                                'behaviour.noise = { levels = [0.0, 0.01] }\nbehaviour.w_news = { levels = [1.0] }')
    with pytest.raises(ScenarioError, match=r'parameters.behaviour: given a table, not a parameter; a key path with '
                                            r'dots must be quoted, "behaviour.noise" = \{ ... \}'):
        load_sweep(tiny_sweep(tmp_path, body))
    space = tmp_path / "space.toml"
    space.write_text("[parameters]\nbehaviour.w_trend = { min = 0, max = 0.5 }\n")
    with pytest.raises(ScenarioError, match=r'must be quoted, "behaviour.w_trend" = \{ ... \}'):
        load_space(space)


def test_a_range_over_an_optional_key_left_unset_is_sampled():
    """after_last_year.quota_growth_pct_per_yr is unset (None) in the baseline: a range over it
    was refused ('None in the base scenario')."""
    from rechain.experiments.sweep import load_sweep
    sw = load_sweep({"base": str(ROOT / "scenarios" / "baseline.toml"), "design": "lhs", "samples": 3,
                     "parameters": {"after_last_year.quota_growth_pct_per_yr": {"min": 0.0, "max": 5.0}},
                     "outputs": {"kpis": ["price_peak_prnd_oxide"]}})
    assert all(0.0 <= p["after_last_year.quota_growth_pct_per_yr"] <= 5.0 for p in sw.points)


@pytest.mark.parametrize("csv_bytes, says", [
    (b"behaviour.w_news,\n1.0,\n", "column 2 of the header row has no name (a trailing comma?)"),
    (b",behaviour.w_news\n0,1.0\n1,1.5\n", "column 1 of the header row has no name (a row index, as pandas' "
     "to_csv writes by default: save with index=False)"),
    (b"behaviour.w_news;behaviour.w_trend\n1.0;0.1\n", "the columns are separated by ';'; allowed: commas"),
    (b"behaviour.w_news\n1.0\n1.5 caf\xe9\n", "'p.csv', line 3: given byte 0xe9, which is not UTF-8 text"),
])
def test_a_table_of_points_that_cannot_be_read_as_written_says_why(tmp_path, csv_bytes, says):
    (tmp_path / "p.csv").write_bytes(csv_bytes)
    path = tiny_sweep(tmp_path, 'design = "table"\npoints = "p.csv"\n[outputs]\nkpis = ["price_peak_prnd_oxide"]\n')
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert says in str(info.value)


def test_a_table_of_points_reads_headers_and_whole_numbers_as_a_spreadsheet_writes_them(tmp_path):
    (tmp_path / "p.csv").write_text("behaviour.w_news, firms.rock_miners.count\n1.0, 4.0\n1.5, 2.0\n")
    sw = load_sweep(tiny_sweep(tmp_path, 'design = "table"\npoints = "p.csv"\n[outputs]\nkpis = ["price_peak_prnd_oxide"]\n'))
    assert [p.name for p in sw.parameters] == ["behaviour.w_news", "firms.rock_miners.count"]
    assert [pt["firms.rock_miners.count"] for pt in sw.points] == [4, 2]
    assert all(type(pt["firms.rock_miners.count"]) is int for pt in sw.points)


def test_an_entry_the_base_leaves_unset_is_swept_as_a_what_if_would_set_it(tmp_path):
    """The base gives no Dy entry of the plants' per-product reservation table (it falls back on
    reservation_share); each point adds it, as a what-if writing the table would, and the
    runs differ by it."""
    import rechain
    from rechain.scenario import load_scenario
    key = "firms.separation_plants.reservation_share_by_product.dy_oxide"
    base = load_scenario(TINY)
    assert "dy_oxide" not in base.firms.separation_plants.reservation_share_by_product
    sweep = {"base": str(TINY), "design": "grid", "parameters": {key: {"levels": [0.3, 1.0]}},
             "outputs": {"kpis": ["price_peak_dy_oxide"]}}
    low, high = (_point(sweep, i) for i in (0, 1))
    assert low.firms.separation_plants.reservation_share_by_product == {"dy_oxide": 0.3}
    assert high.firms.separation_plants.reservation_share_by_product == {"dy_oxide": 1.0}
    (tmp_path / "w.toml").write_text(f'extends = "{TINY.as_posix()}"\n[firms.separation_plants]\n'
                                     'reservation_share_by_product = { dy_oxide = 0.3 }\n')
    assert low.model_dump(exclude={"name"}) == load_scenario(tmp_path / "w.toml").model_dump(exclude={"name"})
    price = [rechain.run(sc, seed=0).monthly.query("variable == 'price' and product == 'dy_oxide'")["value"].to_numpy()
             for sc in (low, high)]
    assert not np.allclose(price[0], price[1])


def test_is_unset_entry_only_for_a_table_of_named_values():
    from rechain.experiments.paths import is_unset_entry
    from rechain.scenario import load_scenario
    d = load_scenario(TINY).model_dump()
    assert is_unset_entry(d, parse_path("firms.separation_plants.reservation_share_by_product.dy_oxide"))
    # set already, a field of a table (a typo stays "no key ..."), a table of tables, a list item
    d["firms"]["separation_plants"]["reservation_share_by_product"]["tb_oxide"] = 0.8
    assert not is_unset_entry(d, parse_path("firms.separation_plants.reservation_share_by_product.tb_oxide"))
    assert not is_unset_entry(d, parse_path("behaviour.noize"))
    assert not is_unset_entry(d, parse_path("sectors.new_sector"))
    assert not is_unset_entry(d, parse_path("behaviour.cover_weeks.magnet_makers"))
    assert not is_unset_entry(d, parse_path("nowhere.at_all"))


def test_every_bad_level_of_a_parameter_is_told(tmp_path):
    """levels = [-1.0, nan] was told as -1.0 alone (an outside fuzzing round)."""
    path = tiny_sweep(tmp_path, '[parameters]\n"behaviour.w_social" = { levels = [-1.0, 0.5, nan, 2.0] }\n')
    res = CliRunner().invoke(main, ["sweep", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("error: ")]
    assert [line.split("level ")[1].split(" ")[0] for line in lines] == ["-1.0", "nan", "2.0"], res.output
    assert not (tmp_path / "out").exists()


def test_a_grid_without_parameters_says_it_runs_the_base_alone(tmp_path):
    """An empty [parameters] table is a valid grid (replicates of the base scenario), but the
    header says so, so a table left empty by mistake does not pass unseen."""
    sweep = tiny_sweep(tmp_path, 'replicates = 2\n[overrides]\nend = 2024-02-29\n[parameters]\n')
    result = CliRunner().invoke(main, ["sweep", str(sweep), "--out", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "1 point (no parameters: the base scenario as it is) x 2 replicate(s) = 2 runs" in result.output
    runs, _ = load_results(tmp_path / "out")
    assert len(runs) == 2 and (runs["status"] == "ok").all()
    # with a parameter the header counts points as before
    sweep = tiny_sweep(tmp_path, NOISE_LEVELS, name="n.toml")
    result = CliRunner().invoke(main, ["sweep", str(sweep), "--out", str(tmp_path / "out2"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "2 points x 1 replicate(s) = 2 runs" in result.output


def test_a_cluster_whose_workers_all_went_is_said_not_waited_on_forever(monkeypatch):
    """Every worker of a cluster gone mid-sweep: the scheduler keeps the work and waits for
    one, and the sweep waited with it, silently, for ever (an outside modeller's audit). A
    worker back within WORKERS_GONE_S carries on; after it, one line and the resume hint."""
    pytest.importorskip("distributed")
    from rechain.experiments import executor
    monkeypatch.setattr(executor, "WORKERS_GONE_S", 1.0)
    monkeypatch.setattr(executor, "WORKERS_WATCH_S", 0.2)
    with executor.DaskExecutor("local", 1) as ex:
        ex.cluster.scale(0)
        deadline = time.monotonic() + 60
        while ex.client.scheduler_info().get("workers"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        began = time.monotonic()
        with pytest.raises(executor.ClusterLost, match="has had no worker for 1.0 s"):
            list(ex.map(abs, [-1, -2]))
        assert time.monotonic() - began < 30


def test_a_long_sweep_is_projected_from_its_first_batch():
    from rechain.experiments.sweep import duration_words, projected_seconds
    # 16 runs in 20 s on one of 2 workers: 1.6 runs a second, 10,000 runs in 6,250 s
    assert projected_seconds(10_000, 16, 20.0, 2) == pytest.approx(6_250.0)
    assert duration_words(6_250.0) == "1 h 44 min" and duration_words(30.0) == "1 min"
    assert duration_words(725.0) == "12 min" and projected_seconds(10, 0, 1.0, 1) == 0.0


def test_the_projection_is_said_after_the_first_batch(tmp_path, monkeypatch):
    from rechain.experiments import sweep as sweep_mod
    monkeypatch.setattr(sweep_mod, "LONG_SWEEP_S", 0.0)
    said: list[str] = []
    sweep_mod.execute(tiny_sweep(tmp_path, NOISE_LEVELS), out=tmp_path / "out", workers=1, echo=said.append)
    projection = [line for line in said if "at the first batch's pace" in line]
    assert len(projection) == 1 and "--resume carries on" in projection[0]
    said.clear()
    monkeypatch.setattr(sweep_mod, "LONG_SWEEP_S", 1e9)      # a short sweep: not said
    sweep_mod.execute(tiny_sweep(tmp_path, NOISE_LEVELS), out=tmp_path / "out2", workers=1, echo=said.append)
    assert not [line for line in said if "first batch's pace" in line]


def test_a_refused_resume_names_what_changed():
    from rechain.experiments.store import what_changed
    old = {"design": "sobol", "samples": 16, "replicates": 1, "root_seed": 3, "parameters": [{"name": "a"}],
           "kpis": ["k"], "series": [], "base_file": "/x/base.toml"}
    assert what_changed(old, dict(old, samples=32)) == "changed: samples 16 -> 32"
    assert what_changed(old, dict(old, kpis=["k", "j"], root_seed=4)) == "changed: root_seed 3 -> 4, outputs.kpis"
    assert "base scenario's content" in what_changed(old, dict(old))


def test_analyze_of_a_sweep_still_running_says_so(tmp_path):
    """A --resume while the sweep runs is refused ("in use"), so telling the user to resume
    was wrong: the analysis says the sweep is still running (an outside modeller's audit)."""
    from rechain.experiments.store import folder_in_use, folder_lock
    spec = tiny_sweep(tmp_path, NOISE_LEVELS)
    out = tmp_path / "out"
    run_sweep(spec, out=out)
    (out / "runs" / sorted(p.name for p in (out / "runs").iterdir())[0]).unlink()   # a run not yet done
    assert not folder_in_use(out)
    with folder_lock(out):                      # as the running sweep holds it
        assert folder_in_use(out)
        res = CliRunner().invoke(main, ["analyze", str(out), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "the sweep is still running" in res.output and "--resume" not in res.output
    assert "still running when this was written" in (out / "analysis" / "summary.md").read_text()
    assert not folder_in_use(out)
    res = CliRunner().invoke(main, ["analyze", str(out), "--no-figures"])
    assert "--resume" in res.output and "still running" not in res.output
