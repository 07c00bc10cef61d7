"""The output scrubber: secrets a suite unwraps carelessly are masked in everything Robot writes.

The end-to-end tests run real Robot Framework in a subprocess on small generated suites. A
test-only library registers a fake secret in REDACTOR (as the core does with real tokens) and
returns it as a ``Secret``; the suites then unwrap it the ways authors do, and every output is
scanned for the secret and for any 24-character piece of it (Robot cuts long values).
"""

import os
import secrets
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from leak_scan import files_under, scan

from healthcode_auth.redaction import MASK, SecretRedactor
from HealthcodeLibrary import HealthcodeLibrary
from HealthcodeLibrary.output_scrubber import HTML_MASK, WITHHELD, OutputScrubber, scrub

SECRET = "fake-token-" + secrets.token_urlsafe(240)  # longer than Robot's 200-character assignment cut
PIECE = 24

FAKE_TOKEN_LIBRARY = '''
import os

from robot.api.types import Secret

from healthcode_auth.redaction import REDACTOR


def get_fake_token():
    """Like Get Healthcode Access Token: the core registers the secret, the suite gets a Secret."""
    REDACTOR.add(os.environ["FAKE_SECRET"])
    return Secret(os.environ["FAKE_SECRET"])
'''

CARELESS_SUITE = """
*** Settings ***
Library    HealthcodeLibrary
Library    FakeTokenLibrary.py
Library    Collections

*** Test Cases ***
Evaluate And Log
    ${token}=    Get Fake Token
    ${v}=    Evaluate    $token.value
    Log    ${v}
    Log    ${v}    DEBUG
    Log    <b>${v}</b>    html=True

Failing Should Be Equal
    ${token}=    Get Fake Token
    ${v}=    Evaluate    $token.value
    Should Be Equal    ${v}    not-the-token

Authorization Header Recipe
    ${token}=    Get Fake Token
    ${headers}=    Create Dictionary    Authorization=Bearer ${token.value}
    Log    ${headers}

Set Test Variable And Log Many
    ${token}=    Get Fake Token
    Set Test Variable    ${TOKEN_VALUE}    ${token.value}
    Log Many    ${TOKEN_VALUE}    plain text
    Set Suite Metadata    Token    ${TOKEN_VALUE}

Trace Logs Arguments And Return Values
    ${token}=    Get Fake Token
    ${same}=    Set Variable    ${token.value}
    Should Be Equal As Strings    ${same}    ${token.value}

Loops And Control Structures
    ${token}=    Get Fake Token
    FOR    ${value}    IN    ${token.value}    other
        Log    ${value}
    END
    TRY
        Fail    in try ${token.value}
    EXCEPT    AS    ${error}
        Log    ${error}
    END
    Log    ${token.value}    WARN

Keyword Teardown Fails With The Token
    Keyword With A Failing Teardown

A Token As A Keyword Name
    ${token}=    Get Fake Token
    ${v}=    Evaluate    $token.value
    Run Keyword And Expect Error    No keyword with name '*' found.    Run Keyword    ${v}
    FOR    ${name}    IN    Bearer ${v}    Bearer ${v}
        Run Keyword And Expect Error    No keyword with name 'Bearer *' found.    Run Keyword    ${name}
    END
    Run Keyword And Expect Error    No keyword with name '*' found.    Run Keyword    ${token.value}
    Run Keyword And Expect Error    No keyword with name '*' found.    Run Keywords    No Operation    AND
    ...    ${token.value}

Console Output
    ${token}=    Get Fake Token
    Log    CONSOLE=${token.value}    console=True
    Log To Console    LOG-TO-CONSOLE=${token.value}

*** Keywords ***
Keyword With A Failing Teardown
    No Operation
    [Teardown]    Fail With The Token    teardown

Fail With The Token
    [Arguments]    ${where}
    ${token}=    Get Fake Token
    Fail    ${where} ${token.value}
"""

