"""HealthcodeApi.call against a local server (real HTTP, pytest-httpserver): the headers, where fields go,
redirects, moves, retries, errors and what is logged. The sandbox's own API side is met in
``utest/integration/test_api_calls.py``."""

import json
import logging
import time
from urllib.parse import parse_qs

import pytest
from werkzeug import Response

from healthcode_auth import (
    ApiArgumentError,
    ApiDiscoveryError,
    ApiOriginRefusedError,
    ApiRequestError,
    ApiResult,
    ApiServerError,
    ConfigurationError,
    HealthcodeApi,
    TransportError,
    api_client,
)
from healthcode_auth.errors import ApiAnswerError, MissingSettingError

API_TOKEN = "API-TEST-ACCESS-TOKEN-0123456789"  # the api_server session's token
PATIENT = "Ottoline Quarrendon-Fakename"
DOB = "1901-02-03"
MEMBERSHIP = "ZZ9876543"
DISCOVERY = "/.well-known/discovery-document.json"


def coverage_bundle(*names):
    entries = [
        {"resource": {"resourceType": "Coverage", "id": f"CV{i}", "beneficiary": {"display": name}}}
        for i, name in enumerate(names)
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def outcome(
    code="value", details_code="MSG_DATE_FORMAT", display="Invalid date format", diagnostics=None, severity="error"
):
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity,
                "code": code,
                "details": {"coding": [{"code": details_code, "display": display}]},
                **({"diagnostics": diagnostics} if diagnostics else {}),
                "location": ["Coverage"],
            }
        ],
    }


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(api_client, "RETRY_DELAYS", (0.05, 0.1))


@pytest.fixture
def api(api_server):
    api_server.endpoints(
        find_member="/api/v1/find-member",
        get_remittance="/api/v1/remittances",
        search_practitioner="/api/v1/practitioners",
        delete_appointment="/api/v1/appointments",
    )
    return HealthcodeApi(api_server.session())


def test_a_post_sends_the_token_the_site_the_version_and_its_fields_as_a_form(api_server, api):
    api_server.server.expect_request("/api/v1/find-member", method="POST").respond_with_json(coverage_bundle(PATIENT))
    result = api.call(
        "find_member",
        "post",
        fields={"insurerIdentifier": "bup", "lastName": "Quarrendon-Fakename", "dateOfbirth": DOB, "ignored": None},
    )
    assert isinstance(result, ApiResult)
    assert repr(result) == str(result) == "<Healthcode find_member: 200 OK, Bundle of 1 Coverage>"
    assert result["entry"][0]["resource"]["beneficiary"]["display"] == PATIENT
    (request,) = api_server.requests_to("/api/v1/find-member")
    assert request.headers["Authorization"] == f"Bearer {API_TOKEN}"
    assert request.headers["SU-SiteId"] == "HC00ABC"
    assert request.headers["HC-API-Version"] == "1"
    assert request.headers["Accept"] == "application/fhir+json, application/json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.get_data(as_text=True)) == {
        "insurerIdentifier": ["bup"],
        "lastName": ["Quarrendon-Fakename"],
        "dateOfbirth": [DOB],
    }
    assert request.query_string == b""


def test_a_get_sends_its_fields_as_query_parameters_several_values_comma_separated(api_server, api):
    api_server.server.expect_request("/api/v1/practitioners", method="GET").respond_with_json(coverage_bundle())
    api.call("search_practitioner", fields={"practitioner": ["SP00123", "SP00456"], "active": True, "page": 1})
    (request,) = api_server.requests_to("/api/v1/practitioners")
    assert parse_qs(request.query_string.decode()) == {
        "practitioner": ["SP00123,SP00456"],
        "active": ["true"],
        "page": ["1"],
    }
    assert request.get_data() == b""


