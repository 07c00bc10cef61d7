"""What utest/redis_server.py adds to mirakuru and redis-py: the password off argv and out of the
server's environment, TLS with a test CA, pause and resume, and death with the test process."""

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from redis_server import requires_redis_server

pytestmark = [requires_redis_server, pytest.mark.skipif(not Path("/proc/self").exists(), reason="reads Linux /proc")]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_the_password_is_in_a_private_file_only(redis_server_factory, monkeypatch, tmp_path):
    wrapper = tmp_path / "redis-server"  # what the server is started with: its argv and environment
    wrapper.write_text(
        f'#!/bin/sh\necho "$@" > {tmp_path}/argv; env > {tmp_path}/environ\nexec {shutil.which("redis-server")} "$@"\n'
    )
    wrapper.chmod(0o700)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", "the-tests-own-secret")  # a restart mid-test must not pass it on
    server = redis_server_factory(tls=True, password='p@ss:w/rd%! "q" \\ ünï')
    assert "redis.conf" in (tmp_path / "argv").read_text()
    assert "p@ss" not in (tmp_path / "argv").read_text()
    assert "the-tests-own-secret" not in (tmp_path / "environ").read_text()
    directory = Path(server.ca_file).parent
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "redis.conf").stat().st_mode) == 0o600
    with redis.Redis.from_url(server.url, ssl_ca_certs=server.ca_file) as client:
        assert client.ping() is True  # the password as written in the config file, quoted
    with (
        pytest.raises(AuthenticationError),
        redis.Redis.from_url(server.url_for(password="p@ss"), ssl_ca_certs=server.ca_file) as client,
    ):
        client.ping()


def test_tls_verifies_against_the_test_ca_and_nothing_else(redis_tls_server, redis_tls_url):
    with redis.Redis.from_url(redis_tls_url, ssl_ca_certs=redis_tls_server.ca_file, ssl_check_hostname=True) as r:
        assert r.ping() is True
    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        redis.Redis.from_url(redis_tls_url).ping()


def test_a_paused_server_answers_nothing_until_resumed_and_still_stops(redis_server_factory):
    server = redis_server_factory()
    with redis.Redis.from_url(server.url, socket_timeout=0.3) as client:
        client.ping()
        server.pause()
        with pytest.raises(RedisTimeoutError):
            client.get("healthcode:token")
        server.resume()
        assert client.ping() is True
    pid = server.pid
    server.pause()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
    assert not alive(pid)


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv --pdeathsig is util-linux's")
def test_a_server_dies_with_a_killed_test_process_even_if_a_finished_thread_started_it(tmp_path):
    script = textwrap.dedent(
        """
        import os, signal, threading
        from redis_server import RedisServer

        servers = []
        thread = threading.Thread(target=lambda: servers.append(RedisServer().start()))
        thread.start(); thread.join()
        assert servers[0].execute("PING") == "PONG"  # alive after the thread that started it ended
        print(servers[0].pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no finally
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    pid, deadline = int(result.stdout), time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pid)
