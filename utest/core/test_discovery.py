import pytest

from fake_sso import discovery_document
from healthcode_auth import DiscoveryError, HealthcodeConfig, TransportError
from healthcode_auth.client import HealthcodeAuthClient, fetch_metadata
from healthcode_auth.protocol.provider_metadata import expected_issuer, parse_metadata
from healthcode_auth.transport import HttpTransport

ISSUER = "https://sso.example.test"
URL = f"{ISSUER}/.well-known/openid-configuration"


def test_endpoints_are_looked_up_by_key():
    metadata = parse_metadata(discovery_document(ISSUER, userinfo_endpoint=f"{ISSUER}/me"), URL)
    assert metadata.authorization_endpoint == f"{ISSUER}/authorize"
    assert metadata.token_endpoint == f"{ISSUER}/token"
    assert metadata.jwks_uri == f"{ISSUER}/jwks"
    assert metadata.issuer == ISSUER
    assert metadata.document["userinfo_endpoint"] == f"{ISSUER}/me"
    assert metadata.authorization_response_iss_parameter_supported is True
    assert metadata.to_dict()["issuer"] == ISSUER


@pytest.mark.parametrize(
    ("url", "issuer"),
    [
        ("https://auth.healthcode.co.uk/.well-known/openid-configuration", "https://auth.healthcode.co.uk"),
        ("https://kc.example/realms/rpa/.well-known/openid-configuration", "https://kc.example/realms/rpa"),
        ("https://as.example/.well-known/oauth-authorization-server/tenant1", "https://as.example/tenant1"),
        ("https://as.example/.well-known/oauth-authorization-server", "https://as.example"),
        ("http://127.0.0.1:8765/.well-known/openid-configuration", "http://127.0.0.1:8765"),
    ],
)
def test_expected_issuer_follows_oidc_and_rfc8414(url, issuer):
    assert expected_issuer(url) == issuer


def test_issuer_with_trailing_slash_is_accepted():
    metadata = parse_metadata(discovery_document(ISSUER + "/"), URL)
    assert metadata.issuer == ISSUER + "/"


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (["not", "an", "object"], "not a JSON object"),
        (None, "not a JSON object"),
        (discovery_document("https://evil.example"), "does not match"),
        (discovery_document(ISSUER, issuer=None), "invalid 'issuer'"),
        (discovery_document(ISSUER, issuer=42), "invalid 'issuer'"),
        (discovery_document(ISSUER, token_endpoint=None), "no 'token_endpoint'"),
        (discovery_document(ISSUER, authorization_endpoint=None), "no 'authorization_endpoint'"),
        (discovery_document(ISSUER, token_endpoint="http://sso.example.test/token"), "plain http"),
        (discovery_document(ISSUER, jwks_uri="javascript:alert(1)"), "'jwks_uri'"),
        (discovery_document(ISSUER, authorization_endpoint=["x"]), "'authorization_endpoint'"),
        (discovery_document(ISSUER, code_challenge_methods_supported=["plain"]), "S256"),
        (discovery_document(ISSUER, code_challenge_methods_supported="S256"), "not a list"),
        (discovery_document(ISSUER, authorization_response_iss_parameter_supported="yes"), "non-boolean"),
    ],
)
def test_invalid_documents_are_refused(document, fragment):
    with pytest.raises(DiscoveryError, match=fragment):
        parse_metadata(document, URL)


def test_loopback_http_is_allowed_for_the_sandbox():
    issuer = "http://127.0.0.1:8765"
    metadata = parse_metadata(discovery_document(issuer), f"{issuer}/.well-known/openid-configuration")
    assert metadata.token_endpoint == f"{issuer}/token"


def test_pkce_support_unannounced_is_accepted():
    document = discovery_document(ISSUER, code_challenge_methods_supported=None)
    assert parse_metadata(document, URL).token_endpoint == f"{ISSUER}/token"  # checked when present, not required


