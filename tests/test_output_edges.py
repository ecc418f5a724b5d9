"""Edges of writing outputs and of what commands take, found by fuzzing from outside.

The current folder is never swapped out (`--out .`, `--out ''`); a private output folder stays
private; a name the file system cannot hold is refused before the run; a full disk is one
line, not a traceback; a sweep stopped while it set up its folder can be run again; a slip
in the Python API's arguments is named, not rounded or read as damage.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import ROOT

from rechain.cli import main
from rechain.experiments.executor import Terminated
from rechain.experiments.store import SWEEP_FILES
from rechain.outputs import MARKER, OutputError, check_output_dir, output_dir, write_marker

TINY = Path(__file__).resolve().parent / "data" / "tiny.toml"
RECHAIN = [sys.executable, "-m", "rechain.cli"]


def run_args(out: str) -> list[str]:
    return ["run", str(TINY), "--out", out, "--quiet", "--no-figures"]


@pytest.fixture
def no_simulation(monkeypatch):
    import rechain.model

    def forbidden(*args, **kwargs):
        raise AssertionError("a model was run before the output folder was checked")

    monkeypatch.setattr(rechain.model.ChainModel, "run", forbidden)


@pytest.mark.parametrize("given", [".", "", ".."])
def test_the_current_folder_is_never_swapped_out(given, tmp_path, monkeypatch, no_simulation):
    here = tmp_path / "work" / "here"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    res = CliRunner().invoke(main, run_args(given))
    # an empty --out is refused as empty before it can read as the current folder
    says = "given an empty path ('')" if given == "" else "is the current folder"
    assert res.exit_code == 2 and says in res.output, res.output
    assert here.is_dir() and os.path.samefile(os.getcwd(), here) and not any(here.iterdir())


def test_a_sweep_may_still_write_into_the_current_empty_folder(tmp_path, monkeypatch):
    """A sweep grows in place and replaces nothing: the current folder is fine for it."""
    monkeypatch.chdir(tmp_path)
    assert check_output_dir(".", "sweep", replace=False) == Path(".")


def test_a_private_output_folder_stays_private(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)        # whatever the umask
    for _ in range(2):          # into the empty folder, then over the earlier output
        with output_dir(private, "run") as tmp:
            (tmp / "monthly.csv").write_text("1")
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
    fresh = tmp_path / "fresh"
    with output_dir(fresh, "run") as tmp:
        (tmp / "monthly.csv").write_text("1")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o777 & ~mask      # as mkdir makes a folder


@pytest.mark.parametrize("name", ["x" * 242, "a/b/" + "y" * 300])
def test_a_name_the_file_system_cannot_hold_is_refused_before_the_run(name, tmp_path, monkeypatch, no_simulation):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, run_args(name))
    assert res.exit_code == 2 and "allowed: up to 255 bytes per folder name, 241" in res.output, res.output
    assert not any(tmp_path.iterdir())         # no parent folders made for it either


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    out = tmp_path / "a" / "b" / "run"
    with pytest.raises(OutputError, match=r"cannot be written \(No space left on device\); nothing was written"):
        with output_dir(out, "run") as tmp:
            full(tmp / "monthly.csv")
    assert not any(tmp_path.iterdir())        # the parents made for it are taken back too


def test_standard_output_on_a_full_disk_is_one_line():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        res = subprocess.run([*RECHAIN, "schema"], stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    said = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(said) == 1, res.stderr
    assert said[0].startswith("error: standard output cannot be written (No space left on device)")
    # a run's folder is written whole before it prints: the line says the printing was lost
    assert "an output folder it made is complete" in said[0]


def test_a_sweep_stopped_while_setting_up_its_folder_runs_again(tmp_path):
    """Stopped before its manifest was written (Ctrl-C, SIGTERM, a full disk), a sweep's
    folder holds its marker, empty runs/ and series/ and a file half-written: no run had
    started, so both a plain rerun and --resume set it up again."""
    spec = tmp_path / "s.toml"
    spec.write_text(f'base = "{TINY.as_posix()}"\nname = "stopped"\nreplicates = 1\n'
                    '[parameters]\n"behaviour.noise" = { levels = [0.0] }\n'
                    '[outputs]\nkpis = ["price_peak_prnd_oxide"]\n', encoding="utf-8")
    for flags in ([], ["--resume"]):
        out = tmp_path / f"out{len(flags)}"
        out.mkdir()
        write_marker(out, "sweep", files=list(SWEEP_FILES), open_=True)
        (out / "runs").mkdir()
        (out / "series").mkdir()
        (out / ".manifest.json.123.tmp").write_text("{")
        res = CliRunner().invoke(main, ["sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet", *flags])
        assert res.exit_code == 0, res.output
        assert (out / "manifest.json").exists() and "ran 1 of 1 runs" in res.output
    # a folder with a finished run's part but no manifest is not one rechain sets up again
    odd = tmp_path / "odd"
    odd.mkdir()
    write_marker(odd, "sweep", files=list(SWEEP_FILES), open_=True)
    (odd / "runs").mkdir()
    (odd / "runs" / "part-00000.parquet").write_text("x")
    res = CliRunner().invoke(main, ["sweep", str(spec), "--workers", "1", "--out", str(odd), "--quiet"])
    assert res.exit_code == 2 and "already holds a rechain sweep output" in res.output
    assert MARKER in os.listdir(odd)


def test_api_arguments_are_named_when_they_are_not_whole_numbers_in_range(tmp_path):
    from rechain.compare import compare
    from rechain.sweep import run_sweep
    from rechain.validate import validate
    for call, says in [(lambda: compare([TINY, TINY], workers=0), "workers: given 0; allowed: a whole number"),
                       (lambda: compare([TINY, TINY], workers="2"), "workers: given '2'"),
                       (lambda: validate(TINY, replicates=1.5), "replicates: given 1.5"),
                       (lambda: validate(TINY, workers=True), "workers: given True"),
                       (lambda: run_sweep(tmp_path / "none.toml", workers=-1), "workers: given -1"),
                       (lambda: run_sweep(tmp_path / "none.toml", batch_size=0), "batch_size: given 0")]:
        with pytest.raises(ValueError, match=says):
            call()


def test_a_column_the_runs_table_lacks_is_named_not_called_damage(tmp_path):
    from rechain.sweep import load_results
    spec = tmp_path / "s.toml"
    spec.write_text(f'base = "{TINY.as_posix()}"\nname = "cols"\nreplicates = 1\n'
                    '[parameters]\n"behaviour.noise" = { levels = [0.0] }\n'
                    '[outputs]\nkpis = ["price_peak_prnd_oxide"]\n', encoding="utf-8")
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet"]).exit_code == 0
    for columns, says in [(["nope"], "'nope' is not a column of the runs table; allowed: run_id"),
                          ("run_id", "columns: given 'run_id'; allowed: a list")]:
        with pytest.raises(ValueError, match=says):
            load_results(out, columns=columns)
    runs, _ = load_results(out, columns=["price_peak_prnd_oxide"])
    assert list(runs.columns) == ["run_id", "price_peak_prnd_oxide"]


@pytest.mark.parametrize("seed", ["1_0", "٣", "0x3", "3.0"])
def test_a_seed_is_digits(seed, no_simulation):
    res = CliRunner().invoke(main, ["run", str(TINY), "--seed", seed, "--quiet"])
    assert res.exit_code == 2 and "Invalid value for '--seed'" in res.output, res.output


def test_a_privileged_port_says_so(monkeypatch):
    import socket

    from rechain.dashboard import check_address
    from rechain.scenario import OptionError

    def refuse(self, address):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(socket.socket, "bind", refuse)
    with pytest.raises(OptionError, match=r"--port.*ports below 1024 need administrator rights"):
        check_address("127.0.0.1", 80)
    with pytest.raises(OptionError, match=r"--host"):
        check_address("127.0.0.1", 8765)        # not a system port: the address is the matter


def test_a_report_on_a_run_of_other_code_says_so(tmp_path):
    import json
    run = tmp_path / "run"
    assert CliRunner().invoke(main, run_args(str(run))).exit_code == 0
    res = CliRunner().invoke(main, ["report", str(run)])
    assert res.exit_code == 0 and "other code" not in res.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["rechain_code_sha256"] = "0" * 64
    (run / "manifest.json").write_text(json.dumps(manifest))
    res = CliRunner().invoke(main, ["report", str(run)])
    assert res.exit_code == 0 and "was made by other code than this rechain's" in res.stderr, res.stderr


def test_a_marker_as_it_is_is_not_rewritten(tmp_path):
    """A command refused after it opened an output it resumes (calibrate --resume with other
    settings) leaves the output's marker as it was, time and all."""
    write_marker(tmp_path, "calibration", files=["search"], open_=True)
    os.utime(tmp_path / MARKER, (1_000_000, 1_000_000))
    write_marker(tmp_path, "calibration", files=["search"], open_=True)
    assert (tmp_path / MARKER).stat().st_mtime == 1_000_000
    write_marker(tmp_path, "calibration", files=["search", "final"], open_=True)
    assert (tmp_path / MARKER).stat().st_mtime != 1_000_000


