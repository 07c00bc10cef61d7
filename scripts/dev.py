#!/usr/bin/env python3
r"""Sets up this project and runs its demo or its checks, on Linux, macOS and Windows alike.

    python3 scripts/dev.py demo          the demo against the local SSO sandbox (Windows: py scripts\dev.py demo)
    python3 scripts/dev.py test [ARGS]   every check; ARGS go to pytest     (Windows: py scripts\dev.py test)
    python3 scripts/dev.py setup         only the setup both of them do first

Standard library only, for any Python 3.10+. The setup makes a virtual environment in .venv with the
project and its development tools (its executables found through sysconfig: bin/ or Scripts\), and
checks for a browser, redis-server and nginx. What differs between systems:

- Debian/Ubuntu as root with apt-get: Debian's chromium, redis-server and nginx are installed when
  missing, waiting (up to 5 minutes) for another apt-get or dpkg that holds the package lock.
- Anywhere else (macOS, Windows, other Linux, no root): nothing is installed system-wide; the setup
  says what to install. Chrome or Edge, which most Macs and every Windows machine have, are enough.
  Without redis-server the Redis tests, without nginx the portal's proxy test, are skipped (failed
  under CI).

`test` runs pytest in 4 worker processes (pytest-xdist; `-n 0` among ARGS runs it in one), and the
package-user and minimum-versions checks beside pytest and the acceptance tests: their output comes
at the end, before the summary.

The parts of the setup are in scripts/dev_setup/. scripts/demo, scripts/test and scripts/setup are
bash shorthands for the same commands.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dev_setup.console import SetupError, run, say, took
from dev_setup.system_packages import ensure_browser, ensure_servers
from dev_setup.virtual_env import VenvLayout, ensure_venv, install_project, needs_install, venv_layout

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
MIN_PYTHON = (3, 10)
USAGE = __doc__.split("\n\n")[1]
# pytest's workers (pytest-xdist). Most tests wait on servers, processes and browsers rather than
# compute: on 2 cores, 4 workers took the suite from 13.5 to 4-5.5 minutes; 6 saved a few seconds
# more but failed tests with sub-second timing windows. A `-n` among the arguments of `dev.py test`
# comes after ours and wins (`-n 0`: no workers).
PYTEST_WORKERS = 4
FORMATTED = ("src", "utest", "atest", "benchmarks", "examples", "scripts")  # the Python of the project
PACKAGE_USER = "package user (the wheel in a fresh venv)"
MINIMUM_VERSIONS = "minimum versions (every dependency at its declared floor)"
# Checks that run beside the others, from pytest's start on: each builds a virtual environment of its
# own and mostly waits on pip, servers and browsers. Their output is kept, and shown once they are done.
BESIDE = (PACKAGE_USER, MINIMUM_VERSIONS)


def setup() -> VenvLayout:
    """Prepares this machine; safe to run again, and quick when everything is there."""
    start = time.monotonic()
    layout = venv_layout(VENV)
    ensure_venv(layout)
    done = ".venv up to date"
    if needs_install(layout):
        install_project(layout)
        done = ".venv installed"
    done = f"{done}, {ensure_browser(layout)}, {ensure_servers()}"
    say(f"ready ({done}; {took(start)})")
    return layout


def demo(layout: VenvLayout, args: list[str]) -> int:
    return run([layout.python, ROOT / "examples" / "demo.py", *args], "the demo", cwd=ROOT)


def check_steps(layout: VenvLayout, pytest_args: list[str]) -> list[tuple[str, list[str | Path]]]:
    """The checks: lint, types (this system's, Windows' and macOS' view), pytest, the acceptance
    suites, the docs, the wheel as a user installs it, and every dependency at its floor."""
    python = layout.python
    steps: list[tuple[str, list[str | Path]]] = [
        ("ruff", [layout.executable("ruff"), "check", "."]),
        ("ruff format (one style for every package)", [layout.executable("ruff"), "format", "--check", *FORMATTED]),
        ("mypy", [python, "-m", "mypy"]),
    ]
    for platform, system in (("win32", "Windows"), ("darwin", "macOS")):
        cache = f".mypy_cache/{platform}"
        mypy: list[str | Path] = [python, "-m", "mypy", "--platform", platform, "--cache-dir", cache]
        steps.append((f"mypy --platform {platform} ({system})", mypy))
    # A test that must not run beside another (a shared port or file) can be marked xdist_group: loadgroup
    # runs each group on one worker. None needs it today.
    workers = ["-n", str(PYTEST_WORKERS), "--dist", "loadgroup"]
    steps.append(("pytest", [python, "-m", "pytest", *workers, *pytest_args]))
    atest = ROOT / "atest"
    if any(atest.glob("*.robot")) or any(atest.glob("*/*.robot")):
        steps.append(("acceptance tests (Robot Framework, headless Chromium)", [python, "atest/run.py"]))
    if (ROOT / "docs" / "HealthcodeLibrary.html").is_file():
        docs: list[str | Path] = [python, "-m", "HealthcodeLibrary.docs", "--check"]
        steps.append(("keyword documentation is up to date", docs))
    steps.append((PACKAGE_USER, [python, "-m", "pytest", "-s", "utest/package"]))
    steps.append((MINIMUM_VERSIONS, [python, "scripts/minimum_versions.py"]))
    return steps


@dataclass
class Outcome:
    """How a check ended: its exit code, how long it took, and the output kept of one run beside the others."""

    code: int
    duration: str
    output: str = ""


class ChecksBeside(threading.Thread):
    """Runs checks one after another beside the main ones, each one's output kept in a temporary file."""

    def __init__(self, steps: list[tuple[str, list[str | Path]]]) -> None:
        super().__init__(name="checks beside the others", daemon=True)  # Ctrl+C does not wait for them
        self.steps = steps
        self.outcomes: dict[str, Outcome] = {}

    def begin(self) -> None:
        """Starts the checks, once; saying so."""
        if self.ident is not None or not self.steps:
            return
        names = " and ".join(name.split(" (")[0] for name, _ in self.steps)
        print(f"\n== {names}: started, beside the checks that follow; their output comes after them", flush=True)
        self.start()

    def run(self) -> None:
        for name, command in self.steps:
            start = time.monotonic()
            with tempfile.TemporaryFile() as output:
                try:
                    code = run(command, name, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
                except SetupError as error:
                    code = 1
                    output.write(f"[setup] FAILED: {error}\n".encode())
                output.seek(0)
                text = output.read().decode("utf-8", errors="replace")
            self.outcomes[name] = Outcome(code, took(start), text)


def run_checks(layout: VenvLayout, pytest_args: list[str]) -> int:
    """Runs every check, even after one fails, and ends with what passed and what did not."""
    steps = check_steps(layout, pytest_args)
    beside = ChecksBeside([(name, command) for name, command in steps if name in BESIDE])
    outcomes: dict[str, Outcome] = {}
    for name, command in steps:
        if name in BESIDE:
            continue
        if name == "pytest":
            beside.begin()
        print(f"\n== {name}", flush=True)
        start = time.monotonic()
        code = run(command, name, cwd=ROOT)
        outcomes[name] = Outcome(code, took(start))
    beside.begin()  # when there was no pytest to start them with
    if beside.ident is not None:
        beside.join()
    for name, outcome in beside.outcomes.items():
        print(f"\n== {name} (ran beside the others)", flush=True)
        sys.stdout.write(outcome.output)
    outcomes.update(beside.outcomes)
    unfinished = Outcome(1, "did not finish: see the error above")  # a bug in ChecksBeside, say
    return summary([(name, outcomes.get(name, unfinished)) for name, _ in steps])


def summary(outcomes: list[tuple[str, Outcome]]) -> int:
    """Prints what passed and what did not; 1 when a check failed."""
    print("\n== summary", flush=True)
    for name, outcome in outcomes:
        if outcome.code == 0:
            print(f"   ok      {name} ({outcome.duration})")
        else:
            print(f"   FAILED  {name} ({outcome.duration}, exit {outcome.code})")
    failed = [name for name, outcome in outcomes if outcome.code != 0]
    if failed:
        print(f"{len(failed)} of {len(outcomes)} checks failed: {', '.join(failed)}.", flush=True)
        return 1
    print(f"All {len(outcomes)} checks passed.", flush=True)
    return 0


def main(argv: list[str]) -> int:
    for stream in (sys.stdout, sys.stderr):  # a Windows console may not encode every character printed
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    if command not in ("setup", "demo", "test"):
        unknown = f"\n\nUnknown command {command!r}: use demo, test or setup." if command else ""
        print(f"{USAGE}{unknown}", file=sys.stderr)
        return 2
    if sys.version_info < MIN_PYTHON:
        say(
            f"Python 3.10 or newer is needed; this is {sys.version.split()[0]} ({sys.executable}). "
            "Install a newer one (python.org, or your package manager) and run this command with it."
        )
        return 2
    try:
        layout = setup()
    except SetupError as error:
        say(f"FAILED: {error}")
        return 1
    if command == "demo":
        return demo(layout, args)
    if command == "test":
        return run_checks(layout, args)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    except SetupError as error:
        say(f"FAILED: {error}")
        sys.exit(1)
    except Exception as error:  # the one place that turns a bug in these scripts into a short message
        if os.environ.get("DEV_TRACEBACK"):
            raise
        print(
            f"[dev] unexpected error in scripts/dev.py: {type(error).__name__}: {error}. "
            "Run again with DEV_TRACEBACK=1 for the traceback, and report it.",
            file=sys.stderr,
        )
        sys.exit(1)
