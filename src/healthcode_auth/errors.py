"""One exception hierarchy for everything a user can cause or meet, in one module.

Callers tell errors apart by class, never by message text: the message is for people. Every
message says what happened and what to do next, and never contains a token, an authorization
code, a code verifier, a client secret or a store password: callers may log ``str(error)`` freely.

::

    HealthcodeAuthError
    ├── ConfigurationError (ValueError)        a setting is invalid
    │   ├── MissingSettingError                a required setting is not given at all
    │   └── InvalidSettingsError               several settings are: every problem at once
    ├── DiscoveryError                         the discovery document is unusable
    ├── TransportError                         the SSO or an API is unreachable, slow or failing
    │   └── KeySetUnavailableError             the key set (JWKS) cannot be fetched now: transient
    ├── AuthorizationError                     the redirect does not complete the sign-in
    │   ├── AuthorizationDenied                the supervisor cancelled, or the SSO refused
    │   ├── StateMismatchError                 forged or stale redirect
    │   ├── IssuerMismatchError                RFC 9207 mix-up defence
    │   └── SupervisorNotAllowedError          the account that signed in is not on the allow-list
    ├── SignInError                            the browser step did not complete
    │   ├── SignInTimeoutError                 the supervisor did not finish in time
    │   ├── SignInWindowClosedError            the page or browser was closed
    │   ├── NobodyToSignInError                a headless page nobody sees shows the SSO's sign-in form
    │   └── SignInPageError                    the page could not be shown or watched
    │       └── AuthorizationRequestRefusedError   the SSO refused the request before any sign-in
    ├── TokenRequestError                      the token endpoint refused or failed
    │   └── InvalidGrantError                  code or refresh token used, expired or revoked
    ├── TokenVerificationError                 the JWT is not valid for us
    │   └── ClockSkewError                     this machine's clock and the SSO's disagree too much
    ├── NoValidTokenError                      there is no usable token: a supervisor must sign in
    │   ├── ReauthorisationRequiredError       the SSO refused to renew the authorisation
    │   ├── SignedOutError                     the authorisation was removed (logout)
    │   └── SettingsMismatchError              the stored one is for other settings (audience...)
    ├── StoreError                             the token store cannot be used
    │   ├── StoreUnavailableError              the (networked) store cannot be reached or refuses us
    │   │   └── StoreNotAnsweringError         it did not answer in time, or could not be reached: may pass
    │   ├── FileInUseError                     Windows: another program keeps a store file open
    │   ├── ClaimsFullError                    the file store holds only claims it must keep: no room
    │   ├── StoreLockTimeout                   another robot held the renewal lock too long
    │   ├── StoreKeyError                      the store's encryption key is not usable
    │   └── StoreUnreadableError               what is stored cannot be read with this key, or is damaged
    ├── ApiError                               a call to a Healthcode API did not succeed
    │   ├── ApiArgumentError (ValueError)      the call itself is malformed (method, fields and body, path)
    │   ├── ApiDiscoveryError                  the API discovery document is unusable, or names no such API
    │   ├── ApiOriginRefusedError              a URL or redirect off the document's hosts: nothing sent there
    │   └── ApiAnswerError                     an unusable answer: ``status``, ``endpoint``, ``issues``
    │       ├── ApiRequestError                the API refused the request (4xx)
    │       └── ApiServerError                 the API failed (5xx), retried where that is safe
    └── TokenAssertionError (AssertionError)   a ``Should`` keyword's check failed
"""

from __future__ import annotations


class HealthcodeAuthError(Exception):
    """Base class of every error raised by ``healthcode_auth`` and the layers above it."""

    # Robot Framework shows the message without the class name: the message says it all.
    ROBOT_SUPPRESS_NAME = True


class ConfigurationError(HealthcodeAuthError, ValueError):
    """A setting is invalid; ``setting`` names it as the library does, ``variable`` is the
    environment variable that can give it. Front ends name their own spelling (``--client-id``)."""

    def __init__(self, setting: str, problem: str, variable: str | None = None) -> None:
        self.setting = setting
        self.problem = problem
        self.variable = variable
        also = f" (or {variable})" if variable else ""
        super().__init__(f"Invalid Healthcode setting '{setting}'{also}: {problem}")

    @property
    def problems(self) -> list[ConfigurationError]:
        """One error per setting at fault: this one (several for :class:`InvalidSettingsError`)."""
        return [self]


class MissingSettingError(ConfigurationError):
    """A required setting was given neither as an argument nor as an environment variable."""


