"""Calling Healthcode's APIs, attacked: one test per break a red team found (docs/security.md, "Calling
Healthcode's APIs, attacked"). Real parts only: the sandbox signs the supervisor in; ``ApiServer`` is this
test's own API on a local port (its discovery document, its answers), ``Elsewhere`` another origin that
must never receive the token, ``SU-SiteId`` or ``HC-API-Version``. Each test failed on the code it was
found in."""

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from leak_scan import files_under, scan

from healthcode_auth import ApiDiscoveryError, ApiOriginRefusedError, ApiRequestError, HealthcodeApi, HealthcodeConfig
from healthcode_auth.errors import ApiAnswerError, ApiArgumentError, ConfigurationError, TransportError
from healthcode_auth.first_contact import first_contact_report, sso_section
from healthcode_auth.http_auth import API_HEADERS, HealthcodeHttpxAuth
from healthcode_auth.oauth2_session import HealthcodeOAuth2Session
from healthcode_auth.protocol.api_document import parse_api_document
from healthcode_auth.protocol.api_result import ApiDict, ApiList
from sandbox_clients import REDIRECT, new_session, sign_in

PATIENT = ("Ottoline", "Quarrendon-Fakename", "1901-02-03", "ZZ9876543")
LOWER = tuple(name.lower() for name in API_HEADERS)
OPENED = []  # sessions to close after each test


class Server(ThreadingHTTPServer):
    """A local origin: ``handler(request)`` gives (status, headers, body) or writes the answer itself;
    every request is kept in ``seen`` (method, path, headers with lower-case names)."""

    daemon_threads = True

    def __init__(self, handler=None):
        self.seen, self.handler = [], handler or (lambda request: (200, {}, {"resourceType": "Basic"}))
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                reply = server.handler(self)
                if reply is not None:
                    status, headers, body = reply
                    data = body if isinstance(body, bytes) else json.dumps(body).encode()
                    self.send_response(status)
                    for name, value in {
                        "Content-Type": "application/fhir+json",
                        **headers,
                        "Content-Length": str(len(data)),
                    }.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = answer

            def log_message(self, *args):  # quiet
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request, client_address):  # a client that stopped reading: expected here
        pass

    def carried(self):
        """The Healthcode headers each request carried."""
        return [{name: headers[name] for name in LOWER if name in headers} for _, _, headers in self.seen]


class ApiServer(Server):
    """The API: ``/.well-known/discovery-document.json`` names ``x`` (``/api/x``) and any ``endpoints``."""

    def __init__(self, handler=None, **endpoints):
        self.endpoints = {"x": "/api/x", **endpoints}
        api_handler = handler or (lambda request: (200, {}, {"resourceType": "Basic"}))
        super().__init__(
            lambda request: self.document() if request.path.startswith("/.well-known/") else api_handler(request)
        )

    def document(self):
        return (
            200,
            {"Content-Type": "application/json"},
            {f"{name}_endpoint": self.url + path for name, path in self.endpoints.items()},
        )


@pytest.fixture
def servers():
    made = []
    yield lambda cls=Server, *args, **kwargs: made.append(cls(*args, **kwargs)) or made[-1]
    for server in made:
        server.shutdown()
        server.server_close()


def signed_in(sandbox, tmp_path, api=None, **settings):
    """A signed-in session; its API discovery document ``api``'s when given, else the sandbox's."""
    where = {"api_discovery": f"{api.url}/.well-known/discovery-document.json"} if api else {}
    session = new_session(sandbox, tmp_path / "tokens.json", site_id="HC00ABC", **where, **settings)
    sign_in(session)
    OPENED.append(session)
    return session


@pytest.fixture(autouse=True)
def _close_sessions():
    yield
    while OPENED:
        OPENED.pop().client.close()


