"""The encrypted, crash-safe token file shared by every robot of one user on one machine.

A supervisor signs in once; scheduled and parallel robots then read the token from here with no
browser and no network. Composed of parts, each tested alone: the file's bytes
(:class:`~.persistence.FilePersistence`: private, bounded, replaced atomically, so a reader needs
no lock), their sealing (:mod:`.sealing`), the sign-out record (:mod:`.signouts`), a cross-process
lock (:mod:`.locks`) held by writes and renewals, and the supervision record beside the file
(:class:`FileRecord`). Every write is a compare-and-set on the entry's version.

A file this run cannot decrypt (another key, a missing ``HEALTHCODE_CACHE_KEY``), a damaged one or
one put back from before a sign-out is reported as exactly that, and nothing is written over it:
it may hold other clients' entries.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import (
    ClaimsFullError,
    ConfigurationError,
    StoreError,
    StoreKeyError,
    StoreUnreadableError,
)
from . import write_counts
from .claims import CLAIM_SKEW, DONE, MAX_CLAIM_SECONDS, Claim, from_fields, kept_for, next_attempt, settled
from .key_sources import StoreKey, ensure_key, read_key, user_folder
from .locks import FileLock
from .persistence import FilePersistence, TooLarge
from .private_files import ensure_private_folder
from .record import MAX_EVENT_BYTES, MAX_HISTORY, RecordedEvent, SupervisionRecord, open_events, sign_event
from .sealing import Sealer, Unreadable, new_sealer, unseal
from .signouts import SignOutRecord
from .store import MAX_TIME, MAX_VERSION, StoredAuthorisation, TokenStore, Versioned, unreadable

LOCK_TIMEOUT = 120.0
WAIT_POLL_SECONDS = 0.5  # a robot waiting for a sign-in sees it within this (and a stat per poll)
MAX_CACHE_BYTES = 4_000_000  # a few hundred entries; anything larger is not ours
MAX_CLAIMS = 1000  # about 210 KB of claims at most (each work done once for the fleet, each portal sign-in)
# A claim done and holding longer than this from when it was made protects something that lasts (a
# used code a stored token was issued on, a delivered notice): it is never let go before it ends. The
# watermark cannot stand in for it: a used code can be sent again in a sign-in started any time.
LASTING = 3600.0
log = logging.getLogger("healthcode_auth")


def default_cache_path() -> Path:
    """The user's data folder: a token file and its supervision record are no cache (macOS purges
    ``~/Library/Caches`` when space runs short, cleaners empty ``~/.cache``). A file an earlier
    version of this library made in the cache folder is used where it is, while there is none in
    the data folder: nothing is moved under robots that may be reading it."""
    kept = user_folder("data") / "tokens.json"
    earlier = user_folder("cache") / "tokens.json"
    return earlier if not os.path.lexists(kept) and os.path.lexists(earlier) else kept


@dataclass
class _Document:
    """The decrypted file: entries by key, the last version given out, entries set aside."""

    entries: dict[str, Any] = field(default_factory=dict)
    last_version: int = 0
    set_aside: dict[str, Any] = field(default_factory=dict)
    sealer: Sealer | None = None  # None: no file yet
    generation: int | None = None  # the sign-out generation it was read under
    claims: dict[str, Any] = field(default_factory=dict)  # name hash -> [*Claim.fields(), kept until]
    forgotten_before: float = 0.0  # claims made up to then may have been let go (MAX_CLAIMS)
    written: write_counts.Written | None = None  # its line, count and last writes' ids (None: none; write_counts)
    counted: int | None = None  # a count without a line (a library from before lines wrote it)

    def copy(self) -> _Document:
        return _Document(
            dict(self.entries),
            self.last_version,
            dict(self.set_aside),
            self.sealer,
            self.generation,
            dict(self.claims),
            self.forgotten_before,
            self.written,
            self.counted,
        )

    def payload(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "last_version": self.last_version,
            **({"set_aside": self.set_aside} if self.set_aside else {}),
            **({"claims": self.claims} if self.claims else {}),
            # Always written, 0.0 too: a file without it was rewritten by a library from before claims
            # (or before this mark), which dropped them; it reads as "every claim so far may be gone".
            "claims_forgotten_before": self.forgotten_before,
            # A file that reads lower, or not as written, was put back from a copy (write_counts).
            **(
                {
                    "writes": self.written.count,
                    "writes_line": self.written.line,
                    "writes_ids": list(self.written.ids),
                }
                if self.written
                else {}
            ),
        }


class FileTokenStore(TokenStore):
    """The token file at ``path``; the key comes from ``environ`` (default: this process's)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        environ: dict[str, str] | None = None,
        lock_timeout: float = LOCK_TIMEOUT,
        signouts: SignOutRecord | None = None,
    ) -> None:
        try:
            self.path = Path(path).expanduser().absolute()  # a later change of working folder changes nothing
        except OSError as error:  # a relative path, in a working folder that was deleted
            raise ConfigurationError(
                "token_cache",
                f"{path} is a relative path, and the working folder it is relative to cannot be used "
                f"({error.strerror}): give an absolute path.",
                "HEALTHCODE_TOKEN_CACHE",
            ) from None
        self.lock_timeout = lock_timeout
        self._environ = dict(os.environ if environ is None else environ)
        self._file = FilePersistence(self.path, what="token cache", max_bytes=MAX_CACHE_BYTES)
        self._lock = FileLock(Path(str(self.path) + ".lock"), timeout=lock_timeout)
        self._signouts = signouts or SignOutRecord()
        # The last read's file status, bytes, document and sign-out record status.
        self._snapshot: tuple[tuple[int, int], bytes, _Document, tuple[int, int, int] | None] | None = None
        self._snapshot_lock = threading.Lock()
        self.supervision = FileRecord(self.path.with_name(self.path.name + ".history"), self._environ, self._locked)

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    @property
    def description(self) -> str:
        return f"file {self.path}"

    def prepare(self) -> None:
        ensure_private_folder(self.path.parent)
        ensure_key(self._environ)

    def load(self, key: str) -> Versioned | None:
        # No lock: writes replace the file atomically. The common case, a valid cached token,
        # costs one small file read (none at all when the file is unchanged since the last read).
        data = self._read().entries.get(key)
        return None if data is None else self._versioned(key, data)

    def renewal_lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        return self._locked()

    def store(self, entry: StoredAuthorisation, expected_version: int | None) -> int | None:
        with self._locked():
            document = self._read(fresh=True)
            current = document.entries.get(entry.key)
            try:
                found = None if current is None else self._versioned(entry.key, current).version
            except StoreUnreadableError:
                return None  # a damaged entry is not replaced behind anyone's back: see set_aside
            if found != expected_version or document.last_version >= MAX_VERSION:
                return None
            version = document.last_version + 1
            document.entries[entry.key] = {**entry.to_dict(), "version": version}
            document.last_version = version
            self._write(document)
            return version

    def remove(self, key: str, version: int) -> bool:
        """Sign out: the entry goes, and every older copy of this file is refused from now on. The
        file is written first, sealed with the next sign-out generation (accepted while the record
        still holds the one before), then the record advances: a robot reading between the two
        finds the new file, never a current file taken for a copy. A process that dies between them
        leaves the entry gone and older copies accepted until the next sign-out, as when the record
        cannot be written."""
        with self._locked():
            document = self._read(fresh=True)
            current = document.entries.get(key)
            if current is None or _version_of(current) != version:
                return False
            del document.entries[key]
            problem: StoreKeyError | None = None
            try:
                # Above the file's own too: a sign-out that died before its record sealed it one up.
                sealed = max(self._signouts.generation(self._signout_id), document.generation or 0) + 1
                document.generation = sealed
            except StoreKeyError as error:
                problem = error
            self._write(document)
            try:
                if problem is None:
                    self._signouts.advance(self._signout_id, sealed)
            except StoreKeyError as error:
                problem = error
            if problem is not None:
                log.warning(
                    "Signed out, but an old copy of the Healthcode token cache %s could be put back and used: %s",
                    self.path,
                    problem,
                )
            return True

    def mark_refused(self, key: str, version: int, when: float) -> bool:
        with self._locked():
            document = self._read(fresh=True)
            current = document.entries.get(key)
            if current is None or _version_of(current) != version:
                return False
            document.entries[key] = {**current, "refused_at": when}
            self._write(document)
            return True

    def set_aside(self, key: str) -> str | None:
        with self._locked():
            try:
                document = self._read(fresh=True)
            except StoreUnreadableError as error:
                aside = self._file.set_aside("unreadable")
                self._forget_snapshot()
                return (
                    f"Moved the token cache {self.path}, which this run cannot read, to {aside} (kept: with "
                    f"the right key it can be moved back). The reason: {error.args[0]}"
                )
            data = document.entries.get(key)
            if data is None:
                return None
            try:
                self._versioned(key, data)
            except StoreUnreadableError:
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                document.set_aside[f"{key} {stamp} {secrets.token_hex(4)}"] = document.entries.pop(key)
                self._write(document)
                return (
                    f"Moved this client's damaged entry aside inside the token cache {self.path} (kept, "
                    "encrypted, under 'set_aside'); the other entries are unchanged."
                )
            return None

    def claim(self, name: str, lease: float, keep: float | None = None) -> Claim:
        now = time.time()
        digest = _claim_digest(name)
        with self._locked():
            document = self._read(fresh=True)
            standing = _claim_of(document.claims.get(digest), now)
            if standing is not None and standing.holds(now):
                return standing
            claim = next_attempt(standing, now, lease)
            kept = {k: v for k, v in document.claims.items() if _claim_of(v, now) is not None}
            document.claims = _fewest_claims(kept, now)
            # When each was claimed, never later than this clock (a claim from a clock ahead is not the future).
            # A claim that holds nobody back any more protects nothing: letting it go forgets nothing.
            forgotten = [min(kept[k][3], now) for k in kept.keys() - document.claims.keys() if kept[k][4] > now]
            document.forgotten_before = max([document.forgotten_before, *forgotten])
            document.claims[digest] = [*claim.fields(), now + kept_for(claim, lease if keep is None else keep, now)]
            self._write(document)
            return claim

    def peek_claim(self, name: str) -> Claim | None:
        return _claim_of(self._read().claims.get(_claim_digest(name)), time.time())

    def claims_forgotten_before(self) -> float:
        return self._read().forgotten_before

    def settle_claim(self, name: str, claim: Claim, done: bool, hold: float, keep: float) -> bool:
        digest = _claim_digest(name)
        with self._locked():
            document = self._read(fresh=True)
            now = time.time()
            standing = _claim_of(document.claims.get(digest), now)
            if standing is None or standing._replace(ours=True) != claim:
                return False  # expired and taken by another robot meanwhile: theirs now
            after = settled(claim, done, hold, now)
            document.claims[digest] = [*after.fields(), now + kept_for(after, keep, now)]
            self._write(document)
            return True

    def last_version(self) -> int:
        return self._read().last_version

    def wait_for_change(self, key: str, version: int | None, timeout: float) -> None:
        # Polling the file's status costs a stat every half second: a decryption only when it changed.
        self._until_changed(key, version, timeout, time.sleep, WAIT_POLL_SECONDS)

    @functools.cached_property
    def _id(self) -> str:
        """The file's name in this process's write record (resolved once: reads stay cheap)."""
        return self._signout_id

    @property
    def _signout_id(self) -> str:
        """The file's name in the sign-out record, resolved at each use (next to a decryption or a
        write): a folder replaced by a link while a process runs keys sign-outs as every process does."""
        return f"file:{self.path.resolve()}"

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        self._lock.timeout = self.lock_timeout
        return self._lock.held(self._within(self.lock_timeout))  # within bounded(): no longer than its deadline

    def _versioned(self, key: str, data: Any) -> Versioned:
        try:
            entry = StoredAuthorisation.from_dict(data)
            version = _version_of(data)
            if version is None:
                raise ValueError("its version is not a positive whole number")
            if entry.key != key:
                raise ValueError("it names another SSO or client")
            refused = data.get("refused_at")
            if refused is not None and (isinstance(refused, bool) or not isinstance(refused, (int, float))):
                raise ValueError("'refused_at' is not a time")
        except ValueError as error:
            raise unreadable(
                f"{self.description} (this client's entry)",
                Unreadable(f"the entry is damaged: {error}", damaged=True),
                self._environ,
            ) from None
        return Versioned(entry, version, None if refused is None else float(refused))

    def _read(self, *, fresh: bool = False) -> _Document:
        """The decrypted document; an empty one when there is no file; StoreUnreadableError when
        there is one this run cannot read. A file that Windows kept refusing to open because another
        program holds it is not unreadable: that raises FileInUseError. A file written fewer times
        than this process saw before reading it was put back from a copy: its claims count as let
        go now (:mod:`.write_counts`). ``fresh``: under the lock, before a write, the file's bytes are
        read whatever its time and size (on a file system with coarse times, another process may
        have replaced it within one tick by a file of the same size: a write on the last read's
        content would undo its write); they are decrypted only when they changed."""
        seen = write_counts.seen(self._id)
        status = self._file.stat()
        if status is None:
            return _Document()
        stamp = (status.st_mtime_ns, status.st_size)
        signed_out = self._signouts.stamp()  # a sign-out since the last read: a copy from before is refused
        with self._snapshot_lock:
            # A copy put back keeps its modification time (cp -a) and may match the last read's: when
            # this process has seen the file written since, or a sign-out, read it and find out.
            last = self._snapshot
            if last is not None and (seen.behind(last[2].written) or last[3] != signed_out):
                last = None
        if not fresh and last is not None and last[0] == stamp:
            return self._as_last(last[2])  # unchanged since the last read: not even read
        try:
            raw = self._file.read()
            if raw is None:
                return _Document()
            if last is not None and last[1] == raw:
                return self._as_last(last[2])  # the same bytes: no decryption
            # A sign-out record that cannot be read is its own problem (StoreKeyError, saying what to do
            # with it), never "this cache is unreadable": the cache may decrypt perfectly well.
            generation = self._signouts.generation(self._signout_id)
            try:
                payload, sealer = unseal(raw, self._environ, generation=generation)
            except Unreadable as problem:
                # Bytes read before the record may predate a sign-out that wrote the file, then the
                # record, in between; bytes read after the record never do: read them once more.
                again = self._file.read() if problem.rolled_back else None
                if again is None or again == raw:
                    raise
                raw = again
                payload, sealer = unseal(raw, self._environ, generation=generation)
            # Sealed at a generation above the record's: a sign-out that wrote the file and died before
            # its record; writes go on at the file's, so a copy from before it stays refused.
            generation = max(generation, sealer.generation)
            document = _parse(payload, sealer, generation, written_at=status.st_mtime_ns / 1e9)
        except TooLarge as error:
            raise unreadable(self.description, Unreadable(str(error), damaged=True), self._environ) from None
        except Unreadable as problem:
            raise unreadable(self.description, problem, self._environ) from None
        if document.written is None:
            _say_older_library(self.path, time.time())
        elif write_counts.read(self._id, seen, document.written):
            log.warning(
                "The token file %s is not as this process last saw it (written fewer times, or written on "
                "from an older copy): an older copy of it was put back (a restored backup, a sync client). "
                "Sign-ins through the portal started before now, or within a minute after, are refused: "
                "the supervisors start them again. Keep the token file out of backups and synced folders "
                "(it needs neither: a lost file only means a new sign-in).",
                self.path,
            )
        with self._snapshot_lock:
            self._snapshot = (stamp, raw, document, signed_out)
        return self._as_last(document)

    def _as_last(self, last: _Document) -> _Document:
        """A copy of a document read, with the claims this process found let go since."""
        document = last.copy()
        document.forgotten_before = max(document.forgotten_before, write_counts.lost_at(self._id))
        return document

    def _write(self, document: _Document) -> None:
        sealer = document.sealer or new_sealer(self._environ)
        generation = document.generation
        if generation is None:
            generation = self._signouts.generation(self._signout_id)
        written = document.written
        # No file, or an older library's (no line), or a hostile count: a new line.
        if written is None or written.count >= write_counts.LARGEST_START:
            document.written = write_counts.new_line(self._id, document.counted)
        else:
            document.written = written.then()
        self._file.write(sealer.seal(document.payload(), generation=generation))
        write_counts.wrote(self._id, document.written)
        self._forget_snapshot()

    def _forget_snapshot(self) -> None:
        with self._snapshot_lock:
            self._snapshot = None