class InvalidSettingsError(ConfigurationError):
    """Several settings are missing or invalid: ``problems`` holds one error per setting."""

    def __init__(self, problems: list[ConfigurationError]) -> None:
        self._problems = problems
        self.setting = problems[0].setting
        self.problem = f"and {len(problems) - 1} more"
        self.variable = None
        lines = "".join(
            f"\n  - '{p.setting}'" + (f" (or {p.variable})" if p.variable else "") + f": {p.problem}" for p in problems
        )
        ValueError.__init__(self, f"{len(problems)} Healthcode settings are missing or invalid:{lines}")

    @property
    def problems(self) -> list[ConfigurationError]:
        return self._problems


class DiscoveryError(HealthcodeAuthError):
    """The OpenID discovery document could not be fetched or is not usable."""


class TransportError(HealthcodeAuthError):
    """The SSO server (or a Healthcode API) could not be reached, timed out or answered with a
    server error."""


class KeySetUnavailableError(TransportError):
    """The SSO's key set (JWKS) could not be fetched just now (unreachable, 5xx): a token that
    could not be verified for this reason is not known to be bad, and may be verified later."""


class AuthorizationError(HealthcodeAuthError):
    """The redirect back from the SSO server does not complete the sign-in."""


class AuthorizationDenied(AuthorizationError):
    """The supervisor cancelled, or the SSO refused, the sign-in (RFC 6749 section 4.1.2.1)."""

    def __init__(self, error: str, description: str | None, message: str) -> None:
        self.error = error
        self.description = description
        super().__init__(message)


class StateMismatchError(AuthorizationError):
    """The ``state`` in the redirect is not the one this sign-in sent (forged or stale redirect)."""


class IssuerMismatchError(AuthorizationError):
    """The ``iss`` in the redirect is not the expected issuer (RFC 9207 mix-up defence)."""


class SupervisorNotAllowedError(AuthorizationError):
    """The account that signed in may not authorise the robots (the ``supervisors`` setting):
    nothing was stored. ``account`` is the refused account's claim value, as the operator adds it
    to the list (it is an account id, not a secret); ``claim`` the claim it was read from."""

    def __init__(self, message: str, account: str, claim: str) -> None:
        super().__init__(message)
        self.account = account
        self.claim = claim


class SignInError(HealthcodeAuthError):
    """The supervisor's sign-in in the browser did not complete."""


class SignInTimeoutError(SignInError):
    """The supervisor did not complete the sign-in within the time allowed."""


class SignInWindowClosedError(SignInError):
    """The sign-in page or its browser was closed before the sign-in completed."""


class NobodyToSignInError(SignInError):
    """A headless browser the library opened itself shows the SSO's sign-in form instead of
    completing on its own: nobody can see it or fill it in, so the wait ends at once."""


class SignInWouldBeRecordedError(SignInError):
    """Something on this machine would record the sign-in (Playwright's debug log keeps every
    URL: the request's state, the code): it is refused until that is turned off."""


class SignInPageError(SignInError):
    """The browser could not show the sign-in page, or it is no longer being watched."""


class AuthorizationRequestRefusedError(SignInPageError):
    """The SSO refused the authorization request itself (client id or redirect URI not registered
    as given) and showed a page of its own: nobody can sign in, so the wait ends at once."""


class TokenRequestError(HealthcodeAuthError):
    """The token endpoint refused the request (RFC 6749 section 5.2) or gave an unusable answer."""

    def __init__(
        self, message: str, error: str | None = None, description: str | None = None, status_code: int | None = None
    ) -> None:
        self.error = error
        self.description = description
        self.status_code = status_code
        super().__init__(message)


class InvalidGrantError(TokenRequestError):
    """The code or refresh token is used, expired, revoked or does not match: sign in again."""


class TokenVerificationError(HealthcodeAuthError):
    """The access token is not a valid JWT from the expected issuer (signature, issuer or expiry)."""


class ClockSkewError(TokenVerificationError):
    """The token's times (``iat``, ``nbf``, ``exp``) and this machine's clock disagree by more
    than the leeway: one of the two clocks is wrong. ``token_time`` and ``local_time`` are the two
    times compared (Unix seconds)."""

    def __init__(self, message: str, token_time: float, local_time: float) -> None:
        self.token_time = token_time
        self.local_time = local_time
        super().__init__(message)


class NoValidTokenError(HealthcodeAuthError):
    """There is no usable access token and a supervisor must sign in."""


class ReauthorisationRequiredError(NoValidTokenError):
    """The SSO refused to renew the authorisation: a supervisor must sign in again."""


class SignedOutError(NoValidTokenError):
    """The authorisation was removed from the token store (``healthcode-auth logout``)."""


