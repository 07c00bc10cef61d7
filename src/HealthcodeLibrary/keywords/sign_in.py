"""Keywords for the supervisor's sign-in in a real browser."""

from __future__ import annotations

import time
from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword
from robot.api.types import Secret
from robot.utils import secs_to_timestr

from healthcode_auth.errors import (
    AuthorizationRequestRefusedError,
    NobodyToSignInError,
    NoValidTokenError,
    SignInError,
    SignInPageError,
    SignInTimeoutError,
    SignInWindowClosedError,
)

from ..argument_types import BrowserOptions, BrowserType
from ..base import LibraryComponent

POLL_SECONDS = 1.0
RESTART = "Start the sign-in again ('Open Healthcode Login' in a suite, or 'healthcode-auth login')"
# What the console tells the person at the machine while a suite waits, by where the page is
# (keyed by PageShown's values, so that the browser side loads only when a sign-in happens).
WAITING = {
    "window": "Waiting up to {time} for a supervisor to sign in to Healthcode in the browser window the "
    "robot opened...",
    "headless": "Waiting up to {time} for the Healthcode sign-in in a headless browser, which nobody can "
    "see: it completes when the SSO already knows the supervisor (as the sandbox does with "
    "--remembered-supervisor) or the suite filled the page in with Browser keywords; should the "
    "SSO show its sign-in form, the wait ends at once. For a supervisor to sign in by hand, use a "
    "visible browser (headless=False; for 'healthcode-auth login', leave out --headless)...",
    "suite": "Waiting up to {time} for a supervisor to sign in to Healthcode on the page the robot opened "
    "in the suite's browser...",
}


# What ``healthcode-auth login`` tells the supervisor while it waits: short, and about them.
LOGIN_WAITING = {
    "window": "Sign in to Healthcode in the browser window that opened (up to {time})...",
    "headless": "Waiting up to {time} for Healthcode to recognise the supervisor (headless: leave out "
    "--headless to sign in in a window)...",
    "suite": "Sign in to Healthcode in the browser window that opened (up to {time})...",
}
# When a headless browser the library opened shows the SSO's sign-in form: nobody can fill it in.
NOBODY_TO_SIGN_IN = (
    "Healthcode's SSO is showing its sign-in form in a headless browser the robot opened itself: nobody can see "
    "that page or fill it in, so the sign-in cannot complete, and the robot stops now rather than wait {time}. "
    "(A headless sign-in completes on its own only when the SSO already knows the supervisor.) For unattended "
    "runs use instead 'Get Healthcode Access Token' with the library's wait_for_authorisation setting "
    "(HEALTHCODE_WAIT_FOR_AUTHORISATION, e.g. '30 minutes'): the robot then waits for a supervisor to sign in "
    "elsewhere, with 'healthcode-auth login' on a machine with a desktop, or at the supervisor portal, where one "
    "runs. For a supervisor to sign in in this run, use a visible browser (headless=False)."
)
LOGIN_NOBODY_TO_SIGN_IN = (
    "Healthcode's SSO is showing its sign-in form, and with --headless nobody can see it or fill it in: stopped "
    "now rather than wait {time}. Use --headless only with an SSO that remembers the supervisor (it then "
    "completes without a form). Otherwise leave --headless out and run 'healthcode-auth login' on a machine with "
    "a desktop, where the supervisor signs in in the window that opens, or let the supervisor sign in at the "
    "supervisor portal, where one runs. Robots with the wait_for_authorisation setting "
    "(HEALTHCODE_WAIT_FOR_AUTHORISATION) wait for that sign-in."
)
REFUSED = (
    'Healthcode\'s SSO refused this sign-in request before anyone could sign in; its page says: "{said}". '
    "The likely cause: the client id '{client_id}' or the redirect URI '{redirect_uri}' is not registered "
    "with the SSO exactly as given (a trailing slash, http or https, upper or lower case all count), or the "
    "environment ({environment}) is not the SSO the client is registered with. Check these settings against "
    "the registration ('healthcode-auth check' asks the SSO without signing in), then {restart}."
)


