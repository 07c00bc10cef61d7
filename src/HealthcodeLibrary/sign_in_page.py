"""The supervisor's sign-in page in a real browser, driven through the Browser library's public API.

Inside a Robot Framework run the Browser library instance is the suite's
(``BuiltIn().get_library_instance("Browser")``, imported when the suite did not import it); the
``healthcode-auth login`` command hands in a Browser instance of its own. Either way only the
Browser library's public Python methods are called: keyword methods (``new_browser``,
``new_context``, ``new_page``), and ``init_js_extension`` / ``call_js_keyword`` for the redirect
capture in ``redirect_capture.js``. Called as Python methods, not run as keywords, they put neither
their arguments nor their results into Robot's log (``call_js_keyword`` logs only ``ok``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from robot.api import logger

from healthcode_auth.errors import ConfigurationError, SignInPageError
from healthcode_auth.protocol.urls import without_queries
from healthcode_auth.redaction import SECRET_VARIABLES, environment_without_secrets

from .argument_types import BrowserOptions
from .browsers import chromium_args, find_browser

EXTENSION = Path(__file__).with_name("redirect_capture.js")
AUTHORISED_PAGE = Path(__file__).with_name("authorised.html")
STATUSES = Path(__file__).with_name("capture_status.json")
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

    WINDOW = "window"        # in a browser window the library opened
    HEADLESS = "headless"    # in a headless browser the library opened: nobody can see it
    SUITE = "suite"          # in the suite's own browser (the suite chose how it is shown)


@dataclass(frozen=True)
class Capture:
    """What the page reported: the redirect URL when it was ``captured``, and the pages (origin
    and path, never a query) whose navigations to the redirect URI were ignored as not the SSO's."""

    status: CaptureStatus
    url: str | None = None
    ignored: tuple[str, ...] = ()

    def __repr__(self) -> str:  # the URL carries the authorization code
        return f"Capture(status={self.status.value!r})"


class SignInPage:
    """Opens the sign-in page and collects the redirect, for one Browser library instance."""

    def __init__(self, browser: Any | None = None) -> None:
        self._browser = browser
        self._extension_loaded_in: int | None = None
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

    def open(self, url: str, redirect_uri: str, state: str, options: BrowserOptions, sso_origins: Sequence[str],
             ) -> None:
        """Open ``url`` in a new page of the suite's context, or in a browser of our own; only a
        redirect whose previous hop is on one of ``sso_origins`` will be captured."""
        refuse_playwright_debug_log(os.environ)
        with _without_secret_variables():
            browser = self.browser
            self._ensure_context(browser, options)
            self._ensure_extension(browser)
            browser.new_page()
            result = browser.call_js_keyword(
                "healthcodeArm", redirectUri=redirect_uri, state=state,
                doneHtml=AUTHORISED_PAGE.read_text(encoding="utf-8"), authUrl=url, ssoOrigins=list(sso_origins),
                readingMs=READING_SECONDS * 1000)
        if isinstance(result, dict) and result.get("status") == CaptureStatus.FAILED.value:
            reason = without_queries(str(result.get("error")))  # never the request's state or challenge
            raise SignInPageError(f"The browser could not open Healthcode's sign-in page ({reason}). "
                                  "Check the environment setting, the network and the browser's proxy.")

    def take(self, state: str, wait_seconds: float) -> Capture:
        """Wait up to ``wait_seconds`` for the redirect; hand its URL out once."""
        result = self.browser.call_js_keyword("healthcodeTake", state=state, waitMs=int(wait_seconds * 1000))
        if not isinstance(result, dict):
            return Capture(CaptureStatus.UNKNOWN)
        try:
            status = CaptureStatus(result.get("status"))
        except ValueError:
            status = CaptureStatus.UNKNOWN
        url = result.get("url")
        ignored = result.get("ignored")
        return Capture(status, url if isinstance(url, str) else None,
                       tuple(str(page)[:200] for page in ignored) if isinstance(ignored, list) else ())

    def release(self, state: str) -> None:
        """Stop listening for the sign-in's redirect; quiet when the browser is already gone."""
        try:
            self.browser.call_js_keyword("healthcodeDisarm", state=state)
        except Exception as error:
            logger.debug(f"Sign-in page already gone: {type(error).__name__}")

    def _ensure_context(self, browser: Any, options: BrowserOptions) -> None:
        from Browser.utils.data_types import SelectionType

        self.shown = PageShown.SUITE
        if browser.get_context_ids(SelectionType.ACTIVE, SelectionType.ACTIVE):
            return
        if not browser.get_browser_ids(SelectionType.ACTIVE):
            self._new_browser(browser, options)
            self.shown = PageShown.HEADLESS if options.headless else PageShown.WINDOW
        browser.new_context()

    def _new_browser(self, browser: Any, options: BrowserOptions) -> None:
        from Browser.utils.data_types import SupportedBrowsers

        executable_path = options.executable_path
        channel = options.channel
        args = list(options.args)
        if options.browser == "chromium":
            args = [*chromium_args(), *args]  # also for a channel (chrome, msedge) or an executable path
            if not channel and not executable_path:
                choice = find_browser()  # on Windows Edge's channel, elsewhere an executable's path
                executable_path = choice.executable_path if choice else None
                channel = choice.channel if choice else None
        # The browser gets the environment without secrets, whatever the node process inherited.
        kwargs: dict[str, Any] = {"headless": options.headless, "args": args or None,
                                  "env": environment_without_secrets(os.environ)}
        if channel:
            kwargs["channel"] = channel
        if executable_path:
            kwargs["executablePath"] = executable_path
        if options.proxy:
            kwargs["proxy"] = {"server": options.proxy}
        browser.new_browser(SupportedBrowsers[options.browser], **kwargs)

    def _ensure_extension(self, browser: Any) -> None:
        # The extension lives in the Browser library's node process: load it once per instance.
        if self._extension_loaded_in != id(browser):
            browser.init_js_extension(EXTENSION)
            self._extension_loaded_in = id(browser)


def refuse_playwright_debug_log(environ: Mapping[str, str]) -> None:
    """Playwright's own debug log (``DEBUG=pw:protocol``, ``pw:channel``, ``pw:api``, ``pw:*`` or
    ``*``) records every request URL, the redirect with the authorization code included."""
    namespaces = [part for part in re.split(r"[\s,]+", environ.get("DEBUG", "")) if part]
    active = [part for part in namespaces if not part.startswith("-") and (part == "*" or part.startswith("pw"))]
    if active:
        raise ConfigurationError("DEBUG", f"'{', '.join(active)}' turns on Playwright's debug log, which would record "
                                 "the redirect with the authorization code. Remove the pw: entries from the DEBUG "
                                 "environment variable (or unset it), then open the sign-in page again.")


@contextlib.contextmanager
def _without_secret_variables() -> Iterator[None]:
    """Hide secret-bearing variables while the Browser library may start its node process, which
    inherits this process's environment (and passes it on to every browser it launches)."""
    hidden = {name: os.environ.pop(name) for name in SECRET_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(hidden)


def load_statuses() -> dict[str, str]:
    """The statuses ``capture_status.json`` defines (without its comment)."""
    return {k: v for k, v in json.loads(STATUSES.read_text(encoding="utf-8")).items() if not k.startswith("_")}
