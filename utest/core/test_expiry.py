"""When a token expires: expires_in and exp checked for sanity and settled (protocol/expiry.py),
and times no datetime can show (protocol/token.py)."""

import pytest

from healthcode_auth import TokenRequestError, parse_token_response
from healthcode_auth.protocol.expiry import (
    ASSUMED_LIFETIME,
    MAX_EXPIRES_IN,
    read_number,
    sane_expiry,
    sane_lifetime,
    settle_expiry,
)
from healthcode_auth.protocol.token import OUT_OF_RANGE, describe_expiry, describe_time_left, local_time, utc_time

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
LATER = NOW + 86400  # a sane absolute expiry: 24 hours after NOW
HUGE = 10**400  # 401 digits: more than a float can hold


@pytest.mark.parametrize(
    ("value", "lifetime"),
    [
        (0, 0.0),
        (86400, 86400.0),
        (3600.0, 3600.0),
        ("3600", 3600.0),
        (" 60 ", 60.0),
        (MAX_EXPIRES_IN, MAX_EXPIRES_IN),
        (MAX_EXPIRES_IN + 1, None),
        (-1, None),
        (True, None),
        (None, None),
        ("soon", None),
        ("86400.5", None),
        ("1e3", None),
        ([86400], None),
        ({"s": 1}, None),
        (HUGE, None),
        (-HUGE, None),
        (1e308, None),
        (float("inf"), None),
        (float("-inf"), None),
        (float("nan"), None),
        ("inf", None),
        ("nan", None),
        ("9" * 5000, None),
        ("\u0663\u0666\u0660\u0660", None),  # Arabic-Indic digits are not a JSON number
    ],
)
def test_sane_lifetime(value, lifetime):
    assert sane_lifetime(value) == lifetime


def test_read_number_never_converts_what_cannot_be_converted():
    assert read_number(HUGE) == HUGE
    assert read_number("9" * 5000) == float("inf")
    assert read_number(float("nan")) is None
    assert read_number(False) is None


@pytest.mark.parametrize(
    ("exp", "expected"),
    [
        (LATER, LATER),
        (int(LATER), LATER),
        (NOW + MAX_EXPIRES_IN, NOW + MAX_EXPIRES_IN),
        (NOW, None),
        (NOW - 1, None),
        (NOW + MAX_EXPIRES_IN + 1, None),
        (10**12, None),
        (HUGE, None),
        (float("inf"), None),
        (float("nan"), None),
        (str(int(LATER)), None),
        (True, None),
        (None, None),
    ],
)
def test_sane_expiry(exp, expected):
    assert sane_expiry(exp, NOW) == expected


def test_both_sane_the_earlier_wins_without_a_warning():
    assert settle_expiry(600, LATER, NOW).expires_at == NOW + 600
    settled = settle_expiry(86400 * 2, LATER, NOW)
    assert (settled.expires_at, settled.warnings) == (LATER, ())


def test_expires_in_alone_and_exp_alone():
    assert settle_expiry(600, None, NOW).expires_at == NOW + 600
    assert settle_expiry(None, LATER, NOW).expires_at == LATER
    assert settle_expiry("600", None, NOW).warnings == ()


def test_neither_gives_the_assumed_lifetime_silently():
    settled = settle_expiry(None, None, NOW)
    assert (settled.expires_at, settled.warnings) == (NOW + ASSUMED_LIFETIME, ())


@pytest.mark.parametrize("exp", [10**12, HUGE, NOW - 60, "tomorrow", float("inf")])
def test_an_absurd_exp_without_expires_in_gives_the_assumed_lifetime_with_a_warning(exp):
    settled = settle_expiry(None, exp, NOW)
    assert settled.expires_at == NOW + ASSUMED_LIFETIME
    assert len(settled.warnings) == 1
    assert "the token's exp" in settled.warnings[0]
    assert "60 minutes" in settled.warnings[0]


def test_an_absurd_exp_with_a_sane_expires_in_uses_expires_in_with_a_warning():
    settled = settle_expiry(600, 10**12, NOW)
    assert settled.expires_at == NOW + 600
    assert "exp 1000000000000 (out of range) is more than 10 years after" in settled.warnings[0]


