"""Bad input gets a clear page with a 4xx status (5xx only for the store) and changes nothing; where the
state does not match, no token request is made."""

import dataclasses
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from healthcode_auth.protocol.authorization_request import start_authorization
from healthcode_portal.sign_in_cookie import COOKIE_PREFIX, cookie_name, new_cookie_sealer, seal_sign_in
from healthcode_sandbox import Supervisor
from portal.portal_helpers import Browser, events, free_port, portal_base, running_portal, stored_entry

TOKEN_REQUESTS = "token.authorization_code"


def with_state(url, state):
    parts = urlsplit(url)
    query = [(k, state if k == "state" else v) for k, v in parse_qsl(parts.query)]
    return parts._replace(query=urlencode(query)).geturl()


def replace_cookie(browser, value, callback_url):
    """The browser's sign-in cookies replaced by ``value``, under the name of the callback's state."""
    for cookie in list(browser.http.cookies):
        if cookie.name.startswith(COOKIE_PREFIX):
            browser.http.cookies.clear(cookie.domain, cookie.path, cookie.name)
    state = dict(parse_qsl(urlsplit(callback_url).query))["state"]
    browser.http.cookies.set(cookie_name(state), value, domain="127.0.0.1", path="/bots/")


def replayed(base, visit):
    """A copy of ``visit``'s callback, with a copy of its sign-in cookie, sent from another browser."""
    replay = Browser(base)
    replace_cookie(replay, visit.sign_in_cookie, visit.callback_url)
    return replay.callback(visit.callback_url)


def assert_nothing_stored(config):
    assert stored_entry(config) is None
    assert not [e for e in events(config) if e["event"] == "signed-in"]


@pytest.mark.bad_input
def test_a_callback_without_the_cookie_is_refused_before_any_token_request(browser, sandbox, config):
    visit = browser.sign_in_at_sso()
    browser.http.cookies.clear()
    answer = browser.callback(visit.callback_url)
    assert answer.status_code == 400
    assert "holds no sign-in started by the portal" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 0
    assert_nothing_stored(config)


@pytest.mark.bad_input
def test_a_forged_state_is_refused_before_any_token_request(browser, sandbox, config):
    visit = browser.sign_in_at_sso()
    answer = browser.callback(with_state(visit.callback_url, "forged-state"))
    assert answer.status_code == 400
    assert "holds no sign-in started by the portal for this answer" in answer.text and "another tab" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 0
    assert_nothing_stored(config)


@pytest.mark.bad_input
def test_a_callback_with_another_browsers_state_is_refused(browser, sandbox, config):
    """An attacker's own sign-in (their code and state) slipped into a supervisor's browser (login CSRF)."""
    attacker = Browser(browser.base)
    theirs = attacker.sign_in_at_sso()
    browser.authorise()
    answer = browser.callback(theirs.callback_url)
    assert answer.status_code == 400
    assert sandbox.request_count(TOKEN_REQUESTS) == 0
    assert_nothing_stored(config)


@pytest.mark.bad_input
def test_a_replayed_callback_is_refused_even_with_a_copy_of_the_cookie(browser, sandbox, config):
    visit = browser.sign_in_at_sso()
    assert browser.callback(visit.callback_url).status_code == 303
    version = stored_entry(config).version
    answer = replayed(browser.base, visit)
    assert answer.status_code == 400
    assert "used already" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 1
    assert stored_entry(config).version == version
    assert len([e for e in events(config) if e["event"] == "signed-in"]) == 1


@pytest.mark.bad_input
def test_an_expired_sign_in_cookie_is_refused_before_any_token_request(browser, sandbox, config):
    """A cookie the portal sealed 11 minutes ago (its browser kept it beyond Max-Age)."""
    visit = browser.sign_in_at_sso()
    query = dict(parse_qsl(urlsplit(visit.callback_url).query))
    old = start_authorization(
        authorization_endpoint=visit.authorize_url.split("?")[0],
        issuer=sandbox.issuer,
        client_id=config.client_id,
        redirect_uri=config.redirect_uri,
    )
    old = dataclasses.replace(old, state=query["state"], created_at=time.time() - 660)
    replace_cookie(browser, seal_sign_in(old, new_cookie_sealer({"HEALTHCODE_CACHE_KEY": _key()})), visit.callback_url)
    answer = browser.callback(visit.callback_url)
    assert answer.status_code == 400
    assert "longer than 10 minutes" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 0
    assert_nothing_stored(config)


