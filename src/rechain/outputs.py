"""Output folders: checked before any work, written whole, and never a user's files lost.

Every command that writes a folder (``run``, ``compare``, ``validate``, ``calibrate``,
``analyze``, ``sweep``) goes through this module:

- :func:`check_output_dir` before the work starts: the folder must be creatable and
  writable, not a file, and either absent, empty, or an earlier rechain output of the
  same kind;
- :func:`output_dir` to write it: the files are built in a hidden folder beside the
  target and moved into place when complete, so a failure leaves nothing half-written.

A folder is *rechain's* when it holds the marker file :data:`MARKER`, which names the
kind of output and every file rechain wrote (with each file's size and SHA-256, for a
finished output), and holds nothing else, none of its files changed since. Only such a folder
is replaced, by swapping the new folder in and then deleting the files the old marker
names, one by one, so that a file rechain did not write is never deleted. A marker names
files by their plain names in the folder itself: one that names anything else (``../x``,
``/home/x``) was not written by rechain, and its folder is not rechain's. An ``--out`` that
is a symbolic link is refused: the swap would replace the link and empty the folder it
points to.

SIGTERM (``kill``, a batch system's time limit) while an output is written is handled as
Ctrl-C is: the hidden folder is removed (see :class:`_Sigterm`). A process killed outright
(SIGKILL, a power cut) cannot clean up: the next output written to the same place removes
the hidden folders such processes left (see :func:`_remove_abandoned`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
from pathlib import Path

from .experiments.executor import Terminated, was_interrupted, was_terminated
from .fingerprint import code_fingerprint   # re-exported: where callers have always found it
from .scenario import ScenarioError

__all__ = ["MARKER", "OutputError", "check_output_dir", "default_folder", "output_dir", "write_marker",
           "is_rechain_output", "check_writable", "add_file", "not_as_written", "write_file", "output_kind", "holds_run_of",
           "not_run_of",
           "begin_output", "code_fingerprint", "rows_written", "files_written"]

#: the marker file of a rechain output folder (JSON: kind, files)
MARKER = ".rechain-output.json"
#: what an output error advises by default: the commands that write a folder take --out
CHOOSE_OUT = "choose another --out"


class OutputError(ScenarioError):
    """An output folder rechain must not or cannot write (one line for the user, exit 2)."""

    def __init__(self, folder: str | Path, message: str):
        super().__init__(folder, "", message, kind="output")


def _plain_name(name: object) -> bool:
    """True when ``name`` names a direct child of a folder: a non-empty string, not ``.``
    or ``..``, without a path separator (``/`` or ``\\``) or NUL, so it cannot be absolute.

    rechain's outputs are flat and their markers list plain names; a name that leads
    elsewhere would make replacing the folder delete a file outside it.
    """
    return (isinstance(name, str) and name not in ("", ".", "..")
            and not any(c in name for c in ("/", "\\", "\0")))


def _read_marker(folder: Path) -> dict | None:
    """The folder's marker as a dict, or None when it has none, an unreadable one, or one
    that is not rechain's (its file list holds anything but plain names in the folder)."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        return None
    if not all(_plain_name(f) for f in data["files"]):
        return None        # copied, hand-edited or forged: rechain never lists such paths
    return data


def files_written(folder: str | Path) -> list[str]:
    """The files rechain wrote into ``folder``, as its marker names them (none if it has no
    marker of rechain's): what a command says it wrote is what is there."""
    marker = _read_marker(Path(folder))
    return list(marker["files"]) if marker else []


def _stamp(path: Path) -> list:
    """A file's size and SHA-256, as a marker keeps them (the content, not the time: a folder
    copied whole is still rechain's)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return [os.lstat(path).st_size, digest.hexdigest()]


def _changed(folder: Path, marker: dict, names: tuple[str, ...] | None = None) -> list[str]:
    """Files of ``folder`` its marker names (those of ``names`` alone, where given: the others
    are not hashed) whose size or content is not what rechain wrote: a user's edits, or a file
    copied over one of rechain's. A file since deleted, or a marker without stamps (an older
    rechain's), counts as unchanged."""
    stamps = marker.get("stamps")
    if not isinstance(stamps, dict):
        return []
    changed = []
    for name in marker["files"] if names is None else [n for n in marker["files"] if n in names]:
        kept = stamps.get(name)
        if not isinstance(kept, list) or not _plain_name(name):
            continue
        path = folder / name
        try:
            if not path.is_file() or path.is_symlink():
                continue            # gone, or not a file rechain writes: the strangers' check says so
            # the size first: most edits change it, and hashing is then not needed
            if os.lstat(path).st_size != kept[0] or _stamp(path) != kept:
                changed.append(name)
        except OSError:
            continue
    return sorted(changed)


