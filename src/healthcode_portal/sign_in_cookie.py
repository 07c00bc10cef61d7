"""The pending sign-in, bound to the supervisor's browser by a sealed cookie, usable once.

When a supervisor presses "Authorise the robots", the portal starts a sign-in (state, PKCE
verifier, nonce) and keeps it nowhere but in a cookie sealed with the project's own sealing
(``healthcode_auth.storage.sealing``: AES-GCM, authenticated, with the fleet's key), so any portal
process of the fleet can finish it, and nobody, the browser included, can read or change it. The
cookie lives 10 minutes (its ``created_at`` is checked too, not only the browser's Max-Age) and is
used once: the callback deletes it, and the state is claimed in the token store
(:meth:`~healthcode_auth.storage.store.TokenStore.claim`), so a replayed callback is refused by
every portal process, even with a copy of the cookie.

Each sign-in has a cookie of its own, named from a digest of its state (:func:`cookie_name`, as
oauth2-proxy does): two tabs can sign in at once, and a stray callback (another tab's, or a link to
``postauth?state=junk``) finds no cookie of its state, so it cannot delete a sign-in in progress. A
browser keeps at most :data:`MAX_PENDING` of them (the oldest go first), so their path is the
portal's (the Authorise page sees them), not only the callback's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

from healthcode_auth.protocol.authorization_request import AuthorizationRequest
from healthcode_auth.storage.claims import Claim
from healthcode_auth.storage.sealing import Sealer, Unreadable, new_sealer, unseal
from healthcode_auth.storage.store import TokenStore

COOKIE_PREFIX = "healthcode_portal_sign_in_"  # then a digest of the sign-in's state
_COOKIE_NAME = re.compile(re.escape(COOKIE_PREFIX) + "[0-9a-f]{32}")
_COOKIE_SALT = hashlib.sha256(b"healthcode-portal-sign-in-cookie/1").digest()[:16]  # the purpose's, fixed
_COOKIE_SALT_TEXT = base64.b64encode(_COOKIE_SALT).decode("ascii")
MAX_PENDING = 3  # sign-ins a browser may have in progress at once (tabs): each cookie is about 1 KB
LIFETIME = 600.0  # seconds a sign-in may take, from the button to the callback
PURPOSE = "healthcode-portal-sign-in/1"  # a sealed document of any other kind is no sign-in cookie
MAX_COOKIE = 3800  # browsers keep 4096 bytes per cookie, name and attributes included
CLAIM_KEEP = 2 * LIFETIME  # a used state is remembered longer than a cookie could be used
CODE_KEEP = 86400.0  # a used code a stored token was issued on: as long as it lives (the SSO revokes it on reuse)
CLOCK_SKEW = 60.0  # portal processes' clocks may differ this much


class BadSignInCookie(Exception):
    """The cookie is missing, expired, damaged, or not this portal's; the message says which, in a
    supervisor's words, and never quotes it."""


def seal_sign_in(sign_in: AuthorizationRequest, sealer: Sealer) -> str:
    """The cookie's value: the sign-in's fields, sealed. The authorization URL is kept without its
    query (its origin is what the core checks the redirect against)."""
    payload = {
        "purpose": PURPOSE,
        "url": sign_in.url.split("?", 1)[0],
        "client_id": sign_in.client_id,
        "redirect_uri": sign_in.redirect_uri,
        "issuer": sign_in.issuer,
        "state": sign_in.state,
        "code_verifier": sign_in.code_verifier,
        "nonce": sign_in.nonce,
        "scope": sign_in.scope,
        "require_iss": sign_in.require_iss,
        "created_at": sign_in.created_at,
    }
    value = base64.urlsafe_b64encode(sealer.seal(payload)).decode("ascii").rstrip("=")
    if len(value) > MAX_COOKIE:
        raise ValueError("the sealed sign-in does not fit in a cookie")
    return value


def cookie_name(state: str) -> str:
    """The cookie of the sign-in with this state: a digest, so neither the name nor a guess reveals it."""
    return COOKIE_PREFIX + hashlib.sha256(state.encode("utf-8", "replace")).hexdigest()[:32]


