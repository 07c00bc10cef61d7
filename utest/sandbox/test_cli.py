"""The command line: as a real subprocess (start, print, serve, stop on signals) and its options."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

import healthcode_sandbox
from healthcode_sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_REDIRECT_URI,
    Sandbox,
    SandboxConfigurationError,
    Supervisor,
)
from healthcode_sandbox.command_line import build_parser, main, settings_from_options

from .flows import HTTP, pkce_pair, query

SOURCE_ROOT = Path(healthcode_sandbox.__file__).resolve().parent.parent


def start_cli(*args: str) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``python -m healthcode_sandbox --port 0 ...``; return it, its discovery URL and output so far."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(
        [sys.executable, "-m", "healthcode_sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if match := re.match(r"Discovery URL: (\S+)", line):
            return process, match.group(1), "".join(lines)
    process.kill()
    raise AssertionError(
        f"no discovery URL printed: {''.join(lines)} {process.stderr.read() if process.stderr else ''}"
    )


def stop_cli(process: subprocess.Popen[str], signum: int) -> tuple[int, str, str]:
    process.send_signal(signum)
    returncode = process.wait(timeout=10)
    # Read through the same buffered files start_cli used (communicate() would skip their buffers).
    assert process.stdout is not None and process.stderr is not None
    return returncode, process.stdout.read(), process.stderr.read()


@pytest.mark.skipif(
    sys.platform == "win32",
    reason="Windows cannot send SIGINT or SIGTERM to a child process "
    "(Popen.send_signal: SIGTERM is TerminateProcess, SIGINT is refused)",
)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_cli_serves_until_a_signal_and_exits_cleanly(signum: int) -> None:
    process, discovery_url, banner = start_cli(
        "--client-id", "cli_bot", "--client-secret", "TOPSECRET-1", "--redirect-uri", "https://cli.example/cb"
    )
    try:
        document = HTTP.get(discovery_url).json()
        assert document["issuer"] + "/.well-known/openid-configuration" == discovery_url
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", document["issuer"])
        location = Supervisor().sign_in(
            document["authorization_endpoint"]
            + "?response_type=code&client_id=example_rpa_app&state=s1"
            + "&redirect_uri=https%3A%2F%2Frpaapp.example.com%2Fpostauth"
            + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        )
        code = query(location)["code"]
    finally:
        returncode, rest, stderr = stop_cli(process, signum)
    stdout = banner + rest

    assert returncode == 0, stderr
    assert "supervisor / sandbox-password" in stdout
    assert "mfa.supervisor / sandbox-password + one-time code 123456; sites HC16190" in stdout
    assert "supervisor / sandbox-password; sites HC00ABC, HC12393" in stdout
    assert f"API discovery document: {document['issuer']}/.well-known/discovery-document.json" in stdout
    assert "cli_bot (confidential, secret not shown)" in stdout
    assert "TOPSECRET-1" not in stdout + stderr
    assert "GET /authorize 200" in stderr
    assert code not in stdout + stderr
    assert "?" not in stderr
    assert "Traceback" not in stderr


def test_cli_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--host", "0.0.0.0", "--port", "0"])

    assert exit_info.value.code == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_cli_reports_a_busy_port(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", str(sandbox.port), "--quiet"]) == 1
    assert "in use" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--client-id", "x"], "--redirect-uri"),
        (["--client-secret", "s"], "--client-id"),
        (["--token-lifetime", "0"], "at least 1 second"),
        (["--failure-status", "404"], "5xx"),
        (["--api-moved-status", "200"], "redirect status"),
        (["--api-redirect-elsewhere", "ftp://x"], "http"),
        (["--api-failures", "-1"], "zero or more"),
    ],
)
def test_cli_rejects_inconsistent_options(args: list[str], message: str) -> None:
    with pytest.raises(SandboxConfigurationError, match=message):
        settings_from_options(build_parser().parse_args(args))


def test_cli_options_become_settings(tmp_path: Path) -> None:
    clients_file = tmp_path / "clients.json"
    clients_file.write_text(
        json.dumps(
            {
                "clients": [{"client_id": "file_bot", "redirect_uris": ["https://f.example/cb"], "client_secret": "s"}],
                "accounts": [{"username": "alice", "password": "pw", "mfa": True}],
            }
        )
    )
    args = [
        "--clients", str(clients_file),
        "--client-id", "cli_bot", "--redirect-uri", "https://c.example/a", "--redirect-uri", "https://c.example/b",
        "--token-lifetime", "5", "--code-lifetime", "2.5", "--audience", "api://x",
        "--refresh-tokens", "--no-rotation", "--require-mfa", "--otp", "999999",
        "--token-delay", "0.5", "--token-failures", "2", "--token-invalid-grant", "1", "--failure-status", "500",
        "--deny-sign-in", "--discovery-failures", "3", "--jwks-failures", "4",
        "--remembered-supervisor", "alice",
        "--error-page-redirect", "--embed-url", "http://127.0.0.1:9/frame", "--approve-by-script",
        "--api-moved", "2", "--api-moved-status", "302", "--api-redirect-elsewhere", "http://127.0.0.1:9/x",
        "--api-outcome-error", "3", "--api-failures", "4", "--api-moved-permanently",
    ]  # fmt: skip

    settings = settings_from_options(build_parser().parse_args(args))

    assert [c.client_id for c in settings.clients] == ["file_bot", "cli_bot"]
    assert settings.clients[1].redirect_uris == ("https://c.example/a", "https://c.example/b")
    assert settings.clients[1].is_public
    assert [a.username for a in settings.accounts] == ["alice"]
    assert (settings.audience, settings.otp, settings.require_mfa) == ("api://x", "999999", True)
    assert (settings.refresh_tokens, settings.rotate_refresh_tokens) == (True, False)
    assert settings.faults.as_dict() == {
        "token_delay": 0.5,
        "token_failures": 2,
        "token_invalid_grant": 1,
        "failure_status": 500,
        "token_lifetime": 5,
        "refresh_tokens": True,
        "code_lifetime": 2.5,
        "deny_sign_in": True,
        "remembered_supervisor": "alice",
        "discovery_failures": 3,
        "jwks_failures": 4,
        "error_page_redirect": True,
        "embed_url": "http://127.0.0.1:9/frame",
        "approve_by_script": True,
        "api_moved": 2,
        "api_moved_status": 302,
        "api_redirect_elsewhere": "http://127.0.0.1:9/x",
        "api_outcome_error": 3,
        "api_failures": 4,
        "api_moved_permanently": True,
    }


def test_cli_defaults_are_the_documented_sandbox() -> None:
    settings = settings_from_options(build_parser().parse_args([]))

    assert (settings.host, settings.port) == ("127.0.0.1", 8765)
    assert [c.client_id for c in settings.clients] == ["example_rpa_app"]
    assert settings.clients[0].redirect_uris == ("https://rpaapp.example.com/postauth",)
    assert settings.clients[0].is_public
    assert settings.faults.token_lifetime == 86_400
    assert (settings.refresh_tokens, settings.faults.refresh_tokens) == (False, False)


@pytest.mark.parametrize(
    ("args", "issued"),
    [
        ([], False),
        (["--no-refresh-tokens"], False),
        (["--refresh-tokens"], True),
        (["--refresh-tokens", "--no-refresh-tokens"], False),
    ],
)
def test_refresh_tokens_are_off_unless_asked_for_and_the_old_flag_still_works(args: list[str], issued: bool) -> None:
    settings = settings_from_options(build_parser().parse_args(args))

    assert (settings.refresh_tokens, settings.faults.refresh_tokens, settings.rotate_refresh_tokens) == (
        issued,
        issued,
        True,
    )


def sign_in_at(discovery_url: str) -> dict[str, object]:
    """The token response of one sign-in of the default client, at a sandbox started by start_cli."""
    document = HTTP.get(discovery_url).json()
    verifier, challenge = pkce_pair()
    location = Supervisor().sign_in(
        document["authorization_endpoint"]
        + "?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": DEFAULT_CLIENT_ID,
                "redirect_uri": DEFAULT_REDIRECT_URI,
                "state": "s1",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
    )
    response = HTTP.post(
        document["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": query(location)["code"],
            "client_id": DEFAULT_CLIENT_ID,
            "redirect_uri": DEFAULT_REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.mark.skipif(sys.platform == "win32", reason="stopped with SIGTERM, which Windows cannot send")
@pytest.mark.parametrize(
    ("args", "grants"),
    [
        ((), ["authorization_code"]),
        (("--refresh-tokens",), ["authorization_code", "refresh_token"]),
    ],
    ids=["as-healthcode-documents", "refresh-tokens"],
)
def test_the_command_line_answers_as_healthcode_documents_unless_told_to_issue_refresh_tokens(
    args: tuple[str, ...], grants: list[str]
) -> None:
    process, discovery_url, banner = start_cli("--quiet", *args)
    try:
        document = HTTP.get(discovery_url).json()
        body = sign_in_at(discovery_url)
    finally:
        _, rest, _ = stop_cli(process, signal.SIGTERM)

    assert document["grant_types_supported"] == grants
    assert ("refresh_token" in body) == bool(args)
    expected = "Refresh tokens: issued, and rotated on each use" if args else "Refresh tokens: none, as Healthcode"
    assert expected in banner + rest
