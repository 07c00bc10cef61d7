"""What a scheduled robot pays for the library. A whole `robot` run that only gets the cached token
(and checks that Browser, grpc, playwright, httpx, joserfc, filelock, keyring and, on Linux,
platformdirs were never imported) against the same run without the
library doing the same non-library work, runs alternating, medians of wall time; its peak RSS
against that of the empty run; and `import HealthcodeLibrary` against `import httpx`, each in a
fresh interpreter, with Robot Framework already imported (as when Robot imports a library) and in a
bare one."""

from __future__ import annotations

import subprocess
import sys

from common import PYTHON, Bench, Row, median, robot_command, settings_env, sign_in_to_cache, sso_requests, timed_run

NAME = "startup"
POSITION = 20

# What a run that finds a valid cached token never imports (issue 21): the browser side, the HTTP client,
# the JWT library, the file lock, the keyring; and on Linux platformdirs (elsewhere it names the folders).
NOT_IMPORTED = (
    "Browser",
    "grpc",
    "playwright",
    "httpx",
    "joserfc",
    "filelock",
    "keyring",
    *(("platformdirs",) if sys.platform == "linux" else ()),
)
CHECK = f"${{heavy}}=    Evaluate    sorted(m for m in {NOT_IMPORTED!r} if m in sys.modules)    modules=sys"
SCHEDULED = f"""*** Settings ***
Library    HealthcodeLibrary

*** Tasks ***
Scheduled Work
    ${{token}}=    Get Healthcode Access Token
    {CHECK}
    Should Be Empty    ${{heavy}}
"""
# The baseline does the same non-library work (the import check), so the difference is the library.
EMPTY = f"""*** Tasks ***
Scheduled Work
    ${{token}}=    Set Variable    not-a-token
    {CHECK}
    Should Be Empty    ${{heavy}}
"""
IMPORT = (
    "import {pre}, importlib, time; t = time.perf_counter(); importlib.import_module('{mod}'); "
    "print(time.perf_counter() - t)"
)


def measure(bench: Bench) -> list[Row]:
    return [*scheduled_run(bench, bench.rounds * 2), *imports(bench.rounds * 2)]


def scheduled_run(bench: Bench, rounds: int) -> tuple[Row, Row]:
    sandbox, tmp = bench.sandbox, bench.folder("scheduled")
    cache = tmp / "cache" / "tokens.json"
    sign_in_to_cache(sandbox, cache)
    env = settings_env(sandbox.url, cache)
    suites = {"ours": tmp / "scheduled.robot", "empty": tmp / "empty.robot"}
    suites["ours"].write_text(SCHEDULED)
    suites["empty"].write_text(EMPTY)
    times: dict[str, list[float]] = {"ours": [], "empty": []}
    cpu: dict[str, list[float]] = {"ours": [], "empty": []}
    memory: dict[str, list[float]] = {"ours": [], "empty": []}
    sandbox.reset_stats()
    for _ in range(rounds):
        for name, suite in suites.items():
            run = timed_run(robot_command("--outputdir", str(tmp / f"out-{name}"), str(suite)), env)
            times[name].append(run.seconds)
            cpu[name].append(run.cpu)
            memory[name].append(run.peak_mb)
    requests = sso_requests(sandbox)
    ours, empty = median(times["ours"]), median(times["empty"])
    cpu_ratio = median(cpu["ours"]) / median(cpu["empty"])
    speed = Row(
        "scheduled robot run that only gets the cached token",
        "the same run without the library",
        f"{ours:.3f} s",
        f"{empty:.3f} s",
        ours / empty,
        "≤ 1.15x; Browser, grpc, playwright, httpx, joserfc, filelock, keyring, platformdirs never imported",
        ours / empty <= 1.15 and requests == 0,
        f"{requests} SSO requests in {rounds} runs; the run itself checks the imports; "
        f"CPU time {median(cpu['ours']):.3f} s vs {median(cpu['empty']):.3f} s ({cpu_ratio:.2f}x)",
    )
    mem_ours, mem_empty = median(memory["ours"]), median(memory["empty"])
    peak = Row(
        "peak memory of that scheduled run",
        "empty robot run",
        f"{mem_ours:.1f} MB",
        f"{mem_empty:.1f} MB",
        mem_ours / mem_empty,
        "≤ +20 MB",
        mem_ours - mem_empty <= 20,
        f"+{mem_ours - mem_empty:.1f} MB",
    )
    return speed, peak


def import_seconds(module: str, pre: str) -> float:
    code = IMPORT.format(pre=pre, mod=module)
    return float(subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout)


def imports(rounds: int) -> tuple[Row, Row]:
    samples: dict[str, list[float]] = {"warm-ours": [], "warm-httpx": [], "cold-ours": [], "cold-httpx": []}
    for _ in range(rounds):
        samples["warm-ours"].append(import_seconds("HealthcodeLibrary", "robot.api"))
        samples["warm-httpx"].append(import_seconds("httpx", "robot.api"))
        samples["cold-ours"].append(import_seconds("HealthcodeLibrary", "sys"))
        samples["cold-httpx"].append(import_seconds("httpx", "sys"))
    m = {k: median(v) * 1000 for k, v in samples.items()}
    warm_ratio = m["warm-ours"] / m["warm-httpx"]
    warm = Row(
        "`import HealthcodeLibrary` in a Robot Framework process",
        "`import httpx` there",
        f"{m['warm-ours']:.0f} ms",
        f"{m['warm-httpx']:.0f} ms",
        warm_ratio,
        "≤ 1.3x",
        warm_ratio <= 1.3,
        "robot.api already imported, as whenever Robot imports a library",
    )
    cold = Row(
        "`import HealthcodeLibrary` in a bare interpreter",
        "`import httpx` there",
        f"{m['cold-ours']:.0f} ms",
        f"{m['cold-httpx']:.0f} ms",
        m["cold-ours"] / m["cold-httpx"],
        "(reference)",
        True,
        "includes importing Robot Framework itself (robot.api), which a library cannot avoid",
    )
    return warm, cold
