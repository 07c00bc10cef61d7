"""Windows refuses, for a moment, to replace or open a file another process holds open (a robot
reading tokens.json, an antivirus scanner, a backup tool): PermissionError, WinError 5 (access
denied) or 32 (sharing violation). Here ``os.replace``, ``os.open`` and ``os.lstat`` fail that way
for a few tries, with ``sys.platform`` set to win32: the writer retries and succeeds, and a reader
never reports the cache as empty because of it."""

from __future__ import annotations

import errno
import logging
import os
import sys
import time
from pathlib import Path

import pytest

from healthcode_auth import StoreError, Token
from healthcode_auth.errors import FileInUseError
from healthcode_auth.storage import private_files
from healthcode_auth.storage.file_store import FileTokenStore
from healthcode_auth.storage.key_sources import key_file_path
from healthcode_auth.storage.private_files import (
    WINDOWS_RETRY_DELAYS,
    read_private_file,
    write_atomically,
)
from healthcode_auth.storage.store import StoredAuthorisation, entry_key

URL = "https://sso.example.test/.well-known/openid-configuration"
IN_USE = "The process cannot access the file because it is being used by another process"


def windows_error(winerror: int) -> PermissionError:
    """What Windows raises: errno EACCES (13) whatever the WinError, which says why."""
    error = PermissionError(errno.EACCES, "Access is denied" if winerror == 5 else IN_USE)
    error.winerror = winerror  # set by CPython on Windows only
    return error


class Refusing:
    """Replaces an ``os`` function: fails ``times`` times (every time when None) for ``target``."""

    def __init__(self, monkeypatch, name: str, target: Path, times: int | None, winerror: int = 32, arg: int = 0):
        self.real = getattr(os, name)
        self.target, self.left, self.winerror, self.arg, self.refused = str(target), times, winerror, arg, 0
        monkeypatch.setattr(os, name, self)

    def __call__(self, *args, **kwargs):
        if os.fspath(args[self.arg]) == self.target and (self.left is None or self.left > 0):
            self.refused += 1
            if self.left is not None:
                self.left -= 1
            raise windows_error(self.winerror)
        return self.real(*args, **kwargs)


@pytest.fixture
def slept(monkeypatch):
    """The pauses between retries, recorded instead of slept."""
    pauses: list[float] = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    return pauses


@pytest.fixture
def on_windows(monkeypatch, slept):
    monkeypatch.setattr(sys, "platform", "win32")
    return slept


def entry(refresh: str) -> StoredAuthorisation:
    token = Token(access_token=f"ACCESS-{refresh}", expires_at=time.time() + 3600, refresh_token=refresh)
    return StoredAuthorisation(URL, "example_rpa_app", token)


def loaded(cache: FileTokenStore):
    found = cache.load(entry_key(URL, "example_rpa_app"))
    return None if found is None else found.entry.token.refresh_token


@pytest.fixture
def cache(tmp_path):
    cache = FileTokenStore(tmp_path / "cache" / "tokens.json", environ={})
    assert cache.store(entry("REFRESH-1"), None)
    return cache


# --- the writer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("winerror", [5, 32])
def test_the_writer_retries_a_refused_replace_and_succeeds(tmp_path, monkeypatch, on_windows, winerror):
    path = tmp_path / "cache" / "tokens.json"
    path.parent.mkdir()
    path.write_bytes(b"old")
    replace = Refusing(monkeypatch, "replace", path, times=3, winerror=winerror, arg=1)
    assert write_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert replace.refused == 3
    assert on_windows == list(WINDOWS_RETRY_DELAYS[:3])
    assert [p.name for p in path.parent.iterdir()] == ["tokens.json"]  # no temporary file left


def test_a_renewal_keeps_its_rotated_refresh_token_while_another_robot_reads(cache, monkeypatch, on_windows):
    Refusing(monkeypatch, "replace", cache.path, times=4, arg=1)
    current = cache.load(entry_key(URL, "example_rpa_app"))
    assert cache.store(entry("REFRESH-2"), current.version)
    assert loaded(FileTokenStore(cache.path, environ={})) == "REFRESH-2"


