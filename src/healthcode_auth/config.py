"""The settings of one Healthcode client registration, validated once, at construction.

Every setting can come from an argument or from a ``HEALTHCODE_*`` environment variable; an
explicit argument wins. Invalid settings fail here, naming the setting, rather than halfway
through a supervisor's sign-in (the daily cycle's in ``cycle_settings.py``, API calls' in ``api_settings.py``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import tzinfo
from pathlib import Path
from typing import Any

from .api_settings import API_CHECKS, API_ENV_VARS, DEFAULT_API_VERSION, api_discovery_url
from .cycle_settings import (
    DEFAULT_ESCALATE_AFTER,
    DEFAULT_REMIND_BEFORE,
    check_client_name,
    check_duration,
    check_notify,
    check_notify_escalation,
    check_portal_url,
    check_remind_before,
    check_remind_hours,
    check_timezone,
)
from .errors import ConfigurationError, InvalidSettingsError, MissingSettingError
from .protocol.jwt_verification import DEFAULT_LEEWAY
from .protocol.provider_metadata import discovery_candidates
from .protocol.schedule import WorkingHours
from .protocol.token import DEFAULT_EXPIRY_MARGIN
from .protocol.urls import (
    endpoint_url_problem,
    has_control_characters,
    is_loopback_host,
    split_url,
    without_credentials,
)
from .supervisor_settings import SUPERVISOR_CHECKS, SUPERVISOR_ENV_VARS

ENVIRONMENTS: Mapping[str, str] = {
    "production": "https://auth.healthcode.co.uk/.well-known/openid-configuration",
    "uat": "https://auth.uat.healthcode.co.uk/.well-known/openid-configuration",
}

ENV_VARS: Mapping[str, str] = {
    "client_id": "HEALTHCODE_CLIENT_ID",
    "redirect_uri": "HEALTHCODE_REDIRECT_URI",
    "environment": "HEALTHCODE_ENVIRONMENT",
    "client_secret": "HEALTHCODE_CLIENT_SECRET",
    "scope": "HEALTHCODE_SCOPE",
    "timeout": "HEALTHCODE_TIMEOUT",
    "ca_bundle": "HEALTHCODE_CA_BUNDLE",
    "proxy": "HEALTHCODE_PROXY",
    "verify_access_token": "HEALTHCODE_VERIFY_ACCESS_TOKEN",
    "token_cache": "HEALTHCODE_TOKEN_CACHE",
    "expiry_margin": "HEALTHCODE_EXPIRY_MARGIN",
    "leeway": "HEALTHCODE_LEEWAY",
    "audience": "HEALTHCODE_AUDIENCE",
    "client_name": "HEALTHCODE_CLIENT_NAME",
    "notify": "HEALTHCODE_NOTIFY",
    "notify_escalation": "HEALTHCODE_NOTIFY_ESCALATION",
    "escalate_after": "HEALTHCODE_ESCALATE_AFTER",
    "remind_before": "HEALTHCODE_REMIND_BEFORE",
    "remind_hours": "HEALTHCODE_REMIND_HOURS",
    "timezone": "HEALTHCODE_TIMEZONE",
    "wait_for_authorisation": "HEALTHCODE_WAIT_FOR_AUTHORISATION",
    "portal_url": "HEALTHCODE_PORTAL_URL",
    **API_ENV_VARS,
    **SUPERVISOR_ENV_VARS,
}
MAX_LEEWAY = 3600

# RFC 6749 Appendix A: client_id is *VSCHAR, a scope token is 1*NQCHAR.
_VSCHARS = re.compile(r"[\x20-\x7e]+")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
VERIFY_CHOICES = ("auto", "always", "never")


@dataclass(frozen=True)
class HealthcodeConfig:
    """Immutable settings for signing in one registered client.

    ``environment`` is ``production``, ``uat``, the URL of any OpenID or RFC 8414 discovery
    document, or an issuer URL (the local sandbox's base URL, or another standards-conformant
    SSO's issuer), whose discovery document is then looked up (:attr:`discovery_urls`). ``client_secret`` is optional:
    without it the client signs in as a public client, protected by PKCE alone.
    ``verify_access_token`` is ``auto`` (verify JWT access tokens against the published JWKS,
    accept opaque ones), ``always`` or ``never``. ``token_cache`` says where the token store is
    (default: a per-user file; see :func:`healthcode_auth.storage.open_store`), or ``off`` to keep
    tokens in memory only. A token counts as expired ``expiry_margin`` seconds before it expires,
    which also absorbs clock skew. ``leeway`` is how many seconds a token's times (``iat``, ``nbf``,
    ``exp``) and this machine's clock may disagree when a token is verified (default 300; beyond it,
    :class:`~healthcode_auth.errors.ClockSkewError`). ``audience``, when set, is the ``aud`` every
    access token must name (a JWT, verified; RFC 9068 section 4). ``api_settings.py`` tells the rest.
    """

    client_id: str
    redirect_uri: str
    environment: str = "production"
    client_secret: str | None = field(default=None, repr=False)
    scope: str | None = None
    timeout: float = 30.0
    ca_bundle: str | None = None
    proxy: str | None = None
    verify_access_token: str = "auto"
    leeway: int = DEFAULT_LEEWAY
    token_cache: str | None = None
    expiry_margin: float = DEFAULT_EXPIRY_MARGIN
    audience: str | None = None
    # The daily cycle (cycle_settings.py): notices, reminders, robots that wait for a supervisor.
    client_name: str | None = None
    notify: tuple[str, ...] = field(default=(), repr=False)
    notify_escalation: tuple[str, ...] = field(default=(), repr=False)
    escalate_after: float = DEFAULT_ESCALATE_AFTER
    remind_before: tuple[float, ...] = DEFAULT_REMIND_BEFORE
    remind_hours: WorkingHours | None = None
    timezone: str | None = None
    wait_for_authorisation: float = 0.0
    portal_url: str | None = None  # then calls to Healthcode's APIs (api_settings.py):
    site_id: str | None = None
    api_version: str = DEFAULT_API_VERSION
    api_discovery: str | None = None
    basic_auth_user: str | None = None
    log_api_content: bool = False
    supervisors: tuple[str, ...] = ()  # who may authorise the robots (supervisor_settings.py)
    supervisor_claim: str = "sub"

    def __post_init__(self) -> None:
        values, problems = validate({f: getattr(self, f) for f in self.__dataclass_fields__})
        raise_problems(problems)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        # A proxy or token store URL may carry a user name and password: shown as ***.
        shown = (
            f"{f.name}={_shown(value)!r}" if isinstance(value := getattr(self, f.name), str) else f"{f.name}={value!r}"
            for f in fields(self)
            if f.repr
        )
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def discovery_urls(self) -> tuple[str, ...]:
        """Where to look for the discovery document, in order (an issuer URL gives two places)."""
        if self.environment in ENVIRONMENTS:
            return (ENVIRONMENTS[self.environment],)
        return discovery_candidates(self.environment)

    @property
    def discovery_url(self) -> str:
        """The environment's identity (its first discovery URL): what entries in a store are keyed by."""
        return self.discovery_urls[0]

    @property
    def api_discovery_url(self) -> str:
        """Where the API discovery document is (``api_discovery``, else derived from ``environment``)."""
        return api_discovery_url(self.environment, self.api_discovery)

    @property
    def display_name(self) -> str:
        """What notices and pages call the robots: ``client_name``, else the client id."""
        return self.client_name or self.client_id

    @property
    def zone(self) -> tzinfo | None:
        """The supervisors' time zone (None: this machine's)."""
        from zoneinfo import ZoneInfo

        return None if self.timezone is None else ZoneInfo(self.timezone)

    @property
    def is_confidential(self) -> bool:  # the client authenticates with a secret
        return self.client_secret is not None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **settings: Any) -> HealthcodeConfig:
        """Settings from keyword arguments, falling back to ``HEALTHCODE_*`` environment variables.

        Arguments given as None (or not given) are read from the environment; an empty
        environment variable counts as not set. Every problem is reported at once
        (:class:`~healthcode_auth.errors.InvalidSettingsError` when there are several).
        """
        environ = os.environ if environ is None else environ
        problems: list[ConfigurationError] = [
            ConfigurationError(name, "there is no such setting")
            for name in sorted(set(settings) - set(cls.__dataclass_fields__))
        ]
        values: dict[str, Any] = {k: v for k, v in settings.items() if v is not None and k in cls.__dataclass_fields__}
        for name, variable in ENV_VARS.items():
            if name not in values and environ.get(variable):
                values[name] = environ[variable]
        for required in ("client_id", "redirect_uri"):
            if required not in values:
                problems.append(MissingSettingError(required, "it is required", ENV_VARS[required]))
        for name in ("timeout", "expiry_margin", "leeway"):
            if name in values:
                try:
                    values[name] = _to_seconds(values[name], name)
                except ConfigurationError as error:
                    problems.append(error)
                    del values[name]
        if isinstance(values.get("leeway"), float) and math.isfinite(values["leeway"]):
            values["leeway"] = round(values["leeway"])  # whole or fractional seconds given; whole ones kept
        if problems:  # some settings are missing or unreadable: the given ones' problems join them
            defaults = {f.name: f.default for f in cls.__dataclass_fields__.values() if f.name not in values}
            _, more = validate({**defaults, **values}, only=set(values))
            raise_problems(problems + more)
        return cls(**values)  # __post_init__ validates the rest, every problem at once


