"""/token: exchanges, client authentication, invalid grants, the JWT and refresh tokens."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from healthcode_sandbox import Client, Sandbox

from .conftest import AWKWARD_SECRET, CONFIDENTIAL_ID
from .flows import HTTP, Flow, basic_auth


def raw_basic_auth(client_id: str, client_secret: str) -> dict[str, str]:
    """Basic auth without the RFC 6749 2.3.1 form-encoding step (a common client bug)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()}


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == error


# -- successful exchanges ---------------------------------------------------------------------------


def test_public_client_exchanges_its_code_with_pkce_alone(flow: Flow) -> None:
    response = flow.exchange(flow.code())

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86_400
    assert body["scope"] == "healthcode.api"
    assert body["access_token"].count(".") == 2
    # As Healthcode documents its token response: no refresh token; a supervisor signs in again daily.
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}


def test_basic_auth_with_a_form_encoded_awkward_secret(confidential_flow: Flow) -> None:
    response = confidential_flow.exchange(
        confidential_flow.code(), headers=basic_auth(CONFIDENTIAL_ID, AWKWARD_SECRET), client_id=None
    )

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


def test_client_secret_post_with_an_awkward_secret(confidential_flow: Flow) -> None:
    response = confidential_flow.exchange(confidential_flow.code(), client_secret=AWKWARD_SECRET)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("headers", "form"),
    [
        (basic_auth(CONFIDENTIAL_ID, "wrong"), {"client_id": None}),
        (basic_auth(CONFIDENTIAL_ID, AWKWARD_SECRET.replace(" ", "+")), {"client_id": None}),
        (raw_basic_auth(CONFIDENTIAL_ID, AWKWARD_SECRET), {"client_id": None}),
        (None, {"client_secret": "wrong"}),
        (None, {}),
    ],
    ids=["basic-wrong-secret", "basic-space-left-as-plus", "basic-not-form-encoded", "post-wrong-secret", "no-auth"],
)
def test_wrong_or_missing_client_credentials_are_invalid_client(
    confidential_flow: Flow, headers: dict[str, str] | None, form: dict[str, str | None]
) -> None:
    response = confidential_flow.exchange(confidential_flow.code(), headers=headers, **form)

    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic ")


def test_public_client_presenting_a_secret_is_invalid_client(flow: Flow) -> None:
    assert_oauth_error(flow.exchange(flow.code(), client_secret="anything"), 401, "invalid_client")


# -- invalid grants ---------------------------------------------------------------------------------


def test_wrong_code_verifier_is_invalid_grant(flow: Flow) -> None:
    other_verifier = "x" * 64

    assert_oauth_error(flow.exchange(flow.code(), code_verifier=other_verifier), 400, "invalid_grant")


def test_missing_code_verifier_is_invalid_request(flow: Flow) -> None:
    assert_oauth_error(flow.exchange(flow.code(), code_verifier=None), 400, "invalid_request")


@pytest.mark.refresh_tokens
def test_reused_code_is_invalid_grant_and_revokes_what_it_issued(flow: Flow) -> None:
    code = flow.code()
    first = flow.exchange(code).json()
    assert flow.whoami(first["access_token"]).status_code == 200

    assert_oauth_error(flow.exchange(code), 400, "invalid_grant")

    whoami = flow.whoami(first["access_token"])
    assert whoami.status_code == 401
    assert "revoked" in whoami.headers["www-authenticate"]
    assert_oauth_error(flow.refresh(first["refresh_token"]), 400, "invalid_grant")


@pytest.mark.parametrize(
    "redirect_uri", ["https://rpaapp.example.com/postauth/", "https://rpaapp.example.com/other", None]
)
def test_redirect_uri_must_repeat_the_authorization_request(flow: Flow, redirect_uri: str | None) -> None:
    assert_oauth_error(flow.exchange(flow.code(), redirect_uri=redirect_uri), 400, "invalid_grant")


