"""What a call sends, checked before it is sent: a JSON body that cannot be JSON is said by its kind
(decided by what json.dumps does with the body, never by the words of its error)."""

import datetime
import math

import pytest

from healthcode_auth.errors import ApiArgumentError
from healthcode_auth.protocol.api_arguments import json_body


def _cycle(with_nan=False):
    body = {"a": [math.nan] if with_nan else []}
    body["a"].append(body)
    return body


def _deep(levels):
    body = []
    for _ in range(levels):
        body = [body]
    return body


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"x": math.nan}, "NaN or an infinity"),
        ({"x": [math.inf]}, "NaN or an infinity"),
        (_cycle(), "an object that contains itself"),
        (_cycle(with_nan=True), "an object that contains itself"),
        ({"x": {1, 2}}, "a value that is not JSON"),
        ({"a": math.nan, "b": datetime.date(2026, 12, 3)}, "NaN or an infinity"),  # never a raw TypeError
        ([math.nan, _deep(5000)], "NaN or an infinity"),  # never a raw RecursionError
    ],
)
def test_a_body_that_cannot_be_json_is_said_by_its_kind(body, said):
    with pytest.raises(ApiArgumentError, match=said):
        json_body(body)


def test_a_json_body_is_utf8_json():
    assert json_body({"name": "Zoë", "n": 1}) == '{"name": "Zoë", "n": 1}'.encode()
