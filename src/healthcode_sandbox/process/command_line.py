"""Command line: ``python -m healthcode_sandbox`` and ``healthcode-auth sandbox``.

Prints where the sandbox is and how to sign in, then serves until Ctrl+C or SIGTERM (exit 0).
Request logs (method, path, status; never query strings) go to stderr unless ``--quiet``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

from ..admin.registrations import load_registrations
from ..faults import Faults
from ..sandbox_errors import SandboxConfigurationError, SandboxError
from ..settings import DEFAULT_ACCOUNTS, DEFAULT_CLIENT, DEFAULT_PORT, Account, Client, SandboxSettings
from .server import Sandbox


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until interrupted; returns the process exit code."""
    parser = build_parser()
    options = parser.parse_args(argv)
    try:
        settings = settings_from_options(options)
        sandbox = Sandbox(settings)
    except SandboxError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    restore_logging = _configure_logging(quiet=options.quiet)
    # SIGINT too: a shell starts background jobs with SIGINT ignored, and Python keeps it so.
    # Signal handlers can only be set from the main thread (where a command line runs anyway).
    handled = (signal.SIGINT, signal.SIGTERM)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {signum: signal.getsignal(signum) for signum in handled}
    try:
        if in_main_thread:
            for signum in handled:
                signal.signal(signum, _interrupt)
        sandbox.start()
        _print_banner(sandbox)
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
        if in_main_thread:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        restore_logging()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="healthcode-sandbox",
        description="Local Healthcode SSO emulator (OAuth 2.0 Authorization Code + PKCE) for tests and demos.",
    )
    where = parser.add_argument_group("where it listens")
    where.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    where.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for a free one (default {DEFAULT_PORT})"
    )
    where.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host (fixed passwords!)")
    where.add_argument("--public-url", help="issuer/base URL clients use, when it differs from http://HOST:PORT")

    who = parser.add_argument_group("clients and accounts")
    who.add_argument("--clients", metavar="FILE", help="JSON or TOML file of clients (and optionally accounts)")
    who.add_argument("--client-id", help="register this client (in addition to the default or --clients ones)")
    who.add_argument("--client-secret", help="its secret (leave out for a public client)")
    who.add_argument("--redirect-uri", action="append", default=[], help="its redirect URI (repeatable)")
    who.add_argument("--require-mfa", action="store_true", help="every account needs the one-time-code step")
    who.add_argument("--otp", default=None, help="the one-time code that passes (default 123456)")

    tokens = parser.add_argument_group("tokens")
    tokens.add_argument("--token-lifetime", type=int, default=Faults.token_lifetime, metavar="SECONDS")
    tokens.add_argument("--code-lifetime", type=float, default=Faults.code_lifetime, metavar="SECONDS")
    tokens.add_argument("--audience", help="the access token's aud claim (default https://api.healthcode.sandbox)")
    # --no-refresh-tokens was the way to turn them off when they were on by default; it now says
    # the default, so scripts that pass it keep working.
    tokens.add_argument(
        "--refresh-tokens", action=argparse.BooleanOptionalAction, default=False,
        help="issue rotating refresh tokens (default: none, as Healthcode documents)",
    )
    tokens.add_argument("--no-rotation", action="store_true",
                        help="with --refresh-tokens: keep a refresh token valid after use")

    faults = parser.add_argument_group("faults (also settable at run time: POST /_sandbox/faults)")
    faults.add_argument("--token-delay", type=float, default=0.0, metavar="SECONDS")
    faults.add_argument("--token-failures", type=int, default=0, metavar="N", help="next N /token requests get 5xx")
    faults.add_argument("--token-invalid-grant", type=int, default=0, metavar="N")
    faults.add_argument("--failure-status", type=int, default=503, metavar="STATUS")
    faults.add_argument("--deny-sign-in", action="store_true", help="answer every sign-in with access_denied")
    faults.add_argument("--remembered-supervisor", default="", metavar="USERNAME",
                        help="approve every sign-in at once as this account (an SSO session, for headless runs)")
    faults.add_argument("--error-page-redirect", action="store_true",
                        help="send requests it cannot redirect back to an /error page (302, then 200)")
    faults.add_argument("--embed-url", default="", metavar="URL", help="embed this URL in a frame of the sign-in page")
    faults.add_argument("--approve-by-script", action="store_true",
                        help="approve with a page whose script goes to the redirect URI, not a 302")
    faults.add_argument("--discovery-failures", type=int, default=0, metavar="N")
    faults.add_argument("--jwks-failures", type=int, default=0, metavar="N")

    api = parser.add_argument_group("API faults (also settable at run time: POST /_sandbox/faults)")
    api.add_argument("--api-moved", type=int, default=0, metavar="N",
                     help="next N /api/v1 calls are redirected to the same API under /api/v2-moved")
    api.add_argument("--api-moved-status", type=int, default=301, metavar="STATUS",
                     help="the redirect status of --api-moved and --api-redirect-elsewhere (301, 302, 303, 307, 308)")
    api.add_argument("--api-redirect-elsewhere", default="", metavar="URL",
                     help="redirect the next API call to this URL (another origin: no token must follow)")
    api.add_argument("--api-outcome-error", type=int, default=0, metavar="N",
                     help="next N API calls get 422 with an OperationOutcome")
    api.add_argument("--api-failures", type=int, default=0, metavar="N",
                     help="next N API calls get a 5xx (--failure-status)")
    api.add_argument("--api-moved-permanently", action="store_true",
                     help="the API discovery document names /api/v2-moved; /api/v1 answers 404")
    api.add_argument("--api-discovery-failures", type=int, default=0, metavar="N")
    api.add_argument("--api-delay", type=float, default=0.0, metavar="SECONDS")

    parser.add_argument("--quiet", action="store_true", help="no request log on stderr")
    return parser


