"""Output folders: a user's files are never deleted, and a bad --out is refused before any work.

Every command that writes a folder checks it first: absent, empty, or an earlier rechain
output of the same kind (its marker names every file rechain wrote, and it holds nothing
else). Anything else gets one line and exit status 2, and nothing in it is touched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from rechain.cli import main
from rechain.outputs import MARKER

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny.toml"


def users_folder(path: Path) -> Path:
    """A folder holding a user's work: a file and a sub-folder."""
    (path / "chapters").mkdir(parents=True)
    (path / "thesis.docx").write_text("two years of work")
    (path / "chapters" / "one.md").write_text("# One")
    return path


def snapshot(path: Path) -> dict[str, str]:
    return {p.relative_to(path).as_posix(): (p.read_text() if p.is_file() else "/") for p in path.rglob("*")}


def tiny_whatif(tmp_path: Path) -> Path:
    p = tmp_path / "tiny_b.toml"
    p.write_text(f'extends = "{TINY.as_posix()}"\nname = "tiny_b"\n[behaviour]\nw_news = 2.0\n')
    return p


def sweep_file(tmp_path: Path) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(f'base = "{TINY.as_posix()}"\ndesign = "grid"\n[overrides]\nend = 2024-02-29\n'
                 '[parameters]\n"behaviour.noise" = { levels = [0.0] }\n[outputs]\nkpis = ["price_peak_prnd_oxide"]\n')
    return p


def commands(tmp_path: Path, out: str) -> dict[str, list[str]]:
    """Every command that writes a folder, writing to ``out``."""
    return {
        "run": ["run", str(TINY), "--out", out, "--quiet", "--no-figures"],
        "compare": ["compare", str(TINY), str(tiny_whatif(tmp_path)), "--out", out, "--quiet", "--rerun",
                    "--no-figures"],
        "validate": ["validate", str(TINY), "--replicates", "1", "--out", out, "--no-figures"],
        "calibrate": ["calibrate", str(TINY), "--samples", "1", "--out", out],
        "sweep": ["sweep", str(sweep_file(tmp_path)), "--out", out, "--quiet"],
    }


@pytest.fixture
def no_simulation(monkeypatch):
    """Any model run fails the test: the refusals must come before the work."""
    import rechain.model

    def forbidden(*args, **kwargs):
        raise AssertionError("a model was run before the output folder was checked")

    monkeypatch.setattr(rechain.model.ChainModel, "run", forbidden)


@pytest.mark.parametrize("command", ["run", "compare", "validate", "calibrate", "sweep"])
def test_a_users_folder_is_refused_and_left_untouched(command, tmp_path, no_simulation):
    folder = users_folder(tmp_path / "work")
    before = snapshot(folder)
    res = CliRunner().invoke(main, commands(tmp_path, str(folder))[command])
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and res.output.startswith("error: "), res.output
    assert "not a rechain output" in res.output and "--out" in res.output
    assert snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []   # no temporary folder left


def test_analyze_refuses_an_analysis_folder_it_did_not_write(tmp_path):
    out = tmp_path / "sweep"
    res = CliRunner().invoke(main, commands(tmp_path, str(out))["sweep"])
    assert res.exit_code == 0, res.output
    users_folder(out / "analysis")
    before = snapshot(out / "analysis")
    res = CliRunner().invoke(main, ["analyze", str(out), "--no-figures"])
    assert res.exit_code == 2 and "not a rechain output" in res.output, res.output
    assert snapshot(out / "analysis") == before
    # the user's folder moved away, analyze writes; run again, it replaces its own analysis
    os.rename(out / "analysis", tmp_path / "mine")
    for _ in range(2):
        res = CliRunner().invoke(main, ["analyze", str(out), "--no-figures"])
        assert res.exit_code == 0, res.output
    assert (out / "analysis" / "summary.md").exists() and (out / "analysis" / MARKER).exists()


def test_an_earlier_run_is_replaced_by_a_swap_of_rechains_own_files(tmp_path):
    out = tmp_path / "run"
    run = commands(tmp_path, str(out))["run"]
    assert CliRunner().invoke(main, run).exit_code == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["kind"] == "run" and set(marker["files"]) == {p.name for p in out.iterdir()} - {MARKER}
    res = CliRunner().invoke(main, [*run, "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # nothing left beside it

    # a file of the user's among rechain's: the folder is no longer rechain's alone
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    res = CliRunner().invoke(main, run)
    assert res.exit_code == 2 and "rechain did not write (notes.txt)" in res.output, res.output
    assert snapshot(out) == before
    # an output of another kind is not replaced either
    (out / "notes.txt").unlink()
    res = CliRunner().invoke(main, commands(tmp_path, str(out))["compare"])
    assert res.exit_code == 2 and "holds a rechain run output" in res.output, res.output


def test_replacing_a_run_of_another_scenario_file_says_so(tmp_path):
    """Two files may share a scenario name, and so the default folder: the second run replaces
    the first, as an earlier run is, but says whose run it replaced and how to keep both."""
    out = tmp_path / "run"
    twin = tmp_path / "twin.toml"
    twin.write_text(f'extends = "{TINY.as_posix()}"\n')          # the same name as tiny.toml
    first = ["run", str(TINY), "--out", str(out), "--no-figures"]
    assert CliRunner().invoke(main, first).exit_code == 0
    res = CliRunner().invoke(main, first)                          # the same file again: no note
    assert res.exit_code == 0 and "note:" not in res.output, res.output
    res = CliRunner().invoke(main, ["run", str(twin), "--out", str(out), "--no-figures"])
    assert res.exit_code == 0, res.output
    assert f"note: this replaced an earlier run of another scenario file in {out}/ (tiny.toml, seed 0)" \
        in res.output and "give --out to keep both" in res.output
    res = CliRunner().invoke(main, ["run", str(twin), "--out", str(out), "--no-figures", "--seed", "3"])
    assert "note: this replaced an earlier run of seed 0" in res.output, res.output


def test_an_empty_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    res = CliRunner().invoke(main, commands(tmp_path, str(out))["run"])
    assert res.exit_code == 0, res.output
    assert (out / "monthly.csv").exists()


BAD_PLACES = [pytest.param("/dev/null/x", "/dev/null is a file", id="under-a-file")]
if Path("/proc").is_dir():
    BAD_PLACES.append(pytest.param("/proc/x", "cannot be written", id="proc"))


@pytest.mark.parametrize("place, says", BAD_PLACES)
@pytest.mark.parametrize("command", ["run", "compare", "validate", "calibrate", "sweep"])
def test_an_unwritable_place_is_refused_before_the_work(command, place, says, tmp_path, no_simulation):
    res = CliRunner().invoke(main, commands(tmp_path, place)[command])
    assert res.exit_code == 2, res.output
    assert res.output.startswith(f"error: {place}: ") and res.output.count("\n") == 1, res.output
    assert says in res.output and "--out" in res.output


def test_a_file_as_out_is_refused(tmp_path, no_simulation):
    f = tmp_path / "results.csv"
    f.write_text("keep me")
    from rechain.outputs import OutputError, check_output_dir
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_output_dir(f, "run")
    res = CliRunner().invoke(main, commands(tmp_path, str(f))["run"])
    assert res.exit_code == 2 and f.read_text() == "keep me"
