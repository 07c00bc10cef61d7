"""Configurations and sessions of healthcode_auth clients for a running sandbox, shared by test folders."""

from healthcode_auth import HealthcodeConfig, Token
from healthcode_auth.session import HealthcodeSession
from healthcode_sandbox import Sandbox, Supervisor

REDIRECT = "https://rpaapp.example.com/postauth"
AWKWARD_SECRET = "a:b/c+d&e=f%g h"  # RFC 6749 2.3.1 makes each of these special in Basic auth; the space too


def config_for(sandbox: Sandbox, **settings) -> HealthcodeConfig:
    settings.setdefault("client_id", "example_rpa_app")
    settings.setdefault("redirect_uri", REDIRECT)
    return HealthcodeConfig(environment=sandbox.discovery_url, **settings)


def new_session(sandbox: Sandbox, cache, **settings) -> HealthcodeSession:
    """A session on the token cache ``cache`` (a path or a store URL), as in a new process: nothing remembered."""
    return HealthcodeSession.from_config(config_for(sandbox, token_cache=str(cache), **settings))


def sign_in(session: HealthcodeSession) -> Token:
    """The supervisor signs in through the sandbox's page; the session's access token."""
    request = session.start_sign_in()
    session.accept_redirect(Supervisor().sign_in(request.url))
    return session.access_token()