def test_code_is_bound_to_the_client_it_was_issued_to(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.add_client(Client("other_app", (flow.redirect_uri,)))

    assert_oauth_error(flow.exchange(flow.code(), client_id="other_app"), 400, "invalid_grant")


def test_expired_code_is_invalid_grant(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(code_lifetime=0.2)
    code = flow.code()
    time.sleep(0.3)

    assert_oauth_error(flow.exchange(code), 400, "invalid_grant")


def test_unknown_code_is_invalid_grant(flow: Flow) -> None:
    assert_oauth_error(flow.exchange("not-a-code-we-issued"), 400, "invalid_grant")


# -- the access token -------------------------------------------------------------------------------


def test_access_token_is_an_rs256_at_jwt_verifiable_with_the_published_jwks(flow: Flow, sandbox: Sandbox) -> None:
    before = int(time.time())
    body = flow.tokens()
    jwks = KeySet.import_key_set(HTTP.get(f"{sandbox.url}/jwks").json())

    token = jwt.decode(body["access_token"], jwks, algorithms=["RS256"])

    assert token.header == {"alg": "RS256", "typ": "at+jwt", "kid": sandbox.signing_kid}
    claims = token.claims
    assert claims["iss"] == sandbox.issuer
    assert claims["sub"] == "supervisor"
    assert claims["aud"] == "https://api.healthcode.sandbox"
    assert claims["client_id"] == "example_rpa_app"
    assert claims["scope"] == "healthcode.api"
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == 86_400
    assert len(claims["jti"]) >= 16
    assert claims["jti"] != jwt.decode(flow.tokens()["access_token"], jwks).claims["jti"]


def test_audience_can_be_the_client_id(start_sandbox: Callable[..., Sandbox]) -> None:
    flow = Flow(start_sandbox(audience=None))
    body = flow.tokens()

    claims = jwt.decode(body["access_token"], KeySet.import_key_set(HTTP.get(f"{flow.sandbox.url}/jwks").json())).claims

    assert claims["aud"] == "example_rpa_app"
    assert flow.whoami(body["access_token"]).status_code == 200


def test_mfa_supervisor_is_the_subject(flow: Flow) -> None:
    flow.supervisor = type(flow.supervisor)("mfa.supervisor")

    assert flow.whoami(flow.tokens()["access_token"]).json()["sub"] == "mfa.supervisor"


# -- refresh tokens ---------------------------------------------------------------------------------


@pytest.mark.refresh_tokens
def test_refresh_rotates_the_refresh_token(flow: Flow, sandbox: Sandbox) -> None:
    first = flow.tokens()

    assert len(first["refresh_token"]) >= 32

    response = flow.refresh(first["refresh_token"])

    assert response.status_code == 200
    second = response.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 86_400
    assert_oauth_error(flow.refresh(first["refresh_token"]), 400, "invalid_grant")
    assert flow.refresh(second["refresh_token"]).status_code == 200
    assert sandbox.request_count("token.refresh_token") == 3


def test_without_rotation_the_refresh_token_stays_valid(start_sandbox: Callable[..., Sandbox]) -> None:
    flow = Flow(start_sandbox(refresh_tokens=True, rotate_refresh_tokens=False))
    refresh_token = flow.tokens()["refresh_token"]

    first, second = flow.refresh(refresh_token), flow.refresh(refresh_token)

    assert first.status_code == second.status_code == 200
    assert "refresh_token" not in first.json()


def test_by_default_no_refresh_token_is_issued_and_the_grant_is_unsupported(flow: Flow) -> None:
    body = flow.tokens()

    assert "refresh_token" not in body
    assert_oauth_error(flow.refresh("anything"), 400, "unsupported_grant_type")
    assert flow.sandbox.issued_secrets().refresh_tokens == ()


def test_refresh_tokens_follow_the_knob_while_the_sandbox_runs(flow: Flow) -> None:
    flow.sandbox.set_faults(refresh_tokens=True)
    issued = flow.tokens()
    flow.sandbox.set_faults(refresh_tokens=False)

    assert flow.refresh(issued["refresh_token"]).json()["error"] == "unsupported_grant_type"
    assert "refresh_token" not in flow.tokens()


@pytest.mark.refresh_tokens
def test_refresh_token_is_bound_to_its_client(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.add_client(Client("other_app", (flow.redirect_uri,)))
    refresh_token = flow.tokens()["refresh_token"]

    assert_oauth_error(flow.refresh(refresh_token, client_id="other_app"), 400, "invalid_grant")


@pytest.mark.refresh_tokens
def test_confidential_client_refreshes_with_basic_auth(confidential_flow: Flow) -> None:
    auth = basic_auth(CONFIDENTIAL_ID, AWKWARD_SECRET)
    refresh_token = confidential_flow.tokens(client_secret=AWKWARD_SECRET)["refresh_token"]

    response = confidential_flow.refresh(refresh_token, headers=auth)

    assert response.status_code == 200, response.text


# -- revocation (RFC 7009) --------------------------------------------------------------------------


@pytest.mark.refresh_tokens
def test_revoking_the_refresh_token_ends_the_whole_grant(flow: Flow) -> None:
    body = flow.tokens()

    response = flow.revoke(body["refresh_token"], token_type_hint="refresh_token")

    assert response.status_code == 200
    assert response.json() == {}
    assert_oauth_error(flow.refresh(body["refresh_token"]), 400, "invalid_grant")
    assert flow.whoami(body["access_token"]).status_code == 401


@pytest.mark.refresh_tokens
def test_revoking_the_access_token_keeps_the_refresh_token(flow: Flow) -> None:
    body = flow.tokens()

    assert flow.revoke(body["access_token"]).status_code == 200

    assert flow.whoami(body["access_token"]).status_code == 401
    assert flow.refresh(body["refresh_token"]).status_code == 200


def test_revoking_an_unknown_token_succeeds_quietly(flow: Flow) -> None:
    response = flow.revoke("never-issued")

    assert response.status_code == 200
    assert response.json() == {}
