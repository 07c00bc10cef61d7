"""The keyword components over a fake sign-in page and a fake core client (no browser, no network)."""

import re
import time
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
import requests
from robot.api.types import Secret

from healthcode_auth import (
    AuthorizationDenied,
    ConfigurationError,
    InvalidGrantError,
    NoValidTokenError,
    SignInError,
    SignInPageError,
    SignInTimeoutError,
    SignInWindowClosedError,
    SignInWouldBeRecordedError,
    StateMismatchError,
    StoreLockTimeout,
    StoreUnavailableError,
    Token,
    TransportError,
)
from healthcode_auth.protocol.authorization_request import AuthorizationRequest
from healthcode_auth.protocol.token import describe_expiry, describe_time_left, local_time
from HealthcodeLibrary import HealthcodeLibrary
from HealthcodeLibrary.argument_types import ExpiryFormat
from HealthcodeLibrary.sign_in_page import Capture, CaptureStatus, PageShown
from memory_store import MemoryTokenStore, put_token

REDIRECT = "https://rpaapp.example.com/postauth"
ISSUER = "https://sso.example.test"


class FakeClient:
    def __init__(self, config):
        self.exchanges = 0
        self.refreshes = 0
        self.config = config
        self.metadata = type("Metadata", (), {"to_dict": lambda self: {}, "discovery_url": config.discovery_url})()

    def start_sign_in(self):
        return AuthorizationRequest(
            url=f"{ISSUER}/authorize?x=1",
            client_id="example_rpa_app",
            redirect_uri=REDIRECT,
            issuer=ISSUER,
            state="S" * 43,
            code_verifier="v" * 43,
        )

    def exchange_code(self, grant):
        self.exchanges += 1
        return Token(access_token=f"ACCESS-{grant.code}", expires_at=time.time() + 86400, refresh_token="RT-1")

    def request_refresh(self, refresh_token):
        self.refreshes += 1
        if getattr(self, "refuse_refresh", False):
            raise InvalidGrantError("The SSO refused the refresh token.", "invalid_grant", None, 400)
        return Token(access_token="ACCESS-RENEWED", expires_at=time.time() + 86400, refresh_token="RT-2")

    def verify(self, token):
        return token


class FakePage:
    """Stands in for the browser: replays a list of captures."""

    def __init__(self, *captures):
        self.captures = list(captures)
        self.opened = []
        self.released = []
        self.shown = PageShown.WINDOW

    def open(self, url, redirect_uri, state, options, sso_origins, *, bot="", probe=None):
        self.opened.append((url, redirect_uri, state, options, sso_origins))
        self.bot, self.probe = bot, probe

    def take(self, state, wait_seconds):
        return self.captures.pop(0) if self.captures else Capture(CaptureStatus.PENDING)

    def release(self, state):
        self.released.append(state)


def redirect(**params):
    params.setdefault("state", "S" * 43)
    return f"{REDIRECT}?{urlencode(params)}"


@pytest.fixture
def library():
    lib = HealthcodeLibrary(
        client_id="example_rpa_app", redirect_uri=REDIRECT, environment="uat", token_cache="off", site_id="HC00ABC"
    )
    lib.session.client = FakeClient(lib.session.config)
    lib.session.store = MemoryTokenStore()
    return lib


def use_page(library, *captures):
    library.sign_in_page = FakePage(*captures)
    return library.sign_in_page


def test_full_sign_in(library):
    page = use_page(library, Capture(CaptureStatus.PENDING), Capture(CaptureStatus.CAPTURED, redirect(code="CODE-1")))
    library.run_keyword("open_healthcode_login", [], {"headless": True, "channel": "msedge"})
    assert page.opened[0][2] == "S" * 43
    assert page.opened[0][3].headless is True
    assert page.opened[0][3].channel == "msedge"
    library.run_keyword("wait_for_supervisor_authorisation", [], {})
    token = library.run_keyword("get_healthcode_access_token", [], {})
    assert isinstance(token, Secret)
    assert token.value == "ACCESS-CODE-1"
    assert str(token) == "<secret>"
    assert page.released == ["S" * 43]


