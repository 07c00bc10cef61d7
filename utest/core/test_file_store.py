"""The file token store: encrypted, private, atomic, tolerant of damage."""

import base64
import json
import logging
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from healthcode_auth import ConfigurationError, Token
from healthcode_auth.errors import StoreUnreadableError
from healthcode_auth.storage import sealing
from healthcode_auth.storage.file_store import FileTokenStore
from healthcode_auth.storage.key_sources import ENV_KEY, StoreKey, key_file_path
from healthcode_auth.storage.signouts import SignOutRecord
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
    version = cache.load(entry_key(URL, "a")).version
    assert cache.remove(entry_key(URL, "a"), version)
    assert not cache.remove(entry_key(URL, "a"), version)
    assert load(cache, "a") is None
    assert load(cache, "b").token.access_token == "OTHER-ACCESS-TOKEN"


def test_no_token_in_plain_text_on_disk(cache):
    put(cache, entry())
    raw = cache.path.read_bytes()
    for secret in (ACCESS, REFRESH, "ACCESS-TOKEN-VALUE", "supervisor"):
        assert secret.encode() not in raw
        assert base64.b64encode(secret.encode()) not in raw
    assert json.loads(raw)["key_source"] == "file"


NO_POSIX_MODES = pytest.mark.skipif(
    sys.platform == "win32",
    reason="Windows has no POSIX file modes: the per-user folder's ACL protects the files (docs/security.md)",
)


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


def test_wrong_passphrase_is_unreadable_and_never_overwritten(tmp_path):
    path = tmp_path / "tokens.json"
    put(FileTokenStore(path, environ={ENV_KEY: "the first passphrase!"}), entry())
    before = path.read_bytes()
    other = FileTokenStore(path, environ={ENV_KEY: "another passphrase!!"})
    with pytest.raises(
        StoreUnreadableError, match=f"encrypted with {ENV_KEY}, and the key this run has there does not decrypt it"
    ) as raised:
        load(other)
    assert raised.value.tried == ("env",) and raised.value.key_source == "env"
    with pytest.raises(StoreUnreadableError):
        other.store(entry(access="OTHER-ACCESS-TOKEN"), None)
    assert path.read_bytes() == before
    assert ACCESS not in str(raised.value) and "first passphrase" not in str(raised.value)
    assert load(FileTokenStore(path, environ={ENV_KEY: "the first passphrase!"})).token.access_token == ACCESS


def test_missing_passphrase_says_which_variable_and_which_source_this_run_uses(tmp_path):
    path = tmp_path / "tokens.json"
    put(FileTokenStore(path, environ={ENV_KEY: "the first passphrase!"}), entry())
    with pytest.raises(
        StoreUnreadableError, match=f"encrypted with {ENV_KEY}, which cannot be used in this run: {ENV_KEY} is not set"
    ) as raised:
        load(FileTokenStore(path, environ={}))
    assert "Key source for new data in this run: the key file" in str(raised.value)
    assert raised.value.key_source == "file" and raised.value.tried == ("env",)


def test_a_shell_without_the_key_variable_never_replaces_every_clients_entry(tmp_path):
    """Finding 1: clients 1 and 2 stored under key A; client 2 signs in from a shell without the
    variable. Before: the file was resealed with the key file holding client 2 only."""
    path, key_a = tmp_path / "tokens.json", {ENV_KEY: "key A, the robots' passphrase"}
    put(FileTokenStore(path, environ=key_a), entry(client_id="client-1", access="ACCESS-1"))
    put(FileTokenStore(path, environ=key_a), entry(client_id="client-2", access="ACCESS-2"))
    shell = FileTokenStore(path, environ={})
    with pytest.raises(StoreUnreadableError):
        shell.load(entry_key(URL, "client-2"))
    with pytest.raises(StoreUnreadableError):
        shell.store(entry(client_id="client-2", access="ACCESS-2-NEW"), None)
    robots = FileTokenStore(path, environ=key_a)
    assert load(robots, "client-1").token.access_token == "ACCESS-1"
    assert load(robots, "client-2").token.access_token == "ACCESS-2"


