"""Where the token cache's encryption key comes from.

In order: ``HEALTHCODE_CACHE_KEY`` (a random key from ``healthcode-auth key new``, used as it is,
or a passphrase of at least 16 characters, stretched with scrypt), the operating system's keyring
where a usable backend exists (Windows Credential Manager, macOS Keychain, Secret Service), else a
generated key file kept apart from the cache, mode 0600. A networked store (Redis) needs
``HEALTHCODE_CACHE_KEY``: it is the one key every machine of a fleet shares.
The cache file records which source encrypted it, so a later run asks that source only (and
never imports keyring when a key file was used) and can say exactly what is missing.

A :class:`StoreKey` is one source's key, read once per store operation: deriving the AES key for a
document (:meth:`StoreKey.derive`) and the supervision record's MAC key (:meth:`StoreKey.record_key`)
happen from it, never by reading the source again.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigurationError, FileInUseError, StoreError, StoreKeyError, first_line
from .private_files import read_private_file, write_atomically

log = logging.getLogger("healthcode_auth")
ENV_KEY = "HEALTHCODE_CACHE_KEY"
# A random key ``healthcode-auth key new`` prints: recognisable, and used directly (no stretching).
RANDOM_KEY_PREFIX = "hck1_"
MIN_PASSPHRASE = 16
APP_NAME = "robotframework-healthcode"  # the per-user folders' name, as platformdirs is given it
KEYRING_SERVICE = "robotframework-healthcode"
KEYRING_USERNAME = "token-cache-key"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# The supervision record's MAC key is derived from the store's key with this fixed salt and label,
# so every machine holding the key derives the same one, and nobody without it can.
RECORD_SALT = b"healthcode-supervision-record"
RECORD_LABEL = b"robotframework-healthcode supervision record v1"
SOURCES = ("env", "keyring", "file")
_XDG = {
    "config": ("XDG_CONFIG_HOME", ".config"),
    "data": ("XDG_DATA_HOME", ".local/share"),
    "cache": ("XDG_CACHE_HOME", ".cache"),
}


@dataclass(frozen=True)
class StoreKey:
    """One key source's secret, read once: the AES keys of documents and the record's MAC key come
    from it. ``secret`` is 32 key bytes, or a passphrase (stretched with scrypt per salt)."""

    source: str
    secret: bytes | str = field(repr=False)

    def derive(self, salt: bytes) -> bytes:
        """The 32-byte AES key of a document sealed with ``salt``."""
        return _stretch(self.secret, salt) if isinstance(self.secret, str) else self.secret

    def record_key(self) -> bytes:
        """The key that authenticates supervision-record events written with this key."""
        return hmac.new(self.derive(RECORD_SALT), RECORD_LABEL, hashlib.sha256).digest()

    @property
    def description(self) -> str:
        return describe_source(self.source)


def describe_source(source: str) -> str:
    """A key source as people know it: the variable, the keyring, or the key file's path."""
    if source == "env":
        return ENV_KEY
    if source == "keyring":
        return "the operating system's keyring"
    if source == "file":
        return f"the key file {key_file_path()}"
    return f"an unknown key source '{source[:20]}'"


def key_file_path() -> Path:
    return user_folder("config") / "cache.key"


def user_folder(kind: str) -> Path:
    """This user's ``config``, ``data`` or ``cache`` folder of the library, as platformdirs gives it.

    A robot that reads a cached token needs this path (the sign-out record is in the config folder)
    and nothing else of platformdirs, so on Linux, where platformdirs follows the XDG rules, it is
    computed here by those rules, without importing platformdirs: an absolute ``XDG_CONFIG_HOME``
    (``XDG_DATA_HOME``, ``XDG_CACHE_HOME``), else ``~/.config`` (``~/.local/share``, ``~/.cache``)
    of an absolute ``HOME``. Anything else
    (a relative variable, no ``HOME``; Windows, which asks the OS for its known folders; macOS,
    whose folders changed between platformdirs versions; Android), and whenever platformdirs is
    loaded anyway (a program may have set it up), platformdirs answers."""
    variable, default = _XDG[kind]
    if sys.platform == "linux" and "platformdirs" not in sys.modules and not _android():
        base, home = os.environ.get(variable, ""), os.environ.get("HOME", "")
        if os.path.isabs(base):
            return Path(base) / APP_NAME
        if not base.strip() and os.path.isabs(home):
            return Path(os.path.expanduser(f"~/{default}")) / APP_NAME  # as platformdirs: HOME=// is /
    import platformdirs

    found = {
        "config": platformdirs.user_config_dir,
        "data": platformdirs.user_data_dir,
        "cache": platformdirs.user_cache_dir,
    }[kind]
    return Path(found(APP_NAME, appauthor=False))


