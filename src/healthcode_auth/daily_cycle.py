"""The daily cycle: reminders before the authorisation ends, and robots that wait for a
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

Once-for-the-fleet is a claim in the token store (:mod:`.storage.claims`), held across machines as
renewal is: a short lease while the notice is being sent (a sender that died lets go when it
ends), kept once it was delivered, and held for a backoff when it was not (5 s, doubling, at most 5
minutes): the next attempt, by this robot while it waits or by any other robot or run, comes
after it, so a service that is down gets a bounded number of attempts, never one per robot. A
store that cannot note the claim does not stop the notice.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from . import notices
from .config import HealthcodeConfig
from .errors import StoreError, StoreLockTimeout, StoreNotAnsweringError, first_line
from .protocol.schedule import describe_duration, describe_when, reminder_times
from .protocol.token import Token
from .redaction import REDACTOR
from .storage.claims import DONE, FAILED, SENDING, Claim, settled
from .storage.store import TokenStore, Versioned

log = logging.getLogger("healthcode_auth")
PROGRESS_EVERY = 60.0  # a waiting robot says where it stands at most this often
CLAIM_SPARE = 7 * 86400.0  # a delivered notice's claim outlives what it is about by this much
LEASE = notices.SEND_DEADLINE + 30.0  # a claim while its notice is being sent; a sender that died lets go
RETRY_FIRST, RETRY_MOST = 5.0, 300.0  # the backoff after a notice not delivered: 5 s, doubling, at most 5 min
RECHECK = 15.0  # a robot waiting while another has the notice in hand looks again this often
_UNSEEN = -1  # the entry's version before the first read of a wait: any answer is news
CUT = 0.05  # an exchange cut this close to the wait's deadline is the deadline, not a store in trouble


def retry_after(attempt: int) -> float:
    """How long a notice not delivered at its ``attempt``-th try holds the fleet back."""
    return min(RETRY_MOST, RETRY_FIRST * 2.0 ** min(max(attempt, 1) - 1, 16))


@dataclass(frozen=True)
class Sent:
    """What became of one notice: sent now by this robot (to the addresses it had to, and delivered
    there or not), or in other robots' hands (``claim``: what the fleet knows of it, the address
    furthest from done; None when the store could not note it). ``complete``: every address has it."""

    kind: str
    sent: bool
    delivery: notices.Delivery | None = None
    claim: Claim | None = None
    complete: bool = False

    def says(self, config: HealthcodeConfig, now: float) -> str:
        zone, claim = config.zone, self.claim
        others = ""
        if claim is not None and claim.state == SENDING:
            others = f"is being sent by another robot or scheduler (since {describe_when(claim.at, now, zone)})"
        elif claim is not None and claim.state == FAILED and not self.sent:
            others = (
                f"was not delivered by another robot or scheduler ({describe_when(claim.at, now, zone)}); the "
                f"next robot or run tries again from {describe_when(max(claim.until, now), now, zone)}"
            )
        if not self.sent:
            if others:
                return f"the '{self.kind}' notice {others}"
            at = describe_when(claim.at if claim else now, now, zone)
            return f"the '{self.kind}' notice was already sent by another robot or scheduler ({at})"
        if self.delivered:
            rest = f"; to the other addresses it {others}" if others and not self.complete else ""
            return f"the '{self.kind}' notice was delivered{rest}"
        when = f" from {describe_when(max(claim.until, now), now, zone)}" if claim is not None else ""
        return (
            f"the '{self.kind}' notice was not delivered ({self.delivery.reason if self.delivery else '?'}); "
            f"the next robot or run tries again{when}"
        )

    @property
    def delivered(self) -> bool:
        """Delivered to every address this robot sent it to."""
        return self.delivery is not None and self.delivery.delivered

    @property
    def undelivered(self) -> bool:
        """Known not delivered somewhere: this robot's try failed (at an address), or another's did and
        it is not yet tried again."""
        return (self.sent and not self.delivered) or (self.claim is not None and self.claim.state == FAILED)

    @property
    def final(self) -> bool:
        """Nothing more to do: every address has it, from this robot or another."""
        return self.complete


def _address(url: str) -> str:
    """An address's part of a claim's name: a digest of what it sends to (claims are named in the
    store, URLs hold credentials; two spellings of one address are one)."""
    return hashlib.sha256(notices.address_of(url).encode("utf-8")).hexdigest()[:32]


def _take(
    store: TokenStore, kind: str, names: Sequence[str], keep: float
) -> tuple[list[tuple[str, Claim | None]], Claim | None]:
    """The claims of ``names`` this robot took (None: the store could not note it), and what another
    robot holds of the others (what it has in hand rather than what is done)."""
    ours: list[tuple[str, Claim | None]] = []
    standing: Claim | None = None
    for name in names:
        try:
            claim: Claim = store.claim(name, LEASE, keep)
        except StoreError as error:
            log.warning(
                "Could not note the '%s' notice in the token store (%s); sending it anyway: another robot "
                "may send it too.",
                kind,
                first_line(error, 300),
            )
            ours.append((name, None))
            continue
        if claim.ours:
            ours.append((name, claim))
        elif standing is None or (standing.state == DONE and claim.state != DONE):
            standing = claim
    return ours, standing


def notify_once(
    store: TokenStore,
    config: HealthcodeConfig,
    claims: Sequence[str],
    notice: notices.Notice,
    urls: tuple[str, ...],
    keep: float,
) -> Sent:
    """Send ``notice`` to each address of ``urls`` unless a claim of the fleet holds every one of
    ``claims`` for that address (sent, being sent, or not delivered and waiting for its backoff).
    Each address has claims of its own: one that is down is tried again after its backoff, and the
    others do not get the notice again. The claims this call took are kept ``keep`` seconds where
    the notice was delivered, and held for a backoff where it was not, each noted the moment its
    own service answered."""
    sending: list[tuple[str, list[tuple[str, Claim | None]]]] = []
    known: list[Claim] = []  # what the fleet knows of each address: held by others, or settled here
    addresses: dict[str, str] = {}
    for url in urls:
        addresses.setdefault(_address(url), url)  # one spelling of each address: the first
    for address, url in addresses.items():
        ours, standing = _take(store, notice.kind, [f"{name}|{address}" for name in claims], keep)
        if ours:
            sending.append((url, ours))
        elif standing is not None:
            known.append(standing)
    # every address this robot does not send to is done by another
    complete = len(known) == len(addresses) - len(sending) and all(claim.state == DONE for claim in known)
    if not sending:
        return Sent(notice.kind, False, claim=_furthest_from_done(known), complete=complete)
    unnoted: list[bool] = []  # an address not delivered whose failure the store could not note: own backoff

    def noted(index: int, reached: bool) -> None:
        for name, taken in sending[index][1]:
            if taken is None:
                unnoted.append(not reached)
                continue
            hold = keep if reached else retry_after(taken.attempt)
            try:
                if not store.settle_claim(name, taken, reached, hold, keep):
                    log.info(
                        "The '%s' notice's claim had passed to another robot when its service answered.", notice.kind
                    )
            except StoreError as error:  # the lease runs out by itself: the next one tries again
                log.warning(
                    "Could not note in the token store what became of the '%s' notice (%s).",
                    notice.kind,
                    first_line(error, 300),
                )
            known.append(settled(taken, reached, hold, time.time()))

    # An address whose service has not answered by the send's deadline keeps its claim "being sent":
    # noted when it answers, or let go when its lease ends (no copy twice to a slow service).
    delivery = notices.send([url for url, _ in sending], notice, deadline=notices.SEND_DEADLINE, on_outcome=noted)
    complete = complete and delivery.delivered
    return Sent(notice.kind, True, delivery, None if any(unnoted) else _furthest_from_done(known), complete)


def _furthest_from_done(claims: Sequence[Claim]) -> Claim | None:
    """The claim that says what is left to do (the one being sent, else the failed one tried again
    first), with the fleet's first attempt under any of them; None for no claims."""
    if not claims:
        return None
    pending = [claim for claim in claims if claim.state != DONE]
    chosen = min(pending, key=lambda claim: (claim.state != SENDING, claim.until)) if pending else claims[0]
    return chosen._replace(first_at=min(claim.first_at for claim in claims))


