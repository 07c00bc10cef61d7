"""The supervisor's sign-in page in a real browser, driven through the Browser library's public API.

Inside a Robot Framework run the Browser library instance is the suite's
(``BuiltIn().get_library_instance("Browser")``, imported when the suite did not import it); the
``healthcode-auth login`` command hands in a Browser instance of its own. Either way only the
Browser library's public Python methods are called: keyword methods (``new_browser``,
``new_context``, ``new_page``), and ``init_js_extension`` / ``call_js_keyword`` for the redirect
capture in ``redirect_capture.js``. Called as Python methods, not run as keywords, they put neither
their arguments nor their results into Robot's log (``call_js_keyword`` logs only ``ok``).

Three things are settled here, each in one place:

- **No secret reaches a child process** (:func:`secrets_hidden`): every call into the Browser library
  that may start its node process runs with the secret-bearing variables out of this process's
  environment, so the node process, when one of these calls starts it, never has them, nor any
  browser it launches (Playwright gives a browser node's environment when no ``env`` is passed, and
  none is: the Browser library logs its launch options, an environment included). A node process
  started earlier by the suite's own Browser keywords has them already: the extension takes them
  out of its environment before a browser is launched, and the robot's log says so.
- **Playwright's debug log stays off** (:func:`refuse_playwright_debug_log`): it would record the
  authorization URL and the redirect with the code.
- **A refused authorization request is seen at once** (``Capture.refused``), and so is **a form
  nobody can fill in** (``Capture.nobody_to_sign_in``: the SSO's sign-in form in a headless browser
  the library opened itself): both are read in the settled page (``settled_page.py``).
"""

from __future__ import annotations

import contextlib
import html
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from robot.api import logger

from healthcode_auth.authorization_probe import REFUSED, ProbeResult
from healthcode_auth.errors import SignInPageError, SignInWouldBeRecordedError, first_line
from healthcode_auth.protocol.urls import without_queries
from healthcode_auth.redaction import SECRET_VARIABLES

from .argument_types import BrowserOptions
from .browsers import (
    NO_DISPLAY,
    chromium_args,
    display_problem,
    find_browser,
    is_no_display_error,
    playwright_namespaces_on,
)
from .settled_page import POLL_SETTLE_MS, SETTLE_MS, FormWatch, read_settled_page, refusal

EXTENSION = Path(__file__).with_name("redirect_capture.js")
AUTHORISED_PAGE = Path(__file__).with_name("authorised.html")
# How long the "bot authorised" page stays open for the supervisor to read before the library
# closes the page it opened.
READING_SECONDS = 30


class CaptureStatus(Enum):
    """What ``redirect_capture.js`` reports; the same set as ``capture_status.json``, which the
    JavaScript side reads (a unit test keeps the two equal)."""

    OPENED = "opened"
    FAILED = "failed"
    PENDING = "pending"
    CAPTURED = "captured"
    TAKEN = "taken"
    CLOSED = "closed"
    UNKNOWN = "unknown"


class PageShown(Enum):
    """Where the sign-in page is, as the console tells the person at the machine."""

    WINDOW = "window"  # in a browser window the library opened
    HEADLESS = "headless"  # in a headless browser the library opened: nobody can see it
    SUITE = "suite"  # in the suite's own browser (the suite chose how it is shown)


@dataclass(frozen=True)
class Capture:
    """What the page reported: the redirect URL when it was ``captured``; the pages (origin and
    path, never a query) whose navigations to the redirect URI were ignored as not the SSO's;
    when the SSO refused the authorization request itself, what its page says (``refused``); and
    whether a headless page nobody sees shows the SSO's sign-in form (``nobody_to_sign_in``)."""

    status: CaptureStatus
    url: str | None = None
    ignored: tuple[str, ...] = ()
    refused: str | None = None
    nobody_to_sign_in: bool = False

    def __repr__(self) -> str:  # the URL carries the authorization code
        return f"Capture(status={self.status.value!r})"


