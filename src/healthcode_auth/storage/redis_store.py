"""A token store in Redis: one supervisor's authorisation shared by robots on many machines.

Built on redis-py's own parts: its connection pool, TLS, timeouts, ``Lock`` and scripts. Each
entry is a hash (``version``, ``writer``, ``sealed``) under ``<prefix>entry:<sha256 of its key>``;
``sealed`` is the entry encrypted exactly as the file store encrypts its file (:mod:`sealing`,
with the fleet's ``HEALTHCODE_CACHE_KEY``), so Redis never holds a token in plain text. Writes are
compare-and-set on ``version`` in one Lua script (versions come from one counter, so they are
never reused), which fences a holder whose lock lease ran out: it can never overwrite a newer
token. The renewal lock is redis-py's ``Lock``, with a lease that outlasts a renewal's request
deadline and expires when its holder dies. The supervision record is a bounded stream.

Notes from checking redis-py against a real server: ``docs/notes/redis-py.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import secrets
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import ConfigurationError, StoreKeyError, StoreLockTimeout, StoreUnavailableError, first_line
from ..protocol.urls import split_url
from ..redaction import REDACTOR
from .key_sources import ensure_key, require_shared_key
from .sealing import UndecryptableError, seal, unseal
from .store import MAX_HISTORY, StoredAuthorisation, TokenStore, Versioned, event_from_json, event_to_json

if TYPE_CHECKING:
    import redis

log = logging.getLogger("healthcode_auth")
DEFAULT_PREFIX = "healthcode:"
# KEYS: entry, version counter. ARGV: expected version ("" = no entry yet), sealed value, writer id.
STORE_SCRIPT = """
local current = redis.call('HGET', KEYS[1], 'version')
if (ARGV[1] == '' and current) or (ARGV[1] ~= '' and current ~= ARGV[1]) then
  return {0, current or ''}
end
local version = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'version', version, 'sealed', ARGV[2], 'writer', ARGV[3])
return {1, tostring(version)}
"""
# KEYS: entry. ARGV: the only version to remove ("" = any).
REMOVE_SCRIPT = """
local current = redis.call('HGET', KEYS[1], 'version')
if not current or (ARGV[1] ~= '' and current ~= ARGV[1]) then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
"""


def describe_url(url: str) -> str:
    """``redis://host:port/db`` (prefix shown), never the user's password."""
    parts = split_url(url)
    if parts is None:  # an invalid port or unbalanced brackets: nothing of it can be shown safely
        return "the Redis URL"
    user = f"{unquote(parts.username)}@" if parts.username else ""
    prefix = dict(parse_qsl(parts.query)).get("prefix")
    shown = f"{parts.scheme}://{user}{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path or ''}"
    return shown + (f" (prefix {prefix})" if prefix else "")


def parse_store_url(url: str) -> tuple[str, str]:
    """The URL redis-py gets (no query: a query would override its TLS settings) and the key prefix.

    Only ``prefix`` is allowed in the query; anything else is refused, naming the setting.
    """
    parts = split_url(url)
    if parts is None:
        raise ConfigurationError("token_cache", "the Redis URL is not valid: check its port (1 to 65535) and any "
                                 "[brackets] around an IPv6 address, as in rediss://user:password@host:6380/0")
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigurationError("token_cache", "give a Redis URL such as rediss://user:password@host:6380/0")
    if parts.fragment:
        raise ConfigurationError("token_cache", "a Redis URL must not have a fragment (#...)")
    options = parse_qsl(parts.query, keep_blank_values=True)
    unknown = sorted({name for name, _ in options} - {"prefix"})
    if unknown:
        raise ConfigurationError("token_cache", f"the Redis URL may only carry '?prefix=...'; remove "
                                 f"{', '.join(unknown)} (TLS is always verified, timeouts come from 'timeout')")
    prefix = dict(options).get("prefix", DEFAULT_PREFIX)
    if not prefix or len(prefix) > 100 or any(not ch.isprintable() or ch.isspace() for ch in prefix):
        raise ConfigurationError("token_cache", "the Redis key prefix must be 1 to 100 printable characters")
    return parts._replace(query="").geturl(), prefix


LOCK_POLL_SECONDS = 0.025  # how often a robot waiting for the renewal lock tries again


