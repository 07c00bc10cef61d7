"""The API discovery document and the URL layout of the sandbox's APIs.

Healthcode publishes one API discovery document (``/.well-known/discovery-document.json``):
key-value pairs, one key per API endpoint (``find_member_endpoint``), which integrations must
look up instead of hard-coding. The sandbox serves one on its own origin, its values absolute
URLs under ``/api/v1``. With the ``api_moved_permanently`` knob on it names ``/api/v2-moved``
instead (and the ``/api/v1`` APIs answer 404), so clients can show they look endpoints up again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from ..oauth.app_context import current_state
from ..oauth.json_responses import json_response
from ..oauth.sandbox_state import SandboxState
from .fhir_answers import outcome_response

blueprint = Blueprint("api_catalogue", __name__)

DOCUMENT_PATH = "/.well-known/discovery-document.json"
CURRENT_BASE = "/api/v1"
MOVED_BASE = "/api/v2-moved"
BASES = (CURRENT_BASE, MOVED_BASE)
WHOAMI_PATH = "/api/v1/whoami"

# Discovery key -> path below the base. Ids are appended as one path segment
# (``{get_remittance_endpoint}/RM00001``), as Healthcode's pages show for ids.
ENDPOINT_PATHS = {
    "find_member_endpoint": "/authorisation/find-member",
    "search_remittance_summary_endpoint": "/clearing/remittance-summary/search",
    "get_remittance_endpoint": "/clearing/remittances",
    "search_practitioner_endpoint": "/ppr/practitioners",
    "delete_appointment_endpoint": "/ice/appointments",
    "codes_valueset_namespace": "/ref/codes",
}


def endpoint_name(key: str) -> str:
    """The short name of a discovery key: ``find_member`` for ``find_member_endpoint``."""
    return key.removesuffix("_endpoint").removesuffix("_namespace")


def endpoint_for_path(path: str) -> str:
    """The short name of the API a path under ``/api/`` belongs to, or ``unknown``."""
    for base in BASES:
        rest = path.removeprefix(base)
        if rest == path:
            continue
        for key, endpoint_path in ENDPOINT_PATHS.items():
            if rest == endpoint_path or rest.startswith(endpoint_path + "/"):
                return endpoint_name(key)
    return "unknown"


def live_base(state: SandboxState) -> str:
    """The base the discovery document names now (``/api/v2-moved`` once moved permanently)."""
    return MOVED_BASE if state.faults.current.api_moved_permanently else CURRENT_BASE


def api_discovery_document(state: SandboxState) -> dict[str, Any]:
    """The flat key -> absolute URL document (``whoami_endpoint`` never moves)."""
    base = live_base(state)
    document = {key: state.endpoint(base + path) for key, path in ENDPOINT_PATHS.items()}
    document["whoami_endpoint"] = state.endpoint(WHOAMI_PATH)
    return document


@blueprint.get(DOCUMENT_PATH)
def discovery_document() -> Response:
    """``GET /.well-known/discovery-document.json``, counted as ``api_discovery``."""
    state = current_state()
    state.stats.count("api_discovery")
    if state.faults.take_failure("api_discovery_failures"):
        status = state.faults.current.failure_status
        return outcome_response(status, "transient", "Sandbox fault: api_discovery_failures is set.",
                                "MSG_SANDBOX_FAULT", "Service unavailable", severity="fatal")
    return json_response(api_discovery_document(state))
