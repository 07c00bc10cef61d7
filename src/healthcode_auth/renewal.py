"""Handing a renewed pair over to the token store, so that it is never lost.

The moment the SSO answers a refresh, the old refresh token may be spent: the new pair is the
only one there is. The session stores it at once, as due (never handed out, whatever any clock
says), before it verifies the access token, and again once verified. :func:`hand_over` writes it
with a compare-and-set on the version the renewal replaced:

- a write that fails for a passing reason (the store paused, failing over, a disk full for a
  moment) is tried again a few times, then reported as *pending*: the session keeps the pair and
  tries again at every later use, and when the process ends;
- a write refused because somebody replaced that version is never forced: a newer authorisation
  (a sign-in, another robot's renewal) is used instead, unless what is there is this very pair
  (an earlier try that timed out had landed after all);
- a write refused because the entry is gone means a sign-out: the session revokes the pair.

A version that is not newer than the one replaced is never adopted (it can only be hostile or
broken data): the pair stays pending.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .config import HealthcodeConfig
from .errors import (
    HealthcodeAuthError,
    InvalidGrantError,
    NoValidTokenError,
    ReauthorisationRequiredError,
    SignedOutError,
    StoreError,
    StoreUnreadableError,
)
from .protocol.token import Token, TokenStatus, local_time
from .redaction import REDACTOR
from .storage.store import StoredAuthorisation, TokenStore, Versioned

if TYPE_CHECKING:
    from .client import HealthcodeAuthClient
    from .protocol.authorization_request import AuthorizationCode, AuthorizationRequest  # a sign-in's: loaded by one

log = logging.getLogger("healthcode_auth")
RETRY_DELAYS = (0.1, 0.3, 1.0, 2.0)  # about 3.4 s in all, inside the renewal lock's lease
# A renewal makes at most this many requests while it holds the renewal lock (discovery when it
# is not stored, the refresh, the key set and one refetch after a key rotation), each ending
# within the timeout (a total deadline, see transport.py); plus time for the local work.
RENEWAL_REQUESTS = 4
RENEWAL_SLACK = 5.0


def renewal_time_bound(timeout: float) -> float:
    """How long one robot's renewal can hold the lock: how long the others wait at most."""
    return RENEWAL_REQUESTS * timeout + RENEWAL_SLACK


@dataclass(frozen=True)
class Pending:
    """A pair the store could not take yet, and the version it must replace."""

    entry: StoredAuthorisation
    expected: int | None


@dataclass(frozen=True)
class Outcome:
    """What became of a hand-over: ``version`` written; or ``newer`` stored by somebody else; or
    ``pending`` (not written now); or none of them: the entry was removed (a sign-out)."""

    version: int | None = None
    newer: Versioned | None = None
    pending: bool = False

    @property
    def signed_out(self) -> bool:
        return self.version is None and self.newer is None and not self.pending


def _same_pair(stored: StoredAuthorisation, ours: StoredAuthorisation) -> bool:
    return (stored.token.access_token, stored.token.refresh_token, stored.verified) == (
        ours.token.access_token,
        ours.token.refresh_token,
        ours.verified,
    )


def hand_over(store: TokenStore, entry: StoredAuthorisation, expected: int | None, *, retry: bool = True) -> Outcome:
    """Write ``entry`` over version ``expected`` (None: over nothing), as the module says."""
    delays = RETRY_DELAYS if retry else ()
    for delay in (*delays, None):
        try:
            version = store.store(entry, expected)
            if version is not None:
                return Outcome(version=version)
            current = store.load(entry.key)
        except StoreUnreadableError as error:
            log.warning(
                "The renewed Healthcode token is kept in memory, and written when the token store can be "
                "read again: %s",
                error,
            )
            return Outcome(pending=True)
        except StoreError as error:
            if delay is None:
                log.warning(
                    "The renewed Healthcode token is kept in memory for now: the token store %s could not "
                    "take it (%s). It is tried again at every later use, and when this robot ends.",
                    store.description,
                    error,
                )
                return Outcome(pending=True)
            time.sleep(delay)
            continue
        if current is None:
            return Outcome()
        if _same_pair(current.entry, entry):
            return Outcome(version=current.version)  # an earlier try had landed after all (it timed out)
        if expected is None or current.version > expected:
            return Outcome(newer=current)
        log.warning(
            "The token store %s holds version %s of the authorisation where this robot expected a newer "
            "one than %s: it is not used, and the renewed token is kept in memory.",
            store.description,
            current.version,
            expected,
        )
        return Outcome(pending=True)
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class SessionState:
    """What a session holds: a pending sign-in, a captured code, the current token."""

    sign_in: AuthorizationRequest | None = None
    code: AuthorizationCode | None = field(default=None, repr=False)
    token: Token | None = None
    refused_at: float | None = None  # when the SSO refused to renew ``token``
    pending: Pending | None = None  # a renewed pair the store could not take yet


