"""The sandbox's own errors: one small hierarchy, messages that say what to do next."""

from __future__ import annotations


class SandboxError(Exception):
    """Something about the sandbox itself went wrong (not an OAuth protocol error)."""


class SandboxConfigurationError(SandboxError):
    """The sandbox was given settings, a clients file or CLI options it cannot use."""


class StartError(SandboxError):
    """The sandbox could not start listening (for example the port is already in use)."""
