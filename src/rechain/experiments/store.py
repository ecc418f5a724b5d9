"""The results store of an experiment: Parquet part files, the manifest, resuming.

A sweep's output folder holds ``manifest.json`` (what was run: see
:meth:`rechain.experiments.sweep.Sweep.manifest`), ``design.parquet`` (the points),
``sweep.toml`` (a copy of the sweep file), ``runs/part-*.parquet`` (one row per run:
ids, seed, parameter values, outputs, status and error) and ``series/part-*.parquet``
(chosen monthly series in long form), one part file per finished batch, each written under
a temporary name and moved into place, so an interrupted experiment leaves only whole
files and resuming carries on where it stopped; ``errors.csv`` lists the failed runs.
:func:`load_results` reads the tables back.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, model_validator

from ..config.errors import first_problem
from ..scenario import ScenarioError
from .designs import DESIGNS, n_points

__all__ = ["FORMAT", "SWEEP_FILES", "RUN_COLUMNS", "STATUS_COLUMNS", "SERIES_COLUMNS", "sweep_manifest", "manifest_damage", "manifest_problem",
           "load_results", "write_part"]

RUN_COLUMNS = ("run_id", "point_id", "replicate", "seed")
STATUS_COLUMNS = ("status", "error")
SERIES_COLUMNS = ("run_id", "point_id", "replicate", "series", "variable", "stage", "product", "region",
                  "month", "value")
FORMAT = "rechain-sweep/1"
#: what a sweep that could not write a file tells its user
KEPT_RESUME = "the runs finished before are kept in it: make room and continue with --resume"
#: what a sweep writes in its output folder (named in the folder's marker)
SWEEP_FILES = ("manifest.json", "design.parquet", "sweep.toml", "runs", "series", "errors.csv", "analysis")


#: the value types a swept parameter may have (:attr:`Parameter.dtype`), in the order of _arrow_types
DTYPES = ("int", "float", "bool", "date", "str", "json")


def _arrow_types():
    import pyarrow as pa
    return dict(zip(DTYPES, (pa.int64(), pa.float64(), pa.bool_(), pa.date32(), pa.string(), pa.string())))



def _runs_schema(sw: Any):
    import pyarrow as pa
    t = _arrow_types()
    fields = [pa.field("run_id", pa.int64()), pa.field("point_id", pa.int64()), pa.field("replicate", pa.int32()),
              pa.field("seed", pa.int64())]
    fields += [pa.field(p.name, t[p.dtype]) for p in sw.parameters]
    fields += [pa.field(k, pa.float64()) for k in sw.kpis]
    fields += [pa.field("status", pa.string()), pa.field("error", pa.string())]
    meta = {"rechain_sweep": json.dumps({"parameters": [p.name for p in sw.parameters], "kpis": sw.kpis})}
    return pa.schema(fields, metadata=meta)



def _series_schema():
    import pyarrow as pa
    return pa.schema([pa.field("run_id", pa.int64()), pa.field("point_id", pa.int64()),
                      pa.field("replicate", pa.int32())]
                     + [pa.field(c, pa.string()) for c in ("series", "variable", "stage", "product", "region",
                                                            "month")]
                     + [pa.field("value", pa.float64())])



def _write_atomic(table, path: Path) -> None:
    import pyarrow.parquet as pq
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)      # a file cut short by a full disk is no part file
        raise



def _part_files(d: Path) -> list[Path]:
    return sorted(p for p in d.glob("part-*.parquet") if p.is_file()) if d.is_dir() else []


def _read_part(f: Path, columns: list[str] | None = None):
    """One part file as a pyarrow Table; a damaged one (cut short, overwritten, not Parquet)
    raises :class:`ScenarioError` naming it and saying how to run its runs again."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        return pq.read_table(f, columns=columns)
    except (OSError, pa.ArrowException):
        other = "series" if f.parent.name == "runs" else "runs"
        raise ScenarioError(f, "", f"is damaged (not a readable Parquet part file); delete it and the file of the "
                            f"same name in {other}/, then continue with --resume, which runs its runs again",
                            kind="invalid") from None


