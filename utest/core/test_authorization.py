import dataclasses
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from fake_sso import discovery_document
from healthcode_auth import (
    AuthorizationDenied,
    AuthorizationError,
    IssuerMismatchError,
    StateMismatchError,
    parse_redirect,
)
from healthcode_auth.protocol.authorization_request import is_redirect_uri
from healthcode_auth.protocol.pkce import s256_challenge
from healthcode_auth.protocol.provider_metadata import parse_metadata
from protocol_values import start

REDIRECT = "https://rpaapp.example.com/postauth"


@pytest.fixture
def request_(config, metadata):
    return start(config, metadata)


def redirect(request, **params):
    params.setdefault("state", request.state)
    params.setdefault("iss", request.issuer)
    return f"{REDIRECT}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def test_authorization_url_has_every_required_parameter(request_, metadata):
    parts = urlsplit(request_.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == metadata.authorization_endpoint
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "response_type": "code",
        "client_id": "example_rpa_app",
        "redirect_uri": REDIRECT,
        "state": request_.state,
        "code_challenge": s256_challenge(request_.code_verifier),
        "code_challenge_method": "S256",
    }


def test_scope_and_nonce_are_sent_when_openid_is_asked_for(config, metadata):
    request = start(dataclasses.replace(config, scope="openid api"), metadata)
    query = parse_qs(urlsplit(request.url).query)
    assert query["scope"] == ["openid api"]
    assert query["nonce"] == [request.nonce]
    assert request.nonce


def test_no_nonce_without_openid(config, metadata):
    request = start(dataclasses.replace(config, scope="api"), metadata)
    assert request.nonce is None
    assert "nonce" not in parse_qs(urlsplit(request.url).query)


def test_existing_query_of_endpoint_is_kept(config, issuer):
    document = discovery_document(issuer, authorization_endpoint=f"{issuer}/authorize?tenant=nhs")
    metadata = parse_metadata(document, f"{issuer}/.well-known/openid-configuration")
    query = parse_qs(urlsplit(start(config, metadata).url).query)
    assert query["tenant"] == ["nhs"]
    assert query["response_type"] == ["code"]


def test_each_sign_in_is_fresh(config, metadata):
    first, second = start(config, metadata), start(config, metadata)
    assert first.state != second.state
    assert first.code_verifier != second.code_verifier
    assert abs(first.created_at - time.time()) < 5


def test_repr_hides_state_and_verifier(request_):
    text = repr(request_)
    assert request_.code_verifier not in text
    assert "code_verifier=" not in text


def test_valid_redirect_yields_the_code(request_):
    grant = parse_redirect(redirect(request_, code="AbC123def456"), request_)
    assert grant.code == "AbC123def456"
    assert grant.request is request_
    assert "AbC123def456" not in repr(grant)


def test_state_mismatch_is_refused(request_):
    with pytest.raises(StateMismatchError, match="does not match this sign-in"):
        parse_redirect(redirect(request_, code="x", state="forged"), request_)


def test_missing_state_is_refused(request_):
    url = f"{REDIRECT}?code=x&iss={request_.issuer}"
    with pytest.raises(StateMismatchError, match="no 'state'"):
        parse_redirect(url, request_)


def test_forged_error_with_wrong_state_is_a_state_error(request_):
    with pytest.raises(StateMismatchError):
        parse_redirect(redirect(request_, error="access_denied", state="forged"), request_)


def test_access_denied_says_supervisor_declined(request_):
    url = redirect(request_, error="access_denied", error_description="User pressed cancel")
    with pytest.raises(AuthorizationDenied) as caught:
        parse_redirect(url, request_)
    assert caught.value.error == "access_denied"
    assert caught.value.description == "User pressed cancel"
    assert "supervisor declined or cancelled the sign-in" in str(caught.value)
    assert "User pressed cancel" in str(caught.value)


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        ("invalid_scope", "scope setting"),
        ("server_error", "Try again later"),
        ("temporarily_unavailable", "temporarily unavailable"),
        ("weird_error", "did not complete"),
    ],
)
def test_other_errors_are_explained(request_, error, fragment):
    with pytest.raises(AuthorizationDenied, match=fragment):
        parse_redirect(redirect(request_, error=error), request_)


