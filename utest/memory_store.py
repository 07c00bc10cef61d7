"""A token store in memory, for unit tests of what sits above the store seam (no files, no locks)."""

import contextlib
import threading
import time

from healthcode_auth.storage.claims import next_attempt, settled
from healthcode_auth.storage.record import RecordedEvent, SupervisionRecord
from healthcode_auth.storage.store import TokenStore, Versioned


class MemoryTokenStore(TokenStore):
    def __init__(self):
        self.supervision = MemoryRecord()
        self.events = self.supervision.events
        self._entries = {}
        self._claims = {}
        self._last_version = 0
        self._lock = threading.RLock()

    @property
    def description(self):
        return "memory"

    def prepare(self):
        pass

    def load(self, key):
        with self._lock:
            found = self._entries.get(key)
            return None if found is None else Versioned(*found)

    def renewal_lock(self, key):
        return self._lock

    def store(self, entry, expected_version):
        with self._lock:
            current = self._entries.get(entry.key)
            if (current[1] if current else None) != expected_version:
                return None
            self._last_version += 1
            self._entries[entry.key] = (entry, self._last_version)
            return self._last_version

    def remove(self, key, version):
        with self._lock:
            current = self._entries.get(key)
            if current is None or current[1] != version:
                return False
            del self._entries[key]
            return True

    def mark_refused(self, key, version, when):
        with self._lock:
            current = self._entries.get(key)
            if current is None or current[1] != version:
                return False
            self._entries[key] = (current[0], version, when)
            return True

    def set_aside(self, key):
        return None  # nothing in memory is ever unreadable

    def claim(self, name, lease, keep=None):
        now = time.time()
        with self._lock:
            standing = self._claims.get(name)
            if standing is not None and standing.holds(now):
                return standing
            claim = next_attempt(standing, now, lease)
            self._claims[name] = claim._replace(ours=False)
            return claim

    def peek_claim(self, name):
        with self._lock:
            return self._claims.get(name)

    def settle_claim(self, name, claim, done, hold, keep):
        with self._lock:
            if self._claims.get(name) != claim._replace(ours=False):
                return False
            self._claims[name] = settled(claim, done, hold, time.time())._replace(ours=False)
            return True

    def last_version(self):
        return self._last_version

    def wait_for_change(self, key, version, timeout):
        deadline = time.monotonic() + timeout
        while (None if self.load(key) is None else self.load(key).version) == version and time.monotonic() < deadline:
            time.sleep(0.01)


class MemoryRecord(SupervisionRecord):
    def __init__(self):
        self.events = []

    def append(self, event):
        self.events.append(dict(event))

    def read(self, limit):
        return [RecordedEvent(dict(event), True) for event in self.events[-limit:]]


def put_token(session, token):
    """Give a session a stored token, as a supervisor's earlier sign-in would have."""
    from healthcode_auth.storage.store import StoredAuthorisation

    with contextlib.suppress(AttributeError):
        session.store = session.store or MemoryTokenStore()
    stored = session.store.load(session.key)
    session.store.store(
        StoredAuthorisation(session.config.discovery_url, session.config.client_id, token),
        None if stored is None else stored.version,
    )
