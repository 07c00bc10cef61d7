"""The minimum-versions environment tests exactly the floors pyproject.toml declares."""

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("batteries", "requests", "sandbox", "fleet", "portal")


def declared_floors():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    requirements += [Requirement(r) for extra in EXTRAS for r in project["optional-dependencies"][extra]]
    floors = {}
    for requirement in requirements:
        lower = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert len(lower) == 1, f"{requirement} needs exactly one >= floor"
        floors[canonicalize_name(requirement.name)] = lower[0]
    return floors


def pinned():
    pins = {}
    for line in (ROOT / "requirements" / "minimum.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_every_declared_dependency_is_pinned_at_its_floor():
    floors, pins = declared_floors(), pinned()
    assert set(pins) == set(floors)
    for name, floor in floors.items():
        assert Version(pins[name]) == Version(floor), f"{name}: pinned {pins[name]}, but the floor is {floor}"
