"""Browser discovery on every OS, against folders shaped like Playwright's caches, macOS' Applications
folders and Windows' program folders (sys.platform is set to the OS under test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from HealthcodeLibrary import browsers
from HealthcodeLibrary.argument_types import BrowserOptions
from HealthcodeLibrary.browsers import HOW_TO_GET_ONE, BrowserChoice, find_browser
from HealthcodeLibrary.sign_in_page import SignInPage

TESTING_APP = "Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing"
WINDOWS_VARIABLES = ("LOCALAPPDATA", "PROGRAMFILES", "PROGRAMFILES(X86)", "HOMEDRIVE")


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    path.chmod(0o755)
    return path


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A machine with no browser: empty home, Applications and program folders, no PATH."""
    home = tmp_path / "machine-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("PLAYWRIGHT_BROWSERS_PATH", raising=False)
    for name in WINDOWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-browsers-here"))
    monkeypatch.setattr(browsers, "MAC_APPLICATIONS", tmp_path / "Applications")
    monkeypatch.setattr(browsers, "_browser_library_folders", lambda: [tmp_path / "Browser-local-browsers"])
    return tmp_path


@pytest.fixture
def macos(machine, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    return machine


@pytest.fixture
def windows(machine, monkeypatch):
    """Windows' program folders: LOCALAPPDATA, ProgramFiles and ProgramFiles(x86), all empty."""
    folders = {name: machine / name.replace("(", "-").replace(")", "") for name in WINDOWS_VARIABLES[:3]}
    for name, folder in folders.items():
        folder.mkdir()
        monkeypatch.setenv(name, str(folder))
    monkeypatch.setattr(sys, "platform", "win32")
    return folders


def mac_cache(machine: Path) -> Path:
    return machine / "machine-home" / "Library" / "Caches" / "ms-playwright"


# --- macOS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    [
        "chrome-mac/Chromium.app/Contents/MacOS/Chromium",  # Playwright's Chromium builds
        f"chrome-mac-arm64/{TESTING_APP}",  # Chrome for Testing builds (Playwright 1.63), Apple silicon
        f"chrome-mac-x64/{TESTING_APP}",  # and Intel
    ],
    ids=["chromium-app", "testing-arm64", "testing-x64"],
)
def test_playwrights_chromium_app_is_found_on_macos(macos, layout):
    app = executable(mac_cache(macos) / "chromium-1200" / layout)
    assert find_browser() == BrowserChoice(f"Playwright's Chromium {app}", str(app))


def test_playwrights_chromium_in_the_browser_librarys_node_modules_is_found(macos):
    app = executable(macos / "Browser-local-browsers" / "chromium-1200" / "chrome-mac-arm64" / TESTING_APP)
    assert find_browser().executable_path == str(app)


def test_the_newest_playwright_chromium_wins_by_revision_not_by_name(macos):
    old = executable(mac_cache(macos) / "chromium-999" / "chrome-mac/Chromium.app/Contents/MacOS/Chromium")
    new = executable(mac_cache(macos) / "chromium-1200" / "chrome-mac-arm64" / TESTING_APP)
    assert old.is_file() and max("chromium-999", "chromium-1200") == "chromium-999"  # what a name sort picks
    assert find_browser().executable_path == str(new)


def test_an_incomplete_playwright_download_is_not_a_browser(macos):
    (mac_cache(macos) / "chromium-1200" / "chrome-mac-arm64").mkdir(parents=True)  # no app inside
    (mac_cache(macos) / "chromium_headless_shell-1200" / "chrome-mac").mkdir(parents=True)
    assert find_browser() is None


def test_chrome_in_the_users_applications_folder_is_found(macos):
    chrome = executable(macos / "machine-home" / "Applications" / "Google Chrome.app/Contents/MacOS/Google Chrome")
    assert find_browser() == BrowserChoice(f"installed browser {chrome}", str(chrome))


@pytest.mark.parametrize(
    "app",
    ["Microsoft Edge.app/Contents/MacOS/Microsoft Edge", "Chromium.app/Contents/MacOS/Chromium"],
    ids=["edge", "chromium"],
)
def test_edge_or_chromium_in_the_users_applications_folder_is_found(macos, app):
    found = executable(macos / "machine-home" / "Applications" / app)
    assert find_browser().executable_path == str(found)


def test_applications_comes_before_the_users_applications_and_chrome_before_edge(macos):
    executable(macos / "machine-home" / "Applications" / "Google Chrome.app/Contents/MacOS/Google Chrome")
    system = executable(macos / "Applications" / "Google Chrome.app/Contents/MacOS/Google Chrome")
    executable(macos / "Applications" / "Microsoft Edge.app/Contents/MacOS/Microsoft Edge")
    assert find_browser().executable_path == str(system)


def test_playwrights_chromium_comes_before_an_installed_browser_on_macos(macos):
    executable(macos / "Applications" / "Google Chrome.app/Contents/MacOS/Google Chrome")
    app = executable(mac_cache(macos) / "chromium-1200" / "chrome-mac/Chromium.app/Contents/MacOS/Chromium")
    assert find_browser().executable_path == str(app)


def test_macos_never_uses_a_channel(macos, monkeypatch):
    monkeypatch.setenv("PROGRAMFILES", str(macos / "pf"))
    executable(macos / "pf" / "Microsoft/Edge/Application/msedge.exe")
    assert find_browser() is None


