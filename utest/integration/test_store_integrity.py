"""The store never loses or wrongly drops an authorisation: each way a review found, closed.

Every test runs against the sandbox SSO (refresh tokens on, where renewal is the point) and, where
the finding concerns both, against the file store and a real ``redis-server``. The command line
runs as operators run it, in a real process.
"""

import json
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from cli_runs import cli
from healthcode_auth import NoValidTokenError
from healthcode_auth.errors import (
    KeySetUnavailableError,
    ReauthorisationRequiredError,
    SettingsMismatchError,
    StoreLockTimeout,
    StoreUnreadableError,
    TokenVerificationError,
)
from healthcode_auth.protocol import jwt_verification
from healthcode_auth.protocol.token import Token
from healthcode_auth.storage.key_sources import new_random_key
from healthcode_sandbox import Client
from healthcode_sandbox.settings import DEFAULT_AUDIENCE
from sandbox_clients import REDIRECT, new_session, sign_in

KEY_A, KEY_B = new_random_key(), new_random_key()


@pytest.fixture(params=["file", "redis"])
def store(request, tmp_path, monkeypatch):
    """The token store setting, the robots' key in this process's environment."""
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", KEY_A)
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return str(tmp_path / "cache" / "tokens.json")


def env_for(sandbox, store, key=KEY_A, **more):
    env = {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": REDIRECT,
        "HEALTHCODE_ENVIRONMENT": sandbox.discovery_url,
        "HEALTHCODE_TOKEN_CACHE": store,
        **more,
    }
    env.pop("HEALTHCODE_CACHE_KEY", None)
    if key is not None:
        env["HEALTHCODE_CACHE_KEY"] = key
    return env


def stored_token(sandbox, store, client_id="example_rpa_app"):
    session = new_session(sandbox, store, client_id=client_id)
    found = session.store.load(session.key)
    return None if found is None else found.entry.token


def test_finding_1_a_sign_in_without_the_key_variable_keeps_every_clients_entry(sandbox, tmp_path, monkeypatch, caplog):
    sandbox.add_client(Client("second_bot", (REDIRECT,)))
    cache = tmp_path / "cache" / "tokens.json"
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", KEY_A)
    first = sign_in(new_session(sandbox, cache))
    second = sign_in(new_session(sandbox, cache, client_id="second_bot"))
    monkeypatch.delenv("HEALTHCODE_CACHE_KEY")  # the supervisor's shell, without the variable
    again = sign_in(new_session(sandbox, cache, client_id="second_bot"))
    assert "kept in memory for this run only" in caplog.text and "HEALTHCODE_CACHE_KEY" in caplog.text
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", KEY_A)
    assert stored_token(sandbox, cache).access_token == first.access_token
    assert stored_token(sandbox, cache, "second_bot").access_token == second.access_token != again.access_token


def test_finding_1_login_refuses_before_the_browser_opens_when_the_store_cannot_be_read(sandbox, store):
    sign_in(new_session(sandbox, store))
    sandbox.reset_stats()
    login = cli("login", "--headless", env=env_for(sandbox, store, key=KEY_B))
    assert login.returncode == 1
    assert "cannot be read" in login.stderr and "Nothing was changed" in login.stderr
    assert "Traceback" not in login.stderr and "Opening" not in login.stdout
    assert sandbox.request_count("authorize") == 0


@pytest.mark.parametrize("key", [KEY_B, None], ids=["wrong key", "no key"])
def test_finding_2_logout_that_cannot_read_removes_and_revokes_nothing(sandbox, store, key):
    token = sign_in(new_session(sandbox, store))
    sandbox.reset_stats()
    logout = cli("logout", env=env_for(sandbox, store, key=key))
    if key is None and store.startswith("redis"):
        assert logout.returncode == 2 and "HEALTHCODE_CACHE_KEY" in logout.stderr  # a fleet store needs it
    else:
        assert logout.returncode == 1, logout.stdout + logout.stderr
        assert "Nothing was removed and nothing was revoked" in logout.stderr
        assert "revoke the authorisation at the SSO" in logout.stderr
    assert "Nothing to remove" not in logout.stdout
    assert sandbox.request_count("revoke") == 0
    assert stored_token(sandbox, store).access_token == token.access_token
    history = cli("history", "--json", env=env_for(sandbox, store))
    assert "signed-out" not in history.stdout


def test_finding_2_logout_removes_exactly_the_entry_it_read(sandbox, store):
    sign_in(new_session(sandbox, store))
    logout = cli("logout", env=env_for(sandbox, store))
    assert logout.returncode == 0, logout.stderr
    assert "Removed the cached authorisation" in logout.stdout
    assert stored_token(sandbox, store) is None
    events = json.loads(cli("history", "--json", env=env_for(sandbox, store)).stdout)
    assert [(e["event"], e["supervisor"], e["authentic"]) for e in events][-1] == ("signed-out", "supervisor", True)


