"""Which URLs may carry the sign-in: https everywhere, plain http only on this machine.

RFC 6749 section 3.1 and RFC 8414 section 2 require TLS for the SSO's endpoints; RFC 8252
section 7.3 allows plain http only for the loopback interface, which is what the local sandbox uses.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from ..errors import escaped

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_URL_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#]*)[?#][^\s]*")
# The authority's user information, up to its last '@' as urlsplit reads it: whitespace included, so
# that a URL too broken to parse does not show its password either.
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#]*@")
# The authority as urllib reads it (up to the first '/', '?' or '#'): the widest reading of any
# parser this library hands URLs to (urllib3 and WHATWG parsers also end it at a backslash).
_AUTHORITY = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?://([^/?#]*))?")


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and any address in 127.0.0.0/8 or ``::1``."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_url(url: str) -> SplitResult | None:
    """``urlsplit`` that returns None instead of raising on malformed input (bad port, brackets)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port, which urlsplit parses lazily
    except ValueError:
        return None
    return parts


def has_control_characters(text: str) -> bool:
    """Whitespace, C0 controls, DEL or C1 controls: never part of a URL we send or accept."""
    return any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text)


def authority_of(url: str) -> str | None:
    """The text between ``scheme://`` and the first ``/``, ``?`` or ``#`` (None without ``//``)."""
    match = _AUTHORITY.match(url)
    return match.group(1) if match else None


def ambiguous_authority(url: str) -> bool:
    """True when parsers may disagree on the host of ``url``: a backslash, an ``@`` (user
    information) or a control character in its authority. ``http://a\\@b/`` is host ``b`` to
    urllib and host ``a`` to urllib3 (requests) and browsers: never let such a URL through."""
    authority = authority_of(url) or ""
    return "\\" in authority or "@" in authority or has_control_characters(authority)


def shown_url(url: str) -> str:
    """What a message or a log may show of a URL: no user name, no query, no fragment, every
    unprintable character escaped, at most 200 characters."""
    return escaped(without_queries(without_credentials(url)), 200)


def endpoint_url_problem(url: object) -> str | None:
    """Why ``url`` cannot be an SSO endpoint, or None when it can. Messages never show the URL's
    query or fragment (they may carry a signature or a state)."""
    if not isinstance(url, str) or not url:
        return "it must be a non-empty URL string"
    if has_control_characters(url):
        return "it contains whitespace or control characters"
    shown = shown_url(url)
    parts = split_url(url)
    if parts is None or not parts.scheme or not parts.hostname:
        return f"'{shown}' is not an absolute URL"
    if parts.username is not None or parts.password is not None:
        return f"'{parts.scheme}://{escaped(parts.hostname, 100)}/...' must not carry credentials before the host name"
    if "\\" in (authority_of(url) or ""):
        return f"'{shown}' has a backslash before its path: parsers disagree on its host"
    if parts.fragment:
        return f"'{shown}' must not contain a fragment (#...)"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return None
    if parts.scheme == "http":
        return f"'{shown}' uses plain http; Healthcode endpoints must use https (http is allowed only for localhost)"
    return f"'{shown}' must be an https URL"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL, lower-cased as browsers compare origins."""
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), parts.hostname or "", parts.port
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS.get(scheme) else "")


def without_queries(text: str) -> str:
    """``text`` with the query and fragment of every URL in it cut off (they may carry a state, a
    code challenge or a code)."""
    return _URL_QUERY.sub(r"\1", text)


def without_credentials(url: str) -> str:
    """``url`` as it may be shown: a user name and password before the host become ``***``
    (``https://***@host/``), whether or not the URL parses (an invalid port, say)."""
    return _USERINFO.sub(r"\1***@", url)
