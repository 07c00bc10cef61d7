"""Sealed documents: what every store writes instead of plain text.

A sealed document is JSON: an authenticated header (format, version, key source, salt, sign-out
generation), a nonce and the AES-GCM ciphertext of the payload. The header is the associated
data, so changing the key source, the salt or the generation breaks decryption, and a document
that is not a sealed token store (another ``format``) is refused. A document sealed before the
store's latest sign-out carries an older generation and is refused (:class:`RolledBackError`):
restoring an old copy does not bring a signed-out authorisation back. Keys come from
:mod:`key_sources`.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import Any

from .key_sources import choose_source, key_for

FORMAT = "healthcode-token-cache"
VERSION = 1


class RolledBackError(ValueError):
    """The document was sealed before the store's latest sign-out: an old copy put back."""


class UndecryptableError(ValueError):
    """The document is well formed but does not decrypt: another key sealed it, or it was altered."""


def seal(payload: Mapping[str, Any], environ: dict[str, str], *, generation: int = 0) -> bytes:
    """Encrypt ``payload`` with the key new documents use (creating it if needed)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    source = choose_source(environ)
    salt = secrets.token_bytes(16)
    header = {"format": FORMAT, "version": VERSION, "key_source": source, "salt": _b64(salt), "generation": generation}
    nonce = secrets.token_bytes(12)
    key = key_for(source, salt, environ, create=True)
    plaintext = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _aad(header))
    return json.dumps({**header, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}).encode("utf-8")


def unseal(raw: bytes, environ: dict[str, str], *, generation: int = 0) -> dict[str, Any]:
    """Decrypt a sealed document; ValueError (or StoreKeyError) when it cannot be trusted, and
    RolledBackError when it was sealed before sign-out number ``generation``."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    document = json.loads(raw)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError("not a Healthcode token cache")
    if document.get("version") != VERSION:
        raise ValueError(f"unsupported version {document.get('version')!r}")
    header = {k: document[k] for k in ("format", "version", "key_source", "salt", "generation")}
    key = key_for(str(header["key_source"]), _unb64(header["salt"]), environ)
    try:
        plaintext = AESGCM(key).decrypt(_unb64(document["nonce"]), _unb64(document["ciphertext"]), _aad(header))
    except InvalidTag:
        raise UndecryptableError("it was encrypted with another key, or altered") from None
    if not isinstance(header["generation"], int) or header["generation"] < generation:
        raise RolledBackError("it is a copy from before the latest sign-out on this machine, put back")
    payload = json.loads(plaintext)
    if not isinstance(payload, dict):
        raise ValueError("not a sealed object")
    return payload


def _aad(header: Mapping[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("damaged header")
    return base64.b64decode(text.encode("ascii"), validate=True)