def _android() -> bool:
    return hasattr(sys, "getandroidapilevel") or "ANDROID_DATA" in os.environ


def choose_source(environ: dict[str, str] | None = None) -> str:
    """The source new cache files are encrypted with: ``env``, else ``keyring`` when the OS keyring
    works in this session (a real round trip, :func:`keyring_works`), else ``file``."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get(ENV_KEY):
        return "env"
    return "keyring" if keyring_usable() and keyring_works() else "file"


def ensure_key(environ: dict[str, str]) -> StoreKey:
    """The key new documents are sealed with, at hand (created if needed). Called before a code or
    refresh token is redeemed, so that a key source that fails cannot cost the token that
    redeeming it returns."""
    return read_key(choose_source(environ), environ, create=True)


def read_key(source: str, environ: dict[str, str] | None = None, *, create: bool = False) -> StoreKey:
    """The key of ``source``, read once; ``create`` makes a keyring entry or key file if missing.
    Raises StoreKeyError saying what is missing (ConfigurationError for a malformed variable)."""
    environ = dict(os.environ) if environ is None else environ
    if source == "env":
        passphrase = _passphrase(environ)
        if passphrase.startswith(RANDOM_KEY_PREFIX):
            return StoreKey(source, random_key_bytes(passphrase))
        return StoreKey(source, passphrase)
    if source == "keyring":
        return StoreKey(source, _decode(_keyring_secret(create), "the keyring entry"))
    if source == "file":
        return StoreKey(source, _decode(_key_file_secret(create), str(key_file_path())))
    raise StoreKeyError(f"The token store names {describe_source(source)}, which this version does not know.")


def _passphrase(environ: dict[str, str]) -> str:
    passphrase = environ.get(ENV_KEY, "")
    if not passphrase:
        raise StoreKeyError(f"{ENV_KEY} is not set in this run")
    if passphrase.startswith(RANDOM_KEY_PREFIX):
        random_key_bytes(passphrase)
    elif len(passphrase) < MIN_PASSPHRASE:
        raise ConfigurationError(
            ENV_KEY,
            f"give a passphrase of at least {MIN_PASSPHRASE} characters, or a key from 'healthcode-auth key new'",
        )
    return passphrase


def new_random_key() -> str:
    """A fresh 256-bit key in its recognisable form (``hck1_`` and 43 base64url characters)."""
    return RANDOM_KEY_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def random_key_bytes(text: str) -> bytes:
    """The 32 bytes of a key from :func:`new_random_key`; ConfigurationError when it is damaged."""
    body = text[len(RANDOM_KEY_PREFIX) :].strip()
    try:
        key = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, UnicodeError):
        key = b""
    if len(key) != 32 or not body.replace("-", "").replace("_", "").isalnum():
        raise ConfigurationError(
            ENV_KEY,
            f"it starts like a key from 'healthcode-auth key new' ({RANDOM_KEY_PREFIX}) "
            "but is damaged: copy it again, whole",
        )
    return key


def require_shared_key(environ: dict[str, str], store: str) -> None:
    """A networked store is encrypted with the key the fleet shares; say so when it is missing."""
    if not environ.get(ENV_KEY):
        raise ConfigurationError(
            ENV_KEY,
            f"the token store {store} is shared by several machines, so it needs a "
            f"key they all share: run 'healthcode-auth key new' once, and give its output "
            f"to every robot and to the supervisor's machine as {ENV_KEY}",
        )


@functools.lru_cache(maxsize=16)
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


@functools.lru_cache(maxsize=1)
def keyring_works() -> bool:
    """Whether the keyring can store and return a value in this session, tried once per process.

    A backend can exist and still fail when used: a Windows task that runs "whether the user is
    logged on or not" without a stored password, a service, SYSTEM, an OpenSSH or WinRM session
    (Credential Manager error 1312), or macOS over ssh, cron or a LaunchDaemon (a locked keychain,
    -25308). Then the key file is used, and the log says why.
    """
    import keyring

    probe = f"probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        keyring.set_password(KEYRING_SERVICE, probe, "probe")
        answered = keyring.get_password(KEYRING_SERVICE, probe)
        keyring.delete_password(KEYRING_SERVICE, probe)
    except Exception as error:  # keyring backends raise their own types, or OSError
        log.warning(
            "The operating system's keyring cannot be used in this session (%s); the token cache key "
            "is kept in the key file %s instead.",
            _describe(error),
            key_file_path(),
        )
        return False
    if answered != "probe":
        log.warning(
            "The operating system's keyring did not return what was stored in it; the token cache key "
            "is kept in the key file %s instead.",
            key_file_path(),
        )
        return False
    return True


def _describe(error: Exception) -> str:
    """The error's type and first line (keyring errors carry no secret; the value stored is never in them)."""
    text = first_line(error, 200) if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _keyring_secret(create: bool) -> str:
    import keyring

    try:
        value = keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
        if value is None and create:
            value = _new_key()
            keyring.set_password(KEYRING_SERVICE, KEYRING_USERNAME, value)
            log.info("Created the token cache's key in the operating system's keyring (%s).", KEYRING_SERVICE)
    except Exception as error:  # keyring backends raise their own types
        raise StoreKeyError(
            f"The operating system's keyring could not be used ({_describe(error)}). "
            f"Set {ENV_KEY} instead, or unlock the keyring, then try again."
        ) from None
    if value is None:
        raise StoreKeyError("The token cache's key is not in the operating system's keyring of this user.")
    if not isinstance(value, str):
        raise StoreKeyError(
            "The operating system's keyring returned something other than a key for the token "
            "cache. Set HEALTHCODE_CACHE_KEY instead, or repair the keyring entry."
        )
    return value


