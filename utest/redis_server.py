"""A real ``redis-server`` for tests: mirakuru runs it, redis-py talks to it; this module adds what they lack.

Fixtures (registered in utest/conftest.py):

- ``redis_server`` / ``redis_tls_server`` (session): one plain server, one TLS-only server whose
  certificate a test CA issued (``.ca_file``); one of each per pytest-xdist worker.
- ``redis_url`` / ``redis_tls_url``: the session server's URL after :meth:`RedisServer.reset`.
- ``redis_server_factory``: ``start(tls=False, password=None)``, a server of the test's own (to restart,
  kill or pause), stopped after the test.

What the harness adds to mirakuru and redis-py:

- The password is never on a command line (every user of the machine can read argv): it is in a
  config file, 0600 in a private (0700) temp dir; the server gets an empty environment, so no secret
  a test put in its own reaches it.
- TLS with a test CA (trustme, on ``cryptography``), :meth:`~RedisServer.pause` and
  :meth:`~RedisServer.resume` (SIGSTOP, SIGCONT), and :meth:`~RedisServer.reset` between tests.
- It dies with the test process, also a SIGKILLed one: mirakuru runs it in a session of its own and
  cleans up only at a normal exit, so on Linux ``setpriv --pdeathsig KILL`` has the kernel kill it
  when the thread that started it dies; every server is started from one thread that lives as long
  as the process, as a server restarted from a test's short-lived thread would otherwise die with it.

Each server binds 127.0.0.1 on a free port (another is picked if one is taken meanwhile, as by
another xdist worker) and keeps no data (``save ""``, ``appendonly no``): a restart loses every key,
ACL user and script. ``.url`` holds the password: do not log it.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
import trustme
from mirakuru import TCPExecutor
from mirakuru.exceptions import ExecutorError
from redis.backoff import NoBackoff
from redis.retry import Retry

HOST = "127.0.0.1"
INSTALL_HINT = "install it with `apt-get install redis-server` (Debian/Ubuntu; scripts/setup does so as root)"
START_TIMEOUT = 10.0
_SPAWNER = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="redis-server-spawner")  # see the docstring

__all__ = [
    "RedisServer",
    "RedisServerError",
    "RedisUser",
    "redis_server",
    "redis_server_executable",
    "redis_server_factory",
    "redis_tls_server",
    "redis_tls_url",
    "redis_url",
    "requires_redis_server",
]


class RedisServerError(RuntimeError):
    """The test server could not be started."""


def redis_server_executable() -> str | None:
    return shutil.which("redis-server")


# Under CI a missing redis-server is an error, not a skip: a green run that skipped these would hide it.
_UNAVAILABLE = None if redis_server_executable() or os.environ.get("CI") else f"no redis-server on PATH: {INSTALL_HINT}"
requires_redis_server = pytest.mark.skipif(_UNAVAILABLE is not None, reason=_UNAVAILABLE or "")


@dataclass(frozen=True)
class RedisUser:
    """An ACL user made by :meth:`RedisServer.create_user`; ``url`` connects as that user."""

    name: str
    password: str = field(repr=False)
    url: str = field(repr=False)


class RedisServer:
    """One ``redis-server``; port (picked at the first start) and password stay the same across restarts."""

    def __init__(self, *, tls: bool = False, password: str | None = None) -> None:
        self.tls = tls
        self.password = password if password is not None else secrets.token_urlsafe(24)
        self.port = 0
        self._directory: Path | None = None
        self._executor: TCPExecutor | None = None

    def url_for(self, username: str | None = None, password: str | None = None, db: int = 0) -> str:
        """A URL for this server as ``username`` (the default user if None) with ``password``."""
        user, secret = quote(username or "", safe=""), quote(self.password if password is None else password, safe="")
        return f"{'rediss' if self.tls else 'redis'}://{user}:{secret}@{HOST}:{self.port}/{db}"

    @property
    def url(self) -> str:
        return self.url_for()

    @property
    def ca_file(self) -> str:
        """PEM file of the test CA that issued the server's certificate (TLS servers only)."""
        if not self.tls or self._directory is None:
            raise RedisServerError("ca_file: only a started TLS server has one")
        return str(self._directory / "ca.pem")

    @property
    def running(self) -> bool:
        return self._executor is not None and self._executor.running()

    @property
    def pid(self) -> int | None:
        process = self._executor.process if self._executor is not None else None
        return process.pid if process is not None else None

    def start(self) -> RedisServer:
        """Start the server (no-op if running) and wait until it answers PING with the password."""
        if self.running:
            return self
        self.kill()  # reap one that was killed or died
        executable = redis_server_executable()
        if executable is None:
            raise RedisServerError(f"redis-server is not on PATH: {INSTALL_HINT}")
        directory = self._directory = self._directory or _prepare_directory(self.password, self.tls)
        fixed, failure = self.port, None
        for _attempt in range(1 if fixed else 3):
            self.port = fixed or _free_port()
            ports = ["--port", "0", "--tls-port", str(self.port)] if self.tls else ["--port", str(self.port)]
            argv = ["env", "-i", *_die_with_parent(), executable, str(directory / "redis.conf"), *ports]
            self._executor = TCPExecutor(
                argv,
                HOST,
                self.port,
                timeout=START_TIMEOUT,
                sleep=0.01,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
            try:
                _SPAWNER.submit(self._executor.start).result()
                self.execute("PING")  # our password (and CA) work: ours, not another process's on that port
                return self
            except (ExecutorError, redis.RedisError) as error:
                self.kill()
                failure = error if isinstance(error, redis.RedisError) else type(error).__name__  # (its repr recurses)
        log = directory / "redis.log"
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
        self.stop()  # nothing left behind: no process, no temp dir
        raise RedisServerError(f"redis-server did not start on {HOST}:{self.port} ({failure}); its log:\n{tail}")

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 10 s), and remove the server's temp dir."""
        try:
            self._terminate()
        finally:
            if self._directory is not None:
                shutil.rmtree(self._directory, ignore_errors=True)
                self._directory = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same password: all data is lost."""
        self._terminate()
        self.start()

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; :meth:`start` brings it back (empty)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.kill()

    def pause(self) -> None:
        """SIGSTOP the server: connections still open (the kernel accepts them), but nothing answers."""
        os.kill(self._require_pid(), signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self._require_pid(), signal.SIGCONT)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def execute(self, *args: str | bytes | int) -> Any:
        """One command as the default user; its reply as sent (str, int, list), not parsed by redis-py."""
        with self._client(decode_responses=True, encoding_errors="replace") as client:
            client.response_callbacks.clear()
            return client.execute_command(*args)

    def create_user(self, name: str, *, keys: list[str], commands: list[str], password: str | None = None) -> RedisUser:
        """``ACL SETUSER name reset on >password ~key... +command...``: only what is listed is allowed.

        ``commands`` are ACL rules, a bare name meaning ``+name`` (``"get"``, ``"+@read"``, ``"-flushall"``).
        """
        secret = password if password is not None else secrets.token_urlsafe(18)
        rules = ["reset", "on", f">{secret}", *(f"~{key}" for key in keys)]
        rules += [rule if rule[:1] in "+-&" else f"+{rule}" for rule in commands]  # &pattern: channels
        self.execute("ACL", "SETUSER", name, *rules)
        return RedisUser(name=name, password=secret, url=self.url_for(name, secret))

    def reset(self) -> None:
        """Make the server as new: running, no keys, no ACL users but default, no scripts, ACL log or stats."""
        if self.running:
            self.resume()
        self.start()
        for command in (
            ["CLIENT", "UNPAUSE"],
            ["FLUSHALL"],
            ["SCRIPT", "FLUSH"],
            ["ACL", "LOG", "RESET"],
            ["CONFIG", "RESETSTAT"],
        ):
            self.execute(*command)
        for user in self.execute("ACL", "USERS"):
            if user != "default":
                self.execute("ACL", "DELUSER", user)

    def dump(self) -> bytes:
        """Every key and every value in the server (hashes, strings, streams), for plain-text scans."""
        data: list[bytes] = []
        with self._client() as client:
            for key in client.scan_iter("*"):
                data.append(key)
                kind = client.type(key)
                if kind == b"hash":
                    data.extend(value for pair in client.hgetall(key).items() for value in pair)
                elif kind == b"string":
                    data.append(client.get(key) or b"")
                elif kind == b"stream":
                    data.append(repr(client.xrange(key)).encode())
        return b"\n".join(data)

    def _client(self, **options: Any) -> redis.Redis:
        tls: dict[str, Any] = {"ssl": True, "ssl_ca_certs": self.ca_file} if self.tls else {}
        return redis.Redis(
            host=HOST,
            port=self.port,
            password=self.password,
            protocol=2,
            socket_timeout=5,
            socket_connect_timeout=5,
            retry=Retry(NoBackoff(), 0),
            **tls,
            **options,
        )

    def _require_pid(self) -> int:
        if not self.running or self.pid is None:
            raise RedisServerError("redis-server is not running")
        return self.pid

    def _terminate(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            if executor.running() and executor.process is not None:
                os.kill(executor.process.pid, signal.SIGCONT)  # a paused server cannot act on SIGTERM
                executor.stop()
        finally:
            executor.kill()


def _prepare_directory(password: str, tls: bool) -> Path:
    """A private temp dir with the config (the password's only place) and, for TLS, the test CA's files."""
    directory = Path(tempfile.mkdtemp(prefix="redis-test-"))  # 0700, its own per server and process
    config = [
        f"requirepass {_quote(password)}",
        "bind 127.0.0.1",
        'save ""',
        "appendonly no",
        "daemonize no",
        f"dir {_quote(str(directory))}",
        f"logfile {_quote(str(directory / 'redis.log'))}",
    ]
    if tls:
        ca = trustme.CA(organization_name="redis_server.py test CA")
        cert = ca.issue_cert(HOST, "localhost")
        _write_private(directory / "ca.pem", ca.cert_pem.bytes())
        _write_private(directory / "server.pem", b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        _write_private(directory / "server.key", cert.private_key_pem.bytes())
        config += [
            f"tls-{name}-file {_quote(str(directory / file))}"
            for name, file in (("cert", "server.pem"), ("key", "server.key"), ("ca-cert", "ca.pem"))
        ]
        config.append("tls-auth-clients no")
    _write_private(directory / "redis.conf", "\n".join(config).encode() + b"\n")
    return directory


@functools.cache
def _die_with_parent() -> list[str]:
    """``setpriv --pdeathsig KILL --`` where setpriv has it (util-linux 2.33 and later, Linux only)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return []
    usage = subprocess.run([setpriv, "--help"], capture_output=True, text=True, check=False, timeout=10)
    return [setpriv, "--pdeathsig", "KILL", "--"] if "--pdeathsig" in usage.stdout + usage.stderr else []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _write_private(path: Path, data: bytes) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file:
        file.write(data)


def _quote(value: str) -> str:
    """A redis.conf double-quoted string: printable ASCII as is, the rest (and ``"``, ``\\``) as \\xHH."""
    return (
        '"'
        + "".join(
            c if " " <= c <= "~" and c not in '"\\' else "".join(f"\\x{b:02x}" for b in c.encode()) for c in value
        )
        + '"'
    )


def _skip_unless_installed() -> None:
    if _UNAVAILABLE is not None:
        pytest.skip(_UNAVAILABLE)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One plain redis-server for the whole session; prefer ``redis_url`` for a clean database."""
    _skip_unless_installed()
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_tls_server() -> Iterator[RedisServer]:
    """One TLS-only redis-server for the session; its certificate verifies against ``.ca_file``."""
    _skip_unless_installed()
    with RedisServer(tls=True) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session server's URL, with the server reset (no keys, users or scripts) for this test."""
    redis_server.reset()
    return redis_server.url


@pytest.fixture
def redis_tls_url(redis_tls_server: RedisServer) -> str:
    """The TLS session server's ``rediss://`` URL, reset for this test; CA in ``redis_tls_server.ca_file``."""
    redis_tls_server.reset()
    return redis_tls_server.url


@pytest.fixture
def redis_server_factory() -> Iterator[Callable[..., RedisServer]]:
    """``start(tls=False, password=None)``: a running server of this test's own, stopped after the test."""
    _skip_unless_installed()
    started: list[RedisServer] = []

    def start(*, tls: bool = False, password: str | None = None) -> RedisServer:
        started.append(RedisServer(tls=tls, password=password))
        return started[-1].start()

    yield start
    for server in started:
        server.stop()
