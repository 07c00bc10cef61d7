"""The store contract: every token store implementation passes the same cases.

A networked store is a new module plus one more parameter of the ``backend`` fixture: something
that can open the store (in this process and in other processes), damage its data, write a
hostile value where an entry belongs, and tamper with its supervision record.
"""

import multiprocessing
import threading
import time
from dataclasses import dataclass, field

import pytest

from healthcode_auth import StoreLockTimeout, Token
from healthcode_auth.errors import StoreUnreadableError
from healthcode_auth.storage import open_store
from healthcode_auth.storage.key_sources import read_key
from healthcode_auth.storage.sealing import Sealer
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
    hostile: object = None  # callable(version): an entry sealed with the right key, with that version field
    tamper: object = None  # callable(text): add a record event as someone without the key would
    replay_first: object = None  # callable(): append a copy of the record's first event, as stored
    kept: object = None  # callable(): how many things set-asides have kept

    def open(self, environ=None, **options):
        return open_store(self.setting, environ=self.environ if environ is None else environ, timeout=5, **options)


def sealed(payload):
    return Sealer(read_key("env", ENVIRON)).seal(payload)


def file_backend(tmp_path):
    path = tmp_path / "store" / "tokens.json"

    def damage():
        path.write_bytes(b'{"format": "healthcode-token-cache", "version": 1, "ciphertext": "broken"}')

    def hostile(version):
        data = {**entry().to_dict(), "version": version}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sealed({"entries": {KEY: data}, "last_version": 7}))

    def tamper(text):
        history = path.with_name(path.name + ".history")
        history.write_text((history.read_text() if history.exists() else "") + text + "\n")

    def replay_first():
        tamper(path.with_name(path.name + ".history").read_text().splitlines()[0])

    return Backend(
        str(path),
        damage=damage,
        raw=lambda: path.read_bytes() if path.exists() else b"",
        hostile=hostile,
        tamper=tamper,
        replay_first=replay_first,
        kept=lambda: len(list(path.parent.glob("tokens.json.unreadable-*"))),
    )


def redis_backend(url, server):
    import redis

    from healthcode_auth.storage.redis_store import RedisTokenStore

    client = redis.Redis.from_url(url)
    entry_name = RedisTokenStore(f"{url}?prefix=contract:", environ=ENVIRON, timeout=5, lock_timeout=5)._entry(KEY)

    def damage():
        for key in client.scan_iter("contract:entry:*"):
            client.hset(key, "sealed", b'{"format": "healthcode-token-cache", "version": 1, "ciphertext": "x"}')

    def hostile(version):
        client.delete(entry_name)
        client.hset(entry_name, mapping={"version": str(version), "sealed": sealed(entry().to_dict())})

    def tamper(text):
        client.xadd("contract:history", {"event": text})

    def replay_first():
        tamper(client.xrange("contract:history", count=1)[0][1][b"event"])

    return Backend(
        f"{url}?prefix=contract:",
        damage=damage,
        raw=server.dump,
        hostile=hostile,
        tamper=tamper,
        replay_first=replay_first,
        kept=lambda: len(list(client.scan_iter("contract:unreadable:*"))),
    )


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
    assert operator.remove(KEY, operator.load(KEY).version)  # healthcode-auth logout
    assert not robot.store(entry(access="ACCESS-TOKEN-VALUE-2"), held.version)
    assert backend.open().load(KEY) is None
    assert not operator.remove(KEY, held.version)


def test_versions_are_never_reused_after_removal(backend):
    store = backend.open()
    assert store.store(entry(), None)
    old = store.load(KEY)
    assert store.remove(KEY, old.version)
    assert store.store(entry(access="ACCESS-TOKEN-VALUE-2"), None)
    assert store.load(KEY).version > old.version
    assert not store.store(entry(access="ACCESS-TOKEN-VALUE-3"), old.version)


def test_remove_only_a_given_version(backend):
    store = backend.open()
    assert store.store(entry(), None)
    old = store.load(KEY)
    assert store.store(entry(access="ACCESS-TOKEN-VALUE-2"), old.version)
    assert not store.remove(KEY, old.version)  # a newer token is kept
    assert store.load(KEY) is not None
    assert store.remove(KEY, store.load(KEY).version)
    assert store.load(KEY) is None


