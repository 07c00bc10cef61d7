"""The sandbox's memory: registered clients, pending sign-ins, codes, tokens and a record of every
secret it issued or holds. Plain dicts behind one lock: a sandbox serves a handful of requests.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..settings import Account, Client
from .models import AuthorizationCode, IssuedToken, PendingSignIn

PENDING_SIGN_IN_LIFETIME = 600.0
SECRET_KINDS = (
    "authorization_codes",
    "access_tokens",
    "refresh_tokens",
    "client_secrets",
    "code_verifiers",
    "passwords",
)


@dataclass(frozen=True)
class IssuedSecrets:
    """Every secret the sandbox issued or received, by kind, for "no secret in any log" tests.

    ``all`` is every kind except ``passwords``: the sandbox's fixed, documented passwords are
    kept apart because a suite may type them in the clear on purpose.
    """

    authorization_codes: tuple[str, ...] = ()
    access_tokens: tuple[str, ...] = ()
    refresh_tokens: tuple[str, ...] = ()
    client_secrets: tuple[str, ...] = ()
    code_verifiers: tuple[str, ...] = ()
    passwords: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        kinds = [getattr(self, kind) for kind in SECRET_KINDS if kind != "passwords"]
        return tuple(dict.fromkeys(value for values in kinds for value in values))

    def as_dict(self) -> dict[str, list[str]]:
        """The JSON shape of ``GET /_sandbox/issued-secrets``."""
        shape = {kind: list(getattr(self, kind)) for kind in SECRET_KINDS}
        shape["all"] = list(self.all)
        return shape


class Store:
    """In-memory state shared by the request threads of one sandbox."""

    def __init__(self, clients: Iterable[Client], accounts: Iterable[Account]) -> None:
        self._lock = threading.RLock()
        self._clients: dict[str, Client] = {}
        self._pending: dict[str, PendingSignIn] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._by_access: dict[str, IssuedToken] = {}
        self._by_refresh: dict[str, IssuedToken] = {}
        self._revoked_jtis: set[str] = set()
        self._secrets: dict[str, dict[str, None]] = {kind: {} for kind in SECRET_KINDS}
        for client in clients:
            self.add_client(client)
        for account in accounts:
            self.record_secret("passwords", account.password)

    # -- clients --------------------------------------------------------------------------------

    def add_client(self, client: Client) -> None:
        """Register (or replace) a client."""
        with self._lock:
            self._clients[client.client_id] = client
            if client.client_secret is not None:
                self.record_secret("client_secrets", client.client_secret)

    def client(self, client_id: str) -> Client | None:
        with self._lock:
            return self._clients.get(client_id)

    def clients(self) -> tuple[Client, ...]:
        with self._lock:
            return tuple(self._clients.values())

    # -- pending sign-ins -----------------------------------------------------------------------

    def open_sign_in(self, params: dict[str, str], browser: str) -> PendingSignIn:
        """Keep a validated authorization request until the supervisor answers (10 minutes); only
        the browser with the sign-in cookie ``browser`` may answer it."""
        now = time.time()
        pending = PendingSignIn(secrets.token_urlsafe(24), dict(params), now + PENDING_SIGN_IN_LIFETIME, browser)
        with self._lock:
            for request_id in [k for k, p in self._pending.items() if p.expires_at <= now]:
                del self._pending[request_id]
            self._pending[pending.request_id] = pending
        return pending

    def sign_in(self, request_id: str) -> PendingSignIn | None:
        """The pending sign-in, or None when unknown, finished or expired."""
        with self._lock:
            pending = self._pending.get(request_id)
            if pending is None or pending.expires_at <= time.time():
                return None
            return pending

    def password_verified(self, request_id: str, username: str) -> None:
        """Remember that this sign-in passed the password step and now needs its one-time code."""
        with self._lock:
            if request_id in self._pending:
                self._pending[request_id].username = username

    def otp_failed(self, request_id: str) -> int:
        """Count a wrong one-time code; returns the failures so far."""
        with self._lock:
            pending = self._pending.get(request_id)
            if pending is None:
                return 0
            pending.otp_failures += 1
            return pending.otp_failures

    def close_sign_in(self, request_id: str) -> bool:
        """Finish a sign-in so its form cannot be submitted twice; False if it was already gone."""
        with self._lock:
            return self._pending.pop(request_id, None) is not None

    # -- authorization codes --------------------------------------------------------------------

    def save_code(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._codes[code.code] = code
            self.record_secret("authorization_codes", code.code)

    def find_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The code if it is live and was issued to ``client_id``, else None.

        A code presented again after it was used makes the sandbox revoke the tokens issued from
        it, as RFC 6749 4.1.2 asks: the second presenter may be an attacker.
        """
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.client_id != client_id:
                return None
            if record.used:
                self._revoke_grant(code)
                return None
            if record.is_expired():
                return None
            return record

    def mark_code_used(self, code: AuthorizationCode) -> None:
        with self._lock:
            code.used = True

    # -- tokens ---------------------------------------------------------------------------------

    def save_token(self, token: IssuedToken) -> None:
        with self._lock:
            self._by_access[token.access_token] = token
            self.record_secret("access_tokens", token.access_token)
            if token.refresh_token:
                self._by_refresh[token.refresh_token] = token
                self.record_secret("refresh_tokens", token.refresh_token)

    def find_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        """The token response that issued this refresh token, unless it was revoked."""
        with self._lock:
            token = self._by_refresh.get(refresh_token)
            if token is None or token.refresh_revoked:
                return None
            return token

    def find_token(self, value: str, hint: str | None) -> IssuedToken | None:
        """Look a token up by its access or refresh value (RFC 7009: the hint is only a hint)."""
        with self._lock:
            if hint == "refresh_token":
                return self._by_refresh.get(value) or self._by_access.get(value)
            return self._by_access.get(value) or self._by_refresh.get(value)

    def revoke_access_token(self, token: IssuedToken) -> None:
        with self._lock:
            token.access_revoked = True
            self._revoked_jtis.add(token.jti)

    def revoke_refresh_token(self, token: IssuedToken) -> None:
        with self._lock:
            token.refresh_revoked = True

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke every access and refresh token descending from one authorization code."""
        with self._lock:
            self._revoke_grant(grant_id)

    def _revoke_grant(self, grant_id: str) -> None:
        for token in self._by_access.values():
            if token.grant_id == grant_id:
                token.access_revoked = token.refresh_revoked = True
                self._revoked_jtis.add(token.jti)

    def is_revoked(self, jti: str) -> bool:
        with self._lock:
            return jti in self._revoked_jtis

    # -- secrets record -------------------------------------------------------------------------

    def record_secret(self, kind: str, value: str) -> None:
        with self._lock:
            self._secrets[kind][value] = None

    def issued_secrets(self) -> IssuedSecrets:
        with self._lock:
            return IssuedSecrets(**{kind: tuple(values) for kind, values in self._secrets.items()})
