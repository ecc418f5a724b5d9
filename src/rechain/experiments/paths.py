"""Parameter paths: dotted key paths into a scenario dict.

A key path is dotted; list items are chosen by ``[name]`` (their ``name`` field, or
``type-year`` for quotas) or ``[index]``::

    behaviour.restock_strength
    export_controls[April 2025 medium-heavy controls].approval[0].rate
    disruptions["No. 18 closure"].end

:func:`parse_path` splits one into tokens, :func:`lookup` reads the value at the tokens
and :func:`assign` sets it; both raise :class:`PathError` saying where the path stops.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import typing
from typing import Any

from ..config.errors import _field_info, _inner_model, cut_short

__all__ = ["PathError", "parse_path", "format_path", "lookup", "assign", "assign_as_written", "canonical_path",
           "unquoted_key_hint", "is_unset_entry"]


class _Name(str):
    """A ``[name]`` selector in a key path (a list item chosen by its name)."""



class PathError(ValueError):
    """A key path that does not lead to a value of the scenario."""



def parse_path(path: str) -> tuple:
    """Split a key path into keys (str), item names (:class:`_Name`) and indices (int).

    >>> parse_path("export_controls[April 2025 controls].approval[0].rate")
    ('export_controls', 'April 2025 controls', 'approval', 0, 'rate')
    >>> parse_path("news['Ban [draft]'].strength")
    ('news', 'Ban [draft]', 'strength')
    """
    if not isinstance(path, str) or not path.strip():
        raise PathError("a key path must be a non-empty string")
    tokens: list = []
    buf, i, n, need_key = "", 0, len(path), True
    while i < n:
        c = path[i]
        if c == "[":
            if buf:
                tokens.append(buf.strip())
                buf = ""
            elif need_key and not tokens:
                raise PathError(f"{path!r}: must start with a key, not '['")
            # a quoted name may hold ']' ("news['Ban [draft]'].strength"): it closes at the quote's ']'
            quote = path[i + 1:].lstrip()[:1]
            if quote in ("'", '"'):
                opened = path.index(quote, i + 1)
                closed = path.find(quote, opened + 1)
                j = path.find("]", closed) if closed >= 0 else -1
            else:
                j = path.find("]", i)
            if j < 0:
                raise PathError(f"{path!r}: '[' at position {i} is never closed")
            sel = path[i + 1:j].strip()
            if not sel:
                raise PathError(f"{path!r}: empty [] at position {i}")
            if len(sel) >= 2 and sel[0] == sel[-1] and sel[0] in "'\"":
                tokens.append(_Name(sel[1:-1]))
            elif sel.isdigit():
                tokens.append(int(sel))
            else:
                tokens.append(_Name(sel))
            i = j + 1
            need_key = False
            if i < n:
                if path[i] == ".":
                    i += 1
                    need_key = True
                elif path[i] != "[":
                    raise PathError(f"{path!r}: expected '.' or '[' after ']' at position {i}")
            continue
        if c == "]":
            raise PathError(f"{path!r}: ']' at position {i} without '['")
        if c == ".":
            if not buf.strip():
                raise PathError(f"{path!r}: empty key at position {i}")
            tokens.append(buf.strip())
            buf, need_key = "", True
            i += 1
            continue
        buf += c
        i += 1
    if buf.strip():
        tokens.append(buf.strip())
    elif need_key:
        raise PathError(f"{path!r}: ends with '.'")
    return tuple(tokens)



def format_path(tokens: tuple | list) -> str:
    out = ""
    for t in tokens:
        if isinstance(t, _Name):
            out += f"[{t}]"
        elif isinstance(t, int):
            out += f"[{t}]"
        else:
            out += f".{t}" if out else t
    return out



def _item_name(item: Any) -> str | None:
    if isinstance(item, dict):
        if item.get("name"):
            return str(item["name"])
        if "type" in item and "year" in item:
            return f"{item['type']}-{item['year']}"
    return None



def _step(cur: Any, t: Any, done: list) -> tuple[Any, Any]:
    """One step of a key path: returns (child, key or index within ``cur``)."""
    where = format_path(done) or "the scenario"
    if isinstance(t, _Name):
        if not isinstance(cur, list):
            raise PathError(f"{where} is not a list; [{t}] selects a list item by name")
        names = [_item_name(x) for x in cur]
        if cur and not any(names):
            # a list of plain values (12 monthly factors, two bounds): positions, not names
            raise PathError(f"{where} is a list of {len(cur)} value(s) without names; choose one by its index, "
                            f"[0] to [{len(cur) - 1}] (given [{t}])")
        if t not in names:
            known = [x for x in names if x]
            near = difflib.get_close_matches(t, known, n=1, cutoff=0.5)
            hint = f"; did you mean [{near[0]}]?" if near else ""
            items = f"Items: {known}" if known else \
                "It has no items (a shorter period leaves out the events outside it)"
            raise PathError(f"{where} has no item named {str(t)!r}{hint}{' ' if hint else '. '}{items}")
        k = names.index(t)
        return cur[k], k
    if isinstance(t, int):
        if not isinstance(cur, list):
            raise PathError(f"{where} is not a list; [{t}] selects a list item by index")
        if t >= len(cur):
            raise PathError(f"{where} has {len(cur)} item(s); index [{t}] is out of range")
        return cur[t], t
    if isinstance(cur, list):
        raise PathError(f"{where} is a list; choose an item with [name] or [index] before .{t}")
    if not isinstance(cur, dict):
        raise PathError(f"{where} is a value ({_toml(cur)}), not a table; it has no key {t!r}")
    if t not in cur:
        near = difflib.get_close_matches(t, [str(k) for k in cur], n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise PathError(f"{where} has no key {t!r}{hint}")
    return cur[t], t



def is_unset_entry(data: Any, tokens: tuple) -> bool:
    """True where a key path ends at an entry the schema allows but the scenario leaves unset:
    its last key is missing from a table of named values (``dict[...]`` of numbers, say
    ``firms.separation_plants.reservation_share_by_product.dy_oxide``) that the rest of the path
    reaches. Setting it adds the entry; validation then judges its value. Raises
    :class:`PathError` for a name such a table does not allow (a product that is not one)."""
    if not tokens or not isinstance(tokens[-1], str) or isinstance(tokens[-1], _Name):
        return False
    try:
        parent = lookup(data, tokens[:-1])
    except PathError:
        return False
    if not isinstance(parent, dict) or tokens[-1] in parent:
        return False
    # the schema's field that holds the table (config.errors walks it for validation messages)
    info = _field_info(tokens[:-1])
    if info is None or typing.get_origin(info.annotation) is not dict:
        return False
    key_type, value_type = typing.get_args(info.annotation)
    if _inner_model(value_type) is not None:      # a table of tables (sectors, regions): not a value
        return False
    names = _literal_names(key_type)
    if names is not None and tokens[-1] not in names:
        near = difflib.get_close_matches(tokens[-1], names, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise PathError(f"{format_path(tokens[:-1])} has no entry {tokens[-1]!r}{hint} "
                        f"(the table takes {', '.join(names)})")
    return True


def _literal_names(key_type: Any) -> list[str] | None:
    """The names a ``Literal[...]`` key type allows (None for any other key type)."""
    return [str(a) for a in typing.get_args(key_type)] if typing.get_origin(key_type) is typing.Literal else None


def lookup(data: Any, tokens: tuple) -> Any:
    """The value at a parsed key path (raises :class:`PathError`)."""
    cur, done = data, []
    for t in tokens:
        cur, _ = _step(cur, t, done)
        done.append(t)
    return cur



def assign(data: Any, tokens: tuple, value: Any) -> None:
    """Set the value at a parsed key path in place (raises :class:`PathError`)."""
    if is_unset_entry(data, tokens):
        lookup(data, tokens[:-1])[tokens[-1]] = value
        return
    cur, done = data, []
    for t in tokens[:-1]:
        cur, _ = _step(cur, t, done)
        done.append(t)
    _, key = _step(cur, tokens[-1], done)
    cur[key] = value



def assign_as_written(source: dict, validated: dict, tokens: tuple, value: Any) -> list:
    """Set the value at a key path in ``source``, a scenario as its files write it (merged,
    not validated), the path read on ``validated`` (the same scenario validated: defaults
    filled in, figures carried past the last given year).

    What the files leave to defaults is copied in from ``validated`` on the way; list items
    are found by their name (an index on ``validated`` names the item it selects), a list
    of unnamed values by its position. The scenario is then validated afresh, so figures
    carried past the last given year follow a changed rule or a changed last year, as they
    do in a what-if. Returns the path with every index of a named item replaced by the
    name (raises :class:`PathError` where the path leaves ``validated``)."""
    cur, ref, done = source, validated, []
    unset = is_unset_entry(validated, tokens)
    for i, t in enumerate(tokens):
        if unset and i == len(tokens) - 1:       # an entry the scenario leaves unset: added
            cur[t] = value
            done.append(t)
            break
        ref_child, ref_key = _step(ref, t, done)
        last = i == len(tokens) - 1
        if isinstance(ref, list):
            name = _item_name(ref_child)
            if name is not None:
                names = [_item_name(x) for x in cur] if isinstance(cur, list) else []
                if name not in names:        # only validation made it (or the files give no list)
                    cur.append(copy.deepcopy(ref_child))
                    names.append(name)
                key = names.index(name)
                done.append(_Name(name))
            else:
                if not (isinstance(cur, list) and len(cur) == len(ref)):
                    cur[:] = copy.deepcopy(ref)
                key = t
                done.append(t)
        else:
            key = ref_key                      # cur is a table: a parent of another shape was replaced
            if not last and (key not in cur or not _same_shape(cur[key], ref_child)):
                cur[key] = copy.deepcopy(ref_child)
            done.append(t)
        if last:
            cur[key] = value
        else:
            cur, ref = cur[key], ref_child
    return done


def _same_shape(a: Any, b: Any) -> bool:
    return (isinstance(a, dict) and isinstance(b, dict)) or (isinstance(a, list) and isinstance(b, list))


def canonical_path(validated: dict, tokens: tuple) -> str:
    """The key path with the index of a named list item written as its name (two paths to one
    value, by name and by index, are the same path)."""
    cur, done = validated, []
    if is_unset_entry(validated, tokens):
        return canonical_path(validated, tokens[:-1]) + f".{tokens[-1]}"
    for t in tokens:
        child, _ = _step(cur, t, done)
        name = _item_name(child) if isinstance(cur, list) else None
        done.append(_Name(name) if name is not None else t)
        cur = child
    return format_path(done)



def unquoted_key_hint(name: str, entry: Any, spec_keys: set[str]) -> str:
    """"" unless ``entry`` is what TOML makes of an unquoted dotted key under ``[parameters]``
    (``behaviour.w_news = { min = ... }`` is the table ``behaviour`` holding ``w_news``): then
    how to write it, quoted, naming the whole key path."""
    path, cur = [name], entry
    while isinstance(cur, dict) and cur and not set(cur) & spec_keys:
        key, cur = next(iter(cur.items()))        # the first of them is example enough
        path.append(key)
    if len(path) < 2 or not (isinstance(cur, dict) and set(cur) & spec_keys):
        return ""
    dotted = ".".join(path)
    return (f"; a key path with dots must be quoted, \"{dotted}\" = {{ ... }} (unquoted, TOML reads "
            f"{dotted} as tables nested in {name!r})")


def _toml(v: Any) -> str:
    """A value as a user writes it in a TOML file: dates as 2025-04-01, lists in brackets."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    return cut_short(repr(v))



def _plain(obj: Any) -> Any:
    """Tuples to lists, recursively (so every list in the scenario can be assigned into)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
