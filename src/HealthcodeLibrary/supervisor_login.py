"""Runs the supervisor's sign-in for ``healthcode-auth login`` (``python -m HealthcodeLibrary.supervisor_login``).

The browser step needs Robot Framework and the Browser library, which the core never imports, so
the core's CLI runs this module in a subprocess. Settings arrive in HEALTHCODE_* environment
variables (never on a command line, where other users could read a secret).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SUITE = Path(__file__).with_name("supervisor_login.robot")


class FailureCollector:
    """A listener that keeps the task's failure message for the command's own output."""

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self) -> None:
        self.messages: list[str] = []

    def end_test(self, data: object, result: object) -> None:
        if getattr(result, "failed", False):
            self.messages.append(str(getattr(result, "message", "")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="healthcode-auth login")
    parser.add_argument("--timeout", default="5 minutes")
    parser.add_argument("--browser", default="chromium", choices=("chromium", "firefox", "webkit"))
    parser.add_argument("--headless", action="store_true")
    parser.add_argument("--channel")
    parser.add_argument("--executable-path")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)

    from robot.run import run as run_robot

    variables = [f"TIMEOUT:{args.timeout}", f"BROWSER:{args.browser}", f"HEADLESS:{args.headless}",
                 f"FORCE:{args.force}"]
    if args.channel:
        variables.append(f"CHANNEL:{args.channel}")
    if args.executable_path:
        variables.append(f"EXECUTABLE_PATH:{args.executable_path}")
    collector = FailureCollector()
    rc = run_robot(str(SUITE), output="NONE", log="NONE", report="NONE", console="none",
                   variable=variables, listener=collector, stdout=sys.stdout, stderr=sys.stderr)
    for message in collector.messages:
        print(f"error: {message}", file=sys.stderr)
    if rc and not collector.messages:
        print("error: the sign-in could not run; check the settings above.", file=sys.stderr)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
