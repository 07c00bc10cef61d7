"""Argument types: enums Robot Framework converts and libdoc lists, and the browser options."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class BrowserType(Enum):
    """The browser engine to launch when the suite has no browser open."""

    chromium = "chromium"
    firefox = "firefox"
    webkit = "webkit"


class TokenVerification(Enum):
    """How the access token is checked after it is issued.

    ``auto``: verify a JWT's signature, issuer and expiry against the SSO's published keys; accept
    an opaque token as it is. ``always``: refuse a token that cannot be verified. ``never``: do not
    verify (only for servers whose keys cannot be reached).
    """

    auto = "auto"
    always = "always"
    never = "never"


class ExpiryFormat(Enum):
    """How `Get Healthcode Token Expiry` returns the expiry.

    ``datetime``: a local ``datetime`` object, for comparisons and date arithmetic. ``text``: the
    one way the library and ``healthcode-auth status`` show it, such as
    ``2026-11-29T06:53:27+00:00 (23 h 59 min left)``.
    """

    datetime = "datetime"
    text = "text"


@dataclass(frozen=True)
class BrowserOptions:
    """How to launch a browser when the suite has none open."""

    browser: str = "chromium"
    headless: bool = False
    channel: str | None = None
    executable_path: str | None = None
    args: tuple[str, ...] = ()
    proxy: str | None = None
