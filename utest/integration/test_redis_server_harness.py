"""The real-redis-server test harness (utest/redis_server.py), checked with redis-py."""

import json
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis
from redis.exceptions import AuthenticationError, NoPermissionError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from redis_server import RedisServer, RedisServerError, requires_redis_server

pytestmark = [
    requires_redis_server,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process checks read Linux /proc"),
]

UTEST = Path(__file__).resolve().parents[1]


def client(url: str, **options) -> redis.Redis:
    options.setdefault("socket_timeout", 5)
    options.setdefault("socket_connect_timeout", 5)
    return redis.Redis.from_url(url, **options)


def alive(pid: int) -> bool:
    """A live (not zombie) redis-server with this pid."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X") and b"redis-server" in cmdline


def redis_servers_on(port: int) -> list[int]:
    """Live redis-server processes whose title names 127.0.0.1:port (redis sets its title so)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"redis-server" in cmdline and f"127.0.0.1:{port}".encode() in cmdline and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def wait_until_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# --- authentication -----------------------------------------------------------------------------


def test_ping_with_password(redis_url):
    with client(redis_url) as r:
        assert r.ping() is True
        assert r.set("healthcode:probe", "1") is True
        assert r.get("healthcode:probe") == b"1"


@pytest.mark.parametrize(
    ("username", "password"),
    [(None, "not-the-password"), (None, ""), ("nobody", "whatever")],
    ids=["wrong-password", "no-password", "unknown-user"],
)
def test_wrong_or_missing_password_is_refused(redis_server, username, password):
    url = redis_server.url_for(username, password)
    with pytest.raises(AuthenticationError), client(url) as r:
        r.ping()


def test_password_is_on_no_command_line_and_only_in_a_private_file(redis_server, redis_tls_server):
    for server in (redis_server, redis_tls_server):
        assert server.command_line and not any(server.password in arg for arg in server.command_line)
        assert server.password.encode() not in Path(f"/proc/{server.pid}/cmdline").read_bytes()
        assert server.password not in repr(server)
        assert "***" in repr(server)
        assert stat.S_IMODE(server.directory.stat().st_mode) == 0o700
        config = server.directory / "redis.conf"
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert server.password in config.read_text()
        assert "--requirepass" not in server.command_line
        assert {"--bind", "127.0.0.1", "--save", "", "--appendonly", "no"} <= set(server.command_line)


# --- TLS ------------------------------------------------------------------------------------------


def test_tls_connection_verified_against_the_test_ca(redis_tls_server, redis_tls_url):
    assert redis_tls_url.startswith("rediss://")
    with client(
        redis_tls_url, ssl_ca_certs=redis_tls_server.ca_file, ssl_cert_reqs="required", ssl_check_hostname=True
    ) as r:
        assert r.ping() is True
        assert r.set("healthcode:tls", "yes") is True
        cipher = r.connection_pool.get_connection()._sock.cipher()
        assert cipher is not None  # the socket is a TLS one
    assert "BEGIN CERTIFICATE" in Path(redis_tls_server.ca_file).read_text()


def test_tls_refused_without_the_test_ca(redis_tls_url):
    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED") as caught, client(redis_tls_url) as r:
        r.ping()
    assert isinstance(caught.value.__context__, ssl.SSLCertVerificationError)


def test_tls_server_has_no_plaintext_port(redis_tls_server, redis_tls_url):
    with pytest.raises(RedisConnectionError), client(redis_tls_url.replace("rediss://", "redis://", 1)) as r:
        r.ping()
    assert "--port" in redis_tls_server.command_line
    assert redis_tls_server.command_line[redis_tls_server.command_line.index("--port") + 1] == "0"


def test_tls_hostname_is_checked(redis_server_factory):
    server = redis_server_factory(tls=True, tls_hostnames=["redis.test"])
    with pytest.raises(RedisConnectionError, match="IP address mismatch"), client(server.url, ssl_ca_certs=server.ca_file) as r:
        r.ping()
    with client(server.url, ssl_ca_certs=server.ca_file, ssl_check_hostname=False) as r:
        assert r.ping() is True


# --- restart, kill, pause -----------------------------------------------------------------------------


def test_restart_loses_data_and_the_same_url_reconnects(redis_server_factory):
    server = redis_server_factory()
    url, port, old_pid = server.url, server.port, server.pid
    with client(url) as r:
        r.set("healthcode:token", "v1")
        server.restart()
        assert (server.url, server.port) == (url, port)
        assert server.pid != old_pid
        assert not alive(old_pid)
        assert r.get("healthcode:token") is None  # the pool noticed the closed connection and reconnected
    with client(url) as fresh:
        assert fresh.ping() is True
        assert fresh.dbsize() == 0


def test_kill_then_start_again(redis_server_factory):
    server = redis_server_factory()
    old_pid = server.pid
    with client(server.url) as r:
        r.set("healthcode:token", "v1")
        server.kill()
        assert not server.running
        assert not alive(old_pid)
        with pytest.raises(RedisConnectionError, match="refused"):
            r.get("healthcode:token")
        server.start()
        assert server.running and server.pid != old_pid
        assert r.get("healthcode:token") is None
        assert r.set("healthcode:token", "v2") is True


def test_paused_server_makes_commands_time_out(redis_server_factory):
    server = redis_server_factory()
    with client(server.url, socket_timeout=0.2) as r:
        r.ping()
        server.pause()
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            r.get("healthcode:token")
        assert time.monotonic() - started < 2
        server.resume()
        assert r.ping() is True


