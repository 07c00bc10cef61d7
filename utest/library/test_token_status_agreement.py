"""One rule for token status: the keywords and ``healthcode-auth status`` agree on both sides of
the expiry margin, reading the same real token store (the SSO is a fake that counts refreshes)."""

import os
import subprocess
import sys
import time

import pytest

from healthcode_auth import Token, TokenAssertionError
from healthcode_auth.storage.store import StoredAuthorisation
from HealthcodeLibrary import HealthcodeLibrary
from sandbox_clients import REDIRECT

MARGIN = 300
SETTINGS = {
    "HEALTHCODE_CLIENT_ID": "example_rpa_app",
    "HEALTHCODE_REDIRECT_URI": REDIRECT,
    "HEALTHCODE_ENVIRONMENT": "uat",
    "HEALTHCODE_EXPIRY_MARGIN": str(MARGIN),
    "HEALTHCODE_CACHE_KEY": "a passphrase for the agreement test",
}


class CountingClient:
    """The SSO side: renewing is the only thing these tests may ask of it."""

    def __init__(self, config):
        self.config = config
        self.refreshes = 0
        self.metadata = type("Metadata", (), {"to_dict": lambda self: {}, "discovery_url": config.discovery_url})()

    def request_refresh(self, refresh_token):
        self.refreshes += 1
        return Token(access_token="RENEWED-ACCESS-TOKEN", expires_at=time.time() + 86400, refresh_token="RT-2")

    def verify(self, token):
        return token


@pytest.fixture
def settings(tmp_path, monkeypatch):
    values = {**SETTINGS, "HEALTHCODE_TOKEN_CACHE": str(tmp_path / "tokens.json")}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def library_with_token(seconds_left):
    library = HealthcodeLibrary()
    session = library.session
    session.client = CountingClient(session.config)
    token = Token(access_token="STORED-ACCESS-TOKEN", expires_at=time.time() + seconds_left, refresh_token="RT-1")
    assert session.store.store(StoredAuthorisation(session.config.discovery_url, "example_rpa_app", token), None)
    return library


def cli_status(settings):
    return subprocess.run(
        [sys.executable, "-m", "healthcode_cli", "status"],
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_outside_the_margin_all_three_say_valid(settings):
    library = library_with_token(MARGIN + 60)
    status = cli_status(settings)
    assert status.returncode == 0, status.stdout
    assert "Status:        valid" in status.stdout
    library.healthcode_access_token_should_be_valid()
    assert library.get_healthcode_access_token().value == "STORED-ACCESS-TOKEN"
    assert library.session.client.refreshes == 0


def test_inside_the_margin_all_three_say_renewal_due(settings):
    library = library_with_token(MARGIN - 60)
    status = cli_status(settings)
    assert status.returncode == 4, status.stdout
    assert "due for renewal" in status.stdout
    with pytest.raises(
        TokenAssertionError, match=r"expires in .*within the expiry margin of 5 minutes: renewal is due"
    ):
        library.healthcode_access_token_should_be_valid()
    assert library.get_healthcode_access_token().value == "RENEWED-ACCESS-TOKEN"
    assert library.session.client.refreshes == 1
    library.healthcode_access_token_should_be_valid()  # renewed: valid again, for all three
    assert cli_status(settings).returncode == 0
