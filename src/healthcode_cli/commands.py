"""``healthcode-auth``: the command line for supervisors and operators, a front end beside the keywords.

It sits above the core (``healthcode_auth``) and the keyword library: ``login`` runs the
supervisor's sign-in through the library's Python API in this process, handing over the validated
settings as objects; ``sandbox`` starts the local SSO emulator when it is installed.

Exit codes: 0 success (for ``status``: a valid token is cached); 1 the sign-in or a check failed
(the message says why and what to do); 2 invalid usage or configuration; 3 (``status``) no usable
token, a supervisor must sign in; 4 (``status``) the token is due for renewal and a refresh token
is cached, so the next robot will renew it; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta

from healthcode_auth.client import HealthcodeAuthClient
from healthcode_auth.config import ENV_VARS, HealthcodeConfig
from healthcode_auth.errors import ConfigurationError, HealthcodeAuthError
from healthcode_auth.protocol.jwt_verification import claims_of
from healthcode_auth.protocol.token import TokenStatus, describe_time_left
from healthcode_auth.session import HealthcodeSession
from healthcode_auth.version import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_SIGN_IN_REQUIRED, EXIT_RENEWAL_DUE = 3, 4


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("client registration (default: the HEALTHCODE_* environment variables)")
    group.add_argument("--client-id", help=f"client id issued by Healthcode (${ENV_VARS['client_id']})")
    group.add_argument("--redirect-uri", help=f"registered post-auth URL (${ENV_VARS['redirect_uri']})")
    group.add_argument("--environment", help="production, uat or a discovery-document URL "
                                             f"(${ENV_VARS['environment']}; default production)")
    group.add_argument("--scope", help=f"space-separated scopes (${ENV_VARS['scope']})")
    group.add_argument("--timeout", type=float, help="HTTP timeout in seconds (default 30)")
    group.add_argument("--ca-bundle", help="PEM file of CA certificates to trust instead of the OS store")
    group.add_argument("--proxy", help="HTTP(S) proxy URL (default: HTTPS_PROXY / HTTP_PROXY)")
    group.add_argument("--token-cache", help="token cache file (default: a per-user path; $HEALTHCODE_TOKEN_CACHE)")
    group.add_argument("--expiry-margin", type=float,
                       help="seconds before expiry a token counts as expired (default 300)")
    group.add_argument("--audience", help=f"the aud every access token must name (${ENV_VARS['audience']})")


def _config(args: argparse.Namespace) -> HealthcodeConfig:
    return HealthcodeConfig.from_environment(
        client_id=args.client_id, redirect_uri=args.redirect_uri, environment=args.environment,
        scope=args.scope, timeout=args.timeout, ca_bundle=args.ca_bundle, proxy=args.proxy,
        token_cache=args.token_cache, expiry_margin=args.expiry_margin, audience=args.audience)


def _login(args: argparse.Namespace) -> int:
    """Open a browser for the supervisor, wait for the sign-in, put the token in the store."""
    config = _config(args)
    session = HealthcodeSession.from_config(config, sign_in_hint="Run 'healthcode-auth login' again")
    if session.store is None:
        raise ConfigurationError("token_cache", "login stores the token in the token store, which is turned off")
    from robot.utils import timestr_to_secs

    from HealthcodeLibrary.argument_types import BrowserOptions
    from HealthcodeLibrary.supervisor_login import sign_in_supervisor

    try:
        timeout = timedelta(seconds=timestr_to_secs(args.sign_in_timeout))
    except ValueError:
        raise ConfigurationError("--sign-in-timeout", f"'{args.sign_in_timeout}' is not a time such as "
                                 "'5 minutes' or '300'") from None
    options = BrowserOptions(browser=args.browser, headless=args.headless, channel=args.channel,
                             executable_path=args.executable_path, proxy=config.proxy)
    print(f"Opening Healthcode's sign-in page for client '{config.client_id}' ({config.environment}).")
    print(f"A supervisor must sign in within {args.sign_in_timeout}.", flush=True)
    token = sign_in_supervisor(session, options, timeout, force=args.force)
    who = claims_of(token.access_token).get("sub", "the supervisor")
    print(f"Signed in: {who}. The token is in the token store and valid until {_expiry(token.expires_at)}.")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    """What is stored for this client, without any network request and never the token."""
    config = _config(args)
    session = HealthcodeSession.from_config(config)
    token = session.current_token()
    print(f"Client:        {config.client_id}")
    print(f"Environment:   {config.environment}")
    print(f"Token cache:   {session.store.description if session.store else '(off)'}")
    if token is None:
        print("Status:        no token cached: a supervisor must sign in with 'healthcode-auth login'.")
        return EXIT_SIGN_IN_REQUIRED
    claims = claims_of(token.access_token)
    print(f"Signed in by:  {claims.get('sub', '(unknown)')}")
    if token.expires_at is not None:
        print(f"Expires:       {_expiry(token.expires_at)} ({describe_time_left(token.seconds_left() or 0)})")
    print(f"Refresh token: {'yes' if token.refresh_token else 'no'}")
    status = session.status(token, min_remaining=args.min_remaining)
    if status is TokenStatus.VALID:
        print("Status:        valid")
        return EXIT_OK
    if status is TokenStatus.RENEWAL_DUE:
        print("Status:        due for renewal: the next robot renews it with the refresh token")
        return EXIT_RENEWAL_DUE
    print("Status:        expired: a supervisor must sign in with 'healthcode-auth login'.")
    return EXIT_SIGN_IN_REQUIRED


def _expiry(expires_at: float | None) -> str:
    if expires_at is None:
        return "(unknown)"
    return datetime.fromtimestamp(expires_at).astimezone().isoformat(timespec="seconds")


def _logout(args: argparse.Namespace) -> int:
    """Remove the cached authorisation, revoking it at the SSO where it supports revocation."""
    config = _config(args)
    session = HealthcodeSession.from_config(config)
    token = session.clear()
    if token is None:
        print("Nothing to remove: no authorisation is cached for this client.")
        return EXIT_OK
    print("Removed the cached authorisation.")
    if args.no_revoke:
        return EXIT_OK
    try:
        revoked = session.client.revoke(token)
    except HealthcodeAuthError as error:
        print(f"warning: the SSO server did not confirm the revocation: {error}", file=sys.stderr)
        return EXIT_OK
    print("Revoked it at the SSO server." if revoked else "The SSO server does not support revocation; "
          "the token stays valid there until it expires.")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    """Pre-flight: validate the settings and the SSO's discovery document; print the endpoints."""
    config = _config(args)
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


