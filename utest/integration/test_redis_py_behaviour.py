"""What redis-py (the pinned version) does against a real Redis: the claims of docs/notes/redis-py.md.

Each test pins one finding the Redis token store will rely on, so a redis-py or Redis upgrade that
changes it fails here first; the note cites these tests by name.
"""

import builtins
import ssl
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.exceptions import (
    AuthenticationError,
    LockError,
    LockNotOwnedError,
    NoPermissionError,
    ResponseError,
    WatchError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from redis_server import requires_redis_server

pytestmark = requires_redis_server

# Compare-and-set on a version number, the recommended way (one atomic round trip).
# KEYS[1] the record (a hash: version, value); ARGV[1] the version the writer read (0: absent); ARGV[2] new value.
# Returns {1, new_version} when written, {0, current_version} when someone else wrote first.
CAS_SCRIPT = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[1]) then
  return {0, current}
end
redis.call('HSET', KEYS[1], 'version', current + 1, 'value', ARGV[2])
return {1, current + 1}
"""

# What a least-privilege user of such a store needs (see the note, section f).
STORE_COMMANDS = [
    "ping",
    "get",
    "set",
    "del",
    "hget",
    "hset",
    "pttl",
    "pexpire",
    "evalsha",
    "script|load",
    "xadd",
    "xrevrange",
]


def info_count(server, section, name, field):
    """``field`` of the ``name:k=v,...`` line of INFO ``section`` (0 while the line is absent)."""
    for line in server.execute("INFO", section).splitlines():
        if line.startswith(f"{name}:"):
            return int(dict(kv.split("=") for kv in line.split(":", 1)[1].split(","))[field])
    return 0


def cas_with_script(script, client, key, expected, value):
    written, _version = script(keys=[key], args=[expected, value], client=client)
    return bool(written)


def cas_with_watch(client, key, expected, value):
    with client.pipeline() as pipe:
        try:
            pipe.watch(key)
            current = int(pipe.hget(key, "version") or 0)
            if current != expected:
                return False
            pipe.multi()
            pipe.hset(key, mapping={"version": expected + 1, "value": value})
            pipe.execute()
            return True
        except WatchError:
            return False


# --- (a) connecting ------------------------------------------------------------------------------------


def test_from_url_takes_user_password_and_db_and_unquotes_them(redis_server, redis_url):
    password = "p@ss:w/rd%20?# é"
    redis_server.create_user("store@bot", keys=["healthcode:*"], commands=["set", "select"], password=password)
    url = redis_server.url_for("store@bot", password, db=3)
    assert url.startswith("redis://store%40bot:p%40ss%3Aw%2Frd%2520%3F%23%20%C3%A9@127.0.0.1:")
    r = redis.Redis.from_url(url)
    kwargs = r.connection_pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("store@bot", password, 3)
    assert r.set("healthcode:x", "db3") is True
    assert redis.Redis.from_url(redis_url).get("healthcode:x") is None  # it went to db 3, not 0


def test_rediss_verifies_against_the_given_ca_and_the_hostname(redis_tls_server, redis_tls_url):
    r = redis.Redis.from_url(
        redis_tls_url, ssl_ca_certs=redis_tls_server.ca_file, ssl_cert_reqs="required", ssl_check_hostname=True
    )
    assert r.ping() is True
    connection = r.connection_pool.get_connection()
    assert (connection.cert_reqs, connection.check_hostname) == (ssl.CERT_REQUIRED, True)
    r.connection_pool.release(connection)


def test_ssl_ca_certs_is_added_to_the_system_cas_not_used_alone(redis_tls_server, redis_tls_url, monkeypatch):
    contexts = []
    original = ssl.create_default_context

    def spy(*args, **kwargs):
        contexts.append(original(*args, **kwargs))
        return contexts[-1]

    monkeypatch.setattr(ssl, "create_default_context", spy)
    assert redis.Redis.from_url(redis_tls_url, ssl_ca_certs=redis_tls_server.ca_file).ping() is True
    system = original().cert_store_stats()["x509_ca"]
    assert contexts[-1].cert_store_stats()["x509_ca"] == system + 1


def test_rediss_verifies_by_default_and_ssl_keywords_break_a_plain_url(redis_server, redis_tls_url):
    connection = redis.Redis.from_url(redis_tls_url).connection_pool.make_connection()
    assert (connection.cert_reqs, connection.check_hostname, connection.ca_certs) == (ssl.CERT_REQUIRED, True, None)
    plain = redis.Redis.from_url(redis_server.url, ssl_ca_certs="/nonexistent/ca.pem")  # accepted here...
    with pytest.raises(TypeError, match="unexpected keyword argument 'ssl_ca_certs'"):
        plain.ping()  # ...and refused at the first connection: pass ssl_* only with rediss://


@pytest.mark.parametrize("query", ["ssl_cert_reqs=none", "ssl_check_hostname=false&ssl_cert_reqs=optional"])
def test_a_url_query_string_overrides_the_tls_keyword_arguments(redis_tls_url, query):
    # No CA given, verification asked for in kwargs: the URL's query string still turns it off.
    r = redis.Redis.from_url(f"{redis_tls_url}?{query}", ssl_cert_reqs="required", ssl_check_hostname=True)
    if "optional" in query:
        with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            r.ping()  # 'optional' still verifies a certificate the server sends
    else:
        assert r.ping() is True  # connected to a server whose certificate nobody checked


# --- (b) time bounds and exception classes -----------------------------------------------------------


def test_from_url_does_not_retry_but_the_constructor_retries_ten_times(redis_server, redis_url):
    from_url = redis.Redis.from_url(redis_url).connection_pool.make_connection()
    constructed = redis.Redis(host="127.0.0.1", port=redis_server.port, password=redis_server.password)
    direct = constructed.connection_pool.make_connection()
    assert from_url.retry.get_retries() == 0
    assert isinstance(from_url.retry._backoff, NoBackoff)
    assert direct.retry.get_retries() == 10
    assert (from_url._socket_timeout, from_url._socket_connect_timeout) == (5, 5)


def test_exception_classes(redis_server_factory, redis_tls_server, redis_tls_url):
    server = redis_server_factory()
    fast = {"socket_timeout": 0.3, "socket_connect_timeout": 0.3}

    with pytest.raises(AuthenticationError, match="invalid username-password pair") as auth:
        redis.Redis.from_url(server.url_for(password="wrong"), **fast).ping()
    assert isinstance(auth.value, RedisConnectionError)  # a subclass: retried like a network error

    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED") as tls:
        redis.Redis.from_url(redis_tls_url, **fast).ping()
    assert isinstance(tls.value.__context__, ssl.SSLCertVerificationError)

    r = redis.Redis.from_url(server.url, **fast)
    r.ping()
    server.pause()
    with pytest.raises(RedisTimeoutError, match="Timeout reading from"):
        r.get("healthcode:x")
    server.resume()

    r.ping()
    server.execute("CLIENT", "PAUSE", "5000", "ALL")
    killer = threading.Timer(0.1, server.kill)
    killer.start()
    with pytest.raises(RedisConnectionError, match="Connection closed by server"):
        redis.Redis.from_url(server.url).get("healthcode:x")  # sent, then the server died
    killer.join()  # the process reaped: its listening socket is gone too, not merely its connections

    with pytest.raises(RedisConnectionError, match="Connection refused") as refused:
        redis.Redis.from_url(server.url, **fast).get("healthcode:x")  # a new connection to the dead server
    assert isinstance(refused.value.__context__, ConnectionRefusedError)
    with pytest.raises(RedisConnectionError):  # a pooled one: refused, or reset on the old socket
        r.get("healthcode:x")

    # None of them is the builtin exception of the same name.
    assert not issubclass(RedisConnectionError, builtins.ConnectionError)
    assert not issubclass(RedisTimeoutError, builtins.TimeoutError)
    assert issubclass(NoPermissionError, ResponseError)


def test_an_idle_pooled_connection_survives_a_restart_without_an_error(redis_server_factory):
    server = redis_server_factory()
    r = redis.Redis.from_url(server.url)
    r.set("healthcode:x", "1")
    server.restart()
    assert r.get("healthcode:x") is None  # reconnected silently; the data is gone


def test_retries_and_socket_timeout_bound_a_call(redis_server_factory):
    server = redis_server_factory()
    r = redis.Redis.from_url(server.url, socket_timeout=0.2, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 2))
    r.ping()
    server.pause()
    started = time.monotonic()
    with pytest.raises(RedisTimeoutError):
        r.get("healthcode:x")
    elapsed = time.monotonic() - started
    server.resume()
    assert 0.6 <= elapsed < 3  # (1 + retries) x socket_timeout, no backoff


def test_a_wrong_password_is_retried_like_a_network_error(redis_server_factory):
    server = redis_server_factory()
    with pytest.raises(AuthenticationError):
        redis.Redis.from_url(server.url_for(password="wrong"), retry=Retry(NoBackoff(), 3)).ping()
    assert info_count(server, "errorstats", "errorstat_WRONGPASS", "count") == 4  # 1 try + 3 retries


def test_health_check_interval_pings_before_a_command_on_an_idle_connection(redis_server_factory):
    server = redis_server_factory()
    r = redis.Redis.from_url(server.url, health_check_interval=1)
    r.get("healthcode:x")
    pings = info_count(server, "commandstats", "cmdstat_ping", "calls")
    r.get("healthcode:x")
    assert info_count(server, "commandstats", "cmdstat_ping", "calls") == pings  # not idle long enough
    time.sleep(1.1)
    r.get("healthcode:x")
    assert info_count(server, "commandstats", "cmdstat_ping", "calls") == pings + 1


# --- (c) Lock ------------------------------------------------------------------------------------------


def test_lock_whose_lease_expired_under_a_slow_holder(redis_url):
    r = redis.Redis.from_url(redis_url)
    slow = r.lock("healthcode:lock", timeout=0.5, blocking_timeout=0.1, thread_local=False)
    other = r.lock("healthcode:lock", timeout=5, blocking_timeout=0.1, thread_local=False)
    assert slow.acquire() is True
    assert other.acquire() is False  # blocking_timeout ran out: False, no exception
    time.sleep(0.6)
    assert slow.owned() is False and slow.locked() is False
    assert other.acquire() is True
    with pytest.raises(LockNotOwnedError):
        slow.extend(1)
    with pytest.raises(LockNotOwnedError):
        slow.reacquire()
    with pytest.raises(LockNotOwnedError, match="no longer owned"):
        slow.release()  # does not delete the other holder's lock
    assert other.owned() is True
    with pytest.raises(LockError, match="not owned or is already unlocked"):
        slow.release()  # the token was dropped by the failed release
    other.release()


def test_lock_context_manager_raises_when_the_lease_ran_out_or_it_could_not_acquire(redis_url):
    r = redis.Redis.from_url(redis_url)
    with pytest.raises(LockNotOwnedError), r.lock("healthcode:lock", timeout=0.1, thread_local=False):
        time.sleep(0.2)
    holder = r.lock("healthcode:lock", timeout=5)
    holder.acquire()
    with pytest.raises(LockError, match="Unable to acquire lock"), r.lock("healthcode:lock", blocking_timeout=0.2):
        pass
    holder.release()


def test_lock_extend_adds_or_replaces_and_reacquire_resets_the_lease(redis_url):
    r = redis.Redis.from_url(redis_url)
    lock = r.lock("healthcode:lock", timeout=5, thread_local=False)
    lock.acquire()
    lock.extend(2)
    assert 6500 < r.pttl("healthcode:lock") <= 7000  # added to what was left
    lock.extend(1, replace_ttl=True)
    assert 500 < r.pttl("healthcode:lock") <= 1000
    lock.reacquire()
    assert 4500 < r.pttl("healthcode:lock") <= 5000  # back to timeout
    lock.release()
    no_lease = r.lock("healthcode:lock2", thread_local=False)
    no_lease.acquire()
    assert r.pttl("healthcode:lock2") == -1
    with pytest.raises(LockError, match="no timeout"):
        no_lease.extend(1)
    no_lease.release()


def test_lock_token_is_per_thread_unless_thread_local_is_false(redis_url):
    r = redis.Redis.from_url(redis_url)
    outcome = {}
    for thread_local in (True, False):
        lock = r.lock(f"healthcode:lock-{thread_local}", timeout=5, thread_local=thread_local)
        lock.acquire()

        def release_elsewhere(lock=lock, thread_local=thread_local):
            try:
                lock.release()
                outcome[thread_local] = "released"
            except Exception as error:
                outcome[thread_local] = type(error).__name__

        worker = threading.Thread(target=release_elsewhere)
        worker.start()
        worker.join()
    assert outcome == {True: "AttributeError", False: "released"}  # not even a LockError
    r.delete("healthcode:lock-True")


def test_a_redis_restart_forgets_the_lock(redis_server_factory):
    server = redis_server_factory()
    r = redis.Redis.from_url(server.url)
    first = r.lock("healthcode:lock", timeout=60, thread_local=False)
    second = r.lock("healthcode:lock", timeout=60, blocking_timeout=0, thread_local=False)
    assert first.acquire() is True
    server.restart()
    assert second.acquire() is True  # two holders now believe they own it
    with pytest.raises(LockNotOwnedError):
        first.release()


# --- (d) compare-and-set on a version number -----------------------------------------------------------


@pytest.mark.parametrize("approach", ["script", "watch"])
def test_compare_and_set_on_a_version(redis_url, approach):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    script = r.register_script(CAS_SCRIPT)

    def cas(client, key, expected, value):
        if approach == "script":
            return cas_with_script(script, client, key, expected, value)
        return cas_with_watch(client, key, expected, value)

    assert cas(r, "healthcode:record", 0, "a") is True
    assert cas(r, "healthcode:record", 0, "b") is False  # stale version
    assert r.hgetall("healthcode:record") == {"version": "1", "value": "a"}

    writes = []

    def writer(index):
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        for _ in range(25):
            while not cas(client, "healthcode:record", int(client.hget("healthcode:record", "version")), f"w{index}"):
                pass
            writes.append(index)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(writes) == 100
    assert r.hget("healthcode:record", "version") == "101"  # no write lost, none doubled


def test_script_survives_a_restart_by_loading_itself_again(redis_server_factory):
    server = redis_server_factory()
    r = redis.Redis.from_url(server.url)
    script = r.register_script(CAS_SCRIPT)
    assert script(keys=["healthcode:record"], args=[0, "a"]) == [1, 1]
    server.restart()  # empty script cache: EVALSHA answers NOSCRIPT, redis-py runs SCRIPT LOAD and retries
    assert script(keys=["healthcode:record"], args=[0, "a"]) == [1, 1]


def test_watch_reports_a_lost_connection_as_a_watch_error(redis_server_factory):
    server = redis_server_factory()
    r = redis.Redis.from_url(server.url)
    with r.pipeline() as pipe:
        pipe.watch("healthcode:record")
        server.restart()
        with pytest.raises(WatchError, match="ConnectionError occurred while watching"):
            pipe.hget("healthcode:record", "version")


# --- (e) streams for a bounded audit log ----------------------------------------------------------------


def test_stream_trimming_approximate_and_exact_and_newest_first(redis_url):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    for n in range(250):
        r.xadd("healthcode:audit", {"n": n}, maxlen=10, approximate=True)
    assert r.xlen("healthcode:audit") == 50  # whole 100-entry nodes only: far above 10
    for n in range(250, 1000):
        r.xadd("healthcode:audit", {"n": n}, maxlen=300, approximate=True)
    assert 300 <= r.xlen("healthcode:audit") < 400
    r.xadd("healthcode:audit", {"n": 1000}, maxlen=10, approximate=False)
    assert r.xlen("healthcode:audit") == 10
    newest = r.xrevrange("healthcode:audit", count=3)
    assert [fields["n"] for _id, fields in newest] == ["1000", "999", "998"]
    assert r.xrevrange("healthcode:nothing", count=3) == []


# --- (f) a least-privilege ACL user --------------------------------------------------------------------


def test_least_privilege_user_runs_the_whole_store_workload(redis_server, redis_url):
    user = redis_server.create_user("store", keys=["healthcode:*"], commands=STORE_COMMANDS)
    r = redis.Redis.from_url(user.url, decode_responses=True)
    assert r.ping() is True
    lock = r.lock("healthcode:lock", timeout=2, blocking_timeout=1, thread_local=False)
    assert lock.acquire() is True
    lock.extend(1)
    lock.reacquire()
    script = r.register_script(CAS_SCRIPT)
    assert script(keys=["healthcode:record"], args=[0, "token"]) == [1, 1]
    redis_server.execute("SCRIPT", "FLUSH")
    assert script(keys=["healthcode:record"], args=[1, "token2"]) == [1, 2]  # NOSCRIPT -> SCRIPT LOAD
    r.set("healthcode:plain", "v", px=60_000)
    assert r.get("healthcode:plain") == "v"
    r.delete("healthcode:plain")
    r.xadd("healthcode:audit", {"event": "refreshed"}, maxlen=100, approximate=True)
    assert r.xrevrange("healthcode:audit", count=1)[0][1] == {"event": "refreshed"}
    lock.release()
    assert redis_server.execute("ACL", "LOG") == []  # nothing was denied, the handshake included


def test_least_privilege_user_is_denied_the_rest(redis_server, redis_url):
    user = redis_server.create_user("store", keys=["healthcode:*"], commands=STORE_COMMANDS)
    r = redis.Redis.from_url(user.url)
    for denied in (
        lambda: r.get("other:token"),
        lambda: r.eval("return 1", 0),
        lambda: r.pipeline().watch("healthcode:record"),
        lambda: r.keys("*"),
        lambda: r.flushall(),
        lambda: r.config_get("requirepass"),
        lambda: r.acl_whoami(),
        lambda: r.register_script("return redis.call('GET', KEYS[1])")(keys=["other:token"]),
    ):
        with pytest.raises(NoPermissionError):
            denied()
    with pytest.raises(ResponseError, match="can't run this command") as inside_script:
        r.register_script("return redis.call('FLUSHALL')")()
    assert not isinstance(inside_script.value, NoPermissionError)