def test_code_is_exchanged_once(library):
    use_page(library, Capture(CaptureStatus.CAPTURED, redirect(code="C")))
    library.open_healthcode_login()
    library.wait_for_supervisor_authorisation()
    first = library.get_healthcode_access_token()
    second = library.get_healthcode_access_token()
    assert first.value == second.value
    assert library.session.client.exchanges == 1


def test_wait_without_open_fails_clearly(library):
    use_page(library)
    with pytest.raises(SignInError, match="Open Healthcode Login"):
        library.wait_for_supervisor_authorisation()


def test_wait_times_out_with_readable_duration(library):
    from datetime import timedelta

    page = use_page(library)
    library.open_healthcode_login()
    with pytest.raises(SignInTimeoutError, match="within 1 second"):
        library.wait_for_supervisor_authorisation(timedelta(seconds=1))
    assert page.released


def test_closed_window(library):
    use_page(library, Capture(CaptureStatus.CLOSED))
    library.open_healthcode_login()
    with pytest.raises(SignInWindowClosedError, match="window was closed"):
        library.wait_for_supervisor_authorisation()


def test_lost_page(library):
    use_page(library, Capture(CaptureStatus.UNKNOWN))
    library.open_healthcode_login()
    with pytest.raises(SignInPageError, match="no longer being watched"):
        library.wait_for_supervisor_authorisation()


def test_cancelled_sign_in(library):
    use_page(library, Capture(CaptureStatus.CAPTURED, redirect(error="access_denied", error_description="Cancelled")))
    library.open_healthcode_login()
    with pytest.raises(AuthorizationDenied, match="declined or cancelled.*Cancelled"):
        library.wait_for_supervisor_authorisation()


def test_forged_redirect(library):
    page = use_page(library, Capture(CaptureStatus.CAPTURED, redirect(code="C", state="forged")))
    library.open_healthcode_login()
    with pytest.raises(StateMismatchError):
        library.wait_for_supervisor_authorisation()
    assert page.released


def test_no_token_message_says_how_to_sign_in(library):
    with pytest.raises(NoValidTokenError, match="supervisor must sign in.*Open Healthcode Login"):
        library.get_healthcode_access_token()


def test_expired_token_is_renewed(library):
    put_token(library.session, Token(access_token="OLD-ACCESS", expires_at=time.time() + 10, refresh_token="RT-1"))
    assert library.get_healthcode_access_token().value == "ACCESS-RENEWED"
    assert library.session.client.refreshes == 1


def test_authorise_reuses_a_valid_token(library):
    page = use_page(library)
    put_token(library.session, Token(access_token="VALID-ACCESS", expires_at=time.time() + 3600))
    assert library.authorise_healthcode_supervisor().value == "VALID-ACCESS"
    assert page.opened == []


def test_authorise_signs_in_when_needed(library):
    page = use_page(library, Capture(CaptureStatus.CAPTURED, redirect(code="NEW")))
    assert library.authorise_healthcode_supervisor().value == "ACCESS-NEW"
    assert len(page.opened) == 1


@pytest.mark.parametrize(
    "fault",
    [
        StoreLockTimeout("Another robot held the token cache lock file for 70 seconds."),
        StoreUnavailableError("The token store redis://127.0.0.1:1 cannot be reached."),
        TransportError("Could not connect to the token endpoint."),
    ],
)
def test_authorise_opens_no_sign_in_for_a_fault_a_sign_in_cannot_mend(library, monkeypatch, fault):
    """Only a missing or refused authorisation asks a supervisor; a store or SSO fault is said."""
    page = use_page(library, Capture(CaptureStatus.CAPTURED, redirect(code="NEW")))

    def failing(**options):
        raise fault

    monkeypatch.setattr(library.session, "access_token", failing)
    with pytest.raises(type(fault)):
        library.authorise_healthcode_supervisor()
    assert page.opened == []


def test_authorise_signs_in_when_the_sso_refused_the_renewal(library):
    put_token(library.session, Token(access_token="OLD-ACCESS", expires_at=time.time() - 10, refresh_token="RT-1"))
    library.session.client.refuse_refresh = True
    page = use_page(library, Capture(CaptureStatus.CAPTURED, redirect(code="NEW")))
    assert library.authorise_healthcode_supervisor().value == "ACCESS-NEW"
    assert len(page.opened) == 1


