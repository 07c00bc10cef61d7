"""Every test runs with its own token cache, key file and no HEALTHCODE_* settings from the machine."""

import os

import pytest


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("HEALTHCODE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HEALTHCODE_TOKEN_CACHE", str(tmp_path / "cache" / "tokens.json"))


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
