"""JSON responses in the shapes OAuth clients expect (RFC 6749 5.2 errors, no-store caching)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flask import Response

NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def json_response(payload: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(json.dumps(payload), status=status, headers=[*NO_STORE, *headers], mimetype="application/json")


def oauth_error(status: int, error: str, description: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """``{"error": ..., "error_description": ...}`` with the given status."""
    return json_response({"error": error, "error_description": description}, status, headers)


def authlib_response(status: int, body: Any, headers: Iterable[tuple[str, str]]) -> Response:
    """Turn one of Authlib's ``(status, body, headers)`` triples into a Flask response."""
    payload = body if isinstance(body, str) else json.dumps(body)
    return Response(payload, status=status, headers=list(headers))
