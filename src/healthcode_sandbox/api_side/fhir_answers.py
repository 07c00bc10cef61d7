"""FHIR JSON answers: resources, Bundles and ``OperationOutcome`` errors, as Healthcode's APIs send them.

Healthcode's only published ``OperationOutcome`` (a wrong date in a search) has ``severity``,
``code``, ``details.coding[]`` (``code`` and ``display``), ``diagnostics`` and ``location``; every
error the sandbox answers has that shape. Diagnostics never echo a submitted value: the values
are patients' data.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response

FHIR_JSON = "application/fhir+json"
CODE_SYSTEM = "https://sandbox.healthcode.invalid/fhir/CodeSystem/api-messages"
NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
API_PREFIXES = ("/api/v1/", "/api/v2-moved/")
NOT_API_PATHS = ("/api/v1/whoami",)


def fhir_response(payload: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """``payload`` as ``application/fhir+json``, never cached (it may hold patients' data)."""
    return Response(json.dumps(payload), status=status, headers=[*NO_STORE, *headers], mimetype=FHIR_JSON)


def operation_outcome(
    severity: str,
    code: str,
    diagnostics: str,
    message_code: str = "",
    display: str = "",
    location: Sequence[str] = (),
) -> dict[str, Any]:
    """One-issue ``OperationOutcome`` (``message_code`` goes into ``details.coding[0].code``)."""
    issue: dict[str, Any] = {"severity": severity, "code": code}
    if message_code:
        issue["details"] = {"coding": [{"system": CODE_SYSTEM, "code": message_code, "display": display}]}
    issue["diagnostics"] = diagnostics
    issue["location"] = list(location)
    issue["expression"] = []
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def outcome_response(
    status: int,
    code: str,
    diagnostics: str,
    message_code: str = "",
    display: str = "",
    location: Sequence[str] = (),
    severity: str = "error",
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """An ``OperationOutcome`` with one issue, as the body of a ``status`` answer."""
    payload = operation_outcome(severity, code, diagnostics, message_code, display, location)
    return fhir_response(payload, status, headers)


def is_api_path(path: str) -> bool:
    """Whether errors on ``path`` (wrong method, unknown path, oversized input) answer an OperationOutcome."""
    return path.startswith(API_PREFIXES) and path not in NOT_API_PATHS


def http_error_outcome(status: int, description: str) -> Response:
    """An ``OperationOutcome`` for a routing or size error on an API path (404, 405, 413, ...)."""
    if status == 404:
        return outcome_response(404, "not-found", "No API here: look the endpoint up in the API discovery document.",
                                "MSG_NOT_FOUND", "Not found")
    if status == 405:
        return outcome_response(405, "not-supported", description, "MSG_METHOD_NOT_ALLOWED", "Method not allowed")
    if status == 413:
        return outcome_response(413, "too-costly", description, "MSG_TOO_LARGE", "Request too large")
    if status >= 500:
        return outcome_response(status, "exception", description, "MSG_SERVER_ERROR", "Server error", severity="fatal")
    return outcome_response(status, "invalid", description, "MSG_INVALID_REQUEST", "Invalid request")


def bundle(kind: str, entries: list[dict[str, Any]], total: int, **extra: Any) -> dict[str, Any]:
    """A ``Bundle`` of type ``kind`` (``searchset``, ``collection``); ``entry`` items are
    ``{"fullUrl", "resource"}``; ``extra`` adds ``meta`` or ``link``."""
    return {"resourceType": "Bundle", **extra, "type": kind, "total": total, "entry": entries}


def urn_for(reference: str) -> str:
    """A stable ``urn:uuid:`` ``fullUrl`` for a resource the sandbox does not serve on its own."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'https://sandbox.healthcode.invalid/' + reference)}"