def _key_file_secret(create: bool) -> str:
    path = key_file_path()
    value = _read_key_file(path)
    if value is not None:
        return value
    if not create:
        raise StoreKeyError(f"The token cache's key file {path} is missing.")
    if _write_key_file(path, _new_key().encode("ascii"), "token cache key", exclusive=True):
        log.info(
            "Created the token cache's key in the key file %s (readable by this user only). Keep it with the "
            "cache: without it the cache cannot be read. To share one key between machines, set %s instead "
            "('healthcode-auth key new').",
            path,
            ENV_KEY,
        )
    value = _read_key_file(path)  # whoever won the race to create it: checked like any key file
    if value is None:
        raise StoreKeyError(f"The token cache's key file {path} vanished while it was being created. Try again.")
    return value


def _read_key_file(path: Path) -> str | None:
    """A key file anyone else can read, that another user owns, or that is not a plain file (a
    link, a FIFO) does not protect the cache: every read is checked, whichever way it came about."""
    try:
        data = read_private_file(path, max_bytes=1024, what="token cache key file", private=True)
    except FileInUseError:
        raise  # busy (Windows): not missing, not damaged
    except (StoreError, ValueError) as error:
        raise StoreKeyError(str(error)) from None
    return None if data is None else data.decode("ascii", "replace").strip()


def _write_key_file(path: Path, data: bytes, what: str, *, exclusive: bool = False) -> bool:
    try:
        return write_atomically(path, data, exclusive=exclusive, what=what)
    except StoreError as error:
        raise StoreKeyError(str(error)) from None


def _new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _decode(value: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value.encode("ascii"))
    except (ValueError, UnicodeError):
        key = b""
    if len(key) != 32:
        raise StoreKeyError(f"The token cache key in {where} is damaged (not 32 bytes of base64).")
    return key
