"""README.md works where most users read it: on the package index page, with only the package.

Every link is absolute (a relative one breaks on the index page), every keyword of the library is in
its table, the extras it names exist, and the sandbox recipe it shows is the one the docs show and
``healthcode-auth init`` writes.
"""

import re
from pathlib import Path

import pytest
from robot.libdocpkg import LibraryDocumentation

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
REPOSITORY = "https://github.com/robotframework-healthcode/robotframework-healthcode/blob/main/"
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HTML_LINK = re.compile(r"""(?:href|src)=["']([^"']+)["']""")


def section(title: str) -> str:
    """The README's section whose heading starts with ``title``, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}.*?$(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no section '## {title}'"
    return match.group(1)


def normalised(keyword: str) -> str:
    """As Robot Framework matches keyword names: case, spaces and underscores do not count."""
    return keyword.lower().replace(" ", "").replace("_", "")


def test_every_link_is_absolute():
    links = MARKDOWN_LINK.findall(README) + HTML_LINK.findall(README)
    assert links, "README.md has no links at all: the pattern is broken"
    relative = [link for link in links if not link.startswith("https://")]
    assert relative == [], f"relative or non-https links break on the package index page: {relative}"


def test_links_into_the_repository_name_files_that_exist():
    for link in MARKDOWN_LINK.findall(README):
        if link.startswith(REPOSITORY):
            path = link.removeprefix(REPOSITORY).split("#")[0]
            assert (ROOT / path).exists(), f"README.md links to {path}, which is not in the repository"


def test_every_keyword_is_in_the_keyword_table():
    table = section("The keywords")
    listed = {normalised(name) for name in re.findall(r"^\| `([^`]+)`", table, re.MULTILINE)}
    keywords = [kw.name for kw in LibraryDocumentation("HealthcodeLibrary").keywords]
    missing = [name for name in keywords if normalised(name) not in listed]
    assert missing == [], f"README.md's keyword table misses {missing}"
    unknown = listed - {normalised(name) for name in keywords}
    assert unknown == set(), f"README.md's keyword table names keywords the library does not have: {unknown}"


def test_the_extras_it_names_exist_and_each_is_explained():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    install = section("Install")
    named = set(re.findall(r"robotframework-healthcode\[([\w,]+)\]", README))
    for group in named:
        for extra in group.split(","):
            assert extra in extras, f"README.md installs the extra '{extra}', which pyproject.toml does not define"
    for extra in ("requests", "sandbox", "batteries"):
        assert re.search(rf"^\| `{extra}` \|", install, re.MULTILINE), f"the Install section does not explain [{extra}]"
    assert "robotframework-requests>=0.9" in extras["requests"]
    assert any("requests" in spec and spec.startswith("robotframework-healthcode[") for spec in extras["dev"])


def test_status_exit_codes_are_all_listed():
    table = section("Scheduled and parallel robots")
    codes = re.findall(r"^\| ([0-9]) \|", table, re.MULTILINE)
    assert codes == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize(
    "title", ["Install", "Start a project", "A headless sign-in against the sandbox", "Against Healthcode"]
)
def test_the_package_users_path_needs_nothing_from_a_clone(title):
    """Only in 'Try it: two commands' does the README speak of the repository's own files."""
    text = section(title)
    for clone_only in (".venv/", "scripts/", "examples/", "python3 scripts", "atest/", "utest/"):
        assert clone_only not in text, f"'{title}' needs {clone_only}, which the package does not have"
