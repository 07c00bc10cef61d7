"""One supervisor sign-in, from the authorization request to the code in the redirect.

A sign-in is one immutable :class:`AuthorizationRequest`, created when the sign-in page is opened
and consumed when the code is exchanged: it holds the PKCE verifier, ``state``, ``nonce`` and the
exact redirect URI, so nothing about the sign-in lives in mutable globals.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..errors import AuthorizationDenied, AuthorizationError, IssuerMismatchError, StateMismatchError, printable
from .pkce import CODE_CHALLENGE_METHOD, generate_code_verifier, random_token, s256_challenge
from .urls import origin_of, split_url

MAX_REDIRECT_LENGTH = 16_384

# What each RFC 6749 section 4.1.2.1 error means for the person running the robot.
ERROR_ADVICE = {
    "access_denied": "The supervisor declined or cancelled the sign-in. Ask the supervisor to sign in "
    "again and approve the request.",
    "invalid_request": "The SSO server rejected the sign-in request. Check client_id, redirect_uri and "
    "scope against your Healthcode registration.",
    "unauthorized_client": "This client is not allowed to use the authorization code flow. Contact your "
    "Healthcode Business Development Manager about the registration.",
    "unsupported_response_type": "The SSO server does not support the authorization code flow for "
    "this client. Check the registration with Healthcode.",
    "invalid_scope": "The requested scope is not allowed. Check the scope setting.",
    "server_error": "The SSO server failed while signing in. Try again later.",
    "temporarily_unavailable": "The SSO server is temporarily unavailable. Try again later.",
    "login_required": "The supervisor must sign in interactively.",
    "consent_required": "The supervisor must approve the request interactively.",
    "interaction_required": "The supervisor must complete the sign-in interactively.",
}


@dataclass(frozen=True)
class AuthorizationRequest:
    """The client side of one sign-in: everything needed to check the redirect and redeem the code."""

    url: str = field(repr=False)  # its query carries the state and the code challenge
    client_id: str
    redirect_uri: str
    issuer: str
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)
    nonce: str | None = field(default=None, repr=False)
    scope: str | None = None
    require_iss: bool = False
    created_at: float = field(default_factory=time.time)

    @property
    def code_challenge(self) -> str:
        return s256_challenge(self.code_verifier)

    @property
    def sso_origins(self) -> tuple[str, ...]:
        """Where the SSO's own redirect may come from: the authorization endpoint's origin and the
        issuer's. A redirect to the redirect URI from anywhere else is not this sign-in's."""
        return tuple(dict.fromkeys(origin_of(u) for u in (self.url, self.issuer)))


@dataclass(frozen=True)
class AuthorizationCode:
    """The code from a successful redirect, with the request it belongs to."""

    code: str = field(repr=False)
    request: AuthorizationRequest
    issuer: str | None = None


def start_authorization(
    *,
    authorization_endpoint: str,
    issuer: str,
    client_id: str,
    redirect_uri: str,
    scope: str | None = None,
    require_iss: bool = False,
) -> AuthorizationRequest:
    """Create a new sign-in: fresh verifier, state (and nonce for OpenID scopes), and its URL.

    ``require_iss`` is the server's ``authorization_response_iss_parameter_supported`` (RFC 9207).
    """
    verifier = generate_code_verifier()
    state = random_token()
    nonce = random_token() if "openid" in (scope or "").split() else None
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": s256_challenge(verifier),
        "code_challenge_method": CODE_CHALLENGE_METHOD,
    }
    if scope:
        params["scope"] = scope
    if nonce:
        params["nonce"] = nonce
    return AuthorizationRequest(
        url=_add_query(authorization_endpoint, params),
        client_id=client_id,
        redirect_uri=redirect_uri,
        issuer=issuer,
        state=state,
        code_verifier=verifier,
        nonce=nonce,
        scope=scope,
        require_iss=require_iss,
    )


def _add_query(endpoint: str, params: dict[str, str]) -> str:
    """Append parameters, keeping any query the endpoint already has (RFC 6749 section 3.1)."""
    parts = urlsplit(endpoint)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return parts._replace(query=urlencode(query)).geturl()


def is_redirect_uri(url: str, redirect_uri: str) -> bool:
    """True when ``url`` is the redirect URI with a response attached (same scheme, host, path)."""
    actual, expected = split_url(url), split_url(redirect_uri)
    if actual is None or expected is None:
        return False
    return (actual.scheme.lower(), actual.netloc.lower(), actual.path or "/") == (
        expected.scheme.lower(),
        expected.netloc.lower(),
        expected.path or "/",
    )


def parse_redirect(url: str, request: AuthorizationRequest) -> AuthorizationCode:
    """Check the URL the SSO server redirected the supervisor to and take the code from it.

    Order matters: ``state`` is checked before an error is believed, so a forged
    ``error=access_denied`` cannot end a sign-in it does not belong to (RFC 6749 section 10.12).
    """
    if not isinstance(url, str) or len(url) > MAX_REDIRECT_LENGTH:
        raise AuthorizationError(
            "The redirect from the SSO server is missing or too long to be a sign-in "
            "response. Ask the supervisor to sign in again."
        )
    if not is_redirect_uri(url, request.redirect_uri):
        raise AuthorizationError(
            f"The browser was sent to {_without_query(url)}, not to the configured "
            f"redirect URI {request.redirect_uri}. Check that redirect_uri is exactly "
            "the post-authentication URL registered with Healthcode."
        )
    parts = split_url(url)
    assert parts is not None
    params = _single_params(parts.query)
    state = params.get("state")
    if state is None:
        raise StateMismatchError(
            "The redirect from the SSO server has no 'state', so it cannot be matched "
            "to this sign-in (possible forged redirect). Ask the supervisor to sign in "
            "again."
        )
    if not hmac.compare_digest(state.encode("utf-8", "replace"), request.state.encode("utf-8")):
        raise StateMismatchError(
            "The redirect's 'state' does not match this sign-in: it is forged or "
            "belongs to an earlier sign-in. Ask the supervisor to sign in again from "
            "the page the robot opens."
        )
    iss = params.get("iss")
    if iss is not None and iss != request.issuer:
        raise IssuerMismatchError(
            f"The redirect names the issuer '{iss[:200]}', not '{request.issuer}' "
            "(RFC 9207). It may come from another server; ask the supervisor to "
            "sign in again."
        )
    if "error" in params:
        raise _denied(params["error"], params.get("error_description"))
    if iss is None and request.require_iss:
        raise IssuerMismatchError(
            "The redirect has no 'iss' although the SSO server promises one "
            "(RFC 9207). Ask the supervisor to sign in again."
        )
    code = params.get("code")
    if not code:
        raise AuthorizationError(
            "The redirect from the SSO server has no authorization code. Ask the supervisor to sign in again."
        )
    return AuthorizationCode(code=code, request=request, issuer=iss)


def _single_params(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in params:
            # RFC 6749 section 3.1: parameters must not be repeated.
            raise AuthorizationError(
                f"The redirect repeats the parameter '{key[:40]}', which a valid "
                "sign-in response never does. Ask the supervisor to sign in again."
            )
        params[key] = value
    return params


def _denied(error: str, description: str | None) -> AuthorizationDenied:
    error = printable(error, 64) or "unknown_error"
    advice = ERROR_ADVICE.get(error, "The sign-in did not complete. Ask the supervisor to sign in again.")
    said = printable(description, 300) if description else None
    message = f"{advice} (SSO error '{error}'" + (f": {said})" if said else ")")
    return AuthorizationDenied(error, said, message)


def _without_query(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0][:200]
