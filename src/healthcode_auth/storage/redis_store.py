"""A token store in Redis: one supervisor's authorisation shared by robots on many machines.

Built on redis-py's own parts: its connection pool, TLS, timeouts, ``Lock`` and scripts. Each entry is a hash
(``version``, ``writer``, ``sealed``, and ``refused_at`` once the SSO refused to renew it) under
``<prefix>entry:<sha256 of its key>``; ``sealed`` is the entry encrypted exactly as the file store encrypts its
file (:mod:`sealing`, with the fleet's ``HEALTHCODE_CACHE_KEY``), so Redis never holds a token in plain text.
Reads are bounded before anything is decrypted, and what cannot be read is reported, never removed. Writes,
removals and refusals are compare-and-set on ``version`` in Lua scripts (versions come from one counter, so they
are never reused), which fences a holder whose lock lease ran out: it can never overwrite a newer token. The
renewal lock is redis-py's ``Lock``, with a lease that outlasts a renewal's request deadline and expires when
its holder dies. The supervision record is a bounded stream of authenticated events.

Notes from checking redis-py against a real server: ``docs/notes/redis-py.md``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import logging
import secrets
import ssl
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ..errors import (
    ConfigurationError,
    StoreLockTimeout,
    StoreNotAnsweringError,
    StoreUnavailableError,
    StoreUnreadableError,
    caused_by,
    escaped,
    first_line,
)
from ..redaction import REDACTOR
from .claims import Claim
from .key_sources import read_key, require_shared_key
from .redis_claims import RedisClaims
from .redis_record import RedisRecord
from .redis_scripts import (
    LAST_VERSION_SCRIPT,
    LOAD_SCRIPT,
    MARK_REFUSED_SCRIPT,
    REMOVE_SCRIPT,
    SET_ASIDE_SCRIPT,
    STORE_SCRIPT,
)
from .redis_url import describe_url, parse_store_url
from .sealing import Sealer, Unreadable, unseal
from .store import MAX_ENTRY_BYTES, MAX_TIME, MAX_VERSION, StoredAuthorisation, TokenStore, Versioned, unreadable

if TYPE_CHECKING:
    import redis

log = logging.getLogger("healthcode_auth")
LOCK_POLL_SECONDS = 0.025  # how often a robot waiting for the renewal lock tries again
WAIT_POLL_SECONDS = 5.0  # a robot waiting for a sign-in also reads the entry this often (a missed publish)


class RedisTokenStore(TokenStore):
    """Entries, renewal locks and the supervision record in one Redis database."""

    def __init__(
        self, url: str, *, environ: dict[str, str], timeout: float, lock_timeout: float, ca_bundle: str | None = None
    ) -> None:
        self._url, self.prefix = parse_store_url(url)
        self._shown = describe_url(url)
        written = urlsplit(url).password or ""  # the store password is a secret like the others, in
        REDACTOR.add(written, unquote(written))  # the spelling the URL has and the one Redis gets
        require_shared_key(environ, self._shown)
        if importlib.util.find_spec("redis") is None:  # found without importing it (that waits for first use)
            raise ConfigurationError(
                "token_cache",
                f"the Redis token store {self._shown} needs redis-py: pip install 'robotframework-healthcode[fleet]'",
            )
        self._environ = environ
        self.timeout = timeout
        self.lock_timeout = lock_timeout
        self._ca_bundle = ca_bundle
        self._local = threading.local()  # each thread's own client and connections (see _talking)
        self._scripts: dict[str, Any] = {}
        self._sealer: Sealer | None = None
        self.supervision = RedisRecord(self)
        self._claims = RedisClaims(self)

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._shown!r})"

    @property
    def description(self) -> str:
        return self._shown

    def prepare(self) -> None:
        self._sealer_for_writes()

    def load(self, key: str) -> Versioned | None:
        raw = self._read(key)
        if raw is None:
            return None
        version, sealed, refused = raw
        try:
            data, _ = unseal(sealed, self._environ, sources=("env",))
            entry = StoredAuthorisation.from_dict(data)
            if entry.key != key:
                raise Unreadable("it belongs to another SSO or client", damaged=True)
            return Versioned(entry, _number(version, "version"), None if refused is None else _time(refused))
        except ValueError as error:  # a malformed entry: reported, never removed
            raise self._unreadable(Unreadable(f"the entry is damaged: {error}", damaged=True)) from None
        except Unreadable as problem:
            raise self._unreadable(problem) from None

    @contextlib.contextmanager
    def renewal_lock(self, key: str) -> Iterator[None]:
        from redis.exceptions import LockError, LockNotOwnedError

        # The lease outlasts a renewal's deadline (a dead holder's runs out); waiters try every 25 ms.
        lock = self._redis.lock(
            self._key("lock:", key),
            timeout=self.lock_timeout,
            sleep=LOCK_POLL_SECONDS,
            blocking_timeout=self.lock_timeout,
            thread_local=False,
        )
        waiting = self._within(self.lock_timeout)  # within bounded(): no longer than a robot's wait
        # When bounded() cut the wait, the polling stops a little before the exchange's deadline (then
        # the same moment): a lock still held then is a lock timeout, not a store that did not answer.
        polling = waiting if waiting >= self.lock_timeout else waiting - min(0.2, waiting / 4)
        with self._talking("take the renewal lock", deadline=waiting + self.timeout):
            acquired = polling > 0 and lock.acquire(blocking_timeout=polling)
        if acquired and self._within(1.0) <= 0:  # taken just as the wait ended: let go at once
            with self._unbounded(), contextlib.suppress(Exception), self._talking("release the renewal lock"):
                lock.release()
            acquired = False
        if not acquired:
            raise self._lock_timeout(key)
        try:
            yield
        finally:
            try:
                with self._unbounded(), self._talking("release the renewal lock"):
                    lock.release()
            except (LockNotOwnedError, LockError):
                # The lease ran out under us; our writes were fenced by their versions anyway.
                log.warning("The renewal lock in %s expired before this robot released it.", self._shown)
            except StoreUnavailableError as error:
                log.warning("%s The lock expires by itself.", error)

    def store(self, entry: StoredAuthorisation, expected_version: int | None) -> int | None:
        sealed = self._sealer_for_writes().seal(entry.to_dict())
        keys = [self._entry(entry.key), self._key("versions"), self._key("changed:", entry.key)]
        args = [
            "" if expected_version is None else str(expected_version),
            sealed,
            secrets.token_hex(8),
            int(time.time() * 1000),
            MAX_VERSION,
        ]
        with self._talking("store the token"):
            stored, version, *healed = self._script("store", STORE_SCRIPT)(keys=keys, args=args)
        if not int(stored):
            if _bytes(version or b"") == b"exhausted":  # only someone else's writes get there
                raise StoreUnavailableError(
                    f"The token store {self._shown} cannot give the token a version: its version counter and this "
                    "client's entry hold versions near the largest this library writes. Delete both (DEL "
                    f"{self._key('versions')} {self._entry(entry.key)}) and have a supervisor sign in again."
                )
            return None
        if healed and int(healed[0]):
            log.warning(
                "The version counter %s in %s held a value this library never writes (someone else wrote it): "
                "it was started again above this entry's version, and the token was stored.",
                self._key("versions"),
                self._shown,
            )
        if not isinstance(version, int) or not 0 < version <= MAX_VERSION:
            raise StoreUnavailableError(
                f"The token store {self._shown} answered a version this library never writes "
                f"({escaped(str(version), 30)}) when it stored the token: check that nothing "
                f"else writes {self._key('versions')}."
            )
        return version

    def remove(self, key: str, version: int) -> bool:
        with self._talking("remove the token"):
            return bool(int(self._script("remove", REMOVE_SCRIPT)(keys=[self._entry(key)], args=[str(version)])))

    def mark_refused(self, key: str, version: int, when: float) -> bool:
        with self._talking("note the refused renewal"):
            return bool(
                int(
                    self._script("refused", MARK_REFUSED_SCRIPT)(
                        keys=[self._entry(key)], args=[str(version), repr(float(when))]
                    )
                )
            )

    def set_aside(self, key: str) -> str | None:
        with self._talking("read the token"):
            answer = self._script("load", LOAD_SCRIPT)(keys=[self._entry(key)], args=[MAX_ENTRY_BYTES])
        if answer[0] == b"ok" and answer[1] is None and answer[2] is None and answer[3] is None:
            return None  # nothing stored
        try:
            self.load(key)
        except StoreUnreadableError as error:
            reason = error.args[0]
        else:
            return None
        seen = "*wrongtype*" if answer[0] == b"wrongtype" else _text(answer[1] if answer[0] == b"ok" else None)
        if seen is None:
            with self._talking("read the token"):
                seen = _text(self._redis.hget(self._entry(key), "version"))
        aside = self._key("unreadable:", key) + f":{int(time.time())}:{secrets.token_hex(4)}"
        with self._talking("move the unreadable token aside"):
            moved = self._script("aside", SET_ASIDE_SCRIPT)(keys=[self._entry(key), aside], args=[seen or ""])
        if not int(moved):
            raise StoreUnavailableError(
                f"The entry in {self._shown} changed while it was being moved aside: run the command again."
            )
        return (
            f"Moved this client's entry in {self._shown}, which this run cannot read, to the Redis key {aside} "
            f"(kept: with the right key it can be renamed back). The reason: {reason}"
        )

    def claim(self, name: str, lease: float, keep: float | None = None) -> Claim:
        return self._claims.claim(name, lease, keep)

    def peek_claim(self, name: str) -> Claim | None:
        return self._claims.peek(name)

    def settle_claim(self, name: str, claim: Claim, done: bool, hold: float, keep: float) -> bool:
        return self._claims.settle(name, claim, done, hold, keep)

    def last_version(self) -> int:
        with self._talking("read the token"):
            counted = self._script("versions", LAST_VERSION_SCRIPT)(keys=[self._key("versions")])
        text = _text(counted) or "0"
        return int(text) if text.isdigit() and len(text) <= 16 and int(text) <= MAX_VERSION else 0

    def wait_for_change(self, key: str, version: int | None, timeout: float) -> None:
        """Wait on the entry's change channel (writes publish on it); read it every WAIT_POLL_SECONDS too."""
        from redis.exceptions import NoPermissionError

        pubsub = None
        try:
            with self._talking("wait for a sign-in"):
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(self._key("changed:", key))
        except StoreUnavailableError as error:
            log.info(
                "Waiting for a sign-in by reading %s every %g seconds (%s).", self._shown, WAIT_POLL_SECONDS, error
            )

        def pause(seconds: float) -> None:
            nonlocal pubsub
            if pubsub is None:
                time.sleep(seconds)
                return
            with self._talking("wait for a sign-in", deadline=seconds + self.timeout):
                try:
                    pubsub.get_message(timeout=seconds)
                except NoPermissionError:  # redis-py reads the SUBSCRIBE's answer only here
                    log.info(
                        "Waiting for a sign-in by reading %s every %g seconds: its user may not subscribe "
                        "(see docs/fleet.md).",
                        self._shown,
                        WAIT_POLL_SECONDS,
                    )
                    pubsub.close()
                    pubsub = None

        try:
            self._until_changed(key, version, timeout, pause, WAIT_POLL_SECONDS)
        finally:
            if pubsub is not None:
                with contextlib.suppress(Exception):
                    pubsub.close()

    def _read(self, key: str) -> tuple[bytes, bytes, bytes | None] | None:
        """The entry's version, sealed value and refusal, bounded before anything is decrypted."""
        with self._talking("read the token"):
            answer = self._script("load", LOAD_SCRIPT)(keys=[self._entry(key)], args=[MAX_ENTRY_BYTES])
        if answer[0] == b"wrongtype":
            raise self._unreadable(
                Unreadable("the entry is damaged: its key holds something other than an entry", damaged=True)
            )
        if answer[0] == b"too-large":
            raise self._unreadable(
                Unreadable(
                    f"the entry is damaged: its {_text(answer[1])} is {int(answer[2])} "
                    "bytes, more than this library writes",
                    damaged=True,
                )
            )
        version, sealed, refused = answer[1:4]
        if version is None and sealed is None:
            return None
        if version is None or sealed is None:
            raise self._unreadable(Unreadable("the entry is damaged: it is incomplete", damaged=True))
        return _bytes(version), _bytes(sealed), None if refused is None else _bytes(refused)

    def _lock_timeout(self, key: str) -> StoreLockTimeout:
        """Said so when the lock will never expire by itself: a key of this name not written by a
        robot (no lease, or another type), which only deleting it ends."""
        name = self._key("lock:", key)
        try:
            with self._unbounded(), self._talking("read the renewal lock", deadline=min(self.timeout, 5.0)):
                lease = self._redis.pttl(name)
        except StoreUnavailableError:
            lease = None
        if lease == -1:
            return StoreLockTimeout(
                f"The renewal lock {name} in {self._shown} never expires by itself: it was not "
                "written by a robot of this library (it has no lease). If no robot is renewing, "
                f"delete it: DEL {name}"
            )
        return StoreLockTimeout(
            f"Another robot held the renewal lock in {self._shown} longer than this robot could "
            f"wait ({self.lock_timeout:g} seconds, or its wait for a supervisor). It expires by "
            "itself if that robot died."
        )

    def _unreadable(self, problem: Unreadable) -> StoreUnreadableError:
        return unreadable(f"{self._shown} (this client's entry)", problem, self._environ)

    def _sealer_for_writes(self) -> Sealer:
        if self._sealer is None:
            self._sealer = Sealer(read_key("env", self._environ))  # one key derivation per process
        return self._sealer

    def _key(self, kind: str, key: str | None = None) -> str:
        suffix = "" if key is None else hashlib.sha256(key.encode("utf-8")).hexdigest()
        return f"{self.prefix}{kind}{suffix}"

    def _entry(self, key: str) -> str:
        return self._key("entry:", key)

    def _script(self, name: str, source: str) -> Any:
        if name not in self._scripts:
            self._scripts[name] = self._redis.register_script(source)
        return functools.partial(self._scripts[name], client=self._redis)

    @property
    def _redis(self) -> redis.Redis:
        """This thread's client, with a pool of its own: a deadline's watchdog cuts only its exchanges."""
        client: redis.Redis | None = getattr(self._local, "client", None)
        if client is None:
            import redis

            options: dict[str, Any] = {"socket_timeout": self.timeout, "socket_connect_timeout": self.timeout}
            if self._url.startswith("rediss://"):  # certificates and host names always verified
                options.update(ssl_cert_reqs="required", ssl_check_hostname=True, ssl_ca_certs=self._ca_bundle)
            if hasattr(redis, "DriverInfo"):  # newer redis-py: the version it tells the server, given, not read
                options["driver_info"] = redis.DriverInfo(lib_version=redis.__version__)  # from its metadata again
            client = self._local.client = redis.Redis.from_url(self._url, **options)
        return client

    @contextlib.contextmanager
    def _talking(self, what: str, deadline: float | None = None) -> Iterator[None]:
        """redis-py's errors, as ours (what failed, where, what to check), and a total deadline
        (``timeout``, or ``deadline`` seconds) on the exchange: redis-py's ``socket_timeout`` bounds
        each read only, so at the deadline a watchdog disconnects this thread's pool (its public
        ``ConnectionPool.disconnect``) and a blocked read ends; other threads' pools go on."""
        from redis import exceptions

        limit = self._within(self.timeout if deadline is None else deadline)  # bounded(): no later than its end
        if limit <= 0:  # the deadline of bounded() has passed: no new exchange (its connecting could block)
            raise StoreNotAnsweringError(f"The token store {self._shown} was not asked to {what}: no time was left.")
        done, expired = threading.Event(), threading.Event()
        pool = self._redis.connection_pool  # this thread's, taken here: the watchdog runs in a thread of its own

        def watch() -> None:  # at the deadline, and until the exchange ends: a connection it opens after a cut
            if done.wait(limit):  # (redis-py reconnects) is cut too
                return
            expired.set()
            while True:
                with contextlib.suppress(Exception):
                    pool.disconnect()
                if done.wait(0.05):
                    return

        threading.Thread(target=watch, name="healthcode-store-deadline", daemon=True).start()
        try:
            yield
        except exceptions.AuthenticationError:
            raise StoreUnavailableError(
                f"The token store {self._shown} refused the user name or password. Check "
                "the password (and user) in the store URL."
            ) from None
        except exceptions.NoPermissionError:
            raise StoreUnavailableError(
                f"The token store {self._shown} does not let this user {what}. Give the "
                "user the commands listed in docs/fleet.md."
            ) from None
        except Exception as error:
            # Disconnected under a blocked read, redis-py may raise what it meets (a closed buffer's
            # ValueError, say): at the deadline, whatever it is, it is the deadline.
            if expired.is_set() or isinstance(error, exceptions.TimeoutError):
                raise StoreNotAnsweringError(
                    f"The token store {self._shown} did not answer within {limit:.3g} seconds when asked to {what}. "
                    f"{self._reachability_advice()} Or raise the timeout setting."
                ) from None
            if not isinstance(error, exceptions.RedisError):
                raise
            if isinstance(error, exceptions.ConnectionError):
                reason = first_line(error, 200)
                untrusted = caused_by(error, ssl.SSLCertVerificationError)
                advice = (
                    "Check the CA bundle setting (the server's certificate is not trusted)."
                    if untrusted
                    else self._reachability_advice()
                )
                raise (StoreUnavailableError if untrusted else StoreNotAnsweringError)(
                    f"Could not reach the token store {self._shown} to {what} ({reason}). {advice}"
                ) from None
            raise StoreUnavailableError(
                f"The token store {self._shown} failed to {what} ({first_line(error, 200)})."
            ) from None
        finally:
            done.set()

    def _reachability_advice(self) -> str:
        if self._url.startswith("rediss://"):
            return (
                "Check that Redis is up and reachable from this machine, and that this port serves TLS: a "
                "rediss:// URL speaks TLS, and a plain Redis port never answers it (use redis:// for a port "
                "without TLS, only on a trusted network)."
            )
        return "Check the host and port in the store URL, that Redis runs, and the firewall."


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _text(value: bytes | str | None) -> str | None:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _number(value: bytes, what: str) -> int:
    """A version as the store script writes it: canonical digits ("7", never "07" or "+7"), which its
    compare-and-set compares as text."""
    text = value.decode("ascii", "replace")
    if not text.isdigit() or not 0 < len(text) <= 16 or str(int(text)) != text or not 0 < int(text) <= MAX_VERSION:
        raise ValueError(f"its {what} {escaped(text, 20)!r} is not a whole number this library writes")
    return int(text)


def _time(value: bytes) -> float:
    try:
        when = float(value.decode("ascii"))
    except (UnicodeError, ValueError):
        raise ValueError("its refusal time is not a number") from None
    if not 0 <= when <= MAX_TIME:
        raise ValueError("its refusal time is out of range")
    return when
