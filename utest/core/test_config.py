import dataclasses

import pytest

from healthcode_auth import ConfigurationError, HealthcodeConfig
from healthcode_auth.config import ENV_VARS, ENVIRONMENTS

BASE = {"client_id": "example_rpa_app", "redirect_uri": "https://rpaapp.example.com/postauth"}


def make(**overrides):
    return HealthcodeConfig(**{**BASE, **overrides})


def test_defaults_point_at_production():
    config = make()
    assert config.environment == "production"
    assert config.discovery_url == "https://auth.healthcode.co.uk/.well-known/openid-configuration"
    assert not config.is_confidential


@pytest.mark.parametrize(
    ("environment", "url"),
    [
        ("uat", "https://auth.uat.healthcode.co.uk/.well-known/openid-configuration"),
        ("UAT", "https://auth.uat.healthcode.co.uk/.well-known/openid-configuration"),
        (" Production ", ENVIRONMENTS["production"]),
        (
            "http://127.0.0.1:8765/.well-known/openid-configuration",
            "http://127.0.0.1:8765/.well-known/openid-configuration",
        ),
        (
            "https://sso.example.org/realms/x/.well-known/openid-configuration",
            "https://sso.example.org/realms/x/.well-known/openid-configuration",
        ),
    ],
)
def test_environment_names_and_urls(environment, url):
    assert make(environment=environment).discovery_url == url


def test_config_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().client_id = "other"


def test_secret_is_not_in_repr():
    config = make(client_secret="s3cr3t-value")
    assert "s3cr3t-value" not in repr(config)
    assert "s3cr3t-value" not in str(config)
    assert config.is_confidential


@pytest.mark.parametrize(
    ("overrides", "setting", "fragment"),
    [
        ({"client_id": ""}, "client_id", "non-empty"),
        ({"client_id": " padded"}, "client_id", "printable"),
        ({"client_id": "tab\tid"}, "client_id", "printable"),
        ({"client_id": "caf\u00e9"}, "client_id", "printable"),
        ({"redirect_uri": "/postauth"}, "redirect_uri", "absolute"),
        ({"redirect_uri": "rpaapp.example.com/postauth"}, "redirect_uri", "absolute"),
        ({"redirect_uri": "https://rpaapp.example.com/postauth#frag"}, "redirect_uri", "fragment"),
        ({"redirect_uri": "http://rpaapp.example.com/postauth"}, "redirect_uri", "https"),
        ({"redirect_uri": "https:///nohost"}, "redirect_uri", "host"),
        ({"redirect_uri": "com.example.rpa:/oauth2redirect"}, "redirect_uri", "not supported"),
        ({"redirect_uri": "https://rpaapp.example.com:99999/x"}, "redirect_uri", "absolute"),
        ({"environment": "staging"}, "environment", "'production', 'uat'"),
        ({"environment": "http://sso.example.org/.well-known/openid-configuration"}, "environment", "plain http"),
        ({"environment": "ftp://sso.example.org/x"}, "environment", "https"),
        ({"client_secret": ""}, "client_secret", "non-empty"),
        ({"scope": 'openid "quoted"'}, "scope", "not a valid scope"),
        ({"timeout": 0}, "timeout", "greater than 0"),
        ({"timeout": 601}, "timeout", "at most 600"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle", "no file"),
        ({"proxy": "not a url"}, "proxy", "proxy URL"),
        ({"verify_access_token": "sometimes"}, "verify_access_token", "auto"),
        ({"leeway": -1}, "leeway", "between 0 and 3600"),
        ({"leeway": 3601}, "leeway", "between 0 and 3600"),
        ({"leeway": 1.5}, "leeway", "whole number"),
    ],
)
def test_invalid_settings_name_the_setting(overrides, setting, fragment):
    with pytest.raises(ConfigurationError) as caught:
        make(**overrides)
    assert caught.value.setting == setting
    assert f"'{setting}'" in str(caught.value)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:8400/callback",
        "http://localhost/cb",
        "http://[::1]:9000/cb",
        "https://rpaapp.example.com/postauth?tenant=1",
    ],
)
def test_https_and_loopback_redirect_uris_are_allowed(uri):
    assert make(redirect_uri=uri).redirect_uri == uri


