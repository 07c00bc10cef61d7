"""The cost of the output scrubber (issue 10.3), the listener the library registers to mask every
secret the process knows in what Robot Framework writes. Three variants of one suite of 1,000 `Log`
keywords, each run as its own `python -m robot` process writing output.xml, log.html and
report.html (console off): *without the library* (the baseline: no Healthcode module is imported at
all); *library, no secret known* (the library imported, its listener registered but with nothing
to look for, so this is what importing the library costs); *library, secret known* (a secret
registered in Suite Setup, so the listener checks every message, keyword and status, and masks the
one line that holds it). The variants run one after another within every round, in a rotating
order; a first round warms the disk cache and is not counted. Reported: medians of wall time and of
CPU time (user + system of the robot process), and the split of the cost between importing the
library and the listener at work. The run fails if the secret reaches output.xml, since then the
scrubber was not measured at work. Also, in the benchmark's own process: the scrubber's cost per
ordinary log message."""

from __future__ import annotations

import os
import secrets
import time

from common import Bench, Row, Timed, median, robot_command, timed_run

NAME = "robot-output"
POSITION = 50
KEYWORDS = 1000
GOAL = 1.10
VARIANTS = {  # name: (import the library, register the secret)
    "without": (False, False),
    "idle": (True, False),
    "busy": (True, True),
}


def suite(keywords: int, library: bool) -> str:
    # Registering the secret goes through the library's module only when the library is imported;
    # the baseline does comparable work without importing anything of ours.
    setup = (
        "Evaluate    healthcode_auth.redaction.REDACTOR.add($SECRET)    modules=healthcode_auth.redaction"
        if library
        else "Evaluate    len($SECRET)"
    )
    lines = ["*** Settings ***"]
    if library:
        lines.append("Library    HealthcodeLibrary")
    lines += [
        f"Suite Setup    {setup}",
        "",
        "*** Variables ***",
        "${SECRET}    ${EMPTY}",
        "",
        "*** Test Cases ***",
        "Logging",
    ]
    lines += [
        f"    Log    Message {i}: an ordinary line a robot writes while it works, of a usual length."
        for i in range(keywords)
    ]
    lines.append("    Log    The secret, logged carelessly once: ${SECRET}")
    return "\n".join(lines) + "\n"


def measure(bench: Bench) -> list[Row]:
    tmp, rounds = bench.folder("robot-output"), 5 if bench.quick else 15
    secret = "benchmark-" + secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
    runs: dict[str, list[Timed]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for name, (library, _) in VARIANTS.items():
        (tmp / f"{name}.robot").write_text(suite(KEYWORDS, library))
    for round_ in range(rounds + 1):  # round 0 warms up the disk cache and is not counted
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            _, register = VARIANTS[name]
            output = tmp / f"out-{round_}-{name}"
            run = timed_run(
                robot_command(
                    "--outputdir",
                    str(output),
                    "--console",
                    "none",
                    "--variable",
                    f"SECRET:{secret if register else ''}",
                    str(tmp / f"{name}.robot"),
                ),
                env,
            )
            if round_:
                runs[name].append(run)
            if register and secret.encode() in (output / "output.xml").read_bytes():
                raise RuntimeError("The secret is in output.xml: the scrubber did not run, so it was not measured.")
    wall = {name: median([run.seconds for run in values]) for name, values in runs.items()}
    cpu = {name: median([run.cpu for run in values]) for name, values in runs.items()}
    busy_us, idle_us = per_message_us(secret)
    fastest = {name: min(run.seconds for run in values) for name, values in runs.items()}
    bench.detail(variant_table(runs, wall, cpu))
    whole = f"robot run of {KEYWORDS:,} `Log` keywords, outputs written, library imported and a secret known"
    base = "the same run without the library"
    return [
        Row(
            f"{whole}: wall time",
            base,
            f"{wall['busy']:.3f} s",
            f"{wall['without']:.3f} s",
            wall["busy"] / wall["without"],
            f"≤ {GOAL:.2f}x",
            wall["busy"] / wall["without"] <= GOAL,
            f"{rounds} rounds, rotating order; fastest runs {fastest['busy']:.3f} s vs {fastest['without']:.3f} s "
            f"({fastest['busy'] / fastest['without']:.2f}x)",
        ),
        Row(
            f"{whole}: CPU time (user + system of the robot process)",
            base,
            f"{cpu['busy']:.3f} s",
            f"{cpu['without']:.3f} s",
            cpu["busy"] / cpu["without"],
            f"≤ {GOAL:.2f}x",
            cpu["busy"] / cpu["without"] <= GOAL,
            "less sensitive than wall time to other work on the machine",
        ),
        Row(
            "of which importing the library: library imported, no secret known (the listener has nothing to do)",
            base,
            f"{wall['idle']:.3f} s",
            f"{wall['without']:.3f} s",
            wall["idle"] / wall["without"],
            "(split of the rows above)",
            True,
            f"CPU time {cpu['idle']:.3f} s vs {cpu['without']:.3f} s ({cpu['idle'] / cpu['without']:.2f}x)",
        ),
        Row(
            "of which the listener at work: secret known",
            "library imported, no secret known",
            f"{wall['busy']:.3f} s",
            f"{wall['idle']:.3f} s",
            wall["busy"] / wall["idle"],
            "(split of the rows above)",
            True,
            f"CPU time {cpu['busy']:.3f} s vs {cpu['idle']:.3f} s ({cpu['busy'] / cpu['idle']:.2f}x); "
            f"in-process, the scrubber takes {busy_us:.2f} µs per ordinary message with a secret known, "
            f"{idle_us:.2f} µs with none",
        ),
    ]


def per_message_us(secret: str, repeats: int = 7, calls: int = 50_000) -> tuple[float, float]:
    """The scrubber's own cost for one ordinary log message, in microseconds, with ``secret`` known
    and with none: medians of ``repeats`` timings of ``calls`` messages, the two alternating."""
    from robot.output.loggerhelper import Message

    from healthcode_auth.redaction import SecretRedactor
    from HealthcodeLibrary.output_scrubber import OutputScrubber

    busy, idle = SecretRedactor(), SecretRedactor()
    busy.add(secret)
    message = Message("Message 1: an ordinary line a robot writes while it works, of a usual length.")
    samples: dict[int, list[float]] = {id(busy): [], id(idle): []}
    for _ in range(repeats):
        for redactor in (busy, idle):
            scrubber = OutputScrubber(redactor)
            start = time.perf_counter()
            for _ in range(calls):
                scrubber.log_message(message)
            samples[id(redactor)].append((time.perf_counter() - start) / calls * 1e6)
    return median(samples[id(busy)]), median(samples[id(idle)])


def variant_table(runs: dict[str, list[Timed]], wall: dict[str, float], cpu: dict[str, float]) -> str:
    labels = {"without": "without the library", "idle": "library, no secret known", "busy": "library, secret known"}
    lines = [
        f"{KEYWORDS:,} `Log` keywords, each variant's runs (medians; wall times of every counted run):",
        "",
        "| Variant | Wall time | Ratio | CPU time | Ratio | Wall times of the runs (s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, values in runs.items():
        times = ", ".join(f"{run.seconds:.2f}" for run in values)
        lines.append(
            f"| {labels[name]} | {wall[name]:.3f} s | {wall[name] / wall['without']:.2f}x | "
            f"{cpu[name]:.3f} s | {cpu[name] / cpu['without']:.2f}x | {times} |"
        )
    return "\n".join(lines)
