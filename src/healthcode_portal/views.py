"""The portal's pages: landing, authorise, the callback, authorised, status and sign-out.

The callback is the one place a sign-in ends, in this order: the sealed cookie of the callback's
state is opened and its state compared with the callback's *before anything else* (a forged,
replayed or stale callback costs no token request, and deletes no cookie); the state is claimed
in the store (used once, fleet-wide); only then does the core redeem the code, verify the token,
check the allow-list, store it compare-and-set and record it
(:meth:`~healthcode_auth.session.HealthcodeSession.access_token`). Every refusal is a page of its
own with a 4xx status (5xx only when the store or the SSO cannot be reached), and nothing is
stored. Success answers 303 to a clean page: the code leaves the address bar and the history.
A 5xx page tells why (the store's or the SSO's problem) only to a visitor with a portal session;
the log always does.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, redirect, render_template, request, session
from werkzeug.wrappers import Response

from healthcode_auth.daily_cycle import robots_waiting
from healthcode_auth.errors import (
    AuthorizationDenied,
    AuthorizationError,
    ClaimsFullError,
    DiscoveryError,
    HealthcodeAuthError,
    StoreError,
    TransportError,
)
from healthcode_auth.notices import ends_at
from healthcode_auth.protocol.schedule import describe_duration, describe_when
from healthcode_auth.protocol.token import Token, TokenStatus

from .callback_steps import (
    NOT_AUTHORISED,
    CallbackClaims,
    account_of,
    check_stored,
    failed_sign_in,
    note_writes,
)
from .portal_state import portal_of, portal_supervisor, problem_page
from .sign_in_cookie import (
    LIFETIME,
    MAX_PENDING,
    BadSignInCookie,
    cookie_name,
    first_use,
    open_sign_in,
    seal_sign_in,
    state_matches,
    surplus_sign_ins,
)

log = logging.getLogger("healthcode_portal")
ASK_THE_LOG = " The operator's log says why."


def register_views(app: Flask) -> None:
    portal = portal_of(app)
    public, config = portal.public, portal.config

    def page(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
        return render_template(template, **values), status

    def problem(status: int, title: str, text: str, *, forget: str | None = None, **details: Any) -> Response:
        """An error page; a 5xx's reason (a store's address, a key source...) only to a supervisor
        with a portal session, the log has it anyway. ``forget``: the used sign-in's cookie."""
        if status >= 500 and "reason" in details and portal_supervisor() is None:
            details.pop("reason")
            text += ASK_THE_LOG
        response = app.make_response((problem_page(status, title, text, **details), status))
        if forget is not None:
            _forget_sign_in(response, forget)
        return response

    def _forget_sign_in(response: Response, name: str) -> None:
        if name in request.cookies:
            response.delete_cookie(
                name, path=public.base_path, secure=public.secure_cookies, httponly=True, samesite="Lax"
            )

    def see_other(name: str) -> Response:
        return redirect(public.url(public.page(name)), code=303)

    def waits_on_services(view: Callable[[], Any]) -> Callable[[], Any]:
        """A page that may wait on the SSO or the store takes one of the portal's waiting places, or
        is told at once that the portal is busy: requests held by a hanging SSO or store never take
        every thread, so the landing page and the other pages stay up."""

        @functools.wraps(view)
        def bounded() -> Any:
            waiting = portal.waiting  # the one taken is the one given back
            if not waiting.acquire(blocking=False):
                log.warning(
                    "%s %s from %s: busy, every waiting place is taken (the SSO or the store is slow).",
                    request.method,
                    request.path,
                    request.remote_addr or "(unknown)",
                )
                response = problem(
                    503,
                    "The portal is busy",
                    "Many requests are waiting for Healthcode's sign-in "
                    "or the robots' token store just now. Nothing was changed. Try again in a minute.",
                )
                response.headers["Retry-After"] = "60"
                return response
            try:
                return view()
            finally:
                waiting.release()

        return bounded

    @app.get(public.base_path, endpoint="landing")
    def landing() -> tuple[str, int]:
        portal.learn_sso_origins_soon()  # in the background: a visitor never waits for the SSO
        return page("landing.html", hours=_hours_of_authorisation(config.expiry_margin))

    @app.post(public.page("authorise"), endpoint="authorise")
    @waits_on_services
    def authorise() -> Response:
        hc = portal.new_session()
        try:
            hc.check_store()  # a store the portal cannot use is said now, before anyone signs in
        except StoreError as error:
            log.warning("Authorise: the token store cannot be used: %s", error)
            return problem(
                503,
                NOT_AUTHORISED,
                "The robots' token store cannot be used right now, so no "
                "authorisation could be kept. Nothing was changed. Try again later, or tell whoever "
                "runs the robots.",
                reason=str(error),
            )
        try:
            sign_in = hc.start_sign_in()
        except (TransportError, DiscoveryError) as error:
            log.warning("Authorise: the SSO cannot be reached: %s", error)
            return problem(
                502,
                "Healthcode's sign-in cannot be reached",
                "The portal could not reach Healthcode's "
                "sign-in service. Nothing was changed. Try again in a few minutes.",
                reason=str(error),
            )
        portal.learn_sso_origins(hc)
        response = redirect(sign_in.url, code=303)
        for stale in surplus_sign_ins(request.cookies, portal.environ, MAX_PENDING - 1):
            _forget_sign_in(response, stale)  # the oldest sign-ins in progress make room for this one
        response.set_cookie(
            cookie_name(sign_in.state),
            seal_sign_in(sign_in, portal.sealer),
            max_age=int(LIFETIME),
            path=public.base_path,
            secure=public.secure_cookies,
            httponly=True,
            samesite="Lax",
        )
        return response

    @app.get(public.callback_path, endpoint="callback")
    @waits_on_services
    def callback() -> Response:
        address = request.remote_addr or "(unknown)"
        state = request.args.get("state")
        cookie = cookie_name(state) if state else None  # the cookie of the sign-in this answer belongs to
        try:
            sign_in = open_sign_in(
                request.cookies.get(cookie) if cookie else None,
                portal.environ,
                client_id=config.client_id,
                redirect_uri=config.redirect_uri,
            )
        except BadSignInCookie as error:
            log.warning("Callback from %s refused before any token request: %s", address, error)
            return problem(
                400,
                "This sign-in cannot be completed",
                f"{error} Nothing was changed. Start again from the portal's first page.",
            )
        if not state_matches(sign_in, state):
            log.warning("Callback from %s refused before any token request: the state does not match.", address)
            return problem(
                400,
                "This sign-in cannot be completed",
                "The answer from Healthcode's sign-in does not "
                "belong to the sign-in this browser started (it is forged, from an earlier sign-in, or "
                "from another tab's). Nothing was changed. If you started a sign-in in another tab, "
                "finish it there; otherwise start again from the portal's first page.",
            )

        def spent(status: int, title: str, text: str, **details: Any) -> Response:
            return problem(status, title, text, forget=cookie, **details)  # this sign-in is used: its cookie goes

        hc = portal.new_session()

        hc.describe_actor = lambda: {"via": "portal", "address": address}
        hc.resume_sign_in(sign_in)
        try:  # an answer that is no code (an SSO's error, a missing iss) is said before anything is written
            code = hc.accept_redirect(public.callback_url(request.query_string.decode("utf-8", "replace"))).code
        except AuthorizationDenied as error:
            log.warning("Callback from %s: the SSO ended the sign-in: %s", address, error)
            return spent(
                403 if error.error == "access_denied" else 400,
                "The sign-in did not complete",
                "Healthcode's sign-in did not approve the robots. Nothing was stored.",
                reason=str(error),
            )
        except AuthorizationError as error:
            log.warning("Callback from %s refused before any token request: %s", address, error)
            return spent(
                400,
                "The sign-in did not complete",
                "Healthcode's sign-in did not give the robots an "
                "authorisation. Nothing was stored. Start again from the portal's first page.",
                reason=str(error),
            )
        try:
            used = None if hc.store is None else first_use(hc.store, sign_in, code)
            if used is None:
                log.warning("Callback from %s refused before any token request: the sign-in was used already.", address)
                return spent(
                    400,
                    "This sign-in was used already",
                    "Each sign-in completes once (and one "
                    "started before a flood of other sign-ins cannot be told from a used one). Nothing "
                    "was changed. Start again from the portal's first page.",
                )
        except StoreError as error:
            log.warning("Callback from %s: the token store cannot be used: %s", address, error)
            why = (
                "The robots' token store has no room to note this sign-in just now (see below), so it "
                "was not sent to Healthcode."
                if isinstance(error, ClaimsFullError)
                else "The robots' token store cannot be reached, so the authorisation could not be kept."
            )
            return spent(
                503,
                NOT_AUTHORISED,
                f"{why} Nothing was stored. Try again later, or tell whoever runs the robots.",
                reason=str(error),
            )
        claims = CallbackClaims(hc.store, sign_in, code, used)  # kept only if a token on the code goes to the store
        written = note_writes(hc.store, claims.before_store) if hc.store is not None else {}
        try:
            token = hc.access_token(wait=0)
            check_stored(hc, token, written)
        except HealthcodeAuthError as error:
            failed = failed_sign_in(error)
            log.warning("Callback from %s: %s: %s", address, failed.logged, error)
            return spent(failed.status, failed.title, failed.text, **failed.details)
        finally:
            claims.settle()
        session.clear()  # a new portal session for this supervisor (and a new CSRF token)
        session.permanent = True
        session["supervisor"] = token.supervisor or "(unknown)"
        session["since"] = time.time()
        session["account"] = account_of(hc, token)  # as the allow-list names it: checked on every request
        session["claim"] = hc.config.supervisor_claim  # and which claim named it (a change of claim ends it)
        log.info("The robots were authorised through the portal by %r from %s.", token.supervisor, address)
        response = see_other("authorised")
        if cookie is not None:
            _forget_sign_in(response, cookie)  # the state matched: this sign-in is used
        return response

    @app.get(public.page("authorised"), endpoint="authorised")
    @waits_on_services
    def authorised() -> Response | tuple[str, int]:
        if portal_supervisor() is None:
            return see_other("")
        facts = current_facts()
        if isinstance(facts, Response):
            return facts
        return page("authorised.html", **facts)

    @app.get(public.page("status"), endpoint="status")
    @waits_on_services
    def status() -> Response | tuple[str, int]:
        if portal_supervisor() is None:
            return see_other("")
        facts = current_facts()
        if isinstance(facts, Response):
            return facts
        return page("status.html", notice=None, **facts)

    @app.post(public.page("sign-out"), endpoint="sign_out")
    @waits_on_services
    def sign_out() -> Response:
        supervisor = portal_supervisor()
        if supervisor is None:
            return problem(
                403,
                "Sign in through the portal first",
                "Only a supervisor who authorised the robots "
                "through this portal in the last 15 minutes can sign them out here. Nothing was changed.",
            )
        hc = portal.new_session()
        address = request.remote_addr or "(unknown)"
        hc.describe_actor = lambda: {"via": "portal", "address": address, "user": f"{supervisor} (portal)"}
        try:
            token = hc.clear()
        except StoreError as error:
            log.warning("Sign-out from %s: the token store cannot be used: %s", address, error)
            return problem(
                503,
                "The robots could not be signed out",
                "The robots' token store cannot be used right "
                "now. Nothing was changed. Try again, or run 'healthcode-auth logout'.",
                reason=str(error),
            )
        if token is None:
            return signed_out("There was no authorisation to remove.")
        try:
            revoked = hc.client.revoke(token)
        except HealthcodeAuthError as error:
            log.warning("Sign-out: the SSO did not confirm the revocation: %s", error)
            revoked = None
        said = {
            True: " and Healthcode revoked it",
            False: "; Healthcode does not revoke authorisations, so it "
            "stays valid there until it ends, but no robot of this fleet uses it",
            None: "; Healthcode did not confirm the revocation",
        }[revoked]
        log.info("The robots were signed out through the portal by %r from %s.", supervisor, address)
        return signed_out(f"The robots are signed out: the authorisation was removed{said}.")

    def signed_out(notice: str) -> Response:
        """The status page, after the portal session of this browser ended with the sign-out."""
        session.clear()
        facts = current_facts()
        if isinstance(facts, Response):
            return facts
        return app.make_response(page("status.html", notice=notice, **facts))

    def current_facts() -> dict[str, Any] | Response:
        hc = portal.new_session()
        try:
            token = hc.current_token()
            history = hc.history(20)
            since = robots_waiting(hc.store, hc.key) if hc.store is not None else None
        except StoreError as error:
            return problem(
                503,
                "The robots' token store cannot be read",
                "The portal cannot read the robots' token store right now. Try again later.",
                reason=str(error),
            )
        now = time.time()
        return {
            "authorisation": _describe(hc.status(token), token, now),
            "history": [
                {
                    "time": _when(e.fields.get("time", ""), now, config),
                    "event": _EVENTS.get(e.fields.get("event", ""), e.fields.get("event", "")),
                    "supervisor": e.fields.get("supervisor_name") or e.fields.get("supervisor", ""),
                    "via": e.fields.get("via") or e.fields.get("suite") or e.fields.get("user", ""),
                    "address": e.fields.get("address", ""),
                    "authentic": e.authentic,
                }
                for e in reversed(history)
            ],
            "waiting": _waiting(hc.status(token), config.wait_for_authorisation, since, now, config),
        }

    def _describe(state: TokenStatus, token: Token | None, now: float) -> dict[str, Any] | None:
        if token is None or state is TokenStatus.SIGN_IN_REQUIRED:
            return None
        end = ends_at(config, token)
        return {
            "supervisor": token.supervisor or "an unknown account",
            "name": token.supervisor_name,
            "until": describe_when(end, now, config.zone).split(", ")[0] if end is not None else "Healthcode ends it",
            "left": describe_duration(end - now) if end is not None else "",
            "hours": round((end - now) / 3600) if end is not None else None,
        }