def test_a_path_is_one_percent_encoded_segment_and_delete_answers_an_information_outcome(api_server, api):
    api_server.server.expect_request("/api/v1/appointments/AP/1 x", method="DELETE").respond_with_json(
        outcome("informational", "MSG_DELETED", "Resource deleted", severity="information")
    )
    result = api.call("delete_appointment", "DELETE", path="AP/1 x")
    assert repr(result) == "<Healthcode delete_appointment: 200 OK, OperationOutcome (information)>"
    assert result["issue"][0]["severity"] == "information"
    (request,) = api_server.requests_to("/api/v1/appointments/AP/1 x")
    assert request.environ["REQUEST_URI"] == "/api/v1/appointments/AP%2F1%20x"


def test_a_fhir_resource_goes_as_fhir_json(api_server, api):
    api_server.server.expect_request("/api/v1/remittances", method="PUT").respond_with_json(
        {"resourceType": "PaymentReconciliation", "id": "RM1"}, status=201
    )
    result = api.call("get_remittance", "PUT", json={"resourceType": "PaymentReconciliation", "id": "RM1"})
    assert repr(result) == "<Healthcode get_remittance: 201 Created, PaymentReconciliation>"
    (request,) = api_server.requests_to("/api/v1/remittances")
    assert request.headers["Content-Type"] == "application/fhir+json"
    assert json.loads(request.get_data()) == {"resourceType": "PaymentReconciliation", "id": "RM1"}


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"method": "TRACE"}, "not a method"),
        ({"method": "GET", "json": {"a": 1}}, "either fields or json"),
        ({"method": "POST", "json": {"a": 1}, "fields": {"b": 2}}, "either fields or json"),
        ({"path": " "}, "path"),
        ({"fields": ["a"]}, "dictionary"),
    ],
)
def test_a_malformed_call_is_refused_before_anything_is_sent(api_server, api, arguments, fragment):
    with pytest.raises(ApiArgumentError, match=fragment):
        api.call("find_member", **arguments)
    assert api_server.requests_to("/api/v1/find-member") == []


def test_without_a_site_id_the_call_fails_naming_the_setting_and_where_to_find_it(api_server):
    api_server.endpoints(find_member="/api/v1/find-member")
    api = HealthcodeApi(api_server.session(site_id=None))
    with pytest.raises(MissingSettingError) as caught:
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup"})
    assert isinstance(caught.value, ConfigurationError) and caught.value.setting == "site_id"
    assert "HEALTHCODE_SITE_ID" in str(caught.value) and "My Account" in str(caught.value)
    assert api_server.requests_to("/api/v1/find-member") == []


def test_an_unknown_api_fails_listing_the_names_the_document_has(api):
    with pytest.raises(ApiDiscoveryError) as caught:
        api.call("find_members")
    assert "find_member, get_remittance, search_practitioner" in str(caught.value)
    assert caught.value.known == ("delete_appointment", "find_member", "get_remittance", "search_practitioner")
    assert api.endpoint("find_member_endpoint") == api.endpoint("find_member")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_followed_once_with_the_headers_then_the_document_is_fetched_again(api_server, api, status):
    api_server.server.expect_request("/api/v1/find-member").respond_with_data(
        "", status=status, headers={"Location": "/api/v2/find-member?x=1"}
    )
    api_server.server.expect_request("/api/v2/find-member", method="POST").respond_with_json(coverage_bundle("A"))
    result = api.call("find_member", "POST", fields={"insurerIdentifier": "bup"})
    assert result.count == 1
    (moved,) = api_server.requests_to("/api/v2/find-member")
    assert moved.headers["Authorization"] == f"Bearer {API_TOKEN}" and moved.headers["SU-SiteId"] == "HC00ABC"
    assert parse_qs(moved.get_data(as_text=True)) == {"insurerIdentifier": ["bup"]}  # the same request again
    assert api_server.discovery_fetches() == 2


def test_a_303_is_followed_as_a_get(api_server, api):
    api_server.server.expect_request("/api/v1/find-member").respond_with_data(
        "", status=303, headers={"Location": "/api/v1/result"}
    )
    api_server.server.expect_request("/api/v1/result", method="GET").respond_with_json(coverage_bundle())
    assert api.call("find_member", "POST", fields={"insurerIdentifier": "bup"}).count == 0


