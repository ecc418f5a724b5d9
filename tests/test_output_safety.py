"""Output folders under attack: forged markers, symbolic links and SIGTERM while writing.

A marker whose file list leads out of the folder is not rechain's, so nothing outside an
output folder is ever deleted; an --out that is a symbolic link (to an earlier run, or to
nowhere) is refused before any work; and a SIGTERM while an output is written leaves no
hidden, half-written folder behind. The outputs here are written by :class:`output_dir`
directly, so no model runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rechain import outputs
from rechain.cli import main
from rechain.experiments.executor import Terminated
from rechain.outputs import MARKER, OutputError, check_output_dir, os_path, output_dir

TINY = Path(__file__).resolve().parent / "data" / "tiny.toml"


@pytest.fixture
def no_simulation(monkeypatch):
    """Any model run fails the test: the refusals must come before the work."""
    import rechain.model

    def forbidden(*args, **kwargs):
        raise AssertionError("a model was run before the output folder was checked")

    monkeypatch.setattr(rechain.model.ChainModel, "run", forbidden)


def cheap_run(folder: Path, text: str = "1") -> Path:
    """A rechain run output written the way ``rechain run`` writes one, without a model."""
    with output_dir(folder, "run") as tmp:
        (tmp / "monthly.csv").write_text(text)
        (tmp / "manifest.json").write_text("{}")
    return folder


def hidden(folder: Path) -> list[str]:
    """Hidden entries beside the outputs: what a failed or stopped write would leave."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def run_cli(out: Path) -> list[str]:
    return ["run", str(TINY), "--out", str(out), "--quiet", "--no-figures"]


# --------------------------------------------------------------------------- forged markers
@pytest.mark.parametrize("listed", ["../victim.txt", "{abs}", "sub/../../victim.txt", "", ".", "..", "a\0b", 3,
                                    "..\\victim.txt"],
                         ids=["parent", "absolute", "nested", "empty", "dot", "dotdot", "nul", "number", "backslash"])
def test_a_marker_naming_anything_but_plain_names_is_not_rechains(listed, tmp_path, no_simulation):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "outdir"
    out.mkdir()
    listed = str(victim) if listed == "{abs}" else listed
    (out / MARKER).write_text(json.dumps({"kind": "run", "writer": "rechain", "files": [listed]}))
    with pytest.raises(OutputError, match="is not a rechain output"):
        check_output_dir(out, "run")
    res = CliRunner().invoke(main, run_cli(out))
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "not written by rechain" in res.output and "--out" in res.output
    assert victim.read_text() == "precious" and sorted(p.name for p in out.iterdir()) == [MARKER]
    assert hidden(tmp_path) == []


def test_a_refusal_naming_a_file_with_a_newline_in_its_name_stays_one_line(tmp_path):
    (tmp_path / "a\nb.txt").write_text("mine")
    (tmp_path / " lead").write_text("mine")
    with pytest.raises(OutputError) as info:
        check_output_dir(tmp_path, "run")
    assert "\n" not in str(info.value) and "'a\\nb.txt'" in str(info.value) and "' lead'" in str(info.value)


def test_a_report_is_not_written_as_another_outputs_own_report(tmp_path):
    # rechain report A --out B/report.html replaced B's report with A's, listed in B's marker
    a, b = cheap_run(tmp_path / "a"), cheap_run(tmp_path / "b")
    res = CliRunner().invoke(main, ["report", str(a), "--out", str(b / "report.html")])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert res.output.startswith(f"error: {b / 'report.html'}: is the report of the run output in {b}, not of {a}")
    assert not (b / "report.html").exists()


