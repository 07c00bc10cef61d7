"""Every test runs with its own token cache, key file and no HEALTHCODE_* settings from the machine,
and far from the developer's real secrets on every OS: its own per-user folders, home folder and
keyring, also in the processes it starts (``isolation.py`` says how)."""

import os
import socket
from pathlib import Path

import keyring
import pytest

from healthcode_sandbox import SandboxSettings
from healthcode_sandbox.pytest_plugin import sandbox, sandbox_factory
from HealthcodeLibrary.browsers import playwright_cache_folder
from isolation import IsolatedKeyring, isolated_folders, paths_outside
from redis_server import redis_server, redis_server_factory, redis_tls_server, redis_tls_url, redis_url

# The sandbox and Redis fixtures are registered here, once for every folder (a session fixture
# imported by two conftests would start twice).
__all__ = [
    "redis_server",
    "redis_server_factory",
    "redis_tls_server",
    "redis_tls_url",
    "redis_url",
    "sandbox",
    "sandbox_factory",
]

# Playwright's browsers stay findable after HOME moves (read once, from the real environment).
PLAYWRIGHT_BROWSERS = None if os.environ.get("PLAYWRIGHT_BROWSERS_PATH") else playwright_cache_folder()
# The package user's test (the built wheel in a fresh venv; minutes) is a check step of its own.
PACKAGE_TESTS = Path(__file__).resolve().parent / "package"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("HEALTHCODE_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    for name, value in isolated_folders(home).items():
        monkeypatch.setenv(name, value)
    if PLAYWRIGHT_BROWSERS is not None and PLAYWRIGHT_BROWSERS.is_dir():
        monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(PLAYWRIGHT_BROWSERS))
    monkeypatch.setenv("HEALTHCODE_TOKEN_CACHE", str(tmp_path / "cache" / "tokens.json"))
    keyring.set_keyring(IsolatedKeyring())
    outside = paths_outside(tmp_path)
    if outside:
        pytest.fail(
            f"Not isolated: the library would use the real {', '.join(outside)}. This platformdirs "
            "ignores the test folders on this OS: install the versions in requirements/constraints.txt.",
            pytrace=False,
        )


@pytest.fixture
def sandbox_settings(request):
    """What ``sandbox`` starts with: no refresh token, as Healthcode documents, unless the test is
    marked ``refresh_tokens`` (renewal needs an SSO that issues them)."""
    return SandboxSettings(refresh_tokens=request.node.get_closest_marker("refresh_tokens") is not None)


@pytest.fixture
def unused_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pytest_ignore_collect(collection_path, config):
    """utest/package runs only when named (``pytest utest/package``, as scripts/dev.py test does)."""
    if collection_path.resolve() != PACKAGE_TESTS:
        return None
    named = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return not any(path == PACKAGE_TESTS or PACKAGE_TESTS in path.parents for path in named)


def pytest_configure(config):
    config.addinivalue_line("markers", "bad_input: a hand-written malformed, oversized or hostile input case")
    config.addinivalue_line(
        "markers",
        "refresh_tokens: the sandbox issues rotating refresh tokens (a test of renewal; "
        "off by default, as Healthcode documents)",
    )


def pytest_terminal_summary(terminalreporter):
    passed = terminalreporter.stats.get("passed", [])
    bad = [r for r in passed if "bad_input" in r.keywords]
    properties = [r for r in passed if "test_properties" in r.nodeid]
    if bad or properties:
        terminalreporter.write_line(
            f"Bad input: {len(bad)} hand-written hostile cases and {len(properties)} property-based tests "
            "(hypothesis, hundreds of generated inputs each) ended in a HealthcodeAuthError or a valid result."
        )
