"""docs/ODD.md's state table (section 2.2) is generated from the state containers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_state_table", ROOT / "docs" / "gen_state_table.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


def test_docs_state_table_is_current():
    """docs/ODD.md carries the state table generated from ``rechain.state``; after adding,
    renaming or describing a state field anew, run `python docs/gen_state_table.py --write`."""
    gen = _generator()
    doc = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    assert gen.table() in doc, "run: python docs/gen_state_table.py --write"


def test_docs_state_table_names_every_field():
    """One row per field of FirmState, LinkState and MarketState, none twice."""
    from dataclasses import fields

    from rechain.state import FirmState, LinkState, MarketState

    table = _generator().table()
    for container in (FirmState, LinkState, MarketState):
        for f in fields(container):
            assert table.count(f"| `{f.name}` |") == 1, f"{container.__name__}.{f.name}"
