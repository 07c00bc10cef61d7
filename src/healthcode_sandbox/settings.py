"""How a sandbox starts (clients, accounts, token policy) and the knobs that make it misbehave.

:class:`SandboxSettings`, :class:`Client` and :class:`Account` are fixed at start; :class:`Faults`
is the value of the run-time knobs, and :class:`LiveFaults` the thread-safe holder a running
sandbox consults on each request. Clients files (JSON or TOML) are read here too.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

DEFAULT_CLIENT_ID = "example_rpa_app"
DEFAULT_REDIRECT_URI = "https://rpaapp.example.com/postauth"
DEFAULT_PASSWORD = "sandbox-password"
DEFAULT_OTP = "123456"
DEFAULT_AUDIENCE = "https://api.healthcode.sandbox"
DEFAULT_SCOPE = "healthcode.api"
DEFAULT_PORT = 8765
DEFAULT_SITE_ID = "HC00ABC"
SITE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class SandboxError(Exception):
    """Something about the sandbox itself went wrong (not an OAuth protocol error)."""


class SandboxConfigurationError(SandboxError):
    """The sandbox was given settings, a clients file, knobs or CLI options it cannot use."""


class StartError(SandboxError):
    """The sandbox could not start listening (for example the port is already in use)."""


def _require_text(record: object, *names: str) -> None:
    for name in names:
        value = getattr(record, name)
        if not isinstance(value, str) or not value:
            raise SandboxConfigurationError(f"{name} must be a non-empty string.")


@dataclass(frozen=True)
class Client:
    """A client registration, as Healthcode's business team would record it.

    ``client_secret=None`` makes a public client (``token_endpoint_auth_method: none``): it proves
    itself with PKCE alone. With a secret it is confidential and must authenticate at the token
    endpoint with HTTP Basic (form-encoded per RFC 6749 2.3.1) or ``client_secret_post``.
    Redirect URIs are compared exactly, character for character, as Healthcode requires.
    """

    client_id: str
    redirect_uris: tuple[str, ...] = (DEFAULT_REDIRECT_URI,)
    client_secret: str | None = None
    scope: str = DEFAULT_SCOPE
    name: str = ""

    def __post_init__(self) -> None:
        uris: object = self.redirect_uris
        if isinstance(uris, str) or not isinstance(uris, Sequence) or not all(isinstance(u, str) and u for u in uris):
            raise SandboxConfigurationError(f"Client {self.client_id!r}: redirect_uris must be a list of URI strings.")
        object.__setattr__(self, "redirect_uris", tuple(self.redirect_uris))
        _require_text(self, "client_id", "scope")
        if self.client_secret is not None and (not isinstance(self.client_secret, str) or not self.client_secret):
            raise SandboxConfigurationError(
                f"Client {self.client_id!r}: client_secret must be non-empty; leave it out for a public client."
            )
        if not isinstance(self.name, str):
            raise SandboxConfigurationError("name must be a string.")
        if not self.redirect_uris:
            raise SandboxConfigurationError(f"Client {self.client_id!r} needs at least one redirect URI.")

    @property
    def is_public(self) -> bool:
        """True when the client has no secret and so authenticates with ``none`` (PKCE only)."""
        return self.client_secret is None

    @property
    def token_endpoint_auth_methods(self) -> tuple[str, ...]:
        """The client authentication methods this registration may use at /token and /revoke."""
        return ("none",) if self.is_public else ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class Account:
    """A supervisor account. ``mfa=True`` adds the one-time-code step after the password.

    ``sites`` are the Healthcode sites (data tenancies) the account's tokens may name in the
    ``SU-SiteId`` header of an API call; any other site is refused with 403. Site ids are 1-32
    characters of letters, digits, ``_`` and ``-`` (Healthcode's examples: ``HC00ABC``, ``HC12393``).
    """

    username: str
    password: str = DEFAULT_PASSWORD
    mfa: bool = False
    sites: tuple[str, ...] = (DEFAULT_SITE_ID,)

    def __post_init__(self) -> None:
        _require_text(self, "username", "password")
        if not isinstance(self.mfa, bool):
            raise SandboxConfigurationError("An account's mfa must be true or false.")
        sites: object = self.sites
        if isinstance(sites, str) or not isinstance(sites, Sequence):
            raise SandboxConfigurationError(f"Account {self.username!r}: sites must be a list of site ids.")
        object.__setattr__(self, "sites", tuple(self.sites))
        for site in self.sites:
            if not isinstance(site, str) or not SITE_ID_PATTERN.fullmatch(site):
                raise SandboxConfigurationError(
                    f"Account {self.username!r}: {site!r} is not a site id (1-32 letters, digits, '_' or '-')."
                )

    def get_user_id(self) -> str:
        """The JWT ``sub``: Authlib's token generator asks the user object for it by this name."""
        return self.username


DEFAULT_CLIENT = Client(DEFAULT_CLIENT_ID, (DEFAULT_REDIRECT_URI,), name="Example RPA app")
DEFAULT_ACCOUNTS: tuple[Account, ...] = (
    Account("supervisor", DEFAULT_PASSWORD, sites=(DEFAULT_SITE_ID, "HC12393")),
    Account("mfa.supervisor", DEFAULT_PASSWORD, mfa=True, sites=("HC16190",)),
)


@dataclass(frozen=True)
class Faults:
    """The run-time knobs: what the sandbox does wrong on purpose, so clients' error paths get tested.

    Each knob is described in docs/sandbox.md (Knobs). Counts ("the next N requests fail") are used
    up one request at a time; ``api_redirect_elsewhere`` is used once, then empty again.
    """

    token_delay: float = 0.0
    token_failures: int = 0
    token_invalid_grant: int = 0
    failure_status: int = 503
    token_lifetime: int = 86_400
    refresh_tokens: bool = False
    code_lifetime: float = 60.0
    deny_sign_in: bool = False
    remembered_supervisor: str = ""
    discovery_failures: int = 0
    jwks_failures: int = 0
    error_page_redirect: bool = False
    embed_url: str = ""
    approve_by_script: bool = False
    api_moved: int = 0
    api_moved_status: int = 301
    api_redirect_elsewhere: str = ""
    api_outcome_error: int = 0
    api_failures: int = 0
    api_moved_permanently: bool = False

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            problem = _knob_problem(item.name, str(item.type), getattr(self, item.name))
            if problem:
                raise SandboxConfigurationError(f"{item.name} {problem}.")

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape used by ``GET/POST /_sandbox/faults``."""
        return dataclasses.asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> Faults:
        """A copy with ``changes`` applied; unknown names or wrong types raise SandboxConfigurationError."""
        kinds = {item.name: str(item.type) for item in dataclasses.fields(self)}
        unknown = sorted(set(changes) - set(kinds))
        if unknown:
            raise SandboxConfigurationError(
                f"Unknown fault knob(s) {', '.join(unknown)}; known knobs: {', '.join(sorted(kinds))}."
            )
        return dataclasses.replace(self, **{name: _coerce(kinds[name], value) for name, value in changes.items()})


class LiveFaults:
    """The knobs of a running sandbox, changed from tests (Python or the admin API)."""

    def __init__(self, initial: Faults) -> None:
        self._initial = self._current = initial
        self._lock = threading.Lock()

    @property
    def current(self) -> Faults:
        """The knob values now (an immutable snapshot)."""
        return self._current

    def update(self, changes: Mapping[str, Any]) -> Faults:
        """Apply some knob changes and return the new values."""
        with self._lock:
            self._current = self._current.updated(changes)
            return self._current

    def reset(self) -> Faults:
        """Put every knob back to the value the sandbox started with."""
        with self._lock:
            self._current = self._initial
            return self._current

    def take(self, knob: str) -> bool:
        """Use up one of a counted knob, or the one-shot ``api_redirect_elsewhere``; False when none is left."""
        with self._lock:
            value = getattr(self._current, knob)
            if value:
                left: Any = "" if isinstance(value, str) else value - 1
                self._current = dataclasses.replace(self._current, **{knob: left})
            return bool(value)


@dataclass(frozen=True)
class SandboxSettings:
    """How a sandbox starts. ``port=0`` picks a free port (what tests want).

    ``audience`` is the access token's ``aud`` claim; ``None`` uses the client id instead.
    ``public_url`` overrides the issuer and endpoint URLs (only useful with ``allow_remote``,
    when clients reach the sandbox by another name than its bind address).
    ``faults`` are the starting values of the run-time knobs (see :class:`Faults`).
    ``refresh_tokens`` starts the knob of that name: off by default, as Healthcode documents (no
    refresh token; a supervisor signs in again every day). ``refresh_tokens=True`` and
    ``faults=Faults(refresh_tokens=True)`` say the same, and either turns them on; afterwards the
    two agree. ``rotate_refresh_tokens`` (start-time only) matters only while they are on.
    ``tls`` is a server-side SSL context: the sandbox then serves https (tests of certificate
    verification and CA bundles use a throwaway CA, e.g. from trustme).
    """

    host: str = "127.0.0.1"
    port: int = 0
    allow_remote: bool = False
    public_url: str | None = None
    clients: tuple[Client, ...] = (DEFAULT_CLIENT,)
    accounts: tuple[Account, ...] = DEFAULT_ACCOUNTS
    otp: str = DEFAULT_OTP
    require_mfa: bool = False
    audience: str | None = DEFAULT_AUDIENCE
    refresh_tokens: bool = False
    rotate_refresh_tokens: bool = True
    faults: Faults = field(default_factory=Faults)
    tls: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "clients", tuple(self.clients))
        object.__setattr__(self, "accounts", tuple(self.accounts))
        if self.refresh_tokens or self.faults.refresh_tokens:
            object.__setattr__(self, "refresh_tokens", True)
            object.__setattr__(self, "faults", dataclasses.replace(self.faults, refresh_tokens=True))
        _reject_duplicates("client_id", [c.client_id for c in self.clients])
        _reject_duplicates("username", [a.username for a in self.accounts])
        if not self.otp:
            raise SandboxConfigurationError("The one-time code (otp) must not be empty.")
        if self.public_url is not None and self.public_url.endswith("/"):
            raise SandboxConfigurationError("public_url must not end with '/': it is the issuer, used verbatim.")

    def account(self, username: str) -> Account | None:
        """The account with this username, or None."""
        return next((a for a in self.accounts if a.username == username), None)

    def needs_otp(self, account: Account) -> bool:
        """Whether this account must pass the one-time-code step."""
        return self.require_mfa or account.mfa


Entry = TypeVar("Entry", Client, Account)


@dataclass(frozen=True)
class Registrations:
    """What a clients file declares; ``accounts`` is None when the file has none (the defaults stay)."""

    clients: tuple[Client, ...]
    accounts: tuple[Account, ...] | None = None


def load_registrations(path: str | Path) -> Registrations:
    """Read a ``.json`` or ``.toml`` clients file: ``{"clients": [...], "accounts": [...]}``, the
    entries shaped like :class:`Client` and :class:`Account` (``accounts`` is optional)."""
    file = Path(path)
    kind = "TOML" if file.suffix.lower() == ".toml" else "JSON"
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise SandboxConfigurationError(f"Cannot read the clients file {file}: {error.strerror}.") from error
    try:
        data = _parse_toml(text) if kind == "TOML" else json.loads(text)
    except ValueError as error:
        raise SandboxConfigurationError(f"The clients file {file} is not valid {kind}: {error}") from error
    if not isinstance(data, Mapping) or not isinstance(data.get("clients"), list) or not data["clients"]:
        raise SandboxConfigurationError(f"The clients file {file} needs a non-empty 'clients' list.")
    clients = tuple(from_mapping(Client, item) for item in data["clients"])
    accounts = data.get("accounts")
    if accounts is None:
        return Registrations(clients)
    if not isinstance(accounts, list) or not accounts:
        raise SandboxConfigurationError(f"'accounts' in {file} must be a non-empty list when present.")
    return Registrations(clients, tuple(from_mapping(Account, item) for item in accounts))


def from_mapping(kind: type[Entry], data: Any) -> Entry:
    """A :class:`Client` or :class:`Account` from a JSON object or TOML table (lists become tuples)."""
    what = kind.__name__.lower()
    if not isinstance(data, Mapping):
        raise SandboxConfigurationError(f"Each {what} must be an object/table, not {type(data).__name__}.")
    known = {item.name for item in dataclasses.fields(kind)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SandboxConfigurationError(
            f"Unknown {what} field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}."
        )
    required = {"client_id", "redirect_uris"} if kind is Client else {"username", "password"}
    missing = sorted(required - set(data))
    if missing:
        raise SandboxConfigurationError(f"A {what} needs {', '.join(missing)}.")
    return kind(**data)


def _knob_problem(name: str, kind: str, value: Any) -> str:
    if name in ("embed_url", "api_redirect_elsewhere"):
        ok = isinstance(value, str) and (not value or value.startswith(("http://", "https://")))
        return "" if ok else "must be an http(s) URL, or empty for none"
    if kind == "str":
        return "" if isinstance(value, str) else "must be a username, or empty for none"
    if kind == "bool":
        return "" if isinstance(value, bool) else "must be true or false"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number, not {value!r}"
    if kind == "float":
        return "" if value >= 0 else "must be zero or more seconds"
    if not isinstance(value, int):
        return f"must be a whole number, not {value!r}"
    allowed, problem = _WHOLE_NUMBER_RULES.get(name, (lambda number: number >= 0, "must be zero or more"))
    return "" if allowed(value) else problem


_WHOLE_NUMBER_RULES: dict[str, tuple[Callable[[int], bool], str]] = {
    "failure_status": (lambda status: 500 <= status <= 599, "must be a 5xx status such as 500 or 503"),
    "api_moved_status": (
        lambda status: status in REDIRECT_STATUSES,
        "must be a redirect status: 301, 302, 303, 307 or 308",
    ),
    "token_lifetime": (lambda seconds: seconds >= 1, "must be at least 1 second"),
}


def _coerce(kind: str, value: Any) -> Any:
    # JSON has one number type, so admin requests may send 5.0 for an int knob or 2 for a float one.
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _reject_duplicates(what: str, values: Sequence[str]) -> None:
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise SandboxConfigurationError(f"Duplicate {what} {duplicates[0]!r}: each must be registered once.")


def _parse_toml(text: str) -> Any:
    try:  # tomllib is Python 3.11+; the project still supports 3.10
        tomllib = importlib.import_module("tomllib")
    except ModuleNotFoundError:
        raise SandboxConfigurationError("TOML clients files need Python 3.11 or newer; use a .json file.") from None
    return tomllib.loads(text)
