"""The Authlib authorization server of one sandbox: grants, PKCE, client auth, revocation, RFC 9207.

Also lets Authlib validate a *stored* authorization request: the sign-in form posts only a
random ``request_id``, and the parameters Authlib re-checks come from the store, not the form.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request, UnsupportedGrantTypeError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask

from .access_tokens_issued import AccessTokenGenerator, read_claims
from .grants import (
    S256CodeChallenge,
    SandboxAuthorizationCodeGrant,
    SandboxRefreshTokenGrant,
    authenticate_client_secret_basic,
)
from .models import IssuedToken, OAuthClient, PendingSignIn
from .revocation import SandboxRevocationEndpoint
from .sandbox_state import SandboxState


class StoredAuthorizationRequest(OAuth2Request):  # type: ignore[misc]
    """An authorization request rebuilt from a :class:`PendingSignIn` (GET semantics, no form)."""

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


class SandboxIssuerParameter(IssuerParameter):  # type: ignore[misc]
    """Adds ``iss`` to every authorization response, errors included (RFC 9207)."""

    def __init__(self, issuer: str) -> None:
        self._issuer = issuer

    def get_issuer(self) -> str:
        return self._issuer


class SandboxAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's Flask authorization server wired to one sandbox's state."""

    def __init__(self, app: Flask, state: SandboxState) -> None:
        super().__init__()
        self.state = state
        self.init_app(app)
        self.scopes_supported = list(state.settings.scopes_supported)
        self.register_token_generator("default", AccessTokenGenerator(state))
        self.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
        self.register_grant(SandboxAuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        # Always registered; get_token_grant hides it while the refresh_tokens knob is off.
        self.register_grant(SandboxRefreshTokenGrant)
        self.register_endpoint(SandboxRevocationEndpoint)
        self.issuer_parameter = SandboxIssuerParameter(state.issuer)
        self.register_extension(self.issuer_parameter)

    def query_client(self, client_id: str) -> OAuthClient | None:
        return self.state.oauth_client(client_id)

    def get_token_grant(self, request: Any) -> Any:
        # With refresh tokens off the sandbox answers as an SSO without the grant at all
        # (unsupported_grant_type), not as one that refuses this client (unauthorized_client).
        if request.payload.grant_type == "refresh_token" and not self.state.faults.current.refresh_tokens:
            raise UnsupportedGrantTypeError(request.payload.grant_type)
        return super().get_token_grant(request)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        claims = read_claims(self.state, token["access_token"])
        if request.authorization_code is not None:
            grant_id = request.authorization_code.code
        else:
            grant_id = request.refresh_token.grant_id
        self.state.store.save_token(
            IssuedToken(
                access_token=token["access_token"],
                jti=claims["jti"],
                client_id=request.client.get_client_id(),
                username=request.user.username,
                scope=token.get("scope", ""),
                expires_at=float(claims["exp"]),
                grant_id=grant_id,
                refresh_token=token.get("refresh_token"),
            )
        )

    def create_oauth2_request(self, request: Any) -> Any:
        if isinstance(request, PendingSignIn):
            return StoredAuthorizationRequest(self.state.endpoint("/authorize"), request.params)
        return super().create_oauth2_request(request)

    def add_issuer(self, response: Any) -> Any:
        """Add ``iss`` to an error redirect built outside ``create_authorization_response``."""
        self.issuer_parameter.add_issuer_parameter(self, response)
        return response
