"""Where the transport runs a request: the main thread (where Robot Framework runs keywords) on an
event loop of its own, with no hop to another thread; any other thread, and a thread that runs an
event loop already, on the transport's private loop thread. Real HTTP to a local server."""

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from healthcode_auth.transport import HttpTransport


@pytest.fixture
def server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def private_threads():
    return [t for t in threading.enumerate() if t.name == "healthcode-http"]


def test_the_main_thread_runs_its_requests_itself(server):
    before = len(private_threads())
    transport = HttpTransport(timeout=10)
    try:
        for _ in range(3):
            assert transport.get(server, "test document").json() == {"ok": True}
        assert len(private_threads()) == before  # no thread of the transport's was started
    finally:
        transport.close()


def test_another_thread_and_a_running_loop_use_the_private_thread(server):
    transport = HttpTransport(timeout=10)
    answers = []
    try:
        worker = threading.Thread(target=lambda: answers.append(transport.get(server, "test document").json()))
        worker.start()
        worker.join(timeout=30)

        async def inside_a_loop():
            return transport.get(server, "test document").json()

        answers.append(asyncio.run(inside_a_loop()))
        assert answers == [{"ok": True}, {"ok": True}]
        assert transport._loop is not None and transport._loop.is_running()
    finally:
        transport.close()


def test_close_closes_the_main_threads_loop_and_a_later_request_starts_anew(server):
    transport = HttpTransport(timeout=10)
    transport.get(server, "test document")
    loop = transport._main[0]
    transport.close()
    assert loop.is_closed()
    assert transport.get(server, "test document").status_code == 200
    transport.close()