def test_a_second_redirect_is_an_error(api_server, api):
    api_server.server.expect_request("/api/v1/find-member").respond_with_data(
        "", status=302, headers={"Location": "/api/v2/find-member"}
    )
    api_server.server.expect_request("/api/v2/find-member").respond_with_data(
        "", status=302, headers={"Location": "/api/v3/find-member"}
    )
    with pytest.raises(ApiAnswerError, match="only one is followed"):
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup"})
    assert api_server.requests_to("/api/v3/find-member") == []


def test_a_redirect_to_another_host_is_refused_and_nothing_is_sent_there(api_server, api, elsewhere):
    api_server.server.expect_request("/api/v1/find-member").respond_with_data(
        "", status=301, headers={"Location": elsewhere.url_for("/steal?lastName=Gray")}
    )
    with pytest.raises(ApiOriginRefusedError) as caught:
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup"})
    assert caught.value.origin == elsewhere.url_for("/").rstrip("/")
    assert "nothing was sent there" in str(caught.value) and "Gray" not in str(caught.value)
    assert elsewhere.log == []


def test_a_404_fetches_the_document_again_and_calls_the_api_once_where_it_moved(api_server):
    document = {"find_member_endpoint": f"{api_server.base}/api/v1/find-member"}
    api_server.server.expect_request(DISCOVERY).respond_with_handler(lambda _: Response(json.dumps(document)))
    api_server.server.expect_request("/api/v1/find-member").respond_with_json(outcome("not-found"), status=404)
    api_server.server.expect_request("/api/v9/find-member").respond_with_json(coverage_bundle("A", "B"))
    api = HealthcodeApi(api_server.session())
    api.endpoint("find_member")
    document["find_member_endpoint"] = f"{api_server.base}/api/v9/find-member"
    assert api.call("find_member", "POST", fields={"insurerIdentifier": "bup"}).count == 2
    assert api.endpoint("find_member").endswith("/api/v9/find-member")


def test_a_404_where_the_api_did_not_move_is_an_error_after_one_refetch(api_server, api):
    api_server.server.expect_request("/api/v1/remittances/RM404").respond_with_json(
        outcome("not-found", "MSG_NOT_FOUND", "Resource not found"), status=404
    )
    with pytest.raises(ApiRequestError) as caught:
        api.call("get_remittance", path="RM404")
    assert caught.value.status == 404 and "MSG_NOT_FOUND (at" in str(caught.value)
    assert len(api_server.requests_to("/api/v1/remittances/RM404")) == 1
    assert api_server.discovery_fetches() == 2


def test_a_gets_5xx_is_tried_twice_more_then_reported(api_server, api):
    api_server.server.expect_request("/api/v1/practitioners").respond_with_data("down", status=503)
    with pytest.raises(ApiServerError) as caught:
        api.call("search_practitioner")
    assert len(api_server.requests_to("/api/v1/practitioners")) == 3
    assert "503 Service Unavailable" in str(caught.value) and "tried 3 times" in str(caught.value)
    assert "Healthcode asks to be told" in str(caught.value) and "down" not in str(caught.value)


def test_a_gets_5xx_then_an_answer_is_a_success(api_server, api):
    answers = iter([Response("", status=500), Response(json.dumps(coverage_bundle("A")))])
    api_server.server.expect_request("/api/v1/practitioners").respond_with_handler(lambda _: next(answers))
    assert api.call("search_practitioner").count == 1


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_never_repeated_after_a_5xx(api_server, api, method):
    api_server.server.expect_request("/api/v1/find-member").respond_with_data("", status=502)
    with pytest.raises(ApiServerError):
        api.call("find_member", method)
    assert len(api_server.requests_to("/api/v1/find-member")) == 1


def test_retries_stay_within_the_calls_deadline(api_server, monkeypatch):
    monkeypatch.setattr(api_client, "RETRY_DELAYS", (5.0, 5.0))
    api_server.endpoints(search_practitioner="/api/v1/practitioners")
    api_server.server.expect_request("/api/v1/practitioners").respond_with_data("", status=503)
    api = HealthcodeApi(api_server.session(timeout=2))
    started = time.monotonic()
    with pytest.raises(ApiServerError):
        api.call("search_practitioner")
    assert time.monotonic() - started < 2 and len(api_server.requests_to("/api/v1/practitioners")) == 1


