"""A real ``redis-server`` for tests, started as a child process on a free loopback port.

Use the pytest fixtures from a ``conftest.py`` (list them in ``__all__`` so ruff sees them used)::

    from redis_server import redis_server, redis_server_factory, redis_tls_server, redis_tls_url, redis_url

    __all__ = ["redis_server", "redis_server_factory", "redis_tls_server", "redis_tls_url", "redis_url"]

- ``redis_server`` (session): one plain server; ``redis_tls_server`` (session): one TLS-only server
  whose certificate is issued by a test CA (``.ca_file``).
- ``redis_url`` / ``redis_tls_url`` (function): the session server's URL, after :meth:`RedisServer.reset`
  (every key, ACL user and cached script gone; started again if a test stopped or killed it).
- ``redis_server_factory`` (function): ``start(tls=False, **options)`` starts a server of the test's
  own, for tests that restart, kill or pause it; all are stopped after the test.

Or use the class directly: ``with RedisServer() as server: redis.Redis.from_url(server.url, ...)``.
Tests that need it skip with ``requires_redis_server`` when ``redis-server`` is not on PATH, except
under CI (``CI`` set), where a missing server is an error: a green run that skipped them would hide
a missing install step.

The server runs with no configuration file from the system: only a generated one in its own temp
dir (0700, removed by :meth:`RedisServer.stop`), bound to 127.0.0.1, no persistence
(``--save '' --appendonly no``), so a restart loses every key, ACL user and loaded script.

The password never appears on a command line: other users of the machine can read every process's
argv (``ps``, ``/proc/PID/cmdline``). ``requirepass`` goes into that generated config file, created
0600; ACL users' passwords travel over the loopback connection (``ACL SETUSER``). ``repr()`` of a
server shows ``***`` in place of the password and that of a user leaves it out; ``.url`` itself
holds it, so do not log it.

No ``redis-server`` outlives its test run: :meth:`RedisServer.stop` sends SIGTERM, then SIGKILL after
``stop_timeout``, also when interrupted (KeyboardInterrupt); the fixtures and the context manager
stop their servers on failure and interrupt; an ``atexit`` hook stops any still running; and on
Linux each server is forked with ``PR_SET_PDEATHSIG`` = SIGKILL from one long-lived helper thread,
so it dies with the test process even when that is killed (SIGKILL, OOM) and no Python code runs
(``die_with_parent=False`` turns that off). Only then is its temp dir left in the system temp dir.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import quote

import pytest

HOST = "127.0.0.1"
INSTALL_HINT = (
    "install it with `apt-get install redis-server` (Debian/Ubuntu; scripts/setup does this when run as root), "
    "or pass executable=/path/to/redis-server"
)

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
    """The test server could not be started, or did not answer."""


class RedisReplyError(Exception):
    """The server answered a harness command with an error reply (``-ERR ...``)."""


def redis_server_executable() -> str | None:
    """Path of ``redis-server`` on PATH, or None."""
    return shutil.which("redis-server")


def _why_unavailable() -> str | None:
    """Why the Redis tests cannot run here, or None when they can."""
    if sys.platform == "win32":
        return ("redis-server does not run on Windows, and this harness pauses and stops it with POSIX signals "
                "(SIGSTOP, SIGCONT)")
    if redis_server_executable() is None and not os.environ.get("CI"):
        return f"redis-server is not on PATH: {INSTALL_HINT}"
    return None


requires_redis_server = pytest.mark.skipif(_why_unavailable() is not None, reason=_why_unavailable() or "")

_running: set[RedisServer] = set()


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        server.stop()


@dataclass(frozen=True)
class RedisUser:
    """An ACL user made by :meth:`RedisServer.create_user`; ``url`` connects as that user."""

    name: str
    password: str = field(repr=False)
    url: str = field(repr=False)


class RedisServer:
    """One ``redis-server`` child process; see the module docstring.

    ``port`` is chosen free on 127.0.0.1 unless given; ``password`` is random unless given. Both stay
    the same across :meth:`restart`, :meth:`kill` + :meth:`start` and :meth:`stop` + :meth:`start`.
    With ``tls=True`` the server listens only for TLS, with a certificate for ``tls_hostnames``
    (names or IP addresses) issued by a test CA made for this server (``.ca_file``).
    """

    host = HOST

    def __init__(
        self,
        *,
        tls: bool = False,
        tls_hostnames: Sequence[str] = (HOST, "localhost"),
        port: int | None = None,
        password: str | None = None,
        executable: str | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        die_with_parent: bool = True,
    ) -> None:
        self.tls = tls
        self.tls_hostnames = tuple(tls_hostnames)
        self._fixed_port = port is not None
        self._port = port or 0
        self._password = password if password is not None else secrets.token_urlsafe(24)
        self._executable = executable
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.die_with_parent = die_with_parent
        self._directory: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None
        self._tls_material: tuple[bytes, bytes, bytes] | None = None  # CA cert, server chain, server key
        self.command_line: tuple[str, ...] = ()  # argv of the last start (redis rewrites its /proc cmdline)

    # --- what tests connect with -----------------------------------------------------------------

    @property
    def password(self) -> str:
        return self._password

    @property
    def port(self) -> int:
        """The server's port (its TLS port for a TLS server); 0 before the first start."""
        return self._port

    @property
    def url(self) -> str:
        """``redis://:PASSWORD@127.0.0.1:PORT/0``, or ``rediss://...`` for a TLS server."""
        return self.url_for()

    def url_for(self, username: str | None = None, password: str | None = None, db: int = 0) -> str:
        """A URL for this server as ``username`` (the default user if None) with ``password``."""
        scheme = "rediss" if self.tls else "redis"
        secret = self._password if password is None else password
        user = quote(username, safe="") if username else ""
        return f"{scheme}://{user}:{quote(secret, safe='')}@{self.host}:{self._port}/{db}"

    @property
    def ca_file(self) -> str:
        """PEM file of the test CA that issued the server's certificate (TLS servers only)."""
        if not self.tls:
            raise RedisServerError("ca_file: this server was started without tls=True")
        if self._directory is None:
            raise RedisServerError("ca_file: the server is not started")
        return str(self._directory / "ca.pem")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def directory(self) -> Path | None:
        """The server's temp dir (``--dir``, config, certificates, log); None when stopped."""
        return self._directory

    def __repr__(self) -> str:
        masked = self.url_for(password="***").replace("%2A%2A%2A", "***")
        return f"RedisServer(url={masked!r}, pid={self.pid}, running={self.running})"

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> RedisServer:
        """Start the server (no-op if running) and wait until it answers PING."""
        if self.running:
            return self
        self._stop_process(graceful=False)  # reap one that was killed or died
        executable = self._executable or redis_server_executable()
        if executable is None or not os.access(executable, os.X_OK):
            missing = executable or "redis-server"
            raise RedisServerError(f"{missing} not found or not executable: {INSTALL_HINT}")
        first_start = self._port == 0
        attempts = 1 if self._fixed_port or not first_start else 5
        for attempt in range(attempts):
            if first_start:
                self._port = _free_port()
            try:
                self._launch(executable)
                return self
            except RedisServerError as error:
                # Another process may take the port between _free_port() and redis' bind(): pick again.
                if "Address already in use" not in str(error) or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``stop_timeout``) and remove its temp dir."""
        try:
            self._stop_process(graceful=True)
        finally:
            _running.discard(self)
            if self._directory is not None:
                shutil.rmtree(self._directory, ignore_errors=True)
                self._directory = None

    def restart(self) -> None:
        """Stop gracefully and start again on the same port with the same password: all data is lost."""
        self._stop_process(graceful=True)
        self.start()

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; :meth:`start` brings it back (empty)."""
        self._stop_process(graceful=False)

    def pause(self) -> None:
        """SIGSTOP the server: connections still open (the kernel accepts), but nothing answers."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused server."""
        self._signal(signal.SIGCONT)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- talking to it (a minimal RESP client of its own, independent of redis-py) -----------------

    def execute(self, *args: str | bytes | int, timeout: float = 5.0) -> Any:
        """Run one command as the default user on a fresh connection and return the decoded reply."""
        with self._connect(timeout=timeout) as conn:
            _send(conn, "AUTH", self._password)
            _read_reply(conn)
            _send(conn, *args)
            return _read_reply(conn)

    def ping(self) -> bool:
        try:
            return bool(self.execute("PING") == "PONG")
        except (OSError, RedisReplyError):
            return False

    def create_user(
        self, name: str, *, keys: Sequence[str], commands: Sequence[str], password: str | None = None
    ) -> RedisUser:
        """``ACL SETUSER name reset on >password ~key... +command...``: only what is listed is allowed.

        ``keys`` are key patterns (``"healthcode:*"``); ``commands`` are ACL command rules, a bare name
        meaning ``+name`` (``"get"``, ``"+@read"``, ``"-flushall"``, ``"+client|setinfo"``).
        """
        secret = password if password is not None else secrets.token_urlsafe(18)
        rules = ["reset", "on", f">{secret}", *(f"~{k}" for k in keys)]
        rules += [rule if rule[:1] in "+-&" else f"+{rule}" for rule in commands]  # &pattern: channels
        self.execute("ACL", "SETUSER", name, *rules)
        return RedisUser(name=name, password=secret, url=self.url_for(name, secret))

    def reset(self) -> None:
        """Make the server as new: running, no keys, no ACL users but default, no scripts, no ACL log or stats."""
        if self._process is not None and self._process.poll() is None:
            self._signal(signal.SIGCONT)
        self.start()
        self.execute("CLIENT", "UNPAUSE")
        self.execute("FLUSHALL")
        self.execute("SCRIPT", "FLUSH")
        self.execute("ACL", "LOG", "RESET")
        self.execute("CONFIG", "RESETSTAT")
        for user in self.execute("ACL", "USERS"):
            if user != "default":
                self.execute("ACL", "DELUSER", user)

    def dump(self) -> bytes:
        """Every key and every value in the server (hashes, strings, streams), for plain-text scans."""
        import redis

        client = redis.Redis.from_url(self.url, ssl_ca_certs=self.ca_file) if self.tls else redis.Redis.from_url(self.url)
        data: list[Any] = []
        for key in client.scan_iter("*"):
            data.append(key)
            kind = client.type(key)
            if kind == b"hash":
                data.extend(value for pair in client.hgetall(key).items() for value in pair)
            elif kind == b"string":
                data.append(client.get(key) or b"")
            elif kind == b"stream":
                data.append(repr(client.xrange(key)).encode())
        client.close()
        return b"\n".join(item if isinstance(item, bytes) else str(item).encode() for item in data)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's own output (its log goes to stdout, kept in a file)."""
        if self._directory is None:
            return ""
        try:
            text = (self._directory / "redis.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # --- internals ---------------------------------------------------------------------------------

    def _require_directory(self) -> Path:
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="redis-test-"))
        return self._directory

    def _write_files(self) -> Path:
        directory = self._require_directory()
        config = directory / "redis.conf"
        if not config.exists():
            # The only place the password is written; never on argv. 0600 in a 0700 dir.
            _write_private(config, f"requirepass {_config_quote(self._password)}\n".encode())
        if self.tls and not (directory / "ca.pem").exists():
            ca_pem, chain_pem, key_pem = self._tls_files()
            _write_private(directory / "ca.pem", ca_pem)
            _write_private(directory / "server.pem", chain_pem)
            _write_private(directory / "server.key", key_pem)
        return config

    def _tls_files(self) -> tuple[bytes, bytes, bytes]:
        if self._tls_material is None:
            import trustme  # a dev dependency; only TLS servers need it

            ca = trustme.CA(organization_name="redis_server.py test CA")
            cert = ca.issue_cert(*self.tls_hostnames)
            chain = b"".join(blob.bytes() for blob in cert.cert_chain_pems)
            self._tls_material = (ca.cert_pem.bytes(), chain, cert.private_key_pem.bytes())
        return self._tls_material

    def _argv(self, executable: str, config: Path, directory: Path) -> list[str]:
        argv = [executable, str(config), "--bind", HOST, "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(directory), "--daemonize", "no", "--logfile", "", "--databases", "16"]
        if self.tls:
            argv += ["--port", "0", "--tls-port", str(self._port)]
            argv += ["--tls-cert-file", str(directory / "server.pem"), "--tls-key-file", str(directory / "server.key")]
            argv += ["--tls-ca-cert-file", str(directory / "ca.pem"), "--tls-auth-clients", "no"]
        else:
            argv += ["--port", str(self._port)]
        return argv

    def _launch(self, executable: str) -> None:
        config = self._write_files()
        directory = self._require_directory()
        argv = self._argv(executable, config, directory)
        assert self._password not in argv
        self.command_line = tuple(argv)
        log = open(directory / "redis.log", "ab")  # noqa: SIM115 - closed in _stop_process
        try:

            def popen(preexec_fn: Callable[[], None] | None = None) -> subprocess.Popen[bytes]:
                return subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=directory,
                    start_new_session=True,  # a terminal's Ctrl-C reaches pytest, which stops the server itself
                    preexec_fn=preexec_fn,
                )

            if self.die_with_parent and (hook := _die_with_parent_hook()) is not None:
                # PR_SET_PDEATHSIG fires when the *thread* that forked dies: fork from one that lives
                # as long as the process, so a server (re)started from a test's helper thread survives it.
                self._process = _spawner().submit(popen, hook).result()
            else:
                self._process = popen()
        except BaseException:
            log.close()
            raise
        self._log = log
        _running.add(self)
        try:
            self._wait_until_ready()
        except BaseException:
            self._stop_process(graceful=False)
            raise

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        last_error: BaseException | None = None
        while True:
            code = self._process.poll()
            if code is not None:
                raise RedisServerError(
                    f"redis-server exited with status {code} while starting on {HOST}:{self._port}; "
                    f"its output:\n{self.log_tail()}"
                )
            try:
                if self.execute("PING", timeout=0.5) == "PONG":
                    return
            except ssl.SSLCertVerificationError as error:
                raise RedisServerError(f"redis-server's test certificate did not verify: {error}") from error
            except (OSError, RedisReplyError) as error:
                last_error = error
            if time.monotonic() > deadline:
                raise RedisServerError(
                    f"redis-server on {HOST}:{self._port} did not answer PING within {self.start_timeout} s "
                    f"(last error: {last_error!r}); its output:\n{self.log_tail()}"
                )
            time.sleep(0.02)

    def _stop_process(self, *, graceful: bool) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.poll() is None:
                if graceful:
                    with contextlib.suppress(ProcessLookupError):
                        process.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
                        process.terminate()
                    try:
                        process.wait(self.stop_timeout)
                        return
                    except subprocess.TimeoutExpired:
                        pass
                process.kill()
                process.wait(self.stop_timeout)
        except BaseException:
            # Interrupted (KeyboardInterrupt) or the wait timed out: never leave it running.
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(self.stop_timeout)
            raise
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def _signal(self, signum: signal.Signals) -> None:
        if self._process is None or self._process.poll() is not None:
            raise RedisServerError(f"redis-server is not running: {self!r}")
        self._process.send_signal(signum)

    @contextlib.contextmanager
    def _connect(self, timeout: float) -> Iterator[socket.socket]:
        sock = socket.create_connection((HOST, self._port), timeout=timeout)
        try:
            if self.tls:
                context = ssl.create_default_context(cafile=self.ca_file)
                sock = context.wrap_socket(sock, server_hostname=self.tls_hostnames[0])
            yield sock
        finally:
            sock.close()


