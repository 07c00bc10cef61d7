"""The daily cycle's settings as a user can get them wrong: Apprise URLs whose every secret piece stays
out of the log at DEBUG, messages that show no more of a URL than its scheme (and a real host), a
portal URL that is not a prepared sign-in, lead times that are really there."""

import io
import json
import logging
from urllib.parse import quote

import apprise
import pytest

from healthcode_auth import ConfigurationError, HealthcodeConfig, notices
from healthcode_auth.cycle_settings import register_notify_secrets, shown_notify_url, split_notify_urls
from healthcode_auth.redaction import MASK, REDACTOR
from receivers import free_port

BASE = {"client_id": "example_rpa_app", "redirect_uri": "https://rpaapp.example.com/postauth"}
TELEGRAM = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PUSHOVER_APP, PUSHOVER_USER = "azGDORePK8gMaC0QOYAMyEEuzJnyUi", "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"


def apprise_urls(closed_port):
    """(URL, its secret pieces in every spelling a service or Apprise may log them in)."""
    return [
        (f"tgram://123456789:{TELEGRAM}/12345", [TELEGRAM, "123456789", f"123456789:{TELEGRAM}"]),
        (f"pover://{PUSHOVER_USER}@{PUSHOVER_APP}", [PUSHOVER_APP, PUSHOVER_APP.lower(), PUSHOVER_USER]),
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", ["4174216298", "JHMHI8qBe7bk2ZwO5U711o3dV_js"]),
        (
            "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
            ["T1JJ3T3L2", "t1jj3t3l2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ"],
        ),
        (f"json://127.0.0.1:{closed_port}/hook/PATH%2DTOKEN%2D0003", ["PATH-TOKEN-0003", "PATH%2DTOKEN%2D0003"]),
        (
            f"json://hookuser:p%40ss%2Fw0rd-XYZ@127.0.0.1:{closed_port}/notices?-token=QUERYTOKEN0004&-sig=Q%2BTOKEN%2F0005",
            [
                "p@ss/w0rd-XYZ",
                "p%40ss%2Fw0rd-XYZ",
                "hookuser:p@ss/w0rd-XYZ",
                "QUERYTOKEN0004",
                "Q+TOKEN/0005",
                "Q%2BTOKEN%2F0005",
            ],
        ),
        (
            f"mailtos://smtpuser:Sm7pPass!word@127.0.0.1:{closed_port}?to=boss@example.test&from=bot@example.test",
            ["Sm7pPass!word", quote("Sm7pPass!word", safe=""), "smtpuser:Sm7pPass!word"],
        ),
    ]


@pytest.fixture
def debug_log(monkeypatch):
    """Python logging at DEBUG on the root logger (as Robot Framework's --loglevel DEBUG), with the
    library's redactor installed; nothing leaves this machine (a proxy nobody listens on)."""
    nobody = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, nobody)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    REDACTOR.install()
    try:
        yield text
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_no_piece_of_an_apprise_url_reaches_a_debug_log(debug_log):
    cases = apprise_urls(free_port())
    urls = split_notify_urls(" ".join(url for url, _ in cases), "notify")
    sender = apprise.Apprise()
    for url in urls:
        assert sender.add(url), url
    assert not sender.notify(body="body", title="title")
    logged = debug_log.getvalue()
    assert "Telegram POST URL" in logged and "Pushover Payload" in logged and "Loaded JSON URL" in logged
    assert MASK in logged and "127.0.0.1" in logged  # masked, but a real host is still shown
    leaked = [secret for _, secrets in cases for secret in secrets if secret in logged]
    assert not leaked, "\n".join(line for line in logged.splitlines() if any(s in line for s in leaked))


