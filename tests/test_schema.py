"""The JSON Schema of `rechain schema` accepts every shipped scenario and catches bad keys.

Editors validate a TOML file against it as JSON, with dates as ISO strings; the tests do
the same with the `jsonschema` package. A file with ``extends`` is a partial scenario.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from rechain.cli import main

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml")) + sorted((ROOT / "tests" / "data").glob("tiny.toml"))
MALFORMED = ROOT / "tests" / "malformed"


@pytest.fixture(scope="module")
def validator():
    res = CliRunner().invoke(main, ["schema"])
    assert res.exit_code == 0
    schema = json.loads(res.output)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def as_json(text: str) -> dict:
    """A TOML document as an editor hands it to a JSON Schema: dates as ISO strings."""
    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v.isoformat() if isinstance(v, (dt.date, dt.time)) else v
    return plain(tomllib.loads(text))


def errors(validator, doc: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_scenario_passes(validator, path):
    assert errors(validator, as_json(path.read_text(encoding="utf-8"))) == []


# malformed files the schema alone can see (the others need the whole scenario: dates, periods)
CAUGHT = ["unknown_key", "unknown_top_key", "unknown_table", "wrong_type", "wrong_type_table", "negative_value",
          "share_above_one", "unknown_product", "unknown_stage", "bad_sign", "extends_not_text",
          "unknown_price_product"]


@pytest.mark.parametrize("name", CAUGHT)
def test_bad_what_ifs_are_rejected(validator, name):
    assert errors(validator, as_json((MALFORMED / f"{name}.toml").read_text())) != []


@pytest.mark.parametrize("text, where", [
    ('extends = "baseline.toml"\n[[news]]\nname = "x"\nremove = "yes"\n', "news/0/remove"),
    ('extends = "baseline.toml"\n[sectors.nev]\nfirms = 0\n', "sectors/nev/firms"),
    ('extends = "baseline.toml"\nstart = "soon"\n', "start"),
])
def test_partial_scenarios_still_check_types(validator, text, where):
    assert any(e.startswith(where) for e in errors(validator, as_json(text))), errors(validator, as_json(text))


def test_a_whole_scenario_needs_its_keys(validator):
    base = as_json((ROOT / "scenarios" / "baseline.toml").read_text(encoding="utf-8"))
    assert "extends" not in base
    del base["start"]
    assert any("'start' is a required property" in e for e in errors(validator, base))
    what_if = {"extends": "baseline.toml", "news": [{"name": "Export controls", "remove": True}]}
    assert errors(validator, what_if) == []
    assert errors(validator, {**what_if, "remove": True}) != []          # remove is for list items only
