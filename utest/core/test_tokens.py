import base64
import dataclasses
import time
from urllib.parse import unquote_plus

import pytest

from fake_sso import discovery_document
from healthcode_auth import (
    InvalidGrantError,
    Token,
    TokenRequestError,
    TokenStatus,
    parse_token_response,
    token_status,
)
from healthcode_auth.protocol.authorization_request import AuthorizationCode
from healthcode_auth.protocol.provider_metadata import parse_metadata
from healthcode_auth.protocol.token_endpoint import basic_authorization
from protocol_values import code_request, refresh_request, start

NOW = 1_800_000_000.0


@pytest.mark.parametrize("secret", ["plain", "a:b/c+d&e=f%g", "sp ace", "ünï©ødé", "~!@#$^*()[]{}|\\;'\",.<>?"])
def test_basic_authorization_form_encodes_then_base64s(secret):
    header = basic_authorization("my:client", secret)
    assert header.startswith("Basic ")
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    assert unquote_plus(user) == "my:client"
    assert unquote_plus(password) == secret
    assert ":" not in password


def test_basic_authorization_known_value():
    # RFC 6749 section 2.3.1 example credentials, form-encoded first (nothing to encode here).
    assert (
        basic_authorization("s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw")
        == "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3"
    )


def _grant(config, metadata, code="THE-CODE"):
    return AuthorizationCode(code=code, request=start(config, metadata))


def test_public_client_code_request_matches_healthcode_document(config, metadata):
    grant = _grant(config, metadata)
    request = code_request(config, metadata, grant)
    assert request.url == metadata.token_endpoint
    assert dict(request.form) == {
        "grant_type": "authorization_code",
        "client_id": "example_rpa_app",
        "redirect_uri": "https://rpaapp.example.com/postauth",
        "code": "THE-CODE",
        "code_verifier": grant.request.code_verifier,
    }
    assert "Authorization" not in request.headers
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "THE-CODE" not in repr(request)


def test_confidential_client_uses_basic_by_default(config, metadata):
    config = dataclasses.replace(config, client_secret="a:b/c+d&e=f%g")
    request = code_request(config, metadata, _grant(config, metadata))
    assert request.headers["Authorization"] == basic_authorization("example_rpa_app", "a:b/c+d&e=f%g")
    assert "client_secret" not in request.form
    assert "a:b/c+d" not in repr(request)


def test_confidential_client_uses_post_when_server_only_supports_it(config, issuer):
    metadata = parse_metadata(
        discovery_document(issuer, token_endpoint_auth_methods_supported=["client_secret_post"]),
        f"{issuer}/.well-known/openid-configuration",
    )
    config = dataclasses.replace(config, client_secret="s3cret")
    request = code_request(config, metadata, _grant(config, metadata))
    assert request.form["client_secret"] == "s3cret"
    assert "Authorization" not in request.headers


def test_refresh_request(config, metadata):
    request = refresh_request(config, metadata, "RT-1")
    assert dict(request.form) == {
        "grant_type": "refresh_token",
        "client_id": "example_rpa_app",
        "refresh_token": "RT-1",
    }


def test_successful_response_is_parsed():
    token = parse_token_response(
        200,
        "application/json",
        {
            "access_token": "eyJ.a.b",
            "token_type": "Bearer",
            "expires_in": 86400,
            "refresh_token": "RT",
            "scope": "api",
            "id_token": "ID",
        },
        now=NOW,
    )
    assert token.access_token == "eyJ.a.b"
    assert token.expires_at == NOW + 86400
    assert (token.refresh_token, token.scope, token.id_token) == ("RT", "api", "ID")
    assert token.authorization_header == "Bearer eyJ.a.b"


@pytest.mark.parametrize("token_type", ["bearer", "BEARER", "Bearer"])
def test_token_type_is_case_insensitive(token_type):
    token = parse_token_response(200, "application/json", {"access_token": "t", "token_type": token_type})
    assert token.token_type == "Bearer"
    assert token.expires_at is None


@pytest.mark.parametrize("expires_in", [-1, "soon", True, float("nan"), 10**401, 1e308, float("inf"), [86400]])
def test_a_bad_expires_in_is_settled_later_not_refused_here(expires_in):
    """The token's own exp may still give a sane expiry: the client settles it (protocol/expiry.py)."""
    token = parse_token_response(
        200, "application/json", {"access_token": "t", "token_type": "Bearer", "expires_in": expires_in}, now=NOW
    )
    assert token.expires_at is None
    assert token.expires_in is expires_in


