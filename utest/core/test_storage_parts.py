"""The parts the token stores are composed of, each on its own: sealing, the supervision record's
authentication, a file's persistence, the cross-process lock, the sign-out record, and the entry's
own checks."""

import json
import multiprocessing
import os
import sys
import threading
import time

import pytest

from healthcode_auth import StoreLockTimeout, Token
from healthcode_auth.errors import StoreKeyError
from healthcode_auth.storage.key_sources import ENV_KEY, StoreKey, read_key
from healthcode_auth.storage.locks import FileLock
from healthcode_auth.storage.persistence import FilePersistence, TooLarge
from healthcode_auth.storage.record import MAX_TEXT, open_events, sign_event
from healthcode_auth.storage.sealing import Unreadable, new_sealer, unseal
from healthcode_auth.storage.signouts import SignOutRecord
from healthcode_auth.storage.store import StoredAuthorisation

PASSPHRASE = {ENV_KEY: "a passphrase of sixteen or more"}
URL = "https://sso.example.test/.well-known/openid-configuration"


# Sealing
def test_sealing_round_trip_and_the_next_version_reuses_one_derivation():
    sealed = new_sealer(PASSPHRASE).seal({"entries": {"a": 1}}, generation=2)
    payload, sealer = unseal(sealed, PASSPHRASE, generation=2)
    assert payload == {"entries": {"a": 1}}
    again, second = unseal(sealer.seal({"entries": {}}, generation=2), PASSPHRASE, generation=2)
    assert again == {"entries": {}} and second.salt == sealer.salt and second.aes_key == sealer.aes_key
    assert b"entries" not in sealed


@pytest.mark.parametrize(
    ("environ", "reason", "source"),
    [
        ({ENV_KEY: "another passphrase, not that one"}, "does not decrypt", "env"),
        ({}, "HEALTHCODE_CACHE_KEY is not set", "env"),
        ({ENV_KEY: "short"}, "at least 16 characters", "env"),
    ],
)
def test_a_document_this_run_cannot_open_says_why_and_which_source(environ, reason, source):
    sealed = new_sealer(PASSPHRASE).seal({"entries": {}})
    with pytest.raises(Unreadable, match=reason) as raised:
        unseal(sealed, environ)
    assert (raised.value.source, raised.value.damaged) == (source, False)


def test_rolled_back_and_foreign_sources_are_unreadable():
    sealed = new_sealer(PASSPHRASE).seal({"entries": {}}, generation=1)
    with pytest.raises(Unreadable, match="before the latest sign-out") as raised:
        unseal(sealed, PASSPHRASE, generation=2)
    assert raised.value.rolled_back
    with pytest.raises(Unreadable, match="names no key source this store uses") as raised:
        unseal(new_sealer({}).seal({}), {}, sources=("env",))  # Redis never reads this machine's key file
    assert raised.value.damaged


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"[]",
        b'{"format": "x"}',
        json.dumps(
            {
                "format": "healthcode-token-cache",
                "version": 1,
                "key_source": "env",
                "salt": "%%",
                "nonce": "",
                "ciphertext": "",
            }
        ).encode(),
    ],
)
def test_damage_is_unreadable_whatever_the_key(raw):
    with pytest.raises(Unreadable) as raised:
        unseal(raw, PASSPHRASE)
    assert raised.value.damaged


# The supervision record's authentication
KEY = StoreKey("env", b"k" * 32)


def test_events_are_authenticated_bounded_and_tampering_shows():
    good = sign_event({"event": "signed-in", "supervisor": "alice", "long": "x" * 5000}, KEY)
    edited = json.loads(good)
    edited["supervisor"] = "ceo"
    no_mac = {k: v for k, v in json.loads(good).items() if k != "mac"}
    events = open_events(
        [good, json.dumps(edited), json.dumps(no_mac), good, "not json", None, "x" * 9000], lambda source: KEY
    )
    assert [e.authentic for e in events] == [True, False, False, False, False, False, False]  # the copy too
    assert events[0].fields["supervisor"] == "alice" and len(events[0].fields["long"]) == MAX_TEXT
    assert "mac" not in events[0].fields and "id" not in events[0].fields


def test_another_key_or_none_makes_every_event_unverifiable():
    good = sign_event({"event": "signed-in"}, KEY)
    assert not open_events([good], lambda source: StoreKey("env", b"z" * 32))[0].authentic
    assert not open_events([good], lambda source: None)[0].authentic


def test_a_passphrase_gives_every_machine_the_same_record_key():
    assert read_key("env", PASSPHRASE).record_key() == read_key("env", dict(PASSPHRASE)).record_key()
    assert read_key("env", PASSPHRASE).record_key() != read_key("env", {ENV_KEY: "x" * 20}).record_key()


# A file's persistence
def test_persistence_reads_nothing_bounded_bytes_and_sets_aside_without_losing_them(tmp_path):
    file = FilePersistence(tmp_path / "store" / "data", what="test file", max_bytes=10)
    assert file.read() is None and file.stat() is None
    file.write(b"0123456789")
    assert file.read() == b"0123456789"
    file.write(b"0123456789!")
    with pytest.raises(TooLarge):
        file.read()
    aside = file.set_aside("unreadable")
    assert aside.read_bytes() == b"0123456789!" and aside.parent == file.path.parent
    assert aside.name.startswith("data.unreadable-") and file.read() is None


# The cross-process lock
def _hold(path, held, release):
    with FileLock(path, timeout=30).held():
        held.set()
        release.wait(30)


