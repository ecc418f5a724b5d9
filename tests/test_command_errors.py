"""Bad input to the commands (not to a scenario's keys): one line, exit status 2, nothing written.

A folder that is no sweep given to ``analyze``, a calibration space that is not UTF-8 text or
names no key of the scenario, a Dask scheduler that cannot be reached.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rechain.cli import main

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"


def one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    assert "Traceback" not in res.output
    return res.output


@pytest.fixture(scope="module")
def run_output(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "tiny-seed0"
    res = CliRunner().invoke(main, ["run", str(TINY), "--out", str(out), "--quiet", "--no-figures"])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.parametrize("what", ["run_output", "manifest_of_something_else", "empty"])
def test_analyze_on_a_folder_that_is_no_sweep(what, run_output, tmp_path):
    folder = {"run_output": run_output, "manifest_of_something_else": tmp_path / "x", "empty": tmp_path / "e"}[what]
    if what != "run_output":
        folder.mkdir()
        if what == "manifest_of_something_else":
            (folder / "manifest.json").write_text('{"kpis": 3}')
    before = sorted(p.name for p in folder.iterdir())
    msg = one_error_line(CliRunner().invoke(main, ["analyze", str(folder)]))
    assert "sweep" in msg and str(folder) in msg
    assert sorted(p.name for p in folder.iterdir()) == before         # no empty analysis/ left behind


@pytest.mark.parametrize("content, says", [
    (b'[parameters]\n"behaviour.w_news" = { min = 0.5, max = 1.5 }  # caf\xe9\n', ["not UTF-8", "line 2", "0xe9"]),
    (b'[parameters]\n"behaviour.w_newz" = { min = 0.5, max = 1.5 }\n', ["parameters.behaviour.w_newz",
                                                                        "is not a key of the scenario",
                                                                        "did you mean 'w_news'?"]),
    (b'[parameters]\n"behaviour.w_social" = { min = 0.5, max = 1.5 }\n', ["parameters.behaviour.w_social",
                                                                          "max 1.5", "<= 1"]),
    (b'[parameters]\n"behaviour.w_news" = { min = "low", max = 1.5 }\n', ["parameters.behaviour.w_news", "numbers"]),
    # beyond the float range, or not finite: no sample can be drawn
    (b'[parameters]\n"behaviour.w_news" = { min = 0.5, max = 1' + b'0' * 400 + b' }\n',
     ["parameters.behaviour.w_news", "finite numbers", "..."]),
    (b'[parameters]\n"behaviour.w_news" = { min = 0.5, max = inf }\n', ["parameters.behaviour.w_news", "finite numbers"]),
    # a flag given as text is not read as true
    (b'[parameters]\n"behaviour.w_news" = { min = 0.5, max = 1.5, integer = "false" }\n',
     ["parameters.behaviour.w_news.integer", "given 'false'; allowed: true or false"]),
    # a count sampled as a float: the message says how to sample whole numbers
    (b'[parameters]\n"firms.rock_miners.count" = { min = 1, max = 3 }\n', ["parameters.firms.rock_miners.count",
                                                                          "whole number", "integer = true"]),
    # a scenario or sweep file given as the space: every foreign key named, with its line, and
    # what the file looks like (only the first key was named)
    (b'extends = "baseline.toml"\nend = 2030-12-31\n[behaviour]\nnoise = 0.1\n',
     ["line 1: extends: given extends, end, behaviour: keys a calibration space has not",
      "it looks like a scenario file: give it as SCENARIO"]),
    (b'base = "b.toml"\ndesign = "grid"\n[parameters]\n"behaviour.noise" = { levels = [0, 1] }\n',
     ["line 1: base: given base, design: keys", "it looks like a sweep file"]),
    (b'colour = "red"\n', ["line 1: colour: given colour: a key a calibration space has not"]),
])
def test_calibrate_space_errors(content, says, tmp_path):
    space = tmp_path / "space.toml"
    space.write_bytes(content)
    out = tmp_path / "cal"
    msg = one_error_line(CliRunner().invoke(main, ["calibrate", str(TINY), "--space", str(space), "--samples", "1",
                                                   "--out", str(out)]))
    assert msg.startswith(f"error: {space}")
    for s in says:
        assert s in msg
    assert not out.exists()


def test_a_scheduler_that_cannot_be_reached(tmp_path):
    pytest.importorskip("distributed")
    spec = tmp_path / "s.toml"
    spec.write_text(f'base = "{TINY.as_posix()}"\n[parameters]\n"behaviour.noise" = {{ levels = [0.0] }}\n')
    out = tmp_path / "out"
    t0 = time.monotonic()
    res = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--quiet",
                                    "--scheduler", "tcp://127.0.0.1:1"])
    msg = one_error_line(res)
    assert time.monotonic() - t0 < 20
    assert "--scheduler tcp://127.0.0.1:1" in msg and "cannot reach" in msg
    assert not out.exists()
    msg = one_error_line(CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--quiet",
                                                   "--scheduler", "localhost:port"]))
    assert "port 'port' is not a number" in msg and not out.exists()


def test_a_calibration_whose_scheduler_cannot_be_reached_leaves_no_folder(tmp_path):
    """As a sweep: the folder calibrate made for its runs (and its parents) goes again; a
    folder the user made stays, as empty as it was."""
    pytest.importorskip("distributed")
    args = ["calibrate", str(TINY), "--samples", "1", "--quiet", "--scheduler", "tcp://127.0.0.1:1"]
    msg = one_error_line(CliRunner().invoke(main, [*args, "--out", str(tmp_path / "new" / "cal")]))
    assert "cannot reach" in msg and list(tmp_path.iterdir()) == []
    mine = tmp_path / "mine"
    mine.mkdir()
    one_error_line(CliRunner().invoke(main, [*args, "--out", str(mine)]))
    assert mine.is_dir() and list(mine.iterdir()) == []


def test_a_reader_that_closes_the_pipe_stops_the_command_quietly():
    """`rechain check ... | head -1`: the reader goes away; the command stops with the
    status of a program killed by SIGPIPE (141), no traceback, and not validate's 1."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    rechain = Path(sys.executable).with_name("rechain")
    with subprocess.Popen([str(rechain), "check", str(root / "scenarios" / "baseline.toml")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root) as p:
        p.stdout.close()              # gone before the first line is written
        err = p.stderr.read().decode()
        assert p.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_compare_of_scenarios_that_share_no_month(tmp_path, monkeypatch):
    """A what-if of 2039 against the 2024 reference: no month to set beside the reference's, so
    no key figure means anything; refused before any run, naming both periods."""
    import rechain.model

    def forbidden(*args, **kwargs):
        raise AssertionError("a model was run before the periods were checked")

    monkeypatch.setattr(rechain.model.ChainModel, "run", forbidden)
    later = tmp_path / "later.toml"
    later.write_text(f'extends = "{TINY.as_posix()}"\nname = "later"\nstart = 2025-01-01\nend = 2025-06-30\n')
    out = tmp_path / "cmp"
    msg = one_error_line(CliRunner().invoke(main, ["compare", str(TINY), str(later), "--out", str(out), "--rerun"]))
    assert msg.startswith(f"error: {later}: start, end: given 2025-01..2025-06 (later); allowed: a period that "
                          f"shares at least one month with the reference tiny's (2024-01..2024-06)")
    assert not out.exists()


@pytest.mark.parametrize("args, option", [
    (["validate", str(TINY), "--replicates", "100000000000"], "--replicates"),
    (["compare", str(TINY), str(TINY), "--replicates", "100000000000"], "--replicates"),
    (["compare", str(TINY), str(TINY), "--seeds", "1001"], "--seeds"),
    (["calibrate", str(TINY), "--samples", "100000000000"], "--samples"),
    (["calibrate", str(TINY), "--replicates", "100000000000"], "--replicates"),
    (["calibrate", str(TINY), "--final-replicates", "100000000000"], "--final-replicates"),
    (["calibrate", str(TINY), "--finalists", "100000000000"], "--finalists"),
    (["calibrate", str(TINY), "--refine", "100000000000"], "--refine"),
    (["calibrate", str(TINY), "--popsize", "100000000000"], "--popsize"),
    # worker processes: a local Dask cluster tried to start every one of them
    (["validate", str(TINY), "--workers", "1000000"], "--workers"),
    (["calibrate", str(TINY), "--workers", "1000000"], "--workers"),
    (["sweep", str(Path(__file__).resolve().parents[1] / "scenarios" / "sweeps" / "policy_grid.toml"),
      "--workers", "1000000", "--scheduler", "local"], "--workers"),
])
def test_counts_too_large_to_hold_are_refused_before_anything_runs(args, option, tmp_path):
    # they ended in a MemoryError traceback, or took the machine's memory until killed
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert f"Invalid value for '{option}'" in res.output and "is not in the range" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "out").exists()


