"""The settings of the daily cycle, checked: who is told (Apprise URLs), when (reminder lead
times, working hours, time zone), how long robots wait for a supervisor, where supervisors sign
in (the portal), and what the client is called in a notice.

Apprise URLs carry passwords and webhook tokens: every piece of them is registered as a secret the
moment they are read (:func:`register_notify_secrets`), and a message shows only their scheme, and
their host where it really is a host name (:func:`shown_notify_url`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, unquote_plus

from .errors import ConfigurationError
from .protocol.schedule import WorkingHours, parse_duration, parse_durations, parse_working_hours
from .protocol.urls import endpoint_url_problem, has_control_characters, split_url, without_credentials, without_queries
from .redaction import REDACTOR

DEFAULT_REMIND_BEFORE = (7200.0, 900.0)  # "2 hours, 15 minutes"
DEFAULT_ESCALATE_AFTER = 1800.0
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
MIN_SECRET_PART = 8
MAX_SHOWN_SCHEME = 16
# Apprise schemes whose host is a real host name (a mail server, a webhook's server, a Teams workflow's
# host): shown in messages and not masked. Every other service may read a token as its host.
REAL_HOST_SCHEMES = frozenset(
    {"mailto", "mailtos", "json", "jsons", "xml", "xmls", "form", "forms", "workflow", "workflows", "http", "https"}
)
# Parameters (in the query, the fragment or a path segment's ";name=") of a sign-in or sign-out being
# prepared or completed: OAuth 2.0 and PKCE (RFC 6749, 7636), OpenID Connect (its request objects,
# JAR/PAR: RFC 9101, 9126; its logout), OAuth 1.0a, SAML, CAS and bearer tokens. A portal URL carrying one
# is a prepared sign-in, a redirect or a sign-out link, not the portal's address.
SIGN_IN_PARAMETERS = frozenset(
    {
        "state",
        "code",
        "code_challenge",
        "code_challenge_method",
        "code_verifier",
        "nonce",
        "request",
        "request_uri",
        "response_type",
        "response_mode",
        "redirect_uri",
        "id_token",
        "access_token",
        "refresh_token",
        "token",
        "authorization_code",
        "assertion",
        "client_assertion",
        "client_secret",
        "session_state",
        "id_token_hint",
        "login_hint",
        "logout_hint",
        "post_logout_redirect_uri",
        "oauth_token",
        "oauth_verifier",
        "oauth_signature",
        "samlrequest",
        "samlresponse",
        "relaystate",
        "samlart",
        "ticket",
        "jwt",
        "password",
        # a device-flow link with its code (RFC 8628 verification_uri_complete), one-time codes,
        # presigned links, session ids
        "user_code",
        "otp",
        "sig",
        "signature",
        "x_amz_signature",
        "x_goog_signature",
        "session_id",
        "jsessionid",
    }
)


def _parameter_key(name: str) -> str:
    """A parameter's name as servers read it, whatever its spelling: case, ``-``, ``_`` and ``.``
    ignored, and a trailing ``[]`` or ``[key]`` (PHP's arrays: ``state[]`` is read as ``state``)."""
    return re.sub(r"[-_.]", "", re.sub(r"\[[^\]]*\]$", "", name.strip().lower()))


_SIGN_IN_KEYS = {_parameter_key(name): name for name in SIGN_IN_PARAMETERS}
# Characters that make a link read otherwise than it goes (bidirectional overrides, invisible marks).
_INVISIBLE = re.compile("[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_HOST = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+", re.ASCII)
# The library's own words, which its advice and notices say: a URL piece that is one of them is no
# secret worth hiding (anyone may guess it), and masking it would garble what the library says.
PUBLIC_WORDS = frozenset(
    {
        "healthcode",
        "healthcode-auth",
        "healthcode_auth",
        "healthcodelibrary",
        "supervisor",
        "supervisors",
        "authorise",
        "authorised",
        "authorisation",
        "reminder",
        "reminders",
        "escalation",
        "notifications",
        "client-id",
        "environment",
        "production",
        "waiting",
        "signed-out",
        "portal_url",
    }
)
_DELIMITERS = re.compile(r"[/\\:@;,&=?#+!$'()*\[\]\s]+")  # what separates a URL's parts, in any service's reading


def split_notify_urls(value: object, setting: str) -> tuple[str, ...]:
    """One or more Apprise URLs, separated by commas or white space (as Apprise itself reads them)."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        urls = [str(item).strip() for item in value if str(item).strip()]
    elif isinstance(value, str):
        urls = [part for part in re.split(r"[\s,]+", value.strip()) if part]
    else:
        raise ConfigurationError(setting, "give one or more Apprise URLs, such as 'mailtos://...' or 'json://...'")
    for url in urls:
        register_notify_secrets(url)
    for number, url in enumerate(urls, 1):
        if not _SCHEME.match(url) or has_control_characters(url):
            which = f"URL {number} of {len(urls)}" if len(urls) > 1 else "the URL"
            scheme = _shown_scheme(url)
            which += f" ({scheme}://...)" if scheme else ""  # the scheme only: the rest may be a token
            why = "contains spaces or control characters" if _SCHEME.match(url) else "has no scheme such as 'json://'"
            raise ConfigurationError(
                setting,
                f"{which} {why}: give Apprise URLs (scheme://...), separated by commas "
                "or spaces; https://github.com/caronc/apprise/wiki lists the services "
                "and their URLs",
            )
    return tuple(urls)


def register_notify_secrets(url: str) -> None:
    """Every secret-bearing piece of an Apprise URL, as written and percent-decoded, masked wherever it
    would be logged: the URL, its user information, user name and password, its host where the
    service reads a token there (everything but :data:`REAL_HOST_SCHEMES`), and its path segments,
    query values and fragment (a webhook's path is its password). Pieces shorter than
    :data:`MIN_SECRET_PART` characters are not masked (they would mask ordinary text), nor the
    library's own words (:data:`PUBLIC_WORDS`)."""
    REDACTOR.add(*_spelled(url))
    scheme, found, rest = url.partition("://")
    if not found:
        return  # no scheme: the whole string is registered above
    ends = [index for index in (rest.find(mark) for mark in "/?#") if index >= 0]
    authority, rest = rest[: min(ends, default=len(rest))], rest[min(ends, default=len(rest)) :]
    rest, _, fragment = rest.partition("#")
    path, _, query = rest.partition("?")
    userinfo, _, host_port = authority.rpartition("@")
    user, _, password = userinfo.partition(":")
    real_host = scheme.lower() in REAL_HOST_SCHEMES
    public = _host_and_port(host_port) if real_host else set()
    pieces = [
        userinfo,
        user,
        password,
        *(piece for piece in {authority, host_port, *re.split(r"[:@]", authority)} if piece not in public),
    ]
    pieces.extend(re.split(r"[/;]", path))
    pieces.extend(item.partition("=")[2] if "=" in item else item for item in re.split(r"[&;]", query))
    pieces.extend(re.split(r"[/&=]", fragment))
    # And every run between delimiters inside a piece, as written and decoded: a service may read a
    # token out of the middle of one (rocket://TOKEN_A/TOKEN_B@host: TOKEN_B is a path segment's start).
    pieces.extend(
        part
        for piece in list(pieces)
        for form in _spelled(piece)
        for part in _DELIMITERS.split(form)
        if part not in public
    )
    # Every piece is a secret (a webhook's id may be plain words: /api/webhook/robots-alert-hook), but
    # the library's own words: a URL naming them cannot hide its advice ("run 'healthcode-auth login'").
    REDACTOR.add(
        *(
            spelling
            for piece in pieces
            if len(piece) >= MIN_SECRET_PART and piece not in PUBLIC_WORDS
            for spelling in _spelled(piece, lower=not real_host)
        )
    )


def _host_and_port(host_port: str) -> set[str]:
    """``host:port`` (``[v6]:port``), its host and its port: not secrets when the host is a real host;
    nothing when what follows the ':' is no port (a password cut short by a '/', '?' or '#')."""
    host, _, port = host_port.rpartition(":") if host_port.rfind(":") > host_port.rfind("]") else (host_port, "", "")
    return {host_port, host, port} if port.isdigit() or not port else set()


def _spelled(piece: str, *, lower: bool = False) -> set[str]:
    """``piece`` as written, percent-decoded (and form-decoded), and lower-cased where a service may
    lower-case it (a host)."""
    forms = {piece, unquote(piece), unquote_plus(piece)}
    return forms | {form.lower() for form in forms} if lower else forms


def shown_notify_url(url: str) -> str:
    """What a message may say of an Apprise URL: ``scheme://host`` where the host really is a host
    name (:data:`REAL_HOST_SCHEMES`), else ``scheme://...`` (Telegram's, Pushover's and others'
    "host" is a token)."""
    scheme = _shown_scheme(url)
    if not scheme:
        return "an Apprise URL"
    parts = split_url(url)
    keys = "".join(item.partition("=")[0] for item in parts.query.split("&")) if parts else ""
    if (
        scheme in REAL_HOST_SCHEMES
        and parts is not None
        and parts.hostname
        and _HOST.fullmatch(parts.hostname)
        and "@" not in parts.path + parts.fragment + keys
    ):  # no half of a password cut at a '/', '?' or '#'
        return f"{scheme}://{parts.hostname}"
    return f"{scheme}://..."


def _shown_scheme(url: str) -> str:
    """The scheme of an Apprise URL, lower-cased, or '' when there is none to show."""
    found = _SCHEME.match(url)
    scheme = found.group(0)[:-3].lower() if found else ""
    return scheme if len(scheme) <= MAX_SHOWN_SCHEME else ""


def check_notify(value: object, _: Mapping[str, Any]) -> object:
    return split_notify_urls(value, "notify")


def check_notify_escalation(value: object, _: Mapping[str, Any]) -> object:
    return split_notify_urls(value, "notify_escalation")


def check_remind_before(value: object, _: Mapping[str, Any]) -> object:
    leads = parse_durations(value, "remind_before")
    if any(lead <= 0 for lead in leads):
        raise ConfigurationError("remind_before", "every lead time must be more than 0")
    return leads


def check_remind_hours(value: object, _: Mapping[str, Any]) -> object:
    """Working hours as text (``Mon-Fri 08:00-18:00, Sat 09:00-12:00``), a list of such texts (from a
    YAML or TOML file), or hours already read; anything else is an error now, not at the first reminder."""
    if isinstance(value, WorkingHours):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        value = ", ".join(item.strip() for item in value if item.strip())
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ConfigurationError(
            "remind_hours",
            "give the working hours as text, such as 'Mon-Fri 08:00-18:00' or 'Mon-Fri 08:00-18:00, Sat 09:00-12:00'",
        )
    return parse_working_hours(value)


def check_timezone(value: object, _: Mapping[str, Any]) -> object:
    if value is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            "timezone", f"'{value}' is not a time zone name such as 'Europe/London' (on Windows: pip install tzdata)"
        ) from None
    return str(value)


def check_duration(name: str) -> Any:
    def check(value: object, _: Mapping[str, Any]) -> object:
        return parse_duration(value, name)

    return check


def check_portal_url(value: object, _: Mapping[str, Any]) -> object:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError("portal_url", "give the portal's https address, as supervisors open it")
    carried = sorted(_sign_in_parameters(value))
    if carried:
        address = re.sub(r";[^/]*", "", without_queries(without_credentials(value.split("#")[0].split("?")[0])))
        shown = "the URL" if has_control_characters(address) else f"'{address}'"
        raise ConfigurationError(
            "portal_url",
            f"{shown} carries {', '.join(carried)}: a portal URL is the portal's "
            "plain address, as supervisors open it, never a prepared sign-in (an "
            "authorisation request or a redirect with a code); give the portal's "
            "https address without those parameters",
        )
    # A single-page portal's route (#/dashboard) is part of its address; any other fragment is refused.
    route = re.fullmatch(r"([^#]*)#(/[A-Za-z0-9/_.~-]*)", value)
    problem = endpoint_url_problem(route.group(1) if route else value) or (
        "it contains invisible or direction-changing characters (a link that reads otherwise than it goes)"
        if _INVISIBLE.search(value)
        else None
    )
    if problem:
        raise ConfigurationError("portal_url", f"give the portal's https address, as supervisors open it; {problem}")
    return value


def _sign_in_parameters(url: str) -> set[str]:
    """The parameters of :data:`SIGN_IN_PARAMETERS` named in the query, the fragment or the path
    segments' parameters (``/cb;code=...``) of ``url``, in any case and percent-encoding."""
    rest = url.partition("://")[2]
    path = re.split(r"[?#]", rest, maxsplit=1)[0].partition("/")[2]
    after = rest[len(rest.split("?")[0].split("#")[0]) :]
    items = re.split(r"[&;?#]", after) + [item for segment in path.split("/") for item in segment.split(";")[1:]]
    keys = {_parameter_key(unquote_plus(item.partition("=")[0])) for item in items}
    return {_SIGN_IN_KEYS[key] for key in keys if key in _SIGN_IN_KEYS}


def check_client_name(value: object, _: Mapping[str, Any]) -> object:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.strip()
        or has_control_characters(value.replace(" ", ""))
        or len(value) > 100
    ):
        raise ConfigurationError(
            "client_name", "give the robots' name as supervisors know it, up to 100 printable characters"
        )
    return value.strip()