def surplus_sign_ins(cookies: Mapping[str, str], environ: dict[str, str], keep: int) -> list[str]:
    """The names of the pending sign-in cookies beyond the newest ``keep`` (those that cannot be
    opened first, then the oldest): a new sign-in replaces them, so a browser holds few. At most
    ``keep + 2`` are opened; others of our name are dropped unopened (a browser stuffed with them)."""
    ages = []
    ours = [name for name in cookies if _COOKIE_NAME.fullmatch(name)]
    for number, name in enumerate(ours):
        created = 0.0
        if number < keep + 2:
            try:
                payload, _ = _unsealed(cookies[name], environ)
                created = float(payload.get("created_at", 0.0))
            except (binascii.Error, ValueError, TypeError, Unreadable):
                created = 0.0
        ages.append((created, name))
    return [name for _, name in sorted(ages)[: max(0, len(ages) - keep)]]


def _unsealed(value: str, environ: dict[str, str]) -> tuple[dict[str, Any], Sealer]:
    """A cookie's sealed document, opened only when it was sealed as the portal seals (its salt and
    key source): a forged one never costs a key derivation (a passphrase's scrypt) with its salt."""
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    header = json.loads(raw)
    if not isinstance(header, dict) or header.get("salt") != _COOKIE_SALT_TEXT:
        raise ValueError("not sealed by the portal")
    return unseal(raw, environ)


def open_sign_in(
    value: str | None, environ: dict[str, str], *, client_id: str, redirect_uri: str, now: float | None = None
) -> AuthorizationRequest:
    """The sign-in the cookie holds; BadSignInCookie when there is none this portal can use now."""
    if not value:
        raise BadSignInCookie(
            "This browser holds no sign-in started by the portal for this answer (its cookie is "
            "missing: it expired, was used already, was started in another browser, or cookies "
            "are blocked). If you started a sign-in in another tab, finish it there."
        )
    if len(value) > MAX_COOKIE:
        raise BadSignInCookie("The sign-in cookie is not one the portal wrote.")
    try:
        payload, _ = _unsealed(value, environ)
    except (binascii.Error, ValueError, RecursionError, Unreadable):
        raise BadSignInCookie(
            "The sign-in cookie cannot be opened: it was altered, or it was sealed with another key than this portal's."
        ) from None
    try:
        sign_in = _request_from(payload)
    except (KeyError, TypeError, ValueError):
        raise BadSignInCookie("The sign-in cookie is not one the portal wrote.") from None
    if sign_in.client_id != client_id or sign_in.redirect_uri != redirect_uri:
        raise BadSignInCookie("The sign-in cookie was made for another client or redirect URI.")
    now = time.time() if now is None else now
    if not sign_in.created_at - CLOCK_SKEW <= now <= sign_in.created_at + LIFETIME:
        raise BadSignInCookie("The sign-in took longer than 10 minutes, so it has expired.")
    return sign_in


def state_matches(sign_in: AuthorizationRequest, state: str | None) -> bool:
    """Whether the callback's state is the cookie's (in constant time)."""
    return state is not None and hmac.compare_digest(state.encode("utf-8", "replace"), sign_in.state.encode("utf-8"))


class Used(NamedTuple):
    """The claims a callback took before its code went to the SSO: its state's and its code's."""

    state: Claim
    code: Claim


def first_use(store: TokenStore, sign_in: AuthorizationRequest, code: str) -> Used | None:
    """Claim this sign-in's state, and then its code, in the store: both claims the first time; None
    for a replay (by any portal process of the fleet), for a code used already (swapped into another
    sign-in: RFC 6749 4.1.2, the SSO would revoke what it issued on it), and when the store may have
    let go of claims made since the sign-in started (a flood filled it): a replay could not be told
    then. What was claimed for a callback refused here is let go at once (nothing went to the SSO).
    Both claims hold :data:`CLAIM_KEEP` while the code goes to the SSO; then the caller either keeps
    them (:func:`keep_used`: a token on that code was stored) or lets them go (:func:`release`).
    The claims' names are digests: no state or code is written to the store."""
    name = _state_name(sign_in)
    state = store.claim(name, CLAIM_KEEP, CLAIM_KEEP)
    if not state.ours:
        return None
    # Read after the claim (which may let claims go), by the clock of whichever portal did: a margin.
    if store.claims_forgotten_before() + CLOCK_SKEW >= sign_in.created_at:
        _let_go(store, name, state)  # refused for good: its sign-in started too early
        return None
    used = store.claim(_code_name(code), CLAIM_KEEP, CLAIM_KEEP)
    if not used.ours:
        _let_go(store, name, state)
        return None
    return Used(state, used)


