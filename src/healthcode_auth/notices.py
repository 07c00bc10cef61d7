"""Floor 6: the notices of the daily cycle, in a supervisor's words, sent through Apprise.

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
from collections.abc import Sequence
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
    """Whether a notice reached every address, and why not (never a credential)."""

    delivered: bool
    reason: str = ""


def where_to_sign_in(config: HealthcodeConfig) -> str:
    """The portal where supervisors sign in, or the exact command (never a prepared sign-in link)."""
    if config.portal_url:
        return f"Sign in at {config.portal_url} (one button, then your Healthcode sign-in)."
    return ("On a computer with a desktop and the robots' settings (their token store included), run: "
            f"healthcode-auth login --client-id {config.client_id} --environment {config.environment}")


def _robots(config: HealthcodeConfig) -> str:
    return f"{escaped(config.display_name, 100)} ({config.environment})"


def ends_at(config: HealthcodeConfig, token: Token) -> float | None:
    """When the authorisation ends for the robots: the token's expiry less the expiry margin, the
    moment robots stop using it. Every notice, reminder and status says this time."""
    return None if token.expires_at is None else token.expires_at - config.expiry_margin


def reminder(config: HealthcodeConfig, ends: float, now: float) -> Notice:
    zone = config.zone
    ends_text = describe_when(ends, now, zone)
    return Notice("reminder", f"Healthcode robots: sign in again by {ends_text.split(',')[0]}",
                  f"The Healthcode authorisation of the robots {_robots(config)} ends {ends_text}, and cannot be "
                  "renewed: a supervisor must sign in again before then, or the robots stop and wait.\n\n"
                  f"{where_to_sign_in(config)}\n\nSigning in before the end replaces the authorisation at once: the "
                  "robots go on without a gap.")


def waiting(config: HealthcodeConfig, since: float, now: float, wait: float) -> Notice:
    return Notice("waiting", "Healthcode robots are waiting for a supervisor",
                  f"The robots {_robots(config)} have no valid Healthcode authorisation and are waiting for a "
                  f"supervisor to sign in (since {describe_when(since, now, config.zone)}; they wait up to "
                  f"{describe_duration(wait)}).\n\n{where_to_sign_in(config)}")


def escalation(config: HealthcodeConfig, since: float, now: float) -> Notice:
    return Notice("escalation", "Still waiting: Healthcode robots need a supervisor",
                  f"Nobody has signed in for the robots {_robots(config)}: they have been waiting since "
                  f"{describe_when(since, now, config.zone)}. Please ask a supervisor with a Healthcode account to "
                  f"sign in.\n\n{where_to_sign_in(config)}")


def authorised(config: HealthcodeConfig, token: Token, now: float) -> Notice:
    end = ends_at(config, token)
    ends = describe_when(end, now, config.zone) if end is not None else "when the SSO says"
    return Notice("authorised", "Healthcode robots authorised",
                  f"{_who(token, start=True)} authorised the robots {_robots(config)} "
                  f"{describe_when(now, now, config.zone)}. "
                  f"The authorisation ends {ends}.\n\nTo withdraw it: healthcode-auth logout"
                  + (f", or the portal at {config.portal_url}" if config.portal_url else "") + ".")


def signed_out(config: HealthcodeConfig, token: Token | None, by: str, now: float) -> Notice:
    return Notice("signed-out", "Healthcode robots signed out",
                  f"The Healthcode authorisation of the robots {_robots(config)}"
                  + (f", given by {_who(token)}," if token is not None else "")
                  + f" was withdrawn {describe_when(now, now, config.zone)} by {escaped(by, 100)}. The robots stop "
                  f"until a supervisor signs in again.\n\n{where_to_sign_in(config)}")


def _who(token: Token, *, start: bool = False) -> str:
    name = f" ({escaped(token.supervisor_name, 100)})" if token.supervisor_name else ""
    who = f"supervisor {escaped(token.supervisor, 100)}{name}" if token.supervisor else "a supervisor"
    return who[0].upper() + who[1:] if start else who


def send(urls: Sequence[str], notice: Notice, *, deadline: float = SEND_DEADLINE) -> Delivery:
    """Send ``notice`` to every Apprise URL; say whether it was delivered. Never raises."""
    if not urls:
        return Delivery(False, "no address is configured (the notify setting)")
    for url in urls:
        register_notify_secrets(url)
    outcome: dict[str, object] = {}
    worker = threading.Thread(target=_send, args=(list(urls), notice, outcome), name="healthcode-notice",
                              daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        reason = f"the services did not answer within {deadline:g} seconds"
    else:
        reason = str(outcome.get("reason", ""))
    delivered = not reason
    if not delivered:
        log.warning("The '%s' notice could not be delivered: %s", notice.kind, reason)
    return Delivery(delivered, reason)


def _send(urls: list[str], notice: Notice, outcome: dict[str, object]) -> None:
    try:
        import apprise

        sender = apprise.Apprise()
        refused = []
        for url in urls:
            service = apprise.Apprise.instantiate(url)
            if service is None or not sender.add(service):
                refused.append(shown_notify_url(url))
            elif not _OWN_READ_TIMEOUT.search(url):
                service.socket_read_timeout = max(service.socket_read_timeout, READ_TIMEOUT)
        said = ""
        if len(sender):
            with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
                ok = sender.notify(body=notice.body, title=notice.title)
            said = "" if ok else _said(captured.getvalue())
            if not ok:
                refused.append(f"a service refused or failed ({said or 'no reason given'})")
        if refused:
            outcome["reason"] = "; ".join(
                f"{item}" if item.startswith("a service") else f"{item} is not an address Apprise can send to"
                for item in refused)
    except ImportError:
        outcome["reason"] = "Apprise is not installed: pip install apprise"
    except Exception as error:  # a notice must never fail a robot or a sign-in
        outcome["reason"] = f"{type(error).__name__}: {REDACTOR.redact(first_line(error, 200))}"


def _said(text: str) -> str:
    """What Apprise logged of a failure, masked: its last lines, no URL queries, bounded."""
    lines = [line.split(" - ", 2)[-1] for line in text.strip().splitlines() if line.strip()]
    return without_queries(REDACTOR.redact(" | ".join(lines[-3:])))[:300]
