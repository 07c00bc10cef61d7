"""A stand-in for the Browser library, for the sign-in page's tests: no node, no browser."""

from __future__ import annotations

import os
from typing import Any

import pytest

from healthcode_auth.redaction import SECRET_VARIABLES


class FakeBrowser:
    """The Browser library's public methods the sign-in page calls. Each call is recorded with the
    secret-bearing variables this process's environment held at that moment (a call may start
    node, which inherits the environment). ``node``, ``arm``, ``take`` and ``settled`` are what the
    extension's functions answer."""

    def __init__(self, browsers: tuple[str, ...] = (), contexts: tuple[str, ...] = (), **answers: Any) -> None:
        self.browsers, self.contexts = list(browsers), list(contexts)
        self.launched: list[dict[str, Any]] = []
        self.calls: list[tuple[str, list[str]]] = []
        self.arguments: dict[str, dict[str, Any]] = {}
        self.node = answers.pop("node", {"debug": "", "had": []})
        self.arm = answers.pop("arm", {"status": "opened"})
        self.take = answers.pop("take", {"status": "pending", "ignored": []})
        self.settled = answers.pop("settled", {"onSso": True, "html": "<p>Nothing to fill in</p>"})
        self.launch_error: Exception | None = answers.pop("launch_error", None)
        for name, value in answers.items():  # e.g. enable_playwright_debug, an import setting
            setattr(self, name, value)

    def _called(self, name: str) -> None:
        self.calls.append((name, [variable for variable in SECRET_VARIABLES if variable in os.environ]))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def get_browser_ids(self, *_: Any) -> list[str]:
        self._called("get_browser_ids")
        return self.browsers

    def get_context_ids(self, *_: Any) -> list[str]:
        self._called("get_context_ids")
        return self.contexts

    def new_browser(self, browser: Any, **options: Any) -> None:
        self._called("new_browser")
        if self.launch_error is not None:
            raise self.launch_error
        self.launched.append(options)
        self.browsers.append("b1")

    def new_context(self) -> None:
        self._called("new_context")
        self.contexts.append("c1")

    def new_page(self) -> None:
        self._called("new_page")

    def init_js_extension(self, path: Any) -> None:
        self._called("init_js_extension")

    def close_browser(self, which: str = "CURRENT") -> None:
        self._called("close_browser")

    def call_js_keyword(self, name: str, **arguments: Any) -> Any:
        self._called(name)
        self.arguments[name] = arguments
        return {
            "healthcodeNodeProcess": self.node,
            "healthcodeArm": self.arm,
            "healthcodeTake": self.take,
            "healthcodeSettledPage": self.settled,
        }.get(name)


@pytest.fixture
def with_display(monkeypatch):
    """A display, as on a desktop: a headed launch is allowed."""
    monkeypatch.setenv("DISPLAY", ":0")


@pytest.fixture
def fake_browser() -> type[FakeBrowser]:
    """The FakeBrowser class (conftest modules are not imported by name)."""
    return FakeBrowser
