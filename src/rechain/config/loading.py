"""Loading scenario files: TOML reading, ``extends`` resolution and validation.

A what-if can say ``extends = "baseline.toml"`` and give only what changes: tables merge
key by key, and lists of named items (``[[export_controls]]``, ``[[news]]``,
``[[disruptions]]``, ``[[quotas]]``) merge item by item on their ``name`` (an item with
``remove = true`` deletes the inherited one of that name). Errors in a file raise
:class:`~rechain.config.errors.ScenarioError`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import errno
import hashlib
import json
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import (ScenarioError, _describe, _find_line, _find_name_line, _problem_errors, _show, describe_misnamed,
                     misnamed_entries, misspelt_required, one_error_per_union, reached_through, real_path)
from .schema import Behaviour, Scenario, _merge_key, _plain_name, folder_safe, planning_horizon, stem_unfit

__all__ = ["load_scenario", "scenario_data", "scenario_from_dict", "scenario_hash", "deep_merge", "merges_by_name",
           "read_toml_file", "read_text_file"]


class _MergeError(ScenarioError):
    """Raised by :func:`deep_merge` (a :class:`ScenarioError` without a file);
    :func:`_resolve` re-raises it naming the file and line."""

    def __init__(self, keypath: tuple, name: str, kind: str, message: str, item: dict | None = None):
        super().__init__(None, ".".join(str(k) for k in keypath), message, kind=kind)
        self.keypath, self.name, self.message, self.item = keypath, name, message, item
        self.at_last = kind == "duplicate_name"     # the second of two is the mistake


def _removal(item: dict, keypath: tuple) -> bool | None:
    """An item's ``remove`` flag (None without one); a flag that is not true or false, or
    ``remove = true`` in an item without a name, raises :class:`_MergeError`."""
    flag = item.get("remove")
    key = _merge_key(item)
    if "remove" in item and not isinstance(flag, bool):
        raise _MergeError((*keypath, "remove"), str(key), "type",
                          f"given remove = {flag!r}{f' for {key!r}' if key else ''}; allowed: true (leave out "
                          f"the inherited item of this name) or false", item)
    if flag is True and not key:
        raise _MergeError((*keypath, "remove"), "remove", "missing_key",
                          "given remove = true in an item without a name; allowed: name = \"...\" of the "
                          "inherited item to leave out", item)
    return flag


def _fail(problems: list | None, err: "_MergeError") -> None:
    """Raise ``err``, or, when the caller collects ``problems``, add it there and go on."""
    if problems is None:
        raise err
    problems.append(err)


def _strip_removals(items: list, keypath: tuple, inherited: list | None = None,
                    problems: list | None = None) -> list:
    """A list that replaces whatever is inherited (``inherited``: that list, if any), so
    ``remove = true`` has nothing to remove. With ``problems``, each mistake is added there
    and its item left out, instead of the first one raised."""
    flags = []
    for item in items:                                      # each flag checked first
        try:
            flags.append(_removal(item, keypath) if isinstance(item, dict) else None)
        except _MergeError as err:
            _fail(problems, err)
            flags.append(err)
    if any(isinstance(f, _MergeError) for f in flags):      # (then the removals' meaning is moot)
        return [{k: v for k, v in i.items() if k != "remove"} if f is False else i
                for i, f in zip(items, flags) if f is None or f is False]
    names = [str(_merge_key(i)) for i in inherited or [] if isinstance(i, dict) and _merge_key(i)]
    for item, flag in zip(items, flags):
        if not flag:
            continue
        if names:       # an item without a name beside it: the list replaces the inherited one whole
            _fail(problems, _MergeError(
                (*keypath, "remove"), str(_merge_key(item)), "unknown_item",
                f"given remove = true for {_merge_key(item)!r} beside an item without a name: a list "
                f"with an unnamed item replaces the inherited list whole, so nothing is left to "
                f"remove; allowed: a name for every item (to add to and remove from the inherited "
                f"{', '.join(map(repr, names))}), or the whole list without remove", item))
        else:
            _fail(problems, _MergeError((*keypath, "remove"), str(_merge_key(item)), "unknown_item",
                                        f"given remove = true for {_merge_key(item)!r}, but no inherited item "
                                        f"has that name (nothing to remove)", item))
    return [{k: v for k, v in i.items() if k != "remove"} if isinstance(i, dict) and f is False else i
            for i, f in zip(items, flags) if f is not True]


def merges_by_name(base: list, over: list) -> bool:
    """Whether the list ``over`` merges into the inherited ``base`` item by item (every item of
    both named, ``over`` not empty) rather than replacing it whole (:func:`deep_merge`)."""
    return bool(over) and all(_merge_key(i) for i in over) and all(_merge_key(i) for i in base)


def deep_merge(base: Any, over: Any, _keypath: tuple = (), problems: list | None = None) -> Any:
    """Merge ``over`` onto ``base``: tables key by key, named lists item by item.

    - tables (dicts) merge recursively, ``over`` winning on leaves;
    - lists whose items all have a ``name`` (or a ``type`` and ``year``, as quotas do) merge
      item by item on that key: an item of the same name is merged into the inherited one,
      a new name is appended, and ``remove = true`` deletes the inherited item of that name;
    - any other value or list (seasonality, approval steps, batches) replaces the inherited one.

    Raises :class:`ScenarioError` (kind ``unknown_item`` or ``duplicate_name``) when
    ``remove = true`` names no inherited item or when ``over`` names the same item twice;
    given a list ``problems``, adds every such mistake there instead, leaves the item out and
    merges the rest (so a file's other mistakes can be told beside them).
    """
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if k in base:
                out[k] = deep_merge(base[k], v, (*_keypath, k), problems)
            else:
                out[k] = _strip_removals(v, (*_keypath, k), problems=problems) if isinstance(v, list) else v
        return out
    if isinstance(base, list) and isinstance(over, list) and merges_by_name(base, over):
        seen: set[str] = set()
        for item in over:
            key = _merge_key(item)
            if key in seen:
                if "name" in item:
                    _fail(problems, _MergeError((*_keypath, "name"), str(key), "duplicate_name",
                                                f"given two items named {key!r} in one file; allowed: each name once",
                                                item))
                else:       # items found by type and year (quotas) have no name to speak of
                    _fail(problems, _MergeError((*_keypath, "year"), str(key), "duplicate_name",
                                                f"given two {item.get('type')} {_keypath[-1] if _keypath else 'items'} for {item.get('year')} in one "
                                                f"file; allowed: one per type and year", item))
            seen.add(key)
        out = {_merge_key(i): i for i in base}
        inherited = [k for k in out if isinstance(k, str)]
        inherited_keys = list(out)          # every item the file extends holds, named or keyed
        # an inherited item this file removes may be named anew with other capitals
        dropped = {_merge_key(i) for i in over if isinstance(i, dict) and i.get("remove") is True}
        removed: set = set()      # a name removed twice is told once, as a name given twice
        for item in over:
            key = _merge_key(item)
            if "remove" in item:
                try:
                    flag = _removal(item, _keypath)
                    if flag is True and key in removed:
                        continue
                    if flag is True and key not in out:
                        # what the file extends holds, before this file's own removals and additions
                        near = difflib.get_close_matches(str(key), [str(k) for k in inherited_keys], n=1, cutoff=0.5)
                        hint = f"; did you mean {near[0]!r}?" if near else "."
                        raise _MergeError((*_keypath, "remove"), str(key), "unknown_item",
                                          f"given remove = true for {key!r}, but no inherited item has that "
                                          f"name{hint} Inherited: {', '.join(repr(str(k)) for k in inherited_keys) or 'none'}",
                                          item)
                except _MergeError as err:
                    _fail(problems, err)
                    continue
                if flag is True:
                    out.pop(key)
                    removed.add(key)
                    continue
                item = {k: v for k, v in item.items() if k != "remove"} if flag is False else item
            if key not in out and isinstance(key, str):
                twin = next((k for k in inherited if k not in dropped and _plain_name(k) == _plain_name(key)), None)
                if twin is not None:
                    # a name typed with other capitals or spaces would add a second item beside
                    # the inherited one (two disruptions adding up), not change it
                    _fail(problems, _MergeError(
                        (*_keypath, "name"), key, "duplicate_name",
                        f"given {key!r}, which differs from the inherited item {twin!r} only in capitals or spaces, "
                        f"so it would be added beside it as a second item; allowed: {twin!r} to change the "
                        f"inherited item, or a name that differs in more than capitals and spaces to add one"))
                    continue
            out[key] = deep_merge(out[key], item, _keypath, problems) if key in out else item
        return list(out.values())
    if isinstance(over, list):
        return _strip_removals(over, _keypath, base if isinstance(base, list) else None, problems)
    return over


#: the most an input file (scenario, facts table, sweep table) may hold: far above any real one
MAX_INPUT_BYTES = 64 * 2**20
#: the longest chain of scenario files linked by ``extends`` (Python's own recursion stops near 1,000)
MAX_EXTENDS_DEPTH = 100


def _no_nul(path: str | Path, what: str) -> None:
    """A path with a NUL character names no file (the OS refuses it with a ValueError)."""
    if "\x00" in str(path):
        raise ScenarioError(str(path).replace("\x00", "\\x00"), "", f"the path holds a NUL character; allowed: "
                            f"{what}, named without control characters", kind="not_a_file")


def read_text_file(path: str | Path, what: str = "a scenario file (.toml)") -> str:
    """The text of a UTF-8 file, a leading byte-order mark (BOM) dropped.

    Raises :class:`ScenarioError` naming the file for a missing file, a directory, a
    symbolic link loop, a file that cannot be read, one larger than ``MAX_INPUT_BYTES`` (a
    device such as /dev/zero never ends) and bytes that are not UTF-8 (with the line of the
    first one).
    """
    _no_nul(path, what)
    path = Path(path)
    try:
        if path.is_dir():
            raise ScenarioError(path, "", f"given a directory; allowed: {what}", kind="not_a_file")
        mode = path.stat().st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            # opening a named pipe waits for a writer: refuse it rather than hang
            raise ScenarioError(path, "", f"is a named pipe or socket, not a file; allowed: {what} saved on "
                                f"disk", kind="not_a_file")
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            # /dev/null reads as an empty file, /dev/zero never ends: neither is what was meant
            raise ScenarioError(path, "", f"is a device, not a file; allowed: {what} saved on disk",
                                kind="not_a_file")
        with path.open("rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise ScenarioError(path, "", f"larger than {MAX_INPUT_BYTES // 2**20} MB (or a device that never "
                                f"ends); allowed: {what}", kind="not_a_file")
    except FileNotFoundError:
        raise ScenarioError(path, "", f"file not found; allowed: {what}", kind="missing") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ScenarioError(path, "", f"is a symbolic link loop (it leads back to itself, never to a file); "
                                f"allowed: {what}", kind="not_a_file") from None
        raise ScenarioError(path, "", f"cannot be read ({e.strerror or e.__class__.__name__}); allowed: {what}",
                            kind="not_toml") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        # Excel's "Unicode text" and Windows' Notepad write UTF-16, which opens with a byte-order mark
        utf16 = " (the file is UTF-16 text: its first bytes are UTF-16's byte-order mark)" \
            if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise ScenarioError(path, "", f"given byte 0x{data[e.start]:02x}, which is not UTF-8 text{utf16}; allowed: "
                            f"{what} saved as UTF-8 (an editor's 'save with encoding' does it)", line=line,
                            kind="not_toml") from None
    return text.removeprefix("\ufeff")    # editors on Windows write a BOM; TOML readers reject it


#: a [table] or [[list]] header line, its key path in group 1
_HEADER = re.compile(r"\[+\s*([^\]]+?)\s*\]+(\s*#.*)?")


def _dotted(header: str) -> str:
    """A header's key path, dotted and unquoted (``behaviour."w_news"`` -> ``behaviour.w_news``)."""
    return ".".join(p.strip().strip("'\"") for p in header.split("."))


def _table_above(lines: list[str], line: int) -> str:
    """The [table] (or [[list]]) header nearest above ``line`` (from 1), dotted and unquoted;
    "" for the file's top level."""
    for earlier in reversed(lines[:line - 1]):
        m = _HEADER.fullmatch(earlier.strip())
        if m:
            return _dotted(m.group(1))
    return ""


def _value_twice(path: str | Path, text: str, line: int) -> ScenarioError:
    """TOML's "Cannot overwrite a value" at ``line``: a key given a value twice in one table
    (``name = "a"`` and later ``name = "b"``), or a [table] header on a key that holds a value,
    said with the key and both lines."""
    lines = text.splitlines()
    here = lines[line - 1].strip() if line <= len(lines) else ""
    header = _HEADER.fullmatch(here)
    key = header.group(1).split(".")[-1].strip(" '\"") if header else here.split("=", 1)[0].strip().strip("'\"")
    first = None
    for i in range(line - 2, -1, -1):         # the earlier value, in the same table or the one above
        earlier = lines[i].strip()
        if re.match(rf"""["']?{re.escape(key)}["']?\s*=""", earlier):
            first = i + 1
            break
        if earlier.startswith("[") and not header:
            break
    at = f" (line {first})" if first else ""
    if not header:      # the key as the file's tables name it: behaviour.w_news, not w_news
        table = _table_above(lines, line)
        key = f"{table}.{key}" if table else key
    if header:
        key = _dotted(header.group(1))
        return ScenarioError(path, key, f"[{header.group(1)}] opens a table on {key}, which already holds a value"
                             f"{at}; allowed: one or the other", line=line, kind="not_toml")
    return ScenarioError(path, key, f"{key} is written twice in this table{f', on lines {first} and {line}' if first else ''}"
                         f"; allowed: each key once (the later value does not replace the earlier within one file)",
                         line=line, kind="not_toml")


def read_toml_file(path: str | Path, what: str = "a scenario file (.toml)") -> dict:
    """A TOML file as a dict (see :func:`read_text_file`); raises :class:`ScenarioError`
    with the line for TOML that does not parse, and the key for a date that cannot be read."""
    text = read_text_file(path, what)
    too_deep = ScenarioError(path, "", f"arrays or tables nested too deeply to read; allowed: {what} of `key = "
                             f"value` lines and [table] headers (https://toml.io)", kind="not_toml")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise too_deep from None
    except tomllib.TOMLDecodeError as e:
        _not_toml(path, text, e, what)
    # a [a.a.a...] header parses at any depth, but what reads the tables after recurses: no
    # scenario nests ten deep, so a few hundred levels are refused here, in one line
    if _nesting(data) > MAX_NESTING:
        raise too_deep
    return data


#: tables and arrays nested deeper than this are refused (a scenario nests four or five deep)
MAX_NESTING = 64


def _nesting(value: Any) -> int:
    """How deep tables and arrays nest in ``value`` (0: a plain value), counted without recursion."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            todo.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            todo.extend((v, depth + 1) for v in item)
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_NESTING:
            break
    return deepest


#: characters that look like TOML's own but are not: a word processor's quotes, a minus or
#: hyphen of another code point, a no-break space
LOOK_ALIKES = {"\u201c": "a curly quote", "\u201d": "a curly quote", "\u2018": "a curly quote",
               "\u2019": "a curly quote", "\u2212": "a minus sign (U+2212)", "\u2010": "a Unicode hyphen",
               "\u2011": "a non-breaking hyphen", "\u2013": "an en dash", "\u2014": "an em dash",
               "\u00a0": "a no-break space"}


def _look_alike(text: str, line: int | None, column: int | None = None) -> str:
    """A note naming what in ``line`` of ``text``, up to the ``column`` where reading failed,
    only looks like TOML (or line endings of an old Mac), "" if nothing does: a curly quote in
    a comment after the mistake is no cause of it."""
    if "\r" in text and "\n" not in text:
        return " (the file's lines end in a bare carriage return, an old Mac's; save it with ordinary line endings)"
    lines = text.splitlines()
    here = lines[line - 1] if line and line <= len(lines) else ""
    here = here[:column] if column else here
    found: dict[str, list[str]] = {}
    for ch, name in LOOK_ALIKES.items():
        if ch in here:
            found.setdefault(name, []).append(repr(ch))
    said = ", ".join(f"{name} ({' '.join(chars)})" for name, chars in found.items())
    return f" (the line holds {said}, which TOML does not read as its own; type it plainly)" if found else ""


def _column(e: Exception) -> int | None:
    """The column tomllib names in its message ("at line 3, column 10"), or None."""
    m = re.search(r"column (\d+)", str(e))
    return int(m.group(1)) if m else None


def _not_toml(path, text: str, e: "tomllib.TOMLDecodeError", what: str) -> None:
    """Raise the one-line error for TOML that does not parse (see :func:`read_toml_file`)."""
    m = re.search(r"line (\d+)", str(e))
    line = int(m.group(1)) if m else None
    if "date" in str(e).lower():
        bad = text.splitlines()[line - 1].strip() if line and line <= len(text.splitlines()) else ""
        key = bad.split("=", 1)[0].strip() if "=" in bad else ""
        raise ScenarioError(path, key, f"given {bad!r}, which is not a valid date; allowed: an ISO date "
                            f"such as 2025-04-04 (year-month-day)", line=line, kind="date") from None
    twice = re.search(r"Cannot (mutate immutable namespace|declare) \(([^)]*)\)", str(e))
    if twice:
        key = ".".join(part.strip(" '\"") for part in twice.group(2).split(",") if part.strip(" '\""))
        if twice.group(1) == "declare":     # [key] twice
            raise ScenarioError(path, key, f"the table [{key}] is declared twice in this file; allowed: one "
                                f"[{key}] header with all its keys under it", line=line, kind="not_toml") from None
        # `key = [...]` (or an inline table) and then a [[key]] item or [key...] header
        raise ScenarioError(path, key, f"{key} is written twice in this file, as `{key} = ...` and again as a "
                            f"[[{key}]] item or a [{key}...] header here; TOML allows one or the other. Allowed: "
                            f"`{key} = []` alone to empty an inherited list, or [[{key}]] items alone (items of "
                            f"new names are added to the inherited ones, `remove = true` drops one by name; "
                            f"docs/scenarios.md)", line=line, kind="not_toml") from None
    if "Cannot overwrite a value" in str(e) and line:
        raise _value_twice(path, text, line) from None
    inline = re.search(r"Duplicate inline table key '([^']*)'", str(e))
    if inline and line:
        # { 2024 = 1e6, 2024 = 2e6 }: named with the key that holds the inline table
        here = text.splitlines()[line - 1] if line <= len(text.splitlines()) else ""
        held = here.split("=", 1)[0].strip().strip("'\"") if "=" in here else ""
        table = _table_above(text.splitlines(), line)
        key = ".".join(k for k in (table, held, inline.group(1)) if k)
        raise ScenarioError(path, key, f"{inline.group(1)} is written twice in one inline table; allowed: each key "
                            f"once", line=line, kind="not_toml") from None
    # a JSON scenario is taken as a dict by the Python API (rechain.run(dict)), not as a file
    json_note = (" (a JSON scenario is given to the Python API as a dict, rechain.run(json.load(...)); "
                 "a file the commands read is TOML)") if Path(path).suffix.lower() == ".json" else ""
    raise ScenarioError(path, "", f"not valid TOML: {e}{_look_alike(text, line, _column(e))}. Allowed: {what}, of `key = "
                        f"value` lines and [table] headers (https://toml.io){json_note}", line=line,
                        kind="not_toml") from None


def _resolve(path: Path, chain: tuple[Path, ...] = (), problems: list | None = None) -> tuple[dict, list[Path]]:
    """Read ``path`` and the files it ``extends``; return the merged dict and the files,
    parent first. Raises :class:`ScenarioError` for a missing, unreadable or circular chain,
    and for what ``path`` says that cannot merge onto its parent (a removal of nothing, a
    name given twice) -- unless ``problems`` is a list, which then receives those mistakes
    (the items are left out of the merge) so that they can be told with the file's others."""
    _no_nul(path, "a scenario file (.toml)")
    path = real_path(path)
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(chain[0], "extends", f"a chain of more than {MAX_EXTENDS_DEPTH} files (it reaches "
                            f"{_show(chain[-1])}); allowed: at most {MAX_EXTENDS_DEPTH} files, each extending the next",
                            line=_find_line(chain[0], ["extends"]), kind="extends_cycle")
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        last = chain[-1]
        raise ScenarioError(last, "extends", f"circular extends: {cycle}; allowed: a chain of files that "
                            f"ends in one without extends", line=_find_line(last, ["extends"]),
                            kind="extends_cycle")
    data = read_toml_file(path)
    if not data:                        # empty, or comments only: say so, not six missing keys
        raise ScenarioError(path, "(scenario)", "the file has no keys (empty, or comments only); allowed: "
                            "extends = \"baseline.toml\" and the keys that change, or a whole scenario "
                            "(start, end, firms, sectors, regions, market, ...)", kind="empty")
    if "base" in data and ("parameters" in data or "design" in data) and not {"extends", "start"} & set(data):
        # else one error per sweep key and per missing scenario key
        raise ScenarioError(path, "(scenario)", "is a sweep file (base, design, parameters), not a scenario; "
                            "allowed: a scenario file here; run a sweep with rechain sweep", kind="invalid")
    parent = data.pop("extends", None)
    if parent is None:
        misplaced = next((k for k, v in data.items() if isinstance(v, dict) and "extends" in v), None)
        if misplaced is not None:   # else an unknown key and six missing ones, none naming the slip
            raise ScenarioError(path, f"{misplaced}.extends", f"given under [{misplaced}], whose key TOML makes it; "
                                f"allowed: extends = \"...\" at the top of the file, before any [table] header",
                                line=_find_line(path, [misplaced, "extends"]), kind="unknown_key")
        return data, [path]
    line = _find_line(path, ["extends"])
    if not isinstance(parent, str) or not parent:
        raise ScenarioError(path, "extends", f"given {parent!r}; allowed: a file name in quotes, such as "
                            f"\"baseline.toml\"", line=line, kind="type")
    if "\x00" in parent:
        raise ScenarioError(path, "extends", f"given {parent!r}, which holds a NUL character; allowed: a file "
                            f"name in quotes, such as \"baseline.toml\"", line=line, kind="type")
    ppath = (path.parent / parent)
    try:
        ppath.stat()
        found = True
    except OSError as e:        # absent, or a name the file system cannot hold (too long, ...)
        found = False
        if e.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise ScenarioError(path, "extends", f"given {parent!r}, which cannot be opened ({e.strerror}); "
                                f"allowed: a path relative to {_show(path.parent) or '.'}/", line=line,
                                kind="extends_missing") from None
    if not found:
        raise ScenarioError(path, "extends", f"given {parent!r}, but {_show(ppath)} does not exist; allowed: a "
                            f"path relative to {_show(path.parent) or '.'}/", line=line, kind="extends_missing")
    if ppath.is_dir():
        raise ScenarioError(path, "extends", f"given {parent!r}, which is a directory; allowed: a scenario file",
                            line=line, kind="extends_missing")
    try:
        base, files = _resolve(ppath, (*chain, path))
    except ScenarioError as e:
        if chain or e.kind == "extends_cycle":         # a cycle's message names every file of it
            raise
        # a parent that cannot be read or is no scenario: say which file led to it
        raise reached_through(e, path) from None
    found: list[_MergeError] = []
    merged = deep_merge(base, data, problems=found)
    told = [ScenarioError(path, ".".join(str(k) for k in e.keypath), e.message, line=_find_name_line(path, e.name, e.item, e.at_last),
                          kind=e.kind) for e in found]
    if told and problems is None:
        raise ScenarioError.of(told)
    if problems is not None:
        problems += told
    return merged, [*files, path]


def _numpy_scalars_as_python(value: Any) -> Any:
    """``value`` with every NumPy scalar (what pandas, SALib and EMA Workbench hand over) taken
    as the Python value it holds, so a numpy whole number is a whole number and a numpy bool a
    bool; tables and lists are copied only where one is found."""
    import numpy as np
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        out = {k: _numpy_scalars_as_python(v) for k, v in value.items()}
        return value if all(out[k] is value[k] for k in value) else out
    if isinstance(value, list):
        items = [_numpy_scalars_as_python(v) for v in value]
        return value if all(a is b for a, b in zip(items, value)) else items
    return value


def scenario_from_dict(data: dict, path: Path | None = None, files: list[Path] | None = None) -> Scenario:
    """Validate a merged scenario dict; raise one :class:`ScenarioError` naming every problem.

    ``path`` is the file the dict came from (for the message); ``files`` the whole
    ``extends`` chain, parent first, so that the message can point at the file and line
    that set the bad key. Keys are checked one by one first; the checks across keys (dates
    within the period, regions defined, one item per name) run once every key is valid.
    """
    files = list(files) if files else ([Path(path)] if path else [])
    if _nesting(data) > MAX_NESTING:      # a dict from the API, nested past what any scenario needs
        raise ScenarioError(path, "", "tables or lists nested too deeply to read (more than "
                            f"{MAX_NESTING} levels); allowed: a scenario's tables, a few levels deep "
                            "(docs/scenarios.md)", kind="not_toml")
    data = _numpy_scalars_as_python(data)
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        errors: list[ScenarioError] = []
        raw = one_error_per_union(e.errors())
        misspelt = misspelt_required(raw)
        # an entry that lacks only keys it has misspelt is a new entry with a slip, not a misnamed one
        misnamed = {entry: near for entry, near in misnamed_entries(raw, data).items()
                    if not all(tuple(err["loc"]) in misspelt for err in raw
                               if err["type"] == "missing" and tuple(err["loc"][:2]) == entry)}
        for (field, name), near in misnamed.items():
            lacks = [str(err["loc"][2]) for err in raw if err["type"] == "missing" and len(err["loc"]) == 3
                     and tuple(err["loc"][:2]) == (field, name)]
            errors.append(describe_misnamed(field, name, near, lacks, path, files, data))
        unlisted = 0
        for err in raw:
            if err["type"] == "missing" and len(err["loc"]) == 3 and tuple(err["loc"][:2]) in misnamed:
                continue                                  # said once, above
            if err["type"] == "missing" and tuple(err["loc"]) in misspelt:
                continue                                  # said by the misspelt key's own error
            problems = getattr((err.get("ctx") or {}).get("error"), "problems", None)
            if len(errors) >= MAX_ERRORS_LISTED:
                unlisted += len(problems) if problems is not None and not err["loc"] else 1
            elif problems is not None and not err["loc"]:
                room = MAX_ERRORS_LISTED - len(errors)
                errors += _problem_errors(problems[:room], path, files, data)
                unlisted += max(len(problems) - room, 0)
            else:
                errors.append(_describe(err, path, files, data))
        raise _told(_items_together(errors), path, unlisted) from None


def _items_together(errors: list[ScenarioError]) -> list[ScenarioError]:
    """Errors of several items of one list that say the same thing (twelve monthly factors of
    0) as one error naming the items: one slip, one line."""
    out: list[ScenarioError] = []
    first: dict[tuple, int] = {}                # (file, line, list key, detail, kind, via) -> place in out
    items: dict[tuple, list[int]] = {}
    for e in errors:
        m = re.fullmatch(r"(.*)\[(\d+)\]", e.key)
        if m is None:
            out.append(e)
            continue
        group = (str(e.file), e.line, m[1], e.detail, e.kind, str(e.via))
        if group not in first:
            first[group] = len(out)
            out.append(e)
        items.setdefault(group, []).append(int(m[2]))
    for group, place in first.items():
        numbers = sorted(items[group])
        if len(numbers) < 2:
            continue
        e = out[place]
        shown = f"{numbers[0]}..{numbers[-1]}" if numbers == list(range(numbers[0], numbers[-1] + 1)) \
            else ", ".join(map(str, numbers))
        out[place] = ScenarioError(e.file, f"{group[2]}[{shown}]", e.detail, line=e.line, kind=e.kind, via=e.via,
                                   via_how=e.via_how)
    return out


#: mistakes told one by one; beyond them, one line says how many more there are (a file of
#: thousands of mistakes, generated by a script gone wrong, is told in seconds, not minutes)
MAX_ERRORS_LISTED = 100


def _told(errors: list[ScenarioError], path: Path | None, unlisted: int) -> ScenarioError:
    """The error standing for ``errors`` (in file order) and, when ``unlisted`` more were
    found and not described, a last line saying how many."""
    told = ScenarioError.of(errors)
    if unlisted:
        more = ScenarioError(path, "", f"{unlisted:,} more mistakes are not listed; fix the ones above (often one "
                             f"slip, repeated) and check again", kind=told.kind)
        told.errors = [*told.errors, more]
        told.unlisted = unlisted
        told.args = ("\n".join(str(e) for e in told.errors),)
    return told


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _outside(item: Any, start: dt.date, end: dt.date, spans: bool) -> str | None:
    """``item``'s dates as text if it lies wholly outside ``start..end`` (``spans``: it has a
    start and an end; else a ``date``, or a ``start`` that only may not follow the period),
    None if it touches the period or its dates do not parse (validation then says why)."""
    if not isinstance(item, dict):
        return None
    if spans:
        first, last = _as_date(item.get("start")), _as_date(item.get("end"))
        if first is None or last is None:
            return None
        return f"{first}..{last}" if first > end or last < start else None
    if "date" in item:
        day = _as_date(item["date"])
        return str(day) if day is not None and not start <= day <= end else None
    first = _as_date(item.get("start"))
    return f"from {first}" if first is not None and first > end else None


#: end users' planning horizon where a file does not set it (the schema's default)
PLAN_AHEAD_DEFAULT = Behaviour.model_fields["plan_ahead_weeks"].default

#: dated lists an extended file may carry past a shorter period (and sectors' ``shocks``)
_DATED_LISTS = ("news", "export_controls", "export_duties", "import_tariffs", "disruptions")
#: the dated lists whose items have a start and an end
_SPANNING = ("disruptions", "shocks")


def _table(node: Any, key: str) -> dict:
    """``node[key]`` if both are tables, else an empty table."""
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, dict) else {}


