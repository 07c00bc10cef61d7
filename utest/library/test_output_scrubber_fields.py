"""The output scrubber and what output.xml writes of keywords and control structures: every field it
writes when an item ends is masked there; a keyword's name, written when it starts, is masked by
handing ``Run Keyword`` the masked name (library listener) or by rewriting output.xml before log.html
is written from it (command-line listener)."""

import os
import secrets
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from leak_scan import files_under, scan
from robot import result

from healthcode_auth.redaction import MASK, SecretRedactor
from HealthcodeLibrary.output_scrubber import OutputScrubber

SECRET = "fake-token-" + secrets.token_urlsafe(32)

FAKE_TOKEN_LIBRARY = """
import os

from robot.api.types import Secret

from healthcode_auth.redaction import REDACTOR


def get_fake_token():
    REDACTOR.add(os.environ["FAKE_SECRET"])
    return Secret(os.environ["FAKE_SECRET"])
"""

# What output.xml writes when an item starts: test, GROUP and keyword names, an embedded-argument
# keyword run through a name resolved beforehand (it names a keyword, so the library listener cannot
# rename it).
NAMES_SUITE = """
*** Settings ***
Library    HealthcodeLibrary
Library    FakeTokenLibrary.py
Suite Setup    Keep The Token

*** Test Cases ***
Test Named ${VALUE}
    GROUP    Group ${VALUE}
        No Operation
    END
    ${name}=    Set Variable    Use Token ${VALUE}
    Run Keyword    ${name}
    Run Keyword And Expect Error    No keyword with name '*' found.    Run Keyword    ${VALUE}

*** Keywords ***
Keep The Token
    ${token}=    Get Fake Token
    VAR    ${VALUE}    ${token.value}    scope=SUITE

Use Token ${token}
    Should Be Equal    ${token}    ${VALUE}
"""


def redactor() -> SecretRedactor:
    known = SecretRedactor()
    known.add(SECRET)
    return known


def test_end_keyword_masks_every_field_output_xml_writes():
    keyword = result.Keyword(
        name=f"Use {SECRET}",
        owner=SECRET,
        source_name=f"Use {SECRET}",
        doc=f"Doc {SECRET}",
        args=(SECRET, 42),
        assign=(f"${{x}}={SECRET}",),
        tags=[f"tag-{SECRET}"],
        timeout=SECRET,
        message=f"failed: {SECRET}",
    )
    OutputScrubber(redactor()).end_keyword(None, keyword)
    assert (keyword.name, keyword.owner, keyword.source_name, keyword.doc) == (
        f"Use {MASK}",
        MASK,
        f"Use {MASK}",
        f"Doc {MASK}",
    )
    assert (keyword.args, keyword.assign, list(keyword.tags)) == ((MASK, "42"), (f"${{x}}={MASK}",), [f"tag-{MASK}"])
    assert (keyword.timeout, keyword.message) == (MASK, f"failed: {MASK}")


def test_end_body_item_masks_what_control_structures_write():
    scrubber = OutputScrubber(redactor())
    items = [
        result.For(values=(SECRET, "x")),
        result.Return(values=(SECRET,)),
        result.Var(value=(SECRET,)),
        result.Group(name=f"Group {SECRET}"),
        result.TryBranch(type="EXCEPT", patterns=(f"* {SECRET}",)),
        result.Error(values=(SECRET,)),
        result.If(message=SECRET),
    ]
    for item in items:
        scrubber.end_body_item(None, item)
    written = [
        items[0].values,
        items[1].values,
        items[2].value,
        items[3].name,
        items[4].patterns,
        items[5].values,
        items[6].message,
    ]
    assert SECRET not in str(written)
    assert written[3] == f"Group {MASK}"


def run(tmp_path: Path, *options: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    (tmp_path / "FakeTokenLibrary.py").write_text(FAKE_TOKEN_LIBRARY)
    (tmp_path / "names.robot").write_text(NAMES_SUITE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")} | {"FAKE_SECRET": SECRET}
    output = tmp_path / "output"
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
        "--loglevel",
        "TRACE",
        "--console",
        "dotted",
        *options,
        str(tmp_path / "names.robot"),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    return output, completed


def names(output: Path) -> list[str]:
    root = ET.parse(output / "output.xml").getroot()
    return [element.get("name", "") for element in root.iter() if element.tag in ("test", "group", "kw")]


def test_a_name_that_names_a_keyword_still_runs_it_and_shows_without_the_command_line_listener(tmp_path):
    """The library listener renames only a call that would fail anyway; output.xml has written test,
    GROUP and embedded-argument keyword names before any listener hears of them (documented)."""
    output, completed = run(tmp_path)
    assert completed.returncode == 0, completed.stdout  # Use Token ${token} ran with the real value
    assert MASK in names(output)  # Run Keyword  ${VALUE}: renamed
    assert {f"Test Named {SECRET}", f"Group {SECRET}", f"Use Token {SECRET}"} <= set(names(output))


def test_the_command_line_listener_rewrites_output_xml_before_log_and_report(tmp_path):
    output, completed = run(tmp_path, "--listener", "HealthcodeLibrary.output_scrubber.OutputScrubber")
    assert completed.returncode == 0, completed.stdout
    _, leaks = scan(files_under(output), {"fake token": [SECRET]})
    assert leaks == []  # output.xml, log.html, report.html, xunit.xml and the debug file
    assert {f"Test Named {MASK}", f"Group {MASK}", f"Use Token {MASK}", MASK} <= set(names(output))
    assert not list(output.glob(".output.xml.*"))  # no temporary file left behind