class SignInPage:
    """Opens the sign-in page and collects the redirect, for one Browser library instance."""

    def __init__(self, browser: Any | None = None) -> None:
        self._browser = browser
        self._extension_loaded_in: int | None = None
        self._probe: Future[ProbeResult | None] | None = None
        self._form_watch = FormWatch()
        self._launched: tuple[str, PageShown] | None = None  # the browser this page launched, and how
        self.shown = PageShown.WINDOW

    @property
    def browser(self) -> Any:
        if self._browser is not None:
            return self._browser
        from robot.libraries.BuiltIn import BuiltIn

        builtin = BuiltIn()
        try:
            return builtin.get_library_instance("Browser")
        except RuntimeError:
            # The suite did not import Browser: import it with settings that write no debug log.
            builtin.import_library("Browser", "enable_playwright_debug=disabled", "run_on_failure=None")
            return builtin.get_library_instance("Browser")

    def open(
        self,
        url: str,
        redirect_uri: str,
        state: str,
        options: BrowserOptions,
        sso_origins: Sequence[str],
        *,
        bot: str = "",
        probe: Callable[[], ProbeResult] | None = None,
    ) -> None:
        """Open ``url`` in a new page of the suite's context, or in a browser of our own; only a
        navigation of the page to the redirect URI that a document on one of ``sso_origins`` sent
        there will be captured: a redirect that document's server answered, or a navigation that
        document (and, in Chromium, a script of those origins) started, as the browser says
        (``redirect_capture.js``: never what the page shows, which another window may navigate).
        ``bot`` (the client id) is named on the "authorised" page; ``probe`` asks the SSO, in the
        background, whether it accepts the request at all (see :meth:`_read_page`)."""
        refuse_playwright_debug_log(os.environ)  # before anything can start node with it
        self._probe = None
        self._form_watch = FormWatch()
        with secrets_hidden():
            browser = self.browser
            refuse_playwright_debug_log({}, browser_setting=getattr(browser, "enable_playwright_debug", None))
            self._ensure_extension(browser)  # node runs from here on, without the secrets if it started now
            self._check_node(browser)
            self._ensure_context(browser, options)
            browser.new_page()
            result = browser.call_js_keyword(
                "healthcodeArm",
                redirectUri=redirect_uri,
                state=state,
                doneHtml=authorised_page(bot),
                authUrl=url,
                ssoOrigins=list(sso_origins),
                readingMs=READING_SECONDS * 1000,
            )
        status = result.get("status") if isinstance(result, dict) else None
        if status == CaptureStatus.FAILED.value:
            reason = without_queries(str(result.get("error")))  # never the request's state or challenge
            raise SignInPageError(
                f"The browser could not open Healthcode's sign-in page ({reason}). "
                "Check the environment setting, the network and the browser's proxy."
            )
        if probe is not None and status == CaptureStatus.OPENED.value:  # nothing to ask once it is answered
            self._probe = _in_background(probe)

    def take(self, state: str, wait_seconds: float) -> Capture:
        """Wait up to ``wait_seconds`` for the redirect; hand its URL out once."""
        # Node runs by now (open() started it): this call, and those below, cannot start it.
        result = self.browser.call_js_keyword("healthcodeTake", state=state, waitMs=int(wait_seconds * 1000))
        if not isinstance(result, dict):
            return Capture(CaptureStatus.UNKNOWN)
        try:
            status = CaptureStatus(result.get("status"))
        except ValueError:
            status = CaptureStatus.UNKNOWN
        url = result.get("url")
        ignored = result.get("ignored")
        pages = tuple(str(page)[:200] for page in ignored) if isinstance(ignored, list) else ()
        refused, nobody = self._read_page(state) if status is CaptureStatus.PENDING else (None, False)
        return Capture(status, url if isinstance(url, str) else None, pages, refused, nobody)

    def release(self, state: str) -> None:
        """Stop listening for the sign-in's redirect; quiet when the browser is already gone."""
        self._probe = None
        try:
            self.browser.call_js_keyword("healthcodeDisarm", state=state)
        except Exception as error:
            logger.debug(f"Sign-in page already gone: {type(error).__name__}")

    def close_browsers(self) -> None:
        """Close every browser of this page's Browser instance (``healthcode-auth login`` owns it);
        on an instance whose node never started, this call starts it."""
        with secrets_hidden():
            self.browser.close_browser("ALL")

    def _read_page(self, state: str) -> tuple[str | None, bool]:
        """What the settled page says, when there is a reason to read it (``settled_page.py``): the
        SSO's refusal, read once, after the probe (started only when the browser got no answer at
        once) said ``refused``; and, while the page is in a headless browser the library opened,
        whether it shows the SSO's form for good. One reading serves both."""
        verdict = None
        probe = self._probe
        if probe is not None and probe.done():
            self._probe = None
            verdict = probe.result()
            verdict = verdict if verdict is not None and verdict.verdict == REFUSED else None
        headless = self.shown is PageShown.HEADLESS
        if verdict is None and not headless:
            return None, False
        page = read_settled_page(self.browser, state, SETTLE_MS if verdict is not None else POLL_SETTLE_MS)
        refused = refusal(verdict, page)
        return refused, refused is None and headless and self._form_watch.nobody_can_fill(page)

    def _check_node(self, browser: Any) -> None:
        """The node process may have been started before any of our calls (by the suite's Browser
        keywords, or shared through ``ROBOT_FRAMEWORK_BROWSER_NODE_PORT``): read its DEBUG, and
        take the secret-bearing variables out of its environment before it launches a browser."""
        node = browser.call_js_keyword("healthcodeNodeProcess", hide=list(SECRET_VARIABLES))
        if not isinstance(node, dict):
            return
        refuse_playwright_debug_log({}, node_debug=str(node.get("debug") or ""))
        had = [name for name in node.get("had") or () if name in SECRET_VARIABLES]
        if had:
            logger.warn(
                f"The Browser library's node process was started before HealthcodeLibrary could keep "
                f"{', '.join(had)} from it (the suite used Browser keywords first): that process holds "
                "them, and so does any browser it launched before now; browsers it launches from now on "
                "do not. To keep them from every process, call the sign-in keyword before the first "
                "Browser keyword, or sign in with 'healthcode-auth login'."
            )

    def _ensure_context(self, browser: Any, options: BrowserOptions) -> None:
        from Browser.utils.data_types import SelectionType

        self.shown = PageShown.SUITE
        if browser.get_context_ids(SelectionType.ACTIVE, SelectionType.ACTIVE):
            self.shown = self._shown_in_active_browser(browser)
            return
        if _browser_tracing_forced():
            raise SignInWouldBeRecordedError(
                "ROBOT_FRAMEWORK_BROWSER_TRACING makes the Browser library record a Playwright trace of the context "
                "the sign-in page opens in, and a trace holds the supervisor's form and the redirect with the "
                "authorization code. Unset it (environment variable or Robot variable) for the sign-in."
            )
        if not browser.get_browser_ids(SelectionType.ACTIVE):
            launched = self._new_browser(browser, options)
            self.shown = PageShown.HEADLESS if options.headless else PageShown.WINDOW
            self._launched = (launched, self.shown) if isinstance(launched, str) else None
        else:
            self.shown = self._shown_in_active_browser(browser)
        browser.new_context()

    def _shown_in_active_browser(self, browser: Any) -> PageShown:
        """A browser this page launched for an earlier sign-in is still the library's (headless or a
        window, as launched); any other is the suite's."""
        from Browser.utils.data_types import SelectionType

        if self._launched is not None and browser.get_browser_ids(SelectionType.ACTIVE) == [self._launched[0]]:
            return self._launched[1]
        return PageShown.SUITE

    def _new_browser(self, browser: Any, options: BrowserOptions) -> Any:
        """Launch the browser ``options`` describe; returns its id."""
        from Browser.utils.data_types import SupportedBrowsers

        no_display = None if options.headless else display_problem()
        if no_display:
            raise SignInPageError(NO_DISPLAY.format(why=no_display))
        executable_path = options.executable_path
        channel = options.channel
        args = list(options.args)
        if options.browser == "chromium":
            args = [*chromium_args(), *args]  # also for a channel (chrome, msedge) or an executable path
            if not channel and not executable_path:
                choice = find_browser()  # on Windows Edge's channel, elsewhere an executable's path
                executable_path = choice.executable_path if choice else None
                channel = choice.channel if choice else None
        # No ``env``: the browser inherits node's environment, which holds no secret (see above).
        kwargs: dict[str, Any] = {"headless": options.headless, "args": args or None}
        if channel:
            kwargs["channel"] = channel
        if executable_path:
            kwargs["executablePath"] = executable_path
        if options.proxy:
            kwargs["proxy"] = {"server": options.proxy}
        try:
            return browser.new_browser(SupportedBrowsers[options.browser], **kwargs)
        except Exception as error:
            if options.headless or not is_no_display_error(str(error)):
                raise
            where = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
            raise SignInPageError(
                NO_DISPLAY.format(why=f"the browser found none at '{where}'; it said: {first_line(error, 120)}")
            ) from None

    def _ensure_extension(self, browser: Any) -> None:
        # The extension lives in the Browser library's node process: load it once per instance.
        if self._extension_loaded_in != id(browser):
            browser.init_js_extension(EXTENSION)
            self._extension_loaded_in = id(browser)


