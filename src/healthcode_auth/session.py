"""Floor 6: the authorisation of one bot: a pending sign-in, its captured code, the current token.

This is the state machine behind the keywords and the command line:
``start_sign_in`` -> ``accept_redirect`` -> ``access_token`` (redeems the code once, then hands
out the token while it is valid and renews it with the refresh token when it is not). Whether a
token is valid, due for renewal or needs a sign-in is decided by one rule,
:func:`~healthcode_auth.protocol.token.token_status`. With a token store the token is shared with
later runs and other robots: a valid stored token is returned with no network request at all,
and renewal happens under the store's renewal lock, once for all robots waiting on it, written
back with a compare-and-set so that it never overwrites a newer token.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .client import HealthcodeAuthClient
from .config import HealthcodeConfig
from .errors import (
    HealthcodeAuthError,
    InvalidGrantError,
    NoValidTokenError,
    ReauthorisationRequiredError,
    SignedOutError,
    SignInError,
    StoreError,
)
from .protocol.authorization_request import AuthorizationCode, AuthorizationRequest, parse_redirect
from .protocol.jwt_verification import claims_of
from .protocol.provider_metadata import parse_metadata
from .protocol.token import Token, TokenStatus, token_status
from .redaction import REDACTOR
from .storage import TokenStore, open_store
from .storage.store import StoredAuthorisation, Versioned, entry_key

DEFAULT_SIGN_IN_HINT = "A supervisor must sign in first"
log = logging.getLogger("healthcode_auth")
# A renewal makes at most this many requests while it holds the renewal lock (discovery when it
# is not stored, the refresh, the key set and one refetch after a key rotation), each ending
# within the timeout (a total deadline, see transport.py); plus time for the local work.
RENEWAL_REQUESTS = 4
RENEWAL_SLACK = 5.0


def renewal_time_bound(timeout: float) -> float:
    """How long one robot's renewal can hold the lock: how long the others wait at most."""
    return RENEWAL_REQUESTS * timeout + RENEWAL_SLACK


@dataclass
class _State:
    sign_in: AuthorizationRequest | None = None
    code: AuthorizationCode | None = field(default=None, repr=False)
    token: Token | None = None


