"""How many times each token file was written, as this process saw it (the file store's claims).

A file that reads as written fewer times than this process saw was put back from a copy: a
restored backup, a sync client resolving a conflict. Its claims and watermark are that copy's,
and its modification time may be too (``cp -a``, ``rsync -a``), so the claims made since are gone
without a trace. This process then counts them as let go when it noticed: a sign-in started
before then is refused (a replay of it could not be told), later ones go on. A process that never
saw the higher count cannot tell; an older library's file (no count) has its own rule (its
modification time). Counts only rise on disk: every write is made under the file's lock, one
above the highest this process saw.

Counts belong to a *line* of writes, named by a random id written beside the count. A file that
an older library rewrote (no count) or that was deleted starts a new line at the next write, so a
count that restarts is never taken for a copy put back: counts are compared within one line only.
A new line starts at the time in milliseconds, above the counts of earlier lines, so that even a
library from before lines (which compares every count) sees it rise.
"""

from __future__ import annotations

import secrets
import threading
import time

_lock = threading.Lock()
_highest: dict[tuple[str, str], int] = {}  # (file id, line) -> the highest count this process read or wrote
_went_back_at: dict[str, float] = {}  # file id -> when this process last found it put back


def new_line(where: str) -> tuple[str, int]:
    """A new line of writes for the file, and the count it starts from (its first write is one above)."""
    with _lock:
        highest = max((n for (w, _), n in _highest.items() if w == where), default=0)
    return secrets.token_hex(8), max(highest, int(time.time() * 1000))


def seen(where: str) -> dict[str, int]:
    """The highest count this process saw for the file, by line. Taken before a read starts, each is
    one the file had on disk then; counts only rise on disk, so a read that finds less in the same
    line found a copy put back (a count noted while the read runs may be newer than what the read
    finds: not that)."""
    with _lock:
        return {line: n for (w, line), n in _highest.items() if w == where}


def noted(where: str, line: str, writes: int) -> None:
    """This process read or wrote the file at ``writes`` in ``line``."""
    with _lock:
        _highest[(where, line)] = max(writes, _highest.get((where, line), 0))


def went_back(where: str, line: str, writes: int) -> float:
    """The file reads at ``writes``, below what this process saw of its line before reading it: it
    was put back. From now on the line's count is the copy's (the fleet writes on from there);
    returns the time noted."""
    with _lock:
        _highest[(where, line)] = writes
        _went_back_at[where] = time.time()
        return _went_back_at[where]


def lost_at(where: str) -> float:
    """When this process last found the file put back (0.0: never)."""
    with _lock:
        return _went_back_at.get(where, 0.0)


def next_count(where: str, line: str, writes: int) -> int:
    """The count a write records: one above both what it read and what this process saw of the line."""
    with _lock:
        return max(writes, _highest.get((where, line), 0)) + 1
