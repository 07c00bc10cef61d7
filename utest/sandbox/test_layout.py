"""The sandbox's layout rules: layered sub-packages, no import cycles, no borrowed module names.

Read from the source with ``ast`` (imports inside functions and ``TYPE_CHECKING`` blocks count),
so a rule broken in a lazily imported corner fails here, not in a newcomer's head.
"""

from __future__ import annotations

import ast
from pathlib import Path

import healthcode_sandbox

PACKAGE = "healthcode_sandbox"
PACKAGE_DIR = Path(healthcode_sandbox.__file__).resolve().parent
MAX_LINES = 400

# Module basenames the core package (healthcode_auth) uses, or will use, with another meaning.
CORE_NAMES = frozenset(
    {
        "errors", "config", "client", "session", "transport", "store", "file_store", "discovery",
        "tokens", "token", "token_status", "authorization", "authorization_request", "token_endpoint",
        "provider_metadata", "jwt_verification", "keys", "key_sources", "cli", "http_auth", "pkce",
        "urls", "files", "private_files", "redaction", "version", "protocol", "storage", "base",
        "browsers", "docs", "argument_types", "sign_in_page", "keywords", "access_token", "sign_in",
        "http_clients", "login", "status", "commands", "entry",
    }
)

# Lower layers never import higher ones. The package root's own modules (errors, settings, knobs,
# counters) are the foundation; __init__, __main__ and pytest_plugin sit on top as the public face.
FOUNDATION, PUBLIC = 0, 4
LAYERS = {"oauth": 1, "web": 2, "admin": 2, "process": 3}
PUBLIC_MODULES = {PACKAGE, f"{PACKAGE}.__main__", f"{PACKAGE}.pytest_plugin"}


def module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """Every module ``name`` imports, at any depth of its code (external ones included)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:  # "from . import pages" imports the module pages
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in MODULES else source)
    return found


GRAPH = {name: {target for target in imports_of(name) if target in MODULES} for name in MODULES}


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


def test_no_module_or_sub_package_borrows_a_core_module_name() -> None:
    names = {path.stem for path in PACKAGE_DIR.rglob("*.py")} | {path.name for path in PACKAGE_DIR.iterdir() if path.is_dir()}
    assert sorted(names & CORE_NAMES) == []


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


def test_there_is_no_import_cycle() -> None:
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for target in sorted(GRAPH[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in MODULES:
        visit(name, [])


def test_the_sandbox_is_independent_of_the_core_and_the_library() -> None:
    borrowed = sorted(
        f"{name} -> {target}"
        for name in MODULES
        for target in imports_of(name)
        if target.split(".")[0] in {"healthcode_auth", "HealthcodeLibrary"}
    )
    assert borrowed == []


def test_no_file_is_over_the_line_limit() -> None:
    long_files = {
        str(path.relative_to(PACKAGE_DIR)): lines
        for path in PACKAGE_DIR.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long_files == {}


def test_the_flask_app_finds_the_templates() -> None:
    from healthcode_sandbox.oauth.sandbox_state import SandboxState
    from healthcode_sandbox.process.flask_app import create_app
    from healthcode_sandbox.settings import SandboxSettings

    app = create_app(SandboxState.create(SandboxSettings(), "http://127.0.0.1:1"))
    assert app.jinja_loader is not None
    assert {"base.html", "error.html", "one_time_code.html", "sign_in.html"} <= set(app.jinja_loader.list_templates())
