"""Use the token without holding it: one auth adapter per HTTP client, both masking, both
sending the token, the site id and the API version to Healthcode's APIs only.

Each request asks the session for a currently valid token (renewed when near expiry), so
long-running bots never send an expired one and the token never sits in a variable of the
caller's. The header value is a :class:`~healthcode_auth.redaction.MaskedHeaderValue`: sent in
full, shown as ``'Bearer <secret>'`` by anything that logs the request's headers. Beside it go
``SU-SiteId`` (the site Healthcode keeps the data in) and ``HC-API-Version``, as Healthcode asks of
every call (:func:`healthcode_headers`).

They go only to the hosts of the APIs named in Healthcode's API discovery document: a request to
any other origin is refused before anything is sent (:class:`~healthcode_auth.errors.ApiOriginRefusedError`),
and so is a URL whose host parsers may read differently (a backslash or an ``@`` before the path).
requests and httpx strip ``Authorization`` from a redirect to another origin, but copy every other
header. The requests adapter strips ``SU-SiteId`` and ``HC-API-Version`` too (a response hook,
before requests builds the redirect). httpx runs no auth on a redirect; the httpx adapter puts a
``trace`` extension on the request, which httpx copies to every redirect and its own transports call
just before the headers go out: there it strips the three headers from a request to any other host.
A client with a transport of its own (``transport=``, ``mounts=``) calls no trace: it must take the
adapter's :attr:`~HealthcodeHttpxAuth.event_hooks`, which :meth:`~HealthcodeHttpxAuth.client` and
:meth:`~HealthcodeHttpxAuth.async_client` add.

Neither adapter imports its HTTP library: httpx and requests both accept any callable that takes
and returns the request as an auth (``requests.auth.AuthBase`` adds nothing to that), so
importing the keyword library stays light.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from .api_settings import require_site_id
from .errors import ApiOriginRefusedError, HealthcodeAuthError, escaped
from .http_log_filters import install_log_filters
from .protocol.api_document import ApiDocument, shown_url
from .protocol.urls import origin_of, split_url
from .redaction import MaskedHeaderValue

if TYPE_CHECKING:
    from .session import HealthcodeSession

API_HEADERS = ("Authorization", "SU-SiteId", "HC-API-Version")
_LOWER_API_HEADERS = frozenset(name.lower().encode("ascii") for name in API_HEADERS)


def bearer_header(session: HealthcodeSession) -> MaskedHeaderValue:
    """``Bearer <current token>``, masked wherever it is logged."""
    return MaskedHeaderValue(session.access_token().authorization_header)


def allowed_api_document(session: HealthcodeSession, url: str, remaining: float | None = None) -> ApiDocument:
    """The API discovery document, when ``url`` is on one of its APIs' hosts. For any other host it is
    fetched again (at most once a minute: an API may have moved; within ``remaining`` seconds when
    given) and, if that host is still not one of them, the request is refused:
    :class:`~healthcode_auth.errors.ApiOriginRefusedError`."""
    document = session.api_document()
    if document.allows(url):
        return document
    if session.api_discovery.may_refetch() and (remaining is None or remaining > 0):
        with contextlib.suppress(HealthcodeAuthError):  # refused below, with what is known
            document = session.api_document(refresh=True, remaining=remaining)
        if document.allows(url):
            return document
    raise origin_refused(url, document)


def origin_refused(url: str, document: ApiDocument) -> ApiOriginRefusedError:
    parts = split_url(url)
    origin = origin_of(url) if parts is not None and parts.scheme and parts.hostname else "a URL without a host"
    return ApiOriginRefusedError(
        f"The token goes only to Healthcode's APIs, named in the API discovery document "
        f"({shown_url(document.source)}): {escaped(origin, 100)} is not one of their hosts, "
        "so nothing was sent there. Take the API's URL from the document by its name "
        "instead of typing it.",
        origin,
    )


def healthcode_headers(session: HealthcodeSession, url: str, remaining: float | None = None) -> dict[str, str]:
    """``Authorization`` (masked), ``SU-SiteId`` and ``HC-API-Version`` for a request to ``url``; refused
    (raises, nothing sent) when ``url`` is not on a host of the API discovery document, and a
    ConfigurationError when the site id is not set. ``remaining`` bounds a fetch of the document."""
    site_id = require_site_id(session.config.site_id)
    allowed_api_document(session, url, remaining)
    return {"Authorization": bearer_header(session), "SU-SiteId": site_id, "HC-API-Version": session.config.api_version}


def _allowed_now(session: HealthcodeSession, url: str) -> bool:
    """Whether ``url`` is on a host of the document this run holds (no request: a redirect's check)."""
    document = session.api_discovery.known
    return document is not None and document.allows(url)


class _HealthcodeAuth:
    """What both adapters do: put the current, masked token, the site id and the API version in the
    request's headers, for Healthcode's APIs only."""

    def __init__(self, session: HealthcodeSession) -> None:
        self._session = session
        install_log_filters()  # requests' and httpx's own log lines: no path, query or patient data

    def __call__(self, request: Any) -> Any:
        request.headers.update(healthcode_headers(self._session, str(request.url)))
        register_hook = getattr(request, "register_hook", None)  # requests' PreparedRequest
        if register_hook is not None:
            register_hook("response", self._before_redirect)
        return request

    def _before_redirect(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        """requests: a redirect elsewhere gets none of the headers (requests copies the request first)."""
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers.get("location", ""))
            if not _allowed_now(self._session, target):
                for name in API_HEADERS:
                    response.request.headers.pop(name, None)
        return response

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self._session.config.client_id!r})"


