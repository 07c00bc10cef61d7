"""What the tests need from the system: a browser for the supervisor's sign-in page, redis-server
for the Redis tests and nginx for the portal's proxy test (each test starts its own on a free port).

On Debian/Ubuntu as root what is missing is installed with apt-get; anywhere else the setup says
what to install, and installs nothing system-wide.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .apt import apt_install, can_apt
from .console import run, say
from .virtual_env import VenvLayout


def missing_browser_message(platform: str, has_apt: bool, layout: VenvLayout) -> str:
    """What to install when no browser is found, on ``platform`` (a sys.platform value)."""
    playwright = f"or Playwright's Chromium with '{layout.executable('rfbrowser')} install chromium'"
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
    """What to do without redis-server, on ``platform`` (a sys.platform value)."""
    skipped = "no redis-server found: the Redis tests will be skipped (under CI they fail). "
    if platform == "win32":
        return skipped + "Redis has no Windows build of its own: run the tests under WSL to include them."
    if platform == "darwin":
        return skipped + "Install it with 'brew install redis', then run again."
    if has_apt:
        return skipped + "Install it: 'sudo apt-get install redis-server' (as root this setup does it), then run again."
    return skipped + "Install Redis with your package manager (e.g. 'sudo dnf install redis'), then run again."


MISSING_NGINX = (
    "no nginx found: the portal's proxy test will be skipped (under CI it fails): install it, then run again."
)


def find_browser(layout: VenvLayout) -> bool:
    """Whether the library finds a browser (Playwright's, Chrome, Edge or Chromium all work)."""
    command: list[str | Path] = [layout.python, "-m", "HealthcodeLibrary.browsers", "--quiet"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    return run(command, "looking for a browser", **quiet) == 0


def ensure_browser(layout: VenvLayout) -> str:
    """A browser for the supervisor's sign-in page: found, installed, or what to install said."""
    if find_browser(layout):
        return "browser found"
    if not can_apt():
        say(missing_browser_message(sys.platform, has_apt_get(), layout))
        return "no browser"
    apt_install(["chromium"], "Debian's Chromium (no browser found; about 100 MB, a minute or two)")
    if find_browser(layout):
        return "Chromium installed"
    say("Chromium was installed but is still not found: check that 'chromium --version' works.")
    return "no browser"


def ensure_servers() -> str:
    """redis-server and nginx: found, installed, or what to install said."""
    missing = [name for name in ("redis-server", "nginx") if not is_installed(name)]
    if not missing:
        return "redis-server and nginx found"
    if can_apt():
        apt_install(missing, f"Debian's {' and '.join(missing)} (not found; a few MB, under a minute)")
        return f"{' and '.join(missing)} installed"
    if "redis-server" in missing:
        say(missing_redis_message(sys.platform, has_apt_get()))
    if "nginx" in missing:
        say(MISSING_NGINX)
    return f"no {' or '.join(missing)}"


def is_installed(server: str) -> bool:
    """Whether ``server`` is on the PATH, or in /usr/sbin (not on every user's PATH)."""
    return shutil.which(server) is not None or Path("/usr/sbin", server).is_file()


def has_apt_get() -> bool:
    return shutil.which("apt-get") is not None