def test_a_slow_api_ends_at_the_deadline(api_server):
    api_server.endpoints(search_practitioner="/api/v1/practitioners")
    api_server.server.expect_request("/api/v1/practitioners").respond_with_handler(
        lambda _: (time.sleep(3), Response("{}"))[1]
    )
    api = HealthcodeApi(api_server.session(timeout=1))
    api.endpoint("search_practitioner")
    started = time.monotonic()
    with pytest.raises(TransportError, match="did not answer within"):
        api.call("search_practitioner")
    assert time.monotonic() - started < 2.5


def test_a_4xx_is_told_from_its_operation_outcome(api_server, api):
    body = outcome(diagnostics='dateOfbirth :Unparseable date: "1901-02-"')
    api_server.server.expect_request("/api/v1/find-member").respond_with_json(body, status=400)
    with pytest.raises(ApiRequestError) as caught:
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup", "dateOfbirth": "1901-02-"})
    message = str(caught.value)
    assert message == (
        "Healthcode API 'find_member' (POST) answered HTTP 400 Bad Request: error/value MSG_DATE_FORMAT "
        "(at Coverage) (details withheld: they may quote the request; "
        "log_content=True shows them). Check the fields sent against Healthcode's API library."
    )
    assert caught.value.status == 400 and caught.value.endpoint == "find_member"
    assert caught.value.issues[0].severity == "error" and caught.value.issues[0].diagnostics is None
    with pytest.raises(ApiRequestError) as caught:  # the diagnostics, when the call may log contents
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup"}, log_content=True)
    assert "'Invalid date format': dateOfbirth :Unparseable date: \"1901-02-\" (at Coverage)." in str(caught.value)


def test_an_answer_that_is_not_an_operation_outcome_is_never_quoted(api_server, api):
    body = {"resourceType": "Coverage", "beneficiary": {"display": PATIENT}, "subscriberId": MEMBERSHIP}
    api_server.server.expect_request("/api/v1/find-member").respond_with_json(body, status=409)
    with pytest.raises(ApiRequestError) as caught:
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup"})
    assert "409 Conflict" in str(caught.value)
    assert PATIENT not in str(caught.value) and MEMBERSHIP not in str(caught.value)
    assert caught.value.issues == ()


def test_hostile_outcome_texts_are_bounded_and_escaped(api_server, api):
    body = outcome(diagnostics="line one\nline two\x1b[31m" + "x" * 1000)
    body["issue"] = body["issue"] * 9
    api_server.server.expect_request("/api/v1/find-member").respond_with_json(body, status=422)
    with pytest.raises(ApiRequestError) as caught:  # log_content: the diagnostics are shown, escaped
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup"}, log_content=True)
    message = str(caught.value)
    assert "\n" not in message and "\x1b" not in message and "\\n" in message
    assert "x" * 201 not in message and message.count("MSG_DATE_FORMAT") == 5 and "4 more issue(s)" in message


def test_a_401_says_to_sign_in_again_and_a_403_names_the_site_id(api_server, api):
    api_server.server.expect_request("/api/v1/find-member").respond_with_json(outcome("login"), status=401)
    with pytest.raises(ApiRequestError, match="a supervisor must sign in again"):
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup"})
    api_server.server.clear()
    api_server.endpoints(find_member="/api/v1/find-member")
    api_server.server.expect_request("/api/v1/find-member").respond_with_json(
        outcome("forbidden", "MSG_SITE_NOT_PERMITTED", "Site not permitted"), status=403
    )
    with pytest.raises(ApiRequestError) as caught:
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup"})
    assert "MSG_SITE_NOT_PERMITTED" in str(caught.value)
    assert "SU-SiteId 'HC00ABC'" in str(caught.value) and "HEALTHCODE_SITE_ID" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (f"<html>{PATIENT}</html>", "text/html", r"not JSON \(text/html\)"),
        (json.dumps([PATIENT]), "application/json", "JSON that is not an object"),
    ],
)
def test_a_success_that_is_not_a_json_object_is_an_error_without_its_contents(
    api_server, api, body, content_type, fragment
):
    api_server.server.expect_request("/api/v1/find-member").respond_with_data(body, content_type=content_type)
    with pytest.raises(ApiAnswerError, match=fragment) as caught:
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup"})
    assert PATIENT not in str(caught.value)