def test_a_paused_server_still_stops(redis_server_factory):
    server = redis_server_factory()
    pid = server.pid
    server.pause()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < server.stop_timeout
    assert not alive(pid)


# --- ACL users ------------------------------------------------------------------------------------------


def test_acl_user_is_limited_to_its_commands_and_keys(redis_server, redis_url):
    user = redis_server.create_user("store", keys=["healthcode:*"], commands=["get", "set", "ping"])
    assert user.password not in repr(user)
    with client(user.url) as r:
        assert r.ping() is True
        assert r.set("healthcode:token", "v1") is True
        assert r.get("healthcode:token") == b"v1"
        with pytest.raises(NoPermissionError, match="keys"):
            r.set("other:token", "v1")
        with pytest.raises(NoPermissionError, match="'del' command"):
            r.delete("healthcode:token")
        with pytest.raises(NoPermissionError, match="'flushall' command"):
            r.flushall()
    with client(redis_url) as admin:
        assert admin.exists("other:token") == 0


def test_acl_user_with_wrong_password_is_refused(redis_server, redis_url):
    redis_server.create_user("store", keys=["healthcode:*"], commands=["get"])
    with pytest.raises(AuthenticationError), client(redis_server.url_for("store", "wrong")) as r:
        r.ping()


def test_reset_clears_keys_users_scripts_and_logs_and_revives_a_killed_server(redis_server_factory):
    server = redis_server_factory()
    server.create_user("store", keys=["healthcode:*"], commands=["get"])
    with pytest.raises(AuthenticationError), client(server.url_for("store", "wrong")) as refused:
        refused.ping()
    with client(server.url) as r:
        r.set("healthcode:token", "v1")
        sha = r.script_load("return 1")
        assert r.acl_log() != []
        server.reset()
        assert r.dbsize() == 0
        assert r.acl_users() == ["default"]
        assert r.script_exists(sha) == [False]
        assert server.execute("ACL", "LOG") == []
        assert "errorstat_WRONGPASS" not in server.execute("INFO", "errorstats")
    server.kill()
    server.reset()
    assert server.running and server.ping()


# --- starting and failing to start ---------------------------------------------------------------


def test_missing_redis_server_says_how_to_install_it(tmp_path):
    with pytest.raises(RedisServerError, match=r"apt-get install redis-server.*scripts/setup"):
        RedisServer(executable=str(tmp_path / "redis-server")).start()


def test_start_failure_shows_the_server_output_and_leaves_nothing_running():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = RedisServer(port=port)
        with pytest.raises(RedisServerError, match="(?s)exited with status.*Address already in use"):
            server.start()
    assert not server.running
    assert redis_servers_on(port) == []
    server.stop()
    assert server.directory is None


def test_context_manager_stops_the_server_on_error():
    with pytest.raises(ZeroDivisionError), RedisServer() as server:  # noqa: PT012
        pid, directory = server.pid, server.directory
        1 / 0  # noqa: B018
    assert not alive(pid)
    assert not directory.exists()


# --- nothing left behind ---------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "exit_code"), [("pass", 0), ("fail", 1), ("interrupt", 2)])
def test_no_redis_server_remains_after_the_fixtures_end(tmp_path, mode, exit_code):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(
        "from redis_server import redis_server, redis_tls_server, redis_url\n\n"
        '__all__ = ["redis_server", "redis_tls_server", "redis_url"]\n'
    )
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            import json, os

            def test_inner(redis_server, redis_tls_server, redis_url):
                servers = [redis_server, redis_tls_server]
                record = {"pids": [s.pid for s in servers], "ports": [s.port for s in servers],
                          "dirs": [str(s.directory) for s in servers]}
                with open(os.environ["RECORD"], "w") as f:
                    json.dump(record, f)
                if os.environ["MODE"] == "fail":
                    assert False, "a failing test"
                if os.environ["MODE"] == "interrupt":
                    raise KeyboardInterrupt
            """
        )
    )
    record = tmp_path / "record.json"
    env = {**os.environ, "PYTHONPATH": str(UTEST), "RECORD": str(record), "MODE": mode, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == exit_code, result.stdout + result.stderr
    seen = json.loads(record.read_text())
    for pid, port, directory in zip(seen["pids"], seen["ports"], seen["dirs"], strict=True):
        assert not alive(pid)
        assert redis_servers_on(port) == []
        assert not Path(directory).exists()


def test_no_redis_server_remains_when_the_test_process_is_killed(tmp_path):
    script = textwrap.dedent(
        """
        import os, signal, threading
        from redis_server import RedisServer

        servers = []
        def start_in_a_short_lived_thread():
            servers.append(RedisServer().start())
        thread = threading.Thread(target=start_in_a_short_lived_thread)
        thread.start(); thread.join()
        server = servers[0]
        print(server.pid, server.port, server.directory, flush=True)
        assert server.ping()  # still alive after the thread that started it ended
        os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no finally: only PR_SET_PDEATHSIG is left
        """
    )
    env = {**os.environ, "PYTHONPATH": str(UTEST)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    pid, port, directory = result.stdout.split()
    try:
        assert wait_until_gone(int(pid))
        assert redis_servers_on(int(port)) == []
    finally:
        subprocess.run(["rm", "-rf", directory], check=False)  # nothing could remove it after SIGKILL
