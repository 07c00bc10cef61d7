"""The authorisation of one bot: a pending sign-in, its captured code, the current token.

This is the state machine behind the keywords and the command line: ``start_sign_in`` ->
``accept_redirect`` -> ``access_token`` (redeems the code once, then hands out the token while it is
valid and renews it with the refresh token when it is not). Whether a token is valid, due for
renewal or needs a sign-in is decided by one rule (``token_status``). With a token store the token
is shared with later runs and other robots: a valid stored token is returned with no network request
at all, and renewal happens under the store's renewal lock, once for all robots waiting on it,
written back with a compare-and-set so that it never overwrites a newer token.

What the store holds is never lost by this class: an entry is removed only at the version that
was read and decrypted (sign-out); a refresh token the SSO refused is marked, not removed (a
renewer whose lease ran out may still hand over the newer pair); a renewed pair is kept before
its access token is verified; and a stored token is handed out only to a robot whose settings it
matches (client, issuer, audience). ``docs/fleet.md`` tells the whole design.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .api_discovery import ApiDiscovery, keep_beside_token
from .config import HealthcodeConfig
from .errors import (
    HealthcodeAuthError,
    NoValidTokenError,
    SettingsMismatchError,
    SignedOutError,
    SignInError,
    StoreError,
    StoreLockTimeout,
    StoreNotAnsweringError,
    SupervisorNotAllowedError,
    escaped,
    first_line,
)
from .protocol.api_document import ApiDocument
from .protocol.jwt_verification import claims_of
from .protocol.provider_metadata import ProviderMetadata, parse_metadata
from .protocol.schedule import describe_duration
from .protocol.token import Token, TokenStatus, token_status
from .redaction import REDACTOR
from .renewal import RenewalSteps, SessionState, kept_in_memory, renewal_time_bound
from .storage import TokenStore, open_store
from .storage.record import RecordedEvent
from .storage.store import StoredAuthorisation, Versioned, entry_key
from .supervision import check_supervisor, supervision_event

if TYPE_CHECKING:  # what only a sign-in, a renewal, a wait or a notice needs is imported when one happens
    from .client import HealthcodeAuthClient
    from .protocol.authorization_request import AuthorizationCode, AuthorizationRequest

DEFAULT_SIGN_IN_HINT = "A supervisor must sign in first"
REFUSALS_QUIET = 600.0  # seconds during which an account refused again is not recorded again
log = logging.getLogger("healthcode_auth")


class HealthcodeSession(RenewalSteps):
    """One bot's authorisation, in memory and optionally in a shared token store; thread-safe."""

    def __init__(
        self,
        client: HealthcodeAuthClient | HealthcodeConfig,
        *,
        store: TokenStore | None = None,
        sign_in_hint: str = DEFAULT_SIGN_IN_HINT,
        metadata: ProviderMetadata | None = None,
    ) -> None:
        """``client`` is the client to sign in with, or just its configuration: the client (and the HTTP
        stack behind it, given ``metadata`` or the stored document) is then made when a request is
        first needed, so a robot that finds a valid token in the store never loads it."""
        if isinstance(client, HealthcodeConfig):
            self.config, self._client = client, None
        else:
            self.config, self._client = client.config, client
        self.store = store
        self.expiry_margin = self.config.expiry_margin
        self.sign_in_hint = sign_in_hint
        self._metadata = metadata  # the SSO's: the caller's, else the store's (below), else fetched
        self._stored_document: tuple[Mapping[str, Any], str] | None = None
        self.api_discovery = ApiDiscovery(self.config.api_discovery_url, lambda: self.client.transport)
        # Who is acting, for the supervision record; asked only when an event is recorded.
        # Front ends say e.g. {"via": "healthcode-auth login"} or {"suite": "Claims"}.
        self.describe_actor: Callable[[], Mapping[str, str]] = dict
        # Where a robot that waits for a supervisor says where it stands (at most once a minute).
        self.on_wait: Callable[[str], None] = log.info
        self._lock = threading.RLock()
        self._state = SessionState()
        self._exit_hook = False

    @classmethod
    def from_config(cls, config: HealthcodeConfig, **options: Any) -> HealthcodeSession:
        """A session with the configuration's client and token store (``options`` as for the class); a
        robot waits for another's renewal no longer than that can take (:func:`renewal_time_bound`)."""
        store = open_store(
            config.token_cache,
            lock_timeout=renewal_time_bound(config.timeout),
            timeout=config.timeout,
            ca_bundle=config.ca_bundle,
        )
        return cls(config, store=store, **options)

    @property
    def client(self) -> HealthcodeAuthClient:
        """The client, made on first use (it imports the HTTP and JWT machinery)."""
        if self._client is None:
            from .client import HealthcodeAuthClient

            self._client = HealthcodeAuthClient(self.config, metadata=self._metadata or self._stored_metadata())
        return self._client

    @client.setter
    def client(self, client: HealthcodeAuthClient) -> None:
        self._client = client

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
                    self._adopt(stored)
            return self._state.token

    @staticmethod
    def claims(token: Token) -> dict[str, Any]:
        """The token's claims. No request: every token was verified when it was received, and
        tokens from the store come from an encrypted store only this user (or fleet) can read."""
        return claims_of(token.access_token)

    def api_document(self, *, refresh: bool = False, remaining: float | None = None) -> ApiDocument:
        """Healthcode's API discovery document: this run's, else the one stored beside the token, else
        fetched (and then kept beside the token). ``refresh`` fetches it again; ``remaining`` bounds
        the fetch (seconds left of an API call's deadline)."""
        if self.api_discovery.known is None and not refresh and self.store is not None:
            stored = self.store.load(self.key)
            if stored is not None:
                self.api_discovery.offer(stored.entry.api_discovery, stored.entry.api_discovery_source)
        document, fetched = self.api_discovery.document(refresh=refresh, remaining=remaining)
        if fetched and self.store is not None:
            keep_beside_token(self.store, self.key, self.api_discovery)
        return document

    def start_sign_in(self) -> AuthorizationRequest:
        """A new sign-in replaces any pending one (its redirect will no longer be accepted)."""
        return self.resume_sign_in(self.client.start_sign_in())

    def resume_sign_in(self, sign_in: AuthorizationRequest) -> AuthorizationRequest:
        """Make ``sign_in`` the pending one: made here, or by another process (the portal's)."""
        # The verifier is a secret; the state and challenge are not, but an attacker who reads them
        # can try to slip a code of theirs into this sign-in, so they are kept out of logs too.
        REDACTOR.add(sign_in.code_verifier, sign_in.state, sign_in.code_challenge)
        with self._lock:
            self._state.sign_in = sign_in
            self._state.code = None
        return sign_in

    def accept_redirect(self, redirect_url: str) -> AuthorizationCode:
        """Check the redirect against the pending sign-in and keep its code for the exchange."""
        from .protocol.authorization_request import parse_redirect

        with self._lock:
            sign_in = self._state.sign_in
            if sign_in is None:
                raise SignInError(
                    "There is no sign-in in progress to complete. Open the Healthcode sign-in page first."
                )
            self._state.sign_in = None  # a sign-in's redirect is accepted once, right or wrong
            code = parse_redirect(redirect_url, sign_in)
            REDACTOR.add(code.code)
            self._state.code = code
            return code

    def access_token(self, wait: float | None = None) -> Token:
        """A valid token: the captured code's (redeemed once), the current one, or a renewed one.

        When a supervisor must sign in, a robot that may wait (``wait`` seconds; default the
        ``wait_for_authorisation`` setting) sends the "robots waiting" notice once for the fleet and
        waits for a sign-in to arrive in the store (daily_cycle.py). The wait is a total deadline
        from this call: a store that does not answer meanwhile is tried again within it."""
        limit = self.config.wait_for_authorisation if wait is None else wait
        store = self.store if limit > 0 and self._state.code is None else None  # a code is redeemed as it comes
        deadline, said = time.monotonic() + limit, None
        while True:
            try:
                with store.bounded(deadline) if store is not None else contextlib.nullcontext():
                    return self._access_token()
            except SettingsMismatchError:
                raise  # a setting to fix: no sign-in would help
            except NoValidTokenError as error:
                if store is None:
                    raise
                return self._wait_for_sign_in(limit, deadline, error)
            except (StoreNotAnsweringError, StoreLockTimeout) as error:
                from .daily_cycle import CUT, PROGRESS_EVERY

                pause = min(1.0, (deadline - time.monotonic()) / 2)  # a try again needs time left after it
                if store is None or deadline - time.monotonic() - pause <= CUT:
                    raise
                if said is None or time.monotonic() - said >= PROGRESS_EVERY:
                    said = time.monotonic()
                    self.on_wait(
                        f"The token store did not answer ({first_line(error, 300)}); trying again for "
                        f"{describe_duration(deadline - said)} more, the rest of the wait for a supervisor."
                    )
                time.sleep(pause)

    def _wait_for_sign_in(self, limit: float, deadline: float, error: NoValidTokenError) -> Token:
        from .daily_cycle import wait_for_sign_in

        assert self.store is not None
        waited = wait_for_sign_in(self.store, self.key, self.config, limit, self._valid_stored, self.on_wait, deadline)
        if waited.token is not None:
            self.on_wait(f"A supervisor signed in ({escaped(waited.token.supervisor or 'supervisor', 100)}): going on.")
            return waited.token
        raise type(error)(
            f"{error} Waited {describe_duration(waited.waited)} for a supervisor to sign in; {waited.told}."
        )

    def _valid_stored(self, stored: Versioned | None) -> Token | None:
        """The stored authorisation, adopted, when it is valid for this robot; else None."""
        if stored is None or self.status(stored.entry.token) is not TokenStatus.VALID:
            return None
        with self._lock:
            return self._adopt(stored)

    def _access_token(self) -> Token:
        with self._lock:
            if self._state.code is not None:
                code, self._state.code = self._state.code, None
                writable = self._prepare_store()  # before the single-use code is spent
                return self._keep_new(self.client.exchange_code(code), writable)
            if self._state.pending is not None:
                self._retry_pending()
            token = self._state.token
            if self.status(token) is TokenStatus.VALID:
                assert token is not None
                return token
            if self.store is None:
                return self._renew(token, None)
            stored = self.store.load(self.key)
            if stored is not None and self.status(stored.entry.token) is TokenStatus.VALID:
                return self._adopt(stored)
            # Nothing to renew (no refresh token, as at Healthcode; or nothing signed in): no robot
            # can renew it either, so there is no renewal lock to wait for (a frozen holder).
            if stored is not None and not stored.entry.token.refresh_token:
                return self._renew(self._adopt(stored), stored)
            if stored is None and token is None:
                return self._renew(None, None)
            with self.store.renewal_lock(self.key):
                # Another robot may have renewed it while this one waited for the lock.
                stored = self.store.load(self.key)
                if stored is None and token is not None:
                    # Removed since this robot read it (healthcode-auth logout): do not renew it back.
                    self._state = SessionState()
                    raise SignedOutError(
                        f"The Healthcode authorisation was removed from the token cache "
                        f"(signed out). {self.sign_in_hint}."
                    )
                if stored is not None:
                    token = self._adopt(stored)
                    if self.status(token) is TokenStatus.VALID:
                        return token
                return self._renew(token, stored)

    def check_store(self) -> None:
        """Before a supervisor signs in: the store can take a token (its key is at hand) and this
        client's entry can be read (StoreUnreadableError, saying why and what to do, if not)."""
        if self.store is not None:
            self.store.prepare()
            self.store.load(self.key)

    def clear(self) -> Token | None:
        """Forget the sign-in, the code and the token, in memory and in the store: the stored
        entry is removed only at the version read and decrypted here (StoreUnreadableError, and
        nothing removed, when it cannot be read). Returns the token that was removed or held."""
        with self._lock:
            token = self._state.token
            self._state = SessionState()
            if self.store is None:
                return token
            with self.store.renewal_lock(self.key):
                stored = self.store.load(self.key)
                if stored is None:
                    return token
                if not self.store.remove(self.key, stored.version):
                    raise StoreError(
                        f"The authorisation in {self.store.description} changed while it was being "
                        "removed (a robot renewed it, or a supervisor signed in). Run it again."
                    )
            self._record("signed-out", stored.entry.token)
            if self.config.notify:
                from . import notices

                actor = self.describe_actor()
                by = actor.get("user") or actor.get("via") or "an operator"
                notices.send(self.config.notify, notices.signed_out(self.config, stored.entry.token, by, time.time()))
            return stored.entry.token

    @property
    def refused_at(self) -> float | None:  # when the SSO refused to renew the current authorisation
        return self._state.refused_at

    def _prepare_store(self) -> bool:
        """True when the store can take the token about to be redeemed; otherwise say why, once,
        and keep that token in memory for this run (it is never lost to a failing store)."""
        if self.store is None:
            return False
        try:
            self.store.prepare()
        except StoreError as error:
            kept_in_memory(error)
            return False
        return True

    def _adopt(self, stored: Versioned) -> Token:
        """Use a stored authorisation, and its discovery document, so no request is needed. A valid
        token is never handed out to a robot whose settings it does not match."""
        entry = stored.entry
        token = entry.token
        if self.status(token) is TokenStatus.VALID:
            problem = entry.mismatch(
                client_id=self.config.client_id, discovery_url=self.config.discovery_url, audience=self.config.audience
            )
            if problem:
                raise SettingsMismatchError(
                    f"The stored Healthcode authorisation is not used: {problem}. Check "
                    f"that setting; if it is right, {self.sign_in_hint[0].lower()}"
                    f"{self.sign_in_hint[1:]}."
                )
        if stored.refused_at is not None:
            token = dataclasses.replace(token, refresh_token=None)  # nobody renews with it again
        if not entry.verified:
            token = dataclasses.replace(token, expires_at=0.0)  # due, whatever any clock says: never handed out
        REDACTOR.add(token.access_token, entry.token.refresh_token)
        self._state.token, self._state.refused_at = token, stored.refused_at
        self.api_discovery.offer(entry.api_discovery, entry.api_discovery_source)
        if entry.discovery and self._stored_document is None:
            self._stored_document = (entry.discovery, entry.discovery_source or entry.discovery_url)
            if self._client is not None and (metadata := self._stored_metadata()) is not None:
                self._client.use_metadata(metadata)
        return token

    def _stored_metadata(self) -> ProviderMetadata | None:
        """The stored discovery document, validated only when a client is made (a cached token needs
        none); a stale one is skipped: discovery is then fetched when renewal needs it."""
        with contextlib.suppress(HealthcodeAuthError):
            return None if self._stored_document is None else parse_metadata(*self._stored_document)
        return None

    def _keep_new(self, token: Token, writable: bool) -> Token:
        """A token from a sign-in supersedes what is stored (that this run can read), when its account
        may authorise the robots (supervisors; else nothing is kept, and the refusal is recorded)."""
        REDACTOR.add(token.access_token, token.refresh_token, token.id_token)
        try:
            check_supervisor(self.config, self.client.verified_claims(token) if self.config.supervisors else None)
        except SupervisorNotAllowedError as refusal:
            self._record_refusal(refusal.account, token)
            self._revoke_refused(token)
            raise
        self._state.token, self._state.refused_at = token, None
        if self.store is not None and writable:
            try:
                with self.store.renewal_lock(self.key):
                    stored = self.store.load(self.key)
                    kept = self.store.store(self._entry(token), None if stored is None else stored.version)
            except StoreError as error:
                kept_in_memory(error)
            else:
                if not kept:
                    log.warning(
                        "The new Healthcode token is kept for this run only: the entry in %s changed while "
                        "it was being stored. Sign in again if robots elsewhere need it.",
                        self.store.description,
                    )
        self._record("signed-in", token)
        if self.config.notify:
            from . import notices

            notices.send(self.config.notify, notices.authorised(self.config, token, time.time()))
        return token

    def history(self, limit: int = 20) -> list[RecordedEvent]:
        """The last ``limit`` events of the store's supervision record (none without a store)."""
        return [] if self.store is None else self.store.supervision.read(limit)

    def _record_refusal(self, account: str | None, token: Token) -> None:
        """Record a refused account once per :data:`REFUSALS_QUIET` seconds: a flood of sign-ins by
        accounts not on the list cannot push the supervisors' entries out of the record (it keeps
        the last MAX_HISTORY). Each refusal is logged all the same. A token that names no account
        (the claim is missing) is told apart by the supervisor it names, so one such account's
        refusals never keep another's out of the record."""
        if self.store is not None:
            who = account if account is not None else f"(no account) {token.supervisor}"
            digest = hashlib.sha256(f"{self.key}|{who}".encode("utf-8", "replace")).hexdigest()
            try:
                if not self.store.claim("refusal-recorded|" + digest, REFUSALS_QUIET).ours:
                    log.warning("Account %r was refused again; the record already says so.", account)
                    return
            except StoreError as error:
                log.warning("Could not tell whether this refusal is recorded already: %s", error)
        self._record("refused", token)

    def _revoke_refused(self, token: Token) -> None:
        """Revoke a refused account's token where the SSO supports revocation: nothing keeps it, and
        nobody should hold a token the robots' registration issued to an account not on the list."""
        try:
            self.client.revoke(token)
        except HealthcodeAuthError as error:
            log.warning("The refused account's token could not be revoked (it expires by itself): %s", error)

    def _record(self, event: str, token: Token | None) -> None:
        """Add to the supervision record: who authorised what, when, from where; never a secret."""
        if self.store is None:
            return
        try:
            self.store.supervision.append(supervision_event(event, token, self.config, self.describe_actor))
        except StoreError as error:
            log.warning("Could not add to the supervision record: %s", error)

    def _entry(self, token: Token, *, verified: bool = True) -> StoredAuthorisation:
        """The entry for a token this session received (one that failed verification records what
        it was verified for as nothing, and is never handed out)."""
        metadata = self.client.metadata
        api_discovery, api_source = self.api_discovery.stored_form()
        return StoredAuthorisation.received(
            self.config.discovery_url,
            self.config.client_id,
            token,
            claims_of(token.access_token) if verified else {},
            discovery=metadata.to_dict(),
            discovery_source=metadata.discovery_url,
            verified=verified,
            api_discovery=api_discovery,
            api_discovery_source=api_source,
        )