def test_authorise_is_the_sign_in_and_never_waits_for_someone_elses(monkeypatch):
    """With wait_for_authorisation set (for robots that cannot sign in), the sign-in keyword still
    opens the page at once: it does not wait for another supervisor's sign-in first."""
    library = HealthcodeLibrary(
        client_id="example_rpa_app",
        redirect_uri=REDIRECT,
        environment="uat",
        token_cache="off",
        wait_for_authorisation=timedelta(minutes=10),
    )
    library.session.client = FakeClient(library.session.config)
    library.session.store = MemoryTokenStore()
    assert library.session.config.wait_for_authorisation == 600
    waited = []
    monkeypatch.setattr(library.session, "_wait_for_sign_in", lambda limit, error: waited.append(limit))
    page = use_page(library, Capture(CaptureStatus.CAPTURED, redirect(code="NEW")))
    assert library.authorise_healthcode_supervisor().value == "ACCESS-NEW"
    assert waited == [] and len(page.opened) == 1


def test_should_be_valid(library):
    from datetime import timedelta

    put_token(library.session, Token(access_token="A-TOKEN-VALUE", expires_at=time.time() + 3600))
    library.healthcode_access_token_should_be_valid(timedelta(minutes=30))
    with pytest.raises(AssertionError, match="expires in.*at least 2 hours was required"):
        library.healthcode_access_token_should_be_valid(timedelta(hours=2))


def test_expiry_and_claims(library):
    expires = time.time() + 3600
    put_token(library.session, Token(access_token="A-TOKEN-VALUE", expires_at=expires))
    assert abs(library.get_healthcode_token_expiry().timestamp() - expires) < 1
    assert library.get_healthcode_token_claims() == {}  # an opaque token has no claims


def test_expiry_as_text_is_what_healthcode_auth_status_prints(library):
    expires, now = 1_795_000_000.0, 1_795_000_000.0 - 86_399
    assert describe_expiry(expires, now) == f"{local_time(expires)} (23 h 59 min left)"
    assert describe_expiry(expires, now) == f"{local_time(expires)} ({describe_time_left(expires - now)})"
    assert describe_expiry(expires, expires + 1).endswith(" (expired)")
    put_token(library.session, Token(access_token="A-TOKEN-VALUE", expires_at=time.time() + 3600))
    text = library.get_healthcode_token_expiry(ExpiryFormat.text)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d \(0 h 59 min left\)", text), text


@pytest.mark.parametrize(
    ("shown", "said"),
    [
        (PageShown.WINDOW, "for a supervisor to sign in to Healthcode in the browser window the robot opened"),
        (PageShown.HEADLESS, "for the Healthcode sign-in in a headless browser, which nobody can see"),
        (
            PageShown.SUITE,
            "for a supervisor to sign in to Healthcode on the page the robot opened in the suite's browser",
        ),
    ],
)
def test_the_console_says_where_the_sign_in_page_is(library, monkeypatch, shown, said):
    told = []
    monkeypatch.setattr("HealthcodeLibrary.keywords.sign_in.logger.console", told.append)
    page = use_page(library, Capture(CaptureStatus.CAPTURED, redirect(code="C")))
    page.shown = shown
    library.open_healthcode_login()
    library.wait_for_supervisor_authorisation(timedelta(seconds=30))
    assert told[0].startswith(f"Waiting up to 30 seconds {said}")
    if shown is not PageShown.WINDOW:
        assert "window the robot opened" not in told[0]


def test_clear(library):
    put_token(library.session, Token(access_token="A-TOKEN-VALUE", expires_at=time.time() + 3600))
    library.clear_healthcode_authorisation()
    with pytest.raises(NoValidTokenError):
        library.get_healthcode_access_token()


API = "https://api.uat.healthcode.co.uk/fhir/x"


def knows_the_api(library):
    """UAT's API discovery document, as if fetched earlier and kept beside the token."""
    session = library.session
    session.api_discovery.offer({"x_endpoint": API}, session.config.api_discovery_url)
    assert session.api_discovery.known is not None


