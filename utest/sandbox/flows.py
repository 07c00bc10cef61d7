"""Client-side steps for the sandbox's own tests.

Written against the protocol, not against healthcode_auth, so these tests say whether the
sandbox is right independently of the client under test.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit

import httpx

from healthcode_sandbox import DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI, Sandbox, Supervisor

TIMEOUT = 5.0
# One client for all tests: creating an httpx.Client builds a TLS context, ~0.1 s each time.
HTTP = httpx.Client(timeout=TIMEOUT)


def pkce_pair() -> tuple[str, str]:
    """A fresh (verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def basic_auth(client_id: str, client_secret: str) -> dict[str, str]:
    """An RFC 6749 2.3.1 Authorization header: form-encode id and secret, then Base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def query(url: str) -> dict[str, str]:
    """The query parameters of a redirect URL."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


@dataclass
class Flow:
    """One client's view of the sandbox: build the authorization URL, sign in, exchange, refresh."""

    sandbox: Sandbox
    client_id: str = DEFAULT_CLIENT_ID
    redirect_uri: str = DEFAULT_REDIRECT_URI
    state: str = "xyz123"
    verifier: str = ""
    challenge: str = ""
    supervisor: Supervisor = field(default_factory=Supervisor)

    def __post_init__(self) -> None:
        if not self.verifier:
            self.verifier, self.challenge = pkce_pair()

    def authorize_url(self, **overrides: str | None) -> str:
        """The authorization URL; an override of None leaves that parameter out."""
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            **overrides,
        }
        kept = {name: value for name, value in params.items() if value is not None}
        return f"{self.sandbox.url}/authorize?{urlencode(kept)}"

    def sign_in(self, **overrides: str | None) -> dict[str, str]:
        """Sign in as the supervisor; the redirect's query parameters."""
        location = self.supervisor.sign_in(self.authorize_url(**overrides))
        assert location.startswith(self.redirect_uri), location
        return query(location)

    def code(self) -> str:
        return self.sign_in()["code"]

    def exchange(self, code: str, headers: dict[str, str] | None = None, **form: str | None) -> httpx.Response:
        """POST the authorization-code token request (override or drop fields with None)."""
        data: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": self.verifier,
            **form,
        }
        return self.post_token({k: v for k, v in data.items() if v is not None}, headers)

    def tokens(self, headers: dict[str, str] | None = None, **form: str | None) -> dict[str, Any]:
        """A whole successful sign-in and exchange; the token response."""
        response = self.exchange(self.code(), headers, **form)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def refresh(self, refresh_token: str, headers: dict[str, str] | None = None, **form: str) -> httpx.Response:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id, **form}
        return self.post_token(data, headers)

    def post_token(self, data: dict[str, str], headers: dict[str, str] | None = None) -> httpx.Response:
        return HTTP.post(f"{self.sandbox.url}/token", data=data, headers=headers)

    def revoke(self, token: str, **form: str) -> httpx.Response:
        data = {"token": token, "client_id": self.client_id, **form}
        return HTTP.post(f"{self.sandbox.url}/revoke", data=data)

    def whoami(self, access_token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {access_token}"}
        return HTTP.get(f"{self.sandbox.url}/api/v1/whoami", headers=headers)