def test_the_lock_is_reentrant_bounded_and_released_when_its_holder_dies(tmp_path):
    path = tmp_path / "store" / "tokens.json.lock"
    lock = FileLock(path, timeout=0.3)
    with lock.held(), lock.held():  # re-entrant within a thread
        pass
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(path, held, release))
    holder.start()
    assert held.wait(30)
    started = time.monotonic()
    with pytest.raises(StoreLockTimeout, match="held the token cache lock file"), lock.held():
        pass
    assert 0.25 < time.monotonic() - started < 5
    holder.kill()
    holder.join(30)
    with lock.held():  # the OS released the dead holder's lock
        pass


def test_an_error_inside_the_lock_is_not_mistaken_for_a_lock_error(tmp_path):
    lock = FileLock(tmp_path / "l.lock", timeout=1)
    with pytest.raises(FileNotFoundError), lock.held():
        raise FileNotFoundError("raised by the caller")
    done = threading.Event()
    threading.Thread(target=lambda: (lock.held().__enter__(), done.set()), daemon=True).start()
    assert done.wait(5)  # released after the error


# The sign-out record
def test_sign_out_generations_advance_per_store_and_damage_is_said(tmp_path):
    record = SignOutRecord(tmp_path / "config" / "generations.json")
    assert record.generation("file:/a") == 0
    assert record.advance("file:/a") == 1 and record.advance("file:/a") == 2
    assert record.generation("file:/b") == 0
    record.path.write_text("[1, 2]")
    with pytest.raises(StoreKeyError, match="damaged"):
        record.generation("file:/a")


def test_two_stores_signing_out_at_once_both_advance_the_shared_record(tmp_path, monkeypatch):
    """A helper's attack on the review after round fifteen: the one sign-out record of a machine was
    read, changed and written back with no lock of its own; a store signing out while another was
    between its read and its write lost its sign-out, and its copies from before were accepted
    again. The record is read and written under its own lock."""
    record = SignOutRecord(tmp_path / "config" / "generations.json")
    real_read, slow = SignOutRecord._read, threading.Event()

    def read_then_pause(self):
        generations = real_read(self)
        if threading.current_thread().name == "slow store":
            slow.set()
            time.sleep(0.5)  # between its read and its write
        return generations

    monkeypatch.setattr(SignOutRecord, "_read", read_then_pause)
    other = threading.Thread(target=record.advance, args=("file:/b",), name="slow store")
    other.start()
    assert slow.wait(10)
    record.advance("file:/a")
    other.join(10)
    assert (record.generation("file:/a"), record.generation("file:/b")) == (1, 1)


def test_a_sign_out_records_status_is_trusted_only_once_it_is_older_than_a_file_system_tick(tmp_path):
    """Round fourteen, F2: on a file system with coarse times (FAT's 2 s) that uses inodes again, a
    record written twice within a tick kept its status, and a process that had read the token file
    just before took it as "no sign-out since". A record written in the last 3 seconds tells
    nothing; an older one tells by its status."""
    record = SignOutRecord(tmp_path / "config" / "generations.json")
    assert record.stamp() is None  # no record: nothing signed out
    record.advance("file:/a")
    assert record.stamp() != record.stamp()  # just written: never the same
    long_ago = time.time() - 60
    os.utime(record.path, (long_ago, long_ago))
    assert record.stamp() == record.stamp() is not None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_the_sign_out_record_is_private(tmp_path):
    record = SignOutRecord(tmp_path / "config" / "generations.json")
    record.advance("file:/a")
    assert os.stat(record.path).st_mode & 0o077 == 0


# The entry's own checks
def entry(**changes):
    token = Token("ACCESS", expires_at=time.time() + 600, issued_at=time.time())
    values = {
        "discovery_url": URL,
        "client_id": "bot",
        "token": token,
        "discovery": {"issuer": "https://sso"},
        "issuer": "https://sso",
        "audience": ("api",),
        **changes,
    }
    return StoredAuthorisation(**values)


def test_an_entry_matches_only_the_settings_it_was_verified_for():
    assert entry().mismatch(client_id="bot", discovery_url=URL, audience="api") is None
    assert entry().mismatch(client_id="bot", discovery_url=URL, audience=None) is None
    assert "another SSO or client" in entry().mismatch(client_id="other", discovery_url=URL, audience=None)
    assert "requires other-api" in entry().mismatch(client_id="bot", discovery_url=URL, audience="other-api")
    assert "no audience" in entry(audience=None).mismatch(client_id="bot", discovery_url=URL, audience="api")
    assert "issued by https://evil" in entry(issuer="https://evil").mismatch(
        client_id="bot", discovery_url=URL, audience=None
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_id", 5),
        ("discovery_url", ""),
        ("audience", "api"),
        ("audience", ["a"] * 21),
        ("discovery", [1]),
        ("token", None),
    ],
)
def test_an_entry_that_is_not_one_this_library_writes_is_refused(field, value):
    data = entry().to_dict()
    data[field] = value
    with pytest.raises(ValueError):
        StoredAuthorisation.from_dict(data)


def test_an_entry_round_trips_with_what_it_was_verified_for():
    original = entry()
    assert StoredAuthorisation.from_dict(original.to_dict()) == original
    older = {k: v for k, v in entry().to_dict().items() if k not in ("issuer", "audience")}  # an older version's
    assert StoredAuthorisation.from_dict(older).audience is None
