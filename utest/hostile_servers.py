"""Small hostile HTTP servers on loopback: they answer, but slowly enough to defeat per-read timeouts.

``SlowSso`` serves a valid discovery document (and JWKS) at once, and treats each other path as
the test asks: ``slow_headers`` sends the status line one byte at a time, ``trickle`` sends the
headers at once and the body one byte at a time. Every byte arrives well within any per-read
timeout, so only a total deadline ends such a request.
"""

import json
import socket
import socketserver
import threading
import time

BYTE_INTERVAL = 0.25


class SlowSso:
    def __init__(self, token_mode="trickle", discovery_mode="fast"):
        self.token_mode = token_mode
        self.discovery_mode = discovery_mode
        self.requests: list[str] = []
        sso = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(30)
                try:
                    head = self.request.recv(65536).decode("latin-1")
                    path = head.split(" ", 2)[1] if " " in head else "/"
                    sso.requests.append(path.split("?")[0])
                    sso.answer(self.request, path)
                except OSError:
                    pass  # the client gave up: that is the point

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def discovery_url(self):
        return f"{self.url}/.well-known/openid-configuration"

    def answer(self, connection: socket.socket, path: str) -> None:
        if path.startswith("/.well-known/"):
            body = json.dumps(
                {
                    "issuer": self.url,
                    "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token",
                    "code_challenge_methods_supported": ["S256"],
                    "response_types_supported": ["code"],
                }
            ).encode()
            return self._send(connection, body, self.discovery_mode)
        body = json.dumps({"access_token": "x" * 5000, "token_type": "Bearer", "expires_in": 3600}).encode()
        return self._send(connection, body, self.token_mode)

    @staticmethod
    def _send(connection, body, mode):
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        fast, slow = {"fast": (head + body, b""), "slow_headers": (b"", head + body), "trickle": (head, body)}[mode]
        connection.sendall(fast)
        for index in range(len(slow)):
            connection.sendall(slow[index : index + 1])
            time.sleep(BYTE_INTERVAL)

    def close(self):
        self._server.shutdown()
        self._server.server_close()