def validate(
    values: Mapping[str, Any], only: set[str] | None = None
) -> tuple[dict[str, Any], list[ConfigurationError]]:
    """Check every setting (or those in ``only``); the normalised values and every problem found."""
    normalised: dict[str, Any] = {}
    problems: list[ConfigurationError] = []
    for name, check in _CHECKS:
        if only is not None and name not in only:
            continue
        try:
            result = check(values[name], values)
        except ConfigurationError as error:
            problems.append(error)
        else:
            if result is not _UNCHANGED:
                normalised[name] = result
    return normalised, problems


def raise_problems(problems: list[ConfigurationError]) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InvalidSettingsError(problems)


_UNCHANGED = object()


def _error(setting: str, problem: str) -> ConfigurationError:
    return ConfigurationError(setting, problem, ENV_VARS.get(setting))


def _shown(value: object) -> str:
    """A given value as a message quotes it: never a URL's user name and password."""
    return without_credentials(str(value))


def _check_client_id(value: object, _: Mapping[str, Any]) -> object:
    _require_text("client_id", value)
    assert isinstance(value, str)
    if not _VSCHARS.fullmatch(value) or value != value.strip():
        raise _error(
            "client_id",
            "it may contain only printable ASCII characters, "
            "without leading or trailing spaces; use the id Healthcode issued",
        )
    return _UNCHANGED


