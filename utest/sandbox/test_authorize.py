"""/authorize: refusals without redirect, error redirects, and the supervisor's pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from healthcode_sandbox import Client, Sandbox, Supervisor

from .flows import HTTP, Flow, query

REDIRECT = "https://rpaapp.example.com/postauth"


def get(url: str) -> httpx.Response:
    return HTTP.get(url)


def request_id(page: httpx.Response) -> str:
    match = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def submit(sandbox: Sandbox, **form: str) -> httpx.Response:
    return HTTP.post(f"{sandbox.url}/authorize", data=form)


# -- requests the sandbox cannot trust to redirect: an HTML page with status 400 -------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"client_id": "no_such_app"}, "does not exist"),
        ({"client_id": None}, "Missing"),
        ({"redirect_uri": REDIRECT + "/"}, "not supported by client"),
        ({"redirect_uri": "https://evil.example.com/postauth"}, "not supported by client"),
        ({"redirect_uri": None}, "Missing"),
    ],
    ids=["unknown-client", "no-client", "trailing-slash", "other-host", "no-redirect-uri"],
)
def test_untrusted_requests_get_an_error_page_not_a_redirect(
    flow: Flow, overrides: dict[str, str | None], expected: str
) -> None:
    response = get(flow.authorize_url(**overrides))

    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in response.text
    assert expected in response.text


def test_error_page_escapes_what_the_request_sent(flow: Flow) -> None:
    response = get(flow.authorize_url(redirect_uri="https://x.example/<script>alert(1)</script>"))

    assert response.status_code == 400
    assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text


# -- bad requests from a known client and redirect URI: RFC 6749 4.1.2.1 error redirects ----------


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "admin"}, "invalid_scope"),
    ],
    ids=["no-pkce", "no-method", "plain-method", "bad-challenge", "implicit", "unknown-scope"],
)
def test_bad_requests_redirect_with_an_error_state_and_iss(
    flow: Flow, overrides: dict[str, str | None], error: str
) -> None:
    response = get(flow.authorize_url(**overrides))

    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = query(location)
    assert params["error"] == error
    assert params["state"] == flow.state
    assert params["iss"] == flow.sandbox.issuer
    assert "code" not in params


# -- the sign-in page -----------------------------------------------------------------------------


def test_sign_in_page_is_plain_accessible_html(flow: Flow) -> None:
    response = get(flow.authorize_url())

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers.get_list("set-cookie")[0].startswith("healthcode_sandbox_signin=")  # its only cookie
    assert len(response.headers.get_list("set-cookie")) == 1
    page = response.text
    assert '<html lang="en">' in page
    assert re.search(r"<h1>Healthcode SSO sandbox</h1>", page)
    assert re.search(r'<h2 id="request">Sign in to let <span id="client-id">example_rpa_app</span>', page)
    for field in ("username", "password"):
        assert f'<label for="{field}">' in page
        assert f'id="{field}" name="{field}"' in page
    assert re.search(r'<button id="sign-in"[^>]*>Sign in and authorise the bot</button>', page)
    assert re.search(r'<button id="cancel"[^>]*formnovalidate>Cancel</button>', page)
    assert request_id(response)


def test_sign_in_page_escapes_the_client_name(sandbox: Sandbox) -> None:
    sandbox.add_client(Client("odd_app", ("https://odd.example/cb",), name="<b>Odd & Co</b>"))
    flow = Flow(sandbox, client_id="odd_app", redirect_uri="https://odd.example/cb")

    page = get(flow.authorize_url()).text

    assert "&lt;b&gt;Odd &amp; Co&lt;/b&gt;" in page
    assert "<b>Odd" not in page


def test_signing_in_redirects_with_code_state_and_iss(flow: Flow) -> None:
    flow.state = "state with spaces & symbols/é"
    page = get(flow.authorize_url())

    response = submit(
        flow.sandbox, request_id=request_id(page), action="sign-in", username="supervisor", password="sandbox-password"
    )

    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = query(location)
    assert set(params) == {"code", "state", "iss"}
    assert len(params["code"]) >= 32
    assert params["state"] == flow.state
    assert params["iss"] == flow.sandbox.issuer


@pytest.mark.parametrize(
    "cookie",
    [None, "someone-elses-sign-in-cookie-value-0123456789", "", "x" * 200],
    ids=["no-cookie", "another-browsers", "empty", "oversized"],
)
@pytest.mark.parametrize("step", ["password", "one-time-code", "cancel"])
def test_a_form_is_answered_only_from_the_browser_that_opened_it(flow: Flow, cookie: str | None, step: str) -> None:
    """Login CSRF: the attacker opens the request in their own client and has the bot's browser
    submit the form (their account, or only their one-time code). The sandbox refuses it and the
    sign-in stays open for the browser that opened it."""
    rid = request_id(get(flow.authorize_url()))
    if step == "one-time-code":
        submit(flow.sandbox, request_id=rid, action="sign-in", username="mfa.supervisor", password="sandbox-password")
    answer = {
        "password": {"action": "sign-in", "username": "supervisor", "password": "sandbox-password"},
        "one-time-code": {"action": "verify", "otp": "123456"},
        "cancel": {"action": "cancel"},
    }[step]
    with httpx.Client(timeout=HTTP.timeout) as other_browser:
        if cookie is not None:
            other_browser.cookies.set("healthcode_sandbox_signin", cookie)
        refused = other_browser.post(f"{flow.sandbox.url}/authorize", data={"request_id": rid, **answer})

    assert refused.status_code == 400
    assert "location" not in refused.headers
    assert "opened in another browser" in refused.text
    kept = submit(flow.sandbox, request_id=rid, **answer)
    assert kept.status_code == 302
    assert ("error" if step == "cancel" else "code") in query(kept.headers["location"])


def test_the_sign_in_cookie_is_http_only_and_same_site(flow: Flow) -> None:
    with httpx.Client(timeout=HTTP.timeout) as browser:
        page = browser.get(flow.authorize_url())

    cookie = page.headers["set-cookie"]
    assert cookie.startswith("healthcode_sandbox_signin=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert len(cookie.split(";")[0].split("=", 1)[1]) >= 32


def test_wrong_password_shows_the_form_again_with_an_alert(flow: Flow) -> None:
    rid = request_id(get(flow.authorize_url()))

    response = submit(flow.sandbox, request_id=rid, action="sign-in", username="supervisor", password="wrong")

    assert response.status_code == 200
    assert "location" not in response.headers
    assert re.search(r'<p id="error" role="alert">The username or password is not right', response.text)
    assert 'value="supervisor"' in response.text  # the username is kept, the password is not
    retry = submit(flow.sandbox, request_id=rid, action="sign-in", username="supervisor", password="sandbox-password")
    assert retry.status_code == 302
    assert "code" in query(retry.headers["location"])


def test_unknown_user_gets_the_same_alert(flow: Flow) -> None:
    rid = request_id(get(flow.authorize_url()))

    response = submit(flow.sandbox, request_id=rid, action="sign-in", username="nobody", password="sandbox-password")

    assert response.status_code == 200
    assert 'role="alert"' in response.text


def test_mfa_account_needs_the_one_time_code(flow: Flow) -> None:
    rid = request_id(get(flow.authorize_url()))

    otp_page = submit(
        flow.sandbox, request_id=rid, action="sign-in", username="mfa.supervisor", password="sandbox-password"
    )
    assert otp_page.status_code == 200
    assert '<label for="otp">One-time code</label>' in otp_page.text
    assert re.search(r'<button id="verify"[^>]*>Verify</button>', otp_page.text)
    assert 'id="cancel"' in otp_page.text

    wrong = submit(flow.sandbox, request_id=rid, action="verify", otp="000000")
    assert wrong.status_code == 200
    assert re.search(r'role="alert">That one-time code is not right', wrong.text)

    right = submit(flow.sandbox, request_id=rid, action="verify", otp="123456")
    assert right.status_code == 302
    params = query(right.headers["location"])
    assert set(params) == {"code", "state", "iss"}


def test_one_time_code_cannot_skip_the_password(flow: Flow) -> None:
    rid = request_id(get(flow.authorize_url()))

    response = submit(flow.sandbox, request_id=rid, action="verify", otp="123456")

    assert response.status_code == 200
    assert 'role="alert"' in response.text
    assert "location" not in response.headers


def test_require_mfa_and_a_custom_code_apply_to_every_account(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(require_mfa=True, otp="424242")
    flow = Flow(sandbox, supervisor=Supervisor("supervisor", otp="424242"))

    assert "code" in flow.sign_in()
    with pytest.raises(Exception, match="one-time code is not right"):
        Flow(sandbox, supervisor=Supervisor("supervisor", otp="123456")).sign_in()


def test_too_many_wrong_codes_deny_the_request(flow: Flow) -> None:
    rid = request_id(get(flow.authorize_url()))
    submit(flow.sandbox, request_id=rid, action="sign-in", username="mfa.supervisor", password="sandbox-password")

    responses = [submit(flow.sandbox, request_id=rid, action="verify", otp="000000") for _ in range(5)]

    assert [r.status_code for r in responses] == [200, 200, 200, 200, 302]
    assert query(responses[-1].headers["location"])["error"] == "access_denied"


def test_cancel_redirects_with_access_denied(flow: Flow) -> None:
    location = Supervisor().cancel(flow.authorize_url())

    assert location.startswith(REDIRECT + "?")
    assert query(location) == {
        "error": "access_denied",
        "error_description": "The supervisor cancelled the sign-in",
        "state": flow.state,
        "iss": flow.sandbox.issuer,
    }


def test_cancel_on_the_one_time_code_page(flow: Flow) -> None:
    rid = request_id(get(flow.authorize_url()))
    submit(flow.sandbox, request_id=rid, action="sign-in", username="mfa.supervisor", password="sandbox-password")

    response = submit(flow.sandbox, request_id=rid, action="cancel")

    assert query(response.headers["location"])["error"] == "access_denied"


def test_a_finished_sign_in_form_cannot_be_submitted_again(flow: Flow) -> None:
    rid = request_id(get(flow.authorize_url()))
    form = {"request_id": rid, "action": "sign-in", "username": "supervisor", "password": "sandbox-password"}
    assert submit(flow.sandbox, **form).status_code == 302

    again = submit(flow.sandbox, **form)

    assert again.status_code == 400
    assert "expired or was already used" in again.text
    assert "location" not in again.headers


def test_an_unknown_request_id_is_refused(sandbox: Sandbox) -> None:
    response = submit(sandbox, request_id="made-up", action="sign-in", username="supervisor", password="x")

    assert response.status_code == 400
    assert 'role="alert"' in response.text