class RedisTokenStore(TokenStore):
    """Entries, renewal locks and the supervision record in one Redis database."""

    def __init__(self, url: str, *, environ: dict[str, str], timeout: float, lock_timeout: float,
                 ca_bundle: str | None = None) -> None:
        self._url, self.prefix = parse_store_url(url)
        self._shown = describe_url(url)
        REDACTOR.add(unquote(urlsplit(url).password or ""))  # the store password is a secret like the others
        require_shared_key(environ, self._shown)
        if importlib.util.find_spec("redis") is None:  # found without importing it (that waits for first use)
            raise ConfigurationError("token_cache", f"the Redis token store {self._shown} needs redis-py: "
                                     "pip install 'robotframework-healthcode[fleet]'")
        self._environ = environ
        self.timeout = timeout
        self.lock_timeout = lock_timeout
        self._ca_bundle = ca_bundle
        self._client: redis.Redis | None = None
        self._scripts: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._shown!r})"

    @property
    def description(self) -> str:
        return self._shown

    def prepare(self) -> None:
        ensure_key(self._environ)

    def load(self, key: str) -> Versioned | None:
        with self._talking("read the token"):
            version, sealed = self._redis.hmget(self._entry(key), ["version", "sealed"])
        if version is None or sealed is None:
            return None
        try:
            data = unseal(_bytes(sealed), self._environ)
            entry = StoredAuthorisation.from_dict(data)
            if entry.key != key:
                raise ValueError("the entry belongs to another SSO or client")
            return Versioned(entry, int(version))
        except (StoreKeyError, UndecryptableError) as error:
            # Perhaps this machine has another key than the fleet: never destroy the fleet's token.
            log.warning("The token in %s cannot be decrypted and is ignored (%s). Check that HEALTHCODE_CACHE_KEY "
                        "is the key the other machines use.", self._shown, error)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeError, RecursionError) as error:
            # Unreadable whatever the key: clear exactly this version, so a sign-in can replace it.
            log.warning("The token in %s cannot be read (%s) and is removed; a supervisor may need to sign in "
                        "again.", self._shown, error)
            self.remove(key, only_version=int(version))
        return None

    @contextlib.contextmanager
    def renewal_lock(self, key: str) -> Iterator[None]:
        from redis.exceptions import LockError, LockNotOwnedError

        # The lease outlasts a renewal's deadline; if the holder dies, it runs out by itself. Waiters
        # try again every 25 ms (redis-py's default is 100 ms): a renewal takes tens of milliseconds.
        lock = self._redis.lock(self._key("lock:", key), timeout=self.lock_timeout, sleep=LOCK_POLL_SECONDS,
                                blocking_timeout=self.lock_timeout, thread_local=False)
        with self._talking("take the renewal lock"):
            acquired = lock.acquire()
        if not acquired:
            raise StoreLockTimeout(f"Another robot held the renewal lock in {self._shown} for over "
                                   f"{self.lock_timeout:g} seconds. It expires by itself if that robot died.")
        try:
            yield
        finally:
            try:
                with self._talking("release the renewal lock"):
                    lock.release()
            except (LockNotOwnedError, LockError):
                # The lease ran out under us; our writes were fenced by their versions anyway.
                log.warning("The renewal lock in %s expired before this robot released it.", self._shown)
            except StoreUnavailableError as error:
                log.warning("%s The lock expires by itself.", error)

    def store(self, entry: StoredAuthorisation, expected_version: int | None) -> bool:
        sealed = seal(entry.to_dict(), self._environ)
        writer = secrets.token_hex(8)
        keys = [self._entry(entry.key), self._key("versions")]
        args = ["" if expected_version is None else str(expected_version), sealed, writer]
        with self._talking("store the token"):
            stored, _ = self._script("store", STORE_SCRIPT)(keys=keys, args=args)
        return bool(int(stored))

    def remove(self, key: str, *, only_version: int | None = None) -> bool:
        args = ["" if only_version is None else str(only_version)]
        with self._talking("remove the token"):
            return bool(int(self._script("remove", REMOVE_SCRIPT)(keys=[self._entry(key)], args=args)))

    def record(self, event: Mapping[str, str]) -> None:
        with self._talking("record the event"):
            self._redis.xadd(self._key("history"), {"event": event_to_json(event)},
                             maxlen=MAX_HISTORY, approximate=True)

    def history(self, limit: int) -> list[dict[str, str]]:
        with self._talking("read the supervision record"):
            items = self._redis.xrevrange(self._key("history"), count=limit)
        events = (event_from_json(fields[b"event"]) for _, fields in reversed(items or [])
                  if isinstance(fields, dict) and isinstance(fields.get(b"event"), (bytes, str)))
        return [event for event in events if event is not None]

    def _key(self, kind: str, key: str | None = None) -> str:
        suffix = "" if key is None else hashlib.sha256(key.encode("utf-8")).hexdigest()
        return f"{self.prefix}{kind}{suffix}"

    def _entry(self, key: str) -> str:
        return self._key("entry:", key)

    def _script(self, name: str, source: str) -> Any:
        if name not in self._scripts:
            self._scripts[name] = self._redis.register_script(source)
        return self._scripts[name]

    @property
    def _redis(self) -> redis.Redis:
        if self._client is None:
            import redis

            options: dict[str, Any] = {"socket_timeout": self.timeout, "socket_connect_timeout": self.timeout}
            if self._url.startswith("rediss://"):
                # Certificates and host names are always verified; a CA bundle adds the fleet's CA.
                options.update(ssl_cert_reqs="required", ssl_check_hostname=True, ssl_ca_certs=self._ca_bundle)
            self._client = redis.Redis.from_url(self._url, **options)
        return self._client

    @contextlib.contextmanager
    def _talking(self, what: str) -> Iterator[None]:
        """redis-py's errors, as ours: what failed, in which store, and what to check."""
        from redis import exceptions

        try:
            yield
        except exceptions.AuthenticationError:
            raise StoreUnavailableError(f"The token store {self._shown} refused the user name or password. Check "
                                        "the password (and user) in the store URL.") from None
        except exceptions.NoPermissionError:
            raise StoreUnavailableError(f"The token store {self._shown} does not let this user {what}. Give the "
                                        "user the commands listed in docs/fleet.md.") from None
        except exceptions.TimeoutError:
            raise StoreUnavailableError(f"The token store {self._shown} did not answer within {self.timeout:g} "
                                        f"seconds when asked to {what}. Check that Redis is up and reachable from "
                                        "this machine, or raise the timeout setting.") from None
        except exceptions.ConnectionError as error:
            reason = first_line(error, 200)
            advice = ("Check the CA bundle setting (the server's certificate is not trusted)."
                      if "certificate" in reason.lower() or "ssl" in reason.lower()
                      else "Check the host and port in the store URL, that Redis runs, and the firewall.")
            raise StoreUnavailableError(f"Could not reach the token store {self._shown} to {what} ({reason}). "
                                        f"{advice}") from None
        except exceptions.RedisError as error:
            raise StoreUnavailableError(f"The token store {self._shown} failed to {what} "
                                        f"({first_line(error, 200)}).") from None


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")
