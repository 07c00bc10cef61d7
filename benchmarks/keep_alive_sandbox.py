"""The sandbox served by cheroot (the portal's server), which keeps connections alive as
Healthcode's servers do (the sandbox's own Werkzeug server closes every connection). For the
API-call rows: run as a process of its own, it prints the sandbox's address as ``healthcode-auth
sandbox`` does, and serves until killed."""

from __future__ import annotations

import socket

from cheroot import wsgi

from healthcode_sandbox import SandboxSettings
from healthcode_sandbox.sandbox_state import SandboxState
from healthcode_sandbox.server import create_app


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    app = create_app(SandboxState.create(SandboxSettings(port=port), url))
    print(f"Paste this as the environment: {url}", flush=True)
    server = wsgi.Server(("127.0.0.1", port), app, numthreads=4)
    try:
        server.start()  # serves until the process is stopped
    finally:
        server.stop()


if __name__ == "__main__":
    main()
