"""How views reach the sandbox that serves them (one Flask app per sandbox, no globals)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import Flask, current_app

if TYPE_CHECKING:
    from .authorization_server import SandboxAuthorizationServer
    from .sandbox_state import SandboxState

EXTENSION_KEY = "healthcode_sandbox"


def attach(app: Flask, server: SandboxAuthorizationServer) -> None:
    """Make ``server`` (and through it the sandbox state) reachable from this app's views."""
    app.extensions[EXTENSION_KEY] = server


def current_server() -> SandboxAuthorizationServer:
    return cast("SandboxAuthorizationServer", current_app.extensions[EXTENSION_KEY])


def current_state() -> SandboxState:
    return current_server().state