@pytest.mark.parametrize("version", ["stale", "unknown", "never-stored"])
def test_remove_with_a_stale_or_unknown_version_removes_nothing(backend, version):
    store = backend.open()
    assert store.store(entry(), None)
    first = store.load(KEY).version
    assert store.store(entry(access="ACCESS-TOKEN-VALUE-2"), first)
    current = store.load(KEY).version
    wrong = {"stale": first, "unknown": current + 1000, "never-stored": 0}[version]
    assert not store.remove(KEY, wrong)
    assert backend.open().load(KEY).version == current
    assert not store.remove(entry_key(URL, "nobody"), current)


def test_entries_of_other_clients_are_independent(backend):
    store = backend.open()
    assert store.store(entry(client_id="a"), None)
    assert store.store(entry(client_id="b", access="ACCESS-TOKEN-VALUE-B"), None)
    assert store.remove(entry_key(URL, "a"), store.load(entry_key(URL, "a")).version)
    assert store.load(entry_key(URL, "b")).entry.token.access_token == "ACCESS-TOKEN-VALUE-B"


def test_damaged_data_is_unreadable_never_empty_and_is_set_aside_explicitly(backend):
    store = backend.open()
    assert store.store(entry(), None)
    backend.damage()
    fresh = backend.open()
    with pytest.raises(StoreUnreadableError, match="cannot be read.*Nothing was changed.*healthcode-auth set-aside"):
        fresh.load(KEY)
    before = backend.raw()
    assert not _stores(fresh, entry(access="ACCESS-TOKEN-VALUE-2"), None)
    assert backend.raw() == before  # nothing written over it
    said = fresh.set_aside(KEY)
    assert "kept" in said
    assert fresh.load(KEY) is None
    assert fresh.store(entry(access="ACCESS-TOKEN-VALUE-2"), None)
    assert backend.open().load(KEY).entry.token.access_token == "ACCESS-TOKEN-VALUE-2"
    assert fresh.set_aside(KEY) is None  # readable now: nothing to set aside


def _stores(store, new, expected):
    """A write over what cannot be read: refused (False), or the whole store refused (an error)."""
    try:
        return store.store(new, expected)
    except StoreUnreadableError:
        return False


def test_unreadable_under_this_key_is_said_and_nothing_is_lost(backend):
    assert backend.open().store(entry(), None)
    other = backend.open(environ={"HEALTHCODE_CACHE_KEY": "another passphrase, not the fleet's"})
    with pytest.raises(StoreUnreadableError, match="HEALTHCODE_CACHE_KEY.*does not decrypt") as raised:
        other.load(KEY)
    assert raised.value.tried == ("env",) and not raised.value.damaged
    assert "a passphrase for the contract tests" not in str(raised.value)
    assert not _stores(other, entry(access="ACCESS-TOKEN-VALUE-OTHER"), None)
    assert backend.open().load(KEY).entry.token.access_token == "ACCESS-TOKEN-VALUE-1"


def test_refused_renewal_is_marked_and_a_late_renewer_can_still_hand_over(backend):
    store = backend.open()
    assert store.store(entry(), None)
    read = store.load(KEY)
    assert read.refused_at is None
    assert store.mark_refused(KEY, read.version, 1_800_000_000.5)
    marked = backend.open().load(KEY)
    assert (marked.version, marked.refused_at) == (read.version, 1_800_000_000.5)
    assert not store.mark_refused(KEY, read.version + 1000, 1.0)
    assert store.store(entry(access="ACCESS-TOKEN-VALUE-LATE"), read.version)  # the paused renewer's pair
    renewed = backend.open().load(KEY)
    assert renewed.refused_at is None and renewed.entry.token.access_token == "ACCESS-TOKEN-VALUE-LATE"


@pytest.mark.parametrize("version", ["abc", "-3", "1.5", "", "9" * 400, "07", "+7", " 7", str(2**53 + 1)])
def test_a_hostile_value_is_reported_never_removed_or_overwritten(backend, version):
    backend.hostile(version)
    store = backend.open()
    with pytest.raises(StoreUnreadableError, match="damaged"):
        store.load(KEY)
    before = backend.raw()
    assert not _stores(store, entry(access="ACCESS-TOKEN-VALUE-2"), None)
    assert not store.remove(KEY, 1)
    assert backend.raw() == before
    assert "kept" in store.set_aside(KEY)
    assert store.store(entry(access="ACCESS-TOKEN-VALUE-2"), None)


