"""Times in the supervisor's terms: durations as Robot Framework writes them, working hours, when
reminders fall due, and "today at 14:05, in 2 h 10 min".

Pure functions: the clock and the time zone are arguments. Durations take Robot Framework's time
format (``2 hours, 15 minutes`` is two durations; ``1 h 30 min``, ``90 s``, ``1:30:00`` and
``5400`` are one each), as the library's other time settings do, without importing Robot
Framework into the core.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from ..errors import ConfigurationError

_UNITS = {
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "ms": 0.001,
    "millis": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
}
# ASCII digits only (re.ASCII): no '1_000', no digits of other scripts, as a supervisor types a time.
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)", re.ASCII)
_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)", re.ASCII)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(
    r"(?P<days>[a-z]{3}(?:-[a-z]{3})?(?:\s*,\s*[a-z]{3}(?:-[a-z]{3})?)*)\s+"
    r"(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})"
)


def parse_duration(text: object, setting: str) -> float:
    """Seconds in ``text``: a number of seconds, ``1 h 30 min`` (Robot Framework's units) or
    ``1:30:00``; ConfigurationError naming ``setting`` for anything else or a negative time."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    elif isinstance(text, str) and text.strip():
        seconds = _seconds_in(text.strip().lower(), setting)
    else:
        raise ConfigurationError(setting, "give a time such as '30 minutes', '1 h 30 min' or '90'")
    if not 0 <= seconds <= 366 * 86400:
        raise ConfigurationError(setting, f"'{text}' is not a time from 0 to 366 days")
    return seconds


def _seconds_in(text: str, setting: str) -> float:
    if text.isascii() and "_" not in text:  # float() alone would read '1_000' and Arabic-Indic digits
        try:
            return float(text)
        except ValueError:
            pass
    clock = _CLOCK.fullmatch(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        # The first field is free (90:00 is 90 minutes); the ones after it count minutes and seconds.
        if (hours is not None and int(minutes) > 59) or float(seconds) >= 60:
            raise ConfigurationError(
                setting,
                f"'{text}' is not a time: in 'h:mm:ss' and 'm:ss' the minutes and "
                "seconds go from 0 to 59, such as '1:30:00'",
            )
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    parts = _PART.findall(text)
    if parts and _PART.sub("", text).strip() == "" and all(unit in _UNITS for _, unit in parts):
        return sum(float(number) * _UNITS[unit] for number, unit in parts)
    raise ConfigurationError(setting, f"'{text}' is not a time such as '30 minutes', '1 h 30 min', '90 s' or '1:30:00'")


def parse_durations(text: object, setting: str) -> tuple[float, ...]:
    """A comma-separated list of times (``2 hours, 15 minutes``), longest first, without repeats."""
    if isinstance(text, (list, tuple)):
        items = list(text)
    elif isinstance(text, str):
        items = [part for part in text.split(",") if part.strip()]
    else:
        raise ConfigurationError(setting, "give times separated by commas, such as '2 hours, 15 minutes'")
    if not items:
        raise ConfigurationError(
            setting,
            f"{str(text).strip()!r} has no time in it: give one or more times "
            "separated by commas, such as '2 hours, 15 minutes'",
        )
    return tuple(sorted({parse_duration(item, setting) for item in items}, reverse=True))


@dataclass(frozen=True)
class WorkingHours:
    """When reminders may go: per weekday (0 Monday), the (start, end) times of day."""

    spans: tuple[tuple[int, time, time], ...]
    text: str

    def __repr__(self) -> str:
        return f"WorkingHours({self.text!r})"

    def is_working(self, moment: datetime) -> bool:
        return any(day == moment.weekday() and start <= moment.time() < end for day, start, end in self.spans)

    def last_working_moment_before(self, at: float, zone: tzinfo | None) -> float | None:
        """The latest instant at or before ``at`` when the clocks in ``zone`` (None: this machine's)
        read a working time, within 8 days, or None: a working day's closing minute, or ``at`` itself.

        Computed in UTC and checked as the clocks read after conversion, so daylight saving never
        gives a moment outside the hours: a closing time that does not exist (skipped in spring) gives
        the last minute before the clocks jumped, and of one that happens twice (autumn) the later
        one not after ``at`` is taken.
        """
        if self.is_working(_local(at, zone)):
            return at
        today = _local(at, zone).date()
        for back in range(0, 9):
            day = today - timedelta(days=back)
            found = [
                self._latest_in(day, start, end, at, zone)
                for weekday, start, end in self.spans
                if weekday == day.weekday()
            ]
            latest = max((moment for moment in found if moment is not None), default=None)
            if latest is not None:
                return latest
        return None

    def _latest_in(self, day: date, start: time, end: time, at: float, zone: tzinfo | None) -> float | None:
        """The latest working instant not after ``at`` nor after the closing minute of the span
        ``start``-``end`` on ``day``, from that minute back to the span's opening, minute by minute
        (a step or two but where the clocks change)."""
        opening = min(_instants(datetime.combine(day, start), zone))
        closing = max(_instants(datetime.combine(day, end) - timedelta(minutes=1), zone))
        moment = min(at, closing)
        while moment >= opening:
            if self.is_working(_local(moment, zone)):
                return moment
            moment -= 60
        return None


def _local(at: float, zone: tzinfo | None) -> datetime:
    """The instant ``at`` as the clocks in ``zone`` (None: this machine's) read it."""
    return datetime.fromtimestamp(at, timezone.utc).astimezone(zone)


def _instants(wall: datetime, zone: tzinfo | None) -> tuple[float, float]:
    """Both readings (PEP 495 ``fold``) of the clock time ``wall`` in ``zone`` as instants: the same
    instant twice on an ordinary day, the two instants of an hour that happens twice, and two
    instants around the jump for a time the clocks skip (none of them that time)."""
    first, second = wall.replace(fold=0, tzinfo=zone), wall.replace(fold=1, tzinfo=zone)
    return first.timestamp(), second.timestamp()


def parse_working_hours(text: object, setting: str = "remind_hours") -> WorkingHours:
    """``Mon-Fri 08:00-18:00`` (and more spans after commas: ``Mon-Fri 08:00-18:00, Sat 09:00-12:00``)."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigurationError(setting, "give days and hours such as 'Mon-Fri 08:00-18:00'")
    spans: list[tuple[int, time, time]] = []
    rest = text.strip().lower()
    for found in _RANGE.finditer(rest):
        start, end = _time_of_day(found["start"], setting), _time_of_day(found["end"], setting)
        if end <= start:
            raise ConfigurationError(setting, f"'{found.group(0)}' ends before it starts")
        for days in re.split(r"\s*,\s*", found["days"]):
            first, _, last = days.partition("-")
            for day in _day_range(first, last or first, setting):
                spans.append((day, start, end))
    leftover = _RANGE.sub("", rest).replace(",", "").strip()
    if not spans or leftover:
        raise ConfigurationError(setting, f"'{text}' is not days and hours such as 'Mon-Fri 08:00-18:00'")
    return WorkingHours(tuple(spans), text.strip())


def _time_of_day(text: str, setting: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours == 24 and minutes == 0:
        return time(23, 59, 59)
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ConfigurationError(setting, f"'{text}' is not a time of day")
    return time(hours, minutes)


def _day_range(first: str, last: str, setting: str) -> list[int]:
    if first not in _DAYS or last not in _DAYS:
        raise ConfigurationError(setting, f"'{first}' or '{last}' is not a day: use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
    start, end = _DAYS.index(first), _DAYS.index(last)
    return [day % 7 for day in range(start, end + 1 if end >= start else end + 8)]


def reminder_times(
    expires_at: float, leads: Sequence[float], hours: WorkingHours | None, zone: tzinfo | None
) -> list[tuple[float, float]]:
    """``(lead, due_at)`` for each lead time: due once less than ``lead`` remains, moved to the last
    working moment before when ``hours`` say that moment is outside them (as the clocks in ``zone``
    read, daylight saving included: never outside the hours, never later than it was due)."""
    due = []
    for lead in leads:
        at = expires_at - lead
        if hours is not None:
            working = hours.last_working_moment_before(at, zone)
            if working is not None:
                at = working
        due.append((lead, at))
    return due


def describe_when(timestamp: float, now: float, zone: tzinfo | None = None) -> str:
    """``today at 14:05, in 2 h 10 min``; ``tomorrow at 09:00, in 20 h 55 min``; ``on Sat 5 Dec at
    14:05, in 3 days 2 h``; ``today at 13:40, 25 min ago``: a time as a supervisor reads it."""
    moment = datetime.fromtimestamp(timestamp, zone).astimezone(zone)
    today = datetime.fromtimestamp(now, zone).astimezone(zone).date()
    days = (moment.date() - today).days
    day = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(days, f"on {moment:%a} {moment.day} {moment:%b}")
    return f"{day} at {moment:%H:%M}, " + describe_span(timestamp - now)


def describe_span(seconds: float) -> str:
    """``in 2 h 10 min`` / ``25 min ago`` / ``in 3 days 2 h`` / ``now``."""
    ahead = seconds >= 0
    left = abs(int(seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes = left // 60
    if days:
        text = f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    elif hours:
        text = f"{hours} h {minutes} min"
    elif minutes:
        text = f"{minutes} min"
    else:
        return "now"
    return f"in {text}" if ahead else f"{text} ago"


def describe_duration(seconds: float) -> str:
    """``2 h 10 min``, ``3 days 2 h``, ``25 min``, ``less than a minute``: how long, without when."""
    said = describe_span(abs(seconds))
    return "less than a minute" if said == "now" else said.removeprefix("in ")
