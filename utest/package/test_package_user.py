"""The package user's path, as README.md tells it, from the built wheel in a fresh virtual environment.

Most users never clone the repository: they ``pip install`` the package into their RPA project. This
test is that user. It builds the wheel, makes a fresh virtual environment in a temporary folder and
installs the wheel there with the extras the README's Install section names (pinned by
requirements/constraints.txt, so the versions are CI's). Then, from an empty folder and with nothing
of this checkout on ``sys.path``: ``healthcode-auth init``; ``healthcode-auth sandbox`` as a real
process, its issuer URL read from its banner; the documented recipe (docs/sandbox.md, the very text
``init`` wrote) and the starter suite, headless, with the installed ``robot``. A token must be
obtained and the API must answer: output.xml says every task passed, and the sandbox counted the
code exchanges and API calls. pip's cache is reused, so only the first run downloads anything.

It runs as a step of its own in ``scripts/dev.py test`` (``pytest utest/package``); a plain
``pytest`` leaves it out (utest/conftest.py). It prints how long each step took.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from leak_scan import files_under, scan

from dev_script import dev
from sandbox_recipe import documented_recipe, sandbox_settings

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
# What would put this checkout (or its .venv) on the user's sys.path or PATH.
CHECKOUT_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV")
EXPIRY = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d \(23 h 59 min left\)"


def _pip_cache() -> str:
    """pip's own cache folder, read before any test moves XDG_CACHE_HOME (utest/conftest.py does)."""
    if os.environ.get("PIP_CACHE_DIR"):
        return os.environ["PIP_CACHE_DIR"]
    result = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


PIP_CACHE = _pip_cache()


