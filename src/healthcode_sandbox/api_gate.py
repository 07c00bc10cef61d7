"""Healthcode's API side: the API discovery document, FHIR answers, the protected ``/api/v1/whoami``
and the gate every other API call passes.

The API discovery document (``/.well-known/discovery-document.json``) has one key per API endpoint
(``find_member_endpoint``), absolute URLs under ``/api/v1`` on the sandbox's own origin, or under
``/api/v2-moved`` once ``api_moved_permanently`` is on. Errors are ``OperationOutcome`` resources in
the shape of Healthcode's one published example; their diagnostics never echo a submitted value.
The gate (:func:`_admit`) answers in order: the move and redirect knobs, then the bearer token (as
whoami checks it), ``SU-SiteId``, ``HC-API-Version``, and last the error knobs, so a call refused for
its headers does not use them up. Every call is recorded (:class:`ApiCall`: which headers came,
never the token, query or body), and so is a request under ``/api/`` that no API answers.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth2.requests import FlaskJsonRequest
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError, ResourceProtector, UnsupportedTokenTypeError
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from flask import Blueprint, Response, request
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, InvalidKeyIdError, MissingClaimError
from joserfc.jwk import KeySet

from .authorization_server import current_server
from .oauth_endpoints import NO_STORE, json_response
from .sandbox_state import ApiCall, SandboxState

blueprint = Blueprint("api_gate", __name__)

DOCUMENT_PATH = "/.well-known/discovery-document.json"
CURRENT_BASE, MOVED_BASE = "/api/v1", "/api/v2-moved"
WHOAMI_PATH = "/api/v1/whoami"
FHIR_JSON = "application/fhir+json"
CODE_SYSTEM = "https://sandbox.healthcode.invalid/fhir/CodeSystem/api-messages"
SUPPORTED_VERSIONS = ("1",)
SITE_HEADER, VERSION_HEADER = "SU-SiteId", "HC-API-Version"
KEPT_HEADER_CHARS = 64
REALM = "healthcode-sandbox"
_CLAIM_PROBLEMS = {
    "aud": "The access token is meant for another audience (aud).",
    "iss": "The access token comes from another issuer (iss).",
    "typ": "The token is not an access token (its typ header must be at+jwt).",
}
_HTTP_ERRORS = {
    404: ("not-found", "MSG_NOT_FOUND", "Not found"),
    405: ("not-supported", "MSG_METHOD_NOT_ALLOWED", "Method not allowed"),
    413: ("too-costly", "MSG_TOO_LARGE", "Request too large"),
}
COUNTED_HEADERS = ("Authorization", SITE_HEADER, VERSION_HEADER)
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


def fhir_response(payload: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """``payload`` as ``application/fhir+json``, never cached (it may hold patients' data)."""
    return Response(json.dumps(payload), status=status, headers=[*NO_STORE, *headers], mimetype=FHIR_JSON)


def outcome(
    status: int,
    code: str,
    diagnostics: str,
    message_code: str,
    display: str,
    location: Sequence[str] = (),
    severity: str = "error",
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """A one-issue ``OperationOutcome`` (``message_code`` in ``details.coding[0].code``) as a ``status`` answer."""
    coding = [{"system": CODE_SYSTEM, "code": message_code, "display": display}]
    issue = {"severity": severity, "code": code, "details": {"coding": coding}, "diagnostics": diagnostics}
    payload = {"resourceType": "OperationOutcome", "issue": [{**issue, "location": list(location), "expression": []}]}
    return fhir_response(payload, status, headers)


def bundle(kind: str, entries: list[dict[str, Any]], total: int, **extra: Any) -> dict[str, Any]:
    """A ``Bundle`` of type ``kind`` (``searchset``, ``collection``); ``extra`` adds ``meta`` or ``link``."""
    return {"resourceType": "Bundle", **extra, "type": kind, "total": total, "entry": entries}


def urn_for(reference: str) -> str:
    """A stable ``urn:uuid:`` ``fullUrl`` for a resource the sandbox does not serve on its own."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'https://sandbox.healthcode.invalid/' + reference)}"


def is_api_path(path: str) -> bool:
    """Whether errors on ``path`` (wrong method, unknown path, oversized input) answer an OperationOutcome."""
    return path.startswith((CURRENT_BASE + "/", MOVED_BASE + "/")) and path != WHOAMI_PATH


def http_error_outcome(status: int, description: str) -> Response:
    """An ``OperationOutcome`` for a routing or size error on an API path (404, 405, 413, ...), recorded."""
    state, name = current_server().state, endpoint_for_path(request.path)
    state.stats.count("api", f"api.{name}", *_headers_counted())
    if status == 404:
        description = "No API here: look the endpoint up in the API discovery document."
    if status >= 500:
        response = outcome(status, "exception", description, "MSG_SERVER_ERROR", "Server error", severity="fatal")
    else:
        code, message_code, display = _HTTP_ERRORS.get(status, ("invalid", "MSG_INVALID_REQUEST", "Invalid request"))
        response = outcome(status, code, description, message_code, display)
    _record(state, name, status)
    return response


def endpoint_name(key: str) -> str:
    """The short name of a discovery key: ``find_member`` for ``find_member_endpoint``."""
    return key.removesuffix("_endpoint").removesuffix("_namespace")


def endpoint_for_path(path: str) -> str:
    """The short name of the API a path under ``/api/`` belongs to, or ``unknown``."""
    for base in (CURRENT_BASE, MOVED_BASE):
        rest = path.removeprefix(base)
        for key, endpoint_path in ENDPOINT_PATHS.items():
            if rest != path and (rest == endpoint_path or rest.startswith(endpoint_path + "/")):
                return endpoint_name(key)
    return "unknown"


@blueprint.get(DOCUMENT_PATH)
def discovery_document() -> Response:
    """The flat key -> absolute URL document, counted as ``api_discovery`` (``whoami_endpoint`` never moves)."""
    state = current_server().state
    state.stats.count("api_discovery")
    base = MOVED_BASE if state.faults.current.api_moved_permanently else CURRENT_BASE
    document = {key: state.endpoint(base + path) for key, path in ENDPOINT_PATHS.items()}
    return json_response({**document, "whoami_endpoint": state.endpoint(WHOAMI_PATH)})


@blueprint.get(WHOAMI_PATH)
def whoami() -> Response:
    """Who the bearer token speaks for: ``{"sub", "client_id", "scope", "exp"}``, or 401 with OAuth JSON.

    Recorded among the API calls (endpoint ``whoami``); it needs no ``SU-SiteId``, so a client's
    headers can be checked with any account.
    """
    state = current_server().state
    state.stats.count("whoami")
    try:
        claims = _validated_claims(state)
        response = json_response({name: claims.get(name, "") for name in ("sub", "client_id", "scope", "exp")})
    except (MissingAuthorizationError, UnsupportedTokenTypeError):
        # RFC 6750 3.1: a request without a bearer token gets the challenge but no error code.
        message = {"message": "This API needs an access token: send 'Authorization: Bearer <token>'."}
        response = json_response(message, 401, [("WWW-Authenticate", f'Bearer realm="{REALM}"')])
    except OAuth2Error as error:
        status, body, headers = error()
        response = Response(json.dumps(body), status=status, headers=list(headers))
    _record(state, "whoami", response.status_code)
    return response


@dataclass(frozen=True)
class Caller:
    """An admitted call: the sandbox it reached and the base it used (``/api/v1`` or ``/api/v2-moved``)."""

    state: SandboxState
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
            state = current_server().state
            base = MOVED_BASE if request.path.startswith(MOVED_BASE + "/") else CURRENT_BASE
            state.stats.count("api", f"api.{name}", *_headers_counted())
            admitted = _admit(state, base)
            response = view(admitted, **path_args) if isinstance(admitted, Caller) else admitted
            _record(state, name, response.status_code)
            return response

        for base in (CURRENT_BASE, MOVED_BASE):
            blueprint.add_url_rule(
                base + ENDPOINT_PATHS[key] + suffix, f"{view.__name__}{base}", guarded, methods=methods
            )
        return view

    return decorate


def _headers_counted() -> list[str]:
    return [f"api.header.{header}" for header in COUNTED_HEADERS if header in request.headers]


def _admit(state: SandboxState, base: str) -> Caller | Response:
    faults = state.faults.current
    if base == CURRENT_BASE and faults.api_moved_permanently:
        moved = "This API moved: look its endpoint up in the API discovery document again."
        return outcome(404, "not-found", moved, "MSG_ENDPOINT_MOVED", "Endpoint moved")
    elsewhere = faults.api_redirect_elsewhere
    if elsewhere and state.faults.take("api_redirect_elsewhere"):
        return _moved_to(faults.api_moved_status, elsewhere, "api_redirect_elsewhere")
    if base == CURRENT_BASE and state.faults.take("api_moved"):
        target = state.endpoint(MOVED_BASE + request.path.removeprefix(CURRENT_BASE))
        query = request.query_string.decode("latin-1")
        return _moved_to(faults.api_moved_status, f"{target}?{query}" if query else target, "api_moved")
    username = _bearer_username(state)
    if isinstance(username, Response):
        return username
    site = request.headers.get(SITE_HEADER, "").strip()
    if not site:
        required = f"The {SITE_HEADER} header is required: it names the site (tenancy) to query."
        return outcome(400, "required", required, "MSG_SITE_REQUIRED", "Site id required", [SITE_HEADER])
    account = state.settings.account(username)
    if account is None or site not in account.sites:
        forbidden = f"The site in {SITE_HEADER} is not one this account may use."
        return outcome(403, "forbidden", forbidden, "MSG_SITE_NOT_PERMITTED", "Site not permitted", [SITE_HEADER])
    version = request.headers.get(VERSION_HEADER, "").strip() or "1"
    if version not in SUPPORTED_VERSIONS:
        shown = repr(version[:KEPT_HEADER_CHARS]) if version[:KEPT_HEADER_CHARS].isprintable() else "(unprintable)"
        unsupported = f"{VERSION_HEADER} {shown} is not supported; supported: {', '.join(SUPPORTED_VERSIONS)}."
        display = "API version not supported"
        return outcome(400, "not-supported", unsupported, "MSG_VERSION_NOT_SUPPORTED", display, [VERSION_HEADER])
    if state.faults.take("api_failures"):
        failing = "Sandbox fault: api_failures is set."
        status = state.faults.current.failure_status
        return outcome(status, "transient", failing, "MSG_SANDBOX_FAULT", "Service unavailable", severity="fatal")
    if state.faults.take("api_outcome_error"):
        rule = "Sandbox fault: api_outcome_error is set (a made-up business rule refused the request)."
        display = "Request refused by a business rule"
        return outcome(422, "processing", rule, "MSG_SANDBOX_RULE", display, ["Parameters"])
    return Caller(state, base)


def _moved_to(status: int, location: str, knob: str) -> Response:
    moved = f"Sandbox fault: {knob} is set; this API answers at the URL in Location."
    headers = [("Location", location)]
    display = "Alternate endpoint"
    return outcome(
        status, "informational", moved, "MSG_ALTERNATE_ENDPOINT", display, severity="information", headers=headers
    )


def _bearer_username(state: SandboxState) -> str | Response:
    try:
        claims = _validated_claims(state)
    except (MissingAuthorizationError, UnsupportedTokenTypeError):
        missing = "This API needs an access token: send 'Authorization: Bearer <token>'."
        challenge = [("WWW-Authenticate", f'Bearer realm="{REALM}"')]
        return outcome(401, "login", missing, "MSG_TOKEN_MISSING", "Access token missing", headers=challenge)
    except OAuth2Error as error:
        description = str(error.description or "The access token was refused.")
        challenge = [(k, v) for k, v in error.get_headers() if k.lower() == "www-authenticate"]
        code = "expired" if isinstance(error, TokenExpiredError) else "security"
        return outcome(401, code, description, "MSG_TOKEN_INVALID", "Access token refused", headers=challenge)
    return str(claims["sub"])


def _validated_claims(state: SandboxState) -> Any:
    protector = ResourceProtector()
    protector.register_token_validator(AccessTokenValidator(state))
    return protector.validate_request(scopes=None, request=FlaskJsonRequest(request))


def _record(state: SandboxState, name: str, status: int) -> None:
    """Keep which headers came (at most 64 characters of each), never the token, query or body."""
    site, version = request.headers.get(SITE_HEADER), request.headers.get(VERSION_HEADER)
    bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
    site_id, api_version = (None if h is None else h[:KEPT_HEADER_CHARS] for h in (site, version))
    call = ApiCall(request.method, name, request.path[:256], status, site_id, api_version, bearer, request.mimetype)
    state.stats.record_api_call(call)


class TokenExpiredError(InvalidTokenError):  # type: ignore[misc]
    """The access token was valid once: its ``exp`` has passed."""


class AccessTokenValidator(JWTBearerTokenValidator):  # type: ignore[misc]
    """Authlib's RFC 9068 validator (signature against the keys the sandbox publishes now, ``iss``,
    ``aud``, ``exp``, ``typ``), plus revocation, and an RFC 6750 ``error_description`` that says
    *which* check failed, so a failing client test explains itself."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(issuer=state.issuer, resource_server=state.settings.audience, realm=REALM)
        self._state = state

    def get_jwks(self) -> KeySet:
        return self._state.keys.verification_keyset()

    def authenticate_token(self, token_string: str) -> Any:
        try:
            return super().authenticate_token(token_string)
        except InvalidTokenError as error:
            raise _explained(error.__cause__) from error
        except Exception as error:  # joserfc may raise plain ValueErrors on junk input
            raise _invalid("The access token is not a well-formed JWT.") from error

    def validate_token(self, token: Any, scopes: Any, request: Any, **claims: Any) -> None:
        try:
            super().validate_token(token, scopes, request, **claims)
        except InvalidTokenError as error:
            raise _explained(error.__cause__) from error
        if self._state.settings.audience is None and token.get("aud") != token.get("client_id"):
            raise _invalid(_CLAIM_PROBLEMS["aud"])
        if self._state.store.is_revoked(str(token["jti"])):
            raise _invalid("The access token was revoked.")


def _explained(cause: BaseException | None) -> InvalidTokenError:
    if isinstance(cause, ExpiredTokenError):
        return TokenExpiredError(description="The access token expired.", realm=REALM)
    if isinstance(cause, InvalidKeyIdError):
        return _invalid("The access token was signed with a key the sandbox does not publish.")
    if isinstance(cause, BadSignatureError):
        return _invalid("The access token signature does not match the sandbox's keys.")
    if isinstance(cause, MissingClaimError):
        return _invalid(f"The access token lacks required claims: {cause.claim}.")
    if isinstance(cause, ClaimError):
        return _invalid(_CLAIM_PROBLEMS.get(cause.claim, f"The access token has an invalid {cause.claim} claim."))
    return _invalid("The access token is not a JWT this sandbox issued.")


def _invalid(description: str) -> InvalidTokenError:
    return InvalidTokenError(description=description, realm=REALM)
