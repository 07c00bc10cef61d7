"""Finds secrets in files: every form a secret could take in a log, a report or an archive."""

from __future__ import annotations

import html
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus


@dataclass(frozen=True)
class Leak:
    path: str
    kind: str

    def __str__(self) -> str:
        # Never print the secret itself: say where and what kind.
        return f"{self.path}: contains a {self.kind}"


def variants(secret: str) -> set[bytes]:
    """The secret as written raw, URL-encoded, form-encoded, HTML-escaped and JSON-escaped."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), html.escape(secret), json.dumps(secret)[1:-1]}
    return {form.encode("utf-8") for form in forms}


def scan(paths: Iterable[Path], secrets: dict[str, Iterable[str]]) -> tuple[int, list[Leak]]:
    """Scan files (and the members of zip archives) for every secret; returns (files scanned, leaks)."""
    needles = [(kind, form) for kind, values in secrets.items() for value in values for form in variants(value)]
    scanned, leaks = 0, []
    for path in paths:
        for name, data in _contents(path):
            scanned += 1
            leaks.extend(Leak(name, kind) for kind, form in needles if form in data)
    return scanned, sorted(set(leaks), key=str)


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in ([root] if root.is_file() else root.rglob("*"))
            if p.is_file()]


def _contents(path: Path) -> Iterable[tuple[str, bytes]]:
    data = path.read_bytes()
    yield str(path), data
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                yield f"{path}!{member}", archive.read(member)
