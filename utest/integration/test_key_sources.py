"""A key source is probed before it is trusted, and a failing store never costs a token.

The keyring here fails the way Windows Credential Manager does in a session without stored
credentials (a task run "whether the user is logged on or not", a service, an SSH session):
error 1312, on every call.
"""

import logging

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordSetError

from healthcode_auth.storage import key_sources
from healthcode_auth.storage.file_store import FileTokenStore
from sandbox_clients import new_session, sign_in

ERROR_1312 = "(1312, 'CredWrite', 'A specified logon session does not exist. It may already have been terminated.')"


class CredentialManagerWithoutLogonSession(KeyringBackend):
    priority = 100

    def get_password(self, service, username):
        raise OSError(ERROR_1312)

    def set_password(self, service, username, password):
        raise PasswordSetError(ERROR_1312)

    def delete_password(self, service, username):
        raise OSError(ERROR_1312)


@pytest.fixture
def failing_keyring():
    before = keyring.get_keyring()
    keyring.set_keyring(CredentialManagerWithoutLogonSession())
    key_sources.keyring_works.cache_clear()
    yield
    keyring.set_keyring(before)
    key_sources.keyring_works.cache_clear()


def test_a_keyring_that_fails_like_credential_manager_falls_back_to_the_key_file(
    failing_keyring, sandbox, tmp_path, caplog
):
    assert key_sources.keyring_usable()  # the backend is there: only a round trip shows it fails
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        token = sign_in(new_session(sandbox, tmp_path / "tokens.json"))
    assert "keyring cannot be used in this session" in caplog.text
    assert "1312" in caplog.text
    assert str(key_sources.key_file_path()) in caplog.text
    later = new_session(sandbox, tmp_path / "tokens.json")
    assert later.access_token().access_token == token.access_token  # written, and readable, via the key file
    assert (tmp_path / "tokens.json").read_text().count('"key_source": "file"') == 1


def test_a_store_that_cannot_be_written_never_costs_the_redeemed_token(sandbox, tmp_path, caplog, monkeypatch):
    def no_key(environ):
        raise key_sources.StoreKeyError("the key store refused (simulated)")

    monkeypatch.setattr("healthcode_auth.storage.file_store.ensure_key", no_key)
    session = new_session(sandbox, tmp_path / "tokens.json")
    with caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        token = sign_in(session)  # the single-use code is redeemed even so
    assert token.access_token
    assert session.access_token().access_token == token.access_token
    assert "kept in memory for this run only" in caplog.text
    assert "the key store refused (simulated)" in caplog.text
    assert sandbox.request_count("token.authorization_code") == 1


@pytest.mark.refresh_tokens
def test_a_renewal_whose_store_write_fails_keeps_the_renewed_token(sandbox, tmp_path, caplog, monkeypatch):
    sandbox.set_faults(token_lifetime=60)
    session = new_session(sandbox, tmp_path / "tokens.json")
    sign_in(session)
    sandbox.set_faults(token_lifetime=86_400)

    def broken(self, entry, expected_version):
        raise key_sources.StoreKeyError("the cache could not be written (simulated)")

    with monkeypatch.context() as failing, caplog.at_level(logging.WARNING, logger="healthcode_auth"):
        failing.setattr(FileTokenStore, "store", broken)
        failing.setattr("healthcode_auth.renewal.RETRY_DELAYS", (0.01,))
        renewed = session.access_token()
        assert renewed.seconds_left() > 80_000  # the renewed token, kept for this run
        assert session.access_token().access_token == renewed.access_token
    assert "kept in memory for now" in caplog.text and "tried again at every later use" in caplog.text
    assert sandbox.request_count("token.refresh_token") == 1
    # The store works again: the next use hands the pending pair over.
    assert session.access_token().access_token == renewed.access_token
    assert new_session(sandbox, tmp_path / "tokens.json").access_token().access_token == renewed.access_token
    assert sandbox.request_count("token.refresh_token") == 1
