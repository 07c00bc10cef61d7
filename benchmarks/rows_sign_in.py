"""The supervisor's sign-in in a real headless browser (the one `HealthcodeLibrary.browsers`
finds; here Debian's Chromium).

*Full sign-in*: a whole robot run that opens the sign-in page, fills in the simulated supervisor's
credentials, waits for the authorisation and gets the token, against a minimal suite doing the
same steps with Browser keywords and an httpx POST; runs alternating, medians of wall time.

*20 sign-ins in one robot process* (issue 10.10): the sandbox remembers the supervisor, so the SSO
redirects at once. One headless robot run signs in 20 times (`Open Healthcode Login`,
`Wait For Supervisor Authorisation`, `Get Healthcode Access Token`, then
`Clear Healthcode Authorisation`). After sign-in 1, 5, 10 and 20, and once more when the "bot
authorised" pages' reading time has passed, the run records the pages open in all contexts
(`Get Page Ids  ALL  ALL  ALL`; the suite opens none of its own) and the proportional set size
(PSS, `/proc/<pid>/smaps_rollup`) summed over the robot process and all its descendants (the
Browser library's node process and every browser process). Rows: PSS after 20 sign-ins against
after 1, and the pages open after 20."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from common import Bench, Row, median, robot_command, settings_env, timed_run

NAME = "sign-in"
POSITION = 30
SIGN_INS = 20
CHECKPOINTS = (1, 5, 10, 20)
MEMORY_GOAL = 1.10
PAGES_GOAL = 1

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
BASELINE_HELPER = """
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
"""

MANY_SIGN_INS = """*** Settings ***
Library    HealthcodeLibrary    headless=True    token_cache=off
Library    {probe}

*** Tasks ***
{count} Sign-Ins In One Process
    FOR    ${{n}}    IN RANGE    1    {end}
        Open Healthcode Login
        Wait For Supervisor Authorisation    timeout=30 seconds
        Get Healthcode Access Token
        IF    ${{n}} in {checkpoints}    Checkpoint    ${{n}}
        Clear Healthcode Authorisation{close_pages}
    END
    Sleep    {settle} seconds
    Checkpoint    settled

*** Keywords ***
Checkpoint
    [Arguments]    ${{label}}
    ${{pages}}=    Browser.Get Page Ids    ALL    ALL    ALL
    Record Checkpoint    ${{label}}    ${{pages}}
"""
CLOSE_PAGES = "\n        Browser.Close Page    ALL    ALL    ALL"
# Runs inside the robot process: PSS of the robot process and of every process below it.
PROBE = """
import json, os, time
import psutil

START = time.monotonic()


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def kind(process):
    if process.pid == os.getpid():
        return "robot"
    try:  # by executable: node's main thread renames the process ("MainThread")
        name = os.path.basename(process.exe() or process.name()).lower()
    except psutil.Error:
        return "gone"
    if "chrom" in name:
        return "browser"
    return "node" if "node" in name else name


def record_checkpoint(label, pages):
    me = psutil.Process()
    kb, processes, unreadable = {}, {}, 0
    for process in [me, *me.children(recursive=True)]:
        value = pss_kb(process.pid)
        if value is None:
            unreadable += 1
            continue
        name = kind(process)
        kb[name] = kb.get(name, 0) + value
        processes[name] = processes.get(name, 0) + 1
    record = {"label": str(label), "seconds": time.monotonic() - START, "pages": len(pages), "pss_kb": kb,
              "processes": processes, "unreadable": unreadable}
    with open(os.environ["BENCH_PROBE_OUT"], "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\\n")