def _check_secret(value: object, _: Mapping[str, Any]) -> object:
    if value is not None:
        _require_text("client_secret", value)
    return _UNCHANGED


def _check_scope(value: object, _: Mapping[str, Any]) -> object:
    return None if value is None else _normalise_scope(value)


def _check_ca_bundle(value: object, _: Mapping[str, Any]) -> object:
    if value is not None and (not isinstance(value, str) or not Path(value).is_file()):
        raise _error(
            "ca_bundle", f"no file at '{_shown(value)}'; give the path of a PEM file with the CA certificates to trust"
        )
    return _UNCHANGED


def _check_proxy(value: object, _: Mapping[str, Any]) -> object:
    if value is not None:
        parts = split_url(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ("http", "https", "socks5") or not parts.hostname:
            raise _error("proxy", "give a proxy URL such as http://proxy.example:3128")
    return _UNCHANGED


def _check_verify(value: object, _: Mapping[str, Any]) -> object:
    if value not in VERIFY_CHOICES:
        raise _error("verify_access_token", f"'{_shown(value)}' is not one of {', '.join(VERIFY_CHOICES)}")
    return _UNCHANGED


def _check_leeway(value: object, _: Mapping[str, Any]) -> object:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LEEWAY:
        raise _error("leeway", f"give a whole number of seconds between 0 and {MAX_LEEWAY} (one hour)")
    return _UNCHANGED


def _check_token_cache(value: object, _: Mapping[str, Any]) -> object:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _error(
            "token_cache", "give a file path, a redis:// or rediss:// URL, or 'off' to keep tokens in memory only"
        )
    return _UNCHANGED


def _check_margin(value: object, _: Mapping[str, Any]) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 43_200:
        raise _error("expiry_margin", "give a number of seconds between 0 and 43200 (12 hours)")
    return _UNCHANGED


def _check_audience(value: object, values: Mapping[str, Any]) -> object:
    if value is not None:
        _require_text("audience", value)
        if values.get("verify_access_token") == "never":
            raise _error(
                "audience", "checking the audience needs verify_access_token 'auto' or 'always' (it is 'never')"
            )
    return _UNCHANGED


def _require_text(setting: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _error(setting, "it must be a non-empty string")


def _check_redirect_uri(uri: object, _: Mapping[str, Any]) -> object:
    _require_text("redirect_uri", uri)
    assert isinstance(uri, str)
    parts = split_url(uri)
    if parts is None or not parts.scheme or not _SCHEME.fullmatch(parts.scheme):
        raise _error(
            "redirect_uri",
            f"'{_shown(uri)}' is not an absolute URI; give the exact "
            "post-authentication URL registered with Healthcode",
        )
    if parts.fragment or "#" in uri:
        raise _error("redirect_uri", "it must not contain a fragment (RFC 6749 section 3.1.2)")
    if has_control_characters(uri):
        raise _error("redirect_uri", "it contains whitespace or control characters")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        # A private-use scheme (RFC 8252 section 7.1) never leaves the browser as a request, so the
        # robot could not catch the redirect; Healthcode registers https post-auth URLs anyway.
        raise _error(
            "redirect_uri",
            f"'{scheme}:' URIs are not supported: register an https "
            "post-authentication URL with Healthcode (http only for localhost)",
        )
    if scheme in ("http", "https") and not parts.hostname:
        raise _error("redirect_uri", f"'{_shown(uri)}' has no host name")
    if scheme == "http" and not is_loopback_host(parts.hostname):
        raise _error(
            "redirect_uri",
            f"'{_shown(uri)}' uses plain http; use https (http is allowed only for localhost, RFC 8252 section 7.3)",
        )
    return _UNCHANGED


def _check_environment(environment: object, _: Mapping[str, Any]) -> str:
    _require_text("environment", environment)
    assert isinstance(environment, str)
    name = environment.strip().lower()
    if name in ENVIRONMENTS:
        return name
    problem = endpoint_url_problem(environment.strip())
    if problem:
        raise _error(
            "environment",
            f"use 'production', 'uat', the SSO's issuer URL or the URL of its discovery document; {problem}",
        )
    return environment.strip()


def _normalise_scope(scope: object) -> str | None:
    if not isinstance(scope, str):
        raise _error("scope", "give the scopes as one space-separated string")
    tokens = scope.split()
    for token in tokens:
        if not _SCOPE_TOKEN.fullmatch(token):
            raise _error("scope", f"'{_shown(token)}' is not a valid scope (RFC 6749 section 3.3)")
    return " ".join(dict.fromkeys(tokens)) or None


def _to_seconds(value: object, setting: str) -> float:
    if isinstance(value, bool):
        raise _error(setting, "give a number of seconds")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise _error(setting, f"'{_shown(value)}' is not a number of seconds")


def _check_timeout(timeout: object, _: Mapping[str, Any]) -> object:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 600:
        raise _error("timeout", "give a number of seconds greater than 0 and at most 600")
    return _UNCHANGED


_CHECKS: tuple[tuple[str, Callable[[Any, Mapping[str, Any]], object]], ...] = (
    ("client_id", _check_client_id),
    ("redirect_uri", _check_redirect_uri),
    ("environment", _check_environment),
    ("client_secret", _check_secret),
    ("scope", _check_scope),
    ("timeout", _check_timeout),
    ("ca_bundle", _check_ca_bundle),
    ("proxy", _check_proxy),
    ("verify_access_token", _check_verify),
    ("leeway", _check_leeway),
    ("token_cache", _check_token_cache),
    ("expiry_margin", _check_margin),
    ("audience", _check_audience),
    ("client_name", check_client_name),
    ("notify", check_notify),
    ("notify_escalation", check_notify_escalation),
    ("escalate_after", check_duration("escalate_after")),
    ("remind_before", check_remind_before),
    ("remind_hours", check_remind_hours),
    ("timezone", check_timezone),
    ("wait_for_authorisation", check_duration("wait_for_authorisation")),
    ("portal_url", check_portal_url),
    *API_CHECKS,
    *SUPERVISOR_CHECKS,
)
