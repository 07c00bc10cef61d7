"""Advice for a failed connection is chosen by the failure's type (TLS, name resolution), never by
the words of another library's message. Real connections to local servers."""

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from healthcode_auth.errors import TransportError, caused_by
from healthcode_auth.transport import HttpTransport


@pytest.fixture
def plain_http_port():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _failure(url):
    transport = HttpTransport(timeout=5)
    try:
        with pytest.raises(TransportError) as raised:
            transport.get(url, "discovery document")
    finally:
        transport.close()
    return str(raised.value)


def test_a_name_that_does_not_resolve_is_said_so():
    message = _failure("https://no-such-host.invalid/.well-known/openid-configuration")
    assert "host name does not resolve" in message and "TLS" not in message


def test_https_to_a_port_without_tls_is_a_failed_handshake(plain_http_port):
    message = _failure(f"https://127.0.0.1:{plain_http_port}/.well-known/openid-configuration")
    assert "TLS handshake failed" in message and "does not resolve" not in message


def test_a_refused_connection_gets_the_general_advice():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    message = _failure(f"http://127.0.0.1:{port}/.well-known/openid-configuration")
    assert "network and any proxy" in message
    assert "TLS" not in message and "does not resolve" not in message


def test_a_cause_is_found_by_type_through_the_chain_and_never_by_its_words():
    def wrapped(inner):
        try:
            try:
                raise inner
            except OSError as error:
                raise RuntimeError("connect failed") from error
        except RuntimeError:
            try:
                raise ValueError("while reporting")  # raised while handling: __context__
            except ValueError as last:
                return last

    certificate = wrapped(ssl.SSLCertVerificationError("bad"))
    assert certificate.__cause__ is None and isinstance(certificate.__context__, RuntimeError)  # two links away
    assert caused_by(certificate, ssl.SSLCertVerificationError)
    assert caused_by(wrapped(socket.gaierror(-2, "x")), socket.gaierror)
    worded = wrapped(ConnectionRefusedError("certificate verify failed: SSL TLS getaddrinfo"))
    assert not caused_by(worded, ssl.SSLError, socket.gaierror)


def test_a_cycle_in_the_chain_ends():
    first, second = ValueError("a"), KeyError("b")
    first.__context__, second.__context__ = second, first
    assert not caused_by(first, OSError)