def test_a_backslash_or_at_sign_before_the_path_never_takes_the_token_elsewhere(sandbox, tmp_path, servers):
    api, elsewhere = servers(ApiServer), servers()
    session = signed_in(sandbox, tmp_path, api)
    typed = f"http://localhost:{elsewhere.port}\\@127.0.0.1:{api.port}/api/x"  # requests connects to localhost
    with pytest.raises(ApiOriginRefusedError), HealthcodeOAuth2Session(session) as client:
        client.get(typed, timeout=5)
    document = session.api_document()
    assert not document.allows(typed) and not document.allows(f"http://u@127.0.0.1:{api.port}/api/x")
    production = parse_api_document(
        {
            "find_member_endpoint": "https://api.healthcode.co.uk/fm",
            "odd_endpoint": "https://evil.example\\.healthcode.co.uk/x",
        },
        "https://api.healthcode.co.uk/.well-known/discovery-document.json",
    )
    assert set(production.urls) == {"find_member_endpoint"} and "backslash" in production.problems[0]
    assert elsewhere.seen == []


def test_httpx_without_event_hooks_strips_the_site_and_version_on_a_redirect_elsewhere(sandbox, tmp_path, servers):
    elsewhere = servers()
    api = servers(ApiServer, lambda request: (302, {"Location": f"{elsewhere.url}/b"}, b""))
    session = signed_in(sandbox, tmp_path, api)
    auth = HealthcodeHttpxAuth(session)
    with httpx.Client(auth=auth, follow_redirects=True, timeout=5) as client:  # no event hooks at all
        assert client.get(f"{api.url}/api/x").status_code == 200
    assert elsewhere.carried() == [{}] and len(api.carried()[-1]) == 3
    with auth.client(follow_redirects=True, timeout=5) as client:
        client.get(f"{api.url}/api/x")
    assert elsewhere.carried() == [{}, {}]

    def handler(request):  # a transport of the caller's own: httpx's trace never runs, the hooks do
        if request.url.port == api.port:
            return httpx.Response(302, headers={"Location": f"{elsewhere.url}/b"})
        mocked.append({name for name in LOWER if name in request.headers})
        return httpx.Response(200)

    mocked = []
    with auth.client(transport=httpx.MockTransport(handler), follow_redirects=True) as client:
        client.get(f"{api.url}/api/x")
    with httpx.Client(auth=auth, transport=httpx.MockTransport(handler), follow_redirects=True) as client:
        client.get(f"{api.url}/api/x")
    assert mocked == [set(), {"su-siteid", "hc-api-version"}]  # the exception the docs state; never the token


CONVERTED_SUITE = """
*** Settings ***
Library    HealthcodeLibrary    site_id=HC00ABC

*** Test Cases ***
Dict Assignment Then Log An Entry
    &{members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup    lastName=${SURNAME}
    Log    ${members}[entry][0]
Create Dictionary Then Log The Original
    ${members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup    lastName=${SURNAME}
    ${held}=    Create Dictionary    answer=${members}
    Log    ${held}[answer][entry]
    Log    ${members}[entry][0]
    Log    ${members}[entry][0][resource][contained]
"""


