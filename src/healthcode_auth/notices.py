"""The notices of the daily cycle, in a supervisor's words, sent through Apprise.

Healthcode issues no refresh token: every day a supervisor must sign in again. The notices tell
them in time (a reminder before the end), when robots are waiting (once per authorisation and
fleet), when nobody answered (to the escalation list), and who authorised or signed the robots
out. Each names the robots, the environment, the time in the supervisor's terms and where to sign
in: the portal's address where one is configured, else the exact command. A notice never holds a
token, a code, a state, a verifier or a secret, and never a link that carries a prepared sign-in.

Apprise (https://github.com/caronc/apprise) speaks every protocol: e-mail, Microsoft Teams
workflows, Slack, webhooks... This module writes none of them. A notice that cannot be delivered is
logged with the reason, without the URL's credentials, and never fails a robot or a sign-in.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from .config import HealthcodeConfig
from .cycle_settings import register_notify_secrets, shown_notify_url
from .errors import escaped, first_line
from .protocol.schedule import describe_duration, describe_when
from .protocol.token import Token
from .protocol.urls import without_queries
from .redaction import REDACTOR

log = logging.getLogger("healthcode_auth")
SEND_DEADLINE = 30.0  # seconds for every service of one notice together
# How long a service may take to answer once it has the notice (Apprise's own default is 4 s): a webhook
# or workflow that shows the notice at once but answers in 6 s was counted as failed, and the notice sent
# again by every robot and run. A URL's own ``rto=`` wins.
READ_TIMEOUT = 20.0
_OWN_READ_TIMEOUT = re.compile(r"[?&]rto=", re.IGNORECASE)


@dataclass(frozen=True)
class Notice:
    kind: str  # reminder, waiting, escalation, authorised, signed-out
    title: str
    body: str


@dataclass(frozen=True)
class Delivery:
    """Whether a notice reached every address, and why not (never a credential); ``reached``: for
    each address, in the order given, whether it took the notice."""

    delivered: bool
    reason: str = ""
    reached: tuple[bool, ...] = ()


def where_to_sign_in(config: HealthcodeConfig) -> str:
    """The portal where supervisors sign in, or the exact command (never a prepared sign-in link)."""
    if config.portal_url:
        return f"Sign in at {config.portal_url} (one button, then your Healthcode sign-in)."
    return (
        "On a computer with a desktop and the robots' settings (their token store included), run: "
        f"healthcode-auth login --client-id {config.client_id} --environment {config.environment}"
    )


def _robots(config: HealthcodeConfig) -> str:
    return f"{escaped(config.display_name, 100)} ({config.environment})"


def ends_at(config: HealthcodeConfig, token: Token) -> float | None:
    """When the authorisation ends for the robots: the token's expiry less the expiry margin, the
    moment robots stop using it. Every notice, reminder and status says this time."""
    return None if token.expires_at is None else token.expires_at - config.expiry_margin


def reminder(config: HealthcodeConfig, ends: float, now: float) -> Notice:
    zone = config.zone
    ends_text = describe_when(ends, now, zone)
    return Notice(
        "reminder",
        f"Healthcode robots: sign in again by {ends_text.split(',')[0]}",
        f"The Healthcode authorisation of the robots {_robots(config)} ends {ends_text}, and cannot be "
        "renewed: a supervisor must sign in again before then, or the robots stop and wait.\n\n"
        f"{where_to_sign_in(config)}\n\nSigning in before the end replaces the authorisation at once: the "
        "robots go on without a gap.",
    )


def waiting(config: HealthcodeConfig, since: float, now: float, wait: float) -> Notice:
    return Notice(
        "waiting",
        "Healthcode robots are waiting for a supervisor",
        f"The robots {_robots(config)} have no valid Healthcode authorisation and are waiting for a "
        f"supervisor to sign in (since {describe_when(since, now, config.zone)}; they wait up to "
        f"{describe_duration(wait)}).\n\n{where_to_sign_in(config)}",
    )


def escalation(config: HealthcodeConfig, since: float, now: float) -> Notice:
    return Notice(
        "escalation",
        "Still waiting: Healthcode robots need a supervisor",
        f"Nobody has signed in for the robots {_robots(config)}: they have been waiting since "
        f"{describe_when(since, now, config.zone)}. Please ask a supervisor with a Healthcode account to "
        f"sign in.\n\n{where_to_sign_in(config)}",
    )


def authorised(config: HealthcodeConfig, token: Token, now: float) -> Notice:
    end = ends_at(config, token)
    ends = describe_when(end, now, config.zone) if end is not None else "when the SSO says"
    return Notice(
        "authorised",
        "Healthcode robots authorised",
        f"{_who(token, start=True)} authorised the robots {_robots(config)} "
        f"{describe_when(now, now, config.zone)}. "
        f"The authorisation ends {ends}.\n\nTo withdraw it: healthcode-auth logout"
        + (f", or the portal at {config.portal_url}" if config.portal_url else "")
        + ".",
    )


def signed_out(config: HealthcodeConfig, token: Token | None, by: str, now: float) -> Notice:
    return Notice(
        "signed-out",
        "Healthcode robots signed out",
        f"The Healthcode authorisation of the robots {_robots(config)}"
        + (f", given by {_who(token)}," if token is not None else "")
        + f" was withdrawn {describe_when(now, now, config.zone)} by {escaped(by, 100)}. The robots stop "
        f"until a supervisor signs in again.\n\n{where_to_sign_in(config)}",
    )


def _who(token: Token, *, start: bool = False) -> str:
    name = f" ({escaped(token.supervisor_name, 100)})" if token.supervisor_name else ""
    who = f"supervisor {escaped(token.supervisor, 100)}{name}" if token.supervisor else "a supervisor"
    return who[0].upper() + who[1:] if start else who


def send(
    urls: Sequence[str],
    notice: Notice,
    *,
    deadline: float = SEND_DEADLINE,
    on_outcome: Callable[[int, bool], None] | None = None,
) -> Delivery:
    """Send ``notice`` to every Apprise URL, each on its own (one that is down or slow neither holds
    back nor hides the others); say which took it. ``deadline`` bounds them all together;
    ``on_outcome(index, delivered)`` is called for each address the moment its service answered
    (in its own thread: a caller notes it at once, even if a slower address then never ends).
    Never raises."""
    if not urls:
        return Delivery(False, "no address is configured (the notify setting)")
    for url in urls:
        register_notify_secrets(url)
    outcomes: list[str | None] = [None] * len(urls)  # None: no answer yet; "": delivered; else why not
    said = _Said(len(urls))
    workers = [
        threading.Thread(
            target=_send, args=(url, notice, outcomes, number, said, on_outcome), name="healthcode-notice", daemon=True
        )
        for number, url in enumerate(urls)
    ]
    end = time.monotonic() + deadline
    try:
        import apprise

        with apprise.LogCapture(level=logging.WARNING), said:  # type: ignore[no-untyped-call]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(max(0.0, end - time.monotonic()))
    except ImportError:
        outcomes = ["Apprise is not installed: pip install apprise"] * len(urls)
    reasons = []
    for number, (url, outcome) in enumerate(zip(urls, outcomes, strict=True), 1):
        why = f"no answer within {deadline:g} seconds yet" if outcome is None else outcome
        if why:
            which = f"{shown_notify_url(url)} (address {number} of {len(urls)})" if len(urls) > 1 else ""
            reasons.append(f"{which}: {why}" if which else why)
    reached = tuple(outcome == "" for outcome in outcomes)
    reason = "; ".join(reasons)
    if reason:
        log.warning(
            "The '%s' notice could not be delivered%s: %s",
            notice.kind,
            f" to {reached.count(False)} of {len(urls)} addresses" if len(urls) > 1 else "",
            reason,
        )
    return Delivery(not reason, reason, reached)


# Which send and which of its addresses a thread works for: Apprise's records are told apart by it.
_ADDRESS: ContextVar[tuple[int, int]] = ContextVar("healthcode_notice_address", default=(0, -1))


class _Said(logging.Handler):
    """What Apprise logs at WARNING and above while a notice is sent, for each address apart: a
    worker marks its records with a context variable, which Apprise's own worker threads inherit."""

    def __init__(self, count: int) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[list[str]] = [[] for _ in range(count)]

    def __enter__(self) -> None:
        logging.getLogger("apprise").addHandler(self)

    def __exit__(self, *_: object) -> None:
        logging.getLogger("apprise").removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        sender, number = _ADDRESS.get()
        if sender == id(self) and 0 <= number < len(self.lines) and len(self.lines[number]) < 50:
            try:
                self.lines[number].append(record.getMessage())
            except Exception:  # a record that cannot be formatted says nothing
                return

    def of(self, number: int) -> str:
        return _said("\n".join(self.lines[number]))


