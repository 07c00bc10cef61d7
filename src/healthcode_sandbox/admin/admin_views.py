"""``/_sandbox/*``: the admin API tests use from another process (Robot Framework suites).

Loopback clients only, JSON in and out; the same operations exist as methods on ``Sandbox``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Blueprint, Response, request

from ..oauth.app_context import current_state
from ..oauth.json_responses import json_response
from ..sandbox_errors import SandboxConfigurationError
from .registrations import client_from_mapping

blueprint = Blueprint("admin", __name__, url_prefix="/_sandbox")


@blueprint.before_request
def loopback_only() -> Response | None:
    """The admin API can reset and break the sandbox: never offer it beyond this machine."""
    if _is_loopback(request.remote_addr):
        return None
    return _error(403, "forbidden", "The sandbox admin API answers loopback clients only.")


@blueprint.get("/faults")
def get_faults() -> Response:
    return json_response(current_state().faults.current.as_dict())


@blueprint.post("/faults")
def set_faults() -> Response:
    """Change some knobs, e.g. ``{"token_failures": 2, "failure_status": 500}``; returns all knobs."""
    changes = _json_object()
    if isinstance(changes, Response):
        return changes
    try:
        return json_response(current_state().faults.update(changes).as_dict())
    except SandboxConfigurationError as error:
        return _error(400, "invalid_request", str(error))


@blueprint.delete("/faults")
def reset_faults() -> Response:
    return json_response(current_state().faults.reset().as_dict())


@blueprint.get("/stats")
def get_stats() -> Response:
    return json_response({"counts": current_state().stats.snapshot()})


@blueprint.delete("/stats")
def reset_stats() -> Response:
    current_state().stats.reset()
    return json_response({"counts": {}})


@blueprint.get("/api-calls")
def get_api_calls() -> Response:
    """The latest API calls, oldest first: method, endpoint, path, status and which headers came
    (never a token); ``?endpoint=find_member`` keeps that API's only."""
    wanted = request.args.get("endpoint")
    calls = [call for call in current_state().stats.api_calls() if wanted is None or call.endpoint == wanted]
    return json_response({"calls": [call.as_dict() for call in calls]})


@blueprint.post("/reset")
def reset() -> Response:
    """Faults back to their start values and counters to zero (tokens and clients stay)."""
    state = current_state()
    state.stats.reset()
    return json_response({"faults": state.faults.reset().as_dict(), "counts": {}})


@blueprint.get("/keys")
def get_keys() -> Response:
    keys = current_state().keys
    return json_response({"kid": keys.current_kid, "kids": keys.kids})


@blueprint.post("/keys/rotate")
def rotate_keys() -> Response:
    """Sign with a new key from now on; ``{"keep_old": false}`` also drops the old keys from JWKS."""
    options = _json_object(optional=True)
    if isinstance(options, Response):
        return options
    keep_old = options.get("keep_old", True)
    if not isinstance(keep_old, bool):
        return _error(400, "invalid_request", "keep_old must be true or false.")
    keys = current_state().keys
    kid = keys.rotate(keep_old=keep_old)
    return json_response({"kid": kid, "kids": keys.kids})


@blueprint.get("/issued-secrets")
def issued_secrets() -> Response:
    return json_response(current_state().store.issued_secrets().as_dict())


@blueprint.post("/clients")
def add_client() -> Response:
    """Register a client at run time, e.g. a confidential one with an awkward secret."""
    data = _json_object()
    if isinstance(data, Response):
        return data
    try:
        client = client_from_mapping(data)
    except SandboxConfigurationError as error:
        return _error(400, "invalid_request", str(error))
    current_state().store.add_client(client)
    return json_response({"client_id": client.client_id, "public": client.is_public}, 201)


def _json_object(optional: bool = False) -> dict[str, Any] | Response:
    if optional and not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        return _error(400, "invalid_request", "Send a JSON object with Content-Type: application/json.")
    return data


def _error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _is_loopback(address: str | None) -> bool:
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
