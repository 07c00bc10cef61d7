"""The machine-facing endpoints of the SSO: discovery, JWKS, /token and /revoke.

Faults are applied before Authlib sees a request, so a faulted request changes nothing (a code
survives a forced 503, for instance), and every request is counted, faulted or not. Answers are
JSON in the shapes OAuth clients expect (RFC 6749 5.2 errors), never cached.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN
from flask import Blueprint, Response, request

from .authorization_server import CLIENT_AUTH_METHODS, current_server
from .sandbox_state import SandboxState
from .settings import DEFAULT_SCOPE

blueprint = Blueprint("oauth", __name__)

FORM_TYPE = "application/x-www-form-urlencoded"
NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def json_response(payload: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(json.dumps(payload), status=status, headers=[*NO_STORE, *headers], mimetype="application/json")


def oauth_error(status: int, error: str, description: str) -> Response:
    """``{"error": ..., "error_description": ...}`` with the given status."""
    return json_response({"error": error, "error_description": description}, status)


def server_metadata(state: SandboxState) -> dict[str, Any]:
    """RFC 8414 metadata with the RFC 9207 flag; ``issuer`` is the sandbox URL, no trailing slash.

    The ``refresh_token`` grant is listed only while the sandbox issues refresh tokens (the live
    knob): by default it answers as Healthcode documents, with the code grant alone.
    """
    refresh = ["refresh_token"] if state.faults.current.refresh_tokens else []
    return {
        "issuer": state.issuer,
        "authorization_endpoint": state.endpoint("/authorize"),
        "token_endpoint": state.endpoint("/token"),
        "jwks_uri": state.endpoint("/jwks"),
        "revocation_endpoint": state.endpoint("/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", *refresh],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "scopes_supported": [DEFAULT_SCOPE],
        "authorization_response_iss_parameter_supported": True,
    }


@blueprint.get("/.well-known/openid-configuration")
@blueprint.get("/.well-known/oauth-authorization-server")
def discovery() -> Response:
    """The discovery document (RFC 8414 shape, served at both well-known names)."""
    state = current_server().state
    state.stats.count("discovery")
    if state.faults.take("discovery_failures"):
        return _server_fault(state, "discovery")
    return json_response(server_metadata(state))


@blueprint.get("/jwks")
def jwks() -> Response:
    """The public signing keys."""
    state = current_server().state
    state.stats.count("jwks")
    if state.faults.take("jwks_failures"):
        return _server_fault(state, "jwks")
    return json_response(state.keys.public_jwks())


@blueprint.post("/token")
def token() -> Any:
    """The token endpoint: Authlib's grants after the sandbox's counters and faults."""
    server = current_server()
    state = server.state
    grant_type = request.form.get("grant_type", "")
    state.stats.count(
        "token", f"token.{grant_type if grant_type in ('authorization_code', 'refresh_token') else 'other'}"
    )
    if request.mimetype != FORM_TYPE:
        return _not_a_form()
    verifier = request.form.get("code_verifier", "")
    if CODE_VERIFIER_PATTERN.match(verifier):
        state.store.record_secret("code_verifiers", verifier)
    if state.faults.current.token_delay > 0:
        state.stopping.wait(state.faults.current.token_delay)
    if state.faults.take("token_failures"):
        return _server_fault(state, "token")
    if state.faults.take("token_invalid_grant"):
        return oauth_error(400, "invalid_grant", "Sandbox fault: token_invalid_grant is set.")
    with state.token_lock:
        try:
            return server.create_token_response()
        except ValueError:  # Authlib refuses to echo characters RFC 6749 forbids in error descriptions
            return oauth_error(400, "invalid_request", "The token request is malformed.")


@blueprint.post("/revoke")
def revoke() -> Any:
    """RFC 7009 revocation (200 with an empty object, also for unknown tokens)."""
    server = current_server()
    server.state.stats.count("revoke")
    if request.mimetype != FORM_TYPE:
        return _not_a_form()
    with server.state.token_lock:
        try:
            return server.create_endpoint_response("revocation")
        except ValueError:
            return oauth_error(400, "invalid_request", "The revocation request is malformed.")


def _not_a_form() -> Response:
    shown = request.mimetype or "no content type"
    return oauth_error(400, "invalid_request", f"Send the request body as {FORM_TYPE} (RFC 6749 4.1.3), not {shown}.")


def _server_fault(state: SandboxState, endpoint: str) -> Response:
    status = state.faults.current.failure_status
    error = "temporarily_unavailable" if status == 503 else "server_error"
    return oauth_error(status, error, f"Sandbox fault: {endpoint} is set to fail.")
