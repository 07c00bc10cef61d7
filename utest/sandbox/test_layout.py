"""The sandbox's layout rules: flat modules in layers, each with its place.

Read from the source with ``ast`` (imports inside functions and ``TYPE_CHECKING`` blocks count),
so a rule broken in a lazily imported corner fails here, not in a newcomer's head. The rules for
all of ``src/`` (no import cycle, no module name used by two packages, the sandbox importing
nothing of ours, no file over 400 lines) are in ``utest/test_architecture.py``.
"""

from __future__ import annotations

from pathlib import Path

import healthcode_sandbox
from import_graph import graph

PACKAGE = "healthcode_sandbox"
PACKAGE_DIR = Path(healthcode_sandbox.__file__).resolve().parent

# A module imports only modules of lower layers; modules of one layer do not import each other.
# POST /token runs through five of them: server, oauth_endpoints, authorization_server,
# sandbox_state and settings.
LAYERS = {
    "settings": 0,
    "made_up_records": 0,
    "sandbox_state": 1,
    "authorization_server": 2,
    "oauth_endpoints": 3,
    "sign_in_views": 4,
    "admin_views": 4,
    "api_gate": 4,
    "supervisor": 4,
    "api_endpoints": 5,
    "server": 6,
    "command_line": 7,
    "": 8,  # the public face: __init__
    "__main__": 9,  # runs the package's main
    "pytest_plugin": 8,
}
GRAPH = {name: targets for name, targets in graph().items() if name.startswith(PACKAGE)}


def layer(name: str) -> int:
    return LAYERS[name.removeprefix(PACKAGE).removeprefix(".")]


def test_every_module_has_a_layer_and_there_are_no_sub_packages() -> None:
    assert {path.stem for path in PACKAGE_DIR.glob("*.py")} == {name or "__init__" for name in LAYERS}
    assert not list(PACKAGE_DIR.glob("*/__init__.py"))


def test_imports_follow_the_layers() -> None:
    wrong = [
        f"{source} -> {target}"
        for source, targets in GRAPH.items()
        for target in targets
        if layer(target) >= layer(source)
    ]
    assert wrong == []


def test_the_flask_app_finds_the_templates() -> None:
    from healthcode_sandbox.sandbox_state import SandboxState
    from healthcode_sandbox.server import create_app
    from healthcode_sandbox.settings import SandboxSettings

    app = create_app(SandboxState.create(SandboxSettings(), "http://127.0.0.1:1"))
    assert app.jinja_loader is not None
    assert {"base.html", "error.html", "one_time_code.html", "sign_in.html"} <= set(app.jinja_loader.list_templates())
