"""A fleet on a real Redis: robots on many machines share one supervisor's authorisation.

Every test here talks to a real ``redis-server`` (``utest/redis_server.py``) and the sandbox SSO.
"""

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from healthcode_auth import (
    ConfigurationError,
    NoValidTokenError,
    StoreLockTimeout,
    StoreUnavailableError,
    StoreUnreadableError,
    Token,
)
from healthcode_auth.session import HealthcodeSession, renewal_time_bound
from healthcode_auth.storage.key_sources import new_random_key
from sandbox_clients import new_session as robot  # a robot on some machine: nothing remembered but the store
from sandbox_clients import sign_in

FLEET_KEY = new_random_key()


@pytest.fixture
def fleet(redis_server, redis_url, monkeypatch):
    """The fleet's store: a clean Redis (``redis_url`` resets it) and the shared key in this process's environment."""
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    return redis_server


def test_a_supervisor_signs_in_once_and_robots_elsewhere_use_it_without_a_request(fleet, sandbox):
    token = sign_in(robot(sandbox, fleet.url))
    sandbox.reset_stats()
    elsewhere = robot(sandbox, fleet.url)
    assert elsewhere.access_token().access_token == token.access_token
    assert sandbox.stats() == {}


def test_logout_on_one_machine_signs_the_fleet_out(fleet, sandbox):
    sign_in(robot(sandbox, fleet.url))
    robot(sandbox, fleet.url).clear()  # healthcode-auth logout, on another machine
    with pytest.raises(NoValidTokenError, match="supervisor must sign in"):
        robot(sandbox, fleet.url).access_token()


@pytest.mark.refresh_tokens
def test_redis_never_holds_a_secret_in_plain_text(fleet, sandbox):
    session = robot(sandbox, fleet.url)
    sign_in(session)
    sandbox.set_faults(token_lifetime=60)
    sign_in(session)  # a second sign-in, and a renewal below
    session.expiry_margin = 120
    session.access_token()
    stored = fleet.dump()
    secrets_ = [s for s in sandbox.issued_secrets().all if len(s) >= 8]
    secrets_ += [FLEET_KEY, fleet.password]
    assert len(secrets_) > 5
    for secret in secrets_:
        assert secret.encode() not in stored


def test_a_robot_that_cannot_reach_redis_fails_within_its_timeout_naming_the_store(sandbox, monkeypatch, unused_port):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    url = f"redis://:store-password-123@127.0.0.1:{unused_port}/0"
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        robot(sandbox, url, timeout=2).access_token()
    assert time.monotonic() - started < 2 + 1.5
    message = str(caught.value)
    assert f"redis://127.0.0.1:{unused_port}/0" in message
    assert "Check the host and port in the store URL" in message
    assert "store-password-123" not in message


def test_a_wrong_password_is_named_but_never_shown(fleet, sandbox):
    url = fleet.url_for(password="wrong-password-456")
    with pytest.raises(StoreUnavailableError, match="refused the user name or password") as caught:
        robot(sandbox, url).access_token()
    assert "wrong-password-456" not in str(caught.value)
    assert fleet.password not in str(caught.value)


def test_the_store_needs_the_fleets_key(fleet, sandbox, monkeypatch):
    monkeypatch.delenv("HEALTHCODE_CACHE_KEY")
    with pytest.raises(ConfigurationError, match="HEALTHCODE_CACHE_KEY.*healthcode-auth key new"):
        robot(sandbox, fleet.url)


@pytest.mark.parametrize("query", ["?ssl_cert_reqs=none", "?socket_timeout=99", "?prefix=a&db=2"])
def test_only_a_prefix_may_ride_on_the_url(fleet, sandbox, query):
    with pytest.raises(ConfigurationError, match="may only carry '\\?prefix=...'"):
        robot(sandbox, fleet.url + query)


def test_fleets_sharing_a_redis_are_kept_apart_by_their_prefix(fleet, sandbox):
    token = sign_in(robot(sandbox, fleet.url + "?prefix=team-a:"))
    with pytest.raises(NoValidTokenError):
        robot(sandbox, fleet.url + "?prefix=team-b:").access_token()
    assert robot(sandbox, fleet.url + "?prefix=team-a:").access_token().access_token == token.access_token


def test_tls_with_the_fleets_ca(redis_tls_server, redis_tls_url, sandbox, monkeypatch):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    token = sign_in(robot(sandbox, redis_tls_url, ca_bundle=redis_tls_server.ca_file))
    assert (
        robot(sandbox, redis_tls_url, ca_bundle=redis_tls_server.ca_file).access_token().access_token
        == token.access_token
    )
    with pytest.raises(StoreUnavailableError, match="certificate|CA bundle"):
        robot(sandbox, redis_tls_url).access_token()


def test_a_robot_on_another_key_cannot_read_or_overwrite_the_fleets_token(fleet, sandbox, monkeypatch, caplog):
    token = sign_in(robot(sandbox, fleet.url))
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", new_random_key())
    stranger = robot(sandbox, fleet.url)
    with pytest.raises(StoreUnreadableError, match="check|HEALTHCODE_CACHE_KEY"):
        stranger.access_token()
    sign_in(stranger)  # its own sign-in is kept for its run only, and says why
    assert "kept in memory for this run only" in caplog.text and "cannot be read" in caplog.text
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    assert robot(sandbox, fleet.url).access_token().access_token == token.access_token


