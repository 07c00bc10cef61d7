"""What users meet when the SSO or the network misbehaves: each fault ends in its documented outcome."""

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trustme

from healthcode_auth import (
    DiscoveryError,
    HealthcodeAuthClient,
    HealthcodeConfig,
    InvalidGrantError,
    TokenRequestError,
    TransportError,
)
from healthcode_auth.session import HealthcodeSession
from healthcode_sandbox import Sandbox, SandboxSettings, Supervisor
from sandbox_clients import config_for


def client_for(sandbox, **settings):
    return HealthcodeAuthClient(config_for(sandbox, **settings))


def signed_in(client):
    sign_in = client.start_sign_in()
    return client.complete_sign_in(sign_in, Supervisor().sign_in(sign_in.url))


def test_slow_token_endpoint_times_out_and_is_not_resent(sandbox):
    client = client_for(sandbox, timeout=1)
    sign_in = client.start_sign_in()
    redirect = Supervisor().sign_in(sign_in.url)
    sandbox.set_faults(token_delay=4)
    started = time.monotonic()
    with pytest.raises(TransportError, match=r"did not answer within 1 seconds.*supervisor must sign in again"):
        client.complete_sign_in(sign_in, redirect)
    assert time.monotonic() - started < 3.5  # bounded by the timeout, not by the server
    assert sandbox.request_count("token") == 1


def test_discovery_5xx_twice_then_success(sandbox):
    sandbox.set_faults(discovery_failures=2)
    assert client_for(sandbox).metadata.issuer == sandbox.issuer
    assert sandbox.request_count("discovery") == 3


def test_discovery_down_is_reported_after_bounded_retries(sandbox):
    sandbox.set_faults(discovery_failures=10)
    with pytest.raises(DiscoveryError, match="answered HTTP 503.*try again later"):
        client_for(sandbox).metadata  # noqa: B018
    assert sandbox.request_count("discovery") == 3


def test_token_endpoint_5xx_on_exchange_asks_for_a_new_sign_in(sandbox):
    client = client_for(sandbox)
    sign_in = client.start_sign_in()
    redirect = Supervisor().sign_in(sign_in.url)
    sandbox.set_faults(token_failures=1, failure_status=500)
    with pytest.raises(TokenRequestError, match="HTTP 500.*cannot be safely sent again"):
        client.complete_sign_in(sign_in, redirect)
    assert sandbox.request_count("token") == 1


def test_forced_invalid_grant(sandbox):
    client = client_for(sandbox)
    sign_in = client.start_sign_in()
    redirect = Supervisor().sign_in(sign_in.url)
    sandbox.set_faults(token_invalid_grant=1)
    with pytest.raises(InvalidGrantError, match="sign in again"):
        client.complete_sign_in(sign_in, redirect)


def test_connection_refused_when_the_sso_is_gone():
    sandbox = Sandbox(SandboxSettings()).start()
    config = config_for(sandbox)
    sandbox.stop()
    with pytest.raises(TransportError, match="Could not connect to the discovery document"):
        HealthcodeAuthClient(config).metadata  # noqa: B018


def test_dns_failure_is_named():
    config = HealthcodeConfig(
        client_id="c",
        redirect_uri="https://bot.example/cb",
        environment="https://sso.invalid/.well-known/openid-configuration",
        timeout=5,
    )
    with pytest.raises(TransportError, match="Could not connect") as caught:
        HealthcodeAuthClient(config).metadata  # noqa: B018
    assert "Traceback" not in str(caught.value)


def test_key_rotation_is_followed(sandbox):
    client = client_for(sandbox)
    signed_in(client)
    sandbox.rotate_keys(keep_old=False)
    token = signed_in(client)
    assert client.claims(token)["sub"] == "supervisor"
    assert sandbox.request_count("jwks") == 2


def test_discovery_down_while_a_valid_token_is_cached(sandbox, tmp_path):
    config = config_for(sandbox, token_cache=str(tmp_path / "tokens.json"))
    first = HealthcodeSession.from_config(config)
    request = first.start_sign_in()
    first.accept_redirect(Supervisor().sign_in(request.url))
    token = first.access_token()
    sandbox.set_faults(discovery_failures=100)
    sandbox.set_faults(jwks_failures=100)
    assert HealthcodeSession.from_config(config).access_token().access_token == token.access_token