# --- RESP, just enough for PING, AUTH, FLUSHALL and ACL --------------------------------------------


def _send(conn: socket.socket, *args: str | bytes | int) -> None:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts += [b"$%d\r\n" % len(data), data, b"\r\n"]
    conn.sendall(b"".join(parts))


def _read_line(conn: socket.socket) -> bytes:
    line = bytearray()
    while not line.endswith(b"\r\n"):
        chunk = conn.recv(1)
        if not chunk:
            raise ConnectionResetError("redis-server closed the connection")
        line += chunk
    return bytes(line[:-2])


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("redis-server closed the connection")
        data += chunk
    return bytes(data)


def _read_reply(conn: socket.socket) -> Any:
    line = _read_line(conn)
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisReplyError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else _read_exactly(conn, size + 2)[:-2].decode(errors="replace")
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_reply(conn) for _ in range(count)]
    raise RedisReplyError(f"unexpected reply from redis-server: {line[:80]!r}")


# --- helpers -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _config_quote(value: str) -> str:
    """A redis.conf double-quoted string: printable ASCII as is, the rest (and ``"``, ``\\``) as \\xHH."""
    escaped = "".join(c if " " <= c <= "~" and c not in '"\\' else "".join(f"\\x{b:02x}" for b in c.encode()) for c in value)
    return f'"{escaped}"'


_spawner_pool: concurrent.futures.ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def _spawner() -> concurrent.futures.ThreadPoolExecutor:
    """One long-lived thread that starts every server (its worker lives until interpreter exit)."""
    global _spawner_pool
    with _spawner_lock:
        if _spawner_pool is None:
            _spawner_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="redis-server-spawner")
        return _spawner_pool


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A preexec_fn that has Linux SIGKILL the child when the thread that started it dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


# --- pytest fixtures -------------------------------------------------------------------------------


def _skip_unless_installed() -> None:
    reason = _why_unavailable()
    if reason is not None:
        pytest.skip(reason)


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
    """``start(tls=False, **options)``: a running server of this test's own, stopped after the test."""
    _skip_unless_installed()
    started: list[RedisServer] = []

    def start(*, tls: bool = False, **options: Any) -> RedisServer:
        server = RedisServer(tls=tls, **options)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
