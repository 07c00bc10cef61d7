"""The first-contact report (``healthcode-auth check --report``): names and hosts, never a value that
identifies a person, never a secret."""

import json
import time

import pytest

from fake_sso import discovery_document, sign, signing_key
from healthcode_auth.first_contact import (
    FirstContactReport,
    api_section,
    first_contact_report,
    sso_section,
    token_section,
)
from healthcode_auth.protocol.api_document import parse_api_document
from healthcode_auth.protocol.token import Token
from healthcode_auth.storage.store import StoredAuthorisation
from memory_store import MemoryTokenStore

PERSONAL = {
    "sub": "f3a9-jane-supervisor-id",
    "name": "Jane Q. Supervisor",
    "email": "jane.supervisor@example.org",
    "preferred_username": "jsupervisor",
    "site": "HC00ABC",
}
SECRETS = ("Client-Secret-77", "HC00ABC")


@pytest.fixture(scope="module")
def key():
    return signing_key("kid-2024-01")


def jwt(key, issuer, **extra):
    now = int(time.time())
    return sign(key, {"iss": issuer, "aud": "healthcode-api", "iat": now, "exp": now + 86400, **PERSONAL, **extra})


def test_the_ssos_keys_hosts_and_what_it_offers():
    document = discovery_document(
        "https://auth.uat.healthcode.co.uk",
        grant_types_supported=["authorization_code"],
        response_types_supported=["code"],
        userinfo_endpoint="https://other.example/u?x=1",
    )
    section = sso_section(document, "https://auth.uat.healthcode.co.uk/.well-known/openid-configuration?q=1")
    assert section["url"] == "https://auth.uat.healthcode.co.uk/.well-known/openid-configuration"
    assert "token_endpoint" in section["keys"] and "grant_types_supported" in section["keys"]
    assert section["hosts"] == ["https://auth.uat.healthcode.co.uk", "https://other.example"]
    assert section["token_endpoint_auth_methods"] == ["client_secret_basic", "client_secret_post", "none"]
    assert section["grant_types"] == ["authorization_code"] and section["code_challenge_methods"] == ["S256"]
    assert (
        sso_section({"issuer": "https://x"}, "https://x/.well-known/openid-configuration")["grant_types"]
        == "not published"
    )


def test_the_tokens_header_and_claim_names_never_their_values(key):
    section = token_section(Token(access_token=jwt(key, "https://auth.healthcode.co.uk")))
    assert section["header"] == {"alg": "RS256", "kid": "kid-2024-01", "typ": "at+jwt"}
    assert section["claim_names"] == sorted(["iss", "aud", "iat", "exp", *PERSONAL])
    assert section["lifetime_seconds"] == 86400
    shown = json.dumps(section)
    for value in PERSONAL.values():
        assert value not in shown


def test_an_opaque_token_or_none_says_so():
    assert token_section(Token(access_token="opaque-token-value"))["format"].startswith("opaque")
    assert "opaque-token-value" not in json.dumps(token_section(Token(access_token="opaque-token-value")))
    assert token_section(None)["signed_in"].startswith("no")


def test_the_api_documents_keys_hosts_and_what_was_left_out_without_queries():
    document = parse_api_document(
        {
            "find_member_endpoint": "https://api.healthcode.co.uk/fm?site=HC00ABC",
            "codes_valueset_namespace": "https://ref.api.healthcode.co.uk/codes",
            "evil_endpoint": "https://evil.example/x?patient=Gray",
            "version": "1.2",
        },
        "https://api.healthcode.co.uk/.well-known/discovery-document.json",
    )
    section = api_section(document, document.source)
    assert section["found"] == "yes" and section["endpoints"] == 2
    assert section["keys"] == ["codes_valueset_namespace", "evil_endpoint", "find_member_endpoint", "version"]
    assert section["hosts"] == ["https://api.healthcode.co.uk", "https://ref.api.healthcode.co.uk"]
    assert "HC00ABC" not in json.dumps(section) and "Gray" not in json.dumps(section)
    assert "'evil_endpoint'" in section["left_out"][0]


def test_uats_unconfirmed_address_is_said_to_be_so():
    url = "https://api.uat.healthcode.co.uk/.well-known/discovery-document.json"
    assert "not confirm" in api_section(None, url, "HTTP 404")["note"]
    assert api_section(None, url, "HTTP 404")["found"] == "no: HTTP 404"


def test_hostile_names_are_escaped_and_bounded():
    section = sso_section({"\x1b[2Jkey\n": 1, "k" * 500: 2}, "https://x/.well-known/openid-configuration")
    assert section["keys"][0].startswith("\\x1b[2Jkey\\n")
    assert all(len(name) <= 103 for name in section["keys"])


def test_the_report_of_a_signed_in_session_against_a_local_healthcode(api_server, key):
    api_server.server.expect_request("/.well-known/openid-configuration").respond_with_json(
        discovery_document(api_server.base, grant_types_supported=["authorization_code"])
    )
    api_server.endpoints(find_member="/api/v1/find-member")
    store = MemoryTokenStore()
    session = api_server.session(store, client_secret="Client-Secret-77", basic_auth_user="epractice")
    token = Token(access_token=jwt(key, api_server.base), expires_at=time.time() + 3600)
    store.store(
        StoredAuthorisation(session.config.discovery_url, "example_rpa_app", token), store.load(session.key).version
    )
    report = first_contact_report(session)
    assert isinstance(report, FirstContactReport)
    data = report.as_dict()
    assert data["sso"]["grant_types"] == ["authorization_code"]
    assert data["api"]["keys"] == ["find_member_endpoint"] and data["api"]["hosts"] == [api_server.base]
    assert data["token"]["header"]["kid"] == "kid-2024-01" and "email" in data["token"]["claim_names"]
    assert data["settings"]["site_id"] == "set (not shown)"
    text = report.as_text()
    assert "claim names: aud, email, exp, iat, iss, name, preferred_username, site, sub" in text
    assert "header: alg=RS256, kid=kid-2024-01, typ=at+jwt" in text
    for shown in (text, json.dumps(data)):
        for value in (*PERSONAL.values(), *SECRETS, token.access_token, "epractice"):
            assert value not in shown, value


def test_what_cannot_be_fetched_is_reported_not_raised(api_server):
    api_server.server.expect_request("/.well-known/openid-configuration").respond_with_data("", status=404)
    api_server.server.expect_request("/.well-known/discovery-document.json").respond_with_data("", status=404)
    data = first_contact_report(api_server.session(site_id=None)).as_dict()
    assert "error" in data["sso"]
    assert data["api"]["found"].startswith("no: The API discovery document at") and "404" in data["api"]["found"]
    assert data["token"]["signed_in"] == "yes" and data["token"]["format"].startswith("opaque")
    assert data["settings"]["site_id"] == "not set"
