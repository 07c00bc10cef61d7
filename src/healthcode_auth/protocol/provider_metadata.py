"""The SSO server's metadata from its OpenID discovery document (OIDC Discovery 1.0, RFC 8414).

Endpoints are never hard-coded: Healthcode asks clients to look them up by key. The document is
validated here (issuer consistent with where it was fetched, RFC 8414 section 3.3; required keys;
https endpoints); fetching it is the client's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import DiscoveryError
from .urls import endpoint_url_problem

OIDC_SUFFIX = "/.well-known/openid-configuration"
RFC8414_PREFIX = "/.well-known/oauth-authorization-server"
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint")
OPTIONAL_ENDPOINTS = ("jwks_uri", "revocation_endpoint", "userinfo_endpoint", "end_session_endpoint")


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the discovery document the sign-in needs, validated."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str | None = None
    revocation_endpoint: str | None = None
    token_endpoint_auth_methods_supported: tuple[str, ...] | None = None
    authorization_response_iss_parameter_supported: bool = False
    discovery_url: str = ""
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The original document, for caching alongside a token."""
        return dict(self.document)


def discovery_candidates(environment: str) -> tuple[str, ...]:
    """Where the discovery document of ``environment`` may be.

    A ``/.well-known/`` URL is the document's own; any other URL is an issuer, whose document is
    looked for first as OpenID Connect Discovery 1.0 section 4 says (``/.well-known/openid-configuration``
    appended to the issuer), then as RFC 8414 section 3.1 says (``/.well-known/oauth-authorization-server``
    inserted between the host and the issuer's path).
    """
    parts = urlsplit(environment)
    if "/.well-known/" in parts.path + "/":
        return (environment,)
    path = parts.path.rstrip("/")
    oidc = urlunsplit((parts.scheme, parts.netloc, path + OIDC_SUFFIX, "", ""))
    rfc8414 = urlunsplit((parts.scheme, parts.netloc, RFC8414_PREFIX + path, "", ""))
    return (oidc, rfc8414)


def kind_of(discovery_url: str) -> str:
    """Which standard a discovery URL follows, for people."""
    return "RFC 8414" if RFC8414_PREFIX in urlsplit(discovery_url).path else "OpenID Connect Discovery 1.0"


def expected_issuer(discovery_url: str) -> str:
    """The issuer a document fetched from ``discovery_url`` must name.

    OpenID Connect appends ``/.well-known/openid-configuration`` to the issuer; RFC 8414 inserts
    ``/.well-known/oauth-authorization-server`` between host and path. Anything else is
    compared as the URL's origin.
    """
    parts = urlsplit(discovery_url)
    path = parts.path
    if path.endswith(OIDC_SUFFIX):
        path = path[: -len(OIDC_SUFFIX)]
    elif path.startswith(RFC8414_PREFIX):
        path = path[len(RFC8414_PREFIX) :]
    else:
        path = ""
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def parse_metadata(document: object, discovery_url: str) -> ProviderMetadata:
    """Validate a discovery document fetched from ``discovery_url``."""
    where = f"The discovery document at {discovery_url}"
    if not isinstance(document, Mapping):
        raise DiscoveryError(
            f"{where} is not a JSON object. Check the environment setting: it must be "
            "'production', 'uat' or the URL of an OpenID discovery document."
        )
    issuer = document.get("issuer")
    problem = endpoint_url_problem(issuer)
    if problem or not isinstance(issuer, str):
        raise DiscoveryError(f"{where} has an invalid 'issuer': {problem}.")
    if issuer.rstrip("/") != expected_issuer(discovery_url).rstrip("/"):
        raise DiscoveryError(
            f"{where} names the issuer '{issuer}', which does not match the URL it was "
            "fetched from (RFC 8414 section 3.3). Someone may be impersonating the SSO "
            "server; check the environment setting."
        )
    endpoints: dict[str, str | None] = {}
    for key in REQUIRED_ENDPOINTS + OPTIONAL_ENDPOINTS:
        value = document.get(key)
        if value is None and key not in REQUIRED_ENDPOINTS:
            endpoints[key] = None
            continue
        if value is None:
            raise DiscoveryError(
                f"{where} has no '{key}'. It is not the discovery document of an OAuth 2.0 "
                "authorization server; check the environment setting."
            )
        problem = endpoint_url_problem(value)
        if problem:
            raise DiscoveryError(f"{where} has an unusable '{key}': {problem}.")
        endpoints[key] = value
    methods = _string_list(document, "code_challenge_methods_supported", where)
    if methods is not None and "S256" not in methods:
        raise DiscoveryError(
            f"{where} says the server does not support PKCE with S256, which Healthcode "
            "sign-in requires. Check the environment setting."
        )
    iss_supported = document.get("authorization_response_iss_parameter_supported", False)
    if not isinstance(iss_supported, bool):
        raise DiscoveryError(f"{where} has a non-boolean 'authorization_response_iss_parameter_supported'.")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=str(endpoints["authorization_endpoint"]),
        token_endpoint=str(endpoints["token_endpoint"]),
        jwks_uri=endpoints["jwks_uri"],
        revocation_endpoint=endpoints["revocation_endpoint"],
        token_endpoint_auth_methods_supported=_string_list(document, "token_endpoint_auth_methods_supported", where),
        authorization_response_iss_parameter_supported=iss_supported,
        discovery_url=discovery_url,
        document=dict(document),
    )


def _string_list(document: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DiscoveryError(f"{where} has a '{key}' that is not a list of strings.")
    return tuple(value)
