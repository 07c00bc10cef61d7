"""``init``: the starting point of an RPA project that has only the package installed.

Writes into the current folder a starter suite, the documented headless sign-in against the local
sandbox, a scheduled robot (the cached authorisation; it waits for a supervisor when there is none)
and a template of every ``HEALTHCODE_*`` setting (no secret in it), from the templates in
``healthcode_cli/starter/`` that ship in the wheel; then says what to do next.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from importlib import resources
from pathlib import Path

from .options import EXIT_FAILED, EXIT_OK

README = "https://github.com/robotframework-healthcode/robotframework-healthcode/blob/main/README.md"
SUITE, RECIPE, SETTINGS = "healthcode_token.robot", "sandbox_sign_in.robot", "healthcode.env.example"
SCHEDULED = "scheduled_robot.robot"
STARTER_FILES = {
    SUITE: "a suite: the bot gets a token from a supervisor's sign-in, finds a member and lists remittances",
    RECIPE: "the headless sign-in against the local sandbox, as the documentation shows it",
    SCHEDULED: "a scheduled robot: it uses the cached authorisation and waits for a supervisor when there is none",
    SETTINGS: "every HEALTHCODE_* setting, commented (no secret in it)",
}
# What the starter files need beyond the package itself: (module, extra).
EXTRAS = (("flask", "sandbox"), ("authlib", "sandbox"))


def starter_text(name: str) -> str:
    """The template ``name`` as the package ships it."""
    return (resources.files("healthcode_cli") / "starter" / name).read_text(encoding="utf-8")


def missing_extras() -> list[str]:
    """The extras the starter files need that are not installed, in order, once each."""
    missing: list[str] = []
    for module, extra in EXTRAS:
        if importlib.util.find_spec(module) is None and extra not in missing:
            missing.append(extra)
    return missing


def next_steps(missing: list[str]) -> str:
    install = (
        f"First install what they need: pip install 'robotframework-healthcode[{','.join(missing)}]'\n"
        if missing
        else ""
    )
    return (
        f"\n{install}"
        "Next:\n"
        "  1. Try it on this machine, against the local Healthcode SSO sandbox (no registration needed).\n"
        "     In a second terminal (leave it running):\n"
        "       healthcode-auth sandbox --remembered-supervisor supervisor\n"
        "     Then, here:\n"
        f"       robot {RECIPE}\n"
        "     If the sandbox printed another address than http://127.0.0.1:8765, add -v SANDBOX:<that address>.\n"
        f"  2. Against Healthcode: copy {SETTINGS} to healthcode.env, fill in your bot's registration\n"
        "     (UAT first), load it into the environment (bash: set -a; . ./healthcode.env; set +a), then\n"
        f"       robot {SUITE}\n"
        "     and a supervisor at this machine signs in in the browser window that opens.\n"
        "  3. On a schedule, with the same settings: a supervisor signs in once a day with\n"
        "       healthcode-auth login\n"
        "     (on a machine with a desktop), and the scheduler runs\n"
        f"       robot {SCHEDULED}\n"
        "     which takes the authorisation from the token store, and waits for a supervisor when there is none.\n"
        f"The README says more: {README}"
    )


def init(args: argparse.Namespace) -> int:
    """Write the starter files into the current folder; never overwrite one without ``--force``."""
    folder = Path.cwd()
    existing = [name for name in STARTER_FILES if (folder / name).exists()]
    if existing and not args.force:
        print(
            f"error: {', '.join(existing)} already {'exists' if len(existing) == 1 else 'exist'} in {folder}, "
            "so nothing was written. Run 'healthcode-auth init --force' to overwrite "
            f"{'it' if len(existing) == 1 else 'them'} with the starter files, or run it in another folder.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    for name, what in STARTER_FILES.items():
        (folder / name).write_text(starter_text(name), encoding="utf-8")
        print(f"Wrote {name}{' (overwritten)' if name in existing else ''}: {what}.")
    print(next_steps(missing_extras()))
    return EXIT_OK
