"""Debian's packages through apt-get, used only on Debian/Ubuntu as root.

apt-get install waits for dpkg's lock itself, but apt-get update does not wait for its lists lock
(apt 2.6 fails at once), so we wait for every lock a command needs first (saying who holds it),
and try again when we lose a race for it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .console import SetupError, minutes, run, say, took

LOCK_TIMEOUT = 300  # seconds we wait for another apt-get or dpkg to finish
LOCKS = {  # what `apt-get update` and `apt-get install` each need (dpkg's frontend lock first)
    "update": (Path("/var/lib/apt/lists/lock"),),
    "install": (
        Path("/var/lib/dpkg/lock-frontend"),
        Path("/var/lib/dpkg/lock"),
        Path("/var/cache/apt/archives/lock"),
    ),
}
FAILED = 100  # apt-get's exit code for any error, a lock it could not get among them

_apt_updated = False  # apt-get update runs once per setup


def can_apt() -> bool:
    """Debian/Ubuntu as root: the one case where we install system packages ourselves."""
    if not sys.platform.startswith("linux"):
        return False
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0 and shutil.which("apt-get") is not None


def apt_get_command(args: list[str], lock_timeout: int = LOCK_TIMEOUT) -> list[str]:
    """apt-get waiting up to ``lock_timeout`` seconds for dpkg's lock (apt >= 1.9.11; older ones ignore it)."""
    return ["apt-get", "-o", f"DPkg::Lock::Timeout={lock_timeout}", "-q", *args]


def lock_holder(path: Path, proc_locks: str | None = None) -> str | None:
    """Who holds the fcntl lock on ``path``, from /proc/locks: 'process 123 (apt-get)'.

    None when the lock is free, and on systems without /proc/locks (where we never run apt-get).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        status = os.stat(path)
        text = Path("/proc/locks").read_text(encoding="ascii") if proc_locks is None else proc_locks
    except OSError:
        return None
    file_id = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    for line in text.splitlines():
        fields = line.split()  # "1: POSIX  ADVISORY  WRITE 4242 fe:00:402117 0 EOF"; waiters have "->"
        if file_id in fields and "->" not in fields:
            pid = fields[fields.index(file_id) - 1]
            return f"process {pid}{process_name(pid)}"
    return None


def process_name(pid: str) -> str:
    """' (apt-get)', the name of process ``pid`` to follow its number; '' when it cannot be read."""
    try:
        name = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    return f" ({name})"


def wait_for_locks(
    locks: tuple[Path, ...],
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Waits until nobody holds ``locks``, saying so once; SetupError at ``deadline``."""
    announced = False
    while True:
        held = [(lock, lock_holder(lock)) for lock in locks]
        holders = [(lock, holder) for lock, holder in held if holder]
        if not holders:
            if announced:
                say("the package lock is free: going on")
            return
        lock, holder = holders[0]
        if clock() >= deadline:
            raise SetupError(
                f"{holder} still holds {lock} after {minutes(LOCK_TIMEOUT)}: another package manager "
                "(apt-get, dpkg, unattended-upgrades) is busy. Wait for it to finish (or stop it), then run again."
            )
        if not announced:
            say(f"{holder} holds {lock}: waiting for it to finish, up to {minutes(LOCK_TIMEOUT)}")
            announced = True
        sleep(2)


def apt_get(args: list[str], deadline: float) -> None:
    """Runs apt-get with ``args`` once its locks are free, until ``deadline``; SetupError when it fails."""
    locks = LOCKS["update" if args[0] == "update" else "install"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    while True:
        wait_for_locks(locks, deadline)
        remaining = max(1, int(deadline - time.monotonic()))
        code = run(apt_get_command(args, remaining), "apt-get", env=env)
        if code == 0:
            return
        lost_a_race = code == FAILED and any(lock_holder(lock) for lock in locks)
        if not (lost_a_race and time.monotonic() < deadline):
            break
    if args[0] == "update":
        raise SetupError(
            f"'apt-get update' failed (exit {code}); its messages are above. Usually the network or a broken "
            "entry in /etc/apt/sources.list: fix what they say, then run again."
        )
    raise SetupError(
        f"'apt-get {' '.join(args)}' failed (exit {code}); its messages are above. Fix what they say "
        "(the network; a half-installed package: 'apt-get -f install'), "
        f"or install {' '.join(args[2:])} yourself. Then run again."
    )


def apt_install(packages: list[str], what: str) -> None:
    """Installs Debian's ``packages`` (``what`` says what they are), fetching the package lists first."""
    global _apt_updated
    start = time.monotonic()
    deadline = start + LOCK_TIMEOUT
    if not _apt_updated:
        say("apt-get update: fetching Debian's package lists (10 to 30 seconds)")
        apt_get(["update"], deadline)
        _apt_updated = True
    say(f"installing {what} with apt-get")
    apt_get(["install", "-y", *packages], deadline)
    say(f"installed {' '.join(packages)} in {took(start)}")
