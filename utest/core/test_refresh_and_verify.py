"""The client against a local HTTP server: a refresh's answer kept apart from its verification, the
key set's transient and permanent failures, the expiry settled, and the leeway setting."""

import logging
import time
from urllib.parse import parse_qs, urlencode

import pytest

from fake_sso import discovery_document, jwks, sign, signing_key
from healthcode_auth import (
    HealthcodeAuthClient,
    HealthcodeConfig,
    TokenRequestError,
    TokenVerificationError,
    TransportError,
)
from healthcode_auth.errors import ClockSkewError, KeySetUnavailableError
from healthcode_auth.protocol.expiry import ASSUMED_LIFETIME

REDIRECT = "https://rpaapp.example.com/postauth"


@pytest.fixture(scope="module")
def key():
    return signing_key("key-1")


def serve_discovery(server, **extra):
    issuer = server.url_for("").rstrip("/")
    server.expect_request("/.well-known/openid-configuration").respond_with_json(discovery_document(issuer, **extra))


@pytest.fixture
def sso(httpserver, key):
    serve_discovery(httpserver)
    httpserver.expect_request("/jwks").respond_with_json(jwks(key))
    return httpserver


def make_client(server, **settings):
    config = HealthcodeConfig(
        client_id="example_rpa_app",
        redirect_uri=REDIRECT,
        environment=server.url_for("/.well-known/openid-configuration"),
        **settings,
    )
    return HealthcodeAuthClient(config)


def access_token(server, key, **claims):
    now = int(time.time())
    base = {
        "iss": server.url_for("").rstrip("/"),
        "sub": "supervisor",
        "name": "Sam Supervisor",
        "iat": now,
        "exp": now + 86400,
    }
    base.update(claims)
    return sign(key, {k: v for k, v in base.items() if v is not None})


def answer(server, body, status=200):
    server.expect_oneshot_request("/token", method="POST").respond_with_json(body, status=status)


def paths(server):
    return [request.path for request, _ in server.log]


def exchange(server, body, **settings):
    answer(server, body)
    with make_client(server, **settings) as client:
        sign_in = client.start_sign_in()
        redirect = f"{REDIRECT}?{urlencode({'code': 'C', 'state': sign_in.state, 'iss': sign_in.issuer})}"
        return client.complete_sign_in(sign_in, redirect)


# --- request_refresh and verify -----------------------------------------------------------------


def test_request_refresh_makes_one_request_and_verifies_nothing(sso, key):
    unverifiable = access_token(sso, signing_key("unknown"), exp=int(time.time()) - 3600)
    answer(sso, {"access_token": unverifiable, "token_type": "Bearer", "expires_in": 600, "refresh_token": "RT-NEW"})
    with make_client(sso) as client:
        client.metadata  # noqa: B018  (discovery happens before the refresh, as in a renewal)
        sso.clear_log()
        token = client.request_refresh("RT-OLD")
        assert paths(sso) == ["/token"]  # the POST, and nothing after it: no key set
        assert parse_qs(sso.log[0][0].get_data(as_text=True))["refresh_token"] == ["RT-OLD"]
        assert token.refresh_token == "RT-NEW"  # kept, although the access token would fail verification
        assert token.expires_at == pytest.approx(time.time() + 600, abs=60)
        assert (token.supervisor, token.supervisor_name) == (None, None)
        with pytest.raises(TokenVerificationError):
            client.verify(token)


def test_request_refresh_keeps_the_old_refresh_token_when_none_is_returned(sso, key):
    answer(sso, {"access_token": access_token(sso, key), "token_type": "Bearer", "expires_in": "soon"})
    with make_client(sso) as client:
        token = client.request_refresh("RT-OLD")
    assert token.refresh_token == "RT-OLD"
    assert token.expires_at is None  # expires_in is not sane: verify settles it from exp
    assert "/jwks" not in paths(sso)


def test_verify_completes_a_refreshed_token(sso, key):
    exp = int(time.time()) + 7200
    answer(sso, {"access_token": access_token(sso, key, exp=exp), "token_type": "Bearer", "expires_in": 86400})
    with make_client(sso) as client:
        token = client.verify(client.request_refresh("RT"))
    assert token.expires_at == exp
    assert (token.supervisor, token.supervisor_name) == ("supervisor", "Sam Supervisor")
    assert token.expires_in is None  # settled


