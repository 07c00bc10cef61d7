"""The API keywords against the real sandbox: what they return, how they fail, and no patient data in
any output when a suite logs their answers carelessly.

The supervisor signs in over HTTP (no browser) into an encrypted token file; the library, in this
process or in a Robot Framework run in a subprocess, takes the token from it, as a scheduled robot
does. The subprocess run is at TRACE with a debug file; every file it writes is then searched for
the made-up patient's first name, date of birth and membership number, in every spelling.
"""

import os
import subprocess
import sys
import textwrap

import httpx
import pytest
from leak_scan import files_under, scan

from healthcode_auth.errors import ApiArgumentError, ApiDiscoveryError, ApiRequestError, ConfigurationError
from HealthcodeLibrary import HealthcodeLibrary
from sandbox_clients import REDIRECT, new_session, sign_in

PATIENT = {"first name": ["Ottoline"], "date of birth": ["1901-02-03"], "membership number": ["ZZ9876543"]}
CACHE_KEY = "cache-key-of-the-api-keyword-tests"


@pytest.fixture
def signed_in(sandbox, tmp_path, monkeypatch):
    """A supervisor signed in; the token file and the settings a robot would have, in the environment."""
    cache = tmp_path / "tokens.json"
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", CACHE_KEY)
    sign_in(new_session(sandbox, cache))
    for name, value in {
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": REDIRECT,
        "HEALTHCODE_ENVIRONMENT": sandbox.discovery_url,
        "HEALTHCODE_TOKEN_CACHE": str(cache),
    }.items():
        monkeypatch.setenv(name, value)
    return cache


def test_call_healthcode_api_sends_named_fields_and_a_fields_dictionary_as_one_form(sandbox, signed_in):
    library = HealthcodeLibrary(site_id="HC00ABC")
    members = library.run_keyword(
        "Call Healthcode API",
        ["find_member"],
        {"method": "POST", "fields": {"insurerIdentifier": "bup"}, "lastName": "Quarrendon-Fakename"},
    )
    assert members["total"] == 1
    assert repr(members) == "<Healthcode find_member: 200 OK, Bundle of 1 Coverage>"
    assert "Ottoline" not in str(members["entry"]) + repr(members["entry"][0]["resource"])
    call = sandbox.api_calls("find_member")[-1]
    assert (call.method, call.site_id, call.api_version, call.bearer) == ("POST", "HC00ABC", "1", True)


def test_a_field_given_twice_or_fields_that_are_no_dictionary_fail_before_anything_is_sent(sandbox, signed_in):
    library = HealthcodeLibrary(site_id="HC00ABC")
    with pytest.raises(ApiArgumentError, match="lastName.*given twice"):
        library.run_keyword(
            "Call Healthcode API", ["find_member"], {"method": "POST", "fields": {"lastName": "A"}, "lastName": "B"}
        )
    with pytest.raises(ApiArgumentError, match="dictionary"):
        library.run_keyword("Call Healthcode API", ["find_member"], {"fields": "lastName=A"})
    assert sandbox.api_calls("find_member") == []


def test_the_endpoint_and_the_names_come_from_the_api_discovery_document(sandbox, signed_in):
    library = HealthcodeLibrary(site_id="HC00ABC")
    url = library.run_keyword("Get Healthcode API Endpoint", ["find_member"], {})
    assert url == library.run_keyword("Get Healthcode API Endpoint", ["find_member_endpoint"], {})
    assert url == httpx.get(f"{sandbox.url}/.well-known/discovery-document.json").json()["find_member_endpoint"]
    names = library.run_keyword("Get Healthcode API Names", [], {})
    assert {"find_member", "search_remittance_summary", "get_remittance"} <= set(names)
    with pytest.raises(ApiDiscoveryError, match="find_member"):
        library.run_keyword("Get Healthcode API Endpoint", ["find_membr"], {})


def test_without_a_site_id_the_call_fails_saying_where_to_find_one_and_sends_nothing(sandbox, signed_in):
    library = HealthcodeLibrary()
    with pytest.raises(ConfigurationError, match="HEALTHCODE_SITE_ID.*My Account|My Account.*HEALTHCODE_SITE_ID"):
        library.run_keyword("Call Healthcode API", ["find_member"], {"method": "POST", "insurerIdentifier": "bup"})
    assert sandbox.api_calls() == []


def test_a_site_the_supervisor_may_not_use_fails_with_the_operation_outcome(sandbox, signed_in):
    library = HealthcodeLibrary(site_id="HC16190")
    with pytest.raises(ApiRequestError, match="MSG_SITE_NOT_PERMITTED") as failure:
        library.run_keyword("Call Healthcode API", ["find_member"], {"method": "POST", "insurerIdentifier": "bup"})
    assert failure.value.status == 403


