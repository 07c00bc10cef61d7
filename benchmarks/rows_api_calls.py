"""Calling Healthcode's APIs (issue 19), in Python without a Robot run: `Call Healthcode API` (Find
Member, a POST form, against a sandbox in a process of its own over loopback, as Healthcode is on
another machine: a sandbox in the measuring process would compete with it for the interpreter),
once the API discovery document and the token are cached, call by call against RequestsLibrary's
`POST On Session` of the same URL with the same form and headers (`Authorization`, `SU-SiteId`,
`HC-API-Version`, `Accept`) on a session created once (rounds interleaved, medians). Twice: with the
sandbox served by cheroot, which keeps connections alive as Healthcode's servers do (the goal's
row), and by the sandbox's own Werkzeug server, which closes every connection, so that both sides
connect anew on every call (shown, not a goal: connecting costs the library's asyncio transport,
which bounds every request by a total deadline, more than requests' blocking socket). And the first call's cost: a new
library over a stored token whose API discovery document is not stored yet (fetched, then kept
beside the token), a new library in a later run (the document read from the store), and a later
call of the same library."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from common import REDIRECT, Bench, Row, median, sign_in_to_cache

NAME = "api-calls"
POSITION = 15
GOAL = 1.10
SITE = "HC00ABC"
FIELDS = {"insurerIdentifier": "bup", "lastName": "Testperson"}


KEEP_ALIVE = [sys.executable, str(Path(__file__).with_name("keep_alive_sandbox.py"))]
CLOSING = [sys.executable, "-m", "healthcode_cli", "sandbox", "--port", "0"]


def measure(bench: Bench) -> list[Row]:
    return [
        per_call(bench, bench.rounds * 30, KEEP_ALIVE),
        per_call(bench, bench.rounds * 30, CLOSING),
        *first_call(bench, bench.rounds * 2),
    ]


def library_for(sandbox: Any, cache: str) -> Any:
    from HealthcodeLibrary import HealthcodeLibrary

    return HealthcodeLibrary(
        client_id="example_rpa_app",
        redirect_uri=REDIRECT,
        environment=sandbox.discovery_url,
        token_cache=cache,
        site_id=SITE,
    )


def sandbox_process(command: list[str]) -> tuple[subprocess.Popen[str], Any]:
    """The sandbox in a process of its own (``command``); its address from its banner."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if match := re.match(r"Paste this as the environment: (http://\S+)", line):
            url = match.group(1)
            return process, SimpleNamespace(url=url, discovery_url=f"{url}/.well-known/openid-configuration")
    process.kill()
    raise RuntimeError("The sandbox printed no address.")


def call(library: Any) -> Any:
    return library.run_keyword("Call Healthcode API", ["find_member"], {"method": "POST", **FIELDS})


def per_call(bench: Bench, rounds: int, command: list[str]) -> Row:
    process, sandbox = sandbox_process(command)
    try:
        return _per_call(bench, sandbox, rounds, keep_alive=command is KEEP_ALIVE)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _per_call(bench: Bench, sandbox: Any, rounds: int, *, keep_alive: bool) -> Row:
    from RequestsLibrary import RequestsLibrary

    cache = str(bench.folder("per-call-kept-alive" if keep_alive else "per-call") / "tokens.json")
    sign_in_to_cache(sandbox, cache)
    library = library_for(sandbox, cache)
    url = library.run_keyword("Get Healthcode API Endpoint", ["find_member"], {})
    token = library.get_healthcode_access_token().value
    requests_library = RequestsLibrary()
    requests_library.create_session("healthcode", url.rsplit("/", 1)[0], verify=True)
    headers = {
        "Authorization": f"Bearer {token}",
        "SU-SiteId": SITE,
        "HC-API-Version": "1",
        "Accept": "application/fhir+json, application/json",
    }
    path = "/" + url.rsplit("/", 1)[1]

    def raw() -> Any:
        return requests_library.post_on_session("healthcode", path, data=FIELDS, headers=headers).json()

    first, second = call(library), raw()  # warm: connections, the document
    if first["total"] != second["total"]:
        raise RuntimeError("The two ways of calling Find Member disagree: the comparison would mean nothing.")
    ours, base = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        call(library)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        raw()
        base.append(time.perf_counter() - start)
    o, b = median(ours) * 1000, median(base) * 1000
    server = (
        "a server keeping connections alive (cheroot), as Healthcode's"
        if keep_alive
        else "a server closing every connection (the sandbox's Werkzeug): both connect anew each call"
    )
    return Row(
        f"`Call Healthcode API` (Find Member, POST form), document and token cached, per call; {server}",
        "RequestsLibrary `POST On Session`, same URL, form and headers, session created once",
        f"{o:.2f} ms",
        f"{b:.2f} ms",
        o / b,
        f"≤ {GOAL:.2f}x" if keep_alive else "(shown)",
        o / b <= GOAL if keep_alive else True,
        f"{rounds} interleaved rounds; ours also checks the host against the discovery document, reads "
        "the token's validity, parses the answer into summary-logging objects and logs a summary line",
    )


def first_call(bench: Bench, rounds: int) -> list[Row]:
    fresh, stored, later = [], [], []
    fetches = []
    for round_ in range(rounds):
        cache = str(bench.folder(f"first-call-{round_}") / "tokens.json")
        sign_in_to_cache(bench.sandbox, cache)
        bench.sandbox.reset_stats()
        library = library_for(bench.sandbox, cache)
        start = time.perf_counter()
        call(library)
        fresh.append(time.perf_counter() - start)
        start = time.perf_counter()
        call(library)
        later.append(time.perf_counter() - start)
        fetches.append(bench.sandbox.request_count("api_discovery"))
        library = library_for(bench.sandbox, cache)  # a later run on the same store
        start = time.perf_counter()
        call(library)
        stored.append(time.perf_counter() - start)
        fetches[-1] = (fetches[-1], bench.sandbox.request_count("api_discovery"))
    f, s, la = (median(values) * 1000 for values in (fresh, stored, later))
    first_run = all(first == 1 for first, _ in fetches)
    later_run = all(total == 1 for _, total in fetches)
    return [
        Row(
            "first call of a run, API discovery document not stored yet (fetched, kept beside the token)",
            "a later call of the same library",
            f"{f:.2f} ms",
            f"{la:.2f} ms",
            f / la,
            "(what discovery costs once)",
            first_run,
            f"{rounds} rounds; the sandbox saw {'one document request' if first_run else fetches} in each",
        ),
        Row(
            "first call of a later run (document read from the token store)",
            "a later call of the same library",
            f"{s:.2f} ms",
            f"{la:.2f} ms",
            s / la,
            "no document request",
            later_run,
            "the store's copy is used: the sandbox saw no second document request" if later_run else str(fetches),
        ),
    ]