def _entries(folder: Path) -> set[str]:
    """Every file and folder below ``folder``, as POSIX paths relative to it."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def _strangers(folder: Path, marker: dict, growing_ok: bool = True) -> list[str]:
    """Entries of ``folder`` its marker does not name (what rechain did not write).

    A growing output (a sweep: the marker says ``open``) is checked by its own command.
    ``growing_ok=False`` counts its entries all the same, for a folder about to be replaced:
    growing outputs never are, so there ``open`` must not hide a user's files.
    """
    if marker.get("open") and growing_ok:
        return []
    return sorted(_entries(folder) - set(marker["files"]) - {MARKER})


def is_rechain_output(folder: str | Path, kind: str | None = None) -> bool:
    """True when ``folder`` holds a rechain output (of ``kind``, if given) and nothing else."""
    folder = Path(folder)
    marker = _read_marker(folder) if folder.is_dir() else None
    return marker is not None and (kind is None or marker.get("kind") == kind) and not _strangers(folder, marker)


def os_path(path: str | Path) -> Path:
    """The absolute path the system reaches by ``path``, its last name kept as written.

    ``os.path.abspath`` drops ``..`` by the letters: ``lk/../z`` became ``./z`` while the
    system, following the link ``lk``, writes beside the link's target. The folders above are
    resolved as the system does; the last name is not (an ``--out`` that is itself a link
    must stay a link, to be refused)."""
    full = os.path.join(os.getcwd(), os.fspath(path))
    parent, name = os.path.split(full.rstrip(os.sep) or os.sep)
    if name in ("", ".", ".."):
        return Path(os.path.realpath(full))
    return Path(os.path.realpath(parent)) / name

def _shown(names: list[str], n: int = 4) -> str:
    """The first ``n`` names, a name with a control character or blank ends quoted (a newline
    in a file's name split the one-line message in two)."""
    names = [repr(x) if not x.isprintable() or x != x.strip() else x for x in names]
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def check_writable(folder: str | Path, shown: str | Path | None = None) -> None:
    """Raise :class:`OutputError` unless something can be created in ``folder`` (or where it
    would go); the message names ``shown`` (a file to be written there), else ``folder``."""
    shown = Path(folder if shown is None else shown)
    _refuse_broken_links(Path(folder), shown, CHOOSE_OUT)
    _probe_writable(os_path(folder), shown)


def _refuse_broken_links(path: Path, shown: Path, elsewhere: str) -> None:
    """Raise :class:`OutputError` when ``path`` or a folder above it is a symbolic link that
    leads nowhere (to a missing place, or round in a loop).

    Creating the missing folders would follow a dangling link and make its target, a place
    the user never named (``/nonexistent/x/sub``), and a loop fails with a bare system error.
    The path is walked as written, since resolving it would follow the links away.
    """
    parts = path.parts
    for i in range(1, len(parts) + 1):
        above = os.path.join(*parts[:i])
        try:
            if not stat.S_ISLNK(os.lstat(above).st_mode):
                continue
        except OSError:
            return            # absent, so is all below it (or unreachable: the probe says why)
        try:
            os.stat(above)
            continue
        except OSError as e:
            what = ("a symbolic link loop (it leads back to itself)" if e.errno == errno.ELOOP
                    else f"a symbolic link to {os.readlink(above)}, which does not exist" if e.errno == errno.ENOENT
                    else f"a symbolic link that cannot be followed ({e.strerror})")
        raise OutputError(shown, f"cannot be created: {above} is {what}; rechain creates no folder through such a "
                          f"link: {elsewhere}")


def _probe_writable(folder: Path, shown: Path, elsewhere: str = CHOOSE_OUT) -> None:
    """Create and remove a folder inside the nearest existing ancestor of ``folder``.

    A real attempt, because permission bits say nothing to root and nothing about
    read-only or virtual file systems such as /proc.
    """
    anc = _nearest_existing(folder)
    if not anc.is_dir():
        raise OutputError(shown, f"cannot be created: {anc} is a file, not a folder; {elsewhere}")
    try:
        probe = tempfile.mkdtemp(prefix=".rechain-probe.", dir=anc)
        os.rmdir(probe)
    except OSError as e:
        raise OutputError(shown, f"cannot be written: nothing can be created in {anc} "
                          f"({e.strerror or e.__class__.__name__}); {elsewhere}") from None


# a folder name's bytes the system allows (ext4, xfs, btrfs, tmpfs: 255), less what the hidden
# folder built beside it adds ('.', '.new.' and mkdtemp's 8 characters)
_STAGING_EXTRA = 14
_NAME_MAX = 255


def default_folder(stem: str, suffix: str = "") -> str:
    """The name of a default output folder, ``stem + suffix``, as one folder name the file
    system takes: a name of many bytes (100 Chinese characters are 300) is cut, by bytes and
    at a character's end, and told apart by a short hash of the whole; ``suffix`` is kept.

    >>> default_folder("base", "-seed0"), len(default_folder("稀" * 100, "-seed0").encode())
    ('base-seed0', 240)
    """
    limit = _NAME_MAX - _STAGING_EXTRA
    whole = (stem + suffix).encode("utf-8")
    if len(whole) <= limit:
        return stem + suffix
    tag = "-" + hashlib.sha1(whole).hexdigest()[:8]
    room = limit - len(tag.encode()) - len(suffix.encode("utf-8"))
    if room <= 0:
        # the suffix alone is too long (a seed of hundreds of digits): cutting the stem cannot
        # make a name the system takes, and the refusal should name the folder asked for
        return stem + suffix
    cut = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip()
    return cut + tag + suffix


#: in a hidden folder being built: the host and process building it, so that a later output
#: to the same place can tell a folder abandoned by a killed process from one still being built
_BUILDER = ".rechain-building.json"


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (one we may not signal exists too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_abandoned(target: Path) -> None:
    """Remove the hidden folders beside ``target`` that an output to it began and that no
    process is building any more (its builder was killed outright): those whose builder file
    names this host and a process that no longer runs. A folder without that file (not
    rechain's, or being created this instant), built on another host (a shared file system)
    or by a process that still runs is left alone."""
    prefix = f".{target.name}.new."
    try:
        entries = [e for e in os.scandir(target.parent) if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            builder = json.loads((Path(entry.path) / _BUILDER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        pid = builder.get("pid") if isinstance(builder, dict) else None
        if builder.get("host") != socket.gethostname() or not isinstance(pid, int) or isinstance(pid, bool) \
                or pid <= 0 or pid == os.getpid() or _running(pid):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or its nearest ancestor that exists."""
    anc = folder
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    return anc


#: outputs written whole, once: a folder put inside one would stop rechain replacing it later
#: (a sweep and a calibration hold their own analyses and searches, and are left out)
_WHOLE_KINDS = ("run", "compare", "validation")


def _refuse_inside_a_finished_output(shown: Path, target: Path, elsewhere: str) -> None:
    """Refuse an output folder inside a run's, a comparison's or a validation's folder: the
    outer one would then hold files of another output, and a later run there would have to
    refuse to replace it."""
    for outer in target.parents:
        if not outer.is_dir():
            continue
        marker = _read_marker(outer) if (outer / MARKER).is_file() else None
        if marker is not None and marker.get("kind") in _WHOLE_KINDS:
            raise OutputError(shown, f"is inside {outer}, a rechain {marker.get('kind')} output, which rechain "
                              f"replaces whole (a folder inside it would stop that); {elsewhere}, outside it")


def check_output_dir(folder: str | Path, kind: str, replace: bool = True, elsewhere: str = CHOOSE_OUT
                     ) -> Path:
    """Check, before any work, that rechain may write its ``kind`` output to ``folder``.

    ``replace=False`` (sweeps): an earlier output is not replaced, so only an absent or
    empty folder passes. ``elsewhere``: how the user writes elsewhere (a command without
    ``--out`` says what to move). Returns the folder; raises :class:`OutputError` with one line
    saying what is wrong and how to proceed.
    """
    shown = Path(folder)
    target = os_path(shown)
    if replace:
        # the finished output is swapped in for the folder: the current folder would be
        # swapped out from under the shell (and an empty --out '' means it)
        try:
            here: Path | None = Path(os.getcwd())
        except FileNotFoundError:        # the current folder was deleted: it cannot be the target
            here = None
        if here is not None and (here == target or target in here.parents):
            raise OutputError(shown, f"is the current folder{' or holds it' if here != target else ''} "
                              f"({target}); rechain replaces its output folder whole: {elsewhere}, such as a "
                              f"new folder inside it")
    sizes = [len(os.fsencode(part)) for part in target.parts]
    if max(sizes[:-1], default=0) > _NAME_MAX or sizes[-1] > _NAME_MAX - _STAGING_EXTRA:
        raise OutputError(shown, f"has a name of {max(sizes):,} bytes; allowed: up to {_NAME_MAX} bytes per "
                          f"folder name, {_NAME_MAX - _STAGING_EXTRA} for the output folder's own (rechain builds "
                          f"it beside its place under a longer hidden name); {elsewhere}")
    _refuse_broken_links(shown.parent, shown, elsewhere)
    if target.is_symlink():
        # replacing it would swap out the link and empty the folder it points to, and a
        # dangling link passes every other check only to fail when the files are saved
        raise OutputError(shown, f"is a symbolic link (to {os.readlink(target)}); rechain writes only into "
                          f"real folders: {elsewhere}")
    if target.exists() and not target.is_dir():
        raise OutputError(shown, f"is a file, not a folder; {elsewhere}")
    _refuse_inside_a_finished_output(shown, target, elsewhere)
    if target.is_dir() and any(target.iterdir()):
        marker = _read_marker(target)
        if marker is None:
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in target.iterdir())
            outer = _read_marker(target.parent) if target.name in ("runs", "series") and \
                (target.parent / MARKER).is_file() else None
            if outer is not None and outer.get("kind") == "sweep":      # a sweep's own parts
                raise OutputError(shown, f"is a folder of {shown.parent}, a rechain {outer.get('kind')} output, "
                                  f"which rechain keeps as it is: {elsewhere}, outside it")
            held = (f"its {MARKER} was not written by rechain or is damaged" if MARKER in names
                    else f"it holds {_shown(names)}")
            raise OutputError(shown, f"is not empty and is not a rechain output ({held}); "
                              f"rechain never deletes files it did not write: {elsewhere}"
                              f"{', or a new or empty folder' if '--out' in elsewhere else ''}")
        if marker.get("kind") != kind:
            raise OutputError(shown, f"holds a rechain {marker.get('kind')} output, not a {kind} output; "
                              f"{elsewhere}")
        if not replace:
            raise OutputError(shown, f"already holds a rechain {kind} output; {elsewhere}")
        extra = _strangers(target, marker, growing_ok=False)
        if extra:
            raise OutputError(shown, f"holds files rechain did not write ({_shown(extra)}); rechain replaces "
                              f"only its own outputs and never deletes such files: move them out, or "
                              f"{elsewhere}")
        changed = _changed(target, marker)
        if changed:
            raise OutputError(shown, f"holds files changed since rechain wrote them ({_shown(changed)}); "
                              f"rechain replaces only its own outputs as it wrote them, never a file you "
                              f"edited or copied there: move them out, or {elsewhere}")
    _probe_writable(target, shown, elsewhere)
    if target.exists():
        _probe_writable(target.parent, shown, elsewhere)   # the new folder is built beside the old one
    return shown


def write_marker(folder: str | Path, kind: str, files: list[str] | None = None, open_: bool = False,
                 stamped: bool = True, keep: dict | None = None, added: list[str] | None = None) -> None:
    """Write the marker naming the files in ``folder`` (all of them, unless ``files`` given).

    ``open_=True`` marks an output that grows after it is first written (a sweep). A finished
    output's marker (``stamped``) also keeps each file's size and SHA-256 as written
    (``keep``: stamps to carry over as they were), so that a file changed since
    (edited, or another file copied over it) is not taken for rechain's own
    (:func:`_changed`). ``added``: the files a later command added to the finished output
    (:func:`add_file`), which a new output in its place does not write again.
    """
    folder = Path(folder)
    if files is None:
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())
    files = [f for f in files if f != MARKER]
    nested = [f for f in files if not _plain_name(f)]
    if nested:         # a programming error: such a marker would not be read back as rechain's
        raise ValueError(f"{folder}: a rechain output holds files only, by plain name; got {nested[:3]}")
    data: dict = {"kind": kind, "writer": "rechain", "files": files}
    if added:
        data["added"] = sorted(added)
    if open_:
        data["open"] = True
        # a growing output keeps the stamps of the summaries it wrote (:func:`restamp`)
        old = _read_marker(folder)
        kept = (old or {}).get("stamps")
        if isinstance(kept, dict) and kept:
            data["stamps"] = kept
    elif stamped:
        data["stamps"] = {name: (keep or {}).get(name) or _stamp(folder / name) for name in files
                          if name in (keep or {}) or os.path.lexists(folder / name)}
    text = json.dumps(data, indent=1) + "\n"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if (folder / MARKER).read_text(encoding="utf-8") == text:
            return          # as it is (a resumed output): a command refused later leaves it untouched
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def restamp(folder: str | Path, names: list[str]) -> None:
    """Keep in a growing output's marker (a sweep's, a calibration's) the size and SHA-256 of
    ``names``, the summaries rechain has just written there (``best.toml``, ``errors.csv``;
    one since removed loses its stamp), so that an edit made to one of them afterwards is seen
    before a ``--resume`` would write over it (:func:`edited_since`)."""
    folder = Path(folder)
    marker = _read_marker(folder)
    if marker is None:
        return
    stamps = dict(marker.get("stamps") or {})
    for name in names:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            stamps[name] = _stamp(path)
        else:
            stamps.pop(name, None)
    text = json.dumps({**marker, "stamps": stamps}, indent=1) + "\n"
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def _added(marker: dict) -> list[str]:
    """The files later commands added to a finished rechain output, as its marker names them
    (:func:`add_file`)."""
    added = marker.get("added")
    return [n for n in added if isinstance(n, str) and _plain_name(n)] if isinstance(added, list) else []


def not_as_written(folder: str | Path, names: tuple[str, ...]) -> list[str]:
    """Those of ``names`` that rechain wrote into ``folder`` (its marker stamps them) and that
    are not as written now: changed ("monthly.csv"), deleted ("monthly.csv (deleted)"), or
    replaced by a link ("monthly.csv (a link)")."""
    folder = Path(folder)
    marker = _read_marker(folder)
    stamps = (marker or {}).get("stamps")
    if not isinstance(stamps, dict):
        return []
    changed = set(_changed(folder, marker, names))
    out = []
    for name in names:
        if not isinstance(stamps.get(name), list):
            continue
        path = folder / name
        if path.is_symlink():
            out.append(f"{name} (a link)")
        elif not path.exists():
            out.append(f"{name} (deleted)")
        elif name in changed:
            out.append(name)
    return out


def edited_since(folder: str | Path) -> list[str]:
    """The files of a rechain output whose size or content is not what rechain wrote (a user's
    edit, or a file copied over one of rechain's); none for a folder without a marker."""
    marker = _read_marker(Path(folder))
    return _changed(Path(folder), marker) if marker else []


def refuse_edited(folder: str | Path, what: str) -> None:
    """Raise :class:`OutputError` when files rechain wrote in ``folder`` were changed since, or
    stand replaced by a folder or a link: resuming ``what`` would write over them."""
    folder = Path(folder)
    marker = _read_marker(folder)
    stamped = list((marker or {}).get("stamps") or {})
    odd = [n for n in stamped if _plain_name(n) and ((folder / n).is_symlink() or (folder / n).is_dir())]
    changed = sorted({*edited_since(folder), *odd})
    if changed:
        raise OutputError(folder, f"holds files changed since rechain wrote them ({_shown(changed)}); resuming the "
                          f"{what} would write over them: move them out of the folder (keep them elsewhere), "
                          f"then resume")


@contextlib.contextmanager
def begin_output(folder: str | Path, kind: str, files: list[str] | None = None, open_: bool = False):
    """Create ``folder`` (and its parents) and write its marker (see :func:`write_marker`) for
    an output that grows in place (a calibration); if the block fails with an error before
    anything else is in the folder, take back what this made: the marker, then the folders
    created here, each only while empty. An interruption keeps the folder (to resume in).
    """
    folder = Path(folder)
    target = os_path(folder)
    existed = _nearest_existing(target)
    ours = not (target / MARKER).exists()      # not an earlier output's marker (resuming)
    folder.mkdir(parents=True, exist_ok=True)
    write_marker(folder, kind, files=files, open_=open_, stamped=False)     # it grows: no stamps
    try:
        yield folder
    except Exception:
        with contextlib.suppress(OSError):
            if ours and [p.name for p in target.iterdir()] == [MARKER]:
                (target / MARKER).unlink()
                while target != existed and target != target.parent:
                    target.rmdir()          # only when empty: a file put there meanwhile stops it
                    target = target.parent
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the system cannot, and the caller falls back to two renames.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _remove_own(folder: Path, marker: dict) -> None:
    """Delete the direct children of ``folder`` its marker names (files, links, empty
    folders), then ``folder`` if that leaves it empty; anything else stays.

    Only plain names are used, even though :func:`_read_marker` already refuses markers
    with others: this is the one place rechain deletes, so it never trusts a path that
    could lead out of the folder. Never raises: a file that cannot be deleted is left
    behind, which is safer than failing after the new output is in place.
    """
    for name in [*marker["files"], MARKER]:
        if not _plain_name(name):
            continue
        p = folder / name
        try:
            if p.is_symlink() or p.is_file():
                p.unlink()             # a link itself, never what it points to
            elif p.is_dir():
                p.rmdir()              # only when empty
        except OSError:
            pass
    try:
        folder.rmdir()
    except OSError:
        pass


# errors of a disk, quota or file system that cannot take the output: one line, not a traceback
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.ENAMETOOLONG, errno.EACCES,
                 errno.EPERM}


def _keep_mode(target: Path, new: Path) -> None:
    """Give the folder about to replace ``target`` its permissions and group, so a private
    (700) or shared (setgid group) output folder stays so."""
    try:
        st = os.stat(target, follow_symlinks=False)
    except OSError:
        new.chmod(0o777 & ~_umask())       # a new folder: as mkdir would make it
        return
    with contextlib.suppress(OSError):
        os.chown(new, -1, st.st_gid)
    new.chmod(stat.S_IMODE(st.st_mode))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _swap_in(tmp: Path, target: Path, kind: str, shown: Path) -> None:
    """Move the finished folder ``tmp`` to ``target``, replacing only an output of rechain's own."""
    check_output_dir(shown, kind)          # again: the folder may have changed during the work
    if not os.path.lexists(target):
        os.replace(tmp, target)
        return
    if not any(target.iterdir()):
        os.replace(tmp, target)            # replaces an empty folder
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    if _exchange(tmp, target):
        os.rmdir(old)
        old = tmp                          # the earlier output now sits where tmp was
    else:
        os.rmdir(old)
        os.replace(target, old)
        try:
            os.replace(tmp, target)
        except OSError:
            os.replace(old, target)        # put the earlier output back
            raise
    marker = _read_marker(old)
    if marker is not None:
        _say_added_gone(shown, marker, _read_marker(target))
        _remove_own(old, marker)


def _say_added_gone(shown: Path, marker: dict, new: dict | None) -> None:
    """One line on stderr for the files later commands added to the output just replaced
    (``marker``'s ``added``: a report, under the name the user gave it), which the new output
    (``new``) does not hold: they described the earlier output and go with it, but a file
    the user named is not removed in silence."""
    kept = set((new or {}).get("files") or [])
    gone = [n for n in _added(marker) if n not in kept]
    if gone:
        print(f"note: {shown}: replaced the earlier output, and with it {', '.join(gone)}, added to it since "
              f"({'a report' if len(gone) == 1 else 'reports'} of the earlier output); to keep such a file, move it out before running into the folder "
              f"again", file=sys.stderr)


class _Sigterm:
    """SIGTERM while an output is written: handled as Ctrl-C is, so no hidden folder stays.

    While the files are written (:meth:`raise_`) SIGTERM raises :class:`Terminated` (a
    KeyboardInterrupt), which unwinds to :class:`output_dir` and its clean-up. While the
    hidden folder is created, removed or swapped in (:meth:`hold`) SIGTERM waits, since
    stopping half-way would leave a hidden folder, or no output where one was.
    :meth:`stop` puts back the handler of before and delivers to it a SIGTERM that waited,
    or that raised while Python's default was in place: the process then ends with
    SIGTERM's status, as it would have without rechain's clean-up. A SIGTERM ignored before
    stays ignored. Outside the main thread Python cannot handle signals, and SIGTERM is left
    as it is.
    """

    def __init__(self) -> None:
        self.active = self.pending = False
        self.old = None

    def _set(self, handler) -> None:
        if self.active:
            signal.signal(signal.SIGTERM, handler)
            return
        try:
            self.old = signal.signal(signal.SIGTERM, handler)
        except ValueError:          # not the main thread
            return
        self.active = True

    def _raise(self, signum=None, frame=None) -> None:
        if self.old == signal.SIG_IGN:
            return                   # ignored before rechain wrote, so ignored while it writes
        self.pending = self.old in (signal.SIG_DFL, None)    # the default ends the process: after clean-up
        raise Terminated()

    def _wait(self, signum, frame) -> None:
        self.pending = True

    def hold(self) -> None:
        """From now on a SIGTERM waits for :meth:`stop`."""
        self._set(self._wait)

    def raise_(self) -> None:
        """From now on a SIGTERM raises :class:`Terminated`; one that waited raises now."""
        self._set(self._raise)
        if self.active and self.pending:
            self._raise()

    def stop(self) -> None:
        """Put back the handler of before, and deliver to it a SIGTERM still due."""
        if not self.active:
            return
        self.active = False
        signal.signal(signal.SIGTERM, signal.SIG_DFL if self.old is None else self.old)
        if self.pending:
            self.pending = False
            signal.raise_signal(signal.SIGTERM)


class output_dir:
    """Context manager: build a ``kind`` output in a hidden folder beside ``target`` and move
    it into place when the block succeeds; on failure, remove it and leave ``target`` alone.

    A SIGTERM meanwhile counts as a failure, as Ctrl-C does (see :class:`_Sigterm`).

    >>> with output_dir("outputs/x", "run") as tmp:      # doctest: +SKIP
    ...     (tmp / "a.csv").write_text("...")
    """

    def __init__(self, target: str | Path, kind: str):
        self.shown = Path(target)
        self.target = os_path(self.shown)
        self.kind = kind
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        if was_terminated():         # a SIGTERM came and its exit was dropped: write nothing
            raise Terminated()
        if was_interrupted():        # so did a Ctrl-C
            raise KeyboardInterrupt
        check_output_dir(self.shown, self.kind)
        self.existed = _nearest_existing(self.target.parent)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.sigterm = _Sigterm()
        self.sigterm.hold()          # until the hidden folder is known, a SIGTERM must not strand it
        try:
            _remove_abandoned(self.target)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.new.", dir=self.target.parent))
            (self.tmp / _BUILDER).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}),
                                             encoding="utf-8")
            self.sigterm.raise_()    # the block writes: a SIGTERM unwinds it, and __exit__ cleans up
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        self.sigterm.hold()
        try:
            if exc_type is not None:
                self._take_back()
                self._say_if_unwritable(exc)
                return
            try:
                if was_terminated():
                    raise Terminated()
                if was_interrupted():
                    raise KeyboardInterrupt
                (self.tmp / _BUILDER).unlink()      # not part of the output
                write_marker(self.tmp, self.kind)
                _keep_mode(self.target, self.tmp)
                _swap_in(self.tmp, self.target, self.kind, self.shown)
            except BaseException as e:
                self._take_back()    # still the new folder: the swap raises before
                self._say_if_unwritable(e)
                raise
        finally:
            self.sigterm.stop()

    def _say_if_unwritable(self, exc: BaseException) -> None:
        """A disk, quota or file system that cannot take the output: one line, not a traceback."""
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
            raise OutputError(self.shown, f"cannot be written ({exc.strerror}); nothing was written: free some "
                              f"space or choose another --out") from None

    def _take_back(self) -> None:
        """Remove the half-built folder, and the parent folders made for it while empty."""
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)    # our own, half-built folder
        _remove_made_parents(self.target, self.existed)


def holds_run_of(folder: str | Path, sha: str, seed: int) -> bool:
    """Whether ``folder``'s manifest says it holds a run of the scenario with hash ``sha``
    and this seed, made by this code (:func:`code_fingerprint`; a missing, unreadable or
    foreign manifest: no), with no file changed since rechain wrote it (a table edited by hand
    is not that run's output)."""
    return not_run_of(folder, sha, seed) is None


def not_run_of(folder: str | Path, sha: str, seed: int) -> str | None:
    """Why ``folder`` does not hold that run (:func:`holds_run_of`), in words; None if it does."""
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):         # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return "it holds no readable manifest.json"
    if not isinstance(manifest, dict):
        return "its manifest.json is not a run's"
    if manifest.get("scenario_sha256") != sha:
        return "it holds a run of the scenario as it was, not as it is now"
    if manifest.get("seed") != seed or isinstance(manifest.get("seed"), bool):
        return f"it holds a run of another seed ({manifest.get('seed')!r})"
    if manifest.get("rechain_code_sha256") != code_fingerprint():
        return "it was made by other code than this rechain's"
    marker = _read_marker(Path(folder))
    if marker is not None and _changed(Path(folder), marker):
        return "a file in it changed since rechain wrote it"
    return None


