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

MIN_BASE64_CORE = 8  # shorter runs of base64 would match ordinary text


@dataclass(frozen=True)
class Leak:
    path: str
    kind: str

    def __str__(self) -> str:
        # Never print the secret itself: say where and what kind.
        return f"{self.path}: contains {'an' if self.kind[:1] in 'aeiou' else 'a'} {self.kind}"


def variants(secret: str) -> set[bytes]:
    """The secret as written raw; URL-encoded (every reserved character, or all but '/' as in a path);
    form-encoded; HTML-escaped; XML-escaped (text, and attributes as Robot writes them); JSON-escaped;
    in a Python repr; and inside any base64 text (an HTTP Basic header, whoever the user)."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        html.escape(secret),
        html.escape(secret, quote=False),
        _xml_attribute(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
    }
    encoded = {form.encode("utf-8") for form in forms}
    # A Basic header form-encodes each part first (RFC 6749 2.3.1), or not (RFC 7617).
    return encoded | {core for form in {secret, quote_plus(secret)} for core in base64_cores(form.encode("utf-8"))}


def base64_cores(data: bytes) -> set[bytes]:
    """What base64 text holds wherever ``data`` sits in what was encoded: for each of the three
    alignments, the characters that only ``data``'s bits decide (standard and URL-safe alphabets)."""
    cores = set()
    for offset in range(3):
        first, end = -(-8 * offset // 6), 8 * (offset + len(data)) // 6
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            cores.add(encode(bytes(offset) + data)[first:end])
    return {core for core in cores if len(core) >= MIN_BASE64_CORE}


def _xml_attribute(text: str) -> str:
    for character, escaped in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&quot;"),
        ("\n", "&#10;"),
        ("\r", "&#13;"),
        ("\t", "&#09;"),
    ):
        text = text.replace(character, escaped)
    return text


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
    return [
        p for root in roots if root.exists() for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()
    ]


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
