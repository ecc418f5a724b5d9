"""One clear message for bad input: :class:`ScenarioError`, its kinds, finding the line
of a key in a file, and turning pydantic's validation errors into messages that name the
file, the key path (and line), what was given and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Any, get_origin

from pydantic import BaseModel

from .schema import Scenario, _merge_key

__all__ = ["ScenarioError", "OptionError", "ERROR_KINDS", "did_you_mean", "cut_short", "real_path"]


def real_path(path: str | Path) -> Path:
    """``path`` made absolute with its links followed, as ``Path.resolve()`` does, except that
    a symbolic link loop is left in place for the reading to report (resolve raises a bare
    RuntimeError for one on Python 3.11 and 3.12)."""
    return Path(os.path.realpath(path))


def did_you_mean(given: str, allowed) -> str:
    """`` (did you mean 'x'?)`` for the allowed name closest to ``given``, or ``""``."""
    near = difflib.get_close_matches(str(given), list(allowed), n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


class ScenarioError(Exception):
    """A scenario or sweep file that cannot be used. ``str(err)`` is the message for the user.

    A file with several mistakes raises one ScenarioError for all of them: its attributes
    are those of the first, ``errors`` lists every one (each a ScenarioError), and
    ``str(err)`` gives them one per line. A single mistake gives one line, and ``errors``
    is ``[err]``.

    Attributes
    ----------
    file : the file that sets the bad key (a parent when the key is inherited)
    key : the key path, e.g. ``firms.recyclers.capacity_t_per_yr`` or ``news[3].date``
    line : line of the key in ``file`` when it can be found, else None
    kind : what is wrong, one of :data:`ERROR_KINDS`
    detail : the message without the file and key
    via : the file that was loaded, when it differs from ``file``
    errors : every mistake found, in the order of the file(s)
    """

    errors: list["ScenarioError"]
    #: mistakes found beyond those described (see :mod:`rechain.config.loading`)
    unlisted: int = 0

    def __init__(self, file: str | Path | None, key: str, message: str, line: int | None = None,
                 kind: str = "invalid", via: str | Path | None = None, via_how: str = "extended by"):
        self.file, self.key, self.line, self.kind, self.detail = file, key, line, kind, message
        self.via = via if via is not None and file is not None and real_path(via) != real_path(file) \
            else None
        self.via_how = via_how
        where = _show(file) if file else "<scenario>"
        if line:
            where += f", line {line}"
        if self.via is not None:
            where += f" ({via_how} {_show(self.via)})"
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")
        self.errors = [self]

    def __reduce__(self):
        # the default rebuilds an exception from its args (here the message alone), which
        # __init__ cannot take: an error raised in a worker process (a sweep's, a pool's) must
        # reach the parent as itself, not as an unpickling failure that breaks the pool
        return _rebuilt, (type(self), self.args), self.__dict__

    @property
    def count(self) -> int:
        """Mistakes found: those in ``errors`` and any found but not described."""
        return len(self.errors) - (1 if self.unlisted else 0) + self.unlisted

    @classmethod
    def of(cls, errors: list["ScenarioError"]) -> "ScenarioError":
        """One error standing for several (returned as it is when there is one): the first's
        attributes, all of them in ``errors`` in file order, ``str()`` one per line."""
        unique = list({str(e): e for e in errors}.values())
        unique.sort(key=lambda e: (_show(e.file) if e.file else "", e.line if e.line else 10**9))
        if len(unique) == 1:
            return unique[0]
        first = unique[0]
        combined = cls(first.file, first.key, first.detail, line=first.line, kind=first.kind, via=first.via,
                       via_how=getattr(first, "via_how", "extended by"))
        combined.errors = unique
        combined.args = ("\n".join(str(e) for e in unique),)
        return combined


def reached_through(err: ScenarioError, via: str | Path, how: str = "extended by") -> ScenarioError:
    """``err`` as raised for a file the user reached through ``via`` (the scenario that
    extends it, the sweep whose base it is): each mistake that names no such file yet says
    ``(how via)``, so the message leads back to the file the user gave. Errors of other kinds
    (subclasses) are returned as they are."""
    if type(err) is not ScenarioError:
        return err
    each = [e if type(e) is not ScenarioError or e.via is not None or e.file is None else
            ScenarioError(e.file, e.key, e.detail, line=e.line, kind=e.kind, via=via, via_how=how)
            for e in err.errors]
    out = ScenarioError.of(each)          # the loader's last line, "N more mistakes", stays last
    out.unlisted = err.unlisted
    return out


def first_problem(err) -> str:
    """The first mistake a pydantic ``ValidationError`` ``err`` holds, as one phrase: ``key:
    missing``, ``key: given X: why``, or the message of a check across keys (which names its
    key itself)."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    why = first["msg"].removeprefix("Value error, ")
    if not where:
        return why
    return f"{where}: missing" if first["type"] == "missing" else f"{where}: given {first['input']!r}: {why}"


