"""The records Authlib's grants work on, duck-typed to its ClientMixin, AuthorizationCodeMixin
and TokenMixin (Authlib checks behaviour, not base classes), plus the pending sign-in.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field

from ..settings import Client


class OAuthClient:
    """A :class:`Client` registration as Authlib's grants and client authentication see it."""

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
        if not set(requested) <= set(allowed):
            return None
        return " ".join(dict.fromkeys(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.registration.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        secret = self.registration.client_secret
        if secret is None:
            return False
        return hmac.compare_digest(secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in self.registration.token_endpoint_auth_methods

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "refresh_token":
            return self._refresh_tokens
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode:
    """An issued authorization code, bound to client, redirect URI, user and PKCE challenge."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    used: bool = False

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at


@dataclass
class IssuedToken:
    """One token response: the access token (by its ``jti``) and, if any, its refresh token.

    ``grant_id`` is shared by every token that descends from one authorization code (through
    refreshes), so revoking the grant or replaying the code can revoke them all.
    """

    access_token: str
    jti: str
    client_id: str
    username: str
    scope: str
    expires_at: float
    grant_id: str
    refresh_token: str | None = None
    access_revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: OAuthClient) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int(self.expires_at - time.time()))

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.access_revoked


@dataclass
class PendingSignIn:
    """A validated authorization request waiting for the supervisor, keyed by a random id.

    The page's form carries only ``request_id``; the OAuth parameters stay here, so what the
    supervisor approves is exactly what was validated. ``username`` is set once the password
    step passed and the one-time code is still due. ``browser`` is the sign-in cookie of the
    browser that opened the request: only that browser may answer it (no login CSRF).
    """

    request_id: str
    params: dict[str, str]
    expires_at: float
    browser: str = field(default="", repr=False)
    username: str | None = None
    otp_failures: int = field(default=0)