@pytest.mark.bad_input
@pytest.mark.parametrize("damage", ["flip", "other-key", "garbage"])
def test_a_damaged_or_foreign_cookie_is_refused_before_any_token_request(browser, sandbox, config, damage):
    visit = browser.sign_in_at_sso()
    cookie = visit.sign_in_cookie
    if damage == "flip":
        cookie = cookie[:100] + ("A" if cookie[100] != "A" else "B") + cookie[101:]
    elif damage == "other-key":
        from healthcode_auth.storage.key_sources import new_random_key

        query = dict(parse_qsl(urlsplit(visit.callback_url).query))
        forged = start_authorization(
            authorization_endpoint=visit.authorize_url.split("?")[0],
            issuer=sandbox.issuer,
            client_id=config.client_id,
            redirect_uri=config.redirect_uri,
        )
        forged = dataclasses.replace(forged, state=query["state"])
        cookie = seal_sign_in(forged, new_cookie_sealer({"HEALTHCODE_CACHE_KEY": new_random_key()}))
    else:
        cookie = "not-a-sealed-cookie"
    replace_cookie(browser, cookie, visit.callback_url)
    answer = browser.callback(visit.callback_url)
    assert answer.status_code == 400
    assert sandbox.request_count(TOKEN_REQUESTS) == 0
    assert_nothing_stored(config)


def test_a_supervisor_who_declines_gets_a_clear_page(browser, sandbox, config):
    visit = browser.authorise()
    answer = browser.callback(Supervisor().cancel(visit.authorize_url))
    assert answer.status_code == 403
    assert "did not approve the robots" in answer.text and "access_denied" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 0
    assert_nothing_stored(config)


def test_a_code_the_sso_refuses_gets_a_clear_page(browser, sandbox, config):
    visit = browser.sign_in_at_sso()
    sandbox.set_faults(token_invalid_grant=1)
    answer = browser.callback(visit.callback_url)
    assert answer.status_code == 400
    assert "did not give the robots an authorisation" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 1
    assert_nothing_stored(config)


def test_an_account_not_on_the_allow_list_is_refused_and_recorded(make_config, unused_port, sandbox):
    config = make_config(supervisors=("practice.manager",))
    with running_portal(config, unused_port):
        browser = Browser(portal_base(config.redirect_uri))
        answer = browser.callback(browser.sign_in_at_sso().callback_url)
    assert answer.status_code == 403
    assert "not on the list of supervisors" in answer.text
    assert '<p class="copy"><code>supervisor</code></p>' in answer.text  # to copy into the list
    assert stored_entry(config) is None
    assert [e["event"] for e in events(config)] == ["refused"]
    assert events(config)[0]["via"] == "portal"


def test_a_store_that_cannot_be_reached_says_the_robots_are_not_authorised_yet(
    make_config, config, portal, browser, sandbox
):
    """Another portal process of the fleet (same key, same registration) whose store is down
    finishes a sign-in this one started."""
    down = make_config(token_cache=f"redis://127.0.0.1:{free_port()}/0", timeout=2)
    visit = browser.sign_in_at_sso()
    port = free_port()
    with running_portal(down, port):
        other = f"http://127.0.0.1:{port}"
        query = urlsplit(visit.callback_url).query
        answer = browser.http.get(
            f"{other}/bots/postauth?{query}",
            allow_redirects=False,
            timeout=60,
            cookies={visit.cookie_name: visit.sign_in_cookie},
        )
    assert answer.status_code == 503
    assert "The robots are not authorised yet." in answer.text and "cannot be reached" in answer.text
    assert sandbox.request_count(TOKEN_REQUESTS) == 0
    assert_nothing_stored(config)


def _key():
    import os

    return os.environ["HEALTHCODE_CACHE_KEY"]