def test_no_piece_of_any_services_url_reaches_a_debug_log_whatever_its_shape(debug_log):
    """Not scheme by scheme: every run between a URL's delimiters is masked, in every spelling."""
    port, host = free_port(), "chat.example.test"  # through the proxy nobody listens on: refused at once
    rocket_password, hook_password = "Rocket\\Pass77", 'Json"Pass\\1234'  # escaped when logged (JSON, repr)
    cases = [
        (f"rocket://RocketHookA1b2/RocketHookC3d4@{host}/#general", ["RocketHookA1b2", "RocketHookC3d4"]),
        (f"rocket://rcuser:{quote(rocket_password, safe='')}@{host}/#general", [rocket_password]),
        (f"ntfy://ntfyuser:Ntfy-Pass-word9@{host}/TopicSecret77", ["Ntfy-Pass-word9", "TopicSecret77"]),
        (f"matrix://MatrixAccessTok3n42@{host}/#room", ["MatrixAccessTok3n42"]),
        (f"json://hookuser:{quote(hook_password, safe='')}@127.0.0.1:{port}/notices", [hook_password]),
        (
            "sns://AKIAIOSFODNN7EXAMPL2/wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKE2/us-east-1/+15551234567",
            ["AKIAIOSFODNN7EXAMPL2", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKE2"],
        ),
        (
            "msteams://myteam/b2a8c8e5-aaaa-bbbb-cccc-1234567890ab@c0ffee00-dddd-eeee-ffff-1234567890ab/"
            "TeamsTokenBxyz1234567/d0d0d0d0-1111-2222-3333-1234567890ab/",
            ["b2a8c8e5-aaaa-bbbb-cccc-1234567890ab", "TeamsTokenBxyz1234567", "d0d0d0d0-1111-2222-3333-1234567890ab"],
        ),
    ]
    for url, _ in cases:
        split_notify_urls(url, "notify")
        notices.send([url], notices.Notice("waiting", "title", "body"), deadline=15)
    logged = debug_log.getvalue()
    assert "Rocket.Chat POST URL" in logged
    spellings = {
        form
        for _, secrets in cases
        for secret in secrets
        for form in (
            secret,
            json.dumps(secret)[1:-1],
            repr(secret)[1:-1],
            quote(secret, safe=""),
            secret.lower(),
            secret.upper(),
        )
    }
    leaked = sorted(form for form in spellings if form in logged)
    assert not leaked, "\n".join(line for line in logged.splitlines() if any(s in line for s in leaked))


@pytest.mark.parametrize(
    ("url", "pieces"),
    [
        ("gotify://gotify.example.org/ABCDEFGH-TOKEN", ["gotify.example.org", "ABCDEFGH-TOKEN"]),
        (
            "ntfy://user:Pa%24%24word1@ntfy.example.org/topic-secret",
            ["user:Pa$$word1", "Pa$$word1", "ntfy.example.org", "topic-secret", "Pa%24%24word1"],
        ),
        (
            "jsons://webhooks.example.org/a/VERYLONGTOKEN?key=KEYVALUE42#FRAGMENT99",
            ["VERYLONGTOKEN", "KEYVALUE42", "FRAGMENT99"],
        ),
    ],
)
def test_every_secret_piece_is_registered_in_every_spelling(url, pieces):
    register_notify_secrets(url)
    for piece in pieces:
        assert piece not in REDACTOR.redact(f"sent to {piece}."), piece


@pytest.mark.parametrize(
    "url",
    [
        "json://127.0.0.1:8765/notices",
        "mailtos://bob:Secret-Mail-1@smtp.example.org:587",
        "workflows://prod-01.westeurope.logic.azure.com:443/workflow-id-1/signature-42",
    ],
)
def test_real_host_names_and_short_pieces_stay_readable(url):
    register_notify_secrets(url)
    for public in ("127.0.0.1", "smtp.example.org", "prod-01.westeurope.logic.azure.com", "8765", "notices", "bob"):
        assert REDACTOR.redact(f"connecting to {public}") == f"connecting to {public}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"pover://{PUSHOVER_USER}@{PUSHOVER_APP}", "pover://..."),
        (f"tgram://123456789:{TELEGRAM}/12345", "tgram://..."),
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://..."),
        ("mailtos://user:password1@smtp.example.org?to=a@example.test", "mailtos://smtp.example.org"),
        ("json://127.0.0.1:8080/hook", "json://127.0.0.1"),
        ("mailtos://user:pass/word-after-slash@smtp.example.org", "mailtos://..."),  # the host read is the password's
        ("mailtos://user:pass#word-after-hash@smtp.example.org", "mailtos://..."),
        ("not a URL", "an Apprise URL"),
    ],
)
def test_a_message_shows_the_host_only_where_it_is_a_host(url, shown):
    assert shown_notify_url(url) == shown


