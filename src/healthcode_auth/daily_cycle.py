"""Floor 6: the daily cycle: reminders before the authorisation ends, and robots that wait for a
supervisor instead of failing.

Healthcode issues no refresh token, so an authorisation ends 24 hours after the supervisor signed
in. :func:`send_due_reminders` (``healthcode-auth remind``, run by a scheduler, and the portal)
sends each reminder once, when less than its lead time remains (moved earlier into working hours
where they are set). :func:`wait_for_sign_in` is what a robot does when it finds no valid
authorisation and may wait: it sends the "robots waiting" notice (once per authorisation for the
whole fleet), waits on the store until a supervisor's sign-in arrives (Redis: within a second;
file: within half a second), sends the escalation notice if nobody answers in time, and says
where it stands at most once a minute. Once-for-the-fleet is a claim in the token store
(:meth:`~.storage.store.TokenStore.claim`): it holds across machines as renewal does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from . import notices
from .config import HealthcodeConfig
from .protocol.schedule import describe_duration, describe_when, reminder_times
from .protocol.token import Token
from .storage.store import TokenStore, Versioned

PROGRESS_EVERY = 60.0  # a waiting robot says where it stands at most this often
CLAIM_SPARE = 7 * 86400.0  # a claim outlives what it is about by this much


@dataclass(frozen=True)
class Sent:
    """What became of one notice: sent now (and delivered or not), or already sent by another."""

    kind: str
    sent: bool
    delivery: notices.Delivery | None = None
    claimed_at: float | None = None

    def says(self, config: HealthcodeConfig, now: float) -> str:
        if not self.sent:
            return (f"the '{self.kind}' notice was already sent by another robot or scheduler "
                    f"({describe_when(self.claimed_at or now, now, config.zone)})")
        if self.delivery is not None and self.delivery.delivered:
            return f"the '{self.kind}' notice was delivered"
        return f"the '{self.kind}' notice was not delivered ({self.delivery.reason if self.delivery else '?'})"


def notify_once(store: TokenStore, config: HealthcodeConfig, claim: str, notice: notices.Notice,
                urls: tuple[str, ...], ttl: float) -> Sent:
    """Send ``notice`` unless a robot of the fleet already claimed ``claim``."""
    first, at = store.claim(claim, ttl)
    if not first:
        return Sent(notice.kind, False, claimed_at=at)
    return Sent(notice.kind, True, notices.send(urls, notice))


def send_due_reminders(store: TokenStore, key: str, config: HealthcodeConfig, stored: Versioned | None,
                       now: float | None = None) -> list[Sent]:
    """The reminders due now for the stored authorisation, each sent once for the whole fleet. None
    for an authorisation that can be renewed (its refresh token does the work) or is already over."""
    now = time.time() if now is None else now
    token = None if stored is None else stored.entry.token
    end = None if token is None else notices.ends_at(config, token)
    if token is None or end is None or (token.refresh_token and stored and stored.refused_at is None):
        return []
    if end <= now or not config.notify:
        return []
    sent = []
    for lead, due_at in reminder_times(end, config.remind_before, config.remind_hours, config.zone):
        if due_at <= now:
            claim = f"reminder|{key}|{stored.version if stored else 0}|{lead:g}"
            one = notify_once(store, config, claim, notices.reminder(config, end, now), config.notify,
                              end - now + CLAIM_SPARE)
            sent.append(replace(one, kind=f"reminder {describe_duration(lead)} before the end"))
    return sent


@dataclass(frozen=True)
class Waited:
    """How a wait ended: the token a supervisor's sign-in gave, or None after the whole time."""

    token: Token | None
    waited: float
    notice: Sent | None


def wait_for_sign_in(store: TokenStore, key: str, config: HealthcodeConfig, timeout: float,
                     valid: Callable[[Versioned | None], Token | None], say: Callable[[str], None]) -> Waited:
    """Wait up to ``timeout`` seconds for an authorisation that ``valid`` accepts to appear in the store."""
    started, clock = time.time(), time.monotonic()
    stored = store.load(key)
    version = None if stored is None else stored.version
    notice = None
    if config.notify:
        notice = notify_once(store, config, f"waiting|{key}|{version or 0}",
                             notices.waiting(config, started, started, timeout), config.notify,
                             timeout + config.escalate_after + CLAIM_SPARE)
    told = notice.says(config, started) if notice else "no notice is configured (the notify setting)"
    say(f"No valid Healthcode authorisation: waiting up to {describe_duration(timeout)} for a supervisor to sign "
        f"in; {told}. {notices.where_to_sign_in(config)}")
    last_said = clock
    escalated = False
    while True:
        left = timeout - (time.monotonic() - clock)
        if left <= 0:
            return Waited(None, time.monotonic() - clock, notice)
        store.wait_for_change(key, version, min(left, PROGRESS_EVERY))
        stored = store.load(key)
        token = valid(stored)
        if token is not None:
            return Waited(token, time.monotonic() - clock, notice)
        version = None if stored is None else stored.version
        now = time.time()
        if not escalated and config.notify_escalation and now - _since(notice, started) >= config.escalate_after:
            escalated = True
            notify_once(store, config, f"escalation|{key}|{version or 0}",
                        notices.escalation(config, _since(notice, started), now), config.notify_escalation,
                        timeout + CLAIM_SPARE)
        if time.monotonic() - last_said >= PROGRESS_EVERY:
            last_said = time.monotonic()
            waited = time.monotonic() - clock
            say(f"Still waiting for a supervisor to sign in ({describe_duration(waited)} so far, "
                f"{describe_duration(timeout - waited)} left).")


def _since(notice: Sent | None, started: float) -> float:
    """When the fleet began to wait: when the 'robots waiting' notice was claimed, or this robot started."""
    return notice.claimed_at if notice is not None and notice.claimed_at is not None else started