def test_an_empty_success_is_an_empty_result(api_server, api):
    api_server.server.expect_request("/api/v1/appointments/AP1").respond_with_data("", status=204)
    result = api.call("delete_appointment", "DELETE", path="AP1")
    assert result == {} and repr(result) == "<Healthcode delete_appointment: 204 No Content, no content>"


# --- paging --------------------------------------------------------------------------------------------------


def tagged_page(page, count, total, names):
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "total": total,
        "meta": {
            "tag": [
                {"code": "page", "display": str(page)},
                {"code": "count", "display": str(count)},
                {"code": "maxRecords", "display": str(total)},
            ]
        },
        "entry": [{"resource": {"resourceType": "PaymentReconciliation", "id": n}} for n in names],
    }


def test_all_pages_by_healthcodes_page_tags_repeats_the_call_with_the_next_page(api_server, api):
    records = [f"RM{i:03}" for i in range(7)]

    def remittances(request):
        fields = parse_qs(request.get_data(as_text=True))
        page, count = int(fields.get("page", ["1"])[0]), int(fields["count"][0])
        return Response(json.dumps(tagged_page(page, count, 7, records[(page - 1) * count : page * count])))

    api_server.server.expect_request("/api/v1/find-member", method="POST").respond_with_handler(remittances)
    result = api.call("find_member", "POST", fields={"insurerIdentifier": "bup", "count": 3}, all_pages=True)
    assert [e["resource"]["id"] for e in result["entry"]] == records
    assert result.count == 7 and result.total == 7
    assert repr(result) == "<Healthcode find_member: 200 OK, Bundle of 7 PaymentReconciliation>"
    sent = [parse_qs(r.get_data(as_text=True)) for r in api_server.requests_to("/api/v1/find-member")]
    assert [s.get("page") for s in sent] == [None, ["2"], ["3"]]
    assert all(s["insurerIdentifier"] == ["bup"] and s["count"] == ["3"] for s in sent)


def test_all_pages_by_fhir_next_links_follows_the_servers_links_with_get(api_server, api):
    def practitioners(request):
        page = int(request.args.get("page", "1"))
        link = [{"relation": "self", "url": f"{api_server.base}/api/v1/practitioners?page={page}"}]
        if page < 3:
            link.append({"relation": "next", "url": f"/api/v1/practitioners?name=x&page={page + 1}"})
        body = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": 5,
            "link": link,
            "entry": [{"resource": {"resourceType": "Practitioner", "id": f"P{page}{i}"}} for i in range(2)],
        }
        return Response(json.dumps(body))

    api_server.server.expect_request("/api/v1/practitioners").respond_with_handler(practitioners)
    result = api.call("search_practitioner", fields={"name": "x", "count": 2}, all_pages=True)
    assert result.count == 6 and [link["relation"] for link in result["link"]] == ["self"]
    requests = api_server.requests_to("/api/v1/practitioners")
    assert [r.args.get("page") for r in requests] == [None, "2", "3"]
    assert all(r.headers["SU-SiteId"] == "HC00ABC" for r in requests)


def test_a_next_link_to_another_host_is_refused(api_server, api, elsewhere):
    body = {
        "resourceType": "Bundle",
        "total": 9,
        "entry": [{"resource": {"resourceType": "Practitioner"}}],
        "link": [{"relation": "next", "url": elsewhere.url_for("/page2")}],
    }
    api_server.server.expect_request("/api/v1/practitioners").respond_with_json(body)
    with pytest.raises(ApiOriginRefusedError):
        api.call("search_practitioner", all_pages=True)
    assert elsewhere.log == []


