"""What the portal's application and pages share: the portal's state, its session, its error page.

:class:`Portal` holds one client registration's settings for the pages (the public address, the
cookie sealer, the SSO's origins for the CSP); :func:`portal_supervisor` says who signed in
through the portal in this browser, within the portal session's 15 minutes, while that account is
still on the allow-list.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, render_template, session

from healthcode_auth.config import ENVIRONMENTS, HealthcodeConfig
from healthcode_auth.errors import HealthcodeAuthError
from healthcode_auth.protocol.provider_metadata import ProviderMetadata
from healthcode_auth.protocol.urls import origin_of
from healthcode_auth.session import HealthcodeSession

from .public_address import PublicAddress
from .sign_in_cookie import new_cookie_sealer

SESSION_LIFETIME = timedelta(minutes=15)
RETRY_DISCOVERY = 60.0  # seconds before the SSO's discovery is asked again after it failed
WAITING = 24  # requests that may wait on the SSO or the store at once (the server sets it from its threads)


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
        self._learning = threading.Lock()
        self._failed_at: float | None = None
        self.knows_sso = False  # whether discovery told the authorization endpoint's origin
        self.metadata: ProviderMetadata | None = None  # the SSO's, once a request fetched it: every session's
        self.waiting = threading.BoundedSemaphore(WAITING)  # requests that may wait on the SSO or the store

    def limit_waiting(self, requests: int) -> None:
        """At most ``requests`` requests wait on the SSO or the store at once (the server's threads
        less those kept for the pages that wait on neither); more are told at once the portal is busy."""
        self.waiting = threading.BoundedSemaphore(requests)

    def new_session(self) -> HealthcodeSession:
        """A session for one request, on the robots' token store (each request its own, as each
        portal process is: they agree through the store), with the SSO's metadata once known."""
        return HealthcodeSession.from_config(
            self.config, sign_in_hint="Sign in again through the portal", metadata=self.metadata
        )

    def learn_sso_origins(self, session: HealthcodeSession) -> None:
        """Add the authorization endpoint's origin to the CSP's form-action, from ``session``'s
        discovery (the Authorise page has just fetched it, or fetches it now)."""
        if self.knows_sso:
            return
        try:
            metadata = session.client.metadata
        except HealthcodeAuthError:
            self._failed_at = time.monotonic()
            return
        self.metadata, endpoint = metadata, metadata.authorization_endpoint
        self.sso_origins = tuple(dict.fromkeys((*self.sso_origins, origin_of(endpoint))))
        self.knows_sso = True

    def learn_sso_origins_soon(self) -> None:
        """Learn the SSO's origins in the background (at start-up, and from a page that needs
        them), never making a visitor wait: one attempt at a time, and after a failure not again
        for :data:`RETRY_DISCOVERY` seconds."""
        if self.knows_sso or (self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_DISCOVERY):
            return
        if not self._learning.acquire(blocking=False):
            return

        def learn() -> None:
            try:
                self.learn_sso_origins(self.new_session())
            except Exception:  # a store or key that cannot be opened: the Authorise page says so
                self._failed_at = time.monotonic()
            finally:
                self._learning.release()

        threading.Thread(target=learn, name="healthcode-portal-discovery", daemon=True).start()


def portal_of(app: Flask) -> Portal:
    portal: Portal = app.extensions["healthcode_portal"]
    return portal


def portal_supervisor() -> str | None:
    """Who signed in through the portal in this browser, within the portal session's life, while
    the account is on the allow-list as it is now (a session outlives no removal from it). The
    session's signing key is this portal's own (client, redirect URI, environment: see
    :func:`~healthcode_portal.app.session_secret`)."""
    supervisor, since, account = session.get("supervisor"), session.get("since"), session.get("account")
    if not isinstance(supervisor, str) or not isinstance(since, (int, float)) or isinstance(since, bool):
        return None
    if not 0 <= time.time() - since <= SESSION_LIFETIME.total_seconds():
        return None
    config = portal_of(current_app).config
    allowed = config.supervisors
    if allowed and (
        not isinstance(account, str) or account not in allowed or session.get("claim") != config.supervisor_claim
    ):
        return None
    return supervisor


def problem_page(status: int, title: str, text: str, **details: Any) -> str:
    """An error page in a supervisor's words, with a link back to the start."""
    return render_template("problem.html", status=status, title=title, text=text, **details)


def _environment_origin(config: HealthcodeConfig) -> str:
    """The SSO's origin as the environment names it."""
    return origin_of(ENVIRONMENTS.get(config.environment, config.environment))
