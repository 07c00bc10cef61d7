"""The RS256 signing keys: one current key signs, the published JWKS may also keep retired ones.

Keys are generated at start and never written to disk: a restarted sandbox has new keys, which is
exactly what a client's "the SSO rotated its keys" path needs to cope with.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from joserfc.jwk import KeySet, RSAKey

ALGORITHM = "RS256"
KEY_SIZE = 2048


def generate_signing_key() -> RSAKey:
    """A fresh RSA key with ``kid`` (its RFC 7638 thumbprint), ``alg`` and ``use`` set."""
    key: RSAKey = RSAKey.generate_key(KEY_SIZE, parameters={"alg": ALGORITHM, "use": "sig"}, auto_kid=True)
    return key


class SpareKeys:
    """Keys generated ahead of need, in a background thread.

    Generating an RSA key takes 20-300 ms and test suites start a sandbox per test; OpenSSL
    releases the GIL while it works, so spares made while tests run make starts and rotations
    cheap. Each key is still used by one sandbox only.
    """

    def __init__(self, size: int = 2) -> None:
        self._size = size
        self._keys: queue.Queue[RSAKey] = queue.Queue()
        self._lock = threading.Lock()
        self._filling = False

    def take(self) -> RSAKey:
        try:
            key = self._keys.get_nowait()
        except queue.Empty:
            key = generate_signing_key()
        self._refill()
        return key

    def _refill(self) -> None:
        with self._lock:
            if self._filling:
                return
            self._filling = True
        threading.Thread(target=self._fill, name="healthcode-sandbox-keys", daemon=True).start()

    def _fill(self) -> None:
        try:
            while self._keys.qsize() < self._size:
                self._keys.put(generate_signing_key())
        finally:
            with self._lock:
                self._filling = False


_spares = SpareKeys()


class SigningKeys:
    """The current signing key plus the retired keys still published for verification."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current = _spares.take()
        self._retired: list[RSAKey] = []

    @property
    def current_kid(self) -> str:
        """The ``kid`` that new access tokens carry."""
        with self._lock:
            return str(self._current.kid)

    @property
    def kids(self) -> list[str]:
        """Every published ``kid``, current first."""
        with self._lock:
            return [str(key.kid) for key in [self._current, *self._retired]]

    def rotate(self, keep_old: bool = True) -> str:
        """Start signing with a new key and return its ``kid``.

        With ``keep_old`` the previous keys stay in the JWKS, so tokens already issued still verify
        (what a real provider does during a rollover); without it they stop verifying at once.
        """
        new_key = _spares.take()
        with self._lock:
            self._retired = [self._current, *self._retired] if keep_old else []
            self._current = new_key
            return str(new_key.kid)

    def signing_keyset(self) -> KeySet:
        """A key set holding only the current private key: joserfc signs with it and sets ``kid``."""
        with self._lock:
            return KeySet([self._current])

    def verification_keyset(self) -> KeySet:
        """The published keys, for checking tokens the way a resource server would."""
        with self._lock:
            return KeySet([self._current, *self._retired])

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS document: public members only (never ``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``)."""
        return dict(self.verification_keyset().as_dict(private=False))