# --- Windows --------------------------------------------------------------------------------------


def windows_edge(folder: Path) -> Path:
    return executable(folder / "Microsoft" / "Edge" / "Application" / "msedge.exe")


@pytest.mark.parametrize("where", ["PROGRAMFILES(X86)", "PROGRAMFILES", "LOCALAPPDATA"])
def test_windows_prefers_edge_through_playwrights_channel(windows, where):
    edge = windows_edge(windows[where])
    executable(windows["PROGRAMFILES"] / "Google/Chrome/Application/chrome.exe")
    executable(windows["LOCALAPPDATA"] / "ms-playwright" / "chromium-1200" / "chrome-win64" / "chrome.exe")
    choice = find_browser()
    assert choice == BrowserChoice(f"Microsoft Edge through Playwright's msedge channel ({edge})", channel="msedge")
    assert choice.executable_path is None


def test_edge_under_the_home_drive_is_found_as_playwright_finds_it(windows, monkeypatch):
    drive = windows["PROGRAMFILES"].parent / "C-drive"
    monkeypatch.setenv("HOMEDRIVE", str(drive))
    monkeypatch.delenv("PROGRAMFILES")
    monkeypatch.delenv("PROGRAMFILES(X86)")
    executable(Path(str(drive) + "\\Program Files") / "Microsoft" / "Edge" / "Application" / "msedge.exe")
    assert find_browser().channel == "msedge"


@pytest.mark.parametrize("layout", ["chrome-win64/chrome.exe", "chrome-win/chrome.exe"], ids=["testing", "chromium"])
def test_without_edge_windows_uses_playwrights_chromium_by_its_path(windows, layout):
    chrome = executable(windows["PROGRAMFILES"] / "Google/Chrome/Application/chrome.exe")
    chromium = executable(windows["LOCALAPPDATA"] / "ms-playwright" / "chromium-1200" / layout)
    assert find_browser() == BrowserChoice(f"Playwright's Chromium {chromium}", str(chromium))
    chromium.unlink()
    assert find_browser() == BrowserChoice(f"installed browser {chrome}", str(chrome))


def test_nothing_on_windows_is_no_browser(windows):
    assert find_browser() is None


# --- Linux ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["chrome-linux64/chrome", "chrome-linux-arm64/chrome", "chrome-linux/chrome"])
def test_playwrights_chromium_layouts_on_linux(machine, monkeypatch, layout):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(machine / "xdg-cache"))
    chrome = executable(machine / "xdg-cache" / "ms-playwright" / "chromium-1200" / layout)
    assert find_browser().executable_path == str(chrome)


def test_playwright_browsers_path_is_searched_first(machine, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(machine / "shared"))
    executable(machine / "machine-home" / ".cache" / "ms-playwright" / "chromium-1300" / "chrome-linux64/chrome")
    shared = executable(machine / "shared" / "chromium-1200" / "chrome-linux64" / "chrome")
    assert find_browser().executable_path == str(shared)


# --- the sign-in page launches what was found; the command line -------------------------------------


class RecordingBrowser:
    def __init__(self):
        self.launches = []

    def new_browser(self, browser, **kwargs):
        self.launches.append(kwargs)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (BrowserChoice("Edge", channel="msedge"), {"channel": "msedge"}),
        (
            BrowserChoice("Chrome", "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"),
            {"executablePath": "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"},
        ),
    ],
    ids=["channel", "executable"],
)
def test_the_sign_in_page_launches_the_choice_by_channel_or_path(monkeypatch, with_display, choice, expected):
    monkeypatch.setattr("HealthcodeLibrary.sign_in_page.find_browser", lambda: choice)
    browser = RecordingBrowser()
    SignInPage(browser)._new_browser(browser, BrowserOptions())
    [launch] = browser.launches
    assert {k: launch[k] for k in ("channel", "executablePath") if k in launch} == expected


def test_a_channel_or_path_given_by_the_robot_wins_over_discovery(monkeypatch, with_display):
    monkeypatch.setattr("HealthcodeLibrary.sign_in_page.find_browser", lambda: BrowserChoice("Edge", channel="msedge"))
    browser = RecordingBrowser()
    SignInPage(browser)._new_browser(browser, BrowserOptions(channel="chrome"))
    SignInPage(browser)._new_browser(browser, BrowserOptions(executable_path="/opt/chromium/chrome"))
    assert browser.launches[0]["channel"] == "chrome"
    assert "channel" not in browser.launches[1]
    assert browser.launches[1]["executablePath"] == "/opt/chromium/chrome"


def test_main_prints_the_choice_or_how_to_get_one(macos, capsys):
    assert browsers.main([]) == 1
    assert capsys.readouterr().err.strip() == HOW_TO_GET_ONE
    app = executable(mac_cache(macos) / "chromium-1200" / "chrome-mac-arm64" / TESTING_APP)
    assert browsers.main([]) == 0
    assert capsys.readouterr().out.strip() == f"Playwright's Chromium {app}"
    assert browsers.main(["--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_python_dash_m_still_works():
    result = subprocess.run(
        [sys.executable, "-m", "HealthcodeLibrary.browsers"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout.strip() != "", result.stderr.strip() == HOW_TO_GET_ONE) in (
        (0, True, False),
        (1, False, True),
    ), result
