"""One robot of a parallel run, for multiprocessing tests: waits for the others, then asks for the token."""

from healthcode_auth import HealthcodeConfig
from healthcode_auth.session import HealthcodeSession
from sandbox_clients import REDIRECT


def get_token(discovery_url, cache_path, barrier, results):
    config = HealthcodeConfig(
        client_id="example_rpa_app", redirect_uri=REDIRECT, environment=discovery_url, token_cache=cache_path
    )
    session = HealthcodeSession.from_config(config)
    barrier.wait(timeout=30)
    results.put(session.access_token().access_token)
