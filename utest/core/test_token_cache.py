"""The token cache: encrypted, private, atomic, tolerant of damage."""

import base64
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from healthcode_auth import ConfigurationError, Token
from healthcode_auth.cache_key import ENV_KEY, key_file_path
from healthcode_auth.token_cache import CachedAuthorisation, TokenCache, cache_key

URL = "https://sso.example.test/.well-known/openid-configuration"
ACCESS = "eyJhbGciOiJSUzI1NiJ9.ACCESS-TOKEN-VALUE.sig"
REFRESH = "REFRESH-TOKEN-VALUE-0123456789"


def entry(access=ACCESS, refresh=REFRESH, client_id="example_rpa_app", expires_in=3600):
    token = Token(access_token=access, expires_at=time.time() + expires_in, refresh_token=refresh, scope="api")
    return CachedAuthorisation(URL, client_id, token, issuer="https://sso.example.test",
                               claims={"sub": "supervisor", "exp": 1, "jti": "dropped"},
                               discovery={"issuer": "https://sso.example.test"})


@pytest.fixture
def cache(tmp_path):
    return TokenCache(tmp_path / "cache" / "tokens.json", environ={})


def test_round_trip(cache):
    with cache.locked():
        cache.store(entry())
    loaded = cache.load(cache_key(URL, "example_rpa_app"))
    assert loaded.token.access_token == ACCESS
    assert loaded.token.refresh_token == REFRESH
    assert loaded.subject == "supervisor"
    assert "jti" not in loaded.claims
    assert loaded.discovery["issuer"] == "https://sso.example.test"
    assert cache.load(cache_key(URL, "other")) is None


def test_entries_per_client(cache):
    with cache.locked():
        cache.store(entry(client_id="a"))
        cache.store(entry(client_id="b", access="OTHER-ACCESS-TOKEN"))
    assert [e.client_id for e in cache.entries()] == ["a", "b"]
    with cache.locked():
        assert cache.remove(cache_key(URL, "a"))
        assert not cache.remove(cache_key(URL, "a"))
    assert [e.client_id for e in cache.entries()] == ["b"]


def test_no_token_in_plain_text_on_disk(cache):
    with cache.locked():
        cache.store(entry())
    raw = cache.path.read_bytes()
    for secret in (ACCESS, REFRESH, "ACCESS-TOKEN-VALUE", "supervisor"):
        assert secret.encode() not in raw
        assert base64.b64encode(secret.encode()) not in raw
    assert json.loads(raw)["key_source"] == "file"


def test_files_are_private(cache):
    with cache.locked():
        cache.store(entry())
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file_path().stat().st_mode) == 0o600
    assert key_file_path().parent != cache.path.parent


def test_passphrase_from_environment(tmp_path):
    environ = {ENV_KEY: "correct horse battery staple"}
    path = tmp_path / "tokens.json"
    with TokenCache(path, environ=environ).locked():
        TokenCache(path, environ=environ).store(entry())
    assert json.loads(path.read_bytes())["key_source"] == "env"
    assert not key_file_path().exists()
    assert TokenCache(path, environ=environ).load(cache_key(URL, "example_rpa_app")).token.access_token == ACCESS


def test_short_passphrase_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        TokenCache(tmp_path / "t.json", environ={ENV_KEY: "short"}).store(entry())


def test_wrong_passphrase_reads_as_empty_with_warning(tmp_path, caplog):
    path = tmp_path / "tokens.json"
    TokenCache(path, environ={ENV_KEY: "the first passphrase!"}).store(entry())
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert TokenCache(path, environ={ENV_KEY: "another passphrase!!"}).load(cache_key(URL, "example_rpa_app")) is None
    assert "another key" in caplog.text
    assert ACCESS not in caplog.text


def test_missing_passphrase_says_which_variable(tmp_path, caplog):
    path = tmp_path / "tokens.json"
    TokenCache(path, environ={ENV_KEY: "the first passphrase!"}).store(entry())
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert TokenCache(path, environ={}).entries() == []
    assert f"encrypted with {ENV_KEY}, which is not set" in caplog.text


def test_lost_key_file_reads_as_empty_then_cache_is_rewritten(cache, caplog):
    with cache.locked():
        cache.store(entry())
    key_file_path().unlink()
    fresh = TokenCache(cache.path, environ={})
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert fresh.entries() == []
    assert "key file" in caplog.text
    with fresh.locked():
        fresh.store(entry(access="NEW-ACCESS-TOKEN"))
    assert fresh.load(cache_key(URL, "example_rpa_app")).token.access_token == "NEW-ACCESS-TOKEN"


@pytest.mark.parametrize("damage", [
    b"", b"not json at all", b"[]", b'{"format": "something else"}', b'{"format": "healthcode-token-cache", "version": 99}',
    b"\xff\xfe\x00garbage",
])
def test_damaged_file_reads_as_empty(cache, caplog, damage):
    cache.path.parent.mkdir(parents=True)
    cache.path.write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert cache.load(cache_key(URL, "example_rpa_app")) is None
    assert "treated as empty" in caplog.text


def test_tampered_ciphertext_or_header_reads_as_empty(cache, caplog):
    with cache.locked():
        cache.store(entry())
    document = json.loads(cache.path.read_bytes())
    for field, value in (("ciphertext", base64.b64encode(b"x" * 64).decode()), ("salt", base64.b64encode(b"y" * 16).decode())):
        cache.path.write_text(json.dumps({**document, field: value}))
        with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
            assert TokenCache(cache.path, environ={}).entries() == []


def test_unchanged_file_is_not_decrypted_again(cache, monkeypatch):
    with cache.locked():
        cache.store(entry())
    cache.load(cache_key(URL, "example_rpa_app"))
    calls = []
    original = TokenCache._decrypt
    monkeypatch.setattr(TokenCache, "_decrypt", lambda self, raw: calls.append(1) or original(self, raw))
    for _ in range(5):
        cache.load(cache_key(URL, "example_rpa_app"))
    assert calls == []


WRITER = """
import sys, time
from healthcode_auth import Token
from healthcode_auth.token_cache import CachedAuthorisation, TokenCache
cache = TokenCache(sys.argv[1], environ={"HEALTHCODE_CACHE_KEY": "a passphrase for the crash test"})
big = "x" * 200_000
i = 0
print("ready", flush=True)
while True:
    i += 1
    token = Token(access_token=f"ACCESS-{i}-{big}", expires_at=time.time() + 60)
    with cache.locked():
        cache.store(CachedAuthorisation("https://sso.example.test/.well-known/openid-configuration", "c", token))
"""


def test_killed_writer_never_leaves_a_torn_file(tmp_path):
    path = tmp_path / "tokens.json"
    environ = {ENV_KEY: "a passphrase for the crash test"}
    for attempt in range(12):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(0.15 + 0.05 * attempt)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        entries = TokenCache(path, environ=environ).entries()
        assert len(entries) == 1, f"attempt {attempt}: the cache was torn or lost"
        assert entries[0].token.access_token.startswith("ACCESS-")


def test_key_file_readable_by_others_is_refused(cache, caplog):
    with cache.locked():
        cache.store(entry())
    key_file_path().chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert TokenCache(cache.path, environ={}).entries() == []
    assert "can be read by other users" in caplog.text
    assert "chmod 600" in caplog.text
