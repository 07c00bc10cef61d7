"""Use the token without holding it: an ``httpx.Auth`` that asks the session on every request.

Each request gets a currently valid token (renewed when near expiry), so long-running bots never
send an expired one, and the token never sits in a variable of the caller's.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from .session import HealthcodeSession


class HealthcodeHttpxAuth(httpx.Auth):
    """``httpx.Client(auth=HealthcodeHttpxAuth(session))`` sends ``Authorization: Bearer ...``."""

    def __init__(self, session: HealthcodeSession) -> None:
        self._session = session

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._session.access_token().authorization_header
        yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self._session.client.config.client_id!r})"
