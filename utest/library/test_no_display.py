"""A sign-in page in a window where there is no display says so, and what to do, instead of
Playwright's 150-line traceback: detected before the launch (Linux: no DISPLAY and no
WAYLAND_DISPLAY), and Playwright's own launch error turned into the same advice."""

import os
import subprocess
import sys
import time

import pytest

from healthcode_auth import SignInPageError
from HealthcodeLibrary.argument_types import BrowserOptions
from HealthcodeLibrary.browsers import display_problem, is_no_display_error
from HealthcodeLibrary.sign_in_page import SignInPage
from sandbox_clients import REDIRECT

# What Playwright 1.5x-1.6x says when a headed Chromium finds no X server.
PLAYWRIGHT_SAYS = (
    "browserType.launch: Target page, context or browser has been closed\nBrowser logs:\n\n"
    "Looks like you launched a headed browser without having a XServer running.\n"
    "Set either 'headless: true' or use 'xvfb-run <your-playwright-app>' before running Playwright."
)
ADVICE = (
    "There is no display here",
    "headless=True in a suite, --headless for 'healthcode-auth login'",
    "desktop session",
    "on their own machine",
)


@pytest.mark.parametrize(
    ("environ", "platform", "problem"),
    [
        ({}, "linux", True),
        ({"DISPLAY": ""}, "linux", True),
        ({}, "freebsd14", True),
        ({"DISPLAY": ":0"}, "linux", False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({}, "darwin", False),
        ({}, "win32", False),
    ],
)
def test_a_display_is_needed_on_linux_and_the_other_unixes(environ, platform, problem):
    assert (display_problem(environ, platform) is not None) is problem


def test_playwrights_launch_error_for_no_display_is_recognised():
    assert is_no_display_error(PLAYWRIGHT_SAYS)
    assert is_no_display_error("Missing X server or $DISPLAY")
    assert not is_no_display_error("browserType.launch: Executable doesn't exist at /opt/chrome")


def open_page(browser, headless):
    SignInPage(browser).open(
        "https://sso.example.test/authorize?x=1",
        "https://bot.example/cb",
        "S" * 43,
        BrowserOptions(headless=headless, executable_path="/usr/bin/true"),
        ("https://sso.example.test",),
    )


def test_a_window_without_a_display_is_refused_before_the_launch(fake_browser, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    browser = fake_browser()
    with pytest.raises(SignInPageError) as caught:
        open_page(browser, headless=False)
    assert all(advice in str(caught.value) for advice in ADVICE)
    assert "neither DISPLAY nor WAYLAND_DISPLAY is set" in str(caught.value)
    assert "new_browser" not in browser.names


def test_headless_needs_no_display(fake_browser, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    browser = fake_browser()
    open_page(browser, headless=True)
    assert browser.launched[0]["headless"] is True


def test_playwrights_launch_error_becomes_the_advice(fake_browser, with_display):
    browser = fake_browser(launch_error=AssertionError(PLAYWRIGHT_SAYS))
    with pytest.raises(SignInPageError) as caught:
        open_page(browser, headless=False)
    message = str(caught.value)
    assert all(advice in message for advice in ADVICE)
    assert "the browser found none at ':0'; it said: browserType.launch" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_other_launch_errors_are_left_alone(fake_browser, with_display):
    browser = fake_browser(launch_error=AssertionError("browserType.launch: Executable doesn't exist"))
    with pytest.raises(AssertionError, match="Executable doesn't exist"):
        open_page(browser, headless=False)


def login_without_a_display(sandbox, tmp_path, **display):
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY", "DEBUG")}
    env.update(
        HEALTHCODE_CLIENT_ID="example_rpa_app",
        HEALTHCODE_REDIRECT_URI=REDIRECT,
        HEALTHCODE_ENVIRONMENT=sandbox.discovery_url,
        HEALTHCODE_TOKEN_CACHE=str(tmp_path / "tokens.json"),
        **display,
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "healthcode_cli", "login", "--sign-in-timeout", "5 minutes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result, time.monotonic() - started


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a display is an X11 or Wayland matter")
def test_login_without_a_display_says_so_at_once(sandbox, tmp_path):
    result, took = login_without_a_display(sandbox, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert took < 60
    assert all(advice in output for advice in ADVICE), output
    assert "Traceback" not in output and len(output.splitlines()) < 10, output
    assert sandbox.request_count("authorize") == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a display is an X11 or Wayland matter")
def test_login_with_a_display_that_is_not_there_says_so_too(sandbox, tmp_path):
    result, _ = login_without_a_display(sandbox, tmp_path, DISPLAY=":97")  # no X server listens there
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert all(advice in output for advice in ADVICE), output
    assert "the browser found none at ':97'" in output
    assert "Traceback" not in output and len(output.splitlines()) < 10, output
