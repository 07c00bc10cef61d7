"""A supervisor who answers the sandbox's sign-in pages over plain HTTP, without a browser.

For pytest integration tests of a client: hand it the authorization URL the client built, get
back the URL the browser would have been redirected to (``code``, ``state``, ``iss`` or an
error). Robot Framework suites use a real browser instead; this is the fast path.
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from ..sandbox_errors import SandboxError
from ..settings import DEFAULT_OTP, DEFAULT_PASSWORD


@dataclass(frozen=True)
class Supervisor:
    """Credentials plus the two answers a supervisor can give: sign in, or cancel."""

    username: str = "supervisor"
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    otp: str = field(default=DEFAULT_OTP, repr=False)
    timeout: float = 10.0
    ca_bundle: str | None = None  # CA certificates to trust, for a sandbox serving https

    def sign_in(self, authorization_url: str) -> str:
        """Open the URL, sign in (and pass the one-time code if asked); return the redirect URL."""
        with self._http() as http:
            response = http.get(authorization_url)
            if response.is_redirect:  # an error redirect, or the deny_sign_in fault
                return response.headers["location"]
            form = _read_form(response)
            credentials = {"username": self.username, "password": self.password}
            response = http.post(form.action, data={"request_id": form.request_id, "action": "sign-in", **credentials})
            if not response.is_redirect:
                form = _read_form(response)
                if form.asks_for_otp:
                    answer = {"request_id": form.request_id, "action": "verify", "otp": self.otp}
                    response = http.post(form.action, data=answer)
            if response.is_redirect:
                return response.headers["location"]
            raise SandboxError(f"The sandbox did not redirect after sign-in: {_read_form(response).alert.strip()}")

    def cancel(self, authorization_url: str) -> str:
        """Open the URL and press Cancel; return the redirect URL (``error=access_denied``)."""
        with self._http() as http:
            response = http.get(authorization_url)
            if not response.is_redirect:
                form = _read_form(response)
                response = http.post(form.action, data={"request_id": form.request_id, "action": "cancel"})
            if response.is_redirect:
                return response.headers["location"]
            raise SandboxError(f"The sandbox did not redirect after cancel: {_read_form(response).alert.strip()}")

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout, verify=_tls_context(self.ca_bundle))


@functools.cache
def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    # Building a TLS context costs ~0.1 s; a test suite signs in hundreds of times.
    return ssl.create_default_context(cafile=ca_bundle)


class _FormReader(HTMLParser):
    """Picks the form action, the pending request id, the OTP field and any alert out of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.request_id = ""
        self.asks_for_otp = False
        self.alert = ""
        self._in_alert = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        elif tag == "input" and values.get("name") == "request_id":
            self.request_id = values.get("value", "")
        elif tag == "input" and values.get("id") == "otp":
            self.asks_for_otp = True
        if values.get("role") == "alert":
            self._in_alert = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_alert = False

    def handle_data(self, data: str) -> None:
        if self._in_alert:
            self.alert += data


def _read_form(response: httpx.Response) -> _FormReader:
    reader = _FormReader()
    reader.feed(response.text)
    if not reader.request_id:
        detail = reader.alert.strip() or f"HTTP {response.status_code} without a sign-in form"
        raise SandboxError(f"The sandbox refused the sign-in request: {detail}")
    reader.action = urljoin(str(response.url), reader.action)
    return reader