def _write_json_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)



def _design_table(sw: Any):
    import pyarrow as pa
    t = _arrow_types()
    cols = {"point_id": pa.array(range(sw.n_points), pa.int64())}
    for p in sw.parameters:
        cols[p.name] = pa.array([_to_column(pt[p.name], p.dtype) for pt in sw.points], t[p.dtype])
    if sw.unit_points is not None:
        for j, p in enumerate(sw.parameters):
            cols[f"x:{p.name}"] = pa.array([row[j] for row in sw.unit_points], pa.float64())
    return pa.table(cols)



class folder_lock:
    """Hold ``out`` for one sweep at a time: an advisory lock on the folder itself (``flock``,
    no file of its own; the system lets it go when the process ends, however it ends). A
    second sweep or ``--resume`` on a folder a sweep still writes to is refused: both would
    run and write the same runs. Where ``flock`` is missing (Windows) it holds nothing."""

    def __init__(self, out: Path):
        self.out, self.fd = Path(out), None

    def __enter__(self) -> "folder_lock":
        return self.take()

    def take(self) -> "folder_lock":
        """Hold the folder if it exists and is not held yet (a folder made after the block
        began is taken by calling this again)."""
        try:
            import fcntl
        except ImportError:         # pragma: no cover - not on this platform
            return self
        if self.fd is not None or not self.out.is_dir():
            return self
        self.fd = os.open(self.out, os.O_RDONLY)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise ScenarioError(self.out, "", "is in use: another sweep (or its --resume) is still running on it; "
                                "let it finish, or stop it and then continue with --resume", kind="out_exists") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)       # closing the descriptor lets the lock go
            self.fd = None


def folder_in_use(out: Path) -> bool:
    """Whether a sweep (or its --resume) is running on ``out`` now: it holds the folder's lock
    (:class:`folder_lock`). False where ``flock`` is missing."""
    try:
        import fcntl
    except ImportError:         # pragma: no cover - not on this platform
        return False
    try:
        fd = os.open(out, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)            # and with it the shared lock, if taken


def _check_out(sw: Any, out: Path, resume: bool) -> None:
    """Raise unless the sweep may write to ``out``: a new or empty folder, or (``resume``)
    the folder of this same sweep. Writes nothing."""
    from ..outputs import check_output_dir, check_writable, code_fingerprint, refuse_edited

    old = sweep_manifest(out)
    damage = manifest_damage(out)
    if damage:
        raise damaged_manifest_error(out, damage)
    # a manifest that analyze would refuse is refused before any run is added to its store
    problem = manifest_problem(old) if old is not None else None
    if problem:
        raise damaged_manifest_error(out, problem)
    if old is None:
        if _setup_stopped(out):
            check_writable(out)     # a sweep stopped while it set up its folder: set it up again
            return
        check_output_dir(out, "sweep", replace=False)    # a sweep never replaces anything
        return
    if not resume:
        raise ScenarioError(out, "", "already holds the results of a sweep; pass --resume (resume=True in Python) to continue it, "
                            "or choose another --out", kind="out_exists")
    refuse_edited(out, "sweep")         # errors.csv edited since
    if old.get("spec_sha256") != sw.spec_hash():
        raise ScenarioError(sw.file, "", f"is not the sweep whose results are in {out} ({what_changed(old, sw.manifest())}"
                            "); choose another --out", kind="resume_mismatch")
    if old.get("rechain_code_sha256") != code_fingerprint():
        # the same seeds under other code give other numbers: a resumed store would mix the two
        raise ScenarioError(out, "", "holds runs made by another version of rechain's code (its manifest's "
                            "rechain_code_sha256 is not this code's), and a resumed sweep would mix the two codes' "
                            "numbers; resume it with the code that made it, or run the sweep into another --out",
                            kind="resume_mismatch")
    check_writable(out)



#: the manifest's entries that say what a sweep runs, in the words a refusal names them by
_DESIGN_KEYS = (("design", "design"), ("samples", "samples"), ("replicates", "replicates"), ("root_seed", "root_seed"),
                ("second_order", "second_order"), ("morris_levels", "morris_levels"), ("parameters", "parameters"),
                ("kpis", "outputs.kpis"), ("series", "outputs.series"), ("base_file", "base"))


