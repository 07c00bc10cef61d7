"""The red team's breaks of the daily cycle, each closed: a notice that was not delivered is sent
again; a sign-out starts a new waiting episode; a hostile claim in a shared Redis silences
nothing; a wait's limit is a total deadline whatever the notice services and the store do; an
ACL user without pub/sub still wakes; reminders due at once go as one notice.

Against the sandbox, real receivers, the file store and a real Redis (paused and restarted).
"""

import socket
import time

import pytest

from daily_cycle_helpers import FLEET_KEY, WAITING, expired, later, store
from healthcode_auth import daily_cycle
from healthcode_auth.daily_cycle import send_due_reminders
from healthcode_auth.errors import NoValidTokenError
from healthcode_auth.storage.locks import FileLock
from receivers import smtp, webhook
from sandbox_clients import new_session, sign_in

__all__ = ["smtp", "store", "webhook"]


def test_a_reminder_not_delivered_is_sent_by_the_next_run(sandbox, store, webhook, monkeypatch):
    monkeypatch.setattr(daily_cycle, "RETRY_FIRST", 1.0)  # the backoff after a failure (5 s in production)
    sandbox.set_faults(token_lifetime=900)  # ends in 10 minutes: the 15-minute reminder is due
    session = new_session(sandbox, store, notify=webhook.url(), remind_before=(900,))
    sign_in(session)
    stored = session.store.load(session.key)
    webhook.status = 500
    first = send_due_reminders(session.store, session.key, session.config, stored)
    assert [(s.sent, s.delivered) for s in first] == [(True, False)]
    assert "the next robot or run tries again from today at" in first[0].says(session.config, time.time())
    webhook.status = 200
    held = send_due_reminders(session.store, session.key, session.config, stored)  # within the backoff
    assert [(s.sent, s.undelivered) for s in held] == [(False, True)]
    assert "was not delivered by another robot or scheduler" in held[0].says(session.config, time.time())
    time.sleep(1.2)
    second = send_due_reminders(session.store, session.key, session.config, stored)
    assert [(s.sent, s.delivered) for s in second] == [(True, True)]
    third = send_due_reminders(session.store, session.key, session.config, stored)
    assert [s.sent for s in third] == [False]
    assert [n["title"] for n in webhook.received].count(webhook.received[-1]["title"]) == 2  # 500, then 200


def test_reminders_due_at_the_same_moment_go_as_one_notice(sandbox, store, webhook):
    sandbox.set_faults(token_lifetime=600)  # ends in 5 minutes: the 2-hour and the 15-minute reminders are both due
    session = new_session(sandbox, store, notify=webhook.url())
    sign_in(session)
    sent = send_due_reminders(session.store, session.key, session.config, session.store.load(session.key))
    assert len(sent) == 1 and sent[0].delivered and "15 min" in sent[0].kind
    assert len([title for title in webhook.titles() if title.startswith("Healthcode robots: sign in again")]) == 1
    assert (
        send_due_reminders(session.store, session.key, session.config, session.store.load(session.key))[0].sent is False
    )


def test_robots_waiting_after_a_sign_out_are_told_again(sandbox, store, webhook):
    robot = new_session(sandbox, store, notify=webhook.url(), wait_for_authorisation=1)
    with pytest.raises(NoValidTokenError):
        robot.access_token()  # before the first sign-in
    supervisor = new_session(sandbox, store)
    sign_in(supervisor)
    supervisor.clear()  # healthcode-auth logout
    with pytest.raises(NoValidTokenError):
        new_session(sandbox, store, notify=webhook.url(), wait_for_authorisation=1).access_token()
    assert webhook.titles().count(WAITING) == 2


@pytest.mark.bad_input
@pytest.mark.parametrize("hostile", ["no-expiry", "hash", "far-future", "zero", "large", "plausible"])
def test_a_hostile_claim_in_redis_silences_no_notice_and_fails_no_robot(
    sandbox, redis_url, redis_server, monkeypatch, webhook, hostile
):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    stored = expired(sandbox, redis_url)
    robot = new_session(
        sandbox,
        redis_url,
        notify=webhook.url(),
        notify_escalation=webhook.url(),
        escalate_after=3600,
        wait_for_authorisation=2,
    )
    version = robot.store.load(robot.key).version
    claim = robot.store._claims._name(f"waiting|{robot.key}|{version}")  # where the claim is (keyed: see round two)
    written = {
        "no-expiry": [("SET", claim, repr(time.time()))],
        "hash": [("HSET", claim, "a", "b")],
        "far-future": [("SET", claim, "9999999999", "PX", "600000")],
        "zero": [("SET", claim, "0", "PX", "600000")],
        "large": [("SET", claim, "1" * 5_000_000, "PX", "600000")],
        "plausible": [("SET", claim, repr(time.time()), "PX", "600000")],
    }[hostile]
    for command in written:
        redis_server.execute(*command)
    with pytest.raises(NoValidTokenError, match="the 'waiting' notice was delivered"):
        robot.access_token()
    assert webhook.titles() == [WAITING]  # sent, and no escalation: nobody waited an hour
    assert stored.access_token not in str(webhook.received)


