"""An API's answer shows as a summary wherever it is logged (Robot Framework's assignment line, its
Return: trace, Log), while a suite and Python still index into it as into the JSON."""

import copy
import json
import pickle

import pytest

from healthcode_auth.protocol.api_result import ApiDict, ApiList, ApiResult

PATIENT = {
    "resourceType": "Coverage",
    "status": "active",
    "subscriberId": "ZZ9876543",
    "beneficiary": {"display": "Ottoline Quarrendon-Fakename", "birthDate": "1901-02-03"},
    "name": [{"family": "Quarrendon-Fakename", "given": ["Ottoline"]}],
}
LEAKS = ("Quarrendon", "Ottoline", "ZZ9876543", "1901-02-03")


def bundle(*resources, total=None):
    body = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
    return body if total is None else {**body, "total": total}


def shown_nowhere(*texts):
    return not any(leak in text for text in texts for leak in LEAKS)


def test_the_summary_names_endpoint_status_resource_type_and_count():
    result = ApiResult(bundle(PATIENT, PATIENT, PATIENT, total=3), status=200, endpoint="find_member")
    assert repr(result) == str(result) == "<Healthcode find_member: 200 OK, Bundle of 3 Coverage>"
    assert (result.status, result.endpoint, result.resource_type, result.count, result.total) == (
        200,
        "find_member",
        "Bundle",
        3,
        3,
    )


@pytest.mark.parametrize(
    ("body", "summary"),
    [
        (bundle(total=0), "Bundle of 0 entries"),
        (bundle(PATIENT, total=25), "Bundle of 1 Coverage, total 25"),
        (
            bundle(
                PATIENT, {"resourceType": "Patient"}, {"resourceType": "Organization"}, {"resourceType": "Practitioner"}
            ),
            "Bundle of 4 entries (Coverage, Patient, Organization, ...)",
        ),
        (
            {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "diagnostics": "Deleted"}]},
            "OperationOutcome (information)",
        ),
        (PATIENT, "Coverage"),
        ({"resourceType": "Quarrendon Fakename\n"}, "object of 1 keys"),  # not a resource type: not shown
        ({"a": 1, "b": 2}, "object of 2 keys"),
        ({}, "no content"),
    ],
)
def test_summaries_say_what_the_answer_is_never_what_it_says(body, summary):
    result = ApiResult(body, status=200, endpoint="x")
    assert result.summary == summary
    assert shown_nowhere(repr(result))


def test_nested_objects_and_lists_are_summaries_too_and_still_index_like_json():
    result = ApiResult(bundle(PATIENT, PATIENT), status=200, endpoint="find_member")
    entry = result["entry"]
    assert isinstance(entry, ApiList) and repr(entry) == str(entry) == "<list of 2>"
    coverage = entry[0]["resource"]
    assert isinstance(coverage, ApiDict) and repr(coverage) == "<Coverage>"
    assert repr(coverage["beneficiary"]) == "<object of 2 keys>"
    assert coverage["status"] == "active" and type(coverage["status"]) is str  # plain values come back as they are
    assert coverage["name"][0]["given"][0] == "Ottoline"
    assert repr(entry[0:1]) == "<list of 1>"  # a slice too
    assert shown_nowhere(
        repr(result),
        repr(entry),
        repr(coverage),
        repr(coverage["name"]),
        str(list(entry)),
        repr(result.values()),
        repr(result.items()),
    )


def test_it_is_still_the_json_equal_comparable_serialisable_and_plain_on_demand():
    body = bundle(PATIENT, total=1)
    result = ApiResult(body, status=200, endpoint="find_member")
    assert result == body
    assert json.loads(json.dumps(result)) == body
    plain = result.plain()
    assert type(plain) is dict and type(plain["entry"]) is list and type(plain["entry"][0]["resource"]) is dict
    assert plain == body
    assert "Quarrendon" in repr(plain)  # plain() is for code that means to show it
    assert result["entry"].plain() == body["entry"]


def test_it_survives_copies_and_pickles_with_its_attributes():
    result = ApiResult(bundle(PATIENT, total=1), status=201, endpoint="find_member")
    for clone in (copy.copy(result), copy.deepcopy(result), pickle.loads(pickle.dumps(result))):
        assert clone == result and repr(clone) == repr(result)
        assert repr(clone["entry"]) == "<list of 1>"


@pytest.mark.bad_input
def test_deep_nesting_does_not_exhaust_the_stack():
    deep = current = {}
    for _ in range(20_000):
        current["a"] = current = {}
    result = ApiResult(deep, status=200, endpoint="x")
    assert repr(result) == "<Healthcode x: 200 OK, object of 1 keys>"
    level, depth = result.plain(), 0
    while level:
        assert type(level) is dict
        level, depth = level["a"], depth + 1
    assert depth == 20_000


@pytest.mark.bad_input
def test_a_hostile_endpoint_name_is_escaped():
    assert "\x1b" not in repr(ApiResult({}, status=200, endpoint="x\x1b[2J"))


def test_robot_framework_logs_only_the_summary():
    robot_utils = pytest.importorskip("robot.utils")
    result = ApiResult(bundle(PATIENT, PATIENT, total=2), status=200, endpoint="find_member")
    assignment = robot_utils.format_assign_message("${result}", result)
    assert assignment == "${result} = <Healthcode find_member: 200 OK, Bundle of 2 Coverage>"
    returned = f"Return: {robot_utils.prepr(result)}"  # what Robot writes at TRACE
    items = robot_utils.format_assign_message("${entry}", result["entry"])
    as_dict = robot_utils.format_assign_message("&{result}", result)
    logged = robot_utils.safe_str(result["entry"][0]["resource"])
    assert shown_nowhere(assignment, returned, items, as_dict, logged)
    assert "<list of 2>" in as_dict