class RenewalSteps:
    """The renewal half of :class:`~healthcode_auth.session.HealthcodeSession`: renew, keep the
    renewed pair whatever happens to it, and take a refusal without dropping anyone's authorisation.
    It works on the session's state, under the session's lock and the store's renewal lock."""

    config: HealthcodeConfig
    store: TokenStore | None
    sign_in_hint: str
    _state: SessionState
    _lock: threading.RLock
    _exit_hook: bool

    @property
    def client(self) -> HealthcodeAuthClient:
        raise NotImplementedError

    @property
    def key(self) -> str:
        raise NotImplementedError

    def status(self, token: Token | None, *, min_remaining: float = 0.0) -> TokenStatus:
        raise NotImplementedError

    def _adopt(self, stored: Versioned) -> Token:
        raise NotImplementedError

    def _record(self, event: str, token: Token | None) -> None:
        raise NotImplementedError

    def _entry(self, token: Token, *, verified: bool = True) -> StoredAuthorisation:
        raise NotImplementedError

    def _prepare_store(self) -> bool:
        raise NotImplementedError

    def _renew(self, token: Token | None, stored: Versioned | None) -> Token:
        if token is None:
            raise NoValidTokenError(f"There is no Healthcode access token yet. {self.sign_in_hint}.")
        if not token.refresh_token:
            if self._state.refused_at is not None:
                raise ReauthorisationRequiredError(
                    f"Supervisor re-authorisation required: the SSO server refused to renew the authorisation "
                    f"at {local_time(self._state.refused_at)}. {self.sign_in_hint}."
                )
            raise NoValidTokenError(
                f"The Healthcode access token has expired (or will within the expiry "
                f"margin) and there is no refresh token to renew it. {self.sign_in_hint}."
            )
        writable = self._prepare_store()  # before the (perhaps rotating) refresh token is spent
        try:
            answer = self.client.request_refresh(token.refresh_token)
        except InvalidGrantError as error:
            if self.store is not None:
                self.store.unbound()  # the refusal is noted whatever a waiting robot's deadline
            return self._refused(token, stored, error)
        if self.store is not None:
            self.store.unbound()  # the pair is handed over whatever a waiting robot's deadline
        # The SSO has answered: the old refresh token may be spent, so the new pair is the only one.
        # It is stored at once, due whatever any clock says and never handed out, before anything
        # else can fail (renewal.py); then verified, and stored again as valid.
        REDACTOR.add(answer.access_token, answer.refresh_token)
        held = dataclasses.replace(
            answer, expires_at=0.0, expires_in=None, supervisor=token.supervisor, supervisor_name=token.supervisor_name
        )
        expected = self._hand_over(held, None if stored is None else stored.version, writable, verified=False)
        if self._state.token is not held:
            return self._newer_one()
        try:
            renewed = self.client.verify(answer)
        except HealthcodeAuthError as error:
            log.warning(
                "The SSO renewed the Healthcode authorisation, but the new access token could not be used "
                "(%s). The new refresh token is kept, so the next renewal can try again.",
                error,
            )
            raise
        self._hand_over(renewed, expected, writable)
        if self._state.token is not renewed:
            return self._newer_one()
        self._record("renewed", renewed)
        return renewed

    def _newer_one(self) -> Token:
        """Somebody stored a newer authorisation while this robot renewed: it is used, if valid."""
        token = self._state.token
        if token is not None and self.status(token) is TokenStatus.VALID:
            return token
        raise NoValidTokenError(
            "Another robot stored a newer Healthcode authorisation while this one renewed, and "
            "it is not valid yet: try again."
        )

    def _refused(self, token: Token, stored: Versioned | None, error: InvalidGrantError) -> Token:
        """The SSO refused the refresh token. The entry is not removed: a renewer whose lock lease
        ran out may hold the newer pair and hand it over (docs/fleet.md); it is marked refused, so
        no robot renews with it again, and a newer entry, if one arrived meanwhile, is used."""
        when = time.time()
        self._state.token = dataclasses.replace(token, refresh_token=None)
        self._state.refused_at = when
        if self.store is not None and stored is not None:
            try:
                noted = self.store.mark_refused(self.key, stored.version, when)
                newer = None if noted else self.store.load(self.key)
            except StoreError as store_error:
                log.warning("Could not note the refused renewal in the token store: %s", store_error)
                newer = None
            if newer is not None and self.status(newer.entry.token) is TokenStatus.VALID:
                log.info(
                    "The refresh token was refused, but another robot stored a newer authorisation meanwhile: using it."
                )
                return self._adopt(newer)
        self._record("renewal-refused", token)
        raise ReauthorisationRequiredError(
            f"Supervisor re-authorisation required: the SSO server refused to renew the token "
            f"({error.error}). {self.sign_in_hint}."
        ) from None

    def _hand_over(self, token: Token, expected: int | None, writable: bool, *, verified: bool = True) -> int | None:
        """Make ``token`` this session's and store it over version ``expected`` (renewal.py says how
        it is never lost); the version its next write must name. After it, ``self._state.token`` is
        another token when somebody stored a newer authorisation meanwhile."""
        self._state.token, self._state.refused_at, self._state.pending = token, None, None
        if self.store is None or not writable:
            return expected
        entry = self._entry(token, verified=verified)
        outcome = hand_over(self.store, entry, expected)
        if outcome.version is not None:
            return outcome.version
        if outcome.pending:
            self._state.pending = Pending(entry, expected)
            self._flush_at_exit()
            return expected
        if outcome.newer is not None:
            log.info(
                "Another robot or a supervisor stored a newer Healthcode authorisation while this robot "
                "renewed it: using the newer one."
            )
            self._adopt(outcome.newer)
            return expected
        self._state = SessionState()
        with contextlib.suppress(HealthcodeAuthError):
            self.client.revoke(token)
        raise SignedOutError(
            f"The Healthcode authorisation was removed from the token cache (signed out) while "
            f"this robot renewed it; the renewed token was revoked. {self.sign_in_hint}."
        )

    def _retry_pending(self) -> None:
        """A renewed pair the store could not take before: try it once more (under the lock held)."""
        pending, self._state.pending = self._state.pending, None
        if pending is None or self.store is None:
            return
        outcome = hand_over(self.store, pending.entry, pending.expected, retry=False)
        if outcome.pending:
            self._state.pending = pending
        elif outcome.newer is not None:
            self._adopt(outcome.newer)
        elif outcome.version is not None:
            log.info("The renewed Healthcode token kept in memory is now in the token store.")

    def _flush_at_exit(self) -> None:
        if not self._exit_hook:
            atexit.register(_retry_at_exit, weakref.ref(self))
            self._exit_hook = True


def _retry_at_exit(session: weakref.ReferenceType[RenewalSteps]) -> None:
    """When the process ends: a renewed pair still pending gets one last try."""
    alive = session()
    if alive is not None and alive._state.pending is not None:
        with contextlib.suppress(Exception), alive._lock:
            alive._retry_pending()


def kept_in_memory(error: StoreError) -> None:
    log.warning(
        "The Healthcode token is kept in memory for this run only; the token cache cannot be written: %s", error
    )
