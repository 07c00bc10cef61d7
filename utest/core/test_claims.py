"""Claims (once for the whole fleet) in every store: what became of the work is noted, a failure holds
the fleet back for a backoff and the next attempt is counted, and in Redis a writer without the
fleet's key can neither predict nor forge a claim, nor stretch one by its key's expiry."""

import time
from urllib.parse import urlsplit

import pytest

from healthcode_auth.storage import open_store
from healthcode_auth.storage.claims import DONE, FAILED, MAX_CLAIM_SECONDS, SENDING, from_fields

ENVIRON = {"HEALTHCODE_CACHE_KEY": "a passphrase for the claim tests"}


@pytest.fixture(params=["file", "redis"])
def setting(request, tmp_path):
    if request.param == "redis":
        return request.getfixturevalue("redis_url") + "?prefix=claims:"
    return str(tmp_path / "store" / "tokens.json")


def opened(setting):
    return open_store(setting, environ=dict(ENVIRON), timeout=5)


def test_a_failure_holds_the_fleet_for_its_backoff_then_the_next_attempt_is_counted(setting):
    first, second = opened(setting), opened(setting)
    made = first.claim("waiting|KEY|7", 30, 600)
    assert (made.ours, made.state, made.attempt) == (True, SENDING, 1)
    assert (second.claim("waiting|KEY|7", 30).ours, second.claim("waiting|KEY|7", 30).state) == (False, SENDING)
    assert first.settle_claim("waiting|KEY|7", made, False, 0.5, 600)  # not delivered: held for a 0.5 s backoff
    held = second.claim("waiting|KEY|7", 30, 600)
    assert (held.ours, held.state, held.attempt) == (False, FAILED, 1)
    time.sleep(0.6)
    again = second.claim("waiting|KEY|7", 30, 600)
    # the episode began at the first (Redis's claims are timed by its clock, handed out in this machine's)
    assert (again.ours, again.attempt, again.first_at) == (True, 2, pytest.approx(made.first_at, abs=0.05))
    assert second.settle_claim("waiting|KEY|7", again, True, 600, 600)
    done = first.claim("waiting|KEY|7", 30, 600)
    assert (done.ours, done.state) == (False, DONE)


def test_only_the_claim_that_was_taken_is_settled(setting):
    first, second = opened(setting), opened(setting)
    lapsed = first.claim("escalation|KEY|3", 0.3, 600)  # its sender froze past its lease
    time.sleep(0.4)
    taken = second.claim("escalation|KEY|3", 30, 600)
    assert taken.ours and taken.attempt == 2
    assert not first.settle_claim("escalation|KEY|3", lapsed, True, 600, 600)  # the late sender touches nothing
    assert second.claim("escalation|KEY|3", 30).state == SENDING


def test_a_robot_allowed_to_wait_a_year_holds_its_claim_no_longer_than_the_longest(setting):
    store = opened(setting)
    made = store.claim("waiting|KEY|1", 30, 400 * 86400)
    assert store.settle_claim("waiting|KEY|1", made, True, 400 * 86400, 400 * 86400)
    held = opened(setting).claim("waiting|KEY|1", 30)
    assert (held.ours, held.state) == (False, DONE) and held.until - held.at <= MAX_CLAIM_SECONDS + 60


@pytest.mark.bad_input
@pytest.mark.parametrize(
    "fields",
    [
        ["done", 1, 0.0, 0.0, 9e9],  # held until the year 2255
        ["done", 1, 5.0, 1.0, 2.0],  # its first attempt after this one
        ["sending", 0, 1.0, 1.0, 2.0],
        ["sending", True, 1.0, 1.0, 2.0],
        ["what", 1, 1.0, 1.0, 2.0],
        ["done", 1, float("nan"), 1.0, 2.0],
        ["done", 1, 1.0, 1.0],
        "done|1|1|1|2",
    ],
)
def test_what_this_library_could_not_have_made_is_no_claim(fields):
    assert from_fields(fields, now=10.0) is None


@pytest.mark.bad_input
def test_a_redis_claim_is_keyed_and_authenticated(redis_url, redis_server):
    store = opened(redis_url + "?prefix=claims:")
    other = open_store(
        redis_url + "?prefix=claims:", environ={"HEALTHCODE_CACHE_KEY": "another fleet's key"}, timeout=5
    )
    name = "waiting|KEY|9"
    assert store._claims._name(name) != other._claims._name(name)  # not predictable without the key
    other.claim(name, 60, 600)
    redis_server.execute("SET", store._claims._name(name), redis_server.execute("GET", other._claims._name(name)))
    assert store.claim(name, 60, 600).ours  # a value written with another key is no claim
    short = store.claim("a lease", 0.3, 0.3)
    redis_server.execute("PEXPIRE", store._claims._name("a lease"), str(59 * 86400 * 1000))  # stretched in Redis
    time.sleep(0.4)
    assert short.ours and store.claim("a lease", 60).ours  # what holds is the claim's own time, not the key's expiry


def test_a_machine_whose_clock_is_behind_still_holds_the_fleet_back_on_redis(redis_url, monkeypatch):
    """Third red-team round (c02): a machine 2 minutes behind wrote a 60 s lease that was already over
    by the others' clocks, and a slow notice went twice. Redis's claims are timed by Redis's clock."""
    import healthcode_auth.storage.redis_claims as redis_claims

    setting = redis_url + "?prefix=skew:"
    behind, ahead = opened(setting), opened(setting)
    real = time.time
    monkeypatch.setattr(redis_claims.time, "time", lambda: real() - 120)  # this machine's clock is behind
    taken = behind.claim("waiting|KEY|9", 60, 600)
    assert taken.ours and abs(taken.until - (real() - 120 + 60)) < 1  # handed out in this machine's time
    monkeypatch.setattr(redis_claims.time, "time", real)
    other = ahead.claim("waiting|KEY|9", 60, 600)
    assert (other.ours, other.state) == (False, SENDING)  # still held: the lease has 60 s to go
    monkeypatch.setattr(redis_claims.time, "time", lambda: real() - 120)
    assert behind.settle_claim("waiting|KEY|9", taken, True, 600, 600)  # the sender still settles its own


def test_a_user_without_time_in_its_acl_still_claims_with_its_own_clock(redis_server, redis_url):
    redis_server.execute("ACL", "SETUSER", "notime", "reset", "on", ">notime-password", "~*", "&*", "+@all", "-time")
    parts = urlsplit(redis_url)
    store = opened(f"redis://notime:notime-password@{parts.hostname}:{parts.port}?prefix=notime:")
    claim = store.claim("waiting|KEY|10", 60, 600)
    assert claim.ours and abs(claim.at - time.time()) < 5
    assert store.settle_claim("waiting|KEY|10", claim, True, 600, 600)
