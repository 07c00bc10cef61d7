"""The API side's fault knobs: alternate endpoints (301/302), redirects elsewhere, OperationOutcome
errors, 5xx and a permanent move; settable from Python and the admin API."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from healthcode_sandbox import Faults, Sandbox, SandboxConfigurationError, SandboxSettings

from .api_steps import Api, issue, message_code
from .flows import HTTP


def remittance(api: Api, number: int = 1) -> httpx.Response:
    return api.call("GET", "get_remittance_endpoint", f"/RM{number:05d}")


@pytest.mark.parametrize("status", [None, 302, 307])
def test_api_moved_redirects_to_a_working_alternate_endpoint(api: Api, sandbox: Sandbox, status: int | None) -> None:
    sandbox.set_faults(api_moved=1, api_moved_status=status or 301)

    moved = api.search_practitioners(name="L", count="2")
    again = HTTP.get(moved.headers["location"], headers=api.headers())

    assert moved.status_code == (status or 301)
    assert moved.headers["location"] == f"{sandbox.url}/api/v2-moved/ppr/practitioners?name=L&count=2"
    assert issue(moved)["severity"] == "information"
    assert again.status_code == 200
    assert again.json()["link"][0]["url"].startswith(f"{sandbox.url}/api/v2-moved/")
    assert api.search_practitioners().status_code == 200  # one call only
    assert sandbox.faults.api_moved == 0


def test_api_moved_counts_down_and_never_moves_the_alternate(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(api_moved=2, api_moved_status=302)

    first, second, third = remittance(api), remittance(api), remittance(api)
    moved_url = first.headers["location"]

    assert (first.status_code, second.status_code, third.status_code) == (302, 302, 200)
    assert moved_url == f"{sandbox.url}/api/v2-moved/clearing/remittances/RM00001"
    sandbox.set_faults(api_moved=3)
    assert HTTP.get(moved_url, headers=api.headers()).status_code == 200
    assert sandbox.faults.api_moved == 3


def test_a_moved_post_keeps_its_path_and_works_there(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(api_moved=1)

    moved = api.find_member(insurerIdentifier="bup", lastName="Testperson")
    again = HTTP.post(
        moved.headers["location"], data={"insurerIdentifier": "bup", "lastName": "Testperson"}, headers=api.headers()
    )

    assert moved.status_code == 301
    assert moved.headers["location"] == f"{sandbox.url}/api/v2-moved/authorisation/find-member"
    assert again.json()["total"] == 3
    assert [call.path for call in sandbox.api_calls()] == [
        "/api/v1/authorisation/find-member",
        "/api/v2-moved/authorisation/find-member",
    ]


def test_the_redirect_comes_before_the_token_is_checked(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(api_moved=1)

    assert api.call("GET", "get_remittance_endpoint", "/RM00001", headers={}).status_code == 301


def test_api_redirect_elsewhere_sends_the_next_call_to_another_origin_once(
    api: Api, sandbox: Sandbox, sandbox_factory: Callable[[SandboxSettings], Sandbox]
) -> None:
    elsewhere = sandbox_factory(SandboxSettings())
    target = f"{elsewhere.url}/api/v1/clearing/remittances/RM00001"
    sandbox.set_faults(api_redirect_elsewhere=target)

    redirected = remittance(api)
    # A careful client follows without the token and site id; the other server records what came.
    followed = HTTP.get(redirected.headers["location"], headers={"HC-API-Version": "1"})

    assert redirected.status_code == 301
    assert redirected.headers["location"] == target
    assert sandbox.faults.api_redirect_elsewhere == ""
    assert remittance(api).status_code == 200
    assert followed.status_code == 401
    assert [(c.bearer, c.site_id, c.api_version) for c in elsewhere.api_calls()] == [(False, None, "1")]


def test_api_redirect_elsewhere_takes_the_moved_status(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(api_redirect_elsewhere="https://elsewhere.example/api", api_moved_status=307)

    response = api.search_remittances(insurerIdentifier="bup")

    assert (response.status_code, response.headers["location"]) == (307, "https://elsewhere.example/api")


def test_api_outcome_error_answers_422_with_an_operation_outcome(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(api_outcome_error=2)

    first, second, third = (api.find_member(insurerIdentifier="bup") for _ in range(3))

    assert (first.status_code, second.status_code, third.status_code) == (422, 422, 200)
    found = issue(first)
    assert (found["severity"], found["code"]) == ("error", "processing")
    assert message_code(first) == "MSG_SANDBOX_RULE"
    assert found["details"]["coding"][0]["display"]
    assert found["diagnostics"] and found["location"]


@pytest.mark.parametrize(("status", "expected"), [(None, 503), (500, 500)])
def test_api_failures_answer_5xx_then_the_api_works(
    api: Api, sandbox: Sandbox, status: int | None, expected: int
) -> None:
    sandbox.set_faults(api_failures=2, failure_status=status or 503)

    first, second, third = remittance(api), remittance(api), remittance(api)

    assert (first.status_code, second.status_code, third.status_code) == (expected, expected, 200)
    assert issue(first)["severity"] == "fatal"
    assert sandbox.faults.api_failures == 0


def test_error_knobs_wait_for_a_call_the_gate_admits(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(api_failures=1, api_outcome_error=1)

    refused = api.call("GET", "get_remittance_endpoint", "/RM00001", headers=api.headers(SU_SiteId=None))

    assert refused.status_code == 400
    assert [remittance(api).status_code for _ in range(3)] == [503, 422, 200]


def test_every_api_knob_is_settable_over_the_admin_api(api: Api, sandbox: Sandbox) -> None:
    knobs = {
        "api_moved": 1,
        "api_moved_status": 302,
        "api_redirect_elsewhere": "http://127.0.0.1:9/x",
        "api_outcome_error": 2,
        "api_failures": 3,
        "api_moved_permanently": True,
    }

    changed = HTTP.post(f"{sandbox.url}/_sandbox/faults", json=knobs)

    assert changed.status_code == 200
    assert changed.json() == {**Faults().as_dict(), **knobs}
    assert sandbox.faults.api_moved_permanently is True
    assert HTTP.delete(f"{sandbox.url}/_sandbox/faults").json() == Faults().as_dict()
    HTTP.post(f"{sandbox.url}/_sandbox/faults", json={"api_failures": 1})
    assert remittance(api).status_code == 503


def test_api_knobs_can_start_on(sandbox_factory: Callable[[SandboxSettings], Sandbox]) -> None:
    started = sandbox_factory(SandboxSettings(faults=Faults(api_moved_permanently=True)))

    assert "/api/v2-moved/" in HTTP.get(started.api_discovery_url).json()["find_member_endpoint"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"api_moved_status": 200}, "redirect status"),
        ({"api_moved_status": 404}, "redirect status"),
        ({"api_redirect_elsewhere": "javascript:alert(1)"}, "http"),
        ({"api_redirect_elsewhere": 5}, "http"),
        ({"api_failures": -1}, "zero or more"),
        ({"api_moved": 1.5}, "whole number"),
        ({"api_moved_permanently": "yes"}, "true or false"),
    ],
)
def test_bad_api_knob_values_are_refused(sandbox: Sandbox, changes: dict[str, object], message: str) -> None:
    with pytest.raises(SandboxConfigurationError, match=message):
        sandbox.set_faults(**changes)
    response = HTTP.post(f"{sandbox.url}/_sandbox/faults", json=changes)
    assert response.status_code == 400
    assert message in response.json()["error_description"]
