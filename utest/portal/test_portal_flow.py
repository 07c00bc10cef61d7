"""A supervisor authorises the robots through the portal, sees the status, and signs them out."""

from urllib.parse import urlsplit

from portal.portal_helpers import events, stored_entry


def test_a_supervisor_authorises_the_robots_in_one_click_and_a_sign_in(browser, sandbox, config, redirect_uri):
    landing = browser.get("")
    assert landing.status_code == 200
    assert "Practice robots" in landing.text and "Authorise the robots" in landing.text
    assert "supervisor" not in landing.text.lower().replace("a supervisor", "")  # nothing personal to a visitor

    visit = browser.sign_in_at_sso()
    assert visit.authorize_url.startswith(sandbox.url)
    assert urlsplit(visit.callback_url).path == "/bots/postauth"
    answer = browser.callback(visit.callback_url)

    assert answer.status_code == 303
    assert answer.headers["Location"] == browser.base + "authorised"  # a clean URL: no code, no state
    assert not [c for c in browser.http.cookies if c.name.startswith("healthcode_portal_sign_in")]  # used: deleted
    page = browser.get("authorised")
    assert page.status_code == 200
    assert "The robots of <strong>Practice robots</strong> may now act for\nyou" in page.text
    assert "(24 h)" in page.text or "(23 h)" in page.text
    assert "healthcode-auth logout" in page.text
    stored = stored_entry(config)
    assert stored is not None and stored.entry.token.supervisor == "supervisor"
    assert stored.entry.client_id == config.client_id
    last = events(config)[-1]
    assert last["event"] == "signed-in" and last["via"] == "portal" and last["address"] == "127.0.0.1"
    assert sandbox.request_count("token.authorization_code") == 1


def test_the_status_page_shows_the_authorisation_and_the_record(browser, config):
    browser.callback(browser.sign_in_at_sso().callback_url)
    page = browser.get("status")
    assert page.status_code == 200
    assert (
        "Authorised by <strong>supervisor</strong> until <strong>tomorrow at " in page.text
        or "Authorised by <strong>supervisor</strong> until <strong>today at " in page.text
    )
    assert " h 5" in page.text and "min left)" in page.text
    assert "authorised</strong> · supervisor · portal · from 127.0.0.1" in page.text and "today at " in page.text
    assert "Sign the robots out" in page.text


def test_status_needs_the_portal_session(browser):
    answer = browser.get("status")
    assert answer.status_code == 303 and answer.headers["Location"] == browser.base


def test_sign_the_robots_out_removes_and_revokes_the_authorisation(browser, sandbox, config):
    browser.callback(browser.sign_in_at_sso().callback_url)
    csrf = browser.csrf("status")
    page = browser.http.post(browser.base + "sign-out", data={"csrf_token": csrf}, allow_redirects=False)
    assert page.status_code == 200
    assert stored_entry(config) is None
    assert sandbox.request_count("revoke") == 1
    assert "The robots are signed out" in page.text and "The robots have no valid authorisation" in page.text
    assert browser.get("status").status_code == 303  # the portal session of this browser ended with the sign-out
    last = events(config)[-1]
    assert last["event"] == "signed-out" and last["via"] == "portal"


def test_a_sign_out_without_a_valid_csrf_token_changes_nothing(browser, sandbox, config):
    browser.callback(browser.sign_in_at_sso().callback_url)
    before = stored_entry(config)
    for data in ({}, {"csrf_token": "forged"}):
        answer = browser.http.post(browser.base + "sign-out", data=data, allow_redirects=False)
        assert answer.status_code == 400
        assert "Nothing was changed" in answer.text
    assert stored_entry(config).version == before.version
    assert sandbox.request_count("revoke") == 0


def test_a_sign_out_without_a_portal_session_changes_nothing(browser, sandbox, config, redirect_uri):
    from portal.portal_helpers import Browser

    browser.callback(browser.sign_in_at_sso().callback_url)
    stranger = Browser(browser.base)
    answer = stranger.http.post(browser.base + "sign-out", data={"csrf_token": stranger.csrf()}, allow_redirects=False)
    assert answer.status_code == 403
    assert stored_entry(config) is not None and sandbox.request_count("revoke") == 0
