"""``healthcode-auth check`` reads the API discovery document, and ``check --report`` prints the
redacted first-contact report (issue 19, item 8): real processes against the sandbox."""

import json

import pytest

from cli_runs import cli as run
from healthcode_sandbox import Supervisor

REDIRECT = "https://rpaapp.example.com/postauth"
SITE = "HC00ABC"


@pytest.fixture
def env(env):
    return {**env, "HEALTHCODE_SITE_ID": SITE}


def test_check_names_the_apis_of_the_api_discovery_document(env, sandbox):
    result = run("check", env=env)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("API discovery document:"))
    assert f"{sandbox.url}/.well-known/discovery-document.json" in line
    assert "find_member" in line and "search_remittance_summary" in line
    assert sandbox.request_count("api_discovery") == 1


def test_check_fails_saying_so_when_the_api_discovery_document_cannot_be_read(env, sandbox):
    result = run("check", env={**env, "HEALTHCODE_API_DISCOVERY": f"{sandbox.url}/no-such-document.json"})
    assert result.returncode == 1
    assert "could not be read" in result.stdout
    assert "404" in result.stderr and "HEALTHCODE_API_DISCOVERY" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_report_before_a_sign_in_lists_both_documents_and_no_token(env, sandbox):
    result = run("check", "--report", env=env)
    assert result.returncode == 0, result.stderr
    assert "find_member_endpoint" in result.stdout and "token_endpoint" in result.stdout
    assert "signed in: no" in result.stdout
    assert SITE not in result.stdout


def test_the_report_after_a_sign_in_shows_claim_names_never_values_or_secrets(env, sandbox):
    sandbox.set_faults(remembered_supervisor="supervisor")
    assert run("login", "--headless", env=env).returncode == 0
    text = run("check", "--report", env=env)
    data = run("check", "--report", "--json", env=env)
    assert text.returncode == data.returncode == 0, text.stderr + data.stderr
    report = json.loads(data.stdout)
    assert {"sub", "exp", "client_id"} <= set(report["token"]["claim_names"])
    assert report["token"]["header"]["alg"] == "RS256"
    issued = sandbox.issued_secrets()
    assert issued.access_tokens, "nobody signed in: the test would prove nothing"
    for output in (text.stdout + text.stderr, data.stdout + data.stderr):
        for secret in [*issued.access_tokens, *issued.authorization_codes, *issued.code_verifiers]:
            assert secret not in output
        for personal in ("supervisor@", Supervisor().username, "Sam Supervisor", SITE):
            assert f" {personal}" not in output and f'"{personal}"' not in output
