"""The settings of one Healthcode client registration, validated once, at construction.

Every setting can come from an argument or from a ``HEALTHCODE_*`` environment variable; an
explicit argument wins. Invalid settings fail here, naming the setting, rather than halfway
through a supervisor's sign-in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigurationError, MissingSettingError
from .protocol.token import DEFAULT_EXPIRY_MARGIN
from .protocol.urls import endpoint_url_problem, has_control_characters, is_loopback_host, split_url

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
    "audience": "HEALTHCODE_AUDIENCE",
}

# RFC 6749 Appendix A: client_id is *VSCHAR, a scope token is 1*NQCHAR.
_VSCHARS = re.compile(r"[\x20-\x7e]+")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
VERIFY_CHOICES = ("auto", "always", "never")


@dataclass(frozen=True)
class HealthcodeConfig:
    """Immutable settings for signing in one registered client.

    ``environment`` is ``production``, ``uat`` or the URL of any OpenID discovery document (the
    local sandbox's, or another standards-conformant SSO's). ``client_secret`` is optional:
    without it the client signs in as a public client, protected by PKCE alone.
    ``verify_access_token`` is ``auto`` (verify JWT access tokens against the published JWKS,
    accept opaque ones), ``always`` or ``never``. ``token_cache`` says where the token store is
    (default: a per-user file; see :func:`healthcode_auth.storage.open_store`), or ``off`` to keep
    tokens in memory only. A token counts as expired ``expiry_margin`` seconds before it expires,
    which also absorbs clock skew. ``audience``, when set, is the ``aud`` every access token must
    name (a JWT, verified; RFC 9068 section 4).
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
    leeway: int = 60
    token_cache: str | None = None
    expiry_margin: float = DEFAULT_EXPIRY_MARGIN
    audience: str | None = None

    def __post_init__(self) -> None:
        _require_text("client_id", self.client_id)
        if not _VSCHARS.fullmatch(self.client_id) or self.client_id != self.client_id.strip():
            raise ConfigurationError("client_id", "it may contain only printable ASCII characters, "
                                     "without leading or trailing spaces; use the id Healthcode issued")
        _check_redirect_uri(self.redirect_uri)
        object.__setattr__(self, "environment", _check_environment(self.environment))
        if self.client_secret is not None:
            _require_text("client_secret", self.client_secret)
        if self.scope is not None:
            object.__setattr__(self, "scope", _normalise_scope(self.scope))
        _check_timeout(self.timeout)
        if self.ca_bundle is not None and not Path(self.ca_bundle).is_file():
            raise ConfigurationError("ca_bundle", f"no file at '{self.ca_bundle}'; give the path of a "
                                     "PEM file with the CA certificates to trust")
        if self.proxy is not None:
            parts = split_url(self.proxy)
            if parts is None or parts.scheme not in ("http", "https", "socks5") or not parts.hostname:
                raise ConfigurationError("proxy", "give a proxy URL such as http://proxy.example:3128")
        if self.verify_access_token not in VERIFY_CHOICES:
            raise ConfigurationError("verify_access_token", f"'{self.verify_access_token}' is not one "
                                     f"of {', '.join(VERIFY_CHOICES)}")
        if not isinstance(self.leeway, int) or not 0 <= self.leeway <= 600:
            raise ConfigurationError("leeway", "give a whole number of seconds between 0 and 600")
        if self.token_cache is not None and (not isinstance(self.token_cache, str) or not self.token_cache.strip()):
            raise ConfigurationError("token_cache", "give a file path, or 'off' to keep tokens in memory only")
        if self.audience is not None:
            _require_text("audience", self.audience)
            if self.verify_access_token == "never":
                raise ConfigurationError("audience", "checking the audience needs verify_access_token 'auto' or "
                                         "'always' (it is 'never')")
        if isinstance(self.expiry_margin, bool) or not isinstance(self.expiry_margin, (int, float)) \
                or not 0 <= self.expiry_margin <= 43_200:
            raise ConfigurationError("expiry_margin", "give a number of seconds between 0 and 43200 (12 hours)")

    @property
    def discovery_url(self) -> str:
        """The URL of the OpenID discovery document for ``environment``."""
        return ENVIRONMENTS.get(self.environment, self.environment)

    @property
    def is_confidential(self) -> bool:
        """True when the client authenticates with a secret."""
        return self.client_secret is not None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **settings: Any) -> HealthcodeConfig:
        """Settings from keyword arguments, falling back to ``HEALTHCODE_*`` environment variables.

        Arguments given as None (or not given) are read from the environment; an empty
        environment variable counts as not set.
        """
        environ = os.environ if environ is None else environ
        unknown = set(settings) - {f.name for f in cls.__dataclass_fields__.values()}
        if unknown:
            raise ConfigurationError(sorted(unknown)[0], "there is no such setting")
        values: dict[str, Any] = {k: v for k, v in settings.items() if v is not None}
        for name, variable in ENV_VARS.items():
            if name not in values and environ.get(variable):
                values[name] = environ[variable]
        for required in ("client_id", "redirect_uri"):
            if required not in values:
                raise MissingSettingError(required, f"it is required: pass {required}=... or set "
                                          f"the environment variable {ENV_VARS[required]}")
        for name in ("timeout", "expiry_margin"):
            if name in values:
                values[name] = _to_seconds(values[name], name)
        return cls(**values)