def send_due_reminders(
    store: TokenStore, key: str, config: HealthcodeConfig, stored: Versioned | None, now: float | None = None
) -> list[Sent]:
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
    due = sorted(
        (lead for lead, at in reminder_times(end, config.remind_before, config.remind_hours, config.zone) if at <= now),
        reverse=True,
    )
    if not due:
        return []
    sent = notify_once(
        store,
        config,
        [f"reminder|{key}|{stored.version}|{lead:g}" for lead in due],
        notices.reminder(config, end, now),
        config.notify,
        end - now + CLAIM_SPARE,
    )
    return [
        Sent(
            f"reminder {describe_duration(due[-1])} before the end", sent.sent, sent.delivery, sent.claim, sent.complete
        )
    ]


@dataclass(frozen=True)
class Waited:
    """How a wait ended: the token a supervisor's sign-in gave, or None after the whole time; and
    what became of the "robots waiting" notice, in words."""

    token: Token | None
    waited: float
    told: str


class _Notifying:
    """A notice of a wait, sent beside it in a thread of its own (the robot waits at once, whatever
    the service does), and tried again while it is not delivered: when the backoff its failure
    holds the fleet back for ends, and while another robot has it in hand, every RECHECK seconds."""

    def __init__(self, kind: str, send: Callable[[], Sent]) -> None:
        self.kind = kind
        self.result: Sent | None = None  # the last attempt that finished
        self._send = send
        self._thread: threading.Thread | None = None
        self._next = 0.0  # monotonic: when the next attempt is due
        self._tries = 0
        self._said: tuple[object, ...] | None = None
        self._said_at = -PROGRESS_EVERY
        self.tick()

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def tick(self) -> None:
        """Start the next attempt if one is due."""
        if self.busy or (self.result is not None and self.result.final) or time.monotonic() < self._next:
            return
        self._thread = threading.Thread(target=self._run, name="healthcode-notice", daemon=True)
        self._thread.start()

    def due_in(self) -> float:
        """Seconds until :meth:`tick` has something to do (0 while an attempt is under way: its
        outcome is to be said soon)."""
        if self.busy:
            return 0.0
        return float("inf") if self.result is not None and self.result.final else self._next - time.monotonic()

    def news(self, config: HealthcodeConfig) -> str | None:
        """What to say of the last attempt: the first outcome, a delivery, and a change at most once
        a minute; never the same again."""
        result = self.result
        if result is None:
            return None
        seen = (result.sent, result.delivered, result.claim.state if result.claim else None)
        if seen == self._said or (
            self._said is not None and not result.final and time.monotonic() - self._said_at < PROGRESS_EVERY
        ):
            return None
        self._said, self._said_at = seen, time.monotonic()
        said = result.says(config, time.time())
        return f"{said[0].upper()}{said[1:]}."

    def _run(self) -> None:
        self._tries += 1
        try:
            result = self._send()
        except Exception as error:  # never a traceback from this thread: the robot waits on
            reason = REDACTOR.redact(first_line(error, 200))
            log.warning("The '%s' notice could not be sent: %s: %s", self.kind, type(error).__name__, reason)
            result = Sent(self.kind, True, notices.Delivery(False, f"{type(error).__name__}: {reason}"))
        claim, now = result.claim, time.time()
        if claim is None:  # the store could not note it: this robot's own backoff
            pause = retry_after(self._tries)
        elif claim.state == SENDING:  # being sent by another robot: look again, in case it fails
            pause = min(RECHECK, max(1.0, claim.until - now))
        else:  # not delivered: when its backoff ends
            pause = max(0.0, claim.until - now)
        self._next = time.monotonic() + pause
        self.result = result


