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
an older library rewrote (no count) or that was deleted starts a new line at its next write, so a
count that restarts is never taken for a copy put back: counts are compared within one line. A
line this process saw replaced by another is over: a copy on it was put back too (a backup from
before the deletion). Each file keeps its last :data:`KEPT_LINES` lines that ended. A new line
starts at the time in milliseconds, above the counts of earlier lines, so that even a library
from before lines (which compares every count) sees it rise.

What a read is checked against is taken before the read starts (:func:`seen`): what the file had
on disk then. A thread's read that finds a line ended, or a count lower, only since it started
found a file another thread has read past, not a copy.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, replace

KEPT_LINES = 64  # a copy from a line ended before the last 64 is not told
LARGEST_START = 2**50  # a count above this (a hostile file's) is not counted on from

_lock = threading.Lock()


@dataclass(frozen=True)
class Lines:
    """What this process saw of one file's writes: its line now, the count there, lines ended."""

    current: str | None = None
    highest: int = 0
    ended: tuple[str, ...] = ()
    top: int = 0  # the highest count of any line

    def behind(self, line: str, writes: int) -> bool:
        """The file reads at ``writes`` in ``line``: a copy put back, as of what this saw."""
        return line in self.ended or (line == self.current and writes < self.highest)


_files: dict[str, Lines] = {}  # file id -> what this process read or wrote of it
_went_back_at: dict[str, float] = {}  # file id -> when this process last found it put back


def seen(where: str) -> Lines:
    """What this process saw of the file before a read starts (each count one the file had)."""
    with _lock:
        return _files.get(where, Lines())


def new_line(where: str) -> tuple[str, int]:
    """A new line of writes for the file, and the count it starts from (its first write is one above)."""
    top = seen(where).top
    now = int(time.time() * 1000)
    return secrets.token_hex(8), max(top, now) if top < LARGEST_START else now


def noted(where: str, line: str, writes: int) -> None:
    """This process read or wrote the file at ``writes`` in ``line``."""
    with _lock:
        lines = _files.get(where, Lines())
        if line in lines.ended:
            return  # a read that started before another thread saw the line end: nothing new
        top = max(lines.top, writes)
        if line == lines.current:
            _files[where] = replace(lines, highest=max(lines.highest, writes), top=top)
        else:  # a new line: the one before it is over
            _files[where] = Lines(line, writes, _ended(lines, line), top)


def went_back(where: str, line: str, writes: int) -> float:
    """The file reads at ``writes`` in ``line``, behind what this process saw before reading it: it was
    put back. From now on the copy's line and count are the file's (the fleet writes on from there);
    returns the time noted."""
    with _lock:
        lines = _files.get(where, Lines())
        _files[where] = Lines(line, writes, _ended(lines, line), max(lines.top, writes))
        _went_back_at[where] = time.time()
        return _went_back_at[where]


def _ended(lines: Lines, line: str) -> tuple[str, ...]:
    ended = [e for e in lines.ended if e != line]
    if lines.current is not None and lines.current != line:
        ended.append(lines.current)
    return tuple(ended[-KEPT_LINES:])


def lost_at(where: str) -> float:
    """When this process last found the file put back (0.0: never)."""
    with _lock:
        return _went_back_at.get(where, 0.0)


def next_count(where: str, line: str, writes: int) -> int:
    """The count a write records: one above both what it read and what this process saw of the line."""
    lines = seen(where)
    return max(writes, lines.highest if line == lines.current else 0) + 1