def drop_inherited_outside_period(data: dict, own: dict, parents: list[Path]) -> list[str]:
    """Leave out dated items (news, export controls, duties, tariffs, disruptions, sector
    shocks) inherited from an extended file that lie wholly outside this file's period, so a
    what-if can shorten or move the baseline's period without removing each one by name.
    Items the file itself names stay in (and a date outside the period is an error).
    Changes ``data`` in place; returns one line per item left out, for ``rechain check``."""
    start, end = _as_date(data.get("start")), _as_date(data.get("end"))
    if start is None or end is None or start > end or not parents:
        return []
    source = parents[-1].name
    # a foreseen shock just after the end is in end users' plans in the period's last weeks:
    # kept, so the weeks two periods share do not depend on where they end
    # (read before validation: a value the schema will refuse keeps nothing past the end)
    plan_ahead = _table(data, "behaviour").get("plan_ahead_weeks", PLAN_AHEAD_DEFAULT)
    fits = isinstance(plan_ahead, (int, float)) and not isinstance(plan_ahead, bool) and 1 <= plan_ahead <= 52
    horizon = planning_horizon(plan_ahead) if fits and end <= dt.date.max - dt.timedelta(weeks=53) \
        else dt.timedelta(0)
    # (label, the table holding the list, its key, the file's own table at the same place)
    lists = [(key, data, key, own) for key in _DATED_LISTS]
    lists += [(f"sectors.{name}.shocks", sector, "shocks", _table(_table(own, "sectors"), name))
              for name, sector in _table(data, "sectors").items() if isinstance(sector, dict)]
    notes = []
    for label, holder, key, own_holder in lists:
        items = holder.get(key)
        if not isinstance(items, list):
            continue
        own_items = own_holder.get(key)
        named_here = {_merge_key(i) for i in own_items} - {None} if isinstance(own_items, list) else set()
        kept = []
        for item in items:
            foreseen = key == "shocks" and isinstance(item, dict) and item.get("foreseen") is True
            when = None if _merge_key(item) in named_here else \
                _outside(item, start, end + horizon if foreseen else end, key in _SPANNING)
            if when is None:
                kept.append(item)
            else:
                notes.append(f"{label} {str(_merge_key(item) or '')!r} ({when}), from {source}")
        holder[key] = kept
    return notes


