"""Healthcode's supervised bot sign-in: OAuth 2.0 Authorization Code with PKCE, in plain Python.

This package is the core of robotframework-healthcode. It never imports Robot Framework or the
Browser library, so it can be used from any Python code::

    from healthcode_auth import HealthcodeAuthClient, HealthcodeConfig

    config = HealthcodeConfig(client_id="example_rpa_app",
                              redirect_uri="https://rpaapp.example.com/postauth", environment="uat")
    with HealthcodeAuthClient(config) as client:
        sign_in = client.start_sign_in()          # open sign_in.url for the supervisor
        token = client.complete_sign_in(sign_in, url_the_browser_was_redirected_to)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .authorization import AuthorizationCode, AuthorizationRequest, parse_redirect, start_authorization
from .client import HealthcodeAuthClient
from .config import ENVIRONMENTS, HealthcodeConfig
from .discovery import ProviderMetadata, parse_metadata
from .errors import (
    AuthorizationDenied,
    AuthorizationError,
    ConfigurationError,
    DiscoveryError,
    HealthcodeAuthError,
    InvalidGrantError,
    IssuerMismatchError,
    NoValidTokenError,
    StateMismatchError,
    TokenRequestError,
    TokenVerificationError,
    TransportError,
)
from .tokens import Token, parse_token_response

__all__ = [
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
    "InvalidGrantError",
    "IssuerMismatchError",
    "NoValidTokenError",
    "ProviderMetadata",
    "StateMismatchError",
    "Token",
    "TokenRequestError",
    "TokenVerificationError",
    "TransportError",
    "__version__",
    "parse_metadata",
    "parse_redirect",
    "parse_token_response",
    "start_authorization",
]
