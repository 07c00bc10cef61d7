"""What the groups of rows share: the row, the run's context, and helpers to time runs side by side.

A group of rows is a module ``benchmarks/rows_<name>.py`` with a docstring (its method, copied into
docs/performance.md), ``NAME`` (for ``run.py --only``), ``POSITION`` (its place in the table) and
``measure(bench: Bench) -> list[Row]``. ``run.py`` finds the modules itself.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REDIRECT = "https://rpaapp.example.com/postauth"
PYTHON = sys.executable


@dataclass
class Row:
    measure: str
    baseline: str
    value: str
    base: str
    ratio: float | None
    goal: str
    met: bool
    note: str = ""


@dataclass
class Bench:
    """One run of the benchmarks: a running sandbox, a scratch folder, and how thorough to be."""

    sandbox: Any  # healthcode_sandbox.Sandbox, started by run.py
    tmp: Path
    quick: bool
    details: list[str] = field(default_factory=list)  # Markdown a group adds under its method

    @property
    def rounds(self) -> int:
        return 3 if self.quick else 9

    def folder(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def detail(self, text: str) -> None:
        self.details.append(text)


def median(values: list[float]) -> float:
    return statistics.median(values)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def settings_env(sandbox_url: str, cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": REDIRECT,
        "HEALTHCODE_ENVIRONMENT": f"{sandbox_url}/.well-known/openid-configuration",
        "HEALTHCODE_TOKEN_CACHE": str(cache),
    }


def sso_requests(sandbox: Any) -> int:
    """The requests the sandbox counted since its stats were reset: the names without a dot, since
    ``token.refresh_token`` and the like count a ``token`` request again by its kind. (That leaves out
    ``authorize.submit``, the sign-in form's answer, too: no measured run sends one.)"""
    return sum(v for k, v in sandbox.stats().items() if "." not in k)


def sign_in_to_cache(sandbox: Any, cache: Path | str, key: str | None = None) -> None:
    """A supervisor signs in (over HTTP, no browser) and the token lands in the cache (a path or a
    store URL); with ``key`` as HEALTHCODE_CACHE_KEY in this process's environment meanwhile."""
    from healthcode_auth import HealthcodeConfig
    from healthcode_auth.session import HealthcodeSession
    from healthcode_sandbox import Supervisor

    if key is not None:
        os.environ["HEALTHCODE_CACHE_KEY"] = key
    try:
        config = HealthcodeConfig(
            client_id="example_rpa_app",
            redirect_uri=REDIRECT,
            environment=sandbox.discovery_url,
            token_cache=str(cache),
        )
        session = HealthcodeSession.from_config(config)
        request = session.start_sign_in()
        session.accept_redirect(Supervisor().sign_in(request.url))
        session.access_token()
    finally:
        if key is not None:
            os.environ.pop("HEALTHCODE_CACHE_KEY", None)


def robots_released_together(
    target: Callable[..., None], args: list[tuple[Any, ...]], timeout: float
) -> tuple[float, list[str]]:
    """Spawns one process per ``args`` running ``target(*args, barrier, results)``, releases them at
    once, and returns the time from the release to the last robot holding a token, and the tokens.
    Each robot puts ``(start, end, token)`` on ``results``, its times from ``time.perf_counter()``
    (CLOCK_MONOTONIC: comparable across processes on one machine)."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(args)), context.Queue()
    processes = [context.Process(target=target, args=(*robot_args, barrier, results)) for robot_args in args]
    for process in processes:
        process.start()
    answers = [results.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    wall = max(end for _, end, _ in answers) - min(start for start, _, _ in answers)
    return wall, [token for _, _, token in answers]


def robots_renewing_together(
    sandbox: Any,
    cache: Path | str,
    target: Callable[..., None],
    args: list[tuple[Any, ...]],
    timeout: float,
    key: str | None = None,
) -> tuple[float, int, int]:
    """A token due for renewal in ``cache`` (signed in with a 60 s lifetime, within the 300 s margin:
    every robot finds it due; the renewed one lasts a day), then :func:`robots_released_together`.
    The sandbox issues refresh tokens meanwhile (by default it issues none, as Healthcode documents).
    The time from the release to the last robot holding a token, the refresh requests the sandbox
    counted, and how many distinct tokens the robots were handed."""
    sandbox.set_faults(token_lifetime=60, refresh_tokens=True)
    try:
        sign_in_to_cache(sandbox, cache, key=key)
        sandbox.set_faults(token_lifetime=86_400)
        sandbox.reset_stats()
        wall, tokens = robots_released_together(target, args, timeout)
    finally:
        sandbox.set_faults(token_lifetime=86_400, refresh_tokens=False)
    return wall, sandbox.request_count("token.refresh_token"), len(set(tokens))


def per_call_ns(function: Callable[[], object], calls: int) -> float:
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        function()
        samples.append(time.perf_counter_ns() - start)
    return median(samples)


@dataclass(frozen=True)
class Timed:
    seconds: float  # wall time
    cpu: float  # user + system time of the process and its children
    peak_mb: float  # peak RSS of the largest of them


# A wrapper process that runs only the measured command, so its rusage is that command's alone.
MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "wall = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(wall, u.ru_utime + u.ru_stime, u.ru_maxrss, rc)"
)


def timed_run(command: list[str], env: dict[str, str]) -> Timed:
    """Wall time, CPU time and peak RSS of one process (and the children it waited for)."""
    out = subprocess.run([PYTHON, "-c", MEASURE, *command], env=env, capture_output=True, text=True, check=True)
    seconds, cpu, rss_kb, rc = out.stdout.split()
    if rc != "0":
        raise RuntimeError(f"{command} failed with exit status {rc}: {out.stderr[-2000:]}")
    return Timed(float(seconds), float(cpu), int(rss_kb) / 1024)


def robot_command(*args: str) -> list[str]:
    return [PYTHON, "-m", "robot", *args]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(
            line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
        )
        memory_text = f"{int(memory) / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        memory_text = "?"
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory_text} RAM; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )
