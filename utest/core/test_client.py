"""The whole client against a real local HTTP server (pytest-httpserver) standing in for the SSO."""

import base64
import json
import threading
import time
from urllib.parse import parse_qs, unquote_plus, urlencode

import pytest
from werkzeug import Response

from fake_sso import discovery_document, jwks, sign, signing_key
from healthcode_auth import (
    HealthcodeAuthClient,
    HealthcodeConfig,
    InvalidGrantError,
    TokenRequestError,
    TokenVerificationError,
    TransportError,
)

REDIRECT = "https://rpaapp.example.com/postauth"


@pytest.fixture(scope="module")
def key():
    return signing_key("key-1")


@pytest.fixture
def sso(httpserver, key):
    issuer = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery_document(issuer))
    httpserver.expect_request("/jwks").respond_with_json(jwks(key))
    return httpserver


def make_client(sso, **settings):
    config = HealthcodeConfig(
        client_id="example_rpa_app",
        redirect_uri=REDIRECT,
        environment=sso.url_for("/.well-known/openid-configuration"),
        **settings,
    )
    return HealthcodeAuthClient(config)


def access_token(sso, key, **claims):
    now = int(time.time())
    base = {
        "iss": sso.url_for("").rstrip("/"),
        "sub": "supervisor",
        "aud": "api",
        "client_id": "example_rpa_app",
        "iat": now,
        "exp": now + 86400,
        "jti": "j1",
    }
    base.update(claims)
    return sign(key, {k: v for k, v in base.items() if v is not None})


def redirect_for(sign_in, code="THE-CODE"):
    return f"{REDIRECT}?{urlencode({'code': code, 'state': sign_in.state, 'iss': sign_in.issuer})}"


def token_answer(sso, body, status=200):
    sso.expect_oneshot_request("/token", method="POST").respond_with_json(body, status=status)


def test_full_exchange_verifies_the_jwt(sso, key):
    jwt = access_token(sso, key)
    token_answer(sso, {"access_token": jwt, "token_type": "Bearer", "expires_in": 86400, "refresh_token": "RT"})
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        token = client.complete_sign_in(sign_in, redirect_for(sign_in))
        claims = client.claims(token)
    assert token.access_token == jwt
    assert abs(token.seconds_left() - 86400) < 60
    assert claims["sub"] == "supervisor"
    token_request = next(req for req, _ in sso.log if req.path == "/token")
    form = {k: v[0] for k, v in parse_qs(token_request.get_data(as_text=True)).items()}
    assert form == {
        "grant_type": "authorization_code",
        "client_id": "example_rpa_app",
        "redirect_uri": REDIRECT,
        "code": "THE-CODE",
        "code_verifier": sign_in.code_verifier,
    }
    assert "Authorization" not in token_request.headers


def test_confidential_client_sends_form_encoded_basic(sso, key):
    token_answer(sso, {"access_token": access_token(sso, key), "token_type": "Bearer", "expires_in": 60})
    with make_client(sso, client_secret="a:b/c+d&e=f%g") as client:
        sign_in = client.start_sign_in()
        client.complete_sign_in(sign_in, redirect_for(sign_in))
    token_request = next(req for req, _ in sso.log if req.path == "/token")
    user, _, password = base64.b64decode(token_request.headers["Authorization"][6:]).decode().partition(":")
    assert (unquote_plus(user), unquote_plus(password)) == ("example_rpa_app", "a:b/c+d&e=f%g")


def test_expiry_comes_from_jwt_when_expires_in_is_missing(sso, key):
    exp = int(time.time()) + 3600
    token_answer(sso, {"access_token": access_token(sso, key, exp=exp), "token_type": "Bearer"})
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        assert client.complete_sign_in(sign_in, redirect_for(sign_in)).expires_at == exp


def test_opaque_token_is_accepted_in_auto_mode(sso):
    token_answer(sso, {"access_token": "opaque-token-value", "token_type": "Bearer", "expires_in": 60})
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        token = client.complete_sign_in(sign_in, redirect_for(sign_in))
        assert client.claims(token) == {}


def test_a_token_with_no_known_expiry_is_not_valid_forever(sso):
    token_answer(sso, {"access_token": "opaque-token-value", "token_type": "Bearer"})
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        token = client.complete_sign_in(sign_in, redirect_for(sign_in))
    assert token.expires_at == pytest.approx(token.issued_at + 3600)


