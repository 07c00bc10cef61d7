"""``/authorize``: Authlib validates the request, the supervisor answers on the sandbox's pages.

GET validates and shows the sign-in form; POST carries the supervisor's answer for a pending
request (``request_id``), which only the browser that opened it may give (a random
``healthcode_sandbox_signin`` cookie, as a real SSO's session cookie: no login CSRF). A request
that cannot be trusted to redirect (unknown client, unregistered redirect URI) gets an HTML error
page; every other error, a denial or a cancel goes back to the client as an RFC 6749 4.1.2.1 error
redirect with ``state`` and ``iss``. The Jinja ``templates/`` autoescape every value.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, redirect, render_template, request, url_for

from .authorization_server import current_server
from .sandbox_state import PendingSignIn
from .settings import Account, Client

blueprint = Blueprint("signin", __name__)

TEMPLATE_FOLDER = str(Path(__file__).with_name("templates"))
SIGN_IN_COOKIE = "healthcode_sandbox_signin"
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{32,64}")
MAX_OTP_FAILURES = 5
CANCELLED = "The supervisor cancelled the sign-in"
DENIED = "The supervisor denied the request"
TOO_MANY_CODES = "Too many wrong one-time codes"
WRONG_PASSWORD = "The username or password is not right. Check them and try again."
WRONG_CODE = "That one-time code is not right. Check it and try again."
OTHER_BROWSER = "This sign-in form was opened in another browser, so it cannot be answered from this one."
ERROR_ADVICE = (
    "The sandbox does not send you back to the app, because it cannot be sure where the request "
    "really came from. Tell whoever set up the bot: the client id and redirect URI must match the "
    "sandbox's registration exactly."
)
EXPIRED_ADVICE = "Go back to the app and start the sign-in again."
# Sign-in pages hold a one-time request id; they must not be cached, framed or shown from history.
_NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}


@blueprint.get("/authorize")
def show() -> Any:
    """Validate the authorization request and show the sign-in form (or deny at once, if set to)."""
    server = current_server()
    state, faults = server.state, server.state.faults.current
    state.stats.count("authorize")
    try:
        grant = server.get_consent_grant(end_user=None)
    except OAuth2Error as error:
        return _refuse(error)
    except ValueError:
        return _cannot_go_back("invalid_request", "The authorization request is malformed.")
    if faults.deny_sign_in:
        return _deny(grant, DENIED)
    browser = request.cookies.get(SIGN_IN_COOKIE, "")
    if not _COOKIE_VALUE.fullmatch(browser):
        browser = secrets.token_urlsafe(32)
    pending = state.store.open_sign_in(request.args.to_dict(), browser)
    remembered = state.settings.account(faults.remembered_supervisor)
    if remembered is not None:
        return _approve(grant, pending, remembered)
    page = _form("sign_in.html", "Sign in", pending, grant.client.registration, embed_url=faults.embed_url)
    page.set_cookie(SIGN_IN_COOKIE, browser, httponly=True, samesite="Lax", secure=request.is_secure, path="/")
    return page


@blueprint.get("/error")
def error_page() -> Response:
    """An error /authorize redirected to (the ``error_page_redirect`` knob), shown with status 200."""
    kept = current_server().state.error_pages.get(request.args.get("id", ""))
    if kept is None:
        return error_html(404, "not_found", "This error page is no longer available.", EXPIRED_ADVICE)
    return error_html(200, *kept)


@blueprint.post("/authorize")
def submit() -> Any:
    """Handle the supervisor's answer: password, one-time code, or cancel."""
    server = current_server()
    store = server.state.store
    server.state.stats.count("authorize.submit")
    pending = store.sign_in(request.form.get("request_id", ""))
    if pending is None:
        return error_html(400, "invalid_request", "This sign-in form has expired or was already used.", EXPIRED_ADVICE)
    if not secrets.compare_digest(pending.browser.encode(), request.cookies.get(SIGN_IN_COOKIE, "").encode()):
        server.state.stats.count("authorize.other_browser")
        return error_html(400, "invalid_request", OTHER_BROWSER, EXPIRED_ADVICE)
    try:
        grant = server.get_consent_grant(request=pending, end_user=None)
    except OAuth2Error as error:
        store.close_sign_in(pending.request_id)
        return _refuse(error)
    if request.form.get("action") == "cancel":
        return _deny(grant, CANCELLED, pending)
    if pending.username is None:
        return _password_step(grant, pending)
    return _one_time_code_step(grant, pending)


