"""The sign-out record: how many times each token file on this machine was signed out.

A sign-out removes an entry from the token file; a copy of the file taken before (a backup put
back, a file copied in from elsewhere) would bring the authorisation back. So every sign-out
advances the file's *generation* here, apart from the cache (beside the key file, mode 0600), and
every document is sealed with the generation it was written under (:mod:`sealing` authenticates
it): a document from an older generation is refused as rolled back.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import FileInUseError, StoreError, StoreKeyError
from .key_sources import key_file_path
from .locks import FileLock
from .private_files import read_private_file, write_atomically

MAX_RECORD_BYTES = 1_000_000
LOCK_TIMEOUT = 30.0  # seconds a sign-out waits for another store's (its write takes milliseconds)
WHAT, LOCK_WHAT = "sign-out record", "sign-out record's lock file"
RECENT = 3.0  # seconds: a record's status this fresh is not trusted to change at a sign-out (FAT ticks 2 s)
REMEDY = (
    "It is what refuses a copy of a token file put back from before a sign-out; the token file itself is "
    "fine. Remove the record and try again (until the next sign-out, such old copies are accepted again)."
)


def generations_path() -> Path:
    """Where sign-out generations are kept: beside the key file, apart from the caches."""
    return key_file_path().with_name("generations.json")


class SignOutRecord:
    """Sign-out generations per store (``file:<absolute path>``), in one private JSON file."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        if self._path is None:  # found once: a store's record does not move while it is in use
            self._path = generations_path()
        return self._path

    def generation(self, store_id: str) -> int:
        """How many times ``store_id`` was signed out on this machine (0 if never)."""
        return self._read().get(store_id, 0)

    def stamp(self) -> tuple[int, int, int] | None:
        """The record's status (None: no record), to tell at once that no sign-out happened since a
        read: a new record replaces the file (another inode, time and size). A record written in the
        last :data:`RECENT` seconds tells nothing (the status of one written again within the file
        system's tick, FAT's 2 s, may be the same: an inode used again, the same size)."""
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError:
            return (0, time.monotonic_ns(), -1)  # cannot tell: never the same as another
        if abs(time.time() - status.st_mtime_ns / 1e9) < RECENT:
            return (0, time.monotonic_ns(), -2)  # too recent to tell: never the same as another
        return (status.st_ino, status.st_mtime_ns, status.st_size)

    def advance(self, store_id: str, at_least: int = 0) -> int:
        """Record a sign-out: every copy of the store sealed before it is refused from now on.
        ``at_least``: the generation the store was sealed with (above the record's when a sign-out
        wrote the store and died before its record)."""
        # One record for every store on this machine: read and written under its own lock, or two
        # stores signing out at once could write back each other's older generation.
        try:
            with FileLock(self.path.with_name(self.path.name + ".lock"), timeout=LOCK_TIMEOUT, what=LOCK_WHAT).held():
                generations = self._read()
                generations[store_id] = max(generations.get(store_id, 0) + 1, at_least)
                write_atomically(self.path, json.dumps(generations, sort_keys=True).encode("utf-8"), what=WHAT)
        except StoreKeyError:
            raise
        except StoreError as error:  # its lock or its write: the record could not be advanced
            raise StoreKeyError(str(error)) from None
        return generations[store_id]

    def _read(self) -> dict[str, int]:
        path = self.path
        try:
            data = read_private_file(path, max_bytes=MAX_RECORD_BYTES, what=WHAT, private=True)
            generations = json.loads(data) if data is not None else {}
        except FileInUseError:
            raise
        except (StoreError, ValueError, RecursionError) as error:
            raise StoreKeyError(
                f"The sign-out record {path} is damaged or cannot be used ({error}). {REMEDY}"
            ) from None
        if not isinstance(generations, dict):
            raise StoreKeyError(f"The sign-out record {path} is damaged. {REMEDY}")
        return {str(k): v for k, v in generations.items() if isinstance(v, int) and not isinstance(v, bool)}
