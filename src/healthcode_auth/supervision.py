"""What the supervision record says of an event: who authorised what, when, from where.

Built from the token's ``sub`` and ``name`` (read when it was received and verified), the
settings, this machine and OS user, and what the front end says of itself (the suite, the
command). Never a token, code or secret. The store authenticates and bounds it
(:mod:`.storage.record`); front ends print it escaped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from .config import HealthcodeConfig
from .errors import SupervisorNotAllowedError, escaped
from .protocol.token import Token


def supervision_event(
    event: str, token: Token | None, config: HealthcodeConfig, describe_actor: Callable[[], Mapping[str, str]]
) -> dict[str, str]:
    """The record of ``event`` (signed-in, renewed, renewal-refused, signed-out, refused) for ``token``."""
    import platform  # here: a robot that records nothing (a cached token) never loads it

    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "event": event,
        "environment": config.environment,
        "client_id": config.client_id,
        "supervisor": (token.supervisor if token else None) or "(unknown)",
        "machine": platform.node(),
        "user": _os_user(),
        **_actor(describe_actor),
    }
    if token is not None and token.supervisor_name:
        entry["supervisor_name"] = token.supervisor_name
    return entry


def _actor(describe_actor: Callable[[], Mapping[str, str]]) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in describe_actor().items() if v}
    except Exception:  # a front end's description must never break a sign-in
        return {}


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in this environment (some containers, services)
        return "(unknown)"


def check_supervisor(config: HealthcodeConfig, claims: Mapping[str, Any] | None) -> None:
    """Whether the account that signed in may authorise the robots: nothing to check without a
    ``supervisors`` list; with one, ``claims`` (the access token's, verified; None when it could
    not be verified) must name an account on it (:class:`SupervisorNotAllowedError` if not)."""
    if not config.supervisors:
        return
    claim = config.supervisor_claim
    if claims is None:
        raise SupervisorNotAllowedError(
            "The access token could not be verified (it is not a JWT, or the SSO publishes no key set), so it cannot "
            f"prove who signed in, and only the accounts in the supervisors setting may authorise the robots of "
            f"{escaped(config.display_name, 100)}: nothing was stored. Remove the supervisors setting to let any "
            "account the SSO accepts authorise them.",
            "",
            claim,
        )
    value = claims.get(claim)
    account = value if isinstance(value, str) else "" if value is None else json.dumps(value)[:256]
    if not isinstance(value, str) or account not in config.supervisors:  # a number or list never matches text
        shown = escaped(account, 256) if account else f"none: the token has no '{claim}' claim"
        raise SupervisorNotAllowedError(
            f"The account that signed in ({shown}) may not authorise the robots of {escaped(config.display_name, 100)} "
            f"in {config.environment}: nothing was stored. If it should, add it to the supervisors setting "
            f"(HEALTHCODE_SUPERVISORS, matched against the token's '{claim}' claim); otherwise ask a supervisor on "
            "the list to sign in.",
            account,
            claim,
        )
