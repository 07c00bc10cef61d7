"""The claims of a Redis store (:mod:`.claims`): once for the whole fleet, across machines.

Whoever can write the fleet's Redis without its key (``HEALTHCODE_CACHE_KEY``) must not be able to
silence a notice. So a claim lives under a name derived from the fleet's key (a writer without it
cannot predict the name of a future episode's claim), and its value is authenticated with a key
derived from it too (a forged or altered claim is no claim: it is replaced). What a claim holds
is the value's own ``until``, never the key's expiry, which only tidies up: extending it holds
nobody back. Each step is a compare-and-set in Lua on the value that was read, so of two robots
that found no claim exactly one takes it. Claims are timed by Redis's own clock (``TIME``), so
that machines whose clocks disagree still agree on when a lease ends; the claims handed to the
caller are in this machine's time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ..errors import StoreUnavailableError
from .claims import Claim, from_fields, kept_for, next_attempt, settled
from .redis_scripts import CLAIM_READ_SCRIPT, CLAIM_WRITE_SCRIPT
from .sealing import Sealer

CLAIM_LABEL = b"robotframework-healthcode notice claims v1"
MAX_CLAIM_BYTES = 256  # a claim this library writes is about 130 bytes
TRIES = 5  # compare-and-set rounds before giving up (other robots changing the same claim meanwhile)


class _Store(Protocol):
    """What the claims need of their Redis store (``redis_store.RedisTokenStore``)."""

    @property
    def description(self) -> str: ...

    def _sealer_for_writes(self) -> Sealer: ...

    def _talking(self, what: str, deadline: float | None = None) -> AbstractContextManager[None]: ...

    def _key(self, kind: str, key: str | None = None) -> str: ...

    def _script(self, name: str, source: str) -> Any: ...


class RedisClaims:
    def __init__(self, store: _Store) -> None:
        self._store = store
        self._mac_key: bytes | None = None
        self._handed: dict[str, tuple[Claim, Claim]] = {}  # name: (as stored, in Redis's time; as handed out)

    def claim(self, name: str, lease: float, keep: float | None = None) -> Claim:
        where = self._name(name)
        for _ in range(TRIES):
            read, standing, now, offset = self._read(where)
            if standing is not None and standing.holds(now):  # another's (or our own, still being sent): only
                return self._local(standing, offset)  # the claim this robot took is settled as taken
            claim = next_attempt(standing, now, lease)
            if self._write(where, read, claim, lease if keep is None else keep, now):
                return self._hand(name, claim, offset)
        raise self._busy()

    def peek(self, name: str) -> Claim | None:
        _, standing, _, offset = self._read(self._name(name))
        return None if standing is None else self._local(standing, offset)

    def settle(self, name: str, claim: Claim, done: bool, hold: float, keep: float) -> bool:
        where = self._name(name)
        stored, handed = self._handed.get(name, (claim, claim))
        read, standing, now, _ = self._read(where)
        if standing is None or handed != claim or standing._replace(ours=True) != stored._replace(ours=True):
            return False  # its lease ran out and another robot took it: theirs now
        return self._write(where, read, settled(stored, done, hold, now), keep, now)

    def _hand(self, name: str, claim: Claim, offset: float) -> Claim:
        """``claim``, taken by this robot, in this machine's time (remembered, so that settling it finds
        the stored one)."""
        local = self._local(claim, offset)
        self._handed[name] = (claim, local)
        return local

    @staticmethod
    def _local(claim: Claim, offset: float) -> Claim:
        return claim._replace(first_at=claim.first_at + offset, at=claim.at + offset, until=claim.until + offset)

    def _read(self, where: str) -> tuple[str, Claim | None, float, float]:
        """The claim's value as read, the claim it holds, Redis's time, and how far this machine's
        clock is ahead of it."""
        with self._store._talking("note a notice"):
            answer = self._store._script("claim-read", CLAIM_READ_SCRIPT)(keys=[where], args=[MAX_CLAIM_BYTES])
        local = time.time()
        try:
            now = int(answer[2]) + int(answer[3]) / 1_000_000
        except (IndexError, TypeError, ValueError):
            now = local  # not this library's script: keep this machine's time
        if answer[0] != b"string":
            return "", None, now, local - now
        text = answer[1].decode("utf-8", "replace") if isinstance(answer[1], bytes) else str(answer[1])
        return text, self._opened(where, text, now), now, local - now

    def _write(self, where: str, read: str, claim: Claim, keep: float, now: float) -> bool:
        milliseconds = max(1, int(kept_for(claim, keep, now) * 1000))
        with self._store._talking("note a notice"):
            written = self._store._script("claim-write", CLAIM_WRITE_SCRIPT)(
                keys=[where], args=[read, self._sealed(where, claim), milliseconds, MAX_CLAIM_BYTES]
            )
        return bool(int(written))

    def _sealed(self, where: str, claim: Claim) -> str:
        body = "|".join(
            ["c1", claim.state, str(claim.attempt), *(repr(t) for t in (claim.first_at, claim.at, claim.until))]
        )
        return f"{body}|{self._mac(where, body)}"

    def _opened(self, where: str, text: str, now: float) -> Claim | None:
        """The claim ``text`` holds, or None unless it was written with the fleet's key, under
        this name, and is one this library could have made."""
        body, _, mac = text.rpartition("|")
        parts = body.split("|")
        authentic = hmac.compare_digest(mac.encode(), self._mac(where, body).encode())
        if len(parts) != 6 or parts[0] != "c1" or not authentic:
            return None
        state, attempt, *times = parts[1:]
        try:
            numbers = [float(t) for t in times]
        except ValueError:
            return None
        if not attempt.isdigit() or len(attempt) > 5:
            return None
        return from_fields([state, int(attempt), *numbers], now)

    def _mac(self, where: str, body: str) -> str:
        digest = hmac.new(self._key(), f"{where}|{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def _name(self, name: str) -> str:
        """The Redis key of the claim ``name``: keyed, so nobody without the fleet's key can predict it."""
        return self._store._key("claim:") + hmac.new(self._key(), name.encode("utf-8"), hashlib.sha256).hexdigest()

    def _key(self) -> bytes:
        if self._mac_key is None:
            record_key = self._store._sealer_for_writes().key.record_key()
            self._mac_key = hmac.new(record_key, CLAIM_LABEL, hashlib.sha256).digest()
        return self._mac_key

    def _busy(self) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"A notice's claim in the token store {self._store.description} kept changing "
            "while this robot tried to take it (other robots, or someone writing to it). "
            "The notice is sent anyway; if this goes on, check who writes to the store."
        )
