"""Healthcode's supervised bot sign-in: OAuth 2.0 Authorization Code with PKCE, in plain Python.

This package is the core of robotframework-healthcode. It never imports Robot Framework, browser
automation, the keyword library or the sandbox, so it can be used from any Python code::

    from healthcode_auth import HealthcodeAuthClient, HealthcodeConfig

    config = HealthcodeConfig(client_id="example_rpa_app",
                              redirect_uri="https://rpaapp.example.com/postauth", environment="uat")
    with HealthcodeAuthClient(config) as client:
        sign_in = client.start_sign_in()          # open sign_in.url for the supervisor
        token = client.complete_sign_in(sign_in, url_the_browser_was_redirected_to)

Its floors, each importing only the floors below (``docs/architecture.md``): ``errors`` and
``redaction``; ``protocol/`` (pure functions); ``config`` and ``storage/``; ``transport``;
``client``; ``session``; ``http_auth``.
"""

from __future__ import annotations

from .client import HealthcodeAuthClient
from .config import ENVIRONMENTS, HealthcodeConfig
from .errors import (
    AuthorizationDenied,
    AuthorizationError,
    ConfigurationError,
    DiscoveryError,
    HealthcodeAuthError,
    InvalidGrantError,
    InvalidSettingsError,
    IssuerMismatchError,
    MissingSettingError,
    NoValidTokenError,
    ReauthorisationRequiredError,
    SignedOutError,
    SignInError,
    SignInPageError,
    SignInTimeoutError,
    SignInWindowClosedError,
    StateMismatchError,
    StoreError,
    StoreKeyError,
    StoreLockTimeout,
    StoreUnavailableError,
    TokenAssertionError,
    TokenRequestError,
    TokenVerificationError,
    TransportError,
)
from .protocol.authorization_request import AuthorizationCode, AuthorizationRequest, parse_redirect, start_authorization
from .protocol.provider_metadata import ProviderMetadata, parse_metadata
from .protocol.token import DEFAULT_EXPIRY_MARGIN, Token, TokenStatus, token_status
from .protocol.token_endpoint import parse_token_response
from .session import HealthcodeSession
from .version import __version__

__all__ = [
    "DEFAULT_EXPIRY_MARGIN",
    "ENVIRONMENTS",
    "AuthorizationCode",
    "AuthorizationDenied",
    "AuthorizationError",
    "AuthorizationRequest",
    "ConfigurationError",
    "DiscoveryError",
    "HealthcodeAuthClient",
    "HealthcodeAuthError",
    "HealthcodeConfig",
    "HealthcodeSession",
    "InvalidGrantError",
    "InvalidSettingsError",
    "IssuerMismatchError",
    "MissingSettingError",
    "NoValidTokenError",
    "ProviderMetadata",
    "ReauthorisationRequiredError",
    "SignInError",
    "SignInPageError",
    "SignInTimeoutError",
    "SignInWindowClosedError",
    "SignedOutError",
    "StateMismatchError",
    "StoreError",
    "StoreKeyError",
    "StoreLockTimeout",
    "StoreUnavailableError",
    "Token",
    "TokenAssertionError",
    "TokenRequestError",
    "TokenStatus",
    "TokenVerificationError",
    "TransportError",
    "__version__",
    "parse_metadata",
    "parse_redirect",
    "parse_token_response",
    "start_authorization",
    "token_status",
]