def readme_extras() -> str:
    """The extras of the README's install command: ``batteries,requests,sandbox``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    install = readme[readme.index("## Install") : readme.index("\n## ", readme.index("## Install") + 1)]
    match = re.search(r'pip install "robotframework-healthcode\[([\w,]+)\]"', install)
    assert match, "README.md's Install section has no 'pip install \"robotframework-healthcode[...]\"'"
    return match.group(1)


class Timings:
    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []
        self.start = time.monotonic()

    def step(self, name: str, started: float) -> None:
        seconds = time.monotonic() - started
        self.steps.append((name, seconds))
        print(f"[package user] {name}: {seconds:.1f} s", flush=True)

    def summary(self) -> None:
        print(
            f"[package user] total: {time.monotonic() - self.start:.1f} s "
            f"({', '.join(f'{name} {seconds:.0f} s' for name, seconds in self.steps)})",
            flush=True,
        )


def run(
    command: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} exited {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


def user_environment(venv: Path) -> dict[str, str]:
    """The user's shell: the fresh venv first on PATH, none of this checkout's settings or paths. The
    home and per-user folders are the test's own (utest/conftest.py); pip's cache is the real one."""
    checkout_scripts = str(Path(sys.executable).parent)
    path = [
        str(dev.venv_layout(venv).scripts),
        *(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != checkout_scripts),
    ]
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("HEALTHCODE_", "SANDBOX_")) and name not in CHECKOUT_VARIABLES
    }
    env.update(PATH=os.pathsep.join(path), PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    if PIP_CACHE:
        env["PIP_CACHE_DIR"] = PIP_CACHE
    return env


class SandboxProcess:
    """``healthcode-auth sandbox`` as the user starts it; the issuer URL read from its banner."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.banner: list[str] = []
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.stop()
                raise AssertionError(
                    f"the sandbox printed no issuer URL: {''.join(self.banner)}{log.read_text(encoding='utf-8')}"
                )
            self.banner.append(line)
            if match := re.match(r"Paste this as the environment: (http://\S+)", line):
                self.url = match.group(1)
                return

    def _read(self, lines: queue.Queue[str | None]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            lines.put(line)
        lines.put(None)

    def get(self, path: str) -> dict[str, object]:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as answer:
            return json.loads(answer.read())

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it (exit 0); Windows has no SIGTERM: terminate it."""
        if self.process.poll() is None:
            if os.name == "nt":
                self.process.terminate()
            else:
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def robot_passed(output_xml: Path) -> dict[str, int]:
    total = ET.parse(output_xml).getroot().find("./statistics/total/stat")
    assert total is not None, f"{output_xml} has no statistics"
    return {kind: int(total.get(kind, "0")) for kind in ("pass", "fail", "skip")}


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A temporary folder for the wheel, the venv (400 MB) and the project; removed after a pass."""
    folder = tmp_path_factory.mktemp("package-user")
    yield folder
    shutil.rmtree(folder / "venv", ignore_errors=True)


def test_the_readme_path_works_from_the_wheel_alone(workspace: Path) -> None:
    timings = Timings()
    venv, project = workspace / "venv", workspace / "my-rpa-project"
    layout = dev.venv_layout(venv)  # bin/ or Scripts\, as scripts/dev.py finds it through sysconfig
    project.mkdir()
    env = user_environment(venv)

    started = time.monotonic()
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", workspace / "dist", ROOT],
        cwd=workspace,
        env=env,
    )
    wheel = next((workspace / "dist").glob("robotframework_healthcode-*.whl"))
    timings.step("build the wheel", started)

    started = time.monotonic()
    run([sys.executable, "-m", "venv", venv], cwd=workspace, env=env)
    python = layout.python
    extras = readme_extras()
    run([python, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, f"{wheel}[{extras}]"], cwd=workspace, env=env)
    timings.step(f"fresh venv, pip install the wheel[{extras}]", started)

    started = time.monotonic()
    where = run(
        [
            python,
            "-c",
            "import json, sys, HealthcodeLibrary, healthcode_cli, healthcode_sandbox, "
            "RequestsLibrary; print(json.dumps({'path': sys.path, 'files': [m.__file__ for m in "
            "(HealthcodeLibrary, healthcode_cli, healthcode_sandbox)]}))",
        ],
        cwd=project,
        env=env,
    )
    found = json.loads(where.stdout)
    for module_file in found["files"]:
        assert Path(module_file).resolve().is_relative_to(venv.resolve()), f"{module_file} is not the venv's"
    assert not [p for p in found["path"] if p and Path(p).resolve().is_relative_to(ROOT)], found["path"]

    init = run([layout.executable("healthcode-auth"), "init"], cwd=project, env=env)
    assert "pip install" not in init.stdout, "init says an extra is missing although the README's were installed"
    assert sorted(p.name for p in project.iterdir()) == [
        "healthcode.env.example",
        "healthcode_token.robot",
        "sandbox_sign_in.robot",
        "scheduled_robot.robot",
    ]
    recipe = (project / "sandbox_sign_in.robot").read_text(encoding="utf-8")
    assert recipe == documented_recipe(), "init wrote another text than the recipe docs/sandbox.md shows"
    timings.step("healthcode-auth init", started)

    started = time.monotonic()
    sandbox = SandboxProcess(
        [str(layout.executable("healthcode-auth")), "sandbox", "--port", "0", "--remembered-supervisor", "supervisor"],
        project,
        env,
        workspace / "sandbox.log",
    )
    try:
        # The documented recipe, exactly as written, told where the sandbox is.
        recipe_run = run(
            [
                layout.executable("robot"),
                "--outputdir",
                "results/recipe",
                "--consolecolors",
                "off",
                "-v",
                f"SANDBOX:{sandbox.url}",
                "sandbox_sign_in.robot",
            ],
            cwd=project,
            env=env,
        )
        assert re.search(rf"Signed in as supervisor; the token expires {EXPIRY}", recipe_run.stdout), recipe_run.stdout
        assert "in a headless browser" in recipe_run.stdout
        assert robot_passed(project / "results" / "recipe" / "output.xml") == {"pass": 1, "fail": 0, "skip": 0}

        # The starter suite, with the sandbox settings from the end of the settings template.
        settings = sandbox_settings((project / "healthcode.env.example").read_text(encoding="utf-8"))
        starter_env = {
            **env,
            **{name: value.replace("http://127.0.0.1:8765", sandbox.url) for name, value in settings.items()},
        }
        starter_run = run(
            [
                layout.executable("robot"),
                "--outputdir",
                "results/starter",
                "--consolecolors",
                "off",
                "-v",
                "HEADLESS:True",
                "healthcode_token.robot",
            ],
            cwd=project,
            env=starter_env,
        )
        assert re.search(rf"Authorised by supervisor; the token expires {EXPIRY}", starter_run.stdout), (
            starter_run.stdout
        )
        assert "Find Member answered: 1 member(s)" in starter_run.stdout
        assert "Search Remittance Summary answered: 25 remittance(s)" in starter_run.stdout
        assert robot_passed(project / "results" / "starter" / "output.xml") == {"pass": 2, "fail": 0, "skip": 0}

        counts = sandbox.get("/_sandbox/stats")["counts"]
        issued = sandbox.get("/_sandbox/issued-secrets")
    finally:
        code = sandbox.stop()
    timings.step("sandbox, the recipe and the starter suite, headless", started)
    assert code == 0 or os.name == "nt", f"the sandbox exited {code} on SIGTERM"
    assert isinstance(counts, dict)
    assert counts.get("token.authorization_code") == 2, counts
    # The recipe: Find Member and three pages of remittances; the starter suite the same.
    assert counts.get("api.find_member") == 2 and counts.get("api.search_remittance_summary") == 6, counts
    assert counts.get("api.header.SU-SiteId") == counts.get("api"), counts

    assert isinstance(issued, dict)
    secrets = {
        kind: issued[kind] for kind in ("authorization_codes", "access_tokens", "refresh_tokens", "code_verifiers")
    }
    # and what only the made-up patient's answer holds (the starter suite looks her up by surname)
    secrets.update(
        {
            "patient's first name": ["Ottoline"],
            "patient's date of birth": ["1901-02-03"],
            "patient's membership number": ["ZZ9876543"],
        }
    )
    assert secrets["access_tokens"], "the sandbox issued no token"
    scanned, leaks = scan(files_under(project / "results"), secrets)
    assert scanned and not leaks, [str(leak) for leak in leaks]
    timings.summary()
