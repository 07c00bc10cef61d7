"""Access tokens as Healthcode issues them: RS256-signed JWTs in the RFC 9068 profile.

Authlib's JWTBearerTokenGenerator writes the claims and the ``typ: at+jwt`` header; the sandbox
supplies the key set (joserfc then adds ``kid``), the audience, the lifetime and the ``jti``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jwt
from joserfc.jwk import KeySet

from ..settings import Account
from .models import OAuthClient
from .signing_keys import ALGORITHM

if TYPE_CHECKING:
    from .sandbox_state import SandboxState


class AccessTokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """Issues the token response: JWT access token, ``expires_in`` and (if enabled) a refresh token."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(
            issuer=state.issuer,
            alg=ALGORITHM,
            refresh_token_generator=_new_refresh_token,
            expires_generator=self._lifetime,
        )
        self._state = state

    def _lifetime(self, client: OAuthClient, grant_type: str) -> int:
        # Read per token, so a test can shorten the lifetime while the sandbox runs.
        return self._state.faults.current.token_lifetime

    def get_jwks(self) -> KeySet:
        return self._state.keys.signing_keyset()

    def get_audiences(self, client: OAuthClient, user: Account | None, scope: str) -> str:
        return self._state.settings.audience or client.get_client_id()

    def get_jti(self, client: OAuthClient, grant_type: str, user: Account | None, scope: str) -> str:
        return secrets.token_urlsafe(18)


def _new_refresh_token(**_: Any) -> str:
    return secrets.token_urlsafe(32)


def read_claims(state: SandboxState, access_token: str) -> dict[str, Any]:
    """The claims of a token the sandbox just signed (checked against its own published keys)."""
    return dict(jwt.decode(access_token, state.keys.verification_keyset()).claims)


def sign_access_token(state: SandboxState, claims: Mapping[str, Any]) -> str:
    """Sign arbitrary claims with the current key, with the same header real tokens carry.

    For tests of a client's token checks (expired, wrong audience, wrong issuer...), which would
    otherwise have to wait for a token to age or to stand up a second issuer.
    """
    return jwt.encode({"alg": ALGORITHM, "typ": "at+jwt"}, dict(claims), state.keys.signing_keyset())
