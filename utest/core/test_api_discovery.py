"""The API discovery document of a session: fetched through the transport, validated, held for the run,
kept in the store beside the token (and found there by the next robot), fetched again on demand."""

import json
import logging
import time

import pytest
from werkzeug import Response

from healthcode_auth import ApiDiscoveryError, HealthcodeApi
from healthcode_auth.api_discovery import MAX_STORED_CHARS, ApiDiscovery, fetch_api_document, keep_beside_token
from healthcode_auth.protocol.token import Token
from healthcode_auth.storage.store import StoredAuthorisation
from healthcode_auth.transport import HttpResponse
from memory_store import MemoryTokenStore

DISCOVERY = "/.well-known/discovery-document.json"


class FixedTransport:
    """A transport that answers every GET with one response (unit tests only)."""

    def __init__(self, status, body):
        self.response = HttpResponse(status, "application/json", json.dumps(body).encode(), {})
        self.gets = []

    def get(self, url, what, accept="application/json", *, remaining=None, peer=None):
        self.gets.append((url, what, accept))
        return self.response


def test_the_document_is_fetched_once_per_run(api_server):
    api_server.endpoints(find_member="/api/v1/find-member")
    api = HealthcodeApi(api_server.session())
    assert api.endpoint("find_member") == f"{api_server.base}/api/v1/find-member"
    assert api.endpoints() == {"find_member": f"{api_server.base}/api/v1/find-member"}
    assert api.allowed_origins() == (api_server.base,)
    assert api_server.discovery_fetches() == 1


def test_it_is_kept_beside_the_token_and_the_next_robot_finds_it_there(api_server):
    api_server.endpoints(find_member="/api/v1/find-member")
    store = MemoryTokenStore()
    first = api_server.session(store)
    first.api_document()
    stored = store.load(first.key).entry
    assert stored.api_discovery == {"find_member_endpoint": f"{api_server.base}/api/v1/find-member"}
    assert stored.api_discovery_source == first.config.api_discovery_url
    next_robot = api_server.session(store)
    assert next_robot.api_document().endpoint("find_member").endswith("/api/v1/find-member")
    assert api_server.discovery_fetches() == 1
    assert StoredAuthorisation.from_dict(json.loads(json.dumps(stored.to_dict()))) == stored


def test_a_document_stored_from_another_address_is_not_used(api_server):
    api_server.endpoints(find_member="/api/v1/find-member")
    store = MemoryTokenStore()
    api_server.session(store).api_document()
    other = api_server.session(store, api_discovery=f"{api_server.base}/other{DISCOVERY}")
    api_server.server.expect_request(f"/other{DISCOVERY}").respond_with_json(
        {"whoami_endpoint": f"{api_server.base}/api/v1/whoami"}
    )
    assert list(other.api_document().endpoints) == ["whoami"]


def test_a_refresh_fetches_it_again_and_keeps_the_new_one(api_server):
    document = {"find_member_endpoint": f"{api_server.base}/api/v1/find-member"}
    api_server.server.expect_request(DISCOVERY).respond_with_handler(lambda _: Response(json.dumps(document)))
    store = MemoryTokenStore()
    session = api_server.session(store)
    api = HealthcodeApi(session)
    api.endpoint("find_member")
    document["find_member_endpoint"] = f"{api_server.base}/api/v2/find-member"
    assert api.refresh_discovery().endpoint("find_member").endswith("/api/v2/find-member")
    assert store.load(session.key).entry.api_discovery == document
    assert api_server.discovery_fetches() == 2


def test_it_is_never_kept_beside_a_token_that_is_not_verified_or_not_there(api_server):
    api_server.endpoints(find_member="/api/v1/find-member")
    store = MemoryTokenStore()
    session = api_server.session(store)
    stored = store.load(session.key)
    unverified = StoredAuthorisation(
        stored.entry.discovery_url, stored.entry.client_id, stored.entry.token, verified=False
    )
    store.store(unverified, stored.version)
    session.api_document()
    assert store.load(session.key).entry.api_discovery == {}
    assert not keep_beside_token(store, "nobody#here", session.api_discovery)


