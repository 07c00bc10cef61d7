"""The settings of API calls (site id, API version, API discovery document, the Basic header's user,
logging contents), and two readings of Healthcode's bot page: the Basic header's user and ``expires_in``."""

import base64
import time

import pytest

from fake_sso import sign, signing_key
from healthcode_auth import ConfigurationError, HealthcodeAuthClient, HealthcodeConfig, InvalidSettingsError
from healthcode_auth.api_settings import API_DISCOVERY, api_discovery_url, require_site_id
from healthcode_auth.config import ENV_VARS
from healthcode_auth.errors import MissingSettingError
from healthcode_auth.protocol.token_endpoint import (
    authorization_code_request,
    client_authentication,
    parse_token_response,
)
from healthcode_auth.redaction import REDACTOR

BASE = {"client_id": "example_rpa_app", "redirect_uri": "https://rpaapp.example.com/postauth"}


def make(**overrides):
    return HealthcodeConfig(**{**BASE, **overrides})


def test_defaults():
    config = make()
    assert (config.site_id, config.api_version, config.api_discovery, config.basic_auth_user) == (None, "1", None, None)
    assert config.log_api_content is False


@pytest.mark.parametrize(
    ("environment", "url"),
    [
        ("production", "https://api.healthcode.co.uk/.well-known/discovery-document.json"),
        ("uat", "https://api.uat.healthcode.co.uk/.well-known/discovery-document.json"),
        (" UAT ", "https://api.uat.healthcode.co.uk/.well-known/discovery-document.json"),
        (
            "http://127.0.0.1:8765/.well-known/openid-configuration",
            "http://127.0.0.1:8765/.well-known/discovery-document.json",
        ),
        (
            "https://sso.example.org/realms/x/.well-known/openid-configuration",
            "https://sso.example.org/.well-known/discovery-document.json",
        ),
    ],
)
def test_where_the_api_discovery_document_is(environment, url):
    assert make(environment=environment).api_discovery_url == url
    assert (
        make(environment=environment, api_discovery="https://api.example.org/d.json").api_discovery_url
        == "https://api.example.org/d.json"
    )


def test_production_is_stated_by_healthcode_and_uat_follows_the_ssos_pattern():
    assert API_DISCOVERY["production"] == "https://api.healthcode.co.uk/.well-known/discovery-document.json"
    assert api_discovery_url("uat", None).startswith("https://api.uat.healthcode.co.uk/")


@pytest.mark.parametrize(
    ("settings", "value"),
    [
        ({"site_id": " HC00ABC "}, "HC00ABC"),
        ({"site_id": "hc-12_393"}, "hc-12_393"),
        ({"api_version": 2}, "2"),
        ({"api_version": " 12 "}, "12"),
        ({"api_version": "999"}, "999"),
        ({"log_api_content": "Yes"}, True),
        ({"log_api_content": "off"}, False),
        ({"log_api_content": True}, True),
        ({"api_discovery": " http://localhost:8765/d.json "}, "http://localhost:8765/d.json"),
    ],
)
def test_valid_values_are_normalised(settings, value):
    ((name, _),) = settings.items()
    assert getattr(make(**settings), name) == value


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"site_id": "HC 00ABC"}, "My Account"),
        ({"site_id": "x" * 33}, "1 to 32"),
        ({"site_id": ""}, "such as HC00ABC"),
        ({"site_id": 12393}, "My Account"),
        ({"api_version": "0"}, "1 to 999"),
        ({"api_version": "1.0"}, "whole number"),
        ({"api_version": True}, "1 to 999"),
        ({"api_version": "1000"}, "1 to 999"),
        ({"api_version": "\u0661"}, "whole number"),
        ({"api_discovery": "http://api.example.org/d.json"}, "plain http"),
        ({"api_discovery": "https://bob:pw@api.example.org/d.json"}, "credentials"),
        ({"api_discovery": "d.json"}, "absolute URL"),
        ({"basic_auth_user": "epractice"}, "only with a client_secret"),
        ({"basic_auth_user": " epractice", "client_secret": "s"}, "printable ASCII"),
        ({"basic_auth_user": "caf\u00e9", "client_secret": "s"}, "printable ASCII"),
        ({"log_api_content": "maybe"}, "true or false"),
    ],
)
def test_invalid_values_name_the_setting_its_variable_and_what_to_give(settings, fragment):
    ((name, _), *_) = settings.items()
    with pytest.raises(ConfigurationError) as caught:
        make(**settings)
    assert caught.value.setting == name and ENV_VARS[name] in str(caught.value)
    assert fragment in str(caught.value)
    assert "pw" not in str(caught.value)


