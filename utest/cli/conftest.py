"""The command line's tests: a robot's environment against the sandbox, as a new user pastes it
(the sandbox's address, not its discovery document's)."""

import pytest

from cli_runs import env_for


@pytest.fixture
def env(sandbox, tmp_path):
    return env_for(sandbox.url, tmp_path / "cache" / "tokens.json")