def test_opaque_token_is_refused_when_verification_is_required(sso):
    token_answer(sso, {"access_token": "opaque-token-value", "token_type": "Bearer", "expires_in": 60})
    with make_client(sso, verify_access_token="always") as client:
        sign_in = client.start_sign_in()
        with pytest.raises(TokenVerificationError, match="not a JWT"):
            client.complete_sign_in(sign_in, redirect_for(sign_in))


def test_unverified_claims_in_never_mode(sso):
    other = signing_key("other")
    token_answer(sso, {"access_token": access_token(sso, other), "token_type": "Bearer", "expires_in": 60})
    with make_client(sso, verify_access_token="never") as client:
        sign_in = client.start_sign_in()
        token = client.complete_sign_in(sign_in, redirect_for(sign_in))
        assert client.claims(token)["sub"] == "supervisor"


@pytest.mark.parametrize(
    ("claims", "fragment"),
    [
        ({"iss": "https://evil.example"}, "'iss' claim"),
        ({"iss": None}, "'iss' claim"),
        ({"exp": int(time.time()) - 3600}, "Clock skew, or a broken SSO server: the access token expired"),
        ({"exp": None}, "'exp' claim"),
    ],
)
def test_bad_claims_are_refused(sso, key, claims, fragment):
    token_answer(sso, {"access_token": access_token(sso, key, **claims), "token_type": "Bearer"})
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        with pytest.raises(TokenVerificationError, match=fragment):
            client.complete_sign_in(sign_in, redirect_for(sign_in))


def test_bad_signature_is_refused(sso, key):
    forged = access_token(sso, signing_key("key-1"))  # same kid, different key
    token_answer(sso, {"access_token": forged, "token_type": "Bearer"})
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        with pytest.raises(TokenVerificationError, match="signature could not be verified") as caught:
            client.complete_sign_in(sign_in, redirect_for(sign_in))
    assert forged not in str(caught.value)


def test_unknown_kid_refetches_jwks_once(httpserver, key):
    """After key rotation the token names a new kid: the key set is fetched again, once."""
    issuer = httpserver.url_for("").rstrip("/")
    rotated = signing_key("key-2")
    published = [jwks(key), jwks(key, rotated)]
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery_document(issuer))
    httpserver.expect_request("/jwks").respond_with_handler(
        lambda _request: Response(json.dumps(published.pop(0)), content_type="application/json")
    )
    tokens = [access_token(httpserver, key), access_token(httpserver, rotated)]
    httpserver.expect_request("/token", method="POST").respond_with_handler(
        lambda _request: Response(
            json.dumps({"access_token": tokens.pop(0), "token_type": "Bearer"}), content_type="application/json"
        )
    )
    with make_client(httpserver) as client:
        for _ in range(2):
            sign_in = client.start_sign_in()
            client.complete_sign_in(sign_in, redirect_for(sign_in))
    assert [req.path for req, _ in httpserver.log].count("/jwks") == 2
    assert published == []


def test_unknown_kid_after_refetch_is_refused(sso, key):
    token_answer(sso, {"access_token": access_token(sso, signing_key("nobody")), "token_type": "Bearer"})
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        with pytest.raises(TokenVerificationError, match="does not publish"):
            client.complete_sign_in(sign_in, redirect_for(sign_in))


def test_invalid_grant_says_sign_in_again(sso):
    token_answer(sso, {"error": "invalid_grant", "error_description": "code already used"}, status=400)
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        with pytest.raises(InvalidGrantError, match="supervisor must sign in again") as caught:
            client.complete_sign_in(sign_in, redirect_for(sign_in, code="USED-CODE"))
    assert "USED-CODE" not in str(caught.value)
    assert sign_in.code_verifier not in str(caught.value)


def test_server_error_is_not_retried(sso):
    token_answer(sso, {"error": "server_error"}, status=500)
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        with pytest.raises(TokenRequestError, match="HTTP 500"):
            client.complete_sign_in(sign_in, redirect_for(sign_in))
    assert [req.path for req, _ in sso.log].count("/token") == 1


def test_html_answer(sso):
    sso.expect_oneshot_request("/token", method="POST").respond_with_data(
        "<html>proxy login</html>", content_type="text/html"
    )
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        with pytest.raises(TokenRequestError, match="HTML page"):
            client.complete_sign_in(sign_in, redirect_for(sign_in))


