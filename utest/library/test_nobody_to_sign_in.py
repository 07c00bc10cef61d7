"""A headless sign-in in a browser the library opened itself, which lands on the SSO's sign-in form
instead of completing on its own, ends as soon as that is clear: nobody can see that page or fill it
in. Where the suite opened the browser itself (its Browser keywords may fill the form in), or in a
window, the wait goes on as before.

"Clear" means read in the settled page (``settled_page.py``): a document of the SSO, settled, that
asks for input, and is still the same document asking a moment later. A page whose form is built
late by script is judged only once the form is there; a page that is leaving is not judged at all.
The acceptance suite ``atest/suites/01_sign_in/unattended_sign_in.robot`` shows it in a real
browser; the last test here shows it for ``healthcode-auth login --headless``.
"""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from healthcode_auth import SignInError, SignInTimeoutError
from healthcode_auth.errors import NobodyToSignInError
from healthcode_auth.protocol.sso_page import SsoPage
from HealthcodeLibrary import HealthcodeLibrary, settled_page
from HealthcodeLibrary.argument_types import BrowserOptions
from HealthcodeLibrary.keywords.sign_in import LOGIN_NOBODY_TO_SIGN_IN, NOBODY_TO_SIGN_IN
from HealthcodeLibrary.settled_page import POLL_SETTLE_MS, STILL_ASKING_SECONDS, FormWatch, SettledPage
from HealthcodeLibrary.sign_in_page import Capture, CaptureStatus, PageShown, SignInPage
from sandbox_clients import REDIRECT

STATE = "S" * 43
SSO = "https://sso.example.test"
SIGN_IN_FORM = (
    "<html><body><h1>Sign in</h1><form method='post'><input type='hidden' name='request_id' value='r'>"
    "<input name='username'><input type='password' name='password'><button>Sign in</button></form>"
    "</body></html>"
)
LOADING = "<html><body><p>Loading...</p><script>setTimeout(buildTheForm, 2000)</script></body></html>"
SIGNING_IN = "<html><body><p>Signing you in...</p><script>location.replace('https://bot.example/cb')</script>"


def form(document=1, settled=True, on_sso=True, html=SIGN_IN_FORM):
    return {"onSso": on_sso, "settled": settled, "document": document, "html": html}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def reading(asks=True, document=1, settled=True, on_sso=True):
    return SettledPage(on_sso=on_sso, settled=settled, document=document, content=SsoPage(asks, "Sign in"))


# --- The rule: the same settled document of the SSO asks for input, a moment apart ---------------------------


def test_a_form_is_clear_once_the_same_document_still_asks_a_moment_later():
    clock = Clock()
    watch = FormWatch(clock)
    assert watch.nobody_can_fill(reading()) is False  # the first sight of it: not yet
    clock.now += STILL_ASKING_SECONDS / 2
    assert watch.nobody_can_fill(reading()) is False
    clock.now += STILL_ASKING_SECONDS / 2
    assert watch.nobody_can_fill(reading()) is True


@pytest.mark.parametrize(
    ("between", "why"),
    [
        (reading(settled=False), "a navigation began (a form was submitted): not settled"),
        (reading(asks=False), "the page stopped asking (a remembered supervisor, sent on by script)"),
        (reading(on_sso=False), "the page left the SSO (a federated sign-in, or the redirect)"),
    ],
)
def test_anything_in_between_starts_the_watch_again(between, why):
    clock = Clock()
    watch = FormWatch(clock)
    watch.nobody_can_fill(reading())
    clock.now += STILL_ASKING_SECONDS
    assert watch.nobody_can_fill(between) is False, why
    clock.now += STILL_ASKING_SECONDS
    assert watch.nobody_can_fill(reading()) is False, why  # seen afresh
    clock.now += STILL_ASKING_SECONDS
    assert watch.nobody_can_fill(reading()) is True


def test_another_document_asking_is_seen_afresh():
    clock = Clock()
    watch = FormWatch(clock)
    watch.nobody_can_fill(reading(document=1))
    clock.now += 5
    assert watch.nobody_can_fill(reading(document=2)) is False  # e.g. the form shown again after a wrong password
    clock.now += STILL_ASKING_SECONDS
    assert watch.nobody_can_fill(reading(document=2)) is True


@pytest.mark.parametrize(
    "page",
    [reading(settled=False), reading(on_sso=False), reading(asks=False)],
    ids=["not settled", "not the SSO's", "asks for nothing"],
)
def test_only_a_settled_document_of_the_sso_that_asks_for_input_counts(page):
    clock = Clock()
    watch = FormWatch(clock)
    for _ in range(5):
        assert watch.nobody_can_fill(page) is False
        clock.now += 10


# --- The page: read at every poll, only in a headless browser the library opened ------------------------------


@pytest.fixture
def at_once(monkeypatch):
    """No moment to wait between two readings (the rule's timing is tested above)."""
    monkeypatch.setattr(settled_page, "STILL_ASKING_SECONDS", 0.0)


