"""Claims: work done once for the whole fleet (a notice, a reminder), across robots and machines.

A claim is a small record under a name (:meth:`~.store.TokenStore.claim`). It says what became of
the work, and holds every other robot back for a while:

- ``sending``: a robot is doing the work now; held for a lease, so that a robot that died lets
  go when the lease ends;
- ``done``: the work was done (the notice delivered); held as long as what it is about lasts;
- ``failed``: it was not done; held for a backoff that grows with each attempt, so that a fleet
  tries again at a bounded rate, not once per robot.

The record is kept longer than it holds (``keep``), so the next attempt knows how many came
before and when the first was made (when the fleet began to wait). A stored record counts only
when it is one this library could have made (:func:`from_fields`); in Redis it is also
authenticated with the fleet's key, under a name derived from that key (``redis_claims.py``), so
that a writer without the key can neither forge a claim nor predict one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

MAX_CLAIM_SECONDS = 60 * 86400.0  # no claim this library makes is kept longer
CLAIM_SKEW = 600.0  # robots' clocks may differ by this much: a claim made further in the future is not one
MAX_TIME = 2.0**34  # year 2514, as the store's other times
SENDING, DONE, FAILED = "sending", "done", "failed"
STATES = (SENDING, DONE, FAILED)
MAX_ATTEMPTS = 99_999


class Claim(NamedTuple):
    """A claim as a store holds it; ``ours``: this call made it, and the caller does the work now."""

    ours: bool
    state: str
    at: float  # when this attempt was claimed
    first_at: float  # when the first attempt under this name was claimed
    until: float  # until when it holds every other robot back
    attempt: int  # 1 for the first

    def holds(self, now: float) -> bool:
        return now < self.until

    def fields(self) -> list[object]:
        """What a store keeps of it (``ours`` is the caller's, never stored)."""
        return [self.state, self.attempt, self.first_at, self.at, self.until]


def next_attempt(previous: Claim | None, now: float, lease: float) -> Claim:
    """A new attempt, claimed now and held for ``lease`` seconds, counting those before it."""
    until = now + min(max(0.0, lease), MAX_CLAIM_SECONDS)
    if previous is None:
        return Claim(True, SENDING, now, now, until, 1)
    return Claim(True, SENDING, now, min(previous.first_at, now), until, min(previous.attempt + 1, MAX_ATTEMPTS))


def settled(claim: Claim, done: bool, hold: float, now: float) -> Claim:
    """``claim`` after its work: done, or failed; held ``hold`` more seconds from ``now`` (never
    longer than the longest claim: a robot allowed to wait a year holds no claim a year)."""
    return claim._replace(state=DONE if done else FAILED, until=now + min(max(0.0, hold), MAX_CLAIM_SECONDS))


def kept_for(claim: Claim, keep: float, now: float) -> float:
    """How long a store keeps the record: ``keep`` seconds, never less than it holds, never more
    than the longest claim this library makes."""
    return min(MAX_CLAIM_SECONDS, max(keep, claim.until - now, 1.0))


def from_fields(values: object, now: float) -> Claim | None:
    """The claim a store kept (:meth:`Claim.fields`), or None for what this library could not have
    made: another shape, a state it does not know, a time that is not finite or in range, a claim
    made in the future (beyond the clock skew allowed) or held longer than any claim lasts."""
    if not isinstance(values, Sequence) or isinstance(values, (str, bytes)) or len(values) != 5:
        return None
    state, attempt, first_at, at, until = values
    if (
        state not in STATES
        or isinstance(attempt, bool)
        or not isinstance(attempt, int)
        or not 1 <= attempt <= MAX_ATTEMPTS
    ):
        return None
    times = (first_at, at, until)
    if not all(
        isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) and 0 <= t <= MAX_TIME
        for t in times
    ):
        return None
    first_at, at, until = (float(t) for t in times)
    longest = MAX_CLAIM_SECONDS + CLAIM_SKEW
    if not first_at <= at <= now + CLAIM_SKEW or at - first_at > longest or not 0 <= until - at <= longest:
        return None
    return Claim(False, state, at, first_at, until, attempt)
