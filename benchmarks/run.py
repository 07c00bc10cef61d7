"""Performance of robotframework-healthcode, measured side by side with a baseline in one run.

    .venv/bin/python benchmarks/run.py [--quick] [--only GROUP ...] [--list]

Prints a table and writes docs/performance.md. Every figure is a median of repeated runs, with the
measured and the baseline runs interleaved so that machine noise hits both alike. Nothing here is
asserted in the test suite: goals are reported, met or not.

The rows come in groups, one module each: ``benchmarks/rows_<group>.py`` (see ``common.py`` for
what such a module holds). A new group is a new module; this runner finds it. ``--only`` measures
some groups and prints their rows without touching docs/performance.md (unless ``--output`` is
given).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

from common import ROOT, Bench, Row, load_average, machine

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = ROOT / "docs" / "performance.md"
ANALYSIS = "## Analysis"  # the hand-written analysis below this heading survives regeneration


def groups() -> list[ModuleType]:
    modules = [importlib.import_module(path.stem) for path in HERE.glob("rows_*.py")]
    return sorted(modules, key=lambda module: module.POSITION)


def render(rows: list[Row], sections: list[str], header: list[str], quick: bool) -> str:
    lines = [
        "# Performance",
        "",
        "Measured by `benchmarks/run.py` (one command: `.venv/bin/python benchmarks/run.py`), each figure a median",
        "of repeated runs with the measured and the baseline runs interleaved. Not asserted in tests: every",
        "figure is reported, including those that miss their goal.",
        "",
        *header,
        "",
        "| Measure | Baseline | Ours | Baseline | Ratio | Goal | Met | Notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        lines.append(
            f"| {row.measure} | {row.baseline} | {row.value} | {row.base} | {ratio} | {row.goal} | "
            f"{'yes' if row.met else '**no**'} | {row.note} |"
        )
    lines += [
        "",
        "## Method",
        "",
        "Generated from the docstrings of `benchmarks/rows_*.py`, one section per group "
        f"(`--only` names){', from a --quick run' if quick else ''}.",
        "",
    ]
    return "\n".join(lines) + "\n" + "\n".join(sections)


def section(module: ModuleType, details: list[str], loads: tuple[str, str], seconds: float) -> str:
    paragraphs = (module.__doc__ or "").strip().split("\n\n")
    doc = "\n\n".join(" ".join(line.strip() for line in paragraph.splitlines()) for paragraph in paragraphs)
    parts = [
        f"### {module.NAME}",
        "",
        doc,
        "",
        f"Load average (1, 5, 15 min) at the start of the group: {loads[0]}; at its end: {loads[1]}; "
        f"the group took {seconds:.0f} s.",
        "",
    ]
    for detail in details:
        parts += [detail, ""]
    return "\n".join(parts)


def main() -> int:
    available = groups()
    names = [module.NAME for module in available]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="GROUP",
        help=f"measure only this group (repeatable): {', '.join(names)}",
    )
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument(
        "--output",
        help=f"where to write the report (default: {DEFAULT_OUTPUT.relative_to(ROOT)}, "
        "and only when every group is measured)",
    )
    args = parser.parse_args()
    if args.list:
        for module in available:
            print(f"{module.NAME:14} {(module.__doc__ or '').strip().splitlines()[0]}")
        return 0
    chosen = [module for module in available if not args.only or module.NAME in args.only]
    from healthcode_sandbox import Sandbox, SandboxSettings

    rows: list[Row] = []
    sections: list[str] = []
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_at_start = load_average()
    with tempfile.TemporaryDirectory() as folder, Sandbox(SandboxSettings()) as sandbox:
        tmp = Path(folder)
        os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")  # a key file of the benchmark's own
        for module in chosen:
            print(f"measuring: {module.NAME} (load average {load_average()})...", flush=True)
            bench = Bench(sandbox=sandbox, tmp=tmp / module.NAME, quick=args.quick)
            begin, load = time.monotonic(), load_average()
            rows.extend(module.measure(bench))
            sections.append(section(module, bench.details, (load, load_average()), time.monotonic() - begin))
    header = [
        f"- Run: {started}{' (--quick)' if args.quick else ''}"
        f"{'; groups: ' + ', '.join(m.NAME for m in chosen) if args.only else ''}",
        f"- Machine: {machine()}",
        f"- Load average (1, 5, 15 min): {load_at_start} at the start, {load_average()} at the end "
        "(shared machine: other engineers' test runs load it too)",
    ]
    report = render(rows, sections, header, args.quick)
    print()
    print(report)
    if args.only and not args.output:
        print(
            f"Measured only {', '.join(args.only)}: {DEFAULT_OUTPUT.relative_to(ROOT)} left as it was "
            "(pass --output to write a report of these groups)."
        )
        return 0
    output = Path(args.output or DEFAULT_OUTPUT)
    previous = output.read_text(encoding="utf-8") if output.exists() else ""
    if ANALYSIS in previous:
        report += "\n" + previous[previous.index(ANALYSIS) :]
    output.write_text(report, encoding="utf-8")
    print(f"Wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
