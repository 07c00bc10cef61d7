"""Healthcode's APIs through the core, against the sandbox's API side (real HTTP, a real sign-in, no mocks):
the discovery document, the headers, where fields go, paging, moves, retries, OperationOutcome errors, and
what never leaves for another host. ``Recorder`` is this test's own server on another origin: it records the
headers of anything sent to it, which must never be the token, the site id or the API version."""

import asyncio
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import requests

from healthcode_auth import (
    ApiDiscoveryError,
    ApiOriginRefusedError,
    ApiRequestError,
    ApiServerError,
    HealthcodeApi,
)
from healthcode_auth.errors import MissingSettingError
from healthcode_auth.first_contact import first_contact_report
from healthcode_auth.http_auth import API_HEADERS, HealthcodeHttpxAuth, HealthcodeRequestsAuth
from healthcode_auth.oauth2_session import HealthcodeOAuth2Session
from sandbox_clients import new_session, sign_in

PATIENT = ("Ottoline", "Quarrendon-Fakename", "1901-02-03", "ZZ9876543")  # the sandbox's made-up patient


class Recorder(ThreadingHTTPServer):
    """Another origin: answers every request with ``{}`` and keeps its method, path and headers."""

    def __init__(self):
        self.seen = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                recorder.seen.append((self.command, self.path, dict(self.headers)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = do_DELETE = answer

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def headers_seen(self):
        """Which of the three headers each request carried (lower-cased names, as http.server keeps them)."""
        return [{name: headers.get(name) for name in API_HEADERS} for _, _, headers in self.seen]


@pytest.fixture
def recorder():
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def session(sandbox, tmp_path):
    session = new_session(sandbox, tmp_path / "tokens.json", site_id="HC00ABC")
    sign_in(session)
    sandbox.reset_stats()
    yield session
    session.client.close()


@pytest.fixture
def api(session):
    return HealthcodeApi(session)


NONE = dict.fromkeys(API_HEADERS)


def test_find_member_sends_the_three_headers_and_a_form_and_returns_coverage(sandbox, api):
    result = api.call("find_member", "POST", fields={"insurerIdentifier": "bup", "lastName": PATIENT[1]})
    assert repr(result) == "<Healthcode find_member: 200 OK, Bundle of 1 Coverage>"
    coverage = result["entry"][0]["resource"]
    assert coverage["subscriberId"] == PATIENT[3] and repr(coverage) == "<Coverage>"
    (call,) = sandbox.api_calls("find_member")
    assert (call.method, call.status, call.site_id, call.api_version, call.bearer) == (
        "POST",
        200,
        "HC00ABC",
        "1",
        True,
    )
    assert call.content_type.startswith("application/x-www-form-urlencoded")
    assert sandbox.request_count("api_discovery") == 1


def test_remittances_are_read_page_by_page_into_one_bundle(sandbox, api):
    result = api.call("search_remittance_summary", "POST", fields={"insurerIdentifier": "bup"}, all_pages=True)
    assert result.count == 25 and result.total == 25
    assert repr(result) == "<Healthcode search_remittance_summary: 200 OK, Bundle of 25 PaymentReconciliation>"
    assert len(sandbox.api_calls("search_remittance_summary")) == 3
    first = result["entry"][0]["resource"]["id"]
    one = api.call("get_remittance", path=first)
    assert one.resource_type == "PaymentReconciliation" and one["id"] == first


def test_a_get_list_is_read_by_its_fhir_next_links(sandbox, api):
    one_page = api.call("search_practitioner", fields={"count": 2})
    every_page = api.call("search_practitioner", fields={"count": 2}, all_pages=True)
    assert one_page.count == 2 and every_page.count == every_page.total == one_page.total > 2
    calls = sandbox.api_calls("search_practitioner")
    assert all(call.method == "GET" and call.site_id == "HC00ABC" and call.bearer for call in calls)


def test_a_delete_answers_an_information_outcome(api):
    result = api.call("delete_appointment", "DELETE", path="AP00001")
    assert repr(result) == "<Healthcode delete_appointment: 200 OK, OperationOutcome (information)>"


def test_a_site_the_supervisor_may_not_use_fails_with_healthcodes_outcome(sandbox, tmp_path):
    session = new_session(sandbox, tmp_path / "tokens.json", site_id="HC16190")  # the MFA supervisor's site
    sign_in(session)
    with pytest.raises(ApiRequestError) as caught:
        HealthcodeApi(session).call("find_member", "POST", fields={"insurerIdentifier": "bup"})
    message = str(caught.value)
    assert caught.value.status == 403 and "MSG_SITE_NOT_PERMITTED" in message
    assert "SU-SiteId 'HC16190'" in message and "HEALTHCODE_SITE_ID" in message
    session.client.close()


def test_an_api_version_the_api_does_not_support_is_its_outcome(sandbox, tmp_path):
    session = new_session(sandbox, tmp_path / "tokens.json", site_id="HC00ABC", api_version="2")
    sign_in(session)
    with pytest.raises(ApiRequestError, match="not-supported") as caught:
        HealthcodeApi(session).call("search_practitioner")
    assert caught.value.status == 400
    assert sandbox.api_calls("search_practitioner")[-1].api_version == "2"
    session.client.close()


def test_a_bad_field_is_told_from_the_outcome(api):
    with pytest.raises(ApiRequestError) as caught:
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup", "dateOfbirth": "03/02/1901"})
    assert "MSG_DATE_FORMAT (at" in str(caught.value)
    with pytest.raises(ApiRequestError, match="insurerIdentifier"):
        api.call("find_member", "POST", fields={"lastName": "Gray"})


@pytest.mark.parametrize("status", [301, 302])
def test_a_moved_api_is_followed_once_with_the_headers_then_the_document_is_read_again(sandbox, api, status):
    sandbox.set_faults(api_moved=1, api_moved_status=status)
    result = api.call("find_member", "POST", fields={"insurerIdentifier": "bup", "lastName": PATIENT[1]})
    assert result.count == 1
    first, moved = sandbox.api_calls("find_member")
    assert first.status == status and moved.path.startswith("/api/v2-moved/")
    assert (moved.method, moved.site_id, moved.api_version, moved.bearer) == ("POST", "HC00ABC", "1", True)
    assert sandbox.request_count("api_discovery") == 2


def test_an_api_that_moved_for_good_is_found_again_after_a_404(sandbox, api):
    api.endpoint("find_member")
    sandbox.set_faults(api_moved_permanently=True)
    assert api.call("find_member", "POST", fields={"insurerIdentifier": "bup"}).resource_type == "Bundle"
    assert "/api/v2-moved/" in api.endpoint("find_member")
    assert [call.status for call in sandbox.api_calls("find_member")] == [404, 200]


def test_a_redirect_to_another_host_is_refused_and_it_receives_nothing(sandbox, api, recorder):
    sandbox.set_faults(api_redirect_elsewhere=f"{recorder.url}/collect")
    with pytest.raises(ApiOriginRefusedError, match="nothing was sent there"):
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup", "lastName": PATIENT[1]})
    assert recorder.seen == []


def test_a_gets_5xx_is_retried_then_reported(sandbox, api):
    sandbox.set_faults(api_failures=1)
    assert api.call("search_practitioner").resource_type == "Bundle"
    assert [call.status for call in sandbox.api_calls("search_practitioner")] == [503, 200]
    sandbox.reset_stats()
    sandbox.set_faults(api_failures=5)
    with pytest.raises(ApiServerError, match="tried 3 times"):
        api.call("search_practitioner")
    assert len(sandbox.api_calls("search_practitioner")) == 3


def test_a_posts_5xx_is_never_repeated(sandbox, api):
    sandbox.set_faults(api_failures=1)
    with pytest.raises(ApiServerError, match="Healthcode asks to be told"):
        api.call("find_member", "POST", fields={"insurerIdentifier": "bup"})
    assert len(sandbox.api_calls("find_member")) == 1


def test_an_operation_outcome_error_reaches_the_caller(sandbox, api):
    sandbox.set_faults(api_outcome_error=1)
    with pytest.raises(ApiRequestError) as caught:
        api.call("search_practitioner")
    assert caught.value.status == 422 and caught.value.issues and "422 Unprocessable" in str(caught.value)


def test_an_unknown_api_lists_the_names_the_document_has(api):
    with pytest.raises(ApiDiscoveryError) as caught:
        api.endpoint("find_members")
    assert "find_member" in caught.value.known and "search_remittance_summary" in str(caught.value)


def test_the_next_robot_finds_the_document_beside_the_token(sandbox, session, tmp_path):
    HealthcodeApi(session).endpoint("find_member")
    next_robot = new_session(sandbox, tmp_path / "tokens.json", site_id="HC00ABC")
    assert HealthcodeApi(next_robot).call("search_practitioner").resource_type == "Bundle"
    assert sandbox.request_count("api_discovery") == 1
    next_robot.client.close()


def test_without_a_site_id_no_api_is_called(sandbox, tmp_path):
    session = new_session(sandbox, tmp_path / "tokens.json")
    sign_in(session)
    with pytest.raises(MissingSettingError, match="My Account"):
        HealthcodeApi(session).call("search_practitioner")
    assert sandbox.api_calls() == []
    session.client.close()


def test_no_patient_data_and_no_token_in_the_log(api, session, caplog):
    caplog.set_level(logging.DEBUG)
    api.call(
        "find_member", "POST", fields={"insurerIdentifier": "bup", "lastName": PATIENT[1], "dateOfbirth": PATIENT[2]}
    )
    api.call("search_practitioner", fields={"name": PATIENT[0], "membershipNumber": PATIENT[3]})
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("healthcode_sandbox"))
    assert "Healthcode API 'find_member': POST 200 OK, Bundle of 1 Coverage" in logged
    for value in (*PATIENT, session.current_token().access_token):
        assert value not in logged, value


# --- the auth adapters: the sandbox, and the test's own server on another origin ------------------------------


def practitioners(session):
    return HealthcodeApi(session).endpoint("search_practitioner")


def test_requests_auth_sends_the_headers_to_the_api_refuses_elsewhere_and_strips_them_on_a_redirect(
    sandbox, session, recorder
):
    auth = HealthcodeRequestsAuth(session)
    assert requests.get(practitioners(session), auth=auth, timeout=10).status_code == 200
    assert sandbox.api_calls("search_practitioner")[-1].site_id == "HC00ABC"
    with pytest.raises(ApiOriginRefusedError):
        requests.get(f"{recorder.url}/collect", auth=auth, timeout=10)
    assert recorder.seen == []
    sandbox.set_faults(api_redirect_elsewhere=f"{recorder.url}/collect")
    requests.get(practitioners(session), auth=auth, timeout=10)
    assert recorder.headers_seen() == [NONE]


def test_httpx_auth_does_the_same_with_its_event_hooks(sandbox, session, recorder):
    auth = HealthcodeHttpxAuth(session)
    with httpx.Client(auth=auth, event_hooks=auth.event_hooks, follow_redirects=True, timeout=10) as client:
        assert client.get(practitioners(session)).status_code == 200
        with pytest.raises(ApiOriginRefusedError):
            client.get(f"{recorder.url}/collect")
        assert recorder.seen == []
        sandbox.set_faults(api_redirect_elsewhere=f"{recorder.url}/collect", api_moved_status=307)
        client.get(practitioners(session), params={"name": PATIENT[1]})
    assert recorder.headers_seen() == [NONE]

    async def asynchronous():
        async with httpx.AsyncClient(auth=auth, event_hooks=auth.async_event_hooks, follow_redirects=True) as client:
            sandbox.set_faults(api_redirect_elsewhere=f"{recorder.url}/collect")
            await client.get(practitioners(session))

    asyncio.run(asynchronous())
    assert recorder.headers_seen() == [NONE, NONE]


def test_the_oauth2_session_does_the_same(sandbox, session, recorder):
    with HealthcodeOAuth2Session(session) as client:
        assert client.get(practitioners(session), timeout=10).status_code == 200
        assert sandbox.api_calls("search_practitioner")[-1].bearer
        with pytest.raises(ApiOriginRefusedError):
            client.get(f"{recorder.url}/collect", timeout=10)
        assert recorder.seen == []
        sandbox.set_faults(api_redirect_elsewhere=f"{recorder.url}/collect")
        client.get(practitioners(session), timeout=10)
    assert recorder.headers_seen() == [NONE]


def test_the_first_contact_report_after_a_sign_in(sandbox, session):
    report = first_contact_report(session)
    data = report.as_dict()
    assert "find_member_endpoint" in data["api"]["keys"] and data["api"]["hosts"] == [sandbox.url]
    assert "authorization_code" in data["sso"]["grant_types"] and data["sso"]["code_challenge_methods"] == ["S256"]
    assert {"sub", "exp", "iss"} <= set(data["token"]["claim_names"]) and data["token"]["header"]["alg"]
    shown = report.as_text() + json.dumps(data)
    token = session.current_token()
    for value in (token.access_token, "Sandbox Supervisor", "HC00ABC", token.supervisor):
        assert value not in shown, value
