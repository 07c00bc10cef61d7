"""Healthcode's access token is a signed JWT: read its claims, and verify it against the JWKS.

Verification checks the signature with a key from ``jwks_uri`` (fetching the key set again, once,
when the token names an unknown ``kid``, as happens after the server rotates its keys), the
issuer and the expiry with a small leeway for clock skew.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import TokenVerificationError, printable

if TYPE_CHECKING:
    from joserfc.jwk import KeySet

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
MAX_TOKEN_LENGTH = 64_000


def looks_like_jwt(token: str) -> bool:
    """True for a compact JWS (three dot-separated parts); opaque tokens are not inspected."""
    return token.count(".") == 2 and len(token) <= MAX_TOKEN_LENGTH


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT access token, or none for an opaque one; never verifies."""
    return read_claims(token) if looks_like_jwt(token) else {}


def read_claims(token: str) -> dict[str, Any]:
    """The token's claims without verifying it: for display and expiry only, never for trust."""
    from joserfc import jws
    from joserfc.errors import JoseError

    if not looks_like_jwt(token):
        raise TokenVerificationError("The access token is not a JWT, so it has no claims to read.")
    try:
        claims = json.loads(jws.extract_compact(token.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeError, RecursionError):
        raise TokenVerificationError("The access token is not a well-formed JWT.") from None
    if not isinstance(claims, dict):
        raise TokenVerificationError("The access token's payload is not a JSON object of claims.")
    return claims


class JwksCache:
    """The server's public keys, fetched on first use and again once for an unknown key id."""

    def __init__(self, fetch: Callable[[str], Mapping[str, Any]]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._key_sets: dict[str, KeySet] = {}

    def key_set(self, jwks_uri: str, refresh: bool = False) -> KeySet:
        from joserfc.jwk import KeySet

        with self._lock:
            if refresh or jwks_uri not in self._key_sets:
                document = self._fetch(jwks_uri)
                try:
                    key_set = KeySet.import_key_set(document)  # type: ignore[arg-type]
                except (ValueError, TypeError, KeyError) as error:
                    raise TokenVerificationError(f"The key set at {jwks_uri} is not a valid JWKS "
                                                 f"({str(error)[:200]}).") from None
                self._key_sets[jwks_uri] = key_set
            return self._key_sets[jwks_uri]


def _decode(token: str, key_set: KeySet) -> Any:
    """Decode with the key the token names; a token without ``kid`` is tried against each key
    (some servers sign without ``kid`` while publishing several keys)."""
    from joserfc import jwt
    from joserfc.errors import InvalidKeyIdError, JoseError

    try:
        return jwt.decode(token, key_set, algorithms=list(ALGORITHMS))
    except InvalidKeyIdError:
        if "kid" in _header(token):
            raise
    for key in key_set.keys:
        try:
            return jwt.decode(token, key, algorithms=list(ALGORITHMS))
        except (JoseError, ValueError, TypeError):
            continue
    raise InvalidKeyIdError("no key verifies the token")


def _decode_with_current_keys(token: str, jwks: JwksCache, jwks_uri: str) -> Any:
    """Decode; when the token names a key the cached set lacks (rotation), fetch the set once more."""
    from joserfc.errors import InvalidKeyIdError

    try:
        return _decode(token, jwks.key_set(jwks_uri))
    except InvalidKeyIdError:
        return _decode(token, jwks.key_set(jwks_uri, refresh=True))


def _header(token: str) -> dict[str, Any]:
    from joserfc import jws

    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except Exception:  # the full decode reports malformed tokens
        return {}
    return header if isinstance(header, dict) else {}


# RFC 9068 section 2.1 / 4: a JWT access token is typed "at+jwt". Servers outside that profile
# send "JWT" or no type; any other type is a different kind of token and is refused.
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")
UNPROFILED_TYPES = ("jwt", "")


def _check_type(token: str, *, strict: bool) -> None:
    typ = str(_header(token).get("typ", "")).lower()
    allowed = ACCESS_TOKEN_TYPES if strict else ACCESS_TOKEN_TYPES + UNPROFILED_TYPES
    if typ not in allowed:
        shown = printable(typ, 40) or "none"
        raise TokenVerificationError(f"The access token's type is '{shown}', not 'at+jwt' (RFC 9068): it is not "
                                     "an access token for this client. Do not use it; check the environment setting.")


def verify_access_token(token: str, *, jwks: JwksCache, jwks_uri: str, issuer: str, leeway: int = 60,
                        now: float | None = None, audience: str | None = None,
                        strict_type: bool = False) -> dict[str, Any]:
    """Verify signature, ``iss``, ``exp``, the ``typ`` header and, when ``audience`` is given,
    ``aud``; return the claims or raise TokenVerificationError.

    ``strict_type`` requires the RFC 9068 type ``at+jwt``; otherwise ``JWT`` or no type are
    accepted too (servers outside that profile), and any other type is refused.
    """
    from joserfc import jwt
    from joserfc.errors import (
        ExpiredTokenError,
        InvalidClaimError,
        InvalidKeyIdError,
        JoseError,
        MissingClaimError,
    )

    if not looks_like_jwt(token):
        raise TokenVerificationError("The access token is not a JWT; Healthcode issues signed JWTs. "
                                     "Check the environment setting.")
    _check_type(token, strict=strict_type)
    claims_rules: dict[str, Any] = {"iss": {"essential": True, "value": issuer}, "exp": {"essential": True}}
    if audience is not None:
        claims_rules["aud"] = {"essential": True, "value": audience}
    try:
        decoded = _decode_with_current_keys(token, jwks, jwks_uri)
        registry = jwt.JWTClaimsRegistry(now=int(time.time() if now is None else now), leeway=leeway,
                                         **claims_rules)
        registry.validate(decoded.claims)
    except ExpiredTokenError:
        raise TokenVerificationError("The access token has expired. A supervisor must sign in again, or "
                                     "the token must be renewed.") from None
    except InvalidKeyIdError:
        raise TokenVerificationError(f"The access token is signed with a key the SSO server does not "
                                     f"publish at {jwks_uri}. Do not use it; sign in again.") from None
    except (InvalidClaimError, MissingClaimError) as error:
        claim = getattr(error, "claim", "?")
        expected = f"audience {audience}" if claim == "aud" else f"issuer {issuer}"
        setting = "the audience setting" if claim == "aud" else "the environment setting"
        raise TokenVerificationError(f"The access token's '{claim}' claim is missing or wrong (expected "
                                     f"{expected}). Do not use it; check {setting}.") from None
    except (JoseError, ValueError, TypeError, UnicodeError, RecursionError) as error:
        reason = getattr(error, "error", None) or type(error).__name__
        raise TokenVerificationError(f"The access token's signature could not be verified ({reason}). "
                                     "Do not use it; sign in again.") from None
    return dict(decoded.claims)


def verify_id_token(id_token: str, *, jwks: JwksCache, jwks_uri: str, issuer: str, client_id: str, nonce: str,
                    leeway: int = 60) -> dict[str, Any]:
    """OpenID Connect Core 3.1.3.7: signature, ``iss``, ``aud`` (this client), ``exp`` and ``nonce``."""
    from joserfc import jwt
    from joserfc.errors import JoseError

    if not looks_like_jwt(id_token):
        raise TokenVerificationError("The ID token is not a JWT. Check the environment setting.")
    if str(_header(id_token).get("typ", "")).lower() in ACCESS_TOKEN_TYPES:
        raise TokenVerificationError("The ID token is typed as an access token (at+jwt, RFC 9068 section 2.1): "
                                     "the SSO server answered with the wrong kind of token. Sign in again.")
    try:
        decoded = _decode_with_current_keys(id_token, jwks, jwks_uri)
        jwt.JWTClaimsRegistry(
            now=int(time.time()), leeway=leeway, iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id}, exp={"essential": True},
            nonce={"essential": True, "value": nonce}).validate(decoded.claims)
    except (JoseError, ValueError, TypeError, UnicodeError, RecursionError) as error:
        reason = getattr(error, "claim", None) or getattr(error, "error", None) or type(error).__name__
        raise TokenVerificationError(f"The ID token from the SSO server is not valid for this sign-in ({reason}). "
                                     "Do not use it; sign in again.") from None
    return dict(decoded.claims)
