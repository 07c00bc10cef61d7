"""Private files: created in private folders, written so that a crash leaves the old content or the
new (never a torn file), and read without following links, without blocking, and only when they
are what they claim to be.

On POSIX a folder that holds the token cache or the key must belong to this user and be writable
by nobody else, and a key file must be readable by nobody else; a symbolic link, a FIFO or a device
where a file should be is refused. Windows has neither modes nor the same links: there the
per-user folders' ACLs protect the files (``docs/security.md``). Windows also refuses, for a
moment, to replace or open a file that another process holds open (a robot reading the token cache,
an antivirus scanner, a backup tool): there opening and replacing are retried for about two seconds
before a clear :class:`FileInUseError`, so a renewal is not lost and a reader never mistakes a busy
file for a missing one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import FileInUseError, StoreError

PRIVATE = 0o600
PRIVATE_FOLDER = 0o700
POSIX = os.name == "posix"
# Pauses between attempts while Windows refuses a file another process holds open: about 2 s in all.
WINDOWS_RETRY_DELAYS = (0.01, 0.02, 0.04, 0.08, 0.15, 0.25, 0.35, 0.5, 0.6)
_T = TypeVar("_T")


def retries_files_in_use() -> bool:
    """True where a file held open by another process cannot be replaced or opened for a moment."""
    return sys.platform == "win32"


def retry_while_in_use(action: Callable[[], _T], path: Path, what: str, doing: str) -> _T:
    """``action()``, retried on Windows while it fails with PermissionError (WinError 5 access denied,
    32 sharing violation, 33 lock violation: another process has ``path`` open, or a replace of it is
    under way). Raises :class:`FileInUseError` when that lasts beyond the retries; elsewhere, and for
    any other error, ``action``'s own exception."""
    delays = WINDOWS_RETRY_DELAYS if retries_files_in_use() else ()
    for delay in delays:
        try:
            return action()
        except PermissionError:
            time.sleep(delay)
    try:
        return action()
    except PermissionError as error:
        if not delays:
            raise
        raise FileInUseError(
            f"The {what} {path} could not be {doing}: another program (a robot, an antivirus scanner or a backup "
            f"tool) kept it open for over {sum(delays):g} seconds ({error.strerror}). Try again; if it persists, "
            "exclude the folder from scanning and backups while robots run."
        ) from error


def ensure_private_folder(folder: Path, what: str = "token cache") -> None:
    """Create ``folder`` and its missing parents with mode 0700 (whatever the umask), then check it."""
    missing: list[Path] = []
    current = folder
    while not os.path.lexists(current) and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, PRIVATE_FOLDER)
        except FileExistsError:
            continue  # another robot made it first; checked below like any existing folder
        if POSIX:
            os.chmod(path, PRIVATE_FOLDER)  # mkdir's mode is masked by the umask; ours is not
    check_folder(folder, what)


def check_folder(folder: Path, what: str = "token cache") -> None:
    """Refuse a folder that another user owns, or that others can write (they could swap our files)."""
    try:
        status = os.stat(folder)
    except OSError as error:
        raise StoreError(
            f"The {what} folder {folder} cannot be used ({error.strerror}). Check the path and its permissions."
        ) from None
    if not stat.S_ISDIR(status.st_mode):
        raise StoreError(f"The {what} folder {folder} is not a folder. Give a path inside a folder of your own.")
    if not POSIX:
        return  # no POSIX owners or modes: the per-user folder's ACL protects it
    _refuse_others_links(folder, what)
    if _owned_by_another_user(status):
        raise StoreError(
            f"The {what} folder {folder} belongs to another user. Use a folder of your own (the "
            "default per-user folder, or a path you created), or run the robots as its owner."
        )
    if status.st_mode & 0o022:
        raise StoreError(
            f"Other users can write to the {what} folder {folder}, so they could replace its files. "
            f"Run 'chmod go-w {folder}' or use a private folder, then try again."
        )