class HealthcodeSession:
    """One bot's authorisation, in memory and optionally in a shared token store; thread-safe."""

    def __init__(self, client: HealthcodeAuthClient, *, store: TokenStore | None = None,
                 sign_in_hint: str = DEFAULT_SIGN_IN_HINT) -> None:
        self.client = client
        self.store = store
        self.expiry_margin = client.config.expiry_margin
        self.sign_in_hint = sign_in_hint
        # Who is acting, for the supervision record; asked only when an event is recorded.
        # Front ends say e.g. {"via": "healthcode-auth login"} or {"suite": "Claims"}.
        self.describe_actor: Callable[[], Mapping[str, str]] = dict
        self._lock = threading.RLock()
        self._state = _State()

    @classmethod
    def from_config(cls, config: HealthcodeConfig, *, sign_in_hint: str = DEFAULT_SIGN_IN_HINT) -> HealthcodeSession:
        """A session with the configuration's client and token store; a robot waits for another's
        renewal no longer than that renewal can take (:func:`renewal_time_bound`)."""
        store = open_store(config.token_cache, lock_timeout=renewal_time_bound(config.timeout),
                           timeout=config.timeout, ca_bundle=config.ca_bundle)
        return cls(HealthcodeAuthClient(config), store=store, sign_in_hint=sign_in_hint)

    @property
    def config(self) -> HealthcodeConfig:
        return self.client.config

    @property
    def key(self) -> str:
        """This client's entry in the token store."""
        return entry_key(self.config.discovery_url, self.config.client_id)

    @property
    def pending_sign_in(self) -> AuthorizationRequest | None:
        return self._state.sign_in

    def status(self, token: Token | None, *, min_remaining: float = 0.0) -> TokenStatus:
        """The one rule, with this session's expiry margin."""
        return token_status(token, self.expiry_margin, min_remaining=min_remaining)

    def current_token(self) -> Token | None:
        """The current token, valid or not: a just-captured code is redeemed first, then the
        memory, then the store are asked. Never renews."""
        with self._lock:
            if self._state.code is not None:
                return self.access_token()
            if self._state.token is None and self.store is not None:
                stored = self.store.load(self.key)
                if stored is not None:
                    self._adopt(stored.entry)
            return self._state.token

    @staticmethod
    def claims(token: Token) -> dict[str, Any]:
        """The token's claims. No request: every token was verified when it was received, and
        tokens from the store come from an encrypted store only this user (or fleet) can read."""
        return claims_of(token.access_token)

    def start_sign_in(self) -> AuthorizationRequest:
        """A new sign-in replaces any pending one (its redirect will no longer be accepted)."""
        sign_in = self.client.start_sign_in()
        # The verifier is a secret; the state and challenge are not, but an attacker who reads them
        # can try to slip a code of theirs into this sign-in, so they are kept out of logs too.
        REDACTOR.add(sign_in.code_verifier, sign_in.state, sign_in.code_challenge)
        with self._lock:
            self._state.sign_in = sign_in
            self._state.code = None
        return sign_in

    def accept_redirect(self, redirect_url: str) -> AuthorizationCode:
        """Check the redirect against the pending sign-in and keep its code for the exchange."""
        with self._lock:
            sign_in = self._state.sign_in
            if sign_in is None:
                raise SignInError("There is no sign-in in progress to complete. Open the Healthcode "
                                  "sign-in page first.")
            self._state.sign_in = None  # a sign-in's redirect is accepted once, right or wrong
            code = parse_redirect(redirect_url, sign_in)
            REDACTOR.add(code.code)
            self._state.code = code
            return code

    def access_token(self) -> Token:
        """A valid token: the captured code's (redeemed once), the current one, or a renewed one."""
        with self._lock:
            if self._state.code is not None:
                code, self._state.code = self._state.code, None
                writable = self._prepare_store()  # before the single-use code is spent
                return self._keep_new(self.client.exchange_code(code), writable)
            token = self._state.token
            if self.status(token) is TokenStatus.VALID:
                assert token is not None
                return token
            if self.store is None:
                return self._renew(token, None)
            stored = self.store.load(self.key)
            if stored is not None and self.status(stored.entry.token) is TokenStatus.VALID:
                return self._adopt(stored.entry)
            with self.store.renewal_lock(self.key):
                # Another robot may have renewed it while this one waited for the lock.
                stored = self.store.load(self.key)
                if stored is None and token is not None:
                    # Removed since this robot read it (healthcode-auth logout): do not renew it back.
                    self._state.token = None
                    raise SignedOutError(f"The Healthcode authorisation was removed from the token cache "
                                         f"(signed out). {self.sign_in_hint}.")
                if stored is not None:
                    token = self._adopt(stored.entry)
                    if self.status(token) is TokenStatus.VALID:
                        return token
                return self._renew(token, stored)

    def clear(self) -> Token | None:
        """Forget the sign-in, the code and the token, in memory and in the store; returns the token."""
        with self._lock:
            token = self._state.token
            self._state = _State()
            if self.store is not None:
                with self.store.renewal_lock(self.key):
                    stored = self.store.load(self.key)
                    removed = self.store.remove(self.key)
                if token is None and stored is not None:
                    token = stored.entry.token
                if removed:
                    self._record("signed-out", stored.entry.token if stored else token)
            return token

    def _renew(self, token: Token | None, stored: Versioned | None) -> Token:
        if token is None:
            raise NoValidTokenError(f"There is no Healthcode access token yet. {self.sign_in_hint}.")
        if not token.refresh_token:
            raise NoValidTokenError(f"The Healthcode access token has expired (or will within the expiry "
                                    f"margin) and there is no refresh token to renew it. {self.sign_in_hint}.")
        writable = self._prepare_store()  # before the (perhaps rotating) refresh token is spent
        try:
            renewed = self.client.refresh(token.refresh_token)
        except InvalidGrantError as error:
            self._state.token = None
            if self.store is not None and stored is not None:
                self.store.remove(self.key, only_version=stored.version)
            self._record("renewal-refused", token)
            raise ReauthorisationRequiredError(
                f"Supervisor re-authorisation required: the SSO server refused to renew the token "
                f"({error.error}). {self.sign_in_hint}.") from None
        REDACTOR.add(renewed.access_token, renewed.refresh_token)
        self._state.token = renewed
        if self.store is not None and writable:
            try:
                self.store.store(self._entry(renewed), None if stored is None else stored.version)
            except StoreError as error:
                _kept_in_memory(error)
        self._record("renewed", renewed)
        return renewed

    def _prepare_store(self) -> bool:
        """True when the store can take the token about to be redeemed; otherwise say why, once,
        and keep that token in memory for this run (it is never lost to a failing store)."""
        if self.store is None:
            return False
        try:
            self.store.prepare()
        except StoreError as error:
            _kept_in_memory(error)
            return False
        return True

    def _adopt(self, entry: StoredAuthorisation) -> Token:
        """Use a stored authorisation, and its discovery document, so no request is needed."""
        token = entry.token
        REDACTOR.add(token.access_token, token.refresh_token)
        self._state.token = token
        if entry.discovery:
            # A stale document is skipped: discovery is then fetched when renewal needs it.
            with contextlib.suppress(HealthcodeAuthError):
                self.client.use_metadata(parse_metadata(entry.discovery, entry.discovery_source or entry.discovery_url))
        return token

    def _keep_new(self, token: Token, writable: bool) -> Token:
        """A token from a sign-in supersedes whatever is stored."""
        REDACTOR.add(token.access_token, token.refresh_token, token.id_token)
        self._state.token = token
        if self.store is not None and writable:
            try:
                with self.store.renewal_lock(self.key):
                    stored = self.store.load(self.key)
                    kept = self.store.store(self._entry(token), None if stored is None else stored.version)
            except StoreError as error:
                _kept_in_memory(error)
            else:
                if not kept:
                    # Only an entry this machine cannot read stands in the way (a different key).
                    log.warning("The new Healthcode token is kept for this run only: %s holds an authorisation "
                                "for this client that this machine cannot decrypt. Check that HEALTHCODE_CACHE_KEY "
                                "is the key the other machines use.", self.store.description)
        self._record("signed-in", token)
        return token

    def history(self, limit: int = 20) -> list[dict[str, str]]:
        """The last ``limit`` events of the store's supervision record (none without a store)."""
        return [] if self.store is None else self.store.history(limit)

    def _record(self, event: str, token: Token | None) -> None:
        """Add to the supervision record: who authorised what, when, from where; never a secret."""
        if self.store is None:
            return
        import platform

        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "event": event,
                 "environment": self.config.environment, "client_id": self.config.client_id,
                 "supervisor": (token.supervisor if token else None) or "(unknown)", "machine": platform.node(),
                 "user": _os_user(), **self._actor()}
        if token is not None and token.supervisor_name:
            entry["supervisor_name"] = token.supervisor_name
        try:
            self.store.record(entry)
        except StoreError as error:
            log.warning("Could not add to the supervision record: %s", error)

    def _actor(self) -> dict[str, str]:
        try:
            return {str(k): str(v) for k, v in self.describe_actor().items() if v}
        except Exception:  # a front end's description must never break a sign-in
            return {}

    def _entry(self, token: Token) -> StoredAuthorisation:
        metadata = self.client.metadata
        return StoredAuthorisation(self.config.discovery_url, self.config.client_id, token,
                                   discovery=metadata.to_dict(), discovery_source=metadata.discovery_url)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in this environment (some containers, services)
        return "(unknown)"


def _kept_in_memory(error: StoreError) -> None:
    log.warning("The Healthcode token is kept in memory for this run only; the token cache cannot be written: %s",
                error)
