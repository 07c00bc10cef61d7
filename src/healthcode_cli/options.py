"""The options every command shares: the client registration, as flags or ``HEALTHCODE_*`` variables."""

from __future__ import annotations

import argparse

from healthcode_auth.config import ENV_VARS, HealthcodeConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_SIGN_IN_REQUIRED, EXIT_RENEWAL_DUE = 3, 4


def add_config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("client registration (default: the HEALTHCODE_* environment variables)")
    group.add_argument("--client-id", help=f"client id issued by Healthcode (${ENV_VARS['client_id']})")
    group.add_argument("--redirect-uri", help=f"registered post-auth URL (${ENV_VARS['redirect_uri']})")
    group.add_argument("--environment", help="production, uat, or an issuer or discovery-document URL "
                                             f"(${ENV_VARS['environment']}; default production)")
    group.add_argument("--scope", help=f"space-separated scopes (${ENV_VARS['scope']})")
    group.add_argument("--timeout", type=float, help="HTTP timeout in seconds (default 30)")
    group.add_argument("--ca-bundle", help="PEM file of CA certificates to trust instead of the OS store")
    group.add_argument("--proxy", help="HTTP(S) proxy URL (default: HTTPS_PROXY / HTTP_PROXY)")
    group.add_argument("--token-cache", help="token store: a file path, a redis:// or rediss:// URL, or off "
                                             "(default: a per-user file; $HEALTHCODE_TOKEN_CACHE)")
    group.add_argument("--expiry-margin", type=float,
                       help="seconds before expiry a token counts as expired (default 300)")
    group.add_argument("--leeway", type=float,
                       help="seconds a token's times and this machine's clock may disagree (clock skew) when a "
                            f"token is verified (default 300; ${ENV_VARS['leeway']})")
    group.add_argument("--audience", help=f"the aud every access token must name (${ENV_VARS['audience']})")


def config_from(args: argparse.Namespace) -> HealthcodeConfig:
    return HealthcodeConfig.from_environment(
        client_id=args.client_id, redirect_uri=args.redirect_uri, environment=args.environment,
        scope=args.scope, timeout=args.timeout, ca_bundle=args.ca_bundle, proxy=args.proxy,
        token_cache=args.token_cache, expiry_margin=args.expiry_margin, leeway=args.leeway, audience=args.audience)


