"""Only the right people may authorise the robots (issue 20, point 3): with a ``supervisors``
list, a sign-in by an account not on it stores nothing and is recorded as refused; the refusal
names the account's claim value, so that an operator can copy it into the list.

Against the sandbox and both stores (a file, a real Redis).
"""

import pytest

from daily_cycle_helpers import FLEET_KEY, store
from healthcode_auth import HealthcodeConfig, SupervisorNotAllowedError
from healthcode_auth.errors import ConfigurationError
from healthcode_auth.supervision import check_supervisor
from sandbox_clients import new_session, sign_in

__all__ = ["store"]


def test_an_account_not_on_the_list_stores_nothing_and_is_recorded(sandbox, store):
    probe = new_session(sandbox, store)
    supervisor = sign_in(probe).supervisor  # the sandbox's test account, allowed by no list yet
    probe.clear()
    robot = new_session(sandbox, store, supervisors="someone-else another-one")
    with pytest.raises(SupervisorNotAllowedError) as refused:
        sign_in(robot)
    assert refused.value.account == supervisor and refused.value.claim == "sub"
    assert f"({supervisor})" in str(refused.value) and "HEALTHCODE_SUPERVISORS" in str(refused.value)
    assert robot.store.load(robot.key) is None  # nothing stored
    last = robot.history(1)[0]
    assert (last.fields["event"], last.fields["supervisor"]) == ("refused", supervisor)


def test_an_account_on_the_list_authorises_the_robots(sandbox, store):
    supervisor = sign_in(new_session(sandbox, store)).supervisor
    robot = new_session(sandbox, store, supervisors=f"someone-else,{supervisor}")
    token = sign_in(robot)
    assert robot.store.load(robot.key).entry.token.access_token == token.access_token


def test_another_claim_can_name_the_account(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", FLEET_KEY)
    cache = tmp_path / "tokens.json"
    robot = new_session(sandbox, cache, supervisors="nobody", supervisor_claim="client_id")
    with pytest.raises(SupervisorNotAllowedError) as refused:
        sign_in(robot)
    assert refused.value.claim == "client_id" and refused.value.account == "example_rpa_app"


def test_a_token_that_cannot_be_verified_proves_nobody():
    config = HealthcodeConfig(
        client_id="example_rpa_app", redirect_uri="https://rpaapp.example.com/postauth", supervisors=("alice",)
    )
    with pytest.raises(SupervisorNotAllowedError, match="could not be verified"):
        check_supervisor(config, None)
    with pytest.raises(SupervisorNotAllowedError, match=r"none: the token has no 'sub' claim"):
        check_supervisor(config, {"name": "Alice"})
    with pytest.raises(SupervisorNotAllowedError):
        check_supervisor(config, {"sub": ["alice"]})  # a list that holds the name is not the name
    numbers = HealthcodeConfig(client_id="x", redirect_uri="https://rpaapp.example.com/postauth", supervisors=("1",))
    with pytest.raises(SupervisorNotAllowedError):
        check_supervisor(numbers, {"sub": 1})  # the number 1 is not the account "1"
    check_supervisor(config, {"sub": "alice"})
    check_supervisor(HealthcodeConfig(client_id="x", redirect_uri="https://rpaapp.example.com/postauth"), None)


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"supervisors": "alice,bo b\x07"}, "control characters"),
        ({"supervisors": 42}, "separated by commas"),
        ({"supervisors": "alice", "verify_access_token": "never"}, "needs verified tokens"),
        ({"supervisor_claim": "sub claim"}, "name of the access token's claim"),
        ({"supervisor_claim": ""}, "name of the access token's claim"),
        ({"supervisor_claim": "name"}, "may change"),
    ],
)
def test_settings_that_cannot_name_accounts_are_clear_errors(settings, problem):
    with pytest.raises(ConfigurationError, match=problem):
        HealthcodeConfig(client_id="x", redirect_uri="https://rpaapp.example.com/postauth", **settings)


def test_the_list_reads_from_the_environment():
    config = HealthcodeConfig.from_environment(
        {
            "HEALTHCODE_CLIENT_ID": "x",
            "HEALTHCODE_REDIRECT_URI": "https://rpaapp.example.com/postauth",
            "HEALTHCODE_SUPERVISORS": " alice, bob\ncarol alice ",
            "HEALTHCODE_SUPERVISOR_CLAIM": "email",
        }
    )
    assert config.supervisors == ("alice", "bob", "carol") and config.supervisor_claim == "email"
