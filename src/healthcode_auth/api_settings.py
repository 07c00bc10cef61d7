"""The settings of calls to Healthcode's APIs, checked: the site, the API version, where the
API discovery document is, the Basic header's user at the token endpoint, and whether API contents
may be logged.

Healthcode keeps a customer's data in tenancies called sites; every API call names one in the header
``SU-SiteId`` (the site id is in the Healthcode Account's My Account section) and should send
``HC-API-Version``. The site id is not needed to sign in, only to call an API: a call without one
fails naming the setting (:func:`require_site_id`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ConfigurationError, MissingSettingError
from .protocol.api_document import WELL_KNOWN_PATH, api_discovery_url_for
from .protocol.urls import endpoint_url_problem, without_credentials

API_ENV_VARS: Mapping[str, str] = {
    "site_id": "HEALTHCODE_SITE_ID",
    "api_version": "HEALTHCODE_API_VERSION",
    "api_discovery": "HEALTHCODE_API_DISCOVERY",
    "basic_auth_user": "HEALTHCODE_BASIC_AUTH_USER",
    "log_api_content": "HEALTHCODE_LOG_API_CONTENT",
}
# Stated by Healthcode for production; UAT's is NOT confirmed by Healthcode's pages (inferred from the
# SSO's pattern): `healthcode-auth check` reports what it finds there.
API_DISCOVERY: Mapping[str, str] = {
    "production": "https://api.healthcode.co.uk" + WELL_KNOWN_PATH,
    "uat": "https://api.uat.healthcode.co.uk" + WELL_KNOWN_PATH,
}
DEFAULT_API_VERSION = "1"
_SITE_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_VSCHARS = re.compile(r"[\x20-\x7e]+")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})


def _error(setting: str, problem: str) -> ConfigurationError:
    return ConfigurationError(setting, problem, API_ENV_VARS[setting])


def api_discovery_url(environment: str, api_discovery: str | None) -> str:
    """Where the API discovery document is: the ``api_discovery`` setting, else production's or UAT's,
    else at the origin of the environment's URL (the sandbox serves both on one server)."""
    if api_discovery:
        return api_discovery
    return API_DISCOVERY.get(environment) or api_discovery_url_for(environment)


def require_site_id(site_id: str | None) -> str:
    """The site id, which every API call names (``SU-SiteId``); a MissingSettingError (a
    ConfigurationError) naming the setting, its variable and where to find the id when it is not set."""
    if not site_id:
        raise MissingSettingError(
            "site_id",
            "it is required to call Healthcode's APIs (the SU-SiteId header): give "
            "the site id shown in the My Account section of your Healthcode Account, such as "
            "HC00ABC",
            API_ENV_VARS["site_id"],
        )
    return site_id


def check_site_id(value: object, _: Mapping[str, Any]) -> object:
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not _SITE_ID.fullmatch(text):
        raise _error(
            "site_id",
            "give the site id shown in the My Account section of your Healthcode Account "
            "(1 to 32 letters, digits, '-' or '_', such as HC00ABC)",
        )
    return text


def check_api_version(value: object, _: Mapping[str, Any]) -> object:
    number = value.strip() if isinstance(value, str) else value
    if isinstance(number, str) and number.isascii() and number.isdigit() and len(number) <= 3:
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 999:
        raise _error(
            "api_version", "give the API version as a whole number from 1 to 999 (Healthcode's APIs are at version 1)"
        )
    return str(number)


def check_api_discovery(value: object, _: Mapping[str, Any]) -> object:
    if value is None:
        return None
    problem = endpoint_url_problem(value.strip() if isinstance(value, str) else value)
    if problem:
        raise _error(
            "api_discovery",
            f"give the URL of Healthcode's API discovery document, such as {API_DISCOVERY['production']}; {problem}",
        )
    assert isinstance(value, str)
    return value.strip()


def check_basic_auth_user(value: object, values: Mapping[str, Any]) -> object:
    if value is None:
        return None
    if not isinstance(value, str) or not _VSCHARS.fullmatch(value) or value != value.strip():
        raise _error(
            "basic_auth_user",
            "give the user of the token endpoint's Basic header as Healthcode issued it "
            "(printable ASCII, no leading or trailing spaces), or leave it out to use "
            "the client id",
        )
    if values.get("client_secret") is None:
        raise _error(
            "basic_auth_user",
            f"'{without_credentials(value)}' is used only with a client_secret (the "
            "Basic header carries the two); set client_secret too, or leave it out",
        )
    return value


def check_log_api_content(value: object, _: Mapping[str, Any]) -> object:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise _error(
        "log_api_content",
        "give true or false (true writes API requests' and answers' contents, patient data included, into the logs)",
    )


API_CHECKS = (
    ("site_id", check_site_id),
    ("api_version", check_api_version),
    ("api_discovery", check_api_discovery),
    ("basic_auth_user", check_basic_auth_user),
    ("log_api_content", check_log_api_content),
)
