"""``healthcode-auth login`` never hands a secret to a child process: not node, not any browser.

While the sign-in page is open, every descendant of the login process is read from ``/proc``:
its environment and its command line must hold neither the client secret nor the cache key.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from healthcode_sandbox import Client

REDIRECT = "https://rpaapp.example.com/postauth"
SECRET = "client-secret-for-the-child-process-test"
CACHE_KEY = "cache-key-for-the-child-process-test"

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc (Linux)")


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


def test_no_secret_in_the_environment_or_argv_of_any_descendant(sandbox, tmp_path):
    sandbox.add_client(Client("confidential_bot", (REDIRECT,), client_secret=SECRET))
    env = {**os.environ, "HEALTHCODE_CLIENT_ID": "confidential_bot", "HEALTHCODE_REDIRECT_URI": REDIRECT,
           "HEALTHCODE_ENVIRONMENT": sandbox.discovery_url, "HEALTHCODE_CLIENT_SECRET": SECRET,
           "HEALTHCODE_CACHE_KEY": CACHE_KEY, "HEALTHCODE_TOKEN_CACHE": str(tmp_path / "tokens.json")}
    login = subprocess.Popen([sys.executable, "-m", "healthcode_cli", "login", "--headless", "--sign-in-timeout",
                              "60 seconds"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while sandbox.request_count("authorize") == 0 or not any(
                b"chrom" in read(pid, "cmdline").lower() for pid in descendants_of(login.pid)):
            assert login.poll() is None, login.stdout.read().decode(errors="replace")
            assert time.monotonic() < deadline, "the sign-in page never opened"
            time.sleep(0.2)
        descendants = descendants_of(login.pid)
        assert len(descendants) >= 2  # node and the browser's processes
        for pid in descendants:
            for secret in (SECRET, CACHE_KEY):
                assert secret.encode() not in read(pid, "environ"), f"process {pid} has a secret in its environment"
                assert secret.encode() not in read(pid, "cmdline"), f"process {pid} has a secret in its argv"
        assert b"HEALTHCODE_CLIENT_SECRET" not in b"".join(read(pid, "environ") for pid in descendants)
    finally:
        login.send_signal(signal.SIGINT)  # as Ctrl+C: the command closes its browser and exits 130
        try:
            assert login.wait(timeout=30) == 130
        finally:
            if login.poll() is None:
                os.killpg(login.pid, signal.SIGKILL)
                login.wait(timeout=30)