def _refuse_others_links(folder: Path, what: str) -> None:
    """A symbolic link on the way to the folder that another user owns (one planted in a shared,
    sticky /tmp, say) lets that user move our files wherever they like, later: refused, as
    Linux's fs.protected_symlinks would. Links of root's and of this user's are followed."""
    geteuid = getattr(os, "geteuid", None)  # POSIX only: Windows has no such owners
    if geteuid is None:
        return
    current = Path(os.path.abspath(folder))
    for path in (*reversed(current.parents), current):
        try:
            status = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISLNK(status.st_mode) and status.st_uid not in (geteuid(), 0):
            raise StoreError(
                f"The {what} folder {folder} is reached through the symbolic link {path}, which belongs "
                "to another user: they could redirect the files. Use a folder of your own (the default "
                "per-user folder, or a path you created)."
            )


def read_private_file(path: Path, *, max_bytes: int, what: str, private: bool = False) -> bytes | None:
    """The file's bytes, or None when there is none. Never follows a symbolic link or blocks on a
    FIFO; refuses anything but a regular file of this user's (and, with ``private``, one that others
    can read). Raises StoreError saying what is wrong (FileInUseError when Windows kept refusing to
    open it); ValueError when it is larger than ``max_bytes``.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)

    def open_file() -> int:
        try:
            return os.open(path, flags)
        except PermissionError:
            if os.path.isdir(path):  # what Windows says for a folder: nothing to wait for
                raise IsADirectoryError(errno.EISDIR, "a folder, not a file") from None
            raise

    try:
        descriptor = retry_while_in_use(open_file, path, what, "read")
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP or os.path.islink(path):
            raise StoreError(
                f"The {what} {path} is a symbolic link. Remove it; the library writes a file of its own there."
            ) from None
        raise StoreError(f"The {what} {path} cannot be read ({error.strerror}).") from None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise StoreError(
                f"The {what} {path} is not a regular file (a FIFO, a device or a folder). Remove it and try again."
            )
        if _owned_by_another_user(status):
            raise StoreError(
                f"The {what} {path} belongs to another user. Run the robots as the user who signed "
                "in, or remove the file and sign in again."
            )
        if POSIX and private and status.st_mode & 0o077:
            raise StoreError(
                f"The {what} {path} can be read by other users. Run 'chmod 600 {path}' and sign in "
                "again (the token may have been exposed)."
            )
        if status.st_size > max_bytes:
            raise ValueError(f"it is {status.st_size} bytes, too large to be a {what}")
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ValueError(f"it is larger than {max_bytes} bytes, too large to be a {what}")
        return data
    finally:
        os.close(descriptor)


def _owned_by_another_user(status: os.stat_result) -> bool:
    if sys.platform != "win32" and POSIX:
        return status.st_uid != os.geteuid()
    return False  # no POSIX owners on Windows: the per-user folder's ACL protects the file


def refuse_link(path: Path, what: str) -> None:
    """A symbolic link where we are about to create or lock a file would redirect our write."""
    if os.path.islink(path):
        raise StoreError(f"The {what} {path} is a symbolic link. Remove it; the library makes the file itself.")


def write_atomically(path: Path, data: bytes, *, exclusive: bool = False, what: str = "token cache") -> bool:
    """Write ``data`` to ``path`` through a private temporary file, fsync and rename.

    With ``exclusive`` the file is only created when it does not exist yet (a hard link, which is
    atomic), and False is returned when another process created it first. On Windows the rename is
    retried while another process holds the file open; FileInUseError when that lasts.
    """
    ensure_private_folder(path.parent, what)
    refuse_link(path, what)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.chmod(temporary, PRIVATE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(temporary, path)
            except FileExistsError:
                return False
        else:
            retry_while_in_use(lambda: os.replace(temporary, path), path, what, "replaced")
        _fsync_directory(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError, PermissionError):  # a scanner may hold it briefly on Windows
            os.unlink(temporary)


def _fsync_directory(folder: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on Windows.
    if os.name == "nt":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