def test_timeout_is_reported_and_not_retried(sso):
    answered = threading.Event()

    def slow(_request):
        time.sleep(1.5)
        answered.set()
        return Response("{}", content_type="application/json")

    sso.expect_oneshot_request("/token", method="POST").respond_with_handler(slow)
    with make_client(sso, timeout=0.5) as client:
        sign_in = client.start_sign_in()
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"did not answer within 0.5 seconds.*sign in again"):
            client.complete_sign_in(sign_in, redirect_for(sign_in))
        assert time.monotonic() - started < 1.4
    answered.wait(5)  # let the server finish before the next test reuses it
    assert [req.path for req, _ in sso.log].count("/token") == 1


def test_refresh_keeps_old_refresh_token_when_none_is_returned(sso, key):
    token_answer(sso, {"access_token": access_token(sso, key), "token_type": "Bearer", "expires_in": 60})
    with make_client(sso) as client:
        token = client.refresh("RT-OLD")
    assert token.refresh_token == "RT-OLD"
    refresh_request = next(req for req, _ in sso.log if req.path == "/token")
    assert parse_qs(refresh_request.get_data(as_text=True))["grant_type"] == ["refresh_token"]


def test_refresh_takes_rotated_refresh_token(sso, key):
    token_answer(sso, {"access_token": access_token(sso, key), "token_type": "Bearer", "refresh_token": "RT-NEW"})
    with make_client(sso) as client:
        assert client.refresh("RT-OLD").refresh_token == "RT-NEW"


def test_refused_refresh_is_invalid_grant(sso):
    token_answer(sso, {"error": "invalid_grant"}, status=400)
    with make_client(sso) as client, pytest.raises(InvalidGrantError):
        client.refresh("RT-REVOKED")


def test_jwks_down_is_reported(httpserver, key):
    issuer = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery_document(issuer))
    httpserver.expect_request("/jwks").respond_with_data("", status=404)
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": access_token(httpserver, key), "token_type": "Bearer"}
    )
    with make_client(httpserver) as client:
        sign_in = client.start_sign_in()
        with pytest.raises(TokenVerificationError, match="HTTP 404"):
            client.complete_sign_in(sign_in, redirect_for(sign_in))


def test_connection_refused_on_token_endpoint(httpserver, unused_port):
    issuer = httpserver.url_for("").rstrip("/")
    document = discovery_document(issuer, token_endpoint=f"http://127.0.0.1:{unused_port}/token")
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(document)
    with make_client(httpserver) as client:
        sign_in = client.start_sign_in()
        with pytest.raises(TransportError, match="Could not connect to the token endpoint"):
            client.complete_sign_in(sign_in, redirect_for(sign_in))


def test_token_without_kid_is_tried_against_each_published_key(httpserver):
    issuer = httpserver.url_for("").rstrip("/")
    signer, other = signing_key("a"), signing_key("b")
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery_document(issuer))
    httpserver.expect_request("/jwks").respond_with_json(jwks(other, signer))
    from joserfc import jwt as jose_jwt

    now = int(time.time())
    token = jose_jwt.encode({"alg": "RS256"}, {"iss": issuer, "sub": "s", "exp": now + 60, "iat": now}, signer)
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": token, "token_type": "Bearer"}
    )
    with make_client(httpserver) as client:
        sign_in = client.start_sign_in()
        assert client.claims(client.complete_sign_in(sign_in, redirect_for(sign_in)))["sub"] == "s"


def test_token_without_kid_and_no_matching_key_is_refused(httpserver):
    issuer = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery_document(issuer))
    httpserver.expect_request("/jwks").respond_with_json(jwks(signing_key("a"), signing_key("b")))
    from joserfc import jwt as jose_jwt

    token = jose_jwt.encode({"alg": "RS256"}, {"iss": issuer, "exp": int(time.time()) + 60}, signing_key("c"))
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": token, "token_type": "Bearer"}
    )
    with make_client(httpserver) as client:
        sign_in = client.start_sign_in()
        with pytest.raises(TokenVerificationError, match="does not publish"):
            client.complete_sign_in(sign_in, redirect_for(sign_in))


def _openid_client(sso):
    return make_client(sso, scope="openid")


def _id_token(sso, key, sign_in, **claims):
    now = int(time.time())
    base = {
        "iss": sso.url_for("").rstrip("/"),
        "sub": "supervisor",
        "aud": "example_rpa_app",
        "iat": now,
        "exp": now + 300,
        "nonce": sign_in.nonce,
    }
    base.update(claims)
    return sign(key, {k: v for k, v in base.items() if v is not None}, typ="JWT")


