"""Request counters and the record of issued secrets."""

from __future__ import annotations

import pytest

from healthcode_sandbox import Sandbox

from .conftest import AWKWARD_SECRET
from .flows import HTTP, Flow


@pytest.mark.refresh_tokens
def test_counters_count_each_endpoint_and_grant_type(flow: Flow, sandbox: Sandbox) -> None:
    HTTP.get(sandbox.discovery_url)
    HTTP.get(f"{sandbox.url}/jwks")
    body = flow.tokens()
    flow.refresh(body["refresh_token"])
    flow.whoami(body["access_token"])
    flow.post_token({"grant_type": "password"})

    assert sandbox.stats() == {
        "authorize": 1,
        "authorize.submit": 1,
        "discovery": 1,
        "jwks": 1,
        "token": 3,
        "token.authorization_code": 1,
        "token.other": 1,
        "token.refresh_token": 1,
        "whoami": 1,
    }
    assert sandbox.request_count("revoke") == 0


def test_counters_over_http_and_reset(flow: Flow, sandbox: Sandbox) -> None:
    flow.tokens()

    counts = HTTP.get(f"{sandbox.url}/_sandbox/stats").json()["counts"]
    assert counts == sandbox.stats()  # the admin API itself is not counted
    assert counts["token.authorization_code"] == 1

    reset = HTTP.delete(f"{sandbox.url}/_sandbox/stats")

    assert reset.json() == {"counts": {}}
    assert sandbox.stats() == {}


def test_a_fresh_sandbox_has_seen_no_request(sandbox: Sandbox) -> None:
    assert sandbox.stats() == {}
    assert sandbox.request_count("token.refresh_token") == 0


@pytest.mark.refresh_tokens
def test_issued_secrets_record_codes_tokens_secrets_and_verifiers(confidential_flow: Flow, sandbox: Sandbox) -> None:
    code = confidential_flow.code()
    body = confidential_flow.exchange(code, client_secret=AWKWARD_SECRET).json()

    secrets = sandbox.issued_secrets()

    assert secrets.authorization_codes == (code,)
    assert secrets.access_tokens == (body["access_token"],)
    assert secrets.refresh_tokens == (body["refresh_token"],)
    assert secrets.client_secrets == (AWKWARD_SECRET,)
    assert secrets.code_verifiers == (confidential_flow.verifier,)
    assert secrets.passwords == ("sandbox-password",)
    assert set(secrets.all) == {
        code,
        body["access_token"],
        body["refresh_token"],
        AWKWARD_SECRET,
        confidential_flow.verifier,
    }


@pytest.mark.refresh_tokens
def test_issued_secrets_over_http(flow: Flow, sandbox: Sandbox) -> None:
    body = flow.tokens()

    shape = HTTP.get(f"{sandbox.url}/_sandbox/issued-secrets").json()

    assert set(shape) == {
        "authorization_codes",
        "access_tokens",
        "refresh_tokens",
        "client_secrets",
        "code_verifiers",
        "passwords",
        "all",
    }
    assert shape["access_tokens"] == [body["access_token"]]
    assert body["refresh_token"] in shape["all"]
    assert "sandbox-password" not in shape["all"]
