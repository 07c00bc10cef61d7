"""scripts/dev.py, the README's two commands on every system: its pure parts, with the OS mocked
where it would be touched (apt-get, the dpkg lock, the browser search), and one real run."""

import ast
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from dev_script import SCRIPT, SETUP_PACKAGE, apt, console, dev, system_packages

ROOT = Path(__file__).resolve().parents[1]


class Recorder:
    """Stands in for subprocess.run: records each command and answers with the next exit code."""

    def __init__(self, *codes):
        self.commands = []
        self.codes = list(codes)

    def __call__(self, command, **options):
        self.commands.append(command)
        return subprocess.CompletedProcess(command, self.codes.pop(0) if self.codes else 0)


@pytest.fixture
def recorder(monkeypatch):
    def install(*codes):
        fake = Recorder(*codes)
        monkeypatch.setattr(console.subprocess, "run", fake)
        return fake

    return install


# --- the virtual environment's executables, through sysconfig -------------------------------------


def test_venv_layout_on_posix(tmp_path):
    layout = dev.venv_layout(tmp_path / ".venv", os_name="posix")
    assert layout.scripts == tmp_path / ".venv" / "bin"
    assert layout.python == tmp_path / ".venv" / "bin" / "python"
    assert layout.executable("ruff") == tmp_path / ".venv" / "bin" / "ruff"


def test_venv_layout_on_windows(tmp_path):
    layout = dev.venv_layout(tmp_path / ".venv", os_name="nt")
    assert layout.scripts == tmp_path / ".venv" / "Scripts"
    assert layout.python == tmp_path / ".venv" / "Scripts" / "python.exe"
    assert layout.executable("rfbrowser") == tmp_path / ".venv" / "Scripts" / "rfbrowser.exe"


def test_venv_layout_of_this_system_is_sysconfigs(tmp_path):
    layout = dev.venv_layout(tmp_path / ".venv")
    scheme = "venv" if "venv" in sysconfig.get_scheme_names() else ("nt" if os.name == "nt" else "posix_prefix")
    expected = sysconfig.get_path(
        "scripts", scheme, vars={"base": str(tmp_path / ".venv"), "platbase": str(tmp_path / ".venv")}
    )
    assert layout.scripts == Path(expected)


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="runs outside a virtual environment")
def test_venv_layout_finds_the_running_virtual_environments_tools():
    layout = dev.venv_layout(Path(sys.prefix))
    assert layout.python.is_file()
    assert layout.executable("ruff").is_file()


# --- apt-get and the dpkg lock ------------------------------------------------------------------------


