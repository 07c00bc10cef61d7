"""HTTP to the SSO server: TLS from the OS trust store, proxies, timeouts, bounded reads.

Only idempotent GETs (discovery, JWKS) are retried. A POST to the token endpoint is never
repeated: a code exchange that may have reached the server cannot be safely sent again.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import TransportError
from .version import __version__

if TYPE_CHECKING:
    import httpx

MAX_BODY_BYTES = 1_000_000
GET_RETRY_DELAYS = (0.25, 0.75)
USER_AGENT = f"robotframework-healthcode/{__version__}"


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
    """One pooled httpx client, created on first use, with the given timeout, CA bundle and proxy."""

    def __init__(self, *, timeout: float, ca_bundle: str | None = None, proxy: str | None = None) -> None:
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        self.proxy = proxy
        self._client: httpx.Client | None = None  # created on first request

    @property
    def client(self) -> httpx.Client:
        # httpx is imported on first use: a robot that finds its token in the cache never needs it.
        import httpx

        if self._client is None:
            self._client = httpx.Client(
                timeout=self.timeout,
                verify=tls_context(self.ca_bundle),
                proxy=self.proxy,
                trust_env=True,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def get(self, url: str, what: str) -> HttpResponse:
        """GET ``url`` with bounded retries on connection errors, timeouts and 5xx answers."""
        for delay in (*GET_RETRY_DELAYS, None):
            try:
                response = self._send("GET", url, what, headers={"Accept": "application/json"})
            except TransportError:
                if delay is None:
                    raise
            else:
                if response.status_code < 500 or delay is None:
                    return response
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def post_form(self, url: str, what: str, data: Mapping[str, str],
                  headers: Mapping[str, str]) -> HttpResponse:
        """POST an ``application/x-www-form-urlencoded`` body once."""
        return self._send("POST", url, what, data=dict(data),
                          headers={"Accept": "application/json", **headers})

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> HttpResponse:
        import httpx

        timeout = self.timeout
        try:
            with self.client.stream(method, url, **kwargs) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY_BYTES:
                        raise TransportError(f"The {what} at {url} sent more than {MAX_BODY_BYTES} bytes; "
                                             "this is not an SSO answer. Check the environment setting.")
                return HttpResponse(response.status_code, response.headers.get("content-type", ""),
                                    bytes(body), dict(response.headers))
        except httpx.TimeoutException:
            raise TransportError(f"The {what} at {url} did not answer within {timeout:g} seconds. "
                                 "The SSO server may be slow or down; try again later or raise the "
                                 "timeout setting.") from None
        except httpx.ProxyError as error:
            raise TransportError(f"The proxy refused the connection to the {what} at {url} "
                                 f"({_reason(error)}). Check the proxy setting and HTTPS_PROXY.") from None
        except httpx.ConnectError as error:
            raise TransportError(f"Could not connect to the {what} at {url}: {_reason(error)}. "
                                 + _connect_advice(error)) from None
        except httpx.HTTPError as error:
            raise TransportError(f"The {what} at {url} failed: {_reason(error)}. "
                                 "Check the network and try again.") from None


def _reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:300]


def _connect_advice(error: Exception) -> str:
    text = str(error).lower()
    if "certificate" in text or "ssl" in text or "tls" in text:
        return ("The server's TLS certificate is not trusted. If your network inspects TLS, add its CA "
                "to the operating system's trust store or set the ca_bundle setting.")
    if "name or service not known" in text or "nodename" in text or "getaddrinfo" in text:
        return "The host name does not resolve: check the environment setting and your DNS or proxy."
    return "Check the environment setting, the network and any proxy, then try again."
