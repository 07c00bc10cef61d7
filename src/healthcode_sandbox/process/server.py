"""``Sandbox``: one Healthcode SSO emulator on a real WSGI server in a background thread.

Use it as a context manager (``with Sandbox() as sb:``) or call ``start()``/``stop()``. The
methods below the lifecycle are the Python side of the admin API: tests in the same process
turn knobs and read counters directly; other processes use ``/_sandbox/*``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from ..api_side.api_catalogue import DOCUMENT_PATH
from ..faults import Faults
from ..oauth.access_tokens_issued import sign_access_token
from ..oauth.memory_store import IssuedSecrets
from ..oauth.sandbox_state import SandboxState
from ..request_stats import ApiCall
from ..sandbox_errors import SandboxConfigurationError, SandboxError, StartError
from ..settings import Client, SandboxSettings
from .flask_app import create_app
from .request_log import RedactingRequestHandler

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
POLL_INTERVAL = 0.01  # how long stop() may wait for the serving loop to notice


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

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind (port 0 = a free port), build the app and serve in a daemon thread."""
        if self._server is not None:
            raise SandboxError("This sandbox is already running; stop() it first.")
        if self.settings.allow_remote:
            # Authlib refuses plain http unless it is loopback; remote use is the caller's choice.
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
        _quiet_authlib_debug_logs()
        try:
            server = make_server(
                self.settings.host,
                self.settings.port,
                _not_ready,
                threaded=True,
                request_handler=RedactingRequestHandler,
                ssl_context=self.settings.tls,
            )
        except SystemExit as error:  # werkzeug exits instead of raising when it cannot bind
            raise StartError(
                f"Cannot listen on {self.settings.host}:{self.settings.port}; is the port in use? "
                "Use port 0 for a free port."
            ) from error
        host = self.settings.host
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
        """Stop serving and free the port (idempotent)."""
        server, thread, state = self._server, self._thread, self._state
        if server is None:
            return
        if state is not None:
            state.stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- where it is ----------------------------------------------------------------------------

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
        return self.url + DOCUMENT_PATH

    @property
    def port(self) -> int:
        if self._server is None:
            raise SandboxError("The sandbox is not running; start() it first.")
        return int(self._server.port)

    # -- run-time knobs (also POST /_sandbox/faults) --------------------------------------------

    @property
    def faults(self) -> Faults:
        """The knob values now."""
        return self._running_state().faults.current

    def set_faults(self, **changes: Any) -> Faults:
        """Change knobs by name, e.g. ``set_faults(token_failures=2, failure_status=500)``."""
        return self._running_state().faults.update(changes)

    def update_faults(self, changes: Mapping[str, Any]) -> Faults:
        """Like :meth:`set_faults`, from a mapping (the admin API's JSON)."""
        return self._running_state().faults.update(changes)

    def reset_faults(self) -> Faults:
        """Every knob back to its start value."""
        return self._running_state().faults.reset()

    def fail_token_requests(self, count: int, status: int | None = None) -> None:
        """The next ``count`` /token requests answer 5xx (``status``, else ``failure_status``, 503)."""
        self.set_faults(token_failures=count, **_status(status))

    def reject_token_requests(self, count: int) -> None:
        """The next ``count`` /token requests answer ``invalid_grant``."""
        self.set_faults(token_invalid_grant=count)

    def delay_token_requests(self, seconds: float) -> None:
        self.set_faults(token_delay=float(seconds))

    def set_token_lifetime(self, seconds: int) -> None:
        """Access tokens issued from now on live ``seconds`` (``expires_in`` and ``exp``)."""
        self.set_faults(token_lifetime=seconds)

    def issue_refresh_tokens(self, issue: bool = True) -> None:
        """While on, token responses carry a (rotating) refresh token and discovery lists the grant.

        Off by default, as Healthcode documents; tests of renewal turn it on.
        """
        self.set_faults(refresh_tokens=issue)

    def deny_sign_in(self, deny: bool = True) -> None:
        """While on, /authorize redirects with ``access_denied`` without showing the form."""
        self.set_faults(deny_sign_in=deny)

    def fail_discovery(self, count: int, status: int | None = None) -> None:
        """The next ``count`` discovery requests answer 5xx (``failure_status`` is shared)."""
        self.set_faults(discovery_failures=count, **_status(status))

    def fail_jwks(self, count: int, status: int | None = None) -> None:
        """The next ``count`` JWKS requests answer 5xx (``failure_status`` is shared)."""
        self.set_faults(jwks_failures=count, **_status(status))

    # -- the API side's knobs --------------------------------------------------------------------

    def move_api(self, count: int = 1, status: int | None = None) -> None:
        """The next ``count`` ``/api/v1`` calls answer a redirect (``status``, else ``api_moved_status``,
        301) to the same API under ``/api/v2-moved``."""
        self.set_faults(api_moved=count, **({} if status is None else {"api_moved_status": status}))

    def move_api_permanently(self, moved: bool = True) -> None:
        """While on, the API discovery document names ``/api/v2-moved`` and ``/api/v1`` answers 404."""
        self.set_faults(api_moved_permanently=moved)

    def redirect_api_elsewhere(self, url: str, status: int | None = None) -> None:
        """The next API call is redirected to ``url`` (verbatim), e.g. a test's own server."""
        self.set_faults(api_redirect_elsewhere=url, **({} if status is None else {"api_moved_status": status}))

    def fail_api_requests(self, count: int, status: int | None = None) -> None:
        """The next ``count`` API calls answer 5xx (``failure_status`` is shared) with a fatal outcome."""
        self.set_faults(api_failures=count, **_status(status))

    def refuse_api_requests(self, count: int) -> None:
        """The next ``count`` API calls answer 422 with an ``OperationOutcome`` error."""
        self.set_faults(api_outcome_error=count)

    def fail_api_discovery(self, count: int, status: int | None = None) -> None:
        """The next ``count`` API discovery document requests answer 5xx (``failure_status`` is shared)."""
        self.set_faults(api_discovery_failures=count, **_status(status))

    def delay_api_requests(self, seconds: float) -> None:
        """Every API call waits ``seconds`` before answering."""
        self.set_faults(api_delay=float(seconds))

    # -- signing keys ---------------------------------------------------------------------------

    def rotate_keys(self, keep_old: bool = True) -> str:
        """Sign new tokens with a new key; returns its ``kid``. See :meth:`SigningKeys.rotate`."""
        return self._running_state().keys.rotate(keep_old=keep_old)

    @property
    def signing_kid(self) -> str:
        return self._running_state().keys.current_kid

    # -- registrations --------------------------------------------------------------------------

    def add_client(self, client: Client) -> None:
        """Register (or replace) a client while running."""
        self._running_state().store.add_client(client)

    # -- observations (also GET /_sandbox/stats and /_sandbox/issued-secrets) --------------------

    def stats(self) -> dict[str, int]:
        """Requests per endpoint name so far (``discovery``, ``jwks``, ``token.refresh_token``...)."""
        return self._running_state().stats.snapshot()

    def request_count(self, name: str) -> int:
        """Requests counted under ``name``; 0 when there were none."""
        return self._running_state().stats.get(name)

    def reset_stats(self) -> None:
        """Forget the counters and the recorded API calls."""
        self._running_state().stats.reset()

    def api_calls(self, endpoint: str | None = None) -> list[ApiCall]:
        """The API calls so far, oldest first (also ``GET /_sandbox/api-calls``); ``endpoint``
        (``find_member``, ...) keeps that API's only. Each says which headers came, never their token."""
        calls = self._running_state().stats.api_calls()
        return [call for call in calls if endpoint is None or call.endpoint == endpoint]

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
        # After stop() the last run's state stays readable (URL, counters, issued secrets).
        if self._state is None:
            raise SandboxError("The sandbox has not been started; start() it first.")
        return self._state


def _status(status: int | None) -> dict[str, int]:
    return {} if status is None else {"failure_status": status}


def _not_ready(environ: Any, start_response: Any) -> list[bytes]:
    # Never served: the real app replaces it before the serving thread starts.
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def _quiet_authlib_debug_logs() -> None:
    # Authlib logs whole token responses at DEBUG; a suite running with DEBUG logs must not
    # write them to its output.
    authlib_log = logging.getLogger("authlib")
    if authlib_log.level == logging.NOTSET or authlib_log.level < logging.INFO:
        authlib_log.setLevel(logging.INFO)
