"""Bad input gets a 4xx in the expected shape, never a 500."""

from __future__ import annotations

import base64
import string

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcode_sandbox import Sandbox

from .flows import HTTP, Flow

TOKEN_FIELDS = [
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "client_secret",
    "code_verifier",
    "refresh_token",
    "scope",
    "token",
]
GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", "password", "", "authorization_code\x00"]
AUTHORIZE_FIELDS = ["response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge"]
JUNK_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

junk_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=60)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


def assert_oauth_json_error(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert response.status_code >= 400
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["error"], str)


@pytest.mark.refresh_tokens  # so junk reaches the refresh grant too
@JUNK_SETTINGS
@given(
    fields=st.dictionaries(st.sampled_from(TOKEN_FIELDS) | junk_text, junk_text, max_size=8),
    grant_type=st.none() | st.sampled_from(GRANT_TYPES) | junk_text,
    client_id=st.sampled_from(["example_rpa_app", "nobody", ""]),
    authorization=st.none()
    | header_text.map(lambda text: "Basic " + base64.b64encode(text.encode()).decode())
    | header_text,
)
def test_junk_token_requests_get_json_errors(
    sandbox: Sandbox, fields: dict[str, str], grant_type: str | None, client_id: str, authorization: str | None
) -> None:
    data = {**fields, "client_id": client_id}
    if grant_type is not None:
        data["grant_type"] = grant_type
    # HTTP forbids leading/trailing blanks in header values; httpx would refuse to send them.
    headers = {"Authorization": authorization.strip()} if authorization and authorization.strip() else {}

    response = HTTP.post(f"{sandbox.url}/token", data=data, headers=headers)

    assert_oauth_json_error(response)


@JUNK_SETTINGS
@given(
    params=st.dictionaries(st.sampled_from(AUTHORIZE_FIELDS) | junk_text, junk_text, max_size=6),
    known=st.booleans(),
    method=st.sampled_from([None, "S256", "plain", "junk"]),
)
def test_junk_authorization_requests_never_fail_the_server(
    flow: Flow, params: dict[str, str], known: bool, method: str | None
) -> None:
    base = {"client_id": flow.client_id, "redirect_uri": flow.redirect_uri} if known else {}
    url = flow.authorize_url(code_challenge_method=method, **{**base, **params})

    response = HTTP.get(url)

    assert response.status_code in {200, 302, 400}, response.text
    if response.status_code == 302:
        assert response.headers["location"].startswith(flow.redirect_uri)


def test_redirect_uri_with_characters_authlib_will_not_echo_is_refused(flow: Flow) -> None:
    response = HTTP.get(flow.authorize_url(redirect_uri='https://x.example/"é\\'))

    assert response.status_code == 400
    assert 'role="alert"' in response.text


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ('{"grant_type": "authorization_code"}', "application/json"),
        ("grant_type=authorization_code", "text/plain"),
        ("grant_type=authorization_code", None),
    ],
)
def test_token_requests_must_be_form_encoded(sandbox: Sandbox, content: str, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    response = HTTP.post(f"{sandbox.url}/token", content=content, headers=headers)

    assert_oauth_json_error(response)
    assert response.json()["error"] == "invalid_request"


def test_huge_body_is_refused(sandbox: Sandbox) -> None:
    response = HTTP.post(f"{sandbox.url}/token", data={"grant_type": "authorization_code", "code": "x" * 70_000})

    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


def test_huge_parameter_is_refused(sandbox: Sandbox, flow: Flow) -> None:
    token = HTTP.post(f"{sandbox.url}/token", data={"grant_type": "authorization_code", "code": "x" * 5000})
    authorize = HTTP.get(flow.authorize_url(state="s" * 5000))

    assert token.status_code == 400
    assert token.json()["error"] == "invalid_request"
    assert authorize.status_code == 400
    assert "location" not in authorize.headers


def test_too_many_parameters_are_refused(sandbox: Sandbox) -> None:
    data = {f"p{index}": "v" for index in range(150)}

    response = HTTP.post(f"{sandbox.url}/token", data=data)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": "example_rpa_app"}, "unsupported_grant_type"),
        ({"client_id": "example_rpa_app"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "client_id": "example_rpa_app"}, "invalid_request"),
        pytest.param(
            {"grant_type": "refresh_token", "client_id": "example_rpa_app"},
            "invalid_request",
            marks=pytest.mark.refresh_tokens,
        ),
        ({"grant_type": "refresh_token", "client_id": "example_rpa_app"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "c"}, "invalid_client"),
    ],
    ids=["unsupported-grant", "no-grant", "no-code", "no-refresh-token", "refresh-tokens-off", "no-client"],
)
def test_incomplete_token_requests_get_the_rfc_error(sandbox: Sandbox, data: dict[str, str], error: str) -> None:
    response = HTTP.post(f"{sandbox.url}/token", data=data)

    assert_oauth_json_error(response)
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    "authorization",
    ["Basic !!!not-base64", "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(), "Basic " + "QQ=="],
)
def test_malformed_basic_auth_is_invalid_client(flow: Flow, authorization: str) -> None:
    response = HTTP.post(
        f"{flow.sandbox.url}/token",
        data={"grant_type": "authorization_code", "code": "c", "client_id": "example_rpa_app"},
        headers={"Authorization": authorization},
    )

    assert_oauth_json_error(response)
    assert response.json()["error"] in {"invalid_client", "invalid_grant"}


def test_wrong_method_and_unknown_path_answer_json(sandbox: Sandbox) -> None:
    wrong_method = HTTP.get(f"{sandbox.url}/token")
    unknown = HTTP.get(f"{sandbox.url}/no/such/thing")

    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "invalid_request"
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"


@pytest.mark.parametrize("body", ["{not json", "[]", ""])
def test_admin_api_rejects_junk_json(sandbox: Sandbox, body: str) -> None:
    response = HTTP.post(f"{sandbox.url}/_sandbox/faults", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_revocation_requests_must_be_form_encoded(sandbox: Sandbox) -> None:
    response = HTTP.post(f"{sandbox.url}/revoke", json={"token": "x"})

    assert_oauth_json_error(response)


def test_revocation_without_a_token_is_invalid_request(sandbox: Sandbox) -> None:
    response = HTTP.post(f"{sandbox.url}/revoke", data={"client_id": "example_rpa_app"})

    assert_oauth_json_error(response)
    assert response.json()["error"] == "invalid_request"


def test_printable_ascii_state_survives_the_round_trip(flow: Flow) -> None:
    flow.state = string.printable.strip()

    assert flow.sign_in()["state"] == flow.state