def test_the_settings_come_from_healthcode_variables():
    environ = {
        "HEALTHCODE_CLIENT_ID": "c",
        "HEALTHCODE_REDIRECT_URI": "https://rpaapp.example.com/postauth",
        "HEALTHCODE_SITE_ID": "HC12393",
        "HEALTHCODE_API_VERSION": "1",
        "HEALTHCODE_CLIENT_SECRET": "s",
        "HEALTHCODE_API_DISCOVERY": "https://api.example.org/.well-known/discovery-document.json",
        "HEALTHCODE_BASIC_AUTH_USER": "epractice",
        "HEALTHCODE_LOG_API_CONTENT": "true",
    }
    config = HealthcodeConfig.from_environment(environ)
    assert (config.site_id, config.api_version, config.basic_auth_user, config.log_api_content) == (
        "HC12393",
        "1",
        "epractice",
        True,
    )
    assert config.api_discovery_url == "https://api.example.org/.well-known/discovery-document.json"
    assert HealthcodeConfig.from_environment(environ, site_id="HC00ABC").site_id == "HC00ABC"


def test_every_bad_api_setting_from_the_environment_is_told_at_once():
    environ = {
        "HEALTHCODE_CLIENT_ID": "c",
        "HEALTHCODE_REDIRECT_URI": "https://rpaapp.example.com/postauth",
        "HEALTHCODE_SITE_ID": "HC 1",
        "HEALTHCODE_API_VERSION": "v1",
    }
    with pytest.raises(InvalidSettingsError) as caught:
        HealthcodeConfig.from_environment(environ)
    assert {problem.setting for problem in caught.value.problems} == {"site_id", "api_version"}


def test_the_site_id_is_needed_to_call_an_api_not_to_sign_in():
    assert make().site_id is None
    with pytest.raises(MissingSettingError) as caught:
        require_site_id(None)
    message = str(caught.value)
    assert caught.value.setting == "site_id" and "HEALTHCODE_SITE_ID" in message
    assert "My Account section of your Healthcode Account" in message and "SU-SiteId" in message
    assert require_site_id("HC00ABC") == "HC00ABC"


# --- the bot page's Basic header: its user may differ from the client id ---------------------------------------


def basic_user_of(headers):
    return base64.b64decode(headers["Authorization"].split()[1]).decode().split(":")[0]


def test_the_basic_headers_user_is_the_client_id_unless_set_apart():
    common = {"code": "c", "redirect_uri": "https://rpaapp.example.com/postauth", "code_verifier": "v" * 43}
    plain = client_authentication("example_rpa_app", "s3cret", None)
    apart = client_authentication("example_rpa_app", "s3cret", None, "epractice")
    assert basic_user_of(authorization_code_request("https://sso/token", plain, **common).headers) == "example_rpa_app"
    request = authorization_code_request("https://sso/token", apart, **common)
    assert basic_user_of(request.headers) == "epractice"
    assert request.form["client_id"] == "example_rpa_app"  # the body keeps the client id, as on the page
    post = client_authentication("example_rpa_app", "s3cret", ["client_secret_post"], "epractice")
    assert "Authorization" not in authorization_code_request("https://sso/token", post, **common).headers


def test_the_client_uses_the_setting_and_masks_its_basic_header(metadata):
    config = make(environment=metadata.discovery_url, client_secret="Basic-Secret-42", basic_auth_user="epractice")
    with HealthcodeAuthClient(config, metadata=metadata) as client:
        assert client._authentication.basic_user == "epractice"
        header = authorization_code_request(
            metadata.token_endpoint,
            client._authentication,
            code="c",
            redirect_uri=config.redirect_uri,
            code_verifier="v" * 43,
        ).headers
    assert REDACTOR.redact(header["Authorization"]) != header["Authorization"]


# --- the bot page's expires_in, "in Unix time": read as seconds, bounded by the JWT's exp ------------------------


@pytest.fixture(scope="module")
def key():
    return signing_key()


@pytest.mark.parametrize(
    ("exp_after", "expected_after"),
    [
        (3600, 3600),  # the token's exp comes first: it bounds the 24 hours
        (2 * 86400, 86400),  # expires_in comes first: 86,400 seconds, never 2 January 1970
        (None, 86400),  # no exp: expires_in alone
    ],
)
def test_expires_in_is_seconds_bounded_by_the_tokens_exp(key, metadata, exp_after, expected_after):
    now = time.time()
    claims = {"iss": metadata.issuer, "sub": "supervisor-1", "iat": int(now)}
    if exp_after is not None:
        claims["exp"] = int(now) + exp_after
    answer = {"access_token": sign(key, claims), "token_type": "Bearer", "expires_in": 86400}
    token = parse_token_response(200, "application/json", answer, now=now)
    assert token.expires_at == pytest.approx(now + 86400)  # before the exp is read
    config = make(environment=metadata.discovery_url, verify_access_token="never")
    with HealthcodeAuthClient(config, metadata=metadata) as client:
        verified = client.verify(token)
    assert verified.expires_at == pytest.approx(now + expected_after, abs=1)
