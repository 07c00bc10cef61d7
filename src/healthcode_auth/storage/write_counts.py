"""How many times each token file was written, as this process saw it (the file store's claims).

A token file put back from a copy (a restored backup, a sync client resolving a conflict) brings
back that copy's claims and watermark, and maybe its modification time (``cp -a``, ``rsync -a``):
the claims made since are gone without a trace. So each write records a count, one above the
last, and a random id; the file keeps the ids of its last :data:`KEPT_IDS` writes. A process
remembers the count and id of the newest write it saw. A file that reads lower, or whose ids at
that count are not the ones seen (the fleet wrote on from a copy: a fork), was put back; this
process then counts the claims as let go when it noticed: a sign-in started before then is refused
(a replay of it could not be told), later ones go on. A process that never saw the file newer
than the copy, or last saw it more than :data:`KEPT_IDS` writes ago, cannot tell; an older
library's file (no count) has its own rule (its modification time).

Counts belong to a *line* of writes, named by a random id. A file that an older library rewrote
(no count or no line) or that was deleted starts a new line at its next write, so a count that
restarts is never taken for a copy put back: counts are compared within one line. A line this
process saw replaced is over: a copy on it was put back too (a backup from before the deletion).
Each file keeps its last :data:`KEPT_LINES` lines that ended. A new line starts at the time in
milliseconds, above the counts before it, so that even a library from before lines (which
compares every count) sees it rise.

A file last written by a library from before lines is not compared: that library counts on from
its own highest count when the file has none (a library from before the counts dropped it), so
a lower count there is no sign of a copy; a copy it wrote, put back, cannot be told. The file
store says so in the log: upgrade every robot.

What a read is checked against is taken before the read starts (:func:`seen`): what the file had
on disk then. A read that finds the file behind only what another thread noted while it ran
found a file that thread has read past, not a copy: it changes nothing.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, replace

KEPT_IDS = 64  # a fork is told by a process that saw the file within its last 64 writes
KEPT_LINES = 64  # a copy from a line ended before the last 64 is not told
LARGEST_START = 2**50  # a count above this (a hostile file's) is not counted on from

_lock = threading.Lock()


@dataclass(frozen=True)
class Written:
    """Where a file's writes are: its line, its count there, the ids of its last writes (newest last)."""

    line: str
    count: int
    ids: tuple[str, ...]

    def then(self) -> Written:
        """The next write."""
        return Written(self.line, self.count + 1, (*self.ids, secrets.token_hex(6))[-KEPT_IDS:])


@dataclass(frozen=True)
class Lines:
    """What this process saw of one file's writes: the newest write, lines ended, when it last
    found the file put back."""

    newest: Written | None = None
    ended: tuple[str, ...] = ()
    top: int = 0  # the highest count of any line
    noticed: float = 0.0

    def behind(self, written: Written | None) -> bool:
        """The file, at ``written`` (None: no line), is behind what this saw: a copy put back (or a
        fork of one)."""
        if written is None:
            return False  # a library from before lines wrote it last: not told (see above)
        if written.line in self.ended:
            return True
        newest = self.newest
        if newest is None or written.line != newest.line:
            return False  # a new line
        if written.count < newest.count:
            return True
        back = written.count - newest.count  # the seen write's place among the file's last ids
        return back < len(written.ids) and bool(newest.ids) and written.ids[-1 - back] != newest.ids[-1]


_files: dict[str, Lines] = {}  # file id -> what this process read or wrote of it


def seen(where: str) -> Lines:
    """What this process saw of the file, taken before a read starts."""
    with _lock:
        return _files.setdefault(where, Lines())


def new_line(where: str, counted: int | None) -> Written:
    """A new line's first write (the file had no line; ``counted``: its count, if it had one)."""
    top = max(seen(where).top, counted or 0)
    now = int(time.time() * 1000)
    start = max(top, now) if top < LARGEST_START else now
    return Written(secrets.token_hex(8), start, ()).then()  # its first count: one above


def read(where: str, before: Lines, written: Written) -> bool:
    """This process read the file at ``written``, having seen ``before`` when the read started. True
    when it was put back (noted now); False otherwise, noting it as the newest write seen unless
    another thread noted something since the read started."""
    with _lock:
        lines = _files.get(where, Lines())
        if before.behind(written):
            if lines.noticed != before.noticed:
                return False  # another thread found it put back while this read ran
            _files[where] = _after(lines, written, noticed=time.time())
            return True
        newest = lines.newest
        # A read of another line than one another thread noted while it ran may be the older: left out.
        current = lines is before or (newest is not None and newest.line == written.line)
        newer = newest is None or written.line != newest.line or written.count > newest.count
        if current and newer:
            _files[where] = _after(lines, written)
        return False


def wrote(where: str, written: Written) -> None:
    """This process wrote the file at ``written``, under its lock: the newest write there is."""
    with _lock:
        _files[where] = _after(_files.get(where, Lines()), written)


def _after(lines: Lines, written: Written, *, noticed: float | None = None) -> Lines:
    ended = [e for e in lines.ended if e != written.line]
    if lines.newest is not None and lines.newest.line != written.line:
        ended.append(lines.newest.line)
    return replace(
        lines,
        newest=written,
        ended=tuple(ended[-KEPT_LINES:]),
        top=max(lines.top, written.count),
        noticed=lines.noticed if noticed is None else noticed,
    )


def lost_at(where: str) -> float:
    """When this process last found the file put back (0.0: never)."""
    with _lock:
        return _files.get(where, Lines()).noticed
