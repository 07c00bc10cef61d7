"""RFC 7009 token revocation (what the operator CLI's ``logout`` calls), on Authlib's endpoint.

Revoking a refresh token also revokes the access tokens of the same grant (RFC 7009 2.1); the
sandbox's protected API then refuses them, which a real JWT-checking API could not know.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc7009 import RevocationEndpoint

from .grants import CLIENT_AUTH_METHODS
from .models import IssuedToken

if TYPE_CHECKING:
    from .sandbox_state import SandboxState


class SandboxRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    """``POST /revoke`` with ``token`` and optional ``token_type_hint``; public clients send client_id."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    @property
    def _state(self) -> SandboxState:
        state: SandboxState = self.server.state
        return state

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return self._state.store.find_token(token_string, token_type_hint)

    def revoke_token(self, token: IssuedToken, request: Any) -> None:
        store = self._state.store
        if token.refresh_token is not None and request.form.get("token") == token.refresh_token:
            store.revoke_grant(token.grant_id)
        else:
            store.revoke_access_token(token)
