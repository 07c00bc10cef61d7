#!/usr/bin/env python3
r"""Sets up this project and runs its demo or its checks, on Linux, macOS and Windows alike.

    python3 scripts/dev.py demo          the demo against the local SSO sandbox (Windows: py scripts\dev.py demo)
    python3 scripts/dev.py test [ARGS]   every check; ARGS go to pytest     (Windows: py scripts\dev.py test)
    python3 scripts/dev.py setup         only the setup both of them do first

Standard library only, for any Python 3.10+. The setup makes a virtual environment in .venv with the
project and its development tools (its executables found through sysconfig: bin/ or Scripts\), and
checks for a browser, redis-server and nginx. What differs between systems:

- Debian/Ubuntu as root with apt-get: Debian's chromium, redis-server and nginx are installed when missing,
  waiting (up to 5 minutes) for another apt-get or dpkg that holds the package lock.
- Anywhere else (macOS, Windows, other Linux, no root): nothing is installed system-wide; the setup
  says what to install. Chrome or Edge, which most Macs and every Windows machine have, are enough.
  Without redis-server the Redis tests, without nginx the portal's proxy test, are skipped (failed under CI).
scripts/demo, scripts/test and scripts/setup are bash shorthands for the same commands.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
MIN_PYTHON = (3, 10)
APT_LOCK_TIMEOUT = 300  # seconds we wait for another apt-get or dpkg to finish
APT_LOCKS = {  # what `apt-get update` and `apt-get install` each need (dpkg's frontend lock first)
    "update": (Path("/var/lib/apt/lists/lock"),),
    "install": (Path("/var/lib/dpkg/lock-frontend"), Path("/var/lib/dpkg/lock"), Path("/var/cache/apt/archives/lock")),
}
USAGE = __doc__.split("\n\n")[1]


class SetupError(Exception):
    """A step failed: the message says what failed and what to do."""


def say(message: str) -> None:
    print(f"[setup] {message}", file=sys.stderr, flush=True)


def minutes(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} seconds"


def took(start: float) -> str:
    seconds = time.monotonic() - start
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60)} s"


# --- the virtual environment --------------------------------------------------------------------


@dataclass(frozen=True)
class VenvLayout:
    """Where a virtual environment keeps its executables (bin/ on POSIX, Scripts\\ on Windows)."""

    root: Path
    scripts: Path
    exe_suffix: str

    @property
    def python(self) -> Path:
        return self.executable("python")

    def executable(self, name: str) -> Path:
        return self.scripts / f"{name}{self.exe_suffix}"


def venv_layout(venv: Path, os_name: str | None = None) -> VenvLayout:
    """The layout of the virtual environment at ``venv``, as sysconfig describes it; ``os_name``
    ('posix' or 'nt') asks for another system's layout."""
    if os_name is None or os_name == os.name:
        os_name = os.name
        scheme = "venv" if "venv" in sysconfig.get_scheme_names() else ("nt" if os.name == "nt" else "posix_prefix")
    else:
        scheme = "nt_venv" if os_name == "nt" else "posix_venv"
        if scheme not in sysconfig.get_scheme_names():  # Python 3.10
            scheme = "nt" if os_name == "nt" else "posix_prefix"
    base = str(venv)
    paths = {"base": base, "platbase": base, "installed_base": base, "installed_platbase": base}
    scripts = Path(sysconfig.get_path("scripts", scheme, vars=paths))
    suffix = (sysconfig.get_config_var("EXE") or "") if os_name == os.name else (".exe" if os_name == "nt" else "")
    return VenvLayout(venv, scripts, suffix)


def run(command: Sequence[str | Path], what: str, **options: Any) -> int:
    """Runs a command with its output on the console; its exit code (never a traceback)."""
    try:
        return subprocess.run([str(part) for part in command], check=False, **options).returncode
    except OSError as error:
        raise SetupError(f"{what}: cannot run {command[0]} ({error.strerror or error}). If it should be in .venv, "
                         f"delete .venv and run again.") from None


def ensure_venv(layout: VenvLayout) -> None:
    if layout.python.exists():
        return
    say(f"creating the virtual environment in {layout.root.name} (a few seconds)")
    if importlib.util.find_spec("ensurepip") is None:  # Debian splits it off into python3.X-venv
        if can_apt() and sys.executable.startswith("/usr/bin/"):
            package = f"python3.{sys.version_info.minor}-venv"
            apt_install([package], f"Debian's {package} (Python's venv module needs it; a few seconds)")
        else:
            raise SetupError("this Python cannot create virtual environments (its ensurepip module is missing). On "
                             "Debian/Ubuntu: 'sudo apt-get install python3-venv'; elsewhere install Python from "
                             "python.org. Then run again.")
    if run([sys.executable, "-m", "venv", layout.root], "creating .venv") != 0 or not layout.python.exists():
        raise SetupError(f"'{sys.executable} -m venv .venv' failed (see above). Delete .venv, fix what it says "
                         "(on Debian/Ubuntu often 'sudo apt-get install python3-venv'), and run again.")


def needs_install(layout: VenvLayout, sources: Sequence[Path] = (ROOT / "pyproject.toml", CONSTRAINTS)) -> bool:
    stamp = layout.root / ".installed"  # touched after a successful install; older than a source: install again
    if not stamp.exists():
        return True
    return any(source.stat().st_mtime > stamp.stat().st_mtime for source in sources)


def install_project(layout: VenvLayout) -> None:
    pip: list[str | Path] = [layout.python, "-m", "pip", "install", "--disable-pip-version-check"]
    start = time.monotonic()
    say("1/2 upgrading pip in .venv")
    if run([*pip, "--quiet", "--upgrade", "pip"], "upgrading pip") != 0:
        raise SetupError("upgrading pip in .venv failed (see pip's messages above): usually the network. Check "
                         "that https://pypi.org is reachable (behind a proxy set HTTPS_PROXY), then run again.")
    say("2/2 installing the project and its development tools: about 70 packages, 400 MB with the Browser "
        "library's Node side; one to three minutes on a fresh machine, depending on the network")
    # Pinned versions (requirements/constraints.txt) keep lint, types and the libdoc check reproducible.
    if run([*pip, "--progress-bar", "on", "-c", CONSTRAINTS, "-e", f"{ROOT}[dev]"], "installing the project") != 0:
        raise SetupError("pip could not install the project into .venv (see its messages above). Usual causes: no "
                         "network or a proxy (set HTTPS_PROXY), or a package with no wheel for this Python version "
                         "(try an older Python). Fix that and run again: the install is redone until it succeeds.")
    (layout.root / ".installed").touch()
    say(f"installed in {took(start)}")


# --- system packages: a browser, redis-server and nginx -----------------------------------------


def can_apt() -> bool:
    """Debian/Ubuntu as root: the one case where we install system packages ourselves."""
    geteuid = getattr(os, "geteuid", None)
    return sys.platform.startswith("linux") and geteuid is not None and geteuid() == 0 and bool(shutil.which("apt-get"))


def apt_get_command(args: list[str], lock_timeout: int = APT_LOCK_TIMEOUT) -> list[str]:
    """apt-get waiting up to ``lock_timeout`` seconds for dpkg's lock (apt >= 1.9.11; older ones ignore it)."""
    return ["apt-get", "-o", f"DPkg::Lock::Timeout={lock_timeout}", "-q", *args]


def lock_holder(path: Path, proc_locks: str | None = None) -> str | None:
    """Who holds the fcntl lock on ``path`` ('process 123 (apt-get)'), from /proc/locks; None when free
    (and on systems without /proc/locks, where we never run apt-get)."""
    if sys.platform.startswith("linux"):
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
                try:
                    name = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8", errors="replace").strip()
                except OSError:
                    return f"process {pid}"
                return f"process {pid} ({name})"
    return None


def wait_for_locks(locks: tuple[Path, ...], deadline: float, clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep) -> None:
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
            raise SetupError(f"{holder} still holds {lock} after {minutes(APT_LOCK_TIMEOUT)}: another package "
                             "manager (apt-get, dpkg, unattended-upgrades) is busy. Wait for it to finish (or stop "
                             "it), then run again.")
        if not announced:
            say(f"{holder} holds {lock}: waiting for it to finish, up to {minutes(APT_LOCK_TIMEOUT)}")
            announced = True
        sleep(2)


