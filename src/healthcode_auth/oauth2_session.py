"""A requests-oauthlib ``OAuth2Session`` that carries the bot's token.

Python keyword authors who already call their APIs through requests-oauthlib get the session they
know. Before every request it asks the bot's :class:`~healthcode_auth.session.HealthcodeSession`
for the current token, so renewal happens there: under the token store's lock, once for all
robots. requests-oauthlib's own refresh is never used (no ``auto_refresh_url``), and the refresh
token never enters this object.

oauthlib refuses plain http unless the process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` is set. This
session sets nothing process-wide: it sends the token over https (through requests-oauthlib), over
http only to this machine (the local sandbox; the header is added here), and refuses plain http to
any other host. Like the auth adapters (``http_auth.py``), it sends the token, ``SU-SiteId`` and
``HC-API-Version`` only to the hosts of Healthcode's API discovery document, and none of them on a
redirect elsewhere (:meth:`HealthcodeOAuth2Session.rebuild_auth`, which requests calls for every
redirect).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from requests_oauthlib import OAuth2Session

from .api_settings import require_site_id
from .errors import ApiArgumentError, TransportError, escaped
from .http_auth import API_HEADERS, allowed_api_document
from .http_log_filters import install_log_filters
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
        install_log_filters()  # urllib3 logs each request line (an id, a patient's name) at DEBUG: no path

    def request(
        self, method: str, url: str, data: Any = None, headers: Any = None, withhold_token: bool = False, **kwargs: Any
    ) -> requests.Response:
        target = _prepared_url(url)  # where requests will really connect: checked, not the text given
        parts = split_url(target)
        scheme = parts.scheme.lower() if parts is not None else ""
        if scheme != "https" and not (scheme == "http" and parts is not None and is_loopback_host(parts.hostname)):
            host = (parts.hostname if parts is not None else None) or "a URL without a host"
            raise TransportError(
                f"Refusing to send the Healthcode token to {escaped(host, 100)!r} over plain http: "
                "use https (plain http only to this machine, for the sandbox)."
            )
        if withhold_token:
            return requests.Session.request(self, method, url, data=data, headers=headers, **kwargs)
        site_id = require_site_id(self._healthcode.config.site_id)
        allowed_api_document(self._healthcode, target)  # raises before anything is sent elsewhere
        token = self._healthcode.access_token()  # renewed here when due, under the store's lock
        self.token = {"access_token": token.access_token, "token_type": "Bearer", "expires_at": token.expires_at}
        headers = {**(headers or {}), "SU-SiteId": site_id, "HC-API-Version": self._healthcode.config.api_version}
        if scheme == "https":
            response: requests.Response = super().request(method, url, data=data, headers=headers, **kwargs)
            return response
        headers["Authorization"] = MaskedHeaderValue(token.authorization_header)
        return requests.Session.request(self, method, url, data=data, headers=headers, **kwargs)

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """On every redirect (requests' hook for it): none of the token, the site id and the API version
        go to a host the API discovery document does not name."""
        super().rebuild_auth(prepared_request, response)
        document = self._healthcode.api_discovery.known
        if document is None or not document.allows(str(prepared_request.url)):
            for name in API_HEADERS:
                prepared_request.headers.pop(name, None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self._healthcode.config.client_id!r})"


def _prepared_url(url: str) -> str:
    """``url`` as requests prepares it (urllib3 parses it; requests sends to that host): the text a
    check must read, since urllib may find another host in it (``http://a\\@b/`` is ``a`` here)."""
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except (requests.RequestException, ValueError, UnicodeError) as error:
        raise ApiArgumentError(
            f"requests cannot send to this URL ({type(error).__name__}): take the API's URL "
            "from the API discovery document (Get Healthcode API Endpoint)."
        ) from None
    return str(prepared.url)
