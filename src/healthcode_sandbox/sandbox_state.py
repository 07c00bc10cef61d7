"""What one running sandbox shares between its request threads: clients, pending sign-ins, codes,
tokens, the record of every secret it issued, its signing keys, its knobs and its counters: plain
dicts behind a lock, as a sandbox serves a handful of requests. The records are duck-typed to
Authlib's AuthorizationCodeMixin and TokenMixin (Authlib checks behaviour, not base classes).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from joserfc.jwk import KeySet, RSAKey

from .settings import Client, LiveFaults, SandboxSettings

ALGORITHM = "RS256"
PENDING_SIGN_IN_LIFETIME = 600.0
MAX_ERROR_PAGES = 100
MAX_API_CALLS = 1000


@dataclass
class AuthorizationCode:
    """An issued authorization code, bound to client, redirect URI, user and PKCE challenge."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    used: bool = False

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class IssuedToken:
    """One token response: the access token (by its ``jti``) and, if any, its refresh token (Authlib's
    TokenMixin as the refresh-token grant and revocation use it).

    ``grant_id`` is shared by every token that descends from one authorization code (through
    refreshes), so revoking the grant or replaying the code can revoke them all.
    """

    access_token: str
    jti: str
    client_id: str
    username: str
    scope: str
    grant_id: str
    refresh_token: str | None = None
    refresh_revoked: bool = False

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def get_scope(self) -> str:
        return self.scope


@dataclass
class PendingSignIn:
    """A validated authorization request waiting for the supervisor, keyed by a random id.

    The page's form carries only ``request_id``; the OAuth parameters stay here, so what the
    supervisor approves is exactly what was validated. ``username`` is set once the password
    step passed and the one-time code is still due. ``browser`` is the sign-in cookie of the
    browser that opened the request: only that browser may answer it (no login CSRF).
    """

    request_id: str
    params: dict[str, str]
    expires_at: float
    browser: str = field(default="", repr=False)
    username: str | None = None
    otp_failures: int = 0


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

    @staticmethod
    def kinds() -> list[str]:
        return [item.name for item in fields(IssuedSecrets)]

    @property
    def all(self) -> tuple[str, ...]:
        kinds = [getattr(self, kind) for kind in self.kinds() if kind != "passwords"]
        return tuple(dict.fromkeys(value for values in kinds for value in values))

    def as_dict(self) -> dict[str, list[str]]:
        """The JSON shape of ``GET /_sandbox/issued-secrets``."""
        return {**{kind: list(getattr(self, kind)) for kind in self.kinds()}, "all": list(self.all)}