def _require_text(setting: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(setting, "it must be a non-empty string")


def _check_redirect_uri(uri: object) -> None:
    _require_text("redirect_uri", uri)
    assert isinstance(uri, str)
    parts = split_url(uri)
    if parts is None or not parts.scheme or not _SCHEME.fullmatch(parts.scheme):
        raise ConfigurationError("redirect_uri", f"'{uri}' is not an absolute URI; give the exact "
                                 "post-authentication URL registered with Healthcode")
    if parts.fragment or "#" in uri:
        raise ConfigurationError("redirect_uri", "it must not contain a fragment (RFC 6749 section 3.1.2)")
    if has_control_characters(uri):
        raise ConfigurationError("redirect_uri", "it contains whitespace or control characters")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        # A private-use scheme (RFC 8252 section 7.1) never leaves the browser as a request, so the
        # robot could not catch the redirect; Healthcode registers https post-auth URLs anyway.
        raise ConfigurationError("redirect_uri", f"'{scheme}:' URIs are not supported: register an https "
                                 "post-authentication URL with Healthcode (http only for localhost)")
    if scheme in ("http", "https") and not parts.hostname:
        raise ConfigurationError("redirect_uri", f"'{uri}' has no host name")
    if scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigurationError("redirect_uri", f"'{uri}' uses plain http; use https (http is allowed "
                                 "only for localhost, RFC 8252 section 7.3)")


def _check_environment(environment: object) -> str:
    _require_text("environment", environment)
    assert isinstance(environment, str)
    name = environment.strip().lower()
    if name in ENVIRONMENTS:
        return name
    problem = endpoint_url_problem(environment.strip())
    if problem:
        raise ConfigurationError("environment", f"use 'production', 'uat' or the URL of an OpenID "
                                 f"discovery document; {problem}")
    return environment.strip()


def _normalise_scope(scope: object) -> str | None:
    if not isinstance(scope, str):
        raise ConfigurationError("scope", "give the scopes as one space-separated string")
    tokens = scope.split()
    for token in tokens:
        if not _SCOPE_TOKEN.fullmatch(token):
            raise ConfigurationError("scope", f"'{token}' is not a valid scope (RFC 6749 section 3.3)")
    return " ".join(dict.fromkeys(tokens)) or None


def _to_seconds(value: object, setting: str) -> float:
    if isinstance(value, bool):
        raise ConfigurationError(setting, "give a number of seconds")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ConfigurationError(setting, f"'{value}' is not a number of seconds")


def _check_timeout(timeout: object) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 600:
        raise ConfigurationError("timeout", "give a number of seconds greater than 0 and at most 600")
