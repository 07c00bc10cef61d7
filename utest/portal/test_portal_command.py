"""``healthcode-auth portal`` as an operator runs it: a real child process, its refusals and its clean stop."""

import os
import signal
import socket
import subprocess
import sys
import time

from healthcode_sandbox import Client
from portal.portal_helpers import CLIENT_ID, Browser, free_port, portal_base, stored_entry


def portal_env(sandbox, redirect_uri, **settings):
    return {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": CLIENT_ID,
        "HEALTHCODE_REDIRECT_URI": redirect_uri,
        "HEALTHCODE_ENVIRONMENT": sandbox.discovery_url,
        "HEALTHCODE_CLIENT_NAME": "Practice robots",
        **{f"HEALTHCODE_{k.upper()}": v for k, v in settings.items()},
    }


def run(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "healthcode_cli", "portal", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_it_refuses_to_start_without_an_allow_list(sandbox, fleet_key):
    result = run("--listen", f"127.0.0.1:{free_port()}", env=portal_env(sandbox, "http://127.0.0.1:1/postauth"))
    assert result.returncode == 2
    assert "--supervisors (or HEALTHCODE_SUPERVISORS)" in result.stderr
    assert "--any-healthcode-account" in result.stderr and "Traceback" not in result.stderr


def test_a_port_in_use_is_a_clear_error(sandbox, fleet_key):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(
            "--listen",
            f"127.0.0.1:{port}",
            env=portal_env(sandbox, f"http://127.0.0.1:{port}/postauth", supervisors="supervisor"),
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_certificate_is_a_clear_error(sandbox, fleet_key, tmp_path):
    result = run(
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--certificate",
        str(tmp_path / "none.pem"),
        "--private-key",
        str(tmp_path / "none.key"),
        "--any-healthcode-account",
        env=portal_env(sandbox, "https://localhost:8443/postauth"),
    )
    assert result.returncode == 2
    assert "--certificate" in result.stderr and "no file at" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_listen_address_is_a_clear_error(sandbox, fleet_key):
    result = run(
        "--listen", "nowhere", "--any-healthcode-account", env=portal_env(sandbox, "http://127.0.0.1:1/postauth")
    )
    assert result.returncode == 2 and "--listen" in result.stderr and "HOST:PORT" in result.stderr


def test_threads_are_an_option_and_the_help_says_to_use_a_buffering_proxy(sandbox, fleet_key):
    result = run("--threads", "0", "--any-healthcode-account", env=portal_env(sandbox, "http://127.0.0.1:1/postauth"))
    assert result.returncode == 2 and "--threads" in result.stderr and "Traceback" not in result.stderr
    described = " ".join(run("--help", env=portal_env(sandbox, "http://127.0.0.1:1/postauth")).stdout.split())
    assert "--threads N" in described and "reverse proxy that buffers whole requests" in described
    assert "small internal networks" in described


def test_the_portal_process_serves_a_sign_in_and_stops_on_ctrl_c(sandbox, fleet_key, tmp_path):
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/bots/postauth"
    sandbox.add_client(Client(CLIENT_ID, (redirect_uri,)))
    cache = tmp_path / "fleet" / "tokens.json"
    env = portal_env(sandbox, redirect_uri, supervisors="supervisor", token_cache=str(cache))
    # Ctrl+C at its default, as a terminal starts it: a run started in the background (a CI job) has
    # SIGINT ignored, and its children would inherit that and never see the Ctrl+C.
    process = subprocess.Popen(
        [sys.executable, "-m", "healthcode_cli", "portal", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        line = process.stdout.readline()
        assert "listens on http://127.0.0.1:" in line and f"open http://127.0.0.1:{port}/bots/" in line
        browser = Browser(portal_base(redirect_uri))
        answer = browser.callback(browser.sign_in_at_sso().callback_url)
        assert answer.status_code == 303
        assert "may now act for" in browser.get("authorised").text
    finally:
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "The portal stopped." in out and "Traceback" not in err
    assert "code=" not in err and "state=" not in err  # the access log shows paths without their query
    assert '"GET /bots/postauth" 303' in err
    from healthcode_auth import HealthcodeConfig

    config = HealthcodeConfig(
        client_id=CLIENT_ID, redirect_uri=redirect_uri, environment=sandbox.discovery_url, token_cache=str(cache)
    )
    assert stored_entry(config).entry.token.supervisor == "supervisor"


def test_a_store_it_cannot_read_stops_it_before_it_serves(sandbox, fleet_key, tmp_path):
    """A new user's mistake (another key, a damaged file): said at start, not to the first supervisor."""
    cache = tmp_path / "tokens.json"
    cache.write_bytes(os.urandom(200))
    port = free_port()
    result = run(
        "--listen",
        f"127.0.0.1:{port}",
        env=portal_env(sandbox, f"http://127.0.0.1:{port}/postauth", supervisors="supervisor", token_cache=str(cache)),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cannot be read" in result.stderr and "Traceback" not in result.stderr
    assert "listens on" not in result.stdout


def test_a_redirect_uri_on_another_port_is_warned_of(sandbox, fleet_key, tmp_path):
    port, other = free_port(), free_port()
    env = portal_env(
        sandbox,
        f"http://127.0.0.1:{other}/bots/postauth",
        supervisors="supervisor",
        token_cache=str(tmp_path / "tokens.json"),
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "healthcode_cli", "portal", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert "listens on" in child.stdout.readline()
    finally:
        child.kill()
        _, err = child.communicate(timeout=30)
    assert f"is on port {other}, but the portal listens on {port}" in err