class SettingsMismatchError(NoValidTokenError):
    """The stored authorisation was issued for other settings than this robot's (another
    audience, issuer or client): it is not handed out."""


class StoreError(HealthcodeAuthError):
    """The token store cannot be read or written."""


class StoreUnavailableError(StoreError):
    """The token store cannot be reached, or refuses this robot (password, TLS, permissions)."""


class StoreNotAnsweringError(StoreUnavailableError):
    """The token store did not answer in time, or could not be reached: it may answer again (a
    restart, a failover, a pause). Not a refusal (password, TLS, permissions), which stays."""


class FileInUseError(StoreError):
    """Windows kept refusing to open or replace a file that another program holds open."""


class ClaimsFullError(StoreError):
    """A store that bounds its claims (the file store) holds only claims it must keep to their end
    (each protects something that lasts: a used sign-in code a stored token was issued on, a
    delivered notice), so it notes no other now. Nothing was changed."""


class StoreLockTimeout(StoreError):
    """Another robot held the token store's renewal lock for too long."""


class StoreKeyError(StoreError):
    """The key that encrypts the token store is not available or not usable in this run."""


class StoreUnreadableError(StoreError):
    """What is stored cannot be read with this run's key, or is damaged. Never "empty": nothing is
    written over it and nothing is removed from it. ``key_source`` is the key source this run
    uses, ``tried`` the sources that were tried, and ``damaged`` is True when no key would help
    (the data itself is malformed)."""

    def __init__(
        self, message: str, *, key_source: str | None = None, tried: tuple[str, ...] = (), damaged: bool = False
    ) -> None:
        self.key_source = key_source
        self.tried = tried
        self.damaged = damaged
        super().__init__(message)


class ApiError(HealthcodeAuthError):
    """A call to a Healthcode API did not succeed. Messages name the API by its key in the API
    discovery document, never a query string, a request body or an answer's contents."""


class ApiArgumentError(ApiError, ValueError):
    """The call cannot be made as given: an unknown method, a body with GET, fields and a JSON body
    together, an empty path."""


class ApiDiscoveryError(ApiError):
    """The API discovery document cannot be fetched or used, or names no API by the name asked for
    (``known`` holds the names it does have)."""

    def __init__(self, message: str, known: tuple[str, ...] = ()) -> None:
        self.known = known
        super().__init__(message)


class ApiOriginRefusedError(ApiError):
    """A request (or a redirect, or a next page's link) would take the token and the site id to a
    host the API discovery document does not name: nothing was sent there. ``origin`` is that host."""

    def __init__(self, message: str, origin: str) -> None:
        self.origin = origin
        super().__init__(message)


class ApiAnswerError(ApiError):
    """An API answered with an error status, or with something that is not JSON: ``status`` is the
    HTTP status, ``issues`` the ``OperationOutcome``'s issues (empty when the answer was not one),
    ``endpoint`` the API's name."""

    def __init__(self, message: str, *, status: int, endpoint: str, issues: tuple[object, ...] = ()) -> None:
        self.status = status
        self.endpoint = endpoint
        self.issues = issues
        super().__init__(message)


class ApiRequestError(ApiAnswerError):
    """The API refused the request (HTTP 4xx): bad input, a refused token (401), a site the account
    may not use (403), no such resource (404), a failed validation."""


class ApiServerError(ApiAnswerError):
    """The API failed (HTTP 5xx), after the retries a GET allows; Healthcode asks to be told when it
    persists."""


class TokenAssertionError(HealthcodeAuthError, AssertionError):
    """A ``Should`` keyword's check failed (Robot Framework reports it as an ordinary failure)."""


def printable(text: str, limit: int) -> str:
    """What a message quotes of text a server sent: its printable characters, at most ``limit``."""
    return "".join(ch for ch in text if ch.isprintable())[:limit]


def first_line(error: BaseException, limit: int) -> str:
    """What a message quotes of another library's error: its first line, at most ``limit``
    characters, or its type's name when it has no text."""
    text = str(error)
    return text.splitlines()[0][:limit] if text else type(error).__name__


def caused_by(error: BaseException, *kinds: type[BaseException]) -> bool:
    """Whether ``error``, or an error it was raised from or while handling, is one of ``kinds``:
    another library's wrapped failure told by its type, never by its message's words."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def escaped(text: object, limit: int = 200) -> str:
    """Text that came from a token or a store, safe to print on a terminal or in a log: every
    unprintable character (newlines, escape codes, bidirectional controls) shown as its escape
    (``\\n``, ``\\x1b``, ``\\u202e``), and at most ``limit`` characters of the original kept."""
    value = str(text)
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in value[:limit])
    return shown + ("..." if len(value) > limit else "")