def test_lost_key_file_is_unreadable_until_set_aside_explicitly(cache):
    put(cache, entry())
    before = cache.path.read_bytes()
    key_file_path().unlink()
    fresh = FileTokenStore(cache.path, environ={})
    with pytest.raises(StoreUnreadableError, match="key file .* is missing"):
        load(fresh)
    said = fresh.set_aside(entry_key(URL, "example_rpa_app"))
    aside = Path(said.split(" to ")[1].split(" (kept")[0])
    assert aside.read_bytes() == before and aside.parent == cache.path.parent
    assert not cache.path.exists()
    put(fresh, entry(access="NEW-ACCESS-TOKEN"))
    assert load(fresh).token.access_token == "NEW-ACCESS-TOKEN"


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not json at all",
        b"[]",
        b'{"format": "something else"}',
        b'{"format": "healthcode-token-cache", "version": 99}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_damaged_file_is_unreadable_not_empty(cache, damage):
    cache.path.parent.mkdir(parents=True)
    cache.path.write_bytes(damage)
    with pytest.raises(StoreUnreadableError, match="cannot be read.*Nothing was changed") as raised:
        load(cache)
    assert raised.value.damaged
    with pytest.raises(StoreUnreadableError):
        cache.store(entry(), None)
    assert cache.path.read_bytes() == damage


def test_tampered_ciphertext_or_header_is_unreadable(cache):
    put(cache, entry())
    document = json.loads(cache.path.read_bytes())
    for field, value in (
        ("ciphertext", base64.b64encode(b"x" * 64).decode()),
        ("salt", base64.b64encode(b"y" * 16).decode()),
    ):
        cache.path.write_text(json.dumps({**document, field: value}))
        with pytest.raises(StoreUnreadableError, match="does not decrypt"):
            load(FileTokenStore(cache.path, environ={}))


def test_a_damaged_entry_is_reported_and_the_others_stay_usable(cache):
    put(cache, entry(client_id="other", access="OTHER-ACCESS-TOKEN"))
    document, sealer = sealing.unseal(cache.path.read_bytes(), {}, generation=0)
    document["entries"][entry_key(URL, "example_rpa_app")] = {"version": 3, "token": {"access_token": 12}}
    cache.path.write_bytes(sealer.seal(document))
    fresh = FileTokenStore(cache.path, environ={})
    with pytest.raises(StoreUnreadableError, match="this client's entry.*damaged: 'discovery_url'"):
        load(fresh)
    assert not fresh.store(entry(), None) and not fresh.store(entry(), 3)
    assert load(fresh, "other").token.access_token == "OTHER-ACCESS-TOKEN"
    assert "moved this client's damaged entry aside" in fresh.set_aside(entry_key(URL, "example_rpa_app")).lower()
    put(fresh, entry())
    assert load(fresh).token.access_token == ACCESS
    kept, _ = sealing.unseal(cache.path.read_bytes(), {}, generation=0)
    assert [value["token"] for value in kept["set_aside"].values()] == [{"access_token": 12}]


@pytest.mark.parametrize("expires_at", [1e300, -5, float("nan"), 10**400, "soon", True])
def test_an_absurd_stored_time_is_a_damaged_entry_not_a_crash(cache, expires_at):
    put(cache, entry())
    document, sealer = sealing.unseal(cache.path.read_bytes(), {}, generation=0)
    document["entries"][entry_key(URL, "example_rpa_app")]["token"]["expires_at"] = expires_at
    cache.path.write_bytes(sealer.seal(document))
    with pytest.raises(StoreUnreadableError, match="expires_at"):
        load(FileTokenStore(cache.path, environ={}))


def test_unchanged_file_is_not_decrypted_again(cache, monkeypatch):
    put(cache, entry())
    load(cache)
    calls = []
    original = sealing.unseal
    monkeypatch.setattr(
        "healthcode_auth.storage.file_store.unseal",
        lambda raw, environ, **kw: calls.append(1) or original(raw, environ, **kw),
    )
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
def test_key_file_readable_by_others_is_refused(cache):
    put(cache, entry())
    key_file_path().chmod(0o644)
    with pytest.raises(StoreUnreadableError, match="can be read by other users.*chmod 600"):
        load(FileTokenStore(cache.path, environ={}))


