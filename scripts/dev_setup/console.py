"""What the person running scripts/dev.py sees: progress lines, durations, and commands whose output
goes straight to the console. A step that fails raises SetupError with what failed and what to do."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class SetupError(Exception):
    """A step failed: the message says what failed and what to do."""


def say(message: str) -> None:
    print(f"[setup] {message}", file=sys.stderr, flush=True)


def minutes(seconds: int) -> str:
    """'5 minutes', or '90 seconds' below two minutes."""
    if seconds >= 120:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"


def took(start: float) -> str:
    """The time since ``start`` (a time.monotonic() reading): '4.2 s', or '3 min 7 s' from a minute on."""
    seconds = time.monotonic() - start
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def run(command: Sequence[str | Path], what: str, **options: Any) -> int:
    """Runs a command with its output on the console; its exit code (never a traceback)."""
    try:
        return subprocess.run([str(part) for part in command], check=False, **options).returncode
    except OSError as error:
        reason = error.strerror or error
        raise SetupError(
            f"{what}: cannot run {command[0]} ({reason}). If it should be in .venv, delete .venv and run again."
        ) from None
