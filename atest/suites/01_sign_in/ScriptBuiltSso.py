"""A slow SSO whose sign-in page is built by script, for ``unattended_sign_in.robot`` (and an SSO
whose page sends the browser back without a redirect, for ``code_injection.robot``).

The sandbox renders its sign-in form on the server. Many SSOs build theirs in the browser, late,
and some send a supervisor they remember on from a page that shows a form while a slow script
loads. This is the smallest SSO that does either: a discovery document naming itself, and an
authorization endpoint whose page is, by ``mode``:

- ``late form``: "Loading..." at first (nothing to fill in), and a sign-in form its script builds
  once a slow request for its settings has answered, seconds later;
- ``slow redirect``: a sign-in form, and a script that asks, in a slow request, whether the
  supervisor is remembered, and then sends the browser back to the redirect URI (with
  ``access_denied``: this SSO issues no codes), as an SSO that remembers the supervisor may;
- ``form back``: a page whose form (button ``back``, for the suite to click) goes back to the
  redirect URI with ``access_denied``, as a "cancel" on an SSO's page may;
- ``refresh back``: a page whose meta refresh goes back to the redirect URI with ``access_denied``.

It issues no code and no token: the suite checks only how the wait on its page ends.
"""

from __future__ import annotations

import html
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from robot.api.deco import keyword, library

FORM = (
    "<form method='post'><label>Username <input name='username'></label>"
    "<label>Password <input name='password' type='password'></label><button>Sign in</button></form>"
)
LATE_FORM = (
    "<!doctype html><html><head><title>Sign in</title></head><body><main id='app'><p>Loading...</p></main>"
    "<script>fetch('/settings').then((answer) => answer.text()).then(() => {{ "
    "document.getElementById('app').innerHTML = {form}; }});</script></body></html>"
)
SLOW_REDIRECT = (
    "<!doctype html><html><head><title>Sign in</title></head><body>{form}"
    "<script>fetch('/session' + location.search).then((answer) => answer.json())"
    ".then((session) => location.replace(session.back));</script></body></html>"
)
FORM_BACK = (
    "<!doctype html><html><head><title>Sign in</title></head><body><form action='{action}'>{fields}"
    "<button id='back'>Cancel</button></form></body></html>"
)
REFRESH_BACK = (
    "<!doctype html><html><head><title>Sign in</title><meta http-equiv='refresh' content='0;url={url}'>"
    "</head><body><p>Going back...</p></body></html>"
)
SLOW_SECONDS = {"/settings": 2.5, "/session": 4.0}
MODES = ("late form", "slow redirect", "form back", "refresh back")


def back(query: str, issuer: str) -> dict[str, str]:
    """The answer to send back to the authorization request's redirect URI: access_denied."""
    request = {k: v[0] for k, v in parse_qs(query).items()}
    return {
        "error": "access_denied",
        "error_description": "this SSO issues no codes",
        "state": request["state"],
        "iss": issuer,
    }


@library(scope="SUITE")
class ScriptBuiltSso:
    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self.mode = "late form"

    @keyword
    def start_script_built_sso(self) -> str:
        """Starts the SSO on a free loopback port; returns its issuer URL (its environment)."""
        sso = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                time.sleep(SLOW_SECONDS.get(url.path, 0))
                issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
                if url.path == "/.well-known/openid-configuration":
                    self._answer(
                        "application/json",
                        json.dumps(
                            {
                                "issuer": issuer,
                                "authorization_endpoint": f"{issuer}/authorize",
                                "token_endpoint": f"{issuer}/token",
                                "response_types_supported": ["code"],
                                "code_challenge_methods_supported": ["S256"],
                            }
                        ),
                    )
                elif url.path == "/authorize" and sso.mode == "late form":
                    self._answer("text/html", LATE_FORM.format(form=json.dumps(FORM)))
                elif url.path == "/authorize" and sso.mode == "form back":
                    fields = "".join(
                        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
                        for k, v in back(url.query, issuer).items()
                    )
                    action = html.escape(parse_qs(url.query)["redirect_uri"][0])
                    self._answer("text/html", FORM_BACK.format(action=action, fields=fields))
                elif url.path == "/authorize" and sso.mode == "refresh back":
                    target = parse_qs(url.query)["redirect_uri"][0] + "?" + urlencode(back(url.query, issuer))
                    self._answer("text/html", REFRESH_BACK.format(url=html.escape(target)))
                elif url.path == "/authorize":
                    self._answer("text/html", SLOW_REDIRECT.format(form=FORM, query=url.query))
                elif url.path == "/session":
                    target = parse_qs(url.query)["redirect_uri"][0] + "?" + urlencode(back(url.query, issuer))
                    self._answer("application/json", json.dumps({"back": target}))
                else:
                    self._answer("application/json", "{}", status=200 if url.path == "/settings" else 404)

            def _answer(self, kind: str, body: str, status: int = 200) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @keyword
    def set_script_built_sso_mode(self, mode: str) -> None:
        """One of ``MODES`` (see the module's documentation)."""
        if mode not in MODES:
            raise ValueError(f"Unknown mode '{mode}': use one of {', '.join(MODES)}.")
        self.mode = mode

    @keyword
    def stop_script_built_sso(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