def test_an_older_copy_is_refused_after_a_sign_out(cache):
    put(cache, entry())
    put(cache, entry(client_id="other", access="OTHER-ACCESS-TOKEN"))
    backup = cache.path.read_bytes()
    assert cache.remove(entry_key(URL, "example_rpa_app"), cache.load(entry_key(URL, "example_rpa_app")).version)
    cache.path.write_bytes(backup)  # someone puts the old file back
    fresh = FileTokenStore(cache.path, environ={})
    with pytest.raises(StoreUnreadableError, match="before the latest sign-out.*healthcode-auth set-aside") as raised:
        load(fresh)
    assert ACCESS not in str(raised.value)


def test_a_sign_out_keeps_the_other_clients_entries(cache):
    put(cache, entry())
    put(cache, entry(client_id="other", access="OTHER-ACCESS-TOKEN"))
    assert cache.remove(entry_key(URL, "example_rpa_app"), cache.load(entry_key(URL, "example_rpa_app")).version)
    assert load(FileTokenStore(cache.path, environ={}), "other").token.access_token == "OTHER-ACCESS-TOKEN"


def test_the_generation_cannot_be_edited_in_the_header(cache):
    put(cache, entry())
    backup = json.loads(cache.path.read_bytes())
    assert cache.remove(entry_key(URL, "example_rpa_app"), cache.load(entry_key(URL, "example_rpa_app")).version)
    cache.path.write_text(json.dumps({**backup, "generation": 99}))  # claim to be newer
    with pytest.raises(StoreUnreadableError, match="does not decrypt"):
        load(FileTokenStore(cache.path, environ={}))


def test_rollback_protection_with_a_passphrase_too(tmp_path):
    environ = {ENV_KEY: "a passphrase of sixteen or more"}
    store = FileTokenStore(tmp_path / "tokens.json", environ=environ)
    put(store, entry())
    backup = store.path.read_bytes()
    assert store.remove(entry_key(URL, "example_rpa_app"), store.load(entry_key(URL, "example_rpa_app")).version)
    store.path.write_bytes(backup)
    with pytest.raises(StoreUnreadableError, match="before the latest sign-out"):
        load(FileTokenStore(store.path, environ=environ))


def test_a_rewrite_keeps_the_key_source_the_file_was_sealed_with(cache):
    """A supervisor's shell with HEALTHCODE_CACHE_KEY set writes into a file the robots opened with
    the key file: it stays on the key file, so the robots without the variable can still read it."""
    put(cache, entry())
    put(FileTokenStore(cache.path, environ={ENV_KEY: "a passphrase of sixteen or more"}), entry(client_id="b"))
    assert json.loads(cache.path.read_bytes())["key_source"] == "file"
    assert load(FileTokenStore(cache.path, environ={}), "b") is not None


def test_one_key_derivation_and_one_generations_read_per_write(tmp_path, monkeypatch):
    store = FileTokenStore(tmp_path / "tokens.json", environ={ENV_KEY: "a passphrase of sixteen or more"})
    put(store, entry())
    derivations, generation_reads = [], []
    original_derive, original_read = StoreKey.derive, SignOutRecord._read
    monkeypatch.setattr(StoreKey, "derive", lambda self, salt: derivations.append(1) or original_derive(self, salt))
    monkeypatch.setattr(SignOutRecord, "_read", lambda self: generation_reads.append(1) or original_read(self))
    fresh = FileTokenStore(store.path, environ={ENV_KEY: "a passphrase of sixteen or more"})
    put(fresh, entry(access="SECOND-ACCESS-TOKEN"))
    assert (len(derivations), len(generation_reads)) == (1, 1)


def test_a_file_holding_nothing_takes_the_key_source_of_the_run_that_writes_it(cache):
    """Issue 17, point 14: one rule for the key. A file keeps its key while it holds entries; after
    the last sign-out, the next sign-in encrypts it with this run's source (here the variable)."""
    put(cache, entry())
    assert json.loads(cache.path.read_bytes())["key_source"] == "file"
    assert cache.remove(entry_key(URL, "example_rpa_app"), cache.load(entry_key(URL, "example_rpa_app")).version)
    with_variable = FileTokenStore(cache.path, environ={ENV_KEY: "a passphrase of sixteen or more"})
    put(with_variable, entry())
    assert json.loads(cache.path.read_bytes())["key_source"] == "env"


