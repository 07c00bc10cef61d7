"""The one documented recipe for a headless sign-in against the sandbox, as docs/sandbox.md shows it.

docs/sandbox.md holds it in the fenced block after the marker; the README, the keyword docs and
the starter file ``healthcode-auth init`` writes must hold the same text, and the package-user test
runs exactly this text against a sandbox.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- recipe: headless sign-in against the sandbox -->"


def fenced_block_after(text: str, marker: str) -> str:
    """The content of the first fenced code block after ``marker`` (with its final newline)."""
    start = text.index(marker) + len(marker)
    match = re.compile(r"\s*```[\w-]*\n(.*?)^```", re.DOTALL | re.MULTILINE).match(text, start)
    if match is None:
        raise AssertionError(f"no fenced code block right after {marker!r}")
    return match.group(1)


def documented_recipe(sandbox_md: Path = ROOT / "docs" / "sandbox.md") -> str:
    return fenced_block_after(sandbox_md.read_text(encoding="utf-8"), MARKER)


def as_libdoc_block(text: str) -> str:
    """``text`` as a preformatted block in Robot Framework's documentation format (``| `` lines)."""
    return "\n".join(f"| {line}" if line else "|" for line in text.rstrip("\n").split("\n"))


def sandbox_settings(env_template: str) -> dict[str, str]:
    """The ``# HEALTHCODE_...=...`` lines of the settings template's sandbox section, as a mapping."""
    section = env_template[env_template.index("# --- The local sandbox") :]
    return dict(line[2:].split("=", 1) for line in section.splitlines() if line.startswith("# HEALTHCODE_"))
