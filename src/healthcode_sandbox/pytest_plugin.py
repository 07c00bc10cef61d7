"""pytest fixtures for any test folder that needs a Healthcode SSO sandbox.

Import them into a ``conftest.py``::

    from healthcode_sandbox.pytest_plugin import sandbox, sandbox_factory, sandbox_settings  # noqa: F401

Override ``sandbox_settings`` in a test module or conftest to change what ``sandbox`` starts with;
use ``sandbox_factory(settings)`` for a test that needs several, or unusual, sandboxes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .server import Sandbox
from .settings import SandboxSettings


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    """Settings for the ``sandbox`` fixture: the defaults (no refresh tokens, as Healthcode documents),
    on a free loopback port. Override it with ``SandboxSettings(refresh_tokens=True)`` to test renewal."""
    return SandboxSettings()


@pytest.fixture
def sandbox(sandbox_settings: SandboxSettings) -> Iterator[Sandbox]:
    """A running sandbox, fresh for each test (keys, counters, faults), stopped afterwards."""
    with Sandbox(sandbox_settings) as running:
        yield running


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[[SandboxSettings], Sandbox]]:
    """Start sandboxes with the given settings; all are stopped after the test."""
    started: list[Sandbox] = []

    def start(settings: SandboxSettings) -> Sandbox:
        running = Sandbox(settings).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
