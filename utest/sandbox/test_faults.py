"""Fault knobs, from Python and from the admin API another process would use."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from healthcode_sandbox import Faults, Sandbox, SandboxSettings
from healthcode_sandbox.sandbox_state import SandboxState
from healthcode_sandbox.server import create_app

from .flows import HTTP, Flow, query


def admin(sandbox: Sandbox, method: str, path: str, json: object = None) -> httpx.Response:
    return HTTP.request(method, f"{sandbox.url}/_sandbox{path}", json=json)


def test_token_delay_holds_the_response(flow: Flow, sandbox: Sandbox) -> None:
    code = flow.code()
    sandbox.set_faults(token_delay=0.4)

    started = time.monotonic()
    response = flow.exchange(code)

    assert time.monotonic() - started >= 0.4
    assert response.status_code == 200


def test_token_delay_makes_an_impatient_client_time_out(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(token_delay=1.0)

    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{sandbox.url}/token", data={"grant_type": "authorization_code"}, timeout=0.2)


def test_counted_server_errors_then_success_with_the_same_code(flow: Flow, sandbox: Sandbox) -> None:
    code = flow.code()
    sandbox.set_faults(token_failures=2)

    first, second, third = flow.exchange(code), flow.exchange(code), flow.exchange(code)

    assert (first.status_code, second.status_code) == (503, 503)
    assert first.json()["error"] == "temporarily_unavailable"
    assert first.headers["cache-control"] == "no-store"
    assert third.status_code == 200
    assert sandbox.faults.token_failures == 0


def test_server_error_status_can_be_500(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(token_failures=1, failure_status=500)

    response = flow.exchange(flow.code())

    assert response.status_code == 500
    assert response.json()["error"] == "server_error"


def test_forced_invalid_grant_then_success(flow: Flow, sandbox: Sandbox) -> None:
    code = flow.code()
    sandbox.set_faults(token_invalid_grant=1)

    first, second = flow.exchange(code), flow.exchange(code)

    assert (first.status_code, first.json()["error"]) == (400, "invalid_grant")
    assert second.status_code == 200


def test_deny_sign_in_redirects_without_showing_the_form(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(deny_sign_in=True)

    response = HTTP.get(flow.authorize_url())

    assert response.status_code == 302
    params = query(response.headers["location"])
    assert params["error"] == "access_denied"
    assert params["error_description"] == "The supervisor denied the request"
    assert (params["state"], params["iss"]) == (flow.state, sandbox.issuer)


def test_remembered_supervisor_is_approved_without_the_form(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(remembered_supervisor="supervisor")

    response = HTTP.get(flow.authorize_url())

    assert response.status_code == 302
    params = query(response.headers["location"])
    assert params["code"]
    assert (params["state"], params["iss"]) == (flow.state, sandbox.issuer)
    token = flow.exchange(params["code"]).json()
    assert flow.sandbox.request_count("authorize.submit") == 0
    assert token["token_type"] == "Bearer"


def test_unknown_remembered_supervisor_shows_the_form(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(remembered_supervisor="nobody")

    response = HTTP.get(flow.authorize_url())

    assert response.status_code == 200
    assert 'id="username"' in response.text


def test_discovery_and_jwks_fail_n_times_then_recover(sandbox: Sandbox) -> None:
    sandbox.set_faults(discovery_failures=2)
    discovery = [HTTP.get(sandbox.discovery_url).status_code for _ in range(3)]
    sandbox.set_faults(jwks_failures=1, failure_status=500)
    jwks = [HTTP.get(f"{sandbox.url}/jwks").status_code for _ in range(2)]

    assert discovery == [503, 503, 200]
    assert jwks == [500, 200]


def test_start_time_faults_and_reset_to_them(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(faults=Faults(token_lifetime=5, token_failures=1))
    flow = Flow(sandbox)
    assert flow.exchange(flow.code()).status_code == 503
    assert flow.tokens()["expires_in"] == 5
    sandbox.set_faults(token_lifetime=60)

    assert sandbox.reset_faults() == Faults(token_lifetime=5, token_failures=1)


@pytest.mark.parametrize(
    "settings", [{"refresh_tokens": True}, {"faults": Faults(refresh_tokens=True)}], ids=["setting", "knob"]
)
def test_refresh_tokens_on_at_start_stay_on_after_a_reset(
    start_sandbox: Callable[..., Sandbox], settings: dict[str, object]
) -> None:
    sandbox = start_sandbox(**settings)
    assert sandbox.settings.refresh_tokens and sandbox.faults.refresh_tokens
    sandbox.set_faults(refresh_tokens=False)

    assert sandbox.reset_faults().refresh_tokens is True
    assert "refresh_token" in Flow(sandbox).tokens()


def test_admin_api_sets_reads_and_resets_faults(flow: Flow, sandbox: Sandbox) -> None:
    changed = admin(sandbox, "POST", "/faults", {"token_failures": 1, "failure_status": 500, "token_lifetime": 7})

    assert changed.status_code == 200
    assert changed.json() == {**Faults().as_dict(), "token_failures": 1, "failure_status": 500, "token_lifetime": 7}
    assert admin(sandbox, "GET", "/faults").json() == changed.json()
    assert flow.exchange(flow.code()).status_code == 500
    assert flow.tokens()["expires_in"] == 7
    assert admin(sandbox, "DELETE", "/faults").json() == Faults().as_dict()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"no_such_knob": 1}, "Unknown fault knob"),
        ({"token_failures": -1}, "zero or more"),
        ({"token_failures": "2"}, "must be a number"),
        ({"failure_status": 404}, "5xx"),
        ({"deny_sign_in": 1}, "true or false"),
        ({"refresh_tokens": "yes"}, "true or false"),
        ([1, 2], "JSON object"),
    ],
)
def test_admin_api_rejects_bad_knobs(sandbox: Sandbox, body: object, message: str) -> None:
    response = admin(sandbox, "POST", "/faults", body)

    assert response.status_code == 400
    assert message in response.json()["error_description"]
    assert sandbox.faults == Faults()


def test_admin_api_registers_a_confidential_client(sandbox: Sandbox) -> None:
    registration = {"client_id": "late_bot", "redirect_uris": ["https://late.example/cb"], "client_secret": "s e+c"}

    response = admin(sandbox, "POST", "/clients", registration)

    assert response.status_code == 201
    assert response.json() == {"client_id": "late_bot", "public": False}
    flow = Flow(sandbox, client_id="late_bot", redirect_uri="https://late.example/cb")
    assert flow.exchange(flow.code(), client_secret="s e+c").status_code == 200


def test_admin_api_answers_loopback_clients_only() -> None:
    state = SandboxState.create(SandboxSettings(), "http://127.0.0.1:9")
    client = create_app(state).test_client()

    remote = client.get("/_sandbox/faults", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    mapped_loopback = client.get("/_sandbox/faults", environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"})

    assert remote.status_code == 403
    assert remote.get_json()["error"] == "forbidden"
    assert mapped_loopback.status_code == 200
