"""Every test and file the docs cite exists, so a reader who follows a reference finds it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
TEST_REFERENCE = re.compile(r"`((?:utest|atest|benchmarks)/[\w/.-]+\.py)?::([A-Za-z_]\w*)")
FILE_REFERENCE = re.compile(r"`((?:src|utest|atest|docs|benchmarks|examples|scripts)/[\w/.-]+\.\w+)")


def references(doc: Path) -> list[tuple[str, str]]:
    """(file, test name) pairs; ``::name`` alone continues the last file named in the paragraph
    (or table row)."""
    found = []
    current = None
    for line in doc.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("|"):
            current = None
        for match in TEST_REFERENCE.finditer(line):
            current = match.group(1) or current
            if current is None:
                raise AssertionError(f"{doc.name}: '::{match.group(2)}' names no file: {line[:120]}")
            found.append((current, match.group(2)))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_cited_tests_exist(doc):
    for path, name in references(doc):
        source = ROOT / path
        assert source.is_file(), f"{doc.name} cites {path}, which does not exist"
        assert re.search(rf"def {name}\b", source.read_text(encoding="utf-8")), f"{doc.name}: {path}::{name} is gone"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_cited_files_exist(doc):
    for match in FILE_REFERENCE.finditer(doc.read_text(encoding="utf-8")):
        assert (ROOT / match.group(1)).exists(), f"{doc.name} cites {match.group(1)}, which does not exist"
