"""Robot Framework keywords for the Healthcode SSO sandbox: start it, turn its knobs, read its counters.

When ``${SANDBOX_URL}`` is given (atest/run.py starts one sandbox for the whole run, so that it can
scan every output file for the secrets it issued), the keywords talk to that sandbox over its
loopback admin API; otherwise `Start Sandbox` runs one in this process on a free port.
"""

from __future__ import annotations

import html
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from robot.api.deco import keyword, library
from robot.libraries.BuiltIn import BuiltIn

from healthcode_sandbox import Sandbox, SandboxSettings


@library(scope="GLOBAL")
class SandboxLibrary:
    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self) -> None:
        self.ROBOT_LIBRARY_LISTENER = self  # for _end_test: an attacker's page lasts one test
        self._sandbox: Sandbox | None = None
        self.url = ""
        self._listener: ThreadingHTTPServer | None = None
        self._attacker: ThreadingHTTPServer | None = None
        self.listener_hits: list[str] = []
        self.attacker_hits: list[str] = []
        self._recorder: ThreadingHTTPServer | None = None
        self.recorder_hits: list[dict[str, Any]] = []

    @keyword
    def start_sandbox(self, url: str | None = None) -> str:
        """Uses the sandbox at ``url``, or starts one on a free port; sets ${SANDBOX_URL} and ${DISCOVERY_URL}."""
        if not url:
            self._sandbox = Sandbox(SandboxSettings(port=0)).start()
            url = self._sandbox.url
        self.url = url.rstrip("/")
        builtin = BuiltIn()
        builtin.set_global_variable("${SANDBOX_URL}", self.url)
        builtin.set_global_variable("${DISCOVERY_URL}", f"{self.url}/.well-known/openid-configuration")
        return self.url

    @keyword
    def stop_sandbox(self) -> None:
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None

    @keyword
    def set_sandbox_faults(self, **knobs: Any) -> None:
        """Sets fault knobs, e.g. ``token_failures=2`` or ``deny_sign_in=${True}``."""
        self._admin("POST", "/_sandbox/faults", json=knobs)

    @keyword
    def reset_sandbox_faults(self) -> None:
        self._admin("DELETE", "/_sandbox/faults")

    @keyword
    def reset_sandbox_stats(self) -> None:
        self._admin("DELETE", "/_sandbox/stats")

    @keyword
    def sandbox_request_count(self, name: str) -> int:
        """Requests the sandbox counted under ``name`` (``token.authorization_code``, ``discovery``...)."""
        counts = self._admin("GET", "/_sandbox/stats").get("counts", {})
        return int(counts.get(name, 0))

    @keyword
    def sandbox_request_total(self) -> int:
        """All requests the sandbox counted since the last reset (every endpoint)."""
        counts = self._admin("GET", "/_sandbox/stats").get("counts", {})
        return sum(int(v) for k, v in counts.items() if "." not in k)

    @keyword
    def register_sandbox_client(self, client_id: str, redirect_uri: str, secret: Any = None) -> None:
        """Registers a client; ``secret`` may be a ``Secret`` (a confidential client) or None (public)."""
        body: dict[str, Any] = {"client_id": client_id, "redirect_uris": [redirect_uri]}
        if secret is not None:
            body["client_secret"] = getattr(secret, "value", secret)
        self._admin("POST", "/_sandbox/clients", json=body)

    @keyword
    def start_redirect_listener(self) -> str:
        """A real server on a free loopback port, to prove that nothing ever reaches a redirect URI.

        Returns its base URL; `Redirect Listener Hits` says how many requests it received.
        """
        hits = self.listener_hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path.split("?")[0])  # never keep the query: it would hold the code
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._listener = _serve(Handler)
        return f"http://127.0.0.1:{self._listener.server_address[1]}"

    @keyword
    def sandbox_api_calls(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """The API calls the sandbox saw since the stats were reset, oldest first: ``method``,
        ``endpoint``, ``path``, ``status``, ``site_id``, ``api_version``, ``bearer`` (whether a token
        came; never the token) and ``content_type``; only ``endpoint``'s when given."""
        params = {"endpoint": endpoint} if endpoint else {}
        return list(self._admin("GET", "/_sandbox/api-calls", params=params)["calls"])

    @keyword
    def start_header_recorder(self) -> str:
        """Another host (a server on a free loopback port) that records, for each request it
        receives, its method, path and the names of its headers, and whether ``Authorization``,
        ``SU-SiteId`` or ``HC-API-Version`` came. Returns its base URL; see `Header Recorder Hits`."""
        hits = self.recorder_hits = []

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                names = sorted(name.lower() for name in self.headers)
                hits.append(
                    {
                        "method": self.command,
                        "path": self.path.split("?")[0],
                        "headers": names,
                        "healthcode": [n for n in names if n in ("authorization", "su-siteid", "hc-api-version")],
                    }
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_DELETE = do_PUT = _record

            def log_message(self, *args: Any) -> None:
                pass

        _shut(self._recorder)
        self._recorder = _serve(Handler)
        return f"http://127.0.0.1:{self._recorder.server_address[1]}"

    @keyword
    def header_recorder_hits(self) -> list[dict[str, Any]]:
        """What the recorder received: a dictionary per request (never a header's value)."""
        return list(self.recorder_hits)

    @keyword
    def pending_sign_in_url(self) -> str:
        """The authorization URL of HealthcodeLibrary's pending sign-in (its state is not a secret)."""
        pending = BuiltIn().get_library_instance("HealthcodeLibrary").session.pending_sign_in
        if pending is None:
            raise AssertionError("Open Healthcode Login first.")
        return str(pending.url)

    @keyword
    def start_attacker_page_for_the_pending_sign_in(
        self, as_user: str = "mfa.supervisor", how: str = "script", host: str = "127.0.0.1"
    ) -> str:
        """Plays the attacker who read the bot's pending sign-in (its state and code challenge) from a log.

        The attacker signs in to the sandbox as ``as_user`` with the bot's authorization URL, which
        gives a code of the attacker's bound to the bot's challenge, and serves, until the test
        ends, what sends whichever browser (or frame) opens it to the redirect URI with that code:
        ``how`` is ``script`` (a page that sets ``location.href``), ``meta`` (a meta refresh), a
        3xx status (``301``, ``302``, ``303``, ``307``, ``308``: a redirect answered by the
        attacker's server), or ``popup``: a page that opens a popup, then sends the browser to the
        bot's own sign-in page; once that shows, the popup navigates its opener to the redirect URI
        and asks the attacker's server for ``/sent``. ``disguised popup`` does the same from a popup
        that sends no Referer and names its script after the SSO's sign-in page (``//# sourceURL``).
        ``host`` is the name the URL uses (``localhost`` makes it another site than the sandbox's
        127.0.0.1). Returns the URL; the code itself is never returned or logged.
        """
        from healthcode_sandbox import Supervisor

        quiet = [logging.getLogger(name) for name in ("httpx", "httpcore")]
        levels = [logger.level for logger in quiet]
        for logger in quiet:  # the attacker's code must not reach this test's own log either
            logger.setLevel(logging.WARNING)
        try:
            redirect = Supervisor(username=as_user).sign_in(self.pending_sign_in_url())
        finally:
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)
        sign_in = self.pending_sign_in_url()
        status, page = _attack(how, redirect, sign_in)
        popup = _popup(how, redirect, sign_in)
        hits = self.attacker_hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                hits.append(path)
                if path in ("/popup", "/sent"):
                    self._answer(popup if path == "/popup" else b"")
                    return
                self.send_response(status)
                if status != 200:
                    self.send_header("Location", redirect)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        _shut(self._attacker)
        self._attacker = _serve(Handler)
        return f"http://{host}:{self._attacker.server_address[1]}/innocent-looking-page"

    @keyword
    def attacker_page_hits(self, path: str = "") -> int:
        """How many requests the attacker's server answered (for ``path`` only, when given), for
        waiting until the attack happened."""
        return len([hit for hit in self.attacker_hits if not path or hit == path])

    @keyword
    def redirect_listener_hits(self) -> list[str]:
        """The paths (never the queries) of the requests the listener received."""
        return list(self.listener_hits)

    @keyword
    def stop_redirect_listener(self) -> None:
        _shut(self._listener)
        self._listener = None

    def _end_test(self, data: Any, result: Any) -> None:  # listener method (ROBOT_LIBRARY_LISTENER)
        _shut(self._attacker)
        _shut(self._recorder)
        self._attacker = self._recorder = None

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, self.url + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None


def _attack(how: str, redirect: str, sign_in: str) -> tuple[int, bytes]:
    """The attacker's answer: (status, body) that sends the browser to ``redirect`` (or, for a popup
    attack, opens the popup that will, and sends the browser to the SSO's ``sign_in`` page)."""
    if how in ("popup", "disguised popup"):
        return 200, (
            "<!doctype html><title>Totally harmless</title><script>window.open('/popup', 'helper'); "
            f"setTimeout(() => {{ location.href = {json.dumps(sign_in)}; }}, 200);</script>"
        ).encode()
    if how == "script":
        return 200, (
            "<!doctype html><title>Totally harmless</title><script>addEventListener('load', () => "
            f"setTimeout(() => {{ window.sent = true; location.href = {json.dumps(redirect)}; }}, 50));"
            "</script>"
        ).encode()
    if how == "meta":
        return 200, (
            "<!doctype html><title>Totally harmless</title>"
            f'<meta http-equiv="refresh" content="0;url={html.escape(redirect)}">'
        ).encode()
    if how in ("301", "302", "303", "307", "308"):
        return int(how), b"Moved"
    raise ValueError(f"Unknown attack '{how}': use script, meta, popup, disguised popup or a 3xx status.")


def _popup(how: str, redirect: str, sign_in: str) -> bytes:
    """The popup of a popup attack: it waits until its opener shows another origin's page (the SSO's:
    reading its document then throws), navigates it to ``redirect`` and reports to ``/sent``."""
    disguised = how == "disguised popup"
    hide = '<meta name="referrer" content="no-referrer">' if disguised else ""
    name = f"\n//# sourceURL={sign_in.split('?')[0]}" if disguised else ""
    return (
        f"<!doctype html><title>Helper</title>{hide}<script>const timer = setInterval(() => {{ "
        "try { opener.document.title; return; } catch (e) { /* the opener shows the SSO now */ } "
        f"clearInterval(timer); opener.location.href = {json.dumps(redirect)}; fetch('/sent'); }}, 50);"
        f"{name}</script>"
    ).encode()


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A server on a free loopback port, answering with ``handler`` from a thread of its own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _shut(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
