"""``GET /api/v1/whoami``: a protected API that checks bearer tokens the way Healthcode's APIs do.

Authlib's RFC 9068 validator checks signature (against the keys the sandbox publishes now), ``iss``,
``aud``, ``exp`` and ``typ``; the sandbox adds revocation and says *which* check failed in the
RFC 6750 ``error_description``, so a failing client test explains itself.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2.requests import FlaskJsonRequest
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError, ResourceProtector, UnsupportedTokenTypeError
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from flask import Blueprint, Response, request
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from ..request_stats import ApiCall
from .app_context import current_state
from .json_responses import authlib_response, json_response
from .sandbox_state import SandboxState

blueprint = Blueprint("resource", __name__)

REALM = "healthcode-sandbox"

_CLAIM_PROBLEMS = {
    "aud": "The access token is meant for another audience (aud).",
    "iss": "The access token comes from another issuer (iss).",
    "typ": "The token is not an access token (its typ header must be at+jwt).",
}


class AccessTokenValidator(JWTBearerTokenValidator):  # type: ignore[misc]
    """Authlib's JWT access-token validator, with the sandbox's keys and clearer errors."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(issuer=state.issuer, resource_server=state.settings.audience, realm=REALM)
        self._state = state

    def get_jwks(self) -> KeySet:
        return self._state.keys.verification_keyset()

    def authenticate_token(self, token_string: str) -> Any:
        try:
            return super().authenticate_token(token_string)
        except InvalidTokenError as error:
            raise self._explained(error.__cause__) from error
        except Exception as error:  # joserfc may raise plain ValueErrors on junk input
            raise self._invalid("The access token is not a well-formed JWT.") from error

    def validate_token(self, token: Any, scopes: Any, request: Any, **claims: Any) -> None:
        try:
            super().validate_token(token, scopes, request, **claims)
        except InvalidTokenError as error:
            raise self._explained(error.__cause__) from error
        if self._state.settings.audience is None and token.get("aud") != token.get("client_id"):
            raise self._invalid(_CLAIM_PROBLEMS["aud"])
        if self._state.store.is_revoked(str(token["jti"])):
            raise self._invalid("The access token was revoked.")

    def _explained(self, cause: BaseException | None) -> InvalidTokenError:
        if isinstance(cause, ExpiredTokenError):
            return self._invalid("The access token expired.")
        if isinstance(cause, InvalidKeyIdError):
            return self._invalid("The access token was signed with a key the sandbox does not publish.")
        if isinstance(cause, BadSignatureError):
            return self._invalid("The access token signature does not match the sandbox's keys.")
        if isinstance(cause, MissingClaimError):
            return self._invalid(f"The access token lacks required claims: {cause.claim}.")
        if isinstance(cause, ClaimError) and cause.claim in _CLAIM_PROBLEMS:
            return self._invalid(_CLAIM_PROBLEMS[cause.claim])
        if isinstance(cause, ClaimError):
            return self._invalid(f"The access token has an invalid {cause.claim} claim.")
        return self._invalid("The access token is not a JWT this sandbox issued.")

    def _invalid(self, description: str) -> InvalidTokenError:
        return InvalidTokenError(description=description, realm=REALM)


def create_protector(state: SandboxState) -> ResourceProtector:
    protector = ResourceProtector()
    protector.register_token_validator(AccessTokenValidator(state))
    return protector


@blueprint.get("/api/v1/whoami")
def whoami() -> Response:
    """Who the bearer token speaks for: ``{"sub", "client_id", "scope", "exp"}``, or 401.

    Recorded among the API calls (endpoint ``whoami``: which headers came, never the token); it
    needs no ``SU-SiteId``, so a client's headers can be checked with any account.
    """
    state = current_state()
    state.stats.count("whoami")
    response = _whoami(state)
    state.stats.record_api_call(ApiCall.seen(request.method, request.path, "whoami", response.status_code,
                                             request.headers, request.mimetype))
    return response


def _whoami(state: SandboxState) -> Response:
    protector = create_protector(state)
    try:
        claims = protector.validate_request(scopes=None, request=FlaskJsonRequest(request))
    except (MissingAuthorizationError, UnsupportedTokenTypeError):
        # RFC 6750 3.1: a request without a bearer token gets the challenge but no error code.
        return json_response(
            {"message": "This API needs an access token: send 'Authorization: Bearer <token>'."},
            401,
            [("WWW-Authenticate", f'Bearer realm="{REALM}"')],
        )
    except OAuth2Error as error:
        return authlib_response(*error())
    return json_response(
        {
            "sub": claims["sub"],
            "client_id": claims["client_id"],
            "scope": claims.get("scope", ""),
            "exp": claims["exp"],
        }
    )
