"""Everything one running sandbox shares between its request threads, in one place."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from ..faults import LiveFaults
from ..request_stats import RequestStats
from ..settings import SandboxSettings
from .memory_store import Store
from .models import OAuthClient
from .signing_keys import SigningKeys

MAX_ERROR_PAGES = 100


@dataclass
class SandboxState:
    """The settings, issuer URL and live parts of one sandbox.

    ``token_lock`` serialises /token: a sandbox sees few requests, and one lock makes code
    redemption and refresh-token rotation race-free without per-record locking.
    ``stopping`` is set on shutdown so a delayed /token request stops waiting.
    ``error_pages`` holds what ``/error?id=...`` shows (the ``error_page_redirect`` knob), the
    latest ``MAX_ERROR_PAGES`` only.
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
        return cls(
            settings=settings,
            issuer=issuer,
            store=Store(settings.clients, settings.accounts),
            keys=SigningKeys(),
            faults=LiveFaults(settings.faults),
            stats=RequestStats(),
        )

    def oauth_client(self, client_id: str | None) -> OAuthClient | None:
        """The registration Authlib should see for this client id, or None when unknown.

        Built per request, so whether it may use (and be issued) refresh tokens follows the live
        ``refresh_tokens`` knob.
        """
        registration = self.store.client(client_id) if client_id else None
        if registration is None:
            return None
        return OAuthClient(registration, refresh_tokens=self.faults.current.refresh_tokens)

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
