"""Finding a browser for the supervisor's sign-in page on this machine.

Order: on Windows, Microsoft Edge through Playwright's ``msedge`` channel (Edge comes with Windows
and is what supervisors there use); then Playwright's own Chromium (``rfbrowser install`` /
``playwright install``), launched by its path; then an installed Chrome, Edge or Chromium (on
macOS in ``/Applications`` or ``~/Applications``). Locked-down RPA machines often allow only the
company's Edge or Chrome, so the library never requires Playwright's browser download.

Also here, about the browser automation on this machine: whether it can show a browser window
at all (:func:`display_problem`), so that a headed launch without a display fails with advice
instead of Playwright's traceback; and which of Playwright's debug-log namespaces a ``DEBUG``
value turns on, by the rules of the ``debug`` package Playwright logs with
(:func:`playwright_namespaces_on`).

``python -m HealthcodeLibrary.browsers`` prints what it finds and exits 1 when there is nothing.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Flags that keep Chromium from reaching for Google's services on closed networks.
QUIET_CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

# Where the executable is inside Playwright's ``chromium-<revision>`` folder, per OS: the Chrome for
# Testing builds of newer Playwright (1.63: chrome-linux64, chrome-mac-arm64, chrome-win64 ...) and
# the Chromium builds of older ones (chrome-linux, chrome-mac/Chromium.app, chrome-win).
_TESTING_APP = "Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing"
_PLAYWRIGHT_LAYOUTS = {
    "linux": ("chrome-linux64/chrome", "chrome-linux-arm64/chrome", "chrome-linux/chrome"),
    "darwin": (
        f"chrome-mac-arm64/{_TESTING_APP}",
        f"chrome-mac-x64/{_TESTING_APP}",
        "chrome-mac/Chromium.app/Contents/MacOS/Chromium",
    ),
    "win32": ("chrome-win64/chrome.exe", "chrome-win/chrome.exe"),
}

# Installed browsers: commands on Linux' PATH; apps in /Applications or ~/Applications on macOS;
# paths under the folders Playwright's own chrome/msedge channels search on Windows.
_LINUX_COMMANDS = (
    "google-chrome",
    "google-chrome-stable",
    "microsoft-edge",
    "microsoft-edge-stable",
    "chromium",
    "chromium-browser",
)
_MAC_APPS = (
    "Google Chrome.app/Contents/MacOS/Google Chrome",
    "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    "Chromium.app/Contents/MacOS/Chromium",
)
MAC_APPLICATIONS = Path("/Applications")
_WINDOWS_CHROME = "Google/Chrome/Application/chrome.exe"
_WINDOWS_EDGE = "Microsoft/Edge/Application/msedge.exe"


@dataclass(frozen=True)
class BrowserChoice:
    """How to launch a browser: through a Playwright channel (``msedge``) or by an executable's path."""

    description: str
    executable_path: str | None = None
    channel: str | None = None


def chromium_args() -> list[str]:
    """Flags for any Chromium-family browser: quiet networking, and no sandbox when running as root."""
    args = list(QUIET_CHROMIUM_ARGS)
    if sys.platform != "win32" and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium, Chrome and Edge refuse to start as root with their sandbox on
    return args


def _platform() -> str:
    return sys.platform if sys.platform in ("win32", "darwin") else "linux"


def playwright_cache_folder() -> Path:
    """Playwright's per-user browser folder (``playwright install`` without PLAYWRIGHT_BROWSERS_PATH)."""
    platform = _platform()
    if platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "ms-playwright"
    if platform == "darwin":
        return Path.home() / "Library" / "Caches" / "ms-playwright"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ms-playwright"


def _playwright_roots() -> list[Path]:
    """Where Playwright keeps its browsers: PLAYWRIGHT_BROWSERS_PATH, its per-user cache, and the
    folder inside the Browser library's node modules (``PLAYWRIGHT_BROWSERS_PATH=0``, ``rfbrowser``)."""
    roots: list[Path] = []
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH", "").strip()
    if configured and configured != "0":
        roots.append(Path(configured).expanduser())
    return [*roots, playwright_cache_folder(), *_browser_library_folders()]


