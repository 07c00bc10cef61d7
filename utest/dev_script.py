"""scripts/dev.py loaded as the module ``dev``, for tests: it is a script, not on sys.path; and the
parts of its setup in scripts/dev_setup/, which it imports from its own folder."""

import importlib.util
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SCRIPT = SCRIPTS / "dev.py"
SETUP_PACKAGE = SCRIPTS / "dev_setup"


def load_dev():
    if str(SCRIPTS) not in sys.path:
        sys.path.append(str(SCRIPTS))  # as when it runs, with its own folder on sys.path
    spec = importlib.util.spec_from_file_location("healthcode_dev_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


dev = load_dev()
from dev_setup import apt, console, system_packages, virtual_env  # noqa: E402  (found once dev.py is loaded)

__all__ = ["SCRIPT", "SETUP_PACKAGE", "apt", "console", "dev", "system_packages", "virtual_env"]
