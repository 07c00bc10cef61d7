"""The Redis store's URL: what redis-py gets of it (never a query that could override TLS), the
key prefix, and what a message may show of it (never a password, nor what may be one).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from ..errors import ConfigurationError, escaped
from ..protocol.urls import split_url

DEFAULT_PREFIX = "healthcode:"


def describe_url(url: str) -> str:
    """``redis://host:port/db`` (prefix shown), never the user's password."""
    parts = split_url(url)
    if parts is None:  # an invalid port or unbalanced brackets: nothing of it can be shown safely
        return "the Redis URL"
    # A user name is shown only beside a password: alone, it may be a password put in its place
    # (redis://PASSWORD@host). The path is shown only as the database number it should be.
    user = f"{unquote(parts.username)}@" if parts.username and parts.password else "***@" if parts.username else ""
    database = parts.path if (parts.path or "/").lstrip("/").isdigit() else ("/..." if parts.path.strip("/") else "")
    prefix = dict(parse_qsl(parts.query)).get("prefix")
    shown = f"{parts.scheme}://{user}{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{database}"
    return shown + (f" (prefix {escaped(prefix, 100)})" if prefix else "")


def parse_store_url(url: str) -> tuple[str, str]:
    """The URL redis-py gets (no query: a query would override its TLS settings) and the key prefix.

    Only ``prefix`` is allowed in the query; anything else is refused, naming the setting.
    """
    parts = split_url(url)
    if parts is None:
        raise ConfigurationError(
            "token_cache",
            "the Redis URL is not valid: check its port (1 to 65535) and any "
            "[brackets] around an IPv6 address, as in rediss://user:password@host:6380/0",
        )
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigurationError("token_cache", "give a Redis URL such as rediss://user:password@host:6380/0")
    if parts.fragment:
        raise ConfigurationError("token_cache", "a Redis URL must not have a fragment (#...)")
    options = parse_qsl(parts.query, keep_blank_values=True)
    unknown = sorted({name for name, _ in options} - {"prefix"})
    if unknown:
        raise ConfigurationError(
            "token_cache",
            f"the Redis URL may only carry '?prefix=...'; remove "
            f"{', '.join(unknown)} (TLS is always verified, timeouts come from 'timeout')",
        )
    prefix = dict(options).get("prefix", DEFAULT_PREFIX)
    if not prefix or len(prefix) > 100 or any(not ch.isprintable() or ch.isspace() for ch in prefix):
        raise ConfigurationError("token_cache", "the Redis key prefix must be 1 to 100 printable characters")
    return parts._replace(query="").geturl(), prefix
