"""The options every command shares: the client registration, as flags or ``HEALTHCODE_*`` variables."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import NoReturn

from healthcode_auth.config import ENV_VARS, HealthcodeConfig
from healthcode_auth.errors import ConfigurationError
from healthcode_auth.protocol.urls import split_url
from healthcode_auth.redaction import REDACTOR

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_SIGN_IN_REQUIRED, EXIT_RENEWAL_DUE = 3, 4


class Parser(argparse.ArgumentParser):
    """argparse, except that arguments it does not know are named, never echoed: a value typed
    after a mistyped option (``--cache-key hck1_...``, ``--notify mailtos://user:password@...``)
    may be a secret, and a scheduler keeps the console."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            unknown = message.split(":", 1)[1].split()
            options = [arg.split("=", 1)[0] for arg in unknown if arg.startswith("-")]
            hidden = len(unknown) - len(options) + sum("=" in arg for arg in unknown if arg.startswith("-"))
            message = (f"unrecognized option(s): {' '.join(options)}" if options else "unrecognized arguments") + (
                f" ({hidden} value(s) not shown)" if hidden else ""
            )
        super().error(message)


def add_config_options(parser: argparse.ArgumentParser, *, http_timeout: bool = True) -> None:
    """The shared options; ``http_timeout=False`` for a command whose own ``--timeout`` means something else
    (``wait``: the HTTP timeout then comes from HEALTHCODE_TIMEOUT)."""
    group = parser.add_argument_group("client registration (default: the HEALTHCODE_* environment variables)")
    group.add_argument("--client-id", help=f"client id issued by Healthcode (${ENV_VARS['client_id']})")
    group.add_argument("--redirect-uri", help=f"registered post-auth URL (${ENV_VARS['redirect_uri']})")
    group.add_argument(
        "--environment",
        help="production, uat, or an issuer or discovery-document URL "
        f"(${ENV_VARS['environment']}; default production)",
    )
    group.add_argument("--scope", help=f"space-separated scopes (${ENV_VARS['scope']})")
    if http_timeout:
        group.add_argument(
            "--timeout",
            type=float,
            dest="http_timeout",
            help=f"HTTP timeout in seconds (default 30; ${ENV_VARS['timeout']})",
        )
    group.add_argument("--ca-bundle", help="PEM file of CA certificates to trust instead of the OS store")
    group.add_argument("--proxy", help="HTTP(S) proxy URL (default: HTTPS_PROXY / HTTP_PROXY)")
    group.add_argument(
        "--token-cache",
        help="token store: a file path, a redis:// or rediss:// URL without a "
        "password (a URL with one goes in $HEALTHCODE_TOKEN_CACHE), or off "
        "(default: a per-user file; $HEALTHCODE_TOKEN_CACHE)",
    )
    group.add_argument(
        "--expiry-margin", type=float, help="seconds before expiry a token counts as expired (default 300)"
    )
    group.add_argument(
        "--leeway",
        type=float,
        help="seconds a token's times and this machine's clock may disagree (clock skew) when a "
        f"token is verified (default 300; ${ENV_VARS['leeway']})",
    )
    group.add_argument("--audience", help=f"the aud every access token must name (${ENV_VARS['audience']})")
    cycle = parser.add_argument_group("the daily cycle: notices and waiting (default: the HEALTHCODE_* variables)")
    cycle.add_argument(
        "--client-name", help=f"the robots' name in notices (${ENV_VARS['client_name']}; default: the client id)"
    )
    cycle.add_argument(
        "--notify",
        help="Apprise URLs the notices go to, separated by commas or spaces: "
        "mailtos://..., workflows://..., json://... They hold credentials, and every "
        f"user of the machine can read a command line: prefer ${ENV_VARS['notify']}",
    )
    cycle.add_argument(
        "--notify-escalation",
        help="Apprise URLs told when nobody signed in within --escalate-after "
        f"(prefer ${ENV_VARS['notify_escalation']}, as for --notify)",
    )
    cycle.add_argument(
        "--escalate-after",
        help=f"how long robots wait before the escalation notice (default 30 minutes; ${ENV_VARS['escalate_after']})",
    )
    cycle.add_argument(
        "--remind-before",
        help="when to remind before the authorisation ends, times separated by "
        f"commas (default '2 hours, 15 minutes'; ${ENV_VARS['remind_before']})",
    )
    cycle.add_argument(
        "--remind-hours",
        help=f"when reminders may go, e.g. 'Mon-Fri 08:00-18:00' (default any time; ${ENV_VARS['remind_hours']})",
    )
    cycle.add_argument(
        "--timezone",
        help=f"the supervisors' time zone, e.g. Europe/London (default this machine's; ${ENV_VARS['timezone']})",
    )
    cycle.add_argument(
        "--wait-for-authorisation",
        help="how long a robot waits for a supervisor to sign in, e.g. "
        "'30 minutes' (default: it does not wait; "
        f"${ENV_VARS['wait_for_authorisation']})",
    )
    cycle.add_argument(
        "--portal-url", help=f"where supervisors sign in, linked from notices (${ENV_VARS['portal_url']})"
    )
    cycle.add_argument(
        "--supervisors",
        help="the accounts allowed to authorise the robots, separated by commas "
        f"(default: any the SSO accepts; ${ENV_VARS['supervisors']})",
    )
    cycle.add_argument(
        "--supervisor-claim",
        help=f"the verified claim of the token that names the account (default sub; ${ENV_VARS['supervisor_claim']})",
    )
    api = parser.add_argument_group("Healthcode's APIs (default: the HEALTHCODE_* variables)")
    api.add_argument(
        "--site-id",
        help=f"your site id, sent as SU-SiteId (My Account in your Healthcode Account; ${ENV_VARS['site_id']})",
    )
    api.add_argument("--api-version", help=f"the HC-API-Version sent (default 1; ${ENV_VARS['api_version']})")
    api.add_argument(
        "--api-discovery",
        help="the API discovery document's URL (default: the one the environment "
        f"implies; ${ENV_VARS['api_discovery']})",
    )
    api.add_argument(
        "--basic-auth-user",
        help="the token request's Basic header user, when not the client id (with a "
        f"client secret only; ${ENV_VARS['basic_auth_user']})",
    )


CYCLE_AND_API = (
    "client_name",
    "notify",
    "notify_escalation",
    "escalate_after",
    "remind_before",
    "remind_hours",
    "timezone",
    "wait_for_authorisation",
    "portal_url",
    "site_id",
    "api_version",
    "api_discovery",
    "basic_auth_user",
    "supervisors",
    "supervisor_claim",
)


def config_from(args: argparse.Namespace) -> HealthcodeConfig:
    _no_password_in_argv(args.token_cache)
    return HealthcodeConfig.from_environment(
        client_id=args.client_id,
        redirect_uri=args.redirect_uri,
        environment=args.environment,
        scope=args.scope,
        timeout=getattr(args, "http_timeout", None),
        ca_bundle=args.ca_bundle,
        proxy=args.proxy,
        token_cache=args.token_cache,
        expiry_margin=args.expiry_margin,
        leeway=args.leeway,
        audience=args.audience,
        **{name: getattr(args, name, None) for name in CYCLE_AND_API},
    )


def _no_password_in_argv(token_cache: str | None) -> None:
    """A command line is readable by every user of the machine (the process list): a Redis URL
    with a password is refused there, and taken from the environment instead."""
    if token_cache and token_cache.lower().startswith(("redis://", "rediss://")):
        parts = split_url(token_cache)
        if parts is not None and (parts.password is not None or parts.username is not None):
            raise ConfigurationError(
                "token_cache",
                "--token-cache must not carry a password (or what may be one, "
                "before an @): every user of this machine can read a command line. Put the "
                "URL in HEALTHCODE_TOKEN_CACHE instead, from your secret store",
            )


def log_to_stderr(logger: str, fmt: str) -> None:
    """``logger``'s records (INFO and above) on stderr in ``fmt``, secrets masked; once per process
    (``main()`` may be called again in it)."""
    target = logging.getLogger(logger)
    if any(getattr(handler, "healthcode_cli", False) for handler in target.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(REDACTOR)
    handler.healthcode_cli = True  # type: ignore[attr-defined]
    target.addHandler(handler)
    target.setLevel(logging.INFO)
    target.propagate = False
