"""Sealed documents: what every store writes instead of plain text.

A sealed document is JSON: an authenticated header (format, version, key source, salt, sign-out
generation), a nonce and the AES-GCM ciphertext of the payload. The header is the associated
data, so changing the key source, the salt or the generation breaks decryption, and a document
that is not a sealed token store (another ``format``) is refused. A document sealed before the
store's latest sign-out carries an older generation and is refused as rolled back: restoring an
old copy does not bring a signed-out authorisation back.

Opening a document reads its key source once (:class:`~.key_sources.StoreKey`) and derives its
AES key once; the :class:`Sealer` that :func:`unseal` returns seals the next version of the same
document with that same key and salt (a fresh nonce each time), so an operation that reads and
then writes derives one key, and a rewrite never moves a document to another key source behind
the back of the robots that read it.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigurationError, StoreKeyError
from .key_sources import SOURCES, StoreKey, choose_source, describe_source, read_key

FORMAT = "healthcode-token-cache"
VERSION = 1


class Unreadable(Exception):
    """A sealed document that cannot be opened, and why. Each store turns it into a
    :class:`~healthcode_auth.errors.StoreUnreadableError` that names the store.

    ``source`` is the key source the document names (None when even that is unreadable);
    ``damaged`` is True when no key would help.
    """

    def __init__(
        self, reason: str, *, source: str | None = None, damaged: bool = False, rolled_back: bool = False
    ) -> None:
        self.reason = reason
        self.source = source
        self.damaged = damaged
        self.rolled_back = rolled_back
        super().__init__(reason)


@dataclass(frozen=True)
class Sealer:
    """Seals documents with one key and salt, derived once; ``generation``: the sign-out generation
    of the document it was read from (0: none read)."""

    key: StoreKey
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(16), repr=False)
    aes_key: bytes = field(default=b"", repr=False)
    generation: int = 0

    def __post_init__(self) -> None:
        if not self.aes_key:
            object.__setattr__(self, "aes_key", self.key.derive(self.salt))

    def seal(self, payload: Mapping[str, Any], *, generation: int = 0) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        header = {
            "format": FORMAT,
            "version": VERSION,
            "key_source": self.key.source,
            "salt": _b64(self.salt),
            "generation": generation,
        }
        nonce = secrets.token_bytes(12)
        plaintext = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        ciphertext = AESGCM(self.aes_key).encrypt(nonce, plaintext, _aad(header))
        return json.dumps({**header, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}).encode("utf-8")


def new_sealer(environ: dict[str, str]) -> Sealer:
    """A sealer for a new document: the key source new documents use (created if needed)."""
    return Sealer(read_key(choose_source(environ), environ, create=True))


def unseal(
    raw: bytes, environ: dict[str, str], *, generation: int = 0, sources: tuple[str, ...] = SOURCES
) -> tuple[dict[str, Any], Sealer]:
    """The payload of a sealed document and a sealer for its next version. Raises
    :class:`Unreadable` when it cannot be opened with this run's key, is damaged, names a key
    source outside ``sources``, or was sealed before sign-out number ``generation`` (rolled back)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise Unreadable("it is not a sealed token store (not JSON)", damaged=True) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise Unreadable("it is not a sealed token store", damaged=True)
    if document.get("version") != VERSION:
        raise Unreadable(f"it has an unsupported format version {str(document.get('version'))[:20]!r}", damaged=True)
    try:
        header = {k: document[k] for k in ("format", "version", "key_source", "salt", "generation")}
        salt, nonce, ciphertext = _unb64(header["salt"]), _unb64(document["nonce"]), _unb64(document["ciphertext"])
    except (KeyError, ValueError) as error:
        raise Unreadable(f"its header is damaged ({str(error)[:60]})", damaged=True) from None
    source = header["key_source"]
    if not isinstance(source, str) or source not in sources:
        raise Unreadable("it names no key source this store uses", damaged=True)
    try:
        key = read_key(source, environ)
    except (StoreKeyError, ConfigurationError) as error:
        raise Unreadable(
            f"it was encrypted with {describe_source(source)}, which cannot be used in this run: {_problem(error)}",
            source=source,
        ) from None
    sealer = Sealer(key, salt)
    try:
        plaintext = AESGCM(sealer.aes_key).decrypt(nonce, ciphertext, _aad(header))
    except (InvalidTag, ValueError):
        raise Unreadable(
            f"it was encrypted with {describe_source(source)}, and the key this run has there does "
            "not decrypt it (another key, or the data was altered)",
            source=source,
        ) from None
    if not isinstance(header["generation"], int) or header["generation"] < generation:
        raise Unreadable(
            "it is a copy from before the latest sign-out on this machine, put back", source=source, rolled_back=True
        )
    sealer = replace(sealer, generation=header["generation"])
    try:
        payload = json.loads(plaintext)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        raise Unreadable("its decrypted content is not a token store", source=source, damaged=True)
    return payload, sealer


def _problem(error: Exception) -> str:
    problem = getattr(error, "problem", None)
    return str(problem if isinstance(error, ConfigurationError) else error)


def _aad(header: Mapping[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("damaged header")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeError):
        raise ValueError("damaged base64") from None
