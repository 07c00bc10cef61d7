"""Hostile files and folders around the token cache and its key: each is refused clearly, none is
followed, read or blocked on. (POSIX: modes, owners, FIFOs and links are what is attacked here.)"""

import os
import stat
import subprocess
import sys
import threading
import time

import pytest

from healthcode_auth import StoreError, StoreKeyError, Token
from healthcode_auth.storage.file_store import FileTokenStore
from healthcode_auth.storage.key_sources import key_file_path
from healthcode_auth.storage.store import StoredAuthorisation

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes, owners, FIFOs and links")
URL = "https://sso.example.test/.well-known/openid-configuration"
ACCESS = "ACCESS-TOKEN-FOR-THE-FILE-TESTS"


def entry():
    return StoredAuthorisation(URL, "c", Token(access_token=ACCESS, expires_at=time.time() + 3600))


def put(store):
    assert store.store(entry(), None)


def within(seconds, action):
    """Run ``action`` in a thread; fail (instead of hanging) when it takes longer than ``seconds``."""
    outcome = {}

    def run():
        try:
            outcome["value"] = action()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for over {seconds} seconds"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


UMASK_000 = """
import os, sys, time
os.umask(0)
from healthcode_auth import Token
from healthcode_auth.storage.file_store import FileTokenStore
from healthcode_auth.storage.store import StoredAuthorisation
store = FileTokenStore(sys.argv[1], environ={})
entry = StoredAuthorisation("https://sso.example.test/.well-known/openid-configuration", "c",
                            Token(access_token="x" * 20, expires_at=time.time() + 60))
assert store.store(entry, None)
"""


def test_missing_folders_are_made_private_even_under_umask_000(tmp_path):
    cache = tmp_path / "a" / "b" / "tokens.json"
    subprocess.run([sys.executable, "-c", UMASK_000, str(cache)], check=True)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", key_file_path().parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for file in (cache, key_file_path()):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_fifo_at_the_cache_path_is_refused_without_blocking(tmp_path):
    path = tmp_path / "tokens.json"
    os.mkfifo(path)
    with pytest.raises(StoreError, match="not a regular file"):
        within(5, lambda: FileTokenStore(path, environ={}).load("k"))


def test_a_fifo_at_the_cache_path_does_not_hang_status(tmp_path):
    path = tmp_path / "tokens.json"
    os.mkfifo(path)
    env = {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "c",
        "HEALTHCODE_REDIRECT_URI": "https://bot.example/cb",
        "HEALTHCODE_ENVIRONMENT": URL,
        "HEALTHCODE_TOKEN_CACHE": str(path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "healthcode_cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "not a regular file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_symbolic_link_at_the_cache_path_is_refused(tmp_path):
    target = tmp_path / "elsewhere.json"
    put(FileTokenStore(target, environ={}))
    (tmp_path / "tokens.json").symlink_to(target)
    with pytest.raises(StoreError, match="symbolic link"):
        FileTokenStore(tmp_path / "tokens.json", environ={}).load("k")
    with pytest.raises(StoreError, match="symbolic link"):
        put(FileTokenStore(tmp_path / "tokens.json", environ={}))


def test_a_symbolic_link_at_the_lock_path_is_a_clear_error(tmp_path):
    (tmp_path / "tokens.json.lock").symlink_to(tmp_path / "somewhere-else")
    with pytest.raises(StoreError, match="lock file.*symbolic link"):
        put(FileTokenStore(tmp_path / "tokens.json", environ={}))
    assert not (tmp_path / "somewhere-else").exists()


def test_an_attackers_key_behind_a_dangling_link_is_never_used(tmp_path):
    attacker_key = tmp_path / "attacker.key"
    key_file_path().parent.mkdir(parents=True, mode=0o700)
    key_file_path().symlink_to(attacker_key)  # dangling: the race the victim used to lose
    attacker_key.write_text("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    attacker_key.chmod(0o600)
    cache = tmp_path / "cache" / "tokens.json"
    with pytest.raises(StoreKeyError, match="symbolic link"):
        put(FileTokenStore(cache, environ={}))
    assert not cache.exists()


def test_a_key_file_others_can_read_is_refused_on_every_path(tmp_path):
    key_file_path().parent.mkdir(parents=True, mode=0o700)
    key_file_path().write_text("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    key_file_path().chmod(0o644)
    with pytest.raises(StoreKeyError, match="can be read by other users"):
        put(FileTokenStore(tmp_path / "tokens.json", environ={}))


def test_a_folder_others_can_write_is_refused(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(StoreError, match="Other users can write.*chmod go-w"):
        put(FileTokenStore(folder / "tokens.json", environ={}))


def test_a_key_folder_others_can_write_is_refused_by_name(tmp_path):
    key_file_path().parent.mkdir(parents=True)
    key_file_path().parent.chmod(0o777)
    with pytest.raises(StoreKeyError) as refused:
        put(FileTokenStore(tmp_path / "tokens.json", environ={}))
    assert str(refused.value).startswith(
        f"Other users can write to the token cache key folder {key_file_path().parent},"
    )


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a folder away")
def test_a_folder_another_user_owns_is_refused(tmp_path):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    os.chown(folder, 65534, 65534)
    with pytest.raises(StoreError, match="belongs to another user"):
        put(FileTokenStore(folder / "tokens.json", environ={}))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a file away")
def test_a_cache_file_another_user_owns_is_refused(tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json", environ={})
    put(store)
    os.chown(store.path, 65534, 65534)
    with pytest.raises(StoreError, match="belongs to another user"):
        FileTokenStore(store.path, environ={}).load("k")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a link away")
def test_a_folder_reached_through_another_users_link_in_a_sticky_tmp_is_refused(tmp_path):
    """Issue 17, point 8: in a shared, sticky /tmp another user plants ``/tmp/robots`` as a link to
    a folder of ours; following it would let them repoint it, and our files, later."""
    shared = tmp_path / "tmp"
    shared.mkdir(mode=0o1777)
    os.chmod(shared, 0o1777)
    ours = tmp_path / "ours"
    ours.mkdir(mode=0o700)
    planted = shared / "robots"
    planted.symlink_to(ours)
    os.lchown(planted, 65534, 65534)  # the link belongs to 'nobody'
    store = FileTokenStore(planted / "tokens.json", environ={})
    with pytest.raises(StoreError, match="symbolic link .*robots, which belongs to another user"):
        store.store(
            StoredAuthorisation(
                "https://sso/.well-known/openid-configuration",
                "c",
                Token("ACCESS-TOKEN-VALUE", expires_at=time.time() + 60),
            ),
            None,
        )
    assert not any(ours.iterdir())
    os.lchown(planted, os.geteuid(), os.getegid())  # the same link of our own is followed
    assert store.store(
        StoredAuthorisation(
            "https://sso/.well-known/openid-configuration",
            "c",
            Token("ACCESS-TOKEN-VALUE", expires_at=time.time() + 60),
        ),
        None,
    )
