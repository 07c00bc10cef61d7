"""Issue 20's red team: each finding reproduced against the real portal (cheroot), the sandbox and requests."""

import json
import socket
import threading
import time
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from healthcode_auth import HealthcodeConfig
from healthcode_auth.errors import ConfigurationError
from healthcode_auth.storage.file_store import MAX_CLAIMS, FileTokenStore
from healthcode_portal.app import create_app
from healthcode_portal.portal_server import PortalServer, PortalStartError, parse_proxies
from healthcode_portal.sign_in_cookie import MAX_PENDING
from healthcode_sandbox import Supervisor
from portal.portal_helpers import (
    Browser,
    events,
    free_port,
    portal_base,
    running_portal,
    sign_in_cookies,
    stored_entry,
)
from portal.test_portal_hardening import raw
from portal.test_portal_refusals import replayed

TOKEN_REQUESTS = "token.authorization_code"


def signed_in_browser(config):
    browser = Browser(portal_base(config.redirect_uri))
    assert browser.callback(browser.sign_in_at_sso().callback_url).status_code == 303
    return browser


def session_cookie(browser):
    return browser.http.cookies.get("healthcode_portal")


# 1. The portal session belongs to one portal, and to the allow-list as it is now.


def test_a_portal_session_of_one_portal_is_no_session_at_another_portal_of_the_fleet(make_config, sandbox):
    """Same fleet key, another client (and allow-list): A's session must neither read B's status nor sign B out."""
    port_a, port_b = free_port(), free_port()
    config_a = make_config(uri=f"http://127.0.0.1:{port_a}/bots/postauth", client_id="portal_a_app")
    config_b = make_config(
        uri=f"http://127.0.0.1:{port_b}/bots/postauth", client_id="portal_b_app", supervisors=("someone.else",)
    )
    with running_portal(config_a, port_a), running_portal(config_b, port_b):
        stolen = session_cookie(signed_in_browser(config_a))
        at_b = Browser(portal_base(config_b.redirect_uri))
        at_b.http.cookies.set("healthcode_portal", stolen, domain="127.0.0.1", path="/bots/")
        status = at_b.get("status")
        assert status.status_code == 303 and status.headers["Location"] == at_b.base
        sign_out = at_b.http.post(at_b.base + "sign-out", data={"csrf_token": at_b.csrf()}, allow_redirects=False)
        assert sign_out.status_code == 403
    assert stored_entry(config_a) is not None and sandbox.request_count("revoke") == 0


def test_a_portal_session_ends_when_its_account_leaves_the_allow_list(make_config, sandbox, unused_port):
    config = make_config()
    with running_portal(config, unused_port):
        browser = signed_in_browser(config)
        assert browser.get("status").status_code == 200
    narrower = make_config(supervisors=("practice.manager",))  # the operator restarts it with another list
    with running_portal(narrower, unused_port):
        status = browser.get("status")
        assert status.status_code == 303 and status.headers["Location"] == browser.base
        sign_out = browser.http.post(
            browser.base + "sign-out", data={"csrf_token": browser.csrf()}, allow_redirects=False
        )
        assert sign_out.status_code == 403
    assert stored_entry(config) is not None and sandbox.request_count("revoke") == 0


def test_the_portal_session_lasts_15_minutes_and_ends_with_the_sign_out(browser, config):
    answer = browser.callback(browser.sign_in_at_sso().callback_url)
    cookie = next(c for c in answer.raw.headers.getlist("Set-Cookie") if c.startswith("healthcode_portal="))
    expires = parsedate_to_datetime(cookie.split("Expires=", 1)[1].split(";", 1)[0]).timestamp()
    assert 14 * 60 <= expires - time.time() <= 15 * 60 + 5
    page = browser.http.post(
        browser.base + "sign-out", data={"csrf_token": browser.csrf("status")}, allow_redirects=False
    )
    assert page.status_code == 200 and "The robots are signed out" in page.text
    assert browser.get("status").status_code == 303