"""


def measure(bench: Bench) -> list[Row]:
    return [full_sign_in(bench, max(3, bench.rounds - 2)), *many_sign_ins(bench)]


def full_sign_in(bench: Bench, rounds: int) -> Row:
    from HealthcodeLibrary.browsers import chromium_args, find_browser

    choice = find_browser()
    if choice is None:
        raise RuntimeError("no browser: run scripts/setup")
    sandbox, tmp = bench.sandbox, bench.folder("sign-in")
    helper = tmp / "BaselineSignIn.py"
    helper.write_text(BASELINE_HELPER)
    suites = {"ours": tmp / "library_sign_in.robot", "base": tmp / "baseline_sign_in.robot"}
    suites["ours"].write_text(LIBRARY_SIGN_IN)
    suites["base"].write_text(BASELINE_SIGN_IN.format(helper=helper))
    env = {**settings_env(sandbox.url, tmp / "unused.json"), "BENCH_SSO": sandbox.url}
    extra = [
        "--variable",
        f"EXECUTABLE:{choice.executable_path or ''}",
        "--variable",
        f"ARGS:{chromium_args()!r}".replace("'", '"'),
    ]
    times: dict[str, list[float]] = {"ours": [], "base": []}
    for _ in range(rounds):
        for name, suite in suites.items():
            run = timed_run(robot_command(*extra, "--outputdir", str(tmp / f"out-{name}"), str(suite)), env)
            times[name].append(run.seconds)
    o, b = median(times["ours"]), median(times["base"])
    return Row(
        "full headless sign-in with the simulated supervisor (whole robot run)",
        "minimal suite: Browser keywords + httpx, same steps",
        f"{o:.2f} s",
        f"{b:.2f} s",
        o / b,
        "≤ 1.10x",
        o / b <= 1.10,
        f"both launch the same Chromium; ours also verifies the JWT and shows the done page; {rounds} rounds",
    )


def many_sign_ins(bench: Bench) -> list[Row]:
    from HealthcodeLibrary.sign_in_page import READING_SECONDS

    settle = READING_SECONDS + 5
    points, exchanges = run_many(bench, "as-is", settle, close_pages=False)
    bench.detail(
        checkpoint_table(
            points,
            f"{settle} s after sign-in {SIGN_INS}",
            f"{SIGN_INS} sign-ins in one robot process, checkpoint by checkpoint",
        )
    )
    # Diagnostic: the same run with the suite closing the library's page after every sign-in, to
    # tell the memory the open pages hold from any other growth.
    closing, _ = run_many(bench, "closing", 0, close_pages=True)
    bench.detail(
        checkpoint_table(
            closing,
            f"sign-in {SIGN_INS}, again",
            "For comparison, the same run with the "
            "suite closing every page after each sign-in (`Close Page  ALL  ALL  ALL`)",
        )
    )
    first, warm, last, settled = points["1"], points["5"], points[str(SIGN_INS)], points["settled"]
    # The first sign-ins warm the browser (caches, a spare renderer): growth is measured after them.
    growth = total_mb(last) / total_mb(warm)
    most_pages = max(point["pages"] for point in points.values())
    memory = Row(
        f"memory of the robot process tree after {SIGN_INS} sign-ins in one process (PSS: robot, node, browser)",
        "after 5 sign-ins (the browser warmed up)",
        f"{total_mb(last):.0f} MB",
        f"{total_mb(warm):.0f} MB",
        growth,
        f"≤ {MEMORY_GOAL:.2f}x (no growth with the number of sign-ins)",
        growth <= MEMORY_GOAL,
        f"after 1: {total_mb(first):.0f} MB, after 10: {total_mb(points['10']):.0f} MB; "
        f"{settle} s after the last: {total_mb(settled):.0f} MB ({total_mb(settled) / total_mb(first):.2f}x); "
        f"with every page closed by the suite: {total_mb(closing[str(SIGN_INS)]):.0f} MB after {SIGN_INS} "
        f"({total_mb(closing[str(SIGN_INS)]) / total_mb(closing['1']):.2f}x); {exchanges} code exchanges; "
        f"{unreadable_note(points)}",
    )
    pages = Row(
        f"pages open after {SIGN_INS} sign-ins in one process (all contexts)",
        "",
        f"{last['pages']}",
        "",
        None,
        f"≤ {PAGES_GOAL} of the library's",
        last["pages"] <= PAGES_GOAL,
        f"most at any checkpoint: {most_pages}; {settle} s after the last sign-in: {settled['pages']}; "
        f"sign-ins 2 to {SIGN_INS} took {last['seconds'] - first['seconds']:.0f} s",
    )
    return [memory, pages]


def run_many(bench: Bench, name: str, settle: int, close_pages: bool) -> tuple[dict[str, Any], int]:
    """One robot run of the sign-ins: its checkpoints by label, and the code exchanges the SSO saw."""
    sandbox, tmp = bench.sandbox, bench.folder(f"many-sign-ins-{name}")
    probe, records = tmp / "SignInProbe.py", tmp / "checkpoints.jsonl"
    probe.write_text(PROBE)
    suite = tmp / "many_sign_ins.robot"
    suite.write_text(
        MANY_SIGN_INS.format(
            probe=probe,
            count=SIGN_INS,
            end=SIGN_INS + 1,
            checkpoints=CHECKPOINTS,
            settle=settle,
            close_pages=CLOSE_PAGES if close_pages else "",
        )
    )
    env = {**settings_env(sandbox.url, tmp / "unused.json"), "BENCH_PROBE_OUT": str(records)}
    sandbox.set_faults(remembered_supervisor="supervisor")  # the SSO redirects at once
    sandbox.reset_stats()
    try:
        result = subprocess.run(
            robot_command("--outputdir", str(tmp / "out"), "--consolecolors", "off", str(suite)),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        sandbox.reset_faults()
    if result.returncode != 0:
        raise RuntimeError(f"the {SIGN_INS} sign-ins failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    points = {record["label"]: record for record in map(json.loads, records.read_text().splitlines())}
    return points, sandbox.request_count("token")


def total_mb(point: dict[str, Any]) -> float:
    return sum(point["pss_kb"].values()) / 1024


def unreadable_note(points: dict[str, Any]) -> str:
    unreadable = max(point["unreadable"] for point in points.values())
    return f"{unreadable} process(es) unreadable" if unreadable else "every process's smaps_rollup read"


def checkpoint_table(points: dict[str, Any], last: str, title: str) -> str:
    kinds = sorted({name for point in points.values() for name in point["pss_kb"]})
    lines = [
        f"{title} (PSS in MB, processes in brackets; time since the suite started):",
        "",
        "| After | Time | Pages open | PSS total | " + " | ".join(kinds) + " |",
        "|---|---|---|---|" + "---|" * len(kinds),
    ]
    for label, point in points.items():
        name = last if label == "settled" else f"sign-in {label}"
        cells = [f"{point['pss_kb'].get(kind, 0) / 1024:.0f} ({point['processes'].get(kind, 0)})" for kind in kinds]
        lines.append(
            f"| {name} | {point['seconds']:.1f} s | {point['pages']} | {total_mb(point):.0f} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)
