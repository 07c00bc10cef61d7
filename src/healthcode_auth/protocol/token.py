"""The access token as the bot holds it, and the one rule for its status.

"Valid", "renewal due" and "sign-in required" are decided here and nowhere else: the session,
every keyword and ``healthcode-auth status`` ask :func:`token_status`, with the one default
:data:`DEFAULT_EXPIRY_MARGIN`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum

from ..errors import ConfigurationError

# A token counts as expired this many seconds before it does: it absorbs clock skew and leaves
# time for the step that uses it.
DEFAULT_EXPIRY_MARGIN = 300.0
# What a point in time that ``datetime`` cannot show (year 33658, NaN, infinity) reads as.
OUT_OF_RANGE = "(out of range)"


@dataclass(frozen=True)
class Token:
    """An access token with what is known about it. Secret parts never appear in ``repr``."""

    access_token: str = field(repr=False)
    token_type: str = "Bearer"
    expires_at: float | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None
    id_token: str | None = field(default=None, repr=False)
    issued_at: float = field(default_factory=time.time)
    # Whose authorisation it is (``sub`` and ``name`` of the token's claims, read when the token was
    # received and verified): shown and recorded without decoding the token again.
    supervisor: str | None = None
    supervisor_name: str | None = None
    # The token endpoint's ``expires_in`` exactly as it was sent (any JSON value; None when absent),
    # until the expiry is settled against the token's own ``exp`` (:func:`~.expiry.settle_expiry`).
    # It is not stored: ``expires_at`` holds what was settled.
    expires_in: object = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return repr(self)

    def seconds_left(self, now: float | None = None) -> float | None:
        """Seconds until expiry (negative once expired), or None when the expiry is unknown."""
        if self.expires_at is None:
            return None
        return self.expires_at - (time.time() if now is None else now)

    @property
    def authorization_header(self) -> str:
        """The value for the HTTP ``Authorization`` header (RFC 6750 section 2.1)."""
        return f"Bearer {self.access_token}"


class TokenStatus(Enum):
    """What a token is good for now."""

    VALID = "valid"
    RENEWAL_DUE = "renewal due"
    SIGN_IN_REQUIRED = "sign-in required"


def token_status(
    token: Token | None, margin: float = DEFAULT_EXPIRY_MARGIN, *, min_remaining: float = 0.0, now: float | None = None
) -> TokenStatus:
    """The status of ``token``: valid while it has more than ``margin`` (plus ``min_remaining``)
    seconds left; then renewal due if it has a refresh token; otherwise a supervisor must sign in.

    A token whose expiry is unknown counts as valid (the client gives every token it accepts an
    expiry, so this only concerns tokens built by hand).
    """
    if not min_remaining >= 0:  # NaN too: a negative wish would call an expired token valid
        raise ConfigurationError(
            "min_remaining", f"'{min_remaining:g}' is negative: give how long the token must still be valid, 0 or more"
        )
    if token is None:
        return TokenStatus.SIGN_IN_REQUIRED
    left = token.seconds_left(now)
    if left is None or left > margin + min_remaining:
        return TokenStatus.VALID
    return TokenStatus.RENEWAL_DUE if token.refresh_token else TokenStatus.SIGN_IN_REQUIRED


def describe_time_left(seconds: float) -> str:
    """``23 h 59 min left``, ``0 h 4 min left`` or ``expired``: one wording for every front end."""
    if math.isnan(seconds):
        return "time left unknown"
    if seconds <= 0:
        return "expired"
    if math.isinf(seconds):
        return "no end"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60} min left"


def local_time(timestamp: float | None) -> str:
    """``2026-11-29T06:53:27+00:00``: the one way every front end shows a point in time (local, to
    the second); :data:`OUT_OF_RANGE` for one ``datetime`` cannot show."""
    if timestamp is None:
        return "(unknown)"
    try:
        return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return OUT_OF_RANGE


def utc_time(timestamp: float) -> str:
    """``2026-11-29T06:53:27Z``: a point in time as messages about clocks show it (UTC, to the
    second, the same on every machine); :data:`OUT_OF_RANGE` for one ``datetime`` cannot show."""
    try:
        return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return OUT_OF_RANGE


def describe_expiry(expires_at: float, now: float | None = None) -> str:
    """``2026-11-29T06:53:27+00:00 (23 h 59 min left)``: when a token expires and the time left,
    as the keywords and ``healthcode-auth status`` show it (:data:`OUT_OF_RANGE` alone for a time
    ``datetime`` cannot show)."""
    shown = local_time(expires_at)
    if shown == OUT_OF_RANGE:
        return OUT_OF_RANGE
    return f"{shown} ({describe_time_left(expires_at - (time.time() if now is None else now))})"
