"""The architecture of ``src/``, as ``docs/architecture.md`` describes it, checked.

The import graph is read from the source (``ast``), lazy imports inside functions included, so a
cycle or a floor violation cannot hide behind an import that runs late.
"""

import json
import re
import subprocess
import sys
import warnings

from import_graph import SRC, cycle_in, graph, imports_of, modules

PACKAGES = ("healthcode_auth", "HealthcodeLibrary", "healthcode_cli", "healthcode_sandbox", "healthcode_portal")
# What importing the core never loads: the front ends, their siblings, and the Browser library's machinery.
NOT_LOADED_BY_THE_CORE = (
    "robot",
    "Browser",
    "HealthcodeLibrary",
    "healthcode_sandbox",
    "healthcode_cli",
    "grpc",
    "playwright",
    "healthcode_portal",
    "flask",
    "cheroot",
)

DOC = SRC.parent / "docs" / "architecture.md"


def floor_map() -> list[tuple[str, str, str]]:
    """docs/architecture.md's map, the one statement of the floors: (module prefix, floor, group)
    for each name; floor "-" stands apart. Names on floors 1-8 are modules of healthcode_auth."""
    block = re.search(r"```floors\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert block, "docs/architecture.md has no ```floors block"
    entries = []
    for line in block.group(1).splitlines():
        floor, _, rest = line.strip().partition(" ")
        for group, names in enumerate(re.sub(r"\(.*\)", "", rest).split("|")):
            for name in names.split():
                core = floor != "-" and int(floor) <= 8
                module = ("healthcode_auth" if name == "__init__" else f"healthcode_auth.{name}") if core else name
                entries.append((module, floor, f"{floor}.{group}"))
    return entries


def place_of(name: str) -> tuple[str, str]:
    """A module's floor and group: the map's longest name it is (or is inside); the core package
    itself is only its __init__."""
    for module, floor, group in sorted(floor_map(), key=lambda entry: len(entry[0]), reverse=True):
        if name == module or (name.startswith(module + ".") and module != "healthcode_auth"):
            return floor, group
    raise AssertionError(f"{name} is on no floor: add it to the map in docs/architecture.md")


def test_there_is_no_import_cycle_in_src():
    assert cycle_in(graph()) is None


def test_the_map_places_every_module_of_every_package_once():
    names = [module for module, _, _ in floor_map()]
    assert len(names) == len(set(names))
    assert {name.split(".")[0] for name in names} == set(PACKAGES)
    for name in modules():
        place_of(name)


def test_every_import_goes_down_a_floor_or_stays_in_its_group():
    for name, targets in graph().items():
        floor, group = place_of(name)
        for target in targets:
            if target.split(".")[0] not in PACKAGES or target.split(".")[0] == "healthcode_sandbox":
                continue
            target_floor, target_group = place_of(target)
            assert target_group == group or (floor != "-" and int(target_floor) < int(floor)), (
                f"{name} (floor {floor}) imports {target} (floor {target_floor})"
            )


def test_the_sandbox_stands_apart():
    for name, targets in graph().items():
        ours = [t for t in targets if t.split(".")[0] in PACKAGES]
        if name.startswith("healthcode_sandbox"):
            assert all(t.startswith("healthcode_sandbox") for t in ours), (name, ours)
        elif not name.startswith("healthcode_cli"):
            assert not any(t.startswith("healthcode_sandbox") for t in ours), name


def test_what_only_the_command_line_uses_lives_in_its_package():
    importers: dict[str, set[str]] = {}
    for name, targets in graph().items():
        for target in targets:
            importers.setdefault(target, set()).add(name.split(".")[0])
    for name in modules():
        package = name.split(".")[0]
        if package == "HealthcodeLibrary" and importers.get(name) == {"healthcode_cli"}:
            raise AssertionError(f"{name} is used by the command line only: move it to healthcode_cli")


def test_protocol_has_no_io_and_no_configuration():
    for name, path in modules().items():
        if name.startswith("healthcode_auth.protocol"):
            imported = imports_of(name, path)
            for forbidden in (
                "httpx",
                "socket",
                "pathlib",
                "os",
                "healthcode_auth.config",
                "healthcode_auth.transport",
                "healthcode_auth.storage",
            ):
                assert not any(m == forbidden or m.startswith(forbidden + ".") for m in imported), (name, forbidden)


def test_no_file_of_the_core_names_robot_browser_library_or_sandbox():
    pattern = re.compile(
        r"\b(import|from)\s+robot\b|\brobot\.\w|\bBrowser\b|HealthcodeLibrary|healthcode_sandbox|healthcode_cli"
    )
    for path in (SRC / "healthcode_auth").rglob("*.py"):
        assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_every_core_module_imports_without_robot_browser_library_or_sandbox():
    names = sorted(n for n in modules() if n.startswith("healthcode_auth"))
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {NOT_LOADED_BY_THE_CORE!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(names) > 15
    assert json.loads(result.stdout) == []


def test_files_over_400_lines_are_named_for_review():
    """A warning sign, not a rule (never a reason to squeeze code): the files to look at for a split."""
    long = {
        str(path.relative_to(SRC)): lines
        for path in sorted(SRC.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    if long:
        warnings.warn(f"Files over 400 lines, worth a look: {long}", stacklevel=1)


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
    from HealthcodeLibrary.sign_in_page import CaptureStatus

    defined = json.loads((SRC / "HealthcodeLibrary" / "capture_status.json").read_text(encoding="utf-8"))
    assert {status.value for status in CaptureStatus} == {name for name in defined if not name.startswith("_")}
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
