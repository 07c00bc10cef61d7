"""``healthcode-auth``: the command line for supervisors and operators.

Exit codes: 0 success; 1 the sign-in or a check failed (the message says why and what to do);
2 invalid usage or configuration; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .client import HealthcodeAuthClient
from .config import ENV_VARS, HealthcodeConfig
from .errors import ConfigurationError, HealthcodeAuthError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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


def _config(args: argparse.Namespace) -> HealthcodeConfig:
    return HealthcodeConfig.from_environment(
        client_id=args.client_id, redirect_uri=args.redirect_uri, environment=args.environment,
        scope=args.scope, timeout=args.timeout, ca_bundle=args.ca_bundle, proxy=args.proxy)


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
        from healthcode_sandbox.cli import main as sandbox_main
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