def test_refresh_is_request_then_verify(sso, key):
    answer(sso, {"access_token": access_token(sso, key, sub="someone"), "token_type": "Bearer"})
    with make_client(sso) as client:
        token = client.refresh("RT")
    assert (token.refresh_token, token.supervisor) == ("RT", "someone")
    assert paths(sso).count("/jwks") == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_failing_key_set_is_transient(httpserver, key, status):
    serve_discovery(httpserver)
    httpserver.expect_request("/jwks").respond_with_data("down", status=status)
    answer(
        httpserver, {"access_token": access_token(httpserver, key), "token_type": "Bearer", "refresh_token": "RT-NEW"}
    )
    with make_client(httpserver, timeout=5) as client:
        token = client.request_refresh("RT-OLD")
        with pytest.raises(KeySetUnavailableError, match=rf"HTTP {status}.*Try again") as caught:
            client.verify(token)
    assert isinstance(caught.value, TransportError)
    assert not isinstance(caught.value, TokenVerificationError)
    assert token.refresh_token == "RT-NEW"
    assert token.access_token not in str(caught.value)


def test_an_unreachable_key_set_is_transient(httpserver, key, unused_port):
    serve_discovery(httpserver, jwks_uri=f"http://127.0.0.1:{unused_port}/jwks")
    answer(httpserver, {"access_token": access_token(httpserver, key), "token_type": "Bearer"})
    with (
        make_client(httpserver, timeout=3) as client,
        pytest.raises(KeySetUnavailableError, match="key set .*could not be fetched.*try again"),
    ):
        client.verify(client.request_refresh("RT"))


@pytest.mark.parametrize(("status", "body"), [(404, "missing"), (403, "forbidden"), (200, "not json")])
def test_a_missing_or_broken_key_set_is_permanent(httpserver, key, status, body):
    serve_discovery(httpserver)
    httpserver.expect_request("/jwks").respond_with_data(body, status=status)
    answer(httpserver, {"access_token": access_token(httpserver, key), "token_type": "Bearer"})
    with make_client(httpserver) as client:
        token = client.request_refresh("RT")
        with pytest.raises(TokenVerificationError) as caught:
            client.verify(token)
    assert not isinstance(caught.value, KeySetUnavailableError)
    assert not isinstance(caught.value, TransportError)


def test_a_failing_key_set_on_sign_in_keeps_its_class(httpserver, key):
    serve_discovery(httpserver)
    httpserver.expect_request("/jwks").respond_with_data("", status=503)
    with pytest.raises(KeySetUnavailableError):
        exchange(httpserver, {"access_token": access_token(httpserver, key), "token_type": "Bearer"}, timeout=5)


# --- the expiry, settled ------------------------------------------------------------------------


def test_expires_in_as_a_unix_timestamp_gives_way_to_exp_with_a_warning(sso, key, caplog):
    exp = int(time.time()) + 3600
    jwt = access_token(sso, key, exp=exp)
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        token = exchange(sso, {"access_token": jwt, "token_type": "Bearer", "expires_in": exp + 60})
    assert token.expires_at == exp
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"expires_in {exp + 60} reads as a Unix timestamp" in w and "using the token's exp" in w for w in warnings
    )
    assert not any(jwt in w for w in warnings)


def test_an_opaque_token_with_a_timestamp_expires_in_expires_then(sso, caplog):
    at = int(time.time()) + 7200
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        token = exchange(sso, {"access_token": "opaque-token-value", "token_type": "Bearer", "expires_in": at})
    assert token.expires_at == at
    assert "the token has no exp: taking it as the time the token expires" in caplog.text


@pytest.mark.parametrize("expires_in", [10**12, 10**400, "1e308", -1])
def test_an_opaque_token_with_no_sane_expiry_is_refused(sso, expires_in):
    with pytest.raises(TokenRequestError, match="no sane expiry.*the token has no exp") as caught:
        exchange(sso, {"access_token": "opaque-token-value", "token_type": "Bearer", "expires_in": expires_in})
    assert "opaque-token-value" not in str(caught.value)


def test_an_absurd_exp_without_expires_in_gets_the_assumed_lifetime(sso, key, caplog):
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        token = exchange(sso, {"access_token": access_token(sso, key, exp=10**12), "token_type": "Bearer"})
    assert token.expires_at == pytest.approx(token.issued_at + ASSUMED_LIFETIME)
    assert "exp 1000000000000 (out of range) is more than 10 years" in caplog.text


def test_absurd_exp_and_absurd_expires_in_are_refused(sso, key):
    with pytest.raises(TokenRequestError, match=r"no sane expiry.*about 401 digits.*exp 1000000000000"):
        exchange(
            sso, {"access_token": access_token(sso, key, exp=10**12), "token_type": "Bearer", "expires_in": 10**400}
        )


# --- the leeway setting ---------------------------------------------------------------------------


def test_the_leeway_setting_is_used_and_named(sso, key):
    body = {"access_token": access_token(sso, key, iat=int(time.time()) + 120), "token_type": "Bearer"}
    assert exchange(sso, body).supervisor == "supervisor"  # within the default 300 s
    with pytest.raises(ClockSkewError, match=r"HEALTHCODE_LEEWAY, now 60 s"):
        exchange(sso, body, leeway=60)
