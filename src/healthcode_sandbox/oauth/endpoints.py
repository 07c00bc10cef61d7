"""The machine-facing endpoints: discovery, JWKS, /token and /revoke, with their fault knobs.

Faults are applied before Authlib sees the request, so a faulted request changes nothing (a
code survives a forced 503, for instance) and every request is counted, faulted or not.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN
from flask import Blueprint, Response, request

from ..faults import TokenFault
from .app_context import current_server, current_state
from .json_responses import json_response, oauth_error
from .metadata_document import server_metadata
from .sandbox_state import SandboxState

blueprint = Blueprint("oauth", __name__)

FORM_TYPE = "application/x-www-form-urlencoded"
COUNTED_GRANT_TYPES = ("authorization_code", "refresh_token")


@blueprint.get("/.well-known/openid-configuration")
@blueprint.get("/.well-known/oauth-authorization-server")
def discovery() -> Response:
    """The discovery document (RFC 8414 shape, served at both well-known names)."""
    state = current_state()
    state.stats.count("discovery")
    if state.faults.take_failure("discovery_failures"):
        return _server_fault(state, "discovery")
    return json_response(server_metadata(state))


@blueprint.get("/jwks")
def jwks() -> Response:
    """The public signing keys."""
    state = current_state()
    state.stats.count("jwks")
    if state.faults.take_failure("jwks_failures"):
        return _server_fault(state, "jwks")
    return json_response(state.keys.public_jwks())


@blueprint.post("/token")
def token() -> Any:
    """The token endpoint: Authlib's grants after the sandbox's counters and faults."""
    state = current_state()
    grant_type = request.form.get("grant_type", "")
    label = grant_type if grant_type in COUNTED_GRANT_TYPES else "other"
    state.stats.count("token", f"token.{label}")
    refused = _refuse_non_form(request.mimetype)
    if refused is not None:
        return refused
    verifier = request.form.get("code_verifier", "")
    if CODE_VERIFIER_PATTERN.match(verifier):
        state.store.record_secret("code_verifiers", verifier)

    faults = state.faults.current
    if faults.token_delay > 0:
        state.stopping.wait(faults.token_delay)
    fault = state.faults.take_token_fault()
    if fault is TokenFault.SERVER_ERROR:
        return _server_fault(state, "token")
    if fault is TokenFault.INVALID_GRANT:
        return oauth_error(400, "invalid_grant", "Sandbox fault: token_invalid_grant is set.")

    with state.token_lock:
        try:
            return current_server().create_token_response()
        except ValueError:
            # Authlib refuses to echo characters RFC 6749 forbids in error descriptions.
            return oauth_error(400, "invalid_request", "The token request is malformed.")


@blueprint.post("/revoke")
def revoke() -> Any:
    """RFC 7009 revocation (200 with an empty object, also for unknown tokens)."""
    state = current_state()
    state.stats.count("revoke")
    refused = _refuse_non_form(request.mimetype)
    if refused is not None:
        return refused
    with state.token_lock:
        try:
            return current_server().create_endpoint_response("revocation")
        except ValueError:
            return oauth_error(400, "invalid_request", "The revocation request is malformed.")


def _refuse_non_form(mimetype: str) -> Response | None:
    if mimetype == FORM_TYPE:
        return None
    return oauth_error(
        400,
        "invalid_request",
        f"Send the request body as {FORM_TYPE} (RFC 6749 4.1.3), not {mimetype or 'no content type'}.",
    )


def _server_fault(state: SandboxState, endpoint: str) -> Response:
    status = state.faults.current.failure_status
    error = "temporarily_unavailable" if status == 503 else "server_error"
    return oauth_error(status, error, f"Sandbox fault: {endpoint} is set to fail.")
