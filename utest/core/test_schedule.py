"""Times in the supervisor's terms: durations, working hours, when reminders fall due, and how a time
reads ("today at 14:05, in 2 h 10 min")."""

from datetime import datetime, timedelta, timezone
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


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30 minutes", 1800),
        ("1 h 30 min", 5400),
        ("90 s", 90),
        ("1:30:00", 5400),
        ("5400", 5400),
        ("2 hours", 7200),
        ("1 day", 86400),
        ("1d 2h", 93600),
        ("500 ms", 0.5),
        (" 15 MINUTES ", 900),
        (0, 0),
        (12.5, 12.5),
    ],
)
def test_durations_read_as_robot_framework_writes_them(text, seconds):
    assert parse_duration(text, "wait_for_authorisation") == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("1.5", 1.5),
        ("1 hour 30 minutes", 5400),
        ("1h 30min", 5400),
        ("01:30:00", 5400),
        ("1:30", 90),
        ("90:00", 5400),
        ("0:59:59", 3599),
        ("1:30:00.5", 5400.5),
        ("1e2", 100),
    ],
)
def test_every_time_robot_framework_reads_is_read(text, seconds):
    assert parse_duration(text, "escalate_after") == seconds


@pytest.mark.parametrize(
    "text", ["", "soon", "30 fortnights", "-5", "1:99:x", "400 days", None, True, "5 minutes later"]
)
def test_anything_else_is_a_clear_error_naming_the_setting(text):
    with pytest.raises(ConfigurationError, match="wait_for_authorisation"):
        parse_duration(text, "wait_for_authorisation")


@pytest.mark.parametrize("text", ["1:99:99", "1:60:00", "1:30:60", "0:60", "2:00:75.5"])
def test_minutes_and_seconds_of_a_timer_go_from_0_to_59(text):
    with pytest.raises(ConfigurationError, match="escalate_after.*0 to 59"):
        parse_duration(text, "escalate_after")


@pytest.mark.parametrize(
    "text",
    [
        "1_000",
        "1_0 minutes",
        "\u0669\u0660",
        "\u0661\u0665 minutes",
        "\u0661:\u0663\u0660",
        "\uff19\uff10",
        "1 hour \u0663\u0660 minutes",
    ],
)
def test_only_ascii_digits_are_read(text):  # Arabic-Indic and full-width digits, Python's '1_000'
    with pytest.raises(ConfigurationError, match="escalate_after"):
        parse_duration(text, "escalate_after")


def test_lead_times_are_a_list_longest_first():
    assert parse_durations("15 minutes, 2 hours, 15 minutes", "remind_before") == (7200, 900)
    assert parse_durations("2 hours, 15 minutes", "remind_before") == (7200, 900)


@pytest.mark.parametrize("text", [",", " , ", ",,", "", []])
def test_a_list_without_a_time_is_an_error_not_no_reminders(text):
    with pytest.raises(ConfigurationError, match="remind_before.*no time in it"):
        parse_durations(text, "remind_before")
    with pytest.raises(ConfigurationError, match="remind_before"):
        HealthcodeConfig(client_id="c", redirect_uri="https://bot.example/cb", remind_before=text)


def test_the_default_lead_times_are_two_hours_and_fifteen_minutes():
    config = HealthcodeConfig(client_id="c", redirect_uri="https://bot.example/cb")
    assert config.remind_before == (7200, 900)
    assert config.wait_for_authorisation == 0 and config.notify == ()


def at(text, zone=LONDON):
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def test_a_reminder_is_due_once_less_than_its_lead_time_remains():
    ends = at("2026-12-03T14:05")
    assert reminder_times(ends, (7200, 900), None, LONDON) == [
        (7200, at("2026-12-03T12:05")),
        (900, at("2026-12-03T13:50")),
    ]


def test_a_reminder_outside_working_hours_goes_at_the_last_working_moment_before():
    hours = parse_working_hours("Mon-Fri 08:00-18:00")
    saturday_morning = at("2026-12-05T09:30")  # a Saturday: the authorisation ends at 09:30
    due = dict(reminder_times(saturday_morning, (7200, 900), hours, LONDON))
    assert due[7200] == due[900] == at("2026-12-04T17:59")  # Friday, before closing
    early = at("2026-12-03T08:30")  # Thursday 08:30: the 2-hour reminder would be 06:30
    assert dict(reminder_times(early, (7200,), hours, LONDON))[7200] == at("2026-12-02T17:59")


@pytest.mark.parametrize(
    "text",
    [
        "Mon-Fri",
        "08:00-18:00",
        "Mon-Fri 18:00-08:00",
        "Funday 08:00-18:00",
        "Mon-Fri 25:00-26:00",
        "Mon-Fri 08:00-18:00 and more",
    ],
)
def test_working_hours_that_do_not_read_are_a_clear_error(text):
    with pytest.raises(ConfigurationError, match="remind_hours"):
        parse_working_hours(text)


