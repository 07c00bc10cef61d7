"""Fixtures for the core's unit tests: a configuration and metadata for a local fake SSO, and a local
server with Healthcode's API side."""

import re
import time

import pytest

from fake_sso import discovery_document
from healthcode_auth import HealthcodeConfig
from healthcode_auth.protocol.provider_metadata import parse_metadata

REDIRECT_URI = "https://rpaapp.example.com/postauth"


@pytest.fixture
def issuer():
    return "https://sso.example.test"


@pytest.fixture
def metadata(issuer):
    return parse_metadata(discovery_document(issuer), f"{issuer}/.well-known/openid-configuration")


@pytest.fixture
def config(issuer):
    return HealthcodeConfig(
        client_id="example_rpa_app", redirect_uri=REDIRECT_URI, environment=f"{issuer}/.well-known/openid-configuration"
    )


# --- Healthcode's APIs: a local server with an API discovery document, and a signed-in session ---------------

API_TOKEN = "API-TEST-ACCESS-TOKEN-0123456789"


class ApiServer:
    """pytest-httpserver as Healthcode's API side: its API discovery document at the well-known
    address, and a bot's session (a valid token in a memory store) whose environment is this server."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.base = httpserver.url_for("/").rstrip("/")
        self.discovery_url = f"{self.base}/.well-known/discovery-document.json"
        self.sessions = []
        self.token = API_TOKEN

    def endpoints(self, **names):
        """Serve a discovery document naming ``names`` (``find_member="/api/v1/find-member"``), paths on this server."""
        document = {f"{name}_endpoint": f"{self.base}{path}" for name, path in names.items()}
        self.server.expect_request("/.well-known/discovery-document.json").respond_with_json(document)
        return document

    def discovery_fetches(self):
        return sum(1 for request, _ in self.server.log if request.path == "/.well-known/discovery-document.json")

    def requests_to(self, path):
        return [request for request, _ in self.server.log if request.path == path]

    def session(self, store=None, **settings):
        from healthcode_auth.protocol.token import Token
        from healthcode_auth.session import HealthcodeSession
        from healthcode_auth.storage.store import StoredAuthorisation
        from memory_store import MemoryTokenStore

        settings = {"site_id": "HC00ABC", "timeout": 5, "token_cache": "off", **settings}
        config = HealthcodeConfig(
            client_id="example_rpa_app",
            redirect_uri=REDIRECT_URI,
            environment=f"{self.base}/.well-known/openid-configuration",
            **settings,
        )
        store = MemoryTokenStore() if store is None else store
        if store.load(f"{config.discovery_url}#{config.client_id}") is None:
            token = Token(access_token=API_TOKEN, expires_at=time.time() + 86400, issued_at=time.time())
            store.store(StoredAuthorisation(config.discovery_url, config.client_id, token), None)
        session = HealthcodeSession(config, store=store)
        self.sessions.append(session)
        return session

    def close(self):
        for session in self.sessions:
            if session._client is not None:
                session._client.close()


@pytest.fixture
def api_server(httpserver):
    server = ApiServer(httpserver)
    yield server
    server.close()


@pytest.fixture
def elsewhere():
    """A second server on another origin: it must never receive the token, the site id or the version."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    server.expect_request(re.compile(r".*")).respond_with_data("elsewhere")
    yield server
    server.clear()
    if server.is_running():
        server.stop()
