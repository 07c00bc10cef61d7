"""Use the token without holding it: an httpx auth that asks the session on every request.

Each request gets a currently valid token (renewed when near expiry), so long-running bots never
send an expired one, and the token never sits in a variable of the caller's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import HealthcodeSession


class HealthcodeHttpxAuth:
    """``httpx.Client(auth=HealthcodeHttpxAuth(session))`` sends ``Authorization: Bearer ...``.

    httpx accepts any callable that takes and returns the request as an auth, so this class needs
    no httpx import of its own (keeping ``import HealthcodeLibrary`` light).
    """

    def __init__(self, session: HealthcodeSession) -> None:
        self._session = session

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = self._session.access_token().authorization_header
        return request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self._session.client.config.client_id!r})"
