"""The red team's second round against the daily cycle, each break closed: a wait's deadline cuts only
its own connections; a delivered notice is noted even when the wait ends while it is; a slow
service, or one that is down, gets each notice a bounded number of times, not once per robot or
run; a lone robot tries a failed notice again while it waits; a Redis writer without the fleet's
key cannot pre-claim (silence) a notice; a hostile version counter is healed, not a traceback.

Against the sandbox, real receivers, the file store and a real Redis (paused mid-exchange).
"""

import threading
import time

import pytest

from daily_cycle_helpers import WAITING, cli, env_for, expired, fleet_key, robot_waits, store, thread_errors
from healthcode_auth import daily_cycle
from healthcode_auth.daily_cycle import wait_for_sign_in
from receivers import smtp, webhook
from sandbox_clients import new_session, sign_in

__all__ = ["fleet_key", "smtp", "store", "thread_errors", "webhook"]


def test_a_waits_deadline_cuts_only_its_own_connections(sandbox, redis_url, fleet_key, thread_errors):
    session = new_session(sandbox, redis_url)
    sign_in(session)
    store, key, config = session.store, session.key, session.config
    stop = time.monotonic() + 8
    said, failed, rounds = [], [], [0]

    def waits():  # one wait after another, each cut at its 1-second deadline
        while time.monotonic() < stop:
            wait_for_sign_in(store, key, config, 1.0, lambda stored: None, said.append)

    def works():  # beside it, on the same store: what the notice thread (or another session) does
        while time.monotonic() < stop:
            try:
                store.load(key)
                store.last_version()
                rounds[0] += 1
            except Exception as error:
                failed.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=waits), threading.Thread(target=works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert rounds[0] > 100 and failed == [] and thread_errors == []
    assert not [line for line in said if "did not answer" in line]  # Redis answered all along


def test_a_delivered_notice_is_noted_even_when_the_wait_ends_while_it_is(
    sandbox, redis_url, redis_server, fleet_key, webhook, thread_errors, monkeypatch
):
    monkeypatch.setattr(daily_cycle, "LEASE", 4.0)  # a sender that died lets go sooner (60 s in production)
    webhook.delay = 2.7  # delivered; the answer comes as the robot's 3-second wait ends

    def stall():  # and Redis stalls across that moment (a fork for BGSAVE, a failover)
        time.sleep(2.6)
        redis_server.pause()
        time.sleep(0.8)
        redis_server.resume()

    staller = threading.Thread(target=stall, daemon=True)
    staller.start()
    said = robot_waits(sandbox, redis_url, 3, notify=webhook.url())
    staller.join(10)
    assert "the 'waiting' notice was still being sent" in said[-1]
    time.sleep(4.5)  # the lease is over: had the delivery not been noted, the next robot would send it again
    webhook.delay = 0
    said = robot_waits(sandbox, redis_url, 1, notify=webhook.url())
    assert "the 'waiting' notice was already sent by another robot or scheduler" in said[-1]
    assert webhook.titles() == [WAITING] and thread_errors == []


def test_a_service_slower_than_apprises_own_timeout_gets_each_notice_once(sandbox, tmp_path, fleet_key, webhook):
    webhook.delay = 6.0  # shows the notice at once, answers after Apprise's own 4-second read timeout
    cache = str(tmp_path / "cache" / "tokens.json")
    sandbox.set_faults(token_lifetime=600)
    sign_in(new_session(sandbox, cache))
    env = env_for(sandbox, cache, notify=webhook.url(), remind_before="15 minutes")
    runs = [cli("remind", env=env) for _ in range(3)]  # a scheduler, three times
    assert [run.returncode for run in runs] == [0, 0, 0], runs[0].stdout + runs[0].stderr
    assert "notice was delivered" in runs[0].stdout and "already sent" in runs[2].stdout
    other = str(tmp_path / "other" / "tokens.json")  # robots waiting, one after the other
    said = [robot_waits(sandbox, other, 9, notify=webhook.url())[-1] for _ in range(2)]
    assert "the 'waiting' notice was delivered" in said[0] and "already sent by another robot" in said[1]
    assert len(webhook.received) == 2  # one reminder, one 'robots waiting'


@pytest.mark.parametrize("service", ["slow", "down"])
def test_a_fleet_starting_one_by_one_sends_a_bounded_number_of_notices(sandbox, redis_url, fleet_key, webhook, service):
    if service == "slow":
        webhook.delay = 6.0
    else:
        webhook.status = 502
    expired(sandbox, redis_url)
    threads = []
    for _ in range(8):  # a scheduler starts a robot every second; each waits 12 s
        threads.append(
            threading.Thread(
                target=robot_waits, args=(sandbox, redis_url, 12), kwargs={"notify": webhook.url()}, daemon=True
            )
        )
        threads[-1].start()
        time.sleep(1.0)
    for thread in threads:
        thread.join(60)
    if service == "slow":
        assert len(webhook.received) == 1
    else:  # tried at once, then after the backoff (5 s, then 10 s): never once per robot
        assert 2 <= len(webhook.received) <= 3
        assert all(b - a >= 4.5 for a, b in zip(webhook.arrived, webhook.arrived[1:], strict=False))


def test_a_lone_robot_tries_a_failed_notice_again_while_it_waits(sandbox, store, webhook):
    expired(sandbox, store)
    webhook.status = 502  # a deploy, a proxy: the service fails for its first second only
    threading.Timer(1.0, lambda: setattr(webhook, "status", 200)).start()
    said = robot_waits(sandbox, store, 12, notify=webhook.url())
    assert len(webhook.received) == 2 and webhook.arrived[1] - webhook.arrived[0] >= 4.5  # after the backoff
    assert any("not delivered" in line and "tries again from" in line for line in said)
    assert "the 'waiting' notice was delivered" in said[-1]


@pytest.mark.bad_input
def test_a_redis_writer_without_the_key_cannot_pre_claim_the_notices_to_come(
    sandbox, redis_url, redis_server, fleet_key, webhook, smtp
):
    import hashlib

    sign_in(new_session(sandbox, redis_url))
    probe = new_session(sandbox, redis_url)
    key, counter = probe.key, int(redis_server.execute("GET", "healthcode:versions"))
    for version in range(counter + 5):  # every episode to come, named as claims were (sha256 of public settings)
        for name in (
            f"waiting|{key}|absent-after-{version}",
            f"escalation|{key}|absent-after-{version}",
            f"reminder|{key}|{version}|900",
        ):
            redis_server.execute(
                "SET",
                "healthcode:claim:" + hashlib.sha256(name.encode()).hexdigest(),
                repr(time.time()),
                "PX",
                str(59 * 86400 * 1000),
            )
    probe.clear()  # an operator signs out: the robots wait
    said = robot_waits(sandbox, redis_url, 3, notify=webhook.url(), notify_escalation=smtp.url(), escalate_after=1)
    assert "the 'waiting' notice was delivered" in said[-1]
    assert webhook.titles() == [WAITING] and len(smtp.messages) == 1
    sandbox.set_faults(token_lifetime=600)  # a sign-in for 10 minutes: the 15-minute reminder is due at once
    sign_in(new_session(sandbox, redis_url))
    reminded = cli("remind", env=env_for(sandbox, redis_url, notify=webhook.url(), remind_before="15 minutes"))
    assert reminded.returncode == 0 and "notice was delivered" in reminded.stdout, reminded.stdout + reminded.stderr
    assert len(webhook.received) == 2


@pytest.mark.bad_input
def test_a_forged_or_stretched_claim_holds_nobody_back(sandbox, redis_url, redis_server, fleet_key, webhook):
    expired(sandbox, redis_url)
    probe = new_session(sandbox, redis_url)
    real = probe.store._claims._name  # where claims are: seen by a writer without the key that lists the keys
    episode = f"waiting|{probe.key}|{probe.store.load(probe.key).version}|{daily_cycle._address(webhook.url())}"
    now = time.time()
    forged = f"c1|done|1|{now!r}|{now!r}|{now + 86400.0!r}|" + "A" * 43  # the right shape, no key
    redis_server.execute("SET", real(episode), forged, "PX", str(7 * 86400 * 1000))
    said = robot_waits(sandbox, redis_url, 2, notify=webhook.url())
    assert "the 'waiting' notice was delivered" in said[-1] and webhook.titles() == [WAITING]
    held = probe.store.claim(episode, 60)  # what the robot noted holds
    assert (held.ours, held.state) == (False, "done")
    other = "reminder|example|1|900"
    copied = redis_server.execute("GET", real(episode))  # a real claim, replayed under another name
    redis_server.execute("SET", real(other), copied, "PX", str(7 * 86400 * 1000))
    assert probe.store.claim(other, 60).ours
    lease = probe.store.claim("a sender that died", 1.0)  # its 1-second lease, stretched to 59 days in Redis
    redis_server.execute("PEXPIRE", real("a sender that died"), str(59 * 86400 * 1000))
    time.sleep(1.1)
    assert lease.ours and probe.store.claim("a sender that died", 60).ours


@pytest.mark.bad_input
@pytest.mark.parametrize("counter", ["100000000000000", str(2**53 - 1), "abc", "-5", "007", "hash"])
def test_a_hostile_version_counter_is_healed_not_a_traceback(
    sandbox, redis_url, redis_server, fleet_key, caplog, counter
):
    if counter == "hash":
        redis_server.execute("HSET", "healthcode:versions", "a", "b")
    else:
        redis_server.execute("SET", "healthcode:versions", counter)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        token = sign_in(new_session(sandbox, redis_url))
    stored = new_session(sandbox, redis_url).store.load(new_session(sandbox, redis_url).key)
    assert stored.entry.token.access_token == token.access_token and 0 < stored.version <= 2**53
    healed = counter not in ("100000000000000",)
    assert ("version counter" in caplog.text) == healed
    assert new_session(sandbox, redis_url).access_token().access_token == token.access_token  # every robot reads it


@pytest.mark.parametrize("set_back", ["below the entry's version", "deleted"])
def test_a_counter_set_back_never_hands_out_an_entrys_version_again(
    sandbox, redis_url, redis_server, fleet_key, set_back
):
    """Third round (c07): a writer without the key sets the counter back to a plain number below the
    entry's version (or deletes it). The next sign-in still gets a newer version: a robot waiting on
    the old entry wakes, and a stale writer's compare-and-set at the old version is refused."""
    sign_in(new_session(sandbox, redis_url))
    expired(sandbox, redis_url)  # the entry's version is 2: set back to 1, a number that looks like any other
    old = new_session(sandbox, redis_url).store.load(new_session(sandbox, redis_url).key)
    woke = []
    robot = threading.Thread(target=lambda: woke.append(robot_waits(sandbox, redis_url, 20)))
    robot.start()
    time.sleep(1.5)
    if set_back == "deleted":
        redis_server.execute("DEL", "healthcode:versions")
    else:
        redis_server.execute("SET", "healthcode:versions", str(old.version - 1))
    signed = time.monotonic()
    token = sign_in(new_session(sandbox, redis_url))
    robot.join(timeout=30)
    assert time.monotonic() - signed < 10, "the waiting robot missed the sign-in"
    assert not any("did not sign in" in line or "No supervisor" in line for line in woke[0]), woke
    store = new_session(sandbox, redis_url).store
    newer = store.load(new_session(sandbox, redis_url).key)
    assert newer.version > old.version and newer.entry.token.access_token == token.access_token
    assert not store.store(old.entry, old.version)  # a stale writer at the old version is refused
    assert store.load(new_session(sandbox, redis_url).key).entry.token.access_token == token.access_token
