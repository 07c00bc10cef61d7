"""Serving the portal: cheroot (a production WSGI server on Windows and Linux), TLS, proxies, the access log.

:class:`PortalServer` binds the listening address and serves the application until stopped (Ctrl+C,
SIGTERM, or :meth:`PortalServer.stop` from another thread). Forwarded headers are trusted only from
the configured proxies (:class:`TrustedProxies`: the last address of ``X-Forwarded-For``, when it is
an IP address, for a request whose peer is one of them; otherwise the peer is the client and the
header is ignored). The access log names
the client, the method, the path *without its query string* (the callback's query carries the code
and state) and the status; cheroot's own messages go to the same log, without tracebacks.

Slow clients: cheroot gives each connection a worker thread from the moment it is accepted, so a
few dozen idle or trickling connections (slowloris) can hold them all. The portal raises the
threads (32 by default) and drops a connection silent for 10 seconds, which only mitigates it:
beyond a trusted network, the portal must sit behind a reverse proxy that buffers whole requests
before it passes them on (nginx, IIS/ARR do), see docs/portal.md.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import re
import ssl
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from cheroot import wsgi

from healthcode_auth.errors import ConfigurationError, HealthcodeAuthError, escaped

from .app import MAX_REQUEST_BYTES

access_log = logging.getLogger("healthcode_portal.access")
log = logging.getLogger("healthcode_portal")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
THREADS = 32  # worker threads: each connection holds one from its first byte to its last
SOCKET_TIMEOUT = 10  # seconds a connection may stay silent before cheroot drops it
IN_USE = {errno.EADDRINUSE, 10048}  # 10048: Windows' WSAEADDRINUSE
NOT_HERE = {errno.EADDRNOTAVAIL, 10049}  # 10049: WSAEADDRNOTAVAIL
NO_SUCH_HOST = {-2, -3, -5, 8, 11001, 11004}  # getaddrinfo's EAI_NONAME, EAI_AGAIN, EAI_NODATA (Linux, macOS, Windows)


class PortalStartError(HealthcodeAuthError):
    """The portal cannot listen where it was asked to (the address is in use, or not this machine's)."""


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6); ConfigurationError naming ``--listen``."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError("--listen", f"'{escaped(text, 100)}' is not HOST:PORT, such as 127.0.0.1:8080")
    return host, int(port)


def parse_proxies(texts: Sequence[str]) -> tuple[Network, ...]:
    """Trusted proxies: addresses or networks (``10.0.0.5``, ``10.0.0.0/24``, ``::1``)."""
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                "--trusted-proxy",
                f"'{escaped(text, 100)}' is not an IP address or network (such as 127.0.0.1 or 10.0.0.0/24)",
            ) from None
    return tuple(networks)


