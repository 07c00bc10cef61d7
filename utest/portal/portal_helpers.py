"""The portal served by cheroot in a thread, and a supervisor's browser (a requests session) that uses it."""

import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from healthcode_auth import HealthcodeConfig
from healthcode_auth.session import HealthcodeSession
from healthcode_portal.app import create_app
from healthcode_portal.portal_server import PortalServer
from healthcode_portal.sign_in_cookie import COOKIE_PREFIX
from healthcode_sandbox import Supervisor

CLIENT_ID = "portal_rpa_app"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def running_portal(config: HealthcodeConfig, port: int, *, any_account: bool = False, **server_options):
    """The portal for ``config`` on 127.0.0.1:``port`` until the block ends."""
    app = create_app(config, any_account=any_account)
    server = PortalServer(app, "127.0.0.1", port, **{"threads": 8, **server_options})
    server.start()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(10)


@dataclass
class Visit:
    """What one supervisor's browser went through: the SSO's URL, the callback URL, the cookie it held."""

    authorize_url: str = ""
    callback_url: str = ""
    sign_in_cookie: str | None = None
    cookie_name: str | None = None  # named from a digest of the sign-in's state


class Browser:
    """A supervisor's browser on the portal at ``base`` (``http://127.0.0.1:PORT/bots/``)."""

    def __init__(self, base: str, verify=True):
        self.base = base
        self.http = requests.Session()
        self.http.verify = verify
        self.http.trust_env = False  # no proxy or CA bundle from the environment: the portal is on loopback

    def get(self, path: str, **options):
        options.setdefault("allow_redirects", False)
        return self.http.get(self.base + path, timeout=30, **options)

    def csrf(self, path: str = "") -> str:
        page = self.get(path)
        assert page.status_code == 200, page.text
        return CSRF.search(page.text).group(1)

    def authorise(self) -> Visit:
        """Press "Authorise the robots": the SSO's authorization URL, the sign-in cookie set."""
        answer = self.http.post(
            self.base + "authorise", data={"csrf_token": self.csrf()}, allow_redirects=False, timeout=30
        )
        assert answer.status_code == 303, answer.text
        name = next(
            c.split("=", 1)[0]
            for c in answer.raw.headers.getlist("Set-Cookie")
            if c.startswith(COOKIE_PREFIX) and "Max-Age=600" in c
        )
        return Visit(
            authorize_url=answer.headers["Location"], sign_in_cookie=self.http.cookies.get(name), cookie_name=name
        )

    def sign_in_at_sso(self, supervisor: Supervisor | None = None) -> Visit:
        visit = self.authorise()
        visit.callback_url = (supervisor or Supervisor()).sign_in(visit.authorize_url)
        return visit

    def callback(self, url: str, **options):
        options.setdefault("allow_redirects", False)
        return self.http.get(url, timeout=60, **options)


def sign_in_cookies(browser: Browser) -> dict[str, str]:
    """The pending sign-ins' cookies the browser holds."""
    return {c.name: c.value for c in browser.http.cookies if c.name.startswith(COOKIE_PREFIX)}


def portal_base(redirect_uri: str) -> str:
    parts = urlsplit(redirect_uri)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/', 1)[0]}/"


def store_session(config: HealthcodeConfig) -> HealthcodeSession:
    """A session on the portal's token store, as a robot would have: what is stored, what is recorded."""
    return HealthcodeSession.from_config(config)


def stored_entry(config: HealthcodeConfig):
    session = store_session(config)
    return session.store.load(session.key)


def events(config: HealthcodeConfig, limit: int = 50):
    return [event.fields for event in store_session(config).history(limit)]


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