def test_scope_is_normalised():
    assert make(scope="  openid   profile openid ").scope == "openid profile"
    assert make(scope="   ").scope is None


def test_from_environment_reads_healthcode_variables():
    environ = {
        "HEALTHCODE_CLIENT_ID": "env_client",
        "HEALTHCODE_REDIRECT_URI": "https://bot.example/cb",
        "HEALTHCODE_ENVIRONMENT": "uat",
        "HEALTHCODE_CLIENT_SECRET": "env-secret",
        "HEALTHCODE_SCOPE": "api",
        "HEALTHCODE_TIMEOUT": "12.5",
    }
    config = HealthcodeConfig.from_environment(environ)
    assert (config.client_id, config.redirect_uri, config.environment) == (
        "env_client",
        "https://bot.example/cb",
        "uat",
    )
    assert (config.client_secret, config.scope, config.timeout) == ("env-secret", "api", 12.5)


def test_explicit_arguments_win_over_environment():
    environ = {
        "HEALTHCODE_CLIENT_ID": "env_client",
        "HEALTHCODE_REDIRECT_URI": "https://bot.example/cb",
        "HEALTHCODE_ENVIRONMENT": "uat",
    }
    config = HealthcodeConfig.from_environment(environ, client_id="arg_client", environment=None)
    assert config.client_id == "arg_client"
    assert config.environment == "uat"


def test_empty_environment_variable_counts_as_unset():
    environ = {
        "HEALTHCODE_CLIENT_ID": "c",
        "HEALTHCODE_REDIRECT_URI": "https://bot.example/cb",
        "HEALTHCODE_CLIENT_SECRET": "",
    }
    assert HealthcodeConfig.from_environment(environ).client_secret is None


def test_missing_required_setting_names_variable():
    with pytest.raises(ConfigurationError, match="HEALTHCODE_REDIRECT_URI"):
        HealthcodeConfig.from_environment({}, client_id="c")


def test_unknown_setting_is_refused():
    with pytest.raises(ConfigurationError, match="no such setting"):
        HealthcodeConfig.from_environment({}, clientid="c")


def test_bad_timeout_text_from_environment():
    environ = {
        "HEALTHCODE_CLIENT_ID": "c",
        "HEALTHCODE_REDIRECT_URI": "https://bot.example/cb",
        "HEALTHCODE_TIMEOUT": "soon",
    }
    with pytest.raises(ConfigurationError, match="'timeout'"):
        HealthcodeConfig.from_environment(environ)


def test_leeway_defaults_to_five_minutes():
    assert make().leeway == 300
    assert make(leeway=0).leeway == 0
    assert make(leeway=3600).leeway == 3600


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90.4", 90), ("90.6", 91), (" 600 ", 600), ("0", 0)])
def test_leeway_from_the_environment_in_whole_or_fractional_seconds(text, seconds):
    environ = {
        "HEALTHCODE_CLIENT_ID": "c",
        "HEALTHCODE_REDIRECT_URI": "https://bot.example/cb",
        "HEALTHCODE_LEEWAY": text,
    }
    config = HealthcodeConfig.from_environment(environ)
    assert config.leeway == seconds
    assert type(config.leeway) is int


def test_leeway_argument_wins_and_may_be_fractional():
    environ = {
        "HEALTHCODE_CLIENT_ID": "c",
        "HEALTHCODE_REDIRECT_URI": "https://bot.example/cb",
        "HEALTHCODE_LEEWAY": "90",
    }
    assert HealthcodeConfig.from_environment(environ, leeway=120.0).leeway == 120
    assert HealthcodeConfig.from_environment(environ, leeway=None).leeway == 90


