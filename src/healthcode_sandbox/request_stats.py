"""Request counters, so tests can assert "exactly one refresh request" or "no request at all".

For the API side there is also a record of each API call's shape (:class:`ApiCall`): method,
path, status and which of Healthcode's headers came, so tests can assert that ``SU-SiteId`` and
``HC-API-Version`` were sent, and that a redirect elsewhere never carried a token. It keeps no
query string, no body and no token: only whether a bearer token came.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any, Protocol

MAX_API_CALLS = 1000
SITE_HEADER = "SU-SiteId"
VERSION_HEADER = "HC-API-Version"
KEPT_HEADER_CHARS = 64


class HeaderLookup(Protocol):
    """Request headers looked up by name, case-insensitively (werkzeug's ``Headers``)."""

    def get(self, key: str, /) -> str | None: ...


@dataclass(frozen=True)
class ApiCall:
    """One API call as the sandbox saw it.

    ``endpoint`` is the discovery key without ``_endpoint`` (``find_member``; ``codes_valueset``
    for the namespace; ``whoami``; ``unknown`` for a path under ``/api/v1`` that is no API).
    ``site_id`` and ``api_version`` are the ``SU-SiteId`` and ``HC-API-Version`` headers as sent
    (None when absent; at most 64 characters kept). ``bearer`` says whether an
    ``Authorization: Bearer ...`` header came (the token is never kept). ``path`` has no query.
    """

    method: str
    endpoint: str
    path: str
    status: int
    site_id: str | None
    api_version: str | None
    bearer: bool
    content_type: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``GET /_sandbox/api-calls``."""
        return asdict(self)

    @classmethod
    def seen(cls, method: str, path: str, endpoint: str, status: int, headers: HeaderLookup,
             content_type: str = "") -> ApiCall:
        """The record of one request, from its headers."""
        site, version = headers.get(SITE_HEADER), headers.get(VERSION_HEADER)
        authorization = headers.get("Authorization") or ""
        return cls(
            method=method,
            endpoint=endpoint,
            path=path[:256],
            status=status,
            site_id=None if site is None else site[:KEPT_HEADER_CHARS],
            api_version=None if version is None else version[:KEPT_HEADER_CHARS],
            bearer=authorization.lower().startswith("bearer "),
            content_type=content_type,
        )


class RequestStats:
    """Thread-safe counts per endpoint name (``discovery``, ``token.refresh_token``, ...), and the
    latest API calls (at most :data:`MAX_API_CALLS`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._api_calls: deque[ApiCall] = deque(maxlen=MAX_API_CALLS)

    def count(self, *names: str) -> None:
        """Add one request to each name (e.g. ``token`` and ``token.authorization_code``)."""
        with self._lock:
            self._counts.update(names)

    def snapshot(self) -> dict[str, int]:
        """The counts so far, sorted by name; endpoints never called are absent (read them as 0)."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def get(self, name: str) -> int:
        """The count for one name, 0 when never called."""
        with self._lock:
            return self._counts[name]

    def record_api_call(self, call: ApiCall) -> None:
        """Keep one API call (the oldest is dropped after :data:`MAX_API_CALLS`)."""
        with self._lock:
            self._api_calls.append(call)

    def api_calls(self) -> list[ApiCall]:
        """The API calls so far, oldest first."""
        with self._lock:
            return list(self._api_calls)

    def reset(self) -> None:
        """Forget every count and every recorded API call."""
        with self._lock:
            self._counts.clear()
            self._api_calls.clear()