def test_requests_auth_adds_current_token_site_id_and_api_version(library):
    put_token(library.session, Token(access_token="REQ-TOKEN-VALUE", expires_at=time.time() + 3600))
    knows_the_api(library)
    auth = library.get_healthcode_requests_auth()
    prepared = requests.Request("GET", API, auth=auth).prepare()
    assert prepared.headers["Authorization"] == "Bearer REQ-TOKEN-VALUE"
    assert (prepared.headers["SU-SiteId"], prepared.headers["HC-API-Version"]) == ("HC00ABC", "1")
    assert "REQ-TOKEN-VALUE" not in repr(auth)


def test_httpx_auth_adds_current_token(library):
    put_token(library.session, Token(access_token="HTTPX-TOKEN-VALUE", expires_at=time.time() + 3600))
    knows_the_api(library)
    auth = library.get_healthcode_httpx_auth()
    seen = []
    transport = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200))
    with httpx.Client(auth=auth, transport=transport) as client:
        client.get(API)
    assert seen[0].headers["Authorization"] == "Bearer HTTPX-TOKEN-VALUE"
    assert seen[0].headers["SU-SiteId"] == "HC00ABC"


def test_library_loads_without_registration_but_keywords_say_what_is_missing(monkeypatch):
    monkeypatch.delenv("HEALTHCODE_CLIENT_ID", raising=False)
    monkeypatch.delenv("HEALTHCODE_REDIRECT_URI", raising=False)
    lib = HealthcodeLibrary()
    with pytest.raises(ConfigurationError, match="HEALTHCODE_CLIENT_ID"):
        lib.get_healthcode_access_token()


def test_invalid_setting_fails_the_import():
    with pytest.raises(ConfigurationError, match="'environment'"):
        HealthcodeLibrary(client_id="c", redirect_uri=REDIRECT, environment="staging")


def test_secret_client_secret_is_unwrapped():
    lib = HealthcodeLibrary(client_id="c", redirect_uri=REDIRECT, client_secret=Secret("s3cret-value"))
    assert lib.session.client.config.client_secret == "s3cret-value"
    assert "s3cret-value" not in repr(lib.session.client.config)


def test_a_redirect_not_from_the_sso_is_reported_without_its_query_and_the_wait_goes_on(library, monkeypatch):
    from robot.api import logger

    warnings = []
    monkeypatch.setattr(logger, "warn", warnings.append)
    use_page(
        library,
        Capture(CaptureStatus.PENDING, ignored=("https://evil.example/page",)),
        Capture(CaptureStatus.CAPTURED, redirect(code="REAL")),
    )
    library.open_healthcode_login()
    library.wait_for_supervisor_authorisation()
    assert library.get_healthcode_access_token().value == "ACCESS-REAL"
    assert len(warnings) == 1
    assert "https://evil.example/page" in warnings[0]
    assert "Still waiting" in warnings[0]


def test_open_hands_the_sso_origins_to_the_page(library):
    page = use_page(library)
    library.open_healthcode_login()
    assert page.opened[0][4] == ("https://sso.example.test",)


@pytest.mark.parametrize(
    "debug",
    [
        "pw:protocol",
        "pw:channel",
        "pw:*",
        "pw:api",
        "*",
        "express:*,pw:protocol",
        "pw:browser pw:protocol",
        "p*",
        "*:protocol",
        "pw:*,-pw:protocol",
        " pw:api ",
        "pw*",
        "*,-pw:api",
        "pw:server:*",
        "pw:x*,-pw:x",
        "pw:future-namespace",
        "-express:*,pw:api",
        "pw:api\tpw:protocol",
        ",,pw:api,,",
    ],
)
def test_the_sign_in_page_is_refused_while_playwrights_debug_log_is_on(debug):
    from HealthcodeLibrary.sign_in_page import refuse_playwright_debug_log

    with pytest.raises(SignInWouldBeRecordedError, match="Playwright's debug log.*authorization code.*DEBUG"):
        refuse_playwright_debug_log({"DEBUG": debug})


