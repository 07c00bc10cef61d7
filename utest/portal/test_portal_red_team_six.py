"""Issue 20's red team, round six (an attack on round five's fixes): each break reproduced against
the real portal (cheroot), the sandbox and requests; each test fails without its fix."""

import os
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from healthcode_auth.storage.file_store import FileTokenStore, _parse
from portal.portal_helpers import Browser, events, portal_base, running_portal, stored_entry
from portal.test_portal_red_team_five import rewrite_as_an_older_library

TOKEN_REQUESTS = "token.authorization_code"


def state_of(visit):
    return parse_qs(urlsplit(visit.authorize_url).query)["state"][0]


def callback_with(browser, state, code, issuer):
    return browser.callback(f"{browser.base}postauth?{urlencode({'state': state, 'code': code, 'iss': issuer})}")


def test_the_supervisors_used_code_swapped_into_another_sign_in_never_reaches_the_sso(browser, sandbox, config):
    """N1: an attacker with a copy of the supervisor's callback URL (no cookie, no flood) started a
    sign-in of his own and sent the supervisor's code with his own state: only states were claimed,
    so the used code went to the SSO again, which revoked the robots' token (RFC 6749 4.1.2)."""
    visit = browser.sign_in_at_sso()
    assert browser.callback(visit.callback_url).status_code == 303
    stored = stored_entry(config)
    code = parse_qs(urlsplit(visit.callback_url).query)["code"][0]
    attacker = Browser(browser.base)
    answer = callback_with(attacker, state_of(attacker.authorise()), code, sandbox.issuer)
    assert answer.status_code == 400 and "used already" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 1
    assert stored_entry(config).version == stored.version
    mine = Browser(browser.base)  # the attacker's own sign-in was let go: it can still complete
    assert mine.callback(mine.sign_in_at_sso().callback_url).status_code == 303


def test_callbacks_refused_as_too_early_hold_no_place_so_they_cannot_keep_refusing_sign_ins(
    browser, sandbox, config, monkeypatch
):
    """N2: a callback refused because its sign-in started before claims were let go kept its claim
    for 20 minutes; enough of them let claims go again, and each let-go refused the next sign-in:
    the refusals fed themselves. Here 25 such callbacks with a store of 20 claims, then a
    supervisor who started before them."""
    from healthcode_auth.storage import file_store
    from healthcode_portal import sign_in_cookie

    monkeypatch.setattr(file_store, "MAX_CLAIMS", 20)
    monkeypatch.setattr(sign_in_cookie, "CLOCK_SKEW", 0.0)  # one clock here
    attackers = [Browser(browser.base) for _ in range(25)]
    states = [state_of(attacker.authorise()) for attacker in attackers]
    browser.get("")  # the store exists
    FileTokenStore(config.token_cache).claim("notice|robots waiting", 60, 60)
    rewrite_as_an_older_library(config.token_cache)  # claims let go now: the attackers' sign-ins are too early
    time.sleep(0.05)
    visit = browser.sign_in_at_sso()  # the supervisor starts afterwards
    answers = [callback_with(a, s, "junk-code", sandbox.issuer) for a, s in zip(attackers, states, strict=True)]
    assert all(answer.status_code == 400 and "used already" in answer.text for answer in answers)
    assert sandbox.request_count(TOKEN_REQUESTS) == 0
    assert browser.callback(visit.callback_url).status_code == 303


def test_a_store_an_older_library_wrote_earlier_refuses_only_sign_ins_started_before_that_write(
    browser, sandbox, config, monkeypatch
):
    """N3: a file without the watermark read as "now" on every read, so the first sign-in after an
    older library's write failed however much later it started (and a retry within a minute too).
    Claims were lost when that file was written: its modification time."""
    from healthcode_portal import sign_in_cookie

    monkeypatch.setattr(sign_in_cookie, "CLOCK_SKEW", 0.0)
    early = Browser(browser.base)
    early_visit = early.sign_in_at_sso()
    assert browser.callback(browser.sign_in_at_sso().callback_url).status_code == 303
    time.sleep(0.05)
    written = time.time()  # the older library's write: after the early sign-in started, before the later one
    time.sleep(0.05)
    rewrite_as_an_older_library(config.token_cache)
    os.utime(config.token_cache, (written, written))
    later = Browser(browser.base)
    assert later.callback(later.sign_in_at_sso().callback_url).status_code == 303
    assert "used already" in early.callback(early_visit.callback_url).text  # started before it: refused


def test_claims_this_library_cannot_read_count_as_let_go_when_the_file_was_written():
    """N6: damaged or foreign claims were dropped without moving the watermark, so a replay of a
    claim among them reached the SSO. Expired records protect nothing and move nothing."""
    now = time.time()
    written = now - 30
    held = ["sending", 1, now - 5, now - 5, now + 600, now + 1200]
    expired = ["done", 1, now - 3000, now - 3000, now - 1900, now - 100]
    for claims in (
        "not claims",
        {"a": "?"},
        {"a": held, "b": ["sending", 1, now + 9999, now + 9999, now + 9999, now + 19999]},
    ):
        document = _parse(
            {"entries": {}, "claims": claims, "claims_forgotten_before": 0.0}, None, 0, written_at=written
        )
        assert document.forgotten_before == written, claims
    document = _parse(
        {"entries": {}, "claims": {"a": held, "b": expired}, "claims_forgotten_before": 0.0},
        None,
        0,
        written_at=written,
    )
    assert document.forgotten_before == 0.0 and list(document.claims) == ["a"]
    document = _parse({"entries": {}}, None, 0, written_at=now + 3600)  # a writer's clock ahead: never later than now
    assert now <= document.forgotten_before <= time.time()


def test_an_account_not_on_the_list_holds_no_place_has_its_token_revoked_and_is_recorded_once(
    make_config, unused_port, sandbox
):
    """N5: an account that may sign in at the SSO but is not on the list: each sign-in kept its
    claims (so a flood of them let claims go and refused supervisors) and added a "refused" entry
    (so it pushed the supervisors' entries out of a record that keeps the last 1,000)."""
    config = make_config(supervisors=("practice.manager",))
    with running_portal(config, unused_port):
        refused = [Browser(portal_base(config.redirect_uri)) for _ in range(3)]
        answers = [browser.callback(browser.sign_in_at_sso().callback_url) for browser in refused]
    assert [answer.status_code for answer in answers] == [403] * 3
    assert [e["event"] for e in events(config)] == ["refused"]
    assert sandbox.request_count("revoke") == 3
    store = FileTokenStore(config.token_cache)
    held = [claim for claim in store._read().claims.values() if claim[4] > time.time()]
    assert len(held) == 1  # only the record's "refused once" marker: no state or code holds a place
    assert stored_entry(config) is None