def renewal_due(sandbox, store):
    """A supervisor signs in with a token already inside the expiry margin; renewed ones last a day."""
    sandbox.set_faults(token_lifetime=60)
    token = sign_in(new_session(sandbox, store))
    sandbox.set_faults(token_lifetime=86_400)
    return token


@pytest.mark.refresh_tokens
def test_finding_3_a_key_set_outage_after_a_refresh_keeps_the_rotated_refresh_token(sandbox, store):
    first = renewal_due(sandbox, store)
    sandbox.set_faults(jwks_failures=50)
    with pytest.raises(KeySetUnavailableError):
        new_session(sandbox, store, timeout=2).access_token()
    held = stored_token(sandbox, store)
    assert held.refresh_token != first.refresh_token  # the rotated one, not the spent one
    assert held.expires_at <= time.time()  # its unverified access token is never handed out
    sandbox.reset_faults()
    renewed = new_session(sandbox, store).access_token()  # the next robot renews with the kept token
    assert renewed.access_token not in (first.access_token, held.access_token)
    assert sandbox.request_count("token.refresh_token") == 2


@pytest.mark.refresh_tokens
def test_finding_3_a_slow_clock_is_named_and_costs_no_refresh_token(sandbox, store, monkeypatch):
    first = renewal_due(sandbox, store)
    skewed = SimpleNamespace(time=lambda: time.time() - 400)  # this machine's clock 400 s slow, leeway 300 s
    robot = new_session(sandbox, store)
    with monkeypatch.context() as patched:
        patched.setattr(jwt_verification, "time", skewed)
        with pytest.raises(TokenVerificationError, match="clock"):
            robot.access_token()
    assert stored_token(sandbox, store).refresh_token != first.refresh_token
    assert new_session(sandbox, store).access_token().access_token != first.access_token


FROZEN_RENEWER = r"""
import os, signal, sys
from healthcode_auth.config import HealthcodeConfig
from healthcode_auth.session import HealthcodeSession
from healthcode_auth.storage import open_store

config = HealthcodeConfig(client_id="example_rpa_app", redirect_uri=sys.argv[2], environment=sys.argv[1],
                          token_cache=sys.argv[3])
session = HealthcodeSession(config, store=open_store(config.token_cache, lock_timeout=1.0, timeout=5))
answer = session.client.request_refresh

def renew_then_freeze(refresh_token):
    renewed = answer(refresh_token)
    print("renewed", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)  # a GC pause, a VM freeze: past the lock's lease
    return renewed

session.client.request_refresh = renew_then_freeze
print("token", session.access_token().access_token[-12:], flush=True)
"""