def _browser_library_folders() -> list[Path]:
    """Playwright's browser folders inside the Browser library's (or BrowserBatteries') node modules."""
    folders = []
    for package, wrapper in (("Browser", "wrapper"), ("BrowserBatteries", "bin/wrapper")):
        try:
            spec = importlib.util.find_spec(package)  # finds the package without importing it
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            folders.append(Path(spec.origin).parent / wrapper / "node_modules" / "playwright-core" / ".local-browsers")
    return folders


def _revision(folder: Path) -> int:
    suffix = folder.name.partition("-")[2]
    return int(suffix) if suffix.isdigit() else -1


def playwright_chromium() -> Path | None:
    """The executable of the newest Chromium Playwright downloaded for this OS, if any."""
    layouts = _PLAYWRIGHT_LAYOUTS[_platform()]
    for root in _playwright_roots():
        try:
            folders = sorted(root.glob("chromium-*"), key=_revision, reverse=True)  # chromium-1200 before -999
        except OSError:
            continue
        for folder in folders:
            for layout in layouts:
                executable = folder / layout
                if executable.is_file():
                    return executable
    return None


def _windows_program_folders() -> list[Path]:
    """The folders Playwright's chrome and msedge channels look in on Windows, in its order."""
    environ = os.environ
    drive = environ.get("HOMEDRIVE")
    folders = [
        environ.get("LOCALAPPDATA"),
        environ.get("PROGRAMFILES"),
        environ.get("PROGRAMFILES(X86)"),
        drive and drive + "\\Program Files",
        drive and drive + "\\Program Files (x86)",
    ]
    return [Path(folder) for folder in folders if folder]


def windows_edge() -> Path | None:
    """Microsoft Edge where Playwright's ``msedge`` channel finds it, on Windows."""
    if _platform() != "win32":
        return None
    for folder in _windows_program_folders():
        if (folder / _WINDOWS_EDGE).is_file():
            return folder / _WINDOWS_EDGE
    return None


def installed_browser() -> str | None:
    """The first Chrome, Edge or Chromium executable found on this machine (on Windows, Chrome:
    :func:`find_browser` has already looked for Edge, which it uses through its channel)."""
    platform = _platform()
    if platform == "linux":
        for name in _LINUX_COMMANDS:
            found = shutil.which(name)
            if found:
                return found
        return None
    if platform == "darwin":
        candidates = [folder / app for app in _MAC_APPS for folder in (MAC_APPLICATIONS, Path.home() / "Applications")]
    else:
        candidates = [folder / _WINDOWS_CHROME for folder in _windows_program_folders()]
    return next((str(path) for path in candidates if path.is_file()), None)


def find_browser() -> BrowserChoice | None:
    """Edge's channel on Windows, else Playwright's own Chromium, else an installed Chrome, Edge or Chromium."""
    edge = windows_edge()
    if edge is not None:
        return BrowserChoice(f"Microsoft Edge through Playwright's msedge channel ({edge})", channel="msedge")
    chromium = playwright_chromium()
    if chromium is not None:
        return BrowserChoice(f"Playwright's Chromium {chromium}", str(chromium))
    executable = installed_browser()
    if executable:
        return BrowserChoice(f"installed browser {executable}", executable)
    return None


NO_DISPLAY = (
    "There is no display here ({why}), so the sign-in page cannot be shown in a browser window. Either: "
    "sign in headless (headless=True in a suite, --headless for 'healthcode-auth login'), which completes only "
    "when the SSO already remembers the supervisor; run the sign-in in a desktop session the supervisor sits "
    "at; or let the supervisor run 'healthcode-auth login' on their own machine, with the token store the "
    "robots use (see docs/fleet.md)."
)
# What Playwright's launch error says when a headed browser finds no X server or Wayland compositor
# (its message is the only sign: the error has no type of its own).
_NO_DISPLAY_MARKERS = ("xvfb-run", "x server", "xserver", "$display", "cannot open display", "wayland")


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why a browser window cannot be shown here, or None. Only Linux and the other Unixes (not
    macOS, not Windows) need ``DISPLAY`` (X11) or ``WAYLAND_DISPLAY`` to show one."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform in ("win32", "darwin", "cygwin") or environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return "neither DISPLAY nor WAYLAND_DISPLAY is set"