def test_the_supervision_record_is_authenticated(backend):
    store = backend.open()
    store.supervision.append({"event": "signed-in", "supervisor": "alice\nsigned-out ceo\x1b[2J"})
    backend.tamper('{"event": "signed-in", "supervisor": "ceo", "mac": "AAAA", "key_source": "env", "id": "1"}')
    backend.tamper("not json at all")
    events = backend.open().supervision.read(10)
    assert [(e.fields.get("supervisor"), e.authentic) for e in events] == [
        ("alice\nsigned-out ceo\x1b[2J", True),
        ("ceo", False),
        (None, False),
    ]
    other = backend.open(environ={"HEALTHCODE_CACHE_KEY": "another passphrase, not the fleet's"})
    assert [e.authentic for e in other.supervision.read(10)] == [False, False, False]


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
            results.put(("renewed", store.store(renewed, read.version) is not None))
        results.put(("token", store.load(KEY).entry.token.access_token))


def test_concurrent_renewals_renew_once(backend):
    backend.open().store(entry(), None)
    robots = 6
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(robots), context.Queue()
    processes = [
        context.Process(target=_renew_once, args=(backend.setting, backend.environ, barrier, results))
        for _ in range(robots)
    ]
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


def test_a_writer_paused_past_its_lease_still_hands_over_its_pair(backend):
    """Robot A renews and pauses holding the lock past its lease (Redis: the lease runs out and B
    gets the lock; file: the OS keeps A's lock, and B waits). B's refresh is refused and B marks
    the entry. Either way A's newer pair ends up stored, not refused, and nothing is removed."""
    assert backend.open().store(entry(), None)
    a, b = backend.open(lock_timeout=0.5), backend.open(lock_timeout=5)
    b_done = threading.Event()

    def robot_b():
        with b.renewal_lock(KEY):  # Redis: after A's lease ran out; file: after A released
            read = b.load(KEY)
            if read.entry.token.access_token == "ACCESS-TOKEN-VALUE-1":  # not renewed yet: B renews, is refused
                b.mark_refused(KEY, read.version, time.time())
        b_done.set()

    with a.renewal_lock(KEY):
        read = a.load(KEY)
        threading.Thread(target=robot_b, daemon=True).start()
        time.sleep(1.2)  # paused past the 0.5 s lease
        assert a.store(entry(access="ACCESS-TOKEN-VALUE-RENEWED-BY-A"), read.version)
    assert b_done.wait(10)
    final = backend.open().load(KEY)
    assert final.entry.token.access_token == "ACCESS-TOKEN-VALUE-RENEWED-BY-A"
    assert final.refused_at is None


def test_two_set_asides_never_overwrite_each_other(backend):
    """Red team, break 6: the second set-aside in the same second replaced what the first kept."""
    store = backend.open()
    for access in ("ACCESS-TOKEN-VALUE-1", "ACCESS-TOKEN-VALUE-2"):
        assert store.store(entry(access=access), None)
        backend.damage()
        assert "kept" in backend.open().set_aside(KEY)
    assert backend.kept() == 2


def test_a_repeated_event_is_not_authentic_however_far_back_its_original_is(backend):
    """Red team, break 10: the copy of an event older than the window shown passed as authentic."""
    store = backend.open()
    for number in range(30):
        store.supervision.append({"event": "renewed", "supervisor": f"robot-{number}"})
    backend.replay_first()
    shown = backend.open().supervision.read(5)
    assert [e.authentic for e in shown] == [True, True, True, True, False]
    assert shown[-1].fields["supervisor"] == "robot-0"


def test_a_claim_is_made_once_for_the_whole_fleet_until_it_expires(backend):
    first, second = backend.open(), backend.open()
    # Claims of 2 s: a busy machine (pytest's workers) may pause this test for half a second.
    made, _, at, *_ = first.claim("waiting|KEY|7", 2)  # a Claim: more in test_claims.py
    assert made and abs(at - time.time()) < 5
    again, _, when, *_ = second.claim("waiting|KEY|7", 2)
    assert not again and abs(when - at) < 0.01  # the other robot is told when it was claimed
    assert second.claim("waiting|KEY|8", 2)[0]  # another authorisation, another claim
    time.sleep(2.2)
    assert second.claim("waiting|KEY|7", 2)[0]  # expired: claimed anew


def test_a_robot_waiting_for_a_change_wakes_when_the_entry_is_written(backend):
    waiter = backend.open()
    woke = []

    def wait():
        waiter.wait_for_change(KEY, None, 30)
        woke.append(time.monotonic())

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    time.sleep(0.3)
    assert not woke
    backend.open().store(entry(), None)
    written = time.monotonic()
    thread.join(30)
    assert woke and woke[0] - written < 6  # pub/sub or polling: within a poll, never the whole timeout
    started = time.monotonic()
    waiter.wait_for_change(KEY, waiter.load(KEY).version, 0.3)  # unchanged: returns at the timeout
    assert 0.25 < time.monotonic() - started < 5
