"""The file token store: encrypted, private, atomic, tolerant of damage."""

import base64
import json
import logging
import stat
import subprocess
import sys
import time

import pytest

from healthcode_auth import ConfigurationError, Token
from healthcode_auth.storage import sealing
from healthcode_auth.storage.file_store import FileTokenStore
from healthcode_auth.storage.key_sources import ENV_KEY, key_file_path
from healthcode_auth.storage.store import StoredAuthorisation, entry_key

URL = "https://sso.example.test/.well-known/openid-configuration"
ACCESS = "eyJhbGciOiJSUzI1NiJ9.ACCESS-TOKEN-VALUE.sig"
REFRESH = "REFRESH-TOKEN-VALUE-0123456789"


def entry(access=ACCESS, refresh=REFRESH, client_id="example_rpa_app", expires_in=3600):
    token = Token(access_token=access, expires_at=time.time() + expires_in, refresh_token=refresh, scope="api")
    return StoredAuthorisation(URL, client_id, token, discovery={"issuer": "https://sso.example.test"})


def put(cache, new):
    """Store ``new`` over whatever is there (as a sign-in does)."""
    current = cache.load(new.key)
    assert cache.store(new, None if current is None else current.version)


def load(cache, client_id="example_rpa_app"):
    found = cache.load(entry_key(URL, client_id))
    return None if found is None else found.entry


@pytest.fixture
def cache(tmp_path):
    return FileTokenStore(tmp_path / "cache" / "tokens.json", environ={})


def test_round_trip(cache):
    put(cache, entry())
    loaded = load(cache)
    assert loaded.token.access_token == ACCESS
    assert loaded.token.refresh_token == REFRESH
    assert loaded.discovery["issuer"] == "https://sso.example.test"
    assert load(cache, "other") is None


def test_entries_per_client(cache):
    put(cache, entry(client_id="a"))
    put(cache, entry(client_id="b", access="OTHER-ACCESS-TOKEN"))
    assert [load(cache, c).client_id for c in ("a", "b")] == ["a", "b"]
    assert cache.remove(entry_key(URL, "a"))
    assert not cache.remove(entry_key(URL, "a"))
    assert load(cache, "a") is None
    assert load(cache, "b").token.access_token == "OTHER-ACCESS-TOKEN"


def test_no_token_in_plain_text_on_disk(cache):
    put(cache, entry())
    raw = cache.path.read_bytes()
    for secret in (ACCESS, REFRESH, "ACCESS-TOKEN-VALUE", "supervisor"):
        assert secret.encode() not in raw
        assert base64.b64encode(secret.encode()) not in raw
    assert json.loads(raw)["key_source"] == "file"


NO_POSIX_MODES = pytest.mark.skipif(sys.platform == "win32", reason="Windows has no POSIX file modes: the per-user "
                                     "folder's ACL protects the files (docs/security.md)")


@NO_POSIX_MODES
def test_files_are_private(cache):
    put(cache, entry())
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file_path().stat().st_mode) == 0o600
    assert key_file_path().parent != cache.path.parent


def test_passphrase_from_environment(tmp_path):
    environ = {ENV_KEY: "correct horse battery staple"}
    path = tmp_path / "tokens.json"
    put(FileTokenStore(path, environ=environ), entry())
    assert json.loads(path.read_bytes())["key_source"] == "env"
    assert not key_file_path().exists()
    assert load(FileTokenStore(path, environ=environ)).token.access_token == ACCESS


def test_short_passphrase_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        put(FileTokenStore(tmp_path / "t.json", environ={ENV_KEY: "short"}), entry())


def test_wrong_passphrase_reads_as_empty_with_warning(tmp_path, caplog):
    path = tmp_path / "tokens.json"
    put(FileTokenStore(path, environ={ENV_KEY: "the first passphrase!"}), entry())
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert load(FileTokenStore(path, environ={ENV_KEY: "another passphrase!!"})) is None
    assert "another key" in caplog.text
    assert ACCESS not in caplog.text


def test_missing_passphrase_says_which_variable(tmp_path, caplog):
    path = tmp_path / "tokens.json"
    put(FileTokenStore(path, environ={ENV_KEY: "the first passphrase!"}), entry())
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert load(FileTokenStore(path, environ={})) is None
    assert f"encrypted with {ENV_KEY}, which is not set" in caplog.text


def test_lost_key_file_reads_as_empty_then_cache_is_rewritten(cache, caplog):
    put(cache, entry())
    key_file_path().unlink()
    fresh = FileTokenStore(cache.path, environ={})
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert load(fresh) is None
    assert "key file" in caplog.text
    put(fresh, entry(access="NEW-ACCESS-TOKEN"))
    assert load(fresh).token.access_token == "NEW-ACCESS-TOKEN"