def _rebuilt(cls: type, args: tuple) -> ScenarioError:
    """A :class:`ScenarioError` (or subclass) with ``args``, its attributes restored by pickle."""
    err = cls.__new__(cls)
    err.args = args
    return err


class OptionError(ScenarioError):
    """A command-line value that cannot be used (an address, a count), not a file's key.

    ``str(err)`` is ``"<option> <value>: <message>"``; ``file`` and ``line`` are None.
    """

    def __init__(self, option: str, value: Any, message: str, kind: str = "invalid"):
        Exception.__init__(self, f"{option} {value}: {message}")
        self.file, self.key, self.line, self.kind, self.detail, self.via = None, option, None, kind, message, None
        self.errors = [self]


#: The kinds of :class:`ScenarioError`, with what each means.
ERROR_KINDS = {
    "missing": "the scenario file does not exist",
    "not_a_file": "the path is a directory, a named pipe, a device or far too large, a symbolic link loop, or "
                  "holds a NUL character: not a scenario file",
    "not_toml": "the file is not valid TOML (or not text at all)",
    "extends_missing": "the file named by `extends` does not exist",
    "extends_cycle": "`extends` leads back to a file already in the chain, or the chain runs past 100 files",
    "empty": "the file has no keys (empty, or comments only)",
    "unknown_key": "a key the schema does not have (the nearest valid key is suggested)",
    "unknown_name": "an entry of [sectors] or [regions] that lacks required keys: a misspelt name (the nearest is suggested) or an incomplete new entry",
    "missing_key": "a required key is absent",
    "type": "a value of the wrong type (text for a number, a number for a table, ...)",
    "out_of_range": "a number outside its allowed range (negative tonnes, a share above 1, `inf` or `nan`, ...)",
    "not_allowed": "a name that is not one of the allowed values (product, stage, calendar, quota type)",
    "unknown_region": "a region that is not defined under [regions]",
    "unknown_item": "`remove = true` names no inherited item",
    "duplicate_name": "two items of one list share a name (or a quota type and year)",
    "date": "a date that cannot be read (use ISO dates such as 2025-04-04)",
    "date_order": "dates in the wrong order (an end before its start, batches or steps out of order)",
    "outside_period": "an event (news, control, disruption, shock) the file itself dates outside the simulated period",
    "length": "a list of the wrong length (seasonality needs 12 values, approval at least one step)",
    "scheduler": "a Dask scheduler that cannot be reached at the address given",
    "output": "an output folder rechain must not or cannot write (not its own, a file, not writable)",
    "invalid": "any other inconsistent value (quota batch shares above 1, min > mode, missing years)",
}


def _show(path: str | Path | None) -> str:
    """A path as the user would type it: relative to the working directory when below it."""
    if path is None:
        return "<scenario>"
    p = Path(path)
    try:
        # the parent resolved, not the name itself: a link is shown as the link the user gave
        return str((real_path(p.absolute().parent) / p.name).relative_to(real_path(Path.cwd())))
    except (ValueError, OSError):
        return str(p)



# --- finding the line of a key ----------------------------------------------------------
_STR = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')


def _split_key(key: str) -> tuple[str, ...]:
    """A dotted TOML key's parts as TOML reads them: a quoted part keeps its spaces (and a
    basic string its escapes), so that ``"restock_strength "`` is found at its own line."""
    parts = re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^.]+', key.strip())
    return tuple(_unquoted(p.strip()) for p in parts if p.strip())


def _unquoted(part: str) -> str:
    if part.startswith("'") and part.endswith("'") and len(part) >= 2:
        return part[1:-1]
    if part.startswith('"') and part.endswith('"') and len(part) >= 2:
        try:
            return tomllib.loads(f"k = {part}")["k"]
        except tomllib.TOMLDecodeError:
            return part[1:-1]
    return part


def _index_lines(text: str) -> list[tuple[int, tuple[str, ...], int | None, str]]:
    """(line number, key path, block start, text) for every line that sets a key or opens a
    table; lines inside a multi-line value inherit the key that opened it. ``block start`` is
    the line of the ``[[array]]`` header the line belongs to, if any."""
    out = []
    table: tuple[str, ...] = ()
    block = None
    depth, open_path = 0, ()
    in_string = ""          # the delimiter of a multi-line string being read (its text sets no key)
    for n, raw in enumerate(text.splitlines(), 1):
        if in_string:
            out.append((n, open_path, block, raw))
            if in_string in raw:        # its first delimiter closes it; a comment may follow
                in_string = ""
            continue
        code = _STR.sub('""', raw).split("#", 1)[0]
        if depth > 0:
            out.append((n, open_path, block, raw))
            depth += code.count("[") + code.count("{") - code.count("]") - code.count("}")
            continue
        s = code.strip()
        if not s:
            continue
        m2 = re.match(r"^\[\[(.+?)\]\]", raw.strip())
        m1 = re.match(r"^\[(.+?)\]", raw.strip())
        if m2:
            table, block = _split_key(m2.group(1)), n
            out.append((n, table, block, raw))
        elif m1:
            table, block = _split_key(m1.group(1)), None
            out.append((n, table, block, raw))
        else:
            m = re.match(r'^\s*((?:"(?:[^"\\]|\\.)*"|\'[^\']*\'|[\w\-]+)(?:\s*\.\s*(?:"(?:[^"\\]|\\.)*"|'
                         r'\'[^\']*\'|[\w\-]+))*)\s*=', raw)
            if not m:
                continue
            path = (*table, *_split_key(m.group(1)))
            out.append((n, path, block, raw))
            # a multi-line string opens where the value starts with its delimiter and the line
            # does not close it (what follows a closing delimiter is a comment, not string)
            value = raw.split("=", 1)[1].lstrip()
            opened = next((d for d in ('"""', "'''") if value.startswith(d) and d not in value[3:]), "")
            if opened:
                in_string, open_path = opened, path
                continue
            rest = code.split("=", 1)[1] if "=" in code else ""
            depth = rest.count("[") + rest.count("{") - rest.count("]") - rest.count("}")
            open_path = path
    return out