def output_kind(folder: str | Path) -> str | None:
    """The kind of rechain output ``folder`` holds (``run``, ``compare``, ...), or None."""
    marker = _read_marker(Path(folder)) if Path(folder).is_dir() else None
    return None if marker is None else marker.get("kind")


def add_file(folder: str | Path, name: str, data: str | bytes, kinds: tuple[str, ...] | None = None) -> Path:
    """Add one file (or replace one rechain wrote) in a finished rechain output folder.

    The file is written beside its place and moved in at once, and the folder's marker then
    names it, so that the folder stays rechain's. Refuses (:class:`OutputError`) a folder
    that is not a rechain output (of one of ``kinds``, if given), and a file of that name
    that rechain did not write.
    """
    if not _plain_name(name):      # a programming error: rechain adds files to the folder itself only
        raise ValueError(f"add_file: {name!r} is not a plain file name")
    folder = Path(folder)
    marker = _read_marker(folder) if folder.is_dir() else None
    if marker is None:
        raise OutputError(folder, "is not a rechain output folder (it has no marker); give the folder a rechain "
                          "command wrote")
    if kinds is not None and marker.get("kind") not in kinds:
        raise OutputError(folder, f"holds a rechain {marker.get('kind')} output; allowed: "
                          f"{' or '.join(kinds)} outputs")
    target = folder / name
    if target.exists() and name not in marker["files"]:
        raise OutputError(target, "exists and was not written by rechain; rechain never replaces such files: "
                          "move it out first")
    if _changed(folder, marker, (name,)):
        raise OutputError(target, "was changed since rechain wrote it; rechain never replaces a file you edited "
                          "or copied there: move it out first")
    write_file(target, data)
    files = sorted({*map(str, marker["files"]), name})
    # the other files keep the stamps they were written with: an edit made meanwhile stays seen
    kept = marker.get("stamps")
    keep = {k: v for k, v in kept.items() if k != name} if isinstance(kept, dict) else None
    write_marker(folder, marker["kind"], files, open_=bool(marker.get("open")), keep=keep,
                 added=sorted({*_added(marker), name} & set(files)))
    return target


