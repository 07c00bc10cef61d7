"""The Sandbox object: lifecycle, addresses, refusal of non-loopback hosts."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable

import httpx
import pytest

from healthcode_sandbox import (
    DEFAULT_PASSWORD,
    Sandbox,
    SandboxConfigurationError,
    SandboxError,
    SandboxSettings,
    StartError,
)

from .flows import HTTP, Flow, query


def test_context_manager_serves_on_a_free_loopback_port_and_frees_it() -> None:
    with Sandbox() as sandbox:
        port, was_running = sandbox.port, sandbox.running
        assert sandbox.url == f"http://127.0.0.1:{port}"
        assert sandbox.discovery_url == f"{sandbox.url}/.well-known/openid-configuration"
        assert HTTP.get(sandbox.discovery_url).status_code == 200

    assert was_running
    assert not sandbox.running
    with pytest.raises(httpx.ConnectError):
        HTTP.get(f"http://127.0.0.1:{port}/jwks", timeout=1)
    assert sandbox.url.endswith(f":{port}")  # the last run stays readable


def test_stop_is_idempotent_and_start_twice_is_refused() -> None:
    sandbox = Sandbox().start()
    try:
        with pytest.raises(SandboxError, match="already running"):
            sandbox.start()
    finally:
        sandbox.stop()
    sandbox.stop()
    assert not sandbox.running


def test_two_sandboxes_run_side_by_side_with_their_own_keys(start_sandbox: Callable[..., Sandbox]) -> None:
    first, second = start_sandbox(), start_sandbox()

    assert first.port != second.port
    assert first.signing_kid != second.signing_kid
    assert HTTP.get(first.discovery_url).json()["issuer"] == first.url
    assert HTTP.get(second.discovery_url).json()["issuer"] == second.url


def test_non_loopback_host_is_refused_without_allow_remote() -> None:
    with pytest.raises(SandboxConfigurationError, match="fixed, published passwords"):
        Sandbox(SandboxSettings(host="0.0.0.0"))


def test_a_port_in_use_is_a_start_error(sandbox: Sandbox) -> None:
    with pytest.raises(StartError, match="in use"):
        Sandbox(SandboxSettings(port=sandbox.port)).start()


def test_unstarted_sandbox_has_no_url() -> None:
    with pytest.raises(SandboxError, match="not been started"):
        _ = Sandbox().url


def test_fixed_port_is_used_when_free() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]

    with Sandbox(SandboxSettings(port=free_port)) as sandbox:
        assert sandbox.port == free_port


def test_allow_remote_serves_plain_http_by_another_name_without_a_process_wide_switch(
    start_sandbox: Callable[..., Sandbox],
) -> None:
    remote, loopback_only = start_sandbox(allow_remote=True, public_url="http://sandbox.example"), start_sandbox()
    flow = Flow(remote)
    query_string = flow.authorize_url().split("?", 1)[1]
    # Clients that reach the sandbox as sandbox.example: the Host header is the name they used.
    with httpx.Client(base_url=f"http://127.0.0.1:{remote.port}", headers={"Host": "sandbox.example"}) as http:
        page = http.get(f"/authorize?{query_string}")
        request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
        assert request_id, page.text
        answer = {"request_id": request_id.group(1), "action": "sign-in", "username": "supervisor"}
        approved = http.post("/authorize", data={**answer, "password": DEFAULT_PASSWORD})
        code = query(approved.headers["location"])["code"]
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow.redirect_uri,
            "client_id": flow.client_id,
            "code_verifier": flow.verifier,
        }
        token = http.post("/token", data=exchange)
    refused = HTTP.get(
        f"http://127.0.0.1:{loopback_only.port}/authorize?{query_string}", headers={"Host": "sandbox.example"}
    )

    assert token.status_code == 200, token.text
    assert "AUTHLIB_INSECURE_TRANSPORT" not in os.environ
    assert (refused.status_code, "insecure_transport" in refused.text) == (400, True)
