"""The supervision record: who authorised the robots, who renewed, who signed out, when, from where.

Each store keeps it behind the small :class:`SupervisionRecord` interface: ``append`` one event,
``read`` the latest. An event is a flat mapping of short texts, never a token, code or secret.
Every event is authenticated with a MAC keyed from the store's key (:meth:`StoreKey.record_key`):
anyone who can write to the store's files or Redis but lacks the key cannot add or alter an event
without it showing as not authentic. (They can still delete events, or repeat an authentic one;
a repeated event id is shown as not authentic.) Texts are bounded when written and when read;
front ends print them escaped (:func:`~healthcode_auth.errors.escaped`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .key_sources import StoreKey

MAX_HISTORY = 1000
MAX_FIELDS = 16
MAX_TEXT = 200
MAX_EVENT_BYTES = 8_000  # a stored event larger than this is not ours: shown as such, not parsed


@dataclass(frozen=True)
class RecordedEvent:
    """One event as read back: its fields, and whether it was written with the store's key."""

    fields: dict[str, str]
    authentic: bool

    def to_dict(self) -> dict[str, object]:
        return {**self.fields, "authentic": self.authentic}


class SupervisionRecord(ABC):
    """Where a store keeps its supervision record."""

    @abstractmethod
    def append(self, event: Mapping[str, str]) -> None:
        """Add an event (the record keeps about the last MAX_HISTORY)."""

    @abstractmethod
    def read(self, limit: int) -> list[RecordedEvent]:
        """The last ``limit`` events, oldest first, each marked authentic or not."""


def bounded(event: Mapping[str, object], fields: int = MAX_FIELDS) -> dict[str, str]:
    """The event as it is kept: at most ``fields`` fields, each name and text at most MAX_TEXT."""
    return {str(k)[:MAX_TEXT]: str(v)[:MAX_TEXT] for k, v in list(event.items())[:fields]}


def sign_event(event: Mapping[str, object], key: StoreKey) -> str:
    """The stored form of an event: JSON with a fresh id, the key source and a MAC over the rest."""
    fields = {**bounded(event), "id": secrets.token_hex(8), "key_source": key.source}
    return json.dumps({**fields, "mac": _mac(fields, key.record_key())}, sort_keys=True)


def open_events(texts: Iterable[str | bytes | None], key_of: Callable[[str], StoreKey | None]) -> list[RecordedEvent]:
    """Events read back, oldest first, each checked with the key its ``key_source`` names
    (``key_of`` returns None when this run cannot have that key). Unparseable, oversized or
    repeated events are kept, marked not authentic, so tampering shows."""
    keys: dict[str, bytes | None] = {}
    seen: set[str] = set()
    events = []
    for text in texts:
        fields, mac = _parse(text)
        source = fields.get("key_source", "")
        if source not in keys:
            key = key_of(source) if source else None
            keys[source] = None if key is None else key.record_key()
        record_key = keys[source]
        authentic = (
            record_key is not None
            and mac is not None
            and hmac.compare_digest(mac, _mac(fields, record_key))
            and fields.get("id", "") not in seen
        )
        seen.add(fields.get("id", ""))
        events.append(RecordedEvent({k: v for k, v in fields.items() if k not in ("id", "key_source")}, authentic))
    return events


def _parse(text: str | bytes | None) -> tuple[dict[str, str], str | None]:
    if text is None or len(text) > MAX_EVENT_BYTES:
        return {"event": "(unreadable event)"}, None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        return {"event": "(unreadable event)"}, None
    mac = data.pop("mac", None)
    return bounded(data, MAX_FIELDS + 2), mac if isinstance(mac, str) else None  # + id and key_source


def _mac(fields: Mapping[str, str], key: bytes) -> str:
    message = json.dumps(dict(fields), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")