# 2. The landing page never waits for the SSO.


@contextmanager
def hanging_sso():
    """An SSO that takes connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(50)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/.well-known/openid-configuration"


def test_the_landing_page_does_not_wait_for_a_hanging_sso(fleet_key, tmp_path):
    port = free_port()
    with hanging_sso() as discovery:
        config = HealthcodeConfig(
            client_id="hanging_app",
            redirect_uri=f"http://127.0.0.1:{port}/bots/postauth",
            environment=discovery,
            supervisors=("supervisor",),
            timeout=5,
            token_cache=str(tmp_path / "tokens.json"),
        )
        with running_portal(config, port):
            browser = Browser(portal_base(config.redirect_uri))
            for _ in range(3):
                started = time.monotonic()
                assert browser.get("").status_code == 200
                assert time.monotonic() - started < 2


class CountingHangingSso:
    """An SSO that takes connections and never answers, counting how many are open at once."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=50)
        self.open = self.peak = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def discovery(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/.well-known/openid-configuration"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.open += 1
                self.peak = max(self.peak, self.open)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        with conn:
            while conn.recv(4096):
                pass
        with self._lock:
            self.open -= 1


def test_presses_of_authorise_do_not_queue_behind_a_hanging_sso(fleet_key, tmp_path):
    """Each press fetches discovery on its own (no process-wide lock held during a fetch): three
    presses reach the hanging SSO at once and each ends in a page within its own timeout."""
    sso, port = CountingHangingSso(), free_port()
    config = HealthcodeConfig(
        client_id="hanging_app",
        redirect_uri=f"http://127.0.0.1:{port}/bots/postauth",
        environment=sso.discovery,
        supervisors=("supervisor",),
        timeout=4,
        token_cache=str(tmp_path / "tokens.json"),
    )
    with sso.listener, running_portal(config, port):
        browsers = [Browser(portal_base(config.redirect_uri)) for _ in range(3)]
        tokens = [browser.csrf() for browser in browsers]
        answers: list[int] = []
        presses = [
            threading.Thread(
                target=lambda b=b, t=t: answers.append(
                    b.http.post(
                        b.base + "authorise", data={"csrf_token": t}, allow_redirects=False, timeout=60
                    ).status_code
                )
            )
            for b, t in zip(browsers, tokens, strict=True)
        ]
        for press in presses:
            press.start()
        for press in presses:
            press.join(60)
    assert answers == [502, 502, 502]
    assert sso.peak >= 3  # all three presses waited on the SSO at the same time, none behind another


# 3. A stray callback spoils no sign-in in progress; two tabs sign in at once.


def test_a_stray_callback_does_not_delete_the_sign_in_in_progress(browser, sandbox, config):
    visit = browser.sign_in_at_sso()
    stray = browser.callback(browser.base + "postauth?code=x&state=junk")  # an attacker's link, another tab's answer
    assert stray.status_code == 400
    assert browser.callback(visit.callback_url).status_code == 303
    assert "another tab" in stray.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 1


def test_two_tabs_sign_in_at_once_and_a_browser_keeps_few_sign_ins(browser, sandbox, config):
    first, second = browser.authorise(), browser.authorise()
    first_answer, second_answer = Supervisor().sign_in(first.authorize_url), Supervisor().sign_in(second.authorize_url)
    assert browser.callback(second_answer).status_code == 303
    assert browser.callback(first_answer).status_code == 303
    assert not sign_in_cookies(browser)
    for _ in range(MAX_PENDING + 2):
        browser.authorise()
    assert len(sign_in_cookies(browser)) == MAX_PENDING


# 4. Slow clients: more threads, and a silent connection dropped after 10 seconds.


def test_twenty_idle_connections_do_not_keep_a_supervisor_out(config, unused_port):
    server = PortalServer(create_app(config), "127.0.0.1", unused_port)  # the command's defaults
    server.start()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    idle = [socket.create_connection(("127.0.0.1", unused_port)) for _ in range(20)]
    try:
        for connection in idle[:10]:
            connection.sendall(b"GET /bots/ HTTP/1.1\r\nHost: x\r\n")  # headers that never end
        time.sleep(1)
        started = time.monotonic()
        browser = Browser(portal_base(config.redirect_uri))
        assert browser.http.get(browser.base, timeout=5).status_code == 200
        assert time.monotonic() - started < 3
        idle[-1].settimeout(20)
        started = time.monotonic()
        while idle[-1].recv(1000):  # cheroot may say 408 first
            pass
        assert time.monotonic() - started < 13  # a silent connection is dropped
    finally:
        for connection in idle:
            connection.close()
        server.stop()
        thread.join(10)


# 5. No redirect names the Host header.


@pytest.mark.parametrize(
    "path",
    ["/bots", "/bots//status", "/bots//postauth?code=C&state=S", "/bots/static", "//bots/", "/bots/static//portal.css"],
)
def test_no_redirect_names_a_hostile_host_header(browser, path):
    root = Browser(browser.base.split("/bots/", 1)[0] + "/")
    answer = raw(root, "GET", path.lstrip("/") if not path.startswith("//") else path[1:], {"Host": "evil.example"})
    location = answer.getheader("Location") or ""
    assert "evil" not in location
    assert answer.status in (200, 303, 308, 400, 404)
    if location:
        assert location.startswith(browser.base.split("/bots/", 1)[0] + "/")


# 6. Simultaneous callbacks: the page judges by what the store did with this sign-in.


def test_a_sign_in_stored_then_replaced_by_a_token_issued_earlier_is_no_false_503(
    browser, sandbox, config, monkeypatch
):
    """The race of simultaneous callbacks: ours is stored, then another callback stores its token, which the
    SSO issued a moment before ours."""
    earlier = Browser(browser.base)
    assert earlier.callback(earlier.sign_in_at_sso().callback_url).status_code == 303
    theirs = stored_entry(config).entry
    write = FileTokenStore.store
    replaced = []

    def then_theirs(store, entry, expected_version):
        version = write(store, entry, expected_version)
        if version is not None and entry.token.access_token != theirs.token.access_token and not replaced:
            replaced.append(write(store, theirs, version))
        return version

    monkeypatch.setattr(FileTokenStore, "store", then_theirs)
    answer = browser.callback(browser.sign_in_at_sso().callback_url)
    assert replaced and replaced[0] is not None
    assert answer.status_code == 303, answer.text
    assert stored_entry(config).entry.token.access_token == theirs.token.access_token


def test_a_sign_in_the_store_did_not_take_is_a_503_even_when_another_is_stored(browser, sandbox, config, monkeypatch):
    earlier = Browser(browser.base)
    assert earlier.callback(earlier.sign_in_at_sso().callback_url).status_code == 303
    theirs = stored_entry(config).entry
    write = FileTokenStore.store
    monkeypatch.setattr(
        FileTokenStore,
        "store",
        lambda store, entry, version: (
            None if entry.token.access_token != theirs.token.access_token else write(store, entry, version)
        ),
    )
    answer = browser.callback(browser.sign_in_at_sso().callback_url)
    assert answer.status_code == 503 and "could not keep the authorisation" in answer.text


# 7. A 5xx page's details only to a supervisor with a portal session.


def test_a_store_problem_is_told_to_a_visitor_without_its_details(make_config, config, unused_port):
    redis_port = free_port()
    down = make_config(token_cache=f"redis://127.0.0.1:{redis_port}/0", timeout=2)
    with running_portal(config, unused_port):
        supervisor = signed_in_browser(config)
    with running_portal(down, unused_port):
        visitor = Browser(portal_base(down.redirect_uri))
        anonymous = visitor.http.post(
            visitor.base + "authorise", data={"csrf_token": visitor.csrf()}, allow_redirects=False, timeout=30
        )
        signed_in = supervisor.http.post(
            supervisor.base + "sign-out", data={"csrf_token": supervisor.csrf()}, allow_redirects=False, timeout=30
        )
    assert anonymous.status_code == 503 and signed_in.status_code == 503
    assert "log says why." in anonymous.text
    assert "redis" not in anonymous.text.lower() and str(redis_port) not in anonymous.text
    assert f"127.0.0.1:{redis_port}" in signed_in.text  # the supervisor of this portal sees why


# 8. The application itself needs an allow-list.


def test_create_app_needs_an_allow_list_or_an_explicit_any_account(make_config):
    config = make_config(supervisors=())
    with pytest.raises(ConfigurationError, match="--any-healthcode-account"):
        create_app(config)
    assert create_app(config, any_account=True) is not None


# 9. X-Forwarded-For from a trusted proxy: an IP address, or the proxy's own.


@pytest.mark.parametrize("forwarded", ["<script>alert(1)</script>", "1" * 3000, "203.0.113.9, <b>x</b>"])
def test_a_forwarded_for_that_is_no_ip_address_is_not_recorded(make_config, sandbox, forwarded):
    port = free_port()
    config = make_config(uri=f"http://127.0.0.1:{port}/bots/postauth", client_id=f"xff_{port}")
    with running_portal(config, port, trusted_proxies=parse_proxies(["127.0.0.1"])):
        browser = Browser(portal_base(config.redirect_uri))
        answer = browser.callback(browser.sign_in_at_sso().callback_url, headers={"X-Forwarded-For": forwarded})
    assert answer.status_code == 303
    assert events(config)[-1]["address"] == "127.0.0.1"


# 10. Why the portal cannot listen, in an operator's words.


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("10.255.255.1", "is not an address of this machine"),
        ("no-such-host.invalid", "there is no host 'no-such-host.invalid'"),
        ("127.0.0.1", "the port is in use"),
    ],
)
def test_why_the_portal_cannot_listen_is_worded_by_the_error(config, host, said):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PortalStartError) as raised:
            PortalServer(create_app(config), host, port).start()
    message = str(raised.value)
    assert said in message and f"cannot listen on {host}:{port}:" in message
    assert "Errno" not in message and "'," not in message


