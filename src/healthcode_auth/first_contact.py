"""The first-contact report (``healthcode-auth check --report``): what Healthcode's SSO and API
publish, and what its token looks like, redacted so that a customer can keep it or send it to Healthcode.

It holds the names (keys) of both discovery documents, the hosts their endpoints are on, the token
endpoint's authentication methods, the grant types, response types and code challenge methods the
SSO offers, which API discovery address was tried (UAT's is not confirmed by Healthcode's pages) and,
after a sign-in, the access token's header (``alg``, ``kid``, ``typ``), the *names* of its claims and
its lifetime. Never a value that identifies a person (no ``sub``, name or e-mail), never a token, a
secret, the site id or a query string: every text a server sent is escaped and bounded.

:func:`first_contact_report` gathers it from a session (fetching both documents, reading the token
the session holds, never signing in or renewing); :func:`sso_section`, :func:`api_section` and
:func:`token_section` build each part from what they are given, without I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .api_discovery import UAT_NOTE
from .api_settings import API_DISCOVERY
from .errors import HealthcodeAuthError, escaped
from .protocol.api_document import ApiDocument, shown_url
from .protocol.jwt_verification import claims_of, header_of, looks_like_jwt
from .protocol.token import Token
from .protocol.urls import endpoint_url_problem, origin_of
from .version import __version__

if TYPE_CHECKING:
    from .session import HealthcodeSession

MAX_NAMES = 200  # keys or claim names listed per section
MAX_NAME = 100  # characters of one name
OFFERED = (
    ("token_endpoint_auth_methods_supported", "token endpoint auth methods"),
    ("grant_types_supported", "grant types"),
    ("response_types_supported", "response types"),
    ("code_challenge_methods_supported", "code challenge methods"),
)
HEADER_FIELDS = ("alg", "kid", "typ")
INTRO = (
    "Nothing in this report identifies a person or is a secret: names (keys) and hosts of the discovery "
    "documents, what the SSO offers, and the access token's header and claim names, never their values."
)


@dataclass(frozen=True)
class FirstContactReport:
    """The report: ``sections`` maps ``settings``, ``sso``, ``api`` and ``token`` to JSON-ready dicts."""

    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``check --report --json``)."""
        return {
            "report": "healthcode first contact",
            "library_version": __version__,
            **{name: dict(section) for name, section in self.sections.items()},
        }

    def as_text(self) -> str:
        """For people: one line per fact, lists comma-separated."""
        lines = [f"Healthcode first-contact report (robotframework-healthcode {__version__})", INTRO]
        for name, section in self.sections.items():
            lines += ["", f"{_TITLES.get(name, name)}:"]
            lines += [f"  {key.replace('_', ' ')}: {_shown(value)}" for key, value in section.items()]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.as_text()


_TITLES = {
    "settings": "Settings",
    "sso": "SSO discovery document (OpenID)",
    "api": "API discovery document",
    "token": "Access token (after a sign-in)",
}


def first_contact_report(session: HealthcodeSession) -> FirstContactReport:
    """Fetch both discovery documents and read the session's token (no sign-in, no renewal): the
    report. A document that cannot be fetched is reported with the error, never raised."""
    config = session.config
    sso = _gathered(
        lambda: sso_section(session.client.metadata.document, config.discovery_url),
        {"url": shown_url(config.discovery_url)},
    )
    api_url = config.api_discovery_url
    api = _gathered(lambda: api_section(session.api_document(refresh=True), api_url), api_section(None, api_url))
    token = _gathered(lambda: token_section(session.current_token()), token_section(None))
    environment = config.environment if config.environment in API_DISCOVERY else shown_url(config.environment)
    settings = {
        "environment": environment,
        "api_version": config.api_version,
        "site_id": "set (not shown)" if config.site_id else "not set",
        "client_secret": "set (not shown)" if config.client_secret else "not set (a public client, PKCE)",
        "basic_auth_user": "a separate user (not shown)" if config.basic_auth_user else "the client id",
    }
    return FirstContactReport({"settings": settings, "sso": sso, "api": api, "token": token})


