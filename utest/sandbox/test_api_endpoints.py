"""The sandbox's APIs, each in the shape Healthcode documents, with made-up data only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from healthcode_sandbox import Sandbox

from .api_steps import Api, issue, message_code
from .flows import HTTP


def resources(response: httpx.Response, resource_type: str) -> list[dict[str, Any]]:
    """The resources of a Bundle answer, asserting each is of ``resource_type``."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Bundle"
    found = [entry["resource"] for entry in body.get("entry", [])]
    assert all(resource["resourceType"] == resource_type for resource in found)
    return found


def tags(response: httpx.Response) -> dict[str, str]:
    return {tag["code"]: tag["display"] for tag in response.json()["meta"]["tag"]}


def patient(coverage: dict[str, Any]) -> dict[str, Any]:
    contained: dict[str, Any] = coverage["contained"][0]
    assert coverage["beneficiary"]["reference"] == "#" + contained["id"]
    return contained


# -- Find Member ---------------------------------------------------------------------------------


def test_find_member_answers_a_searchset_of_coverage(api: Api) -> None:
    response = api.find_member(insurerIdentifier="bup", lastName="Testperson")

    found = resources(response, "Coverage")
    assert response.json()["type"] == "searchset"
    assert response.json()["total"] == 3
    assert [patient(c)["name"][0]["given"] for c in found] == [["Alice"], ["Bertram"], ["Cecily"]]
    for coverage in found:
        assert coverage["subscriberId"].startswith("ZZ")
        assert "1900" <= patient(coverage)["birthDate"] <= "1910-12-31"
        assert coverage["payor"][0]["identifier"]["value"] == "bup"


def test_find_member_returns_the_leak_scan_patient(api: Api) -> None:
    [coverage] = resources(api.find_member(insurerIdentifier="bup", lastName="Quarrendon-Fakename"), "Coverage")

    assert patient(coverage)["name"] == [{"family": "Quarrendon-Fakename", "given": ["Ottoline"]}]
    assert patient(coverage)["birthDate"] == "1901-02-03"
    assert coverage["subscriberId"] == "ZZ9876543"


@pytest.mark.parametrize(
    ("fields", "given_names"),
    [
        ({"lastName": "testperson", "firstName": "B"}, ["Bertram"]),
        ({"lastName": "Testperson", "dateOfbirth": "1904-05-06"}, ["Cecily"]),
        ({"membershipNumber": "ZZ0000101"}, ["Alice"]),
        ({"lastName": "Gray"}, ["Sam"]),
        ({"sex": "male", "postCode": "zz999zz"}, ["Bertram", "Sam"]),
        (
            {"lastName": "Testperson", "groupId": "ZZGRP01", "policyActiveOn": "2025-09-25"},
            ["Alice", "Bertram", "Cecily"],
        ),
        ({"lastName": "Nobody"}, []),
    ],
    ids=["initial", "date-of-birth", "membership-number", "name-start", "sex-and-postcode", "ignored-fields", "none"],
)
def test_find_member_filters_by_every_given_field(api: Api, fields: dict[str, str], given_names: list[str]) -> None:
    found = resources(api.find_member(insurerIdentifier="bup", **fields), "Coverage")

    assert [patient(c)["name"][0]["given"][0] for c in found] == given_names


def test_find_member_keeps_to_the_insurer(api: Api) -> None:
    found = resources(api.find_member(insurerIdentifier="slh", lastName="Testperson"), "Coverage")

    assert [patient(c)["name"][0]["given"][0] for c in found] == ["Dora"]


def test_find_member_requires_the_insurer(api: Api) -> None:
    response = api.find_member(lastName="Testperson")

    assert response.status_code == 400
    assert issue(response)["code"] == "required"
    assert "insurerIdentifier" in issue(response)["diagnostics"]


def test_find_member_refuses_an_unknown_insurer(api: Api) -> None:
    response = api.find_member(insurerIdentifier="nosuch")

    assert response.status_code == 400
    assert issue(response)["code"] == "code-invalid"


