"""Fixtures for the core's unit tests: a configuration and metadata for a local fake SSO."""

import pytest

from fake_sso import discovery_document
from healthcode_auth import HealthcodeConfig
from healthcode_auth.client import DiscoveryCache
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
    return HealthcodeConfig(client_id="example_rpa_app", redirect_uri=REDIRECT_URI,
                            environment=f"{issuer}/.well-known/openid-configuration")


@pytest.fixture
def fresh_discovery():
    return DiscoveryCache()

