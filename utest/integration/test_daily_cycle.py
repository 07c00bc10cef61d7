"""The daily cycle as Healthcode documents it (no refresh token): robots wait for a supervisor instead
of failing, reminders go out before the end, and every notice reaches real receivers (a webhook
and an SMTP server on loopback), once for the fleet, holding no secret.

Against the sandbox (which issues no refresh token by default), the file store and a real Redis.
"""

import json
import threading
import time

import pytest

from daily_cycle_helpers import FLEET_KEY, cli, env_for, expired, store
from healthcode_auth.daily_cycle import send_due_reminders
from healthcode_auth.errors import NoValidTokenError
from receivers import smtp, webhook
from sandbox_clients import new_session, sign_in

__all__ = ["smtp", "store", "webhook"]
HOOK_PASSWORD = "Sup3r-Webhook-Pass"


def supervisor_signs_in_later(sandbox, store, after=1.0):
    signed = {}

    def later():
        time.sleep(after)
        signed["token"] = sign_in(new_session(sandbox, store, client_name="Claims robots"))
        signed["at"] = time.monotonic()

    worker = threading.Thread(target=later, daemon=True)
    worker.start()
    return worker, signed


def test_a_robot_waits_for_a_supervisor_and_goes_on_with_the_new_token(sandbox, store, webhook):
    expired(sandbox, store)
    robot = new_session(
        sandbox,
        store,
        notify=webhook.url(f"robot:{HOOK_PASSWORD}"),
        client_name="Claims robots",
        wait_for_authorisation=120,
    )
    said = []
    robot.on_wait = said.append
    worker, signed = supervisor_signs_in_later(sandbox, store)
    token = robot.access_token()
    woke = time.monotonic()
    worker.join(30)
    assert token.access_token == signed["token"].access_token
    assert woke - signed["at"] < 10  # woke on the sign-in, not at the end of its two minutes
    assert said[0].startswith("No valid Healthcode authorisation: waiting up to")
    assert "the supervisors are being told" in said[0]
    assert said[-1].startswith("A supervisor signed in (supervisor)")
    waiting = [n for n in webhook.received if n["title"] == "Healthcode robots are waiting for a supervisor"]
    assert len(waiting) == 1 and "Claims robots" in waiting[0]["message"]
    assert "healthcode-auth login --client-id example_rpa_app" in waiting[0]["message"]
    assert sandbox.request_count("token.refresh_token") == 0


def test_a_wait_that_runs_out_says_how_long_and_what_became_of_the_notice(sandbox, store, webhook):
    expired(sandbox, store)
    robot = new_session(sandbox, store, notify=webhook.url(), wait_for_authorisation=2)
    started = time.monotonic()
    with pytest.raises(
        NoValidTokenError, match="Waited .* for a supervisor to sign in; the 'waiting' notice was delivered"
    ):
        robot.access_token()
    assert 2 <= time.monotonic() - started < 20
    assert sandbox.stats().get("token", 0) == 1  # the sign-in's exchange only: waiting asks the SSO nothing


def test_robots_on_several_machines_send_one_waiting_notice(sandbox, redis_url, monkeypatch, webhook):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    expired(sandbox, redis_url)
    robots = [new_session(sandbox, redis_url, notify=webhook.url(), wait_for_authorisation=60) for _ in range(6)]
    got = []
    threads = [threading.Thread(target=lambda r=robot: got.append(r.access_token()), daemon=True) for robot in robots]
    for thread in threads:
        thread.start()
    worker, signed = supervisor_signs_in_later(sandbox, redis_url, after=2.0)
    for thread in threads:
        thread.join(60)
    worker.join(30)
    assert len(got) == 6 and {token.access_token for token in got} == {signed["token"].access_token}
    assert webhook.titles().count("Healthcode robots are waiting for a supervisor") == 1
    assert sandbox.request_count("token.authorization_code") == 2 and sandbox.request_count("token.refresh_token") == 0


def test_a_failing_channel_never_stops_a_robot_and_the_log_names_no_credential(sandbox, store, webhook, caplog):
    expired(sandbox, store)
    webhook.status = 500
    robot = new_session(
        sandbox,
        store,
        wait_for_authorisation=60,
        notify=f"{webhook.url(f'robot:{HOOK_PASSWORD}')}, json://127.0.0.1:9/hook-{HOOK_PASSWORD}",
    )
    worker, signed = supervisor_signs_in_later(sandbox, store)
    with caplog.at_level("WARNING", logger="healthcode_auth"):
        token = robot.access_token()
    worker.join(30)
    assert token.access_token == signed["token"].access_token
    assert "notice could not be delivered" in caplog.text and "500" in caplog.text
    assert HOOK_PASSWORD not in caplog.text


