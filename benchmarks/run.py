"""Performance of robotframework-healthcode, measured side by side with a baseline in one run.

    .venv/bin/python benchmarks/run.py [--quick]

Prints a table and writes docs/performance.md. Every figure is a median of repeated runs, with the
measured and the baseline runs interleaved so that machine noise hits both alike. Nothing here is
asserted in the test suite: goals are reported, met or not.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

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


def median(values: list[float]) -> float:
    return statistics.median(values)


def settings_env(sandbox_url: str, cache: Path) -> dict[str, str]:
    return {**os.environ, "HEALTHCODE_CLIENT_ID": "example_rpa_app", "HEALTHCODE_REDIRECT_URI": REDIRECT,
            "HEALTHCODE_ENVIRONMENT": f"{sandbox_url}/.well-known/openid-configuration",
            "HEALTHCODE_TOKEN_CACHE": str(cache)}


def sign_in_to_cache(sandbox, cache: Path) -> None:
    """A supervisor signs in (over HTTP, no browser) and the token lands in the cache."""
    from healthcode_auth import HealthcodeConfig
    from healthcode_auth.session import HealthcodeSession
    from healthcode_sandbox import Supervisor

    config = HealthcodeConfig(client_id="example_rpa_app", redirect_uri=REDIRECT, environment=sandbox.discovery_url,
                              token_cache=str(cache))
    session = HealthcodeSession.from_config(config)
    request = session.start_sign_in()
    session.accept_redirect(Supervisor().sign_in(request.url))
    session.access_token()


def per_call_ns(function: Callable[[], object], calls: int) -> float:
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        function()
        samples.append(time.perf_counter_ns() - start)
    return median(samples)


def bench_cached_token(sandbox, tmp: Path, calls: int) -> Row:
    cache = tmp / "cached-call" / "tokens.json"
    sign_in_to_cache(sandbox, cache)
    from HealthcodeLibrary import HealthcodeLibrary

    library = HealthcodeLibrary(client_id="example_rpa_app", redirect_uri=REDIRECT,
                                environment=sandbox.discovery_url, token_cache=str(cache))
    library.get_healthcode_access_token()  # first call reads the cache file
    sandbox.reset_stats()
    table = {"token": "value"}
    ours = per_call_ns(library.get_healthcode_access_token, calls)
    base = per_call_ns(lambda: table["token"], calls)
    requests = sum(v for k, v in sandbox.stats().items() if "." not in k)
    return Row("`Get Healthcode Access Token`, valid cached token, per call", "dict lookup",
               f"{ours / 1000:.1f} µs", f"{base / 1000:.2f} µs", ours / base, "< 1 ms, 0 requests",
               ours < 1_000_000 and requests == 0, f"{requests} network requests in {calls} calls")


SCHEDULED = """*** Settings ***
Library    HealthcodeLibrary

*** Tasks ***
Scheduled Work
    ${token}=    Get Healthcode Access Token
    ${heavy}=    Evaluate    sorted(m for m in ('Browser', 'grpc', 'playwright') if m in sys.modules)    modules=sys
    Should Be Empty    ${heavy}
"""
# The baseline does the same non-library work (the import check), so the difference is the library.
EMPTY = """*** Tasks ***
Scheduled Work
    ${token}=    Set Variable    not-a-token
    ${heavy}=    Evaluate    sorted(m for m in ('Browser', 'grpc', 'playwright') if m in sys.modules)    modules=sys
    Should Be Empty    ${heavy}
"""
MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
           "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
           "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)")


def timed_run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process, measured by a wrapper that runs only it."""
    out = subprocess.run([PYTHON, "-c", MEASURE, *command], env=env, capture_output=True, text=True, check=True)
    seconds, rss_kb, rc = out.stdout.split()
    if rc != "0":
        raise RuntimeError(f"{command} failed with {rc}")
    return float(seconds), int(rss_kb) / 1024


