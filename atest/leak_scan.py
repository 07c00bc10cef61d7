"""Finds secrets in files: every form a secret could take in a log, a report or an archive."""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import zipfile
import zlib
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


# log.html and report.html keep texts longer than 80 characters zlib-compressed and base64-encoded
# (robot.reporting.stringcache): a raw scan would never see a secret in them.
_ROBOT_STRING = re.compile(rb'"([A-Za-z0-9+/]{16,}={0,2})"')


def _robot_strings(data: bytes) -> bytes:
    texts = []
    for match in _ROBOT_STRING.finditer(data):
        try:
            texts.append(zlib.decompress(base64.b64decode(match.group(1), validate=True)))
        except (binascii.Error, zlib.error):
            continue
    return b"\n".join(texts)


def _contents(path: Path) -> Iterable[tuple[str, bytes]]:
    data = path.read_bytes()
    yield str(path), data
    if b'window.output["strings"]' in data:
        yield f"{path}!compressed strings", _robot_strings(data)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                yield f"{path}!{member}", archive.read(member)
