"""How many times each token file was written, as this process saw it (the file store's claims).

A file that reads as written fewer times than this process saw was put back from a copy: a
restored backup, a sync client resolving a conflict. Its claims and watermark are that copy's,
and its modification time may be too (``cp -a``, ``rsync -a``), so the claims made since are gone
without a trace. This process then counts them as let go when it noticed: a sign-in started
before then is refused (a replay of it could not be told), later ones go on. A process that never
saw the higher count cannot tell; an older library's file (no count) has its own rule (its
modification time). Counts only rise on disk: every write is made under the file's lock, one
above the highest this process saw.
"""

from __future__ import annotations

import threading
import time

_lock = threading.Lock()
_highest: dict[str, int] = {}  # file id -> the highest count this process read or wrote
_went_back_at: dict[str, float] = {}  # file id -> when this process last found it put back


def seen(where: str) -> int:
    """The highest count this process saw for the file (0: none). Taken before a read starts, it is
    one the file had on disk then; counts only rise on disk, so a read that finds less found a copy
    put back (a count noted while the read runs may be newer than what the read finds: not that)."""
    with _lock:
        return _highest.get(where, 0)


def noted(where: str, writes: int) -> None:
    """This process read or wrote the file at ``writes``."""
    with _lock:
        _highest[where] = max(writes, _highest.get(where, 0))


def went_back(where: str, writes: int) -> float:
    """The file reads at ``writes``, below what this process saw before reading it: it was put back.
    From now on its count is the copy's (the fleet writes on from there); returns the time noted."""
    with _lock:
        _highest[where] = writes
        _went_back_at[where] = time.time()
        return _went_back_at[where]


def lost_at(where: str) -> float:
    """When this process last found the file put back (0.0: never)."""
    with _lock:
        return _went_back_at.get(where, 0.0)


def next_count(where: str, writes: int | None) -> int:
    """The count a write records: one above both what it read and what this process saw."""
    with _lock:
        return max(writes or 0, _highest.get(where, 0)) + 1
