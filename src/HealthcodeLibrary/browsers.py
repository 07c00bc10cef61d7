"""Finding a browser for the supervisor's sign-in page on this machine.

Order: Playwright's own Chromium (installed by ``rfbrowser init``), then an installed Chrome,
Edge or Chromium. Locked-down RPA machines often allow only the company's Edge or Chrome, so the
library never requires Playwright's browser download.

``python -m HealthcodeLibrary.browsers`` prints what it finds and exits 1 when there is nothing.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

# Flags that keep Chromium from reaching for Google's services on closed networks.
QUIET_CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

_EXECUTABLES = {
    "linux": ("google-chrome", "google-chrome-stable", "microsoft-edge", "microsoft-edge-stable",
              "chromium", "chromium-browser"),
    "darwin": ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
               "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
               "/Applications/Chromium.app/Contents/MacOS/Chromium"),
    "win32": (r"%ProgramFiles%\Google\Chrome\Application\chrome.exe",
              r"%ProgramFiles(x86)%\Google\Chrome\Application\chrome.exe",
              r"%LocalAppData%\Google\Chrome\Application\chrome.exe",
              r"%ProgramFiles(x86)%\Microsoft\Edge\Application\msedge.exe",
              r"%ProgramFiles%\Microsoft\Edge\Application\msedge.exe"),
}


@dataclass(frozen=True)
class BrowserChoice:
    """How to launch a browser: Playwright's bundled one (no path) or an executable."""

    description: str
    executable_path: str | None = None

    def launch_args(self) -> list[str]:
        return chromium_args()


def chromium_args() -> list[str]:
    """Flags for any Chromium-family browser: quiet networking, and no sandbox when running as root."""
    args = list(QUIET_CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium, Chrome and Edge refuse to start as root with their sandbox on
    return args


def playwright_chromium() -> Path | None:
    """The Chromium that ``rfbrowser init`` / ``playwright install`` downloaded, if any."""
    roots = [os.environ.get("PLAYWRIGHT_BROWSERS_PATH", "")]
    if sys.platform == "win32":
        roots.append(os.path.expandvars(r"%LocalAppData%\ms-playwright"))
    elif sys.platform == "darwin":
        roots.append(str(Path.home() / "Library/Caches/ms-playwright"))
    else:
        roots.append(str(Path.home() / ".cache/ms-playwright"))
    try:
        import Browser

        roots.append(str(Path(Browser.__file__).parent / "wrapper/node_modules/playwright-core/.local-browsers"))
    except ImportError:
        pass
    for root in filter(None, roots):
        for candidate in sorted(Path(root).glob("chromium-*"), reverse=True):
            if any(candidate.glob("chrome-*/chrome*")):
                return candidate
    return None


def installed_browser() -> str | None:
    """The first Chrome, Edge or Chromium executable found on this machine."""
    for name in _EXECUTABLES.get(sys.platform, _EXECUTABLES["linux"]):
        expanded = os.path.expandvars(name)
        found = shutil.which(expanded) if os.sep not in expanded else (
            expanded if Path(expanded).is_file() else None)
        if found:
            return found
    return None


def find_browser() -> BrowserChoice | None:
    """Playwright's own Chromium if installed, else an installed Chrome, Edge or Chromium."""
    if playwright_chromium() is not None:
        return BrowserChoice("Playwright's Chromium")
    executable = installed_browser()
    if executable:
        return BrowserChoice(f"installed browser {executable}", executable)
    return None


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
