"""The Flask application of one sandbox: endpoints, size limits and error shapes.

Bad input must never become a 500: oversized bodies and parameters, wrong methods and unknown
paths all answer with a 4xx in the shape the caller expects (OAuth JSON for machine endpoints,
the HTML error page under /authorize).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..admin import admin_views
from ..api_side import api_catalogue, appointment_api, directory_api, membership_api, remittance_api
from ..api_side.fhir_answers import http_error_outcome, is_api_path
from ..api_side.site_gate import record_unrouted
from ..oauth import endpoints, protected_resource
from ..oauth.app_context import attach
from ..oauth.authorization_server import SandboxAuthorizationServer
from ..oauth.json_responses import oauth_error
from ..oauth.sandbox_state import SandboxState
from ..web import pages, signin_views

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_PARAMETER_CHARS = 4096
MAX_PARAMETERS = 100


def create_app(state: SandboxState) -> Flask:
    """A Flask app serving ``state`` (one app per sandbox, so several can run side by side)."""
    app = Flask(__name__, template_folder=pages.TEMPLATE_FOLDER)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES,
        MAX_FORM_PARTS=MAX_PARAMETERS,
    )
    attach(app, SandboxAuthorizationServer(app, state))
    for module in (endpoints, signin_views, protected_resource, admin_views):
        app.register_blueprint(module.blueprint)
    for api in (api_catalogue, membership_api, remittance_api, directory_api, appointment_api):
        app.register_blueprint(api.blueprint)
    app.before_request(_limit_parameters)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _limit_parameters() -> Response | None:
    """Refuse oversized or too many parameters before any endpoint (or Authlib) reads them."""
    values = list(request.args.items(multi=True))
    if request.method == "POST" and request.mimetype == endpoints.FORM_TYPE:
        values += list(request.form.items(multi=True))
    if len(values) > MAX_PARAMETERS:
        return _bad_request(f"The request has more than {MAX_PARAMETERS} parameters.")
    for name, value in values:
        if len(name) > MAX_PARAMETER_CHARS or len(value) > MAX_PARAMETER_CHARS:
            return _bad_request(f"A parameter is longer than {MAX_PARAMETER_CHARS} characters.")
    return None


def _bad_request(description: str) -> Response:
    if is_api_path(request.path):
        return _api_error(400, description)
    if _wants_html():
        return pages.error(400, "invalid_request", description)
    return oauth_error(400, "invalid_request", description)


def _api_error(status: int, description: str) -> Response:
    """An OperationOutcome for a request under /api/ that no API answered, recorded as an API call."""
    record_unrouted(status)
    return http_error_outcome(status, description)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    description = error.description or error.name
    if is_api_path(request.path):
        return _api_error(status, description)
    if _wants_html():
        return pages.error(status, _error_code(status), description)
    return oauth_error(status, _error_code(status), description)


def _unexpected_error(error: Exception) -> Any:
    # Logged without the query string or body: those can hold codes, tokens and secrets.
    log.error("Unexpected error on %s %s", request.method, request.path, exc_info=error)
    if is_api_path(request.path):
        return _api_error(500, "The sandbox hit an unexpected error; see its log.")
    return oauth_error(500, "server_error", "The sandbox hit an unexpected error; see its log.")


def _error_code(status: int) -> str:
    if status == 404:
        return "not_found"
    if status >= 500:
        return "server_error"
    return "invalid_request"


def _wants_html() -> bool:
    return request.path == "/authorize"
