"""Property-based tests: whatever arrives from outside ends in a result or a HealthcodeAuthError."""

import contextlib
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from healthcode_auth import HealthcodeAuthError, Token, parse_metadata, parse_redirect, parse_token_response
from healthcode_auth.protocol.authorization_request import AuthorizationRequest
from healthcode_auth.protocol.expiry import MAX_EXPIRES_IN, settle_expiry
from healthcode_auth.protocol.jwt_verification import read_claims
from healthcode_auth.protocol.token import describe_expiry, local_time, utc_time

REDIRECT = "https://rpaapp.example.com/postauth"
REQUEST = AuthorizationRequest(
    url="https://sso.example.test/authorize",
    client_id="c",
    redirect_uri=REDIRECT,
    issuer="https://sso.example.test",
    state="S" * 43,
    code_verifier="v" * 43,
    require_iss=True,
)

# Numbers no clock can show: integers beyond a float (401 digits), 1e308, infinities, NaN, and their
# spellings as text (Python's json module reads NaN and Infinity, and any number of digits).
absurd_numbers = (
    st.integers(min_value=10**300, max_value=10**401)
    | st.integers(max_value=-(10**300))
    | st.sampled_from(
        [
            10**12,
            1e308,
            -1e308,
            float("inf"),
            float("-inf"),
            float("nan"),
            "inf",
            "nan",
            "1e308",
            "Infinity",
            "NaN",
            "9" * 5000,
            "1767225600",
            "-0",
            " 86400 ",
        ]
    )
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | absurd_numbers,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
token_keys = st.sampled_from(
    ["access_token", "token_type", "expires_in", "refresh_token", "scope", "id_token", "error", "error_description"]
)
token_bodies = st.dictionaries(token_keys, json_values, max_size=8) | json_values
params = st.dictionaries(
    st.sampled_from(["code", "state", "iss", "error", "error_description", "x"]) | st.text(max_size=8),
    st.text(max_size=40) | st.just("S" * 43) | st.just("https://sso.example.test"),
    max_size=6,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200) | urls())
def test_any_url_is_parsed_or_refused(url):
    with contextlib.suppress(HealthcodeAuthError):
        parse_redirect(url, REQUEST)


@settings(max_examples=300)
@given(params, st.sampled_from([REDIRECT, REDIRECT.upper(), "https://evil.example/postauth"]))
def test_any_redirect_query_is_parsed_or_refused(query, base):
    url = base + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
    try:
        grant = parse_redirect(url, REQUEST)
    except HealthcodeAuthError:
        return
    assert grant.code
    assert query.get("state") == REQUEST.state


@settings(max_examples=400)
@given(st.integers(min_value=100, max_value=599), st.sampled_from(["application/json", "text/html", ""]), token_bodies)
def test_any_token_response_is_parsed_or_refused(status, content_type, body):
    try:
        token = parse_token_response(status, content_type, body)
    except HealthcodeAuthError:
        return
    assert isinstance(token, Token)
    assert status == 200
    assert token.access_token


@settings(max_examples=400)
@given(
    json_values,
    json_values | st.floats(min_value=1.8e9, max_value=2.1e9),
    st.floats(min_value=0, max_value=4e9, allow_nan=False),
)
def test_any_expires_in_and_exp_settle_to_a_sane_expiry_or_are_refused(expires_in, exp, issued_at):
    try:
        settled = settle_expiry(expires_in, exp, issued_at)
    except HealthcodeAuthError as error:
        refusal = str(error)
    else:
        refusal = None
    if refusal is not None:
        assert refusal.isprintable()
        return
    assert issued_at <= settled.expires_at <= issued_at + MAX_EXPIRES_IN
    assert local_time(settled.expires_at)
    assert describe_expiry(settled.expires_at, issued_at)
    for warning in settled.warnings:
        assert warning.isprintable()
        assert len(warning) < 600


@settings(max_examples=300)
@given(st.integers() | st.floats() | absurd_numbers.filter(lambda value: not isinstance(value, str)))
def test_any_point_in_time_can_be_shown(timestamp):
    assert local_time(timestamp)
    assert utc_time(timestamp)
    assert describe_expiry(timestamp, 1.8e9)


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "issuer",
                "authorization_endpoint",
                "token_endpoint",
                "jwks_uri",
                "code_challenge_methods_supported",
                "revocation_endpoint",
                "authorization_response_iss_parameter_supported",
                "token_endpoint_auth_methods_supported",
            ]
        ),
        json_values | st.just("https://sso.example.test/x"),
        max_size=8,
    )
    | json_values
)
def test_any_discovery_document_is_parsed_or_refused(document):
    with contextlib.suppress(HealthcodeAuthError):
        parse_metadata(document, "https://sso.example.test/.well-known/openid-configuration")


@settings(max_examples=300)
@given(
    st.text(max_size=300)
    | st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.text(max_size=40), st.text(max_size=80), st.text(max_size=40))
)
def test_any_token_text_gives_claims_or_a_clear_error(text):
    with contextlib.suppress(HealthcodeAuthError):
        assert isinstance(read_claims(text), dict)