def test_a_notice_service_that_never_answers_does_not_lengthen_the_wait(sandbox, store):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        expired(sandbox, store)
        robot = new_session(
            sandbox, store, wait_for_authorisation=3, notify=f"json://127.0.0.1:{silent.getsockname()[1]}/hook"
        )
        started = time.monotonic()
        with pytest.raises(NoValidTokenError, match="still being sent|not delivered"):
            robot.access_token()
        assert time.monotonic() - started < 3 + 2  # its 3 seconds, not the service's 30


def test_a_robot_wakes_on_the_sign_in_while_the_notice_is_still_being_sent(sandbox, store):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        expired(sandbox, store)
        robot = new_session(
            sandbox, store, wait_for_authorisation=60, notify=f"json://127.0.0.1:{silent.getsockname()[1]}/hook"
        )
        signed = {}
        worker = later(1.0, lambda: signed.update(token=sign_in(new_session(sandbox, store)), at=time.monotonic()))
        token = robot.access_token()
        woke = time.monotonic()
        worker.join(30)
        assert token.access_token == signed["token"].access_token
        assert woke - signed["at"] < 5  # the sign-in, not the notice service's timeout


@pytest.mark.parametrize("trouble", ["paused", "restarted"])
def test_a_wait_is_a_total_deadline_when_redis_stalls_and_goes_on_after_a_restart(
    sandbox, redis_url, redis_server, monkeypatch, trouble
):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    expired(sandbox, redis_url)
    if trouble == "paused":
        robot = new_session(sandbox, redis_url, wait_for_authorisation=4)
        robot.current_token()  # connected and loaded before the pause
        worker = later(0.5, redis_server.pause)
        started = time.monotonic()
        try:
            with pytest.raises(NoValidTokenError, match="Waited"):
                robot.access_token()
            assert time.monotonic() - started < 4 + 3  # not the store's 30-second timeout on top
        finally:
            worker.join(10)
            redis_server.resume()
        return
    robot = new_session(sandbox, redis_url, wait_for_authorisation=60)
    signed = {}
    restarting = later(0.5, redis_server.restart)  # all data lost: the robot keeps waiting
    # The supervisor signs in once Redis is back (a restart can take seconds on a busy machine).
    worker = later(3.0, lambda: restarting.join(30) or signed.update(token=sign_in(new_session(sandbox, redis_url))))
    token = robot.access_token()
    worker.join(30)
    assert token.access_token == signed["token"].access_token


def test_a_frozen_lock_holder_does_not_lengthen_a_wait_on_the_file_store(sandbox, tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    cache = tmp_path / "cache" / "tokens.json"
    expired(sandbox, cache)
    robot = new_session(sandbox, cache, notify=webhook.url(), wait_for_authorisation=3)
    frozen = FileLock(cache.with_name("tokens.json.lock"), timeout=1)
    with frozen.held():  # another process's robot, paused while it holds the lock
        started = time.monotonic()
        with pytest.raises(NoValidTokenError, match="Waited"):
            robot.access_token()
        assert time.monotonic() - started < 3 + 2  # not the lock's 120 seconds


def test_an_acl_user_without_pub_sub_still_wakes_by_reading(sandbox, redis_server, monkeypatch):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    older = redis_server.create_user(
        "older",
        keys=["healthcode:*"],
        commands=[
            "-@all",
            "ping",
            "get",
            "set",
            "del",
            "exists",
            "type",
            "strlen",
            "hget",
            "hmget",
            "hset",
            "hstrlen",
            "incr",
            "renamenx",
            "pttl",
            "pexpire",
            "evalsha",
            "script|load",
            "xadd",
            "xrevrange",
        ],
    )
    expired(sandbox, older.url)
    robot = new_session(sandbox, older.url, wait_for_authorisation=30)
    signed = {}
    worker = later(1.0, lambda: signed.update(token=sign_in(new_session(sandbox, older.url))))
    token = robot.access_token()
    worker.join(30)
    assert token.access_token == signed["token"].access_token
