"""Proof Key for Code Exchange (RFC 7636), S256 only.

The verifier is drawn from ``secrets`` (RFC 7636 section 7.1 asks for 256 bits of entropy); the
plain method is never offered, because it protects nothing once the authorization request is seen.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

# RFC 7636 section 4.1: code-verifier = 43*128unreserved
CODE_VERIFIER_PATTERN = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CODE_CHALLENGE_METHOD = "S256"


def generate_code_verifier(nbytes: int = 32) -> str:
    """A fresh verifier: ``nbytes`` random bytes, base64url without padding (43 chars for 32)."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode("ascii")
    if not CODE_VERIFIER_PATTERN.fullmatch(verifier):
        raise ValueError("nbytes must be between 32 and 96 to give a 43-128 character verifier")
    return verifier


def s256_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))`` per RFC 7636 section 4.2."""
    if not CODE_VERIFIER_PATTERN.fullmatch(verifier):
        raise ValueError("a code verifier is 43-128 characters of [A-Za-z0-9-._~]")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def random_token(nbytes: int = 32) -> str:
    """An unguessable URL-safe value for ``state`` and ``nonce``."""
    return secrets.token_urlsafe(nbytes)