@pytest.mark.refresh_tokens
@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="SIGSTOP is POSIX")
def test_finding_4_a_renewer_frozen_past_its_lease_still_hands_over_its_pair(sandbox, store):
    first = renewal_due(sandbox, store)
    renewer = subprocess.Popen(
        [sys.executable, "-c", FROZEN_RENEWER, sandbox.discovery_url, REDIRECT, store],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert renewer.stdout.readline().strip() == "renewed"
        time.sleep(1.5)  # the renewer is frozen past its 1 s lease
        other = new_session(sandbox, store)
        other.store.lock_timeout = 1.0
        # Redis: the lease ran out, so this robot renews with the spent refresh token and is refused.
        # File: the OS still holds the frozen renewer's lock, so this robot waits and times out.
        with pytest.raises(ReauthorisationRequiredError if store.startswith("redis") else StoreLockTimeout):
            other.access_token()
        assert stored_token(sandbox, store) is not None  # refused, but never removed
    finally:
        renewer.send_signal(signal.SIGCONT)
        out, err = renewer.communicate(timeout=30)
    assert renewer.returncode == 0, err
    handed_over = new_session(sandbox, store).access_token()  # no supervisor needed
    assert handed_over.access_token != first.access_token
    assert out.split()[-1] == handed_over.access_token[-12:]
    assert sandbox.request_count("token.refresh_token") == (2 if store.startswith("redis") else 1)


def test_finding_5_a_token_for_another_audience_is_never_handed_out(sandbox, store):
    sign_in(new_session(sandbox, store, audience=DEFAULT_AUDIENCE))
    assert new_session(sandbox, store, audience=DEFAULT_AUDIENCE).access_token()
    assert new_session(sandbox, store).access_token()  # no audience setting: any
    robot = new_session(sandbox, store, audience="the-claims-api")
    with pytest.raises(
        SettingsMismatchError, match=f"for {DEFAULT_AUDIENCE}, and the audience setting requires the-claims-api"
    ):
        robot.access_token()
    status = cli("status", "--audience", "the-claims-api", env=env_for(sandbox, store))
    assert status.returncode == 3 and "audience setting requires the-claims-api" in status.stderr


def test_finding_6_the_record_is_authentic_and_printed_escaped(sandbox, store):
    session = new_session(sandbox, store)
    sign_in(session)
    session._record("signed-in", Token("x", supervisor="alice\nsigned-out ceo\x1b[2J\u202e"))
    forged = json.dumps(
        {
            "event": "signed-in",
            "supervisor": "ceo",
            "time": "2026-01-01T00:00:00+00:00",
            "key_source": "env",
            "id": "0",
            "mac": "AAAA",
        }
    )
    if store.startswith("redis"):
        import redis

        redis.Redis.from_url(store).xadd("healthcode:history", {"event": forged})
    else:
        history_file = f"{store}.history"
        with open(history_file, "a", encoding="utf-8") as handle:
            handle.write(forged + "\n")
    shown = cli("history", env=env_for(sandbox, store))
    assert shown.returncode == 0
    lines = shown.stdout.splitlines()
    assert len(lines) == 3 and "\x1b" not in shown.stdout and "\u202e" not in shown.stdout
    assert "alice\\nsigned-out ceo\\x1b[2J\\u202e" in lines[1] and "NOT AUTHENTIC" not in lines[1]
    assert " ceo " in lines[2] and "NOT AUTHENTIC" in lines[2]
    assert "not written with this store's key" in shown.stderr


def test_a_record_read_with_another_key_says_so_and_fails(sandbox, store):
    """A new user's mistake: every event unauthentic means this run's key is not the robots'."""
    sign_in(new_session(sandbox, store))
    shown = cli("history", env=env_for(sandbox, store, key=KEY_B))
    assert shown.returncode == 1
    assert "none of the 1 event(s) above was written with this run's key" in shown.stderr
    assert KEY_A not in shown.stdout + shown.stderr and KEY_B not in shown.stdout + shown.stderr
    assert cli("history", env=env_for(sandbox, store)).returncode == 0


def test_finding_7_hostile_values_in_redis_are_reported_and_kept(sandbox, redis_url, monkeypatch):
    import redis

    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", KEY_A)
    session = new_session(sandbox, redis_url)
    sign_in(session)
    entry = session.store._entry(session.key)
    client = redis.Redis.from_url(redis_url)
    for field, value in (("version", "abc"), ("version", "9" * 400), ("sealed", b"x" * 5_000_000)):
        original = client.hget(entry, field)
        client.hset(entry, field, value)
        status = cli("status", env=env_for(sandbox, redis_url))
        assert status.returncode == 1, status.stdout
        assert "cannot be read" in status.stderr and "Traceback" not in status.stderr
        assert client.exists(entry)  # reported, never removed
        client.hset(entry, field, original)
    assert cli("status", env=env_for(sandbox, redis_url)).returncode == 0


def test_finding_8_a_wrong_key_is_reported_as_exactly_that(sandbox, store):
    sign_in(new_session(sandbox, store))
    status = cli("status", env=env_for(sandbox, store, key=KEY_B))
    assert status.returncode == 1
    assert "cannot be read" in status.stderr and "HEALTHCODE_CACHE_KEY" in status.stderr
    assert "no token cached" not in status.stdout
    as_json = json.loads(cli("status", "--json", env=env_for(sandbox, store, key=KEY_B)).stdout)
    assert as_json["state"] == "unreadable" and "cannot be read" in as_json["error"]


def test_set_aside_after_a_lost_key_says_what_it_did_and_keeps_the_data(sandbox, store, monkeypatch):
    sign_in(new_session(sandbox, store))
    env = env_for(sandbox, store, key=KEY_B)  # the robots' key is lost: a new one is in use
    asked = cli("set-aside", env=env)
    assert asked.returncode == 1 and "Would set aside" in asked.stdout and "--yes" in asked.stderr
    assert stored_token(sandbox, store) is not None  # nothing moved without --yes
    moved = cli("set-aside", "--yes", env=env)
    assert moved.returncode == 0, moved.stderr
    assert "kept" in moved.stdout and "a supervisor must sign in" in moved.stdout
    assert cli("status", env=env).returncode == 3
    assert "Nothing to set aside" in cli("set-aside", "--yes", env=env).stdout
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", KEY_B)
    with pytest.raises(NoValidTokenError):
        new_session(sandbox, store).access_token()


def test_a_readable_store_is_never_set_aside(sandbox, store):
    token = sign_in(new_session(sandbox, store))
    result = cli("set-aside", "--yes", env=env_for(sandbox, store))
    assert result.returncode == 0 and "Nothing to set aside" in result.stdout
    assert stored_token(sandbox, store).access_token == token.access_token


def test_unreadable_raises_for_robots_too_and_never_asks_for_a_sign_in_over_it(sandbox, store, monkeypatch):
    sign_in(new_session(sandbox, store))
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", KEY_B)
    with pytest.raises(StoreUnreadableError, match="Give this run the key the robots use"):
        new_session(sandbox, store).access_token()