def error_html(status: int, error_code: str, description: str, advice: str = ERROR_ADVICE) -> Response:
    """A request the sandbox refuses without redirecting (unknown client, bad redirect URI...)."""
    values = {"error": error_code, "description": description, "advice": advice}
    html = render_template("error.html", title="Sign-in error", **values)
    return Response(html, status=status, headers=_NO_STORE, mimetype="text/html")


def _form(template: str, title: str, pending: PendingSignIn, client: Client, **values: str) -> Response:
    """The sign-in or one-time-code form (status 200 also when it shows again with an error)."""
    html = render_template(
        template,
        title=title,
        action=url_for("signin.submit"),
        request_id=pending.request_id,
        client_id=client.client_id,
        client_name=client.name,
        scope=pending.params.get("scope", ""),
        **values,
    )
    return Response(html, status=200, headers=_NO_STORE, mimetype="text/html")


def _password_step(grant: Any, pending: PendingSignIn) -> Any:
    state = current_server().state
    username = request.form.get("username", "").strip()
    account = state.settings.account(username)
    password = request.form.get("password", "").encode()
    client = grant.client.registration
    if account is None or not secrets.compare_digest(account.password.encode(), password):
        return _form("sign_in.html", "Sign in", pending, client, username=username, error=WRONG_PASSWORD)
    if state.settings.needs_otp(account):
        pending.username = account.username  # the password passed; the one-time code is due
        return _form("one_time_code.html", "One-time code", pending, client, username=account.username)
    return _approve(grant, pending, account)


def _one_time_code_step(grant: Any, pending: PendingSignIn) -> Any:
    state = current_server().state
    account = state.settings.account(pending.username or "")
    code = request.form.get("otp", "").strip().encode()
    if account is not None and secrets.compare_digest(state.settings.otp.encode(), code):
        return _approve(grant, pending, account)
    with state.store.lock:
        pending.otp_failures += 1
        failures = pending.otp_failures
    if failures >= MAX_OTP_FAILURES:
        return _deny(grant, TOO_MANY_CODES, pending)
    client = grant.client.registration
    return _form(
        "one_time_code.html", "One-time code", pending, client, username=pending.username or "", error=WRONG_CODE
    )


def _approve(grant: Any, pending: PendingSignIn, account: Account) -> Any:
    server = current_server()
    # Closing first makes a double-submitted form issue one code, not two.
    if not server.state.store.close_sign_in(pending.request_id):
        return error_html(400, "invalid_request", "This sign-in was already completed.", EXPIRED_ADVICE)
    response = server.create_authorization_response(request=grant.request, grant_user=account, grant=grant)
    if server.state.faults.current.approve_by_script and response.status_code in (301, 302, 303, 307, 308):
        # A page whose own script sends the browser to the redirect URI; the literal cannot end the script.
        target = json.dumps(response.headers["Location"]).replace("</", "<\\/")
        html = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signing in</title></head>'
            f"<body><p>Signing you in...</p><script>location.replace({target});</script></body></html>"
        )
        return Response(html, status=200, headers=_NO_STORE, mimetype="text/html")
    return response


def _deny(grant: Any, description: str, pending: PendingSignIn | None = None) -> Any:
    server = current_server()
    if pending is not None:
        server.state.store.close_sign_in(pending.request_id)
    grant.denial_description = description
    return server.create_authorization_response(request=grant.request, grant_user=None, grant=grant)


def _refuse(error: OAuth2Error) -> Any:
    if error.redirect_uri:
        server = current_server()
        return server.add_issuer(server.handle_error_response(None, error))
    return _cannot_go_back(error.error, error.description or error.get_error_description())


def _cannot_go_back(error: str, description: str) -> Any:
    """The answer to a request that cannot be redirected back: a 400 page, or a 302 to /error."""
    state = current_server().state
    if state.faults.current.error_page_redirect:
        return redirect(url_for("signin.error_page", id=state.keep_error_page(error, description)), code=302)
    return error_html(400, error, description)
