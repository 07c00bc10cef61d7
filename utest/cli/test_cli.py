"""``healthcode-auth`` as operators run it: real processes, a real headless browser, the sandbox."""

import re

import pytest

from cli_runs import cli as run
from cli_runs import env_for
from healthcode_sandbox import Client

REDIRECT = "https://rpaapp.example.com/postauth"


@pytest.fixture
def env(sandbox, tmp_path):
    return env_for(sandbox.discovery_url, tmp_path / "cache" / "tokens.json")


def secrets_of(sandbox):
    return [s for s in sandbox.issued_secrets().all if len(s) >= 8]


def assert_no_secret(sandbox, *outputs):
    for output in outputs:
        for secret in secrets_of(sandbox):
            assert secret not in output


def test_status_without_a_token_exits_3_and_names_login(env, sandbox):
    result = run("status", env=env)
    assert result.returncode == 3
    assert "healthcode-auth login" in result.stdout
    assert sandbox.stats() == {}


def test_login_status_logout(env, sandbox):
    sandbox.set_faults(remembered_supervisor="supervisor")
    login = run("login", "--headless", "--sign-in-timeout", "30 seconds", env=env)
    assert login.returncode == 0, login.stderr
    assert "Waiting up to 30 seconds for Healthcode to recognise the supervisor" in login.stdout
    assert "leave out --headless" in login.stdout
    assert "Signed in: supervisor" in login.stdout
    assert sandbox.request_count("token.authorization_code") == 1

    sandbox.reset_stats()
    status = run("status", env=env)
    assert status.returncode == 0
    assert "Signed in by:  supervisor" in status.stdout
    assert "Refresh token: no" in status.stdout  # as Healthcode documents: a new sign-in each day
    assert sandbox.stats() == {}  # status makes no request

    again = run("login", "--headless", env=env)
    assert again.returncode == 0
    assert sandbox.request_count("token.authorization_code") == 0  # the cached token was still valid

    logout = run("logout", env=env)
    assert logout.returncode == 0
    assert "Revoked it at the SSO server." in logout.stdout
    assert sandbox.request_count("revoke") == 1
    assert run("status", env=env).returncode == 3
    assert_no_secret(sandbox, login.stdout, login.stderr, status.stdout, again.stdout, logout.stdout)


def test_login_says_when_the_sso_issues_tokens_shorter_than_the_expiry_margin(env, sandbox):
    sandbox.set_faults(remembered_supervisor="supervisor", token_lifetime=120)  # the margin is 300 s
    login = run("login", "--headless", env=env)
    assert login.returncode == 1, login.stderr
    assert re.search(
        r"valid for only (2 minutes|1 minute 5\d seconds), within the expiry margin \(5 minutes\)", login.stderr
    ), login.stderr
    assert "HEALTHCODE_EXPIRY_MARGIN" in login.stderr
    assert "Traceback" not in login.stderr
    assert sandbox.request_count("token.authorization_code") == 1  # one sign-in, redeemed once


@pytest.mark.refresh_tokens
def test_status_near_expiry_with_refresh_token_exits_4(env, sandbox):
    sandbox.set_faults(remembered_supervisor="supervisor", token_lifetime=120)
    assert run("login", "--headless", env=env).returncode == 0
    status = run("status", env=env)
    assert status.returncode == 4
    assert "due for renewal" in status.stdout
    assert "Refresh token: yes" in status.stdout


@pytest.mark.refresh_tokens
def test_status_min_remaining(env, sandbox):
    sandbox.set_faults(remembered_supervisor="supervisor")
    assert run("login", "--headless", env=env).returncode == 0
    assert run("status", "--min-remaining", "3600", env=env).returncode == 0
    assert run("status", "--min-remaining", str(25 * 3600), env=env).returncode == 4


def test_login_refused_by_supervisor(env, sandbox):
    sandbox.set_faults(deny_sign_in=True)
    result = run("login", "--headless", env=env)
    assert result.returncode == 1
    assert "supervisor declined or cancelled the sign-in" in result.stderr
    assert "Traceback" not in result.stderr


def test_login_times_out(env, sandbox):
    result = run("login", "--headless", "--sign-in-timeout", "2 seconds", env=env)
    assert result.returncode == 1
    assert "did not complete the sign-in within 2 seconds" in result.stderr


def test_confidential_client_secret_never_printed(env, sandbox):
    secret = "a:b/c+d&e=f%g h-client-secret"
    sandbox.add_client(Client("confidential_bot", (REDIRECT,), client_secret=secret))
    sandbox.set_faults(remembered_supervisor="supervisor")
    env = {**env, "HEALTHCODE_CLIENT_ID": "confidential_bot", "HEALTHCODE_CLIENT_SECRET": secret}
    login = run("login", "--headless", env=env)
    status = run("status", env=env)
    assert login.returncode == 0, login.stderr
    assert status.returncode == 0
    for output in (login.stdout, login.stderr, status.stdout, status.stderr):
        assert secret not in output
    assert_no_secret(sandbox, login.stdout, login.stderr, status.stdout)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["status", "--environment", "staging"], 2, "invalid setting --environment (or HEALTHCODE_ENVIRONMENT)"),
        (["status", "--leeway", "7200"], 2, "invalid setting --leeway (or HEALTHCODE_LEEWAY)"),
        (["check", "--environment", "http://127.0.0.1:9/.well-known/openid-configuration"], 1, "Could not connect"),
    ],
)
def test_bad_settings_and_outages_are_clear(env, args, code, message):
    result = run(*args, env=env)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_check_prints_endpoints(env, sandbox):
    result = run("check", env=env)
    assert result.returncode == 0
    assert f"Token endpoint:         {sandbox.url}/token" in result.stdout


def test_sandbox_command_is_delegated():
    result = run("sandbox", "--help")
    assert result.returncode == 0
    assert "--remembered-supervisor" in result.stdout


def test_a_sign_out_is_final_even_when_an_old_copy_of_the_cache_is_put_back(env, sandbox, tmp_path):
    sandbox.set_faults(remembered_supervisor="supervisor")
    assert run("login", "--headless", env=env).returncode == 0
    cache = tmp_path / "cache" / "tokens.json"
    backup = cache.read_bytes()
    assert run("logout", "--no-revoke", env=env).returncode == 0
    cache.write_bytes(backup)  # a restore from a backup, or an attacker with the old file
    status = run("status", env=env)
    assert status.returncode == 1, status.stdout  # refused, said as such: never the old token
    assert "Signed in by" not in status.stdout
    assert "before the latest sign-out" in status.stderr and "healthcode-auth set-aside" in status.stderr
    assert run("set-aside", "--yes", env=env).returncode == 0
    assert run("status", env=env).returncode == 3