def is_no_display_error(message: str) -> bool:
    """True when a browser launch failed because it found no display (Playwright's wording)."""
    lowered = message.lower()
    return any(marker in lowered for marker in _NO_DISPLAY_MARKERS)


# Playwright's debug log: the namespaces of Playwright 1.5x-1.6x (packages/playwright-core/src/utils/
# debugLogger.ts); any other name starting "pw:" counts as one too (a later version may add it).
PLAYWRIGHT_NAMESPACES = (
    "pw:api",
    "pw:protocol",
    "pw:channel",
    "pw:browser",
    "pw:error",
    "pw:server",
    "pw:server:channel",
    "pw:server:metadata",
    "pw:install",
    "pw:download",
    "pw:socks",
    "pw:client-certificates",
    "pw:recorder",
)


_JS_SPACE = re.compile("[\\s\ufeff\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


def debug_patterns(spec: str) -> tuple[list[str], list[str]]:
    """DEBUG as the ``debug`` package reads it (4.x ``enable``): trimmed, runs of whitespace as
    commas, empty parts dropped; ``-name`` skips. Returns (enabled, skipped) patterns."""
    names: list[str] = []
    skips: list[str] = []
    # JavaScript's \s and trim() know more white space than Python's: the BOM among them.
    spaced = _JS_SPACE.sub(",", spec)
    for part in spaced.split(","):
        if part.startswith("-"):
            skips.append(part[1:])
        elif part:
            names.append(part)
    return names, skips


def _matches(name: str, pattern: str) -> bool:
    # debug's matchesTemplate: '*' is any run of characters, anything else itself (case-sensitive).
    return re.fullmatch(".*".join(re.escape(piece) for piece in pattern.split("*")), name, re.DOTALL) is not None


def debug_enabled(spec: str, namespace: str) -> bool:
    """Whether DEBUG=``spec`` turns ``namespace`` on: a skip that matches wins over any name."""
    names, skips = debug_patterns(spec)
    return not any(_matches(namespace, skip) for skip in skips) and any(_matches(namespace, n) for n in names)


def playwright_namespaces_on(spec: str) -> list[str]:
    """The Playwright namespaces DEBUG=``spec`` turns on: the known ones, then for each pattern
    that could name another ``pw:`` namespace, names it matches (a wildcard filled two ways)."""
    names, _ = debug_patterns(spec)
    known = [namespace for namespace in PLAYWRIGHT_NAMESPACES if debug_enabled(spec, namespace)]
    if known:
        return known
    others = []
    for pattern in names:
        head, star, rest = pattern.partition("*")
        for filler in ("", "~"):
            middle, tail = (filler, rest.replace("*", filler)) if star else ("", "")
            if head.startswith("pw:"):
                others.append(head + middle + tail)
            elif star and "pw:".startswith(head):
                others.append("pw:" + middle + tail)
    return sorted({name for name in others if debug_enabled(spec, name)})


HOW_TO_GET_ONE = (
    "No browser found for the supervisor's sign-in page. Install one of: Google Chrome or Microsoft Edge "
    "(then it is found automatically, or pass channel=chrome / channel=msedge); Debian/Ubuntu's Chromium "
    "with 'sudo apt-get install chromium'; or Playwright's browsers with 'rfbrowser init chromium'."
)


def main(argv: list[str] | None = None) -> int:
    quiet = "--quiet" in (argv if argv is not None else sys.argv[1:])
    choice = find_browser()
    if choice is None:
        if not quiet:
            print(HOW_TO_GET_ONE, file=sys.stderr)
        return 1
    if not quiet:
        print(choice.description)
    return 0


if __name__ == "__main__":
    sys.exit(main())