def test_paging_stops_at_an_empty_page_and_at_a_link_seen_before(api_server, api):
    empty = tagged_page(2, 3, 99, [])
    answers = iter([tagged_page(1, 3, 99, ["a", "b", "c"]), empty])
    api_server.server.expect_request("/api/v1/find-member").respond_with_handler(
        lambda _: Response(json.dumps(next(answers)))
    )
    assert api.call("find_member", "POST", fields={"count": 3}, all_pages=True).count == 3
    looping = {
        "resourceType": "Bundle",
        "entry": [{}],
        "link": [{"relation": "next", "url": f"{api_server.base}/api/v1/practitioners"}],
    }
    api_server.server.expect_request("/api/v1/practitioners").respond_with_json(looping)
    with pytest.raises(ApiAnswerError, match="a page read before"):
        api.call("search_practitioner", all_pages=True)


def test_without_all_pages_one_page_is_read(api_server, api):
    api_server.server.expect_request("/api/v1/find-member").respond_with_json(tagged_page(1, 3, 7, ["a", "b", "c"]))
    result = api.call("find_member", "POST", fields={"count": 3})
    assert repr(result) == "<Healthcode find_member: 200 OK, Bundle of 3 PaymentReconciliation, total 7>"
    assert len(api_server.requests_to("/api/v1/find-member")) == 1


# --- what the log says ---------------------------------------------------------------------------------------


def logged(caplog):
    """What this library and its HTTP client logged (the test server's own log shows every URL)."""
    return "\n".join(record.getMessage() for record in caplog.records if record.name != "werkzeug")


def test_the_log_names_the_call_and_what_came_back_never_the_values(api_server, api, caplog):
    caplog.set_level(logging.DEBUG)
    api_server.server.expect_request("/api/v1/find-member").respond_with_json(coverage_bundle(PATIENT))
    api_server.server.expect_request("/api/v1/practitioners").respond_with_json(coverage_bundle(PATIENT))
    api.call("find_member", "POST", fields={"lastName": PATIENT, "dateOfbirth": DOB, "membershipNumber": MEMBERSHIP})
    api.call("search_practitioner", fields={"lastName": PATIENT, "dateOfbirth": DOB, "membershipNumber": MEMBERSHIP})
    text = logged(caplog)
    assert "Healthcode API 'find_member': POST 200 OK, Bundle of 1 Coverage" in text
    assert "Healthcode API 'search_practitioner': GET 200 OK, Bundle of 1 Coverage" in text
    for value in ("Quarrendon", "Ottoline", DOB, MEMBERSHIP, API_TOKEN, "lastName="):
        assert value not in text, value


def test_contents_are_logged_when_asked_still_masked(api_server, caplog):
    caplog.set_level(logging.INFO)
    api_server.endpoints(find_member="/api/v1/find-member")
    api_server.server.expect_request("/api/v1/find-member").respond_with_json(
        {"resourceType": "Coverage", "beneficiary": {"display": PATIENT}, "echo": API_TOKEN}
    )
    api = HealthcodeApi(api_server.session())
    api.call("find_member", "POST", fields={"lastName": PATIENT}, log_content=True)
    text = logged(caplog)
    assert f'sends {{"lastName": "{PATIENT}"}}' in text and "answered {" in text and PATIENT in text
    assert API_TOKEN not in text
    caplog.clear()
    api.call("find_member", "POST", fields={"lastName": "Gray"}, log_content=False)
    assert PATIENT not in logged(caplog)
    quiet = HealthcodeApi(api_server.session(log_api_content=True))
    caplog.clear()
    quiet.call("find_member", "POST", fields={"lastName": "Gray"})
    assert PATIENT in logged(caplog) and API_TOKEN not in logged(caplog)


def test_a_transport_error_shows_no_query_string(api_server, unused_port):
    api = HealthcodeApi(api_server.session(api_discovery=f"http://127.0.0.1:{unused_port}" + DISCOVERY))
    api.session.api_discovery.offer({"gone_endpoint": f"http://127.0.0.1:{unused_port}/api/v1/gone"}, None)
    with pytest.raises(TransportError) as caught:
        api.call("gone", fields={"lastName": PATIENT})
    assert PATIENT not in str(caught.value) and "lastName" not in str(caught.value)