def test_apt_get_waits_for_the_dpkg_lock_for_five_minutes():
    assert apt.apt_get_command(["install", "-y", "chromium"]) == [
        "apt-get",
        "-o",
        "DPkg::Lock::Timeout=300",
        "-q",
        "install",
        "-y",
        "chromium",
    ]
    assert apt.apt_get_command(["update"], lock_timeout=42)[:3] == ["apt-get", "-o", "DPkg::Lock::Timeout=42"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/locks is Linux's")
def test_lock_holder_reads_proc_locks(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.touch()
    status = lock.stat()
    file_id = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    held = f"1: POSIX  ADVISORY  WRITE {os.getpid()} {file_id} 0 EOF\n"
    waiting = f"1: -> POSIX  ADVISORY  WRITE 99999999 {file_id} 0 EOF\n"
    assert apt.lock_holder(lock, held) == f"process {os.getpid()} ({Path('/proc/self/comm').read_text().strip()})"
    assert apt.lock_holder(lock, waiting) is None
    assert apt.lock_holder(lock, "2: FLOCK  ADVISORY  WRITE 1 00:00:1 0 EOF\n") is None
    assert apt.lock_holder(tmp_path / "missing", held) is None


def test_waiting_for_a_held_lock_says_so_once_then_goes_on(monkeypatch, capsys):
    answers = iter(["process 4242 (apt-get)"] * 3 + [None])
    monkeypatch.setattr(apt, "lock_holder", lambda lock: next(answers))
    sleeps = []
    apt.wait_for_locks((Path("/var/lib/dpkg/lock-frontend"),), deadline=100.0, clock=lambda: 0.0, sleep=sleeps.append)
    err = capsys.readouterr().err
    assert err.count("waiting for it to finish, up to 5 minutes") == 1
    assert "process 4242 (apt-get) holds /var/lib/dpkg/lock-frontend" in err
    assert "the package lock is free" in err
    assert len(sleeps) == 3


def test_a_lock_held_past_the_deadline_ends_with_what_to_do(monkeypatch):
    monkeypatch.setattr(apt, "lock_holder", lambda lock: "process 7 (unattended-upgr)")
    with pytest.raises(dev.SetupError, match=r"still holds .* after 5 minutes.*Wait for it to finish"):
        apt.wait_for_locks((Path("/var/lib/apt/lists/lock"),), deadline=10.0, clock=lambda: 11.0, sleep=lambda s: None)


def test_apt_install_updates_once_then_installs_with_the_lock_timeout(monkeypatch, recorder, capsys):
    monkeypatch.setattr(apt, "lock_holder", lambda lock: None)
    monkeypatch.setattr(apt, "_apt_updated", False)
    fake = recorder(0, 0, 0)
    apt.apt_install(["chromium"], "Debian's Chromium")
    apt.apt_install(["redis-server"], "Debian's redis-server")
    assert [command[-1] for command in fake.commands] == ["update", "chromium", "redis-server"]
    assert all(
        command[:2] == ["apt-get", "-o"] and command[2].startswith("DPkg::Lock::Timeout=") for command in fake.commands
    )
    err = capsys.readouterr().err
    assert "installing Debian's Chromium with apt-get" in err
    assert "installed chromium in" in err


def test_a_failed_apt_get_says_what_failed_and_what_to_do(monkeypatch, recorder):
    monkeypatch.setattr(apt, "lock_holder", lambda lock: None)
    recorder(100)
    with pytest.raises(
        dev.SetupError,
        match=r"'apt-get install -y chromium' failed \(exit 100\).*install chromium "
        r"yourself. Then run again",
    ):
        apt.apt_get(["install", "-y", "chromium"], deadline=apt.time.monotonic() + 60)


# --- what the setup says when it cannot install -------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "has_apt", "expected"),
    [
        ("darwin", False, "brew install --cask google-chrome"),
        ("win32", False, "Microsoft Edge (part of Windows 10 and 11)"),
        ("linux", False, "sudo dnf install chromium"),
        ("linux", True, "sudo apt-get install chromium"),
    ],
)
def test_missing_browser_message(tmp_path, platform, has_apt, expected):
    layout = dev.venv_layout(tmp_path / ".venv", os_name="nt" if platform == "win32" else "posix")
    message = system_packages.missing_browser_message(platform, has_apt, layout)
    assert expected in message
    assert str(layout.executable("rfbrowser")) in message
    assert message.endswith("then run again.")


def test_without_a_browser_on_macos_the_setup_explains_and_installs_nothing(monkeypatch, recorder, capsys, tmp_path):
    monkeypatch.setattr(system_packages.sys, "platform", "darwin")
    monkeypatch.setattr(system_packages, "can_apt", lambda: False)
    fake = recorder(1)  # python -m HealthcodeLibrary.browsers finds nothing
    assert system_packages.ensure_browser(dev.venv_layout(tmp_path / ".venv", os_name="posix")) == "no browser"
    assert len(fake.commands) == 1
    assert "HealthcodeLibrary.browsers" in fake.commands[0]
    assert "brew install --cask google-chrome" in capsys.readouterr().err


def test_missing_redis_message_per_system():
    assert "brew install redis" in system_packages.missing_redis_message("darwin", False)
    assert "WSL" in system_packages.missing_redis_message("win32", False)
    assert "sudo apt-get install redis-server" in system_packages.missing_redis_message("linux", True)


# --- the commands ---------------------------------------------------------------------------------


def test_the_checks_run_in_order_with_pytests_arguments(tmp_path):
    steps = dev.check_steps(dev.venv_layout(tmp_path / ".venv"), ["-k", "discovery"])
    assert [name.split(" (")[0] for name, _ in steps] == [
        "ruff",
        "ruff format",
        "mypy",
        "mypy --platform win32",
        "mypy --platform darwin",
        "pytest",
        "acceptance tests",
        "keyword documentation is up to date",
        "package user",
        "minimum versions",
    ]
    pytest_command = dict(steps)["pytest"]
    assert pytest_command[1:3] == ["-m", "pytest"]
    assert pytest_command[3:7] == ["-n", "4", "--dist", "loadgroup"]  # pytest-xdist's workers
    assert pytest_command[-2:] == ["-k", "discovery"]  # last: a `-n` given to dev.py test wins


def test_every_check_runs_and_the_summary_names_the_failures(monkeypatch, recorder, capsys, tmp_path):
    fake = recorder(0, 0, 0, 1, 0, 0, 0, 0, 0, 0)
    assert dev.run_checks(dev.venv_layout(tmp_path / ".venv"), []) == 1
    assert len(fake.commands) == 10
    out = capsys.readouterr().out
    assert "FAILED  mypy --platform win32 (Windows)" in out
    assert "1 of 10 checks failed: mypy --platform win32 (Windows)." in out


def test_a_failed_setup_is_a_message_not_a_traceback(monkeypatch, capsys):
    def failing_setup():
        raise dev.SetupError("pip could not install the project")

    monkeypatch.setattr(dev, "setup", failing_setup)
    assert dev.main(["test"]) == 1
    err = capsys.readouterr().err
    assert "[setup] FAILED: pip could not install the project" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("source", [SCRIPT, *sorted(SETUP_PACKAGE.glob("*.py"))], ids=lambda path: path.name)
def test_the_script_uses_the_standard_library_only(source):
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
    }
    assert imported - {"__future__", SETUP_PACKAGE.name} <= sys.stdlib_module_names


def test_help_and_an_unknown_command_in_a_real_run():
    helped = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert helped.returncode == 0
    assert "scripts/dev.py demo" in helped.stdout
    assert r"py scripts\dev.py test" in helped.stdout
    unknown = subprocess.run(
        [sys.executable, str(SCRIPT), "deploy"], capture_output=True, text=True, timeout=60, check=False
    )
    assert unknown.returncode == 2
    assert "Unknown command 'deploy'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