CARELESS_SUITE = """
*** Settings ***
Library    HealthcodeLibrary    site_id=HC00ABC
Library    Collections

*** Variables ***
${SURNAME}    Quarrendon-Fakename

*** Test Cases ***
Log The Answer Every Way
    ${members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup    lastName=${SURNAME}
    Log    ${members}
    Log    ${members}    console=True
    Log    ${members}[entry]
    Log    ${members}[entry][0]
    Log    ${members}[entry][0][resource]
    Log    ${members}[entry][0][resource][contained]
    Log    ${members}[entry][0][resource][contained][0][name]
    Log Many    @{members}[entry]
    Log Dictionary    ${members}
    Log List    ${members}[entry]
    ${resource}=    Get From Dictionary    ${members}[entry][0]    resource
    ${text}=    Convert To String    ${members}
    Set Test Variable    ${KEPT}    ${resource}
    Should Be Equal    ${members}[entry][0][resource][status]    active

A Failure Shows The Summary Only
    ${members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup    lastName=${SURNAME}
    Should Be Equal    ${members}[entry][0][resource]    something else

All Pages, Logged
    ${all}=    Call Healthcode API    search_remittance_summary    method=POST    insurerIdentifier=bup    all_pages=True
    Log    ${all}
"""


def test_a_suite_logging_api_answers_carelessly_writes_no_patient_data_anywhere(sandbox, signed_in, tmp_path):
    suite = tmp_path / "careless.robot"
    suite.write_text(textwrap.dedent(CARELESS_SUITE))
    output = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "robot",
            "--loglevel",
            "TRACE",
            "--outputdir",
            str(output),
            "--debugfile",
            "debug.txt",
            "--xunit",
            "xunit.xml",
            "--consolecolors",
            "off",
            str(suite),
        ],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    (output / "console.txt").write_text(run.stdout + run.stderr)
    assert "3 tests, 2 passed, 1 failed" in run.stdout, run.stdout[-3000:]
    assert "<Coverage> != something else" in run.stdout
    scanned, leaks = scan(files_under(output), PATIENT)
    assert scanned >= 6
    assert leaks == []


def test_log_content_writes_the_answer_when_asked(sandbox, signed_in, caplog):
    library = HealthcodeLibrary(site_id="HC00ABC")
    with caplog.at_level("INFO", logger="healthcode_auth"):
        library.run_keyword(
            "Call Healthcode API",
            ["find_member"],
            {"method": "POST", "insurerIdentifier": "bup", "lastName": "Testperson"},
        )
        assert "ZZ0000101" not in caplog.text
        library.run_keyword(
            "Call Healthcode API",
            ["find_member"],
            {"method": "POST", "insurerIdentifier": "bup", "lastName": "Testperson", "log_content": True},
        )
    assert "ZZ0000101" in caplog.text


def test_a_path_that_is_none_or_a_flag_that_is_no_boolean_sends_nothing(sandbox, signed_in):
    """Red team, second round of issue 19: ``path=${None}`` (an id that did not come) sent DELETE to the
    whole collection; ``log_content=never`` was read as true and logged the patient's data."""
    library = HealthcodeLibrary(site_id="HC00ABC")
    with pytest.raises(ApiArgumentError, match=r"\$\{None\}"):
        library.run_keyword("Call Healthcode API", ["delete_appointment"], {"method": "DELETE", "path": None})
    with pytest.raises(ApiArgumentError, match="is a list"):
        library.run_keyword("Call Healthcode API", ["get_remittance"], {"path": ["RM00001"]})
    for flag, value in (("log_content", "never"), ("all_pages", "no thanks")):
        with pytest.raises(ApiArgumentError, match=f"'{flag}' is True or False"):
            library.run_keyword(
                "Call Healthcode API",
                ["find_member"],
                {"method": "POST", "lastName": "Quarrendon-Fakename", flag: value},
            )
    assert sandbox.api_calls("delete_appointment") == sandbox.api_calls("get_remittance") == []
    assert sandbox.api_calls("find_member") == []


def test_a_path_robot_would_convert_is_refused_as_it_was_given(sandbox, signed_in):
    """Red team, third round of issue 19: with ``path`` typed ``str | int``, Robot turned a list into its
    repr and 1.5 into "1.5" before the check saw them; ``path=None`` as text sent ``/None``."""
    library = HealthcodeLibrary(site_id="HC00ABC")
    for path, problem in (
        (["a", ".."], "is a list"),
        (1.5, "is a float"),
        (b"AP1", "is a bytes"),
        ("None", r"\$\{None\}"),
    ):
        with pytest.raises(ApiArgumentError, match=problem):
            library.run_keyword("Call Healthcode API", ["delete_appointment"], {"method": "DELETE", "path": path})
    assert sandbox.api_calls("delete_appointment") == []