def test_robots_dictionary_conversion_leaves_the_answer_a_summary(sandbox, tmp_path, monkeypatch):
    from robot.utils import DotDict

    session = signed_in(sandbox, tmp_path)
    members = HealthcodeApi(session).call(
        "find_member", "POST", fields={"insurerIdentifier": "bup", "lastName": PATIENT[1]}
    )
    DotDict(answer=members)  # what Create Dictionary does: it rewrites the answer's lists in place
    entries = members["entry"]
    entries.append({"resource": {"name": PATIENT[0]}})
    entries.extend([dict(entries[0])])
    entries[1:1] = [{"n": PATIENT[3]}]
    assert all(type(entry) is ApiDict for entry in entries) and type(entries[0]["resource"]["contained"]) is ApiList
    assert not any(value in repr(list(entries)) + str(entries[0]) for value in PATIENT)
    session.client.close()
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", "cache-key-of-the-api-red-team")
    cache = tmp_path / "robot-tokens.json"
    sign_in(new_session(sandbox, cache))
    suite = tmp_path / "converted.robot"
    suite.write_text(textwrap.dedent(CONVERTED_SUITE))
    env = {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": REDIRECT,
        "HEALTHCODE_ENVIRONMENT": sandbox.discovery_url,
        "HEALTHCODE_TOKEN_CACHE": str(cache),
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "robot",
            "--outputdir",
            str(tmp_path / "out"),
            "--consolecolors",
            "off",
            "-v",
            f"SURNAME:{PATIENT[1]}",
            str(suite),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "2 tests, 2 passed" in run.stdout, run.stdout[-3000:]
    scanned, leaks = scan(files_under(tmp_path / "out"), {"patient": [PATIENT[0], PATIENT[2], PATIENT[3]]})
    assert scanned >= 3 and leaks == []


def test_an_outcome_that_echoes_patient_data_is_not_quoted(sandbox, tmp_path, servers):
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "value",
                "details": {"coding": [{"code": "MSG_DATE_FORMAT", "display": "Invalid date format"}]},
                "diagnostics": f"dateOfbirth '03/02/1901' is not a date ({PATIENT[0]} {PATIENT[1]}, {PATIENT[3]})",
                "location": ["dateOfbirth"],
                "expression": [f"Patient.name.where(family='{PATIENT[1]}')"],
            }
        ],
    }
    api = servers(ApiServer, lambda request: (400, {}, outcome))
    session = signed_in(sandbox, tmp_path, api)
    with pytest.raises(ApiRequestError) as caught:
        HealthcodeApi(session).call("x", "POST", fields={"dateOfbirth": "03/02/1901"})
    shown = str(caught.value) + repr(caught.value.issues)
    assert "MSG_DATE_FORMAT (at dateOfbirth) (details withheld" in shown
    assert not any(value in shown for value in (*PATIENT, "1901"))
    with pytest.raises(ApiRequestError, match=PATIENT[3]):
        HealthcodeApi(session).call("x", "POST", fields={"dateOfbirth": "03/02/1901"}, log_content=True)


def test_httpx_and_httpcore_log_no_path_query_or_header(sandbox, tmp_path, servers, caplog):
    def answer(request):
        if request.path.startswith("/api/moved"):
            return 302, {"Location": f"/api/x?{request.path.split('?', 1)[1]}"}, b""
        return 201, {"Location": f"/api/member/{PATIENT[3]}"}, {"resourceType": "Patient"}

    api = servers(ApiServer, answer, member="/api/member", moved="/api/moved")
    session = signed_in(sandbox, tmp_path, api)
    caplog.set_level(logging.DEBUG)
    calls = HealthcodeApi(session)
    calls.call("member", path=PATIENT[3])
    calls.call("moved", fields={"lastName": PATIENT[1], "birthDate": PATIENT[2]})
    records = [r for r in caplog.records if r.name.startswith(("httpx", "httpcore"))]
    assert any(r.getMessage() == f'HTTP Request: GET {api.url} "HTTP/1.1 201"' for r in records)  # no reason phrase
    assert any(r.getMessage() == "receive_response_headers.complete" for r in records)
    assert not any(value in r.getMessage() for r in records for value in PATIENT)


def test_arguments_that_cannot_be_sent_are_argument_errors_quoting_no_value(sandbox, tmp_path):
    import datetime

    session = signed_in(sandbox, tmp_path)
    api, circular = HealthcodeApi(session), {}
    circular["self"] = circular
    for call in (
        lambda: api.call("find_member", "POST", json={"birthDate": datetime.date(1901, 2, 3)}),
        lambda: api.call("find_member", "POST", json=circular),
        lambda: api.call("find_member", "POST", json={"x": float("nan")}),
        lambda: api.call("find_member", "POST", json=f'{{"family": "{PATIENT[1]}"}}'),
        lambda: api.call(5),
        lambda: api.endpoint(None),
        lambda: api.call("get_remittance", path=PATIENT[3] * 10_000),
        lambda: api.call("search_practitioner", fields={"name": PATIENT[1] * 5_000}),
        lambda: api.call("search_practitioner", fields={"name": PATIENT[1] + "\ud800"}),
        lambda: api.call("get_remittance", path="\udfff" + PATIENT[3]),
    ):
        with pytest.raises(ApiArgumentError) as caught:
            call()
        assert not any(value in str(caught.value) for value in PATIENT), str(caught.value)
    assert sandbox.api_calls() == []


