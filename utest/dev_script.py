"""scripts/dev.py loaded as the module ``dev``, for tests: it is a script, not on sys.path."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "dev.py"


def load_dev():
    spec = importlib.util.spec_from_file_location("healthcode_dev_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


dev = load_dev()