def test_creating_the_key_file_is_said(cache, caplog):
    with caplog.at_level(logging.INFO, logger="healthcode_auth"):
        put(cache, entry())
    assert f"Created the token cache's key in the key file {key_file_path()}" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="healthcode_auth"):
        put(FileTokenStore(cache.path, environ={}), entry(access="SECOND"))
    assert "Created" not in caplog.text  # once


def test_a_damaged_sign_out_record_is_said_as_itself_and_the_cache_is_never_set_aside(cache):
    """Red team, break 7: a damaged generations.json made a readable cache look unreadable, and
    set-aside then moved it."""
    from healthcode_auth.errors import StoreKeyError
    from healthcode_auth.storage.signouts import generations_path

    put(cache, entry())
    assert cache.remove(entry_key(URL, "example_rpa_app"), load_version(cache))
    put(cache, entry(client_id="other"))
    generations_path().write_text("[not a record]")
    fresh = FileTokenStore(cache.path, environ={})
    with pytest.raises(StoreKeyError, match="sign-out record .* damaged"):
        load(fresh, "other")
    before = cache.path.read_bytes()
    with pytest.raises(StoreKeyError, match="sign-out record"):
        fresh.set_aside(entry_key(URL, "other"))
    assert cache.path.read_bytes() == before


def load_version(cache, client_id="example_rpa_app"):
    return cache.load(entry_key(URL, client_id)).version


def test_an_absurd_last_version_is_bounded_not_a_crash(cache):
    """Red team, break 13: a 4300-digit last_version gave a traceback on the next write."""
    put(cache, entry())
    document, sealer = sealing.unseal(cache.path.read_bytes(), {}, generation=0)
    document["last_version"] = 10**4000
    cache.path.write_bytes(sealer.seal(document))
    fresh = FileTokenStore(cache.path, environ={})
    current = load_version(fresh)
    assert fresh.store(entry(access="SECOND-ACCESS-TOKEN"), current) == current + 1


def test_reading_a_huge_record_changes_nothing_and_the_next_event_moves_it_aside(cache, caplog):
    history = cache.path.with_name("tokens.json.history")
    history.parent.mkdir(parents=True, exist_ok=True)
    history.write_bytes(b"x" * 9_000_000)
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        assert cache.supervision.read(10) == []
    assert "not shown" in caplog.text and history.stat().st_size == 9_000_000
    cache.supervision.append({"event": "signed-in"})
    assert [e.fields["event"] for e in cache.supervision.read(10)] == ["signed-in"]
    assert len(list(history.parent.glob("tokens.json.history.too-large-*"))) == 1