def _config(httpserver, **settings):
    return HealthcodeConfig(
        client_id="c",
        redirect_uri="https://bot.example/cb",
        environment=httpserver.url_for("/.well-known/openid-configuration"),
        **settings,
    )


def test_fetched_once_per_client(httpserver):
    issuer = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery_document(issuer))
    with HealthcodeAuthClient(_config(httpserver)) as client:
        first, second = client.metadata, client.metadata
    assert first is second
    assert len(httpserver.log) == 1


def test_metadata_given_to_the_client_is_used_without_a_request(httpserver):
    issuer = httpserver.url_for("").rstrip("/")
    config = _config(httpserver)
    given = parse_metadata(discovery_document(issuer), config.discovery_url)
    with HealthcodeAuthClient(config, metadata=given) as client:
        assert client.metadata is given
    assert len(httpserver.log) == 0


def test_server_error_is_retried_then_reported(httpserver):
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_data("down", status=503)
    config = _config(httpserver)
    with pytest.raises(DiscoveryError, match="HTTP 503"):
        fetch_metadata(config.discovery_urls, HttpTransport(timeout=config.timeout))
    assert len(httpserver.log) == 3


def test_transient_server_error_recovers(httpserver):
    issuer = httpserver.url_for("").rstrip("/")
    httpserver.expect_ordered_request("/.well-known/openid-configuration").respond_with_data("", status=502)
    httpserver.expect_ordered_request("/.well-known/openid-configuration").respond_with_json(discovery_document(issuer))
    config = _config(httpserver)
    assert fetch_metadata(config.discovery_urls, HttpTransport(timeout=config.timeout)).issuer == issuer


def test_not_found_is_not_retried(httpserver):
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_data("nope", status=404)
    config = _config(httpserver)
    with pytest.raises(DiscoveryError, match="HTTP 404.*environment setting"):
        fetch_metadata(config.discovery_urls, HttpTransport(timeout=config.timeout))
    assert len(httpserver.log) == 1


def test_html_instead_of_json(httpserver):
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_data(
        "<html>captive portal</html>", content_type="text/html"
    )
    config = _config(httpserver)
    with pytest.raises(DiscoveryError, match="not a JSON object"):
        fetch_metadata(config.discovery_urls, HttpTransport(timeout=config.timeout))


def test_connection_refused_is_a_clear_transport_error(unused_port):
    config = HealthcodeConfig(
        client_id="c",
        redirect_uri="https://bot.example/cb",
        environment=f"http://127.0.0.1:{unused_port}/.well-known/openid-configuration",
    )
    with pytest.raises(TransportError, match="Could not connect to the discovery document"):
        fetch_metadata(config.discovery_urls, HttpTransport(timeout=config.timeout))


def test_oversized_answer_is_refused(httpserver):
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_data("x" * 1_100_000)
    config = _config(httpserver)
    with pytest.raises(TransportError, match="more than"):
        fetch_metadata(config.discovery_urls, HttpTransport(timeout=config.timeout))


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (
            "https://sso.example",
            (
                "https://sso.example/.well-known/openid-configuration",
                "https://sso.example/.well-known/oauth-authorization-server",
            ),
        ),
        (
            "https://kc.example/realms/rpa/",
            (
                "https://kc.example/realms/rpa/.well-known/openid-configuration",
                "https://kc.example/.well-known/oauth-authorization-server/realms/rpa",
            ),
        ),
        (
            "https://sso.example/.well-known/openid-configuration",
            ("https://sso.example/.well-known/openid-configuration",),
        ),
        ("uat", ("https://auth.uat.healthcode.co.uk/.well-known/openid-configuration",)),
    ],
)
def test_an_issuer_url_gives_the_oidc_then_the_rfc8414_place(environment, expected):
    config = HealthcodeConfig(client_id="c", redirect_uri="https://bot.example/cb", environment=environment)
    assert config.discovery_urls == expected
    assert config.discovery_url == expected[0]