def sso_section(document: Mapping[str, Any], url: str) -> dict[str, Any]:
    """The SSO's discovery document: its keys, the hosts of its URLs and what it offers."""
    section: dict[str, Any] = {"url": shown_url(url), "keys": _names(document), "hosts": _hosts(document.values())}
    for key, title in OFFERED:
        value = document.get(key)
        section[title.replace(" ", "_")] = _names(value) if isinstance(value, list) else "not published"
    return section


def api_section(document: ApiDocument | None, url: str, error: str | None = None) -> dict[str, Any]:
    """The API discovery document: where it was looked for, its keys, the hosts of its endpoints and
    the endpoints left out (key and reason); or why it could not be read."""
    section: dict[str, Any] = {"url": shown_url(url)}
    if url == API_DISCOVERY["uat"]:
        section["note"] = "UAT's address is inferred from the SSO's; Healthcode's pages do not confirm it."
    if document is None:
        section["found"] = "no" + (f": {escaped(error, 400)}" if error else "")
        if url == API_DISCOVERY["uat"]:
            section["note"] = UAT_NOTE
        return section
    section.update(
        found="yes",
        keys=_names(document.document or document.urls),
        endpoints=len(document.urls),
        hosts=sorted(escaped(origin, MAX_NAME) for origin in document.origins),
    )
    if document.problems:
        section["left_out"] = list(document.problems[:MAX_NAMES])
    return section


def token_section(token: Token | None) -> dict[str, Any]:
    """The access token's header and claim names, its lifetime and type: nothing that identifies the
    supervisor, never the token."""
    if token is None:
        return {"signed_in": "no (sign in first, e.g. healthcode-auth login, to see the token's header and claims)"}
    section: dict[str, Any] = {"signed_in": "yes", "token_type": escaped(token.token_type, 20)}
    if not looks_like_jwt(token.access_token):
        section["format"] = "opaque (not a JWT): it has no header or claims to show"
        return section
    header, claims = header_of(token.access_token), claims_of_quietly(token.access_token)
    section["format"] = "JWT"
    section["header"] = {
        name: escaped(header[name], MAX_NAME) for name in HEADER_FIELDS if isinstance(header.get(name), str)
    }
    section["header_names"] = _names(header)
    section["claim_names"] = _names(claims)
    lifetime = _lifetime(claims)
    if lifetime is not None:
        section["lifetime_seconds"] = lifetime
    return section


def claims_of_quietly(token: str) -> dict[str, Any]:
    """The claims, or none for a token too malformed to read (a report never fails on it)."""
    try:
        return claims_of(token)
    except HealthcodeAuthError:
        return {}


def _gathered(build: Callable[[], dict[str, Any]], failed: dict[str, Any]) -> dict[str, Any]:
    try:
        return build()
    except HealthcodeAuthError as error:
        if "found" in failed:
            return {**failed, "found": f"no: {escaped(error, 400)}"}
        return {**failed, "error": escaped(error, 400)}


def _names(values: Iterable[object]) -> list[str]:
    """Sorted distinct names (keys of an object, or strings of a list), each escaped and bounded."""
    names = sorted({escaped(value, MAX_NAME) for value in values if isinstance(value, str)})
    return names[:MAX_NAMES] + ([f"... and {len(names) - MAX_NAMES} more"] if len(names) > MAX_NAMES else [])


def _hosts(values: Iterable[object]) -> list[str]:
    """The origins of the values that are usable URLs (no path, no query), escaped: a host may hold a
    bidirectional control or a zero-width space that would disguise it on a terminal."""
    return sorted(
        {
            escaped(origin_of(value), MAX_NAME)
            for value in values
            if isinstance(value, str) and not endpoint_url_problem(value)
        }
    )


def _lifetime(claims: Mapping[str, Any]) -> int | None:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (exp, iat)):
        return None
    lifetime = float(exp) - float(iat)  # type: ignore[arg-type]  # numbers, checked above
    return int(lifetime) if 0 < lifetime < 10**9 else None


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items()) or "(none)"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "(none)"
    return str(value)
