"""The token in Python, without Robot: `Get Healthcode Access Token` with a valid token in the
cache, timed call by call against a dict lookup (20,000 calls, the median), and the code exchange
against the sandbox over loopback, against a bare httpx POST of the same form (rounds interleaved,
medians)."""

from __future__ import annotations

import time

from common import REDIRECT, Bench, Row, median, per_call_ns, sign_in_to_cache, sso_requests

NAME = "token"
POSITION = 10


def measure(bench: Bench) -> list[Row]:
    return [cached_token(bench, 20_000), exchange(bench, bench.rounds * 10)]


def cached_token(bench: Bench, calls: int) -> Row:
    sandbox = bench.sandbox
    cache = bench.folder("cached-call") / "tokens.json"
    sign_in_to_cache(sandbox, cache)
    from HealthcodeLibrary import HealthcodeLibrary

    library = HealthcodeLibrary(
        client_id="example_rpa_app", redirect_uri=REDIRECT, environment=sandbox.discovery_url, token_cache=str(cache)
    )
    library.get_healthcode_access_token()  # first call reads the cache file
    sandbox.reset_stats()
    table = {"token": "value"}
    ours = per_call_ns(library.get_healthcode_access_token, calls)
    base = per_call_ns(lambda: table["token"], calls)
    requests = sso_requests(sandbox)
    return Row(
        "`Get Healthcode Access Token`, valid cached token, per call",
        "dict lookup",
        f"{ours / 1000:.1f} µs",
        f"{base / 1000:.2f} µs",
        ours / base,
        "< 1 ms, 0 requests",
        ours < 1_000_000 and requests == 0,
        f"{requests} network requests in {calls} calls",
    )


def exchange(bench: Bench, rounds: int) -> Row:
    import httpx

    from healthcode_auth import HealthcodeAuthClient, HealthcodeConfig, parse_redirect
    from healthcode_auth.protocol.token_endpoint import ClientAuthentication, authorization_code_request
    from healthcode_sandbox import Supervisor

    sandbox = bench.sandbox
    config = HealthcodeConfig(client_id="example_rpa_app", redirect_uri=REDIRECT, environment=sandbox.discovery_url)
    client = HealthcodeAuthClient(config)
    plain = httpx.Client(timeout=30)

    def fresh_grant():
        request = client.start_sign_in()
        return parse_redirect(Supervisor().sign_in(request.url), request)

    client.exchange_code(fresh_grant())  # warm: connection, JWKS
    plain.post(config.discovery_url.replace("/.well-known/openid-configuration", "/token"), data={})
    ours, base = [], []
    for _ in range(rounds):
        grant = fresh_grant()
        start = time.perf_counter()
        client.exchange_code(grant)
        ours.append(time.perf_counter() - start)
        grant = fresh_grant()
        form = dict(
            authorization_code_request(
                client.metadata.token_endpoint,
                ClientAuthentication(config.client_id),
                code=grant.code,
                redirect_uri=grant.request.redirect_uri,
                code_verifier=grant.request.code_verifier,
            ).form
        )
        start = time.perf_counter()
        response = plain.post(client.metadata.token_endpoint, data=form, headers={"Accept": "application/json"})
        response.json()["access_token"]
        base.append(time.perf_counter() - start)
    client.close()
    plain.close()
    o, b = median(ours) * 1000, median(base) * 1000
    return Row(
        "code exchange against the sandbox",
        "minimal httpx POST of the same form",
        f"{o:.2f} ms",
        f"{b:.2f} ms",
        o / b,
        "≤ 1.10x",
        o / b <= 1.10,
        f"ours also verifies the JWT signature, issuer and expiry (RS256, JWKS cached); {rounds} rounds",
    )
