"""Clients and accounts from a JSON or TOML file, or from the admin API's JSON.

File shape (JSON shown; TOML uses ``[[clients]]`` / ``[[accounts]]`` tables)::

    {"clients": [{"client_id": "my_bot", "redirect_uris": ["https://bot.example/cb"],
                  "client_secret": "optional", "scope": "healthcode.api", "name": "My bot"}],
     "accounts": [{"username": "alice", "password": "pw", "mfa": false, "sites": ["HC00ABC"]}]}

``accounts`` is optional; when present it replaces the default sandbox accounts.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..sandbox_errors import SandboxConfigurationError
from ..settings import DEFAULT_SCOPE, DEFAULT_SITE_ID, Account, Client

CLIENT_KEYS = {"client_id", "redirect_uris", "client_secret", "scope", "name"}
ACCOUNT_KEYS = {"username", "password", "mfa", "display_name", "sites"}


@dataclass(frozen=True)
class Registrations:
    """What a registrations file declares; ``accounts`` is None when the file has none."""

    clients: tuple[Client, ...]
    accounts: tuple[Account, ...] | None = None


def load_registrations(path: str | Path) -> Registrations:
    """Read a ``.json`` or ``.toml`` registrations file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise SandboxConfigurationError(f"Cannot read the clients file {file}: {error.strerror}.") from error
    try:
        data = _parse_toml(text) if file.suffix.lower() == ".toml" else json.loads(text)
    except ValueError as error:
        kind = "TOML" if file.suffix.lower() == ".toml" else "JSON"
        raise SandboxConfigurationError(f"The clients file {file} is not valid {kind}: {error}") from error
    if not isinstance(data, Mapping) or not isinstance(data.get("clients"), list) or not data["clients"]:
        raise SandboxConfigurationError(f"The clients file {file} needs a non-empty 'clients' list.")
    clients = tuple(client_from_mapping(item) for item in data["clients"])
    accounts = data.get("accounts")
    if accounts is None:
        return Registrations(clients)
    if not isinstance(accounts, list) or not accounts:
        raise SandboxConfigurationError(f"'accounts' in {file} must be a non-empty list when present.")
    return Registrations(clients, tuple(account_from_mapping(item) for item in accounts))


def client_from_mapping(data: Any) -> Client:
    """A :class:`Client` from ``{"client_id", "redirect_uris", ["client_secret", "scope", "name"]}``."""
    _check_mapping(data, "client", CLIENT_KEYS, required={"client_id", "redirect_uris"})
    uris = data["redirect_uris"]
    if not isinstance(uris, list) or not all(isinstance(uri, str) and uri for uri in uris):
        raise SandboxConfigurationError("redirect_uris must be a list of URI strings.")
    return Client(
        client_id=_string(data, "client_id"),
        redirect_uris=tuple(uris),
        client_secret=_string(data, "client_secret") if data.get("client_secret") is not None else None,
        scope=_string(data, "scope") if "scope" in data else DEFAULT_SCOPE,
        name=_string(data, "name") if "name" in data else "",
    )


def account_from_mapping(data: Any) -> Account:
    """An :class:`Account` from ``{"username", "password", ["mfa", "display_name", "sites"]}``.

    ``sites`` (the site ids its tokens may name in ``SU-SiteId``) defaults to ``["HC00ABC"]``.
    """
    _check_mapping(data, "account", ACCOUNT_KEYS, required={"username", "password"})
    mfa = data.get("mfa", False)
    if not isinstance(mfa, bool):
        raise SandboxConfigurationError("An account's mfa must be true or false.")
    sites = data.get("sites", [DEFAULT_SITE_ID])
    if not isinstance(sites, list):
        raise SandboxConfigurationError("An account's sites must be a list of site ids.")
    return Account(
        username=_string(data, "username"),
        password=_string(data, "password"),
        mfa=mfa,
        display_name=_string(data, "display_name") if "display_name" in data else "",
        sites=tuple(sites),
    )


def _check_mapping(data: Any, what: str, known: set[str], required: set[str]) -> None:
    if not isinstance(data, Mapping):
        raise SandboxConfigurationError(f"Each {what} must be an object/table, not {type(data).__name__}.")
    unknown = sorted(set(data) - known)
    if unknown:
        raise SandboxConfigurationError(
            f"Unknown {what} field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}."
        )
    missing = sorted(required - set(data))
    if missing:
        raise SandboxConfigurationError(f"A {what} needs {', '.join(missing)}.")


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise SandboxConfigurationError(f"{key} must be a non-empty string.")
    return value


def _parse_toml(text: str) -> Any:
    try:  # tomllib is Python 3.11+; the project still supports 3.10
        tomllib = importlib.import_module("tomllib")
    except ModuleNotFoundError:
        raise SandboxConfigurationError("TOML clients files need Python 3.11 or newer; use a .json file.") from None
    return tomllib.loads(text)