def scenario_data(path: str | Path, overrides: dict | None = None,
                  keep_outside: bool = False) -> tuple[dict, list[Path], list[str]]:
    """The scenario dict :func:`load_scenario` validates: ``path`` with its ``extends`` chain
    merged, its own ``name`` (or the file's stem), ``description`` and ``question``, and the
    inherited dated items outside its period left out. ``overrides`` (a sweep's, or changes
    made in Python) are merged on as a what-if extending ``path`` would be: what lies outside
    the period they set is left out unless they name it (``keep_outside``: nothing is left
    out yet, for a caller that changes the period after). Returns the dict, the chain of
    files (parent first) and one line per item left out. Raises :class:`ScenarioError` as
    :func:`load_scenario` does."""
    path = Path(path)
    merge_problems: list[ScenarioError] = []
    data, files = _resolve(path, problems=merge_problems)
    try:
        own = tomllib.loads(read_text_file(files[-1]))
    except (OSError, tomllib.TOMLDecodeError):  # pragma: no cover - read fine a moment ago
        own = data
    if "name" not in own:
        if not folder_safe(path.stem):      # else the message would blame the name of the file it extends
            raise ScenarioError(path, "name", stem_unfit(path.stem), kind="invalid")
        data["name"] = path.stem
    if len(files) > 1:
        # what the extended file says of itself ("Reference run: ...") is not said of this one
        for key in ("description", "question"):
            if key not in own:
                data.pop(key, None)
    if overrides:
        data = deep_merge(data, overrides)
    if keep_outside:
        dropped = []
    elif overrides:
        dropped = drop_inherited_outside_period(data, overrides, files)
    else:
        dropped = drop_inherited_outside_period(data, own, files[:-1])
    if merge_problems:           # told with the file's other mistakes (the items that did not merge left out)
        try:
            scenario_from_dict(data, path, files)
        except ScenarioError as err:
            raise ScenarioError.of([*_not_under_unknown_keys(merge_problems, err.errors), *err.errors]) from None
        raise ScenarioError.of(merge_problems)
    return data, files, dropped


