"""What the daily cycle's integration tests share: the fleet's key, a store of each kind (the file
store and a real Redis), yesterday's authorisation, a robot that waits, the CLI in a child process.
Import the fixtures into a test module (and name them in its ``__all__``) to use them."""

import threading
import time

import pytest

import cli_runs
from cli_runs import cli
from healthcode_auth.errors import NoValidTokenError
from healthcode_auth.storage.key_sources import new_random_key
from sandbox_clients import new_session, sign_in

__all__ = [
    "FLEET_KEY",
    "WAITING",
    "cli",
    "env_for",
    "expired",
    "fleet_key",
    "later",
    "robot_waits",
    "store",
    "thread_errors",
]
FLEET_KEY = new_random_key()
WAITING = "Healthcode robots are waiting for a supervisor"


@pytest.fixture(params=["file", "redis"])
def store(request, tmp_path, monkeypatch):
    """Where the fleet keeps its authorisation: a file, then a real redis-server."""
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return str(tmp_path / "cache" / "tokens.json")


@pytest.fixture
def fleet_key(monkeypatch):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)


@pytest.fixture
def thread_errors(monkeypatch):
    """What escaped any thread (a notice's, a watchdog's) as an uncaught exception."""
    caught = []
    monkeypatch.setattr(
        threading,
        "excepthook",
        lambda args: caught.append(f"{args.exc_type.__name__}: {args.exc_value} ({args.thread.name})"),
    )
    return caught


def expired(sandbox, store):
    """Yesterday's authorisation: signed in, and now past its end (no refresh token, as Healthcode;
    a 1-second token is past the expiry margin at once)."""
    sandbox.set_faults(token_lifetime=1)
    token = sign_in(new_session(sandbox, store))
    sandbox.set_faults(token_lifetime=86_400)
    return token


def later(seconds, action):
    """``action`` in a thread of its own, ``seconds`` from now."""
    worker = threading.Thread(target=lambda: (time.sleep(seconds), action()), daemon=True)
    worker.start()
    return worker


def robot_waits(sandbox, store, seconds, **settings):
    """A robot that waits ``seconds`` for a supervisor; what it said, its error included."""
    robot = new_session(sandbox, store, wait_for_authorisation=seconds, **settings)
    said = []
    robot.on_wait = said.append
    try:
        robot.access_token()
    except NoValidTokenError as error:
        said.append(str(error))
    return said


def env_for(sandbox, store, **settings):
    """The environment of a scheduled run against the sandbox and ``store``, with ``settings``."""
    return cli_runs.env_for(sandbox.discovery_url, store, **settings)
