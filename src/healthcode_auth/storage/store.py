"""The store seam: the one small interface through which the session reaches stored tokens.

A store keeps one :class:`StoredAuthorisation` per SSO and client id, each with a version number
that only ever grows. The session speaks to it in four verbs:

- :meth:`TokenStore.load`: the entry and its version, or None. Needs no lock.
- :meth:`TokenStore.renewal_lock`: held while one robot renews, so the others wait and then
  re-read instead of renewing again.
- :meth:`TokenStore.store`: write an entry only if the stored version is still the one that was
  read (compare-and-set). A lock can lie (a lease may expire under a slow holder); a version
  cannot, so a late writer never overwrites a newer token.
- :meth:`TokenStore.remove`: sign out.

Beside the entries, a store keeps the supervision record: who authorised the bots, who renewed,
who signed out, when and from where (:meth:`TokenStore.record`, :meth:`TokenStore.history`),
bounded to the last :data:`MAX_HISTORY` events and never holding a token, code or secret.

Every implementation is checked by the same contract tests (``utest/core/test_store_contract.py``).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from ..protocol.token import Token

MAX_HISTORY = 1000


def event_to_json(event: Mapping[str, str]) -> str:
    """One supervision-record event as every store keeps it: a JSON object, keys sorted."""
    return json.dumps(dict(event), sort_keys=True)


def event_from_json(text: str | bytes) -> dict[str, str] | None:
    """An event read back, or None when the text is not a JSON object (a damaged line)."""
    try:
        event = json.loads(text)
    except ValueError:
        return None
    return {str(k): str(v) for k, v in event.items()} if isinstance(event, dict) else None


def entry_key(discovery_url: str, client_id: str) -> str:
    """Entries are per SSO (its discovery URL names exactly one issuer) and client id."""
    return f"{discovery_url}#{client_id}"


@dataclass(frozen=True)
class StoredAuthorisation:
    """One client's authorisation as stored: the token and what a browserless run needs with it."""

    discovery_url: str  # the environment's identity; the document itself may have come from elsewhere:
    client_id: str
    token: Token
    discovery: Mapping[str, Any] = field(default_factory=dict, repr=False)
    discovery_source: str | None = None  # where ``discovery`` was fetched from, when not discovery_url

    @property
    def key(self) -> str:
        return entry_key(self.discovery_url, self.client_id)

    def to_dict(self) -> dict[str, Any]:
        token = self.token
        return {
            "discovery_url": self.discovery_url, "client_id": self.client_id, "discovery": dict(self.discovery),
            "discovery_source": self.discovery_source,
            "token": {"access_token": token.access_token, "token_type": token.token_type,
                      "expires_at": token.expires_at, "refresh_token": token.refresh_token,
                      "scope": token.scope, "issued_at": token.issued_at, "supervisor": token.supervisor,
                      "supervisor_name": token.supervisor_name},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoredAuthorisation:
        """Raises KeyError, TypeError or ValueError for anything that is not a stored entry."""
        token = data["token"]
        return cls(
            discovery_url=str(data["discovery_url"]), client_id=str(data["client_id"]),
            discovery=dict(data.get("discovery") or {}), discovery_source=_optional_text(data, "discovery_source"),
            token=Token(access_token=str(token["access_token"]), token_type=str(token.get("token_type", "Bearer")),
                        expires_at=_optional_float(token.get("expires_at")),
                        refresh_token=token.get("refresh_token") or None, scope=token.get("scope"),
                        issued_at=float(token.get("issued_at") or 0.0), supervisor=_optional_text(token, "supervisor"),
                        supervisor_name=_optional_text(token, "supervisor_name")),
        )


@dataclass(frozen=True)
class Versioned:
    """An entry as loaded, with the version a compare-and-set must name to replace it."""

    entry: StoredAuthorisation
    version: int


class TokenStore(ABC):
    """Where tokens are shared with later runs and other robots."""

    lock_timeout: float
    """How long :meth:`renewal_lock` waits for another robot's renewal before StoreLockTimeout."""

    @property
    @abstractmethod
    def description(self) -> str:
        """Where the store is, for people (``file /home/bot/...``); never a password."""

    @abstractmethod
    def prepare(self) -> None:
        """Make sure the store can be written (its key at hand, created if needed); StoreError if not.

        The session calls this before it redeems a code or a refresh token, so that a key source
        that fails cannot cost the token that redeeming returns.
        """

    @abstractmethod
    def load(self, key: str) -> Versioned | None:
        """The entry for ``key`` and its version, or None (a damaged entry counts as missing)."""

    @abstractmethod
    def renewal_lock(self, key: str) -> AbstractContextManager[None]:
        """Hold the lock under which one robot renews ``key``; raises StoreLockTimeout after a bound."""

    @abstractmethod
    def store(self, entry: StoredAuthorisation, expected_version: int | None) -> bool:
        """Write ``entry`` if the stored version is still ``expected_version`` (None: no entry yet).

        Returns False, writing nothing, when another robot changed or removed the entry meanwhile.
        """

    @abstractmethod
    def remove(self, key: str, *, only_version: int | None = None) -> bool:
        """Remove the entry (only if it is still ``only_version``, when given); True if one was removed."""

    @abstractmethod
    def record(self, event: Mapping[str, str]) -> None:
        """Append an event to the supervision record (which keeps the last MAX_HISTORY)."""

    @abstractmethod
    def history(self, limit: int) -> list[dict[str, str]]:
        """The last ``limit`` events of the supervision record, oldest first."""


def _optional_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("bad expiry")
    return float(value)


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None
