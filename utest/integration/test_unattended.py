"""Unattended runs against the sandbox: the cached token, renewal, refusal, and parallel robots."""

import multiprocessing

import pytest

import parallel_robot
from healthcode_auth import NoValidTokenError, TokenStatus, token_status
from sandbox_clients import new_session, sign_in


def test_a_later_run_gets_the_cached_token_without_any_request(sandbox, tmp_path):
    first = sign_in(new_session(sandbox, tmp_path / "tokens.json"))
    sandbox.reset_stats()
    later = new_session(sandbox, tmp_path / "tokens.json")
    assert later.access_token().access_token == first.access_token
    assert sandbox.stats() == {}


def test_no_cached_token_fails_fast_and_names_the_cli(sandbox, tmp_path):
    session = new_session(sandbox, tmp_path / "tokens.json")
    session.sign_in_hint = "Run 'healthcode-auth login' with a supervisor"
    with pytest.raises(NoValidTokenError, match="healthcode-auth login"):
        session.access_token()
    assert sandbox.stats() == {}


@pytest.mark.refresh_tokens
def test_token_near_expiry_is_renewed_once_and_rotation_stored(sandbox, tmp_path):
    sandbox.set_faults(token_lifetime=60)  # inside the 300 s margin from the start
    first = sign_in(new_session(sandbox, tmp_path / "tokens.json"))
    sandbox.set_faults(token_lifetime=86_400)
    sandbox.reset_stats()
    later = new_session(sandbox, tmp_path / "tokens.json")
    renewed = later.access_token()
    assert renewed.access_token != first.access_token
    assert renewed.refresh_token != first.refresh_token
    assert sandbox.request_count("token.refresh_token") == 1
    assert sandbox.request_count("discovery") == 0  # the discovery document came from the cache
    again = new_session(sandbox, tmp_path / "tokens.json")
    assert again.access_token().access_token == renewed.access_token
    assert sandbox.request_count("token.refresh_token") == 1


@pytest.mark.refresh_tokens
def test_refused_renewal_marks_the_entry_and_asks_for_the_supervisor(sandbox, tmp_path):
    sandbox.set_faults(token_lifetime=60)
    sign_in(new_session(sandbox, tmp_path / "tokens.json"))
    sandbox.set_faults(token_invalid_grant=1)
    later = new_session(sandbox, tmp_path / "tokens.json")
    with pytest.raises(NoValidTokenError, match="Supervisor re-authorisation required.*invalid_grant"):
        later.access_token()
    marked = later.store.load(later.key)
    assert marked is not None and marked.refused_at is not None  # kept: a late renewer may still hand over
    sandbox.reset_stats()
    next_robot = new_session(sandbox, tmp_path / "tokens.json")
    with pytest.raises(NoValidTokenError, match="refused to renew the authorisation at"):
        next_robot.access_token()
    assert sandbox.request_count("token.refresh_token") == 0  # nobody renews with a refused token again


def test_expiry_margin_absorbs_clock_skew(sandbox, tmp_path):
    sandbox.set_faults(token_lifetime=600)
    token = sign_in(new_session(sandbox, tmp_path / "tokens.json", expiry_margin=0))
    assert token_status(token, 0) is TokenStatus.VALID
    skewed = token.expires_at - 599  # our clock 599 s behind the server's view of expiry
    assert token_status(token, 300, now=skewed + 301) is not TokenStatus.VALID


@pytest.mark.refresh_tokens
@pytest.mark.parametrize("robots", [8])
def test_parallel_robots_with_an_expired_token_refresh_once(sandbox, tmp_path, robots):
    cache_path = tmp_path / "tokens.json"
    sandbox.set_faults(token_lifetime=60)
    sign_in(new_session(sandbox, cache_path))
    sandbox.set_faults(token_lifetime=86_400)
    sandbox.reset_stats()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(robots), context.Queue()
    processes = [
        context.Process(
            target=parallel_robot.get_token, args=(sandbox.discovery_url, str(cache_path), barrier, results)
        )
        for _ in range(robots)
    ]
    for process in processes:
        process.start()
    tokens = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert sandbox.request_count("token.refresh_token") == 1
    assert len(set(tokens)) == 1


@pytest.mark.refresh_tokens
def test_a_running_robot_does_not_renew_a_logged_out_authorisation(sandbox, tmp_path):
    sandbox.set_faults(token_lifetime=600)
    robot = new_session(sandbox, tmp_path / "tokens.json")
    sign_in(robot)
    operator = new_session(sandbox, tmp_path / "tokens.json")
    operator.clear()  # healthcode-auth logout
    robot.expiry_margin = 900  # the robot's token is now due for renewal
    sandbox.reset_stats()
    with pytest.raises(NoValidTokenError, match="removed from the token cache"):
        robot.access_token()
    assert sandbox.request_count("token.refresh_token") == 0
    assert robot.store.load(robot.key) is None