def settings_from_options(options: argparse.Namespace) -> SandboxSettings:
    """The settings the parsed options describe (raises SandboxConfigurationError on bad combinations)."""
    clients: tuple[Client, ...] = (DEFAULT_CLIENT,)
    accounts: tuple[Account, ...] = DEFAULT_ACCOUNTS
    if options.clients:
        registrations = load_registrations(options.clients)
        clients = registrations.clients
        accounts = registrations.accounts or DEFAULT_ACCOUNTS
    if options.client_id:
        if not options.redirect_uri:
            raise SandboxConfigurationError("--client-id needs at least one --redirect-uri.")
        extra = Client(options.client_id, tuple(options.redirect_uri), client_secret=options.client_secret)
        clients = (*(c for c in clients if c.client_id != extra.client_id), extra)
    elif options.client_secret or options.redirect_uri:
        raise SandboxConfigurationError("--client-secret and --redirect-uri describe a client: add --client-id.")
    faults = Faults(
        token_delay=options.token_delay,
        token_failures=options.token_failures,
        token_invalid_grant=options.token_invalid_grant,
        failure_status=options.failure_status,
        token_lifetime=options.token_lifetime,
        code_lifetime=options.code_lifetime,
        deny_sign_in=options.deny_sign_in,
        remembered_supervisor=options.remembered_supervisor,
        discovery_failures=options.discovery_failures,
        jwks_failures=options.jwks_failures,
        error_page_redirect=options.error_page_redirect,
        embed_url=options.embed_url,
        approve_by_script=options.approve_by_script,
        api_moved=options.api_moved,
        api_moved_status=options.api_moved_status,
        api_redirect_elsewhere=options.api_redirect_elsewhere,
        api_outcome_error=options.api_outcome_error,
        api_failures=options.api_failures,
        api_moved_permanently=options.api_moved_permanently,
        api_discovery_failures=options.api_discovery_failures,
        api_delay=options.api_delay,
    )
    optional = {"otp": options.otp, "audience": options.audience, "public_url": options.public_url}
    return SandboxSettings(
        host=options.host,
        port=options.port,
        allow_remote=options.allow_remote,
        clients=clients,
        accounts=accounts,
        require_mfa=options.require_mfa,
        refresh_tokens=options.refresh_tokens,
        rotate_refresh_tokens=not options.no_rotation,
        faults=faults,
        **{name: value for name, value in optional.items() if value is not None},
    )


def _print_banner(sandbox: Sandbox) -> None:
    settings = sandbox.settings
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
    lines.append(_refresh_token_line(sandbox))
    if remembered := sandbox.faults.remembered_supervisor:
        lines.append(f"Remembered supervisor: {remembered} (every sign-in is approved at once as {remembered}: "
                     "headless robots finish unattended)")
    lines.append("Press Ctrl+C to stop.")
    print("\n".join(lines), flush=True)


def _refresh_token_line(sandbox: Sandbox) -> str:
    if not sandbox.faults.refresh_tokens:
        return ("Refresh tokens: none, as Healthcode documents (a supervisor signs in again when the access "
                "token expires; --refresh-tokens issues them)")
    if sandbox.settings.rotate_refresh_tokens:
        return "Refresh tokens: issued, and rotated on each use"
    return "Refresh tokens: issued, and kept valid after use (--no-rotation)"


def _configure_logging(quiet: bool) -> Callable[[], None]:
    """Send the sandbox's logs to stderr; returns how to undo it (main() may run in-process)."""
    log = logging.getLogger("healthcode_sandbox")
    previous_level = log.level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.addHandler(handler)

    def restore() -> None:
        log.removeHandler(handler)
        log.setLevel(previous_level)

    return restore


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
