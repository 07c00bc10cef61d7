"""The store contract: every token store implementation passes the same cases.

A networked store is a new module plus one more parameter of the ``backend`` fixture: something
that can open the store (in this process and in other processes) and damage its data.
"""

import multiprocessing
import time
from dataclasses import dataclass, field

import pytest

from healthcode_auth import StoreLockTimeout, Token
from healthcode_auth.storage import open_store
from healthcode_auth.storage.store import StoredAuthorisation, entry_key

URL = "https://sso.example.test/.well-known/openid-configuration"
KEY = entry_key(URL, "example_rpa_app")
ENVIRON = {"HEALTHCODE_CACHE_KEY": "a passphrase for the contract tests"}


@dataclass
class Backend:
    """How the tests reach one store implementation."""

    setting: str
    environ: dict = field(default_factory=lambda: dict(ENVIRON))
    damage: object = None  # callable: make the stored data unreadable
    raw: object = None  # callable: every stored byte, for the plain-text check

    def open(self):
        return open_store(self.setting, environ=self.environ, timeout=5)


def file_backend(tmp_path):
    path = tmp_path / "store" / "tokens.json"

    def damage():
        path.write_bytes(b'{"format": "healthcode-token-cache", "version": 1, "ciphertext": "broken"}')

    return Backend(str(path), damage=damage, raw=lambda: path.read_bytes() if path.exists() else b"")


def redis_backend(url, server):
    import redis

    def damage():
        client = redis.Redis.from_url(url)
        for key in client.scan_iter("contract:entry:*"):
            client.hset(key, "sealed", b'{"format": "healthcode-token-cache", "version": 1, "ciphertext": "x"}')

    return Backend(f"{url}?prefix=contract:", damage=damage, raw=server.dump)


@pytest.fixture(params=["file", "redis"])
def backend(request, tmp_path):
    if request.param == "redis":
        return redis_backend(request.getfixturevalue("redis_url"), request.getfixturevalue("redis_server"))
    return file_backend(tmp_path)


def entry(access="ACCESS-TOKEN-VALUE-1", client_id="example_rpa_app", refresh="REFRESH-TOKEN-VALUE-1"):
    token = Token(access_token=access, expires_at=time.time() + 3600, refresh_token=refresh)
    return StoredAuthorisation(URL, client_id, token, discovery={"issuer": "https://sso.example.test"})


def test_nothing_stored_loads_as_none(backend):
    assert backend.open().load(KEY) is None


def test_store_creates_and_loads_with_a_version(backend):
    store = backend.open()
    assert store.store(entry(), None)
    loaded = backend.open().load(KEY)
    assert loaded.entry.token.access_token == "ACCESS-TOKEN-VALUE-1"
    assert loaded.entry.token.refresh_token == "REFRESH-TOKEN-VALUE-1"
    assert loaded.entry.discovery == {"issuer": "https://sso.example.test"}
    assert isinstance(loaded.version, int)


def test_create_is_refused_when_an_entry_exists(backend):
    store = backend.open()
    assert store.store(entry(), None)
    assert not store.store(entry(access="ACCESS-TOKEN-VALUE-2"), None)
    assert store.load(KEY).entry.token.access_token == "ACCESS-TOKEN-VALUE-1"


def test_compare_and_set_accepts_the_version_read_and_refuses_a_stale_one(backend):
    first, second = backend.open(), backend.open()
    assert first.store(entry(), None)
    read = second.load(KEY)
    assert first.store(entry(access="ACCESS-TOKEN-VALUE-2"), read.version)  # robot 1 renews
    newer = first.load(KEY)
    assert newer.version > read.version
    assert not second.store(entry(access="ACCESS-TOKEN-VALUE-3"), read.version)  # robot 2 is late
    assert backend.open().load(KEY).entry.token.access_token == "ACCESS-TOKEN-VALUE-2"


def test_removal_while_another_robot_holds_the_entry_is_not_undone(backend):
    robot, operator = backend.open(), backend.open()
    assert robot.store(entry(), None)
    held = robot.load(KEY)
    assert operator.remove(KEY)  # healthcode-auth logout
    assert not robot.store(entry(access="ACCESS-TOKEN-VALUE-2"), held.version)
    assert backend.open().load(KEY) is None
    assert not operator.remove(KEY)