def test_replacing_an_output_deletes_only_the_files_its_marker_names_inside_it(tmp_path):
    """The deleting step itself never follows a path out of the folder, whatever it is given."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    old = tmp_path / "old"
    old.mkdir()
    (old / "monthly.csv").write_text("1")
    outputs._remove_own(old, {"kind": "run", "files": ["monthly.csv", "../victim.txt", str(victim)]})
    assert victim.read_text() == "precious" and not old.exists()


def test_an_open_marker_does_not_make_a_users_folder_replaceable(tmp_path, no_simulation):
    out = tmp_path / "outdir"
    out.mkdir()
    (out / "thesis.docx").write_text("two years of work")
    (out / MARKER).write_text(json.dumps({"kind": "run", "files": ["monthly.csv"], "open": True}))
    res = CliRunner().invoke(main, run_cli(out))
    assert res.exit_code == 2 and "rechain did not write (thesis.docx)" in res.output, res.output
    assert (out / "thesis.docx").read_text() == "two years of work" and hidden(tmp_path) == []


def test_an_earlier_output_is_still_replaced(tmp_path):
    out = cheap_run(tmp_path / "run", "old")
    cheap_run(out, "new")
    assert (out / "monthly.csv").read_text() == "new" and hidden(tmp_path) == []
    assert json.loads((out / MARKER).read_text())["files"] == ["manifest.json", "monthly.csv"]


# --------------------------------------------------------------------------- files changed since written
def test_a_file_changed_since_rechain_wrote_it_stops_the_replacement(tmp_path, no_simulation):
    """An outside analyst kept its own facts table as ``v/facts.csv`` in a validation folder and
    gave it as ``--facts``: the next run into ``v`` replaced it with the results, without a
    word. A file of the marker's whose content is not what rechain wrote is a user's now."""
    out = cheap_run(tmp_path / "run", "rechain's")
    (out / "monthly.csv").write_text("my own table, saved over rechain's")
    res = CliRunner().invoke(main, run_cli(out))
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "holds files changed since rechain wrote them (monthly.csv)" in res.output
    assert (out / "monthly.csv").read_text() == "my own table, saved over rechain's" and hidden(tmp_path) == []
    # an edit of the same size is seen too, and so is one made while the new output is built
    out2 = cheap_run(tmp_path / "run2", "abc")
    (out2 / "monthly.csv").write_text("abd")
    with pytest.raises(OutputError, match="changed since rechain wrote them"):
        check_output_dir(out2, "run")
    out3 = cheap_run(tmp_path / "run3", "old")
    with pytest.raises(OutputError, match=r"changed since rechain wrote them \(monthly.csv\)"):
        with output_dir(out3, "run") as tmp:
            (tmp / "monthly.csv").write_text("new")
            (out3 / "monthly.csv").write_text("edited meanwhile")
    assert (out3 / "monthly.csv").read_text() == "edited meanwhile" and hidden(tmp_path) == []


def test_an_output_copied_whole_or_marked_by_an_older_rechain_is_still_replaced(tmp_path):
    """The marker keeps content, not times: a folder copied with ``cp -r`` (new times) is still
    rechain's; a marker without stamps (an older rechain's) is taken as before."""
    import shutil
    out = cheap_run(tmp_path / "run", "old")
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, copy_function=shutil.copy)       # contents, not times
    os.utime(copy / "monthly.csv", (1, 1))
    cheap_run(copy, "new")
    assert (copy / "monthly.csv").read_text() == "new"
    marker = json.loads((out / MARKER).read_text())
    marker.pop("stamps")
    (out / MARKER).write_text(json.dumps(marker))
    (out / "monthly.csv").write_text("changed, but the marker cannot tell")
    cheap_run(out, "new")
    assert (out / "monthly.csv").read_text() == "new"


def test_a_file_added_to_an_output_keeps_the_others_stamps(tmp_path):
    """``rechain report`` adds report.html: an edit made before it is still seen after it, and an
    edited report is not written over."""
    out = cheap_run(tmp_path / "run", "old")
    (out / "monthly.csv").write_text("edited")
    outputs.add_file(out, "report.html", "<p>1</p>")
    with pytest.raises(OutputError, match=r"changed since rechain wrote them \(monthly.csv\)"):
        check_output_dir(out, "run")
    (out / "monthly.csv").write_text("old")          # put back as rechain wrote it
    outputs.add_file(out, "report.html", "<p>2</p>")  # its own file, unchanged: replaced
    (out / "report.html").write_text("<p>my notes</p>")
    with pytest.raises(OutputError, match="report.html: was changed since rechain wrote it"):
        outputs.add_file(out, "report.html", "<p>3</p>")
    assert (out / "report.html").read_text() == "<p>my notes</p>"


@pytest.mark.parametrize("place", ["/proc/x.html", "/sys/foo/x.html"])
def test_a_report_out_where_nothing_can_be_written(place, tmp_path, monkeypatch):
    """`report RUN --out /proc/x.html` (or /sys/...): the one line run and compare give for such
    an --out, before the report is built, and nothing left in the run folder."""
    if not Path(place).parents[-2].is_dir():
        pytest.skip(f"no {Path(place).parents[-2]} here")
    import rechain.html_report
    monkeypatch.setattr(rechain.html_report, "build_report", lambda *a, **k: "<html></html>")
    run = cheap_run(tmp_path / "run")
    res = CliRunner().invoke(main, ["report", str(run), "--out", place])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert res.output.startswith(f"error: {place}: cannot be written: nothing can be created in /")
    assert "choose another --out" in res.output and "Traceback" not in res.output
    assert sorted(p.name for p in run.iterdir()) == sorted([MARKER, "manifest.json", "monthly.csv"])


# --------------------------------------------------------------------------- symbolic links
def test_a_link_to_an_earlier_run_is_refused_and_the_run_kept(tmp_path, no_simulation):
    real = cheap_run(tmp_path / "real_run")
    before = sorted(p.name for p in real.iterdir())
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(OutputError, match="is a symbolic link"):
        check_output_dir(link, "run")
    with pytest.raises(OutputError, match="is a symbolic link"):
        cheap_run(link)
    res = CliRunner().invoke(main, run_cli(link))
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert res.output.startswith(f"error: {link}: is a symbolic link") and "choose another --out" in res.output
    assert link.is_symlink() and sorted(p.name for p in real.iterdir()) == before
    assert hidden(tmp_path) == []


def test_a_dangling_link_is_refused_before_the_work(tmp_path, no_simulation):
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match="is a symbolic link"):
        check_output_dir(link, "run")
    res = CliRunner().invoke(main, run_cli(link))
    assert res.exit_code == 2 and "is a symbolic link" in res.output, res.output
    assert link.is_symlink() and not (tmp_path / "nowhere").exists() and hidden(tmp_path) == []


def test_a_folder_inside_a_linked_folder_is_fine(tmp_path):
    """Only --out itself must be real: links higher up the path change nothing in the swap."""
    (tmp_path / "real").mkdir()
    (tmp_path / "via").symlink_to(tmp_path / "real")
    cheap_run(tmp_path / "via" / "run")
    cheap_run(tmp_path / "via" / "run", "again")
    assert (tmp_path / "real" / "run" / "monthly.csv").read_text() == "again"
    assert hidden(tmp_path / "real") == []


@pytest.mark.parametrize("kind", ["loop", "dangling"])
def test_an_out_below_a_link_that_leads_nowhere_is_refused_before_the_work(kind, tmp_path, no_simulation):
    """A link loop above --out ended in FileExistsError, ELOOP or RuntimeError; a dangling link
    was followed and its missing target made (``/nonexistent/x/sub``). Every command that
    writes refuses both in one line, exit 2, before the work, and makes nothing."""
    link = tmp_path / "link"
    if kind == "loop":
        link.symlink_to(tmp_path / "back")
        (tmp_path / "back").symlink_to(link)
        says = f"cannot be created: {link} is a symbolic link loop (it leads back to itself)"
    else:
        link.symlink_to(tmp_path / "nowhere" / "x")
        says = f"cannot be created: {link} is a symbolic link to {tmp_path / 'nowhere' / 'x'}, which does not exist"
    out = link / "sub"
    run = cheap_run(tmp_path / "run")
    before = sorted(p.name for p in tmp_path.iterdir())
    for args in (run_cli(out), ["validate", str(TINY), "--out", str(out)],
                 ["compare", str(TINY), str(TINY.parent.parent.parent / "scenarios" / "baseline.toml"), "--out",
                  str(out)],
                 ["sweep", str(TINY.parent / "tiny_grid.toml"), "--out", str(out)],
                 ["calibrate", str(TINY), "--samples", "2", "--out", str(out)],
                 ["report", str(run), "--out", str(out / "r.html")]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2 and res.output.count("\n") == 1, (args, res.output)
        assert says in res.output and "choose another --out" in res.output, (args, res.output)
    assert not (tmp_path / "nowhere").exists() and sorted(p.name for p in tmp_path.iterdir()) == before
    assert sorted(p.name for p in run.iterdir()) == sorted([MARKER, "manifest.json", "monthly.csv"])


# --------------------------------------------------------------------------- SIGTERM
@pytest.fixture
def sigterm_recorded():
    """SIGTERM handled by Python in this process (so a test's SIGTERM cannot end pytest)."""
    got: list[int] = []
    old = signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
    yield got
    signal.signal(signal.SIGTERM, old)


def test_sigterm_while_writing_removes_the_hidden_folder(tmp_path, sigterm_recorded):
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated):
        with output_dir(tmp_path / "run", "run") as tmp:
            (tmp / "monthly.csv").write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
            (tmp / "flows.csv").write_text("never")
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is handler     # put back after the write