def _not_under_unknown_keys(merge_problems: list, schema_problems: list) -> list:
    """The merge's mistakes less a removal under a key the schema names as unknown: a list
    written below a ``[[disruptions]]`` header belongs to that item, and "no inherited item has
    that name" would hide the real mistake, the key in the wrong table, which the schema tells."""
    unknown = {re.sub(r"\[[^\]]*\]", "", e.key.split(" (")[0]) for e in schema_problems if e.kind == "unknown_key"}
    return [e for e in merge_problems
            if not (e.kind == "unknown_item" and any(e.key == u or e.key.startswith(u + ".") for u in unknown))]


def as_path(value, what: str) -> Path:
    """``value`` as a Path, or a TypeError naming ``what`` and what is allowed (a number or
    None handed over where a file's path belongs)."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{what}: given {type(value).__name__} {value!r:.60}; allowed: a file's path (str or "
                        f"pathlib.Path)")
    return Path(value)


def load_scenario(path: str | Path) -> Scenario:
    """Load, resolve ``extends`` and validate a scenario file.

    The scenario's ``name`` is the file's own ``name`` key, or else the file's stem (a
    what-if does not inherit the name of the file it extends); likewise its ``description``
    and ``question`` are its own or empty, never the extended file's.

    Raises
    ------
    ScenarioError
        naming the file, key path, line, what was given and what is allowed.
    """
    path = as_path(path, "scenario")
    data, files, dropped = scenario_data(path)
    sc = scenario_from_dict(data, path, files)
    sc._files = [str(f) for f in files]  # type: ignore[attr-defined]
    sc._dropped = dropped
    return sc


def scenario_hash(sc: Scenario) -> str:
    """SHA-256 of the scenario as loaded (canonical JSON)."""
    text = json.dumps(sc.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
