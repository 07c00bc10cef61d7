"""Request counters, so tests can assert "exactly one refresh request" or "no request at all"."""

from __future__ import annotations

import threading
from collections import Counter


class RequestStats:
    """Thread-safe counts per endpoint name (``discovery``, ``token.refresh_token``, ...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

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

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._counts.clear()