@pytest.mark.refresh_tokens
def test_renewal_during_an_outage_keeps_the_cached_entry(sandbox, tmp_path):
    sandbox.set_faults(token_lifetime=60)
    config = config_for(sandbox, token_cache=str(tmp_path / "tokens.json"))
    session = HealthcodeSession.from_config(config)
    request = session.start_sign_in()
    session.accept_redirect(Supervisor().sign_in(request.url))
    session.access_token()
    sandbox.set_faults(token_failures=1)
    with pytest.raises(TokenRequestError, match="HTTP 503.*Try again later"):
        HealthcodeSession.from_config(config).access_token()
    later = HealthcodeSession.from_config(config)
    assert later.store.load(later.key) is not None, "an outage must not lose the cached authorisation"
    assert later.access_token().refresh_token  # renewed once the SSO is back


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def tls_sandbox(ca):
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    with Sandbox(SandboxSettings(tls=server_context)) as sandbox:
        yield sandbox


def test_tls_with_the_ca_bundle(tls_sandbox, ca, tmp_path):
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    client = client_for(tls_sandbox, ca_bundle=str(bundle))
    assert tls_sandbox.url.startswith("https://")
    sign_in = client.start_sign_in()
    token = client.complete_sign_in(sign_in, Supervisor(ca_bundle=str(bundle)).sign_in(sign_in.url))
    assert client.claims(token)["sub"] == "supervisor"


def test_untrusted_certificate_is_refused(tls_sandbox):
    with pytest.raises(TransportError, match="TLS certificate is not trusted"):
        client_for(tls_sandbox).metadata  # noqa: B018


