"""A new user's mistakes end within seconds in a message that says what to do (issue 17, points
9, 11, 13 and 14): real processes, the sandbox, the starter suite."""

import subprocess
import sys
import time

import pytest

from cli_runs import cli as run
from healthcode_auth.storage.key_sources import key_file_path

REDIRECT = "https://rpaapp.example.com/postauth"


def test_check_reports_a_registration_the_sso_accepts_and_what_it_cannot_check(env, sandbox):
    result = run("check", env=env)
    assert result.returncode == 0, result.stderr
    assert "Authorization request:  accepted: the SSO shows its sign-in page" in result.stdout
    assert "Not checked here:       the client secret" in result.stdout
    assert sandbox.request_count("token.authorization_code") == 0


@pytest.mark.parametrize(
    ("setting", "value"),
    [("HEALTHCODE_CLIENT_ID", "exmaple_rpa_app"), ("HEALTHCODE_REDIRECT_URI", REDIRECT + "/")],
    ids=["wrong client id", "redirect uri with a trailing slash"],
)
def test_check_fails_at_once_on_a_registration_the_sso_refuses(env, sandbox, setting, value):
    started = time.monotonic()
    result = run("check", env={**env, setting: value})
    assert time.monotonic() - started < 20
    assert result.returncode == 1, result.stdout
    assert "Authorization request:  refused: the SSO answered with a page that asks for nothing" in result.stdout
    assert "The client id or the redirect URI is probably not registered as given" in result.stderr
    assert value in result.stderr


def test_check_says_an_sso_that_approves_at_once_accepts_and_redeems_nothing(env, sandbox):
    sandbox.set_faults(remembered_supervisor="supervisor")
    result = run("check", env=env)
    assert result.returncode == 0, result.stderr
    assert "approved the request at once" in result.stdout
    assert sandbox.request_count("token.authorization_code") == 0


def test_check_reads_an_oauth_error_sent_back_to_the_redirect_uri(env, sandbox):
    result = run("check", "--scope", "no-such-scope", env=env)
    assert result.returncode == 1, result.stdout
    assert "sent the request back with the error 'invalid_scope'" in result.stdout


@pytest.mark.refresh_tokens
def test_status_refuses_a_negative_minimum(env, sandbox):
    sandbox.set_faults(remembered_supervisor="supervisor", token_lifetime=60)
    assert run("login", "--headless", env=env, timeout=120).returncode == 0
    result = run("status", "--min-remaining", "-100000", env=env)
    assert result.returncode == 2
    assert "'-100000' is negative" in result.stderr and "valid" not in result.stdout.split("Status:")[-1]


def test_login_says_the_unit_of_its_wait_and_that_it_made_a_key(env, sandbox):
    sandbox.set_faults(remembered_supervisor="supervisor")
    result = run("login", "--headless", "--sign-in-timeout", "20", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "A supervisor must sign in within 20 seconds." in result.stdout
    assert f"Created the token cache's key in the key file {key_file_path()}" in result.stderr
    again = run("login", "--headless", "--force", env=env, timeout=120)
    assert "Created the token cache's key" not in again.stderr


BLOCK_REQUESTS_LIBRARY = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name == "RequestsLibrary":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
import robot
sys.exit(robot.run_cli(sys.argv[1:], exit=False))
"""


REQUESTS_SUITE = """*** Settings ***
Library    HealthcodeLibrary
Library    RequestsLibrary

*** Tasks ***
Call An API With RequestsLibrary
    ${auth}=    Get Healthcode Requests Auth
"""


def test_a_suite_using_requests_library_without_the_requests_extra_says_which_extra(tmp_path, env):
    """Point 13: a user who installed the package without [requests], with a suite that calls an API
    through RequestsLibrary (the starter suites need no extra: they use Call Healthcode API)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "requests_suite.robot").write_text(REQUESTS_SUITE)
    starter = subprocess.run(
        [sys.executable, "-m", "healthcode_cli", "init"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "requests" not in starter.stdout + starter.stderr  # no extra needed by what init wrote
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            BLOCK_REQUESTS_LIBRARY,
            "--output",
            "NONE",
            "--log",
            "NONE",
            "--report",
            "NONE",
            "--dryrun",
            "requests_suite.robot",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert (
        "RequestsLibrary is not installed. It comes with robotframework-healthcode's 'requests' extra: "
        'pip install "robotframework-healthcode[requests]"' in output
    )
    assert "PYTHONPATH" not in output and "Traceback" not in output


def test_the_keyword_documentation_spells_oauth2_as_the_readme_does():
    from HealthcodeLibrary import HealthcodeLibrary

    assert "Get Healthcode OAuth2 Session" in HealthcodeLibrary().get_keyword_names()


@pytest.mark.parametrize(
    "url",
    [
        "redis://:hunter2-store-password@127.0.0.1:6379/0",
        "rediss://healthcode:hunter2-store-password@redis.example:6380/0",
        "REDIS://hunter2-store-password@127.0.0.1/0",
    ],
    ids=["password", "user-and-password", "password-as-user"],
)
def test_a_store_password_on_the_command_line_is_refused(env, url):
    """A command line is readable by every user of the machine: the URL with a password belongs in
    HEALTHCODE_TOKEN_CACHE. Nothing is connected to and the password is not repeated."""
    result = run("status", "--token-cache", url, env=env)
    assert result.returncode == 2
    assert "--token-cache must not carry a password" in result.stderr
    assert "HEALTHCODE_TOKEN_CACHE" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("status", "--notfy", "mailtos://user:hunter2@example.com"),
        ("status", "--notfy=mailtos://user:hunter2@example.com"),
        ("status", "--cache-key", "hck1_hunter2"),
        ("status", "hunter2"),
    ],
    ids=["mistyped", "mistyped=", "cache-key", "stray-value"],
)
def test_an_unknown_option_is_named_and_its_value_never_echoed(env, args):
    """A value typed after a mistyped option is not repeated: it may be a secret (an Apprise URL
    holds credentials; there is no option for the store's key)."""
    result = run(*args, env=env)
    assert result.returncode == 2
    assert "hunter2" not in result.stdout + result.stderr
    assert "unrecognized" in result.stderr
    if args[1].startswith("-"):
        assert args[1].split("=")[0] in result.stderr
