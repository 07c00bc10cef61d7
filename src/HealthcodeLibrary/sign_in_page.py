"""The supervisor's sign-in page in a real browser, driven through the Browser library.

The Browser library is reached through ``BuiltIn().get_library_instance("Browser")`` (imported
when the suite did not import it) and its Python methods are called directly, so Robot Framework
never logs their arguments or results. The redirect is caught by ``redirect_capture.js``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn

from healthcode_auth import HealthcodeAuthError

from .argument_types import BrowserOptions
from .browsers import chromium_args, find_browser

EXTENSION = Path(__file__).with_name("redirect_capture.js")
AUTHORISED_PAGE = Path(__file__).with_name("authorised.html")


class SignInPageError(HealthcodeAuthError):
    """The browser could not show the sign-in page."""


@dataclass(frozen=True)
class Capture:
    """What the page reported: ``captured`` (with the URL), ``pending``, ``closed`` or ``unknown``."""

    status: str
    url: str | None = None

    def __repr__(self) -> str:  # the URL carries the authorization code
        return f"Capture(status={self.status!r})"


class SignInPage:
    """Opens the sign-in page and collects the redirect for one Browser library instance."""

    def __init__(self) -> None:
        self._extension_loaded_in: int | None = None

    @property
    def browser(self) -> Any:
        builtin = BuiltIn()
        try:
            return builtin.get_library_instance("Browser")
        except RuntimeError:
            # The suite did not import Browser: import it with settings that write no debug log.
            builtin.import_library("Browser", "enable_playwright_debug=disabled", "run_on_failure=None")
            return builtin.get_library_instance("Browser")

    def open(self, url: str, redirect_uri: str, state: str, options: BrowserOptions) -> None:
        """Open ``url`` in a new page of the suite's context, or in a browser of our own."""
        browser = self.browser
        self._ensure_context(browser, options)
        self._ensure_extension(browser)
        browser.new_page()
        result = self._call(browser, "healthcodeArm", redirectUri=redirect_uri, state=state,
                            doneHtml=AUTHORISED_PAGE.read_text(encoding="utf-8"), authUrl=url)
        if isinstance(result, dict) and result.get("status") == "failed":
            raise SignInPageError(f"The browser could not open Healthcode's sign-in page ({result.get('error')}). "
                                  "Check the environment setting, the network and the browser's proxy.")

    def take(self, state: str, wait_seconds: float) -> Capture:
        """Wait up to ``wait_seconds`` for the redirect; hand its URL out once."""
        result = self._call(self.browser, "healthcodeTake", state=state, waitMs=int(wait_seconds * 1000))
        if not isinstance(result, dict):
            return Capture("unknown")
        url = result.get("url")
        return Capture(str(result.get("status", "unknown")), url if isinstance(url, str) else None)

    def release(self, state: str) -> None:
        """Stop listening for the sign-in's redirect; quiet when the browser is already gone."""
        try:
            self._call(self.browser, "healthcodeDisarm", state=state)
        except Exception as error:
            logger.debug(f"Sign-in page already gone: {type(error).__name__}")

    def _ensure_context(self, browser: Any, options: BrowserOptions) -> None:
        from Browser.utils.data_types import SelectionType

        if browser.get_context_ids(SelectionType.ACTIVE, SelectionType.ACTIVE):
            return
        if not browser.get_browser_ids(SelectionType.ACTIVE):
            self._new_browser(browser, options)
        browser.new_context()

    def _new_browser(self, browser: Any, options: BrowserOptions) -> None:
        from Browser.utils.data_types import SupportedBrowsers

        executable_path = options.executable_path
        args = list(options.args)
        if options.browser == "chromium":
            args = [*chromium_args(), *args]  # also for a channel (chrome, msedge) or an executable path
            if not options.channel and not executable_path:
                choice = find_browser()
                executable_path = choice.executable_path if choice else None
        kwargs: dict[str, Any] = {"headless": options.headless, "args": args or None}
        if options.channel:
            kwargs["channel"] = options.channel
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

    @staticmethod
    def _call(browser: Any, name: str, **arguments: Any) -> Any:
        """Call an extension function without Browser's per-call log line; results are never logged."""
        try:
            from Browser.generated.playwright_pb2 import Request
        except ImportError:  # a Browser release that moved its internals: use the public method
            return browser.call_js_keyword(name, **arguments)
        payload = json.dumps({"arguments": list(arguments.items())})
        body: list[str] = []
        last = ""
        with browser.playwright.grpc_channel() as stub:
            for response in stub.CallExtensionKeyword(Request().KeywordCall(name=name, arguments=payload)):
                if response.bodyPart:
                    body.append(response.bodyPart)
                if response.json:
                    last = response.json
        text = "".join(body) or last
        return json.loads(text) if text else None
