"""``login`` and ``logout``: a supervisor authorises the robots, or takes the authorisation back."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from healthcode_auth.errors import (
    ConfigurationError,
    HealthcodeAuthError,
    NoValidTokenError,
    StoreError,
    StoreUnreadableError,
    escaped,
)
from healthcode_auth.protocol.token import TokenStatus, local_time
from healthcode_auth.session import HealthcodeSession

from .options import EXIT_OK, config_from


def login(args: argparse.Namespace) -> int:
    """Open a browser for the supervisor, wait for the sign-in, put the token in the store."""
    config = config_from(args)
    session = HealthcodeSession.from_config(config, sign_in_hint="Run 'healthcode-auth login' again")
    if session.store is None:
        raise ConfigurationError("token_cache", "login stores the token in the token store, which is turned off")
    session.describe_actor = lambda: {"via": "healthcode-auth login"}
    session.check_store()  # a store this key cannot read is said now, before the supervisor signs in
    from robot.utils import secs_to_timestr, timestr_to_secs

    from HealthcodeLibrary.argument_types import BrowserOptions

    from .supervisor_login import sign_in_supervisor

    try:
        timeout = timedelta(seconds=timestr_to_secs(args.sign_in_timeout))
    except ValueError:
        raise ConfigurationError(
            "--sign-in-timeout", f"'{args.sign_in_timeout}' is not a time such as '5 minutes' or '300'"
        ) from None
    if timeout.total_seconds() <= 0:
        raise ConfigurationError("--sign-in-timeout", "give a time greater than 0, such as '5 minutes'")
    options = BrowserOptions(
        browser=args.browser,
        headless=args.headless,
        channel=args.channel,
        executable_path=args.executable_path,
        proxy=config.proxy,
    )
    print(f"Opening Healthcode's sign-in page for client '{config.client_id}' ({config.environment}).")
    print(f"A supervisor must sign in within {secs_to_timestr(timeout.total_seconds(), compact=False)}.", flush=True)
    token = sign_in_supervisor(session, options, timeout, force=args.force)
    stored = session.store.load(session.key)
    if stored is None or stored.entry.token.access_token != token.access_token:
        raise StoreError(
            f"The sign-in succeeded, but the token could not be put in the token store "
            f"{session.store.description} (see the warning above); robots will not find it."
        )
    if session.status(token) is TokenStatus.SIGN_IN_REQUIRED:  # no refresh token either
        raise NoValidTokenError(
            f"The sign-in succeeded and the token is stored, but Healthcode issued it valid for only "
            f"{secs_to_timestr(max(round(token.seconds_left() or 0), 0), compact=False)}, within the expiry margin "
            f"({secs_to_timestr(session.expiry_margin, compact=False)}): robots treat it as expired. Lower the "
            "expiry_margin setting (HEALTHCODE_EXPIRY_MARGIN), or ask Healthcode why its tokens are so short."
        )
    who = escaped(token.supervisor) if token.supervisor else "the supervisor"
    print(
        f"Signed in: {who}. The token is in the token store {session.store.description} and valid until "
        f"{local_time(token.expires_at)}."
    )
    return EXIT_OK


def logout(args: argparse.Namespace) -> int:
    """Remove the stored authorisation, revoking it at the SSO where it supports revocation.

    Only the entry this run read and decrypted is removed. What it cannot read, it neither removes
    nor revokes: it fails and says how to sign the robots out another way.
    """
    session = HealthcodeSession.from_config(config_from(args))
    session.describe_actor = lambda: {"via": "healthcode-auth logout"}
    try:
        token = session.clear()
    except StoreUnreadableError as error:
        raise StoreUnreadableError(
            f"Nothing was removed and nothing was revoked: {error} To sign the robots out without the key: revoke "
            "the authorisation at the SSO (ask Healthcode, or the supervisor can end their Healthcode session); "
            "otherwise the access token stays valid until it expires (Healthcode's: 24 hours after the sign-in).",
            key_source=error.key_source,
            tried=error.tried,
            damaged=error.damaged,
        ) from None
    if token is None:
        print("Nothing to remove: no authorisation is cached for this client.")
        return EXIT_OK
    print(
        "Removed the cached authorisation."
        + (" Every robot using this store is signed out." if session.store is not None else "")
    )
    if args.no_revoke:
        return EXIT_OK
    try:
        revoked = session.client.revoke(token)
    except HealthcodeAuthError as error:
        print(f"warning: the SSO server did not confirm the revocation: {error}", file=sys.stderr)
        return EXIT_OK
    print(
        "Revoked it at the SSO server."
        if revoked
        else "The SSO server does not support revocation; the token stays valid there until it expires."
    )
    return EXIT_OK
