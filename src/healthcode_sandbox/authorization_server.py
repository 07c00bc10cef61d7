"""Authlib's authorization and resource server, wired to one sandbox's state.

Authorization Code with S256-only PKCE, Refresh Token (rotating unless told otherwise), client
authentication (with the RFC 6749 2.3.1 Basic decoding fix), RFC 7009 revocation, the RFC 9207
``iss`` parameter and RFC 9068 JWT access tokens. The Flask app holds the server, and the server
holds the sandbox's state: :func:`current_server` is how every view reaches both.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Mapping
from typing import Any, ClassVar, cast
from urllib.parse import unquote_plus

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request, UnsupportedGrantTypeError
from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidClientError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask, current_app
from flask import request as flask_request
from joserfc import jwt
from joserfc.jwk import KeySet

from .sandbox_state import ALGORITHM, AuthorizationCode, IssuedToken, PendingSignIn, SandboxState
from .settings import DEFAULT_SCOPE, Account, Client

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def current_server() -> SandboxAuthorizationServer:
    """The authorization server of the sandbox whose app serves this request (one app per sandbox)."""
    return cast("SandboxAuthorizationServer", current_app.extensions["healthcode_sandbox"])


def _state(grant_or_endpoint: Any) -> SandboxState:
    """The state of the sandbox whose server runs this Authlib grant or endpoint."""
    state: SandboxState = grant_or_endpoint.server.state
    return state


class OAuthClient:
    """A :class:`Client` registration as Authlib's grants and client authentication see it.

    Built per request, so whether it may use refresh tokens follows the live knob.
    """

    def __init__(self, registration: Client, refresh_tokens: bool) -> None:
        self.registration = registration
        self._refresh_tokens = refresh_tokens

    def get_client_id(self) -> str:
        return self.registration.client_id

    def get_default_redirect_uri(self) -> None:
        # Healthcode's authorization request always names its redirect_uri, and the token request
        # must repeat it; having no default makes a client that leaves it out fail here, visibly.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The registered scope when none is asked for (RFC 6749 3.3); None (invalid_scope) when
        any asked-for scope is not registered for this client."""
        allowed = self.registration.scope.split()
        if not scope:
            return " ".join(allowed)
        requested = scope.split()
        return " ".join(dict.fromkeys(requested)) if set(requested) <= set(allowed) else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.registration.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        secret = self.registration.client_secret
        return secret is not None and secrets.compare_digest(secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in self.registration.token_endpoint_auth_methods

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return self._refresh_tokens if grant_type == "refresh_token" else grant_type == "authorization_code"


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


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """The authorization code grant over the sandbox's store (codes are single-use, short-lived)."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    denial_description: str | None = None  # set by the sign-in view before it asks for access_denied

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
        authorization_code.used = True  # kept, so a replay is recognised and its tokens revoked

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Account | None:
        return _state(self).settings.account(authorization_code.username)


class RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
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
        if self.INCLUDE_NEW_REFRESH_TOKEN:
            refresh_token.refresh_revoked = True


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """``POST /revoke``. Revoking a refresh token also revokes the access tokens of its grant
    (RFC 7009 2.1), which the sandbox's protected APIs then refuse."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return _state(self).store.find_token(token_string, token_type_hint)

    def revoke_token(self, token: IssuedToken, request: Any) -> None:
        store = _state(self).store
        if token.refresh_token is not None and request.form.get("token") == token.refresh_token:
            store.revoke_grant(token.grant_id)
        else:
            store.revoke_access_token(token)


class AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """The token response: an RS256 JWT access token (``typ: at+jwt``), ``expires_in`` and, while
    the knob is on, a refresh token. The lifetime is read per token, so a test can change it."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(
            issuer=state.issuer,
            alg=ALGORITHM,
            refresh_token_generator=lambda **_: secrets.token_urlsafe(32),
            expires_generator=lambda client, grant_type: state.faults.current.token_lifetime,
        )
        self._state = state

    def get_jwks(self) -> KeySet:
        return self._state.keys.signing_keyset()

    def get_audiences(self, client: OAuthClient, user: Account | None, scope: str) -> str:
        return self._state.settings.audience or client.get_client_id()

    def get_jti(self, client: OAuthClient, grant_type: str, user: Account | None, scope: str) -> str:
        return secrets.token_urlsafe(18)


class _PlainHttpAllowed(OAuth2Request):  # type: ignore[misc]
    # Authlib refuses plain http except on loopback, and its only switch is the process-wide
    # AUTHLIB_INSECURE_TRANSPORT. The sandbox decides for itself: a stored request's URI is its own
    # endpoint (the issuer chosen at start), and with allow_remote it serves plain http to other
    # hosts on purpose. So Authlib checks a loopback URI, and the request keeps its own.
    def __init__(self, method: str, uri: str, body: Any = None, headers: Any = None) -> None:
        super().__init__(method, "http://127.0.0.1/", body, headers)
        self.uri = uri


class _RemoteRequest(FlaskOAuth2Request, _PlainHttpAllowed):  # type: ignore[misc]
    def __init__(self, request: Any) -> None:
        FlaskOAuth2Request.__init__(self, request)  # which calls _PlainHttpAllowed.__init__ with the URI


class StoredAuthorizationRequest(_PlainHttpAllowed):
    """An authorization request rebuilt from a :class:`PendingSignIn`: the sign-in form posts only a
    random ``request_id``, and the parameters Authlib checks again come from the store."""

    def __init__(self, uri: str, params: dict[str, str]) -> None:
        super().__init__("GET", uri, headers={})
        self.payload = BasicOAuth2Payload(params)
        self._params = params

    @property
    def args(self) -> dict[str, str]:
        return self._params

    @property
    def form(self) -> dict[str, str]:
        return {}


class _Issuer(IssuerParameter):  # type: ignore[misc]
    """Adds ``iss`` to every authorization response, errors included (RFC 9207)."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


class SandboxAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's Flask authorization server wired to one sandbox's state."""

    def __init__(self, app: Flask, state: SandboxState) -> None:
        super().__init__(app)
        app.extensions["healthcode_sandbox"] = self
        self.state = state
        self.scopes_supported = [DEFAULT_SCOPE]
        self.register_token_generator("default", AccessTokenGenerator(state))
        self.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
        self.register_grant(CodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshGrant)  # get_token_grant hides it while the knob is off
        self.register_endpoint(Revocation)
        self.issuer_parameter = _Issuer(state.issuer)
        self.register_extension(self.issuer_parameter)

    def query_client(self, client_id: str | None) -> OAuthClient | None:
        registration = self.state.store.client(client_id) if client_id else None
        if registration is None:
            return None
        return OAuthClient(registration, refresh_tokens=self.state.faults.current.refresh_tokens)

    def get_token_grant(self, request: Any) -> Any:
        # With refresh tokens off the sandbox answers as an SSO without the grant at all
        # (unsupported_grant_type), not as one that refuses this client (unauthorized_client).
        if request.payload.grant_type == "refresh_token" and not self.state.faults.current.refresh_tokens:
            raise UnsupportedGrantTypeError(request.payload.grant_type)
        return super().get_token_grant(request)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        claims = jwt.decode(token["access_token"], self.state.keys.verification_keyset()).claims
        issued_by = request.authorization_code
        self.state.store.save_token(
            IssuedToken(
                access_token=token["access_token"],
                jti=claims["jti"],
                client_id=request.client.get_client_id(),
                username=request.user.username,
                scope=token.get("scope", ""),
                grant_id=issued_by.code if issued_by is not None else request.refresh_token.grant_id,
                refresh_token=token.get("refresh_token"),
            )
        )

    def create_oauth2_request(self, request: Any) -> Any:
        if isinstance(request, PendingSignIn):
            return StoredAuthorizationRequest(self.state.endpoint("/authorize"), request.params)
        if self.state.settings.allow_remote:
            return _RemoteRequest(flask_request)
        return super().create_oauth2_request(request)

    def add_issuer(self, response: Any) -> Any:
        """Add ``iss`` to an error redirect built outside ``create_authorization_response``."""
        self.issuer_parameter.add_issuer_parameter(self, response)
        return response


def sign_access_token(state: SandboxState, claims: Mapping[str, Any]) -> str:
    """Sign arbitrary claims with the current key and the header real tokens carry (for tests of a
    client's token checks: expired, wrong audience, wrong issuer...)."""
    return jwt.encode({"alg": ALGORITHM, "typ": "at+jwt"}, dict(claims), state.keys.signing_keyset())


def authenticate_client_secret_basic(query_client: Any, request: Any) -> OAuthClient | None:
    """HTTP Basic client authentication with RFC 6749 2.3.1 decoding.

    The client id and secret are form-encoded (application/x-www-form-urlencoded) before Base64,
    so ``+`` stands for a space. Authlib 1.9 decodes them with ``unquote``, which keeps the ``+``
    and rejects a correctly encoded secret containing a space; this decodes with ``unquote_plus``.
    A Basic header that does not authenticate is answered with 401 at once (RFC 6749 5.2) rather
    than falling through to the next method, and undecodable headers never cause a server error.
    """
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
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
