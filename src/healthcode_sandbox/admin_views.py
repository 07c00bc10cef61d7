"""``/_sandbox/*``: the admin API that tests in another process use (Robot Framework suites).

Loopback clients only, JSON in and out; the same operations exist as methods on ``Sandbox``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Blueprint, Response, request

from .authorization_server import current_server
from .oauth_endpoints import json_response, oauth_error
from .settings import Client, SandboxConfigurationError, from_mapping

blueprint = Blueprint("admin", __name__, url_prefix="/_sandbox")


@blueprint.before_request
def loopback_only() -> Response | None:
    """The admin API can reset and break the sandbox: never offer it beyond this machine."""
    if _is_loopback(request.remote_addr):
        return None
    return oauth_error(403, "forbidden", "The sandbox admin API answers loopback clients only.")


@blueprint.get("/faults")
def get_faults() -> Response:
    return json_response(current_server().state.faults.current.as_dict())


@blueprint.post("/faults")
def set_faults() -> Response:
    """Change some knobs, e.g. ``{"token_failures": 2, "failure_status": 500}``; returns all knobs."""
    try:
        return json_response(current_server().state.faults.update(_json_object()).as_dict())
    except SandboxConfigurationError as error:
        return oauth_error(400, "invalid_request", str(error))


@blueprint.delete("/faults")
def reset_faults() -> Response:
    return json_response(current_server().state.faults.reset().as_dict())


@blueprint.get("/stats")
def get_stats() -> Response:
    return json_response({"counts": current_server().state.stats.snapshot()})


@blueprint.delete("/stats")
def reset_stats() -> Response:
    """Forget the counters and the record of API calls."""
    current_server().state.stats.reset()
    return json_response({"counts": {}})


@blueprint.get("/api-calls")
def get_api_calls() -> Response:
    """The latest API calls, oldest first: method, endpoint, path, status and which headers came
    (never a token); ``?endpoint=find_member`` keeps that API's only."""
    calls = current_server().state.stats.api_calls(request.args.get("endpoint"))
    return json_response({"calls": [call.as_dict() for call in calls]})


@blueprint.get("/issued-secrets")
def issued_secrets() -> Response:
    return json_response(current_server().state.store.issued_secrets().as_dict())


@blueprint.post("/clients")
def add_client() -> Response:
    """Register a client at run time, e.g. a confidential one with an awkward secret."""
    try:
        client = from_mapping(Client, _json_object())
    except SandboxConfigurationError as error:
        return oauth_error(400, "invalid_request", str(error))
    current_server().state.store.add_client(client)
    return json_response({"client_id": client.client_id, "public": client.is_public}, 201)


def _json_object() -> dict[str, Any]:
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        raise SandboxConfigurationError("Send a JSON object with Content-Type: application/json.")
    return data


def _is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
