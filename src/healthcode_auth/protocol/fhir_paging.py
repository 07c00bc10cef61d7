"""Paging through a list of Healthcode's: FHIR ``link`` next, or Healthcode's own ``page``/``count`` tags.

FHIR pages a searchset Bundle with ``link[relation=next].url``. Healthcode's examples page with
``page`` and ``count`` request fields and answer a Bundle whose ``meta.tag`` holds the codes ``page``,
``count`` (and ``maxRecords`` or ``maxCount``) with the value in ``display``, beside ``total``. A
next link is followed when there is one; otherwise, when the tags and the total say more remain
(``page * count < total``), the same request is repeated with ``page`` one higher.
:func:`merge_pages` makes one Bundle of them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .expiry import read_number

# Tags that hold the number of records in all, when the Bundle has no ``total`` (Healthcode's examples).
TOTAL_TAGS = ("maxRecords", "maxCount")


@dataclass(frozen=True)
class PagePosition:
    """Where a page is in its list: 1-based ``page``, ``count`` per page, ``total`` records."""

    page: int
    count: int
    total: int

    @property
    def more(self) -> bool:
        return self.count > 0 and self.page * self.count < self.total


def is_bundle(body: object) -> bool:
    return isinstance(body, Mapping) and body.get("resourceType") == "Bundle"


def entries_of(bundle: Mapping[str, Any]) -> list[Any]:
    """The Bundle's entries (none when ``entry`` is missing or not a list)."""
    entries = bundle.get("entry")
    return list(entries) if isinstance(entries, list) else []


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The URL of ``link[relation=next]``, when the Bundle has one."""
    links = bundle.get("link")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, Mapping) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            url = link["url"].strip()
            return url or None
    return None


def page_tags(bundle: Mapping[str, Any]) -> dict[str, int]:
    """The numeric ``meta.tag`` codes of a Bundle (``page``, ``count``, ``maxRecords``...), read from
    ``display`` (a digit string or a number)."""
    meta = bundle.get("meta")
    tags = meta.get("tag") if isinstance(meta, Mapping) else None
    found: dict[str, int] = {}
    for tag in tags if isinstance(tags, list) else ():
        if isinstance(tag, Mapping) and isinstance(tag.get("code"), str):
            number = read_number(tag.get("display"))
            if isinstance(number, int) and 0 <= number < 2**63:
                found.setdefault(tag["code"], number)
    return found


def page_position(bundle: Mapping[str, Any], fields: Mapping[str, Any] | None = None) -> PagePosition | None:
    """The page's position from its tags and total, the request's ``page``/``count`` fields filling
    in what the tags leave out; None when any of the three is unknown."""
    tags = page_tags(bundle)
    sent = {name: read_number(value) for name, value in (fields or {}).items() if name in ("page", "count")}
    count = tags.get("count", sent.get("count"))
    page = tags.get("page", sent.get("page", 1 if count is not None else None))  # no page asked: the first
    total = read_number(bundle.get("total"))
    if not isinstance(total, int):
        total = next((tags[name] for name in TOTAL_TAGS if name in tags), None)
    if isinstance(page, int) and isinstance(count, int) and isinstance(total, int) and min(page, count, total) >= 0:
        return PagePosition(page, count, total)
    return None


def next_page_fields(bundle: Mapping[str, Any], fields: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The request's fields for the next page (``page`` one higher), or None when this is the last."""
    position = page_position(bundle, fields)
    if position is None or not position.more:
        return None
    return {**(fields or {}), "page": str(position.page + 1)}


def merge_pages(pages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One Bundle with every page's entries: the first page's fields, ``total`` as the server said
    (the last page's, else the first's), the last page's ``meta.tag`` and ``link``."""
    first, last = dict(pages[0]), pages[-1]
    merged = {**first, "entry": [entry for page in pages for entry in entries_of(page)]}
    if "total" in last:
        merged["total"] = last["total"]
    last_meta = last.get("meta")
    if isinstance(last_meta, Mapping) and "tag" in last_meta:
        first_meta = first.get("meta")
        merged["meta"] = {**(first_meta if isinstance(first_meta, Mapping) else {}), "tag": last_meta["tag"]}
    if "link" in last:
        merged["link"] = last["link"]
    else:
        merged.pop("link", None)
    return merged