def what_changed(old: dict, new: dict) -> str:
    """Words for what differs between the manifest of the sweep in a folder (``old``) and
    that of the sweep file given now (``new``): a refused --resume says what to put back."""
    def short(v: Any) -> str:
        text = json.dumps(v, default=str)
        return text if len(text) <= 40 else text[:37] + "..."
    changed = []
    for key, words in _DESIGN_KEYS:
        if key in old and old.get(key) != new.get(key):
            scalar = not isinstance(old.get(key), (list, dict)) and not isinstance(new.get(key), (list, dict))
            changed.append(f"{words} {short(old.get(key))} -> {short(new.get(key))}" if scalar else words)
    if not changed:
        return "the base scenario's content, its overrides or the points changed"
    return "changed: " + ", ".join(changed)


def _setup_stopped(out: Path) -> bool:
    """Whether ``out`` is a sweep folder stopped before its manifest was written (Ctrl-C, a
    SIGTERM or a full disk while it was set up): rechain's sweep marker, no manifest, no
    finished runs and nothing but what :func:`_prepare_out` makes. No run starts before the
    manifest is written, so nothing is lost by setting it up again."""
    from ..outputs import MARKER, output_kind

    if output_kind(out) != "sweep" or (out / "manifest.json").exists():
        return False

    def written(folder: Path) -> list[Path]:     # all but files being written when it stopped
        return [p for p in folder.iterdir() if not (p.name.startswith(".") and p.name.endswith(".tmp"))]

    return all(p.name in (MARKER, *SWEEP_FILES) and not (p.is_dir() and written(p)) for p in written(out))


def _prepare_out(sw: Any, out: Path, resume: bool) -> set[int]:
    """Create the output folder (checked by :func:`_check_out`); return the run ids already done."""
    from ..outputs import write_marker

    man_path = out / "manifest.json"
    if not man_path.exists():
        out.mkdir(parents=True, exist_ok=True)
        write_marker(out, "sweep", files=list(SWEEP_FILES), open_=True)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    (out / "series").mkdir(parents=True, exist_ok=True)
    for d in (out / "runs", out / "series", out):
        for tmp in d.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
    done: set[int] = set()
    runs_parts = _part_files(out / "runs")
    for f in runs_parts:
        done.update(_read_part(f, columns=["run_id"]).column("run_id").to_pylist())
    # a series part whose runs part never landed belongs to runs that will be run again
    names = {f.name for f in runs_parts}
    for f in _part_files(out / "series"):
        if f.name not in names:
            f.unlink()
    if not man_path.exists():
        _write_atomic(_design_table(sw), out / "design.parquet")
        if sw.file is not None:
            shutil.copyfile(sw.file, out / "sweep.toml")
        _write_json_atomic(sw.manifest(), man_path)
    return done



def manifest_damage(out_dir: str | Path) -> str | None:
    """What is wrong with the ``manifest.json`` of a sweep's output folder ``out_dir`` (marked
    so by rechain) when it is not a sweep's manifest (damaged, cut short, edited by hand), else
    None (no sweep folder, no manifest, or a whole one)."""
    from ..outputs import output_kind

    path = Path(out_dir) / "manifest.json"
    # a run's or a comparison's folder has a manifest of its own kind: not a damaged sweep's
    if output_kind(Path(out_dir)) != "sweep" or not path.exists() or sweep_manifest(out_dir) is not None:
        return None
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        return f"cannot be read ({e.strerror or e.__class__.__name__})"
    except ValueError as e:
        where = f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        return f"is damaged: not JSON text{where}"
    if not isinstance(man, dict) or "format" not in man:
        return "is damaged: it lacks the sweep manifest's \"format\" key"
    return f"is of format {man.get('format')!r}, not this rechain's sweep format {FORMAT!r}"