def test_versions_are_never_reused_after_removal(backend):
    store = backend.open()
    assert store.store(entry(), None)
    old = store.load(KEY)
    assert store.remove(KEY)
    assert store.store(entry(access="ACCESS-TOKEN-VALUE-2"), None)
    assert store.load(KEY).version > old.version
    assert not store.store(entry(access="ACCESS-TOKEN-VALUE-3"), old.version)


def test_remove_only_a_given_version(backend):
    store = backend.open()
    assert store.store(entry(), None)
    old = store.load(KEY)
    assert store.store(entry(access="ACCESS-TOKEN-VALUE-2"), old.version)
    assert not store.remove(KEY, only_version=old.version)  # a newer token is kept
    assert store.load(KEY) is not None
    assert store.remove(KEY, only_version=store.load(KEY).version)
    assert store.load(KEY) is None


def test_entries_of_other_clients_are_independent(backend):
    store = backend.open()
    assert store.store(entry(client_id="a"), None)
    assert store.store(entry(client_id="b", access="ACCESS-TOKEN-VALUE-B"), None)
    assert store.remove(entry_key(URL, "a"))
    assert store.load(entry_key(URL, "b")).entry.token.access_token == "ACCESS-TOKEN-VALUE-B"


def test_corrupt_data_reads_as_empty_and_can_be_replaced(backend):
    store = backend.open()
    assert store.store(entry(), None)
    backend.damage()
    fresh = backend.open()
    assert fresh.load(KEY) is None
    assert fresh.store(entry(access="ACCESS-TOKEN-VALUE-2"), None)
    assert backend.open().load(KEY).entry.token.access_token == "ACCESS-TOKEN-VALUE-2"


def test_no_secret_is_stored_in_plain_text(backend):
    backend.open().store(entry(), None)
    raw = backend.raw()
    assert raw
    for secret in (b"ACCESS-TOKEN-VALUE-1", b"REFRESH-TOKEN-VALUE-1", ENVIRON["HEALTHCODE_CACHE_KEY"].encode()):
        assert secret not in raw


def _renew_once(setting, environ, barrier, results):
    """One robot: wait for the others, then renew under the lock unless someone already did."""
    store = open_store(setting, environ=environ, timeout=5)
    barrier.wait()
    with store.renewal_lock(KEY):
        read = store.load(KEY)
        if read.entry.token.access_token == "ACCESS-TOKEN-VALUE-1":
            time.sleep(0.2)  # a slow refresh request
            renewed = entry(access=f"RENEWED-BY-{multiprocessing.current_process().name}")
            results.put(("renewed", store.store(renewed, read.version)))
        results.put(("token", store.load(KEY).entry.token.access_token))


def test_concurrent_renewals_renew_once(backend):
    backend.open().store(entry(), None)
    robots = 6
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(robots), context.Queue()
    processes = [context.Process(target=_renew_once, args=(backend.setting, backend.environ, barrier, results))
                 for _ in range(robots)]
    for process in processes:
        process.start()
    seen = [results.get(timeout=60) for _ in range(robots + 1)]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert [value for kind, value in seen if kind == "renewed"] == [True]
    tokens = {value for kind, value in seen if kind == "token"}
    assert len(tokens) == 1
    assert tokens.pop().startswith("RENEWED-BY-")


def _hold_lock(setting, environ, held, release):
    store = open_store(setting, environ=environ, lock_timeout=60, timeout=5)
    with store.renewal_lock(KEY):
        held.set()
        release.wait(30)


def test_a_held_renewal_lock_times_out_clearly(backend):
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(backend.setting, backend.environ, held, release))
    holder.start()
    try:
        assert held.wait(30)
        store = backend.open()
        store.lock_timeout = 0.5
        started = time.monotonic()
        with pytest.raises(StoreLockTimeout, match="held the (token cache|renewal) lock"), store.renewal_lock(KEY):
            pass
        assert time.monotonic() - started < 10
    finally:
        release.set()
        holder.join(timeout=30)
