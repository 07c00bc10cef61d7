"""Command line: ``python -m healthcode_sandbox`` and ``healthcode-auth sandbox``.

Prints where the sandbox is and how to sign in, then serves until Ctrl+C or SIGTERM (exit 0).
Request logs (method, path, status; never query strings) go to stderr unless ``--quiet``. Every
knob of :class:`Faults` is a flag of the same name (``--token-failures N``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from .server import Sandbox
from .settings import (
    DEFAULT_ACCOUNTS,
    DEFAULT_CLIENT,
    DEFAULT_PORT,
    Client,
    Faults,
    SandboxConfigurationError,
    SandboxError,
    SandboxSettings,
    load_registrations,
)

KNOB_HELP = {
    "token_failures": "next N /token requests get 5xx",
    "refresh_tokens": "issue rotating refresh tokens (default: none, as Healthcode documents)",
    "deny_sign_in": "answer every sign-in with access_denied",
    "remembered_supervisor": "approve every sign-in at once as this account (an SSO session, for headless runs)",
    "error_page_redirect": "send requests it cannot redirect back to an /error page (302, then 200)",
    "embed_url": "embed this URL in a frame of the sign-in page",
    "approve_by_script": "approve with a page whose script goes to the redirect URI, not a 302",
    "api_moved": "next N /api/v1 calls are redirected to the same API under /api/v2-moved",
    "api_moved_status": "the redirect status of --api-moved and --api-redirect-elsewhere (301, 302, 303, 307, 308)",
    "api_redirect_elsewhere": "redirect the next API call to this URL (another origin: no token must follow)",
    "api_outcome_error": "next N API calls get 422 with an OperationOutcome",
    "api_failures": "next N API calls get a 5xx (--failure-status)",
    "api_moved_permanently": "the API discovery document names /api/v2-moved; /api/v1 answers 404",
}
METAVARS = {"float": "SECONDS", "int": "N", "str": "URL"}
SPECIAL_METAVARS = {
    "failure_status": "STATUS",
    "api_moved_status": "STATUS",
    "token_lifetime": "SECONDS",
    "remembered_supervisor": "USERNAME",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until interrupted; returns the process exit code."""
    parser = build_parser()
    options = parser.parse_args(argv)
    try:
        sandbox = Sandbox(settings_from_options(options))
    except SandboxError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    log = logging.getLogger("healthcode_sandbox")
    handler, previous_level = logging.StreamHandler(sys.stderr), log.level
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.setLevel(logging.WARNING if options.quiet else logging.INFO)
    log.addHandler(handler)
    # SIGINT too: a shell starts background jobs with SIGINT ignored, and Python keeps it so.
    # Signal handlers can only be set from the main thread (where a command line runs anyway).
    handled = (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ()
    previous = {signum: signal.signal(signum, _interrupt) for signum in handled}
    try:
        sandbox.start()
        print(banner(sandbox), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("Healthcode SSO sandbox stopped.", file=sys.stderr)
        return 0
    except SandboxError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 1
    finally:
        sandbox.stop()
        for signum, previous_handler in previous.items():
            signal.signal(signum, previous_handler)
        log.removeHandler(handler)  # main() may run in-process
        log.setLevel(previous_level)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="healthcode-auth sandbox",
        description="Local Healthcode SSO emulator (OAuth 2.0 Authorization Code + PKCE) for tests and demos.",
    )
    where = parser.add_argument_group("where it listens")
    where.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    where.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for a free one (default {DEFAULT_PORT})"
    )
    where.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host (fixed passwords!)")
    where.add_argument("--public-url", help="issuer/base URL clients use, when it differs from http://HOST:PORT")

    who = parser.add_argument_group("clients, accounts and tokens")
    who.add_argument("--clients", metavar="FILE", help="JSON or TOML file of clients (and optionally accounts)")
    who.add_argument("--client-id", help="register this client (in addition to the default or --clients ones)")
    who.add_argument("--client-secret", help="its secret (leave out for a public client)")
    who.add_argument("--redirect-uri", action="append", default=[], help="its redirect URI (repeatable)")
    who.add_argument("--require-mfa", action="store_true", help="every account needs the one-time-code step")
    who.add_argument("--otp", default=None, help="the one-time code that passes (default 123456)")
    who.add_argument("--audience", help="the access token's aud claim (default https://api.healthcode.sandbox)")
    who.add_argument(
        "--no-rotation", action="store_true", help="with --refresh-tokens: keep a refresh token valid after use"
    )

    knobs = parser.add_argument_group("knobs (also settable at run time: POST /_sandbox/faults)")
    for knob in dataclasses.fields(Faults):
        flag, kind = "--" + knob.name.replace("_", "-"), str(knob.type)
        if kind == "bool":
            # --no-refresh-tokens was the way to turn them off when they were on by default; it now
            # says the default, so scripts that pass it keep working.
            action = argparse.BooleanOptionalAction if knob.name == "refresh_tokens" else "store_true"
            knobs.add_argument(flag, action=action, default=False, help=KNOB_HELP.get(knob.name))
        else:
            metavar = SPECIAL_METAVARS.get(knob.name, METAVARS[kind])
            type_ = {"float": float, "int": int, "str": str}[kind]
            knobs.add_argument(flag, type=type_, default=knob.default, metavar=metavar, help=KNOB_HELP.get(knob.name))
    parser.add_argument("--quiet", action="store_true", help="no request log on stderr")
    return parser


