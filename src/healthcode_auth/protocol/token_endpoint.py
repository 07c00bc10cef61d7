"""The token endpoint (RFC 6749 sections 4.1.3, 5 and 6): requests built and answers parsed.

Requests are plain data (URL, form fields, headers) so they can be tested without a network;
:func:`parse_token_response` turns any answer, however malformed, into a :class:`Token` or a
:class:`~healthcode_auth.errors.TokenRequestError`.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from ..errors import InvalidGrantError, TokenRequestError, printable
from .expiry import MAX_EXPIRES_IN as MAX_EXPIRES_IN  # defined here first; the rule now lives in expiry
from .expiry import expiry_from_expires_in
from .token import Token

# What each RFC 6749 section 5.2 error means for the person running the robot.
TOKEN_ERROR_ADVICE = {
    "invalid_grant": "The authorization was refused: the code was already used or has expired, or the "
    "code verifier or redirect URI does not match. A supervisor must sign in again.",
    "invalid_client": "The SSO server did not accept the client's credentials. Check client_id and "
    "client_secret against your Healthcode registration.",
    "unauthorized_client": "This client is not allowed to use this grant. Contact your Healthcode "
    "Business Development Manager about the registration.",
    "invalid_request": "The SSO server rejected the token request as malformed. Check client_id and "
    "redirect_uri against your Healthcode registration.",
    "unsupported_grant_type": "The SSO server does not support this grant for the client.",
    "invalid_scope": "The requested scope is not allowed. Check the scope setting.",
}


@dataclass(frozen=True)
class TokenRequest:
    """A token endpoint request as plain data; ``repr`` shows neither the form nor the headers."""

    url: str
    grant_type: str
    form: Mapping[str, str] = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)


def basic_authorization(client_id: str, client_secret: str) -> str:
    """HTTP Basic credentials, each part form-urlencoded first (RFC 6749 section 2.3.1)."""
    pair = f"{quote_plus(client_id, safe='')}:{quote_plus(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


@dataclass(frozen=True)
class ClientAuthentication:
    """How this client authenticates at the token and revocation endpoints (RFC 6749 section 2.3).

    ``method`` is ``none`` (a public client, protected by PKCE alone), ``client_secret_basic`` or
    ``client_secret_post``; :func:`client_authentication` chooses it from the server's metadata.
    ``basic_user`` is the Basic header's user when it is not the client id: Healthcode's bot page
    shows a Basic header whose user (``epractice``) differs from the body's ``client_id``.
    """

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    method: str = "none"
    basic_user: str | None = None


def client_authentication(
    client_id: str, client_secret: str | None, supported_methods: Sequence[str] | None, basic_user: str | None = None
) -> ClientAuthentication:
    """Basic, unless the server lists ``client_secret_post`` but not Basic (RFC 8414 section 2:
    ``client_secret_basic`` is the default when the server lists nothing)."""
    if client_secret is None:
        return ClientAuthentication(client_id)
    methods = supported_methods or ()
    method = (
        "client_secret_post"
        if methods and "client_secret_basic" not in methods and "client_secret_post" in methods
        else "client_secret_basic"
    )
    return ClientAuthentication(client_id, client_secret, method, basic_user)


def authorization_code_request(
    token_endpoint: str, client: ClientAuthentication, *, code: str, redirect_uri: str, code_verifier: str
) -> TokenRequest:
    """The request that redeems a code, exactly as Healthcode documents it."""
    return _token_request(
        token_endpoint,
        client,
        "authorization_code",
        {"code": code, "redirect_uri": redirect_uri, "code_verifier": code_verifier},
    )


def refresh_token_request(token_endpoint: str, client: ClientAuthentication, refresh_token: str) -> TokenRequest:
    """The request that renews an access token (RFC 6749 section 6)."""
    return _token_request(token_endpoint, client, "refresh_token", {"refresh_token": refresh_token})


def revocation_request(
    revocation_endpoint: str, client: ClientAuthentication, token: str, token_type_hint: str
) -> TokenRequest:
    """The request that revokes a token (RFC 7009 section 2.1), authenticated like a token request."""
    return _token_request(revocation_endpoint, client, None, {"token": token, "token_type_hint": token_type_hint})


def _token_request(
    url: str, client: ClientAuthentication, grant_type: str | None, fields: dict[str, str]
) -> TokenRequest:
    form = {"client_id": client.client_id, **fields}
    if grant_type:
        form = {"grant_type": grant_type, **form}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if client.client_secret is not None and client.method == "client_secret_post":
        form["client_secret"] = client.client_secret
    elif client.client_secret is not None:
        headers["Authorization"] = basic_authorization(client.basic_user or client.client_id, client.client_secret)
    return TokenRequest(url, grant_type or "revocation", form, headers)


def parse_token_response(
    status_code: int,
    content_type: str,
    body: Any,
    now: float | None = None,
) -> Token:
    """Turn the token endpoint's answer into a :class:`Token` or a :class:`TokenRequestError`.

    ``body`` is the decoded JSON (any type) or None when the answer was not JSON. The token's
    ``expires_at`` comes from ``expires_in`` when that is a sane lifetime, else it is None; the
    answer's ``expires_in`` is kept as sent (``Token.expires_in``) so that the expiry can be
    settled against the token's own ``exp`` (:func:`~.expiry.settle_expiry`).
    """
    if status_code >= 500:
        raise TokenRequestError(
            f"The token endpoint failed with HTTP {status_code}: the SSO server may be down. Try again later.",
            status_code=status_code,
        )
    if not isinstance(body, dict):
        raise parse_error_response(status_code, content_type, body)
    if status_code != 200 or "error" in body:
        raise _token_error(status_code, body)
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token or not access_token.isprintable():
        raise TokenRequestError("The token endpoint's answer has no usable access_token.", status_code=status_code)
    token_type = body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenRequestError(
            f"The token endpoint issued a token of type '{_short(token_type)}', not "
            "a Bearer token, which Healthcode's APIs require.",
            status_code=status_code,
        )
    issued = time.time() if now is None else now
    return Token(
        access_token=access_token,
        token_type="Bearer",
        expires_at=expiry_from_expires_in(body.get("expires_in"), issued),
        refresh_token=_optional_text(body, "refresh_token"),
        scope=_optional_text(body, "scope"),
        id_token=_optional_text(body, "id_token"),
        issued_at=issued,
        expires_in=body.get("expires_in"),
    )


def parse_error_response(status_code: int, content_type: str, body: Any, what: str = "token") -> TokenRequestError:
    """The error for a non-200 answer of the token or revocation endpoint."""
    if isinstance(body, dict):
        return _token_error(status_code, body)
    kind = "an HTML page" if "html" in content_type.lower() else "an answer that is not a JSON object"
    return TokenRequestError(
        f"The {what} endpoint returned {kind} (HTTP {status_code}). Check the environment "
        "setting and any proxy between you and the SSO server.",
        status_code=status_code,
    )


def _token_error(status_code: int, body: Mapping[str, Any]) -> TokenRequestError:
    error = body.get("error")
    if not isinstance(error, str) or not error:
        return TokenRequestError(
            f"The token endpoint answered HTTP {status_code} without an OAuth error.", status_code=status_code
        )
    error = _short(error, 64)
    raw = body.get("error_description")
    description = _short(raw, 300) if isinstance(raw, str) else None
    advice = TOKEN_ERROR_ADVICE.get(error, "The token request was refused.")
    message = f"{advice} (SSO error '{error}'" + (f": {description})" if description else ")")
    cls = InvalidGrantError if error == "invalid_grant" else TokenRequestError
    return cls(message, error=error, description=description, status_code=status_code)


def _optional_text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.isprintable():
        raise TokenRequestError(f"The token endpoint sent a '{key}' that is not a string.")
    return value or None


def _short(value: object, limit: int = 40) -> str:
    return printable(str(value), limit)