SETUP_FAILS_SUITE = """
*** Settings ***
Library    HealthcodeLibrary
Library    FakeTokenLibrary.py
Suite Setup    Fail With The Token

*** Test Cases ***
Not Run Because The Setup Failed
    No Operation

*** Keywords ***
Fail With The Token
    ${token}=    Get Fake Token
    Fail    suite setup ${token.value}
"""

WITHOUT_LIBRARY_SUITE = """
*** Settings ***
Library    FakeTokenLibrary.py

*** Test Cases ***
A Suite That Does Not Import HealthcodeLibrary
    ${token}=    Get Fake Token
    ${v}=    Evaluate    $token.value
    Log    ${v}
    Log    ${v}    DEBUG
"""


@dataclass
class Run:
    output: Path
    stdout: str
    stderr: str


def pieces(secret: str) -> set[str]:
    return {secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1)}


def leaks(run: Run, ignore: str = "") -> list[str]:
    """Where a piece of the secret is: output files (as atest's scan reads them) and the console
    (after removing ``ignore`` from it)."""
    _, found = scan(files_under(run.output), {"piece of the fake token": pieces(SECRET)})
    streams = {"stdout": run.stdout.replace(ignore, "") if ignore else run.stdout, "stderr": run.stderr}
    return [str(leak) for leak in found] + [
        name for name, text in streams.items() if any(piece in text for piece in pieces(SECRET))
    ]