def test_redis_restarted_mid_run(fleet, sandbox):
    running = robot(sandbox, fleet.url)
    token = sign_in(running)
    fleet.restart()  # no persistence: the fleet's authorisation is gone with it
    assert running.access_token().access_token == token.access_token  # still valid, in this robot's memory
    with pytest.raises(NoValidTokenError, match="supervisor must sign in"):
        robot(sandbox, fleet.url).access_token()  # a new robot is told to sign in, not an error
    sign_in(robot(sandbox, fleet.url))  # and the same URL works again


@pytest.mark.refresh_tokens
def test_redis_unreachable_a_valid_token_in_memory_is_used_a_due_one_is_not_renewed(fleet, sandbox):
    sandbox.set_faults(token_lifetime=600)
    running = robot(sandbox, fleet.url, timeout=2)
    token = sign_in(running)
    fleet.stop()
    try:
        assert running.access_token().access_token == token.access_token  # read earlier: used
        running.expiry_margin = 900  # now due: renewing needs the fleet's lock and store
        sandbox.reset_stats()
        with pytest.raises(StoreUnavailableError, match="Could not reach the token store"):
            running.access_token()
        assert sandbox.request_count("token.refresh_token") == 0  # no renewal behind the fleet's back
    finally:
        fleet.start()


RENEWER = """
import os, sys
sys.path[:0] = sys.argv[4:]
from healthcode_auth import HealthcodeConfig
from healthcode_auth.session import HealthcodeSession
config = HealthcodeConfig(client_id="example_rpa_app", redirect_uri="https://rpaapp.example.com/postauth",
                          environment=sys.argv[1], token_cache=sys.argv[2], timeout=float(sys.argv[3]),
                          expiry_margin=900)
print("renewing", flush=True)
HealthcodeSession.from_config(config).access_token()
"""