class Store:
    """Registered clients, pending sign-ins, codes and tokens, and the record of secrets."""

    def __init__(self, clients: Iterable[Client], passwords: Iterable[str]) -> None:
        self.lock = threading.RLock()
        self._clients: dict[str, Client] = {}
        self._pending: dict[str, PendingSignIn] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._by_access: dict[str, IssuedToken] = {}
        self._by_refresh: dict[str, IssuedToken] = {}
        self._revoked_jtis: set[str] = set()
        self._secrets: dict[str, dict[str, None]] = {kind: {} for kind in IssuedSecrets.kinds()}
        for client in clients:
            self.add_client(client)
        for password in passwords:
            self.record_secret("passwords", password)

    def add_client(self, client: Client) -> None:
        """Register (or replace) a client."""
        with self.lock:
            self._clients[client.client_id] = client
            if client.client_secret is not None:
                self.record_secret("client_secrets", client.client_secret)

    def client(self, client_id: str) -> Client | None:
        return self._clients.get(client_id)

    def open_sign_in(self, params: dict[str, str], browser: str) -> PendingSignIn:
        """Keep a validated authorization request until the supervisor answers (10 minutes); only
        the browser with the sign-in cookie ``browser`` may answer it."""
        now = time.time()
        pending = PendingSignIn(secrets.token_urlsafe(24), dict(params), now + PENDING_SIGN_IN_LIFETIME, browser)
        with self.lock:
            for request_id in [k for k, p in self._pending.items() if p.expires_at <= now]:
                del self._pending[request_id]
            self._pending[pending.request_id] = pending
        return pending

    def sign_in(self, request_id: str) -> PendingSignIn | None:
        """The pending sign-in, or None when unknown, finished or expired."""
        pending = self._pending.get(request_id)
        return pending if pending is not None and pending.expires_at > time.time() else None

    def close_sign_in(self, request_id: str) -> bool:
        """Finish a sign-in so its form cannot be submitted twice; False if it was already gone."""
        with self.lock:
            return self._pending.pop(request_id, None) is not None

    def save_code(self, code: AuthorizationCode) -> None:
        with self.lock:
            self._codes[code.code] = code
            self.record_secret("authorization_codes", code.code)

    def find_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The code if it is live and was issued to ``client_id``, else None.

        A code presented again after it was used makes the sandbox revoke the tokens issued from
        it, as RFC 6749 4.1.2 asks: the second presenter may be an attacker.
        """
        with self.lock:
            record = self._codes.get(code)
            if record is None or record.client_id != client_id:
                return None
            if record.used:
                self.revoke_grant(code)
                return None
            return record if time.time() < record.expires_at else None

    def save_token(self, token: IssuedToken) -> None:
        with self.lock:
            self._by_access[token.access_token] = token
            self.record_secret("access_tokens", token.access_token)
            if token.refresh_token:
                self._by_refresh[token.refresh_token] = token
                self.record_secret("refresh_tokens", token.refresh_token)

    def find_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        """The token response that issued this refresh token, unless it was revoked."""
        token = self._by_refresh.get(refresh_token)
        return token if token is not None and not token.refresh_revoked else None

    def find_token(self, value: str, hint: str | None) -> IssuedToken | None:
        """Look a token up by its access or refresh value (RFC 7009: the hint is only a hint)."""
        with self.lock:
            if hint == "refresh_token":
                return self._by_refresh.get(value) or self._by_access.get(value)
            return self._by_access.get(value) or self._by_refresh.get(value)

    def revoke_access_token(self, token: IssuedToken) -> None:
        self._revoked_jtis.add(token.jti)

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke every access and refresh token descending from one authorization code."""
        with self.lock:
            for token in self._by_access.values():
                if token.grant_id == grant_id:
                    token.refresh_revoked = True
                    self._revoked_jtis.add(token.jti)

    def is_revoked(self, jti: str) -> bool:
        return jti in self._revoked_jtis

    def record_secret(self, kind: str, value: str) -> None:
        with self.lock:
            self._secrets[kind][value] = None

    def issued_secrets(self) -> IssuedSecrets:
        with self.lock:
            return IssuedSecrets(**{kind: tuple(values) for kind, values in self._secrets.items()})