def _browser_tracing_forced() -> bool:
    """The Browser library traces every new context when ROBOT_FRAMEWORK_BROWSER_TRACING is true, as
    an environment variable or a Robot variable (its ``New Context`` documents both)."""
    from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError
    from robot.utils import is_truthy

    try:
        variable = BuiltIn().get_variable_value("${ROBOT_FRAMEWORK_BROWSER_TRACING}", "")
    except RobotNotRunningError:
        variable = ""
    return bool(is_truthy(os.environ.get("ROBOT_FRAMEWORK_BROWSER_TRACING") or "") or is_truthy(variable or ""))


def _in_background(work: Callable[[], ProbeResult]) -> Future[ProbeResult | None]:
    """Run ``work`` in a daemon thread; its result, or None when it failed (not knowing is no
    reason to stop a sign-in). Robot Framework writes nothing logged from other threads."""
    future: Future[ProbeResult | None] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except Exception:
            future.set_result(None)

    threading.Thread(target=run, name="healthcode-authorization-probe", daemon=True).start()
    return future


def authorised_page(bot: str) -> str:
    """The "bot authorised" page, naming the bot (its client id), escaped."""
    return AUTHORISED_PAGE.read_text(encoding="utf-8").replace("{bot}", html.escape(bot or "the bot"))