class TrustedProxies:
    """X-Forwarded-For believed only from a trusted proxy: the last address it names (the one the
    proxy added) is then the client's, when it is an IP address; anything else is the proxy's
    mistake or a client's trick, and the peer's address stays (never text into the record)."""

    def __init__(self, app: WsgiApp, proxies: Sequence[Network]) -> None:
        self.app, self.proxies = app, tuple(proxies)

    def trusts(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address((peer or "").split("%", 1)[0])
        except ValueError:
            return False
        return any(_unmapped(address) in network for network in self.proxies)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        peer = plain_address(environ.get("REMOTE_ADDR", ""))  # a dual-stack listener's ::ffff:a.b.c.d
        if peer is not None:
            environ["REMOTE_ADDR"] = peer  # is a.b.c.d: one client, one spelling in the record and the log
        if self.proxies and self.trusts(environ.get("REMOTE_ADDR")):
            client = forwarded_client(environ.get("HTTP_X_FORWARDED_FOR", ""))
            if client is not None:
                environ["REMOTE_ADDR"] = client
        return self.app(environ, start_response)


def forwarded_client(header: str) -> str | None:
    """The last entry of an X-Forwarded-For header when it is an IP address, else None."""
    last = header.rsplit(",", 1)[-1].strip()
    return plain_address(last) if 0 < len(last) <= 64 else None


def plain_address(text: str) -> str | None:
    """``text`` in one spelling when it is an IP address without a zone (a zone is free text), else
    None: one client, one spelling in the record and the log."""
    try:
        return None if "%" in text else str(_unmapped(ipaddress.ip_address(text)))
    except ValueError:
        return None


def _unmapped(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4-mapped IPv6 address (a dual-stack listener's ::ffff:203.0.113.9) as its IPv4."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return address if mapped is None else mapped


class AccessLog:
    """One line per request: client, method, path (never the query string) and status."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def logged(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            path = escaped(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), 200)
            access_log.info(
                '%s "%s %s" %s',
                environ.get("REMOTE_ADDR", "-"),
                escaped(environ.get("REQUEST_METHOD", "-"), 10),
                path,
                status.split(" ", 1)[0],
            )
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, logged)


class _Server(wsgi.Server):
    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        log.log(level if level >= logging.WARNING else logging.INFO, "%s", escaped(msg, 300))


class PortalServer:
    """The portal on cheroot at ``host:port``, on TLS when a certificate and key are given."""

    def __init__(
        self,
        app: WsgiApp,
        host: str,
        port: int,
        *,
        certificate: str | None = None,
        private_key: str | None = None,
        trusted_proxies: Sequence[Network] = (),
        threads: int = THREADS,
    ) -> None:
        # A listen queue of cheroot's default 5 drops the connections of a few supervisors arriving at once:
        # their browsers try again a second later (benchmarks/rows_portal.py: p95 of 50 at once, 1 s).
        self.server = _Server(
            (host, port),
            AccessLog(TrustedProxies(app, trusted_proxies)),
            numthreads=threads,
            server_name="healthcode-portal",
            timeout=SOCKET_TIMEOUT,
            shutdown_timeout=5,
            request_queue_size=128,
        )
        self.server.max_request_header_size = 16 * 1024
        self.server.max_request_body_size = 64 * MAX_REQUEST_BYTES  # Flask answers 413 (its page) beyond its own limit
        if (certificate is None) != (private_key is None):
            raise ConfigurationError(
                "--certificate" if certificate is None else "--private-key",
                "TLS needs both --certificate and --private-key",
            )
        if certificate is not None and private_key is not None:
            self.server.ssl_adapter = _tls_adapter(certificate, private_key)
        self.host, self.port = host, port
        portal = getattr(app, "extensions", {}).get("healthcode_portal")
        if portal is not None:  # a quarter of the threads (at least 2) stay for pages that wait on nothing
            portal.limit_waiting(max(1, threads - max(2, threads // 4)))

    def start(self) -> None:
        """Bind the listening socket; PortalStartError when it cannot be."""
        try:
            self.server.prepare()
        except OSError as error:
            raise PortalStartError(listen_error(self.host, self.port, error)) from None

    @property
    def bound_port(self) -> int:
        return int(self.server.bind_addr[1])

    def serve(self) -> None:
        """Serve until :meth:`stop` (from another thread) or Ctrl+C (raised to the caller)."""
        self.server.serve()

    def stop(self) -> None:
        self.server.stop()


def listen_error(host: str, port: int, error: OSError) -> str:
    """Why the portal cannot listen on ``host:port``, in an operator's words, by the error's number
    (cheroot words its own error around the socket's: the number is read from its text then)."""
    where = f"The portal cannot listen on {escaped(host, 100)}:{port}"
    numbers = [int(n) for n in re.findall(r"\[(?:Errno|WinError) (-?\d+)\]", str(error))]
    code = error.errno if error.errno is not None else (numbers[-1] if numbers else None)
    if code in IN_USE:
        return (
            f"{where}: the port is in use. Is another program (or another portal) using it? Choose another "
            "port with --listen, or stop the other one."
        )
    if code in NOT_HERE:
        return (
            f"{where}: {escaped(host, 100)} is not an address of this machine. Give one of its addresses with "
            "--listen (127.0.0.1 behind a reverse proxy on this machine, 0.0.0.0 for all of them)."
        )
    if code in NO_SUCH_HOST:
        return (
            f"{where}: there is no host '{escaped(host, 100)}' (its name cannot be resolved). Give an address "
            "of this machine with --listen."
        )
    if code == errno.EACCES:
        return f"{where}: this account may not listen on port {port}. Choose a port above 1023 with --listen."
    reason = error.strerror or re.sub(r"^.*\]\s*", "", str(error)).strip(" ()")
    return f"{where}: {escaped(reason, 200)}."


def _tls_adapter(certificate: str, private_key: str) -> Any:
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    for flag, path in (("--certificate", certificate), ("--private-key", private_key)):
        if not Path(path).is_file():
            raise ConfigurationError(flag, f"there is no file at '{escaped(path, 200)}'")
    try:
        adapter = BuiltinSSLAdapter(certificate, private_key)
    except (OSError, ssl.SSLError) as error:
        raise ConfigurationError(
            "--certificate",
            "the certificate and private key cannot be used together "
            f"({escaped(getattr(error, 'reason', None) or error, 200)}): give the PEM "
            "certificate (chain) and its unencrypted PEM private key",
        ) from None
    adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
    return adapter