def bare_environment(**variables: str) -> dict[str, str]:
    """Only ``variables``, plus what a Python child needs to start at all on Windows (SYSTEMROOT)."""
    essentials = {name: os.environ[name] for name in ("SYSTEMROOT",) if name in os.environ}
    return {"PATH": os.defpath, **essentials, **variables}


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="truststore reads SSL_CERT_FILE only on Linux "
    "(OpenSSL); on Windows and macOS it asks the OS's own certificate store",
)
def test_os_trust_store_is_used_by_default(tls_sandbox, ca, tmp_path):
    """truststore verifies against the OS store; OpenSSL's SSL_CERT_FILE stands in for an installed CA."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    code = (
        "import sys; from healthcode_auth import HealthcodeConfig, HealthcodeAuthClient;"
        "c = HealthcodeConfig(client_id='c', redirect_uri='https://bot.example/cb', environment=sys.argv[1]);"
        "print(HealthcodeAuthClient(c).metadata.issuer)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, tls_sandbox.discovery_url],
        capture_output=True,
        text=True,
        env=bare_environment(SSL_CERT_FILE=str(bundle)),
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == tls_sandbox.issuer, result.stderr


@pytest.fixture
def proxy():
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parents[1] / "proxy_server.py")], stdout=subprocess.PIPE, text=True
    )
    port = int(process.stdout.readline())
    yield process, f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def test_requests_go_through_the_configured_proxy(sandbox, proxy):
    process, url = proxy
    client = client_for(sandbox, proxy=url)
    token = signed_in(client)
    assert client.claims(token)["sub"] == "supervisor"
    process.terminate()
    seen = process.stdout.read()
    assert f"GET {sandbox.url}/.well-known/openid-configuration" in seen
    assert f"POST {sandbox.url}/token" in seen


def test_standard_proxy_variables_are_honoured(sandbox, proxy):
    process, url = proxy
    code = (
        "import sys; from healthcode_auth import HealthcodeConfig, HealthcodeAuthClient;"
        "c = HealthcodeConfig(client_id='c', redirect_uri='https://bot.example/cb', environment=sys.argv[1]);"
        "print(HealthcodeAuthClient(c).metadata.issuer)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, sandbox.discovery_url],
        capture_output=True,
        text=True,
        env=bare_environment(HTTP_PROXY=url),
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == sandbox.issuer, result.stderr
    process.terminate()
    assert "GET " in process.stdout.read()


# --- A timeout is a deadline: servers that answer one byte at a time --------------------------

DEADLINE = 2.0
SLACK = 1.5  # scheduling and teardown on a busy 2-core machine; far below what a trickle would take


@pytest.fixture
def slow_sso():
    from hostile_servers import SlowSso

    sso = SlowSso()
    yield sso
    sso.close()


def due_session(sso, cache_path):
    """A robot whose stored token is due for renewal, against the slow SSO."""
    import time as clock

    from healthcode_auth import Token
    from healthcode_auth.storage.store import StoredAuthorisation

    config = HealthcodeConfig(
        client_id="example_rpa_app",
        redirect_uri="https://rpaapp.example.com/postauth",
        environment=sso.discovery_url,
        timeout=DEADLINE,
        token_cache=str(cache_path),
    )
    session = HealthcodeSession.from_config(config)
    if session.store.load(session.key) is None:
        token = Token(access_token="DUE-ACCESS-TOKEN", expires_at=clock.time() + 10, refresh_token="REFRESH-TOKEN-1")
        document = {
            "issuer": sso.url,
            "authorization_endpoint": f"{sso.url}/authorize",
            "token_endpoint": f"{sso.url}/token",
        }
        session.store.store(StoredAuthorisation(sso.discovery_url, "example_rpa_app", token, discovery=document), None)
    return session


@pytest.mark.parametrize("mode", ["slow_headers", "trickle"])
def test_a_slow_discovery_document_ends_at_the_deadline(slow_sso, mode):
    slow_sso.discovery_mode = mode
    config = HealthcodeConfig(
        client_id="c", redirect_uri="https://bot.example/cb", environment=slow_sso.discovery_url, timeout=DEADLINE
    )
    started = time.monotonic()
    with pytest.raises(TransportError, match="did not answer within 2 seconds"):
        HealthcodeAuthClient(config).metadata  # noqa: B018
    assert time.monotonic() - started < DEADLINE + SLACK


@pytest.mark.parametrize("mode", ["slow_headers", "trickle"])
def test_a_lone_robots_renewal_ends_at_the_deadline(slow_sso, tmp_path, mode):
    slow_sso.token_mode = mode
    session = due_session(slow_sso, tmp_path / "tokens.json")
    started = time.monotonic()
    with pytest.raises(TransportError, match="token endpoint.*did not answer within 2 seconds"):
        session.access_token()
    assert time.monotonic() - started < DEADLINE + SLACK
    assert slow_sso.requests.count("/token") == 1
    assert session.store.load(session.key) is not None  # an outage never loses the authorisation


HOLDER = """
import sys
sys.path[:0] = sys.argv[3:]
from hostile_servers import SlowSso
import test_fault_matrix as matrix
class Sso: pass
sso = Sso(); sso.url = sys.argv[1]; sso.discovery_url = sys.argv[1] + "/.well-known/openid-configuration"
try:
    matrix.due_session(sso, sys.argv[2]).access_token()
except Exception as error:
    print(type(error).__name__)
"""


@pytest.mark.parametrize("mode", ["slow_headers", "trickle"])
def test_a_robot_waiting_on_a_slow_renewal_is_bounded(slow_sso, tmp_path, mode):
    from healthcode_auth.session import renewal_time_bound

    slow_sso.token_mode = mode
    cache = tmp_path / "tokens.json"
    waiter = due_session(slow_sso, cache)
    here = str(Path(__file__).resolve().parent)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, slow_sso.url, str(cache), here, str(Path(here).parent)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while "/token" not in slow_sso.requests:  # the other robot now holds the lock, renewing
            assert time.monotonic() < deadline, "the other robot never started its renewal"
            time.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(TransportError, match="did not answer within 2 seconds"):
            waiter.access_token()
        waited = time.monotonic() - started
    finally:
        assert holder.wait(timeout=60) == 0
    assert holder.stdout.read().strip() == "TransportError"
    assert waited < renewal_time_bound(DEADLINE)  # the bound docs/security.md states
    assert slow_sso.requests.count("/token") == 2  # the holder's, then the waiter's own