def wait_for_sign_in(
    store: TokenStore,
    key: str,
    config: HealthcodeConfig,
    timeout: float,
    valid: Callable[[Versioned | None], Token | None],
    say: Callable[[str], None],
    deadline: float | None = None,
) -> Waited:
    """Wait up to ``timeout`` seconds (a total deadline; or until the monotonic ``deadline`` of a
    wait that began before, ``timeout`` being its whole length) for an authorisation that
    ``valid`` accepts to appear in the store."""
    started, clock = time.time(), time.monotonic()
    deadline = clock + timeout if deadline is None else min(deadline, clock + timeout)
    waiting: _Notifying | None = None
    escalating: _Notifying | None = None
    told = "the supervisors are being told" if config.notify else "no notice is configured (the notify setting)"
    say(
        f"No valid Healthcode authorisation: waiting up to {describe_duration(timeout)} for a supervisor to sign "
        f"in; {told}. {notices.where_to_sign_in(config)}"
    )
    version: int | None = _UNSEEN
    last_said = last_trouble = noted = clock - PROGRESS_EVERY
    with store.bounded(deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return Waited(None, time.monotonic() - clock, _told(waiting, config))
            try:
                if version != _UNSEEN:
                    busy = [n for n in (waiting, escalating) if n is not None]
                    pause = min([PROGRESS_EVERY, *(max(n.due_in(), 0.0) or 2.0 for n in busy)])
                    store.wait_for_change(key, version, min(left, pause))
                stored = store.load(key)
                episode = episode_of(store, key, stored)
            except (StoreNotAnsweringError, StoreLockTimeout) as error:  # a store that stalls or restarts
                cut = deadline - time.monotonic() <= CUT  # ended by the deadline itself: nothing to say
                if not cut and time.monotonic() - last_trouble >= PROGRESS_EVERY:
                    last_trouble = time.monotonic()
                    say(f"The token store did not answer ({first_line(error, 300)}); still waiting.")
                time.sleep(max(0.0, min(1.0, deadline - time.monotonic())))
                continue
            token = valid(stored)
            if token is not None:
                return Waited(token, time.monotonic() - clock, _told(waiting, config))
            version = None if stored is None else stored.version
            if time.monotonic() - noted >= PROGRESS_EVERY:
                noted = time.monotonic()
                note_waiting(store, episode, deadline - noted)
            if waiting is None and config.notify:
                waiting = _Notifying(
                    "waiting",
                    partial(
                        notify_once,
                        store,
                        config,
                        [f"waiting|{episode}"],
                        notices.waiting(config, started, started, timeout),
                        config.notify,
                        timeout + config.escalate_after + CLAIM_SPARE,
                    ),
                )
            now = time.time()
            since = _since(waiting, started)
            if escalating is None and config.notify_escalation and now - since >= config.escalate_after:
                escalating = _Notifying(
                    "escalation",
                    partial(
                        notify_once,
                        store,
                        config,
                        [f"escalation|{episode}"],
                        notices.escalation(config, since, now),
                        config.notify_escalation,
                        timeout + CLAIM_SPARE,
                    ),
                )
            for notifying in (waiting, escalating):
                if notifying is not None:
                    notifying.tick()
                    news = notifying.news(config)
                    if news:
                        say(news)
            if time.monotonic() - last_said >= PROGRESS_EVERY and time.monotonic() - clock >= PROGRESS_EVERY:
                last_said = time.monotonic()
                waited = time.monotonic() - clock
                say(
                    f"Still waiting for a supervisor to sign in ({describe_duration(waited)} so far, "
                    f"{describe_duration(deadline - time.monotonic())} left)."
                )


def episode_of(store: TokenStore, key: str, stored: Versioned | None) -> str:
    """What a wait is about: this entry at this version, or its absence after the last version given."""
    return f"{key}|{stored.version}" if stored else f"{key}|absent-after-{store.last_version()}"


def note_waiting(store: TokenStore, episode: str, left: float) -> None:
    """Say in the store that a robot waits (for the portal's status page): a claim every waiting
    robot takes again at most once a minute, held two minutes or to the end of its wait."""
    try:
        store.claim(f"robots-waiting|{episode}", max(1.0, min(2 * PROGRESS_EVERY, left)), left + CLAIM_SPARE)
    except StoreError as error:  # only a page's information: the wait goes on
        log.debug("Could not note in the token store that this robot waits: %s", first_line(error, 200))


def robots_waiting(store: TokenStore, key: str, now: float | None = None) -> float | None:
    """Since when robots of the fleet wait for a sign-in (None: none is waiting now)."""
    now = time.time() if now is None else now
    claim = store.peek_claim(f"robots-waiting|{episode_of(store, key, store.load(key))}")
    return claim.first_at if claim is not None and claim.holds(now) else None


def _told(waiting: _Notifying | None, config: HealthcodeConfig) -> str:
    if waiting is None:
        return "no notice is configured (the notify setting)" if not config.notify else "no notice was sent"
    if waiting.result is None:
        return "the 'waiting' notice was still being sent"
    return waiting.result.says(config, time.time()) + ("; another try was under way" if waiting.busy else "")


def _since(waiting: _Notifying | None, started: float) -> float:
    """When the fleet began to wait: when the first 'robots waiting' notice of this episode was
    claimed (never later than this robot began), or when this robot began."""
    claim = None if waiting is None or waiting.result is None else waiting.result.claim
    return started if claim is None else min(claim.first_at, started)
