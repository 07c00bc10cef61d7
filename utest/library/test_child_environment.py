"""No environment variable's value reaches any output because the library started a browser, and
no secret reaches node or a browser, whichever order the suite imports Browser and HealthcodeLibrary in.

The one mechanism (``sign_in_page.secrets_hidden``): the secret-bearing variables are out of the
environment while a call into the Browser library may start node; nothing is passed as ``env`` to
a launch (the Browser library logs launch options, the environment with them). The robot runs are
real: headless Chromium against the sandbox; ``/proc`` is read while the sign-in page is open.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from leak_scan import files_under, scan

from HealthcodeLibrary.argument_types import BrowserOptions
from HealthcodeLibrary.sign_in_page import SignInPage
from sandbox_clients import REDIRECT

UNRELATED = "Sup3r-Secret-DB-pass!"  # a CI job's database password: nothing of ours, in the robot's environment
SECRETS = {
    "HEALTHCODE_CLIENT_SECRET": "client-secret-of-the-child-environment-test",
    "HEALTHCODE_CACHE_KEY": "cache-key-of-the-child-environment-test",
}
IMPORTS = {
    "none": "Library    HealthcodeLibrary    headless=True",
    "Browser first": "Library    Browser\nLibrary    HealthcodeLibrary    headless=True",
    "Browser last": "Library    HealthcodeLibrary    headless=True\nLibrary    Browser",
}
linux_only = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc (Linux)")


def test_every_call_that_may_start_node_runs_without_the_secrets_and_passes_no_environment(fake_browser, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HEALTHCODE_TOKEN_CACHE", "rediss://healthcode:store-password@redis.example:6380/0")
    browser = fake_browser()
    page = SignInPage(browser)
    page.open(
        "https://sso.example.test/authorize?x=1",
        "https://bot.example/cb",
        "S" * 43,
        BrowserOptions(headless=True, executable_path="/usr/bin/true"),
        ("https://sso.example.test",),
    )
    page.take("S" * 43, 0.01)
    page.release("S" * 43)
    page.close_browsers()
    assert {"init_js_extension", "new_browser", "healthcodeArm", "healthcodeTake", "close_browser"} <= set(
        browser.names
    )
    # No call that may start node saw a secret-bearing variable (node runs once open() returns).
    opening = browser.names.index("healthcodeArm") + 1
    assert [(name, seen) for name, seen in browser.calls[:opening] + browser.calls[-1:] if seen] == []
    assert browser.names[-1] == "close_browser"
    assert "env" not in browser.launched[0]  # no environment passed through a logged call
    assert os.environ["HEALTHCODE_CLIENT_SECRET"] == SECRETS["HEALTHCODE_CLIENT_SECRET"]  # and back afterwards
    assert browser.arguments["healthcodeNodeProcess"]["hide"] == [  # names only
        "HEALTHCODE_CLIENT_SECRET",
        "HEALTHCODE_CACHE_KEY",
        "HEALTHCODE_TOKEN_CACHE",
        "HEALTHCODE_NOTIFY",
        "HEALTHCODE_NOTIFY_ESCALATION",
    ]


def test_a_node_process_started_before_the_library_is_named_in_the_log(fake_browser, monkeypatch):
    warnings = []
    monkeypatch.setattr("HealthcodeLibrary.sign_in_page.logger.warn", warnings.append)
    browser = fake_browser(node={"debug": "", "had": ["HEALTHCODE_CLIENT_SECRET"]})
    SignInPage(browser).open(
        "https://sso.example.test/authorize?x=1",
        "https://bot.example/cb",
        "S" * 43,
        BrowserOptions(headless=True, executable_path="/usr/bin/true"),
        ("https://sso.example.test",),
    )
    assert len(warnings) == 1
    assert "HEALTHCODE_CLIENT_SECRET" in warnings[0] and "browsers it launches from now on do not" in warnings[0]


def robot_environment(sandbox, tmp_path, **extra):
    env = {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": REDIRECT,
        "HEALTHCODE_ENVIRONMENT": sandbox.discovery_url,
        "HEALTHCODE_TOKEN_CACHE": str(tmp_path / "tokens.json"),
        **extra,
    }
    env.pop("DEBUG", None)
    return env


@pytest.mark.parametrize("imports", IMPORTS)
def test_no_environment_variable_reaches_any_output_when_the_library_opens_its_browser(sandbox, tmp_path, imports):
    sandbox.set_faults(remembered_supervisor="supervisor")
    suite = tmp_path / "sign_in.robot"
    suite.write_text(
        f"*** Settings ***\n{IMPORTS[imports]}\n\n*** Tasks ***\nSign In\n"
        "    Authorise Healthcode Supervisor    timeout=60 seconds\n"
    )
    output = tmp_path / "output"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "robot",
            "--loglevel",
            "TRACE",
            "--outputdir",
            str(output),
            "--debugfile",
            "debug.txt",
            "--consolecolors",
            "off",
            str(suite),
        ],
        env=robot_environment(sandbox, tmp_path, CI_DATABASE_PASSWORD=UNRELATED),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    (output / "console.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    assert result.returncode == 0, result.stdout + result.stderr
    scanned, leaks = scan(files_under(output), {"environment variable's value": [UNRELATED]})
    assert {"output.xml", "log.html", "debug.txt"} <= {path.name for path in files_under(output)}
    assert scanned >= 4
    assert [str(leak) for leak in leaks] == []


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


def while_the_sign_in_page_is_open(sandbox, tmp_path, settings, tasks):
    """Run a robot until its sign-in page is open; the (pid, command line, environment) of every
    process below it, then stop it."""
    suite = tmp_path / "sign_in.robot"
    suite.write_text(f"*** Settings ***\n{settings}\n\n*** Tasks ***\nSign In\n{tasks}")
    robot = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "robot",
            "--outputdir",
            str(tmp_path),
            "--output",
            "NONE",
            "--log",
            "NONE",
            "--report",
            "NONE",
            "--consolecolors",
            "off",
            str(suite),
        ],
        env=robot_environment(sandbox, tmp_path, **SECRETS),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while sandbox.request_count("authorize") == 0 or not any(
            b"chrom" in read(pid, "cmdline").lower() for pid in descendants_of(robot.pid)
        ):
            assert robot.poll() is None, robot.stdout.read().decode(errors="replace")
            assert time.monotonic() < deadline, "the sign-in page never opened"
            time.sleep(0.2)
        return [(pid, read(pid, "cmdline"), read(pid, "environ")) for pid in descendants_of(robot.pid)]
    finally:
        robot.send_signal(signal.SIGINT)
        try:
            robot.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass  # a machine busy with other checks: stopped below instead (the findings are already read)
        finally:
            if robot.poll() is None:
                os.killpg(robot.pid, signal.SIGKILL)
                robot.wait(timeout=30)
        robot.stdout.close()


def holding_a_secret(processes):
    return [
        pid
        for pid, command, environ in processes
        if any(value.encode() in environ or value.encode() in command for value in SECRETS.values())
    ]


@linux_only
@pytest.mark.parametrize("imports", ["Browser first", "Browser last"])
def test_neither_node_nor_a_browser_gets_a_secret_whichever_library_the_suite_imports_first(sandbox, tmp_path, imports):
    processes = while_the_sign_in_page_is_open(
        sandbox,
        tmp_path,
        IMPORTS[imports],
        "    Open Healthcode Login\n    Wait For Supervisor Authorisation    timeout=60 seconds\n",
    )
    assert len(processes) >= 2  # node and the browser's processes
    assert holding_a_secret(processes) == []


@linux_only
def test_a_browser_launched_after_the_suite_started_node_gets_no_secret(sandbox, tmp_path):
    """The suite's own Browser keyword starts node before the library could hide anything: node holds
    the secrets (said in the log), but they are taken out of its environment before it launches the
    browser the library asks for."""
    processes = while_the_sign_in_page_is_open(
        sandbox,
        tmp_path,
        IMPORTS["Browser first"],
        "    Browser.Get Browser Ids\n    Open Healthcode Login\n"
        "    Wait For Supervisor Authorisation    timeout=60 seconds\n",
    )
    browsers = [process for process in processes if b"chrom" in process[1].lower()]
    assert browsers
    assert holding_a_secret(browsers) == []
