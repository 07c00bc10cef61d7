"""What the portal's acceptance run starts: portals as real `healthcode-auth portal` processes, a test CA and
Debian's nginx in front of one of them, terminating TLS at a non-root path (never the system's nginx service:
a configuration file and prefix of the run's own, on a free loopback port).

nginx connects to the portal from 127.0.0.2 (``proxy_bind``), the one address the portal trusts
(``--trusted-proxy 127.0.0.2``): so a client on this machine (127.0.0.1) that bypasses nginx is a client like
any other, whose ``X-Forwarded-For`` the portal ignores, and the record shows which address the portal believed.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

PROXY_ADDRESS = "127.0.0.2"  # nginx's side of its connections to the portal (any 127.0.0.0/8 address is local)

# The configuration docs/portal.md shows ("Behind nginx"), with the run's own ports, files and folders.
NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {logs}/error.log info;
events {{ worker_connections 64; }}

http {{
    # The request's path without its query string: the callback's query holds the code and the state.
    log_format portal '$remote_addr [$time_local] "$request_method $uri" $status $body_bytes_sent';
    access_log {logs}/access.log portal;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server_tokens off;

    server {{
        listen 127.0.0.1:{port} ssl;
        server_name 127.0.0.1 localhost;
        ssl_certificate {certificate};
        ssl_certificate_key {private_key};
        ssl_protocols TLSv1.2 TLSv1.3;

        # The portal: the redirect URI's parent path, forwarded unchanged (no URI after the address).
        location /bots/ {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;    # replaces what the client sent
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_bind {proxy_address};                        # the address the portal trusts
            proxy_redirect off;
            proxy_max_temp_file_size 0;
            client_max_body_size 16k;
        }}
    }}
}}
"""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def nginx_executable() -> str | None:
    """Debian's nginx is in /usr/sbin, which a non-root PATH often leaves out."""
    return shutil.which("nginx") or next((str(p) for p in (Path("/usr/sbin/nginx"),) if p.is_file()), None)


def healthcode_auth() -> list[str]:
    script = Path(sys.executable).with_name("healthcode-auth.exe" if os.name == "nt" else "healthcode-auth")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "healthcode_cli"]


class Child:
    """A child process whose stdout and stderr go to a log file (scanned for secrets afterwards)."""

    def __init__(self, name: str, command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.command, self.log_path, self.env = name, command, log, env
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, ready: str, timeout: float = 30) -> Child:
        """Start it, and wait until ``ready`` (an http(s) URL) answers."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} stopped (exit {self.process.returncode}): see {self.log_path}")
            try:
                httpx.get(ready, verify=False, timeout=2)  # noqa: S501 (only: is it listening yet?)
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s: see {self.log_path}")

    def stop(self) -> int | None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: the portal and nginx stop cleanly on it
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.process.returncode if self.process is not None else None


def start_portal(name: str, listen: str, env: dict[str, str], log: Path, ready: str, *options: str) -> Child:
    """`healthcode-auth portal --listen HOST:PORT`, settings from ``env`` (HEALTHCODE_*), its log in ``log``."""
    return Child(name, [*healthcode_auth(), "portal", "--listen", listen, *options], log, env).start(ready)


def make_tls(folder: Path) -> dict[str, Path]:
    """A test CA and a certificate for 127.0.0.1 and localhost that it issued (trustme)."""
    import trustme

    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Healthcode portal test CA")
    server = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca": folder / "ca.pem", "certificate": folder / "server-chain.pem", "private_key": folder / "server.key"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    server.private_key_pem.write_to_path(str(files["private_key"]))
    with files["certificate"].open("wb") as chain:
        for blob in server.cert_chain_pems:
            chain.write(blob.bytes())
    return files


def start_nginx(executable: str, prefix: Path, logs: Path, port: int, upstream: int, tls: dict[str, Path]) -> Child:
    """nginx in the foreground with the run's own configuration and prefix; ready when its TLS port answers."""
    prefix.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            prefix=prefix,
            logs=logs,
            port=port,
            upstream=upstream,
            certificate=tls["certificate"],
            private_key=tls["private_key"],
            proxy_address=PROXY_ADDRESS,
        ),
        encoding="utf-8",
    )
    check = subprocess.run(
        [executable, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(logs / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        raise RuntimeError(f"nginx refused the test's configuration: {check.stderr.strip()}")
    nginx = Child(
        "nginx",
        [executable, "-p", str(prefix), "-c", str(conf), "-e", str(logs / "error.log")],
        logs / "nginx-console.log",
    )
    context = ssl.create_default_context(cafile=str(tls["ca"]))
    nginx.start(f"https://127.0.0.1:{port}/bots/static/portal.css")
    httpx.get(f"https://127.0.0.1:{port}/bots/static/portal.css", verify=context, timeout=10).raise_for_status()
    return nginx
