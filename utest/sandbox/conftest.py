"""Fixtures for the sandbox tests: the reusable ones from healthcode_sandbox.pytest_plugin, plus
a client ``flow`` and a confidential client with an awkward secret."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from healthcode_sandbox import Client, Sandbox, SandboxSettings, Supervisor
from sandbox_clients import AWKWARD_SECRET

from .api_steps import Api
from .flows import Flow

# RFC 6749 2.3.1 makes every one of these characters special in Basic auth; the space too.
CONFIDENTIAL_ID = "confidential_bot"
CONFIDENTIAL_REDIRECT = "https://bot.example.com/callback?tenant=1"


@pytest.fixture
def flow(sandbox: Sandbox) -> Flow:
    """The default public client (example_rpa_app) against the ``sandbox``."""
    return Flow(sandbox)


@pytest.fixture
def confidential_flow(sandbox: Sandbox) -> Flow:
    """A confidential client with :data:`AWKWARD_SECRET`, registered at run time."""
    sandbox.add_client(Client(CONFIDENTIAL_ID, (CONFIDENTIAL_REDIRECT,), client_secret=AWKWARD_SECRET))
    return Flow(sandbox, client_id=CONFIDENTIAL_ID, redirect_uri=CONFIDENTIAL_REDIRECT)


@pytest.fixture
def start_sandbox(sandbox_factory: Callable[[SandboxSettings], Sandbox]) -> Callable[..., Sandbox]:
    """Start a sandbox with some settings changed: ``start_sandbox(require_mfa=True)``."""

    def start(**changes: Any) -> Sandbox:
        return sandbox_factory(SandboxSettings(**changes))

    return start


@pytest.fixture
def api(flow: Flow, sandbox: Sandbox) -> Api:
    """The API side, as ``supervisor`` (sites HC00ABC and HC12393) asking for site HC00ABC."""
    return Api(sandbox, flow.tokens()["access_token"])


@pytest.fixture
def mfa_api(sandbox: Sandbox) -> Api:
    """The API side, as ``mfa.supervisor`` (site HC16190 only) asking for site HC16190."""
    flow = Flow(sandbox, supervisor=Supervisor("mfa.supervisor"))
    return Api(sandbox, flow.tokens()["access_token"], site_id="HC16190")