@pytest.mark.refresh_tokens
def test_a_lock_holder_killed_mid_renewal_delays_the_others_by_at_most_the_lease(fleet, sandbox):
    timeout = 2.0
    sandbox.set_faults(token_lifetime=600)
    sign_in(robot(sandbox, fleet.url))
    sandbox.set_faults(token_delay=30)  # the holder's refresh hangs at the SSO
    here = os.path.dirname(__file__)
    holder = subprocess.Popen(
        [sys.executable, "-c", RENEWER, sandbox.discovery_url, fleet.url, str(timeout), here, os.path.dirname(here)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HEALTHCODE_CACHE_KEY": FLEET_KEY},
    )
    assert holder.stdout.readline().strip() == "renewing"
    deadline = time.monotonic() + 30
    while sandbox.request_count("token.refresh_token") == 0:  # it holds the lock and waits on the SSO
        assert time.monotonic() < deadline
        time.sleep(0.05)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    sandbox.set_faults(token_delay=0)
    waiter = robot(sandbox, fleet.url, timeout=timeout, expiry_margin=900)
    started = time.monotonic()
    renewed = waiter.access_token()
    waited = time.monotonic() - started
    assert waited < renewal_time_bound(timeout) + 2  # at most the lease, then it renews itself
    assert renewed.seconds_left() > 500
    assert sandbox.request_count("token.refresh_token") == 2


def _renew(discovery_url, store_url, key, barrier, results):
    os.environ["HEALTHCODE_CACHE_KEY"] = key
    from healthcode_auth import HealthcodeConfig

    config = HealthcodeConfig(
        client_id="example_rpa_app",
        redirect_uri="https://rpaapp.example.com/postauth",
        environment=discovery_url,
        token_cache=store_url,
    )
    session = HealthcodeSession.from_config(config)
    barrier.wait()
    results.put(session.access_token().access_token)


@pytest.mark.refresh_tokens
def test_robots_renewing_at_once_make_one_refresh_request(fleet, sandbox):
    sandbox.set_faults(token_lifetime=60)  # inside the 300 s margin: every robot finds it due
    sign_in(robot(sandbox, fleet.url))
    sandbox.set_faults(token_lifetime=86_400)
    sandbox.reset_stats()
    context = multiprocessing.get_context("spawn")
    robots = 6
    barrier, results = context.Barrier(robots), context.Queue()
    processes = [
        context.Process(target=_renew, args=(sandbox.discovery_url, fleet.url, FLEET_KEY, barrier, results))
        for _ in range(robots)
    ]
    for process in processes:
        process.start()
    tokens = {results.get(timeout=60) for _ in processes}
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert sandbox.request_count("token.refresh_token") == 1
    assert len(tokens) == 1


@pytest.mark.refresh_tokens
def test_the_supervision_record_says_who_did_what_and_holds_no_secret(fleet, sandbox):
    session = robot(sandbox, fleet.url)
    session.describe_actor = lambda: {"suite": "Claims"}
    sandbox.set_faults(token_lifetime=60)
    sign_in(session)
    session.access_token()  # due at once: renewed
    sandbox.set_faults(token_invalid_grant=1)
    session.expiry_margin = 86_400 * 2
    with pytest.raises(NoValidTokenError, match="re-authorisation required"):
        session.access_token()
    sign_in(session)
    session.clear()
    recorded = robot(sandbox, fleet.url).history(10)
    assert all(event.authentic for event in recorded)
    events = [event.fields for event in recorded]
    assert [e["event"] for e in events] == ["signed-in", "renewed", "renewal-refused", "signed-in", "signed-out"]
    for event in events:
        assert event["supervisor"] == "supervisor"
        assert event["client_id"] == "example_rpa_app"
        assert event["suite"] == "Claims"
        assert event["machine"]
        assert event["environment"] == sandbox.discovery_url
    record = repr(events).encode() + fleet.dump()
    for secret in sandbox.issued_secrets().all:
        if len(secret) >= 8:
            assert secret.encode() not in record


def test_a_held_lock_times_out_with_the_stores_name(fleet, sandbox):
    holder = robot(sandbox, fleet.url)
    waiter = robot(sandbox, fleet.url)
    waiter.store.lock_timeout = 0.5
    with (
        holder.store.renewal_lock(holder.key),
        pytest.raises(StoreLockTimeout, match="redis://127.0.0.1"),
        waiter.store.renewal_lock(waiter.key),
    ):
        pass


def test_a_token_in_redis_is_typed_and_versioned(fleet, sandbox):
    session = robot(sandbox, fleet.url)
    token = sign_in(session)
    stored = session.store.load(session.key)
    assert isinstance(stored.entry.token, Token)
    assert stored.entry.token.access_token == token.access_token
    assert stored.version >= 1


@pytest.mark.refresh_tokens
def test_the_acl_user_docs_fleet_md_gives_runs_the_whole_workload(fleet, sandbox):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "fleet.md").read_text()
    rules = doc.split("ACL SETUSER healthcode reset on >LONG-RANDOM-PASSWORD ", 1)[1].split("```", 1)[0].split()
    user = fleet.create_user(
        "healthcode",
        keys=[r.lstrip("~") for r in rules if r.startswith("~")],
        commands=[r for r in rules if r[:1] in "+-&"],
    )
    session = robot(sandbox, user.url)
    sandbox.set_faults(token_lifetime=60)
    sign_in(session)
    session.access_token()  # renewed under the lock
    sandbox.set_faults(token_invalid_grant=1)
    with pytest.raises(NoValidTokenError):
        robot(sandbox, user.url).access_token()  # refused: marked, not removed
    assert robot(sandbox, user.url).history(5)
    session.clear()
    sign_in(session)
    entry = session.store._entry(session.key)
    fleet.execute("HSET", entry, "version", "damaged")
    assert "kept" in robot(sandbox, user.url).store.set_aside(session.key)  # a lost key's way out
    waiter = robot(sandbox, user.url)  # the daily cycle: a claim, and a wait on the change channel
    assert waiter.store.claim("waiting|example", 60)[0]
    woke = threading.Thread(target=waiter.store.wait_for_change, args=(session.key, None, 30))
    woke.start()
    time.sleep(0.5)
    sign_in(session)  # publishes
    woke.join(10)
    assert not woke.is_alive()
    assert fleet.execute("ACL", "LOG") == []  # nothing was refused


class TricklingRedis:
    """A 'Redis' on loopback that answers every command with a reply sent one byte every 0.2 s:
    each read is well within any socket timeout, so only a total deadline ends the exchange."""

    def __init__(self):
        import socketserver
        import threading

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(30)
                try:
                    while self.request.recv(65536):
                        for byte in b"$1000000\r\n" + b"x" * 1000:
                            self.request.sendall(bytes([byte]))
                            time.sleep(0.2)
                except OSError:
                    pass  # the client gave up: that is the point

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize("operation", ["load", "lock"])
def test_a_redis_that_trickles_is_bounded_by_a_total_deadline(sandbox, monkeypatch, operation):
    """Issue 17, point 7: before, the per-read socket timeout let a trickling server hold a robot for ever."""
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    server = TricklingRedis()
    try:
        session = robot(sandbox, f"redis://:store-password-123@127.0.0.1:{server.port}/0", timeout=1.5)
        session.store.lock_timeout = 1.0
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="did not answer within") as caught:
            _use(session, operation)
        assert time.monotonic() - started < (1.5 if operation == "load" else 2.5) + 1.5
        assert "store-password-123" not in str(caught.value)
    finally:
        server.close()


def _use(session, operation):
    if operation == "load":
        session.access_token()
    else:
        with session.store.renewal_lock(session.key):
            pass


def test_rediss_against_a_plain_port_names_tls(sandbox, fleet, monkeypatch):
    """Issue 17, point 14: a rediss:// URL against a plain Redis port blamed reachability only."""
    plain = fleet.url.replace("redis://", "rediss://", 1)
    with pytest.raises(StoreUnavailableError, match="this port serves TLS"):
        robot(sandbox, plain, timeout=2).access_token()
