"""What every API call must carry: a token this sandbox issued, a permitted SU-SiteId, HC-API-Version."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from healthcode_sandbox import Sandbox

from .api_steps import ENDPOINT_IDS, EVERY_ENDPOINT, Api, issue, message_code
from .flows import HTTP, Flow
from .test_whoami import claims_for


@pytest.mark.parametrize(("method", "key", "suffix", "kwargs"), EVERY_ENDPOINT, ids=ENDPOINT_IDS)
def test_every_api_answers_a_well_formed_call(
    api: Api, method: str, key: str, suffix: str, kwargs: dict[str, Any]
) -> None:
    response = api.call(method, key, suffix, **kwargs)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("method", "key", "suffix", "kwargs"), EVERY_ENDPOINT, ids=ENDPOINT_IDS)
def test_every_api_needs_a_bearer_token(api: Api, method: str, key: str, suffix: str, kwargs: dict[str, Any]) -> None:
    response = api.call(method, key, suffix, headers=api.headers(Authorization=None), **kwargs)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="healthcode-sandbox"'
    assert issue(response)["code"] == "login"


@pytest.mark.parametrize(("method", "key", "suffix", "kwargs"), EVERY_ENDPOINT, ids=ENDPOINT_IDS)
def test_every_api_needs_a_site_id(api: Api, method: str, key: str, suffix: str, kwargs: dict[str, Any]) -> None:
    response = api.call(method, key, suffix, headers=api.headers(SU_SiteId=None), **kwargs)

    assert response.status_code == 400
    assert issue(response)["code"] == "required"
    assert issue(response)["location"] == ["SU-SiteId"]


@pytest.mark.parametrize(("method", "key", "suffix", "kwargs"), EVERY_ENDPOINT, ids=ENDPOINT_IDS)
def test_every_api_refuses_a_site_the_account_may_not_use(
    api: Api, method: str, key: str, suffix: str, kwargs: dict[str, Any]
) -> None:
    response = api.call(method, key, suffix, headers=api.headers(SU_SiteId="HC16190"), **kwargs)

    assert response.status_code == 403
    assert issue(response)["code"] == "forbidden"
    assert message_code(response) == "MSG_SITE_NOT_PERMITTED"


@pytest.mark.parametrize(
    "header", ["Bearer not-a-token", "Basic dXNlcjpwdw==", "Bearer"], ids=["junk", "basic", "empty"]
)
def test_a_bad_token_is_refused_with_401(api: Api, header: str) -> None:
    response = api.call("GET", "get_remittance_endpoint", "/RM00001", headers=api.headers(Authorization=header))

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="healthcode-sandbox"')
    assert issue(response)["severity"] == "error"


def test_an_expired_token_says_so(api: Api, sandbox: Sandbox) -> None:
    expired = sandbox.sign_access_token(claims_for(sandbox, exp=int(time.time()) - 5))

    response = api.call(
        "GET", "get_remittance_endpoint", "/RM00001", headers=api.headers(Authorization=f"Bearer {expired}")
    )

    assert response.status_code == 401
    assert issue(response)["code"] == "expired"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_revoked_token_is_refused(api: Api, flow: Flow) -> None:
    flow.revoke(api.token)

    response = api.call("GET", "get_remittance_endpoint", "/RM00001")

    assert response.status_code == 401
    assert "revoked" in issue(response)["diagnostics"]


def test_each_account_reads_its_own_sites_only(api: Api, mfa_api: Api) -> None:
    assert api.call("GET", "get_remittance_endpoint", "/RM00001").status_code == 200
    assert (
        api.call("GET", "get_remittance_endpoint", "/RM00001", headers=api.headers(SU_SiteId="HC12393")).status_code
        == 200
    )
    assert mfa_api.call("GET", "get_remittance_endpoint", "/RM00001").status_code == 200

    # A token issued for one account never reads another account's site, either way round.
    theirs = mfa_api.call("GET", "get_remittance_endpoint", "/RM00001", headers=mfa_api.headers(SU_SiteId="HC00ABC"))
    ours = api.call("GET", "get_remittance_endpoint", "/RM00001", headers=api.headers(SU_SiteId="HC16190"))

    assert (theirs.status_code, ours.status_code) == (403, 403)
    assert message_code(theirs) == message_code(ours) == "MSG_SITE_NOT_PERMITTED"


@pytest.mark.parametrize("site", ["HC99999", "hc00abc", "HC00ABC,HC16190"])
def test_unknown_or_almost_right_sites_are_forbidden(api: Api, site: str) -> None:
    response = api.call("GET", "get_remittance_endpoint", "/RM00001", headers=api.headers(SU_SiteId=site))

    assert response.status_code == 403


def test_a_token_for_an_unknown_account_may_use_no_site(api: Api, sandbox: Sandbox) -> None:
    stranger = sandbox.sign_access_token(claims_for(sandbox, sub="nobody.at.all"))

    response = api.call(
        "GET", "get_remittance_endpoint", "/RM00001", headers=api.headers(Authorization=f"Bearer {stranger}")
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("version", "status"), [(None, 200), ("1", 200), ("", 200), ("2", 400), ("1.0", 400), ("v1", 400), ("0", 400)]
)
def test_api_version_missing_means_1_and_only_1_is_supported(api: Api, version: str | None, status: int) -> None:
    response = api.call("GET", "get_remittance_endpoint", "/RM00001", headers=api.headers(HC_API_Version=version))

    assert response.status_code == status
    if status == 400:
        assert issue(response)["code"] == "not-supported"
        assert message_code(response) == "MSG_VERSION_NOT_SUPPORTED"


def test_the_record_says_which_headers_came_and_never_the_token(api: Api, sandbox: Sandbox) -> None:
    api.find_member(insurerIdentifier="bup", lastName="Quarrendon-Fakename")
    api.call("GET", "get_remittance_endpoint", "/RM00002", headers=api.headers(HC_API_Version=None))
    api.call("GET", "codes_valueset_namespace", "/insurer", headers=api.headers(Authorization=None, SU_SiteId=None))

    first, second, third = sandbox.api_calls()
    assert first.as_dict() == {
        "method": "POST", "endpoint": "find_member", "path": "/api/v1/authorisation/find-member", "status": 200,
        "site_id": "HC00ABC", "api_version": "1", "bearer": True, "content_type": "application/x-www-form-urlencoded",
    }  # fmt: skip
    assert (second.endpoint, second.path, second.api_version, second.site_id) == (
        "get_remittance",
        "/api/v1/clearing/remittances/RM00002",
        None,
        "HC00ABC",
    )
    assert (third.status, third.bearer, third.site_id) == (401, False, None)
    assert sandbox.last_api_call() == third
    assert sandbox.api_calls("get_remittance") == [second]
    expected = {
        "api": 3,
        "api.find_member": 1,
        "api.get_remittance": 1,
        "api.codes_valueset": 1,
        "api.header.Authorization": 2,
        "api.header.SU-SiteId": 2,
        "api.header.HC-API-Version": 2,
    }
    assert {name: sandbox.request_count(name) for name in expected} == expected
    over_http = HTTP.get(f"{sandbox.url}/_sandbox/api-calls").json()["calls"]
    assert over_http == [call.as_dict() for call in (first, second, third)]
    assert api.token not in str(over_http)

    HTTP.delete(f"{sandbox.url}/_sandbox/stats")

    assert sandbox.api_calls() == []
    assert HTTP.get(f"{sandbox.url}/_sandbox/api-calls").json() == {"calls": []}


def test_api_requests_are_logged_as_method_path_status_only(
    api: Api, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    api.find_member(insurerIdentifier="bup", lastName="Quarrendon-Fakename", dateOfbirth="1901-02-03")
    api.search_practitioners(name="Ursula")

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("healthcode_sandbox")]
    assert any(line.endswith("POST /api/v1/authorisation/find-member 200") for line in lines)
    assert any(line.endswith("GET /api/v1/ppr/practitioners 200") for line in lines)
    for forbidden in ("Quarrendon", "Ottoline", "1901-02-03", "ZZ9876543", "Ursula", "?", "HC00ABC", api.token):
        assert not [line for line in lines if forbidden in line], forbidden
