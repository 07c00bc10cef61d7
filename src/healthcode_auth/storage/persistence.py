"""A file's bytes: read bounded, written whole (atomically, privately), or set aside.

The file store's persistence: it knows nothing of sealing or entries (msal-extensions'
``FilePersistence`` is the model). What it refuses (links, FIFOs, other users' files) it refuses
with a :class:`~healthcode_auth.errors.StoreError` that says so; what is larger than it may be is a
:class:`TooLarge`, for the caller to report.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from ..errors import StoreError
from .private_files import read_private_file, retry_while_in_use, write_atomically


class TooLarge(ValueError):
    """The file is larger than anything this library writes there."""


class FilePersistence:
    """The bytes of one private file."""

    def __init__(self, path: Path, *, what: str, max_bytes: int) -> None:
        self.path = path
        self.what = what
        self.max_bytes = max_bytes

    def stat(self) -> os.stat_result | None:
        """The file's status (None when there is none), for telling an unchanged file at once."""
        try:
            return retry_while_in_use(lambda: os.lstat(self.path), self.path, self.what, "read")
        except FileNotFoundError:
            return None

    def read(self) -> bytes | None:
        """The file's bytes, or None when there is none; TooLarge beyond ``max_bytes``."""
        try:
            return read_private_file(self.path, max_bytes=self.max_bytes, what=self.what)
        except ValueError as error:
            raise TooLarge(str(error)) from None

    def write(self, data: bytes) -> None:
        """Replace the file with ``data``; a StoreError that says why when it cannot (a full disk, a
        folder that refuses writes): the file then holds what it held before."""
        try:
            write_atomically(self.path, data, what=self.what)
        except StoreError:
            raise
        except OSError as error:
            raise StoreError(
                f"The {self.what} {self.path} could not be written ({error.strerror or error}); it holds what it "
                "held before. Check the disk's free space and the folder's permissions, then try again."
            ) from None

    def set_aside(self, reason: str) -> Path:
        """Rename the file to ``<name>.<reason>-<UTC time>-<random>`` beside it (kept, private) and
        return the new path."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.{reason}-{stamp}-{secrets.token_hex(2)}")
        retry_while_in_use(lambda: os.rename(self.path, aside), self.path, self.what, "moved")
        return aside