def test_the_writer_gives_up_after_about_two_seconds_with_a_clear_error(tmp_path, monkeypatch, on_windows):
    path = tmp_path / "cache" / "tokens.json"
    path.parent.mkdir()
    path.write_bytes(b"old")
    replace = Refusing(monkeypatch, "replace", path, times=None, arg=1)
    with pytest.raises(FileInUseError) as raised:
        write_atomically(path, b"new")
    assert isinstance(raised.value, StoreError)
    assert "another program" in str(raised.value) and str(path) in str(raised.value)
    assert replace.refused == len(WINDOWS_RETRY_DELAYS) + 1
    assert 1.5 <= sum(on_windows) <= 2.5
    assert path.read_bytes() == b"old"
    assert [p.name for p in path.parent.iterdir()] == ["tokens.json"]


# --- the readers --------------------------------------------------------------------------------


@pytest.mark.parametrize("winerror", [5, 32])
def test_a_reader_retries_a_refused_open(tmp_path, monkeypatch, on_windows, winerror):
    path = tmp_path / "tokens.json"
    path.write_bytes(b"content")
    Refusing(monkeypatch, "open", path, times=3, winerror=winerror)
    assert read_private_file(path, max_bytes=100, what="token cache") == b"content"
    assert len(on_windows) == 3


@pytest.mark.parametrize("name", ["open", "lstat"])
def test_a_busy_cache_is_read_after_a_few_tries(cache, monkeypatch, on_windows, name):
    fresh = FileTokenStore(cache.path, environ={})
    refusing = Refusing(monkeypatch, name, cache.path, times=3)
    assert loaded(fresh) == "REFRESH-1"
    assert refusing.refused == 3


@pytest.mark.parametrize("busy", ["cache", "key file"])
def test_a_reader_never_reports_empty_because_a_file_stays_busy(cache, monkeypatch, on_windows, caplog, busy):
    fresh = FileTokenStore(cache.path, environ={})
    refusing = Refusing(monkeypatch, "open", cache.path if busy == "cache" else key_file_path(), times=None)
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"), pytest.raises(FileInUseError) as raised:
        loaded(fresh)
    assert "another program" in str(raised.value)
    assert "empty" not in caplog.text
    refusing.left = 0
    assert loaded(fresh) == "REFRESH-1"  # once the other program lets go


def test_a_busy_key_file_is_read_after_a_few_tries(cache, monkeypatch, on_windows):
    Refusing(monkeypatch, "open", key_file_path(), times=2)
    assert loaded(FileTokenStore(cache.path, environ={})) == "REFRESH-1"


def test_a_folder_where_the_file_should_be_is_not_waited_for(tmp_path, monkeypatch, on_windows):
    folder = tmp_path / "tokens.json"
    folder.mkdir()
    Refusing(monkeypatch, "open", folder, times=None)  # what Windows answers for a folder
    with pytest.raises(StoreError, match="cannot be read") as raised:
        read_private_file(folder, max_bytes=100, what="token cache")
    assert not isinstance(raised.value, FileInUseError)
    assert on_windows == []


# --- elsewhere nothing changes: a PermissionError is a real one ---------------------------------------


def test_other_systems_do_not_retry(tmp_path, monkeypatch, slept):
    monkeypatch.setattr(sys, "platform", "linux")
    assert not private_files.retries_files_in_use()
    path = tmp_path / "cache" / "tokens.json"
    path.parent.mkdir()
    path.write_bytes(b"old")
    Refusing(monkeypatch, "replace", path, times=1, arg=1)
    with pytest.raises(PermissionError):
        write_atomically(path, b"new")
    Refusing(monkeypatch, "open", path, times=1)
    with pytest.raises(StoreError, match="cannot be read"):
        read_private_file(path, max_bytes=100, what="token cache")
    assert slept == []


def test_status_never_says_sign_in_required_because_the_cache_is_busy(cache, monkeypatch, on_windows, capsys):
    from healthcode_cli import main

    monkeypatch.setenv("HEALTHCODE_CLIENT_ID", "example_rpa_app")
    monkeypatch.setenv("HEALTHCODE_REDIRECT_URI", "https://rpaapp.example.com/postauth")
    monkeypatch.setenv("HEALTHCODE_ENVIRONMENT", URL)
    monkeypatch.setenv("HEALTHCODE_TOKEN_CACHE", str(cache.path))
    refusing = Refusing(monkeypatch, "open", cache.path, times=None)
    assert main(["status"]) == 1  # failed, not 3 (sign-in required)
    output = capsys.readouterr()
    assert "another program" in output.err
    assert "sign in" not in output.out
    refusing.left = 0
    assert main(["status"]) == 0
    assert "valid" in capsys.readouterr().out
