"""The store seam: the one small interface through which the session reaches stored tokens.

A store keeps one :class:`StoredAuthorisation` per SSO and client id, each with a version number
that only ever grows. The session speaks to it in a few verbs:

- :meth:`TokenStore.load`: the entry and its version, or None when there is none. What cannot be
  read with this run's key, or is damaged, raises
  :class:`~healthcode_auth.errors.StoreUnreadableError`: unreadable is never empty.
- :meth:`TokenStore.renewal_lock`: held while one robot renews, so the others wait and then
  re-read instead of renewing again.
- :meth:`TokenStore.store`: write an entry only if the stored version is still the one that was
  read (compare-and-set), and say which version it wrote. A lock can lie (a lease may expire
  under a slow holder); a version cannot, so a late writer never overwrites a newer token.
- :meth:`TokenStore.remove`: sign out, only the version that was read and decrypted.
- :meth:`TokenStore.mark_refused`: the SSO refused to renew this version. The entry stays (a
  renewer whose lease ran out may still hand over a newer pair for it); robots stop renewing it.
- :meth:`TokenStore.set_aside`: the explicit way out of a lost key: move what cannot be read
  aside (kept, never deleted), so a supervisor can sign in again.
- :meth:`TokenStore.claim`: once for the whole fleet (a notice, a reminder), across machines
  (:mod:`.claims`).
- :meth:`TokenStore.wait_for_change`: wait, cheaply, for a supervisor's sign-in to arrive.

Beside the entries, every store has a supervision record (:attr:`TokenStore.supervision`,
:mod:`.record`). Every implementation is checked by the same contract tests
(``utest/core/test_store_contract.py``).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import StoreUnreadableError, escaped
from ..protocol.token import Token
from .claims import Claim
from .key_sources import choose_source, describe_source
from .record import SupervisionRecord
from .sealing import Unreadable

MAX_ENTRY_BYTES = 1_000_000  # what a store reads of one entry (sealed) before it decrypts anything
MAX_TIME = 2.0**34  # year 2514: a stored time beyond it is not one this library wrote
MAX_VERSION = 2**53  # versions count writes; one beyond this was not written by this library
MAX_TOKEN = 500_000  # what the transport can bring (a 1 MB body), sealed within MAX_ENTRY_BYTES
MAX_TEXT = 2_000
SET_ASIDE_COMMAND = "healthcode-auth set-aside"


def entry_key(discovery_url: str, client_id: str) -> str:
    """Entries are per SSO (its discovery URL names exactly one issuer) and client id."""
    return f"{discovery_url}#{client_id}"


@dataclass(frozen=True)
class StoredAuthorisation:
    """One client's authorisation as stored: the token, what a browserless run needs with it, and
    what it was verified for (``issuer`` and ``audience``: the verified token's ``iss`` and ``aud``),
    so that a robot with other settings is never handed it."""

    discovery_url: str  # the environment's identity; the document itself may have come from elsewhere:
    client_id: str
    token: Token
    discovery: Mapping[str, Any] = field(default_factory=dict, repr=False)
    discovery_source: str | None = None  # where ``discovery`` was fetched from, when not discovery_url
    issuer: str | None = None
    audience: tuple[str, ...] | None = None  # None: not recorded (an opaque token, or an older entry)
    verified: bool = True  # False: a renewed pair kept before (or although) its verification: never handed out
    api_discovery: Mapping[str, Any] = field(default_factory=dict, repr=False)  # Healthcode's API discovery document
    api_discovery_source: str | None = None  # where ``api_discovery`` was fetched from

    @classmethod
    def received(
        cls,
        discovery_url: str,
        client_id: str,
        token: Token,
        claims: Mapping[str, Any],
        *,
        discovery: Mapping[str, Any],
        discovery_source: str | None,
        verified: bool = True,
        api_discovery: Mapping[str, Any] | None = None,
        api_discovery_source: str | None = None,
    ) -> StoredAuthorisation:
        """The entry for a token just received, with the ``iss`` and ``aud`` of its verified claims
        (none for a token that is not ``verified``)."""
        issuer, audience = claims.get("iss"), claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        return cls(
            discovery_url,
            client_id,
            token,
            discovery=discovery,
            discovery_source=discovery_source,
            issuer=issuer if isinstance(issuer, str) else None,
            verified=verified,
            audience=tuple(a for a in audiences if isinstance(a, str)) if isinstance(audiences, list) else None,
            api_discovery=api_discovery or {},
            api_discovery_source=api_discovery_source,
        )

    @property
    def key(self) -> str:
        return entry_key(self.discovery_url, self.client_id)

    def mismatch(self, *, client_id: str, discovery_url: str, audience: str | None) -> str | None:
        """Why this authorisation must not be handed to a robot with these settings (None: it may)."""
        if self.client_id != client_id or self.discovery_url != discovery_url:
            return "it was stored for another SSO or client"
        issuer = self.discovery.get("issuer")
        if self.issuer is not None and isinstance(issuer, str) and self.issuer != issuer:
            return f"its token was issued by {escaped(self.issuer, 100)}, not by {escaped(issuer, 100)}"
        if audience is not None and (self.audience is None or audience not in self.audience):
            named = ", ".join(escaped(a, 100) for a in self.audience or ()) or "no audience this library recorded"
            return f"its token is for {named}, and the audience setting requires {escaped(audience, 100)}"
        return None

    def to_dict(self) -> dict[str, Any]:
        token = self.token
        return {
            "discovery_url": self.discovery_url,
            "client_id": self.client_id,
            "discovery": dict(self.discovery),
            "discovery_source": self.discovery_source,
            "issuer": self.issuer,
            "audience": None if self.audience is None else list(self.audience),
            **({} if self.verified else {"verified": False}),
            **(
                {"api_discovery": dict(self.api_discovery), "api_discovery_source": self.api_discovery_source}
                if self.api_discovery
                else {}
            ),
            "token": {
                "access_token": token.access_token,
                "token_type": token.token_type,
                "expires_at": token.expires_at,
                "refresh_token": token.refresh_token,
                "scope": token.scope,
                "issued_at": token.issued_at,
                "supervisor": token.supervisor,
                "supervisor_name": token.supervisor_name,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoredAuthorisation:
        """The entry, checked field by field; ValueError naming the first field that is not one
        this library writes (wrong type, absurd size or time)."""
        if not isinstance(data, Mapping):
            raise ValueError("the entry is not an object")
        token = data.get("token")
        if not isinstance(token, Mapping):
            raise ValueError("the entry has no token")
        discovery = data.get("discovery") or {}
        if not isinstance(discovery, Mapping):
            raise ValueError("'discovery' is not an object")
        api_discovery = data.get("api_discovery") or {}
        if not isinstance(api_discovery, Mapping):
            raise ValueError("'api_discovery' is not an object")
        audience = data.get("audience")
        if audience is not None and (
            not isinstance(audience, list)
            or len(audience) > 20
            or not all(isinstance(a, str) and len(a) <= MAX_TEXT for a in audience)
        ):
            raise ValueError("'audience' is not a list of texts")
        return cls(
            discovery_url=_text(data, "discovery_url"),
            client_id=_text(data, "client_id"),
            discovery=dict(discovery),
            discovery_source=_text(data, "discovery_source", optional=True),
            issuer=_text(data, "issuer", optional=True),
            audience=None if audience is None else tuple(audience),
            verified=data.get("verified", True) is not False,
            api_discovery=dict(api_discovery),
            api_discovery_source=_text(data, "api_discovery_source", optional=True),
            token=Token(
                access_token=_text(token, "access_token", limit=MAX_TOKEN),
                token_type=_text(token, "token_type", optional=True) or "Bearer",
                expires_at=_time(token, "expires_at", optional=True),
                refresh_token=_text(token, "refresh_token", optional=True, limit=MAX_TOKEN),
                scope=_text(token, "scope", optional=True),
                issued_at=_time(token, "issued_at") or 0.0,
                supervisor=_text(token, "supervisor", optional=True),
                supervisor_name=_text(token, "supervisor_name", optional=True),
            ),
        )


@dataclass(frozen=True)
class Versioned:
    """An entry as loaded, with the version a compare-and-set must name to replace or remove it.
    ``refused_at`` is when the SSO refused to renew this version (None: it did not)."""

    entry: StoredAuthorisation
    version: int
    refused_at: float | None = None


class TokenStore(ABC):
    """Where tokens are shared with later runs and other robots."""

    lock_timeout: float
    """How long :meth:`renewal_lock` waits for another robot's renewal before StoreLockTimeout."""

    supervision: SupervisionRecord
    """Who authorised, renewed and signed out: authenticated with the store's key."""

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
        """The entry for ``key`` and its version; None when there is none; StoreUnreadableError
        when there is one (or a store) that this run cannot read."""

    @abstractmethod
    def renewal_lock(self, key: str) -> AbstractContextManager[None]:
        """Hold the lock under which one robot renews ``key``; raises StoreLockTimeout after a bound."""

    @abstractmethod
    def store(self, entry: StoredAuthorisation, expected_version: int | None) -> int | None:
        """Write ``entry`` if the stored version is still ``expected_version`` (None: no entry yet);
        return the version written.

        Returns None, writing nothing, when another robot changed or removed the entry meanwhile,
        or when what is there cannot be read. Raises StoreUnreadableError when the whole store
        cannot be read (a file store sealed with another key): nothing is written over it.
        """

    @abstractmethod
    def remove(self, key: str, version: int) -> bool:
        """Remove the entry if it is still at ``version`` (as read and decrypted); True if removed."""

    @abstractmethod
    def mark_refused(self, key: str, version: int, when: float) -> bool:
        """Note that the SSO refused to renew ``version`` at ``when``, if it is still the stored
        version; True if noted. The entry and its version stay."""

    @abstractmethod
    def claim(self, name: str, lease: float, keep: float | None = None) -> Claim:
        """Claim ``name`` (a notice, a reminder: work done once for every robot of the store) unless
        a claim under it still holds (:mod:`.claims`): being done by another robot, done, or failed
        and waiting for its backoff. Returns the new claim (``ours``: the caller does the work now;
        it holds the others back ``lease`` seconds) or the one that holds. The record is kept
        ``keep`` seconds (default: ``lease``), so the next attempt counts those before it. What
        cannot be a claim this library made (another kind of value, a time out of range, in Redis
        one not authenticated with the fleet's key) is no claim: it is replaced, so a hostile value
        in a shared store cannot silence a notice."""

    @abstractmethod
    def peek_claim(self, name: str) -> Claim | None:
        """The claim kept under ``name`` (holding or not, never ``ours``), or None; takes nothing."""

    def claims_forgotten_before(self) -> float:
        """Claims made up to this time may have been let go before their ``keep`` ended (a store
        that bounds how many it keeps: the file store); 0.0 when every claim is kept its time. A
        caller that must know whether something was claimed before (a portal's used state) refuses
        what it cannot tell."""
        return 0.0

    @abstractmethod
    def settle_claim(self, name: str, claim: Claim, done: bool, hold: float, keep: float) -> bool:
        """After the work ``claim`` was for: note that it was done or failed, holding the others
        back ``hold`` more seconds (what it is about lasts; or a failure's backoff), the record
        kept ``keep`` seconds. Only that claim is touched: one taken meanwhile by another robot
        (after its lease ran out) stays theirs (False)."""

    @abstractmethod
    def last_version(self) -> int:
        """The highest version this store has given out (0 if none). It only grows, so beside an
        absent entry it says *which* absence: before the first sign-in, after a sign-out..."""

    @contextmanager
    def bounded(self, deadline: float) -> Iterator[None]:
        """Within the block, every exchange with the store in this thread ends by the monotonic
        ``deadline`` (StoreUnavailableError or StoreLockTimeout when it cannot): a wait's limit is
        a total deadline even when the store stalls. Implementations bound each exchange with
        :meth:`_within`."""
        bound = self.__dict__.setdefault("_bound", threading.local())
        previous = getattr(bound, "deadline", None)
        bound.deadline = deadline if previous is None else min(previous, deadline)
        try:
            yield
        finally:
            bound.deadline = previous

    def unbound(self) -> None:
        """Until the block of :meth:`bounded` ends, this thread's exchanges are no longer cut by its
        deadline: once the SSO has answered a renewal, its pair is handed over (and the lock let go)
        whatever the wait's deadline, or the spent refresh token's successor would be lost."""
        bound = self.__dict__.get("_bound")
        if bound is not None:
            bound.deadline = None

    @contextmanager
    def _unbounded(self) -> Iterator[None]:
        """Within the block, this thread's exchanges are not cut by :meth:`bounded`'s deadline (letting a
        lock go must never be refused for want of time: it would hold every robot back)."""
        bound = self.__dict__.get("_bound")
        previous = getattr(bound, "deadline", None)
        if bound is not None:
            bound.deadline = None
        try:
            yield
        finally:
            if bound is not None:
                bound.deadline = previous

    def _within(self, limit: float) -> float:
        """``limit`` seconds, or what is left of the deadline of :meth:`bounded` when that is less."""
        deadline = getattr(self.__dict__.get("_bound"), "deadline", None)
        return limit if deadline is None else max(0.0, min(limit, deadline - time.monotonic()))

    @abstractmethod
    def wait_for_change(self, key: str, version: int | None, timeout: float) -> None:
        """Return once the entry for ``key`` is no longer at ``version`` (None: absent), or after
        ``timeout`` seconds; cheap while it waits (no request to the SSO, next to no CPU)."""

    def _until_changed(
        self, key: str, version: int | None, timeout: float, pause: Callable[[float], None], every: float
    ) -> None:
        """:meth:`wait_for_change` by reading the entry every ``every`` seconds at most, ``pause``
        (a sleep, or a wait for the store's own news) in between."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.load(key)
            if (None if current is None else current.version) != version:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            pause(min(every, remaining))

    @abstractmethod
    def set_aside(self, key: str) -> str | None:
        """Move what this run cannot read for ``key`` aside, keeping it; say what was done, or None
        when there is nothing unreadable to move."""


def unreadable(where: str, problem: Unreadable, environ: Mapping[str, str]) -> StoreUnreadableError:
    """The error for a store (or entry) that cannot be read: what it is, which key source it
    names and which this run uses, that nothing changed, and what to do."""
    in_use = choose_source(dict(environ))
    tried = (problem.source,) if problem.source else ()
    if problem.damaged:
        advice = (
            "No key can read it. If you restored it from a backup, put the right copy back; otherwise run "
            f"'{SET_ASIDE_COMMAND}' to move it aside (it is kept) and have a supervisor sign in again."
        )
    elif problem.rolled_back:
        advice = f"Run '{SET_ASIDE_COMMAND}' to move it aside (it is kept) and have a supervisor sign in again."
    else:
        advice = (
            "Give this run the key the robots use (HEALTHCODE_CACHE_KEY, the same user's keyring or key file) "
            f"and try again. Only if that key is truly lost: '{SET_ASIDE_COMMAND}' moves the unreadable data "
            "aside (it is kept) so that a supervisor can sign in again."
        )
    sources = (
        f" Key source for new data in this run: {describe_source(in_use)}; tried: "
        f"{', '.join(describe_source(s) for s in tried) or 'none'}."
        if not problem.damaged
        else ""
    )
    reason = problem.reason.rstrip(".")
    return StoreUnreadableError(
        f"The token store {where} cannot be read: {reason}.{sources} Nothing was changed. {advice}",
        key_source=in_use,
        tried=tried,
        damaged=problem.damaged,
    )


def _text(data: Mapping[str, Any], name: str, *, optional: bool = False, limit: int = MAX_TEXT) -> Any:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not value and not optional) or len(value) > limit:
        raise ValueError(f"'{name}' is not a text of at most {limit} characters")
    return value or None if optional else value


def _time(data: Mapping[str, Any], name: str, *, optional: bool = False) -> float | None:
    value = data.get(name)
    if value is None and optional:
        return None
    # Compared, never converted first: a 400-digit integer must not overflow a float.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_TIME:
        raise ValueError(f"'{name}' is not a time this library writes")
    return float(value)