def keep_used(store: TokenStore, code: str, used: Used) -> bool:
    """A token issued on ``code`` goes to the store: its code stays claimed :data:`CODE_KEEP` (as
    long as that token lives), so a copy of it sent in any later sign-in never reaches the SSO,
    which would revoke what it issued on it (RFC 6749 section 4.1.2). Such a claim is done and
    lasts: a file store never lets it go early (``file_store.LASTING``). A claim pushed out
    meanwhile (a file store near full) is claimed anew for as long. The state's claim keeps its own
    time (longer than its cookie lives). False when another callback holds the code now."""
    name = _code_name(code)
    if store.settle_claim(name, used.code, done=True, hold=CODE_KEEP, keep=CODE_KEEP):
        return True
    again = store.claim(name, CODE_KEEP, CODE_KEEP)
    return again.ours and store.settle_claim(name, again, done=True, hold=CODE_KEEP, keep=CODE_KEEP)


def release(store: TokenStore, sign_in: AuthorizationRequest, code: str, used: Used) -> None:
    """Let go of the claims of a callback that stored nothing, however it ended: the SSO refused the
    code, failed, did not answer, issued a token to an account that may not authorise the robots,
    or the store did not take it. Nothing the robots keep was issued on that code, so its reuse
    revokes nothing of theirs, and a visitor's code holds no place among the store's claims. A
    released claim holds nobody back, so the file store lets it go first and forgets nothing by it:
    junk callbacks (during an SSO outage too) can neither push a supervisor's used state or code
    out nor refuse a supervisor's sign-in."""
    _let_go(store, _state_name(sign_in), used.state)
    _let_go(store, _code_name(code), used.code)


def _let_go(store: TokenStore, name: str, claim: Claim) -> None:
    store.settle_claim(name, claim, done=False, hold=0.0, keep=0.0)


def _state_name(sign_in: AuthorizationRequest) -> str:
    return "portal-state|" + hashlib.sha256(sign_in.state.encode("utf-8")).hexdigest()


def _code_name(code: str) -> str:
    return "portal-code|" + hashlib.sha256(code.encode("utf-8", "replace")).hexdigest()


def _request_from(payload: Mapping[str, Any]) -> AuthorizationRequest:
    if payload.get("purpose") != PURPOSE:
        raise ValueError("not a sign-in cookie")
    texts = {name: payload[name] for name in ("url", "client_id", "redirect_uri", "issuer", "state", "code_verifier")}
    optional = {name: payload.get(name) for name in ("nonce", "scope")}
    if not all(isinstance(v, str) and v for v in texts.values()) or not all(
        v is None or isinstance(v, str) for v in optional.values()
    ):
        raise ValueError("a field is not a text")
    created_at, require_iss = payload["created_at"], payload["require_iss"]
    if isinstance(created_at, bool) or not isinstance(created_at, (int, float)) or not isinstance(require_iss, bool):
        raise ValueError("a field has the wrong type")
    return AuthorizationRequest(
        url=texts["url"],
        client_id=texts["client_id"],
        redirect_uri=texts["redirect_uri"],
        issuer=texts["issuer"],
        state=texts["state"],
        code_verifier=texts["code_verifier"],
        nonce=optional["nonce"],
        scope=optional["scope"],
        require_iss=require_iss,
        created_at=float(created_at),
    )


def new_cookie_sealer(environ: dict[str, str]) -> Sealer:
    """The sealer of the portal's sign-in cookies: the key new documents use (HEALTHCODE_CACHE_KEY,
    the keyring or the key file, as the store), with the cookies' own fixed salt, so every portal
    process derives one key once, and a cookie with another salt is refused before any derivation."""
    return Sealer(new_sealer(environ).key, _COOKIE_SALT)
