"""Discovery document and JWKS: what a client reads before anything else."""

from __future__ import annotations

from collections.abc import Callable

from authlib.oauth2 import rfc8414, rfc9207

from healthcode_sandbox import Sandbox

from .flows import HTTP

PRIVATE_RSA_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth"}


def test_discovery_document_describes_the_sandbox(sandbox: Sandbox) -> None:
    response = HTTP.get(sandbox.discovery_url)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["issuer"] == sandbox.url == sandbox.issuer
    assert not document["issuer"].endswith("/")
    assert document["authorization_endpoint"] == f"{sandbox.url}/authorize"
    assert document["token_endpoint"] == f"{sandbox.url}/token"
    assert document["jwks_uri"] == f"{sandbox.url}/jwks"
    assert document["revocation_endpoint"] == f"{sandbox.url}/revoke"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["response_types_supported"] == ["code"]
    assert document["grant_types_supported"] == ["authorization_code"]  # no refresh tokens, as Healthcode documents
    assert document["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "none"]
    assert document["scopes_supported"] == ["healthcode.api"]
    metadata = rfc8414.AuthorizationServerMetadata(document)
    metadata.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])


def test_oauth_authorization_server_alias_serves_the_same_document(sandbox: Sandbox) -> None:
    alias = HTTP.get(f"{sandbox.url}/.well-known/oauth-authorization-server").json()

    assert alias == HTTP.get(sandbox.discovery_url).json()


def test_public_url_becomes_the_issuer(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(public_url="http://localhost:1234")

    document = HTTP.get(f"http://127.0.0.1:{sandbox.port}/.well-known/openid-configuration").json()

    assert document["issuer"] == "http://localhost:1234" == sandbox.issuer
    assert document["token_endpoint"] == "http://localhost:1234/token"


def test_with_refresh_tokens_discovery_offers_the_refresh_grant(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(refresh_tokens=True)

    assert HTTP.get(sandbox.discovery_url).json()["grant_types_supported"] == ["authorization_code", "refresh_token"]


def test_discovery_follows_the_refresh_tokens_knob_while_the_sandbox_runs(sandbox: Sandbox) -> None:
    sandbox.set_faults(refresh_tokens=True)
    on = HTTP.get(sandbox.discovery_url).json()["grant_types_supported"]
    HTTP.post(f"{sandbox.url}/_sandbox/faults", json={"refresh_tokens": False})
    off = HTTP.get(sandbox.discovery_url).json()["grant_types_supported"]

    assert (on, off) == (["authorization_code", "refresh_token"], ["authorization_code"])


def test_jwks_publishes_the_public_signing_key_only(sandbox: Sandbox) -> None:
    response = HTTP.get(f"{sandbox.url}/jwks")

    assert response.status_code == 200
    [key] = response.json()["keys"]
    assert key["kid"] == sandbox.signing_kid
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert {"n", "e"} <= set(key)
    assert not PRIVATE_RSA_MEMBERS & set(key)
