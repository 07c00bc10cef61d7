"""HTTP to the SSO server and Healthcode's APIs: TLS from the OS trust store, proxies, bounded
reads, and a total deadline on every request.

A timeout here is a deadline: ``timeout`` seconds of wall-clock time for the whole request,
connection, headers and body included (for a GET, its retries too). Socket timeouts alone cannot
give that: a server that sends one byte every second keeps each read short and the request alive
for ever. So requests run as coroutines of httpx's ``AsyncClient`` inside ``asyncio.wait_for``,
which cancels them at the deadline: in the main thread (where Robot Framework runs keywords) on an
event loop of the transport's own, run while the thread waits, so that an API call costs no hop
between threads; in any other thread, on a private loop in a daemon thread of the transport's.

Only idempotent GETs (discovery, JWKS) are retried. A POST to the token endpoint is never
repeated: a code exchange that may have reached the server cannot be safely sent again.

A thread waiting for the private loop waits no longer than its request's deadline and a margin, and
:meth:`HttpTransport.close` tells every waiting thread at once: nothing waits for ever on a loop that
was stopped. Messages never show a URL's query or user name (:func:`shown_url`), and httpx's and
httpcore's own log records are cut down to what cannot hold patient data (:func:`install_log_filters`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit

from .errors import TransportError, caused_by, escaped, first_line
from .http_log_filters import install_log_filters
from .protocol.urls import shown_url
from .redaction import REDACTOR
from .version import __version__

if TYPE_CHECKING:
    import httpx

MAX_BODY_BYTES = 1_000_000
GET_RETRY_DELAYS = (0.25, 0.75)
USER_AGENT = f"robotframework-healthcode/{__version__}"
WAIT_MARGIN = 5.0  # how much longer than its deadline a thread waits for the private loop
_T = TypeVar("_T")


@dataclass(frozen=True)
class Peer:
    """Whom a request goes to, as messages name it: the server, the setting to check, its answers."""

    server: str
    setting: str
    answer: str


SSO_PEER = Peer("The SSO server", "the environment setting", "an SSO answer")
API_DISCOVERY_PEER = Peer(
    "The server of the API discovery document",
    "the api_discovery setting (HEALTHCODE_API_DISCOVERY), or the environment it is derived from",
    "an API discovery document",
)
API_PEER = Peer("Healthcode's API", "the API discovery document and the network", "an API answer")


@dataclass(frozen=True)
class HttpResponse:
    """What the core needs of an answer: status, content type and a bounded body."""

    status_code: int
    content_type: str
    body: bytes
    headers: Mapping[str, str]

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Verification is always on: the OS trust store (so a TLS-inspecting proxy trusted by the
    machine works as in the browser), or exactly the CA bundle that was configured."""
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    import truststore  # imported late: building the context is only needed for a network call

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class HttpTransport:
    """A pooled httpx client on a private event loop, both created on first use."""

    def __init__(self, *, timeout: float, ca_bundle: str | None = None, proxy: str | None = None) -> None:
        if proxy:  # its credentials travel in a Proxy-Authorization header: secrets like the others
            parts = urlsplit(proxy)
            REDACTOR.add(parts.password)
            REDACTOR.add_basic_credentials(unquote(parts.username or ""), unquote(parts.password or ""))
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        self.proxy = proxy
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None  # the private loop, in a thread of its own
        self._owner_pid = 0
        self._main: tuple[asyncio.AbstractEventLoop, int] | None = None  # the main thread's loop, and its process
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}  # one per loop, used on it only
        self._waiting: set[concurrent.futures.Future[Any]] = set()  # requests other threads wait for

    def close(self) -> None:
        """Close the connections and stop the private loop. A thread still waiting for a request on
        it is told at once (a TransportError), and its request is cancelled."""
        with self._lock:
            loop, self._loop = self._loop, None
            main, self._main = self._main, None
            waiting, self._waiting = self._waiting, set()
        for future in waiting:
            future.cancel()
        if main is not None:
            self._close_main_loop(*main)
        if loop is None or self._owner_pid != os.getpid():
            return
        client = self._clients.pop(loop, None)
        if client is not None:
            asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)

    def _close_main_loop(self, loop: asyncio.AbstractEventLoop, pid: int) -> None:
        """The main thread's loop is closed by the main thread, when it is not running a request;
        from elsewhere it is left to the garbage collector (its connections with it)."""
        client = self._clients.pop(loop, None)
        if pid != os.getpid() or threading.current_thread() is not threading.main_thread() or loop.is_running():
            return
        if client is not None:
            with contextlib.suppress(Exception):
                loop.run_until_complete(client.aclose())
        loop.close()

    def get(
        self,
        url: str,
        what: str,
        accept: str = "application/json",
        *,
        remaining: float | None = None,
        peer: Peer = SSO_PEER,
    ) -> HttpResponse:
        """GET ``url``; retries connection errors and 5xx answers while the deadline allows: the
        ``timeout`` setting, or ``remaining`` seconds when that is shorter (a fetch within an API call)."""
        budget = self.timeout if remaining is None else min(self.timeout, remaining)
        if budget <= 0:
            raise self._late(what, shown_url(url), peer, budget)
        return self._run(self._get(url, what, accept, budget, peer), budget)

    def post_form(self, url: str, what: str, data: Mapping[str, str], headers: Mapping[str, str]) -> HttpResponse:
        """POST an ``application/x-www-form-urlencoded`` body once."""
        request = self._fetch("POST", url, what, data=dict(data), headers={"Accept": "application/json", **headers})
        return self._run(self._bounded(request, shown_url(url), what), self.timeout)

    def send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        remaining: float,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        content: bytes | None = None,
        limit: int = MAX_BODY_BYTES,
        shown: str | None = None,
    ) -> HttpResponse:
        """One request (a Healthcode API's), never repeated, ending within ``remaining`` seconds, its body
        at most ``limit`` bytes. Messages show ``shown`` instead of the URL (a query string may carry
        patient data), and no redirect is followed: the caller decides where the headers may go."""
        where = shown or shown_url(url)
        request = self._fetch(
            method,
            url,
            what,
            limit=limit,
            shown=where,
            peer=API_PEER,
            headers=dict(headers),
            params=params,
            data=data,
            content=content,
        )
        return self._run(self._bounded(request, where, what, remaining, API_PEER), remaining)

    def _run(self, coroutine: Coroutine[Any, Any, _T], deadline: float) -> _T:
        """Run a request: on the main thread's loop, or on the private loop while this thread waits,
        no longer than ``deadline`` seconds and :data:`WAIT_MARGIN` (its own deadline ends it first)."""
        loop = self._main_thread_loop()
        if loop is not None:
            task = loop.create_task(coroutine)
            try:
                return loop.run_until_complete(task)
            except BaseException:
                task.cancel()  # e.g. Ctrl+C while waiting: the request stops too, its connection closed
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(task)
                raise
        future = asyncio.run_coroutine_threadsafe(coroutine, self._event_loop())
        with self._lock:
            self._waiting.add(future)
        try:
            return future.result(timeout=max(0.0, deadline) + WAIT_MARGIN)
        except concurrent.futures.CancelledError:
            raise TransportError(
                "A request to Healthcode was stopped: the library's HTTP client was closed while "
                "it waited (the session was closed). Try again; a new client is made."
            ) from None
        except concurrent.futures.TimeoutError:
            if future.done():
                raise
            future.cancel()
            raise TransportError(
                f"A request to Healthcode did not end within {deadline:g} seconds and the library "
                "stopped waiting for it. Try again; if it persists, report it."
            ) from None
        except BaseException:
            future.cancel()  # e.g. Ctrl+C while waiting: the request stops too
            raise
        finally:
            with self._lock:
                self._waiting.discard(future)

    def _main_thread_loop(self) -> asyncio.AbstractEventLoop | None:
        """The main thread's loop of this transport; None in any other thread, and in a thread that
        runs an event loop already (the private loop's thread then takes the request)."""
        if threading.current_thread() is not threading.main_thread():
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return None
        with self._lock:
            if self._main is None or self._main[1] != os.getpid():  # new, or inherited by a fork
                self._main = (asyncio.new_event_loop(), os.getpid())
            return self._main[0]

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._owner_pid != os.getpid():  # new, or inherited by a fork
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="healthcode-http", daemon=True).start()
                self._loop, self._owner_pid = loop, os.getpid()
            return self._loop

    async def _get(self, url: str, what: str, accept: str, budget: float, peer: Peer) -> HttpResponse:
        deadline = time.monotonic() + budget
        where = shown_url(url)
        for delay in (*GET_RETRY_DELAYS, None):
            remaining = deadline - time.monotonic()
            try:
                response = await self._bounded(
                    self._fetch("GET", url, what, peer=peer, headers={"Accept": accept}),
                    where,
                    what,
                    remaining,
                    peer,
                    budget,
                )
            except TransportError:
                if delay is None or deadline - time.monotonic() <= delay:
                    raise
            else:
                if response.status_code < 500 or delay is None or deadline - time.monotonic() <= delay:
                    return response
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _bounded(
        self,
        request: Coroutine[Any, Any, HttpResponse],
        where: str,
        what: str,
        remaining: float | None = None,
        peer: Peer = SSO_PEER,
        budget: float | None = None,
    ) -> HttpResponse:
        try:
            return await asyncio.wait_for(request, max(0.0, self.timeout if remaining is None else remaining))
        except asyncio.TimeoutError:
            raise self._late(what, where, peer, budget) from None

    def _late(self, what: str, where: str, peer: Peer, budget: float | None = None) -> TransportError:
        """The deadline's error: the timeout setting's, or ``budget``, what was left of an API call's."""
        within = (
            f"{self.timeout:g} seconds"
            if budget is None or budget >= self.timeout
            else f"the {max(0.0, round(budget, 1)):g} seconds left of the call's deadline"
        )
        return TransportError(
            f"The {what} at {where} did not answer within {within}. "
            f"{peer.server} may be slow or down; try again later or raise the timeout setting."
        )

    async def _fetch(
        self,
        method: str,
        url: str,
        what: str,
        *,
        limit: int = MAX_BODY_BYTES,
        shown: str | None = None,
        peer: Peer = SSO_PEER,
        **kwargs: Any,
    ) -> HttpResponse:
        where = shown or shown_url(url)
        import httpx

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # identity: the SSO's answers are small, and a compressed one could expand without bound
            # before a cap on decoded bytes applies (see _bounded_body).
            install_log_filters()
            client = self._clients[loop] = httpx.AsyncClient(
                timeout=self.timeout,
                verify=tls_context(self.ca_bundle),
                proxy=self.proxy,
                trust_env=True,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
            )
        try:
            async with client.stream(method, url, **kwargs) as response:
                raw = bytearray()
                async for chunk in response.aiter_raw():
                    raw += chunk
                    if len(raw) > limit:
                        raise _too_large(what, where, limit, peer)
                body = _bounded_body(bytes(raw), response.headers.get("content-encoding", ""), what, where, limit, peer)
                return HttpResponse(
                    response.status_code, response.headers.get("content-type", ""), body, dict(response.headers)
                )
        except (TransportError, asyncio.TimeoutError):
            raise
        except httpx.TimeoutException:
            raise asyncio.TimeoutError from None  # reported by _bounded, as the deadline is
        except httpx.ProxyError as error:
            raise TransportError(
                f"The proxy refused the connection to the {what} at {where} "
                f"({_quoted(error)}). Check the proxy setting and HTTPS_PROXY."
            ) from None
        except httpx.ConnectError as error:
            raise TransportError(
                f"Could not connect to the {what} at {where}: {_quoted(error)}. " + _connect_advice(error, peer)
            ) from None
        except httpx.ProtocolError as error:  # h11's message quotes the line it could not parse: the server's words
            raise TransportError(
                f"The {what} at {where} answered what is not HTTP ({_protocol_problem(error)}). "
                "Check the network and any proxy; if it persists, report it."
            ) from None
        except httpx.HTTPError as error:
            raise TransportError(
                f"The {what} at {where} failed: {_quoted(error)}. Check the network and try again."
            ) from None
        except httpx.InvalidURL as error:  # not an HTTPError: a redirect's Location, or an address too long
            raise TransportError(
                f"The {what} at {where} could not be called: an address in the request or in the "
                f"answer's Location is not a usable URL ({_quoted(error)}). Check "
                f"{peer.setting}; if it persists, report it."
            ) from None
        except Exception as error:  # the last resort: whatever else the HTTP client raises is still ours to say
            raise TransportError(
                f"The {what} at {where} failed unexpectedly ({type(error).__name__}). Check the "
                "network and try again; if it persists, report it."
            ) from None


