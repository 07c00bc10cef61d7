"""Real receivers for the notices, on loopback: a webhook (Apprise's ``json://``) and an SMTP server
(aiosmtpd, Apprise's ``mailto://``). Each records what it received; the webhook can be told to
fail. Use them as context managers, or through the ``webhook`` and ``smtp`` fixtures."""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Webhook:
    """Records every JSON notice Apprise's ``json://`` posts, the moment it arrives; answers ``status``
    (200, or a failure) after ``delay`` seconds (a service that shows the notice at once but is slow
    to say so)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.arrived: list[float] = []  # time.monotonic() of each notice
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.headers.append(dict(self.headers))
                try:
                    receiver.received.append(json.loads(body))
                except ValueError:
                    receiver.received.append({"raw": body.decode("utf-8", "replace")})
                receiver.arrived.append(time.monotonic())
                status = receiver.status
                time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    self.end_headers()
                except OSError:  # the sender gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, credentials: str = "") -> str:
        return f"json://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}/notices"

    def titles(self) -> list[str]:
        return [notice.get("title", "") for notice in self.received]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Webhook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Smtp:
    """An SMTP server (aiosmtpd) that keeps every message it is handed."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.Message] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # aiosmtpd's name
                receiver.messages.append(email.message_from_bytes(envelope.content))
                return "250 Message accepted"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=robots@example.test&to=supervisor@example.test"

    def bodies(self) -> list[str]:
        texts = []
        for message in self.messages:
            parts = message.walk() if message.is_multipart() else [message]
            texts.append(
                "".join(
                    part.get_payload(decode=True).decode("utf-8", "replace")
                    for part in parts
                    if part.get_content_maintype() == "text"
                )
            )
        return texts

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Smtp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def webhook():
    with Webhook() as receiver:
        yield receiver


@pytest.fixture
def smtp():
    with Smtp() as receiver:
        yield receiver