@dataclass(frozen=True)
class ApiCall:
    """One API call as the sandbox saw it (docs/sandbox.md, The record of API calls, has the fields):
    which headers came, never the token, the query or the body."""

    method: str
    endpoint: str
    path: str
    status: int
    site_id: str | None
    api_version: str | None
    bearer: bool
    content_type: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``GET /_sandbox/api-calls``."""
        return asdict(self)


class RequestStats:
    """Counts per endpoint name (``discovery``, ``token.refresh_token``...), so tests can assert
    "exactly one refresh request", and the latest API calls (at most :data:`MAX_API_CALLS`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._api_calls: deque[ApiCall] = deque(maxlen=MAX_API_CALLS)

    def count(self, *names: str) -> None:
        """Add one request to each name (e.g. ``token`` and ``token.authorization_code``)."""
        with self._lock:
            self._counts.update(names)

    def snapshot(self) -> dict[str, int]:
        """The counts so far, sorted by name; endpoints never called are absent (read them as 0)."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def record_api_call(self, call: ApiCall) -> None:
        with self._lock:
            self._api_calls.append(call)

    def api_calls(self, endpoint: str | None = None) -> list[ApiCall]:
        """The API calls so far, oldest first; ``endpoint`` keeps that API's only."""
        with self._lock:
            return [call for call in self._api_calls if endpoint is None or call.endpoint == endpoint]

    def reset(self) -> None:
        """Forget every count and every recorded API call."""
        with self._lock:
            self._counts.clear()
            self._api_calls.clear()


def _generate_key() -> RSAKey:
    key: RSAKey = RSAKey.generate_key(2048, parameters={"alg": ALGORITHM, "use": "sig"}, auto_kid=True)
    return key


class _SpareKey:
    """An RSA key made ahead of need: one takes 20-300 ms, OpenSSL releases the GIL meanwhile, and
    test suites start a sandbox per test. Each key is still used by one sandbox only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._maker = ThreadPoolExecutor(1, thread_name_prefix="healthcode-sandbox-keys")
        self._next: Future[RSAKey] | None = None

    def take(self) -> RSAKey:
        with self._lock:
            key = self._next.result() if self._next is not None else _generate_key()
            self._next = self._maker.submit(_generate_key)
        return key


_spare_key = _SpareKey()


class SigningKeys:
    """The current RS256 key (``kid``: its RFC 7638 thumbprint) plus the retired keys still published.

    Keys are made at start and never written to disk: a restarted sandbox has new keys, which is
    exactly what a client's "the SSO rotated its keys" path needs to cope with.
    """

    def __init__(self) -> None:
        self._keys: tuple[RSAKey, ...] = (_spare_key.take(),)  # current first; replaced whole, never changed

    @property
    def current_kid(self) -> str:
        """The ``kid`` that new access tokens carry."""
        return str(self._keys[0].kid)

    def rotate(self, keep_old: bool = True) -> str:
        """Sign with a new key from now on and return its ``kid``. With ``keep_old`` the previous keys
        stay in the JWKS, so tokens already issued still verify (a real provider's rollover)."""
        new_key = _spare_key.take()
        self._keys = (new_key, *self._keys) if keep_old else (new_key,)
        return str(new_key.kid)

    def signing_keyset(self) -> KeySet:
        """Only the current private key: joserfc signs with it and sets ``kid``."""
        return KeySet([self._keys[0]])

    def verification_keyset(self) -> KeySet:
        """The published keys, for checking tokens the way a resource server would."""
        return KeySet(list(self._keys))

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS document: public members only (never ``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``)."""
        return dict(self.verification_keyset().as_dict(private=False))


@dataclass
class SandboxState:
    """The settings, issuer URL and live parts of one sandbox.

    ``token_lock`` serialises /token and /revoke: one lock makes code redemption and refresh-token
    rotation race-free without per-record locking. ``stopping`` is set on shutdown so a delayed
    request stops waiting. ``error_pages`` holds what ``/error?id=...`` shows (the
    ``error_page_redirect`` knob), the latest :data:`MAX_ERROR_PAGES` only.
    """

    settings: SandboxSettings
    issuer: str
    store: Store
    keys: SigningKeys
    faults: LiveFaults
    stats: RequestStats
    token_lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    error_pages: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: SandboxSettings, issuer: str) -> SandboxState:
        store = Store(settings.clients, [account.password for account in settings.accounts])
        return cls(settings, issuer, store, SigningKeys(), LiveFaults(settings.faults), RequestStats())

    def keep_error_page(self, error: str, description: str) -> str:
        """Keep an error for ``/error`` to show; returns its id."""
        page_id = secrets.token_urlsafe(12)
        with self.token_lock:
            self.error_pages[page_id] = (error, description)
            while len(self.error_pages) > MAX_ERROR_PAGES:
                del self.error_pages[next(iter(self.error_pages))]
        return page_id

    def endpoint(self, path: str) -> str:
        """An absolute URL of this sandbox (``path`` starts with '/')."""
        return self.issuer + path