KILLED_WHILE_WRITING = """
import os, signal, sys
from rechain.outputs import output_dir
with output_dir(sys.argv[1], "run") as tmp:
    (tmp / "monthly.csv").write_text("half")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_folder_left_by_a_killed_writer_is_removed_by_the_next_output(tmp_path):
    target = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", KILLED_WHILE_WRITING, str(target)])
    assert done.returncode == -9
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".out.new.")]
    assert len(left) == 1 and (left[0] / "monthly.csv").exists()   # SIGKILL cannot be handled
    # beside it: a folder of that pattern that is not rechain's, and one a live process builds
    foreign = tmp_path / ".out.new.mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        building = tmp_path / ".out.new.building"
        building.mkdir()
        (building / ".rechain-building.json").write_text(
            f'{{"host": "{__import__("socket").gethostname()}", "pid": {live.pid}}}')
        with output_dir(target, "run") as tmp:
            (tmp / "monthly.csv").write_text("whole")
        assert not left[0].exists()
        assert (foreign / "notes.txt").read_text() == "keep" and building.exists()
    finally:
        live.kill()
        live.wait()
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "monthly.csv"]
    assert (target / "monthly.csv").read_text() == "whole"


def test_ctrl_c_while_the_command_loads_is_aborted_not_a_traceback(monkeypatch, capsys):
    import rechain.__main__

    class CtrlC:
        """Ctrl-C arriving while rechain.cli (and the libraries under it) load."""

        def find_spec(self, name, path=None, target=None):
            if name == "rechain.cli":
                raise KeyboardInterrupt

    monkeypatch.delitem(sys.modules, "rechain.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [CtrlC(), *sys.meta_path])
    with pytest.raises(SystemExit) as stopped:
        rechain.__main__.main()
    # as Ctrl-C during a command (status 130, not click's "Aborted!" and 1, validate's "missed")
    assert stopped.value.code == 130
    assert capsys.readouterr().err.strip() == "interrupted: stopped before it finished; no output is left half-written"


def test_importing_rechain_loads_the_model_only_when_used():
    code = ("import sys, rechain; heavy = {'numpy', 'pandas', 'mesa'} & set(sys.modules); "
            "assert not heavy, heavy; assert callable(rechain.run) and 'numpy' in sys.modules; "
            "from rechain import ScenarioError, __version__; print(__version__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


@pytest.mark.parametrize("when", ["running", "writing"])
def test_sigterm_during_a_command_says_so_and_leaves_nothing(when, tmp_path, monkeypatch):
    """SIGTERM (kill, a batch system's limit) while the model runs or while its output is
    written: one line, status 143, no output and no hidden folder, SIGTERM's handler put back."""
    import signal

    import rechain.results

    def term():
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the command")

    if when == "running":
        monkeypatch.setattr(rechain.results, "run", lambda *args, **kwargs: term())
    else:
        import pandas as pd
        monkeypatch.setattr(pd.DataFrame, "to_csv", lambda *args, **kwargs: term())
    def recorded(signum, frame):      # the caller's handler: a SIGTERM must not end pytest
        got.append(signum)

    got: list = []
    old = signal.signal(signal.SIGTERM, recorded)
    try:
        res = CliRunner().invoke(main, run_args(str(tmp_path / "out")))
        assert signal.getsignal(signal.SIGTERM) is recorded      # put back after the command
    finally:
        signal.signal(signal.SIGTERM, old)
    assert got == []
    assert res.exit_code == 143, res.output
    assert "terminated: stopped before it finished; no output is left half-written" in res.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGTERM while writing", "Ctrl-C"])
def test_a_stop_inside_a_compiled_kernel_ends_as_that_stop(stop, tmp_path, monkeypatch):
    """SIGTERM's exit or Ctrl-C raised while a numba kernel runs comes back wrapped in
    SystemError ("returned a result with an exception set"): the command still ends as that
    stop does (143 with its line; Ctrl-C 130 with its), not with a traceback."""
    import signal

    import rechain.results

    def kernel():
        try:
            if stop == "SIGTERM":
                os.kill(os.getpid(), signal.SIGTERM)
            if stop == "SIGTERM while writing":      # outputs' own handler raises Terminated
                raise Terminated()
            raise KeyboardInterrupt
        except (SystemExit, KeyboardInterrupt):
            raise SystemError("CPUDispatcher(<function ship>) returned a result with an exception set")

    monkeypatch.setattr(rechain.results, "run", lambda *args, **kwargs: kernel())
    old = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        res = CliRunner().invoke(main, run_args(str(tmp_path / "out")))
    finally:
        signal.signal(signal.SIGTERM, old)
    assert "Traceback" not in res.output and not isinstance(res.exception, SystemError), res.output
    if stop.startswith("SIGTERM"):
        assert res.exit_code == 143, res.output
        assert "terminated: stopped before it finished" in res.output
    else:
        # status 130 (128 + SIGINT), not click's "Aborted!" and 1, which validate gives a missed fact
        assert res.exit_code == 130 and "interrupted: stopped before it finished" in res.output, res.output
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_on_a_full_disk_names_its_folder(tmp_path, monkeypatch):
    """A disk that fills while the sweep sets up its folder: one line naming the folder and
    saying that no run started, not 'the output' and not a traceback."""
    import rechain.experiments.store as store

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store.shutil, "copyfile", full)
    spec = tmp_path / "s.toml"
    spec.write_text(f'base = "{TINY.as_posix()}"\nname = "full"\nreplicates = 1\n'
                    '[parameters]\n"behaviour.noise" = { levels = [0.0] }\n', encoding="utf-8")
    out = tmp_path / "sweep_out"
    res = CliRunner().invoke(main, ["sweep", str(spec), "--workers", "1", "--out", str(out), "--quiet"])
    assert res.exit_code == 2, res.output
    assert f"error: {out}: cannot be written (No space left on device); no run was started" in res.output
    assert "Traceback" not in res.output