def test_a_dashboard_address_that_cannot_be_listened_on_is_one_line_before_any_server(tmp_path):
    # the server started, printed its banner and Solara's warnings, then ended with
    # "ERROR: [Errno -2] Name or service not known" (exit 3) or "address already in use"
    import socket

    from rechain.dashboard import check_address, missing_packages
    from rechain.scenario import OptionError
    with pytest.raises(OptionError, match=r"--host 999\.1\.1\.1: is not an address or host name"):
        check_address("999.1.1.1", 8765)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(OptionError, match=rf"--port {port}: cannot listen on 127\.0\.0\.1 port {port}"):
            check_address("127.0.0.1", port)
        if missing_packages():
            return
        msg = one_error_line(CliRunner().invoke(main, ["dashboard", str(TINY), "--port", str(port)]))
        assert msg.startswith(f"error: --port {port}: cannot listen") and "allowed: a port no other program" in msg
    check_address("127.0.0.1", 0)       # any free port: fine


@pytest.mark.parametrize("args, what", [
    (["check", ""], "'SCENARIO': given an empty path (''); allowed: a file's path"),
    (["run", " "], "'SCENARIO': given an empty path (' '); allowed: a file's path"),
    (["run", str(TINY), "--out", ""], "'--out': given an empty path (''); allowed: a folder's path"),
    (["validate", str(TINY), "--facts", ""], "'--facts': given an empty path"),
    (["compare", ""], "given an empty path"),
    (["sweep", ""], "given an empty path"),
    (["analyze", ""], "given an empty path (''); allowed: a folder's path"),
])
def test_an_empty_path_is_told_as_empty_not_as_the_current_folder(args, what, tmp_path, monkeypatch):
    """``Path("")`` is ``.``: an empty argument (an unset shell variable) was told as
    ".: given a directory" (an outside fuzzing round)."""
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and what in res.output and "Traceback" not in res.output, res.output
    assert list(tmp_path.iterdir()) == []
