"""Floor 7, beside ``http_auth``: a requests-oauthlib ``OAuth2Session`` that carries the bot's token.

Python keyword authors who already call their APIs through requests-oauthlib get the session they
know. Before every request it asks the bot's :class:`~healthcode_auth.session.HealthcodeSession`
for the current token, so renewal happens there: under the token store's lock, once for all
robots. requests-oauthlib's own refresh is never used (no ``auto_refresh_url``), and the refresh
token never enters this object.

oauthlib refuses plain http unless the process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` is set. This
session sets nothing process-wide: it sends the token over https anywhere (through
requests-oauthlib), over http only to this machine (the local sandbox; the header is added here),
and refuses plain http to any other host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from requests_oauthlib import OAuth2Session

from .errors import TransportError
from .protocol.urls import is_loopback_host, split_url
from .redaction import REDACTOR, MaskedHeaderValue

if TYPE_CHECKING:
    from .session import HealthcodeSession


class HealthcodeOAuth2Session(OAuth2Session):  # type: ignore[misc]  # requests-oauthlib ships no type hints
    """``session.get(url)``: an ``OAuth2Session`` whose token is always the bot's current one."""

    def __init__(self, session: HealthcodeSession, **kwargs: Any) -> None:
        super().__init__(client_id=session.config.client_id, **kwargs)  # no auto_refresh_url: never refreshes
        self._healthcode = session
        REDACTOR.install()  # requests-oauthlib logs the token at DEBUG: masked

    def request(self, method: str, url: str, data: Any = None, headers: Any = None, withhold_token: bool = False,
                **kwargs: Any) -> requests.Response:
        parts = split_url(url)
        scheme = parts.scheme.lower() if parts is not None else ""
        if scheme != "https" and not (scheme == "http" and parts is not None and is_loopback_host(parts.hostname)):
            host = (parts.hostname if parts is not None else None) or url
            raise TransportError(f"Refusing to send the Healthcode token to {host!r} over plain http: use https "
                                 "(plain http only to this machine, for the sandbox).")
        if withhold_token:
            return requests.Session.request(self, method, url, data=data, headers=headers, **kwargs)
        token = self._healthcode.access_token()  # renewed here when due, under the store's lock
        self.token = {"access_token": token.access_token, "token_type": "Bearer", "expires_at": token.expires_at}
        if scheme == "https":
            response: requests.Response = super().request(method, url, data=data, headers=headers, **kwargs)
            return response
        headers = {**(headers or {}), "Authorization": MaskedHeaderValue(token.authorization_header)}
        return requests.Session.request(self, method, url, data=data, headers=headers, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self._healthcode.config.client_id!r})"
