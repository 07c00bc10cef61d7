import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthcode_auth.protocol.pkce import CODE_VERIFIER_PATTERN, generate_code_verifier, random_token, s256_challenge


def test_rfc7636_appendix_b_vector():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifier_is_43_to_128_unreserved_characters():
    for nbytes in (32, 64, 96):
        verifier = generate_code_verifier(nbytes)
        assert CODE_VERIFIER_PATTERN.fullmatch(verifier)
        assert 43 <= len(verifier) <= 128


def test_verifiers_are_unique_and_carry_256_bits():
    verifiers = {generate_code_verifier() for _ in range(200)}
    assert len(verifiers) == 200
    assert len(base64.urlsafe_b64decode(next(iter(verifiers)) + "=")) == 32


@pytest.mark.parametrize("nbytes", [16, 31, 97])
def test_verifier_length_outside_rfc_is_refused(nbytes):
    with pytest.raises(ValueError, match="43-128"):
        generate_code_verifier(nbytes)


@pytest.mark.parametrize("verifier", ["short", "a" * 129, "a" * 42 + " ", "é" * 43, "a" * 42 + "+"])
def test_challenge_refuses_invalid_verifiers(verifier):
    with pytest.raises(ValueError, match="43-128"):
        s256_challenge(verifier)


@given(st.text(alphabet="ABCxyz0189-._~", min_size=43, max_size=128))
def test_challenge_is_unpadded_base64url_of_sha256(verifier):
    challenge = s256_challenge(verifier)
    assert "=" not in challenge and len(challenge) == 43
    assert base64.urlsafe_b64decode(challenge + "=") == hashlib.sha256(verifier.encode()).digest()


def test_random_token_is_url_safe_and_unique():
    tokens = {random_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(CODE_VERIFIER_PATTERN.fullmatch(t) for t in tokens)