def _send(
    url: str,
    notice: Notice,
    outcomes: list[str | None],
    number: int,
    said: _Said,
    on_outcome: Callable[[int, bool], None] | None,
) -> None:
    _ADDRESS.set((id(said), number))
    _deliver(url, notice, outcomes, number, said)
    if on_outcome is not None:
        try:
            on_outcome(number, outcomes[number] == "")
        except Exception as error:  # noting it is the caller's; a notice never fails a robot
            log.warning("Could not note what became of the '%s' notice: %s", notice.kind, first_line(error, 200))


def _deliver(url: str, notice: Notice, outcomes: list[str | None], number: int, said: _Said) -> None:
    try:
        import apprise

        sender = apprise.Apprise()
        service = apprise.Apprise.instantiate(url)
        if service is None or not sender.add(service):
            outcomes[number] = f"{shown_notify_url(url)} is not an address Apprise can send to"
            return
        if not _OWN_READ_TIMEOUT.search(url):
            service.socket_read_timeout = max(service.socket_read_timeout, READ_TIMEOUT)
        ok = sender.notify(body=notice.body, title=notice.title)
        outcomes[number] = "" if ok else f"the service refused or failed ({said.of(number) or 'no reason given'})"
    except Exception as error:  # a notice must never fail a robot or a sign-in
        outcomes[number] = f"{type(error).__name__}: {REDACTOR.redact(first_line(error, 200))}"


def _said(text: str) -> str:
    """What Apprise logged of a failure, masked: its last lines, no URL queries, bounded."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return without_queries(REDACTOR.redact(" | ".join(lines[-3:])))[:300]


def address_of(url: str) -> str:
    """What one Apprise URL sends to, as Apprise reads it (scheme's case, parameters' order and its
    defaults settled), so that two spellings of one address count as one. A URL Apprise cannot read
    stays as written."""
    try:
        import apprise

        service = apprise.Apprise.instantiate(url)
        return str(service.url(privacy=False)) if service is not None else url  # type: ignore[no-untyped-call]
    except Exception:  # Apprise missing or refusing: the URL as written
        return url
