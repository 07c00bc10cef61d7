"""Clients files (JSON and TOML) and registration checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from healthcode_sandbox import Account, Client, SandboxConfigurationError, load_registrations


def test_json_file_with_clients_and_accounts(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_text(
        '{"clients": [{"client_id": "a", "redirect_uris": ["https://a/cb"], "client_secret": "x:y", "name": "A"},'
        ' {"client_id": "b", "redirect_uris": ["https://b/cb", "http://127.0.0.1:9/cb"], "scope": "healthcode.api"}],'
        ' "accounts": [{"username": "alice", "password": "pw", "mfa": true}]}'
    )

    registrations = load_registrations(path)

    assert registrations.clients == (
        Client("a", ("https://a/cb",), client_secret="x:y", name="A"),
        Client("b", ("https://b/cb", "http://127.0.0.1:9/cb")),
    )
    assert registrations.accounts == (Account("alice", "pw", mfa=True),)
    assert registrations.clients[0].token_endpoint_auth_methods == ("client_secret_basic", "client_secret_post")
    assert registrations.clients[1].token_endpoint_auth_methods == ("none",)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "clients.toml"
    path.write_text('[[clients]]\nclient_id = "t"\nredirect_uris = ["https://t/cb"]\nclient_secret = "a b"\n')

    registrations = load_registrations(path)

    assert registrations.clients == (Client("t", ("https://t/cb",), client_secret="a b"),)
    assert registrations.accounts is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ("{}", "non-empty 'clients' list"),
        ('{"clients": [{"client_id": "a"}]}', "needs redirect_uris"),
        ('{"clients": [{"client_id": "a", "redirect_uris": "https://a/cb"}]}', "list of URI strings"),
        ('{"clients": [{"client_id": "a", "redirect_uris": ["https://a/cb"], "secret": "s"}]}', "Unknown client field"),
        ('{"clients": [{"client_id": "a", "redirect_uris": ["https://a/cb"], "client_secret": ""}]}', "non-empty"),
        ('{"clients": [{"client_id": "a", "redirect_uris": []}]}', "at least one redirect URI"),
        ('{"clients": [{"client_id": "a", "redirect_uris": ["u"]}], "accounts": []}', "non-empty list"),
        ('{"clients": [{"client_id": "a", "redirect_uris": ["u"]}], "accounts": [{"username": "x"}]}', "password"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "clients.json"
    path.write_text(content)

    with pytest.raises(SandboxConfigurationError, match=message):
        load_registrations(path)


def test_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxConfigurationError, match="Cannot read"):
        load_registrations(tmp_path / "absent.json")


def test_duplicate_client_ids_are_refused() -> None:
    from healthcode_sandbox import SandboxSettings

    with pytest.raises(SandboxConfigurationError, match="Duplicate client_id"):
        SandboxSettings(clients=(Client("a"), Client("a")))
