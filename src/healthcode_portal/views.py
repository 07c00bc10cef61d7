"""The portal's pages: landing, authorise, the callback, authorised, status and sign-out.

The callback is the one place a sign-in ends, in this order: the sealed cookie is opened and its
state compared with the callback's *before anything else* (a forged, replayed or stale callback
costs no token request); the state is claimed in the store (used once, fleet-wide); only then does
the core redeem the code, verify the token, check the allow-list, store it compare-and-set and
record it (:meth:`~healthcode_auth.session.HealthcodeSession.access_token`). Every refusal is a page
of its own with a 4xx status (5xx only when the store or the SSO cannot be reached), and nothing is
stored. Success answers 303 to a clean page: the code leaves the address bar and the history.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from flask import Flask, redirect, render_template, request, session
from werkzeug.wrappers import Response

from healthcode_auth.daily_cycle import robots_waiting
from healthcode_auth.errors import (
    AuthorizationDenied,
    AuthorizationError,
    DiscoveryError,
    HealthcodeAuthError,
    StoreError,
    SupervisorNotAllowedError,
    TokenRequestError,
    TransportError,
)
from healthcode_auth.notices import ends_at
from healthcode_auth.protocol.schedule import describe_duration, describe_when
from healthcode_auth.protocol.token import Token, TokenStatus

from .portal_state import portal_of, portal_supervisor, problem_page
from .sign_in_cookie import COOKIE_NAME, LIFETIME, BadSignInCookie, first_use, open_sign_in, seal_sign_in, state_matches

log = logging.getLogger("healthcode_portal")
NOT_AUTHORISED = "The robots are not authorised yet."


def register_views(app: Flask) -> None:
    portal = portal_of(app)
    public, config = portal.public, portal.config

    def page(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
        return render_template(template, **values), status

    def problem(status: int, title: str, text: str, **details: Any) -> Response:
        response = app.make_response((problem_page(status, title, text, **details), status))
        _forget_sign_in(response)
        return response

    def _forget_sign_in(response: Response) -> None:
        if COOKIE_NAME in request.cookies:
            response.delete_cookie(COOKIE_NAME, path=public.callback_path, secure=public.secure_cookies,
                                   httponly=True, samesite="Lax")

    def see_other(name: str) -> Response:
        return redirect(public.url(public.page(name)), code=303)

    @app.get(public.base_path, endpoint="landing")
    def landing() -> tuple[str, int]:
        portal.learn_sso_origins(portal.new_session())
        return page("landing.html", hours=_hours_of_authorisation(config.expiry_margin))

    @app.post(public.page("authorise"), endpoint="authorise")
    def authorise() -> Response:
        hc = portal.new_session()
        try:
            hc.check_store()  # a store the portal cannot use is said now, before anyone signs in
        except StoreError as error:
            log.warning("Authorise: the token store cannot be used: %s", error)
            return problem(503, NOT_AUTHORISED, "The robots' token store cannot be used right now, so no "
                           "authorisation could be kept. Nothing was changed. Try again later, or tell whoever "
                           "runs the robots.", reason=str(error))
        try:
            sign_in = hc.start_sign_in()
        except (TransportError, DiscoveryError) as error:
            log.warning("Authorise: the SSO cannot be reached: %s", error)
            return problem(502, "Healthcode's sign-in cannot be reached", "The portal could not reach Healthcode's "
                           "sign-in service. Nothing was changed. Try again in a few minutes.", reason=str(error))
        portal.learn_sso_origins(hc)
        response = redirect(sign_in.url, code=303)
        response.set_cookie(COOKIE_NAME, seal_sign_in(sign_in, portal.sealer), max_age=int(LIFETIME),
                            path=public.callback_path, secure=public.secure_cookies, httponly=True, samesite="Lax")
        return response

    @app.get(public.callback_path, endpoint="callback")
    def callback() -> Response:
        address = request.remote_addr or "(unknown)"
        try:
            sign_in = open_sign_in(request.cookies.get(COOKIE_NAME), portal.environ, client_id=config.client_id,
                                   redirect_uri=config.redirect_uri)
        except BadSignInCookie as error:
            log.warning("Callback from %s refused before any token request: %s", address, error)
            return problem(400, "This sign-in cannot be completed", f"{error} Nothing was changed. Start again "
                           "from the portal's first page.")
        if not state_matches(sign_in, request.args.get("state")):
            log.warning("Callback from %s refused before any token request: the state does not match.", address)
            return problem(400, "This sign-in cannot be completed", "The answer from Healthcode's sign-in does not "
                           "belong to the sign-in this browser started (it is forged, or from an earlier sign-in). "
                           "Nothing was changed. Start again from the portal's first page.")
        hc = portal.new_session()
        try:
            if hc.store is None or not first_use(hc.store, sign_in):
                log.warning("Callback from %s refused before any token request: the sign-in was used already.",
                            address)
                return problem(400, "This sign-in was used already", "Each sign-in completes once. Nothing was "
                               "changed. Start again from the portal's first page.")
        except StoreError as error:
            log.warning("Callback from %s: the token store cannot be used: %s", address, error)
            return problem(503, NOT_AUTHORISED, "The robots' token store cannot be reached, so the authorisation "
                           "could not be kept. Nothing was stored. Try again later, or tell whoever runs the robots.",
                           reason=str(error))
        hc.describe_actor = lambda: {"via": "portal", "address": address}
        hc.resume_sign_in(sign_in)
        try:
            hc.accept_redirect(public.callback_url(request.query_string.decode("utf-8", "replace")))
            token = hc.access_token(wait=0)
            _check_stored(hc, token)
        except SupervisorNotAllowedError as error:
            log.warning("Callback from %s: account %r may not authorise the robots.", address, error.account)
            return problem(403, "This account may not authorise the robots", "You signed in at Healthcode, but "
                           "your account is not on the list of supervisors who may authorise these robots. Nothing "
                           "was stored. Ask whoever runs the robots to add the account below to the supervisors "
                           "setting, or ask a supervisor on the list.", account=error.account, claim=error.claim)
        except AuthorizationDenied as error:
            log.warning("Callback from %s: the SSO ended the sign-in: %s", address, error)
            status = 403 if error.error == "access_denied" else 400
            return problem(status, "The sign-in did not complete", "Healthcode's sign-in did not approve the robots. "
                           "Nothing was stored.", reason=str(error))
        except (AuthorizationError, TokenRequestError) as error:
            log.warning("Callback from %s: the sign-in failed: %s", address, error)
            return problem(400, "The sign-in did not complete", "Healthcode's sign-in did not give the robots an "
                           "authorisation. Nothing was stored. Start again from the portal's first page.",
                           reason=str(error))
        except StoreError as error:
            log.warning("Callback from %s: the token store cannot be used: %s", address, error)
            return problem(503, NOT_AUTHORISED, "You signed in, but the robots' token store could not keep the "
                           "authorisation. Try again later, or tell whoever runs the robots.", reason=str(error))
        except (TransportError, DiscoveryError) as error:
            log.warning("Callback from %s: the SSO cannot be reached: %s", address, error)
            return problem(502, NOT_AUTHORISED, "The portal could not reach Healthcode's sign-in service to finish "
                           "the sign-in. Nothing was stored. Start again in a few minutes.", reason=str(error))
        except HealthcodeAuthError as error:
            log.warning("Callback from %s: the sign-in failed: %s", address, error)
            return problem(400, "The sign-in did not complete", "The authorisation could not be accepted. Nothing "
                           "was stored.", reason=str(error))
        session.clear()  # a new portal session for this supervisor (and a new CSRF token)
        session.permanent = True
        session["supervisor"] = token.supervisor or "(unknown)"
        session["since"] = time.time()
        log.info("The robots were authorised through the portal by %r from %s.", token.supervisor, address)
        response = see_other("authorised")
        _forget_sign_in(response)
        return response

    @app.get(public.page("authorised"), endpoint="authorised")
    def authorised() -> Response | tuple[str, int]:
        if portal_supervisor() is None:
            return see_other("")
        facts = current_facts()
        if isinstance(facts, Response):
            return facts
        return page("authorised.html", **facts)

    @app.get(public.page("status"), endpoint="status")
    def status() -> Response | tuple[str, int]:
        if portal_supervisor() is None:
            return see_other("")
        facts = current_facts()
        if isinstance(facts, Response):
            return facts
        notice = session.pop("notice", None)
        return page("status.html", notice=notice, **facts)

    @app.post(public.page("sign-out"), endpoint="sign_out")
    def sign_out() -> Response:
        supervisor = portal_supervisor()
        if supervisor is None:
            return problem(403, "Sign in through the portal first", "Only a supervisor who authorised the robots "
                           "through this portal in the last 30 minutes can sign them out here. Nothing was changed.")
        hc = portal.new_session()
        address = request.remote_addr or "(unknown)"
        hc.describe_actor = lambda: {"via": "portal", "address": address, "user": f"{supervisor} (portal)"}
        try:
            token = hc.clear()
        except StoreError as error:
            log.warning("Sign-out from %s: the token store cannot be used: %s", address, error)
            return problem(503, "The robots could not be signed out", "The robots' token store cannot be used right "
                           "now. Nothing was changed. Try again, or run 'healthcode-auth logout'.", reason=str(error))
        if token is None:
            session["notice"] = "There was no authorisation to remove."
            return see_other("status")
        try:
            revoked = hc.client.revoke(token)
        except HealthcodeAuthError as error:
            log.warning("Sign-out: the SSO did not confirm the revocation: %s", error)
            revoked = None
        said = {True: " and Healthcode revoked it", False: "; Healthcode does not revoke authorisations, so it "
                "stays valid there until it ends, but no robot of this fleet uses it",
                None: "; Healthcode did not confirm the revocation"}[revoked]
        log.info("The robots were signed out through the portal by %r from %s.", supervisor, address)
        session["notice"] = f"The robots are signed out: the authorisation was removed{said}."
        return see_other("status")

    def current_facts() -> dict[str, Any] | Response:
        hc = portal.new_session()
        try:
            token = hc.current_token()
            history = hc.history(20)
            since = robots_waiting(hc.store, hc.key) if hc.store is not None else None
        except StoreError as error:
            return problem(503, "The robots' token store cannot be read", "The portal cannot read the robots' token "
                           "store right now. Try again later.", reason=str(error))
        now = time.time()
        return {"authorisation": _describe(hc.status(token), token, now), "history": [
            {"time": _when(e.fields.get("time", ""), now, config), "event": _EVENTS.get(e.fields.get("event", ""),
                                                                                     e.fields.get("event", "")),
             "supervisor": e.fields.get("supervisor_name") or e.fields.get("supervisor", ""),
             "via": e.fields.get("via") or e.fields.get("suite") or e.fields.get("user", ""),
             "address": e.fields.get("address", ""), "authentic": e.authentic} for e in reversed(history)],
            "waiting": _waiting(hc.status(token), config.wait_for_authorisation, since, now, config)}

    def _describe(state: TokenStatus, token: Token | None, now: float) -> dict[str, Any] | None:
        if token is None or state is TokenStatus.SIGN_IN_REQUIRED:
            return None
        end = ends_at(config, token)
        return {"supervisor": token.supervisor or "an unknown account", "name": token.supervisor_name,
                "until": describe_when(end, now, config.zone).split(", ")[0] if end is not None else
                "Healthcode ends it",
                "left": describe_duration(end - now) if end is not None else "",
                "hours": round((end - now) / 3600) if end is not None else None}


def _check_stored(hc: Any, token: Token) -> None:
    """The core keeps a token it could not store for its own run (a robot goes on); the portal's
    supervisor must know the robots did not get it. A newer sign-in stored meanwhile is fine."""
    stored = hc.store.load(hc.key) if hc.store is not None else None
    if stored is None or (stored.entry.token.access_token != token.access_token
                          and stored.entry.token.issued_at < token.issued_at):
        raise StoreError("the token store did not take the new authorisation (see the portal's log)")


_EVENTS = {"signed-in": "authorised", "signed-out": "signed out", "renewed": "renewed",
           "renewal-refused": "renewal refused", "refused": "refused (not on the list)"}


def _when(stamp: str, now: float, config: Any) -> str:
    """A record's time in the supervisors' words ("today at 14:05"), or as written when it is no time."""
    try:
        return describe_when(datetime.fromisoformat(stamp).timestamp(), now, config.zone).split(", ")[0]
    except (ValueError, TypeError, OverflowError):
        return stamp


def _waiting(state: TokenStatus, wait: float, since: float | None, now: float, config: Any) -> str:
    if since is not None:
        return (f"Yes: robots have been waiting for a supervisor since {describe_when(since, now, config.zone)}. "
                "Authorise them to let them go on.")
    if state is TokenStatus.VALID:
        return "No: the robots have a valid authorisation."
    if wait > 0:
        return (f"Robots that need Healthcode now wait up to {describe_duration(wait)} for a supervisor to "
                "authorise them.")
    return "Robots that need Healthcode now stop with an error until a supervisor authorises them."


def _hours_of_authorisation(margin: float) -> int:
    """Healthcode's authorisation lasts 24 hours (less the robots' expiry margin)."""
    return max(1, round((24 * 3600 - margin) / 3600))