@pytest.mark.parametrize(
    "value",
    [
        f"pover://{PUSHOVER_USER}@{PUSHOVER_APP}/\x01",
        f"tgram://{TELEGRAM}\x7f/1",
        f"json://127.0.0.1/x {TELEGRAM}",
        f"{PUSHOVER_APP}",
        [f"slack://{TELEGRAM}/x y"],
    ],
)
def test_a_bad_notify_url_is_refused_showing_only_its_scheme(value):
    with pytest.raises(ConfigurationError, match="notify") as refused:
        split_notify_urls(value, "notify")
    said = str(refused.value)
    for secret in (PUSHOVER_APP, PUSHOVER_USER, TELEGRAM):
        assert secret not in said and secret.lower() not in said
    assert "Apprise URL" in said and ("://..." in said or "no scheme" in said)


@pytest.mark.parametrize(
    "portal",
    [
        "https://sso.example.test/authorize?response_type=code&client_id=example_rpa_app&state=af0ifjsldkj"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        "https://rpaapp.example.com/postauth?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj",
        "https://rpaapp.example.com/portal?STATE=af0ifjsldkj",
        "https://rpaapp.example.com/portal?tab=robots&Code_Verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "https://rpaapp.example.com/portal#access_token=SlAV32hkKG&token_type=bearer",
        "https://rpaapp.example.com/portal?%73tate=af0ifjsldkj",
        "https://rpaapp.example.com/portal?request_uri=urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c",
        "https://sso.example.test/authorize?client_id=example_rpa_app&request=eyJhbGciOiJSUzI1NiJ9.eyJzdGF0ZSI6IlMifQ.c2ln",
        "https://rpaapp.example.com/;state=af0ifjsldkj",
        "https://rpaapp.example.com/postauth;code=SplxlOBeZQQYbYS6WxSbIA",
        "https://sso.example.test/saml/SSO?SAMLRequest=fZJNT8MwDIbv&RelayState=af0ifjsldkj",
        "https://rpaapp.example.com/?oauth_token=af0ifjsldkj&oauth_verifier=SplxlOBeZQQYbYS6WxSbIA",
        "https://cas.example.test/cb?ticket=ST-1-af0ifjsldkj",
        "https://rpaapp.example.com/?token=af0ifjsldkj",
        "https://rpaapp.example.com/?authorization_code=SplxlOBeZQQYbYS6WxSbIA",
        "https://rpaapp.example.com/?assertion=af0ifjsldkj",
        "https://sso.example.test/logout?logout_hint=x&post_logout_redirect_uri=https://evil.example/",
        # third round: other spellings of the same names, and device-flow and presigned links
        "https://sso.example.test/device?user_code=af0ifjsldkj",
        "https://rpaapp.example.com/?accessToken=SlAV32hkKG",
        "https://rpaapp.example.com/?access-token=SlAV32hkKG",
        "https://rpaapp.example.com/?id-token=eyJhbGciOiJSUzI1NiJ9",
        "https://rpaapp.example.com/?state[]=af0ifjsldkj",
        "https://rpaapp.example.com/?state.=af0ifjsldkj",
        "https://files.example.test/portal.html?X-Amz-Signature=af0ifjsldkj",
        "https://rpaapp.example.com/?sig=af0ifjsldkj",
    ],
)
def test_a_portal_url_is_never_a_prepared_sign_in(portal):
    with pytest.raises(ConfigurationError, match="portal_url.*plain address.*never a prepared sign-in") as refused:
        HealthcodeConfig(**BASE, portal_url=portal)
    for value in (
        "af0ifjsldkj",
        "SplxlOBeZQQYbYS6WxSbIA",
        "E9Melhoa2Ow",
        "dBjftJeZ4CVP",
        "SlAV32hkKG",
        "6esc_11ACC",
        "eyJhbGciOiJSUzI1NiJ9",
        "fZJNT8MwDIbv",
    ):
        assert value not in str(refused.value)