def bench_scheduled_run(sandbox, tmp: Path, rounds: int) -> tuple[Row, Row]:
    cache = tmp / "scheduled" / "tokens.json"
    sign_in_to_cache(sandbox, cache)
    env = settings_env(sandbox.url, cache)
    suites = {"ours": tmp / "scheduled.robot", "empty": tmp / "empty.robot"}
    suites["ours"].write_text(SCHEDULED)
    suites["empty"].write_text(EMPTY)
    times: dict[str, list[float]] = {"ours": [], "empty": []}
    memory: dict[str, list[float]] = {"ours": [], "empty": []}
    sandbox.reset_stats()
    for _ in range(rounds):
        for name, suite in suites.items():
            seconds, rss = timed_run([PYTHON, "-m", "robot", "--outputdir", str(tmp / f"out-{name}"), str(suite)], env)
            times[name].append(seconds)
            memory[name].append(rss)
    requests = sum(v for k, v in sandbox.stats().items() if "." not in k)
    ours, empty = median(times["ours"]), median(times["empty"])
    speed = Row("scheduled robot run that only gets the cached token", "the same run without the library",
                f"{ours:.3f} s",
                f"{empty:.3f} s", ours / empty, "≤ 1.15x; Browser, grpc, playwright never imported",
                ours / empty <= 1.15 and requests == 0,
                f"{requests} SSO requests in {rounds} runs; the run itself checks the imports")
    mem_ours, mem_empty = median(memory["ours"]), median(memory["empty"])
    peak = Row("peak memory of that scheduled run", "empty robot run", f"{mem_ours:.1f} MB", f"{mem_empty:.1f} MB",
               mem_ours / mem_empty, "≤ +20 MB", mem_ours - mem_empty <= 20, f"+{mem_ours - mem_empty:.1f} MB")
    return speed, peak


IMPORT = ("import {pre}, importlib, time; t = time.perf_counter(); importlib.import_module('{mod}'); "
          "print(time.perf_counter() - t)")


def import_seconds(module: str, pre: str) -> float:
    code = IMPORT.format(pre=pre, mod=module)
    return float(subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout)


def bench_import(rounds: int) -> tuple[Row, Row]:
    samples: dict[str, list[float]] = {"warm-ours": [], "warm-httpx": [], "cold-ours": [], "cold-httpx": []}
    for _ in range(rounds):
        samples["warm-ours"].append(import_seconds("HealthcodeLibrary", "robot.api"))
        samples["warm-httpx"].append(import_seconds("httpx", "robot.api"))
        samples["cold-ours"].append(import_seconds("HealthcodeLibrary", "sys"))
        samples["cold-httpx"].append(import_seconds("httpx", "sys"))
    m = {k: median(v) * 1000 for k, v in samples.items()}
    warm_ratio = m["warm-ours"] / m["warm-httpx"]
    warm = Row("`import HealthcodeLibrary` in a Robot Framework process", "`import httpx` there",
               f"{m['warm-ours']:.0f} ms", f"{m['warm-httpx']:.0f} ms", warm_ratio, "≤ 1.3x", warm_ratio <= 1.3,
               "robot.api already imported, as whenever Robot imports a library")
    cold = Row("`import HealthcodeLibrary` in a bare interpreter", "`import httpx` there",
               f"{m['cold-ours']:.0f} ms",
               f"{m['cold-httpx']:.0f} ms", m["cold-ours"] / m["cold-httpx"], "(reference)", True,
               "includes importing Robot Framework itself (robot.api), which a library cannot avoid")
    return warm, cold


def bench_exchange(sandbox, rounds: int) -> Row:
    import httpx

    from healthcode_auth import HealthcodeAuthClient, HealthcodeConfig, parse_redirect
    from healthcode_auth.client import DiscoveryCache
    from healthcode_auth.protocol.token_endpoint import ClientAuthentication, authorization_code_request
    from healthcode_sandbox import Supervisor

    config = HealthcodeConfig(client_id="example_rpa_app", redirect_uri=REDIRECT, environment=sandbox.discovery_url)
    client = HealthcodeAuthClient(config, discovery=DiscoveryCache())
    plain = httpx.Client(timeout=30)

    def fresh_grant():
        request = client.start_sign_in()
        return parse_redirect(Supervisor().sign_in(request.url), request)

    client.exchange_code(fresh_grant())  # warm: connection, JWKS
    plain.post(config.discovery_url.replace("/.well-known/openid-configuration", "/token"), data={})
    ours, base = [], []
    for _ in range(rounds):
        grant = fresh_grant()
        start = time.perf_counter()
        client.exchange_code(grant)
        ours.append(time.perf_counter() - start)
        grant = fresh_grant()
        form = dict(authorization_code_request(
            client.metadata.token_endpoint, ClientAuthentication(config.client_id), code=grant.code,
            redirect_uri=grant.request.redirect_uri, code_verifier=grant.request.code_verifier).form)
        start = time.perf_counter()
        response = plain.post(client.metadata.token_endpoint, data=form, headers={"Accept": "application/json"})
        response.json()["access_token"]
        base.append(time.perf_counter() - start)
    o, b = median(ours) * 1000, median(base) * 1000
    return Row("code exchange against the sandbox", "minimal httpx POST of the same form", f"{o:.2f} ms",
               f"{b:.2f} ms", o / b, "≤ 1.10x", o / b <= 1.10,
               "ours also verifies the JWT signature, issuer and expiry (RS256, JWKS cached)")


