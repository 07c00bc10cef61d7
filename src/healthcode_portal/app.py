"""The portal's Flask application: settings, cookies, security headers and error pages.

:func:`create_app` builds one application for one client registration (a
:class:`~healthcode_auth.config.HealthcodeConfig`): the pages themselves are in :mod:`.views`. The
portal's session (who signed in through it, for 15 minutes) is Flask's signed cookie, with a
secret derived from the fleet's key *and* this portal's client id, redirect URI and environment,
so every process of this portal accepts it and no other portal of the fleet does; the pending
sign-in is a cookie of its own (:mod:`.sign_in_cookie`). Every answer carries the security
headers (a Content-Security-Policy without inline script or style, no framing, no Referer,
``no-store``, HSTS on https), every redirect points at the public address (never at a Host
header), and every error is a page of the portal's own, never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFError, CSRFProtect  # type: ignore[import-untyped]
from werkzeug.exceptions import HTTPException

from healthcode_auth.client import HealthcodeAuthClient
from healthcode_auth.config import ENV_VARS, HealthcodeConfig
from healthcode_auth.errors import ConfigurationError
from healthcode_auth.redaction import REDACTOR
from healthcode_auth.session import HealthcodeSession
from healthcode_auth.storage.key_sources import ensure_key

from .portal_state import SESSION_LIFETIME, Portal, PortalSettings, portal_of, portal_supervisor, problem_page
from .public_address import PublicAddress
from .views import register_views

log = logging.getLogger("healthcode_portal")
SESSION_COOKIE = "healthcode_portal"
MAX_REQUEST_BYTES = 16 * 1024  # a form with a CSRF token and a button: nothing bigger is ever posted
SESSION_SALT = b"healthcode-portal-session"
SESSION_LABEL = "robotframework-healthcode portal session v2"
HSTS = "max-age=31536000"


def session_secret(environ: dict[str, str], config: HealthcodeConfig) -> bytes:
    """The portal session's signing key: derived from the store's key (the fleet's
    HEALTHCODE_CACHE_KEY, else this user's keyring or key file) with a label of its own that names
    this portal (client id, redirect URI, environment), so every process of this portal derives the
    same, and a session of another portal of the fleet (another registration or environment, with
    another allow-list) is no session here."""
    key = ensure_key(environ)
    label = "\n".join((SESSION_LABEL, config.client_id, config.redirect_uri, config.discovery_url))
    return hmac.new(key.derive(SESSION_SALT), label.encode("utf-8"), hashlib.sha256).digest()


def content_security_policy(sso_origins: tuple[str, ...]) -> str:
    """The policy of every answer: no script at all, styles and images from the portal only, forms
    to the portal (whose Authorise answer redirects to the SSO's authorization endpoint: allowed)."""
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action 'self' {' '.join(sso_origins)}; frame-ancestors 'none'; base-uri 'none'"
    )


def create_app(config: HealthcodeConfig, *, environ: dict[str, str] | None = None, any_account: bool = False) -> Flask:
    """The portal for ``config``: pages at the redirect URI's parent path, the callback at its path.

    It needs an allow-list of supervisors (``config.supervisors``) unless ``any_account`` says
    explicitly that any Healthcode account that may sign in for the client may authorise the robots.
    The SSO's discovery is fetched in the background from now on, never by a visitor's request."""
    if not config.supervisors and not any_account:
        raise ConfigurationError(
            "supervisors",
            "the portal lets whoever reaches it authorise the robots, so it needs "
            "the list of accounts allowed to (separated by commas; the refusal page shows an "
            "account's id). To let any Healthcode account that may sign in for this client do it, "
            "add --any-healthcode-account",
            ENV_VARS.get("supervisors", "HEALTHCODE_SUPERVISORS"),
        )
    public = PublicAddress.from_redirect_uri(config.redirect_uri)
    # Made here, outside any request: the fleet's own secrets (the store's key or password, the client
    # secret, a proxy's password) are masked for good; a request's (a sign-in's) only while it lasts.
    with HealthcodeAuthClient(config):
        pass
    if HealthcodeSession.from_config(config).store is None:
        raise ConfigurationError(
            "token_cache",
            "the portal keeps the authorisation in the robots' token store, "
            "which is turned off: give the store the robots use",
        )
    settings = PortalSettings(public, dict(os.environ) if environ is None else environ)
    app = Flask(__name__, static_url_path=public.page("static"))
    # No redirect built from the request (Werkzeug's would name the Host header): /bots and /bots//x are 404s.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.config.update(
        SECRET_KEY=session_secret(settings.environ, config),
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_PATH=public.base_path,
        SESSION_COOKIE_SECURE=public.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,  # 15 minutes from the sign-in, not from the last click
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_REQUEST_BYTES,
        MAX_FORM_PARTS=20,
        # Flask-WTF's https Referer check cannot work with Referrer-Policy: no-referrer (browsers send
        # none), and would read the Host header: the token and SameSite=Lax protect the forms.
        WTF_CSRF_SSL_STRICT=False,
        WTF_CSRF_TIME_LIMIT=int(SESSION_LIFETIME.total_seconds()),
        SEND_FILE_MAX_AGE_DEFAULT=None,
        TRAP_HTTP_EXCEPTIONS=False,
    )
    app.wsgi_app = _secrets_of_the_request(app.wsgi_app)  # type: ignore[method-assign]
    app.extensions["healthcode_portal"] = Portal(config, settings)
    CSRFProtect(app)
    portal = portal_of(app)

    @app.context_processor
    def common() -> dict[str, Any]:
        return {
            "client": config.display_name,
            "environment": environment_name(config.environment),
            "base": public.base_path,
            "signed_in": portal_supervisor(),
        }

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        if response.location:
            response.location = public_location(response.location, public, portal.sso_origins)
        headers["Content-Security-Policy"] = content_security_policy(portal.sso_origins)
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Cache-Control"] = "no-store"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if public.is_https:
            headers["Strict-Transport-Security"] = HSTS
        return response

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError) -> tuple[str, int]:
        log.warning("Refused a form without a valid CSRF token (%s).", error.description)
        return problem_page(
            400,
            "This form has expired",
            "The page was open too long, or it did not come from "
            "this portal. Nothing was changed. Go back to the start and try again.",
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        titles = {
            404: "There is no such page",
            405: "This page cannot be used that way",
            413: "That request is too large",
        }
        texts = {
            404: "The portal has no page at this address.",
            405: "This address does not take that kind of request. Use the portal's buttons.",
            413: "The portal takes only its own small forms. Nothing was changed.",
        }
        return problem_page(
            code,
            titles.get(code, "The request was refused"),
            texts.get(code, "The portal could not answer this request. Nothing was changed."),
        ), code

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        log.error("The portal failed: %s", type(error).__name__)
        return problem_page(
            500,
            "The portal failed",
            "Something went wrong on the portal's side. Nothing was "
            "changed. Try again; if it happens again, tell whoever runs the robots.",
        ), 500

    register_views(app)
    portal.learn_sso_origins_soon()
    return app


def public_location(location: str, public: PublicAddress, sso_origins: tuple[str, ...]) -> str:
    """A redirect's Location on the public address: the portal's own redirects are (absolute, from
    the redirect URI), the Authorise answer's points at the SSO; anything else (a redirect a library
    built from the request's Host header) is moved to the public origin, its path kept."""
    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        return location if location.startswith("/") and not location.startswith("//") else public.page()
    if f"{parts.scheme.lower()}://{parts.netloc.lower()}" in (public.origin, *sso_origins):
        return location
    log.warning(
        "A redirect to another site than the portal's was moved to the portal's address (%s %s).",
        request.method,
        request.path[:100],
    )
    return urlunsplit((public.scheme, public.netloc, parts.path or "/", parts.query, ""))


def environment_name(environment: str) -> str:
    """The environment in a supervisor's words: production, UAT (Healthcode's test system), or the
    test server's host (the sandbox: never its discovery document's address)."""
    named = {"production": "production", "uat": "UAT, Healthcode's test system"}
    return named.get(environment) or f"a test server at {urlsplit(environment).hostname or 'an unknown host'}"


def _secrets_of_the_request(wsgi_app: Any) -> Any:
    """Secrets learned while handling a request (a visitor's state, verifier and code, a token)
    are masked in the logs while it lasts, its error log included, and then forgotten: every
    anonymous visitor starts a sign-in, and a portal that kept them all would grow without end."""

    def scoped(environ: Any, start_response: Any) -> Any:
        with REDACTOR.scope():
            return wsgi_app(environ, start_response)

    return scoped
