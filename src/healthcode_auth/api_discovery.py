"""The API discovery document of one robot: fetched through the transport (the SSO's deadline,
trust store, proxy and size bounds), kept in memory for the run and in the token store beside the
token, and fetched again when Healthcode says an API moved (a 404, a 301 or 302) or on demand.

The document names every API and, through them, the only hosts that may receive the token and the
site id (``protocol/api_document.py``). A robot that finds it stored beside a valid token makes no
request for it; a stored document is kept only beside the token it was stored with, so a new
sign-in's entry carries whatever this run knows.

No lock is held while the document is fetched: a fetch that hangs or a client closed under it cannot
hold up other threads, and a process forked meanwhile inherits no lock held for ever. Threads that
need the document at the same moment may each fetch it; the last one fetched is kept.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import ApiDiscoveryError, HealthcodeAuthError, StoreError
from .protocol.api_document import ApiDocument, describe_problems, parse_api_document, shown_url
from .storage.store import TokenStore

if TYPE_CHECKING:  # the transport (and the HTTP stack) is loaded when a document is fetched, not for a stored one
    from .transport import HttpTransport

log = logging.getLogger("healthcode_auth")
MAX_STORED_CHARS = 64_000  # a larger document is kept for the run only: the store entry stays small
REFETCH_INTERVAL = 60.0  # an unknown host triggers a refetch at most this often
STORE_WAIT = 2.0  # how long keeping the document beside the token may wait for another robot's renewal
UAT_NOTE = (
    "UAT's address is not confirmed by Healthcode's pages (api.uat.healthcode.co.uk is inferred from the "
    "SSO's); ask your Healthcode contact for it and set api_discovery (HEALTHCODE_API_DISCOVERY)."
)


def fetch_api_document(url: str, transport: HttpTransport, remaining: float | None = None) -> ApiDocument:
    """GET and validate the API discovery document at ``url`` (within ``remaining`` seconds when
    given, else the timeout setting); one warning for endpoints left out."""
    from .transport import API_DISCOVERY_PEER

    response = transport.get(
        url, "API discovery document", accept="application/json", remaining=remaining, peer=API_DISCOVERY_PEER
    )
    if response.status_code != 200:
        note = f" {UAT_NOTE}" if "api.uat.healthcode.co.uk" in url else ""
        raise ApiDiscoveryError(
            f"The API discovery document at {shown_url(url)} answered HTTP "
            f"{response.status_code}. Check the api_discovery setting (HEALTHCODE_API_DISCOVERY) "
            f"or the environment it is derived from.{note}"
        )
    document = parse_api_document(response.json(), url)
    warning = describe_problems(document)
    if warning:
        log.warning("%s", warning)
    log.info("The API discovery document at %s names %d API endpoint(s).", shown_url(url), len(document.urls))
    return document


class ApiDiscovery:
    """One session's API discovery document: in memory, offered from the store, or fetched."""

    def __init__(self, url: str, transport: Callable[[], HttpTransport]) -> None:
        self.url = url
        self._transport = transport
        self._lock = threading.Lock()
        self._document: ApiDocument | None = None
        self._fetched_at: float | None = None  # monotonic; None: not fetched by this run

    @property
    def known(self) -> ApiDocument | None:
        """The document this run holds (None: none yet)."""
        return self._document

    def offer(self, document: Mapping[str, Any], source: str | None) -> None:
        """A document kept beside a stored token: used when this run holds none and it was fetched from
        the same URL (a stale or damaged one is skipped; it is then fetched)."""
        if self._document is not None or not document or (source or self.url) != self.url:
            return
        try:
            parsed = parse_api_document(document, self.url)
        except HealthcodeAuthError:
            return
        with self._lock:
            if self._document is None:
                self._document = parsed

    def document(self, *, refresh: bool = False, remaining: float | None = None) -> tuple[ApiDocument, bool]:
        """The document, and whether it was fetched just now (for the caller to keep beside the token).
        ``remaining`` bounds the fetch (an API call's deadline)."""
        with self._lock:
            if self._document is not None and not refresh:
                return self._document, False
        document = fetch_api_document(self.url, self._transport(), remaining)  # no lock held: see above
        with self._lock:
            self._document, self._fetched_at = document, time.monotonic()
        return document, True

    def may_refetch(self) -> bool:
        """True when the document was not fetched in the last :data:`REFETCH_INTERVAL` seconds."""
        return self._fetched_at is None or time.monotonic() - self._fetched_at >= REFETCH_INTERVAL

    def stored_form(self) -> tuple[dict[str, Any], str | None]:
        """What an entry of the store keeps of the document: nothing when it is unknown or large."""
        document = self._document
        if document is None or len(json.dumps(document.to_dict(), default=str)) > MAX_STORED_CHARS:
            return {}, None
        return document.to_dict(), document.source


def keep_beside_token(store: TokenStore, key: str, discovery: ApiDiscovery) -> bool:
    """Add the document to the stored entry of ``key``, at the version read, under the renewal lock
    (never over a renewal in progress, never creating an entry, never onto one whose renewal the SSO
    refused or that is not verified). True when the entry holds it now; a store that is busy or
    failing is told at INFO and left as it was: the document is then kept for this run only."""
    document, source = discovery.stored_form()
    if not document:
        return False
    try:
        with store.bounded(time.monotonic() + STORE_WAIT), store.renewal_lock(key):
            stored = store.load(key)
            if stored is None or stored.refused_at is not None or not stored.entry.verified:
                return False
            entry = stored.entry
            if entry.api_discovery == document and entry.api_discovery_source == source:
                return True
            kept = dataclasses.replace(entry, api_discovery=document, api_discovery_source=source)
            return store.store(kept, stored.version) is not None
    except StoreError as error:
        log.info("The API discovery document is kept for this run only: %s", error)
        return False
