"""The repository stands alone: its documents, data and scenarios cite public sources by the
keys of docs/sources.md, never files a user of the repository does not have."""

from __future__ import annotations

import csv
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# references to material outside the repository: notes and article files of its authors
OUTSIDE = re.compile(r"DOMAIN\.md|MECHANISMS\.md|shared[/]|seeds[/]|seeds_(facts|mechanisms)|_[0-9a-f]{16}\.txt")
# a citation key: publisher, then year, month and day as far as known ([SMM-2025-04-07], [Argus-2025-01])
KEY = re.compile(r"\[[A-Z][A-Za-z]+-\d{4}(?:-\d{2}){0,2}\]")


def repository_files() -> list[Path]:
    files = [ROOT / "README.md", *ROOT.glob("docs/*"), *ROOT.glob("scenarios/**/*.toml"),
             *ROOT.glob("src/rechain/data/*"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("tests/**/*.toml")]
    files += list(ROOT.glob("src/rechain/**/*.py")) + list(ROOT.glob("benchmarks/*.py"))
    return [p for p in files if p.is_file() and p != Path(__file__).resolve()]


def test_no_file_points_outside_the_repository():
    hits = [f"{p.relative_to(ROOT)}:{i}: {line.strip()[:80]}"
            for p in repository_files() for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if OUTSIDE.search(line)]
    assert hits == [], "\n".join(hits)


def test_every_citation_key_is_a_listed_source():
    listed = set(KEY.findall((ROOT / "docs" / "sources.md").read_text(encoding="utf-8")))
    assert len({k for k in listed if k.startswith("[SMM-2025-")}) == 5     # the five 2025 reports; the era adds its own
    used = {k for p in repository_files() for k in KEY.findall(p.read_text(encoding="utf-8"))}
    assert used - listed == set()
    with (ROOT / "src" / "rechain" / "data" / "facts.csv").open(encoding="utf-8") as f:
        sources = {row["source"] for row in csv.DictReader(f)}
    assert sources <= listed | {"public record"}


def test_the_background_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/background.md" in readme and "docs/sources.md" in readme


# a value pair of the ODD: `key`, an optional symbol, the schema's default, the baseline's value
VALUE_PAIR = re.compile(r"`([a-z_]+)`\s*(?:[^\s`()]{1,6}\s+)?([-0-9.,]+)\s+\(([-0-9.,]+)\)")


def _numbers_named(obj, key: str) -> list[float]:
    """Every number held under ``key`` anywhere in a loaded scenario (firm groups share names)."""
    import pydantic

    out: list[float] = []
    if isinstance(obj, pydantic.BaseModel):
        for k in type(obj).model_fields:
            v = getattr(obj, k)
            if k == key and isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append(float(v))
            out += _numbers_named(v, key)
    elif isinstance(obj, dict):
        out += [x for v in obj.values() for x in _numbers_named(v, key)]
    elif isinstance(obj, list):
        out += [x for v in obj for x in _numbers_named(v, key)]
    return out


def _defaults_named(key: str) -> list[float]:
    """The schema's default of every field called ``key``."""
    import pydantic

    from rechain.config import schema

    out = []
    for cls in vars(schema).values():
        if isinstance(cls, type) and issubclass(cls, pydantic.BaseModel) and key in cls.model_fields:
            d = cls.model_fields[key].default
            if isinstance(d, (int, float)) and not isinstance(d, bool):
                out.append(float(d))
    return out


def test_the_odd_quotes_the_defaults_and_the_baseline_as_they_are():
    from rechain.scenario import load_scenario

    baseline = load_scenario(ROOT / "scenarios" / "baseline.toml")
    text = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")

    def near(given: str, values: list[float]) -> bool:
        x = float(given.replace(",", ""))
        return any(abs(x - v) <= 1e-6 * max(1.0, abs(v)) for v in values)

    pairs = VALUE_PAIR.findall(text)
    assert len(pairs) > 50                     # the pattern still finds the ODD's pairs
    wrong = [f"`{key}` {default} ({base}): default {_defaults_named(key)}, baseline {_numbers_named(baseline, key)}"
             for key, default, base in pairs
             if (_defaults_named(key) and not near(default, _defaults_named(key)))
             or (_numbers_named(baseline, key) and not near(base, _numbers_named(baseline, key)))]
    assert wrong == [], "\n".join(wrong)


def test_the_odd_counts_the_facts_the_table_holds():
    """docs/ODD.md says how many facts the package checks and how many are required."""
    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    with (ROOT / "src" / "rechain" / "data" / "facts.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if not r["fact_id"].startswith("#")]
    stated = re.search(r"lists (\d+) checkable facts", odd), re.search(r"(\d+) are \*required\*", odd)
    assert stated[0] and stated[1]
    assert int(stated[0].group(1)) == len(rows)
    assert int(stated[1].group(1)) == sum(r["required"].strip().lower() == "true" for r in rows)


def test_the_odd_counts_the_baselines_firms_and_links():
    """docs/ODD.md section 2 gives the baseline's network on seed 0: the model builds that."""
    import numpy as np

    from rechain.model import ChainModel
    from rechain.network import FLOW_NAMES
    from rechain.scenario import load_scenario

    odd = re.sub(r"\s+", " ", (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8"))
    stated = re.search(r"Baseline \(seed 0\): ([\d,]+) firms, ([\d,]+) links \(([\d,]+) domestic, ([\d,]+) import, "
                       r"([\d,]+) export, ([\d,]+) abroad\)", odd)
    assert stated, "the ODD's sentence on the baseline's network is gone"
    model = ChainModel(load_scenario(ROOT / "scenarios" / "baseline.toml"), seed=0)
    flows = np.bincount(np.asarray(model.world.links.flow), minlength=len(FLOW_NAMES))
    built = [model.world.n_firms, model.world.links.n, *flows.tolist()]
    assert [int(x.replace(",", "")) for x in stated.groups()] == built
