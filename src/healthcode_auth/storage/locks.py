"""A cross-process lock for a file store: filelock's, with a bounded wait and clear errors.

The operating system holds the lock for the process (``flock`` on POSIX, ``LockFileEx`` on
Windows): it is released when the process ends, however it ends, and held as long as the process
lives, even paused (a frozen holder makes the others wait ``timeout`` and then fail with
:class:`~healthcode_auth.errors.StoreLockTimeout`, never lose data). Re-entrant within a thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import StoreError, StoreLockTimeout
from .private_files import ensure_private_folder, refuse_link


class FileLock:
    """The lock file at ``path`` (created private, never through a link)."""

    def __init__(self, path: Path, *, timeout: float, what: str = "token cache lock file") -> None:
        self.path = path
        self.timeout = timeout
        self.what = what
        self._guard = threading.Lock()
        self._lock: Any = None

    @contextlib.contextmanager
    def held(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock; wait at most ``timeout`` seconds for it (default: this lock's timeout)."""
        from filelock import FileLock as OsFileLock
        from filelock import Timeout

        with self._guard:
            if self._lock is None:
                ensure_private_folder(self.path.parent)
                self._lock = OsFileLock(str(self.path), mode=0o600)
        refuse_link(self.path, self.what)
        limit = self.timeout if timeout is None else max(0.0, timeout)
        try:
            self._lock.acquire(timeout=limit)
        except Timeout:
            raise StoreLockTimeout(
                f"Another robot held the {self.what} {self.path} for over {limit:g} "
                "seconds. If no robot is running, delete that file."
            ) from None
        except OSError as error:
            raise StoreError(
                f"The {self.what} {self.path} cannot be used ({error.strerror}). Check the folder's "
                "permissions, or remove the file if no robot is running."
            ) from None
        try:
            yield
        finally:
            self._lock.release()
