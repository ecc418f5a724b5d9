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
