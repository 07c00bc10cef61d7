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

        Every request made with it to a host that Healthcode's API discovery document names carries
        ``Authorization: Bearer <token>`` with a currently valid token (renewed when needed),
        ``SU-SiteId`` (the library's ``site_id``) and ``HC-API-Version``, so the token is never held
        in a variable, logged by RequestsLibrary, or sent after it expired. A request to any other
        host fails before anything is sent, and a redirect to another host carries none of the
        three headers. Fails on use, not here, if there is no token.

        `Call Healthcode API` does more: it looks the API up by name, follows a moved API, retries,
        reads ``OperationOutcome`` errors and keeps patient data out of the log. RequestsLibrary
        logs what it sends and receives.

        Example:
        | ${auth} =    `Get Healthcode Requests Auth`
        | ${url} =    `Get Healthcode API Endpoint`    search_practitioner
        | ${response} =    GET    ${url}    params=name=Mabel    auth=${auth}

        RequestsLibrary logs each request's headers; the ``Authorization`` header shows there as
        ``Bearer <secret>``. Do not enable RequestsLibrary's ``debug`` option: it prints raw HTTP
        traffic, token included, to the console.
        """
        return HealthcodeRequestsAuth(self.session)

    @keyword(tags=["token", "http"])
    def get_healthcode_httpx_auth(self) -> HealthcodeHttpxAuth:
        """Returns an ``httpx.Auth`` that adds the current access token to every request.

        For Python keyword libraries that use httpx: ``httpx.Client(auth=auth)``, or better
        ``auth.client()`` (``auth.async_client()`` for an ``httpx.AsyncClient``; both take httpx's
        own arguments). Like `Get Healthcode Requests Auth`, it adds ``Authorization``,
        ``SU-SiteId`` and ``HC-API-Version`` for Healthcode's API hosts only (any other host, or a
        URL with a backslash or ``@`` before its path, is refused), renews the token when needed,
        and the header shows as ``Bearer <secret>`` wherever the request's headers are logged.

        *Redirects: one exception.* httpx runs no auth on a redirect, and itself strips only
        ``Authorization`` from one to another host. With httpx's own transports the auth still
        strips ``SU-SiteId`` and ``HC-API-Version`` there (through the request's ``trace``
        extension, which httpx carries to every redirect). A client built with a transport of
        its own (``transport=``, ``mounts=``, a mock or WSGI transport) that follows redirects
        (``follow_redirects=True``) gives the auth no say: it sends those two headers, not the
        token, to wherever a redirect leads, unless it has ``event_hooks=auth.event_hooks``
        (``auth.async_event_hooks``). ``auth.client()`` and ``auth.async_client()`` always add
        them: use those.

        Example:
        | ${auth} =    `Get Healthcode Httpx Auth`
        | My Python Keyword Using Httpx    auth=${auth}
        | # in the keyword: with auth.client(follow_redirects=True, timeout=30) as client: ...
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

        The token, ``SU-SiteId`` and ``HC-API-Version`` are sent only to the hosts Healthcode's API
        discovery document names (over plain http only to this machine: the local sandbox), without
        setting ``OAUTHLIB_INSECURE_TRANSPORT``; a request to any other host is refused, checked
        on the URL as requests prepares it (the host requests connects to), and a redirect
        elsewhere carries none of them.

        Example:
        | ${api} =    `Get Healthcode OAuth2 Session`
        | ${url} =    `Get Healthcode API Endpoint`    search_practitioner
        | ${response} =    Call Method    ${api}    get    ${url}
        """
        from healthcode_auth.oauth2_session import HealthcodeOAuth2Session  # imports requests-oauthlib

        return HealthcodeOAuth2Session(self.session)
