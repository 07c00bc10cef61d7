"""Healthcode's API discovery document: which URL each API has, and which hosts may get the token.

Healthcode asks every integration to look its APIs up here, never to hard-code them: an endpoint may
move without notice, and the document is then updated. Healthcode shows no sample; it describes "JSON
key-value pairs providing details about API configurations, including URIs", with keys such as
``find_member_endpoint`` and ``codes_valueset_namespace``. So: a flat JSON object whose string values
that are absolute URLs are the endpoints; any other value is ignored.

Each endpoint is checked like the SSO's (https, plain http only on loopback, no user name, fragment or
backslash before the path, at most :data:`MAX_ENDPOINT_CHARS` characters), and must be on a host the
document may name: for a document under ``healthcode.co.uk`` (production,
UAT) any host under ``healthcode.co.uk``, otherwise the document's own origin. Endpoints that fail are
left out and said why (:attr:`ApiDocument.problems`, for the caller to log); a document with no usable
endpoint is an error. The origins of the usable endpoints are the only places the token, the site id
and the API version are ever sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from ..errors import ApiArgumentError, ApiDiscoveryError, escaped
from .urls import ambiguous_authority, endpoint_url_problem, has_control_characters, origin_of, shown_url, split_url

__all__ = [
    "ApiDocument",
    "api_discovery_url_for",
    "api_name",
    "describe_problems",
    "is_healthcode_host",
    "parse_api_document",
    "shown_url",
]

HEALTHCODE_DOMAIN = "healthcode.co.uk"
WELL_KNOWN_PATH = "/.well-known/discovery-document.json"
ENDPOINT_SUFFIX = "_endpoint"
MAX_NAME = 200
MAX_SHOWN_PROBLEMS = 10
MAX_ENDPOINT_CHARS = 2000  # a longer URL is no API's address (and past 64 KB httpx cannot send it)
_LOOKS_LIKE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def api_discovery_url_for(environment_url: str) -> str:
    """The API discovery document of an SSO that is neither production nor UAT: at the origin of
    its URL (the sandbox serves both on one server)."""
    return origin_of(environment_url) + WELL_KNOWN_PATH


def api_name(key: str) -> str:
    """A key as the library names the API: without the ``_endpoint`` suffix."""
    return key[: -len(ENDPOINT_SUFFIX)] if key.endswith(ENDPOINT_SUFFIX) and key != ENDPOINT_SUFFIX else key


def is_healthcode_host(host: str | None) -> bool:
    """``healthcode.co.uk`` or any host name under it: letter, digit and hyphen labels only (never an
    IP literal in brackets, a zone, or a percent-encoded or other character a URL reader may split on)."""
    host = (host or "").lower()
    host = host[:-1] if host.endswith(".") else host  # one root dot; an empty label is no label
    if not all(_LABEL.fullmatch(label) for label in host.split(".")):
        return False
    return host == HEALTHCODE_DOMAIN or host.endswith("." + HEALTHCODE_DOMAIN)


_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class ApiDocument:
    """The usable endpoints of an API discovery document, keyed as the document keys them."""

    source: str
    urls: Mapping[str, str]
    problems: tuple[str, ...] = ()
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def endpoints(self) -> dict[str, str]:
        """Every endpoint by its name without the ``_endpoint`` suffix, sorted by name."""
        return dict(self._endpoints)

    @cached_property
    def _endpoints(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for key in sorted(self.urls, key=lambda k: (not k.endswith(ENDPOINT_SUFFIX), k)):
            names.setdefault(api_name(key), self.urls[key])
        return dict(sorted(names.items()))

    @cached_property
    def origins(self) -> frozenset[str]:
        """The origins (scheme, host, port) of the usable endpoints: where the token may go
        (computed once: every request asks)."""
        return frozenset(origin_of(url) for url in self.urls.values())

    def allows(self, url: str) -> bool:
        """True when ``url`` is on one of :attr:`origins` and every parser reads the same host in it:
        no backslash, ``@`` (user information) or control character in its authority, none at all."""
        if not isinstance(url, str) or has_control_characters(url) or ambiguous_authority(url):
            return False
        parts = split_url(url)
        return parts is not None and bool(parts.hostname) and origin_of(url) in self.origins

    def endpoint(self, name: str) -> str:
        """The URL of the API ``name`` (``find_member`` or ``find_member_endpoint``)."""
        if not isinstance(name, str):
            raise ApiArgumentError("Name the API as text, as the API discovery document keys it, such as find_member.")
        for key in (name, name + ENDPOINT_SUFFIX):
            if key in self.urls:
                return self.urls[key]
        known = tuple(self.endpoints)
        listed = ", ".join(known[:60]) + (f" and {len(known) - 60} more" if len(known) > 60 else "")
        raise ApiDiscoveryError(
            f"The API discovery document at {shown_url(self.source)} names no API "
            f"'{escaped(name, 100)}'. It names: {listed}. Check the name against Healthcode's "
            "API library (the key without '_endpoint').",
            known,
        )

    def to_dict(self) -> dict[str, Any]:
        """The original document, for keeping beside the token."""
        return dict(self.document)


def parse_api_document(document: object, source: str) -> ApiDocument:
    """Validate an API discovery document fetched from ``source``; ApiDiscoveryError when it is not
    a JSON object or names no usable endpoint."""
    where = f"The API discovery document at {shown_url(source)}"
    if not isinstance(document, Mapping):
        raise ApiDiscoveryError(
            f"{where} is not a JSON object. Check the api_discovery setting "
            "(HEALTHCODE_API_DISCOVERY), or the environment it is derived from."
        )
    urls: dict[str, str] = {}
    problems: list[str] = []
    for key, value in document.items():
        if not isinstance(key, str) or not isinstance(value, str) or not _LOOKS_LIKE_URL.match(value):
            continue  # a namespace's description, a version number, a flag: not an endpoint
        problem = _endpoint_problem(key, value, source)
        if problem:
            problems.append(f"'{escaped(key, 80)}': {problem}")
        else:
            urls[key] = value
    if not urls:
        found = f" ({'; '.join(problems[:MAX_SHOWN_PROBLEMS])})" if problems else ""
        raise ApiDiscoveryError(
            f"{where} names no usable API endpoint{found}. Check the api_discovery setting "
            "(HEALTHCODE_API_DISCOVERY), or the environment it is derived from."
        )
    return ApiDocument(source=source, urls=urls, problems=tuple(problems), document=dict(document))


def describe_problems(document: ApiDocument) -> str | None:
    """One warning for every endpoint left out (at most :data:`MAX_SHOWN_PROBLEMS` named), or None."""
    problems = document.problems
    if not problems:
        return None
    more = f"; and {len(problems) - MAX_SHOWN_PROBLEMS} more" if len(problems) > MAX_SHOWN_PROBLEMS else ""
    return (
        f"The API discovery document at {shown_url(document.source)}: {len(problems)} endpoint(s) left out, "
        f"never called: {'; '.join(problems[:MAX_SHOWN_PROBLEMS])}{more}."
    )


def _endpoint_problem(key: str, url: str, source: str) -> str | None:
    if len(key) > MAX_NAME or not key.isprintable() or not key.strip():
        return "the key is not a name"
    if len(url) > MAX_ENDPOINT_CHARS:
        return f"the URL is {len(url)} characters long, more than {MAX_ENDPOINT_CHARS}"
    problem = endpoint_url_problem(url)
    if problem:
        return escaped(problem, 300)
    if ambiguous_authority(url):
        return "its host part holds '\\' or '@': parsers disagree on its host"
    host = urlsplit(url).hostname
    if is_healthcode_host(urlsplit(source).hostname):
        bracketed = "[" in urlsplit(url).netloc  # an IP literal (urllib hands out its inside as the host)
        if bracketed or not is_healthcode_host(host) or urlsplit(url).scheme != "https":
            return f"{escaped(host, 100)} is not a Healthcode host (https, under {HEALTHCODE_DOMAIN})"
    elif origin_of(url) != origin_of(source):
        return f"{escaped(origin_of(url), 100)} is not the document's own origin {escaped(origin_of(source), 100)}"
    return None