class _FileView:
    """One file of an ``extends`` chain as the locating functions read it: its text, lines,
    line index (:func:`_index_lines`), the text of each ``[[array]]`` block and its parsed
    keys (None when it does not parse). Built once per file and version: a scenario with a
    thousand mistakes is located in one read of each file, not a thousand."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.entries = _index_lines(text)
        self.block_text: dict[int, str] = {}
        ends: dict[int, int] = {}
        previous = None
        for n, _, block, _ in self.entries:       # blocks are contiguous runs of entries
            if previous is not None and block != previous and previous not in ends:
                ends[previous] = n - 1
            previous = block
        for b in {b for _, _, b, _ in self.entries if b is not None}:
            self.block_text[b] = "\n".join(self.lines[b - 1:ends.get(b, len(self.lines))])
        try:
            self.keys: dict | None = tomllib.loads(text.removeprefix("\ufeff"))
        except (tomllib.TOMLDecodeError, RecursionError):
            self.keys = None


_VIEWS: dict[tuple, _FileView] = {}


def _view(path: Path) -> _FileView | None:
    """The :class:`_FileView` of ``path`` (None when it cannot be read), cached by the file's
    identity and version (a file edited between two checks in one process is read again)."""
    try:
        st = os.stat(path)
        key = (os.path.realpath(path), st.st_mtime_ns, st.st_size)
        view = _VIEWS.get(key)
        if view is None:        # (no check-then-index: the dashboard's threads share the cache)
            view = _FileView(Path(path).read_text(encoding="utf-8", errors="replace"))
            if len(_VIEWS) > 64:
                _VIEWS.clear()
            _VIEWS[key] = view
        return view
    except (OSError, ValueError):
        return None


def _selector_text(item: Any) -> list[re.Pattern]:
    """Patterns that find a list item in a file: its name, or its type and year."""
    key = _selector_key(item)
    if key is None:
        return []
    if key[0] == "name":
        return [re.compile(rf'name\s*=\s*["\']{re.escape(key[1])}["\']')]
    return [re.compile(rf'type\s*=\s*["\']{re.escape(key[1])}["\']'),
            re.compile(rf'year\s*=\s*["\']?{re.escape(key[2])}\b')]   # 2025 or "2025"


def _locate_in(path: Path, loc: tuple, data: dict | None) -> tuple[int | None, int]:
    """Best line for ``loc`` in one file and how much of the key path it matched (0: none)."""
    view = _view(path)
    if view is None:
        return None, 0
    target = tuple(str(p) for p in loc if isinstance(p, str) and p != "[key]")
    # the first list item on the way, and the key path up to its list
    item, list_depth = None, None
    twins = 0           # items before it in its list that the same name (or type and year) finds
    node: Any = data
    strs = 0
    for p in loc:
        if isinstance(p, int):
            if isinstance(node, list) and 0 <= p < len(node) and item is None:
                item, list_depth = node[p], strs
                key = _selector_key(item)
                twins = 0 if key is None else sum(1 for x in node[:p] if _selector_key(x) == key)
            node = node[p] if isinstance(node, list) and 0 <= p < len(node) else None
        else:
            strs += 1
            node = node.get(p) if isinstance(node, dict) else None
    pats = _selector_text(item)
    entries, block_text = view.entries, view.block_text

    def scan(skip: int) -> tuple[int | None, float, bool]:
        best, best_score = None, 0.0
        items_found: list = []      # the blocks (or lines) the item's selector finds, in order
        reached = False             # an entry of the item itself found
        for n, path_, block, raw in entries:
            if path_ and target and len(path_) > len(target) and path_[:len(target)] == target:
                # a header that opens a table inside the key ([news.foo] where news must be a list)
                if len(target) - 0.75 > best_score:
                    best, best_score = n, len(target) - 0.75
                continue
            if not path_ or path_ != target[:len(path_)]:
                continue
            score = float(len(path_))
            if len(path_) < len(target):
                if re.search(rf'(^|[{{,\s.])"?{re.escape(target[-1])}"?\s*=', raw):
                    score = len(target) - 0.5
            if pats and list_depth is not None and len(path_) >= list_depth:
                where = block_text.get(block, "") if block is not None else raw
                if not all(p.search(where) for p in pats) and not all(p.search(raw) for p in pats):
                    continue
                found = block if block is not None else n
                if found not in items_found:
                    items_found.append(found)
                if items_found.index(found) < skip:     # an earlier item of the same name
                    continue
                score += 0.25
                reached = True
            if score > best_score:
                best, best_score = n, score
        return best, best_score, reached
    best, best_score, reached = scan(twins)
    if twins and not reached:       # items the file gives on one line (an inline list)
        best, best_score, _ = scan(0)
    return best, best_score


def _selector_key(item: Any) -> tuple | None:
    """What finds a list item in a file (:func:`_selector_text`), as a value to compare."""
    if not isinstance(item, dict):
        return None
    if item.get("name"):
        return ("name", str(item["name"]))
    if "type" in item and "year" in item:
        return ("type", str(item["type"]), str(item["year"]))
    return None


def _locate(files: list[Path], loc: tuple, data: dict | None) -> tuple[Path | None, int | None]:
    """The file of the ``extends`` chain (child first) that sets ``loc``, and its line."""
    if not files:
        return None, None
    # the file that sets the value: the child-most one whose own keys reach deepest along loc
    # (a child's inline table can set what its parent spells out key by key)
    depths = [_depth_set(f, loc) for f in files]
    deepest = max(depths)
    if deepest > 0:
        owner = max(i for i, d in enumerate(depths) if d == deepest)
        return files[owner], _locate_in(files[owner], loc, data)[0]
    best_file, best_line, best_score = files[-1], None, 0.0
    for f in reversed(files):
        line, score = _locate_in(f, loc, data)
        if score > best_score + 1e-9:
            best_file, best_line, best_score = f, line, score
    return best_file, best_line


def _child_most(files: list[Path], candidates: list[tuple]) -> tuple:
    """Of two or more keys a check is about, the one the child-most file of the chain sets
    (the first given where no file sets any, a default among them)."""
    for f in reversed(files):
        for loc in candidates:
            if _depth_set(f, loc) == len(loc):
                return loc
    return candidates[0]


def _depth_set(path: Path, loc: tuple) -> int:
    """How many keys of ``loc`` (leading names, up to its first list index) one file sets."""
    view = _view(path)
    if view is None or view.keys is None:
        return 0
    node: Any = view.keys
    depth = 0
    for p in loc:
        if not isinstance(p, str) or not isinstance(node, dict) or p not in node:
            break
        node, depth = node[p], depth + 1
    return depth


def _find_line(path: Path | None, loc: list) -> int | None:
    """Best-effort line of ``loc`` (a key path) in one file."""
    if path is None or not Path(path).is_file():
        return None
    return _locate_in(Path(path), tuple(loc), None)[0]


def _find_name_line(path: Path, name: str, item: Any = None, last: bool = False) -> int | None:
    """The line of the list item named ``name`` in ``path``; given the ``item`` itself, the
    one its name or, for quotas, its type and year find (the block holding both, at its type);
    with ``last``, the last such item's (the second of two given the same name)."""
    view = _view(path)
    if view is None:
        return None
    pats = _selector_text(item) or [re.compile(rf'name\s*=\s*["\']{re.escape(name)}["\']')]
    if isinstance(item, dict) and _selector_key(item) is None and "remove" in item:
        pats = [re.compile(r'(^|[{,\s])remove\s*=')]       # an item that only removes, without a name
    found = []
    for n, _, block, raw in view.entries:
        where = view.block_text.get(block, "") if block is not None else raw
        if pats[0].search(raw) and (all(p.search(raw) for p in pats) or all(p.search(where) for p in pats)):
            found.append(n)
    found = found or [i for i, line in enumerate(view.lines, 1) if pats[0].search(line)]
    return (found[-1] if last else found[0]) if found else None