def test_an_unusable_location_or_endpoint_is_a_transport_error_or_left_out(sandbox, tmp_path, servers, caplog):
    def answer(request):
        request.wfile.write(b"HTTP/1.1 302 Found\r\nLocation: http:127.0.0.1:5555/b\r\nContent-Length: 0\r\n\r\n")

    api = servers(ApiServer, answer, huge="/api/" + "a" * 70_000)
    session = signed_in(sandbox, tmp_path, api)
    with pytest.raises(TransportError, match="not a usable URL"):
        HealthcodeApi(session).call("x")
    assert "huge_endpoint': the URL is 700" in caplog.text and "characters long, more than 2000" in caplog.text
    with pytest.raises(ApiDiscoveryError, match="names no API 'huge'"):
        HealthcodeApi(session).call("huge")


def test_dot_segments_never_reach_the_collection(sandbox, tmp_path):
    session = signed_in(sandbox, tmp_path)
    for path in (".", "..", " "):
        with pytest.raises(ApiArgumentError, match="'.' or '..'"):
            HealthcodeApi(session).call("delete_appointment", "DELETE", path=path)
    assert sandbox.api_calls() == []


def test_fetching_the_document_again_keeps_the_calls_deadline(sandbox, tmp_path, servers):
    fetches = []

    def answer(request):
        time.sleep(1.2)
        return 404, {}, {"resourceType": "OperationOutcome", "issue": []}

    api = servers(ApiServer, answer)
    document = api.handler

    def slow_refetch(request):
        fetches.append(request.path)
        if request.path.startswith("/.well-known/") and len(fetches) > 1:
            time.sleep(3)  # the refetch after the 404: far past the call's 2-second deadline
        return document(request)

    api.handler = slow_refetch
    session = signed_in(sandbox, tmp_path, api, timeout=2)
    calls = HealthcodeApi(session)
    calls.endpoint("x")
    started = time.monotonic()
    with pytest.raises(TransportError, match="did not finish within 2 seconds"):
        calls.call("x")
    assert time.monotonic() - started < 2.6


def test_a_large_answer_is_capped_and_costs_nothing_to_return(sandbox, tmp_path, servers):
    tiny = b'{"resourceType":"Bundle","entry":[' + b",".join([b'{"a":{}}'] * 400_000) + b"]}"
    api = servers(
        ApiServer,
        lambda request: (200, {}, tiny if "small" in request.path else tiny + b" " * 2_000_000),
        small="/api/small",
    )
    session = signed_in(sandbox, tmp_path, api)
    with pytest.raises(TransportError, match="more than 5000000 bytes"):
        HealthcodeApi(session).call("x")
    result = HealthcodeApi(session).call("small")
    assert type(dict.__getitem__(result, "entry")) is list  # returned unwrapped: each level is wrapped when read
    assert result.count == 400_000 and type(result["entry"][0]) is ApiDict


