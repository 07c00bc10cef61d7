"""``Sandbox``: one Healthcode SSO emulator, its Flask app on Werkzeug's threaded WSGI server in a
background thread.

Use it as a context manager (``with Sandbox() as sb:``) or call ``start()``/``stop()``. The methods
below the lifecycle are the Python side of the admin API: tests in the same process turn knobs and
read counters directly; other processes use ``/_sandbox/*``. Bad input never becomes a 500:
oversized bodies and parameters, wrong methods and unknown paths answer a 4xx in the shape the caller
expects (OAuth JSON, the HTML error page under /authorize, an OperationOutcome under /api/). Request
logs show method, path and status only: query strings carry state, PKCE challenges and codes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import admin_views, api_endpoints, api_gate, oauth_endpoints, sign_in_views
from .authorization_server import SandboxAuthorizationServer, sign_access_token
from .oauth_endpoints import FORM_TYPE, oauth_error
from .sandbox_state import ApiCall, IssuedSecrets, SandboxState
from .settings import Client, Faults, SandboxConfigurationError, SandboxError, SandboxSettings, StartError

log = logging.getLogger(__name__)
http_log = logging.getLogger("healthcode_sandbox.http")  # silent unless the command line turns it on

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
POLL_INTERVAL = 0.01  # how long stop() may wait for the serving loop to notice
MAX_BODY_BYTES = 64 * 1024
MAX_PARAMETER_CHARS = 4096
MAX_PARAMETERS = 100
_QUERY = re.compile(r"\?[^\s'\"]*")


class Sandbox:
    """A running (or startable) Healthcode SSO sandbox."""

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()
        if self.settings.host not in LOOPBACK_HOSTS and not self.settings.allow_remote:
            raise SandboxConfigurationError(
                f"Refusing to listen on {self.settings.host}: the sandbox has fixed, published "
                "passwords. Use a loopback host, or allow_remote=True (--allow-remote) if you must."
            )
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._state: SandboxState | None = None

    def start(self) -> Sandbox:
        """Bind (port 0 = a free port), build the app and serve in a daemon thread."""
        if self._server is not None:
            raise SandboxError("This sandbox is already running; stop() it first.")
        # Authlib logs whole token responses at DEBUG; a suite running with DEBUG logs must not write them.
        authlib_log = logging.getLogger("authlib")
        authlib_log.setLevel(max(authlib_log.level, logging.INFO))
        host, port = self.settings.host, self.settings.port
        try:
            server = make_server(
                host,
                port,
                _not_ready,
                threaded=True,
                request_handler=_QuietRequestHandler,
                ssl_context=self.settings.tls,
            )
        except SystemExit as error:  # werkzeug exits instead of raising when it cannot bind
            raise StartError(
                f"Cannot listen on {host}:{port}; is the port in use? Use port 0 for a free port."
            ) from error
        netloc = f"[{host}]:{server.port}" if ":" in host else f"{host}:{server.port}"
        scheme = "https" if self.settings.tls is not None else "http"
        self._state = SandboxState.create(self.settings, self.settings.public_url or f"{scheme}://{netloc}")
        server.app = create_app(self._state)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"healthcode-sandbox-{server.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent); the last run's URL, counters and secrets stay readable."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._running_state().stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash); also the issuer."""
        return self._running_state().issuer

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def discovery_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"

    @property
    def api_discovery_url(self) -> str:
        """The API discovery document: ``<url>/.well-known/discovery-document.json``."""
        return self.url + api_gate.DOCUMENT_PATH

    @property
    def port(self) -> int:
        if self._server is None:
            raise SandboxError("The sandbox is not running; start() it first.")
        return int(self._server.port)

    @property
    def faults(self) -> Faults:
        """The knob values now."""
        return self._running_state().faults.current

    def set_faults(self, **changes: Any) -> Faults:
        """Change knobs by name, e.g. ``set_faults(token_failures=2, failure_status=500)``; see :class:`Faults`."""
        return self._running_state().faults.update(changes)

    def reset_faults(self) -> Faults:
        """Every knob back to its start value."""
        return self._running_state().faults.reset()

    def rotate_keys(self, keep_old: bool = True) -> str:
        """Sign new tokens with a new key; returns its ``kid``. Without ``keep_old``, old tokens stop verifying."""
        return self._running_state().keys.rotate(keep_old=keep_old)

    @property
    def signing_kid(self) -> str:
        return self._running_state().keys.current_kid

    def add_client(self, client: Client) -> None:
        """Register (or replace) a client while running."""
        self._running_state().store.add_client(client)

    def stats(self) -> dict[str, int]:
        """Requests per endpoint name so far (``discovery``, ``jwks``, ``token.refresh_token``...)."""
        return self._running_state().stats.snapshot()

    def request_count(self, name: str) -> int:
        """Requests counted under ``name``; 0 when there were none."""
        return self.stats().get(name, 0)

    def reset_stats(self) -> None:
        """Forget the counters and the recorded API calls."""
        self._running_state().stats.reset()

    def api_calls(self, endpoint: str | None = None) -> list[ApiCall]:
        """The API calls so far, oldest first (also ``GET /_sandbox/api-calls``); ``endpoint``
        (``find_member``, ...) keeps that API's only. Each says which headers came, never their token."""
        return self._running_state().stats.api_calls(endpoint)

    def last_api_call(self) -> ApiCall:
        """The latest API call; SandboxError when there was none."""
        calls = self.api_calls()
        if not calls:
            raise SandboxError("The sandbox has seen no API call.")
        return calls[-1]

    def issued_secrets(self) -> IssuedSecrets:
        """Every code, token, client secret and verifier the sandbox issued or received."""
        return self._running_state().store.issued_secrets()

    def sign_access_token(self, claims: Mapping[str, Any]) -> str:
        """Sign arbitrary claims like an access token (for expired/wrong-audience token tests)."""
        return sign_access_token(self._running_state(), claims)

    def _running_state(self) -> SandboxState:
        if self._state is None:
            raise SandboxError("The sandbox has not been started; start() it first.")
        return self._state