class SignInKeywords(LibraryComponent):
    # ``healthcode-auth login`` uses its own messages (supervisor_login.py).
    waiting = WAITING
    nobody_to_sign_in = NOBODY_TO_SIGN_IN

    @keyword(tags=["sign-in"])
    def open_healthcode_login(
        self,
        browser: BrowserType | None = None,
        headless: bool | None = None,
        channel: str | None = None,
        executable_path: str | None = None,
    ) -> None:
        """Opens Healthcode's sign-in page so that a supervisor can authorise the bot.

        Fetches the SSO's discovery document (once, unless the token store keeps it), creates a new sign-in (PKCE code
        verifier, ``state``) and opens its authorization URL:

        - If the suite has a Browser library context open, in a new page there, so the suite's own
          browser settings (proxy, locale, viewport) apply.
        - Otherwise in a browser of its own, visible unless ``headless`` is true. ``browser``,
          ``channel`` (e.g. ``msedge`` or ``chrome``) and ``executable_path`` choose which one and
          override the library's import arguments of the same names. Without them the library
          uses, on Windows, Microsoft Edge (through Playwright's ``msedge`` channel), which every
          Windows machine has and supervisors there use; elsewhere Playwright's Chromium if
          installed, else an installed Chrome, Edge or Chromium (``/Applications`` and
          ``~/Applications`` on macOS). Locked-down machines need no browser download.

        Afterwards the sign-in page is the Browser library's active page: a supervisor signs in
        there, or a test drives it with Browser keywords. Continue with
        `Wait For Supervisor Authorisation`. Opening a new sign-in abandons any earlier one that
        was not completed.

        Do not record a HAR file or a Playwright trace in a context used for the sign-in: they
        would contain the authorization code. For the same reason the sign-in is refused while
        Playwright's debug log is on, by whatever route: ``DEBUG`` naming a ``pw:`` namespace (by
        the ``debug`` package's rules: ``pw:*``, ``p*``, ``*:protocol`` ...), or the Browser
        library imported with ``enable_playwright_debug=True``. A browser window is refused at
        once where there is no display (Linux without ``DISPLAY`` or ``WAYLAND_DISPLAY``), with
        what to do instead. No environment variable is passed to a browser the library launches,
        and the secret-bearing ``HEALTHCODE_*`` variables reach neither it nor the Browser
        library's node process (unless the suite's own Browser keywords started that process
        first: the log then says so).

        Example:
        | `Open Healthcode Login`
        | `Open Healthcode Login`    channel=msedge
        | `Open Healthcode Login`    headless=True    executable_path=/usr/bin/chromium
        """
        defaults = self.browser_options
        options = BrowserOptions(
            browser=(browser or BrowserType(defaults.browser)).value,
            headless=defaults.headless if headless is None else headless,
            channel=channel or defaults.channel,
            executable_path=executable_path or defaults.executable_path,
            args=defaults.args,
            proxy=defaults.proxy,
        )
        from healthcode_auth.authorization_probe import probe_authorization  # the HTTP machinery, when needed

        sign_in = self.session.start_sign_in()
        client = self.session.client
        self.sign_in_page.open(
            sign_in.url,
            sign_in.redirect_uri,
            sign_in.state,
            options,
            sign_in.sso_origins,
            bot=sign_in.client_id,
            probe=lambda: probe_authorization(client),
        )
        logger.info(
            f"Opened the Healthcode sign-in page for client '{sign_in.client_id}'. A supervisor must "
            "sign in there; use 'Wait For Supervisor Authorisation' to wait for it."
        )

    @keyword(tags=["sign-in"])
    def wait_for_supervisor_authorisation(self, timeout: timedelta = timedelta(minutes=5)) -> None:
        """Waits until the supervisor has signed in on the page opened by `Open Healthcode Login`.

        Catches the SSO's redirect to the redirect URI, also when it happened before this keyword
        was called. In Chromium, Chrome and Edge the request to the redirect URI is stopped before it
        is sent, so its host is never contacted and need not exist; Firefox and WebKit catch it too,
        but may already have sent it.
        Checks that the redirect belongs to this sign-in (``state``) and comes from the expected
        SSO (``iss``, RFC 9207), keeps the authorization code for `Get Healthcode Access Token`,
        and shows the supervisor a page saying the bot is authorised and the window may be closed.

        The console tells the person at the machine what is expected of them while this waits.

        Fails with a message saying what to do next when the supervisor cancels or the SSO refuses
        the sign-in (with the SSO's description), the redirect is forged or stale (``state``
        mismatch), the supervisor does not finish within ``timeout``, or the sign-in window or
        browser is closed. The code never appears in the log.

        When the SSO refuses the sign-in request itself (it shows an error page instead of a sign-in
        form: the client id or the redirect URI is not registered as given), fails within seconds,
        quoting the SSO's page, instead of waiting for ``timeout``.

        In a headless browser the library opened itself (``headless`` true and no browser of the
        suite's open), nobody sees the page, and the suite cannot act while this waits: the sign-in
        completes there only when the SSO redirects on its own (it remembers the supervisor), or
        when the suite filled the form in with Browser keywords before this keyword. When the page
        settles on the SSO's sign-in form instead, fails within seconds, saying what unattended runs
        use instead (the ``wait_for_authorisation`` setting), rather than waiting for ``timeout``.
        In the suite's own browser it waits as usual.

        Example:
        | `Open Healthcode Login`
        | `Wait For Supervisor Authorisation`    timeout=10 minutes
        | ${token} =    `Get Healthcode Access Token`
        """
        sign_in = self.session.pending_sign_in
        if sign_in is None:
            raise SignInError("No sign-in is in progress: run 'Open Healthcode Login' first.")
        from ..sign_in_page import CaptureStatus  # the browser side loads only when a sign-in happens

        limit = timeout.total_seconds()
        readable = secs_to_timestr(limit, compact=False)
        logger.console(self.waiting[self.sign_in_page.shown.value].format(time=readable))
        deadline = time.monotonic() + limit
        ignored: list[str] = []
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    suspicious = (
                        f" Meanwhile the browser was sent to the redirect URI from a page that is not "
                        f"Healthcode's ({', '.join(ignored)}): that was ignored; find out who sent it."
                        if ignored
                        else ""
                    )
                    raise SignInTimeoutError(
                        f"The supervisor did not complete the sign-in within {readable}. "
                        f"{RESTART} and ask the supervisor to sign in, or allow more time." + suspicious
                    )
                capture = self.sign_in_page.take(sign_in.state, min(remaining, POLL_SECONDS))
                ignored.extend(capture.ignored)
                for page in capture.ignored:
                    logger.warn(
                        f"Ignored a navigation to the redirect URI that did not come from Healthcode's "
                        f"sign-in (it came from {page}): only the SSO's own redirect is accepted. "
                        "Still waiting for the supervisor."
                    )
                if capture.refused is not None:
                    raise AuthorizationRequestRefusedError(
                        REFUSED.format(
                            said=capture.refused,
                            client_id=sign_in.client_id,
                            redirect_uri=sign_in.redirect_uri,
                            environment=self.session.config.environment,
                            restart=RESTART[0].lower() + RESTART[1:],
                        )
                    )
                if capture.nobody_to_sign_in and time.monotonic() < deadline:  # else the timeout is said
                    raise NobodyToSignInError(self.nobody_to_sign_in.format(time=readable))
                if capture.status is CaptureStatus.CAPTURED and capture.url is not None:
                    self.session.accept_redirect(capture.url)
                    break
                if capture.status is CaptureStatus.CLOSED:
                    raise SignInWindowClosedError(
                        f"The sign-in window was closed before the supervisor completed the sign-in. {RESTART}."
                    )
                if capture.status is not CaptureStatus.PENDING:
                    raise SignInPageError(
                        "The sign-in page is no longer being watched (was the browser "
                        f"restarted, or another sign-in opened?). {RESTART}."
                    )
        finally:
            self.sign_in_page.release(sign_in.state)
        logger.console("The supervisor has signed in; the bot is authorised.")
        logger.info("Supervisor authorisation received.")

    @keyword(tags=["sign-in", "token"])
    def authorise_healthcode_supervisor(
        self,
        timeout: timedelta = timedelta(minutes=5),
        browser: BrowserType | None = None,
        headless: bool | None = None,
        channel: str | None = None,
        executable_path: str | None = None,
    ) -> Secret:
        """Returns a valid access token, asking a supervisor to sign in only when there is none.

        When the library already holds a valid token (or can renew it), returns it without opening
        a browser. Otherwise runs `Open Healthcode Login` (with the given browser options),
        `Wait For Supervisor Authorisation` (with ``timeout``) and `Get Healthcode Access Token`.
        It is the sign-in itself, so it never waits for someone else's (the ``wait_for_authorisation``
        setting is for robots that cannot sign in).

        Example:
        | ${token} =    `Authorise Healthcode Supervisor`    timeout=10 minutes
        """
        try:  # no waiting for another's sign-in (``wait_for_authorisation``): this is the sign-in
            return Secret(self.session.access_token(wait=0).access_token)
        except NoValidTokenError as error:  # only what a sign-in mends (a store or SSO fault is raised)
            logger.info(f"No valid token ({error}); asking a supervisor to sign in.")
        self.open_healthcode_login(browser, headless, channel, executable_path)
        self.wait_for_supervisor_authorisation(timeout)
        return Secret(self.session.access_token(wait=0).access_token)
