"""The supervision record of a Redis store: a stream, ``<prefix>history``, trimmed to about the
last MAX_HISTORY events; each event authenticated with the fleet's key (:mod:`.record`)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from .record import MAX_EVENT_BYTES, MAX_HISTORY, RecordedEvent, SupervisionRecord, open_events, sign_event
from .redis_scripts import READ_RECORD_SCRIPT
from .sealing import Sealer


class _Store(Protocol):
    """What the record needs of its Redis store (``redis_store.RedisTokenStore``)."""

    @property
    def _redis(self) -> Any: ...

    def _sealer_for_writes(self) -> Sealer: ...

    def _talking(self, what: str, deadline: float | None = None) -> AbstractContextManager[None]: ...

    def _key(self, kind: str, key: str | None = None) -> str: ...

    def _script(self, name: str, source: str) -> Any: ...


class RedisRecord(SupervisionRecord):
    """The supervision record of a Redis store: a stream, ``<prefix>history``, trimmed to about
    the last MAX_HISTORY events; each event authenticated with the fleet's key."""

    def __init__(self, store: _Store) -> None:
        self._store = store

    def append(self, event: Mapping[str, str]) -> None:
        store = self._store
        text = sign_event(event, store._sealer_for_writes().key)
        with store._talking("record the event"):
            store._redis.xadd(store._key("history"), {"event": text}, maxlen=MAX_HISTORY, approximate=True)

    def read(self, limit: int) -> list[RecordedEvent]:
        store = self._store
        with store._talking("read the supervision record"):
            texts = store._script("record", READ_RECORD_SCRIPT)(
                keys=[store._key("history")], args=[MAX_HISTORY, MAX_EVENT_BYTES]
            )
        key = store._sealer_for_writes().key
        # Every event read, so an authentic one repeated is found wherever its original is.
        events = open_events(reversed(texts or []), lambda source: key if source == "env" else None)
        return events[-limit:] if limit > 0 else []
