"""GET /api/v1/whoami: the protected API and its RFC 6750 answers."""

from __future__ import annotations

import time

import httpx
import pytest
from joserfc import jws, jwt
from joserfc.jwk import RSAKey

from healthcode_sandbox import Sandbox

from .flows import HTTP, Flow

REALM_ONLY = 'Bearer realm="healthcode-sandbox"'


def claims_for(sandbox: Sandbox, **changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": sandbox.issuer,
        "sub": "supervisor",
        "aud": "https://api.healthcode.sandbox",
        "client_id": "example_rpa_app",
        "iat": now,
        "exp": now + 300,
        "jti": "test-jti-0001",
        "scope": "healthcode.api",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def assert_invalid_token(response: httpx.Response, description_part: str) -> None:
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="healthcode-sandbox", error="invalid_token", error_description="')
    assert description_part in challenge
    assert response.json()["error"] == "invalid_token"


def test_valid_token_says_who_the_bot_acts_for(flow: Flow) -> None:
    body = flow.tokens()

    response = flow.whoami(body["access_token"])

    assert response.status_code == 200
    payload = response.json()
    assert payload["sub"] == "supervisor"
    assert payload["client_id"] == "example_rpa_app"
    assert payload["scope"] == "healthcode.api"
    assert payload["exp"] > time.time() + 86_000


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwdw==", "Bearer"], ids=["none", "basic", "no-token"])
def test_missing_bearer_token_gets_a_bare_challenge(sandbox: Sandbox, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}

    response = HTTP.get(f"{sandbox.url}/api/v1/whoami", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == REALM_ONLY


@pytest.mark.parametrize(
    "token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "e30.e30.!!", "x" * 3000]
)
def test_malformed_tokens_are_invalid_token(flow: Flow, token: str) -> None:
    assert_invalid_token(flow.whoami(token), "error_description=")


def test_expired_token_is_invalid_token(flow: Flow, sandbox: Sandbox) -> None:
    token = sandbox.sign_access_token(claims_for(sandbox, exp=int(time.time()) - 5))

    assert_invalid_token(flow.whoami(token), "The access token expired.")


def test_token_expires_after_a_short_lifetime(flow: Flow, sandbox: Sandbox) -> None:
    sandbox.set_faults(token_lifetime=3)  # room for a busy machine between the token and its first use
    body = flow.tokens()
    assert body["expires_in"] == 3
    assert flow.whoami(body["access_token"]).status_code == 200

    time.sleep(3.05)

    assert_invalid_token(flow.whoami(body["access_token"]), "expired")


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"aud": "https://someone.else"}, "another audience"),
        ({"iss": "https://auth.healthcode.co.uk"}, "another issuer"),
        ({"client_id": None}, "lacks required claims: client_id"),
    ],
    ids=["audience", "issuer", "no-client-id"],
)
def test_tokens_for_elsewhere_are_invalid_token(
    flow: Flow, sandbox: Sandbox, changes: dict[str, object], description: str
) -> None:
    token = sandbox.sign_access_token(claims_for(sandbox, **changes))

    assert_invalid_token(flow.whoami(token), description)


def test_token_signed_by_another_key_is_invalid_token(flow: Flow, sandbox: Sandbox) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": sandbox.signing_kid})
    token = jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": sandbox.signing_kid}, claims_for(sandbox), stranger)

    assert_invalid_token(flow.whoami(token), "signature does not match")


def test_key_rotation_keeping_old_keys_still_accepts_old_tokens(flow: Flow, sandbox: Sandbox) -> None:
    old_kid = sandbox.signing_kid
    old_token = flow.tokens()["access_token"]

    new_kid = sandbox.rotate_keys(keep_old=True)

    assert new_kid != old_kid
    assert [key["kid"] for key in HTTP.get(f"{sandbox.url}/jwks").json()["keys"]] == [new_kid, old_kid]
    assert jws.extract_compact(flow.tokens()["access_token"].encode()).headers()["kid"] == new_kid
    assert flow.whoami(old_token).status_code == 200


def test_key_rotation_dropping_old_keys_rejects_old_tokens(flow: Flow, sandbox: Sandbox) -> None:
    old_token = flow.tokens()["access_token"]

    new_kid = sandbox.rotate_keys(keep_old=False)

    assert [key["kid"] for key in HTTP.get(f"{sandbox.url}/jwks").json()["keys"]] == [new_kid]
    assert_invalid_token(flow.whoami(old_token), "a key the sandbox does not publish")
    assert flow.whoami(flow.tokens()["access_token"]).status_code == 200
