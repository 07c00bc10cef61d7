"""Start-time configuration of the sandbox: registered clients, supervisor accounts, token policy.

Everything here is a frozen value object so a running sandbox can hand its settings to threads
without locks; values that tests change while the sandbox runs live in :mod:`faults` instead.
"""

from __future__ import annotations

import dataclasses
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field

from .faults import Faults
from .sandbox_errors import SandboxConfigurationError

DEFAULT_CLIENT_ID = "example_rpa_app"
DEFAULT_REDIRECT_URI = "https://rpaapp.example.com/postauth"
DEFAULT_PASSWORD = "sandbox-password"
DEFAULT_OTP = "123456"
DEFAULT_AUDIENCE = "https://api.healthcode.sandbox"
DEFAULT_SCOPE = "healthcode.api"
DEFAULT_PORT = 8765
DEFAULT_SITE_ID = "HC00ABC"
SITE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")


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
        if isinstance(uris, str):
            raise SandboxConfigurationError(
                f"Client {self.client_id!r}: redirect_uris must be a list of URIs, not one string."
            )
        object.__setattr__(self, "redirect_uris", tuple(self.redirect_uris))
        if not self.client_id:
            raise SandboxConfigurationError("A client needs a non-empty client_id.")
        if not self.redirect_uris:
            raise SandboxConfigurationError(f"Client {self.client_id!r} needs at least one redirect URI.")
        if self.client_secret == "":
            raise SandboxConfigurationError(
                f"Client {self.client_id!r}: leave client_secret out for a public client; "
                "an empty secret is not allowed."
            )

    @property
    def is_public(self) -> bool:
        """True when the client has no secret and so authenticates with ``none`` (PKCE only)."""
        return self.client_secret is None

    @property
    def token_endpoint_auth_methods(self) -> tuple[str, ...]:
        """The client authentication methods this registration may use at /token and /revoke."""
        if self.is_public:
            return ("none",)
        return ("client_secret_basic", "client_secret_post")


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
    display_name: str = ""
    sites: tuple[str, ...] = (DEFAULT_SITE_ID,)

    def __post_init__(self) -> None:
        sites: object = self.sites
        if isinstance(sites, str):
            raise SandboxConfigurationError(
                f"Account {self.username!r}: sites must be a list of site ids, not one string."
            )
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
DEFAULT_ACCOUNTS = (
    Account("supervisor", DEFAULT_PASSWORD, display_name="Sandbox Supervisor", sites=(DEFAULT_SITE_ID, "HC12393")),
    Account("mfa.supervisor", DEFAULT_PASSWORD, mfa=True, display_name="Sandbox MFA Supervisor", sites=("HC16190",)),
)


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
    scopes_supported: tuple[str, ...] = (DEFAULT_SCOPE,)
    refresh_tokens: bool = False
    rotate_refresh_tokens: bool = True
    faults: Faults = field(default_factory=Faults)
    tls: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "clients", tuple(self.clients))
        object.__setattr__(self, "accounts", tuple(self.accounts))
        object.__setattr__(self, "scopes_supported", tuple(self.scopes_supported))
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


def _reject_duplicates(what: str, values: Sequence[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise SandboxConfigurationError(f"Duplicate {what} {value!r}: each must be registered once.")
        seen.add(value)
