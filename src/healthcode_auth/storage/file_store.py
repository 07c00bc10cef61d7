"""The encrypted, crash-safe token file shared by every robot of one user on one machine.

A supervisor signs in once; scheduled and parallel robots then read the token from here with no
browser and no network. The file is a sealed document (:mod:`sealing`), mode 0600, replaced
atomically, so a reader never needs a lock. Writes and renewals hold a cross-process lock (a
``.lock`` file beside it), and every write is a compare-and-set on the entry's version.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import FileInUseError, StoreError, StoreKeyError, StoreLockTimeout
from .key_sources import advance_generation, current_generation, ensure_key
from .private_files import (
    ensure_private_folder,
    read_private_file,
    refuse_link,
    retry_while_in_use,
    write_atomically,
)
from .sealing import RolledBackError, seal, unseal
from .store import MAX_HISTORY, StoredAuthorisation, TokenStore, Versioned, event_from_json, event_to_json

LOCK_TIMEOUT = 120.0
MAX_CACHE_BYTES = 4_000_000  # a few hundred entries; anything larger is not ours
log = logging.getLogger("healthcode_auth")


def default_cache_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("robotframework-healthcode", appauthor=False)) / "tokens.json"


class FileTokenStore(TokenStore):
    """The token file at ``path``; the key comes from ``environ`` (default: this process's)."""

    def __init__(self, path: str | os.PathLike[str], *, environ: dict[str, str] | None = None,
                 lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = Path(path).expanduser()
        self.lock_timeout = lock_timeout
        self._environ = dict(os.environ if environ is None else environ)
        self._memory_lock = threading.Lock()
        self._snapshot: tuple[tuple[int, int], dict[str, Any]] | None = None
        self._file_lock: Any = None

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
        data = self._read()["entries"].get(key)
        if data is None:
            return None
        try:
            return Versioned(StoredAuthorisation.from_dict(data), _version_of(data) or 0)
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("Ignoring a damaged entry in the Healthcode token cache %s.", self.path)
            return None

    def renewal_lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        return self._locked()

    def store(self, entry: StoredAuthorisation, expected_version: int | None) -> bool:
        with self._locked():
            document = self._read()
            current = document["entries"].get(entry.key)
            if _version_of(current) != expected_version:
                return False
            version = document["last_version"] + 1
            document["entries"][entry.key] = {**entry.to_dict(), "version": version}
            document["last_version"] = version
            self._write(document)
            return True

    def remove(self, key: str, *, only_version: int | None = None) -> bool:
        """Sign out: the entry goes, and every older copy of this file is refused from now on."""
        with self._locked():
            document = self._read()
            current = document["entries"].get(key)
            if current is None or (only_version is not None and _version_of(current) != only_version):
                return False
            del document["entries"][key]
            try:
                advance_generation(self._id)
            except StoreKeyError as error:
                log.warning("Signed out, but an old copy of the Healthcode token cache %s could be put back and "
                            "used: %s", self.path, error)
            self._write(document)
            return True

    def record(self, event: Mapping[str, str]) -> None:
        """One JSON line per event in ``<cache>.history`` (0600, beside the cache), the last MAX_HISTORY kept."""
        with self._locked():
            lines = self._history_lines()[-(MAX_HISTORY - 1):]
            lines.append(event_to_json(event))
            write_atomically(self._history_path, ("\n".join(lines) + "\n").encode("utf-8"), what="supervision record")

    def history(self, limit: int) -> list[dict[str, str]]:
        events = (event_from_json(line) for line in (self._history_lines()[-limit:] if limit > 0 else []))
        return [event for event in events if event is not None]

    @property
    def _history_path(self) -> Path:
        return self.path.with_name(self.path.name + ".history")

    def _history_lines(self) -> list[str]:
        try:
            data = read_private_file(self._history_path, max_bytes=MAX_HISTORY * 2000, what="supervision record")
        except ValueError:
            log.warning("The supervision record %s is too large and starts afresh.", self._history_path)
            return []
        return [] if data is None else data.decode("utf-8", "replace").splitlines()

    @property
    def _id(self) -> str:
        return f"file:{self.path.resolve()}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The cross-process lock; re-entrant within a thread (filelock counts nested acquisitions)."""
        from filelock import FileLock, Timeout

        with self._memory_lock:
            if self._file_lock is None:
                ensure_private_folder(self.path.parent)
                self._file_lock = FileLock(str(self.path) + ".lock", mode=0o600)
        lock = self._file_lock
        refuse_link(Path(lock.lock_file), "token cache lock file")
        try:
            with lock.acquire(timeout=self.lock_timeout):
                yield
        except Timeout:
            raise StoreLockTimeout(f"Another robot held the token cache lock {lock.lock_file} for over "
                                   f"{self.lock_timeout:g} seconds. If no robot is running, delete that file."
                                   ) from None
        except OSError as error:
            raise StoreError(f"The token cache lock {lock.lock_file} cannot be used ({error.strerror}). Check the "
                             "folder's permissions, or remove the file if no robot is running.") from None

    def _read(self) -> dict[str, Any]:
        """The decrypted document ``{"entries": {...}, "last_version": n}``; empty when unusable.

        A file (the cache, its key file or the sign-out record) that Windows kept refusing to open
        because another program holds it is not "unusable": that raises FileInUseError, never empty.
        """
        empty: dict[str, Any] = {"entries": {}, "last_version": 0}
        try:
            stat = retry_while_in_use(lambda: os.lstat(self.path), self.path, "token cache", "read")
        except FileNotFoundError:
            return empty
        version = (stat.st_mtime_ns, stat.st_size)
        with self._memory_lock:
            if self._snapshot is not None and self._snapshot[0] == version:
                return _copy(self._snapshot[1])  # unchanged since the last read: no decryption
        try:
            raw = read_private_file(self.path, max_bytes=MAX_CACHE_BYTES, what="token cache")
            if raw is None:
                return empty
            document = unseal(raw, self._environ, generation=current_generation(self._id))
            entries = document["entries"]
            if not isinstance(entries, dict):
                raise ValueError("no entries")
            last = document.get("last_version", 0)
            last = max([last if isinstance(last, int) else 0, *(_version_of(e) or 0 for e in entries.values())])
        except FileInUseError:
            raise  # the key file or sign-out record was busy, not missing: never "empty"
        except StoreKeyError as error:
            log.warning("The Healthcode token cache %s is treated as empty: %s", self.path, error)
            return empty
        except RolledBackError as error:
            log.warning("The Healthcode token cache %s is refused: %s. A supervisor must sign in again.",
                        self.path, error)
            return empty
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeError, RecursionError, OSError) as error:
            log.warning("The Healthcode token cache %s cannot be read (%s) and is treated as empty; "
                        "a supervisor may need to sign in again.", self.path, error)
            return empty
        document = {"entries": entries, "last_version": last}
        with self._memory_lock:
            self._snapshot = (version, document)
        return _copy(document)

    def _write(self, document: dict[str, Any]) -> None:
        write_atomically(self.path, seal(document, self._environ, generation=current_generation(self._id)))
        with self._memory_lock:
            self._snapshot = None


def _version_of(data: Any) -> int | None:
    if not isinstance(data, dict):
        return None
    version = data.get("version", 0)
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def _copy(document: dict[str, Any]) -> dict[str, Any]:
    return {"entries": dict(document["entries"]), "last_version": document["last_version"]}
