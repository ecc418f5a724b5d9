"""Experimental designs: the points at which a sweep (or ``rechain calibrate``) runs the model.

- ``grid``: every combination of the parameters' levels;
- ``lhs``: a Latin hypercube of ``samples`` points (:func:`latin_hypercube`, the one LHS of
  rechain: sweeps and ``rechain calibrate`` draw the same points for the same seed and ranges);
- ``sobol``: Saltelli's scheme for Sobol' indices (SALib), ``samples`` = N, N (D+2) points;
- ``morris``: ``samples`` Morris trajectories (SALib) on a grid of ``morris_levels`` levels;
- ``table``: the points listed in a CSV file or inline (:func:`table_rows` reads the CSV).

A design works on the SALib problem of its :class:`Parameter` s: continuous parameters map to
their ``[min, max]``, levels to ``[0, n)``, whole numbers and dates (ordinals) to
``[min - 0.5, max + 0.5]``, so that each value is drawn as often as any other.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import math
import re
import warnings
from dataclasses import dataclass
from typing import Any

__all__ = ["DESIGNS", "Parameter", "DesignError", "finite_number", "problem", "latin_hypercube", "sample", "grid",
           "table_rows", "n_points"]

DESIGNS = ("grid", "lhs", "sobol", "morris", "table")


class DesignError(ValueError):
    """A design that cannot be drawn (too few samples, N not a power of 2 for Sobol', a bad table)."""


@dataclass
class Parameter:
    """One swept quantity: a scenario key path and the values it may take.

    ``kind`` is "range" (continuous between ``min`` and ``max``) or "levels"; ``dtype`` is
    how its values are stored (int, float, bool, date, str, json).
    """
    name: str
    path: str
    tokens: tuple
    kind: str
    min: Any = None
    max: Any = None
    levels: list | None = None
    dtype: str = "float"
    base_value: Any = None

    def bounds(self) -> list[float]:
        """Bounds of the SALib problem (levels map to [0, n))."""
        if self.kind == "levels":
            return [0.0, float(len(self.levels))]
        # whole numbers and days: each value an interval of width one, so the ends are drawn
        # as often as the values between (rounding [min, max] drew each end half as often)
        if self.dtype == "date":
            return [self.min.toordinal() - 0.5, self.max.toordinal() + 0.5]
        if self.dtype == "int":
            return [float(self.min) - 0.5, float(self.max) + 0.5]
        return [float(self.min), float(self.max)]

    def from_unit(self, x: float) -> Any:
        """The parameter value of a SALib sample coordinate ``x`` (in :meth:`bounds`)."""
        if self.kind == "levels":
            return self.levels[min(max(int(math.floor(x)), 0), len(self.levels) - 1)]
        if self.dtype == "date":
            return dt.date.fromordinal(min(max(int(math.floor(x + 0.5)), self.min.toordinal()), self.max.toordinal()))
        if self.dtype == "int":
            return min(max(int(math.floor(x + 0.5)), int(self.min)), int(self.max))
        return float(x)

    def describe(self) -> dict:
        d = {"name": self.name, "path": self.path, "kind": self.kind, "dtype": self.dtype}
        if self.kind == "range":
            d.update(min=self.min, max=self.max)
        else:
            d["levels"] = self.levels
        d["base_value"] = self.base_value
        return d


def problem(params: list[Parameter]) -> dict:
    """The SALib problem dict of ``params``."""
    return {"num_vars": len(params), "names": [p.name for p in params], "bounds": [p.bounds() for p in params]}


def latin_hypercube(params: list[Parameter], samples: int, seed: int):
    """A Latin hypercube of ``samples`` points over ``params`` (SALib's ``latin.sample``,
    seeded with ``seed``): an array of shape (samples, len(params)) in :meth:`Parameter.bounds`
    coordinates. Sweeps with ``design = "lhs"`` and ``rechain calibrate`` both draw here."""
    from SALib.sample import latin
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return latin.sample(problem(params), samples, seed=seed)


def n_points(design: str, params: list[Parameter], samples: int | None = None,
             second_order: bool = False) -> int | None:
    """How many points ``design`` has, counted without drawing them (a table design: None).

    So that a design too big to run is refused before it is built: a grid of 8 parameters
    of 10 levels is 10^8 points, and building it would take far more memory than any machine has.
    """
    D, N = len(params), samples or 0
    if design == "grid":
        return math.prod(len(p.levels or ()) for p in params)
    if design == "lhs":
        return N
    if design == "sobol":
        return N * (2 * D + 2 if second_order else D + 2)    # Saltelli's scheme
    if design == "morris":
        return N * (D + 1)                                    # N trajectories of D + 1 points
    return None


def grid(params: list[Parameter]) -> list[dict]:
    """Every combination of the parameters' levels, the first parameter varying slowest."""
    names = [p.name for p in params]
    return [dict(zip(names, c)) for c in itertools.product(*[p.levels for p in params])]


def sample(design: str, params: list[Parameter], samples: int, seed: int, second_order: bool = False,
           morris_levels: int = 4) -> tuple[list[dict], list[list[float]]]:
    """Points of an ``lhs``, ``sobol`` or ``morris`` design: ``(points, unit_points)``, the
    parameter values per point and the SALib sample matrix. Raises :class:`DesignError`."""
    N = samples
    prob = problem(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if design == "lhs":
            X = latin_hypercube(params, N, seed)
        elif design == "sobol":
            if N & (N - 1):
                raise DesignError(f"samples = {N}: Sobol' sampling needs a power of 2 (e.g. "
                                  f"{2 ** max(1, round(math.log2(N)))})")
            from SALib.sample import sobol
            X = sobol.sample(prob, N, calc_second_order=second_order, scramble=True, seed=seed)
        elif design == "morris":
            if N < 2:
                raise DesignError("samples (trajectories) must be at least 2 for Morris")
            from SALib.sample import morris
            X = morris.sample(prob, N, num_levels=morris_levels, seed=seed)
        else:
            raise DesignError(f"{design!r} is not a sampled design; allowed: lhs, sobol, morris")
    points = [{p.name: p.from_unit(x) for p, x in zip(params, row)} for row in X]
    return points, [list(map(float, row)) for row in X]


def table_rows(text: str, name: str, lines: list[int] | None = None) -> tuple[list[str], list[dict]]:
    """The columns and rows of a CSV table of points (cells as int, float, bool, date or
    text); ``name`` is the file's name for messages; ``lines``, if given, gets each row's
    line in the file. Raises :class:`DesignError`, naming every row with the wrong number
    of cells at once."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise DesignError(f"{name} has no header row; allowed: a header of key paths (or parameter names), then a "
                          f"row of values per point")
    header = list(reader.fieldnames)
    if len(header) == 1 and ";" in header[0]:
        raise DesignError(f"{name}: the columns are separated by ';'; allowed: commas (a spreadsheet's "
                          f"'CSV, comma-separated')")
    if any(not c.strip() for c in header):
        column = header.index(next(c for c in header if not c.strip())) + 1
        why = "a row index, as pandas' to_csv writes by default: save with index=False" if column == 1 \
            else "a trailing comma?"
        raise DesignError(f"{name}: column {column} of the header row has no name ({why}); allowed: a key path or "
                          f"parameter name for every column")
    reader.fieldnames = [c.strip() for c in header]     # 'a, b' names the column 'b', not ' b
    twice = [c for c in dict.fromkeys(reader.fieldnames) if reader.fieldnames.count(c) > 1]
    if twice:
        raise DesignError(f"{name}: given column {twice[0]!r} twice in the header row; allowed: each column once")
    rows, ragged = [], []
    for r in reader:        # the line as the file numbers it (blank lines are skipped, not counted)
        if None in r or any(v is None for v in r.values()):
            cells = len(r) - (1 if None in r else 0) - sum(v is None for v in r.values()) + len(r.get(None) or [])
            ragged.append(f"line {reader.line_num}: given {cells} cell{'' if cells == 1 else 's'}")
            continue
        rows.append({k: _coerce_cell(v) for k, v in r.items()})
        if lines is not None:
            lines.append(reader.line_num)
    if ragged:            # the first ten, and how many more: a table of 2,000 bad rows is one line
        more = f"; and {len(ragged) - 10} more rows" if len(ragged) > 10 else ""
        raise DesignError(f"{name}, {'; '.join(ragged[:10])}{more}; allowed: {len(header)}, one per column of the "
                          f"header row")
    return list(reader.fieldnames), rows


def finite_number(v: Any) -> bool:
    """Whether ``v`` is a number (not a boolean) a design can sample: a float, or an integer
    within the float range, and finite."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def _value_key(v: Any) -> str:
    """A value as a comparable key (1 and 1.0 alike)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            return repr(float(v))
        except OverflowError:       # an integer beyond the float range equals no float
            return repr(v)
    return json.dumps(v, sort_keys=True, default=str)



def _dtype_of(values: list) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values):
        return "date"
    if all(isinstance(v, str) for v in values):
        return "str"
    return "json"



def _coerce_cell(text: str) -> Any:
    """A CSV cell as int, float, bool, date or string."""
    t = text.strip()
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    try:
        if "_" not in t:         # Python reads 1_0 as 10; a spreadsheet's cell 1_0 is text
            return float(t)
    except ValueError:
        pass
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        return dt.date.fromisoformat(t)
    except ValueError:
        return t