@pytest.mark.parametrize("text", ["soon", "nan", "inf", "-1", "3601", "1e9"])
def test_bad_leeway_from_the_environment_names_the_setting_and_variable(text):
    environ = {
        "HEALTHCODE_CLIENT_ID": "c",
        "HEALTHCODE_REDIRECT_URI": "https://bot.example/cb",
        "HEALTHCODE_LEEWAY": text,
    }
    with pytest.raises(ConfigurationError) as caught:
        HealthcodeConfig.from_environment(environ)
    assert caught.value.setting == "leeway"
    assert "HEALTHCODE_LEEWAY" in str(caught.value)


def test_every_setting_has_a_variable():
    assert ENV_VARS["leeway"] == "HEALTHCODE_LEEWAY"
    assert set(ENV_VARS) == set(HealthcodeConfig.__dataclass_fields__)


PASSWORD = "TopSecret99"


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"environment": f"https://bob:{PASSWORD}@host:99999/x"}, "environment"),  # invalid port: not parsed
        ({"environment": f"https://bob:Top@{PASSWORD}@host:99999/x"}, "environment"),  # an '@' in the password
        ({"environment": f"https://:{PASSWORD}@[::1/x"}, "environment"),  # an unclosed bracket: not parsed
        ({"environment": f"http://bob:{PASSWORD}@sso.example.org/x"}, "environment"),
        ({"environment": f"ftp://bob:{PASSWORD}@sso.example.org/x#frag"}, "environment"),
        ({"redirect_uri": f"https://bob:{PASSWORD}@host:99999/x"}, "redirect_uri"),
        ({"redirect_uri": f"https://bob:{PASSWORD} @host:99999/x"}, "redirect_uri"),  # whitespace too
        ({"redirect_uri": f"http://bob:{PASSWORD}@rpaapp.example.com/postauth"}, "redirect_uri"),
        ({"redirect_uri": f"https://bob:{PASSWORD}@/postauth"}, "redirect_uri"),  # no host name
        ({"proxy": f"http://bob:{PASSWORD}@proxy.example:99999"}, "proxy"),
        ({"proxy": f"ftp://bob:{PASSWORD}@proxy.example:3128"}, "proxy"),
        ({"ca_bundle": f"https://bob:{PASSWORD}@host:99999/ca.pem"}, "ca_bundle"),
        ({"scope": f'openid https://bob:{PASSWORD}@api.example/"read"'}, "scope"),
        ({"verify_access_token": f"https://bob:{PASSWORD}@host/x"}, "verify_access_token"),
    ],
)
def test_a_message_never_shows_the_credentials_of_a_url(overrides, setting):
    with pytest.raises(ConfigurationError) as caught:
        make(**overrides)
    assert caught.value.setting == setting
    assert PASSWORD not in str(caught.value)
    assert "bob" not in str(caught.value)


def test_a_message_from_the_environment_never_shows_the_credentials_of_a_url():
    environ = {
        "HEALTHCODE_CLIENT_ID": "c",
        "HEALTHCODE_REDIRECT_URI": f"https://bob:{PASSWORD}@host:99999/x",
        "HEALTHCODE_ENVIRONMENT": f"https://bob:{PASSWORD}@host:99999/x",
        "HEALTHCODE_TIMEOUT": f"https://bob:{PASSWORD}@host/x",
        "HEALTHCODE_PROXY": f"socks4://bob:{PASSWORD}@proxy:1",
    }
    with pytest.raises(ConfigurationError) as caught:
        HealthcodeConfig.from_environment(environ)
    assert "HEALTHCODE_ENVIRONMENT" in str(caught.value) and "***@host:99999/x" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_repr_shows_no_credentials_of_the_proxy_or_the_token_store():
    config = make(proxy=f"http://bob:{PASSWORD}@proxy.example:3128", token_cache=f"redis://:{PASSWORD}@redis:6379/0")
    assert PASSWORD not in repr(config) and PASSWORD not in str(config)
    assert "proxy='http://***@proxy.example:3128'" in repr(config)
    assert "token_cache='redis://***@redis:6379/0'" in repr(config)
    assert config.token_cache == f"redis://:{PASSWORD}@redis:6379/0"  # the value itself is untouched
