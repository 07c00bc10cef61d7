"""Keywords that let HTTP client libraries use the token without it ever being in a plain variable."""

from __future__ import annotations

from typing import Any

from robot.api.deco import keyword

from healthcode_auth.http_auth import HealthcodeHttpxAuth, HealthcodeRequestsAuth

from ..base import LibraryComponent


class HttpClientKeywords(LibraryComponent):
    @keyword(tags=["token", "http"])
    def get_healthcode_requests_auth(self) -> HealthcodeRequestsAuth:
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
        return HealthcodeRequestsAuth(self.session)

    @keyword(tags=["token", "http"])
    def get_healthcode_httpx_auth(self) -> HealthcodeHttpxAuth:
        """Returns an ``httpx.Auth`` that adds the current access token to every request.

        For Python keyword libraries that use httpx: ``httpx.Client(auth=auth)``. Like
        `Get Healthcode Requests Auth`, it renews the token when needed, and the header shows as
        ``Bearer <secret>`` wherever the request's headers are logged.

        Example:
        | ${auth} =    `Get Healthcode Httpx Auth`
        | My Python Keyword Using Httpx    auth=${auth}
        """
        return HealthcodeHttpxAuth(self.session)

    @keyword("Get Healthcode OAuth2 Session", tags=["token", "http"])
    def get_healthcode_oauth2_session(self) -> Any:  # a requests_oauthlib.OAuth2Session, imported on use
        """Returns a requests-oauthlib ``OAuth2Session`` that carries the current access token.

        For Python keyword libraries written against requests-oauthlib: ``session.get(url)`` sends
        ``Authorization: Bearer <token>`` with the token this library holds, renewed through this
        library's token store when it is due (under the store's lock, once for all robots), never
        through requests-oauthlib's own refresh. The refresh token never enters the session, and
        requests-oauthlib's debug log shows ``<secret>`` instead of the token.

        The token is sent over https to any host, and over plain http only to this machine (the
        local sandbox), without setting ``OAUTHLIB_INSECURE_TRANSPORT``; plain http to any other
        host is refused.

        Example:
        | ${api} =    `Get Healthcode OAuth2 Session`
        | ${response} =    Call Method    ${api}    get    https://api.healthcode.co.uk/api/v1/whoami
        """
        from healthcode_auth.oauth2_session import HealthcodeOAuth2Session  # imports requests-oauthlib

        return HealthcodeOAuth2Session(self.session)
