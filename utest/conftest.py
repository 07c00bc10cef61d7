"""Every test runs with its own token cache, key file and no HEALTHCODE_* settings from the machine."""

import os
from pathlib import Path

import pytest

# The package user's test (the built wheel in a fresh venv; minutes) is a check step of its own.
PACKAGE_TESTS = Path(__file__).resolve().parent / "package"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("HEALTHCODE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HEALTHCODE_TOKEN_CACHE", str(tmp_path / "cache" / "tokens.json"))


def pytest_ignore_collect(collection_path, config):
    """utest/package runs only when named (``pytest utest/package``, as scripts/dev.py test does)."""
    if collection_path.resolve() != PACKAGE_TESTS:
        return None
    named = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return not any(path == PACKAGE_TESTS or PACKAGE_TESTS in path.parents for path in named)


def pytest_configure(config):
    config.addinivalue_line("markers", "bad_input: a hand-written malformed, oversized or hostile input case")


def pytest_terminal_summary(terminalreporter):
    passed = terminalreporter.stats.get("passed", [])
    bad = [r for r in passed if "bad_input" in r.keywords]
    properties = [r for r in passed if "test_properties" in r.nodeid]
    if bad or properties:
        terminalreporter.write_line(
            f"Bad input: {len(bad)} hand-written hostile cases and {len(properties)} property-based tests "
            "(hypothesis, hundreds of generated inputs each) ended in a HealthcodeAuthError or a valid result.")
