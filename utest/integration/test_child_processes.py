"""No secret in any child process: ``healthcode-auth login`` and a robot using the library hand
neither the client secret nor the cache key to node or to any browser.

While the sign-in page is open, every descendant of the process is read from ``/proc``: its
environment and its command line must hold no secret.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from healthcode_sandbox import Client
from sandbox_clients import REDIRECT

SECRET = "client-secret-for-the-child-process-test"
CACHE_KEY = "cache-key-for-the-child-process-test"

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc (Linux)")


def interruptible():
    """As a terminal starts a command: Ctrl+C (SIGINT) at its default, whatever the test run inherited
    (a shell without job control starts background jobs with SIGINT ignored, children inherit it, and
    Python then installs no KeyboardInterrupt: the Ctrl+C lost in CI runs started in the background)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def children_of(pid):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def descendants_of(pid):
    result, queue = [], [pid]
    while queue:
        children = children_of(queue.pop())
        result.extend(children)
        queue.extend(children)
    return result


def read(pid, name):
    try:
        return (Path("/proc") / str(pid) / name).read_bytes()
    except OSError:
        return b""


def settings(sandbox, tmp_path):
    sandbox.add_client(Client("confidential_bot", (REDIRECT,), client_secret=SECRET))
    return {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "confidential_bot",
        "HEALTHCODE_REDIRECT_URI": REDIRECT,
        "HEALTHCODE_ENVIRONMENT": sandbox.discovery_url,
        "HEALTHCODE_CLIENT_SECRET": SECRET,
        "HEALTHCODE_CACHE_KEY": CACHE_KEY,
        "HEALTHCODE_TOKEN_CACHE": str(tmp_path / "tokens.json"),
    }


def assert_no_secret_below(process, sandbox):
    """Once the sign-in page is open (a browser runs and the SSO saw the request), read every descendant."""
    deadline = time.monotonic() + 60
    while sandbox.request_count("authorize") == 0 or not any(
        b"chrom" in read(pid, "cmdline").lower() for pid in descendants_of(process.pid)
    ):
        assert process.poll() is None, process.stdout.read().decode(errors="replace")
        assert time.monotonic() < deadline, "the sign-in page never opened"
        time.sleep(0.2)
    descendants = descendants_of(process.pid)
    assert len(descendants) >= 2  # node and the browser's processes
    for pid in descendants:
        for secret in (SECRET, CACHE_KEY):
            assert secret.encode() not in read(pid, "environ"), f"process {pid} has a secret in its environment"
            assert secret.encode() not in read(pid, "cmdline"), f"process {pid} has a secret in its argv"
    assert b"HEALTHCODE_CLIENT_SECRET" not in b"".join(read(pid, "environ") for pid in descendants)


def stop(process, *expected_exits):
    process.send_signal(signal.SIGINT)  # as Ctrl+C: the browser is closed and the process exits
    try:
        # A Ctrl+C that lands inside a blocking call (on a loaded machine, the sandbox's 40 s code
        # exchange) takes effect when the call returns: wait past it.
        code = process.wait(timeout=75)
        assert code in expected_exits, process.stdout.read().decode(errors="replace")[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def keep_the_browser_open(sandbox):
    """The SSO recognises the supervisor at once and then takes 40 s to answer the code exchange:
    node and the browser stay up meanwhile. (A headless sign-in that showed the sign-in form would
    end within seconds: nobody could fill it in.)"""
    sandbox.set_faults(remembered_supervisor="supervisor", token_delay=40)


def test_login_hands_no_secret_to_node_or_the_browser(sandbox, tmp_path):
    keep_the_browser_open(sandbox)
    login = subprocess.Popen(
        [sys.executable, "-m", "healthcode_cli", "login", "--headless", "--sign-in-timeout", "60 seconds"],
        env=settings(sandbox, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    try:
        assert_no_secret_below(login, sandbox)
        # Ctrl+C once the code exchange is in flight (the sandbox holds it 40 s).
        deadline = time.monotonic() + 60
        while sandbox.request_count("token") == 0 and time.monotonic() < deadline and login.poll() is None:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop(login, 130)


SUITE = """
*** Settings ***
Library    HealthcodeLibrary    headless=True

*** Tasks ***
Sign In
    Open Healthcode Login
    Wait For Supervisor Authorisation    timeout=60 seconds
    Get Healthcode Access Token
"""


def test_a_robot_hands_no_secret_to_the_node_process_or_browser_the_library_starts(sandbox, tmp_path):
    keep_the_browser_open(sandbox)
    suite = tmp_path / "sign_in.robot"
    suite.write_text(SUITE)
    robot = subprocess.Popen(
        [sys.executable, "-m", "robot", "--output", "NONE", "--log", "NONE", "--report", "NONE", str(suite)],
        env=settings(sandbox, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    try:
        assert_no_secret_below(robot, sandbox)
    finally:
        stop(robot, 1, 252)  # Robot stops gracefully: the interrupted task fails
