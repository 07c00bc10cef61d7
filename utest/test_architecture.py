"""The architecture of ``src/``, as ``docs/architecture.md`` describes it, checked.

The import graph is read from the source (``ast``), lazy imports inside functions included, so a
cycle or a floor violation cannot hide behind an import that runs late.
"""

import json
import re
import subprocess
import sys

import pytest

from import_graph import SRC, cycle_in, graph, imports_of, modules

PACKAGES = ("healthcode_auth", "HealthcodeLibrary", "healthcode_cli", "healthcode_sandbox", "healthcode_portal")
# What importing the core never loads: the front ends, their siblings, and the Browser library's machinery.
NOT_LOADED_BY_THE_CORE = ("robot", "Browser", "HealthcodeLibrary", "healthcode_sandbox", "healthcode_cli", "grpc",
                          "playwright", "healthcode_portal", "flask", "cheroot")

# The core's floors: a module may import only modules of its own floor or below.
CORE_FLOORS = {
    "healthcode_auth.errors": 1, "healthcode_auth.redaction": 1, "healthcode_auth.version": 1,
    "healthcode_auth.http_log_filters": 1,
    "healthcode_auth.protocol": 2,
    "healthcode_auth.config": 3, "healthcode_auth.cycle_settings": 3, "healthcode_auth.api_settings": 3,
    "healthcode_auth.supervisor_settings": 3, "healthcode_auth.storage": 3,
    "healthcode_auth.transport": 4,
    "healthcode_auth.client": 5, "healthcode_auth.authorization_probe": 5, "healthcode_auth.api_discovery": 5,
    "healthcode_auth.session": 6, "healthcode_auth.supervision": 6, "healthcode_auth.renewal": 6,
    "healthcode_auth.notices": 6, "healthcode_auth.daily_cycle": 6,
    "healthcode_auth.http_auth": 7,
    "healthcode_auth.oauth2_session": 7, "healthcode_auth.api_client": 7, "healthcode_auth.first_contact": 7,
    "healthcode_auth": 8,  # the package's __init__ re-exports the public API
}


def floor_of(name: str) -> int:
    for prefix in sorted(CORE_FLOORS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return CORE_FLOORS[prefix]
    raise AssertionError(f"{name} is on no floor: add it to CORE_FLOORS and docs/architecture.md")


def test_there_is_no_import_cycle_in_src():
    assert cycle_in(graph()) is None


def test_core_modules_import_only_their_floor_and_below():
    for name, targets in graph().items():
        if not name.startswith("healthcode_auth"):
            continue
        for target in targets:
            if target.startswith("healthcode_auth") and target != "healthcode_auth":
                assert floor_of(target) <= floor_of(name), f"{name} (floor {floor_of(name)}) imports {target} " \
                                                           f"(floor {floor_of(target)})"


def test_protocol_has_no_io_and_no_configuration():
    for name, path in modules().items():
        if name.startswith("healthcode_auth.protocol"):
            imported = imports_of(name, path)
            for forbidden in ("httpx", "socket", "pathlib", "os", "healthcode_auth.config",
                              "healthcode_auth.transport", "healthcode_auth.storage"):
                assert not any(m == forbidden or m.startswith(forbidden + ".") for m in imported), (name, forbidden)


def test_no_file_of_the_core_names_robot_browser_library_or_sandbox():
    pattern = re.compile(r"\b(import|from)\s+robot\b|\brobot\.\w|\bBrowser\b|HealthcodeLibrary|healthcode_sandbox|healthcode_cli")
    for path in (SRC / "healthcode_auth").rglob("*.py"):
        assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_every_core_module_imports_without_robot_browser_library_or_sandbox():
    names = sorted(n for n in modules() if n.startswith("healthcode_auth"))
    code = ("import importlib, json, sys\n"
            f"for name in {names!r}: importlib.import_module(name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {NOT_LOADED_BY_THE_CORE!r})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(names) > 15
    assert json.loads(result.stdout) == []


def test_the_sandbox_imports_nothing_of_ours():
    for name, targets in graph().items():
        if name.startswith("healthcode_sandbox"):
            assert all(t.startswith("healthcode_sandbox") for t in targets), (name, targets)


def test_the_library_and_sandbox_are_not_imported_by_the_core_or_each_other():
    for name, targets in graph().items():
        if name.startswith("HealthcodeLibrary"):
            assert not any(t.startswith(("healthcode_cli", "healthcode_sandbox")) for t in targets), name


def test_the_portal_imports_only_the_core_and_nothing_imports_the_portal_but_the_command_line():
    for name, targets in graph().items():
        if name.startswith("healthcode_portal"):
            assert all(t.startswith(("healthcode_portal", "healthcode_auth")) for t in targets), (name, targets)
        if name.startswith(("HealthcodeLibrary", "healthcode_auth", "healthcode_sandbox")):
            assert not any(t.startswith("healthcode_portal") for t in targets), name


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_file_is_over_400_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


def test_module_names_do_not_collide_across_packages():
    owners: dict[str, set[str]] = {}
    for name in modules():
        parts = name.split(".")
        for part in parts[1:]:
            if part.startswith("__"):
                continue
            owners.setdefault(part, set()).add(parts[0])
    shared = {part: sorted(pkgs) for part, pkgs in owners.items() if len(pkgs) > 1}
    assert shared == {}


def test_no_reference_to_the_browser_librarys_private_modules():
    pattern = re.compile(r"Browser\.generated|playwright_pb2|grpc_channel|\bgrpc\b|\.playwright\b|browser\._\w+")
    for path in (SRC / "HealthcodeLibrary").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "browser" in line.lower() or "Browser" in line:
                assert not pattern.search(line), f"{path.name}:{number}: {line.strip()}"


def test_capture_statuses_are_one_set_on_both_sides():
    from HealthcodeLibrary.sign_in_page import CaptureStatus, load_statuses

    assert {status.value for status in CaptureStatus} == set(load_statuses())
    script = (SRC / "HealthcodeLibrary" / "redirect_capture.js").read_text(encoding="utf-8")
    assert re.findall(r'status: "\w+"', script) == []  # every status comes from capture_status.json


def test_architecture_doc_names_every_module_of_the_core_and_front_ends():
    doc = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in (".py", ".js", ".json") or path.name in ("__init__.py", "__main__.py"):
            continue
        if path.relative_to(SRC).parts[0] == "healthcode_sandbox":
            continue  # docs/sandbox.md describes the sandbox's own layout
        assert path.name in doc, f"docs/architecture.md does not mention {path.relative_to(SRC)}"
    for floor_prefix in CORE_FLOORS:
        assert floor_prefix.rpartition(".")[2] in doc
