"""Cost of the output scrubber: a robot run of 1,000 `Log` keywords with HealthcodeLibrary imported
(and a secret registered, so every message is checked) against the same run without the library.

    .venv/bin/python benchmarks/output_scrubbing.py [--rounds 9] [--keywords 1000]

Each run is a separate `python -m robot` process writing Robot's usual outputs (output.xml,
log.html, report.html). The variants alternate within every round, in a rotating order, so that
machine noise hits them alike; the figures are medians of wall time and, less sensitive to other
work on the machine, of the run's CPU time. A third variant imports the library without
registering a secret (the scrubber's idle path). Also measured in this process: the scrubber's own
cost per log message. Prints a table and a row in the format of docs/performance.md. Nothing is
asserted about timings; the run fails only if the secret was not masked, since then the
measurement would not be of the scrubber at work.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.10
VARIANTS = {  # name: (import the library, register the secret)
    "without the library": (False, False),
    "library, no secret known": (True, False),
    "library, secret known": (True, True),
}


def suite(keywords: int, library: bool) -> str:
    lines = ["*** Settings ***"]
    if library:
        lines.append("Library    HealthcodeLibrary")
    lines += [
        "Suite Setup    Evaluate    healthcode_auth.redaction.REDACTOR.add($SECRET)    "
        "modules=healthcode_auth.redaction",
        "",
        "*** Variables ***",
        "${SECRET}    ${EMPTY}",
        "",
        "*** Test Cases ***",
        "Logging",
    ]
    lines += [f"    Log    Message {i}: an ordinary line a robot writes while it works, of a usual length."
              for i in range(keywords)]
    lines.append("    Log    The secret, logged carelessly once: ${SECRET}")
    return "\n".join(lines) + "\n"


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(data: Path, output: Path, secret: str) -> tuple[float, float]:
    """Wall time and CPU time of one robot run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
    command = [sys.executable, "-m", "robot", "--outputdir", str(output), "--console", "none",
               "--variable", f"SECRET:{secret}", str(data)]
    cpu, start = cpu_of_children(), time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, cpu_of_children() - cpu


def per_message_us(secret: str | None, calls: int = 200_000) -> float:
    """The scrubber's own cost for one ordinary log message, in microseconds."""
    from robot.output.loggerhelper import Message

    from healthcode_auth.redaction import SecretRedactor
    from HealthcodeLibrary.output_scrubber import OutputScrubber

    redactor = SecretRedactor()
    redactor.add(secret)
    scrubber = OutputScrubber(redactor)
    message = Message("Message 1: an ordinary line a robot writes while it works, of a usual length.")
    start = time.perf_counter()
    for _ in range(calls):
        scrubber.log_message(message)
    return (time.perf_counter() - start) / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--keywords", type=int, default=1000)
    args = parser.parse_args()
    secret = "benchmark-" + secrets.token_urlsafe(32)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for name, (library, _) in VARIANTS.items():
            (tmp / f"{name}.robot".replace(" ", "_")).write_text(suite(args.keywords, library))
        names = list(VARIANTS)
        for round_ in range(args.rounds + 1):  # round 0 warms up the disk cache and is not counted
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in order:
                library, register = VARIANTS[name]
                output = tmp / f"out-{round_}-{names.index(name)}"
                data = tmp / f"{name}.robot".replace(" ", "_")
                seconds, cpu_seconds = run(data, output, secret if register else "")
                if round_:
                    times[name].append(seconds)
                    cpu[name].append(cpu_seconds)
                if register and secret.encode() in (output / "output.xml").read_bytes():
                    print(f"The secret is in output.xml of '{name}': the scrubber did not run.", file=sys.stderr)
                    return 1
            print(f"round {round_}/{args.rounds} done", file=sys.stderr, flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    base, cpu_base = medians["without the library"], cpu_medians["without the library"]
    print(f"\n{args.keywords} Log keywords, {args.rounds} rounds, medians of a whole robot run:\n")
    print("| Variant | Wall time | Ratio | CPU time | Ratio | Fastest run | Ratio | Wall times of the runs (s) |")
    print("|---|---|---|---|---|---|---|---|")
    fastest = min(times["without the library"])
    for name, value in medians.items():
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"| {name} | {value:.3f} s | {value / base:.2f}x | {cpu_medians[name]:.3f} s | "
              f"{cpu_medians[name] / cpu_base:.2f}x | {min(times[name]):.3f} s | {min(times[name]) / fastest:.2f}x "
              f"| {runs} |")
    idle_us, busy_us = per_message_us(None), per_message_us(secret)
    print(f"\nThe scrubber's own cost per log message: {busy_us:.2f} µs with a secret known, "
          f"{idle_us:.2f} µs with none.")
    ours, idle = medians["library, secret known"], medians["library, no secret known"]
    ratio, cpu_ratio = ours / base, cpu_medians["library, secret known"] / cpu_base
    met = "yes" if ratio <= GOAL else "**no**"
    print("\nRow for docs/performance.md:\n")
    print(f"| robot run of {args.keywords:,} `Log` keywords, outputs written, with the output scrubber | the same "
          f"run without the library | {ours:.3f} s | {base:.3f} s | {ratio:.2f}x | ≤ {GOAL:.2f}x | {met} | "
          f"library imported and a secret registered, so every message is checked; CPU time {cpu_ratio:.2f}x; "
          f"no secret known yet: {idle / base:.2f}x (so checking every message: {ours / idle:.2f}x); "
          f"scrubber {busy_us:.1f} µs per message; "
          f"{args.rounds} rounds |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