def test_the_report_escapes_hosts_and_no_message_shows_a_query(sandbox, tmp_path, unused_port):
    hosts = sso_section({"a": "https://host\u200b.example/", "b": "https://\u202eelgoog.example/"}, "https://s/x")
    assert hosts["hosts"] == ["https://\\u202eelgoog.example", "https://host\\u200b.example"]
    session = new_session(
        sandbox, tmp_path / "tokens.json", api_discovery=f"http://127.0.0.1:{unused_port}/doc.json?sig=DOCQUERYSECRET"
    )
    report = first_contact_report(session).as_text()
    assert "Could not connect to the API discovery document" in report and "DOCQUERYSECRET" not in report
    for value in ("http://evil.example/doc?sig=SECRETSIG", "https://h.example/doc#SECRETFRAG"):
        with pytest.raises(ConfigurationError) as caught:
            HealthcodeConfig(
                client_id="c",
                redirect_uri=REDIRECT,
                environment=sandbox.discovery_url,
                token_cache="off",
                api_discovery=value,
            )
        assert "SECRET" not in str(caught.value)


def test_closing_the_client_while_a_thread_waits_ends_that_wait_and_blocks_no_one(sandbox, tmp_path, servers):
    api = servers(ApiServer)
    document = api.handler
    api.handler = lambda r: (503, {}, b"") if r.path.startswith("/.well-known/") and len(api.seen) > 1 else document(r)
    session = signed_in(sandbox, tmp_path, api, timeout=5)
    calls = HealthcodeApi(session)
    calls.endpoint("x")
    outcome = []
    (worker := threading.Thread(target=lambda: outcome.append(_raised(calls.refresh_discovery)), daemon=True)).start()
    time.sleep(0.1)  # the refetch met a 503: the transport sleeps before it tries again
    session.client.close()
    worker.join(timeout=5)
    assert not worker.is_alive() and isinstance(outcome[0], TransportError) and "was closed" in str(outcome[0])
    api.handler = document
    (other := threading.Thread(target=lambda: outcome.append(calls.call("x")), daemon=True)).start()
    other.join(timeout=10)
    assert not other.is_alive() and outcome[1].resource_type == "Basic"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_child_forked_while_a_thread_fetches_the_document_is_not_blocked(sandbox, tmp_path, servers):
    api = servers(ApiServer)
    document = api.handler
    api.handler = lambda r: (time.sleep(3), document(r))[1] if r.path.startswith("/.well-known/") else document(r)
    session = signed_in(sandbox, tmp_path, api, timeout=5)
    calls = HealthcodeApi(session)
    calls.endpoint("x")
    threading.Thread(target=lambda: _raised(calls.refresh_discovery), daemon=True).start()
    time.sleep(0.5)  # that thread is fetching the document now
    pid = os.fork()
    if pid == 0:  # the child: one call, then out, whatever happens (0 when it got the answer)
        try:
            os._exit(0 if getattr(_raised(lambda: calls.call("x")), "resource_type", None) == "Basic" else 1)
        finally:
            os._exit(1)
    for _ in range(300):  # 15 s
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    pytest.fail("the child hung: the document's lock was inherited held")


def test_the_smaller_breaks_wording_a_cached_origin_list_and_paging_that_is_stuck(
    sandbox, tmp_path, servers, unused_port
):
    session = new_session(sandbox, tmp_path / "none.json", api_discovery=f"http://127.0.0.1:{unused_port}/doc.json")
    with pytest.raises(TransportError) as caught:
        session.api_document()
    assert "SSO" not in str(caught.value) and "api_discovery setting" in str(caught.value)
    stuck = {
        "resourceType": "Bundle",
        "total": 10**6,
        "entry": [{"resource": {"resourceType": "Basic"}}],
        "meta": {"tag": [{"code": "page", "display": "1"}, {"code": "count", "display": "1"}]},
    }
    api = servers(ApiServer, lambda request: (200, {}, stuck))
    session = signed_in(sandbox, tmp_path, api)
    document = session.api_document()
    assert document.origins is document.origins  # computed once, not on every request
    with pytest.raises(ApiAnswerError, match="the list would be incomplete"):
        HealthcodeApi(session).call("x", "POST", fields={"page": "1", "count": "1"}, all_pages=True)


def _raised(function):
    try:
        return function()
    except Exception as error:
        return error