# The second round: the first round's fixes, attacked again.


def test_a_portal_session_ends_when_the_claim_that_names_accounts_changes(make_config, sandbox, unused_port):
    config = make_config()
    with running_portal(config, unused_port):
        browser = signed_in_browser(config)
        assert browser.get("status").status_code == 200
    # The operator names accounts by another claim; the old session's account text is on the new list.
    other_claim = make_config(supervisors=("supervisor",), supervisor_claim="client_id")
    with running_portal(other_claim, unused_port):
        assert browser.get("status").status_code == 303


def test_a_forged_sign_in_cookie_costs_no_key_derivation(fleet_key, monkeypatch):
    import base64
    import json
    import secrets

    from healthcode_portal import sign_in_cookie

    opened = []
    monkeypatch.setattr(sign_in_cookie, "unseal", lambda raw, environ: opened.append(raw) or ({}, None))
    forged = base64.urlsafe_b64encode(
        json.dumps(
            {
                "format": "healthcode-token-cache",
                "version": 2,
                "key_source": "env",
                "salt": base64.b64encode(secrets.token_bytes(16)).decode(),
                "generation": 0,
                "nonce": "",
                "ciphertext": "",
            }
        ).encode()
    ).decode()
    stuffed = {sign_in_cookie.COOKIE_PREFIX + secrets.token_hex(16): forged for _ in range(55)}
    stuffed.update({f"{sign_in_cookie.COOKIE_PREFIX}not-a-digest-{n}": forged for n in range(5)})
    surplus = sign_in_cookie.surplus_sign_ins(stuffed, {}, MAX_PENDING)
    with pytest.raises(sign_in_cookie.BadSignInCookie):
        sign_in_cookie.open_sign_in(forged, {}, client_id="x", redirect_uri="http://127.0.0.1/postauth")
    assert opened == [] and len(surplus) == 55 - MAX_PENDING  # none opened; names that are no digest ignored