LIBRARY_SIGN_IN = """*** Settings ***
Library    HealthcodeLibrary    headless=True    token_cache=off

*** Tasks ***
Sign In
    Open Healthcode Login
    Browser.Fill Text    id=username    supervisor
    Browser.Fill Text    id=password    sandbox-password
    Browser.Click    id=sign-in
    Wait For Supervisor Authorisation    timeout=30 seconds
    Get Healthcode Access Token
"""
BASELINE_SIGN_IN = """*** Settings ***
Library    Browser    enable_playwright_debug=disabled
Library    {helper}

*** Tasks ***
Sign In
    ${{url}}    ${{verifier}}    ${{state}}=    Authorization Url
    New Browser    chromium    headless=True    executablePath=${{EXECUTABLE}}    args=${{ARGS}}
    New Page    ${{url}}
    Fill Text    id=username    supervisor
    Fill Text    id=password    sandbox-password
    ${{promise}}=    Promise To    Wait For Request    matcher=https://rpaapp.example.com/postauth?**    timeout=30s
    Click    id=sign-in
    ${{request}}=    Wait For    ${{promise}}
    Exchange    ${{request}}[url]    ${{verifier}}
"""
BASELINE_HELPER = '''
import base64, hashlib, os, secrets, urllib.parse
import httpx

SSO = os.environ["BENCH_SSO"]


def authorization_url():
    verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({"response_type": "code", "client_id": "example_rpa_app",
        "redirect_uri": "https://rpaapp.example.com/postauth", "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256"})
    return f"{SSO}/authorize?{query}", verifier, state


def exchange(url, verifier):
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["code"][0]
    response = httpx.post(f"{SSO}/token", data={"grant_type": "authorization_code", "client_id": "example_rpa_app",
        "redirect_uri": "https://rpaapp.example.com/postauth", "code": code, "code_verifier": verifier})
    response.raise_for_status()
    return None
'''


def bench_sign_in(sandbox, tmp: Path, rounds: int) -> Row:
    from HealthcodeLibrary.browsers import find_browser

    choice = find_browser()
    if choice is None:
        raise RuntimeError("no browser: run scripts/setup")
    helper = tmp / "BaselineSignIn.py"
    helper.write_text(BASELINE_HELPER)
    suites = {"ours": tmp / "library_sign_in.robot", "base": tmp / "baseline_sign_in.robot"}
    suites["ours"].write_text(LIBRARY_SIGN_IN)
    suites["base"].write_text(BASELINE_SIGN_IN.format(helper=helper))
    env = {**settings_env(sandbox.url, tmp / "unused.json"), "BENCH_SSO": sandbox.url}
    extra = ["--variable", f"EXECUTABLE:{choice.executable_path or ''}",
             "--variable", f"ARGS:{choice.launch_args()!r}".replace("'", '"')]
    times: dict[str, list[float]] = {"ours": [], "base": []}
    for _ in range(rounds):
        for name, suite in suites.items():
            seconds, _ = timed_run([PYTHON, "-m", "robot", *extra, "--outputdir", str(tmp / f"signin-{name}"),
                                    str(suite)], env)
            times[name].append(seconds)
    o, b = median(times["ours"]), median(times["base"])
    return Row("full headless sign-in with the simulated supervisor (whole robot run)",
               "minimal suite: Browser keywords + httpx, same steps", f"{o:.2f} s", f"{b:.2f} s", o / b, "≤ 1.10x",
               o / b <= 1.10, "both launch the same Chromium; ours also verifies the JWT and shows the done page")


def parallel_robot(discovery_url: str, cache: str, barrier, results) -> None:
    from healthcode_auth import HealthcodeConfig
    from healthcode_auth.session import HealthcodeSession

    config = HealthcodeConfig(client_id="example_rpa_app", redirect_uri=REDIRECT, environment=discovery_url,
                              token_cache=cache)
    session = HealthcodeSession.from_config(config)
    barrier.wait(timeout=60)
    start = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes on one machine
    token = session.access_token().access_token
    results.put((start, time.perf_counter(), token))