@pytest.mark.parametrize("answer", [b"bytes-not-text", 12345, ["a", "list"]])
def test_a_keyring_that_answers_nonsense_is_a_clear_error(tmp_path, answer):
    """Red team, break 12: a keyring backend returning a non-string gave a traceback."""
    import keyring
    from keyring.backend import KeyringBackend

    from healthcode_auth.errors import StoreKeyError
    from healthcode_auth.storage.key_sources import read_key

    class Nonsense(KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            return answer

        def set_password(self, service, username, password):
            pass

        def delete_password(self, service, username):
            pass

    keyring.set_keyring(Nonsense())
    with pytest.raises(StoreKeyError, match="returned something other than a key"):
        read_key("keyring", {})


@pytest.mark.parametrize("keep_time", [True, False], ids=["cp -a", "cp"])
def test_a_copy_matching_this_processs_last_read_is_refused_after_another_process_signs_out(cache, tmp_path, keep_time):
    """Round thirteen: a read that found the file's time and size (or, under the lock, its bytes)
    as this process last read it used what it had decrypted then, without the sign-out check; so
    the very file it had read, put back with its time (cp -a) after another process signed out,
    brought the authorisation back to this process. A sign-out since the last read (the sign-out
    record changed) makes the read decrypt and check again."""
    import shutil

    put(cache, entry())
    reader = FileTokenStore(cache.path, environ={})
    key = entry_key(URL, "example_rpa_app")
    assert load(reader).token.access_token == ACCESS  # its last read: this file
    shutil.copy2(cache.path, tmp_path / "backup")
    sign_out = (
        "import sys\n"
        "from healthcode_auth.storage.file_store import FileTokenStore\n"
        "store = FileTokenStore(sys.argv[1], environ={})\n"
        "assert store.remove(sys.argv[2], store.load(sys.argv[2]).version)\n"
    )
    subprocess.run([sys.executable, "-c", sign_out, str(cache.path), key], check=True, timeout=60)
    (shutil.copy2 if keep_time else shutil.copy)(tmp_path / "backup", cache.path)  # as the reader last read it
    with pytest.raises(StoreUnreadableError, match="before the latest sign-out"):
        load(reader)
    with pytest.raises(StoreUnreadableError, match="before the latest sign-out"):
        reader.store(entry(access="NEW-ACCESS"), None)  # under the lock too


@pytest.mark.parametrize("change", ["working folder changed", "folder replaced by a link"])
def test_a_sign_out_after_the_path_changed_under_a_running_process_still_refuses_old_copies(
    cache, tmp_path, monkeypatch, change
):
    """Round thirteen, S2: a store that named its file once, when first used, kept recording sign-outs
    under that name after the working folder changed (a relative path) or the folder was moved and
    replaced by a link; a new robot process, naming the real file, accepted a copy from before the
    sign-out. The path is made absolute at once, and sign-outs are keyed by the real file each time."""
    import os
    import shutil

    first = tmp_path / "first"
    first.mkdir()
    if change == "working folder changed":
        monkeypatch.chdir(first)
        store = FileTokenStore("tokens.json", environ={})
        put(store, entry())
        monkeypatch.chdir(tmp_path)
        real = first / "tokens.json"
    else:
        store = FileTokenStore(first / "tokens.json", environ={})
        put(store, entry())
        shutil.move(first, tmp_path / "moved")
        os.symlink(tmp_path / "moved", first)
        real = tmp_path / "moved" / "tokens.json"
    key = entry_key(URL, "example_rpa_app")
    backup = real.read_bytes()
    assert store.remove(key, store.load(key).version)  # the running process signs out
    real.write_bytes(backup)  # an old copy put back
    new_robot = (
        "import sys\n"
        "from healthcode_auth.errors import StoreUnreadableError\n"
        "from healthcode_auth.storage.file_store import FileTokenStore\n"
        "try:\n"
        "    print('loaded' if FileTokenStore(sys.argv[1], environ={}).load(sys.argv[2]) else 'none')\n"
        "except StoreUnreadableError as error:\n"
        "    print('refused' if 'before the latest sign-out' in str(error) else 'other')\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", new_robot, str(real), key], capture_output=True, text=True, check=True, timeout=60
    )
    assert answer.stdout.strip() == "refused"


@pytest.mark.parametrize("slow", ["the token file's write", "the sign-out record's"])
def test_a_read_during_another_sign_out_never_calls_the_file_a_copy(cache, monkeypatch, slow):
    """Round fourteen, F1, and the review after round fifteen: a sign-out advanced the sign-out
    record, then wrote the token file; a robot reading between the two found the file it was about
    to replace and was told it was "a copy from before the latest sign-out, put back", with advice
    to move a good file aside (a wait for the lock hid it only while the sign-out took under 5 s).
    The file is now written first, sealed with the next generation, then the record advances:
    a read at any point finds a file it accepts."""
    import threading

    from healthcode_auth.storage import persistence

    put(cache, entry())
    put(cache, entry(client_id="other", access="OTHER-ACCESS-TOKEN"))
    reader = FileTokenStore(cache.path, environ={})
    assert load(reader, "other").token.access_token == "OTHER-ACCESS-TOKEN"
    owner, name = (
        (persistence.FilePersistence, "write") if slow == "the token file's write" else (SignOutRecord, "advance")
    )
    real_step, writing = getattr(owner, name), threading.Event()

    def slow_step(*arguments):
        writing.set()  # the sign-out is between its two writes
        time.sleep(0.5)
        return real_step(*arguments)

    monkeypatch.setattr(owner, name, slow_step)
    signer = FileTokenStore(cache.path, environ={})
    key = entry_key(URL, "example_rpa_app")
    sign_out = threading.Thread(target=lambda: signer.remove(key, signer.load(key).version))
    sign_out.start()
    assert writing.wait(10)
    found = load(reader, "other")
    sign_out.join(10)
    assert found.token.access_token == "OTHER-ACCESS-TOKEN"
    assert load(reader) is None  # and the signed-out client is gone


