"""``healthcode-auth`` run as a user or a scheduler runs it: in a child process, with the
environment of a robot configured against the sandbox."""

import os
import subprocess
import sys

from sandbox_clients import REDIRECT


def cli(*args, env=None, timeout=120):
    """``healthcode-auth ARGS`` in a child process; its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "healthcode_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def env_for(environment, store, **settings):
    """The environment of a run against the SSO at ``environment`` with the token store ``store``,
    and ``settings`` as HEALTHCODE_* variables."""
    return {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": REDIRECT,
        "HEALTHCODE_ENVIRONMENT": environment,
        "HEALTHCODE_TOKEN_CACHE": str(store),
        **{f"HEALTHCODE_{k.upper()}": str(v) for k, v in settings.items()},
    }
