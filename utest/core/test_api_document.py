"""Healthcode's API discovery document: endpoints by name, checked like the SSO's, on the hosts the
document may name; the only hosts that ever receive the token and the site id."""

import pytest

from healthcode_auth.errors import ApiDiscoveryError
from healthcode_auth.protocol.api_document import (
    api_discovery_url_for,
    describe_problems,
    parse_api_document,
)

PRODUCTION = "https://api.healthcode.co.uk/.well-known/discovery-document.json"
SANDBOX = "http://127.0.0.1:8765/.well-known/discovery-document.json"


def production(**document):
    return parse_api_document(document, PRODUCTION)


def test_endpoints_by_name_with_or_without_the_suffix():
    document = production(
        find_member_endpoint="https://api.healthcode.co.uk/authorisation/member",
        codes_valueset_namespace="https://ref.api.healthcode.co.uk/valueset",
        version="1.2",
        enabled=True,
        description="Healthcode's APIs",
    )
    assert document.endpoint("find_member") == "https://api.healthcode.co.uk/authorisation/member"
    assert document.endpoint("find_member_endpoint") == "https://api.healthcode.co.uk/authorisation/member"
    assert document.endpoint("codes_valueset_namespace") == "https://ref.api.healthcode.co.uk/valueset"
    assert document.endpoints == {
        "codes_valueset_namespace": "https://ref.api.healthcode.co.uk/valueset",
        "find_member": "https://api.healthcode.co.uk/authorisation/member",
    }
    assert document.origins == {"https://api.healthcode.co.uk", "https://ref.api.healthcode.co.uk"}
    assert document.problems == ()  # a version, a flag and a description are not endpoints, and no problem


def test_an_unknown_name_fails_listing_the_known_names_sorted_without_the_suffix():
    document = production(
        search_remittance_summary_endpoint="https://api.healthcode.co.uk/remittances",
        find_member_endpoint="https://api.healthcode.co.uk/member",
    )
    with pytest.raises(
        ApiDiscoveryError, match="names no API 'find_members'. It names: find_member, search_remittance_summary. "
    ) as caught:
        document.endpoint("find_members")
    assert caught.value.known == ("find_member", "search_remittance_summary")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://api.healthcode.co.uk/member", "plain http"),
        ("https://user:pw@api.healthcode.co.uk/member", "credentials"),
        ("https://api.healthcode.co.uk/member#frag", "fragment"),
        ("https://api.healthcode.co.uk.evil.example/member", "is not a Healthcode host"),
        ("https://evilhealthcode.co.uk/member", "is not a Healthcode host"),
        ("ftp://api.healthcode.co.uk/member", "https URL"),
    ],
)
def test_endpoints_that_fail_are_left_out_naming_key_and_reason(url, reason):
    document = production(find_member_endpoint="https://api.healthcode.co.uk/member", bad_endpoint=url)
    assert set(document.urls) == {"find_member_endpoint"}
    assert len(document.problems) == 1
    assert document.problems[0].startswith("'bad_endpoint': ")
    assert reason in document.problems[0]
    assert "pw" not in document.problems[0]
    warning = describe_problems(document)
    assert "1 endpoint(s) left out" in warning and "bad_endpoint" in warning


def test_no_query_string_is_shown_in_a_problem():
    document = production(
        find_member_endpoint="https://api.healthcode.co.uk/member",
        leaky_endpoint="http://other.example/x?lastName=Quarrendon-Fakename#dob=1901-02-03",
    )
    assert "Quarrendon" not in describe_problems(document)
    assert "1901" not in describe_problems(document)


def test_another_environment_allows_only_the_documents_own_origin():
    document = parse_api_document(
        {
            "whoami_endpoint": "http://127.0.0.1:8765/api/v1/whoami",
            "other_endpoint": "http://127.0.0.1:9999/api/v1/x",
            "far_endpoint": "https://api.healthcode.co.uk/x",
        },
        SANDBOX,
    )
    assert set(document.urls) == {"whoami_endpoint"}
    assert document.origins == {"http://127.0.0.1:8765"}
    assert document.allows("http://127.0.0.1:8765/anything?x=1")
    assert not document.allows("http://localhost:8765/api/v1/whoami")  # another origin, though the same machine
    assert not document.allows("https://127.0.0.1:8765/api/v1/whoami")
    assert not document.allows("not a url")


@pytest.mark.parametrize("document", [[], "text", None, 3])
def test_a_document_that_is_not_an_object_is_an_error(document):
    with pytest.raises(ApiDiscoveryError, match="is not a JSON object"):
        parse_api_document(document, PRODUCTION)


def test_a_document_with_no_usable_endpoint_is_an_error_saying_why():
    with pytest.raises(ApiDiscoveryError, match="names no usable API endpoint.*'x_endpoint': .*plain http"):
        production(x_endpoint="http://api.healthcode.co.uk/x", version="1")
    with pytest.raises(ApiDiscoveryError, match="names no usable API endpoint"):
        production()


def test_many_problems_make_one_bounded_warning():
    document = production(
        ok_endpoint="https://api.healthcode.co.uk/ok",
        **{f"bad{n}_endpoint": f"https://evil{n}.example/x" for n in range(25)},
    )
    warning = describe_problems(document)
    assert "25 endpoint(s) left out" in warning and "and 15 more" in warning
    assert warning.count("is not a Healthcode host") == 10
    assert describe_problems(production(ok_endpoint="https://api.healthcode.co.uk/ok")) is None


@pytest.mark.bad_input
def test_hostile_keys_and_values_are_escaped_and_bounded():
    document = production(
        ok_endpoint="https://api.healthcode.co.uk/ok",
        **{"bad\x1b[31m_endpoint": "https://x.example/" + "a" * 5000, "k" * 300: "https://y.example/"},
    )
    warning = describe_problems(document)
    assert "\x1b" not in warning and "\\x1b" in warning
    assert len(warning) < 2000


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ("http://127.0.0.1:8765/.well-known/openid-configuration", SANDBOX),
        ("http://127.0.0.1:8765", SANDBOX),
        (
            "https://sso.example.org/realms/x/.well-known/openid-configuration",
            "https://sso.example.org/.well-known/discovery-document.json",
        ),
    ],
)
def test_the_document_of_another_environment_is_at_its_origin(environment, expected):
    assert api_discovery_url_for(environment) == expected


def test_the_stored_form_is_the_original_document():
    original = {"find_member_endpoint": "https://api.healthcode.co.uk/member", "version": "1"}
    assert production(**original).to_dict() == original