def test_sigterm_during_the_swap_waits_until_the_output_is_in_place(tmp_path, monkeypatch, sigterm_recorded):
    out = cheap_run(tmp_path / "run", "old")
    swap = outputs._swap_in

    def swap_with_sigterm(*args):
        os.kill(os.getpid(), signal.SIGTERM)
        swap(*args)

    monkeypatch.setattr(outputs, "_swap_in", swap_with_sigterm)
    cheap_run(out, "new")
    assert (out / "monthly.csv").read_text() == "new" and hidden(tmp_path) == []
    assert sigterm_recorded == [signal.SIGTERM]     # delivered afterwards, to the handler of before


def test_a_process_killed_while_writing_leaves_nothing_and_ends_as_killed(tmp_path):
    """With Python's default for SIGTERM: the hidden folder is removed, then the process ends
    with SIGTERM's status as a kill would have it."""
    script = (f"import os, signal\nfrom rechain.outputs import output_dir\n"
              f"with output_dir({str(tmp_path / 'run')!r}, 'run') as tmp:\n"
              f"    (tmp / 'monthly.csv').write_text('half')\n"
              f"    os.kill(os.getpid(), signal.SIGTERM)\n"
              f"    (tmp / 'flows.csv').write_text('never')\n"
              f"print('survived')\n")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.returncode == -signal.SIGTERM, (res.returncode, res.stdout, res.stderr)
    assert "survived" not in res.stdout and "Traceback" not in res.stderr, res.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_output_written_outside_the_main_thread_leaves_sigterm_alone(tmp_path):
    """Python handles signals in the main thread only: a worker thread still writes its output."""
    import threading

    handler = signal.getsignal(signal.SIGTERM)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            cheap_run(tmp_path / "run")
        except BaseException as e:     # noqa: BLE001 - reported by the test
            errors.append(e)

    t = threading.Thread(target=write)
    t.start()
    t.join()
    assert errors == [] and (tmp_path / "run" / "monthly.csv").exists() and hidden(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is handler


def test_a_path_through_a_link_and_up_lands_where_the_system_puts_it(tmp_path, monkeypatch):
    """``lk/../z`` with ``lk`` a link to ``real/sub`` is ``real/z`` to the system; read by the
    letters it was ``./z``, and the output went somewhere the user's shell does not see."""
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "lk").symlink_to(tmp_path / "real" / "sub")
    monkeypatch.chdir(tmp_path)
    cheap_run(Path("lk/../z"))
    assert (tmp_path / "real" / "z" / "monthly.csv").exists() and not (tmp_path / "z").exists()
    cheap_run(Path("lk/../z"), "again")           # the earlier output is found and replaced
    assert (tmp_path / "real" / "z" / "monthly.csv").read_text() == "again"
    assert hidden(tmp_path / "real") == [] and hidden(tmp_path) == []
    assert os_path("lk/..") == tmp_path / "real" and os_path("lk") == tmp_path / "lk"