def test_a_scenario_name_the_font_cannot_draw_does_not_flood_the_terminal(tmp_path):
    """A name in Chinese goes into every figure's title; the plotting font lacks its glyphs.
    The run still draws its figures, and --quiet stays quiet (it printed one warning per
    glyph per figure)."""
    scenario = tmp_path / "cjk.toml"
    scenario.write_text(f'extends = "{TINY.as_posix()}"\nname = "稀土基线"\n', encoding="utf-8")
    out = tmp_path / "out"
    res = subprocess.run([*RECHAIN, "run", str(scenario), "--out", str(out), "--quiet"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert (out / "prices.png").stat().st_size > 0


def test_a_long_name_in_a_script_of_many_bytes_gets_a_default_folder_the_disk_takes(tmp_path, monkeypatch):
    """100 Chinese characters are a valid name (the rule counts characters) but 300 bytes, and
    a folder name may have 255: the default folders of run and compare were refused. They
    are now cut by bytes, told apart by a hash, their suffix kept."""
    from rechain.outputs import default_folder

    name = "稀" * 100
    folder = default_folder(name, "-seed0")
    assert len(folder.encode()) <= 241 and folder.endswith("-seed0") and folder.startswith("稀" * 70)
    assert default_folder("稀" * 99 + "土", "-seed0") != folder            # told apart
    assert default_folder("baseline", "-seed0") == "baseline-seed0"        # short names as before
    # a suffix too long by itself (a seed of 300 digits): the name asked for, for the refusal
    # to name, not a hash fragment in place of the scenario's name
    assert default_folder("baseline", "-seed" + "9" * 300) == "baseline-seed" + "9" * 300
    monkeypatch.chdir(tmp_path)
    scenario = tmp_path / "long.toml"
    scenario.write_text(f'extends = "{TINY.as_posix()}"\nname = "{name}"\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["run", str(scenario), "--quiet", "--no-figures"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "outputs" / folder / "monthly.csv").is_file()


def test_an_output_inside_a_run_folder_is_refused_before_the_run(tmp_path, no_simulation):
    """--out run1/inner was accepted, after which run1 could not be rewritten (it held files
    rechain did not write there). Sweeps and calibrations hold their own analyses and
    searches; a run's, a comparison's and a validation's folder is written whole."""
    outer = tmp_path / "run1"
    outer.mkdir()
    write_marker(outer, "run", files=["monthly.csv"])
    (outer / "monthly.csv").write_text("x")
    res = CliRunner().invoke(main, run_args(str(outer / "inner")))
    assert res.exit_code == 2 and f"is inside {outer}, a rechain run output" in res.output, res.output
    assert sorted(os.listdir(outer)) == sorted([MARKER, "monthly.csv"])
    with pytest.raises(OutputError, match="is inside"):
        check_output_dir(outer / "a" / "b", "validation")
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    write_marker(sweep, "sweep", files=list(SWEEP_FILES), open_=True)
    assert check_output_dir(sweep / "analysis", "analysis") == sweep / "analysis"
