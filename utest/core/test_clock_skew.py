"""A token's times beyond the leeway are named as clock skew (ClockSkewError), with both times."""

import time

import pytest

from fake_sso import jwks, sign, signing_key
from healthcode_auth import TokenVerificationError
from healthcode_auth.errors import ClockSkewError
from healthcode_auth.protocol.jwt_verification import JwksCache, verify_access_token, verify_id_token
from healthcode_auth.protocol.token import utc_time

ISSUER = "https://sso.example.test"
JWKS_URI = f"{ISSUER}/jwks"
KEY = signing_key("key-1")
NOW = 1_800_000_000  # this machine's clock in these tests: 2027-01-15T08:00:00Z


def token(**claims):
    base = {"iss": ISSUER, "sub": "supervisor", "iat": NOW, "exp": NOW + 86400}
    base.update(claims)
    return sign(KEY, {k: v for k, v in base.items() if v is not None})


def verify(jwt, leeway, **options):
    return verify_access_token(
        jwt, jwks=JwksCache(lambda uri: jwks(KEY)), jwks_uri=JWKS_URI, issuer=ISSUER, leeway=leeway, now=NOW, **options
    )


# (claim, offset from this machine's clock, leeway, refused as clock skew?)
CASES = [
    ("iat", 90, 60, True),
    ("iat", 90, 300, False),
    ("iat", 600, 60, True),
    ("iat", 600, 300, True),
    ("nbf", 90, 60, True),
    ("nbf", 90, 300, False),
    ("nbf", 600, 60, True),
    ("nbf", 600, 300, True),
    ("exp", -90, 60, True),
    ("exp", -90, 300, False),
    ("exp", -600, 60, True),
    ("exp", -600, 300, True),
]


@pytest.mark.parametrize(("claim", "offset", "leeway", "skewed"), CASES)
def test_times_beyond_the_leeway_are_clock_skew(claim, offset, leeway, skewed):
    jwt = token(**{claim: NOW + offset, **({"iat": NOW - 3600} if claim == "exp" else {})})
    if not skewed:
        assert verify(jwt, leeway)["sub"] == "supervisor"
        return
    with pytest.raises(ClockSkewError) as caught:
        verify(jwt, leeway)
    error = caught.value
    message = str(error)
    assert (error.token_time, error.local_time) == (NOW + offset, NOW)
    assert utc_time(NOW + offset) in message  # the token's time
    assert utc_time(NOW) in message  # this machine's time
    assert f"{abs(offset)} s" in message  # the difference
    assert f"(its '{claim}')" in message
    assert message.startswith("Clock skew")
    assert (
        f"Correct this machine's clock (NTP), or raise the leeway setting (HEALTHCODE_LEEWAY, now {leeway} s)."
        in message
    )
    assert "environment setting" not in message
    assert jwt[:40] not in message


def test_an_expired_exp_may_also_be_a_broken_sso():
    with pytest.raises(ClockSkewError, match=r"Clock skew, or a broken SSO server: .*expired token: report it"):
        verify(token(iat=NOW - 7200, exp=NOW - 3600), 300)


def test_the_message_reads_like_a_sentence():
    with pytest.raises(ClockSkewError) as caught:
        verify(token(iat=NOW + 600), 60)
    assert str(caught.value) == (
        "Clock skew: the access token was issued at 2027-01-15T08:10:00Z (its 'iat'), but this machine's clock "
        "says 2027-01-15T08:00:00Z, 600 s earlier: more than the leeway of 60 s. The clocks of this machine and "
        "the SSO server disagree. Correct this machine's clock (NTP), or raise the leeway setting "
        "(HEALTHCODE_LEEWAY, now 60 s)."
    )


def test_a_token_that_expired_after_it_was_received_is_just_expired():
    jwt = token(iat=NOW - 7200, exp=NOW - 3600)
    with pytest.raises(TokenVerificationError, match="has expired") as caught:
        verify(jwt, 300, received_at=NOW - 5400)
    assert not isinstance(caught.value, ClockSkewError)
    with pytest.raises(ClockSkewError):
        verify(jwt, 300, received_at=NOW - 1800)  # already expired when it was received


@pytest.mark.parametrize("claims", [{"iat": "yesterday"}, {"nbf": None, "iat": float("nan")}, {"exp": "soon"}])
def test_a_malformed_time_is_not_clock_skew_and_does_not_blame_the_settings(claims):
    with pytest.raises(TokenVerificationError) as caught:
        verify(token(**claims), 300)
    assert not isinstance(caught.value, ClockSkewError)
    assert "not a valid time" in str(caught.value)
    assert "setting" not in str(caught.value)


def test_absurd_future_times_do_not_crash_the_message():
    with pytest.raises(ClockSkewError) as caught:
        verify(token(iat=10**400), 300)
    assert "(out of range)" in str(caught.value)
    assert caught.value.token_time == float("inf")


@pytest.mark.parametrize(
    ("claims", "claim"),
    [({"iat": NOW + 600}, "iat"), ({"nbf": NOW + 600}, "nbf"), ({"exp": NOW - 600, "iat": NOW - 900}, "exp")],
)
def test_the_id_token_names_clock_skew_too(claims, claim):
    id_token = sign(
        KEY, {"iss": ISSUER, "sub": "s", "aud": "bot", "nonce": "n", "iat": NOW, "exp": NOW + 300, **claims}, typ="JWT"
    )
    with pytest.raises(ClockSkewError, match=rf"the ID token .*\(its '{claim}'\).*HEALTHCODE_LEEWAY, now 60 s"):
        verify_id_token(
            id_token,
            jwks=JwksCache(lambda uri: jwks(KEY)),
            jwks_uri=JWKS_URI,
            issuer=ISSUER,
            client_id="bot",
            nonce="n",
            leeway=60,
            now=NOW,
        )


def test_the_default_leeway_is_five_minutes():
    now = int(time.time())
    jwt = token(iat=now + 240, exp=now + 3600)
    assert verify_access_token(jwt, jwks=JwksCache(lambda uri: jwks(KEY)), jwks_uri=JWKS_URI, issuer=ISSUER)
    with pytest.raises(ClockSkewError, match="now 300 s"):
        verify_access_token(
            token(iat=now + 360, exp=now + 3600),
            jwks=JwksCache(lambda uri: jwks(KEY)),
            jwks_uri=JWKS_URI,
            issuer=ISSUER,
        )