@pytest.mark.parametrize("field", ["dateOfbirth", "policyActiveOn"])
@pytest.mark.parametrize("value", ["1901-02-", "03/02/1901", "1901-02-30", "19010203"])
def test_find_member_answers_healthcodes_date_format_error(api: Api, field: str, value: str) -> None:
    response = api.find_member(insurerIdentifier="bup", **{field: value})

    assert response.status_code == 400
    assert issue(response)["code"] == "value"
    assert issue(response)["details"]["coding"][0]["code"] == "MSG_DATE_FORMAT"
    assert issue(response)["details"]["coding"][0]["display"] == "Invalid date format"
    assert field in issue(response)["diagnostics"]
    assert value not in response.text  # a submitted value is a patient's data: never echoed


def test_find_member_takes_a_form_not_json(api: Api) -> None:
    response = api.call("POST", "find_member_endpoint", json={"insurerIdentifier": "bup"})

    assert response.status_code == 415
    assert issue(response)["code"] == "not-supported"


def test_find_member_is_a_post(api: Api) -> None:
    response = api.call("GET", "find_member_endpoint", params={"insurerIdentifier": "bup"})

    assert response.status_code == 405
    assert issue(response)["code"] == "not-supported"


# -- Remittances ---------------------------------------------------------------------------------


def test_search_remittance_summary_pages_with_meta_tags(api: Api) -> None:
    pages = [api.search_remittances(insurerIdentifier="bup", page=str(page)) for page in (1, 2, 3, 4)]

    assert [len(resources(page, "PaymentReconciliation")) for page in pages] == [10, 10, 5, 0]
    for number, page in enumerate(pages, start=1):
        assert page.json()["type"] == "collection"
        assert page.json()["total"] == 25
        assert "link" not in page.json()
        assert tags(page) == {"count": "10", "page": str(number), "maxRecords": "25"}
    ids = [r["id"] for page in pages for r in resources(page, "PaymentReconciliation")]
    assert ids == [f"RM{n:05d}" for n in range(1, 26)]


def test_search_remittance_summary_count_and_sort(api: Api) -> None:
    response = api.search_remittances(insurerIdentifier="bup", count="100", _sort="-createdOn")

    found = resources(response, "PaymentReconciliation")
    assert [r["id"] for r in found] == [f"RM{n:05d}" for n in range(25, 0, -1)]
    assert tags(response) == {"count": "100", "page": "1", "maxRecords": "25"}
    assert [r["id"] for r in resources(api.search_remittances(insurerIdentifier="slh"), "PaymentReconciliation")] == [
        "RM00026",
        "RM00027",
        "RM00028",
    ]


@pytest.mark.parametrize(
    "fields",
    [{"count": "101"}, {"count": "0"}, {"page": "0"}, {"page": "x"}, {"_sort": "amount"}, {}],
    ids=["count-high", "count-0", "page-0", "page-x", "sort", "no-insurer"],
)
def test_search_remittance_summary_refuses_bad_fields(api: Api, fields: dict[str, str]) -> None:
    response = api.search_remittances(**({"insurerIdentifier": "bup"} if fields else {}), **fields)

    assert response.status_code == 400
    assert issue(response)["severity"] == "error"


def test_get_remittance_by_id_and_the_entries_full_url(api: Api) -> None:
    entry = api.search_remittances(insurerIdentifier="bup").json()["entry"][2]

    response = HTTP.get(entry["fullUrl"], headers=api.headers())

    assert entry["fullUrl"] == api.url("get_remittance_endpoint", "/RM00003")
    assert response.status_code == 200
    assert response.json() == entry["resource"]
    assert response.json()["paymentAmount"] == {"value": 131.5, "currency": "GBP"}


def test_get_remittance_of_an_unknown_id_is_not_found(api: Api) -> None:
    response = api.call("GET", "get_remittance_endpoint", "/RM99999")

    assert response.status_code == 404
    assert issue(response)["code"] == "not-found"


# -- Practitioners and code sets -----------------------------------------------------------------


