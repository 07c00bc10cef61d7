"""Floor 4: HTTP to the SSO server: TLS from the OS trust store, proxies, bounded reads, and a
total deadline on every request.

A timeout here is a deadline: ``timeout`` seconds of wall-clock time for the whole request,
connection, headers and body included (for a GET, its retries too). Socket timeouts alone cannot
give that: a server that sends one byte every second keeps each read short and the request alive
for ever. So requests run as coroutines of httpx's ``AsyncClient`` on a private event loop (one
daemon thread per transport), inside ``asyncio.wait_for``, which cancels them at the deadline.

Only idempotent GETs (discovery, JWKS) are retried. A POST to the token endpoint is never
repeated: a code exchange that may have reached the server cannot be safely sent again.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import threading
import time
import zlib
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit

from .errors import TransportError, first_line, printable
from .redaction import REDACTOR
from .version import __version__

if TYPE_CHECKING:
    import httpx

MAX_BODY_BYTES = 1_000_000
GET_RETRY_DELAYS = (0.25, 0.75)
USER_AGENT = f"robotframework-healthcode/{__version__}"
_T = TypeVar("_T")


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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owner_pid = 0
        self._client: httpx.AsyncClient | None = None  # lives on (and only on) the loop's thread

    def close(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None or self._owner_pid != os.getpid():
            return
        if self._client is not None:
            client, self._client = self._client, None
            asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)

    def get(self, url: str, what: str, accept: str = "application/json") -> HttpResponse:
        """GET ``url``; retries connection errors and 5xx answers while the deadline allows."""
        return self._run(self._get(url, what, accept))

    def post_form(self, url: str, what: str, data: Mapping[str, str],
                  headers: Mapping[str, str]) -> HttpResponse:
        """POST an ``application/x-www-form-urlencoded`` body once."""
        return self._run(self._bounded(self._fetch("POST", url, what, data=dict(data),
                                                   headers={"Accept": "application/json", **headers}), url, what))

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._event_loop())
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. Ctrl+C while waiting: the request stops too
            raise

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._owner_pid != os.getpid():  # new, or inherited by a fork
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="healthcode-http", daemon=True).start()
                self._loop, self._owner_pid, self._client = loop, os.getpid(), None
            return self._loop

    async def _get(self, url: str, what: str, accept: str) -> HttpResponse:
        deadline = time.monotonic() + self.timeout
        for delay in (*GET_RETRY_DELAYS, None):
            remaining = deadline - time.monotonic()
            try:
                response = await self._bounded(self._fetch("GET", url, what, headers={"Accept": accept}),
                                               url, what, remaining)
            except TransportError:
                if delay is None or deadline - time.monotonic() <= delay:
                    raise
            else:
                if response.status_code < 500 or delay is None or deadline - time.monotonic() <= delay:
                    return response
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _bounded(self, request: Coroutine[Any, Any, HttpResponse], url: str, what: str,
                       remaining: float | None = None) -> HttpResponse:
        try:
            return await asyncio.wait_for(request, max(0.0, self.timeout if remaining is None else remaining))
        except asyncio.TimeoutError:
            raise TransportError(f"The {what} at {url} did not answer within {self.timeout:g} seconds. "
                                 "The SSO server may be slow or down; try again later or raise the "
                                 "timeout setting.") from None

    async def _fetch(self, method: str, url: str, what: str, **kwargs: Any) -> HttpResponse:
        import httpx

        if self._client is None:
            # identity: the SSO's answers are small, and a compressed one could expand without bound
            # before a cap on decoded bytes applies (see _bounded_body).
            self._client = httpx.AsyncClient(timeout=self.timeout, verify=tls_context(self.ca_bundle),
                                             proxy=self.proxy, trust_env=True, follow_redirects=False,
                                             headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
        try:
            async with self._client.stream(method, url, **kwargs) as response:
                raw = bytearray()
                async for chunk in response.aiter_raw():
                    raw += chunk
                    if len(raw) > MAX_BODY_BYTES:
                        raise _too_large(what, url)
                body = _bounded_body(bytes(raw), response.headers.get("content-encoding", ""), what, url)
                return HttpResponse(response.status_code, response.headers.get("content-type", ""),
                                    body, dict(response.headers))
        except httpx.TimeoutException:
            raise asyncio.TimeoutError from None  # reported by _bounded, as the deadline is
        except httpx.ProxyError as error:
            raise TransportError(f"The proxy refused the connection to the {what} at {url} "
                                 f"({first_line(error, 300)}). Check the proxy setting and HTTPS_PROXY.") from None
        except httpx.ConnectError as error:
            raise TransportError(f"Could not connect to the {what} at {url}: {first_line(error, 300)}. "
                                 + _connect_advice(error)) from None
        except httpx.HTTPError as error:
            raise TransportError(f"The {what} at {url} failed: {first_line(error, 300)}. "
                                 "Check the network and try again.") from None


def _too_large(what: str, url: str) -> TransportError:
    return TransportError(f"The {what} at {url} sent more than {MAX_BODY_BYTES} bytes; this is not an SSO answer. "
                          "Check the environment setting.")


def _bounded_body(raw: bytes, encoding: str, what: str, url: str) -> bytes:
    """The body, decoded when a server compressed it although asked not to: never more than
    MAX_BODY_BYTES of it, however far it would expand (zlib's ``max_length`` stops the inflation
    there; httpx's own decoders have no bound)."""
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
    if not codings:
        return raw
    if codings not in (["gzip"], ["x-gzip"], ["deflate"]):
        raise TransportError(f"The {what} at {url} answered with a content encoding this library does not read "
                             f"({printable(encoding, 40)}). Check the environment setting and any proxy.")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, whichever the header says
    try:
        body = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error:
        raise TransportError(f"The {what} at {url} sent a damaged compressed answer. Try again later.") from None
    if len(body) > MAX_BODY_BYTES:
        raise _too_large(what, url)
    return body


def _connect_advice(error: Exception) -> str:
    text = str(error).lower()
    if "certificate" in text or "ssl" in text or "tls" in text:
        return ("The server's TLS certificate is not trusted. If your network inspects TLS, add its CA "
                "to the operating system's trust store or set the ca_bundle setting.")
    if "name or service not known" in text or "nodename" in text or "getaddrinfo" in text:
        return "The host name does not resolve: check the environment setting and your DNS or proxy."
    return "Check the environment setting, the network and any proxy, then try again."
