"""``remind`` and ``wait``: the daily cycle for schedulers (cron, systemd timers, Task Scheduler).

``remind`` is one pass: it sends the reminders that are due and not yet sent (each once for the
whole fleet: two schedulers or two machines never send the same one twice). ``wait`` waits for a
supervisor's sign-in, as a robot with ``wait_for_authorisation`` does, and exits 0 once the robots
are authorised, 3 on timeout.
"""

from __future__ import annotations

import argparse
import sys
import time

from healthcode_auth.daily_cycle import send_due_reminders
from healthcode_auth.errors import ConfigurationError, NoValidTokenError
from healthcode_auth.notices import ends_at
from healthcode_auth.protocol.schedule import describe_when, parse_duration, reminder_times
from healthcode_auth.session import HealthcodeSession

from .options import EXIT_FAILED, EXIT_OK, EXIT_SIGN_IN_REQUIRED, config_from


def remind(args: argparse.Namespace) -> int:
    """Send the reminders due now; say what was sent, what another run sent, and what comes next."""
    config = config_from(args)
    session = HealthcodeSession.from_config(config)
    if session.store is None:
        raise ConfigurationError("token_cache", "reminders need the token store the robots share; it is off")
    if not config.notify:
        raise ConfigurationError("notify", "give the Apprise URLs reminders go to (HEALTHCODE_NOTIFY, or --notify)")
    stored = session.store.load(session.key)
    now = time.time()
    token = None if stored is None else stored.entry.token
    end = None if token is None else ends_at(config, token)
    if token is None or end is None or end <= now:
        print(
            "No authorisation to remind of: robots that need one wait for a supervisor (the 'robots waiting' "
            "notice), or fail."
        )
        return EXIT_OK
    if token.refresh_token and stored is not None and stored.refused_at is None:
        print("The authorisation is renewed with its refresh token: no reminder is needed.")
        return EXIT_OK
    undelivered = False
    for sent in send_due_reminders(session.store, session.key, config, stored, now):
        said = sent.says(config, now)
        print(f"{said[0].upper()}{said[1:]}.")
        undelivered = undelivered or sent.undelivered  # this run's try failed, or another's, not yet tried again
    upcoming = [at for _, at in reminder_times(end, config.remind_before, config.remind_hours, config.zone) if at > now]
    ends = describe_when(end, now, config.zone)
    print(
        f"The authorisation ends {ends}."
        + (f" Next reminder: {describe_when(min(upcoming), now, config.zone)}." if upcoming else "")
    )
    if undelivered:
        print(
            "error: a reminder was not delivered (see above); the next run sends it again to the addresses that "
            "did not take it.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def wait(args: argparse.Namespace) -> int:
    """Wait for the robots to be authorised: exit 0 once they are, 3 when the time runs out."""
    session = HealthcodeSession.from_config(config_from(args))
    if session.store is None:
        raise ConfigurationError("token_cache", "waiting needs the token store a supervisor signs in to; it is off")
    limit = parse_duration(args.timeout, "--timeout")
    session.on_wait = lambda message: print(message, flush=True)
    session.describe_actor = lambda: {"via": "healthcode-auth wait"}
    try:
        token = session.access_token(wait=limit)
    except NoValidTokenError as error:
        print(f"error: {error}")
        return EXIT_SIGN_IN_REQUIRED
    end = ends_at(session.config, token)
    print(f"Authorised until {describe_when(end, time.time(), session.config.zone)}." if end else "Authorised.")
    return EXIT_OK
