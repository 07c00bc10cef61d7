"""``status``, ``history`` and ``check``: what is stored, who supervised what, and whether the
settings reach the SSO. ``--json`` gives machines the same facts."""

from __future__ import annotations

import argparse
import json
from typing import Any

from healthcode_auth.client import HealthcodeAuthClient
from healthcode_auth.protocol.token import TokenStatus, describe_expiry, local_time
from healthcode_auth.session import HealthcodeSession

from .options import EXIT_OK, EXIT_RENEWAL_DUE, EXIT_SIGN_IN_REQUIRED, config_from

EXIT_OF = {TokenStatus.VALID: EXIT_OK, TokenStatus.RENEWAL_DUE: EXIT_RENEWAL_DUE,
           TokenStatus.SIGN_IN_REQUIRED: EXIT_SIGN_IN_REQUIRED}
SAID = {TokenStatus.VALID: "valid",
        TokenStatus.RENEWAL_DUE: "due for renewal: the next robot renews it with the refresh token",
        TokenStatus.SIGN_IN_REQUIRED: "a supervisor must sign in with 'healthcode-auth login'"}


def status(args: argparse.Namespace) -> int:
    """What is stored for this client, without any network request to the SSO and never the token."""
    config = config_from(args)
    session = HealthcodeSession.from_config(config)
    token = session.current_token()
    state = session.status(token, min_remaining=args.min_remaining)
    facts: dict[str, Any] = {
        "state": state.value, "client_id": config.client_id, "environment": config.environment,
        "store": session.store.description if session.store else None,
        "supervisor": token.supervisor if token else None, "supervisor_name": token.supervisor_name if token else None,
        "expires_at": local_time(token.expires_at) if token is not None and token.expires_at else None,
        "seconds_left": int(token.seconds_left() or 0) if token is not None and token.expires_at else None,
        "refresh_token": bool(token.refresh_token) if token is not None else None,
    }
    if args.json:
        print(json.dumps(facts, indent=2))
        return EXIT_OF[state]
    print(f"Client:        {config.client_id}")
    print(f"Environment:   {config.environment}")
    print(f"Token cache:   {facts['store'] or '(off)'}")
    if token is None:
        print("Status:        no token cached: a supervisor must sign in with 'healthcode-auth login'.")
        return EXIT_SIGN_IN_REQUIRED
    print(f"Signed in by:  {token.supervisor or '(unknown)'}" + (f" ({token.supervisor_name})"
                                                                 if token.supervisor_name else ""))
    if token.expires_at is not None:
        print(f"Expires:       {describe_expiry(token.expires_at)}")
    print(f"Refresh token: {'yes' if token.refresh_token else 'no'}")
    print(f"Status:        {SAID[state]}")
    return EXIT_OF[state]


def history(args: argparse.Namespace) -> int:
    """The supervision record: who signed the robots in, who renewed, who signed out."""
    session = HealthcodeSession.from_config(config_from(args))
    events = session.history(args.limit)
    if args.json:
        print(json.dumps(events, indent=2))
        return EXIT_OK
    if not events:
        print("The supervision record is empty." if session.store else "The token store is off: nothing is recorded.")
        return EXIT_OK
    for event in events:
        who = event.get("supervisor", "(unknown)") + (f" ({event['supervisor_name']})"
                                                      if event.get("supervisor_name") else "")
        where = ", ".join(f"{k} {event[k]}" for k in ("machine", "user", "suite", "via") if event.get(k))
        print(f"{event.get('time', '?')}  {event.get('event', '?'):<16} {who}  [{event.get('client_id', '?')} "
              f"@ {event.get('environment', '?')}; {where}]")
    return EXIT_OK


def check(args: argparse.Namespace) -> int:
    """Pre-flight: validate the settings and the SSO's discovery document; print the endpoints."""
    config = config_from(args)
    with HealthcodeAuthClient(config) as client:
        metadata = client.metadata
    print(f"Client:                 {config.client_id} ({'confidential' if config.is_confidential else 'public'})")
    print(f"Redirect URI:           {config.redirect_uri}")
    print(f"Discovery document:     {config.discovery_url}")
    print(f"Issuer:                 {metadata.issuer}")
    print(f"Authorization endpoint: {metadata.authorization_endpoint}")
    print(f"Token endpoint:         {metadata.token_endpoint}")
    print(f"Key set (JWKS):         {metadata.jwks_uri or '(not published)'}")
    return EXIT_OK