def test_an_issuer_url_finds_the_openid_document(httpserver, caplog):
    issuer = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery_document(issuer))
    config = HealthcodeConfig(client_id="c", redirect_uri="https://bot.example/cb", environment=issuer)
    with caplog.at_level("INFO", logger="healthcode_auth"):
        metadata = fetch_metadata(config.discovery_urls, HttpTransport(timeout=5))
    assert metadata.issuer == issuer
    assert "OpenID Connect Discovery 1.0" in caplog.text


def test_an_issuer_with_a_path_finds_the_rfc8414_document(httpserver, caplog):
    issuer = httpserver.url_for("/tenant1")
    httpserver.expect_request("/tenant1/.well-known/openid-configuration").respond_with_data("", status=404)
    httpserver.expect_request("/.well-known/oauth-authorization-server/tenant1").respond_with_json(
        discovery_document(issuer)
    )
    config = HealthcodeConfig(client_id="c", redirect_uri="https://bot.example/cb", environment=issuer)
    with caplog.at_level("INFO", logger="healthcode_auth"):
        metadata = fetch_metadata(config.discovery_urls, HttpTransport(timeout=5))
    assert metadata.issuer == issuer
    assert metadata.discovery_url.endswith("/.well-known/oauth-authorization-server/tenant1")
    assert "RFC 8414" in caplog.text


def test_when_neither_place_has_a_document_both_are_named(httpserver):
    issuer = httpserver.url_for("/tenant1")
    config = HealthcodeConfig(client_id="c", redirect_uri="https://bot.example/cb", environment=issuer)
    with pytest.raises(DiscoveryError) as caught:
        fetch_metadata(config.discovery_urls, HttpTransport(timeout=5))
    message = str(caught.value)
    assert f"{issuer}/.well-known/openid-configuration answered HTTP 500" in message or "answered HTTP" in message
    for url in config.discovery_urls:
        assert url in message


def _gzip_bomb(expanded: int) -> bytes:
    """A gzip body that inflates to ``expanded`` zero bytes, made without holding them in memory."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1_000_000)
    return b"".join([*(packer.compress(block) for _ in range(expanded // len(block))), packer.flush()])


def test_a_compressed_answer_is_bounded_while_it_is_inflated(httpserver):
    """Issue 17, point 6: a 400 MB gzip bomb answered as the discovery document. Before, httpx
    inflated all of it (370-430 MB) before the 1 MB cap applied; now inflation stops at the cap."""
    import tracemalloc

    bomb = _gzip_bomb(400_000_000)
    assert len(bomb) < 1_000_000
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_data(
        bomb, headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )
    config = _config(httpserver)
    transport = HttpTransport(timeout=config.timeout)
    tracemalloc.start()
    try:
        with pytest.raises(TransportError, match="more than 1000000 bytes"):
            fetch_metadata(config.discovery_urls, transport)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        transport.close()
    assert peak < 20_000_000  # the compressed body and one capped inflation, not hundreds of MB
    assert httpserver.log[0][0].headers.get("Accept-Encoding") == "identity"


def test_a_small_compressed_answer_is_still_read(httpserver):
    import gzip
    import json

    document = discovery_document(httpserver.url_for("").rstrip("/"))
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_data(
        gzip.compress(json.dumps(document).encode()),
        headers={"Content-Encoding": "gzip"},
        content_type="application/json",
    )
    config = _config(httpserver)
    assert fetch_metadata(config.discovery_urls, HttpTransport(timeout=config.timeout)).issuer == document["issuer"]


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br"])
def test_an_encoding_not_asked_for_is_refused_clearly(httpserver, encoding):
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_data(
        b"\x00\x01garbage", headers={"Content-Encoding": encoding}
    )
    config = _config(httpserver)
    with pytest.raises(TransportError, match="content encoding this library does not read"):
        fetch_metadata(config.discovery_urls, HttpTransport(timeout=config.timeout))
