"""``healthcode-auth``: the command line for supervisors and operators, a front end beside the keywords.

It sits above the core (``healthcode_auth``) and the keyword library: ``login`` runs the
supervisor's sign-in through the library's Python API in this process, handing over the validated
settings as objects; ``sandbox`` starts the local SSO emulator when it is installed.

Exit codes: 0 success (for ``status``: a valid token is stored; for ``wait``: authorised); 1 the
sign-in or a check failed, the token store cannot be read with this run's key (or is damaged), or ``init`` found starter
files it would overwrite (the message says why and what to do); 2
invalid usage or configuration; 3 (``status``) no usable token, a supervisor must sign in (``wait``:
nobody signed in in time); 4
(``status``) the token is due for renewal and a refresh token is stored, so the next robot will
renew it; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from healthcode_auth.errors import ConfigurationError, HealthcodeAuthError
from healthcode_auth.storage.key_sources import ENV_KEY, new_random_key
from healthcode_auth.version import __version__

from .cycle_commands import remind, wait
from .options import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Parser, add_config_options, log_to_stderr
from .portal_commands import add_portal_command
from .report_commands import check, history, set_aside, status
from .starter_commands import init
from .supervisor_commands import login, logout


def new_key(args: argparse.Namespace) -> int:
    """A random 256-bit key for HEALTHCODE_CACHE_KEY, used as it is (no passphrase stretching)."""
    print(new_random_key())
    print(
        f"A new random key for {ENV_KEY}. Keep it in your secret store (CI or orchestrator secrets) and give it "
        "to every robot and to the supervisor's machine; anyone who has it can read the tokens.",
        file=sys.stderr,
    )
    return EXIT_OK


def _in_flags(error: ConfigurationError) -> str:
    """The problems in this command's own terms: ``--client-id``, not ``client_id=``."""
    lines = []
    for problem in error.problems:
        flag = (
            problem.setting
            if problem.setting.startswith(("-", "HEALTHCODE_"))
            else "--" + problem.setting.replace("_", "-")
        )
        also = f" (or {problem.variable})" if problem.variable else ""
        lines.append(f"{flag}{also}: {problem.problem}")
    if len(lines) == 1:
        return f"invalid setting {lines[0]}"
    return f"{len(lines)} settings are missing or invalid:" + "".join(f"\n  {line}" for line in lines)


def _sandbox(argv: Sequence[str]) -> int:
    try:
        from healthcode_sandbox import main as sandbox_main
    except ImportError:
        print(
            "The sandbox is not installed. Install it with: pip install 'robotframework-healthcode[sandbox]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return sandbox_main(list(argv))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="healthcode-auth",
        description="Supervised sign-in of bots to Healthcode (OAuth 2.0 Authorization Code with PKCE).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    command = commands.add_parser(
        "init", help="write a starter suite, the sandbox recipe and a settings template into the current folder"
    )
    command.add_argument("--force", action="store_true", help="overwrite starter files that already exist")
    command.set_defaults(handler=init)
    command = commands.add_parser(
        "check",
        help="validate the settings and the SSO's discovery document, and ask the "
        "SSO whether it accepts the client id and redirect URI",
    )
    add_config_options(command)
    command.add_argument(
        "--report",
        action="store_true",
        help="print a redacted first-contact report to keep or send to Healthcode: both discovery "
        "documents' keys, what the SSO offers, the token's header and claim names (never a "
        "value that identifies a person, never a secret)",
    )
    command.add_argument("--json", action="store_true", help="with --report: the report as JSON")
    command.set_defaults(handler=check)
    command = commands.add_parser("login", help="a supervisor signs in; the token is stored for robots")
    add_config_options(command)
    browser = command.add_argument_group("browser")
    browser.add_argument("--browser", default="chromium", choices=("chromium", "firefox", "webkit"))
    browser.add_argument("--channel", help="an installed browser: chrome, msedge...")
    browser.add_argument("--executable-path", help="path of the browser to launch")
    browser.add_argument("--headless", action="store_true", help="no visible window (for tests)")
    command.add_argument("--sign-in-timeout", default="5 minutes", help="how long to wait for the supervisor")
    command.add_argument("--force", action="store_true", help="sign in even if a valid token is stored")
    command.set_defaults(handler=login)
    command = commands.add_parser("status", help="who is signed in and until when (exit 0/1/3/4, see docs)")
    add_config_options(command)
    command.add_argument(
        "--min-remaining",
        type=float,
        default=0.0,
        help="exit 0 only if the token is valid this many more seconds (beyond the margin)",
    )
    command.add_argument("--json", action="store_true", help="print the facts as JSON, for monitoring")
    command.set_defaults(handler=status)
    command = commands.add_parser("history", help="the supervision record: who signed in, renewed, signed out")
    add_config_options(command)
    command.add_argument("--limit", type=int, default=20, help="how many of the latest events (default 20)")
    command.add_argument("--json", action="store_true", help="print the events as JSON")
    command.set_defaults(handler=history)
    command = commands.add_parser("logout", help="remove the stored authorisation and revoke it")
    add_config_options(command)
    command.add_argument("--no-revoke", action="store_true", help="only remove it from the store")
    command.set_defaults(handler=logout)
    command = commands.add_parser(
        "set-aside",
        help="after a lost key: move the token store's unreadable data aside "
        "(kept, never deleted) so that a supervisor can sign in again",
    )
    add_config_options(command)
    command.add_argument("--yes", action="store_true", help="do it (without it: say what would be moved, exit 1)")
    command.set_defaults(handler=set_aside)
    command = commands.add_parser(
        "remind",
        help="send the reminders that are due (once for the whole fleet); for cron, systemd timers and Task Scheduler",
    )
    add_config_options(command)
    command.set_defaults(handler=remind)
    command = commands.add_parser(
        "wait", help="wait until a supervisor has signed in (exit 0), or the time is up (exit 3)"
    )
    add_config_options(command, http_timeout=False)
    command.add_argument("--timeout", default="30 minutes", help="how long to wait (default 30 minutes)")
    command.set_defaults(handler=wait)
    add_portal_command(commands)
    command = commands.add_parser("key", help="'key new': a random key for HEALTHCODE_CACHE_KEY")
    command.add_argument("action", choices=("new",))
    command.set_defaults(handler=new_key)
    commands.add_parser("sandbox", help="run the local Healthcode SSO emulator (see docs/sandbox.md)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        return _sandbox(argv[1:])
    args = build_parser().parse_args(argv)
    log_to_stderr("healthcode_auth", "%(message)s")  # the core's notices (a key file made...), as plain lines
    try:
        return int(args.handler(args))
    except ConfigurationError as error:
        print(f"error: {_in_flags(error)}", file=sys.stderr)
        return EXIT_USAGE
    except HealthcodeAuthError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
