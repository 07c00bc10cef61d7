"""A supervisor who answers the sandbox's sign-in pages over plain HTTP, without a browser.

For pytest integration tests of a client: hand it the authorization URL the client built, get
back the URL the browser would have been redirected to (``code``, ``state``, ``iss`` or an
error). Robot Framework suites use a real browser instead; this is the fast path.
"""

from __future__ import annotations

import functools
import html
import re
import ssl
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from .settings import DEFAULT_OTP, DEFAULT_PASSWORD, SandboxError


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
            raise SandboxError(f"The sandbox did not redirect after sign-in: {_read_form(response).alert}")

    def cancel(self, authorization_url: str) -> str:
        """Open the URL and press Cancel; return the redirect URL (``error=access_denied``)."""
        with self._http() as http:
            response = http.get(authorization_url)
            if not response.is_redirect:
                form = _read_form(response)
                response = http.post(form.action, data={"request_id": form.request_id, "action": "cancel"})
            if response.is_redirect:
                return response.headers["location"]
            raise SandboxError(f"The sandbox did not redirect after cancel: {_read_form(response).alert}")

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout, verify=_tls_context(self.ca_bundle))


@functools.cache
def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    # Building a TLS context costs ~0.1 s; a test suite signs in hundreds of times.
    return ssl.create_default_context(cafile=ca_bundle)


@dataclass(frozen=True)
class _Form:
    action: str
    request_id: str
    asks_for_otp: bool
    alert: str


def _read_form(response: httpx.Response) -> _Form:
    # The sandbox's own templates: one form, a hidden request_id, an "otp" input on the second step,
    # and any message in the element with role="alert".
    page = response.text
    alert = re.search(r'role="alert">(.*?)</p>', page, re.DOTALL)
    message = html.unescape(re.sub(r"<[^>]+>", "", alert.group(1))).strip() if alert else ""
    request_id = re.search(r'<input type="hidden" name="request_id" value="([^"]+)"', page)
    action = re.search(r'<form method="post" action="([^"]*)"', page)
    if request_id is None or action is None:
        detail = message or f"HTTP {response.status_code} without a sign-in form"
        raise SandboxError(f"The sandbox refused the sign-in request: {detail}")
    target = urljoin(str(response.url), html.unescape(action.group(1)))
    return _Form(target, html.unescape(request_id.group(1)), 'id="otp"' in page, message)
