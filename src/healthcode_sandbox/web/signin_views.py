"""``/authorize``: Authlib validates the request, the supervisor answers on the sandbox's pages.

GET validates and shows the sign-in form; POST carries the supervisor's answer for a pending
request (``request_id``). Requests that cannot be trusted to redirect (unknown client, redirect URI
not registered) get an HTML error page with status 400 (with the ``error_page_redirect`` knob: a
302 to ``/error``, which shows it with status 200); every other error goes back to the client as
an RFC 6749 4.1.2.1 error redirect with ``state`` and ``iss``, as does a denial or a cancel.

A pending request is bound to the browser that opened it (a random ``healthcode_sandbox_signin``
cookie, HttpOnly, SameSite=Lax): a form answered from another browser or client, for instance one
an attacker opened and had the bot's browser submit with the attacker's account (login CSRF), is
refused, as a real SSO's session cookie refuses it.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, redirect, request, url_for

from ..oauth.app_context import current_server, current_state
from ..oauth.models import PendingSignIn
from ..settings import Account
from . import pages

blueprint = Blueprint("signin", __name__)

CANCELLED = "The supervisor cancelled the sign-in"
DENIED = "The supervisor denied the request"
TOO_MANY_CODES = "Too many wrong one-time codes"
WRONG_PASSWORD = "The username or password is not right. Check them and try again."
WRONG_CODE = "That one-time code is not right. Check it and try again."
MAX_OTP_FAILURES = 5
SIGN_IN_COOKIE = "healthcode_sandbox_signin"
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{32,64}")
OTHER_BROWSER = "This sign-in form was opened in another browser, so it cannot be answered from this one."


@blueprint.get("/authorize")
def show() -> Any:
    """Validate the authorization request and show the sign-in form (or deny at once, if set to)."""
    state, server = current_state(), current_server()
    state.stats.count("authorize")
    try:
        grant = server.get_consent_grant(end_user=None)
    except OAuth2Error as error:
        return _refuse(error)
    except ValueError:
        return _malformed()
    if state.faults.current.deny_sign_in:
        return _deny(grant, DENIED)
    browser = request.cookies.get(SIGN_IN_COOKIE, "")
    if not _COOKIE_VALUE.fullmatch(browser):
        browser = secrets.token_urlsafe(32)
    pending = state.store.open_sign_in(request.args.to_dict(), browser)
    remembered = state.settings.account(state.faults.current.remembered_supervisor)
    if remembered is not None:
        return _approve(grant, pending, remembered)
    page = pages.sign_in(pending, grant.client.registration, embed_url=state.faults.current.embed_url)
    page.set_cookie(SIGN_IN_COOKIE, browser, httponly=True, samesite="Lax", secure=request.is_secure, path="/")
    return page


@blueprint.get("/error")
def error_page() -> Response:
    """An error /authorize redirected to (the ``error_page_redirect`` knob), shown with status 200."""
    kept = current_state().error_pages.get(request.args.get("id", ""))
    if kept is None:
        return pages.error(404, "not_found", "This error page is no longer available.", pages.EXPIRED_ADVICE)
    return pages.error(200, *kept)


@blueprint.post("/authorize")
def submit() -> Any:
    """Handle the supervisor's answer: password, one-time code, or cancel."""
    state, server = current_state(), current_server()
    state.stats.count("authorize.submit")
    pending = state.store.sign_in(request.form.get("request_id", ""))
    if pending is None:
        return pages.error(
            400,
            "invalid_request",
            "This sign-in form has expired or was already used.",
            pages.EXPIRED_ADVICE,
        )
    if not hmac.compare_digest(pending.browser.encode(), request.cookies.get(SIGN_IN_COOKIE, "").encode()):
        state.stats.count("authorize.other_browser")
        return pages.error(400, "invalid_request", OTHER_BROWSER, pages.EXPIRED_ADVICE)
    try:
        grant = server.get_consent_grant(request=pending, end_user=None)
    except OAuth2Error as error:
        state.store.close_sign_in(pending.request_id)
        return _refuse(error)
    if request.form.get("action") == "cancel":
        return _deny(grant, CANCELLED, pending)
    if pending.username is None:
        return _password_step(grant, pending)
    return _one_time_code_step(grant, pending)


def _password_step(grant: Any, pending: PendingSignIn) -> Any:
    settings = current_state().settings
    username = request.form.get("username", "").strip()
    account = settings.account(username)
    password = request.form.get("password", "").encode()
    if account is None or not hmac.compare_digest(account.password.encode(), password):
        return pages.sign_in(pending, grant.client.registration, username=username, error=WRONG_PASSWORD)
    if settings.needs_otp(account):
        current_state().store.password_verified(pending.request_id, account.username)
        return pages.one_time_code(pending, grant.client.registration, account.username)
    return _approve(grant, pending, account)


def _one_time_code_step(grant: Any, pending: PendingSignIn) -> Any:
    state = current_state()
    account = state.settings.account(pending.username or "")
    code = request.form.get("otp", "").strip().encode()
    if account is not None and hmac.compare_digest(state.settings.otp.encode(), code):
        return _approve(grant, pending, account)
    if state.store.otp_failed(pending.request_id) >= MAX_OTP_FAILURES:
        return _deny(grant, TOO_MANY_CODES, pending)
    return pages.one_time_code(pending, grant.client.registration, pending.username or "", WRONG_CODE)


def _approve(grant: Any, pending: PendingSignIn, account: Account) -> Any:
    # Closing first makes a double-submitted form issue one code, not two.
    if not current_state().store.close_sign_in(pending.request_id):
        return pages.error(400, "invalid_request", "This sign-in was already completed.", pages.EXPIRED_ADVICE)
    response = current_server().create_authorization_response(request=grant.request, grant_user=account, grant=grant)
    if current_state().faults.current.approve_by_script and response.status_code in (301, 302, 303, 307, 308):
        return pages.redirect_by_script(response.headers["Location"])
    return response


def _deny(grant: Any, description: str, pending: PendingSignIn | None = None) -> Any:
    if pending is not None:
        current_state().store.close_sign_in(pending.request_id)
    grant.denial_description = description
    return current_server().create_authorization_response(request=grant.request, grant_user=None, grant=grant)


def _refuse(error: OAuth2Error) -> Any:
    if error.redirect_uri:
        server = current_server()
        return server.add_issuer(server.handle_error_response(None, error))
    return _cannot_go_back(error.error, error.description or error.get_error_description())


def _malformed() -> Any:
    return _cannot_go_back("invalid_request", "The authorization request is malformed.")


def _cannot_go_back(error: str, description: str) -> Any:
    """The answer to a request that cannot be redirected back: a 400 page, or a 302 to /error."""
    state = current_state()
    if state.faults.current.error_page_redirect:
        return redirect(url_for("signin.error_page", id=state.keep_error_page(error, description)), code=302)
    return pages.error(400, error, description)
