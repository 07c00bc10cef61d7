"""The declared minimum versions, tested: an environment with every dependency at the floor
pyproject.toml declares (requirements/minimum.txt), and in it the unit tests of the core and the
library, the architecture tests, and the sign-in and HTTP-client acceptance suites (a real headless browser against the
sandbox, RequestsLibrary and requests-oauthlib calling its API).

    python scripts/minimum_versions.py        (one of the steps of `python scripts/dev.py test`)

The environment is .venv-min, rebuilt when pyproject.toml or the minimum file changes. Standard
library only; run with the project's .venv Python or any Python 3.10+.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

# scripts/dev.py: where a venv keeps its executables on every system, whether its install is stale, timing
from dev import needs_install, took, venv_layout

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-min"
MINIMUM = ROOT / "requirements" / "minimum.txt"
# Test tools at the versions CI uses; the runtime dependencies come from the minimum file.
TOOLS = ("pytest", "hypothesis", "pytest-httpserver", "pytest_httpserver", "trustme")
# The committed libdoc output is rendered by the newest Robot Framework (constraints.txt).
DESELECT = "utest/library/test_docs.py::test_committed_docs_are_current"


def say(message: str) -> None:
    print(f"[minimum versions] {message}", flush=True)


def tools() -> list[str]:
    pins = (ROOT / "requirements" / "constraints.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in pins if line.split("==")[0].lower() in TOOLS]


def ensure_environment() -> Path:
    layout = venv_layout(VENV)
    python = layout.python
    if python.exists() and not needs_install(layout, sources=(MINIMUM, ROOT / "pyproject.toml")):
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


def main() -> int:
    try:
        python = ensure_environment()
    except subprocess.CalledProcessError as error:
        say(f"FAILED: {' '.join(map(str, error.cmd[:6]))}... exited {error.returncode}: the floors in "
            "requirements/minimum.txt do not install together; see pip's message above")
        return 1
    versions = subprocess.run([str(python), "-c", "import robot, Browser, joserfc, httpx; print(robot.__version__, "
                               "Browser.__version__, joserfc.__version__, httpx.__version__)"],
                              capture_output=True, text=True, check=False).stdout.split()
    say("Robot Framework {}, Browser {}, joserfc {}, httpx {}".format(*versions) if len(versions) == 4
        else "could not read the installed versions")
    # The architecture tests too: the core loads no front end, grpc or playwright at these versions either.
    tests = subprocess.run([str(python), "-m", "pytest", "utest/core", "utest/library", "utest/portal",
                            "utest/test_architecture.py",
                            "-q", "-p", "no:cacheprovider", "--deselect", DESELECT], cwd=ROOT, check=False).returncode
    sign_in = subprocess.run([str(python), "atest/run.py", "--sign-in-only"], cwd=ROOT, check=False).returncode
    return max(tests, sign_in)


if __name__ == "__main__":
    sys.exit(main())
