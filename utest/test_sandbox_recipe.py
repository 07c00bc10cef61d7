"""One recipe for a headless sign-in against the sandbox: docs/sandbox.md, the README, the keyword
docs and ``healthcode-auth init`` hold the same text (utest/package runs it against a sandbox)."""

import re

from robot.libdocpkg import LibraryDocumentation

from healthcode_cli.starter_commands import RECIPE, starter_text
from sandbox_recipe import ROOT, as_libdoc_block, documented_recipe

RECIPE_TEXT = documented_recipe()


def test_the_recipe_signs_in_headless_against_the_sandbox_without_importing_browser():
    assert "headless=True" in RECIPE_TEXT
    assert "environment=${SANDBOX}" in RECIPE_TEXT
    assert re.search(r"^\$\{SANDBOX\}\s+http://127\.0\.0\.1:8765$", RECIPE_TEXT, re.MULTILINE)
    assert "healthcode-auth sandbox --remembered-supervisor supervisor" in RECIPE_TEXT
    assert not re.search(r"^Library\s+Browser", RECIPE_TEXT, re.MULTILINE)
    assert "site_id=HC00ABC" in RECIPE_TEXT  # a site the sandbox's supervisor may use
    assert "Call Healthcode API    find_member" in RECIPE_TEXT


def test_init_writes_the_documented_recipe():
    assert starter_text(RECIPE) == RECIPE_TEXT


def test_the_readme_shows_the_same_recipe():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```robotframework\n{RECIPE_TEXT}```" in readme


def test_the_keyword_docs_show_the_same_recipe():
    doc = LibraryDocumentation("HealthcodeLibrary").doc
    assert as_libdoc_block(RECIPE_TEXT) in doc
    assert "= Headless sign-in against the sandbox =" in doc
    assert "healthcode-auth sandbox --remembered-supervisor supervisor" in doc