def create_app(state: SandboxState) -> Flask:
    """A Flask app serving ``state`` (one app per sandbox, so several can run side by side)."""
    app = Flask(__name__, template_folder=sign_in_views.TEMPLATE_FOLDER)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES, MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES, MAX_FORM_PARTS=MAX_PARAMETERS
    )
    SandboxAuthorizationServer(app, state)
    for module in (oauth_endpoints, sign_in_views, admin_views, api_gate, api_endpoints):
        app.register_blueprint(module.blueprint)
    app.before_request(_limit_parameters)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _limit_parameters() -> Response | None:
    """Refuse oversized or too many parameters before any endpoint (or Authlib) reads them."""
    values = list(request.args.items(multi=True))
    if request.method == "POST" and request.mimetype == FORM_TYPE:
        values += list(request.form.items(multi=True))
    if len(values) > MAX_PARAMETERS:
        return _error_answer(400, f"The request has more than {MAX_PARAMETERS} parameters.")
    if any(len(name) > MAX_PARAMETER_CHARS or len(value) > MAX_PARAMETER_CHARS for name, value in values):
        return _error_answer(400, f"A parameter is longer than {MAX_PARAMETER_CHARS} characters.")
    return None


def _http_error(error: HTTPException) -> Response:
    return _error_answer(error.code or 500, error.description or error.name)


def _unexpected_error(error: Exception) -> Response:
    # Logged without the query string or body: those can hold codes, tokens and secrets.
    log.error("Unexpected error on %s %s", request.method, request.path, exc_info=error)
    return _error_answer(500, "The sandbox hit an unexpected error; see its log.", page=False)


def _error_answer(status: int, description: str, page: bool = True) -> Response:
    if api_gate.is_api_path(request.path):
        return api_gate.http_error_outcome(status, description)
    code = "not_found" if status == 404 else "server_error" if status >= 500 else "invalid_request"
    if request.path == "/authorize" and page:
        return sign_in_views.error_html(status, code, description)
    return oauth_error(status, code, description)


def _not_ready(environ: Any, start_response: Any) -> list[bytes]:
    # Never served: the real app replaces it before the serving thread starts.
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def redact_query(text: str) -> str:
    """Replace every ``?query`` in ``text`` with ``?...``."""
    return _QUERY.sub("?...", text)


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, logging method, path and status only (its own error lines, e.g. a
    malformed request line, without their query strings)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = getattr(self, "path", None)
        http_log.info(
            "%s %s %s %s",
            self.address_string(),
            getattr(self, "command", "-"),
            urlsplit(path).path if path else "-",
            code,
        )

    def log(self, type: str, message: str, *args: Any) -> None:
        level = {"warning": logging.WARNING, "error": logging.ERROR}.get(type, logging.INFO)
        http_log.log(level, "%s %s", self.address_string(), redact_query(message % args if args else message))
