"""OperationOutcome: Healthcode's errors as bounded, escaped text; any other error body never quoted."""

import pytest

from healthcode_auth.protocol.fhir_outcome import (
    MAX_TEXT,
    WITHHELD,
    describe_outcome,
    is_information,
    outcome_issues,
    reason_phrase,
)

# Healthcode's own example (its diagnostics' stray quote made valid JSON).
HEALTHCODE_EXAMPLE = {
    "resourceType": "OperationOutcome",
    "issue": [
        {
            "severity": "error",
            "code": "value",
            "details": {"coding": [{"system": "URL", "code": "MSG_DATE_FORMAT", "display": "Invalid date format"}]},
            "diagnostics": 'date-from :Unparseable date: "2021-05-"',
            "location": ["Appointment"],
            "expression": [],
        }
    ],
}


def test_healthcodes_example_reads_as_one_line_its_diagnostics_withheld():
    assert describe_outcome(400, HEALTHCODE_EXAMPLE) == (
        f"HTTP 400 Bad Request: error/value MSG_DATE_FORMAT (at Appointment) {WITHHELD}"
    )
    (issue,) = outcome_issues(HEALTHCODE_EXAMPLE)
    assert (issue.severity, issue.code, issue.location, issue.diagnostics) == ("error", "value", ("Appointment",), None)


def test_the_diagnostics_are_told_when_the_call_may_log_contents():
    assert describe_outcome(400, HEALTHCODE_EXAMPLE, content=True) == (
        "HTTP 400 Bad Request: error/value MSG_DATE_FORMAT 'Invalid date format': "
        'date-from :Unparseable date: "2021-05-" (at Appointment)'
    )
    (issue,) = outcome_issues(HEALTHCODE_EXAMPLE, content=True)
    assert issue.diagnostics == 'date-from :Unparseable date: "2021-05-"'


def test_details_text_only_with_contents_and_expression_as_a_location():
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "fatal",
                "code": "forbidden",
                "details": {"text": "Site not permitted"},
                "expression": ["Coverage.insurer"],
            }
        ],
    }
    assert describe_outcome(403, outcome) == f"HTTP 403 Forbidden: fatal/forbidden (at Coverage.insurer) {WITHHELD}"
    assert describe_outcome(403, outcome, content=True) == (
        "HTTP 403 Forbidden: fatal/forbidden 'Site not permitted' (at Coverage.insurer)"
    )


@pytest.mark.parametrize(
    "place",
    [
        "Patient.name.where(family='Quarrendon-Fakename')",
        "dateOfbirth 1901-02-03",
        "x" * 101,
        "name[0].given 'Ottoline'",
    ],
)
def test_a_location_that_is_not_a_field_path_is_withheld(place):
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "location": [place, "name[0].given"], "expression": place}],
    }
    text = describe_outcome(422, outcome)
    assert text == f"HTTP 422 Unprocessable Entity: error/invalid (at name[0].given) {WITHHELD}"
    assert place in describe_outcome(422, outcome, content=True)


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Patient", "name": [{"family": "Quarrendon-Fakename"}], "birthDate": "1901-02-03"},
        {"error": "Quarrendon-Fakename ZZ9876543"},
        "<html>Quarrendon-Fakename</html>",
        None,
        [{"resourceType": "OperationOutcome", "issue": [{"diagnostics": "Quarrendon-Fakename"}]}],
    ],
)
def test_any_other_body_is_never_quoted(body):
    assert describe_outcome(422, body) == "HTTP 422 Unprocessable Entity"
    assert outcome_issues(body) == ()


@pytest.mark.bad_input
def test_each_text_is_bounded_and_its_control_characters_escaped():
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "value\n\x1b[2J",
                "diagnostics": "d" * 10_000,
                "location": ["\u202eevil"] * 50,
                "details": {"coding": [{"code": "C" * 1000, "display": 42}] * 50},
            }
        ],
    }
    (issue,) = outcome_issues(outcome, content=True)
    assert issue.code == "value\\n\\x1b[2J"
    assert issue.diagnostics == "d" * MAX_TEXT + "..."
    assert len(issue.location) == 5 and issue.location[0] == "\\u202eevil"
    assert len(issue.details) == 5
    assert len(describe_outcome(400, outcome, content=True)) < 3000


def test_at_most_five_issues_are_told_and_the_rest_counted():
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": code}
            for code in ("invalid", "structure", "required", "value", "invariant", "security", "login", "unknown")
        ],
    }
    text = describe_outcome(400, outcome)
    assert "error/invariant" in text and "security" not in text and text.endswith("; and 3 more issue(s)")


@pytest.mark.bad_input
@pytest.mark.parametrize("issues", [None, "text", [None, 3, "x"], {"severity": "error"}])
def test_malformed_issues_are_no_issues(issues):
    outcome = {"resourceType": "OperationOutcome", "issue": issues}
    assert describe_outcome(400, outcome) == "HTTP 400 Bad Request"


def test_a_deletes_information_outcome_is_a_success():
    information = {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]}
    assert is_information(information)
    assert not is_information(HEALTHCODE_EXAMPLE)
    assert not is_information({"resourceType": "OperationOutcome", "issue": []})


def test_reason_phrases_are_the_standard_ones_never_the_servers():
    assert reason_phrase(503) == "503 Service Unavailable"
    assert reason_phrase(599) == "599"