_EVENTS = {
    "signed-in": "authorised",
    "signed-out": "signed out",
    "renewed": "renewed",
    "renewal-refused": "renewal refused",
    "refused": "refused (not on the list)",
}


def _when(stamp: str, now: float, config: Any) -> str:
    """A record's time in the supervisors' words ("today at 14:05"), or as written when it is no time."""
    try:
        return describe_when(datetime.fromisoformat(stamp).timestamp(), now, config.zone).split(", ")[0]
    except (ValueError, TypeError, OverflowError):
        return stamp


def _waiting(state: TokenStatus, wait: float, since: float | None, now: float, config: Any) -> str:
    if since is not None:
        return (
            f"Yes: robots have been waiting for a supervisor since {describe_when(since, now, config.zone)}. "
            "Authorise them to let them go on."
        )
    if state is TokenStatus.VALID:
        return "No: the robots have a valid authorisation."
    if wait > 0:
        return (
            f"Robots that need Healthcode now wait up to {describe_duration(wait)} for a supervisor to authorise them."
        )
    return "Robots that need Healthcode now stop with an error until a supervisor authorises them."


def _hours_of_authorisation(margin: float) -> int:
    """Healthcode's authorisation lasts 24 hours (less the robots' expiry margin)."""
    return max(1, round((24 * 3600 - margin) / 3600))
