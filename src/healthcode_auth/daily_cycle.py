"""Floor 6: the daily cycle: reminders before the authorisation ends, and robots that wait for a
supervisor instead of failing.

Healthcode issues no refresh token, so an authorisation ends 24 hours after the supervisor signed
in. :func:`send_due_reminders` (``healthcode-auth remind``, run by a scheduler, and the portal)
sends each reminder once, when less than its lead time remains (moved earlier into working hours
where they are set; reminders due at the same moment go as one notice). :func:`wait_for_sign_in`
is what a robot does when it finds no valid authorisation and may wait: it waits on the store at
once until a supervisor's sign-in arrives (Redis: within a second; file: within half a second),
while the "robots waiting" notice (once per authorisation for the whole fleet) and, if nobody
answers in time, the escalation notice are sent beside it; it says where it stands at most once
a minute, and its limit is a total deadline even when the store or a notice service stalls.

Once-for-the-fleet is a claim in the token store (:meth:`~.storage.store.TokenStore.claim`), held
across machines as renewal is: a short lease while the notice is being sent, kept once it was
delivered, dropped when it was not (the next robot or run tries again; a sender that died lets go
when its lease ends). A store that cannot note the claim does not stop the notice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from . import notices
from .config import HealthcodeConfig
from .errors import StoreError, StoreLockTimeout, StoreUnavailableError, first_line
from .protocol.schedule import describe_duration, describe_when, reminder_times
from .protocol.token import Token
from .storage.store import TokenStore, Versioned

log = logging.getLogger("healthcode_auth")
PROGRESS_EVERY = 60.0  # a waiting robot says where it stands at most this often
CLAIM_SPARE = 7 * 86400.0  # a delivered notice's claim outlives what it is about by this much
LEASE = notices.SEND_DEADLINE + 30.0  # a claim while its notice is being sent; a sender that died lets go
_UNSEEN = -1  # the entry's version before the first read of a wait: any answer is news


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
        if self.delivered:
            return f"the '{self.kind}' notice was delivered"
        return (f"the '{self.kind}' notice was not delivered ({self.delivery.reason if self.delivery else '?'}); "
                "the next robot or run tries again")

    @property
    def delivered(self) -> bool:
        return self.delivery is not None and self.delivery.delivered


def notify_once(store: TokenStore, config: HealthcodeConfig, claims: Sequence[str], notice: notices.Notice,
                urls: tuple[str, ...], ttl: float) -> Sent:
    """Send ``notice`` unless every one of ``claims`` is already claimed by a robot of the fleet
    (sent, or being sent). The claims this call made are kept ``ttl`` seconds once the notice was
    delivered, and dropped when it was not, so that the next robot or run tries again."""
    ours: list[tuple[str, float | None]] = []  # None: the store could not note it
    earliest: float | None = None
    for name in claims:
        try:
            first, at = store.claim(name, LEASE)
        except StoreError as error:
            log.warning("Could not note the '%s' notice in the token store (%s); sending it anyway: another robot "
                        "may send it too.", notice.kind, first_line(error, 300))
            ours.append((name, None))
            continue
        if first:
            ours.append((name, at))
        else:
            earliest = at if earliest is None else min(earliest, at)
    if not ours:
        return Sent(notice.kind, False, claimed_at=earliest)
    delivery = notices.send(urls, notice)
    for name, claimed_at in ours:
        if claimed_at is None:
            continue
        try:
            store.settle_claim(name, claimed_at, ttl if delivery.delivered else None)
        except StoreError as error:  # the lease runs out by itself: the next one tries again
            log.warning("Could not note in the token store what became of the '%s' notice (%s).", notice.kind,
                        first_line(error, 300))
    return Sent(notice.kind, True, delivery, claimed_at=next((at for _, at in ours if at is not None), time.time()))


def send_due_reminders(store: TokenStore, key: str, config: HealthcodeConfig, stored: Versioned | None,
                       now: float | None = None) -> list[Sent]:
    """The reminders due now for the stored authorisation, sent once for the whole fleet: those due
    at the same moment as one notice. None for an authorisation that can be renewed (its refresh
    token does the work) or is already over."""
    now = time.time() if now is None else now
    token = None if stored is None else stored.entry.token
    end = None if token is None else notices.ends_at(config, token)
    if stored is None or token is None or end is None or (token.refresh_token and stored.refused_at is None):
        return []
    if end <= now or not config.notify:
        return []
    due = sorted((lead for lead, at in reminder_times(end, config.remind_before, config.remind_hours, config.zone)
                  if at <= now), reverse=True)
    if not due:
        return []
    sent = notify_once(store, config, [f"reminder|{key}|{stored.version}|{lead:g}" for lead in due],
                       notices.reminder(config, end, now), config.notify, end - now + CLAIM_SPARE)
    return [Sent(f"reminder {describe_duration(due[-1])} before the end", sent.sent, sent.delivery, sent.claimed_at)]


@dataclass(frozen=True)
class Waited:
    """How a wait ended: the token a supervisor's sign-in gave, or None after the whole time; and
    what became of the "robots waiting" notice, in words."""

    token: Token | None
    waited: float
    told: str


class _Notifying:
    """A notice sent beside the wait: the robot waits at once, whatever the service does."""

    def __init__(self, send: Callable[[], Sent]) -> None:
        self.result: Sent | None = None
        self.reported = False
        self._thread = threading.Thread(target=self._run, args=(send,), name="healthcode-notice", daemon=True)
        self._thread.start()

    def _run(self, send: Callable[[], Sent]) -> None:
        self.result = send()


def wait_for_sign_in(store: TokenStore, key: str, config: HealthcodeConfig, timeout: float,
                     valid: Callable[[Versioned | None], Token | None], say: Callable[[str], None]) -> Waited:
    """Wait up to ``timeout`` seconds (a total deadline) for an authorisation that ``valid``
    accepts to appear in the store."""
    started, clock = time.time(), time.monotonic()
    deadline = clock + timeout
    waiting: _Notifying | None = None
    escalating: _Notifying | None = None
    told = "the supervisors are being told" if config.notify else "no notice is configured (the notify setting)"
    say(f"No valid Healthcode authorisation: waiting up to {describe_duration(timeout)} for a supervisor to sign "
        f"in; {told}. {notices.where_to_sign_in(config)}")
    version: int | None = _UNSEEN
    last_said = last_trouble = clock - PROGRESS_EVERY
    with store.bounded(deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return Waited(None, time.monotonic() - clock, _told(waiting, config))
            try:
                if version != _UNSEEN:
                    pending = (waiting and not waiting.reported) or (escalating and not escalating.reported)
                    store.wait_for_change(key, version, min(left, 2.0 if pending else PROGRESS_EVERY))
                stored = store.load(key)
                episode = f"{key}|{stored.version}" if stored else f"{key}|absent-after-{store.last_version()}"
            except (StoreUnavailableError, StoreLockTimeout) as error:  # a store that stalls or restarts
                if time.monotonic() - last_trouble >= PROGRESS_EVERY:
                    last_trouble = time.monotonic()
                    say(f"The token store did not answer ({first_line(error, 300)}); still waiting.")
                time.sleep(max(0.0, min(1.0, deadline - time.monotonic())))
                continue
            token = valid(stored)
            if token is not None:
                return Waited(token, time.monotonic() - clock, _told(waiting, config))
            version = None if stored is None else stored.version
            if waiting is None and config.notify:
                waiting = _Notifying(partial(notify_once, store, config, [f"waiting|{episode}"],
                                             notices.waiting(config, started, started, timeout), config.notify,
                                             timeout + config.escalate_after + CLAIM_SPARE))
            now = time.time()
            since = _since(waiting, started)
            if escalating is None and config.notify_escalation and now - since >= config.escalate_after:
                escalating = _Notifying(partial(notify_once, store, config, [f"escalation|{episode}"],
                                                notices.escalation(config, since, now), config.notify_escalation,
                                                timeout + CLAIM_SPARE))
            for sending in (waiting, escalating):
                if sending is not None and sending.result is not None and not sending.reported:
                    sending.reported = True
                    said = sending.result.says(config, now)
                    say(f"{said[0].upper()}{said[1:]}.")
            if time.monotonic() - last_said >= PROGRESS_EVERY and time.monotonic() - clock >= PROGRESS_EVERY:
                last_said = time.monotonic()
                waited = time.monotonic() - clock
                say(f"Still waiting for a supervisor to sign in ({describe_duration(waited)} so far, "
                    f"{describe_duration(timeout - waited)} left).")


def _told(waiting: _Notifying | None, config: HealthcodeConfig) -> str:
    if waiting is None:
        return "no notice is configured (the notify setting)" if not config.notify else "no notice was sent"
    if waiting.result is None:
        return "the 'waiting' notice was still being sent"
    return waiting.result.says(config, time.time())


def _since(waiting: _Notifying | None, started: float) -> float:
    """When the fleet began to wait: when the 'robots waiting' notice was claimed (never later than
    this robot began), or when this robot began."""
    claimed = None if waiting is None or waiting.result is None else waiting.result.claimed_at
    return started if claimed is None else min(claimed, started)
