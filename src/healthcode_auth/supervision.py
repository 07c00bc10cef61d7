"""Floor 6: what the supervision record says of an event: who authorised what, when, from where.

Built from the token's ``sub`` and ``name`` (read when it was received and verified), the
settings, this machine and OS user, and what the front end says of itself (the suite, the
command). Never a token, code or secret. The store authenticates and bounds it
(:mod:`.storage.record`); front ends print it escaped.
"""

from __future__ import annotations

import getpass
import platform
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

from .config import HealthcodeConfig
from .protocol.token import Token


def supervision_event(event: str, token: Token | None, config: HealthcodeConfig,
                      describe_actor: Callable[[], Mapping[str, str]]) -> dict[str, str]:
    """The record of ``event`` (signed-in, renewed, renewal-refused, signed-out) for ``token``."""
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "event": event,
             "environment": config.environment, "client_id": config.client_id,
             "supervisor": (token.supervisor if token else None) or "(unknown)", "machine": platform.node(),
             "user": _os_user(), **_actor(describe_actor)}
    if token is not None and token.supervisor_name:
        entry["supervisor_name"] = token.supervisor_name
    return entry


def _actor(describe_actor: Callable[[], Mapping[str, str]]) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in describe_actor().items() if v}
    except Exception:  # a front end's description must never break a sign-in
        return {}


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in this environment (some containers, services)
        return "(unknown)"