def run_robots(sandbox, cache: Path, robots: int) -> tuple[float, int, int]:
    sandbox.set_token_lifetime(60)  # within the 300 s margin: every robot finds it due
    sign_in_to_cache(sandbox, cache)
    sandbox.set_token_lifetime(86_400)
    sandbox.reset_stats()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(robots), context.Queue()
    processes = [context.Process(target=parallel_robot, args=(sandbox.discovery_url, str(cache), barrier, results))
                 for _ in range(robots)]
    for process in processes:
        process.start()
    answers = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    # From the barrier's release to the last robot holding a valid token.
    wall = max(end for _, end, _ in answers) - min(start for start, _, _ in answers)
    return wall, sandbox.request_count("token.refresh_token"), len({token for _, _, token in answers})


def bench_parallel(sandbox, tmp: Path, counts: list[int]) -> list[Row]:
    one, refreshes_one, _ = run_robots(sandbox, tmp / "parallel-1" / "tokens.json", 1)
    rows = [Row("1 robot, expired token", "(the baseline below)", f"{one * 1000:.0f} ms", "", None,
                "1 refresh request", refreshes_one == 1, f"{refreshes_one} refresh request")]
    for robots in counts:
        wall, refreshes, distinct = run_robots(sandbox, tmp / f"parallel-{robots}" / "tokens.json", robots)
        rows.append(Row(f"{robots} parallel robots, expired token", "1 robot", f"{wall * 1000:.0f} ms",
                        f"{one * 1000:.0f} ms", wall / one, "exactly 1 refresh request",
                        refreshes == 1 and distinct == 1,
                        f"{refreshes} refresh request(s); {distinct} distinct token(s) handed out"))
    return rows


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        memory_text = f"{int(memory) / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        memory_text = "?"
    return (f"{cpu}, {os.cpu_count()} cores, {memory_text} RAM; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}")


ANALYSIS = "## Analysis"


def render(rows: list[Row], when: str, where: str, quick: bool) -> str:
    lines = [
        "# Performance", "",
        "Measured by `benchmarks/run.py` (one command: `.venv/bin/python benchmarks/run.py`), each figure a median",
        "of repeated runs with the measured and the baseline runs interleaved. Not asserted in tests: every",
        "figure is reported, including those that miss their goal.", "",
        f"- Run: {when}{' (--quick)' if quick else ''}", f"- Machine: {where}", "",
        "| Measure | Baseline | Ours | Baseline | Ratio | Goal | Met | Notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        lines.append(f"| {row.measure} | {row.baseline} | {row.value} | {row.base} | {ratio} | {row.goal} | "
                     f"{'yes' if row.met else '**no**'} | {row.note} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    parser.add_argument("--output", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args()
    rounds = 3 if args.quick else 9
    from healthcode_sandbox import Sandbox, SandboxSettings

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder, Sandbox(SandboxSettings()) as sandbox:
        tmp = Path(folder)
        os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")  # a key file of the benchmark's own
        steps: list[tuple[str, Callable[[], object]]] = [
            ("cached token per call", lambda: rows.append(bench_cached_token(sandbox, tmp, 20_000))),
            ("scheduled run", lambda: rows.extend(bench_scheduled_run(sandbox, tmp, rounds * 2))),
            ("import", lambda: rows.extend(bench_import(rounds * 2))),
            ("code exchange", lambda: rows.append(bench_exchange(sandbox, rounds * 10))),
            ("sign-in", lambda: rows.append(bench_sign_in(sandbox, tmp, max(3, rounds - 2)))),
            ("parallel robots", lambda: rows.extend(bench_parallel(sandbox, tmp, [8, 16, 32]))),
        ]
        for name, step in steps:
            print(f"measuring: {name}...", flush=True)
            step()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    report = render(rows, when, machine(), args.quick)
    print()
    print(report)
    output = Path(args.output)
    # The hand-written analysis below the table survives regeneration.
    previous = output.read_text(encoding="utf-8") if output.exists() else ""
    if ANALYSIS in previous:
        report += "\n" + previous[previous.index(ANALYSIS):]
    output.write_text(report, encoding="utf-8")
    print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
