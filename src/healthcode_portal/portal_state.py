"""What the portal's application and pages share: the portal's state, its session, its error page.

:class:`Portal` holds one client registration's settings for the pages (the public address, the
cookie sealer, the SSO's origins for the CSP); :func:`portal_supervisor` says who signed in
through the portal in this browser, within the portal session's 30 minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, render_template, session

from healthcode_auth.config import ENVIRONMENTS, HealthcodeConfig
from healthcode_auth.errors import HealthcodeAuthError
from healthcode_auth.protocol.urls import origin_of
from healthcode_auth.session import HealthcodeSession

from .public_address import PublicAddress
from .sign_in_cookie import new_cookie_sealer

SESSION_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class PortalSettings:
    """What the portal needs beside the client registration."""

    public: PublicAddress
    environ: dict[str, str]  # where the store's key comes from (HEALTHCODE_CACHE_KEY...)


class Portal:
    """What the views share: the registration, the public address, the cookie sealer, and the
    SSO's origins (the environment's, and its authorization endpoint's once discovery told it)."""

    def __init__(self, config: HealthcodeConfig, settings: PortalSettings) -> None:
        self.config = config
        self.public = settings.public
        self.environ = settings.environ
        self.sealer = new_cookie_sealer(settings.environ)
        self.sso_origins: tuple[str, ...] = (_environment_origin(config),)

    def new_session(self) -> HealthcodeSession:
        """A session for one request, on the robots' token store (each request its own, as each
        portal process is: they agree through the store)."""
        return HealthcodeSession.from_config(self.config, sign_in_hint="Sign in again through the portal")

    def learn_sso_origins(self, session: HealthcodeSession) -> None:
        """Add the authorization endpoint's origin to the CSP's form-action (the discovery document
        is fetched once per process; when it cannot be, the page says so on the button's use)."""
        if len(self.sso_origins) > 1:
            return
        try:
            endpoint = session.client.metadata.authorization_endpoint
        except HealthcodeAuthError:
            return
        self.sso_origins = tuple(dict.fromkeys((*self.sso_origins, origin_of(endpoint))))


def portal_of(app: Flask) -> Portal:
    portal: Portal = app.extensions["healthcode_portal"]
    return portal


def portal_supervisor() -> str | None:
    """Who signed in through the portal in this browser, within the portal session's life."""
    supervisor, since = session.get("supervisor"), session.get("since")
    if not isinstance(supervisor, str) or not isinstance(since, (int, float)):
        return None
    return supervisor if 0 <= time.time() - since <= SESSION_LIFETIME.total_seconds() else None


def problem_page(status: int, title: str, text: str, **details: Any) -> str:
    """An error page in a supervisor's words, with a link back to the start."""
    return render_template("problem.html", status=status, title=title, text=text, **details)


def _environment_origin(config: HealthcodeConfig) -> str:
    """The SSO's origin as the environment names it."""
    return origin_of(ENVIRONMENTS.get(config.environment, config.environment))