@pytest.mark.parametrize("damage", [
    b"", b"not json at all", b"[]", b'{"format": "something else"}', b'{"format": "healthcode-token-cache", "version": 99}',
    b"\xff\xfe\x00garbage",
])
def test_damaged_file_reads_as_empty(cache, caplog, damage):
    cache.path.parent.mkdir(parents=True)
    cache.path.write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert load(cache) is None
    assert "treated as empty" in caplog.text


def test_tampered_ciphertext_or_header_reads_as_empty(cache, caplog):
    put(cache, entry())
    document = json.loads(cache.path.read_bytes())
    for field, value in (("ciphertext", base64.b64encode(b"x" * 64).decode()), ("salt", base64.b64encode(b"y" * 16).decode())):
        cache.path.write_text(json.dumps({**document, field: value}))
        with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
            assert load(FileTokenStore(cache.path, environ={})) is None


def test_unchanged_file_is_not_decrypted_again(cache, monkeypatch):
    put(cache, entry())
    load(cache)
    calls = []
    original = sealing.unseal
    monkeypatch.setattr("healthcode_auth.storage.file_store.unseal",
                        lambda raw, environ: calls.append(1) or original(raw, environ))
    for _ in range(5):
        load(cache)
    assert calls == []


WRITER = """
import sys, time
from healthcode_auth import Token
from healthcode_auth.storage.file_store import FileTokenStore
from healthcode_auth.storage.store import StoredAuthorisation
cache = FileTokenStore(sys.argv[1], environ={"HEALTHCODE_CACHE_KEY": "a passphrase for the crash test"})
big = "x" * 200_000
i = 0
while True:
    i += 1
    token = Token(access_token=f"ACCESS-{i}-{big}", expires_at=time.time() + 60)
    new = StoredAuthorisation("https://sso.example.test/.well-known/openid-configuration", "c", token)
    with cache.renewal_lock(new.key):
        current = cache.load(new.key)
        cache.store(new, None if current is None else current.version)
    if i == 1:
        print("ready", flush=True)  # one entry is on disk: from now on it must never be lost
"""


def test_killed_writer_never_leaves_a_torn_file(tmp_path):
    path = tmp_path / "tokens.json"
    environ = {ENV_KEY: "a passphrase for the crash test"}
    for attempt in range(12):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(0.15 + 0.05 * attempt)
        writer.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no cleanup either way
        writer.wait()
        found = load(FileTokenStore(path, environ=environ), "c")
        assert found is not None, f"attempt {attempt}: the cache was torn or lost"
        assert found.token.access_token.startswith("ACCESS-")


@NO_POSIX_MODES
def test_key_file_readable_by_others_is_refused(cache, caplog):
    put(cache, entry())
    key_file_path().chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert load(FileTokenStore(cache.path, environ={})) is None
    assert "can be read by other users" in caplog.text
    assert "chmod 600" in caplog.text


def test_an_older_copy_is_refused_after_a_sign_out(cache, caplog):
    put(cache, entry())
    put(cache, entry(client_id="other", access="OTHER-ACCESS-TOKEN"))
    backup = cache.path.read_bytes()
    assert cache.remove(entry_key(URL, "example_rpa_app"))  # healthcode-auth logout
    cache.path.write_bytes(backup)  # someone puts the old file back
    fresh = FileTokenStore(cache.path, environ={})
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert load(fresh) is None
    assert "before the latest sign-out" in caplog.text
    assert ACCESS not in caplog.text


def test_a_sign_out_keeps_the_other_clients_entries(cache):
    put(cache, entry())
    put(cache, entry(client_id="other", access="OTHER-ACCESS-TOKEN"))
    assert cache.remove(entry_key(URL, "example_rpa_app"))
    assert load(FileTokenStore(cache.path, environ={}), "other").token.access_token == "OTHER-ACCESS-TOKEN"


def test_the_generation_cannot_be_edited_in_the_header(cache, caplog):
    put(cache, entry())
    backup = json.loads(cache.path.read_bytes())
    assert cache.remove(entry_key(URL, "example_rpa_app"))
    cache.path.write_text(json.dumps({**backup, "generation": 99}))  # claim to be newer
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert load(FileTokenStore(cache.path, environ={})) is None
    assert "another key, or altered" in caplog.text


def test_rollback_protection_with_a_passphrase_too(tmp_path):
    environ = {ENV_KEY: "a passphrase of sixteen or more"}
    store = FileTokenStore(tmp_path / "tokens.json", environ=environ)
    put(store, entry())
    backup = store.path.read_bytes()
    assert store.remove(entry_key(URL, "example_rpa_app"))
    store.path.write_bytes(backup)
    assert load(FileTokenStore(store.path, environ=environ)) is None