def _sandbox(argv: Sequence[str]) -> int:
    try:
        from healthcode_sandbox import main as sandbox_main
    except ImportError:
        print("The sandbox is not installed. Install it with: pip install 'robotframework-healthcode[sandbox]'",
              file=sys.stderr)
        return EXIT_USAGE
    return sandbox_main(list(argv))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="healthcode-auth",
        description="Supervised sign-in of bots to Healthcode (OAuth 2.0 Authorization Code with PKCE).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    check = commands.add_parser("check", help="validate the settings and the SSO's discovery document")
    _add_config_options(check)
    check.set_defaults(handler=_check)
    login = commands.add_parser("login", help="a supervisor signs in; the token is cached for robots")
    _add_config_options(login)
    browser = login.add_argument_group("browser")
    browser.add_argument("--browser", default="chromium", choices=("chromium", "firefox", "webkit"))
    browser.add_argument("--channel", help="an installed browser: chrome, msedge...")
    browser.add_argument("--executable-path", help="path of the browser to launch")
    browser.add_argument("--headless", action="store_true", help="no visible window (for tests)")
    login.add_argument("--sign-in-timeout", default="5 minutes", help="how long to wait for the supervisor")
    login.add_argument("--force", action="store_true", help="sign in even if a valid token is cached")
    login.set_defaults(handler=_login)
    status = commands.add_parser("status", help="who is signed in and until when (exit 0/3/4, see docs)")
    _add_config_options(status)
    status.add_argument("--min-remaining", type=float, default=0.0,
                        help="exit 0 only if the token is valid this many more seconds (beyond the margin)")
    status.set_defaults(handler=_status)
    logout = commands.add_parser("logout", help="remove the cached authorisation and revoke it")
    _add_config_options(logout)
    logout.add_argument("--no-revoke", action="store_true", help="only remove it from the cache")
    logout.set_defaults(handler=_logout)
    commands.add_parser("sandbox", help="run the local Healthcode SSO emulator (see docs/sandbox.md)",
                        add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        return _sandbox(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except HealthcodeAuthError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
