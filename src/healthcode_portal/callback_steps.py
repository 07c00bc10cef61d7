"""The callback's steps after its code went to the SSO (see :mod:`.views`): what the store took,
what becomes of the sign-in's claims, which account signed in, and what a failed sign-in tells
the supervisor. Each is one place, so the view reads as the order of the steps."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from healthcode_auth.errors import (
    AuthorizationError,
    DiscoveryError,
    HealthcodeAuthError,
    StoreError,
    SupervisorNotAllowedError,
    TokenRequestError,
    TransportError,
)
from healthcode_auth.protocol.authorization_request import AuthorizationRequest
from healthcode_auth.protocol.token import Token
from healthcode_auth.storage.store import StoredAuthorisation, TokenStore

from .sign_in_cookie import Used, keep_used, release

log = logging.getLogger("healthcode_portal")
NOT_AUTHORISED = "The robots are not authorised yet."


class Failed(NamedTuple):
    """A callback whose sign-in failed once its code went to the SSO: the page, and the log's words."""

    status: int
    title: str
    text: str
    logged: str
    details: dict[str, Any]


def failed_sign_in(error: HealthcodeAuthError) -> Failed:
    """What the supervisor is told when the token request or what follows it failed. Nothing was
    stored in any of these (a store that did not take the token says so)."""
    again = "Start again from the portal's first page."
    if isinstance(error, SupervisorNotAllowedError):
        return Failed(
            403,
            "This account may not authorise the robots",
            "You signed in at Healthcode, but your account is not on the list of supervisors who may "
            "authorise these robots. Nothing was stored. Ask whoever runs the robots to add the account "
            "below to the supervisors setting, or ask a supervisor on the list.",
            f"account {error.account!r} may not authorise the robots",
            {"account": error.account, "claim": error.claim},
        )
    reason = {"reason": str(error)}
    if isinstance(error, (AuthorizationError, TokenRequestError)):
        text = f"Healthcode's sign-in did not give the robots an authorisation. Nothing was stored. {again}"
        return Failed(400, "The sign-in did not complete", text, "the sign-in failed", reason)
    if isinstance(error, StoreError):
        text = (
            "You signed in, but the robots' token store could not keep the authorisation. Try again "
            "later, or tell whoever runs the robots."
        )
        return Failed(503, NOT_AUTHORISED, text, "the token store cannot be used", reason)
    if isinstance(error, (TransportError, DiscoveryError)):
        text = (
            "The portal could not reach Healthcode's sign-in service to finish the sign-in. Nothing "
            "was stored. Start again in a few minutes."
        )
        return Failed(502, NOT_AUTHORISED, text, "the SSO cannot be reached", reason)
    text = "The authorisation could not be accepted. Nothing was stored."
    return Failed(400, "The sign-in did not complete", text, "the sign-in failed", reason)


class CallbackClaims:
    """A callback's claims (:func:`~.sign_in_cookie.first_use`) once its code goes to the SSO. The
    code's claim is made to last the moment a token issued on it is about to go to the store
    (:meth:`before_store`, before the write: a process killed or a store failing after the write
    never leaves a stored token's code claimed for 20 minutes only); a callback that sent nothing
    to the store lets both claims go (:meth:`settle`): a code refused, failed (a 5xx, a timeout, a
    lost answer) or issued to an account not on the list has nothing of the robots' on it. Neither
    raises: a store that fails leaves the claims to end by themselves, places among the claims."""

    def __init__(self, store: TokenStore | None, sign_in: AuthorizationRequest, code: str, used: Used) -> None:
        self.store, self.sign_in, self.code, self.used = store, sign_in, code, used
        self.to_store = False  # a token on this code was about to go to the store
        self.kept = False  # and its code's claim lasts

    def before_store(self) -> None:
        self.to_store = True
        if not self.kept and self.store is not None:
            try:
                self.kept = keep_used(self.store, self.code, self.used)
                if not self.kept:
                    log.warning("The used code's claim is another callback's now; it could not be kept.")
            except (StoreError, OSError) as error:
                log.warning("The used code's claim could not be kept for as long as its token: %s", error)

    def settle(self) -> None:
        """After the token request, whatever its outcome."""
        if self.to_store:
            self.before_store()  # once more, if the store failed before the write
            return
        if self.store is None:
            return
        try:
            release(self.store, self.sign_in, self.code, self.used)
        except (StoreError, OSError) as error:
            log.warning("The claims of this sign-in end by themselves (in 20 minutes): %s", error)


def note_writes(store: TokenStore, before: Callable[[], None]) -> dict[str, int | None]:
    """What the core writes to ``store`` in this request: each token's access token, and the version
    the store gave it (None: the store did not take it). The core keeps a token the store did not
    take for its own run, without saying so to its caller: the portal's supervisor must know.
    ``before`` runs before each write (:meth:`CallbackClaims.before_store`)."""
    written: dict[str, int | None] = {}
    write = store.store

    def noted(entry: StoredAuthorisation, expected_version: int | None) -> int | None:
        written[entry.token.access_token] = None
        before()
        version = write(entry, expected_version)
        written[entry.token.access_token] = version
        return version

    store.store = noted  # type: ignore[method-assign]  # this request's own store object
    return written


def check_stored(hc: Any, token: Token, written: dict[str, int | None]) -> None:
    """Whether the robots got this sign-in's authorisation: the store holds it now, or it held it
    and a newer write (another supervisor's sign-in, a sign-out) replaced it since. A sign-in the
    store did not take is a StoreError, whatever it holds now."""
    stored = hc.store.load(hc.key) if hc.store is not None else None
    if stored is not None and stored.entry.token.access_token == token.access_token:
        return
    version = written.get(token.access_token)
    if version is not None and (stored is None or stored.version > version):
        log.info("The new authorisation was stored (version %d), and replaced since by a newer one.", version)
        return
    raise StoreError("the token store did not take the new authorisation (see the portal's log)")


def account_of(hc: Any, token: Token) -> str | None:
    """The account as the allow-list names it (the verified ``supervisor_claim``, as the core
    checked it); None when it cannot be told (the portal session then shows nothing)."""
    config = hc.config
    if not config.supervisors:
        return token.supervisor
    try:
        claims = hc.client.verified_claims(token)
    except HealthcodeAuthError:
        return None
    value = (claims or {}).get(config.supervisor_claim)
    return value if isinstance(value, str) else None if value is None else json.dumps(value)
