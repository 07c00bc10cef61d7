"""The sandbox's layout rules: layered sub-packages, each with its place.

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

# Lower layers never import higher ones. The package root's own modules (errors, settings, knobs,
# counters) are the foundation; __init__, __main__ and pytest_plugin sit on top as the public face.
FOUNDATION, PUBLIC = 0, 4
LAYERS = {"oauth": 1, "web": 2, "admin": 2, "api_side": 2, "process": 3}
PUBLIC_MODULES = {PACKAGE, f"{PACKAGE}.__main__", f"{PACKAGE}.pytest_plugin"}


GRAPH = {name: targets for name, targets in graph().items() if name.startswith(PACKAGE)}


def layer(name: str) -> tuple[int, str]:
    if name in PUBLIC_MODULES:
        return PUBLIC, ""
    parts = name.split(".")
    if len(parts) == 2:
        return FOUNDATION, ""
    return LAYERS[parts[1]], parts[1]


def test_every_sub_package_has_a_layer() -> None:
    sub_packages = {path.parent.name for path in PACKAGE_DIR.glob("*/__init__.py")}
    assert sub_packages == set(LAYERS)


def test_imports_follow_the_layers() -> None:
    wrong = []
    for source, targets in GRAPH.items():
        source_rank, source_package = layer(source)
        for target in targets:
            target_rank, target_package = layer(target)
            if target_package and target_package == source_package:
                continue
            if target_rank > source_rank or (target_rank == source_rank and target_package):
                wrong.append(f"{source} -> {target}")
    assert wrong == []


def test_the_flask_app_finds_the_templates() -> None:
    from healthcode_sandbox.oauth.sandbox_state import SandboxState
    from healthcode_sandbox.process.flask_app import create_app
    from healthcode_sandbox.settings import SandboxSettings

    app = create_app(SandboxState.create(SandboxSettings(), "http://127.0.0.1:1"))
    assert app.jinja_loader is not None
    assert {"base.html", "error.html", "one_time_code.html", "sign_in.html"} <= set(app.jinja_loader.list_templates())