# The second round: the fixes above, attacked again (docs/security.md, "Calling Healthcode's APIs, round two").


def test_round_two_an_apostrophe_or_a_reason_phrase_never_carries_patient_data_into_a_log(
    sandbox, tmp_path, servers, caplog
):
    def answer(request):  # a reason phrase of the server's own, echoing the patient
        body = json.dumps({"resourceType": "Basic"}).encode()
        request.send_response(200, f"Member {PATIENT[0]} {PATIENT[2]}")
        request.send_header("Content-Type", "application/fhir+json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    api = servers(ApiServer, answer)
    session = signed_in(sandbox, tmp_path, api)
    caplog.set_level(logging.DEBUG)
    HealthcodeApi(session).call("x", path=f"O'{PATIENT[1]}", fields={"name": f"O'{PATIENT[0]}", "dob": PATIENT[2]})
    logged = [r.getMessage() for r in caplog.records if r.name.startswith(("httpx", "httpcore"))]
    assert any(line.startswith(f'HTTP Request: GET {api.url} "HTTP/1.1 200"') for line in logged)
    assert not [line for line in logged if any(value in line for value in PATIENT)]


def test_round_two_an_answer_that_is_not_http_is_said_without_the_line_it_quotes(sandbox, tmp_path, servers):
    def answer(request):  # a header line without its colon: h11 quotes the line it could not parse
        request.wfile.write(f"HTTP/1.1 200 OK\r\nX-Member {PATIENT[0]} {PATIENT[3]}\r\n\r\n".encode())
        request.close_connection = True

    api = servers(ApiServer, answer)
    session = signed_in(sandbox, tmp_path, api)
    with pytest.raises(TransportError, match="answered what is not HTTP") as caught:
        HealthcodeApi(session).call("x")
    assert not any(value in str(caught.value) for value in PATIENT)


def test_round_two_an_outcome_or_content_type_that_echoes_patient_data_is_not_quoted(sandbox, tmp_path, servers):
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "value",
                "details": {"coding": [{"code": "MSG_DATE_FORMAT", "display": "Invalid date format"}]},
                "location": ["dateOfbirth", f"Coverage.identifier[{PATIENT[3]}]", PATIENT[2], PATIENT[0]],
            },
            {
                "severity": PATIENT[0],
                "code": PATIENT[2],
                "details": {
                    "coding": [{"code": f"{PATIENT[0]} Q", "display": f"No member {PATIENT[0]} born {PATIENT[2]}"}]
                },
            },
        ],
    }

    def answer(request):
        if request.path.startswith("/api/plain"):
            return 200, {"Content-Type": f"text/html; member={PATIENT[3]}"}, b"<p>hello</p>"
        return 400, {}, outcome

    api = servers(ApiServer, answer, plain="/api/plain")
    calls = HealthcodeApi(signed_in(sandbox, tmp_path, api))
    with pytest.raises(ApiRequestError) as refused:
        calls.call("x")
    shown = str(refused.value) + repr(refused.value.issues)
    assert "MSG_DATE_FORMAT (at dateOfbirth)" in shown and "(details withheld" in shown
    with pytest.raises(ApiAnswerError, match=r"not JSON \(text/html\)") as plain:
        calls.call("plain")
    assert not [value for value in PATIENT for text in (shown, str(plain.value)) if value in text]


