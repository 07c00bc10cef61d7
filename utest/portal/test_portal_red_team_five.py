"""Issue 20's red team, round five: each break reproduced against the real portal (cheroot), the
sandbox and requests; each test fails without its fix."""

import os
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from healthcode_auth.redaction import REDACTOR
from healthcode_auth.storage.file_store import FileTokenStore
from healthcode_auth.storage.sealing import new_sealer
from portal.portal_helpers import Browser, stored_entry
from portal.test_portal_refusals import replayed

TOKEN_REQUESTS = "token.authorization_code"


def rewrite_as_an_older_library(path):
    """What a robot running a library from before claims does when it renews: the file rewritten
    with its entries only, the claims and their watermark dropped."""
    store = FileTokenStore(path)
    document = store._read()
    older = {"entries": document.entries, "last_version": document.last_version}
    sealer = document.sealer or new_sealer(dict(os.environ))  # a file that holds no entry yet
    store._file.write(sealer.seal(older, generation=document.generation))


def junk_callback(browser, issuer):
    """An anonymous visitor: presses Authorise, then sends the callback with its own state and a
    code the SSO never issued."""
    state = parse_qs(urlsplit(browser.authorise().authorize_url).query)["state"][0]
    query = urlencode({"state": state, "code": f"junk-code-{state[:12]}", "iss": issuer})
    return browser.callback(f"{browser.base}postauth?{query}")


def test_an_older_library_that_drops_the_claims_cannot_open_the_way_to_a_replay(browser, sandbox, config, monkeypatch):
    """B1: a library from before claims rewrote the file without them; a copy of the supervisor's
    callback then reached the SSO again, which revoked the robots' token. A file without the
    watermark now reads as "every claim so far may be gone": the replay is refused before the SSO."""
    from healthcode_portal import sign_in_cookie

    monkeypatch.setattr(sign_in_cookie, "CLOCK_SKEW", 0.0)  # one clock here: a sign-in just after counts
    visit = browser.sign_in_at_sso()
    assert browser.callback(visit.callback_url).status_code == 303
    stored = stored_entry(config)
    rewrite_as_an_older_library(config.token_cache)
    assert FileTokenStore(config.token_cache)._read().claims == {}
    answer = replayed(browser.base, visit)
    assert answer.status_code == 400 and "used already" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 1
    assert stored_entry(config).version == stored.version
    fresh = Browser(browser.base)  # a sign-in started afterwards completes
    assert fresh.callback(fresh.sign_in_at_sso().callback_url).status_code == 303


def test_the_file_store_always_writes_its_watermark(tmp_path, fleet_key):
    store = FileTokenStore(tmp_path / "tokens.json")
    store.claim("notice|robots waiting", 60, 60)
    document = store._read()
    written = store._file.read()
    assert document.forgotten_before == 0.0 and written is not None
    from healthcode_auth.storage.sealing import unseal

    payload, _ = unseal(written, {"HEALTHCODE_CACHE_KEY": fleet_key}, generation=document.generation)
    assert payload["claims_forgotten_before"] == 0.0


def test_a_flood_of_junk_codes_never_refuses_a_supervisors_sign_in(browser, sandbox, config, monkeypatch):
    """B3: about 1,000 junk-code callbacks within a sign-in's time (12 to 17 a second) let claims
    go, and every sign-in started before was refused. The SSO refuses a junk code with an OAuth
    error, so nothing was issued on it: its claim is released and holds no place. Here the file
    store keeps 20 claims and 40 junk callbacks arrive while the supervisor signs in."""
    from healthcode_auth.storage import file_store

    monkeypatch.setattr(file_store, "MAX_CLAIMS", 20)
    visit = browser.sign_in_at_sso()  # the supervisor is at the SSO's form...
    attacker = Browser(browser.base)
    answers = [junk_callback(attacker, sandbox.issuer).status_code for _ in range(40)]  # ...while the flood arrives
    assert answers == [400] * 40
    assert sandbox.request_count(TOKEN_REQUESTS) == 40  # each junk code went to the SSO once
    assert FileTokenStore(config.token_cache).claims_forgotten_before() == 0.0
    assert browser.callback(visit.callback_url).status_code == 303
    assert stored_entry(config) is not None
    assert "used already" in replayed(browser.base, visit).text  # the supervisor's used state is still remembered
    assert sandbox.request_count(TOKEN_REQUESTS) == 41
    assert len(FileTokenStore(config.token_cache)._read().claims) <= 20


@pytest.mark.parametrize("status", [500, 503])
def test_a_code_the_sso_failed_to_answer_lets_its_claims_go(browser, sandbox, config, status):
    """Round seven (R1) changed this: a 5xx kept the claims (the code's for 24 hours), and such
    claims from an outage's junk callbacks filled the file store. Nothing was stored on that code,
    so its reuse costs the robots nothing: the claims are let go, and the same callback sent again
    (the supervisor's retry) reaches the SSO and completes."""
    visit = browser.sign_in_at_sso()
    sandbox.set_faults(token_failures=1, failure_status=status)
    assert browser.callback(visit.callback_url).status_code == 400
    assert stored_entry(config) is None
    assert not [c for c in FileTokenStore(config.token_cache)._read().claims.values() if c[4] > time.time()]
    assert replayed(browser.base, visit).status_code == 303
    assert sandbox.request_count(TOKEN_REQUESTS) == 2
    assert stored_entry(config) is not None


def test_anonymous_sign_ins_leave_the_portals_secrets_as_they_were(browser, sandbox, config):
    """B4: each anonymous sign-in registered its state, verifier and challenge (and a junk code) for
    good: one registration took 108 ms after 4,000 of them, and a portal reached 318 MB."""
    browser.get("")
    junk_callback(Browser(browser.base), sandbox.issuer)  # the first request of a portal may register its own secrets
    before = len(REDACTOR.secrets)
    visitors = [Browser(browser.base) for _ in range(15)]
    states = [parse_qs(urlsplit(visitor.authorise().authorize_url).query)["state"][0] for visitor in visitors]
    junk = [junk_callback(visitor, sandbox.issuer) for visitor in visitors[:5]]
    assert [answer.status_code for answer in junk] == [400] * 5
    assert len(REDACTOR.secrets) <= before
    assert not any(state in REDACTOR.secrets for state in states)
    visit = browser.sign_in_at_sso()  # a supervisor's sign-in is masked while it lasts, and leaves nothing
    assert browser.callback(visit.callback_url).status_code == 303
    assert len(REDACTOR.secrets) <= before
