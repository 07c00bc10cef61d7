"""Who may authorise the robots, checked: the accounts allowed (``supervisors``) and the
verified claim of the access token they are matched against (``supervisor_claim``, default ``sub``).

Without a list, any account the SSO lets sign in for this client authorises the robots, as
Healthcode's own page describes. With one, every way an authorisation gets into the store (the
portal, ``healthcode-auth login``, a suite's sign-in) stores only a token whose claim names an
account on the list, in a JWT this library verified (an unverifiable token proves nobody).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ConfigurationError

SUPERVISOR_ENV_VARS: Mapping[str, str] = {
    "supervisors": "HEALTHCODE_SUPERVISORS",
    "supervisor_claim": "HEALTHCODE_SUPERVISOR_CLAIM",
}
MAX_SUPERVISORS = 1000
_ACCOUNT = re.compile(r"[^\x00-\x20\x7f,]{1,256}")  # no white space, control character or comma
_CLAIM = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _error(setting: str, problem: str) -> ConfigurationError:
    return ConfigurationError(setting, problem, SUPERVISOR_ENV_VARS[setting])


def check_supervisors(value: object, values: Mapping[str, Any]) -> object:
    """One or more account ids (the ``supervisor_claim`` values), separated by commas or white space."""
    if value is None or value == "" or value == ():
        return ()
    if isinstance(value, str):
        items = [item for item in re.split(r"[\s,]+", value.strip()) if item]
    elif isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value if item.strip()]
    else:
        raise _error("supervisors", "give the accounts allowed to authorise the robots, separated by commas")
    if len(items) > MAX_SUPERVISORS or not all(_ACCOUNT.fullmatch(item) for item in items):
        raise _error(
            "supervisors",
            f"give at most {MAX_SUPERVISORS} account ids (the '{values.get('supervisor_claim')}"
            "' claim of their tokens, as the refusal message shows it), separated by "
            "commas, each without spaces or control characters",
        )
    if values.get("verify_access_token") == "never":
        raise _error(
            "supervisors",
            "checking who signed in needs verified tokens: set verify_access_token to "
            "'auto' or 'always' (it is 'never')",
        )
    return tuple(dict.fromkeys(items))


# OpenID Connect's profile claims: the person signing in may change them, so they prove nobody.
EDITABLE_CLAIMS = frozenset(
    {
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
    }
)


def check_supervisor_claim(value: object, _: Mapping[str, Any]) -> object:
    if not isinstance(value, str) or not _CLAIM.fullmatch(value.strip()):
        raise _error(
            "supervisor_claim",
            "give the name of the access token's claim that names the account, such "
            "as 'sub' (the default), 'email' or 'preferred_username'",
        )
    if value.strip() in EDITABLE_CLAIMS:
        raise _error(
            "supervisor_claim",
            f"'{value.strip()}' is a claim the person signing in may change, so it "
            "proves nobody: use 'sub' (the default), or an identifier the SSO sets",
        )
    return value.strip()


SUPERVISOR_CHECKS = (("supervisor_claim", check_supervisor_claim), ("supervisors", check_supervisors))
