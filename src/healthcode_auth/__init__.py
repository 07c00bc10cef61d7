"""Healthcode's supervised bot sign-in: OAuth 2.0 Authorization Code with PKCE, in plain Python.

This package is the core of robotframework-healthcode. It never imports Robot Framework, browser
automation, the keyword library or the sandbox, so it can be used from any Python code::

    from healthcode_auth import HealthcodeAuthClient, HealthcodeConfig

    config = HealthcodeConfig(client_id="example_rpa_app",
                              redirect_uri="https://rpaapp.example.com/postauth", environment="uat")
    with HealthcodeAuthClient(config) as client:
        sign_in = client.start_sign_in()          # open sign_in.url for the supervisor
        token = client.complete_sign_in(sign_in, url_the_browser_was_redirected_to)

Its layout, floor by floor, is in ``docs/architecture.md`` (the one map, which the architecture
test reads); :class:`HealthcodeApi` calls Healthcode's APIs by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# The public names, imported when first used: `import healthcode_auth.config` (what a robot that
# only reads a cached token needs) does not load the HTTP and JWT machinery behind the client.
_HOMES = {
    "HealthcodeAuthClient": "client",
    "ENVIRONMENTS": "config",
    "HealthcodeConfig": "config",
    "AuthorizationCode": "protocol.authorization_request",
    "AuthorizationRequest": "protocol.authorization_request",
    "parse_redirect": "protocol.authorization_request",
    "start_authorization": "protocol.authorization_request",
    "ProviderMetadata": "protocol.provider_metadata",
    "parse_metadata": "protocol.provider_metadata",
    "DEFAULT_EXPIRY_MARGIN": "protocol.token",
    "Token": "protocol.token",
    "TokenStatus": "protocol.token",
    "token_status": "protocol.token",
    "parse_token_response": "protocol.token_endpoint",
    "HealthcodeSession": "session",
    "__version__": "version",
    "HealthcodeApi": "api_client",
    "ApiResult": "protocol.api_result",
    "ApiDict": "protocol.api_result",
    "ApiList": "protocol.api_result",
    "ApiDocument": "protocol.api_document",
    "FirstContactReport": "first_contact",
    "first_contact_report": "first_contact",
}


def __getattr__(name: str) -> object:
    import importlib

    home = _HOMES.get(name, "errors" if name in __all__ else None)  # every other public name is an error
    if home is None:
        raise AttributeError(f"module 'healthcode_auth' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .api_client import HealthcodeApi
    from .client import HealthcodeAuthClient
    from .config import ENVIRONMENTS, HealthcodeConfig
    from .errors import (
        ApiAnswerError,
        ApiArgumentError,
        ApiDiscoveryError,
        ApiError,
        ApiOriginRefusedError,
        ApiRequestError,
        ApiServerError,
        AuthorizationDenied,
        AuthorizationError,
        AuthorizationRequestRefusedError,
        ClaimsFullError,
        ClockSkewError,
        ConfigurationError,
        DiscoveryError,
        HealthcodeAuthError,
        InvalidGrantError,
        InvalidSettingsError,
        IssuerMismatchError,
        KeySetUnavailableError,
        MissingSettingError,
        NobodyToSignInError,
        NoValidTokenError,
        ReauthorisationRequiredError,
        SettingsMismatchError,
        SignedOutError,
        SignInError,
        SignInPageError,
        SignInTimeoutError,
        SignInWindowClosedError,
        SignInWouldBeRecordedError,
        StateMismatchError,
        StoreError,
        StoreKeyError,
        StoreLockTimeout,
        StoreNotAnsweringError,
        StoreUnavailableError,
        StoreUnreadableError,
        SupervisorNotAllowedError,
        TokenAssertionError,
        TokenRequestError,
        TokenVerificationError,
        TransportError,
    )
    from .first_contact import FirstContactReport, first_contact_report
    from .protocol.api_document import ApiDocument
    from .protocol.api_result import ApiDict, ApiList, ApiResult
    from .protocol.authorization_request import (
        AuthorizationCode,
        AuthorizationRequest,
        parse_redirect,
        start_authorization,
    )
    from .protocol.provider_metadata import ProviderMetadata, parse_metadata
    from .protocol.token import DEFAULT_EXPIRY_MARGIN, Token, TokenStatus, token_status
    from .protocol.token_endpoint import parse_token_response
    from .session import HealthcodeSession
    from .version import __version__


__all__ = [
    "DEFAULT_EXPIRY_MARGIN",
    "ENVIRONMENTS",
    "ApiAnswerError",
    "ApiArgumentError",
    "ApiDict",
    "ApiDiscoveryError",
    "ApiDocument",
    "ApiError",
    "ApiList",
    "ApiOriginRefusedError",
    "ApiRequestError",
    "ApiResult",
    "ApiServerError",
    "AuthorizationCode",
    "AuthorizationDenied",
    "AuthorizationError",
    "AuthorizationRequest",
    "AuthorizationRequestRefusedError",
    "ClaimsFullError",
    "ClockSkewError",
    "ConfigurationError",
    "DiscoveryError",
    "FirstContactReport",
    "HealthcodeApi",
    "HealthcodeAuthClient",
    "HealthcodeAuthError",
    "HealthcodeConfig",
    "HealthcodeSession",
    "InvalidGrantError",
    "InvalidSettingsError",
    "IssuerMismatchError",
    "KeySetUnavailableError",
    "MissingSettingError",
    "NoValidTokenError",
    "NobodyToSignInError",
    "ProviderMetadata",
    "ReauthorisationRequiredError",
    "SettingsMismatchError",
    "SignInError",
    "SignInPageError",
    "SignInTimeoutError",
    "SignInWindowClosedError",
    "SignInWouldBeRecordedError",
    "SignedOutError",
    "StateMismatchError",
    "StoreError",
    "StoreKeyError",
    "StoreLockTimeout",
    "StoreNotAnsweringError",
    "StoreUnavailableError",
    "StoreUnreadableError",
    "SupervisorNotAllowedError",
    "Token",
    "TokenAssertionError",
    "TokenRequestError",
    "TokenStatus",
    "TokenVerificationError",
    "TransportError",
    "__version__",
    "first_contact_report",
    "parse_metadata",
    "parse_redirect",
    "parse_token_response",
    "start_authorization",
    "token_status",
]
