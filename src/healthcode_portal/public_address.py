"""The portal's public address, taken from the registered redirect URI and never from a request.

The redirect URI says everything the portal needs to know about where supervisors reach it: the
scheme (so whether cookies are Secure and HSTS is sent), the origin (where redirects point), the
callback's path, and the path prefix of every other page: the redirect URI's parent path. So
``https://rpaapp.example.com/bots/postauth`` serves the callback at ``/bots/postauth`` and the
landing page at ``/bots/``, which is what lets it work behind a reverse proxy at a non-root path
(the proxy forwards the paths unchanged). A request's Host header is never read: a visitor cannot
make the portal name another site.
"""

from __future__ import annotations

from dataclasses import dataclass

from healthcode_auth.errors import ConfigurationError
from healthcode_auth.protocol.urls import is_loopback_host, split_url


@dataclass(frozen=True)
class PublicAddress:
    """Where supervisors reach the portal, as the redirect URI says."""

    scheme: str
    netloc: str  # host[:port], as registered (lower case)
    callback_path: str  # the redirect URI's path: where the SSO sends the supervisor back
    base_path: str  # the callback's parent path, ending with '/': the landing page
    redirect_uri: str  # exactly as configured

    @classmethod
    def from_redirect_uri(cls, redirect_uri: str) -> PublicAddress:
        parts = split_url(redirect_uri)
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ConfigurationError("redirect_uri", "the portal needs an http(s) redirect URI with a host name")
        if parts.query:
            raise ConfigurationError(
                "redirect_uri",
                "the portal serves the redirect URI's path, and a redirect URI "
                "with a query cannot be served as registered",
            )
        path = parts.path
        if path in ("", "/"):
            raise ConfigurationError(
                "redirect_uri",
                "the redirect URI is the site's root: the portal needs a path "
                "of its own for the callback, such as /postauth (register "
                "one with Healthcode)",
            )
        parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
        return cls(parts.scheme.lower(), parts.netloc.lower(), path, parent, redirect_uri)

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @property
    def is_https(self) -> bool:
        return self.scheme == "https"

    @property
    def secure_cookies(self) -> bool:
        """Cookies are Secure except on loopback http (a portal tried on this machine)."""
        return self.is_https or not is_loopback_host(split_url(self.origin).hostname)  # type: ignore[union-attr]

    def url(self, path: str) -> str:
        """The absolute public URL of a path the portal serves."""
        return self.origin + path

    def page(self, name: str = "") -> str:
        """The path of one of the portal's pages (``""``: the landing page)."""
        return self.base_path + name

    def callback_url(self, query: str) -> str:
        """The URL the SSO sent the supervisor to, rebuilt from the redirect URI and the query received."""
        return self.redirect_uri + ("?" + query if query else "")
