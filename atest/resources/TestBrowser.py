"""How the acceptance tests launch a browser: the one HealthcodeLibrary would find on this machine."""

from __future__ import annotations

from typing import Any

from HealthcodeLibrary.browsers import chromium_args, find_browser


def test_browser_options() -> dict[str, Any]:
    choice = find_browser()
    if choice is None:
        raise AssertionError("No browser found: run scripts/setup, which installs Chromium.")
    options: dict[str, Any] = {"args": chromium_args()}
    if choice.executable_path:
        options["executablePath"] = choice.executable_path
    if choice.channel:
        options["channel"] = choice.channel
    return options
