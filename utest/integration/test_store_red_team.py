"""What a red-team review of the store found, each closed, against a real redis-server and the
sandbox: hostile fields measured before they are fetched, a lock that never expires named as such,
a user without a command said as such, a renewer killed while it verifies, a store paused while a
renewed pair is written."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from healthcode_auth.errors import StoreLockTimeout, StoreUnavailableError, StoreUnreadableError
from healthcode_auth.storage.key_sources import new_random_key
from sandbox_clients import REDIRECT, new_session, sign_in

FLEET_KEY = new_random_key()


@pytest.fixture
def fleet(redis_server, redis_url, monkeypatch):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    return redis_server


@pytest.mark.parametrize("field", ["refused_at", "version"])
def test_a_huge_field_is_measured_before_it_is_fetched(fleet, sandbox, field):
    """Break 8: a 200 MB refused_at cost every robot 600 MB."""
    import redis

    session = new_session(sandbox, fleet.url)
    sign_in(session)
    redis.Redis.from_url(fleet.url).hset(session.store._entry(session.key), field, b"9" * 5_000_000)
    with pytest.raises(StoreUnreadableError, match=f"its {field} is 5000000 bytes"):
        new_session(sandbox, fleet.url).access_token()


def test_a_lock_that_never_expires_is_named_as_such(fleet, sandbox):
    """Break 11: a lock key without a lease blocked every renewal, 'expiring by itself'."""
    session = new_session(sandbox, fleet.url)
    name = session.store._key("lock:", session.key)
    fleet.execute("SET", name, "not a robot's")
    session.store.lock_timeout = 0.3
    with (
        pytest.raises(StoreLockTimeout, match=f"never expires by itself.*DEL {name}"),
        session.store.renewal_lock(session.key),
    ):
        pass


def test_a_user_without_a_command_is_told_so_not_that_the_store_is_damaged(fleet, sandbox):
    """Break 5: the previous release's ACL (no +hstrlen) made an empty store look damaged."""
    user = fleet.create_user(
        "previous",
        keys=["healthcode:*"],
        commands=[
            "-@all",
            "ping",
            "get",
            "set",
            "del",
            "exists",
            "hget",
            "hmget",
            "hset",
            "incr",
            "rename",
            "pttl",
            "pexpire",
            "evalsha",
            "script|load",
            "xadd",
            "xrevrange",
        ],
    )
    with pytest.raises(StoreUnavailableError, match="does not let this user read the token.*docs/fleet.md"):
        new_session(sandbox, user.url).access_token()


KILLED_WHILE_VERIFYING = r"""
import os, signal, sys
from healthcode_auth.config import HealthcodeConfig
from healthcode_auth.session import HealthcodeSession

# A 5 s timeout: the lock it dies holding in Redis lets go after renewal_time_bound(5) = 25 s, not 125 s.
config = HealthcodeConfig(client_id="example_rpa_app", redirect_uri=sys.argv[2], environment=sys.argv[1],
                          token_cache=sys.argv[3], timeout=5)
session = HealthcodeSession.from_config(config)
session.client.verify = lambda token: os.kill(os.getpid(), signal.SIGKILL)  # killed mid-verification
session.access_token()
"""


@pytest.mark.refresh_tokens
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
@pytest.mark.parametrize("kind", ["file", "redis"])
def test_a_renewer_killed_while_it_verifies_has_already_stored_the_new_pair(fleet, sandbox, tmp_path, kind):
    """Break 4: the pair was verified before it was stored; a kill in between lost it."""
    store = fleet.url if kind == "redis" else str(tmp_path / "tokens.json")
    sandbox.set_faults(token_lifetime=60)
    first = sign_in(new_session(sandbox, store))
    sandbox.set_faults(token_lifetime=86_400)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_VERIFYING, sandbox.discovery_url, REDIRECT, store],
        env=os.environ.copy(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    renewed = new_session(sandbox, store).access_token()  # renews with the pair the killed robot stored
    assert renewed.access_token != first.access_token
    assert sandbox.request_count("token.refresh_token") == 2


@pytest.mark.refresh_tokens
def test_a_store_paused_while_the_renewed_pair_is_written_loses_nothing(fleet, sandbox, monkeypatch):
    """Break 3: Redis paused (or failing over) right after the SSO answered signed the fleet out."""
    sandbox.set_faults(token_lifetime=60)
    sign_in(new_session(sandbox, fleet.url))
    sandbox.set_faults(token_lifetime=86_400)
    renewer = new_session(sandbox, fleet.url, timeout=1)
    answer = renewer.client.request_refresh

    def then_pause(refresh_token):
        renewed = answer(refresh_token)
        fleet.pause()
        threading.Timer(2.5, fleet.resume).start()
        return renewed

    monkeypatch.setattr(renewer.client, "request_refresh", then_pause)
    token = renewer.access_token()
    time.sleep(3)  # the store is back
    renewer.access_token()  # a later use hands over anything still pending
    assert new_session(sandbox, fleet.url).access_token().access_token == token.access_token
    assert sandbox.request_count("token.refresh_token") == 1