def _parse(
    payload: Mapping[str, Any], sealer: Sealer, generation: int, *, written_at: float | None = None
) -> _Document:
    entries, aside = payload.get("entries"), payload.get("set_aside") or {}
    if not isinstance(entries, dict) or not isinstance(aside, dict):
        raise Unreadable("its decrypted content is not a token store", source=sealer.key.source, damaged=True)
    versions = [v for v in (_version_of(e) for e in entries.values()) if v is not None]
    last = payload.get("last_version")
    last = last if isinstance(last, int) and not isinstance(last, bool) and 0 <= last <= MAX_VERSION else 0
    # A file keeps the key source it was sealed with, so every robot that reads it still can; one
    # that holds nothing (after the last sign-out) takes the source of the run that writes it next.
    keep = sealer if entries or aside else None
    now = time.time()
    # When claims were lost, if they were: when the file was written (by the older library that
    # dropped them, or whoever damaged them), never later than now.
    lost_at = now if written_at is None else min(written_at, now)
    stored = payload.get("claims", {})
    claims = {k: v for k, v in stored.items() if _claim_of(v, now) is not None} if isinstance(stored, dict) else {}
    damaged = not isinstance(stored, dict) or any(
        k not in claims and not _expired(v, now) for k, v in stored.items()
    )  # claims this library cannot read (another version's, from a clock far ahead): a replay cannot be told
    forgotten = payload.get("claims_forgotten_before")  # None: an older library rewrote it (see payload)
    forgotten = (
        float(forgotten)
        if isinstance(forgotten, (int, float))
        and not isinstance(forgotten, bool)
        and 0 <= forgotten <= MAX_TIME
        and forgotten <= now + CLAIM_SKEW  # from a clock far ahead: damaged, not refusing sign-ins for a year
        else lost_at
    )  # damaged: every claim so far may be forgotten
    if damaged:
        forgotten = max(forgotten, lost_at)
        _say_why_damaged(stored, now)
    counted = payload.get("writes")  # None: an older library wrote it (its modification time is the rule)
    counted = (
        counted if isinstance(counted, int) and not isinstance(counted, bool) and 0 <= counted <= MAX_VERSION else None
    )
    return _Document(
        entries, max([last, *versions]), aside, keep, generation, claims, forgotten, _written(payload, counted), counted
    )


