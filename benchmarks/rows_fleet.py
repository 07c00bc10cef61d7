"""The fleet: a Redis token store, with a random key from `healthcode-auth key new` (no scrypt).
A whole `robot` run that only gets the cached token, from the file store and from Redis (a real
`redis-server` on loopback, as `utest/redis_server.py` starts it), against an empty robot run doing
the same non-library work (both check that httpx, joserfc, filelock, keyring and, on Linux,
platformdirs were never imported); the three runs alternating in one loop, medians of wall and CPU
time, peak RSS. Then 3 simulated machines x 8 robots (24 spawned processes, held at a barrier,
then released at once) sharing a token in Redis that is due for renewal: refresh requests counted
at the sandbox (exactly 1 is the goal), distinct tokens handed out, and the time from the release
to the last robot holding the new token, against 1 robot alone on the same Redis: once with the
libraries a renewal needs imported on first use (as in a robot's first keyword; 24 processes
importing them at once share 2 cores), and once with them imported before the release (the
coordination alone). The sandbox issues refresh tokens for the renewal rows (Healthcode issues
none; by default neither does the sandbox)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from common import (
    REDIRECT,
    ROOT,
    Bench,
    Row,
    median,
    robot_command,
    robots_renewing_together,
    settings_env,
    sign_in_to_cache,
    sso_requests,
    timed_run,
)
from rows_startup import EMPTY, SCHEDULED

NAME = "fleet"
POSITION = 25


def measure(bench: Bench) -> list[Row]:
    sys.path.insert(0, str(ROOT / "utest"))
    from healthcode_auth.storage.key_sources import new_random_key
    from redis_server import RedisServer, redis_server_executable

    if redis_server_executable() is None:
        return [
            Row(
                "fleet rows",
                "-",
                "-",
                "-",
                None,
                "redis-server installed",
                False,
                "redis-server is not installed: run scripts/setup",
            )
        ]
    key = new_random_key()
    with RedisServer() as redis:
        rows = scheduled_runs(bench, redis.url, key, bench.rounds * 2)
        rows += renewals(bench, redis.url, key)
    return rows


def scheduled_runs(bench: Bench, redis_url: str, key: str, rounds: int) -> list[Row]:
    sandbox, tmp = bench.sandbox, bench.folder("fleet-scheduled")
    stores = {"file": str(tmp / "cache" / "tokens.json"), "redis": redis_url}
    envs = {}
    for name, store in stores.items():
        envs[name] = {
            **settings_env(sandbox.url, tmp / "unused"),
            "HEALTHCODE_TOKEN_CACHE": store,
            "HEALTHCODE_CACHE_KEY": key,
        }
        sign_in_to_cache(sandbox, store, key=key)
    envs["empty"] = envs["file"]
    suites = {"file": tmp / "scheduled.robot", "redis": tmp / "scheduled.robot", "empty": tmp / "empty.robot"}
    suites["file"].write_text(SCHEDULED)
    suites["empty"].write_text(EMPTY)
    seconds: dict[str, list[float]] = {name: [] for name in suites}
    cpu: dict[str, list[float]] = {name: [] for name in suites}
    peak: dict[str, list[float]] = {name: [] for name in suites}
    sandbox.reset_stats()
    for _ in range(rounds):
        for name, suite in suites.items():
            run = timed_run(robot_command("--outputdir", str(tmp / f"out-{name}"), str(suite)), envs[name])
            seconds[name].append(run.seconds)
            cpu[name].append(run.cpu)
            peak[name].append(run.peak_mb)
    requests = sso_requests(sandbox)
    wall = {name: median(values) for name, values in seconds.items()}
    used = {name: median(values) for name, values in cpu.items()}  # user + system: less swayed by other work
    mem = {name: median(values) for name, values in peak.items()}
    file_ratio, redis_ratio = wall["file"] / wall["empty"], wall["redis"] / wall["empty"]
    return [
        Row(
            "scheduled run, file store, random key",
            "empty robot run",
            f"{wall['file']:.3f} s",
            f"{wall['empty']:.3f} s",
            file_ratio,
            "≤ 1.12x; no httpx, joserfc, filelock, keyring, platformdirs",
            file_ratio <= 1.12 and requests == 0,
            f"{requests} SSO requests in {rounds * 2} runs; a key from 'healthcode-auth key new': no scrypt; the run "
            f"checks the imports; CPU time {used['file']:.3f} s vs {used['empty']:.3f} s "
            f"({used['file'] / used['empty']:.2f}x)",
        ),
        Row(
            "peak memory of that run",
            "empty robot run",
            f"{mem['file']:.1f} MB",
            f"{mem['empty']:.1f} MB",
            mem["file"] / mem["empty"],
            "≤ +10 MB",
            mem["file"] - mem["empty"] <= 10,
            f"+{mem['file'] - mem['empty']:.1f} MB",
        ),
        Row(
            "scheduled run, Redis store, random key",
            "empty robot run",
            f"{wall['redis']:.3f} s",
            f"{wall['empty']:.3f} s",
            redis_ratio,
            "≤ 1.35x",
            redis_ratio <= 1.35 and requests == 0,
            f"against the file store: {wall['redis'] / wall['file']:.2f}x; Redis on loopback; CPU time "
            f"{used['redis']:.3f} s vs {used['empty']:.3f} s ({used['redis'] / used['empty']:.2f}x)",
        ),
        Row(
            "peak memory of the Redis run",
            "empty robot run",
            f"{mem['redis']:.1f} MB",
            f"{mem['empty']:.1f} MB",
            mem["redis"] / mem["empty"],
            "(reference)",
            True,
            f"+{mem['redis'] - mem['empty']:.1f} MB (redis-py)",
        ),
    ]


def renewals(bench: Bench, redis_url: str, key: str) -> list[Row]:
    rows = []
    for warm, how in (
        (False, "libraries imported on first use, as in a robot's first keyword"),
        (True, "libraries imported before the release: the coordination alone"),
    ):
        label = " (warm)" if warm else ""
        one, refreshes_one, _ = run_fleet(
            bench, f"{redis_url}?prefix=bench-one-{warm}:", key, machines=1, robots=1, warm=warm
        )
        wall, refreshes, distinct = run_fleet(
            bench, f"{redis_url}?prefix=bench-fleet-{warm}:", key, machines=3, robots=8, warm=warm
        )
        rows += [
            Row(
                f"1 robot on Redis, expired token{label}",
                "(the baseline below)",
                f"{one * 1000:.0f} ms",
                "",
                None,
                "1 refresh request",
                refreshes_one == 1,
                f"{refreshes_one} refresh request; {how}",
            ),
            Row(
                f"3 machines x 8 robots on Redis, expired token{label}",
                f"1 robot on Redis{label}",
                f"{wall * 1000:.0f} ms",
                f"{one * 1000:.0f} ms",
                wall / one,
                "exactly 1 refresh request",
                refreshes == 1 and distinct == 1,
                f"{refreshes} refresh request(s); {distinct} distinct token(s); time until the last robot holds the "
                "new token; 24 processes on this machine's 2 cores",
            ),
        ]
    return rows


def fleet_robot(discovery_url: str, store: str, key: str, home: str, warm: bool, barrier: Any, results: Any) -> None:
    os.environ.update(
        {
            "HEALTHCODE_CACHE_KEY": key,
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/config",
            "XDG_CACHE_HOME": f"{home}/cache",
        }
    )
    from healthcode_auth import HealthcodeConfig
    from healthcode_auth.session import HealthcodeSession

    config = HealthcodeConfig(
        client_id="example_rpa_app", redirect_uri=REDIRECT, environment=discovery_url, token_cache=store
    )
    session = HealthcodeSession.from_config(config)
    if warm:  # what the first keyword would import: redis-py, the cipher, the HTTP client, the JWT library
        import cryptography.hazmat.primitives.ciphers.aead  # noqa: F401
        import httpx  # noqa: F401
        import joserfc.jwt  # noqa: F401
        import redis  # noqa: F401
    barrier.wait(timeout=120)
    start = time.perf_counter()
    token = session.access_token().access_token
    results.put((start, time.perf_counter(), token))


def run_fleet(bench: Bench, store: str, key: str, *, machines: int, robots: int, warm: bool) -> tuple[float, int, int]:
    sandbox = bench.sandbox
    homes = [str(bench.folder(f"fleet-machine-{m}")) for m in range(machines)]
    args = [(sandbox.discovery_url, store, key, homes[i % machines], warm) for i in range(machines * robots)]
    return robots_renewing_together(sandbox, store, fleet_robot, args, 180, key=key)
