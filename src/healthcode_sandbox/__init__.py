"""A local Healthcode SSO emulator for offline development, demos and tests.

It speaks the same protocol as Healthcode's SSO (OAuth 2.0 Authorization Code with S256 PKCE,
found through a discovery document, RS256 JWT access tokens) on 127.0.0.1, with fixed test
accounts and knobs that make it fail on purpose. See docs/sandbox.md.

    from healthcode_sandbox import Sandbox, SandboxSettings

    with Sandbox(SandboxSettings()) as sandbox:
        print(sandbox.discovery_url)

Layout, lowest layer first (a layer imports only the ones before it; ``web``, ``admin`` and
``api_side`` not each other): the foundation modules here (``sandbox_errors``, ``settings``, ``faults``,
``request_stats``); ``oauth/`` (the authorization server, tokens, keys, endpoints); ``web/``
(the supervisor's sign-in pages), ``admin/`` (the ``/_sandbox`` admin API, registrations) and
``api_side/`` (Healthcode's APIs: the API discovery document, Find Member, remittances...);
``process/`` (the Flask app, the ``Sandbox`` server, the command line). This module,
``__main__`` and ``pytest_plugin`` are the public face on top.
"""

from __future__ import annotations

from .admin.registrations import Registrations, load_registrations
from .faults import Faults
from .oauth.memory_store import IssuedSecrets
from .process.command_line import main
from .process.server import Sandbox
from .request_stats import ApiCall
from .sandbox_errors import SandboxConfigurationError, SandboxError, StartError
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
    SandboxSettings,
)
from .web.supervisor import Supervisor

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
