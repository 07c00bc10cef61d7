"""Where the token cache's encryption key comes from.

In order: ``HEALTHCODE_CACHE_KEY`` (a passphrase of at least 16 characters, stretched with scrypt),
the operating system's keyring where a usable backend exists (Windows Credential Manager, macOS
Keychain, Secret Service), else a generated key file kept apart from the cache, mode 0600.
The cache file records which source encrypted it, so a later run asks that source only (and
never imports keyring when a key file was used) and can say exactly what is missing.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
from pathlib import Path

from ..errors import ConfigurationError, StoreKeyError
from .private_files import write_atomically

ENV_KEY = "HEALTHCODE_CACHE_KEY"
MIN_PASSPHRASE = 16
KEYRING_SERVICE = "robotframework-healthcode"
KEYRING_USERNAME = "token-cache-key"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def key_file_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("robotframework-healthcode", appauthor=False)) / "cache.key"


def choose_source(environ: dict[str, str] | None = None) -> str:
    """The source new cache files are encrypted with: ``env``, ``keyring`` or ``file``."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get(ENV_KEY):
        return "env"
    return "keyring" if keyring_usable() else "file"


def key_for(source: str, salt: bytes, environ: dict[str, str] | None = None, create: bool = False) -> bytes:
    """The 32-byte AES key for ``source``; ``create`` makes a keyring entry or key file if missing."""
    environ = dict(os.environ) if environ is None else environ
    if source == "env":
        passphrase = environ.get(ENV_KEY, "")
        if not passphrase:
            raise StoreKeyError(f"The token cache was encrypted with {ENV_KEY}, which is not set in this run. "
                                f"Set {ENV_KEY} as when the supervisor signed in, or sign in again.")
        if len(passphrase) < MIN_PASSPHRASE:
            raise ConfigurationError(ENV_KEY, f"give a passphrase or key of at least {MIN_PASSPHRASE} characters")
        return _stretch(passphrase, salt)
    if source == "keyring":
        return _decode(_keyring_secret(create), "the keyring entry")
    if source == "file":
        return _decode(_key_file_secret(create), str(key_file_path()))
    raise StoreKeyError(f"The token cache names an unknown key source '{source[:20]}'. Delete it and sign in again.")


@functools.lru_cache(maxsize=8)
def _stretch(passphrase: str, salt: bytes) -> bytes:
    # scrypt once per process and salt: it is slow on purpose, the cache is read often.
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode("utf-8"))


def keyring_usable() -> bool:
    """True when the keyring package has a real backend (not the fail or null backend)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return False
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration means: do not use it
        return False
    name = type(backend).__module__ + "." + type(backend).__name__
    if isinstance(backend, fail.Keyring) or "null" in name.lower():
        return False
    backends = getattr(backend, "backends", None)  # the chainer: usable if it chains anything
    return backends is None or bool(backends)


def _keyring_secret(create: bool) -> str:
    import keyring

    try:
        value = keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
        if value is None and create:
            value = _new_key()
            keyring.set_password(KEYRING_SERVICE, KEYRING_USERNAME, value)
    except Exception as error:  # keyring backends raise their own types
        raise StoreKeyError(f"The operating system's keyring could not be used ({type(error).__name__}). "
                            f"Set {ENV_KEY} instead, or unlock the keyring, then try again.") from None
    if value is None:
        raise StoreKeyError("The token cache's key is no longer in the operating system's keyring. "
                            "A supervisor must sign in again.")
    return value


def _key_file_secret(create: bool) -> str:
    path = key_file_path()
    if path.exists():
        _check_private(path)
        return path.read_text(encoding="ascii").strip()
    if not create:
        raise StoreKeyError(f"The token cache's key file {path} is missing. A supervisor must sign in again.")
    value = _new_key()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(path, value.encode("ascii"), exclusive=True)
    return path.read_text(encoding="ascii").strip()  # another process may have won the race


def _check_private(path: Path) -> None:
    """A key file anyone else can read, or that another user owns, does not protect the cache."""
    if os.name != "posix":
        return
    status = path.stat()
    if status.st_uid != os.geteuid():
        raise StoreKeyError(f"The token cache key file {path} belongs to another user. Run the robots as the user "
                            "who signed in, or delete the file and sign in again.")
    if status.st_mode & 0o077:
        raise StoreKeyError(f"The token cache key file {path} can be read by other users. Run "
                            f"'chmod 600 {path}' and sign in again (the token may have been exposed).")


def _new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _decode(value: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value.encode("ascii"))
    except (ValueError, UnicodeError):
        key = b""
    if len(key) != 32:
        raise StoreKeyError(f"The token cache key in {where} is damaged. Remove it and sign in again.")
    return key