def settings_from_options(options: argparse.Namespace) -> SandboxSettings:
    """The settings the parsed options describe (raises SandboxConfigurationError on bad combinations)."""
    clients: tuple[Client, ...] = (DEFAULT_CLIENT,)
    accounts = DEFAULT_ACCOUNTS
    if options.clients:
        registrations = load_registrations(options.clients)
        clients, accounts = registrations.clients, registrations.accounts or DEFAULT_ACCOUNTS
    if options.client_id:
        if not options.redirect_uri:
            raise SandboxConfigurationError("--client-id needs at least one --redirect-uri.")
        extra = Client(options.client_id, tuple(options.redirect_uri), client_secret=options.client_secret)
        clients = (*(c for c in clients if c.client_id != extra.client_id), extra)
    elif options.client_secret or options.redirect_uri:
        raise SandboxConfigurationError("--client-secret and --redirect-uri describe a client: add --client-id.")
    optional = {"otp": options.otp, "audience": options.audience, "public_url": options.public_url}
    return SandboxSettings(
        host=options.host,
        port=options.port,
        allow_remote=options.allow_remote,
        clients=clients,
        accounts=accounts,
        require_mfa=options.require_mfa,
        rotate_refresh_tokens=not options.no_rotation,
        faults=Faults(**{knob.name: getattr(options, knob.name) for knob in dataclasses.fields(Faults)}),
        **{name: value for name, value in optional.items() if value is not None},
    )


def banner(sandbox: Sandbox) -> str:
    """Where the sandbox is, how to sign in and what it issues."""
    settings, faults = sandbox.settings, sandbox.faults
    lines = [
        f"Healthcode SSO sandbox running at {sandbox.url}",
        f"Paste this as the environment: {sandbox.issuer}",
        f"  (Robot: Library  HealthcodeLibrary  environment={sandbox.issuer}  ...;"
        f" shell: HEALTHCODE_ENVIRONMENT={sandbox.issuer})",
        f"Discovery URL: {sandbox.discovery_url}",
        f"API discovery document: {sandbox.api_discovery_url} (send SU-SiteId: one of the account's sites)",
        "Accounts (test passwords, never real ones):",
    ]
    for account in settings.accounts:
        otp = f" + one-time code {settings.otp}" if settings.needs_otp(account) else ""
        sites = f"; sites {', '.join(account.sites)}" if account.sites else "; no site"
        lines.append(f"  {account.username} / {account.password}{otp}{sites}")
    lines.append("Clients:")
    for client in settings.clients:
        kind = "public, PKCE only" if client.is_public else "confidential, secret not shown"
        lines.append(f"  {client.client_id} ({kind}) -> {', '.join(client.redirect_uris)}")
    if not faults.refresh_tokens:
        lines.append(
            "Refresh tokens: none, as Healthcode documents (a supervisor signs in again when the access "
            "token expires; --refresh-tokens issues them)"
        )
    elif settings.rotate_refresh_tokens:
        lines.append("Refresh tokens: issued, and rotated on each use")
    else:
        lines.append("Refresh tokens: issued, and kept valid after use (--no-rotation)")
    if remembered := faults.remembered_supervisor:
        lines.append(
            f"Remembered supervisor: {remembered} (every sign-in is approved at once as {remembered}: "
            "headless robots finish unattended)"
        )
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
