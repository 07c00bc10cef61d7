"""When a token expires: the token endpoint's ``expires_in`` and the JWT's ``exp``, each checked
for sanity, settled into one time (RFC 6749 section 5.1, RFC 7519 section 4.1.4).

A sane expiry is a time after the token was issued and at most :data:`MAX_EXPIRES_IN` after it.
Servers get ``expires_in`` wrong in the wild (a Unix timestamp instead of a lifetime, a number as
a string, a number larger than any clock can show), so a bad ``expires_in`` is not fatal while the
token's own ``exp`` is sane: :func:`settle_expiry` then says what was wrong, for the caller to
log. Only a token for which no sane expiry can be found at all is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import TokenRequestError, escaped
from .token import OUT_OF_RANGE, utc_time

MAX_EXPIRES_IN = 10 * 365 * 86400
# RFC 6749 section 5.1: without expires_in the lifetime is the server's default; assume an hour.
ASSUMED_LIFETIME = 3600.0
# A digit string longer than this is no sane expiry (and int() of a very long one is slow or refused).
_MAX_DIGITS = 30


@dataclass(frozen=True)
class Expiry:
    """The settled expiry (Unix seconds) and, when something had to be worked around, what (for a
    warning; never a token)."""

    expires_at: float
    warnings: tuple[str, ...] = ()


def read_number(value: object) -> int | float | None:
    """A JSON number, or a string of ASCII digits (some servers send ``"3600"``), as a number; None
    for anything else (booleans, NaN, other text, lists, objects). Infinities and huge integers
    are numbers, only not sane ones: they are kept (a huge digit string as infinity)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            return int(text) if len(text) <= _MAX_DIGITS else math.inf
    return None


def sane_lifetime(expires_in: object) -> float | None:
    """``expires_in`` as a sane lifetime: a number (or digit string) of seconds from 0 to
    :data:`MAX_EXPIRES_IN`; None when it is absent or not sane."""
    number = read_number(expires_in)
    return float(number) if number is not None and 0 <= number <= MAX_EXPIRES_IN else None


def sane_expiry(timestamp: object, issued_at: float) -> float | None:
    """``timestamp`` (a JWT's ``exp``) as a sane expiry: a Unix time after ``issued_at`` and at
    most :data:`MAX_EXPIRES_IN` after it; None for anything else, text included."""
    if (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, (int, float))
        or (isinstance(timestamp, float) and math.isnan(timestamp))
    ):
        return None
    return float(timestamp) if issued_at < timestamp <= issued_at + MAX_EXPIRES_IN else None


def expiry_from_expires_in(expires_in: object, issued_at: float) -> float | None:
    """``issued_at`` plus ``expires_in`` when that is a sane lifetime; None otherwise (the answer
    alone does not say when the token expires: see :func:`settle_expiry`)."""
    lifetime = sane_lifetime(expires_in)
    return None if lifetime is None else issued_at + lifetime


def settle_expiry(expires_in: object, exp: object, issued_at: float) -> Expiry:
    """When the token expires, from the answer's ``expires_in`` (as sent; None when absent) and the
    token's ``exp`` (None when absent or the token is opaque), the token having been received at
    ``issued_at``.

    - Both sane: the earlier. Only one sane: that one (with a warning naming what was wrong with
      the other, when it was given).
    - No ``expires_in`` and no ``exp``: :data:`ASSUMED_LIFETIME` (with a warning when an ``exp``
      was there but absurd).
    - An ``expires_in`` that is not sane and no sane ``exp``: an ``expires_in`` that reads as a
      sane Unix timestamp is taken as the expiry time (with a warning); anything else is refused
      with a :class:`~healthcode_auth.errors.TokenRequestError` quoting both values.
    """
    lifetime = sane_lifetime(expires_in)
    from_exp = sane_expiry(exp, issued_at)
    if lifetime is not None:
        expires_at = issued_at + lifetime
        if from_exp is not None:
            return Expiry(min(expires_at, from_exp))
        if exp is None:
            return Expiry(expires_at)
        return Expiry(expires_at, (f"{exp_problem(exp, issued_at)}; using expires_in {_shown(expires_in)}.",))
    if expires_in is None:
        if from_exp is not None:
            return Expiry(from_exp)
        assumed = issued_at + ASSUMED_LIFETIME
        if exp is None:
            return Expiry(assumed)
        return Expiry(
            assumed,
            (
                f"{exp_problem(exp, issued_at)}, and the token endpoint sent no expires_in; "
                f"assuming the token lasts {ASSUMED_LIFETIME / 60:g} minutes.",
            ),
        )
    problem = expires_in_problem(expires_in, issued_at)
    if from_exp is not None:
        return Expiry(from_exp, (f"{problem}; using the token's exp.",))
    exp_text = "the token has no exp" if exp is None else exp_problem(exp, issued_at)
    number = read_number(expires_in)
    as_time = None if number is None else sane_expiry(number, issued_at)
    if as_time is not None:
        return Expiry(as_time, (f"{problem}, and {exp_text}: taking it as the time the token expires.",))
    raise TokenRequestError(
        f"The token endpoint's answer gives no sane expiry for the token: {problem}, and "
        f"{exp_text}. The token is not used. Sign in again; if this happens again, the SSO "
        "server is misconfigured: report it to the SSO's operator (Healthcode support)."
    )


def expires_in_problem(expires_in: object, issued_at: float) -> str:
    """What is wrong with an ``expires_in`` that is not a sane lifetime, in a few words."""
    shown = _shown(expires_in)
    number = read_number(expires_in)
    if number is None:
        return f"expires_in {shown} is not a number of seconds"
    if number < 0:
        return f"expires_in {shown} is negative"
    if sane_expiry(number, issued_at) is not None:
        return f"expires_in {shown} reads as a Unix timestamp {_when(number)}, not a lifetime"
    return f"expires_in {shown} is more than {MAX_EXPIRES_IN} seconds (10 years)"


def exp_problem(exp: object, issued_at: float) -> str:
    """What is wrong with an ``exp`` that is not a sane expiry, in a few words."""
    shown = _shown(exp)
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or (isinstance(exp, float) and math.isnan(exp)):
        return f"the token's exp {shown} is not a time"
    if exp <= issued_at:
        return f"the token's exp {shown} {_when(exp)} is not after it was received {_when(issued_at)}"
    return f"the token's exp {shown} {_when(exp)} is more than 10 years after it was received"


def _when(timestamp: float) -> str:
    shown = utc_time(timestamp)  # never raises: a huge integer or an infinity is out of range
    return shown if shown == OUT_OF_RANGE else f"({shown})"


def _shown(value: object) -> str:
    """A value a server sent, as a message quotes it: short, printable, never a huge conversion."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) < 10**_MAX_DIGITS:
            return str(value)
        return f"(a number of about {int(value.bit_length() * math.log10(2)) + 1} digits)"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return f"'{escaped(value, 40)}'"
    kinds: dict[type, str] = {list: "a list", dict: "an object"}
    return f"({kinds.get(type(value), 'a ' + type(value).__name__)})"
