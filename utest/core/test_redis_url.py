"""The Redis store's URL, checked before redis-py sees it: clear errors naming the setting, and
never the password in what is shown."""

import pytest

from healthcode_auth.errors import ConfigurationError
from healthcode_auth.storage.redis_url import describe_url, parse_store_url


@pytest.mark.parametrize("url", ["redis://:pw@host:99999/0", "redis://:pw@host:abc/0", "redis://:pw@[::1/0"])
def test_a_malformed_url_is_a_configuration_error_naming_the_setting(url):
    with pytest.raises(ConfigurationError, match="the Redis URL is not valid: check its port") as raised:
        parse_store_url(url)
    assert raised.value.setting == "token_cache"
    assert "pw" not in str(raised.value)


def test_a_url_is_shown_without_its_password_and_with_its_prefix():
    assert describe_url("rediss://robot:s3cret@redis.example:6380/2?prefix=team-a:") == (
        "rediss://robot@redis.example:6380/2 (prefix team-a:)"
    )
    assert describe_url("redis://:s3cret@host:99999/0") == "the Redis URL"


def test_the_url_redis_py_gets_has_no_query_and_the_prefix_defaults():
    assert parse_store_url("rediss://u:p@h:6380/0?prefix=team-a:") == ("rediss://u:p@h:6380/0", "team-a:")
    assert parse_store_url("redis://h/0")[1] == "healthcode:"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://Sup3rSecretPass@host:6379/0", "redis://***@host:6379/0"),  # a password given as the user name
        ("redis://host:6379/Sup3rSecretPass", "redis://host:6379/..."),  # or as the path
        ("redis://:pw@host:6379", "redis://host:6379"),
    ],
)
def test_what_may_be_a_password_is_never_shown(url, shown):
    """Red team, break 14."""
    assert describe_url(url) == shown