def test_a_relative_token_cache_in_a_deleted_working_folder_is_a_clear_error(tmp_path, monkeypatch):
    """Round fourteen, F3: a relative token cache, given in a working folder since deleted, failed
    with a raw FileNotFoundError."""
    from healthcode_auth import ConfigurationError

    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    with pytest.raises(ConfigurationError, match="relative path.*give an absolute path") as raised:
        FileTokenStore("tokens.json", environ={})
    assert "HEALTHCODE_TOKEN_CACHE" in str(raised.value)


def test_a_copy_from_before_a_sign_out_is_said_as_such_while_another_process_holds_the_lock(cache):
    """Round fifteen: a read that found the file older than the sign-out record waited for the lock
    as long as any holder kept it (a renewal waiting on the SSO: up to 120 s), then said the lock was
    held and to delete it: the real cause, a copy put back, was hidden. A sign-out writes the file
    before the record, so a file older than the record is a copy: said at once, with no wait."""
    import threading

    put(cache, entry())
    backup = cache.path.read_bytes()
    key = entry_key(URL, "example_rpa_app")
    assert cache.remove(key, cache.load(key).version)
    cache.path.write_bytes(backup)  # a copy from before the sign-out, put back
    holder, held, done = FileTokenStore(cache.path, environ={}), threading.Event(), threading.Event()

    def hold():
        with holder.renewal_lock(key):  # another robot renewing, its SSO slow
            held.set()
            done.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(StoreUnreadableError, match="before the latest sign-out"):
            FileTokenStore(cache.path, environ={}, lock_timeout=2).load(key)  # not StoreLockTimeout
    finally:
        done.set()
        thread.join(30)


def test_a_read_whose_bytes_predate_a_sign_out_that_ends_before_its_record_read_is_not_a_copy(cache):
    """The review after round fifteen: a read takes the file's bytes, then the sign-out record; a
    sign-out completing in between (file, then record) made the current file's bytes older than
    the record, and the read called them a copy (230 times per reader in 10 s of sign-out churn).
    Bytes read after the record never predate it: they are read once more."""
    put(cache, entry())
    put(cache, entry(client_id="other", access="OTHER-ACCESS-TOKEN"))
    key = entry_key(URL, "example_rpa_app")
    signer, reader = FileTokenStore(cache.path, environ={}), FileTokenStore(cache.path, environ={})
    real_generation = reader._signouts.generation

    def sign_out_in_between(store_id):  # the reader has the old bytes; now another robot signs out
        reader._signouts.generation = real_generation
        assert signer.remove(key, signer.load(key).version)
        return real_generation(store_id)

    reader._signouts.generation = sign_out_in_between
    assert load(reader, "other").token.access_token == "OTHER-ACCESS-TOKEN"
    assert reader._signouts.generation == real_generation  # the sign-out did happen in between
    assert load(reader) is None


def test_a_copy_from_a_sign_out_that_died_before_its_record_is_refused_after_the_next_sign_out(cache, monkeypatch):
    """The review after round fifteen (a helper's attack on the write order): a sign-out that wrote
    the file, sealed one generation up, and died before advancing the record left the record one
    behind; the next sign-out sealed and recorded that same generation, so a copy taken in between
    brought its signed-out entry back. The next sign-out goes above the file's own generation."""
    put(cache, entry())
    put(cache, entry(client_id="other", access="OTHER-ACCESS-TOKEN"))

    class Died(BaseException):
        """The process, killed after the file's write and before the record's."""

    real_advance = SignOutRecord.advance

    def die(self, *arguments):
        raise Died

    monkeypatch.setattr(SignOutRecord, "advance", die)
    key = entry_key(URL, "example_rpa_app")
    with pytest.raises(Died):
        cache.remove(key, cache.load(key).version)
    monkeypatch.setattr(SignOutRecord, "advance", real_advance)
    between = cache.path.read_bytes()  # a copy: "example_rpa_app" gone, "other" still there
    other = entry_key(URL, "other")
    fresh = FileTokenStore(cache.path, environ={})
    assert fresh.remove(other, fresh.load(other).version)  # the next sign-out, completed
    cache.path.write_bytes(between)
    with pytest.raises(StoreUnreadableError, match="before the latest sign-out"):
        load(FileTokenStore(cache.path, environ={}), "other")
