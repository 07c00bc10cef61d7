"""Healthcode's access token is a signed JWT: read its claims, and verify it against the JWKS.

Verification checks the signature with a key from ``jwks_uri`` (fetching the key set again, once,
when the token names an unknown ``kid``, as happens after the server rotates its keys), the
issuer and the expiry with a leeway for clock skew. Times beyond the leeway are named as what
they usually are, clock skew (:class:`~healthcode_auth.errors.ClockSkewError`).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ClockSkewError, HealthcodeAuthError, TokenVerificationError, printable
from .token import utc_time

if TYPE_CHECKING:
    from joserfc.jwk import KeySet

# Seconds by which a token's times (iat, nbf, exp) and this machine's clock may disagree.
DEFAULT_LEEWAY = 300
TIME_CLAIMS = ("exp", "nbf", "iat")
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
                    raise TokenVerificationError(
                        f"The key set at {jwks_uri} is not a valid JWKS ({str(error)[:200]})."
                    ) from None
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


def header_of(token: str) -> dict[str, Any]:
    """The JOSE header of a JWT, never verified (for a report); empty for an opaque or malformed one."""
    return _header(token) if looks_like_jwt(token) else {}


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
        raise TokenVerificationError(
            f"The access token's type is '{shown}', not 'at+jwt' (RFC 9068): it is not "
            "an access token for this client. Do not use it; check the environment setting."
        )


def verify_access_token(
    token: str,
    *,
    jwks: JwksCache,
    jwks_uri: str,
    issuer: str,
    leeway: int = DEFAULT_LEEWAY,
    now: float | None = None,
    audience: str | None = None,
    strict_type: bool = False,
    received_at: float | None = None,
) -> dict[str, Any]:
    """Verify signature, ``iss``, ``exp``, the ``typ`` header and, when ``audience`` is given,
    ``aud``; return the claims or raise TokenVerificationError.

    ``strict_type`` requires the RFC 9068 type ``at+jwt``; otherwise ``JWT`` or no type are
    accepted too (servers outside that profile), and any other type is refused.

    Times are compared with ``now`` (default: this machine's clock) give or take ``leeway``
    seconds. An ``iat`` or ``nbf`` in the future raises :class:`ClockSkewError`, and so does an
    ``exp`` already past when the token was received (``received_at``; default ``now``: the
    token was just received). A token that was valid when received and has expired since raises a
    plain TokenVerificationError. A key set that cannot be fetched just now raises the fetcher's
    error unchanged (:class:`~healthcode_auth.errors.KeySetUnavailableError`: transient).
    """
    from joserfc import jwt
    from joserfc.errors import ExpiredTokenError, InvalidClaimError, InvalidKeyIdError, JoseError, MissingClaimError

    if not looks_like_jwt(token):
        raise TokenVerificationError(
            "The access token is not a JWT; Healthcode issues signed JWTs. Check the environment setting."
        )
    _check_type(token, strict=strict_type)
    claims_rules: dict[str, Any] = {"iss": {"essential": True, "value": issuer}, "exp": {"essential": True}}
    if audience is not None:
        claims_rules["aud"] = {"essential": True, "value": audience}
    current = time.time() if now is None else now
    claims: dict[str, Any] = {}
    try:
        decoded = _decode_with_current_keys(token, jwks, jwks_uri)
        claims = decoded.claims
        for name in TIME_CLAIMS:  # read here, not left to joserfc: its versions differ (1.6 lets NaN pass)
            value = claims.get(name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (isinstance(value, float) and math.isnan(value))
            ):
                raise _claim_error(name, issuer, audience)
        jwt.JWTClaimsRegistry(now=int(current), leeway=leeway, **claims_rules).validate(claims)
    except HealthcodeAuthError:
        raise  # the key set's own errors, KeySetUnavailableError (transient) above all, keep their class
    except (ExpiredTokenError, InvalidClaimError) as error:
        skew = _clock_skew("access token", error, claims, now=current, leeway=leeway, received_at=received_at)
        if skew is not None:
            raise skew from None
        if isinstance(error, ExpiredTokenError):
            raise TokenVerificationError(
                "The access token has expired. A supervisor must sign in again, or the token must be renewed."
            ) from None
        raise _claim_error(error.claim, issuer, audience) from None
    except InvalidKeyIdError:
        raise TokenVerificationError(
            f"The access token is signed with a key the SSO server does not "
            f"publish at {jwks_uri}. Do not use it; sign in again."
        ) from None
    except MissingClaimError as error:
        raise _claim_error(error.claim, issuer, audience, missing=True) from None
    except (JoseError, ValueError, TypeError, UnicodeError, RecursionError) as error:
        reason = getattr(error, "error", None) or type(error).__name__
        raise TokenVerificationError(
            f"The access token's signature could not be verified ({reason}). Do not use it; sign in again."
        ) from None
    return dict(claims)


def _claim_error(claim: str, issuer: str, audience: str | None, *, missing: bool = False) -> TokenVerificationError:
    names = claim.split(",")  # a MissingClaimError names every missing claim
    if "aud" in names or "iss" in names:
        expected = f"audience {audience}" if "aud" in names else f"issuer {issuer}"
        setting = "the audience setting" if "aud" in names else "the environment setting"
        return TokenVerificationError(
            f"The access token's '{claim}' claim is missing or wrong (expected "
            f"{expected}). Do not use it; check {setting}."
        )
    if missing:
        return TokenVerificationError(
            f"The access token has no '{claim}' claim, which this client requires: the "
            "SSO server issued a token this client cannot use. Do not use it; sign in "
            "again."
        )
    if claim in TIME_CLAIMS:
        return TokenVerificationError(
            f"The access token's '{claim}' claim is not a valid time (RFC 7519 "
            "NumericDate): the SSO server issued a malformed token. Do not use it; "
            "sign in again."
        )
    return TokenVerificationError(
        f"The access token's '{claim}' claim is malformed: the SSO server issued a "
        "token this client cannot use. Do not use it; sign in again."
    )


def _clock_skew(
    what: str, error: Exception, claims: Mapping[str, Any], *, now: float, leeway: int, received_at: float | None
) -> ClockSkewError | None:
    """The :class:`ClockSkewError` for a claims registry's refusal that is about time: ``iat`` or
    ``nbf`` in the future, or ``exp`` already past when the token was received; else None."""
    claim = getattr(error, "claim", None)
    value = claims.get(claim) if isinstance(claim, str) else None
    if (
        claim not in TIME_CLAIMS
        or isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and math.isnan(value))
    ):
        return None  # not about time: a malformed claim
    when = _as_float(value)
    fix = f"Correct this machine's clock (NTP), or raise the leeway setting (HEALTHCODE_LEEWAY, now {leeway} s)."
    if claim == "exp":
        received = now if received_at is None else received_at
        if when > received - leeway:
            return None  # it was valid when received, and has expired since
        return ClockSkewError(
            f"Clock skew, or a broken SSO server: the {what} expired at {utc_time(when)} (its 'exp'), but this "
            f"machine's clock said {utc_time(received)} when it was received, {_seconds(received - when)} later: "
            f"more than the leeway of {leeway} s. {fix} If this machine's clock is right, the SSO server issued "
            "an expired token: report it to the SSO's operator.",
            token_time=when,
            local_time=received,
        )
    if when <= now + leeway:
        return None
    said = "was issued at" if claim == "iat" else "is valid only from"
    return ClockSkewError(
        f"Clock skew: the {what} {said} {utc_time(when)} (its '{claim}'), but this machine's clock says "
        f"{utc_time(now)}, {_seconds(when - now)} earlier: more than the leeway of {leeway} s. The clocks of this "
        f"machine and the SSO server disagree. {fix}",
        token_time=when,
        local_time=now,
    )


def _as_float(value: float) -> float:
    """A claim's number as a float; an integer too large for one as an infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _seconds(difference: float) -> str:
    return f"{difference:.0f} s" if difference < 10**12 else "more than 10**12 s"


def verify_id_token(
    id_token: str,
    *,
    jwks: JwksCache,
    jwks_uri: str,
    issuer: str,
    client_id: str,
    nonce: str,
    leeway: int = DEFAULT_LEEWAY,
    now: float | None = None,
) -> dict[str, Any]:
    """OpenID Connect Core 3.1.3.7: signature, ``iss``, ``aud`` (this client), ``exp`` and ``nonce``.

    Its times are checked as :func:`verify_access_token` checks them (:class:`ClockSkewError`);
    the ID token is always just received."""
    from joserfc import jwt
    from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError

    if not looks_like_jwt(id_token):
        raise TokenVerificationError("The ID token is not a JWT. Check the environment setting.")
    if str(_header(id_token).get("typ", "")).lower() in ACCESS_TOKEN_TYPES:
        raise TokenVerificationError(
            "The ID token is typed as an access token (at+jwt, RFC 9068 section 2.1): "
            "the SSO server answered with the wrong kind of token. Sign in again."
        )
    current = time.time() if now is None else now
    claims: dict[str, Any] = {}
    try:
        decoded = _decode_with_current_keys(id_token, jwks, jwks_uri)
        claims = decoded.claims
        jwt.JWTClaimsRegistry(
            now=int(current),
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(claims)
    except HealthcodeAuthError:
        raise  # the key set's own errors keep their class
    except (JoseError, ValueError, TypeError, UnicodeError, RecursionError) as error:
        if isinstance(error, (ExpiredTokenError, InvalidClaimError)):
            skew = _clock_skew("ID token", error, claims, now=current, leeway=leeway, received_at=None)
            if skew is not None:
                raise skew from None
        reason = getattr(error, "claim", None) or getattr(error, "error", None) or type(error).__name__
        raise TokenVerificationError(
            f"The ID token from the SSO server is not valid for this sign-in ({reason}). Do not use it; sign in again."
        ) from None
    return dict(claims)
