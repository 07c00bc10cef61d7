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
from datetime import datetime, time, timedelta, tzinfo

from ..errors import ConfigurationError

_UNITS = {
    "d": 86400, "day": 86400, "days": 86400,
    "h": 3600, "hour": 3600, "hours": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "ms": 0.001, "millis": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"(?P<days>[a-z]{3}(?:-[a-z]{3})?(?:\s*,\s*[a-z]{3}(?:-[a-z]{3})?)*)\s+"
                    r"(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})")


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
    try:
        return float(text)
    except ValueError:
        pass
    clock = _CLOCK.fullmatch(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    parts = _PART.findall(text)
    if parts and _PART.sub("", text).strip() == "" and all(unit in _UNITS for _, unit in parts):
        return sum(float(number) * _UNITS[unit] for number, unit in parts)
    raise ConfigurationError(setting, f"'{text}' is not a time such as '30 minutes', '1 h 30 min', '90 s' or "
                                      "'1:30:00'")


def parse_durations(text: object, setting: str) -> tuple[float, ...]:
    """A comma-separated list of times (``2 hours, 15 minutes``), longest first, without repeats."""
    if isinstance(text, (list, tuple)):
        items = list(text)
    elif isinstance(text, str):
        items = [part for part in text.split(",") if part.strip()]
    else:
        raise ConfigurationError(setting, "give times separated by commas, such as '2 hours, 15 minutes'")
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

    def last_working_moment_before(self, moment: datetime) -> datetime | None:
        """The latest moment at or before ``moment`` within working hours (within 8 days), or None."""
        if self.is_working(moment):
            return moment
        best: datetime | None = None
        for back in range(0, 9):
            day = (moment - timedelta(days=back)).date()
            for weekday, start, end in self.spans:
                if weekday != day.weekday():
                    continue
                closing = datetime.combine(day, end, tzinfo=moment.tzinfo) - timedelta(minutes=1)
                opening = datetime.combine(day, start, tzinfo=moment.tzinfo)
                candidate = min(closing, moment)
                if candidate >= opening and (best is None or candidate > best):
                    best = candidate
            if best is not None:
                return best
        return None


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


def reminder_times(expires_at: float, leads: Sequence[float], hours: WorkingHours | None,
                   zone: tzinfo | None) -> list[tuple[float, float]]:
    """``(lead, due_at)`` for each lead time: due once less than ``lead`` remains, moved to the last
    working moment before when ``hours`` say that moment is outside them."""
    due = []
    for lead in leads:
        at = expires_at - lead
        if hours is not None:
            moment = datetime.fromtimestamp(at, zone).astimezone(zone)
            working = hours.last_working_moment_before(moment)
            if working is not None:
                at = working.timestamp()
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
