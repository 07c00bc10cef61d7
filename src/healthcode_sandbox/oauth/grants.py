"""Authlib's grants, bound to the sandbox's store: Authorization Code with S256-only PKCE and
Refresh Token (with optional rotation), plus the RFC 6749 2.3.1 Basic-auth decoding fix.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote_plus

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidClientError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge

from ..settings import Account
from .models import AuthorizationCode, IssuedToken, OAuthClient

if TYPE_CHECKING:
    from .sandbox_state import SandboxState

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def _state(grant: Any) -> SandboxState:
    state: SandboxState = grant.server.state
    return state


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE as Healthcode requires it: a challenge on every request, method S256 only.

    Authlib's CodeChallenge lets a request without any challenge through at /authorize and
    defaults a missing method to ``plain``; both become ``invalid_request`` redirects here.
    """

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE (S256) is required.")
        if not data.get("code_challenge_method"):
            raise InvalidRequestError("Missing 'code_challenge_method': it must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class SandboxAuthorizationCodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """The authorization code grant over the in-memory store (codes are single-use, short-lived)."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    #: Set by the sign-in view before it asks Authlib for an ``access_denied`` redirect.
    denial_description: str | None = None

    def create_authorization_response(self, redirect_uri: str, grant_user: Account | None) -> Any:
        if grant_user is None and self.denial_description:
            raise AccessDeniedError(description=self.denial_description, redirect_uri=redirect_uri)
        return super().create_authorization_response(redirect_uri, grant_user)

    def save_authorization_code(self, code: str, request: Any) -> None:
        state = _state(self)
        data = request.payload.data
        state.store.save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                username=request.user.username,
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                expires_at=time.time() + state.faults.current.code_lifetime,
            )
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        return _state(self).store.find_code(code, client.get_client_id())

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # Marked used rather than deleted, so a replay is recognised and its tokens revoked.
        _state(self).store.mark_code_used(authorization_code)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Account | None:
        return _state(self).settings.account(authorization_code.username)


class SandboxRefreshTokenGrant(RefreshTokenGrant):  # type: ignore[misc]
    """The refresh token grant; with rotation on, each refresh token works once."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    @property
    def INCLUDE_NEW_REFRESH_TOKEN(self) -> bool:  # Authlib's attribute name, read per request
        return _state(self).settings.rotate_refresh_tokens

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        return _state(self).store.find_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token: IssuedToken) -> Account | None:
        return _state(self).settings.account(refresh_token.username)

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        if _state(self).settings.rotate_refresh_tokens:
            _state(self).store.revoke_refresh_token(refresh_token)


def authenticate_client_secret_basic(query_client: Any, request: Any) -> OAuthClient | None:
    """HTTP Basic client authentication with RFC 6749 2.3.1 decoding.

    The client id and secret are form-encoded (application/x-www-form-urlencoded) before Base64,
    so ``+`` stands for a space. Authlib 1.9 decodes them with ``unquote``, which keeps the ``+``
    and rejects a correctly encoded secret containing a space; this decodes with ``unquote_plus``.
    A Basic header that does not authenticate is answered with 401 at once (RFC 6749 5.2) rather
    than falling through to the next method, and undecodable headers never cause a server error.
    """
    auth = request.headers.get("Authorization", "")
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() != "basic" or not credentials.strip():
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _basic_failed("The Authorization header is not Base64 of client_id:client_secret.") from None
    raw_id, _, raw_secret = decoded.partition(":")
    client_id, client_secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    if not client_secret:
        return None  # "client_id:" is how some public clients send their id; let "none" decide
    client: OAuthClient | None = query_client(client_id)
    if client is None or not client.check_client_secret(client_secret):
        raise _basic_failed("Unknown client or wrong client secret.")
    return client


def _basic_failed(description: str) -> InvalidClientError:
    return InvalidClientError(status_code=401, description=description)