def test_several_spans_and_a_week_that_wraps():
    hours = parse_working_hours("Mon-Fri 08:00-18:00, Sat 09:00-12:00, Sun-Mon 20:00-21:00")
    assert hours.is_working(datetime(2026, 12, 5, 10, 0, tzinfo=LONDON))  # Saturday 10:00
    assert hours.is_working(datetime(2026, 12, 6, 20, 30, tzinfo=LONDON))  # Sunday 20:30
    assert not hours.is_working(datetime(2026, 12, 6, 10, 0, tzinfo=LONDON))


@pytest.mark.parametrize(
    ("when", "reads"),
    [
        ("2026-12-03T14:05", "today at 14:05, in 2 h 5 min"),
        ("2026-12-04T09:00", "tomorrow at 09:00, in 21 h 0 min"),
        ("2026-12-05T14:05", "on Sat 5 Dec at 14:05, in 2 days 2 h"),
        ("2026-12-03T11:35", "today at 11:35, 25 min ago"),
        ("2026-12-03T12:00", "today at 12:00, now"),
    ],
)
def test_a_time_reads_as_a_supervisor_says_it(when, reads):
    assert describe_when(at(when), now=at("2026-12-03T12:00"), zone=LONDON) == reads


def test_the_time_zone_is_the_supervisors():
    ends = datetime(2026, 7, 1, 13, 5, tzinfo=timezone.utc).timestamp()  # 14:05 in London (summer time)
    assert describe_when(ends, ends - 3600, LONDON).startswith("today at 14:05")


def test_durations_read_without_when():
    assert [describe_duration(s) for s in (20, 1500, 7800, 93600)] == [
        "less than a minute",
        "25 min",
        "2 h 10 min",
        "1 day 2 h",
    ]


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def test_a_closing_time_the_clocks_skip_gives_the_last_minute_before_they_jump():
    hours = parse_working_hours("Sun 00:00-01:30")  # London, 30 March 2025: 01:00 GMT becomes 02:00 BST
    due = dict(reminder_times(at("2025-03-30T06:00"), (3600,), hours, LONDON))[3600]
    assert due == utc("2025-03-30T00:59")  # 00:59 GMT, not 02:29 BST (01:29 UTC), outside the hours
    assert hours.is_working(datetime.fromtimestamp(due, LONDON))


def test_a_closing_time_that_happens_twice_gives_the_later_not_after_the_due_moment():
    hours = parse_working_hours("Sun 01:00-01:30")  # London, 26 October 2025: 02:00 BST becomes 01:00 GMT
    assert reminder_times(utc("2025-10-26T06:00"), (3600,), hours, LONDON) == [(3600, utc("2025-10-26T01:29"))]
    # due at 01:45 BST (00:45 UTC), between the two passes: the first 01:29 (BST), not the later one
    assert reminder_times(utc("2025-10-26T01:45"), (3600,), hours, LONDON) == [(3600, utc("2025-10-26T00:29"))]


def test_a_span_that_ends_after_the_jump_keeps_its_closing_minute():
    hours = parse_working_hours("Sun 00:00-02:30")
    assert reminder_times(at("2025-03-30T06:00"), (3600,), hours, LONDON) == [(3600, utc("2025-03-30T01:29"))]


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Europe/London", "2025-03-30"),
        ("Europe/London", "2025-10-26"),
        ("America/Santiago", "2025-09-07"),
        ("America/Santiago", "2025-04-06"),  # the clocks change at midnight
    ],
)
@pytest.mark.parametrize(
    "text",
    [
        "Sun 00:00-01:30",
        "Sun 01:00-01:30",
        "Sun 01:30-02:30, Sat 23:00-23:30",
        "Sun 00:30-03:00",
        "Sat 23:15-23:45, Sun 00:15-00:45",
        "Mon-Sat 08:00-18:00",
    ],
)
def test_a_reminder_is_never_outside_the_hours_nor_after_it_was_due_whatever_the_clocks_do(zone, day, text):
    zone, hours = ZoneInfo(zone), parse_working_hours(text)
    start = utc(f"{day}T00:00") - 6 * 3600
    for due in range(int(start), int(start + 18 * 3600), 600):
        [(_, moved)] = reminder_times(due, (0,), hours, zone)
        assert moved <= due and hours.is_working(datetime.fromtimestamp(moved, zone)), (text, due)
        later = range(max(int(moved) + 60, int(start) - 86400), due + 1, 60)  # no working minute left out after it
        assert not any(hours.is_working(datetime.fromtimestamp(minute, zone)) for minute in later), (text, due)


def test_without_a_time_zone_the_machines_clocks_are_read():
    hours = parse_working_hours("Mon-Fri 08:00-18:00")
    [(_, moved)] = reminder_times(at("2026-12-05T09:30"), (0,), hours, None)
    local = datetime.fromtimestamp(moved).astimezone()
    assert hours.is_working(local) and local.weekday() == 4 and local.strftime("%H:%M") == "17:59"
    assert timedelta(0) < datetime.fromtimestamp(at("2026-12-05T09:30")).astimezone() - local < timedelta(days=2)