def apt_get(args: list[str], deadline: float) -> None:
    locks = APT_LOCKS["update" if args[0] == "update" else "install"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    while True:
        # apt-get install waits for dpkg's lock itself; apt-get update does not wait for its lists lock
        # (apt 2.6 fails at once), so we wait for both first and retry when we lose a race.
        wait_for_locks(locks, deadline)
        remaining = max(1, int(deadline - time.monotonic()))
        code = run(apt_get_command(args, remaining), "apt-get", env=env)
        if code == 0:
            return
        if code == 100 and time.monotonic() < deadline and any(lock_holder(lock) for lock in locks):
            continue
        if args[0] == "update":
            raise SetupError(f"'apt-get update' failed (exit {code}); its messages are above. Usually the network "
                             "or a broken entry in /etc/apt/sources.list: fix what they say, then run again.")
        raise SetupError(f"'apt-get {' '.join(args)}' failed (exit {code}); its messages are above. Fix what they "
                         "say (the network; a half-installed package: 'apt-get -f install'), or install "
                         f"{' '.join(args[2:])} yourself. Then run again.")


_apt_updated = False


def apt_install(packages: list[str], what: str) -> None:
    global _apt_updated
    start = time.monotonic()
    deadline = start + APT_LOCK_TIMEOUT
    if not _apt_updated:
        say("apt-get update: fetching Debian's package lists (10 to 30 seconds)")
        apt_get(["update"], deadline)
        _apt_updated = True
    say(f"installing {what} with apt-get")
    apt_get(["install", "-y", *packages], deadline)
    say(f"installed {' '.join(packages)} in {took(start)}")


def missing_browser_message(platform: str, has_apt: bool, layout: VenvLayout) -> str:
    rfbrowser = layout.executable("rfbrowser")
    playwright = f"or Playwright's Chromium with '{rfbrowser} install chromium'"
    if platform == "win32":
        how = f"Install Google Chrome, or Microsoft Edge (part of Windows 10 and 11), {playwright}"
    elif platform == "darwin":
        how = f"Install Google Chrome or Microsoft Edge (or 'brew install --cask google-chrome'), {playwright}"
    elif has_apt:
        how = f"Install Chromium with 'sudo apt-get install chromium' (as root this setup does it), {playwright}"
    else:
        how = f"Install Chromium, Chrome or Edge with your package manager ('sudo dnf install chromium'), {playwright}"
    return f"no Chrome, Edge or Chromium found for the supervisor's sign-in page. {how}; then run again."


def missing_redis_message(platform: str, has_apt: bool) -> str:
    skipped = "no redis-server found: the Redis tests will be skipped (under CI they fail). "
    if platform in ("win32", "darwin"):
        return skipped + ("Redis has no Windows build of its own: run the tests under WSL to include them."
                          if platform == "win32" else "Install it with 'brew install redis', then run again.")
    if has_apt:
        return skipped + "Install it: 'sudo apt-get install redis-server' (as root this setup does it), then run again."
    return skipped + "Install Redis with your package manager (e.g. 'sudo dnf install redis'), then run again."


def find_browser(layout: VenvLayout) -> bool:
    return run([layout.python, "-m", "HealthcodeLibrary.browsers", "--quiet"], "looking for a browser",
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def ensure_browser(layout: VenvLayout) -> str:
    """A browser for the supervisor's sign-in page: Playwright's, Chrome, Edge or Chromium all work."""
    if find_browser(layout):
        return "browser found"
    if can_apt():
        apt_install(["chromium"], "Debian's Chromium (no browser found; about 100 MB, a minute or two)")
        if find_browser(layout):
            return "Chromium installed"
        say("Chromium was installed but is still not found: check that 'chromium --version' works.")
    else:
        say(missing_browser_message(sys.platform, bool(shutil.which("apt-get")), layout))
    return "no browser"


def ensure_servers() -> str:
    """redis-server for the Redis tests, nginx for the portal's proxy test (each test starts its own on a free port)."""
    missing = [n for n in ("redis-server", "nginx") if not (shutil.which(n) or Path("/usr/sbin", n).is_file())]
    if missing and can_apt():
        apt_install(missing, f"Debian's {' and '.join(missing)} (not found; a few MB, under a minute)")
        return f"{' and '.join(missing)} installed"
    for name in missing:
        say(missing_redis_message(sys.platform, bool(shutil.which("apt-get"))) if name == "redis-server" else
            "no nginx found: the portal's proxy test will be skipped (under CI it fails): install it, then run again.")
    return f"no {' or '.join(missing)}" if missing else "redis-server and nginx found"


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


# --- the two commands ----------------------------------------------------------------------------


def demo(layout: VenvLayout, args: list[str]) -> int:
    return run([layout.python, ROOT / "examples" / "demo.py", *args], "the demo", cwd=ROOT)


def check_steps(layout: VenvLayout, pytest_args: list[str]) -> list[tuple[str, list[str | Path]]]:
    """The checks: lint, types (this, Windows' and macOS'), pytest, acceptance, docs, the wheel, the floors."""
    python = layout.python
    steps: list[tuple[str, list[str | Path]]] = [
        ("ruff", [layout.executable("ruff"), "check", "."]),
        ("mypy", [python, "-m", "mypy"]),
    ]
    for platform, system in (("win32", "Windows"), ("darwin", "macOS")):
        steps.append((f"mypy --platform {platform} ({system})",
                      [python, "-m", "mypy", "--platform", platform, "--cache-dir", f".mypy_cache/{platform}"]))
    steps.append(("pytest", [python, "-m", "pytest", *pytest_args]))
    if any((ROOT / "atest").glob("*.robot")) or any((ROOT / "atest").glob("*/*.robot")):
        steps.append(("acceptance tests (Robot Framework, headless Chromium)", [python, "atest/run.py"]))
    if (ROOT / "docs" / "HealthcodeLibrary.html").is_file():
        steps.append(("keyword documentation is up to date", [python, "-m", "HealthcodeLibrary.docs", "--check"]))
    return [*steps, ("package user (the wheel in a fresh venv)", [python, "-m", "pytest", "-s", "utest/package"]),
            ("minimum versions (every dependency at its declared floor)", [python, "scripts/minimum_versions.py"])]


def run_checks(layout: VenvLayout, pytest_args: list[str]) -> int:
    """Runs every check, even after one fails, and ends with what passed and what did not."""
    results = []
    for name, command in check_steps(layout, pytest_args):
        print(f"\n== {name}", flush=True)
        start = time.monotonic()
        code = run(command, name, cwd=ROOT)
        results.append((name, code, took(start)))
    print("\n== summary", flush=True)
    for name, code, duration in results:
        print(f"   {'ok    ' if code == 0 else 'FAILED'}  {name} ({duration}{'' if code == 0 else f', exit {code}'})")
    failed = [name for name, code, _ in results if code != 0]
    print(f"{len(failed)} of {len(results)} checks failed: {', '.join(failed)}." if failed
          else f"All {len(results)} checks passed.", flush=True)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    for stream in (sys.stdout, sys.stderr):  # a Windows console may not encode every character printed
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    if command not in ("setup", "demo", "test"):
        print(f"{USAGE}\n\nUnknown command {command!r}: use demo, test or setup." if command else USAGE,
              file=sys.stderr)
        return 2
    if sys.version_info < MIN_PYTHON:
        say(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]} ({sys.executable}). Install a newer "
            "one (python.org, or your package manager) and run this command with it.")
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
    except Exception as error:  # the one place that turns a bug in this script into a short message
        if os.environ.get("DEV_TRACEBACK"):
            raise
        print(f"[dev] unexpected error in scripts/dev.py: {type(error).__name__}: {error}. Run again with "
              "DEV_TRACEBACK=1 for the traceback, and report it.", file=sys.stderr)
        sys.exit(1)
