"""Every keyword is documented in Robot Framework's format, with an example (as the Browser library checks)."""

import pytest
from robot.libdocpkg import LibraryDocumentation

from HealthcodeLibrary.docs import render

DOC = LibraryDocumentation("HealthcodeLibrary")
KEYWORDS = {kw.name: kw for kw in DOC.keywords}


def test_the_issue_interface_is_there():
    for name in (
        "Open Healthcode Login",
        "Wait For Supervisor Authorisation",
        "Get Healthcode Access Token",
        "Authorise Healthcode Supervisor",
        "Healthcode Access Token Should Be Valid",
        "Get Healthcode Token Expiry",
        "Get Healthcode Token Claims",
        "Clear Healthcode Authorisation",
        "Get Healthcode Requests Auth",
    ):
        assert name in KEYWORDS


@pytest.mark.parametrize("name", sorted(KEYWORDS))
def test_keyword_has_short_doc_and_example(name):
    keyword = KEYWORDS[name]
    assert keyword.short_doc.endswith("."), f"{name}: first line must be a sentence"
    assert "Example:" in keyword.doc, f"{name}: needs an Example: block"


def test_library_intro_has_toc_and_import_docs():
    from HealthcodeLibrary import HealthcodeLibrary

    assert "%TOC%" in HealthcodeLibrary.__doc__  # libdoc of RF 7.4 expands it, 7.5 keeps the marker
    init = DOC.inits[0]
    assert "client_id" in [arg.name for arg in init.args]
    assert "Example:" in init.doc


def test_argument_types_show_in_libdoc():
    args = {arg.name: arg for arg in KEYWORDS["Wait For Supervisor Authorisation"].args}
    assert "timedelta" in str(args["timeout"].type)
    assert args["timeout"].default_repr == "0:05:00"
    token = KEYWORDS["Get Healthcode Access Token"]
    assert token.to_dictionary()["returnType"]["name"] == "Secret"


def test_committed_docs_are_current():
    from pathlib import Path

    committed = Path(__file__).resolve().parents[2] / "docs" / "HealthcodeLibrary.html"
    if committed.read_text(encoding="utf-8") != render():
        pytest.fail("docs/HealthcodeLibrary.html is out of date: run python -m HealthcodeLibrary.docs")
