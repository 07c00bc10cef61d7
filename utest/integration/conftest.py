"""The core against a real running sandbox: fixtures."""

import pytest

from healthcode_auth import HealthcodeAuthClient
from healthcode_sandbox import Client
from sandbox_clients import AWKWARD_SECRET, REDIRECT, config_for


@pytest.fixture
def client(sandbox):
    with HealthcodeAuthClient(config_for(sandbox)) as client:
        yield client


@pytest.fixture
def confidential_client(sandbox):
    sandbox.add_client(Client("confidential_bot", (REDIRECT,), client_secret=AWKWARD_SECRET))
    config = config_for(sandbox, client_id="confidential_bot", client_secret=AWKWARD_SECRET)
    with HealthcodeAuthClient(config) as client:
        yield client
