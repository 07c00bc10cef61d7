"""The API discovery document: every API is found there, on the sandbox's own origin."""

from __future__ import annotations

from healthcode_sandbox import Sandbox

from .api_steps import Api, discovery_document, issue
from .flows import HTTP

API_KEYS = {
    "find_member_endpoint",
    "search_remittance_summary_endpoint",
    "get_remittance_endpoint",
    "search_practitioner_endpoint",
    "delete_appointment_endpoint",
    "codes_valueset_namespace",
}


def test_the_document_is_flat_keys_to_absolute_urls_under_api_v1(sandbox: Sandbox) -> None:
    response = HTTP.get(f"{sandbox.url}/.well-known/discovery-document.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert set(document) == API_KEYS | {"whoami_endpoint"}
    for key in API_KEYS:
        assert document[key].startswith(f"{sandbox.url}/api/v1/"), (key, document[key])
    assert document["whoami_endpoint"] == f"{sandbox.url}/api/v1/whoami"
    assert sandbox.api_discovery_url == f"{sandbox.url}/.well-known/discovery-document.json"


def test_the_document_is_counted_apart_from_the_sso_discovery(sandbox: Sandbox) -> None:
    discovery_document(sandbox)
    discovery_document(sandbox)

    assert sandbox.request_count("api_discovery") == 2
    assert sandbox.request_count("discovery") == 0


def test_moving_permanently_changes_the_document_and_retires_the_old_paths(sandbox: Sandbox, api: Api) -> None:
    old = discovery_document(sandbox)

    sandbox.set_faults(api_moved_permanently=True)
    new = discovery_document(sandbox)

    for key in API_KEYS:
        assert new[key] == old[key].replace("/api/v1/", "/api/v2-moved/")
    assert new["whoami_endpoint"] == old["whoami_endpoint"]
    gone = HTTP.get(old["get_remittance_endpoint"] + "/RM00001", headers=api.headers())
    assert gone.status_code == 404
    assert issue(gone)["code"] == "not-found"
    assert HTTP.get(new["get_remittance_endpoint"] + "/RM00001", headers=api.headers()).status_code == 200
    assert HTTP.get(new["whoami_endpoint"], headers=api.headers()).status_code == 200

    sandbox.set_faults(api_moved_permanently=False)

    assert discovery_document(sandbox) == old
    assert HTTP.get(old["get_remittance_endpoint"] + "/RM00001", headers=api.headers()).status_code == 200