def _protocol_problem(error: Exception) -> str:
    """An HTTP protocol error without the header or status line it quotes (the server's words)."""
    return escaped(first_line(error, 300).split(":", 1)[0], 80)


def _quoted(error: Exception) -> str:
    """What a message quotes of an HTTP client's error: its first line, queries cut, escaped."""
    return escaped(shown_url(first_line(error, 300)), 300)


def _too_large(what: str, url: str, limit: int = MAX_BODY_BYTES, peer: Peer = SSO_PEER) -> TransportError:
    if limit != MAX_BODY_BYTES:
        return TransportError(
            f"The {what} at {url} sent more than {limit} bytes, more than this library reads of "
            "one answer. Ask for less (filters, a smaller page count)."
        )
    return TransportError(
        f"The {what} at {url} sent more than {MAX_BODY_BYTES} bytes; this is not {peer.answer}. Check {peer.setting}."
    )


_KNOWN_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "compress", "identity"})


def _bounded_body(
    raw: bytes, encoding: str, what: str, url: str, limit: int = MAX_BODY_BYTES, peer: Peer = SSO_PEER
) -> bytes:
    """The body, decoded when a server compressed it although asked not to: never more than
    ``limit`` bytes of it, however far it would expand (zlib's ``max_length`` stops the inflation
    there; httpx's own decoders have no bound)."""
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
    if not codings:
        return raw
    if codings not in (["gzip"], ["x-gzip"], ["deflate"]):
        shown = ", ".join(c if c in _KNOWN_CODINGS else "an unknown one" for c in codings)[:80]  # never its words
        raise TransportError(
            f"The {what} at {url} answered with a content encoding this library does not read "
            f"({shown}). Check {peer.setting} and any proxy."
        )
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, whichever the header says
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise TransportError(f"The {what} at {url} sent a damaged compressed answer. Try again later.") from None
    if len(body) > limit:
        raise _too_large(what, url, limit, peer)
    return body


def _connect_advice(error: Exception, peer: Peer = SSO_PEER) -> str:
    if caused_by(error, ssl.SSLCertVerificationError):
        return (
            "The server's TLS certificate is not trusted. If your network inspects TLS, add its CA "
            "to the operating system's trust store or set the ca_bundle setting."
        )
    if caused_by(error, ssl.SSLError):
        return (
            f"The TLS handshake failed: check that {peer.setting} names an https address served with TLS, and "
            "any proxy that inspects TLS."
        )
    if caused_by(error, socket.gaierror):
        return f"The host name does not resolve: check {peer.setting} and your DNS or proxy."
    return f"Check {peer.setting}, the network and any proxy, then try again."
