"""A hand-written table of malformed, oversized, mistyped and hostile inputs.

Every case must end in a HealthcodeAuthError with a message (or, where marked, a valid result):
never another exception, a hang, or a secret in the message. The count is printed in the test
summary (see utest/conftest.py).
"""

import base64
import json
import time

import pytest

from fake_sso import discovery_document, jwks, sign, signing_key
from healthcode_auth import (
    HealthcodeAuthError,
    HealthcodeConfig,
    TokenRequestError,
    parse_metadata,
    parse_redirect,
    parse_token_response,
)
from healthcode_auth.errors import StoreUnreadableError
from healthcode_auth.protocol.authorization_request import AuthorizationRequest
from healthcode_auth.protocol.expiry import settle_expiry
from healthcode_auth.protocol.jwt_verification import JwksCache, read_claims, verify_access_token
from healthcode_auth.storage.file_store import FileTokenStore
from healthcode_auth.storage.store import entry_key

pytestmark = pytest.mark.bad_input

ISSUER = "https://sso.example.test"
URL = f"{ISSUER}/.well-known/openid-configuration"
REDIRECT = "https://rpaapp.example.com/postauth"
STATE = "S" * 43
REQUEST = AuthorizationRequest(
    url=f"{ISSUER}/authorize",
    client_id="c",
    redirect_uri=REDIRECT,
    issuer=ISSUER,
    state=STATE,
    code_verifier="v" * 43,
    require_iss=True,
)
HUGE = "x" * 2_000_000


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


CONFIGS = [
    {"client_id": "a\x00b"},
    {"client_id": HUGE[:100_000] + "\n"},
    {"client_id": "bot\u202eppa"},
    {"client_id": ["list"]},
    {"client_id": 42},
    {"redirect_uri": "javascript:alert(1)//"},
    {"redirect_uri": "https://rpaapp.example.com/post\r\nSet-Cookie: x"},
    {"redirect_uri": "http://evil.example/cb"},
    {"redirect_uri": "https://[::1/cb"},
    {"redirect_uri": "https://rpaapp.example.com:0x50/cb"},
    {"redirect_uri": ""},
    {"redirect_uri": "   "},
    {"environment": "file:///etc/passwd"},
    {"environment": "data:application/json,{}"},
    {"environment": "https://user:pass@sso.example/x\x7f"},
    {"environment": "https://sso.example.test/.well-known/openid-configuration#frag"},
    {"redirect_uri": "data:text/html,<script>"},
    {"redirect_uri": "file:///tmp/cb"},
    {"environment": "http://10.0.0.1/.well-known/openid-configuration"},
    {"scope": "openid\x00api"},
    {"scope": 'a"b'},
    {"scope": ["openid"]},
    {"timeout": float("nan")},
    {"timeout": float("inf")},
    {"timeout": -1},
    {"timeout": "3"},
    {"proxy": "ftp://proxy"},
    {"proxy": "http://"},
    {"leeway": 10**9},
    {"leeway": 1.5},
    {"leeway": 3601},
    {"leeway": float("nan")},
    {"leeway": "300"},
    {"expiry_margin": -5},
    {"expiry_margin": 10**9},
    {"token_cache": ""},
    {"verify_access_token": "ALWAYS "},
    {"client_secret": 123},
    {"ca_bundle": "/dev/null/nope"},
]


@pytest.mark.parametrize("overrides", CONFIGS)
def test_configuration(overrides):
    settings = {"client_id": "example_rpa_app", "redirect_uri": REDIRECT, **overrides}
    with pytest.raises(HealthcodeAuthError) as caught:
        HealthcodeConfig(**settings)
    assert "Invalid Healthcode setting" in str(caught.value)


