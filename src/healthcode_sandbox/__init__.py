"""A local Healthcode SSO emulator for offline development, demos and tests.

It speaks the same protocol as Healthcode's SSO (OAuth 2.0 Authorization Code with S256 PKCE,
found through a discovery document, RS256 JWT access tokens) on 127.0.0.1, with fixed test
accounts and knobs that make it fail on purpose, and serves a small copy of Healthcode's API
side. See docs/sandbox.md.

    from healthcode_sandbox import Sandbox, SandboxSettings

    with Sandbox(SandboxSettings()) as sandbox:
        print(sandbox.discovery_url)
"""

from __future__ import annotations

from .command_line import main
from .sandbox_state import ApiCall, IssuedSecrets
from .server import Sandbox
from .settings import (
    DEFAULT_ACCOUNTS,
    DEFAULT_AUDIENCE,
    DEFAULT_CLIENT,
    DEFAULT_CLIENT_ID,
    DEFAULT_OTP,
    DEFAULT_PASSWORD,
    DEFAULT_REDIRECT_URI,
    DEFAULT_SITE_ID,
    Account,
    Client,
    Faults,
    Registrations,
    SandboxConfigurationError,
    SandboxError,
    SandboxSettings,
    StartError,
    load_registrations,
)
from .supervisor import Supervisor

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DEFAULT_AUDIENCE",
    "DEFAULT_CLIENT",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_OTP",
    "DEFAULT_PASSWORD",
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_SITE_ID",
    "Account",
    "ApiCall",
    "Client",
    "Faults",
    "IssuedSecrets",
    "Registrations",
    "Sandbox",
    "SandboxConfigurationError",
    "SandboxError",
    "SandboxSettings",
    "StartError",
    "Supervisor",
    "load_registrations",
    "main",
]
