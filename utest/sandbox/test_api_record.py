"""The record of API calls reaches every request on the API side, so client tests can assert which
headers a call carried (and that a token never went somewhere)."""

from __future__ import annotations

from collections.abc import Callable

from healthcode_sandbox import Sandbox, SandboxSettings

from .api_steps import Api
from .flows import HTTP


def test_whoami_calls_are_recorded_with_their_headers(api: Api, sandbox: Sandbox) -> None:
    HTTP.get(api.url("whoami_endpoint"), headers=api.headers())
    HTTP.get(api.url("whoami_endpoint"), headers={"HC-API-Version": "1"})

    first, second = sandbox.api_calls("whoami")
    assert (first.status, first.bearer, first.site_id, first.api_version) == (200, True, "HC00ABC", "1")
    assert (second.status, second.bearer, second.site_id, second.api_version) == (401, False, None, "1")
    assert first.path == "/api/v1/whoami"
    assert sandbox.request_count("whoami") == 2
    assert sandbox.request_count("api") == 0  # the gated APIs' counter is theirs alone


def test_requests_no_api_answers_are_recorded_too(api: Api, sandbox: Sandbox) -> None:
    HTTP.get(f"{sandbox.url}/api/v1/no/such/api?lastName=Quarrendon-Fakename", headers=api.headers())
    HTTP.put(api.url("delete_appointment_endpoint", "/AP00001"), headers=api.headers(SU_SiteId=None))
    HTTP.get(api.url("get_remittance_endpoint", "/RM00001"), params={"x": "y" * 5000}, headers=api.headers())

    unknown, wrong_method, oversized = sandbox.api_calls()
    assert (unknown.endpoint, unknown.path, unknown.status, unknown.bearer) == (
        "unknown",
        "/api/v1/no/such/api",
        404,
        True,
    )
    assert (wrong_method.endpoint, wrong_method.status, wrong_method.site_id) == ("delete_appointment", 405, None)
    assert (oversized.endpoint, oversized.status) == ("get_remittance", 400)
    assert sandbox.request_count("api") == 3
    assert sandbox.request_count("api.unknown") == 1
    assert "Quarrendon" not in str(sandbox.api_calls())


def test_the_admin_api_filters_the_record_by_endpoint(api: Api, sandbox: Sandbox) -> None:
    api.find_member(insurerIdentifier="bup", lastName="Testperson")
    api.call("GET", "get_remittance_endpoint", "/RM00001")

    found = HTTP.get(f"{sandbox.url}/_sandbox/api-calls", params={"endpoint": "get_remittance"}).json()["calls"]
    none = HTTP.get(f"{sandbox.url}/_sandbox/api-calls", params={"endpoint": "nosuch"}).json()["calls"]

    assert [call["path"] for call in found] == ["/api/v1/clearing/remittances/RM00001"]
    assert none == []


def test_a_second_sandbox_shows_what_a_redirect_elsewhere_carried(
    api: Api, sandbox: Sandbox, sandbox_factory: Callable[[SandboxSettings], Sandbox]
) -> None:
    elsewhere = sandbox_factory(SandboxSettings())
    sandbox.set_faults(api_redirect_elsewhere=f"{elsewhere.url}/api/v1/anything/at/all", api_moved_status=302)

    redirected = api.call("GET", "get_remittance_endpoint", "/RM00001")
    # A careless client that follows with every header: the other origin's record shows the token came.
    HTTP.get(redirected.headers["location"], headers=api.headers())

    [carried] = elsewhere.api_calls()
    assert (carried.endpoint, carried.status, carried.bearer, carried.site_id) == ("unknown", 404, True, "HC00ABC")
    assert api.token not in str(carried.as_dict())  # the record never keeps the token
