"""What every API call passes before its endpoint answers, in this order:

1. counting (``api``, ``api.<name>``, ``api.header.<header>``) and the ``api_delay`` knob;
2. ``/api/v1`` after ``api_moved_permanently``: 404 ``not-found``;
3. the redirect knobs: ``api_redirect_elsewhere`` (verbatim URL), then ``api_moved`` (the same
   URL under ``/api/v2-moved``, query string kept), with status ``api_moved_status``;
4. the bearer token (one this sandbox issued, checked as ``/api/v1/whoami`` checks it): 401;
5. ``SU-SiteId``: missing 400 ``required``; a site the token's supervisor may not use 403
   ``forbidden`` (``MSG_SITE_NOT_PERMITTED``);
6. ``HC-API-Version``: missing means 1; ``1`` is accepted; anything else 400 ``not-supported``;
7. the error knobs: ``api_failures`` (``failure_status``, 5xx), then ``api_outcome_error`` (422).

Each call is recorded (:class:`~healthcode_sandbox.request_stats.ApiCall`) with its status, which
headers came, and nothing of the query, the body or the token. So is a request under ``/api/``
that reaches no API (an unknown path, a wrong method, oversized input: :func:`record_unrouted`),
so a test can see every request a client sent to the API side.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from authlib.integrations.flask_oauth2.requests import FlaskJsonRequest
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError, UnsupportedTokenTypeError
from flask import Blueprint, Response, request

from ..oauth.app_context import current_state
from ..oauth.protected_resource import REALM, create_protector
from ..oauth.sandbox_state import SandboxState
from ..request_stats import KEPT_HEADER_CHARS, SITE_HEADER, VERSION_HEADER, ApiCall
from .api_catalogue import CURRENT_BASE, ENDPOINT_PATHS, MOVED_BASE, endpoint_for_path, endpoint_name
from .fhir_answers import outcome_response

SUPPORTED_VERSIONS = ("1",)
COUNTED_HEADERS = ("Authorization", SITE_HEADER, VERSION_HEADER)


@dataclass(frozen=True)
class Caller:
    """Who an admitted call speaks for: the supervisor, the site and version, and which base it used."""

    state: SandboxState
    username: str
    site_id: str
    api_version: str
    base: str

    def url(self, key: str, suffix: str = "") -> str:
        """An absolute URL of one of the APIs on the base this call used."""
        return self.state.endpoint(self.base + ENDPOINT_PATHS[key] + suffix)


ApiView = Callable[..., Response]


def api_route(blueprint: Blueprint, key: str, suffix: str, methods: list[str]) -> Callable[[ApiView], ApiView]:
    """Register ``view(caller, **path_args)`` for the API ``key`` under both bases, behind the gate."""
    name = endpoint_name(key)

    def decorate(view: ApiView) -> ApiView:
        @functools.wraps(view)
        def guarded(**path_args: str) -> Response:
            state = current_state()
            base = MOVED_BASE if request.path.startswith(MOVED_BASE + "/") else CURRENT_BASE
            admitted = _admit(state, name, base)
            response = view(admitted, **path_args) if isinstance(admitted, Caller) else admitted
            _record(state, name, response.status_code)
            return response

        for base in (CURRENT_BASE, MOVED_BASE):
            rule = base + ENDPOINT_PATHS[key] + suffix
            blueprint.add_url_rule(rule, f"{view.__name__}{base}", guarded, methods=methods)
        return view

    return decorate


def record_unrouted(status: int) -> None:
    """Count and record a request under ``/api/`` that no API view answered (404, 405, 413...)."""
    state = current_state()
    name = endpoint_for_path(request.path)
    _count(state, name)
    _record(state, name, status)


def _count(state: SandboxState, name: str) -> None:
    state.stats.count("api", f"api.{name}", *(f"api.header.{h}" for h in COUNTED_HEADERS if h in request.headers))


def _admit(state: SandboxState, name: str, base: str) -> Caller | Response:
    _count(state, name)
    faults = state.faults.current
    if faults.api_delay > 0:
        state.stopping.wait(faults.api_delay)
    if base == CURRENT_BASE and faults.api_moved_permanently:
        return outcome_response(404, "not-found", "This API moved: look its endpoint up in the API discovery "
                                "document again.", "MSG_ENDPOINT_MOVED", "Endpoint moved")
    moved = _redirect(state, base)
    if moved is not None:
        return moved
    username = _bearer_username(state)
    if isinstance(username, Response):
        return username
    site = _site(state, username)
    if isinstance(site, Response):
        return site
    version = request.headers.get(VERSION_HEADER, "").strip() or "1"
    if version not in SUPPORTED_VERSIONS:
        return outcome_response(400, "not-supported", f"{VERSION_HEADER} {_shown(version)} is not supported; "
                                f"supported: {', '.join(SUPPORTED_VERSIONS)}.", "MSG_VERSION_NOT_SUPPORTED",
                                "API version not supported", [VERSION_HEADER])
    refused = _error_knobs(state)
    return refused if refused is not None else Caller(state, username, site, version, base)


def _redirect(state: SandboxState, base: str) -> Response | None:
    status = state.faults.current.api_moved_status
    elsewhere = state.faults.take_redirect_elsewhere()
    if elsewhere:
        return _moved_to(status, elsewhere, "api_redirect_elsewhere")
    if base == CURRENT_BASE and state.faults.take_failure("api_moved"):
        target = state.endpoint(MOVED_BASE + request.path.removeprefix(CURRENT_BASE))
        query = request.query_string.decode("latin-1")
        return _moved_to(status, f"{target}?{query}" if query else target, "api_moved")
    return None


def _moved_to(status: int, location: str, knob: str) -> Response:
    return outcome_response(status, "informational", f"Sandbox fault: {knob} is set; this API answers at the URL "
                            "in Location.", "MSG_ALTERNATE_ENDPOINT", "Alternate endpoint", severity="information",
                            headers=[("Location", location)])


def _bearer_username(state: SandboxState) -> str | Response:
    try:
        claims = create_protector(state).validate_request(scopes=None, request=FlaskJsonRequest(request))
    except (MissingAuthorizationError, UnsupportedTokenTypeError):
        return outcome_response(401, "login", "This API needs an access token: send 'Authorization: Bearer "
                                "<token>'.", "MSG_TOKEN_MISSING", "Access token missing",
                                headers=[("WWW-Authenticate", f'Bearer realm="{REALM}"')])
    except OAuth2Error as error:
        description = str(error.description or "The access token was refused.")
        challenge = [(k, v) for k, v in error.get_headers() if k.lower() == "www-authenticate"]
        code = "expired" if "expired" in description else "security"
        return outcome_response(401, code, description, "MSG_TOKEN_INVALID", "Access token refused",
                                headers=challenge)
    return str(claims["sub"])


def _site(state: SandboxState, username: str) -> str | Response:
    site = request.headers.get(SITE_HEADER, "").strip()
    if not site:
        return outcome_response(400, "required", f"The {SITE_HEADER} header is required: it names the site "
                                "(tenancy) to query.", "MSG_SITE_REQUIRED", "Site id required", [SITE_HEADER])
    account = state.settings.account(username)
    if account is None or site not in account.sites:
        return outcome_response(403, "forbidden", f"The site in {SITE_HEADER} is not one this account may "
                                "use.", "MSG_SITE_NOT_PERMITTED", "Site not permitted", [SITE_HEADER])
    return site


def _error_knobs(state: SandboxState) -> Response | None:
    if state.faults.take_failure("api_failures"):
        return outcome_response(state.faults.current.failure_status, "transient", "Sandbox fault: api_failures is "
                                "set.", "MSG_SANDBOX_FAULT", "Service unavailable", severity="fatal")
    if state.faults.take_failure("api_outcome_error"):
        return outcome_response(422, "processing", "Sandbox fault: api_outcome_error is set (a made-up "
                                "business rule refused the request).", "MSG_SANDBOX_RULE",
                                "Request refused by a business rule", ["Parameters"])
    return None


def _record(state: SandboxState, name: str, status: int) -> None:
    call = ApiCall.seen(request.method, request.path, name, status, request.headers, request.mimetype)
    state.stats.record_api_call(call)


def _shown(value: str) -> str:
    """A header value safe to echo in diagnostics (bounded, printable)."""
    cut = value[:KEPT_HEADER_CHARS]
    return repr(cut) if cut.isprintable() else "(unprintable)"