def _written(payload: Mapping[str, Any], count: int | None) -> write_counts.Written | None:
    """Where the file's writes are; None for a file with no line (a library from before lines counted
    it, or before counts), or a damaged one: its next write starts a new line."""
    line, ids = payload.get("writes_line"), payload.get("writes_ids", [])
    if count is None or not isinstance(line, str) or not 0 < len(line) <= 64:
        return None
    if (
        not isinstance(ids, list)
        or len(ids) > write_counts.KEPT_IDS
        or not all(isinstance(i, str) and 0 < len(i) <= 16 for i in ids)
    ):
        ids = []  # a fork cannot be told from these: only the count is compared
    return write_counts.Written(line, count, tuple(ids))


_said_at = [0.0]  # when the last line about claims from a clock ahead was logged (once per 10 minutes)
_said_older_at = [0.0]  # when the last line about an older library's writes was logged (once per 10 minutes)


def _say_older_library(path: Path, now: float) -> None:
    """A file without a line of writes was last written by a library from before them: a copy of it
    put back is not always noticed (write_counts). Name the cause, so an operator upgrades."""
    if now - _said_older_at[0] > 600:
        _said_older_at[0] = now
        log.warning(
            "The token file %s was last written by an older version of this library (or before this "
            "version was installed). Upgrade every robot and portal that shares it: until then, an "
            "older copy of the file restored over it is not always noticed.",
            path,
        )