def test_a_large_document_is_kept_for_the_run_only(api_server):
    document = {
        f"api_{i}_endpoint": f"{api_server.base}/api/v1/{'x' * 100}/{i}" for i in range(MAX_STORED_CHARS // 100)
    }
    api_server.server.expect_request(DISCOVERY).respond_with_json(document)
    store = MemoryTokenStore()
    session = api_server.session(store)
    assert len(session.api_document().urls) == len(document)
    assert store.load(session.key).entry.api_discovery == {}


def test_endpoints_left_out_are_told_once_without_their_query(api_server, caplog):
    caplog.set_level(logging.WARNING, logger="healthcode_auth")
    api_server.server.expect_request(DISCOVERY).respond_with_json(
        {
            "find_member_endpoint": f"{api_server.base}/api/v1/find-member",
            "plain_endpoint": "http://api.example.org/x?secret=1",
            "elsewhere_endpoint": "https://api.example.org/x?patient=Gray",
            "version": 3,
            "codes_valueset_namespace": "not a url",
        }
    )
    document = api_server.session().api_document()
    assert list(document.endpoints) == ["find_member"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "'plain_endpoint'" in warning and "'elsewhere_endpoint'" in warning and "2 endpoint(s) left out" in warning
    assert "secret=1" not in warning and "Gray" not in warning


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([], "is not a JSON object"),
        ({"only": "https://api.example.org/x"}, "names no usable API endpoint"),
        ({}, "names no usable API endpoint"),
    ],
)
def test_an_unusable_document_is_an_error_naming_the_setting(api_server, body, fragment):
    api_server.server.expect_request(DISCOVERY).respond_with_json(body)
    with pytest.raises(ApiDiscoveryError, match=fragment) as caught:
        api_server.session().api_document()
    assert "HEALTHCODE_API_DISCOVERY" in str(caught.value)


def test_a_document_that_is_not_there_is_an_error_naming_the_setting(api_server):
    api_server.server.expect_request(DISCOVERY).respond_with_data("", status=404)
    with pytest.raises(ApiDiscoveryError, match="answered HTTP 404") as caught:
        api_server.session().api_document()
    assert "api_discovery setting (HEALTHCODE_API_DISCOVERY)" in str(caught.value)
    assert "UAT" not in str(caught.value)


def test_uats_unconfirmed_address_is_said_to_be_unconfirmed_when_it_does_not_answer():
    transport = FixedTransport(404, {})
    url = "https://api.uat.healthcode.co.uk/.well-known/discovery-document.json"
    with pytest.raises(ApiDiscoveryError) as caught:
        fetch_api_document(url, transport)
    assert "not confirmed by Healthcode's pages" in str(caught.value) and "HEALTHCODE_API_DISCOVERY" in str(
        caught.value
    )
    assert transport.gets == [(url, "API discovery document", "application/json")]


def test_a_healthcode_document_allows_any_https_host_under_healthcode_co_uk():
    url = "https://api.healthcode.co.uk/.well-known/discovery-document.json"
    transport = FixedTransport(
        200,
        {
            "find_member_endpoint": "https://policies.api.healthcode.co.uk/members",
            "evil_endpoint": "https://healthcode.co.uk.evil.example/x",
            "plain_endpoint": "http://ref.api.healthcode.co.uk/x",
        },
    )
    document = fetch_api_document(url, transport)
    assert list(document.endpoints) == ["find_member"]
    assert document.origins == {"https://policies.api.healthcode.co.uk"}


def test_a_stored_document_that_no_longer_validates_is_skipped():
    discovery = ApiDiscovery(
        "https://api.example.org/.well-known/discovery-document.json",
        lambda: FixedTransport(200, {"a_endpoint": "https://api.example.org/a"}),
    )
    discovery.offer({"a_endpoint": "https://elsewhere.example.org/a"}, None)
    assert discovery.known is None
    discovery.offer({"a_endpoint": "https://api.example.org/old"}, "https://another.example.org/doc.json")
    assert discovery.known is None
    document, fetched = discovery.document()
    assert fetched and document.endpoint("a") == "https://api.example.org/a"


def test_a_new_sign_ins_entry_carries_what_this_run_knows(api_server, metadata):
    api_server.endpoints(find_member="/api/v1/find-member")
    session = api_server.session()
    session.api_document()
    session.client.use_metadata(metadata)
    entry = session._entry(Token(access_token="NEW-TOKEN-AFTER-SIGN-IN", expires_at=time.time() + 3600), verified=False)
    assert entry.api_discovery == {"find_member_endpoint": f"{api_server.base}/api/v1/find-member"}
    assert entry.api_discovery_source == session.config.api_discovery_url