def test_expires_in_as_string_is_tolerated():
    token = parse_token_response(
        200, "application/json", {"access_token": "t", "token_type": "Bearer", "expires_in": "3600"}, now=NOW
    )
    assert token.expires_at == NOW + 3600


def test_token_repr_and_str_hide_secrets():
    token = Token(access_token="ACCESS-SECRET", refresh_token="REFRESH-SECRET", id_token="ID-SECRET", expires_at=NOW)
    for text in (repr(token), str(token), f"{token}"):
        assert "ACCESS-SECRET" not in text
        assert "REFRESH-SECRET" not in text
        assert "ID-SECRET" not in text


def test_validity_with_margin():
    token = Token(access_token="t", expires_at=NOW + 600)
    assert token_status(token, 0, now=NOW) is TokenStatus.VALID
    assert token_status(token, 300, now=NOW) is TokenStatus.VALID
    assert token_status(token, 600, now=NOW) is not TokenStatus.VALID
    assert token.seconds_left(now=NOW) == 600
    assert token_status(Token(access_token="t"), 10**9) is TokenStatus.VALID


@pytest.mark.parametrize(
    ("status", "body", "cls", "fragment"),
    [
        (400, {"error": "invalid_grant", "error_description": "Code reused"}, InvalidGrantError, "sign in again"),
        (401, {"error": "invalid_client"}, TokenRequestError, "client_secret"),
        (400, {"error": "invalid_request"}, TokenRequestError, "malformed"),
        (400, {"error": "unsupported_grant_type"}, TokenRequestError, "does not support"),
        (400, {"error": "custom_error"}, TokenRequestError, "refused"),
        (200, {"error": "invalid_grant"}, InvalidGrantError, "sign in again"),
        (400, {"foo": "bar"}, TokenRequestError, "without an OAuth error"),
        (403, {"error": 42}, TokenRequestError, "without an OAuth error"),
        (500, {"error": "server_error"}, TokenRequestError, "HTTP 500"),
        (503, None, TokenRequestError, "HTTP 503"),
        (200, None, TokenRequestError, "not a JSON object"),
        (200, [1, 2], TokenRequestError, "not a JSON object"),
        (200, {"token_type": "Bearer"}, TokenRequestError, "no usable access_token"),
        (200, {"access_token": "", "token_type": "Bearer"}, TokenRequestError, "no usable access_token"),
        (200, {"access_token": "a\nb", "token_type": "Bearer"}, TokenRequestError, "no usable access_token"),
        (200, {"access_token": "t"}, TokenRequestError, "not a Bearer"),
        (200, {"access_token": "t", "token_type": "mac"}, TokenRequestError, "not a Bearer"),
        (200, {"access_token": "t", "token_type": "Bearer", "refresh_token": 5}, TokenRequestError, "refresh_token"),
    ],
)
def test_error_responses(status, body, cls, fragment):
    with pytest.raises(cls, match=fragment) as caught:
        parse_token_response(status, "application/json", body)
    assert type(caught.value) is cls
    assert caught.value.status_code == status or status == 200


def test_error_fields_are_kept():
    with pytest.raises(InvalidGrantError) as caught:
        parse_token_response(400, "application/json", {"error": "invalid_grant", "error_description": "used"})
    assert (caught.value.error, caught.value.description) == ("invalid_grant", "used")


def test_html_answer_is_named():
    with pytest.raises(TokenRequestError, match="HTML page"):
        parse_token_response(200, "text/html; charset=utf-8", None)


@pytest.mark.parametrize("wanted", [-1, -100_000, float("nan")])
def test_a_negative_minimum_is_refused_not_read_as_valid(wanted):
    """Issue 17, point 9: `status --min-remaining -100000` called an expired token valid."""
    from healthcode_auth import ConfigurationError

    expired = Token(access_token="ACCESS-TOKEN-VALUE", expires_at=time.time() - 60)
    with pytest.raises(ConfigurationError, match="min_remaining"):
        token_status(expired, min_remaining=wanted)