def robot(tmp: Path, suites: dict[str, str], *options: str) -> Run:
    data = tmp / "suites"
    data.mkdir()
    (data / "FakeTokenLibrary.py").write_text(FAKE_TOKEN_LIBRARY)
    for name, text in suites.items():
        (data / name).write_text(textwrap.dedent(text))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
    env["FAKE_SECRET"] = SECRET
    output = tmp / "output"
    command = [
        sys.executable,
        "-m",
        "robot",
        "--outputdir",
        str(output),
        "--debugfile",
        "debug.txt",
        "--xunit",
        "xunit.xml",
        "--consolecolors",
        "off",
        "--consolemarkers",
        "off",
        *options,
        str(data),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert (output / "output.xml").is_file(), result.stdout + result.stderr
    return Run(output, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def careless(tmp_path_factory):
    """The careless suites with HealthcodeLibrary imported, at TRACE level."""
    return robot(
        tmp_path_factory.mktemp("careless"),
        {"careless.robot": CARELESS_SUITE, "setup_fails.robot": SETUP_FAILS_SUITE},
        "--loglevel",
        "TRACE",
    )


@pytest.fixture(scope="module")
def output_xml(careless):
    return ET.parse(careless.output / "output.xml").getroot()


def test_no_output_holds_the_secret_or_a_piece_of_it(careless):
    assert leaks(careless, ignore=f"LOG-TO-CONSOLE={SECRET}") == []


def test_the_scrubber_adds_no_noise(careless):
    assert "Warning" not in careless.stderr  # e.g. Robot's deprecation warnings for control structures
    assert "listener" not in careless.stdout + careless.stderr  # Robot reports failing listener methods


def messages(root, test: str) -> list[str]:
    node = root.find(f".//test[@name='{test}']")
    assert node is not None
    return [msg.text or "" for msg in node.iter("msg")]


def test_evaluate_and_log_is_masked(output_xml):
    logged = messages(output_xml, "Evaluate And Log")
    assert f"${{v}} = {MASK}..." in logged  # Robot cuts long values at 200 characters: the cut part is masked too
    assert MASK in logged
    assert f"<b>{HTML_MASK}</b>" in logged  # an HTML message gets an HTML-escaped mask
    assert any(text.startswith("Return: ") and MASK in text for text in logged)  # TRACE


def test_failing_should_be_equal_is_masked_in_the_test_message(output_xml):
    test = output_xml.find(".//test[@name='Failing Should Be Equal']")
    assert test.find("status").text == f"{MASK} != not-the-token"
    assert f"{MASK} != not-the-token" in messages(output_xml, "Failing Should Be Equal")


def test_authorization_header_recipe_is_masked(output_xml):
    logged = messages(output_xml, "Authorization Header Recipe")
    assert f"{{'Authorization': 'Bearer {MASK}'}}" in logged
    assert any(text.startswith(f"${{headers}} = {{'Authorization': 'Bearer {MASK}") for text in logged)


def test_set_test_variable_log_many_and_metadata_are_masked(output_xml):
    logged = messages(output_xml, "Set Test Variable And Log Many")
    assert f"${{TOKEN_VALUE}} = {MASK}..." in logged and MASK in logged
    suite = output_xml.find("suite/suite[@name='Careless']")
    assert suite.find("meta[@name='Token']").text == MASK


def test_trace_level_arguments_are_masked(output_xml):
    logged = messages(output_xml, "Trace Logs Arguments And Return Values")
    assert f"Arguments: [ '{MASK}' | '{MASK}' ]" in logged


def test_loop_values_try_and_warnings_are_masked(output_xml, careless):
    test = output_xml.find(".//test[@name='Loops And Control Structures']")
    assert test.find(".//iter/var[@name='${value}']").text == f"{MASK}..."
    assert f"in try {MASK}" in messages(output_xml, "Loops And Control Structures")
    assert [msg.text for msg in output_xml.find("errors")] == [MASK]  # the warning, in Test Execution Errors
    assert f"[ WARN ] {MASK}" in careless.stderr


def test_a_token_used_as_a_keyword_name_is_masked(output_xml):
    """output.xml writes a keyword's name when it starts, before listeners hear of it: Run Keyword is
    handed the masked name, and fails as it would have (every time, in a loop too)."""
    test = output_xml.find(".//test[@name='A Token As A Keyword Name']")
    assert test.find("status").get("status") == "PASS"
    names = [kw.get("name") for kw in test.iter("kw")]
    assert names.count(MASK) == 3 and names.count(f"Bearer {MASK}") == 2  # ${v}, ${token.value}, Run Keywords
    assert f"No keyword with name '{MASK}' found." in messages(output_xml, "A Token As A Keyword Name")


def test_keyword_teardown_message_is_masked(output_xml):
    test = output_xml.find(".//test[@name='Keyword Teardown Fails With The Token']")
    assert test.find("status").text == f"Keyword teardown failed:\nteardown {MASK}"
    assert test.find("kw/status").text == f"Keyword teardown failed:\nteardown {MASK}"


def test_suite_setup_failure_is_masked_in_suite_and_test_messages(output_xml, careless):
    suite = output_xml.find("suite/suite[@name='Setup Fails']")
    assert suite.find("status").text == f"Suite setup failed:\nsuite setup {MASK}"
    assert suite.find("test/status").text == f"Parent suite setup failed:\nsuite setup {MASK}"
    assert f"suite setup {MASK}" in careless.stdout


def test_console_is_masked_except_log_to_console(careless):
    """``Log ... console=True`` goes through Robot's logger and is masked; ``Log To Console``
    writes straight to stdout, out of any listener's reach (documented in the library intro)."""
    assert f"CONSOLE={MASK}" in careless.stdout
    assert f"LOG-TO-CONSOLE={SECRET}" in careless.stdout  # the documented limitation
    assert f"{MASK} != not-the-token" in careless.stdout


def test_debug_file_is_rewritten_once_robot_closes_it(careless):
    """The debug file writes FOR loop values at start events, before any listener runs."""
    debug = (careless.output / "debug.txt").read_text()
    assert f"START ITERATION: ${{value}} = {MASK}..." in debug
    assert not list(careless.output.glob(".debug.txt.*"))  # no temporary file left behind


def test_a_suite_without_the_library_is_not_scrubbed_by_it(tmp_path):
    """Library listeners hear only the suites that import the library."""
    run = robot(tmp_path, {"without_library.robot": WITHOUT_LIBRARY_SUITE})
    assert leaks(run)


def test_the_command_line_listener_covers_every_suite(tmp_path):
    """``--listener`` at the default log level: DEBUG messages reach the debug file, not listeners,
    and are masked when the listener rewrites it at the end of the run."""
    run = robot(
        tmp_path,
        {"without_library.robot": WITHOUT_LIBRARY_SUITE, "careless.robot": CARELESS_SUITE},
        "--listener",
        "HealthcodeLibrary.output_scrubber.OutputScrubber",
    )
    assert leaks(run, ignore=f"LOG-TO-CONSOLE={SECRET}") == []
    assert f"DEBUG - {MASK}" in (run.output / "debug.txt").read_text()


def test_the_library_registers_the_scrubber():
    listeners = HealthcodeLibrary.ROBOT_LIBRARY_LISTENER  # one listener, or several in a list or tuple
    listeners = listeners if isinstance(listeners, (list, tuple)) else [listeners]
    assert any(isinstance(listener, OutputScrubber) for listener in listeners)
    assert OutputScrubber.ROBOT_LISTENER_API_VERSION == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bearer TOKEN-123456789", f"Bearer {MASK}"),
        ("TOKEN-123456789 and TOKEN-123456789", f"{MASK} and {MASK}"),
        ("${v} = TOKEN-1234...", f"${{v}} = {MASK}..."),  # a start cut by Robot (assignment, long error)
        ("...23456789 was the end", f"...{MASK} was the end"),  # an end cut by Robot (long error)
        ("TOKEN-1...", "TOKEN-1..."),  # too short to tell: fewer than 8 characters of the secret before a cut
        ("...3456789 was the end", "...3456789 was the end"),
        ("Waiting... done", "Waiting... done"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_scrub(text, expected):
    assert scrub(text, frozenset({"TOKEN-123456789"})) == expected


def test_scrub_masks_the_longest_cut_of_a_repetitive_secret():
    secret = "abcdefgh" * 6
    assert scrub(f"x = {secret[:40]}...", frozenset({secret})) == f"x = {MASK}..."
    assert scrub(f"...{secret[-30:]} end", frozenset({secret})) == f"...{MASK} end"


def test_scrub_returns_the_same_text_when_nothing_changes():
    text = "a long message... with an ellipsis" * 3
    assert scrub(text, frozenset({"TOKEN-123456789"})) is text


def test_nothing_is_touched_while_no_secret_is_known():
    scrubber = OutputScrubber(SecretRedactor())
    message = SimpleNamespace(message="TOKEN-123456789", html=False)
    scrubber.log_message(message)
    scrubber.end_keyword(None, None)  # would fail if it looked at the result
    assert message.message == "TOKEN-123456789"


def test_listener_methods_never_raise():
    redactor = SecretRedactor()
    redactor.add("TOKEN-123456789")
    scrubber = OutputScrubber(redactor)
    for method in (scrubber.end_keyword, scrubber.end_body_item, scrubber.end_test, scrubber.end_suite):
        method(object(), object())
    scrubber.debug_file(Path("/nonexistent/debug.txt"))
    scrubber.close()


def test_a_message_that_cannot_be_checked_is_withheld():
    class Unreadable:
        html = False

        @property
        def message(self):
            raise RuntimeError("broken")

        @message.setter
        def message(self, value):
            self.written = value

    redactor = SecretRedactor()
    redactor.add("TOKEN-123456789")
    message = Unreadable()
    OutputScrubber(redactor).log_message(message)
    assert message.written == WITHHELD


def test_the_html_mask_is_the_escaped_mask():
    import html

    from HealthcodeLibrary.output_scrubber import HTML_MASK, MASK

    assert html.escape(MASK) == HTML_MASK