# --- describing a validation error --------------------------------------------------------
def _field_info(loc: tuple) -> Any:
    """The pydantic FieldInfo of the deepest named field on ``loc`` (None if unknown)."""
    from typing import get_origin
    model: Any = Scenario
    info = None
    keyed = False          # the last field was a table of models by name (sectors, regions)
    for part in loc:
        if isinstance(part, int) or part == "[key]":
            continue
        fields = getattr(model, "model_fields", None)
        if fields is not None and part in fields:
            info = fields[part]
            model = _inner_model(info.annotation)
            keyed = get_origin(info.annotation) is dict
        elif fields is not None and keyed:
            keyed = False  # the name of a sector or region: its model's fields come next
        elif fields is not None:
            return None    # an unknown name: keep nothing deeper
    return info


def _below_header(loc: tuple, path: Path | None = None) -> str:
    """For an unknown key of a top-level list's item that is a top-level key (``news = [...]``
    written below a ``[[disruptions]]`` header of the file ``path``): what TOML did with it.
    Nothing where the file has no such header (an inline list) or the list is nested."""
    if len(loc) != 3 or not isinstance(loc[1], int) or not isinstance(loc[0], str) or not isinstance(loc[2], str):
        return ""
    holder, key = loc[0], loc[2]
    if key not in _allowed_keys((key,)):
        return ""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines() if path else []
    except OSError:
        lines = []
    if not any(line.split("#", 1)[0].strip().replace(" ", "") == f"[[{holder}]]" for line in lines):
        return ""
    return (f" ({key} is a key of the top level: written below a [[{holder}]] header it belongs to that item; "
            f"move it above the header)")


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names valid at the parent of ``loc`` (for 'did you mean')."""
    model: Any = Scenario
    name_next = False                  # after a field of named entries (sectors, regions): a name
    for part in loc[:-1]:
        if isinstance(part, int) or part == "[key]":
            continue
        if name_next:
            name_next = False
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            if isinstance(model, type) and hasattr(model, "model_fields"):
                return list(model.model_fields)
            return []
        ann = fields[part].annotation
        name_next = _is_named_entries(ann)
        model = _inner_model(ann)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _is_named_entries(ann: Any) -> bool:
    """Whether a field holds entries by name (``dict[str, Model]``, perhaps optional)."""
    from typing import get_args
    if get_origin(ann) is dict:
        return True
    return any(_is_named_entries(a) for a in get_args(ann) if a is not type(None))


def misnamed_entries(errors: list[dict], data: dict | None) -> dict[tuple, str | None]:
    """Entries of a named table (``[sectors.nevs]``, ``[regions.europe]``) that lack required
    keys, with the closest name the scenario has (a misspelt name, not a new entry) or None.
    Returns ``{(field, name): closest name or None}``."""
    out: dict[tuple, str | None] = {}
    if not isinstance(data, dict):
        return out
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") != "missing" or len(loc) != 3 or not isinstance(loc[1], str):
            continue
        info = Scenario.model_fields.get(loc[0]) if isinstance(loc[0], str) else None
        if info is None or not _is_named_entries(info.annotation) or not isinstance(data.get(loc[0]), dict):
            continue
        others = [n for n in data[loc[0]] if n != loc[1]]
        near = difflib.get_close_matches(loc[1], others, n=1, cutoff=0.6) \
            or [n for n in others if len(n) >= 2 and (loc[1].startswith(n) or n.startswith(loc[1]))][:1]
        out[(loc[0], loc[1])] = near[0] if near else None
    return out


#: pydantic's names of the branches of a figure that is a number or a table by year
#: (``float | dict[str, float]``: the recipes' wt %), as they appear in an error's loc
_UNION_BRANCHES = {"float": "number", "dict[str,float]": "table", "function-wrap[_keys_beside_values()]": "table"}


def one_error_per_union(errors: list[dict]) -> list[dict]:
    """A figure that may be a number or a table by year fails in both branches: pydantic gives
    one error per branch, each with the branch's name in its key path (``dy_wt_pct.float``,
    ``dy_wt_pct.dict[str,float]``). Keep one: the table's own where a table was given (its
    year's value is the mistake, and a key that is no year), the number's own where a number
    was given (inf is a number, but not a finite one), else one saying both forms are allowed."""
    from .schema import year_keys_problem
    out: list[dict] = []
    told: set[tuple] = set()
    for err in errors:
        loc = tuple(err["loc"])
        at = next((i for i, part in enumerate(loc) if part in _UNION_BRANCHES), None)
        if at is None:
            out.append(err)
            continue
        field, branch = loc[:at], _UNION_BRANCHES[loc[at]]
        given = err.get("input")
        given_table = isinstance(given, dict) if branch == "number" else True
        if branch == "table" and len(loc) > at + 1:
            out.append({**err, "loc": (*field, *loc[at + 1:])})         # a year's value: the table's own error
            year = str(loc[at + 1])
            problem = year_keys_problem([year])
            if problem and (*field, year) not in told:
                out.append({"loc": (*field, year), "type": "value_error", "input": year, "msg": problem})
                told.add((*field, year))
            told.add(field)
        elif branch == "table" and err.get("type") == "value_error" and isinstance(given, dict):
            out.append({**err, "loc": field})           # the table's keys that are no years
            told.add(field)
        elif branch == "number" and isinstance(given, (int, float)) and not isinstance(given, bool):
            out.append({**err, "loc": field})                   # a number out of range: its own error
            told.add(field)
        elif field not in told and not (branch == "number" and given_table):
            out.append({**err, "loc": field, "type": "number_or_table",
                        "msg": "a number, or a table by year such as { 2025 = 1.2, 2026 = 1.1 }"})
            told.add(field)
    return out


def misspelt_required(errors: list[dict]) -> set[tuple]:
    """Where a required key is missing because it was misspelt: the unknown key's nearest
    allowed name is the missing key (one mistake, said once, by the unknown key's error)."""
    out = set()
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "extra_forbidden" and loc:
            near = difflib.get_close_matches(str(loc[-1]), _allowed_keys(loc), n=1)
            if near:
                out.add((*loc[:-1], near[0]))
    missing = {tuple(e.get("loc", ())) for e in errors if e.get("type") == "missing"}
    out = {loc for loc in out if loc in missing}
    # a key written under another name (a batch's `date` for its `issued`): the item's one
    # unknown key stands for its one missing key, and says so
    by_item: dict[tuple, list] = {}
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if loc and err.get("type") in ("extra_forbidden", "missing"):
            by_item.setdefault(loc[:-1], []).append(err)
    for item, errs in by_item.items():
        unknown = [e for e in errs if e["type"] == "extra_forbidden"]
        lacking = [e for e in errs if e["type"] == "missing"]
        if len(unknown) == 1 and len(lacking) == 1 and tuple(lacking[0]["loc"]) not in out and \
                not difflib.get_close_matches(str(unknown[0]["loc"][-1]), _allowed_keys(tuple(unknown[0]["loc"])), n=1):
            unknown[0]["instead_of"] = lacking[0]["loc"][-1]
            out.add(tuple(lacking[0]["loc"]))
    return out


def describe_misnamed(field: str, name: str, near: str | None, missing: list[str], path: Path | None,
                      files: list[Path], data: dict) -> ScenarioError:
    """One error for an entry that lacks required keys: a misspelt name or an incomplete new
    entry (instead of one error per key it lacks)."""
    file, line = _locate(files, (field, name), data)
    names = ", ".join(repr(n) for n in data[field] if n != name) or "none"
    if near:
        text = (f"given a name the scenario does not have (did you mean {near!r}?); allowed: a name of "
                f"[{field}] ({names}), or a new entry with all its keys (this one lacks {', '.join(missing)})")
    else:
        text = (f"a new entry, lacking {', '.join(missing)}; allowed: a new entry with all its required keys "
                f"(see docs/scenarios.md), or a name of [{field}] ({names})")
    return ScenarioError(file or path, f"{field}.{name}", text, line=line, kind="unknown_name",
                         via=files[-1] if files else None)


def _inner_model(ann: Any) -> Any:
    from typing import get_args
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in get_args(ann):
        m = _inner_model(a)
        if m is not None:
            return m
    return None


def _bounds(info: Any) -> str:
    """'>= 0 and <= 1' from a field's constraints (including those of dict values)."""
    from typing import get_args
    if info is None:
        return ""
    metas = list(getattr(info, "metadata", []))
    stack = [info.annotation]
    while stack:
        a = stack.pop()
        for x in get_args(a):
            if hasattr(x, "metadata"):
                metas += list(x.metadata)
            stack.append(x)
    b: dict[str, Any] = {}
    for md in metas:
        for attr in ("gt", "ge", "lt", "le"):
            v = getattr(md, attr, None)
            if v is not None:
                b.setdefault(attr, v)
    sym = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    return " and ".join(f"{sym[a]} {b[a]:g}" if isinstance(b[a], float) else f"{sym[a]} {b[a]}"
                        for a in ("gt", "ge", "lt", "le") if a in b)


def _meaning(info: Any) -> str:
    d = getattr(info, "description", None)
    return f" (meaning: {d})" if d else ""


_TYPE_ALLOWED = {
    "int": "a whole number", "float": "a number", "bool": "true or false", "string": "text in quotes",
    "list": "a list in [ ]", "tuple": "a list in [ ]", "dict": "a table of key = value",
    "model": "a table of key = value", "literal": "one of the listed names",
}


def _given(v: Any) -> str:
    if isinstance(v, bool):      # as the file spells it
        return "true" if v else "false"
    if isinstance(v, dict):
        return "a table {" + ", ".join(list(map(str, v))[:6]) + (", ..." if len(v) > 6 else "") + "}"
    if isinstance(v, (dt.date, dt.time)):       # a TOML date-time or time, as the file spells it
        return f"{v.isoformat()} (a {type(v).__name__.replace('datetime', 'date and time')})"
    return cut_short(repr(v))


def cut_short(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters: a 400-digit number is not read in a message."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _key_of(loc: tuple) -> str:
    """A key path as a message names it; a part that is no bare TOML key (an empty one, or one
    with a space or a character beyond ASCII letters, digits, _ and -) is quoted with its
    hidden characters written out: ``behaviour."w_n\\u0435ws"`` is not ``w_news``."""
    loc = tuple(p for p in loc if p != "[key]")
    return ".".join(f"[{p}]" if isinstance(p, int) else _bare_or_quoted(str(p)) for p in loc).replace(".[", "[")


def _bare_or_quoted(part: str) -> str:
    """``part`` as TOML writes a key: bare, or quoted with every character beyond printable
    ASCII escaped (``\\u0435``, ``\\U0001f600``), which TOML reads back as the same key."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", part):
        return part
    escaped = "".join("\\" + ch if ch in '"\\' else ch if 32 <= ord(ch) < 127 else
                      f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}" for ch in part)
    return f'"{escaped}"'


def _item_label(data: dict | None, loc: tuple) -> str:
    """' (item "name")' for a loc through a named list item."""
    node: Any = data
    for p in loc:
        if isinstance(p, int):
            if isinstance(node, list) and 0 <= p < len(node) and isinstance(node[p], dict):
                k = _merge_key(node[p])
                if k and not str(k).isprintable():     # a line break or terminal code, shown as written
                    k = str(k).encode("unicode_escape").decode("ascii")
                return f' (item "{k}")' if k else ""
            return ""
        node = node.get(p) if isinstance(node, dict) else None
    return ""


def _cross_check(msg: str, data: dict | None) -> tuple[tuple, str, str]:
    """Key path, message and kind for a whole-scenario check (they name their own key)."""
    period = ""
    if isinstance(data, dict) and "start" in data and "end" in data:
        period = f"{data['start']}..{data['end']}"
    if m := re.match(r"^end (\S+) must be after start (\S+)$", msg):
        return ("end",), f"given end {m[1]} with start {m[2]}; allowed: an end date after the start", "date_order"
    if m := re.match(r"^(\w+)\[(\d+)\] \((.*)\) date (\S+) is outside the simulated period (\S+)$", msg):
        return (m[1], int(m[2]), "date"), (f"given {m[4]}; allowed: a date within the simulated period "
                                           f"{m[5]}"), "outside_period"
    if m := re.match(r"^(\w+)\[(\d+)\] \((.*)\) starts (\S+), after the simulated period ends (\S+)$", msg):
        return (m[1], int(m[2]), "start"), (f"given {m[4]}, after the simulated period ends {m[5]}; allowed: "
                                            f"a start within the simulated period {period}"), "outside_period"
    if m := re.match(r"^(\w+)\[(\d+)\] \((.*)\) (\S+)\.\.(\S+) lies outside the simulated period$", msg):
        return (m[1], int(m[2]), "start"), (f"given {m[4]}..{m[5]}; allowed: dates that overlap the "
                                            f"simulated period {period}"), "outside_period"
    if m := re.match(r"^(\w+)\[(\d+)\]\.regions: unknown region '(.*)'; allowed: (.*)$", msg):
        regions = ["all", "china", *sorted((data or {}).get("regions", {}))]
        near = difflib.get_close_matches(m[3], regions, n=1)
        hint = f"; did you mean {near[0]!r}? Allowed" if near else "; allowed"
        return (m[1], int(m[2]), "regions"), (f"given unknown region {m[3]!r}{hint}: "
                                              f"{', '.join(map(repr, regions))} (the regions under [regions])"), \
            "unknown_region"
    if m := re.match(r"^([\w.]+) lacks year\(s\) (\[.*?\])", msg):
        first = (re.findall(r"\d{4}", m[2]) or ["2025"])[0]
        return tuple(m[1].split(".")), (f"lacks year(s) {m[2]} of the simulated period {period}; allowed: one "
                                        f"value per simulated year, e.g. {{ {first} = ... }}"), "invalid"
    if m := re.match(r"^market\.initial_price lacks (.*)$", msg):
        return ("market", "initial_price"), f"lacks {m[1]}; allowed: a start price for every product", "missing_key"
    return (), msg, "invalid"


def _value_error(loc: tuple, msg: str, given: Any) -> tuple[str, str]:
    """Kind and fuller message for a field or item validator's complaint."""
    g = given if isinstance(given, dict) else {}

    def items(key: str) -> list:
        # the validator sits on the list itself (given is the list) or on its table (a dict)
        seq = given if isinstance(given, list) else g.get(key, [])
        return [b for b in seq if isinstance(b, dict)] if isinstance(seq, list) else []

    if "before start" in msg:
        return "date_order", f"{msg}; allowed: an end on or after the start"
    if "batches must be in date order" in msg:
        dates = [str(b.get("issued")) for b in items("batches")]
        return "date_order", f"given batches issued {', '.join(dates)}; allowed: batches in date order"
    if "approval steps must be in date order" in msg:
        dates = [str(b.get("start")) for b in items("approval")]
        return "date_order", f"given approval steps from {', '.join(dates)}; allowed: steps in date order"
    if "collection steps must be in year order" in msg:
        years = [str(b.get("year")) for b in items("collection")]
        return "date_order", f"given collection years {', '.join(years)}; allowed: years in increasing order, each once"
    if "batch shares add up to more than 1" in msg:
        shares = [b.get("share") for b in items("batches")]
        tot = sum(s for s in shares if isinstance(s, (int, float)))
        return "invalid", (f"given batch shares {shares} (sum {tot:g}); allowed: shares of the year's quota "
                           f"that add up to at most 1")
    if m := re.match(r"needs 12 monthly factors, got (\d+)", msg):
        return "length", (f"given {m[1]} values; allowed: 12 monthly factors, January to December "
                          f"(normalised to mean 1)")
    if "min <= mode <= max" in msg:
        return "invalid", (f"given min {g.get('min')}, mode {g.get('mode')}, max {g.get('max')}; allowed: "
                           f"min <= mode <= max (working days)")
    return "invalid", msg


def _describe(err: dict, path: Path | None, files: list[Path] | None = None,
              data: dict | None = None) -> ScenarioError:
    """One :class:`ScenarioError` for one pydantic error."""
    files = list(files) if files else ([Path(path)] if path else [])
    loc = tuple(err["loc"])
    typ = err["type"]
    given = err.get("input")
    msg = err["msg"]
    kind = "type"
    if typ in ("value_error", "assertion_error"):
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if not loc:
            loc, text, kind = _cross_check(msg, data)
        else:
            kind, text = _value_error(loc, msg, given)
            # a table's cross-key check names one of its two keys, the one the child-most file
            # of the chain sets (the what-if that made the pair wrong), so its line is found
            if "before start" in msg and loc and loc[-1] != "end":
                loc = _child_most(files, [(*loc, "end"), (*loc, "start")])
            elif msg.startswith("buy_below_share ") and loc and loc[-1] != "buy_below_share":
                loc = _child_most(files, [(*loc, "buy_below_share"), (*loc, "sell_above_share")])
    elif typ == "extra_forbidden":
        allowed = _allowed_keys(loc)
        hint = f" (is it {err['instead_of']!r}, the required key this item lacks?)" if err.get("instead_of") \
            else did_you_mean(loc[-1], allowed)
        text = f"unknown key{hint}; allowed here: {', '.join(sorted(allowed))}" + _below_header(loc, path)
        kind = "unknown_key"
    elif typ == "missing":
        text = f"required key is missing{_meaning(_field_info(loc))}"
        kind = "missing_key"
    elif typ in ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number") or \
            (typ == "float_type" and isinstance(given, int) and not isinstance(given, bool)):
        # a whole number too large for a float (beyond about 1e308) is out of range, not of type
        info = _field_info(loc)
        finite = typ == "finite_number"         # inf or nan: the bounds, if any, still apply
        rng = _bounds(info) or ("" if finite else msg.lower().removeprefix("input should be "))
        text = f"given {_given(given)}; allowed: a {'finite ' if finite else ''}number{' ' + rng if rng else ''}" \
               f"{_meaning(info)}"
        kind = "out_of_range"
    elif typ == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        options = re.findall(r"'([^']*)'", expected)
        near = difflib.get_close_matches(str(given), options, n=1) if options else []
        hint = f"; did you mean {near[0]!r}? Allowed" if near else "; allowed"
        what = "name" if loc and loc[-1] == "[key]" else "value"
        text = f"given unknown {what} {_given(given)}{hint}: {expected}"
        kind = "not_allowed"
    elif typ.startswith(("date", "datetime")):
        text = f"given {_given(given)}; allowed: an ISO date such as 2025-04-04 (year-month-day)"
        kind = "date"
    elif typ == "string_too_short":
        text = f"given an empty text; allowed: at least one character{_meaning(_field_info(loc))}"
        kind = "invalid"
    elif typ in ("too_short", "too_long"):
        lim = (err.get("ctx") or {}).get("min_length" if typ == "too_short" else "max_length")
        text = f"given {_given(given)}; allowed: {'at least' if typ == 'too_short' else 'at most'} {lim} item(s)"
        kind = "length"
    else:
        base = typ.split("_")[0]
        allowed = _TYPE_ALLOWED.get(base, msg)
        info = _field_info(loc)
        # a date or time says what it is already ("2024-01-01 (a date)"), not twice
        named = "" if isinstance(given, (dt.date, dt.time)) else f" ({type(given).__name__})"
        text = f"given {_given(given)}{named}; allowed: {allowed}{_meaning(info)}"
        kind = "type"
    file, line = _locate(files, loc, data)
    key = _key_of(loc) + _item_label(data, loc)
    via = files[-1] if files else None
    return ScenarioError(file or path, key or "(scenario)", text, line=line, kind=kind, via=via)


def _problem_errors(problems: list, path: Path | None, files: list[Path], data: dict | None) -> list[ScenarioError]:
    """One :class:`ScenarioError` per whole-scenario problem (see :class:`_Problems`)."""
    out = []
    for p in problems:
        loc, text, kind = _cross_check(p, data) if isinstance(p, str) else (p[0], p[2], p[1])
        file, line = _locate(files, loc, data)
        if kind == "date_order" and files and file is not None and Path(file).resolve() != Path(files[-1]).resolve():
            start_file, start_line = _locate(files, ("start",), data)
            if start_file is not None and Path(start_file).resolve() == Path(files[-1]).resolve():
                # the what-if moved the start past the end it inherits: its own line is at fault
                text = (f"given start {data['start']}, after the end {data['end']} it inherits from "
                        f"{_show(file)}; allowed: a start before the end (set end too)")
                loc, file, line = ("start",), start_file, start_line
        out.append(ScenarioError(file or path, _key_of(loc) + _item_label(data, loc) or "(scenario)", text,
                                 line=line, kind=kind, via=files[-1] if files else None))
    return out