def test_round_two_requests_own_debug_lines_hold_no_path_or_query(sandbox, tmp_path, servers, caplog):
    import requests

    from healthcode_auth.http_auth import HealthcodeRequestsAuth

    api = servers(ApiServer)
    session = signed_in(sandbox, tmp_path, api)
    caplog.set_level(logging.DEBUG)
    with requests.Session() as browser:
        browser.get(
            f"{api.url}/api/x/{PATIENT[3]}",
            params={"lastName": PATIENT[0]},
            auth=HealthcodeRequestsAuth(session),
            timeout=10,
        )
        HealthcodeOAuth2Session(session).get(f"{api.url}/api/x/{PATIENT[3]}?dob={PATIENT[2]}", timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any('"GET /... HTTP/1.1" 200' in line for line in lines)
    assert not [line for line in lines if any(value in line for value in PATIENT)]


def test_round_two_an_ip_literal_in_a_production_document_is_no_healthcode_host():
    document = parse_api_document(
        {
            "a_endpoint": "https://[v1.healthcode.co.uk]/x",
            "b_endpoint": "https://[fe80::1%25.healthcode.co.uk]/x",
            "c_endpoint": "https://a%2f.healthcode.co.uk/x",
            "d_endpoint": "https://api.healthcode.co.uk/d",
            "e_endpoint": "https://api.healthcode.co.uk../e",
        },  # an empty label
        "https://api.healthcode.co.uk/.well-known/discovery-document.json",
    )
    assert list(document.urls) == ["d_endpoint"] and len(document.problems) == 4


# The third round: the second round's fixes, attacked again.


def test_round_three_requests_own_warnings_and_oauthlibs_debug_lines_quote_nothing(sandbox, tmp_path, servers, caplog):
    import requests

    from healthcode_auth.http_auth import HealthcodeRequestsAuth

    def answer(request):  # a header line without its colon, quoting the patient
        request.wfile.write(
            f"HTTP/1.1 200 OK\r\nX-Member {PATIENT[0]} {PATIENT[3]}\r\nContent-Length: 2\r\n\r\n{{}}".encode()
        )
        request.close_connection = True

    api = servers(ApiServer, answer)
    session = signed_in(sandbox, tmp_path, api)
    caplog.set_level(logging.DEBUG)
    with requests.Session() as browser:
        browser.get(
            f"{api.url}/api/x/{PATIENT[3]}",
            params={"dob": PATIENT[2]},
            auth=HealthcodeRequestsAuth(session),
            timeout=10,
        )
    oauth = HealthcodeOAuth2Session(session)
    logging.getLogger("requests_oauthlib.oauth2_session").debug(
        "Supplying headers %s and data %s", {"X-Member": PATIENT[0]}, {"dob": PATIENT[2]}
    )
    oauth.close()
    records = [r for r in caplog.records if r.name.startswith(("urllib3", "requests_oauthlib"))]
    assert any(r.getMessage() == "Failed to parse headers" and r.exc_info is None for r in records)
    assert any(r.getMessage() == "Supplying headers" for r in records)
    assert not [r.getMessage() for r in records if any(value in r.getMessage() for value in PATIENT)]


def test_round_three_outcome_codes_displays_and_encodings_quote_no_value(sandbox, tmp_path, servers):
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "value",
                "details": {
                    "coding": [
                        {"code": PATIENT[3], "display": f"{PATIENT[0]} is not a member"},
                        {"code": "MSG_NO_MEMBER"},
                    ]
                },
            }
        ],
    }

    def answer(request):
        if request.path.startswith("/api/packed"):
            return 200, {"Content-Encoding": f"{PATIENT[0]}-{PATIENT[3]}"}, b"{}"
        if request.path.startswith("/api/odd"):
            return 200, {"Content-Type": f"{PATIENT[0]}/{PATIENT[3]}"}, b"hello"
        return 404, {}, outcome

    api = servers(ApiServer, answer, packed="/api/packed", odd="/api/odd")
    calls = HealthcodeApi(signed_in(sandbox, tmp_path, api))
    texts = []
    for name in ("x", "packed", "odd"):
        with pytest.raises((ApiRequestError, ApiAnswerError, TransportError)) as caught:
            calls.call(name)
        texts.append(str(caught.value) + repr(getattr(caught.value, "issues", ())))
    assert "MSG_NO_MEMBER" in texts[0] and "an unknown one" in texts[1] and "an unexpected content type" in texts[2]
    assert not [value for value in PATIENT for text in texts if value in text]