# What the Browser library's import argument is set to when it turns Playwright's log on.
_BROWSER_DEBUG_ON = frozenset({"playwright", "true"})


def refuse_playwright_debug_log(
    environ: Mapping[str, str], *, browser_setting: object = None, node_debug: str | None = None
) -> None:
    """Refuse the sign-in while Playwright's debug log would record it, by any route: DEBUG in this
    process's environment (a node process started now inherits it), the Browser library's
    ``enable_playwright_debug=playwright`` (which sets DEBUG=pw:api when it starts node), or the
    DEBUG of a node process already running. The log holds every URL: the authorization request's
    state and challenge, and the redirect with the code."""
    problems = []
    spec = environ.get("DEBUG", "")
    if playwright_namespaces_on(spec):
        problems.append(
            f"DEBUG='{spec}' turns it on ({', '.join(playwright_namespaces_on(spec)[:4])}): "
            "remove its pw: (or '*') entries, add '-pw:*' to it, or unset it"
        )
    setting = str(getattr(browser_setting, "name", browser_setting)).lower()
    if browser_setting is not None and setting in _BROWSER_DEBUG_ON:
        problems.append(
            f"the Browser library's import setting enable_playwright_debug={setting} turns it on "
            "(pw:api, into playwright-log.txt): import Browser with enable_playwright_debug=library (its "
            "default) or disabled"
        )
    if node_debug and playwright_namespaces_on(node_debug):
        problems.append(
            f"the Browser library's node process runs with DEBUG='{node_debug}', which keeps it on for "
            "as long as that process runs: start the robot (or the shared node process) again without it"
        )
    if problems:
        raise SignInWouldBeRecordedError(
            "Playwright's debug log would record this sign-in (the authorization request, and the redirect with "
            "the authorization code): " + "; and ".join(problems) + ". Then open the sign-in page again."
        )


@contextlib.contextmanager
def secrets_hidden() -> Iterator[None]:
    """The one way secrets are kept from child processes: the secret-bearing variables
    (``redaction.SECRET_VARIABLES``) are out of this process's environment while the Browser
    library may start its node process, which inherits the environment and passes it on to every
    browser it launches. Nothing is passed to a launch instead (the Browser library logs launch
    options): what is not in the environment cannot be inherited, logged or leaked."""
    hidden = {name: os.environ.pop(name) for name in SECRET_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        for name, value in hidden.items():
            os.environ.setdefault(name, value)  # what the suite set meanwhile stays
