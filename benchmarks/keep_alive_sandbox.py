"""The sandbox served by Waitress, which keeps connections alive as Healthcode's servers do (the
sandbox's own Werkzeug server closes every connection). For the API-call rows: run as a process of
its own, it prints the sandbox's address as ``healthcode-auth sandbox`` does, and serves until killed."""

from __future__ import annotations

import socket

import waitress

from healthcode_sandbox import SandboxSettings
from healthcode_sandbox.oauth.sandbox_state import SandboxState
from healthcode_sandbox.process.flask_app import create_app


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    app = create_app(SandboxState.create(SandboxSettings(port=port), url))
    print(f"Paste this as the environment: {url}", flush=True)
    waitress.serve(app, host="127.0.0.1", port=port, threads=4, _quiet=True)


if __name__ == "__main__":
    main()
