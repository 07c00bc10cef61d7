"""Keywords that let other libraries use the token without it ever being in a plain variable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from robot.api.deco import keyword

from healthcode_auth.http_auth import HealthcodeHttpxAuth
from healthcode_auth.redaction import MaskedHeaderValue

from ..base import LibraryComponent

if TYPE_CHECKING:
    from healthcode_auth.session import HealthcodeSession


def requests_auth(session: HealthcodeSession) -> Any:
    """A ``requests.auth.AuthBase`` that adds the current token to every request.

    Written against ``requests`` directly rather than requests-oauthlib's ``OAuth2``: that class
    refuses plain-http URLs unless the process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` switch is set
    (the local sandbox is http on loopback) and needs the token as a plain dictionary, whereas this
    asks the session on every request, so a renewed token is used as soon as it exists. The header
    value is a :class:`MaskedHeaderValue`: RequestsLibrary logs request headers at INFO, and sees
    ``'Bearer <secret>'``.
    """
    from requests.auth import AuthBase

    class HealthcodeRequestsAuth(AuthBase):
        def __call__(self, request: Any) -> Any:
            request.headers["Authorization"] = MaskedHeaderValue(session.access_token().authorization_header)
            return request

        def __repr__(self) -> str:
            return f"HealthcodeRequestsAuth(client_id={session.client.config.client_id!r})"

    return HealthcodeRequestsAuth()


class HttpAuthKeywords(LibraryComponent):
    @keyword(tags=["token", "http"])
    def get_healthcode_requests_auth(self) -> Any:
        """Returns an authentication object for RequestsLibrary and ``requests``.

        Every request made with it carries ``Authorization: Bearer <token>`` with a currently valid
        token (renewed when needed), so the token is never held in a variable, logged by
        RequestsLibrary, or sent after it expired. Fails on use, not here, if there is no token.

        Example:
        | ${auth} =    `Get Healthcode Requests Auth`
        | Create Custom Session    healthcode    https://api.healthcode.co.uk    auth=${auth}    verify=${True}
        | ${response} =    GET On Session    healthcode    /api/v1/whoami

        RequestsLibrary logs each request's headers; the ``Authorization`` header shows there as
        ``Bearer <secret>``. Do not enable RequestsLibrary's ``debug`` option: it prints raw HTTP
        traffic, token included, to the console.
        """
        return requests_auth(self.session)

    @keyword(tags=["token", "http"])
    def get_healthcode_httpx_auth(self) -> HealthcodeHttpxAuth:
        """Returns an ``httpx.Auth`` that adds the current access token to every request.

        For Python keyword libraries that use httpx: ``httpx.Client(auth=auth)``.

        Example:
        | ${auth} =    `Get Healthcode Httpx Auth`
        | My Python Keyword Using Httpx    auth=${auth}
        """
        return HealthcodeHttpxAuth(self.session)