class _ManifestParameter(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: StrictStr
    path: StrictStr
    dtype: Literal[DTYPES]                            # type: ignore[valid-type]


class _Problem(BaseModel):
    model_config = ConfigDict(extra="allow")
    num_vars: StrictInt = Field(ge=0)
    names: list[StrictStr]
    bounds: list[list[float]]


class _SweepManifest(BaseModel):
    """What is read of a sweep's manifest (:meth:`Sweep.manifest`): its keys, their types, and
    the counts agreeing with each other and with the design."""
    model_config = ConfigDict(extra="allow")
    name: StrictStr
    design: Literal[DESIGNS]                          # type: ignore[valid-type]
    samples: StrictInt | None = Field(default=None, ge=0)
    replicates: StrictInt = Field(ge=1)
    root_seed: StrictInt = Field(ge=0)
    n_points: StrictInt = Field(ge=0)
    n_runs: StrictInt = Field(ge=0)
    second_order: StrictBool = False
    morris_levels: StrictInt = Field(default=4, ge=2)
    leading_points: StrictInt = Field(default=0, ge=0)
    parameters: list[_ManifestParameter]
    problem: _Problem
    kpis: list[StrictStr]

    @model_validator(mode="after")
    def _agree(self) -> "_SweepManifest":
        if self.n_runs != self.n_points * self.replicates:
            raise ValueError(f"n_runs: {self.n_runs} runs for {self.n_points} points x {self.replicates} replicates")
        names = [q.name for q in self.parameters]
        if self.problem.names != names or self.problem.num_vars != len(names) or len(self.problem.bounds) != len(names):
            raise ValueError(f"problem: names {self.problem.names} and {self.problem.num_vars} variables for the "
                             f"parameters {names}")
        if self.design in ("lhs", "sobol", "morris"):
            # points given ahead of the design's (calibrate's candidate 0) are named in the manifest
            want = n_points(self.design, names, self.samples, self.second_order) + self.leading_points
            if want != self.n_points:
                ahead = f" and {self.leading_points} point(s) ahead of it" if self.leading_points else ""
                raise ValueError(f"n_points: {self.n_points} points, where a {self.design} design of "
                                 f"{self.samples} samples over {len(names)} parameters{ahead} has {want}")
        return self


def manifest_problem(man: dict) -> str | None:
    """What is wrong with a sweep manifest ``man`` of this rechain's format (its keys, their
    types, or counts that disagree: edited by hand), else None."""
    try:
        _SweepManifest.model_validate(man)
    except ValidationError as e:
        return f"is damaged: {first_problem(e)}"
    return None


def damaged_manifest_error(out_dir: str | Path, damage: str) -> ScenarioError:
    """The one-line error for a sweep folder whose manifest is damaged (see :func:`manifest_damage`)."""
    return ScenarioError(Path(out_dir) / "manifest.json", "", f"{damage}; it says what the sweep ran, so its "
                         f"results cannot be read or resumed without it: restore it (from a copy) or run the sweep "
                         f"into another --out", kind="output")


def sweep_manifest(out_dir: str | Path) -> dict | None:
    """The manifest of a sweep output folder, or None when ``out_dir`` holds no sweep."""
    try:
        man = json.loads((Path(out_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return man if isinstance(man, dict) and man.get("format") == FORMAT else None



def load_results(out_dir: str | Path, columns: list[str] | None = None):
    """The runs and series tables of a sweep output folder, as ``(runs_df, series_df)``.

    Rows are sorted by ``run_id`` (and series by run, series, month), whatever order the
    runs finished in; only whole part files are read.
    """
    import pandas as pd
    import pyarrow as pa

    out = Path(out_dir)
    damage = manifest_damage(out)
    if damage:
        raise damaged_manifest_error(out, damage)
    if sweep_manifest(out) is None:
        raise ScenarioError(out, "", "is not a sweep output folder (no sweep manifest.json); give the --out "
                            "folder of `rechain sweep`", kind="missing")

    def read(d: Path, schema, sort: list[str]) -> pd.DataFrame:
        parts = _part_files(d)
        if not parts:
            return schema.empty_table().to_pandas()
        cols = None if columns is None or d.name != "runs" else list(dict.fromkeys(["run_id", *columns]))
        tables = [_read_part(f, columns=cols) for f in parts]
        df = pa.concat_tables(tables, promote_options="default").to_pandas()
        return df.sort_values(sort, kind="stable").reset_index(drop=True)

    man = json.loads((out / "manifest.json").read_text())
    if columns is not None:
        # a name the runs table lacks is the caller's slip, not a damaged part file
        names = _empty_runs_schema(man).names
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise ValueError(f"columns: given {columns!r}; allowed: a list of the runs table's column names "
                             f"({', '.join(names)})")
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise ValueError(f"columns: {', '.join(map(repr, unknown))} is not a column of the runs table; allowed: "
                             f"{', '.join(names)}")
    runs = read(out / "runs", _empty_runs_schema(man), ["run_id"])
    runs = runs.drop_duplicates("run_id", keep="first").reset_index(drop=True)
    series = read(out / "series", _series_schema(), ["run_id", "series", "month"])
    return runs, series



def _empty_runs_schema(man: dict):
    import pyarrow as pa
    t = _arrow_types()
    return pa.schema([pa.field("run_id", pa.int64()), pa.field("point_id", pa.int64()),
                      pa.field("replicate", pa.int32()), pa.field("seed", pa.int64())]
                     + [pa.field(p["name"], t[p["dtype"]]) for p in man["parameters"]]
                     + [pa.field(k, pa.float64()) for k in man["kpis"]]
                     + [pa.field("status", pa.string()), pa.field("error", pa.string())])



def _write_errors(out: Path) -> int:
    """Collect failed runs (all part files, one at a time) into errors.csv; return their number."""
    import pyarrow.compute as pc

    failed = []
    for f in _part_files(out / "runs"):
        t = _read_part(f)
        t = t.filter(pc.not_equal(t.column("status"), "ok"))
        if t.num_rows:
            failed.append(t)
    from ..outputs import restamp
    path = out / "errors.csv"
    if not failed:
        path.unlink(missing_ok=True)
        restamp(out, ["errors.csv"])
        return 0
    import pyarrow as pa
    df = pa.concat_tables(failed).to_pandas().sort_values("run_id").drop_duplicates("run_id")
    meta = json.loads((out / "manifest.json").read_text())
    cols = ["run_id", "point_id", "replicate", "seed", *[p["name"] for p in meta["parameters"]], "error"]
    tmp = path.with_name(f".{path.name}.tmp")
    df[cols].to_csv(tmp, index=False)
    os.replace(tmp, path)
    restamp(out, ["errors.csv"])
    return len(df)


def write_part(out: Path, rows: list[dict], series: dict[str, list], runs_schema, series_schema) -> None:
    """Write one finished batch: its series part (if any), then its runs part (the runs part
    is what counts a run as done, so it lands last)."""
    import pyarrow as pa

    name = f"part-{rows[0]['run_id']:09d}-{rows[-1]['run_id']:09d}.parquet"
    try:
        if series["run_id"]:
            _write_atomic(pa.table(series, schema=series_schema), out / "series" / name)
        _write_atomic(pa.Table.from_pylist(rows, schema=runs_schema), out / "runs" / name)
    except OSError as e:
        # the batch's runs are not done without their runs part: its series part goes too
        (out / "series" / name).unlink(missing_ok=True)
        raise_if_unwritable(e, out, KEPT_RESUME)
        raise


def raise_if_unwritable(exc: BaseException, out: Path, then: str) -> None:
    """A disk, quota or file system that cannot take a sweep's files: one line naming its
    folder and, ``then``, what became of the work, instead of a traceback."""
    from ..outputs import _WRITE_ERRNOS, OutputError
    if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
        raise OutputError(out, f"cannot be written ({exc.strerror or exc.__class__.__name__}); {then}") from None



def _to_column(v: Any, dtype: str) -> Any:
    """A parameter value as stored in a column of its dtype (JSON text for "json")."""
    return json.dumps(v, sort_keys=True, default=str) if dtype == "json" else v