def opened(browser, headless=True):
    page = SignInPage(browser)
    page.open(
        f"{SSO}/authorize?x=1",
        "https://bot.example/cb",
        STATE,
        BrowserOptions(headless=headless, executable_path="/usr/bin/true"),
        (SSO,),
    )
    return page


def test_a_headless_page_the_library_opened_on_the_sso_form_is_nobody_s_to_sign_in(fake_browser, at_once):
    browser = fake_browser(settled=form())
    page = opened(browser)
    assert page.shown is PageShown.HEADLESS
    first = page.take(STATE, 0.01)
    assert first.status is CaptureStatus.PENDING and first.nobody_to_sign_in is False
    assert page.take(STATE, 0.01).nobody_to_sign_in is True
    # Read quickly at every poll: a page not settled yet is read again at the next one.
    assert browser.arguments["healthcodeSettledPage"] == {"state": STATE, "settleMs": POLL_SETTLE_MS}


def test_a_form_built_late_by_script_is_judged_once_it_is_there(fake_browser, at_once):
    browser = fake_browser(settled=form(settled=False, html=""))  # still loading
    page = opened(browser)
    assert page.take(STATE, 0.01).nobody_to_sign_in is False
    browser.settled = form(html=LOADING)  # settled, the form not built yet: asks for nothing
    assert page.take(STATE, 0.01).nobody_to_sign_in is False
    assert page.take(STATE, 0.01).nobody_to_sign_in is False  # and nothing is concluded from that
    browser.settled = form()  # the script built the form
    assert page.take(STATE, 0.01).nobody_to_sign_in is False
    assert page.take(STATE, 0.01).nobody_to_sign_in is True


def test_a_page_on_its_way_to_the_redirect_is_not_judged(fake_browser, at_once):
    browser = fake_browser(settled=form(html=SIGNING_IN))  # a remembered supervisor, sent on by script
    page = opened(browser)
    for _ in range(3):
        assert page.take(STATE, 0.01).nobody_to_sign_in is False
    browser.take = {"status": "captured", "url": f"https://bot.example/cb?code=C&state={STATE}"}
    capture = page.take(STATE, 0.01)
    assert capture.status is CaptureStatus.CAPTURED and capture.nobody_to_sign_in is False


def test_a_redirect_at_once_is_never_read(fake_browser, at_once):
    browser = fake_browser(
        arm={"status": "captured"},
        settled=form(),
        take={"status": "captured", "url": f"https://bot.example/cb?code=C&state={STATE}"},
    )
    page = opened(browser)
    assert page.take(STATE, 0.01).status is CaptureStatus.CAPTURED
    assert "healthcodeSettledPage" not in browser.names


@pytest.mark.parametrize(
    ("browsers", "contexts", "headless"),
    [
        (("suite's",), (), True),  # the suite opened a headless browser itself: its keywords may fill the form
        (("suite's",), ("suite's",), True),
        ((), (), False),  # a window: a supervisor signs in there
    ],
    ids=["suite's headless browser", "suite's context", "library's window"],
)
def test_elsewhere_the_page_is_not_read_and_the_wait_goes_on(
    fake_browser, with_display, at_once, browsers, contexts, headless
):
    browser = fake_browser(browsers, contexts, settled=form())
    page = opened(browser, headless=headless)
    assert page.shown is not PageShown.HEADLESS
    for _ in range(3):
        assert page.take(STATE, 0.01).nobody_to_sign_in is False
    assert "healthcodeSettledPage" not in browser.names


def launching(fake_browser):
    """A fake Browser whose new_browser returns the new browser's id, as the Browser library's does."""

    class Launching(fake_browser):
        def new_browser(self, browser, **options):
            super().new_browser(browser, **options)
            return self.browsers[-1]

    return Launching


def test_the_library_s_own_browser_stays_its_own_for_the_next_sign_in(fake_browser, at_once):
    browser = launching(fake_browser)(settled=form())
    page = opened(browser)
    page.take(STATE, 0.01)
    page.open(
        f"{SSO}/authorize?x=2",
        "https://bot.example/cb",
        STATE,
        BrowserOptions(headless=True, executable_path="/usr/bin/true"),
        (SSO,),
    )
    assert browser.names.count("new_browser") == 1  # the same browser, the library's, headless
    assert page.shown is PageShown.HEADLESS
    assert page.take(STATE, 0.01).nobody_to_sign_in is False  # the earlier sign-in's reading does not count
    assert page.take(STATE, 0.01).nobody_to_sign_in is True


def test_a_browser_the_suite_opened_meanwhile_is_the_suite_s(fake_browser, at_once):
    browser = launching(fake_browser)(settled=form())
    page = opened(browser)
    browser.browsers.append("the suite's")  # Browser's ACTIVE: here the last one opened
    browser.get_browser_ids = lambda *_: browser.browsers[-1:]
    page.open(
        f"{SSO}/authorize?x=2",
        "https://bot.example/cb",
        STATE,
        BrowserOptions(headless=True, executable_path="/usr/bin/true"),
        (SSO,),
    )
    assert page.shown is PageShown.SUITE
    assert page.take(STATE, 0.01).nobody_to_sign_in is False