@pytest.mark.parametrize(
    ("expires_in", "problem"),
    [
        (int(LATER), f"expires_in {int(LATER)} reads as a Unix timestamp (2027-01-16T08:00:00Z), not a lifetime"),
        (str(int(LATER)), f"expires_in '{int(LATER)}' reads as a Unix timestamp"),
        (10**12, f"expires_in 1000000000000 is more than {MAX_EXPIRES_IN} seconds (10 years)"),
        (HUGE, "expires_in (a number of about 401 digits) is more than"),
        (1e308, "expires_in 1e+308 is more than"),
        (float("inf"), "expires_in inf is more than"),
        (-5, "expires_in -5 is negative"),
        (float("nan"), "expires_in nan is not a number of seconds"),
        ("soon", "expires_in 'soon' is not a number of seconds"),
        ([86400], "expires_in (a list) is not a number of seconds"),
        (True, "expires_in true is not a number of seconds"),
    ],
)
def test_a_bad_expires_in_is_not_fatal_when_exp_is_sane(expires_in, problem):
    settled = settle_expiry(expires_in, LATER - 60, NOW)
    assert settled.expires_at == LATER - 60
    assert settled.warnings == (settled.warnings[0],)
    assert problem in settled.warnings[0]
    assert settled.warnings[0].endswith("; using the token's exp.")


@pytest.mark.parametrize("exp", [None, 10**12, "soon"])
def test_an_expires_in_that_reads_as_a_timestamp_is_used_when_there_is_no_sane_exp(exp):
    settled = settle_expiry(int(LATER), exp, NOW)
    assert settled.expires_at == LATER
    assert "reads as a Unix timestamp" in settled.warnings[0]
    assert "taking it as the time the token expires" in settled.warnings[0]


@pytest.mark.parametrize(
    ("expires_in", "exp", "quoted"),
    [
        (10**12, None, ["expires_in 1000000000000", "the token has no exp"]),
        (HUGE, 10**12, ["about 401 digits", "exp 1000000000000"]),
        (-1, NOW - 10, ["expires_in -1 is negative", "is not after it was received"]),
        ("x" * 10_000, None, ["expires_in '" + "x" * 40 + "...'"]),
        ("\x1b[2J\u202e", None, ["expires_in '\\x1b[2J\\u202e'"]),
        (float("nan"), float("nan"), ["expires_in nan", "exp nan is not a time"]),
        (int(NOW - 86400), None, [f"expires_in {int(NOW - 86400)} is more than"]),  # a timestamp in the past
    ],
)
def test_no_sane_expiry_at_all_is_refused_quoting_both_values(expires_in, exp, quoted):
    with pytest.raises(TokenRequestError) as caught:
        settle_expiry(expires_in, exp, NOW)
    message = str(caught.value)
    assert message.startswith("The token endpoint's answer gives no sane expiry for the token: ")
    for part in quoted:
        assert part in message
    assert "Sign in again" in message
    assert len(message) < 600
    assert message.isprintable()


def test_the_answer_keeps_a_bad_expires_in_for_later_and_gives_no_expiry():
    token = parse_token_response(
        200, "application/json", {"access_token": "t", "token_type": "Bearer", "expires_in": HUGE}, now=NOW
    )
    assert token.expires_at is None
    assert token.expires_in == HUGE
    sane = parse_token_response(
        200, "application/json", {"access_token": "t", "token_type": "Bearer", "expires_in": 60}, now=NOW
    )
    assert (sane.expires_at, sane.expires_in) == (NOW + 60, 60)
    assert "expires_in" not in repr(sane)


@pytest.mark.parametrize("timestamp", [10**12, HUGE, -HUGE, 1e308, float("inf"), float("-inf"), float("nan")])
def test_times_no_datetime_can_show_read_as_out_of_range(timestamp):
    assert local_time(timestamp) == OUT_OF_RANGE
    assert utc_time(timestamp) == OUT_OF_RANGE
    assert describe_expiry(timestamp, NOW) == OUT_OF_RANGE


def test_time_left_of_no_finite_length():
    assert describe_time_left(float("inf")) == "no end"
    assert describe_time_left(float("-inf")) == "expired"
    assert describe_time_left(float("nan")) == "time left unknown"


def test_utc_time_is_iso_to_the_second():
    assert utc_time(LATER + 0.9) == "2027-01-16T08:00:00Z"
