"""Floor 7: use the token without holding it: one auth adapter per HTTP client, both masking.

Each request asks the session for a currently valid token (renewed when near expiry), so
long-running bots never send an expired one and the token never sits in a variable of the
caller's. The header value is a :class:`~healthcode_auth.redaction.MaskedHeaderValue`: sent in
full, shown as ``'Bearer <secret>'`` by anything that logs the request's headers.

Neither adapter imports its HTTP library: httpx and requests both accept any callable that takes
and returns the request as an auth (``requests.auth.AuthBase`` adds nothing to that), so
importing the keyword library stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .redaction import MaskedHeaderValue

if TYPE_CHECKING:
    from .session import HealthcodeSession


def bearer_header(session: HealthcodeSession) -> MaskedHeaderValue:
    """``Bearer <current token>``, masked wherever it is logged."""
    return MaskedHeaderValue(session.access_token().authorization_header)


class _BearerAuth:
    """What both adapters do: put the current, masked token in the request's headers."""

    def __init__(self, session: HealthcodeSession) -> None:
        self._session = session

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = bearer_header(self._session)
        return request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self._session.config.client_id!r})"


class HealthcodeHttpxAuth(_BearerAuth):
    """``httpx.Client(auth=HealthcodeHttpxAuth(session))`` sends ``Authorization: Bearer ...``."""


class HealthcodeRequestsAuth(_BearerAuth):
    """``requests.get(url, auth=HealthcodeRequestsAuth(session))``, or RequestsLibrary's
    ``Create Custom Session  auth=...``: sends ``Authorization: Bearer ...``.

    Written against ``requests`` directly rather than requests-oauthlib's ``OAuth2``: that class
    refuses plain-http URLs unless the process-wide ``OAUTHLIB_INSECURE_TRANSPORT`` switch is set
    (the local sandbox is http on loopback) and needs the token as a plain dictionary, whereas this
    asks the session on every request, so a renewed token is used as soon as it exists.
    """