def test_nobody_answering_escalates_once(sandbox, store, webhook, smtp):
    expired(sandbox, store)
    robot = new_session(
        sandbox, store, notify=webhook.url(), notify_escalation=smtp.url(), escalate_after=1, wait_for_authorisation=4
    )
    with pytest.raises(NoValidTokenError):
        robot.access_token()
    assert [m["Subject"] for m in smtp.messages] == ["Still waiting: Healthcode robots need a supervisor"]


def test_each_reminder_goes_once_from_two_machines_and_holds_no_secret(sandbox, redis_url, monkeypatch, webhook, smtp):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    # A 15-minute token: the robots stop using it 5 minutes (the expiry margin) before it expires,
    # so the authorisation ends in 10 minutes. The 15-minute reminder is due; the 5-minute one is not.
    sandbox.set_faults(token_lifetime=900)
    sign_in(new_session(sandbox, redis_url))
    env = env_for(
        sandbox,
        redis_url,
        notify=f"{webhook.url()} {smtp.url()}",
        remind_before="15 minutes, 5 minutes",
        client_name="Claims robots",
        portal_url="https://rpaapp.example.com/",
    )
    first, second = cli("remind", env=env), cli("remind", env=env)  # two machines, two schedulers
    assert first.returncode == second.returncode == 0, first.stderr
    assert "The 'reminder 15 min before the end' notice was delivered." in first.stdout
    assert "was already sent by another robot or scheduler" in second.stdout
    assert webhook.titles() == ["Healthcode robots: sign in again by today at " + webhook.titles()[0][-5:]]
    assert len(smtp.messages) == 1
    body = webhook.received[0]["message"]
    assert "Claims robots" in body and "Sign in at https://rpaapp.example.com/" in body and "cannot be renewed" in body
    session = new_session(sandbox, redis_url, notify=webhook.url(), remind_before=(900, 300))
    stored = session.store.load(session.key)
    later = stored.entry.token.expires_at - 300 - 200  # a clock set past the 5-minute mark before the end
    sent = send_due_reminders(session.store, session.key, session.config, stored, later)
    assert [(s.sent, s.kind) for s in sent] == [(True, "reminder 5 min before the end")]  # the 15-min one went before
    assert len(webhook.received) == 2
    everything = json.dumps(webhook.received) + "".join(smtp.bodies())
    for secret in [*sandbox.issued_secrets().all, FLEET_KEY]:
        if len(secret) >= 8:
            assert secret not in everything


def test_authorised_and_signed_out_notices_say_who_and_until_when(sandbox, store, webhook):
    session = new_session(sandbox, store, notify=webhook.url())
    sign_in(session)
    session.describe_actor = lambda: {"user": "ops-on-call"}
    session.clear()
    assert webhook.titles() == ["Healthcode robots authorised", "Healthcode robots signed out"]
    authorised, signed_out = (n["message"] for n in webhook.received)
    assert (
        authorised.startswith("Supervisor supervisor authorised the robots example_rpa_app")
        and "ends tomorrow at" in authorised
    )
    assert "withdrawn today at" in signed_out and "by ops-on-call" in signed_out


def test_the_wait_command_exits_0_once_authorised_and_3_when_nobody_came(sandbox, store):
    expired(sandbox, store)
    env = env_for(sandbox, store)
    env["HEALTHCODE_CACHE_KEY"] = FLEET_KEY
    nobody = cli("wait", "--timeout", "2 s", env=env)
    assert nobody.returncode == 3 and "Waited" in nobody.stdout
    worker, _ = supervisor_signs_in_later(sandbox, store, after=2.0)
    someone = cli("wait", "--timeout", "1 minute", env=env)
    worker.join(30)
    assert someone.returncode == 0, someone.stdout + someone.stderr
    assert "waiting up to 1 min" in someone.stdout and "Authorised until tomorrow at" in someone.stdout


def test_status_says_when_the_next_sign_in_is_due(sandbox, store):
    sign_in(new_session(sandbox, store))
    env = env_for(sandbox, store)
    env["HEALTHCODE_CACHE_KEY"] = FLEET_KEY
    text = cli("status", env=env)
    assert text.returncode == 0 and "Next sign-in:  due tomorrow at" in text.stdout
    facts = json.loads(cli("status", "--json", env=env).stdout)
    assert facts["sign_in_due"].startswith("tomorrow at") and 86_000 < facts["sign_in_due_in_seconds"] < 86_400
