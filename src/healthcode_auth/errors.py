"""One exception hierarchy for everything a user can cause or meet.

Every message says what happened and what to do next, and never contains a token, an
authorization code, a code verifier or a client secret: callers may log ``str(error)`` freely.
"""

from __future__ import annotations


class HealthcodeAuthError(Exception):
    """Base class of every error raised by ``healthcode_auth``."""

    # Robot Framework shows the message without the class name: the message says it all.
    ROBOT_SUPPRESS_NAME = True


class ConfigurationError(HealthcodeAuthError, ValueError):
    """A setting is missing or invalid; the message names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        super().__init__(f"Invalid Healthcode setting '{setting}': {problem}")


class DiscoveryError(HealthcodeAuthError):
    """The OpenID discovery document could not be fetched or is not usable."""


class TransportError(HealthcodeAuthError):
    """The SSO server could not be reached, timed out or answered with a server error."""


class AuthorizationError(HealthcodeAuthError):
    """The redirect back from the SSO server does not complete the sign-in."""


class AuthorizationDenied(AuthorizationError):
    """The SSO server redirected back with an ``error`` (RFC 6749 section 4.1.2.1)."""

    def __init__(self, error: str, description: str | None, message: str) -> None:
        self.error = error
        self.description = description
        super().__init__(message)


class StateMismatchError(AuthorizationError):
    """The ``state`` in the redirect is not the one this sign-in sent (forged or stale redirect)."""


class IssuerMismatchError(AuthorizationError):
    """The ``iss`` in the redirect is not the expected issuer (RFC 9207 mix-up defence)."""


class TokenRequestError(HealthcodeAuthError):
    """The token endpoint refused the request (RFC 6749 section 5.2) or gave an unusable answer."""

    def __init__(self, message: str, error: str | None = None, description: str | None = None,
                 status_code: int | None = None) -> None:
        self.error = error
        self.description = description
        self.status_code = status_code
        super().__init__(message)


class InvalidGrantError(TokenRequestError):
    """The code or refresh token is used, expired, revoked or does not match: sign in again."""


class TokenVerificationError(HealthcodeAuthError):
    """The access token is not a valid JWT from the expected issuer (signature, issuer or expiry)."""


class NoValidTokenError(HealthcodeAuthError):
    """There is no usable access token and a supervisor must sign in."""