def _say_why_damaged(stored: Any, now: float) -> None:
    """A fleet member whose clock runs ahead makes its claims unreadable to the others, and each
    sign-in in progress is then refused: name the cause, so an operator fixes the clock."""
    made = [v[3] for v in stored.values() if isinstance(v, list) and len(v) == 6] if isinstance(stored, dict) else []
    ahead = max((t for t in made if isinstance(t, (int, float)) and not isinstance(t, bool)), default=now) - now
    if ahead > CLAIM_SKEW and now - _said_at[0] > 600:
        _said_at[0] = now
        log.warning(
            "The token file holds claims made %.0f s ahead of this machine's clock: a machine sharing it "
            "has its clock wrong. Its claims count as lost, so sign-ins through the portal in progress "
            "are refused until the clocks agree (set both by NTP).",
            ahead,
        )


def _expired(value: Any, now: float) -> bool:
    """Whether a stored claim's record ended (it protects nothing, whatever else it holds)."""
    kept = value[5] if isinstance(value, list) and len(value) == 6 else None
    return isinstance(kept, (int, float)) and not isinstance(kept, bool) and kept <= now


def _claim_digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def _fewest_claims(claims: dict[str, Any], now: float) -> dict[str, Any]:
    """At most MAX_CLAIMS - 1 claims, room for one more: the file stays small whoever claims (a
    portal's anonymous visitors, say). Those that hold no robot back go first; then those made
    longest ago (the watermark, which rises to when each was made, rises least); never one that
    lasts (:data:`LASTING`): ClaimsFullError when only those are left, and nothing is changed."""
    if len(claims) < MAX_CLAIMS:
        return claims
    surplus = len(claims) - MAX_CLAIMS + 1
    holding = {name for name, value in claims.items() if value[4] > now}
    # Only work done lasts (a used code a token went to the store on, a delivered notice): an attempt
    # still "sending" after an hour is an older version's (its junk callbacks' codes), never kept so.
    lasting = {name for name in holding if claims[name][0] == DONE and claims[name][4] - claims[name][3] > LASTING}
    ranked = sorted(
        claims.keys() - lasting,
        key=lambda name: (name in holding, claims[name][3] if name in holding else claims[name][5]),
    )
    if len(ranked) < surplus:
        ends = min(claims[name][4] for name in lasting)
        raise ClaimsFullError(
            f"The token store holds {len(lasting)} claims it must keep to their end (each a used sign-in code "
            "a stored authorisation was issued on, or a delivered notice), so it cannot note another before "
            f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(ends))}. Nothing was changed. Many "
            "sign-ins in one day fill it: see who signed in (healthcode-auth history)."
        )
    dropped = set(ranked[:surplus])
    return {name: value for name, value in claims.items() if name not in dropped}


