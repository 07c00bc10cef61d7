"""Robots sharing one token cache. The token in the cache is due for renewal; 1, 8, 16 and 32
robot processes (spawned, held at a barrier, then released at once) each ask for a token. Counted
at the sandbox: refresh requests (exactly 1 is the goal, however many robots), and how many
distinct tokens were handed out; timed: from the barrier's release to the last robot holding a
valid token, against 1 robot alone. The sandbox issues refresh tokens for these rows: renewal as an
SSO that issues them allows (Healthcode issues none; by default neither does the sandbox)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from common import REDIRECT, Bench, Row, robots_renewing_together

NAME = "parallel"
POSITION = 40
COUNTS = (8, 16, 32)


def measure(bench: Bench) -> list[Row]:
    one, refreshes_one, _ = run_robots(bench.sandbox, bench.folder("parallel-1") / "tokens.json", 1)
    rows = [
        Row(
            "1 robot, expired token",
            "(the baseline below)",
            f"{one * 1000:.0f} ms",
            "",
            None,
            "1 refresh request",
            refreshes_one == 1,
            f"{refreshes_one} refresh request",
        )
    ]
    for robots in COUNTS:
        wall, refreshes, distinct = run_robots(
            bench.sandbox, bench.folder(f"parallel-{robots}") / "tokens.json", robots
        )
        rows.append(
            Row(
                f"{robots} parallel robots, expired token",
                "1 robot",
                f"{wall * 1000:.0f} ms",
                f"{one * 1000:.0f} ms",
                wall / one,
                "exactly 1 refresh request",
                refreshes == 1 and distinct == 1,
                f"{refreshes} refresh request(s); {distinct} distinct token(s) handed out",
            )
        )
    return rows


def parallel_robot(discovery_url: str, cache: str, barrier: Any, results: Any) -> None:
    from healthcode_auth import HealthcodeConfig
    from healthcode_auth.session import HealthcodeSession

    config = HealthcodeConfig(
        client_id="example_rpa_app", redirect_uri=REDIRECT, environment=discovery_url, token_cache=cache
    )
    session = HealthcodeSession.from_config(config)
    barrier.wait(timeout=60)
    start = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes on one machine
    token = session.access_token().access_token
    results.put((start, time.perf_counter(), token))


def run_robots(sandbox: Any, cache: Path, robots: int) -> tuple[float, int, int]:
    return robots_renewing_together(sandbox, cache, parallel_robot, [(sandbox.discovery_url, str(cache))] * robots, 120)
