"""Configurations of healthcode_auth clients for a running sandbox, shared by test folders."""

from healthcode_auth import HealthcodeConfig
from healthcode_sandbox import Sandbox

REDIRECT = "https://rpaapp.example.com/postauth"
AWKWARD_SECRET = "a:b/c+d&e=f%g h"


def config_for(sandbox: Sandbox, **settings) -> HealthcodeConfig:
    settings.setdefault("client_id", "example_rpa_app")
    settings.setdefault("redirect_uri", REDIRECT)
    return HealthcodeConfig(environment=sandbox.discovery_url, **settings)