def test_a_portal_url_that_reads_otherwise_than_it_goes_is_refused():
    with pytest.raises(ConfigurationError, match="portal_url.*direction-changing"):
        HealthcodeConfig(**BASE, portal_url="https://rpaapp.example.com/\u202egnp.exe")


@pytest.mark.parametrize("hours", [5, ["Mon-Fri 08:00-18:00", 9], {"Mon": "08:00-18:00"}, 8.5, True])
def test_working_hours_that_are_not_text_are_an_error_when_configured_not_at_the_first_reminder(hours):
    with pytest.raises(ConfigurationError, match="remind_hours.*'Mon-Fri 08:00-18:00'"):
        HealthcodeConfig(**BASE, remind_hours=hours)


def test_working_hours_from_a_list_of_texts_are_read_as_one():
    hours = HealthcodeConfig(**BASE, remind_hours=["Mon-Fri 08:00-18:00", "Sat 09:00-12:00"]).remind_hours
    assert hours.text == "Mon-Fri 08:00-18:00, Sat 09:00-12:00"
    assert HealthcodeConfig(**BASE, remind_hours=hours).remind_hours == hours


@pytest.mark.parametrize(
    "portal",
    [
        "https://rpaapp.example.com/",
        "https://rpaapp.example.com/postauth",
        "https://portal.example.org/robots?tab=claims&view=today",
        "https://portal.example.org/#/dashboard",
        "https://portal.example.org/login?next=/home",
        "https://portal.example.org/?q=state",
    ],
)
def test_a_plain_portal_address_is_accepted_even_on_the_redirect_uris_host(portal):
    assert HealthcodeConfig(**BASE, portal_url=portal).portal_url == portal


@pytest.mark.parametrize("leads", [",", " , ", ""])
def test_lead_times_that_are_not_there_are_an_error_naming_remind_before(leads):
    with pytest.raises(ConfigurationError, match="remind_before.*'2 hours, 15 minutes'"):
        HealthcodeConfig(**BASE, remind_before=leads)


def test_the_librarys_own_words_stay_readable_and_every_other_piece_is_masked():
    """Red team, third and fourth rounds of the daily cycle: a webhook at /api/healthcode/... masked the
    library's own advice ("run '<secret>-auth login'"); exempting every lower-case word instead leaked
    webhook ids that are plain words (/api/webhook/robots-alert-hook), an ntfy topic, and values under a
    percent-encoded name. Only the library's own words stay readable."""
    register_notify_secrets(
        "json://127.0.0.1:8080/api/healthcode/supervisors?to=supervisors&format=markdown"
        "&p%61ss=correcthorsebattery&%2BX-Api=correcthorsestaple"
    )
    register_notify_secrets("json://127.0.0.1:8080/api/webhook/robots-alert-hook")
    register_notify_secrets("jsons://hooks.example.org/hooks/purple.monkey.dishwasher")
    register_notify_secrets("https://ntfy.sh/wordliketopic-robots")
    register_notify_secrets("mailtos://user:pass/wordafterslash@smtp.example.org")
    register_notify_secrets("jsons://hooks.example.org/services/T0AB12CD3/B0EF45GH6/aBcDeFgHiJkLmNoPqRsTuVwX")
    advice = (
        "A supervisor must sign in: run 'healthcode-auth login --client-id example_rpa_app'; the supervisors are told."
    )
    assert REDACTOR.redact(advice) == advice
    for secret in (
        "correcthorsebattery",
        "correcthorsestaple",
        "robots-alert-hook",
        "purple.monkey.dishwasher",
        "wordliketopic-robots",
        "wordafterslash",
        "T0AB12CD3",
        "aBcDeFgHiJkLmNoPqRsTuVwX",
    ):
        assert secret not in REDACTOR.redact(f"sent with {secret}."), secret