def test_forwarded_addresses_are_plain_ip_addresses_and_a_dual_stack_peer_is_its_ipv4():
    from healthcode_portal.portal_server import TrustedProxies, forwarded_client

    assert forwarded_client("fe80::1%\x1b[31mRED") is None and forwarded_client("10.0.0.7") == "10.0.0.7"
    assert forwarded_client("198.51.100.1, ::ffff:203.0.113.9") == "203.0.113.9"  # one client, one spelling
    assert forwarded_client("2001:db8::7") == "2001:db8::7"
    seen = {}
    proxies = TrustedProxies(lambda environ, start: seen.update(environ) or [], parse_proxies(["127.0.0.1"]))
    assert proxies.trusts("::ffff:127.0.0.1") and not proxies.trusts("::ffff:10.0.0.1")
    proxies({"REMOTE_ADDR": "::ffff:198.51.100.4"}, None)  # a direct client of a dual-stack listener
    assert seen["REMOTE_ADDR"] == "198.51.100.4"
    proxies({"REMOTE_ADDR": "::ffff:127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, None)
    assert seen["REMOTE_ADDR"] == "203.0.113.9"


# Round three. B1: anonymous visitors cannot grow the fleet's store; B2: a hanging SSO or store
# cannot take every thread.


def test_anonymous_callbacks_without_a_code_write_nothing_to_the_store(browser, sandbox, config):
    """Authorise, then the callback with the matching state and no code (or the SSO's error): each
    is refused before the state is claimed, so the store's file is not written at all."""
    path = Path(config.token_cache)
    browser.get("")
    before = path.read_bytes() if path.exists() else None
    answers = []
    for query in ("", "&code=", "&error=access_denied", "&error=server_error&error_description=x"):
        for _ in range(5):
            visit = browser.authorise()
            state = parse_qs(urlsplit(visit.authorize_url).query)["state"][0]
            answers.append(browser.callback(f"{browser.base}postauth?state={state}{query}").status_code)
    assert set(answers) <= {400, 403} and len(answers) == 20
    assert (path.read_bytes() if path.exists() else None) == before
    assert sandbox.request_count(TOKEN_REQUESTS) == 0


def test_the_file_stores_claims_stay_few_and_those_holding_robots_back_stay(tmp_path, fleet_key):
    store = FileTokenStore(tmp_path / "tokens.json")
    assert store.claim("notice|robots waiting", 3600, 7200).ours
    for number in range(MAX_CLAIMS + 100):
        store.claim(f"portal-state|{number}", 0.0, 1200)  # used at once: holds nobody back, kept 20 minutes
    document = json.loads(json.dumps(store._read().claims))
    assert len(document) <= MAX_CLAIMS
    assert not store.claim("notice|robots waiting", 3600, 7200).ours  # still held: nobody sends it twice
    assert store.peek_claim(f"portal-state|{MAX_CLAIMS + 99}") is not None
    assert store.peek_claim("portal-state|0") is None  # the oldest went first


def test_a_hanging_sso_never_takes_the_landing_page_down(fleet_key, tmp_path):
    """With 8 threads, at most 6 requests wait on the SSO (2 threads stay for the pages); more presses
    are told at once that the portal is busy (503, Retry-After), and the landing page answers throughout."""
    sso, port = CountingHangingSso(), free_port()
    config = HealthcodeConfig(
        client_id="hanging_app",
        redirect_uri=f"http://127.0.0.1:{port}/bots/postauth",
        environment=sso.discovery,
        supervisors=("supervisor",),
        timeout=6,
        token_cache=str(tmp_path / "tokens.json"),
    )
    with sso.listener, running_portal(config, port, threads=8):
        browsers = [Browser(portal_base(config.redirect_uri)) for _ in range(12)]
        tokens = [browser.csrf() for browser in browsers]
        answers: list[tuple[int, str | None]] = []

        def press(browser, token):
            answer = browser.http.post(
                browser.base + "authorise", data={"csrf_token": token}, allow_redirects=False, timeout=60
            )
            answers.append((answer.status_code, answer.headers.get("Retry-After")))

        presses = [threading.Thread(target=press, args=pair) for pair in zip(browsers, tokens, strict=True)]
        for thread in presses:
            thread.start()
        time.sleep(1.0)
        landing = [Browser(portal_base(config.redirect_uri)).get("").status_code for _ in range(5)]
        for thread in presses:
            thread.join(60)
    assert landing == [200] * 5
    busy = [answer for answer in answers if answer[0] == 503]
    assert len(answers) == 12 and len(busy) >= 12 - 6 and all(retry == "60" for _, retry in busy)
    assert sorted({status for status, _ in answers}) == [502, 503]


def test_a_flood_that_lets_claims_go_cannot_open_the_way_to_a_replay(browser, sandbox, config, monkeypatch):
    """Round four: junk callbacks (each a claim) filled the file store, which let the oldest claims
    go, the supervisor's used state among them; a copy of the supervisor's callback then reached the
    SSO again, which revoked the robots' token. A sign-in started before claims were let go is now
    refused: nothing reaches the SSO, the stored authorisation stays."""
    from healthcode_auth.storage import file_store
    from healthcode_portal import sign_in_cookie

    monkeypatch.setattr(file_store, "MAX_CLAIMS", 20)
    monkeypatch.setattr(sign_in_cookie, "CLOCK_SKEW", 0.0)  # one clock here: a sign-in just after the flood counts
    visit = browser.sign_in_at_sso()
    assert browser.callback(visit.callback_url).status_code == 303
    stored = stored_entry(config)
    flood = FileTokenStore(config.token_cache)
    for number in range(40):
        flood.claim(f"portal-state|junk-{number}", 1200, 1200)  # as 40 junk-code callbacks do
    assert flood.claims_forgotten_before() > 0
    answer = replayed(browser.base, visit)
    assert answer.status_code == 400 and "used already" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 1
    assert stored_entry(config).version == stored.version
    fresh = Browser(browser.base)  # a sign-in started after the flood completes
    assert fresh.callback(fresh.sign_in_at_sso().callback_url).status_code == 303


@pytest.mark.parametrize("damaged", ["yesterday", True, -1.0, 2.0**40, None, 2.0**33])  # 2**33: the year 2242
def test_a_damaged_watermark_forgets_until_now_and_clears_itself(damaged):
    """Not the end of time (every later sign-in refused for ever): sign-ins started from now on count."""
    from healthcode_auth.storage.file_store import _parse

    before = time.time()
    document = _parse({"entries": {}, "claims_forgotten_before": damaged}, None, 0)
    assert before <= document.forgotten_before <= time.time()


def test_claims_from_a_clock_a_year_ahead_never_refuse_sign_ins_for_a_year(tmp_path, fleet_key, monkeypatch):
    """Round five: a process whose clock ran a year ahead let its own claims go and set the
    watermark a year ahead: every sign-in refused until the file was deleted."""
    from healthcode_auth.storage import file_store

    monkeypatch.setattr(file_store, "MAX_CLAIMS", 5)
    store = FileTokenStore(tmp_path / "tokens.json")
    real = time.time
    monkeypatch.setattr(file_store.time, "time", lambda: real() + 365 * 86400)
    for number in range(8):
        store.claim(f"portal-state|{number}", 1200, 1200)
    monkeypatch.setattr(file_store.time, "time", real)
    assert store.claims_forgotten_before() <= real() + 1