def write_file(target: str | Path, data: str | bytes) -> Path:
    """Write one file whole: built beside its place and moved in at once, so a failure leaves
    neither a half-written file nor the hidden one. Whether ``target`` may be replaced is the
    caller's to decide.

    Raises :class:`OutputError` (one line naming the file) when it cannot be written: a place
    where nothing can be created (/proc, /sys, a read-only disk) is found before anything is
    written, as :func:`check_output_dir` finds it for a folder.
    """
    target = Path(target)
    check_writable(target.parent, target)
    tmp = target.with_name(f".{target.name}.tmp")
    existed = _nearest_existing(target.parent)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        _remove_made_parents(target, existed)
        raise OutputError(target, f"cannot be written ({e.strerror or e.__class__.__name__})") from None
    return target


def rows_written(manifest: dict, name: str) -> int | None:
    """How many rows a run wrote into its table ``name`` (``monthly.csv``, ``flows.csv``), as
    its manifest keeps them (:meth:`rechain.results.RunResult.save`); None where it does not say
    (a run an older rechain wrote)."""
    rows = manifest.get("rows")
    wrote = rows.get(name) if isinstance(rows, dict) else None
    return wrote if isinstance(wrote, int) and not isinstance(wrote, bool) else None


def _remove_made_parents(target: Path, existed: Path) -> None:
    """Remove the folders made for ``target`` (below ``existed``, the nearest that was there
    before), while they are empty: a file put there meanwhile stops it."""
    made = target.parent
    with contextlib.suppress(OSError):
        while made != existed and made != made.parent and not os.path.lexists(target):
            made.rmdir()
            made = made.parent
