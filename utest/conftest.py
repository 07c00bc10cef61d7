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
