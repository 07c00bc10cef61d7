"""End to end: the core signs in to the sandbox like a bot, and meets the sandbox's refusals."""

import dataclasses

import httpx
import pytest

from healthcode_auth import (
    AuthorizationDenied,
    HealthcodeAuthClient,
    InvalidGrantError,
    TokenRequestError,
    parse_redirect,
)
from healthcode_sandbox import Supervisor
from protocol_values import code_request
from sandbox_clients import REDIRECT, config_for


def test_discovery_to_api_call(sandbox, client):
    metadata = client.metadata
    assert metadata.issuer == sandbox.issuer
    sign_in = client.start_sign_in()
    redirect_url = Supervisor().sign_in(sign_in.url)
    token = client.complete_sign_in(sign_in, redirect_url)
    claims = client.claims(token)  # verified against the sandbox's JWKS
    assert claims["sub"] == "supervisor"
    assert claims["iss"] == sandbox.issuer
    assert 86_300 < token.seconds_left() <= 86_400
    assert token.refresh_token is None  # as Healthcode documents: a supervisor signs in again daily
    answer = httpx.get(f"{sandbox.url}/api/v1/whoami", headers={"Authorization": token.authorization_header})
    assert answer.status_code == 200
    assert answer.json()["sub"] == "supervisor"


def test_confidential_client_with_awkward_secret(sandbox, confidential_client):
    sign_in = confidential_client.start_sign_in()
    token = confidential_client.complete_sign_in(sign_in, Supervisor().sign_in(sign_in.url))
    assert confidential_client.claims(token)["client_id"] == "confidential_bot"


def test_wrong_secret_is_reported(sandbox, confidential_client):
    wrong = HealthcodeAuthClient(dataclasses.replace(confidential_client.config, client_secret="wrong-secret"))
    sign_in = wrong.start_sign_in()
    with pytest.raises(TokenRequestError, match="did not accept the client's credentials") as caught:
        wrong.complete_sign_in(sign_in, Supervisor().sign_in(sign_in.url))
    assert caught.value.error == "invalid_client"
    assert "wrong-secret" not in str(caught.value)


def test_reused_code_is_refused(client):
    sign_in = client.start_sign_in()
    grant = parse_redirect(Supervisor().sign_in(sign_in.url), sign_in)
    client.exchange_code(grant)
    with pytest.raises(InvalidGrantError, match="supervisor must sign in again") as caught:
        client.exchange_code(grant)
    assert grant.code not in str(caught.value)


def test_wrong_verifier_is_refused(client):
    sign_in = client.start_sign_in()
    grant = parse_redirect(Supervisor().sign_in(sign_in.url), sign_in)
    forged = dataclasses.replace(grant, request=dataclasses.replace(sign_in, code_verifier="x" * 43))
    with pytest.raises(InvalidGrantError, match="verifier"):
        client.exchange_code(forged)


def test_wrong_redirect_uri_at_token_endpoint_is_refused(sandbox, client):
    sign_in = client.start_sign_in()
    grant = parse_redirect(Supervisor().sign_in(sign_in.url), sign_in)
    request = code_request(client.config, client.metadata, grant)
    response = client.transport.post_form(
        request.url, "token endpoint", {**request.form, "redirect_uri": REDIRECT + "/other"}, request.headers
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_is_an_error_page_not_a_redirect(sandbox):
    client = HealthcodeAuthClient(config_for(sandbox, redirect_uri="https://evil.example/cb"))
    response = httpx.get(client.start_sign_in().url)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_cancel_becomes_a_clear_failure(client):
    sign_in = client.start_sign_in()
    with pytest.raises(AuthorizationDenied, match="supervisor declined or cancelled"):
        client.complete_sign_in(sign_in, Supervisor().cancel(sign_in.url))


@pytest.mark.refresh_tokens
def test_refresh_rotates_and_old_refresh_token_is_refused(client):
    sign_in = client.start_sign_in()
    first = client.complete_sign_in(sign_in, Supervisor().sign_in(sign_in.url))
    second = client.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    with pytest.raises(InvalidGrantError):
        client.refresh(first.refresh_token)


@pytest.mark.refresh_tokens
def test_revocation(sandbox, client):
    sign_in = client.start_sign_in()
    token = client.complete_sign_in(sign_in, Supervisor().sign_in(sign_in.url))
    assert client.revoke(token) is True
    with pytest.raises(InvalidGrantError):
        client.refresh(token.refresh_token)
