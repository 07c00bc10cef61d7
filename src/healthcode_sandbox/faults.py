"""Run-time knobs that make the sandbox misbehave on purpose, so clients' error paths get tested.

:class:`Faults` is the value (what the knobs are set to); :class:`LiveFaults` is the thread-safe
holder a running sandbox consults on each request. Counted faults ("the next N requests fail")
are consumed one per request, then the endpoint behaves normally again.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .sandbox_errors import SandboxConfigurationError

DEFAULT_TOKEN_LIFETIME = 86_400
DEFAULT_CODE_LIFETIME = 60.0


@dataclass(frozen=True)
class Faults:
    """Knob values. The defaults are a well-behaved Healthcode SSO, answering as Healthcode documents.

    - ``token_delay``: seconds /token waits before answering (client timeouts).
    - ``token_failures``: the next N /token requests answer ``failure_status`` (5xx).
    - ``token_invalid_grant``: the next N /token requests answer ``invalid_grant``.
    - ``failure_status``: the 5xx status used by the counted failures (500-599).
    - ``token_lifetime``: access-token lifetime in seconds (``expires_in`` and ``exp``).
    - ``refresh_tokens``: token responses carry a refresh token (rotating, unless the sandbox
      started with rotation off) and the discovery document lists the ``refresh_token`` grant.
      Off by default: Healthcode documents no refresh token, so a supervisor signs in again when
      the access token expires. Read per request, so a test can turn renewal on while it runs.
    - ``code_lifetime``: authorization-code lifetime in seconds.
    - ``deny_sign_in``: /authorize redirects at once with ``access_denied`` (supervisor refuses).
    - ``remembered_supervisor``: a username whose SSO session the sandbox "remembers": /authorize
      approves at once as that account, as a real SSO does for a supervisor already signed in.
      Lets a headless robot or CLI run (``healthcode-auth login --headless``) complete unattended.
    - ``discovery_failures`` / ``jwks_failures``: the next N requests there answer 5xx.
    - ``error_page_redirect``: a request /authorize cannot send back (unknown client, unregistered
      redirect URI, malformed) is answered with a 302 to ``/error`` on the sandbox, which shows the
      error with status 200, as IdentityServer and other SSOs do, instead of a 400 page.
    - ``embed_url``: the sign-in page embeds this URL in a frame (content of a third party's on
      the SSO's own page; for testing that nothing from such a frame is taken as the SSO's).
    - ``approve_by_script``: an approval comes as a 200 page whose script sends the browser to the
      redirect URI (a navigation made by the SSO's own page), instead of a 302.

    The API side (``/api/v1/...``, see docs/sandbox.md):

    - ``api_moved``: the next N API calls under ``/api/v1`` answer ``api_moved_status`` with a
      ``Location`` on the same API under ``/api/v2-moved`` (query string kept), which works.
    - ``api_moved_status``: the redirect status of ``api_moved`` and ``api_redirect_elsewhere``:
      301 (the default), 302, 303, 307 or 308.
    - ``api_redirect_elsewhere``: a URL; the next API call is redirected there, verbatim (another
      origin, e.g. a test's own server, to check that no token or site id follows). Used once,
      then empty again.
    - ``api_outcome_error``: the next N API calls answer 422 with an ``OperationOutcome`` error.
    - ``api_failures``: the next N API calls answer ``failure_status`` (5xx) with a ``fatal``
      ``OperationOutcome``.
    - ``api_moved_permanently``: the API discovery document names ``/api/v2-moved/...`` from now
      on and the ``/api/v1/...`` APIs answer 404 (``/api/v1/whoami`` stays).
    - ``api_discovery_failures``: the next N requests for the API discovery document answer 5xx.
    - ``api_delay``: seconds every API call waits before answering (client deadlines).
    """

    token_delay: float = 0.0
    token_failures: int = 0
    token_invalid_grant: int = 0
    failure_status: int = 503
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    refresh_tokens: bool = False
    code_lifetime: float = DEFAULT_CODE_LIFETIME
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
    api_discovery_failures: int = 0
    api_delay: float = 0.0

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            _check(item.name, getattr(self, item.name))

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape used by ``GET/POST /_sandbox/faults``."""
        return dataclasses.asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> Faults:
        """A copy with ``changes`` applied; unknown names or wrong types raise SandboxConfigurationError."""
        known = {item.name for item in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SandboxConfigurationError(
                f"Unknown fault knob(s) {', '.join(unknown)}; known knobs: {', '.join(sorted(known))}."
            )
        coerced = {name: _coerce(name, value) for name, value in changes.items()}
        return dataclasses.replace(self, **coerced)


class TokenFault(Enum):
    """What a faulted /token request answers instead of the real thing."""

    SERVER_ERROR = "server_error"
    INVALID_GRANT = "invalid_grant"


class LiveFaults:
    """The knobs of a running sandbox, changed from tests (Python or the admin endpoint)."""

    def __init__(self, initial: Faults) -> None:
        self._initial = initial
        self._current = initial
        self._lock = threading.Lock()

    @property
    def current(self) -> Faults:
        """The knob values now (an immutable snapshot)."""
        with self._lock:
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

    def take_token_fault(self) -> TokenFault | None:
        """Consume one counted /token fault, 5xx first, then invalid_grant; None when none is left."""
        with self._lock:
            if self._current.token_failures > 0:
                self._current = dataclasses.replace(self._current, token_failures=self._current.token_failures - 1)
                return TokenFault.SERVER_ERROR
            if self._current.token_invalid_grant > 0:
                self._current = dataclasses.replace(
                    self._current, token_invalid_grant=self._current.token_invalid_grant - 1
                )
                return TokenFault.INVALID_GRANT
            return None

    def take_failure(self, knob: str) -> bool:
        """Consume one of a counted knob (``discovery_failures``, ``api_moved``, ...); True if it applies."""
        with self._lock:
            remaining = getattr(self._current, knob)
            if remaining <= 0:
                return False
            self._current = dataclasses.replace(self._current, **{knob: remaining - 1})
            return True

    def take_redirect_elsewhere(self) -> str:
        """Consume ``api_redirect_elsewhere``: its URL (then empty again), or "" when it is not set."""
        with self._lock:
            url = self._current.api_redirect_elsewhere
            if url:
                self._current = dataclasses.replace(self._current, api_redirect_elsewhere="")
            return url


_COUNTS = {
    "token_failures",
    "token_invalid_grant",
    "discovery_failures",
    "jwks_failures",
    "api_moved",
    "api_outcome_error",
    "api_failures",
    "api_discovery_failures",
}
_SECONDS = {"token_delay", "code_lifetime", "api_delay"}
_URLS = {"embed_url", "api_redirect_elsewhere"}
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


def _coerce(name: str, value: Any) -> Any:
    # JSON has one number type, so admin requests may send 5.0 for an int knob or 2 for a float one.
    if name in _SECONDS and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if name not in _SECONDS and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_SWITCHES = {"refresh_tokens", "deny_sign_in", "error_page_redirect", "approve_by_script", "api_moved_permanently"}


def _check(name: str, value: Any) -> None:
    if name == "remembered_supervisor":
        if not isinstance(value, str):
            raise SandboxConfigurationError("remembered_supervisor must be a username, or empty for none.")
        return
    if name in _URLS:
        if not isinstance(value, str) or (value and not value.startswith(("http://", "https://"))):
            raise SandboxConfigurationError(f"{name} must be an http(s) URL, or empty for none.")
        return
    if name in _SWITCHES:
        if not isinstance(value, bool):
            raise SandboxConfigurationError(f"{name} must be true or false.")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SandboxConfigurationError(f"{name} must be a number, not {value!r}.")
    if name in _SECONDS:
        if value < 0:
            raise SandboxConfigurationError(f"{name} must be zero or more seconds.")
        return
    if not isinstance(value, int):
        raise SandboxConfigurationError(f"{name} must be a whole number, not {value!r}.")
    if name in _COUNTS and value < 0:
        raise SandboxConfigurationError(f"{name} must be zero or more.")
    if name == "failure_status" and not 500 <= value <= 599:
        raise SandboxConfigurationError("failure_status must be a 5xx status such as 500 or 503.")
    if name == "api_moved_status" and value not in REDIRECT_STATUSES:
        raise SandboxConfigurationError("api_moved_status must be a redirect status: 301, 302, 303, 307 or 308.")
    if name == "token_lifetime" and value < 1:
        raise SandboxConfigurationError("token_lifetime must be at least 1 second.")
