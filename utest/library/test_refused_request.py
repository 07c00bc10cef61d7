"""When the SSO refuses the authorization request itself (client id or redirect URI not registered as
given), the sign-in fails within seconds quoting the SSO, not after its timeout blaming the supervisor.

The page reads the refusal only when two readings agree: the core's probe (the same request sent
without the browser) says ``refused``, and the browser's own page, once settled, is a document of
the SSO that asks for nothing. Neither reading depends on the SSO's wording or status code. The
suites in ``atest/suites/01_sign_in/refused_request.robot`` show it in a real browser; the last
tests here show it for ``healthcode-auth login``, both shapes of refusal.
"""

import os
import subprocess
import sys
import time

import pytest

from healthcode_auth.authorization_probe import ACCEPTED, REFUSED, UNKNOWN, ProbeResult
from HealthcodeLibrary.argument_types import BrowserOptions
from HealthcodeLibrary.sign_in_page import CaptureStatus, SignInPage
from sandbox_clients import REDIRECT

STATE = "S" * 43
ERROR_PAGE = (
    "<html><body><h1>Error</h1><div class='alert'>Sorry, there was an error: unauthorized_client."
    " See https://sso.example.test/help?state=abc&code_challenge=xyz</div>"
    "<a href='/'>Home</a></body></html>"
)
SIGN_IN_PAGE = "<html><body><form method='post'><input name='username'><input type='password'></form></body></html>"


def opened_page(browser, verdict):
    page = SignInPage(browser)
    page.open(
        "https://sso.example.test/authorize?x=1",
        "https://bot.example/cb",
        STATE,
        BrowserOptions(headless=True, executable_path="/usr/bin/true"),
        ("https://sso.example.test",),
        probe=lambda: verdict,
    )
    deadline = time.monotonic() + 5
    while not page._probe.done():  # the probe runs in the background
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return page


def test_a_refusal_is_said_with_the_text_of_the_sso_page_without_queries(fake_browser):
    browser = fake_browser(settled={"onSso": True, "html": ERROR_PAGE})
    page = opened_page(browser, ProbeResult(REFUSED, "the SSO answered with a page that asks for nothing"))
    capture = page.take(STATE, 0.01)
    assert capture.status is CaptureStatus.PENDING
    assert capture.refused == (
        "Error Sorry, there was an error: unauthorized_client. See https://sso.example.test/help Home"
    )
    assert page.take(STATE, 0.01).refused is None  # read once


@pytest.mark.parametrize(
    ("verdict", "settled"),
    [
        (ProbeResult(ACCEPTED, "a sign-in form"), {"onSso": True, "html": ERROR_PAGE}),
        (ProbeResult(UNKNOWN, "a federated identity provider"), {"onSso": True, "html": ERROR_PAGE}),
        (None, {"onSso": True, "html": ERROR_PAGE}),  # the probe failed: not known
        # The probe saw no field, but the page's scripts built a sign-in form: not a refusal.
        (ProbeResult(REFUSED, "a page that asks for nothing"), {"onSso": True, "html": SIGN_IN_PAGE}),
        # The browser left the SSO meanwhile (a federated sign-in): not a refusal.
        (ProbeResult(REFUSED, "a page that asks for nothing"), {"onSso": False, "html": ERROR_PAGE}),
    ],
)
def test_no_refusal_is_read_unless_both_readings_agree(fake_browser, verdict, settled):
    browser = fake_browser(settled=settled)
    page = opened_page(browser, verdict)
    assert page.take(STATE, 0.01).refused is None


def test_the_sso_is_not_asked_when_the_browser_already_has_its_answer(fake_browser):
    asked = []
    browser = fake_browser(arm={"status": "captured"})
    SignInPage(browser).open(
        "https://sso.example.test/authorize?x=1",
        "https://bot.example/cb",
        STATE,
        BrowserOptions(headless=True, executable_path="/usr/bin/true"),
        ("https://sso.example.test",),
        probe=lambda: asked.append(1),
    )
    time.sleep(0.1)
    assert asked == []


def test_a_captured_redirect_wins_over_a_refusal(fake_browser):
    browser = fake_browser(settled={"onSso": True, "html": ERROR_PAGE})
    page = opened_page(browser, ProbeResult(REFUSED, "a page that asks for nothing"))
    browser.take = {"status": "captured", "url": "https://bot.example/cb?code=C&state=" + STATE}
    capture = page.take(STATE, 0.01)
    assert capture.status is CaptureStatus.CAPTURED and capture.refused is None
    assert "healthcodeSettledPage" not in browser.names


def login(sandbox, tmp_path, redirect_uri):
    env = {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": redirect_uri,
        "HEALTHCODE_ENVIRONMENT": sandbox.discovery_url,
        "HEALTHCODE_TOKEN_CACHE": str(tmp_path / "tokens.json"),
    }
    env.pop("DEBUG", None)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "healthcode_cli", "login", "--headless", "--sign-in-timeout", "3 minutes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return result.stdout + result.stderr, result.returncode, time.monotonic() - started


@pytest.mark.parametrize("shape", ["a 400 page", "a redirect to a 200 page"])
def test_login_with_a_redirect_uri_the_sso_does_not_know_fails_at_once(sandbox, tmp_path, shape):
    sandbox.set_faults(error_page_redirect=shape == "a redirect to a 200 page")
    output, returncode, took = login(sandbox, tmp_path, REDIRECT + "/")
    assert returncode == 1, output
    assert took < 60, f"took {took:.0f} s"
    assert "refused this sign-in request" in output
    assert f"the redirect URI '{REDIRECT}/' is not registered" in output
    assert "This sign-in request cannot go ahead" in output  # the SSO's page, quoted
    assert "did not complete the sign-in" not in output  # the supervisor is not blamed
    assert sandbox.request_count("token") == 0