def _claim_of(value: Any, now: float) -> Claim | None:
    """A claim kept in the file and still kept (its fields and when it is kept until), or None for
    what cannot be one this library made."""
    if not isinstance(value, list) or len(value) != 6:
        return None
    claim, kept = from_fields(value[:5], now), value[5]
    if (
        claim is None
        or isinstance(kept, bool)
        or not isinstance(kept, (int, float))
        or not now < kept <= now + MAX_CLAIM_SECONDS
    ):
        return None
    return claim


def _version_of(data: Any) -> int | None:
    """An entry's version: a whole number from 1 to MAX_VERSION, or None for anything else (damaged)."""
    version = data.get("version") if isinstance(data, dict) else None
    return (
        version if isinstance(version, int) and not isinstance(version, bool) and 0 < version <= MAX_VERSION else None
    )


class FileRecord(SupervisionRecord):
    """The supervision record of a file store: one authenticated JSON line per event, in
    ``<cache>.history`` (0600, beside the cache), the last MAX_HISTORY kept."""

    def __init__(self, path: Path, environ: dict[str, str], locked: Any) -> None:
        self._file = FilePersistence(path, what="supervision record", max_bytes=MAX_HISTORY * MAX_EVENT_BYTES)
        self._environ = environ
        self._locked = locked

    def append(self, event: Mapping[str, str]) -> None:
        key = ensure_key(self._environ)
        with self._locked():
            try:
                lines = self._lines()[-(MAX_HISTORY - 1) :]
            except TooLarge:
                aside = self._file.set_aside("too-large")
                log.warning(
                    "The supervision record was larger than this library ever writes; it was moved to %s "
                    "(kept) and a new one started.",
                    aside,
                )
                lines = []
            lines.append(sign_event(event, key))
            self._file.write(("\n".join(lines) + "\n").encode("utf-8"))

    def read(self, limit: int) -> list[RecordedEvent]:
        """The last ``limit`` events; repeated ones are found across the whole record, not only the
        last ``limit``. A record too large to be ours is reported, not changed (reading changes nothing)."""
        try:
            lines = self._lines()
        except TooLarge:
            log.warning(
                "The supervision record %s is larger than this library ever writes: it is not shown. The "
                "next event recorded moves it aside (kept).",
                self._file.path,
            )
            return []
        return open_events(lines, self._key_of)[-limit:] if limit > 0 else []

    def _lines(self) -> list[str]:
        data = self._file.read()
        return [] if data is None else data.decode("utf-8", "replace").splitlines()

    def _key_of(self, source: str) -> StoreKey | None:
        try:
            return read_key(source, self._environ)
        except (StoreError, ConfigurationError):
            return None
