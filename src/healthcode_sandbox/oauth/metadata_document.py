"""The discovery document: what the client reads to find every other endpoint."""

from __future__ import annotations

from typing import Any

from .grants import CLIENT_AUTH_METHODS
from .sandbox_state import SandboxState


def server_metadata(state: SandboxState) -> dict[str, Any]:
    """RFC 8414 metadata with the RFC 9207 flag; ``issuer`` is the sandbox URL, no trailing slash.

    The ``refresh_token`` grant is listed only while the sandbox issues refresh tokens (the live
    knob): by default it answers as Healthcode documents, with the code grant alone.
    """
    grant_types = ["authorization_code"]
    if state.faults.current.refresh_tokens:
        grant_types.append("refresh_token")
    return {
        "issuer": state.issuer,
        "authorization_endpoint": state.endpoint("/authorize"),
        "token_endpoint": state.endpoint("/token"),
        "jwks_uri": state.endpoint("/jwks"),
        "revocation_endpoint": state.endpoint("/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "scopes_supported": list(state.settings.scopes_supported),
        "authorization_response_iss_parameter_supported": True,
    }