class HealthcodeHttpxAuth(_HealthcodeAuth):
    """``httpx.Client(auth=HealthcodeHttpxAuth(session))`` sends ``Authorization: Bearer ...``,
    ``SU-SiteId`` and ``HC-API-Version`` to Healthcode's APIs.

    httpx runs no auth on a redirect. With httpx's own transports, a redirect to another host still
    gets none of the three headers: the adapter strips them through the request's ``trace``
    extension, which httpx copies to each redirect. A client with a transport of its own
    (``transport=``, ``mounts=``) must also take ``event_hooks=auth.event_hooks``
    (``async_event_hooks`` for an ``AsyncClient``): :meth:`client` and :meth:`async_client` build
    clients that do.
    """

    def __call__(self, request: Any) -> Any:
        request = super().__call__(request)
        previous = request.extensions.get("trace")
        if not isinstance(previous, _StripElsewhere):
            request.extensions = {**request.extensions, "trace": _StripElsewhere(self._session, previous)}
        return request

    def client(self, **kwargs: Any) -> Any:
        """``httpx.Client(auth=self, **kwargs)`` whose event hooks also strip the three headers from a
        redirect to any other host, whatever its transport (added to any ``event_hooks`` given)."""
        import httpx

        hooks = _merged_hooks(kwargs.pop("event_hooks", None), self.event_hooks)
        return httpx.Client(auth=self, event_hooks=hooks, **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        """The same as :meth:`client`, for an ``httpx.AsyncClient``."""
        import httpx

        hooks = _merged_hooks(kwargs.pop("event_hooks", None), self.async_event_hooks)
        return httpx.AsyncClient(auth=self, event_hooks=hooks, **kwargs)

    @property
    def event_hooks(self) -> dict[str, list[Callable[[Any], None]]]:
        return {"request": [self._strip_elsewhere]}

    @property
    def async_event_hooks(self) -> dict[str, list[Callable[[Any], Any]]]:
        async def strip(request: Any) -> None:
            self._strip_elsewhere(request)

        return {"request": [strip]}

    def _strip_elsewhere(self, request: Any) -> None:
        if not _allowed_now(self._session, str(request.url)):
            for name in API_HEADERS:
                request.headers.pop(name, None)


class _StripElsewhere:
    """httpx's ``trace`` extension (httpcore calls it around each step of a request, the request
    included, on the original and on every redirect): just before the headers are sent, the three
    headers are dropped from a request to a host the API discovery document does not name. It
    chains a trace the caller had set; httpcore wants a coroutine from it in an async client."""

    def __init__(self, session: HealthcodeSession, previous: Any) -> None:
        self._session = session
        self._previous = previous

    def __call__(self, name: str, info: dict[str, Any]) -> Any:
        if name.endswith("send_request_headers.started") and info.get("request") is not None:
            self._strip(info["request"])
        result = self._previous(name, info) if self._previous is not None else None
        if sys._getframe(1).f_code.co_name != "atrace":  # httpcore's synchronous Trace.trace
            return result
        return _awaited(result)

    def _strip(self, request: Any) -> None:
        url = request.url
        target = bytes(url.target).decode("latin-1")
        if not target.startswith(("http://", "https://")):  # else the absolute form, to a forward proxy
            host = bytes(url.host).decode("latin-1")
            host = f"[{host}]" if ":" in host else host
            target = f"{bytes(url.scheme).decode('latin-1')}://{host}{f':{url.port}' if url.port else ''}{target}"
        if not _allowed_now(self._session, target):
            request.headers[:] = [(k, v) for k, v in request.headers if bytes(k).lower() not in _LOWER_API_HEADERS]


async def _awaited(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


def _merged_hooks(given: Any, ours: dict[str, list[Callable[[Any], Any]]]) -> dict[str, list[Callable[[Any], Any]]]:
    hooks = {name: list(functions) for name, functions in (given or {}).items()}
    for name, functions in ours.items():
        hooks[name] = [*hooks.get(name, []), *functions]
    return hooks


class HealthcodeRequestsAuth(_HealthcodeAuth):
    """``requests.get(url, auth=HealthcodeRequestsAuth(session))``, or RequestsLibrary's
    ``Create Custom Session  auth=...``: sends ``Authorization: Bearer ...``, ``SU-SiteId`` and
    ``HC-API-Version`` to Healthcode's APIs, and none of them on a redirect elsewhere.

    Written against ``requests`` directly rather than requests-oauthlib's ``OAuth2``: that class
    refuses plain-http URLs unless the process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` switch is set
    (the local sandbox is http on loopback) and needs the token as a plain dictionary, whereas this
    asks the session on every request, so a renewed token is used as soon as it exists.
    """