DOCUMENTS = [
    {**discovery_document(ISSUER), "issuer": f"{ISSUER}.evil.example"},
    {**discovery_document(ISSUER), "issuer": "https://user@sso.example.test"},
    {**discovery_document(ISSUER), "issuer": ISSUER.upper()},
    {**discovery_document(ISSUER), "authorization_endpoint": "https://sso.example.test/a\nb"},
    {**discovery_document(ISSUER), "token_endpoint": {"url": "x"}},
    {**discovery_document(ISSUER), "token_endpoint": HUGE},
    {**discovery_document(ISSUER), "code_challenge_methods_supported": [None]},
    {**discovery_document(ISSUER), "code_challenge_methods_supported": []},
    {**discovery_document(ISSUER), "token_endpoint_auth_methods_supported": {"a": 1}},
    {**discovery_document(ISSUER), "jwks_uri": "http://sso.example.test/jwks"},
    {**discovery_document(ISSUER), "revocation_endpoint": "gopher://x"},
    {"issuer": ISSUER},
    {},
    "not even an object",
    12,
    None,
    [discovery_document(ISSUER)],
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_discovery_document(document):
    with pytest.raises(HealthcodeAuthError):
        parse_metadata(document, URL)


REDIRECTS = [
    f"{REDIRECT}?code=x&state={STATE}&iss={ISSUER}&code=y",
    f"{REDIRECT}?code=x&state={STATE}%00&iss={ISSUER}",
    f"{REDIRECT}?code=x&state={STATE}&iss={ISSUER}%2F",
    f"{REDIRECT}#code=x&state={STATE}&iss={ISSUER}",
    f"{REDIRECT}?state={STATE}&iss={ISSUER}&code=",
    f"{REDIRECT}?code=x&state={STATE.lower()}&iss={ISSUER}",
    f"{REDIRECT}?code=x&state=%E2%80%AE{STATE}&iss={ISSUER}",
    f"{REDIRECT}?code=x&state={STATE}&iss={ISSUER}&" + "&".join(f"p{i}=v" for i in range(3000)),
    f"{REDIRECT}?code={HUGE[:20_000]}&state={STATE}&iss={ISSUER}",
    f"{REDIRECT}%2F..%2Fother?code=x&state={STATE}&iss={ISSUER}",
    f"https://rpaapp.example.com@evil.example/postauth?code=x&state={STATE}&iss={ISSUER}",
    f"{REDIRECT}?error=access_denied&state=wrong&iss={ISSUER}",
    f"{REDIRECT}?error=%0D%0Ainjected&state={STATE}&iss=https://evil.example",
    "https://rpaapp.example.com:99999/postauth?code=x",
    "https://[rpaapp/postauth?code=x",
    "\x00",
    HUGE,
]


@pytest.mark.parametrize("url", REDIRECTS)
def test_redirect(url):
    with pytest.raises(HealthcodeAuthError) as caught:
        parse_redirect(url, REQUEST)
    assert "x" * 1000 not in str(caught.value)


TOKEN_BODIES = [
    {"access_token": "t\x00", "token_type": "Bearer"},
    {"access_token": {"nested": "t"}, "token_type": "Bearer"},
    {"access_token": "t", "token_type": "Bearer ", "expires_in": 1},
    {"access_token": "t", "token_type": "Bearer", "scope": ["api"]},
    {"access_token": "t", "token_type": "Bearer", "id_token": 1},
    {"error": ["invalid_grant"]},
    {"error": "invalid_grant", "error_description": {"x": 1}},
    {"access_token": "t", "token_type": "DPoP"},
]


@pytest.mark.parametrize("body", TOKEN_BODIES)
def test_token_response(body):
    with pytest.raises(HealthcodeAuthError):
        parse_token_response(200, "application/json", body)


# An opaque token has no exp: with one of these expires_in there is no sane expiry at all.
ABSURD_EXPIRES_IN = [
    10**12,
    "86400.5",
    [86400],
    10**400,
    -(10**400),
    1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    "inf",
    "nan",
    "1e308",
    "9" * 5000,
    -1,
    True,
    {"seconds": 60},
    "\x1b]0;x\x07",
]


@pytest.mark.parametrize("expires_in", ABSURD_EXPIRES_IN, ids=range(len(ABSURD_EXPIRES_IN)))
def test_absurd_expires_in_without_exp(expires_in):
    token = parse_token_response(
        200, "application/json", {"access_token": "t", "token_type": "Bearer", "expires_in": expires_in}
    )
    assert token.expires_at is None
    with pytest.raises(TokenRequestError, match="no sane expiry") as caught:
        settle_expiry(token.expires_in, None, token.issued_at)
    assert len(str(caught.value)) < 600
    assert str(caught.value).isprintable()


KEY = signing_key("key-1")
NOW = int(time.time())
GOOD = {"iss": ISSUER, "sub": "s", "exp": NOW + 3600, "iat": NOW}


def manual_rs256(header, claims):
    """Sign exactly the given header, which a careful JOSE library would refuse to produce."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input = f"{b64(header)}.{b64(claims)}"
    signature = KEY.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def forged_tokens():
    header_none = b64({"alg": "none", "typ": "JWT"})
    public_pem = KEY.as_pem(private=False)
    import hashlib
    import hmac

    hs_header = b64({"alg": "HS256", "kid": "key-1"})
    body = b64(GOOD)
    hs_sig = base64.urlsafe_b64encode(hmac.new(public_pem, f"{hs_header}.{body}".encode(), hashlib.sha256).digest())
    return {
        "alg none": f"{header_none}.{b64(GOOD)}.",
        "HS256 signed with the public key": f"{hs_header}.{body}.{hs_sig.rstrip(b'=').decode()}",
        "unknown critical header": manual_rs256(
            {"alg": "RS256", "kid": "key-1", "crit": ["x-must"], "x-must": 1}, GOOD
        ),
        "expired": sign(KEY, {**GOOD, "exp": NOW - 3600}),
        "not yet valid": sign(KEY, {**GOOD, "nbf": NOW + 3600}),
        "issued in the year 33658": sign(KEY, {**GOOD, "iat": 10**12}),
        "issued after any clock": sign(KEY, {**GOOD, "iat": 10**400}),
        "expired before any clock": sign(KEY, {**GOOD, "exp": -(10**400)}),
        "wrong issuer": sign(KEY, {**GOOD, "iss": "https://evil.example"}),
        "exp as string": sign(KEY, {**GOOD, "exp": "tomorrow"}),
        "payload is a list": f"{b64({'alg': 'RS256', 'kid': 'key-1'})}.{b64([1, 2])}.c2ln",
        "bad base64": "eyJ!!.e30.sig",
        "two parts": "a.b",
        "huge": "a." + HUGE[:70_000] + ".c",
        "signature stripped": sign(KEY, GOOD).rsplit(".", 1)[0] + ".",
    }


@pytest.mark.parametrize("name", sorted(forged_tokens()))
def test_forged_or_broken_jwt(name):
    token = forged_tokens()[name]
    cache = JwksCache(lambda uri: jwks(KEY))
    with pytest.raises(HealthcodeAuthError) as caught:
        verify_access_token(token, jwks=cache, jwks_uri=f"{ISSUER}/jwks", issuer=ISSUER, leeway=0)
    assert token[:40] not in str(caught.value) or len(token) < 8


@pytest.mark.parametrize("token", ["", "a", "a.b", "a.b.c", "e30.W10.c2ln", HUGE[:100]])
def test_unreadable_claims(token):
    with pytest.raises(HealthcodeAuthError):
        read_claims(token)


@pytest.mark.parametrize(
    "keys", [{"keys": [{"kty": "RSA"}]}, {"keys": "none"}, {"keys": [{"kty": "oct", "k": "x"}]}, {"nokeys": []}]
)
def test_broken_key_sets(keys):
    cache = JwksCache(lambda uri: keys)
    with pytest.raises(HealthcodeAuthError):
        verify_access_token(sign(KEY, GOOD), jwks=cache, jwks_uri=f"{ISSUER}/jwks", issuer=ISSUER)


CACHE_FILES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'{"format": "healthcode-token-cache", "version": 1}',
    json.dumps(
        {
            "format": "healthcode-token-cache",
            "version": 1,
            "key_source": "file",
            "salt": "!!",
            "nonce": "",
            "ciphertext": "",
        }
    ).encode(),
    json.dumps(
        {
            "format": "healthcode-token-cache",
            "version": 1,
            "key_source": "../../etc",
            "salt": "",
            "nonce": "",
            "ciphertext": "",
        }
    ).encode(),
    json.dumps(
        {
            "format": "healthcode-token-cache",
            "version": 1,
            "key_source": "env",
            "salt": "AA==",
            "nonce": "AA==",
            "ciphertext": "AA==",
        }
    ).encode(),
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10,
    b"[" * 100_000 + b"]" * 100_000,
    b"x" * 4_100_000,
]


@pytest.mark.parametrize("content", CACHE_FILES, ids=range(len(CACHE_FILES)))
def test_cache_file(tmp_path, content):
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    cache = FileTokenStore(path, environ={"HEALTHCODE_CACHE_KEY": "sixteen chars or more"})
    for client in ("c", "other"):  # damaged is reported as such, never read as empty
        with pytest.raises(StoreUnreadableError, match="cannot be read.*Nothing was changed"):
            cache.load(entry_key(URL, client))
    assert path.read_bytes() == content