# --- The keyword: fails at once, saying what to use instead ------------------------------------------------------


class FakePage:
    def __init__(self, *captures):
        self.captures = list(captures)
        self.released = []
        self.shown = PageShown.HEADLESS

    def open(self, *args, **kwargs):
        pass

    def take(self, state, wait_seconds):
        return self.captures.pop(0) if self.captures else Capture(CaptureStatus.PENDING)

    def release(self, state):
        self.released.append(state)

    def close_browsers(self):
        pass


class FakeClient:
    def __init__(self, config):
        from healthcode_auth.protocol.authorization_request import AuthorizationRequest

        self.config = config
        self.request = AuthorizationRequest(
            url=f"{SSO}/authorize?x=1",
            client_id="example_rpa_app",
            redirect_uri=REDIRECT,
            issuer=SSO,
            state=STATE,
            code_verifier="v" * 43,
        )

    def start_sign_in(self):
        return self.request


def library_with(page):
    library = HealthcodeLibrary(
        client_id="example_rpa_app", redirect_uri=REDIRECT, environment="uat", token_cache="off"
    )
    library.session.client = FakeClient(library.session.config)
    library.sign_in_page = page
    return library


def test_the_wait_ends_at_once_saying_what_unattended_runs_use_instead():
    page = FakePage(Capture(CaptureStatus.PENDING), Capture(CaptureStatus.PENDING, nobody_to_sign_in=True))
    library = library_with(page)
    library.open_healthcode_login()
    started = time.monotonic()
    with pytest.raises(NobodyToSignInError) as caught:
        library.wait_for_supervisor_authorisation(timedelta(minutes=5))
    assert time.monotonic() - started < 5
    assert isinstance(caught.value, SignInError)
    message = str(caught.value)
    for said in (
        "sign-in form",
        "headless browser the robot opened itself",
        "nobody can see",
        "rather than wait 5 minutes",
        "wait_for_authorisation",
        "HEALTHCODE_WAIT_FOR_AUTHORISATION",
        "'healthcode-auth login' on a machine with a desktop",
        "the supervisor portal, where one runs",
        "headless=False",
    ):
        assert said in message, said
    assert "did not complete the sign-in within" not in message  # not a timeout: nobody was ever there
    assert page.released == [STATE]


def test_once_the_wait_is_over_its_timeout_is_said():
    class SlowPage(FakePage):
        def take(self, state, wait_seconds):
            time.sleep(wait_seconds)  # the page became clear only as the wait ran out
            return Capture(CaptureStatus.PENDING, nobody_to_sign_in=True)

    library = library_with(SlowPage())
    library.open_healthcode_login()
    with pytest.raises(SignInTimeoutError, match="did not complete the sign-in within 50 milliseconds"):
        library.wait_for_supervisor_authorisation(timedelta(milliseconds=50))


def test_the_login_command_says_it_in_its_own_words(monkeypatch):
    from healthcode_auth.session import HealthcodeSession
    from healthcode_cli import supervisor_login

    monkeypatch.setattr("HealthcodeLibrary.keywords.sign_in.logger.console", lambda text: None)
    lib = HealthcodeLibrary(client_id="example_rpa_app", redirect_uri=REDIRECT, environment="uat", token_cache="off")
    session: HealthcodeSession = lib.session
    session.client = FakeClient(session.config)
    page = FakePage(Capture(CaptureStatus.PENDING, nobody_to_sign_in=True))
    monkeypatch.setattr(supervisor_login, "SignInPage", lambda browser: page)
    monkeypatch.setattr(supervisor_login, "_standalone_browser", lambda: None)
    with pytest.raises(NobodyToSignInError) as caught:
        supervisor_login.sign_in_supervisor(session, BrowserOptions(headless=True), timedelta(minutes=5), force=True)
    message = str(caught.value)
    assert message == LOGIN_NOBODY_TO_SIGN_IN.format(time="5 minutes")
    for said in (
        "with --headless nobody can see it",
        "Use --headless only with an SSO that remembers the supervisor",
        "leave --headless out",
        "on a machine with a desktop",
        "the supervisor portal, where one runs",
        "wait_for_authorisation",
    ):
        assert said in message, said
    assert "headless=False" not in message and "Get Healthcode Access Token" not in message  # a suite's words


def test_both_messages_name_every_alternative():
    for template in (NOBODY_TO_SIGN_IN, LOGIN_NOBODY_TO_SIGN_IN):
        text = template.format(time="2 minutes")
        assert "2 minutes" in text
        for alternative in ("wait_for_authorisation", "healthcode-auth login", "supervisor portal"):
            assert alternative in text


# --- For real: 'healthcode-auth login --headless' where the SSO shows its form ----------------------------------


def test_login_headless_without_a_remembered_supervisor_fails_at_once(sandbox, tmp_path):
    env = {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": REDIRECT,
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
    took = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert took < 60, f"took {took:.0f} s of the 3 minutes"
    assert "with --headless nobody can see it or fill it in" in output
    assert "rather than wait 3 minutes" in output
    assert "did not complete the sign-in" not in output
    assert sandbox.request_count("token") == 0
