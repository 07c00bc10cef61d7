"""An encrypted, crash-safe token cache shared by every robot of one user on one machine.

A supervisor signs in once; scheduled and parallel robots then read the token from here with no
browser and no network. The file is AES-GCM encrypted (key: see :mod:`cache_key`), mode 0600,
replaced atomically, and read-refresh-write happens under a cross-process lock, so N robots that
find the token near expiry make one refresh request between them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache_key import CacheKeyError, choose_source, key_for
from .errors import HealthcodeAuthError
from .files import write_atomically
from .tokens import Token

FORMAT = "healthcode-token-cache"
VERSION = 1
LOCK_TIMEOUT = 120.0
MAX_CACHE_BYTES = 4_000_000  # a few hundred entries; anything larger is not ours
# Claims safe to keep in the clear inside the (encrypted) entry and to show in `status`.
DISPLAY_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "client_id", "scope", "name")
log = logging.getLogger("healthcode_auth")


class CacheLockTimeout(HealthcodeAuthError):
    """Another robot held the token cache's lock for too long."""


@dataclass(frozen=True)
class CachedAuthorisation:
    """One client's authorisation as stored: the token and what a browserless run needs with it."""

    discovery_url: str
    client_id: str
    token: Token
    issuer: str = ""
    claims: Mapping[str, Any] = field(default_factory=dict)
    discovery: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return cache_key(self.discovery_url, self.client_id)

    @property
    def subject(self) -> str | None:
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) else None

    def to_dict(self) -> dict[str, Any]:
        token = self.token
        return {
            "discovery_url": self.discovery_url, "client_id": self.client_id, "issuer": self.issuer,
            "claims": {k: v for k, v in self.claims.items() if k in DISPLAY_CLAIMS},
            "discovery": dict(self.discovery),
            "token": {"access_token": token.access_token, "token_type": token.token_type,
                      "expires_at": token.expires_at, "refresh_token": token.refresh_token,
                      "scope": token.scope, "issued_at": token.issued_at},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CachedAuthorisation:
        token = data["token"]
        return cls(
            discovery_url=str(data["discovery_url"]), client_id=str(data["client_id"]),
            issuer=str(data.get("issuer", "")), claims=dict(data.get("claims") or {}),
            discovery=dict(data.get("discovery") or {}),
            token=Token(access_token=str(token["access_token"]), token_type=str(token.get("token_type", "Bearer")),
                        expires_at=_optional_float(token.get("expires_at")),
                        refresh_token=token.get("refresh_token") or None, scope=token.get("scope"),
                        issued_at=float(token.get("issued_at") or 0.0)),
        )


def cache_key(discovery_url: str, client_id: str) -> str:
    """Entries are per SSO (its discovery URL names exactly one issuer) and client id."""
    return f"{discovery_url}#{client_id}"


def default_cache_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("robotframework-healthcode", appauthor=False)) / "tokens.json"


class TokenCache:
    """The cache file at ``path``. Methods that write expect the caller to hold :meth:`locked`."""

    def __init__(self, path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> None:
        self.path = Path(path).expanduser()
        self._environ = dict(os.environ if environ is None else environ)
        self._memory_lock = threading.Lock()
        self._snapshot: tuple[tuple[int, int], dict[str, Any]] | None = None
        self._file_lock: Any = None

    def __repr__(self) -> str:
        return f"TokenCache({str(self.path)!r})"

    @contextlib.contextmanager
    def locked(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Hold the cross-process lock (a ``.lock`` file beside the cache) for read-refresh-write.

        Re-entrant within a thread: one lock object per cache, which counts nested acquisitions.
        """
        from filelock import FileLock, Timeout

        with self._memory_lock:
            if self._file_lock is None:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._file_lock = FileLock(str(self.path) + ".lock", mode=0o600)
        lock = self._file_lock
        try:
            with lock.acquire(timeout=timeout):
                yield
        except Timeout:
            raise CacheLockTimeout(f"Another robot held the token cache lock {lock.lock_file} for over "
                                   f"{timeout:g} seconds. If no robot is running, delete that file.") from None

    def load(self, key: str) -> CachedAuthorisation | None:
        """The entry for ``key``, or None; a damaged entry counts as missing (with a warning)."""
        data = self._read().get(key)
        if data is None:
            return None
        try:
            return CachedAuthorisation.from_dict(data)
        except (KeyError, TypeError, ValueError):
            log.warning("Ignoring a damaged entry in the Healthcode token cache %s.", self.path)
            return None

    def entries(self) -> list[CachedAuthorisation]:
        return [entry for key in sorted(self._read()) if (entry := self.load(key)) is not None]

    def store(self, entry: CachedAuthorisation) -> None:
        entries = self._read()
        entries[entry.key] = entry.to_dict()
        self._write(entries)

    def remove(self, key: str) -> bool:
        entries = self._read()
        if key not in entries:
            return False
        del entries[key]
        self._write(entries)
        return True

    def _read(self) -> dict[str, Any]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        version = (stat.st_mtime_ns, stat.st_size)
        if stat.st_size > MAX_CACHE_BYTES:
            log.warning("The Healthcode token cache %s is %d bytes, too large to be a token cache, and is "
                        "treated as empty.", self.path, stat.st_size)
            return {}
        with self._memory_lock:
            if self._snapshot is not None and self._snapshot[0] == version:
                return dict(self._snapshot[1])  # unchanged since last read: no decryption
        try:
            entries = self._decrypt(self.path.read_bytes())
        except CacheKeyError as error:
            log.warning("The Healthcode token cache %s is treated as empty: %s", self.path, error)
            return {}
        except (ValueError, KeyError, TypeError, UnicodeError, RecursionError, OSError) as error:
            log.warning("The Healthcode token cache %s cannot be read (%s) and is treated as empty; "
                        "a supervisor may need to sign in again.", self.path, error)
            return {}
        with self._memory_lock:
            self._snapshot = (version, entries)
        return dict(entries)

    def _write(self, entries: dict[str, Any]) -> None:
        source = choose_source(self._environ)
        salt = secrets.token_bytes(16)
        header = {"format": FORMAT, "version": VERSION, "key_source": source, "salt": _b64(salt)}
        nonce = secrets.token_bytes(12)
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key = key_for(source, salt, self._environ, create=True)
        plaintext = json.dumps({"entries": entries}, separators=(",", ":")).encode("utf-8")
        ciphertext = AESGCM(key).encrypt(nonce, plaintext, _aad(header))
        document = {**header, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}
        write_atomically(self.path, json.dumps(document).encode("utf-8"))
        with self._memory_lock:
            self._snapshot = None

    def _decrypt(self, raw: bytes) -> dict[str, Any]:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        document = json.loads(raw)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError("not a Healthcode token cache")
        if document.get("version") != VERSION:
            raise ValueError(f"unsupported version {document.get('version')!r}")
        header = {k: document[k] for k in ("format", "version", "key_source", "salt")}
        key = key_for(str(header["key_source"]), _unb64(header["salt"]), self._environ)
        try:
            plaintext = AESGCM(key).decrypt(_unb64(document["nonce"]), _unb64(document["ciphertext"]),
                                            _aad(header))
        except InvalidTag:
            raise ValueError("it was encrypted with another key, or altered") from None
        entries = json.loads(plaintext)["entries"]
        if not isinstance(entries, dict):
            raise ValueError("no entries")
        return entries


def _aad(header: Mapping[str, Any]) -> bytes:
    # The header is authenticated too: changing the key source or salt breaks decryption.
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("damaged header")
    return base64.b64decode(text.encode("ascii"), validate=True)


def _optional_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("bad expiry")
    return float(value)