def test_control_characters_in_description_are_dropped(request_):
    url = redirect(request_, error="access_denied", error_description="bad\r\nINJECTED\x1b[31m")
    with pytest.raises(AuthorizationDenied) as caught:
        parse_redirect(url, request_)
    assert "\n" not in str(caught.value)
    assert "\x1b" not in str(caught.value)


def test_issuer_mismatch_is_refused(request_):
    with pytest.raises(IssuerMismatchError, match="RFC 9207"):
        parse_redirect(redirect(request_, code="x", iss="https://evil.example"), request_)


def test_missing_iss_is_refused_when_server_promises_it(request_):
    assert request_.require_iss
    with pytest.raises(IssuerMismatchError, match="no 'iss'"):
        parse_redirect(redirect(request_, code="x", iss=None), request_)


def test_missing_iss_is_accepted_when_server_does_not_promise_it(config, issuer):
    document = discovery_document(issuer, authorization_response_iss_parameter_supported=None)
    metadata = parse_metadata(document, f"{issuer}/.well-known/openid-configuration")
    request = start(config, metadata)
    assert parse_redirect(redirect(request, code="abc", iss=None), request).code == "abc"


def test_missing_code_is_refused(request_):
    with pytest.raises(AuthorizationError, match="no authorization code"):
        parse_redirect(redirect(request_), request_)


def test_repeated_parameter_is_refused(request_):
    url = redirect(request_, code="a") + "&code=b"
    with pytest.raises(AuthorizationError, match="repeats the parameter 'code'"):
        parse_redirect(url, request_)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/postauth?code=x",
        "http://rpaapp.example.com/postauth?code=x",
        "https://rpaapp.example.com/other?code=x",
        "not a url",
        "",
    ],
)
def test_redirect_elsewhere_is_refused(request_, url):
    with pytest.raises(AuthorizationError, match="redirect"):
        parse_redirect(url, request_)


def test_overlong_redirect_is_refused(request_):
    with pytest.raises(AuthorizationError, match="too long"):
        parse_redirect(redirect(request_, code="x" * 20_000), request_)


def test_redirect_error_message_never_contains_the_code(request_):
    url = redirect(request_, code="SECRET-CODE-123", state="forged")
    with pytest.raises(AuthorizationError) as caught:
        parse_redirect(url, request_)
    assert "SECRET-CODE-123" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://rpaapp.example.com/postauth?code=1", True),
        ("https://RPAAPP.example.com/postauth", True),
        ("https://rpaapp.example.com/postauth/", False),
        ("https://rpaapp.example.com:8443/postauth", False),
        ("https://rpaapp.example.com.evil/postauth", False),
        ("https://rpaapp.example.com:bad/postauth", False),
    ],
)
def test_is_redirect_uri(url, expected):
    assert is_redirect_uri(url, REDIRECT) is expected


def test_sso_origins_are_the_authorization_endpoints_and_the_issuers(request_):
    assert request_.sso_origins == ("https://sso.example.test",)
    other = dataclasses.replace(
        request_, url="https://LOGIN.sso.example.test:443/authorize?x=1", issuer="https://sso.example.test:8443/realm"
    )
    assert other.sso_origins == ("https://login.sso.example.test", "https://sso.example.test:8443")


def test_the_state_and_challenge_never_show_in_repr(request_):
    assert request_.state not in repr(request_)
    assert request_.code_challenge not in repr(request_)
    assert request_.code_challenge == s256_challenge(request_.code_verifier)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "page.goto: net::ERR_TOO_MANY_REDIRECTS at http://127.0.0.1:5/authorize?state=S&code_challenge=C",
            "page.goto: net::ERR_TOO_MANY_REDIRECTS at http://127.0.0.1:5/authorize",
        ),
        (
            "a https://x.example/p#frag and https://y.example/q?code=1 b",
            "a https://x.example/p and https://y.example/q b",
        ),
        ("no url here?state=1", "no url here?state=1"),
    ],
)
def test_queries_are_cut_from_urls_in_messages(text, expected):
    from healthcode_auth.protocol.urls import without_queries

    assert without_queries(text) == expected
