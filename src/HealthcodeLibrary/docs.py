"""Keyword documentation: ``python -m HealthcodeLibrary.docs`` writes docs/HealthcodeLibrary.html.

``--check`` regenerates it in memory and fails when the committed file is out of date (ignoring
the generation timestamp), so the published docs always match the code.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from robot.libdoc import libdoc

DEFAULT_OUTPUT = Path("docs/HealthcodeLibrary.html")
_GENERATED = re.compile(r'"generated": ?"[^"]*"')
# libdoc records each keyword's absolute source path; keep only the part inside the repository.
_SOURCE = re.compile(r'"source": ?"[^"]*?(src[\\/]+HealthcodeLibrary[^"]*)"')


def render() -> str:
    """libdoc's HTML for HealthcodeLibrary, with a fixed generation time."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "HealthcodeLibrary.html"
        rc = libdoc("HealthcodeLibrary", str(target), format="HTML", quiet=True)
        if rc:
            raise RuntimeError(f"libdoc failed with exit code {rc}")
        html = _GENERATED.sub('"generated": ""', target.read_text(encoding="utf-8"))
        return _SOURCE.sub(lambda match: '"source": "' + match.group(1).replace("\\\\", "/") + '"', html)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    output = Path(next((a for a in args if not a.startswith("--")), DEFAULT_OUTPUT))
    html = render()
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != html:
            print(f"{output} is out of date: run 'python -m HealthcodeLibrary.docs' and commit it.", file=sys.stderr)
            return 1
        print(f"{output} is up to date.")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    print(f"Wrote {output}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
