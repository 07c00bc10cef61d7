"""Request logs show method, path and status only: never a code, token or query string."""

from __future__ import annotations

import logging
import socket

import pytest

from healthcode_sandbox import Sandbox
from healthcode_sandbox.server import redact_query

from .flows import Flow


@pytest.mark.refresh_tokens
def test_request_log_has_paths_but_no_query_strings_or_secrets(
    flow: Flow, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    body = flow.tokens()
    flow.refresh(body["refresh_token"])
    flow.whoami(body["access_token"])

    # The test's own HTTP client (httpx, httpcore) logs its request URLs; only the server side counts.
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    http_lines = [r.getMessage() for r in caplog.records if r.name == "healthcode_sandbox.http"]
    assert any(line.endswith("GET /authorize 200") for line in http_lines)
    assert any(line.endswith("POST /token 200") for line in http_lines)
    assert all("?" not in line for line in http_lines)
    secrets = sandbox.issued_secrets()
    for secret in (*secrets.all, flow.challenge, flow.state):
        assert not [line for line in lines if secret in line]


def test_malformed_request_lines_are_logged_without_their_query(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as connection:
        connection.sendall(b"GET /authorize?code=SECRETCODE123 extra words HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = connection.recv(1024)

    assert reply.startswith(b"HTTP/1.1 400") or reply.startswith(b"HTTP/1.0 400")
    messages = [record.getMessage() for record in caplog.records]
    assert any("Bad request" in message for message in messages)
    assert not [message for message in messages if "SECRETCODE123" in message]


def test_redact_query_hides_every_query_string() -> None:
    text = "Bad request syntax ('GET /authorize?code=abc&state=x HTTP/1.1') then /cb?token=t"

    assert redact_query(text) == "Bad request syntax ('GET /authorize?... HTTP/1.1') then /cb?..."