@pytest.mark.parametrize(
    "debug",
    [
        "",
        "express:*",
        "-pw:*",
        "app,db",
        "*,-pw:*",
        "-*",
        "PW:API",
        "Pw:*",
        "pw",
        "pw:*,-pw:*",
        "p*,-p*",
        "-pw:api,pw:api,-*",
        "pwx:*",
    ],
)
def test_other_debug_settings_are_fine(debug):
    from HealthcodeLibrary.sign_in_page import refuse_playwright_debug_log

    refuse_playwright_debug_log({"DEBUG": debug})


def test_open_hands_the_bot_and_a_probe_of_the_sso_to_the_page(library):
    page = use_page(library)
    library.open_healthcode_login()
    assert page.bot == "example_rpa_app"
    assert callable(page.probe)


def test_a_refused_sign_in_request_fails_at_once_quoting_the_sso_and_naming_the_cause(library):
    said = "Healthcode SSO sandbox This sign-in request cannot go ahead invalid_client"
    page = use_page(library, Capture(CaptureStatus.PENDING), Capture(CaptureStatus.PENDING, refused=said))
    library.open_healthcode_login()
    started = time.monotonic()
    with pytest.raises(SignInPageError) as caught:
        library.wait_for_supervisor_authorisation(timedelta(minutes=5))
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert f'its page says: "{said}"' in message
    assert f"the client id 'example_rpa_app' or the redirect URI '{REDIRECT}' is not registered" in message
    assert "environment (uat)" in message
    assert "did not complete" not in message and "allow more time" not in message  # the supervisor is not blamed
    assert page.released == ["S" * 43]


def test_the_login_command_tells_the_supervisor_what_to_do_in_a_few_words(monkeypatch):
    from HealthcodeLibrary.keywords.sign_in import LOGIN_WAITING, WAITING

    told = []
    monkeypatch.setattr("HealthcodeLibrary.keywords.sign_in.logger.console", told.append)
    for shown, message in LOGIN_WAITING.items():
        text = message.format(time="5 minutes")
        assert len(text) <= 130, text
        assert "suite" not in text and "Browser keyword" not in text and "robot" not in text
        assert "5 minutes" in text
        assert WAITING[shown].format(time="5 minutes") != text  # the suite's messages stay the suite's
    assert "Sign in to Healthcode in the browser window" in LOGIN_WAITING["window"]
    assert "--headless" in LOGIN_WAITING["headless"]


def test_the_login_command_waits_with_its_own_message(monkeypatch):
    from healthcode_auth.session import HealthcodeSession
    from healthcode_cli import supervisor_login
    from HealthcodeLibrary.argument_types import BrowserOptions

    told = []
    monkeypatch.setattr("HealthcodeLibrary.keywords.sign_in.logger.console", told.append)
    lib = HealthcodeLibrary(
        client_id="example_rpa_app", redirect_uri=REDIRECT, environment="uat", token_cache="off", site_id="HC00ABC"
    )
    session: HealthcodeSession = lib.session
    session.client = FakeClient(session.config)
    page = FakePage(Capture(CaptureStatus.CAPTURED, redirect(code="CLI")))
    page.close_browsers = lambda: None
    monkeypatch.setattr(supervisor_login, "SignInPage", lambda browser: page)
    monkeypatch.setattr(supervisor_login, "_standalone_browser", lambda: None)
    token = supervisor_login.sign_in_supervisor(
        session, BrowserOptions(headless=False), timedelta(minutes=5), force=True
    )
    assert token.access_token == "ACCESS-CLI"
    assert told[0] == "Sign in to Healthcode in the browser window that opened (up to 5 minutes)..."


def test_import_with_invalid_settings_fails_listing_every_problem(monkeypatch):
    from healthcode_auth import InvalidSettingsError

    monkeypatch.delenv("HEALTHCODE_CLIENT_ID", raising=False)
    with pytest.raises(InvalidSettingsError) as caught:
        HealthcodeLibrary(environment="staging", timeout=timedelta(seconds=0))
    message = str(caught.value)
    for setting in (
        "'client_id' (or HEALTHCODE_CLIENT_ID): it is required",
        "'redirect_uri'",
        "'environment'",
        "'timeout'",
    ):
        assert setting in message
    assert "4 Healthcode settings" in message
