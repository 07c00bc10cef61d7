"""The project's virtual environment: where it keeps its executables on each system, whether its
install is stale, and making and installing it with the project and its development tools."""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .apt import apt_install, can_apt
from .console import SetupError, run, say, took

ROOT = Path(__file__).resolve().parents[2]
# Pinned versions keep lint, types and the libdoc check reproducible.
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"


@dataclass(frozen=True)
class VenvLayout:
    """Where a virtual environment keeps its executables (bin/ on POSIX, Scripts\\ on Windows)."""

    root: Path
    scripts: Path
    exe_suffix: str

    @property
    def python(self) -> Path:
        return self.executable("python")

    def executable(self, name: str) -> Path:
        return self.scripts / f"{name}{self.exe_suffix}"


def venv_layout(venv: Path, os_name: str | None = None) -> VenvLayout:
    """The layout of the virtual environment at ``venv``, as sysconfig describes it.

    ``os_name`` ('posix' or 'nt') asks for another system's layout.
    """
    schemes = sysconfig.get_scheme_names()
    if os_name is None or os_name == os.name:
        scheme = "venv" if "venv" in schemes else ("nt" if os.name == "nt" else "posix_prefix")  # 3.10: no venv
        suffix = sysconfig.get_config_var("EXE") or ""
    else:
        scheme = "nt_venv" if os_name == "nt" else "posix_venv"
        if scheme not in schemes:  # Python 3.10
            scheme = "nt" if os_name == "nt" else "posix_prefix"
        suffix = ".exe" if os_name == "nt" else ""
    base = str(venv)
    paths = {"base": base, "platbase": base, "installed_base": base, "installed_platbase": base}
    scripts = Path(sysconfig.get_path("scripts", scheme, vars=paths))
    return VenvLayout(venv, scripts, suffix)


def ensure_venv(layout: VenvLayout) -> None:
    """Makes the virtual environment, unless it is there."""
    if layout.python.exists():
        return
    say(f"creating the virtual environment in {layout.root.name} (a few seconds)")
    if importlib.util.find_spec("ensurepip") is None:
        ensure_ensurepip()
    created = run([sys.executable, "-m", "venv", layout.root], "creating .venv")
    if created != 0 or not layout.python.exists():
        raise SetupError(
            f"'{sys.executable} -m venv .venv' failed (see above). Delete .venv, fix what it says "
            "(on Debian/Ubuntu often 'sudo apt-get install python3-venv'), and run again."
        )


def ensure_ensurepip() -> None:
    """Debian splits Python's ensurepip module off into python3.X-venv: install it, or say how."""
    if can_apt() and sys.executable.startswith("/usr/bin/"):
        package = f"python3.{sys.version_info.minor}-venv"
        apt_install([package], f"Debian's {package} (Python's venv module needs it; a few seconds)")
        return
    raise SetupError(
        "this Python cannot create virtual environments (its ensurepip module is missing). "
        "On Debian/Ubuntu: 'sudo apt-get install python3-venv'; elsewhere install Python from python.org. "
        "Then run again."
    )


def needs_install(layout: VenvLayout, sources: Sequence[Path] = (ROOT / "pyproject.toml", CONSTRAINTS)) -> bool:
    """Whether the install is missing or older than one of ``sources``.

    A successful install touches the stamp file .installed in the environment.
    """
    stamp = layout.root / ".installed"
    if not stamp.exists():
        return True
    installed = stamp.stat().st_mtime
    return any(source.stat().st_mtime > installed for source in sources)


def install_project(layout: VenvLayout) -> None:
    """Installs the project (editable) with its development tools, at the pinned versions."""
    pip: list[str | Path] = [layout.python, "-m", "pip", "install", "--disable-pip-version-check"]
    start = time.monotonic()
    say("1/2 upgrading pip in .venv")
    if run([*pip, "--quiet", "--upgrade", "pip"], "upgrading pip") != 0:
        raise SetupError(
            "upgrading pip in .venv failed (see pip's messages above): usually the network. "
            "Check that https://pypi.org is reachable (behind a proxy set HTTPS_PROXY), then run again."
        )
    say(
        "2/2 installing the project and its development tools: about 70 packages, 400 MB with the Browser "
        "library's Node side; one to three minutes on a fresh machine, depending on the network"
    )
    install = [*pip, "--progress-bar", "on", "-c", CONSTRAINTS, "-e", f"{ROOT}[dev]"]
    if run(install, "installing the project") != 0:
        raise SetupError(
            "pip could not install the project into .venv (see its messages above). Usual causes: "
            "no network or a proxy (set HTTPS_PROXY), or a package with no wheel for this Python version "
            "(try an older Python). Fix that and run again: the install is redone until it succeeds."
        )
    (layout.root / ".installed").touch()
    say(f"installed in {took(start)}")