def test_id_token_is_verified_with_its_nonce(sso, key):
    with _openid_client(sso) as client:
        sign_in = client.start_sign_in()
        token_answer(
            sso,
            {"access_token": access_token(sso, key), "token_type": "Bearer", "id_token": _id_token(sso, key, sign_in)},
        )
        assert client.complete_sign_in(sign_in, redirect_for(sign_in)).id_token


@pytest.mark.parametrize(
    "claims",
    [
        {"nonce": "replayed"},
        {"nonce": None},
        {"aud": "another_client"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 3600},
    ],
)
def test_bad_id_token_is_refused(sso, key, claims):
    with _openid_client(sso) as client:
        sign_in = client.start_sign_in()
        token_answer(
            sso,
            {
                "access_token": access_token(sso, key),
                "token_type": "Bearer",
                "id_token": _id_token(sso, key, sign_in, **claims),
            },
        )
        with pytest.raises(TokenVerificationError, match="ID token"):
            client.complete_sign_in(sign_in, redirect_for(sign_in))


def test_unrequested_id_token_is_dropped(sso, key):
    with make_client(sso) as client:
        sign_in = client.start_sign_in()
        token_answer(sso, {"access_token": access_token(sso, key), "token_type": "Bearer", "id_token": "x.y.z"})
        assert client.complete_sign_in(sign_in, redirect_for(sign_in)).id_token is None


def exchange(sso, body, **settings):
    token_answer(sso, body)
    with make_client(sso, **settings) as client:
        sign_in = client.start_sign_in()
        return client.complete_sign_in(sign_in, redirect_for(sign_in))


def test_the_earlier_of_expires_in_and_exp_is_the_expiry(sso, key):
    soon = int(time.time()) + 120
    token = exchange(
        sso, {"access_token": access_token(sso, key, exp=soon), "token_type": "Bearer", "expires_in": 86400}
    )
    assert token.expires_at == soon  # the JWT says 2 minutes: it is not valid for 24 hours
    later = exchange(sso, {"access_token": access_token(sso, key), "token_type": "Bearer", "expires_in": 600})
    assert abs(later.seconds_left() - 600) < 60  # expires_in is earlier here


def test_audience_is_checked_when_set(sso, key):
    body = {"access_token": access_token(sso, key, aud="api"), "token_type": "Bearer", "expires_in": 600}
    assert exchange(sso, body, audience="api").access_token == body["access_token"]
    with pytest.raises(
        TokenVerificationError,
        match=r"'aud' claim is missing or wrong \(expected audience "
        r"https://api.healthcode.example\).*audience setting",
    ):
        exchange(sso, body, audience="https://api.healthcode.example")
    no_aud = {**body, "access_token": access_token(sso, key, aud=None)}
    with pytest.raises(TokenVerificationError, match="'aud'"):
        exchange(sso, no_aud, audience="api")


def test_audience_cannot_be_checked_on_an_opaque_token(sso):
    with pytest.raises(TokenVerificationError, match="opaque, so its audience cannot be checked"):
        exchange(sso, {"access_token": "opaque-token-value", "token_type": "Bearer", "expires_in": 600}, audience="api")


def test_audience_needs_verification():
    from healthcode_auth import ConfigurationError

    with pytest.raises(ConfigurationError, match="'audience'.*verify_access_token"):
        HealthcodeConfig(client_id="c", redirect_uri=REDIRECT, verify_access_token="never", audience="api")


@pytest.mark.parametrize(
    ("typ", "strict", "accepted"),
    [
        ("at+jwt", True, True),
        ("application/at+jwt", True, True),
        ("AT+JWT", True, True),
        ("JWT", False, True),
        (None, False, True),
        ("JWT", True, False),
        (None, True, False),
        ("dpop+jwt", False, False),
        ("secevent+jwt", False, False),
    ],
)
def test_access_token_type(sso, key, typ, strict, accepted):
    jwt = sign(key, {"iss": sso.url_for("").rstrip("/"), "sub": "s", "exp": int(time.time()) + 600}, typ=typ)
    body = {"access_token": jwt, "token_type": "Bearer", "expires_in": 600}
    settings = {"verify_access_token": "always"} if strict else {}
    if accepted:
        assert exchange(sso, body, **settings).access_token == jwt
    else:
        with pytest.raises(TokenVerificationError, match="not 'at\\+jwt' \\(RFC 9068\\)"):
            exchange(sso, body, **settings)
