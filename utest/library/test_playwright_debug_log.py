"""Playwright's debug log records every URL: the sign-in is refused whenever, by whatever route, it
would be on. The ``debug`` package's own rules decide what a DEBUG value turns on (the spellings are
in ``test_keywords.py``); here the other routes: the Browser library's ``enable_playwright_debug``,
and a node process already running with DEBUG. The last test runs a real robot."""

import os
import subprocess
import sys

import pytest

from healthcode_auth import SignInWouldBeRecordedError
from HealthcodeLibrary.argument_types import BrowserOptions
from HealthcodeLibrary.browsers import PLAYWRIGHT_NAMESPACES, debug_enabled, debug_patterns, playwright_namespaces_on
from HealthcodeLibrary.sign_in_page import SignInPage, refuse_playwright_debug_log
from sandbox_clients import REDIRECT

URL, STATE = "https://sso.example.test/authorize?x=1", "S" * 43
OPTIONS = BrowserOptions(headless=True, executable_path="/usr/bin/true")


def open_page(browser):
    SignInPage(browser).open(URL, "https://bot.example/cb", STATE, OPTIONS, ("https://sso.example.test",))


@pytest.mark.parametrize(
    ("spec", "names", "skips"),
    [
        ("pw:api,pw:protocol", ["pw:api", "pw:protocol"], []),
        ("  pw:api \t pw:protocol\n", ["pw:api", "pw:protocol"], []),
        ("a,,b, ,-c", ["a", "b"], ["c"]),
        ("-*", [], ["*"]),
        ("", [], []),
    ],
)
def test_debug_is_read_as_the_debug_package_reads_it(spec, names, skips):
    assert debug_patterns(spec) == (names, skips)


@pytest.mark.parametrize(
    ("spec", "namespace", "on"),
    [
        ("pw:*", "pw:api", True),
        ("*:protocol", "pw:protocol", True),
        ("p*", "pw:server:channel", True),
        ("pw:*,-pw:protocol", "pw:protocol", False),
        ("pw:*,-pw:protocol", "pw:api", True),
        ("-pw:api,pw:api", "pw:api", False),
        ("PW:API", "pw:api", False),
        ("pw:a*i", "pw:api", True),
        ("pw:api*", "pw:api", True),
        ("*pi", "pw:api", True),
        ("pw:?pi", "pw:api", False),
    ],
)
def test_wildcards_and_negations_follow_the_debug_package(spec, namespace, on):
    assert debug_enabled(spec, namespace) is on


def test_any_pw_name_counts_even_one_playwright_does_not_use_yet():
    assert "pw:api" in PLAYWRIGHT_NAMESPACES and "pw:protocol" in PLAYWRIGHT_NAMESPACES
    assert playwright_namespaces_on("pw:tomorrow") == ["pw:tomorrow"]
    assert playwright_namespaces_on("pw:to*,-pw:to") == ["pw:to~"]
    assert playwright_namespaces_on("pw:to*,-pw:to*") == []


@pytest.mark.parametrize("setting", ["playwright", True])
def test_the_browser_librarys_enable_playwright_debug_refuses_before_node_starts(fake_browser, setting):
    from Browser.utils.data_types import PlaywrightLogTypes

    browser = fake_browser(enable_playwright_debug=PlaywrightLogTypes.playwright if setting != True else True)  # noqa: E712
    with pytest.raises(
        SignInWouldBeRecordedError, match="enable_playwright_debug=(playwright|true) turns it on.*library"
    ):
        open_page(browser)
    assert browser.names == []  # nothing reached node: it never started, no playwright-log.txt written


@pytest.mark.parametrize("setting", ["library", "disabled", False])
def test_the_browser_librarys_own_log_is_fine(fake_browser, setting):
    from Browser.utils.data_types import PlaywrightLogTypes

    value = getattr(PlaywrightLogTypes, setting) if isinstance(setting, str) else setting
    browser = fake_browser(enable_playwright_debug=value)
    open_page(browser)
    assert "healthcodeArm" in browser.names


def test_a_node_process_already_running_with_debug_refuses_before_any_browser_or_page(fake_browser):
    browser = fake_browser(node={"debug": "pw:api", "had": []})  # e.g. shared via ROBOT_FRAMEWORK_BROWSER_NODE_PORT
    with pytest.raises(SignInWouldBeRecordedError, match="node process runs with DEBUG='pw:api'"):
        open_page(browser)
    assert browser.names == ["init_js_extension", "healthcodeNodeProcess"]


def test_every_route_is_named_at_once():
    with pytest.raises(SignInWouldBeRecordedError) as caught:
        refuse_playwright_debug_log({"DEBUG": "p*"}, browser_setting="playwright", node_debug="*")
    message = str(caught.value)
    assert "DEBUG='p*'" in message and "enable_playwright_debug=playwright" in message and "DEBUG='*'" in message


SUITE = """
*** Settings ***
Library    Browser    enable_playwright_debug=True
Library    HealthcodeLibrary    headless=True

*** Tasks ***
Sign In
    Open Healthcode Login
"""


def test_a_suite_importing_browser_with_enable_playwright_debug_cannot_sign_in(sandbox, tmp_path):
    """Browser's enable_playwright_debug=True turns the log on only when node starts, after any
    look at DEBUG: the sign-in must be refused anyway, and the log must not hold the request."""
    (tmp_path / "debug.robot").write_text(SUITE)
    env = {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": REDIRECT,
        "HEALTHCODE_ENVIRONMENT": sandbox.discovery_url,
    }
    env.pop("DEBUG", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "robot",
            "--outputdir",
            str(tmp_path),
            "--report",
            "NONE",
            "--log",
            "NONE",
            "--consolecolors",
            "off",
            str(tmp_path / "debug.robot"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "enable_playwright_debug=playwright turns it on" in result.stdout
    assert sandbox.request_count("authorize") == 0  # the sign-in page was never opened
    logs = list(tmp_path.glob("playwright-log*.txt"))
    written = "".join(log.read_text(encoding="utf-8", errors="replace") for log in logs)
    assert "authorize" not in written and "code_challenge" not in written


@pytest.mark.parametrize("value", ["True", "yes"])
def test_a_trace_the_browser_library_would_record_of_the_sign_in_context_is_refused(fake_browser, monkeypatch, value):
    """Not the log, but the same leak: ROBOT_FRAMEWORK_BROWSER_TRACING makes Browser trace every new
    context, the one the library opens for the sign-in page too."""
    monkeypatch.setenv("ROBOT_FRAMEWORK_BROWSER_TRACING", value)
    browser = fake_browser()
    with pytest.raises(SignInWouldBeRecordedError, match="ROBOT_FRAMEWORK_BROWSER_TRACING.*authorization code"):
        open_page(browser)
    assert "new_context" not in browser.names and "healthcodeArm" not in browser.names
    monkeypatch.setenv("ROBOT_FRAMEWORK_BROWSER_TRACING", "False")
    open_page(fake_browser())


@pytest.mark.parametrize("spec", ["\ufeffpw:*", "\ufeffpw:api", "x\u3000pw:protocol", "\u00a0pw:channel\u2028"])
def test_white_space_javascript_knows_and_python_does_not_still_counts(spec):
    """Red team, issue 17 break D: a DEBUG starting with a BOM turned Playwright's log on unseen."""
    from HealthcodeLibrary.browsers import debug_enabled

    assert any(debug_enabled(spec, name) for name in ("pw:api", "pw:protocol", "pw:channel"))
