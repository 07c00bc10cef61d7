"""The supervisor's sign-in for ``healthcode-auth login``, in this process, without a robot run.

The command line hands over its session (configuration already validated) and browser options as
Python objects: nothing is written back into environment variables or onto a command line. The
sign-in uses the same keyword component as a suite, with a Browser library instance of its own
(the Browser library's documented use from Python). Secrets are kept from node and the browser
the one way the library keeps them (``sign_in_page.secrets_hidden``): node starts inside the sign-in
page's first call, with the secret-bearing variables out of the environment. The console messages
are the supervisor's, not a suite's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from healthcode_auth.errors import NoValidTokenError
from healthcode_auth.protocol.token import Token
from healthcode_auth.session import HealthcodeSession
from HealthcodeLibrary.argument_types import BrowserOptions
from HealthcodeLibrary.keywords.sign_in import LOGIN_NOBODY_TO_SIGN_IN, LOGIN_WAITING, SignInKeywords
from HealthcodeLibrary.sign_in_page import SignInPage


class _LoginHost:
    """What the sign-in keywords need of a library: the session, the page and browser options.
    The Browser library starts (with its Playwright process) only when a page is needed."""

    def __init__(self, session: HealthcodeSession, browser_options: BrowserOptions) -> None:
        self.session = session
        self.browser_options = browser_options
        self._page: SignInPage | None = None

    @property
    def sign_in_page(self) -> SignInPage:
        if self._page is None:
            self._page = SignInPage(_standalone_browser())
        return self._page

    def close(self) -> None:
        if self._page is not None:
            self._page.close_browsers()


class _LoginKeywords(SignInKeywords):
    waiting = LOGIN_WAITING
    nobody_to_sign_in = LOGIN_NOBODY_TO_SIGN_IN


def sign_in_supervisor(
    session: HealthcodeSession, options: BrowserOptions, timeout: timedelta, *, force: bool = False
) -> Token:
    """Open the sign-in page, wait for the supervisor, redeem the code; returns the stored token.

    Without ``force`` a valid (or renewable) authorisation is reused and no browser starts.
    """
    host = _LoginHost(session, options)
    try:
        keywords = _LoginKeywords(host)
        if force:
            keywords.open_healthcode_login()
            keywords.wait_for_supervisor_authorisation(timeout)
        else:
            keywords.authorise_healthcode_supervisor(timeout)
        token = session.current_token()  # the sign-in just made (never renewed or awaited here)
        if token is None:
            raise NoValidTokenError("The sign-in finished without a token. Run 'healthcode-auth login' again.")
        return token
    finally:
        host.close()


def _standalone_browser() -> Any:
    from Browser import Browser
    from Browser.utils.data_types import PlaywrightLogTypes

    # No playwright-log.txt: a debug log of the sign-in would hold the redirect URL with the code.
    return Browser(enable_playwright_debug=PlaywrightLogTypes.disabled, run_on_failure=None)
