"""Fixtures of the portal's tests: a sandbox client registered with a loopback redirect URI at a
non-root path, the fleet's key, and the portal served by cheroot on a free port."""

import pytest

from healthcode_auth import HealthcodeConfig
from healthcode_auth.storage.key_sources import new_random_key
from healthcode_sandbox import Client
from portal.portal_helpers import CLIENT_ID, Browser, portal_base, running_portal


@pytest.fixture
def fleet_key(monkeypatch):
    key = new_random_key()
    monkeypatch.setenv("HEALTHCODE_CACHE_KEY", key)
    return key


@pytest.fixture
def redirect_uri(unused_port):
    return f"http://127.0.0.1:{unused_port}/bots/postauth"


@pytest.fixture
def make_config(sandbox, redirect_uri, fleet_key, tmp_path):
    """The portal's settings, as the robots have them; the redirect URI registered at the sandbox."""
    registered = set()

    def make(uri=redirect_uri, client_id=CLIENT_ID, **settings):
        if client_id not in registered:
            sandbox.add_client(Client(client_id, (uri,), name="Practice robots"))
            registered.add(client_id)
        settings.setdefault("supervisors", ("supervisor",))
        settings.setdefault("client_name", "Practice robots")
        settings.setdefault("token_cache", str(tmp_path / "cache" / "tokens.json"))
        return HealthcodeConfig(client_id=client_id, redirect_uri=uri, environment=sandbox.discovery_url, **settings)

    return make


@pytest.fixture
def config(make_config):
    return make_config()


@pytest.fixture
def portal(config, unused_port):
    with running_portal(config, unused_port) as server:
        yield server


@pytest.fixture
def browser(portal, redirect_uri):
    return Browser(portal_base(redirect_uri))
