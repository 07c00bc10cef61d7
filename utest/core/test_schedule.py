"""Times in the supervisor's terms: durations, working hours, when reminders fall due, and how a time
reads ("today at 14:05, in 2 h 10 min")."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from healthcode_auth import ConfigurationError, HealthcodeConfig
from healthcode_auth.protocol.schedule import (
    describe_duration,
    describe_when,
    parse_duration,
    parse_durations,
    parse_working_hours,
    reminder_times,
)

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(("text", "seconds"), [
    ("30 minutes", 1800), ("1 h 30 min", 5400), ("90 s", 90), ("1:30:00", 5400), ("5400", 5400), ("2 hours", 7200),
    ("1 day", 86400), ("1d 2h", 93600), ("500 ms", 0.5), (" 15 MINUTES ", 900), (0, 0), (12.5, 12.5),
])
def test_durations_read_as_robot_framework_writes_them(text, seconds):
    assert parse_duration(text, "wait_for_authorisation") == seconds


@pytest.mark.parametrize("text", ["", "soon", "30 fortnights", "-5", "1:99:x", "400 days", None, True, "5 minutes later"])
def test_anything_else_is_a_clear_error_naming_the_setting(text):
    with pytest.raises(ConfigurationError, match="wait_for_authorisation"):
        parse_duration(text, "wait_for_authorisation")


def test_lead_times_are_a_list_longest_first():
    assert parse_durations("15 minutes, 2 hours, 15 minutes", "remind_before") == (7200, 900)


def test_the_default_lead_times_are_two_hours_and_fifteen_minutes():
    config = HealthcodeConfig(client_id="c", redirect_uri="https://bot.example/cb")
    assert config.remind_before == (7200, 900)
    assert config.wait_for_authorisation == 0 and config.notify == ()


def at(text, zone=LONDON):
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def test_a_reminder_is_due_once_less_than_its_lead_time_remains():
    ends = at("2026-12-03T14:05")
    assert reminder_times(ends, (7200, 900), None, LONDON) == [(7200, at("2026-12-03T12:05")),
                                                               (900, at("2026-12-03T13:50"))]


def test_a_reminder_outside_working_hours_goes_at_the_last_working_moment_before():
    hours = parse_working_hours("Mon-Fri 08:00-18:00")
    saturday_morning = at("2026-12-05T09:30")  # a Saturday: the authorisation ends at 09:30
    due = dict(reminder_times(saturday_morning, (7200, 900), hours, LONDON))
    assert due[7200] == due[900] == at("2026-12-04T17:59")  # Friday, before closing
    early = at("2026-12-03T08:30")  # Thursday 08:30: the 2-hour reminder would be 06:30
    assert dict(reminder_times(early, (7200,), hours, LONDON))[7200] == at("2026-12-02T17:59")


@pytest.mark.parametrize("text", ["Mon-Fri", "08:00-18:00", "Mon-Fri 18:00-08:00", "Funday 08:00-18:00",
                                  "Mon-Fri 25:00-26:00", "Mon-Fri 08:00-18:00 and more"])
def test_working_hours_that_do_not_read_are_a_clear_error(text):
    with pytest.raises(ConfigurationError, match="remind_hours"):
        parse_working_hours(text)


def test_several_spans_and_a_week_that_wraps():
    hours = parse_working_hours("Mon-Fri 08:00-18:00, Sat 09:00-12:00, Sun-Mon 20:00-21:00")
    assert hours.is_working(datetime(2026, 12, 5, 10, 0, tzinfo=LONDON))  # Saturday 10:00
    assert hours.is_working(datetime(2026, 12, 6, 20, 30, tzinfo=LONDON))  # Sunday 20:30
    assert not hours.is_working(datetime(2026, 12, 6, 10, 0, tzinfo=LONDON))


@pytest.mark.parametrize(("when", "reads"), [
    ("2026-12-03T14:05", "today at 14:05, in 2 h 5 min"),
    ("2026-12-04T09:00", "tomorrow at 09:00, in 21 h 0 min"),
    ("2026-12-05T14:05", "on Sat 5 Dec at 14:05, in 2 days 2 h"),
    ("2026-12-03T11:35", "today at 11:35, 25 min ago"),
    ("2026-12-03T12:00", "today at 12:00, now"),
])
def test_a_time_reads_as_a_supervisor_says_it(when, reads):
    assert describe_when(at(when), now=at("2026-12-03T12:00"), zone=LONDON) == reads


def test_the_time_zone_is_the_supervisors():
    ends = datetime(2026, 7, 1, 13, 5, tzinfo=timezone.utc).timestamp()  # 14:05 in London (summer time)
    assert describe_when(ends, ends - 3600, LONDON).startswith("today at 14:05")


def test_durations_read_without_when():
    assert [describe_duration(s) for s in (20, 1500, 7800, 93600)] == ["less than a minute", "25 min",
                                                                       "2 h 10 min", "1 day 2 h"]
