"""``status``, ``history``, ``set-aside`` and ``check``: what is stored, who supervised what, the
way out of a lost key, and whether the SSO accepts the settings. ``--json`` gives machines the same
facts. Every text that came from a token or a store is printed escaped."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from healthcode_auth.api_discovery import fetch_api_document
from healthcode_auth.authorization_probe import REFUSED, probe_authorization
from healthcode_auth.client import HealthcodeAuthClient
from healthcode_auth.config import HealthcodeConfig
from healthcode_auth.errors import (
    ConfigurationError,
    HealthcodeAuthError,
    SettingsMismatchError,
    StoreError,
    StoreUnreadableError,
    escaped,
)
from healthcode_auth.protocol.api_document import shown_url
from healthcode_auth.protocol.schedule import describe_when
from healthcode_auth.protocol.token import Token, TokenStatus, describe_expiry, local_time
from healthcode_auth.session import HealthcodeSession
from healthcode_auth.storage.record import MAX_HISTORY

from .options import EXIT_FAILED, EXIT_OK, EXIT_RENEWAL_DUE, EXIT_SIGN_IN_REQUIRED, config_from

EXIT_OF = {
    TokenStatus.VALID: EXIT_OK,
    TokenStatus.RENEWAL_DUE: EXIT_RENEWAL_DUE,
    TokenStatus.SIGN_IN_REQUIRED: EXIT_SIGN_IN_REQUIRED,
}
SAID = {
    TokenStatus.VALID: "valid",
    TokenStatus.RENEWAL_DUE: "due for renewal: the next robot renews it with the refresh token",
    TokenStatus.SIGN_IN_REQUIRED: "a supervisor must sign in with 'healthcode-auth login'",
}


def status(args: argparse.Namespace) -> int:
    """What is stored for this client, without any network request to the SSO and never the token.

    A store this run cannot read (another key, damage) is an error (exit 1) that says so: never
    "nobody signed in", which would send a supervisor to sign in over it.
    """
    config = config_from(args)
    session = HealthcodeSession.from_config(config)
    facts: dict[str, Any] = {
        "client_id": config.client_id,
        "environment": config.environment,
        "store": session.store.description if session.store else None,
    }
    try:
        token = session.current_token()
    except StoreUnreadableError as error:
        return _failed(args, facts, "unreadable", error, EXIT_FAILED)
    except SettingsMismatchError as error:
        return _failed(args, facts, TokenStatus.SIGN_IN_REQUIRED.value, error, EXIT_SIGN_IN_REQUIRED)
    except StoreError as error:  # unreachable, refused, locked: monitoring gets JSON all the same
        return _failed(args, facts, "store error", error, EXIT_FAILED)
    state = session.status(token, min_remaining=args.min_remaining)
    refused = session.refused_at
    facts.update(
        {
            "state": state.value,
            "supervisor": token.supervisor if token else None,
            "supervisor_name": token.supervisor_name if token else None,
            "expires_at": local_time(token.expires_at) if token is not None and token.expires_at else None,
            "seconds_left": int(token.seconds_left() or 0) if token is not None and token.expires_at else None,
            "refresh_token": bool(token.refresh_token) if token is not None else None,
            "renewal_refused_at": local_time(refused) if refused is not None else None,
            **_next_step(session, token),
        }
    )
    if args.json:
        print(json.dumps(facts, indent=2))
        return EXIT_OF[state]
    _print_store(facts)
    if token is None:
        print("Status:        no token cached: a supervisor must sign in with 'healthcode-auth login'.")
        return EXIT_SIGN_IN_REQUIRED
    print(
        f"Signed in by:  {escaped(token.supervisor or '(unknown)')}"
        + (f" ({escaped(token.supervisor_name)})" if token.supervisor_name else "")
    )
    if token.expires_at is not None:
        print(f"Expires:       {describe_expiry(token.expires_at)}")
    print(
        "Refresh token: "
        + (
            "no: the SSO refused to renew it at " + local_time(refused)
            if refused is not None
            else "yes"
            if token.refresh_token
            else "no"
        )
    )
    print(f"Status:        {SAID[state]}")
    if facts.get("sign_in_due"):
        print(f"Next sign-in:  due {facts['sign_in_due']}")
    elif facts.get("renewal_due"):
        print(f"Next renewal:  due {facts['renewal_due']} (by a robot, with the refresh token)")
    return EXIT_OF[state]


def _next_step(session: HealthcodeSession, token: Token | None) -> dict[str, Any]:
    """When the next supervisor sign-in (or, with a refresh token, the next renewal) is due: the
    moment the token stops counting as valid (its expiry less the margin)."""
    if token is None or token.expires_at is None:
        return {}
    due = token.expires_at - session.expiry_margin
    now = time.time()
    kind = "renewal" if token.refresh_token and session.refused_at is None else "sign_in"
    return {
        f"{kind}_due": describe_when(due, now, session.config.zone),
        f"{kind}_due_at": local_time(due),
        f"{kind}_due_in_seconds": int(due - now),
    }


def _failed(args: argparse.Namespace, facts: dict[str, Any], state: str, error: Exception, code: int) -> int:
    if args.json:
        print(json.dumps({**facts, "state": state, "error": str(error)}, indent=2))
    else:
        _print_store(facts)
        print(f"Status:        {state}", flush=True)
        print(f"error: {error}", file=sys.stderr)
    return code


def _print_store(facts: dict[str, Any]) -> None:
    print(f"Client:        {facts['client_id']}")
    print(f"Environment:   {facts['environment']}")
    print(f"Token cache:   {facts['store'] or '(off)'}")


def history(args: argparse.Namespace) -> int:
    """The supervision record: who signed the robots in, who renewed, who signed out. Every event
    is checked with the store's key: one that was not written with it is marked as such."""
    session = HealthcodeSession.from_config(config_from(args))
    events = session.history(min(max(args.limit, 0), MAX_HISTORY))
    if args.json:
        print(json.dumps([event.to_dict() for event in events], indent=2))
        return EXIT_OK
    if not events:
        print("The supervision record is empty." if session.store else "The token store is off: nothing is recorded.")
        return EXIT_OK
    for event in events:
        fields = {k: escaped(v, 120) for k, v in event.fields.items()}
        who = fields.get("supervisor", "(unknown)") + (
            f" ({fields['supervisor_name']})" if fields.get("supervisor_name") else ""
        )
        where = ", ".join(f"{k} {fields[k]}" for k in ("machine", "user", "suite", "via") if fields.get(k))
        mark = "" if event.authentic else "  ** NOT AUTHENTIC: not written with this store's key **"
        print(
            f"{fields.get('time', '?')}  {fields.get('event', '?'):<16} {who}  [{fields.get('client_id', '?')} "
            f"@ {fields.get('environment', '?')}; {where}]{mark}"
        )
    forged = sum(not event.authentic for event in events)
    if forged == len(events):
        print(
            f"error: none of the {len(events)} event(s) above was written with this run's key: this run most likely "
            "has another key than the robots' (HEALTHCODE_CACHE_KEY, the keyring or the key file; 'healthcode-auth "
            "status' says which it found). Give it the robots' key; if it is theirs, the record was altered.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if forged:
        print(
            f"warning: {forged} event(s) above were not written with this store's key: they were added or "
            "altered by someone without it, or written with a key this run does not have.",
            file=sys.stderr,
        )
    return EXIT_OK


def set_aside(args: argparse.Namespace) -> int:
    """After a lost key: move what this run cannot read aside (kept), so a supervisor can sign in.

    A wrong key looks exactly like a lost one from here, and setting aside signs every robot that
    still has the right key out: without ``--yes`` the command only says what it would move.
    """
    session = HealthcodeSession.from_config(config_from(args))
    if session.store is None:
        raise ConfigurationError("token_cache", "the token store is off: there is nothing to set aside")
    if not args.yes:
        try:
            session.check_store()
        except StoreUnreadableError as error:
            print(f"Would set aside what this run cannot read in {session.store.description}: {error}")
            print(
                "A wrong key looks exactly like a lost one: first make sure this run has the key the robots use. "
                "Setting aside signs out every robot that still has it. To go ahead: healthcode-auth set-aside "
                "--yes",
                file=sys.stderr,
            )
            return EXIT_FAILED
    done = session.store.set_aside(session.key)
    if done is None:
        print(
            f"Nothing to set aside: {session.store.description} can be read with this run's key (or holds "
            "nothing for this client)."
        )
        return EXIT_OK
    print(done)
    print("Robots now find no authorisation for this client: a supervisor must sign in ('healthcode-auth login').")
    return EXIT_OK


def check(args: argparse.Namespace) -> int:
    """Pre-flight: validate the settings and the SSO's discovery document, print the endpoints, ask
    the authorization endpoint whether it accepts this client id and redirect URI, and read the API
    discovery document. ``--report``: the redacted first-contact report instead (``--json`` too)."""
    config = config_from(args)
    if getattr(args, "report", False):
        return _report(config, as_json=bool(getattr(args, "json", False)))
    with HealthcodeAuthClient(config) as client:
        metadata = client.metadata
        print(f"Client:                 {config.client_id} ({'confidential' if config.is_confidential else 'public'})")
        print(f"Redirect URI:           {config.redirect_uri}")
        print(f"Discovery document:     {config.discovery_url}")
        print(f"Issuer:                 {metadata.issuer}")
        print(f"Authorization endpoint: {metadata.authorization_endpoint}")
        print(f"Token endpoint:         {metadata.token_endpoint}")
        print(f"Key set (JWKS):         {metadata.jwks_uri or '(not published)'}", flush=True)
        probe = probe_authorization(client)
        print(f"Authorization request:  {probe.verdict}: {probe.detail}")
        api_found = _say_api_document(config.api_discovery_url, client)
    print(
        "Not checked here:       the client secret (only a code exchange shows it), whether a supervisor's "
        "account may authorise this client (only a sign-in shows it) and the site id (only an API call shows "
        "it). 'healthcode-auth check --report' writes a report to keep or send to Healthcode."
    )
    if probe.verdict == REFUSED:
        print(
            f"error: the SSO refused the authorization request for client '{config.client_id}' and redirect URI "
            f"'{config.redirect_uri}' ({probe.detail}). The client id or the redirect URI is probably not "
            "registered as given: check both against your Healthcode registration, character for character "
            "(a trailing slash counts).",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK if api_found else EXIT_FAILED


def _say_api_document(url: str, client: HealthcodeAuthClient) -> bool:
    """The API discovery document: where, and which APIs it names; or why it could not be read."""
    try:
        document = fetch_api_document(url, client.transport)
    except HealthcodeAuthError as error:
        print(f"API discovery document: {shown_url(url)}: could not be read", flush=True)
        print(f"error: {error}", file=sys.stderr)
        return False
    names = ", ".join(escaped(name, 60) for name in document.endpoints)
    print(f"API discovery document: {shown_url(url)}: {len(document.endpoints)} API(s): {names}")
    return True


def _report(config: HealthcodeConfig, *, as_json: bool) -> int:
    """The first-contact report: both discovery documents and, after a sign-in, the token's header
    and claim names; never a value that identifies a person, never a secret."""
    from healthcode_auth.first_contact import first_contact_report

    session = HealthcodeSession.from_config(config)
    try:
        report = first_contact_report(session)
    finally:
        session.client.close()
    print(json.dumps(report.as_dict(), indent=2) if as_json else report.as_text(), end="" if not as_json else "\n")
    return EXIT_OK
