"""The library's per-user folders are the ones platformdirs gives, also where they are worked out
without importing it (Linux, for a robot that only reads a cached token: key_sources.user_folder)."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from healthcode_auth.storage.key_sources import APP_NAME, user_folder

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="the folders are worked out directly on Linux only")
CASES = {
    "variables set": {
        "XDG_CONFIG_HOME": "/srv/robot/config",
        "XDG_DATA_HOME": "/srv/robot/data/",
        "XDG_CACHE_HOME": "/srv/robot/cache/",
    },
    "variables unset": {"XDG_CONFIG_HOME": None, "XDG_DATA_HOME": None, "XDG_CACHE_HOME": None},
    "variables empty": {"XDG_CONFIG_HOME": "", "XDG_DATA_HOME": " ", "XDG_CACHE_HOME": "  "},
    "home with a slash": {
        "XDG_CONFIG_HOME": None,
        "XDG_DATA_HOME": None,
        "XDG_CACHE_HOME": None,
        "HOME": "/home/robot/",
    },
    "home of two slashes": {"XDG_CONFIG_HOME": None, "XDG_DATA_HOME": None, "XDG_CACHE_HOME": None, "HOME": "//"},
    "relative variables": {"XDG_CONFIG_HOME": "config", "XDG_DATA_HOME": "data", "XDG_CACHE_HOME": "./cache"},
}


def platformdirs_says(kind: str) -> Path:
    found = {
        "config": platformdirs.user_config_dir,
        "data": platformdirs.user_data_dir,
        "cache": platformdirs.user_cache_dir,
    }[kind]
    return Path(found(APP_NAME, appauthor=False))


@linux_only
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["config", "data", "cache"])
def test_worked_out_without_platformdirs_as_platformdirs_says(case, kind, monkeypatch):
    for name, value in CASES[case].items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "platformdirs")  # not loaded: the folder is worked out directly

    folder = user_folder(kind)

    assert folder == platformdirs_says(kind)
    if case != "relative variables":  # platformdirs' own answer for those (which changed between its versions)
        assert "platformdirs" not in sys.modules


def test_where_platformdirs_is_loaded_it_answers(monkeypatch, tmp_path):
    """A program that set platformdirs up (or a test that replaced it) is not second-guessed."""
    monkeypatch.setattr(platformdirs, "user_config_dir", lambda *args, **kwargs: str(tmp_path / "elsewhere"))
    assert user_folder("config") == tmp_path / "elsewhere"


def test_the_token_file_is_kept_in_the_data_folder_unless_an_earlier_version_made_one_in_the_cache_folder(
    monkeypatch, tmp_path
):
    """A token file and its supervision record are no cache (macOS purges ~/Library/Caches); a file
    an earlier version made there stays in use, never moved under robots reading it."""
    from healthcode_auth.storage.file_store import default_cache_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_cache_path() == user_folder("data") / "tokens.json"
    earlier = user_folder("cache") / "tokens.json"
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"{}")
    assert default_cache_path() == earlier
    kept = user_folder("data") / "tokens.json"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"{}")
    assert default_cache_path() == kept  # once the data folder has one, it is the one
