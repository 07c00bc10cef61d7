"""The declared minimum versions, tested: an environment with every dependency at the floor
pyproject.toml declares (requirements/minimum.txt), and in it the unit tests of the core and the
library, the architecture tests, and the sign-in and HTTP-client acceptance suites (a real headless browser against the
sandbox, RequestsLibrary and requests-oauthlib calling its API).

    python scripts/minimum_versions.py        (one of the steps of `python scripts/dev.py test`)

The environment is .venv-min, rebuilt when pyproject.toml, the minimum file or constraints.txt
changes; the acceptance outputs go to results/minimum-versions/atest. Standard library only; run
with the project's .venv Python or any Python 3.10+.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

# scripts/dev_setup (beside this file): where a venv keeps its executables on every system, whether
# its install is stale, timing
from dev_setup.console import took
from dev_setup.virtual_env import needs_install, venv_layout

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-min"
MINIMUM = ROOT / "requirements" / "minimum.txt"
ATEST_OUTPUT = ROOT / "results" / "minimum-versions" / "atest"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
# Test tools at the versions CI uses (constraints.txt); the runtime dependencies come from the minimum file.
TOOLS = ("pytest", "pytest-xdist", "execnet", "hypothesis", "trustme", "pytest-httpserver", "pytest_httpserver")
TOOLS_FOR_SERVERS = ("mirakuru",)  # what starts the tests' redis-server (utest/redis_server.py)
# The unit tests of the core, the library and the portal, and the architecture tests: the core loads
# no front end, grpc or playwright at these versions either.
TESTS = ("utest/core", "utest/library", "utest/portal", "utest/test_architecture.py")
# pytest's workers (pytest-xdist), as in scripts/dev.py; only 2: this runs beside the main pytest.
PYTEST_WORKERS = ("-n", "2", "--dist", "loadgroup")
# The committed libdoc output is rendered by the newest Robot Framework (constraints.txt).
DESELECT = "utest/library/test_docs.py::test_committed_docs_are_current"


def say(message: str) -> None:
    print(f"[minimum versions] {message}", flush=True)


def tools() -> list[str]:
    pins = CONSTRAINTS.read_text(encoding="utf-8").splitlines()
    return [line for line in pins if line.split("==")[0].lower() in (*TOOLS, *TOOLS_FOR_SERVERS)]


def ensure_environment() -> Path:
    layout = venv_layout(VENV)
    python = layout.python
    if python.exists() and not needs_install(layout, sources=(MINIMUM, ROOT / "pyproject.toml", CONSTRAINTS)):
        say("environment up to date")
        return python
    start = time.monotonic()
    say("building .venv-min with every dependency at its declared floor (about a minute)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    subprocess.run([*pip, "--quiet", "--no-deps", "-e", str(ROOT)], check=True)
    subprocess.run([*pip, "--quiet", "-r", str(MINIMUM), *tools()], check=True)
    subprocess.run([str(python), "-m", "pip", "check"], check=True)
    (VENV / ".installed").touch()
    say(f"installed in {took(start)}")
    return python


def installed_versions(python: Path) -> str:
    """'Robot Framework 7.4, Browser 20.4.0, joserfc 1.6.1, httpx 0.27.0', as installed in the environment."""
    code = (
        "import robot, Browser, joserfc, httpx; "
        "print(robot.__version__, Browser.__version__, joserfc.__version__, httpx.__version__)"
    )
    versions = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False).stdout.split()
    if len(versions) != 4:
        return "could not read the installed versions"
    return "Robot Framework {}, Browser {}, joserfc {}, httpx {}".format(*versions)


def main() -> int:
    try:
        python = ensure_environment()
    except subprocess.CalledProcessError as error:
        say(
            f"FAILED: {' '.join(map(str, error.cmd[:6]))}... exited {error.returncode}: the floors in "
            "requirements/minimum.txt do not install together; see pip's message above"
        )
        return 1
    say(installed_versions(python))
    options = ("-q", "-p", "no:cacheprovider", "--deselect", DESELECT)
    pytest: list[str | Path] = [python, "-m", "pytest", *TESTS, *PYTEST_WORKERS, *options]
    tests = subprocess.run(pytest, cwd=ROOT, check=False).returncode
    # Its own output folder: the main acceptance run may be scanning results/atest meanwhile (scripts/dev.py).
    env = {**os.environ, "ATEST_OUTPUT": str(ATEST_OUTPUT)}
    sign_in = subprocess.run([python, "atest/run.py", "--sign-in-only"], cwd=ROOT, env=env, check=False).returncode
    return max(tests, sign_in)


if __name__ == "__main__":
    sys.exit(main())
