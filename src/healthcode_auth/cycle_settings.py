"""Floor 3: the settings of the daily cycle, checked: who is told (Apprise URLs), when (reminder lead
times, working hours, time zone), how long robots wait for a supervisor, where supervisors sign
in (the portal), and what the client is called in a notice.

Apprise URLs carry passwords and webhook tokens: they are registered as secrets the moment they
are read, and a message shows only their scheme and host (:func:`shown_notify_url`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .errors import ConfigurationError
from .protocol.schedule import parse_duration, parse_durations, parse_working_hours
from .protocol.urls import endpoint_url_problem, has_control_characters
from .redaction import REDACTOR

DEFAULT_REMIND_BEFORE = (7200.0, 900.0)  # "2 hours, 15 minutes"
DEFAULT_ESCALATE_AFTER = 1800.0
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
MIN_SECRET_PART = 8


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
        if not _SCHEME.match(url) or has_control_characters(url):
            raise ConfigurationError(setting, f"'{shown_notify_url(url)}' is not an Apprise URL (scheme://...): see "
                                              "https://github.com/caronc/apprise/wiki for the services and their URLs")
    return tuple(urls)


def register_notify_secrets(url: str) -> None:
    """An Apprise URL, its password and its longer path parts and query values are secrets (a webhook's
    path is its password): masked wherever they would be logged."""
    REDACTOR.add(url)
    try:
        parts = urlsplit(url)
        REDACTOR.add(parts.password, *(part for part in parts.path.split("/") if len(part) >= MIN_SECRET_PART),
                     *(value for _, value in parse_qsl(parts.query) if len(value) >= MIN_SECRET_PART))
        if parts.username and len(parts.username) >= MIN_SECRET_PART:
            REDACTOR.add(parts.username)  # some services take their token as the user name
    except ValueError:
        pass  # not a URL urlsplit reads: the whole string is registered above


def shown_notify_url(url: str) -> str:
    """``scheme://host``: what a message may say of an Apprise URL."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or '...'}"
    except ValueError:
        return "an Apprise URL"


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
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value if not isinstance(value, str) else parse_working_hours(value)


def check_timezone(value: object, _: Mapping[str, Any]) -> object:
    if value is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError("timezone", f"'{value}' is not a time zone name such as 'Europe/London' (on "
                                             "Windows: pip install tzdata)") from None
    return str(value)


def check_duration(name: str) -> Any:
    def check(value: object, _: Mapping[str, Any]) -> object:
        return parse_duration(value, name)
    return check


def check_portal_url(value: object, _: Mapping[str, Any]) -> object:
    if value is None:
        return None
    problem = endpoint_url_problem(str(value)) if isinstance(value, str) else "it must be a URL"
    if problem:
        raise ConfigurationError("portal_url", f"give the portal's https address, as supervisors open it; {problem}")
    return value


def check_client_name(value: object, _: Mapping[str, Any]) -> object:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or has_control_characters(value.replace(" ", "")) \
            or len(value) > 100:
        raise ConfigurationError("client_name", "give the robots' name as supervisors know it, up to 100 "
                                                "printable characters")
    return value.strip()