def test_search_practitioner_pages_with_fhir_links(api: Api) -> None:
    response = api.search_practitioners()
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        seen += [p["id"] for p in resources(response, "Practitioner")]
        assert response.json()["total"] == 23
        links = {link["relation"]: link["url"] for link in response.json()["link"]}
        assert httpx.URL(links["self"]).params == httpx.QueryParams({"page": str(pages), "count": "10"})
        if "next" not in links:
            break
        response = HTTP.get(links["next"], headers=api.headers())

    assert pages == 3
    assert seen == [f"PR{n:05d}" for n in range(1, 24)]
    assert "meta" not in response.json()


def test_search_practitioner_next_link_keeps_the_search(api: Api) -> None:
    first = api.search_practitioners(name="L", count="2", _sort="-name")

    names = [p["name"][0]["given"][0] for p in resources(first, "Practitioner")]
    next_url = {link["relation"]: link["url"] for link in first.json()["link"]}["next"]
    second = HTTP.get(next_url, headers=api.headers())

    assert names == ["Ursula", "Sybil"]
    assert next_url.startswith(api.url("search_practitioner_endpoint") + "?")
    assert httpx.URL(next_url).params == httpx.QueryParams({"name": "L", "_sort": "-name", "page": "2", "count": "2"})
    assert [p["name"][0]["given"][0] for p in resources(second, "Practitioner")] == ["Olive", "Nigel"]
    assert first.json()["total"] == second.json()["total"] == 9


def test_search_practitioner_refuses_a_bad_page(api: Api) -> None:
    response = api.search_practitioners(page="-1")

    assert response.status_code == 400
    assert issue(response)["code"] == "value"


def test_code_sets_are_value_sets_under_the_namespace(api: Api) -> None:
    response = api.call("GET", "codes_valueset_namespace", "/insurer")

    assert response.status_code == 200
    body = response.json()
    assert (body["resourceType"], body["id"]) == ("ValueSet", "insurer")
    codes = [item["code"] for item in body["expansion"]["contains"]]
    assert {"bup", "slh", "ppp"} <= set(codes)
    assert body["expansion"]["total"] == len(codes)
    assert api.call("GET", "codes_valueset_namespace", "/nosuch").status_code == 404


# -- Delete Appointment --------------------------------------------------------------------------


def test_delete_appointment_answers_an_information_outcome(api: Api) -> None:
    response = api.call("DELETE", "delete_appointment_endpoint", "/AP00007")

    assert response.status_code == 200
    assert issue(response)["severity"] == "information"
    assert message_code(response) == "MSG_DELETED"
    assert api.call("DELETE", "delete_appointment_endpoint", "/AP00007").status_code == 200  # not remembered


def test_delete_of_an_unknown_appointment_is_not_found(api: Api) -> None:
    response = api.call("DELETE", "delete_appointment_endpoint", "/AP99999")

    assert response.status_code == 404
    assert issue(response)["severity"] == "error"


# -- Around the APIs -----------------------------------------------------------------------------


def test_unknown_api_paths_and_methods_answer_an_operation_outcome(sandbox: Sandbox, api: Api) -> None:
    unknown = HTTP.get(f"{sandbox.url}/api/v1/no/such/api", headers=api.headers())
    wrong_method = HTTP.put(api.url("delete_appointment_endpoint", "/AP00001"), headers=api.headers())
    whoami_wrong_method = HTTP.post(f"{sandbox.url}/api/v1/whoami")

    assert (unknown.status_code, issue(unknown)["code"]) == (404, "not-found")
    assert (wrong_method.status_code, issue(wrong_method)["code"]) == (405, "not-supported")
    assert whoami_wrong_method.json()["error"] == "invalid_request"  # whoami keeps its OAuth JSON


def test_oversized_api_input_answers_an_operation_outcome(api: Api) -> None:
    response = api.find_member(insurerIdentifier="bup", lastName="x" * 5000)

    assert response.status_code == 400
    assert issue(response)["severity"] == "error"


def test_whoami_needs_no_site_id(api: Api) -> None:
    response = HTTP.get(api.url("whoami_endpoint"), headers={"Authorization": f"Bearer {api.token}"})

    assert response.status_code == 200
    assert response.json()["sub"] == "supervisor"
