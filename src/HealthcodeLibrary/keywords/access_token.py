"""Keywords for the access token: get it, check it, inspect its non-secret parts, forget it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword
from robot.api.types import Secret
from robot.utils import secs_to_timestr

from healthcode_auth.errors import NoValidTokenError, TokenAssertionError, escaped
from healthcode_auth.protocol.token import Token, TokenStatus, describe_expiry

from ..argument_types import ExpiryFormat
from ..base import LibraryComponent


class AccessTokenKeywords(LibraryComponent):
    @keyword(tags=["token"])
    def get_healthcode_access_token(self, wait_for_authorisation: timedelta | None = None) -> Secret:
        """Returns the Healthcode access token as a ``Secret``.

        Exchanges the code captured by `Wait For Supervisor Authorisation` (once), or returns the
        current token while it is valid, renewing it with the refresh token when it is about to
        expire. Never opens a browser: without a usable token it fails and says that a supervisor
        must sign in, and how; or, with ``wait_for_authorisation`` (default: the library's setting
        of that name), it tells the supervisors (the ``notify`` setting) and waits up to that long
        for one to sign in elsewhere, then returns the new token (see `The daily cycle`).

        The value is a [https://robotframework.org/robotframework/latest/RobotFrameworkUserGuide.html#secret-type|Secret],
        so Robot Framework never logs it. Pass it to keywords that accept ``Secret`` values, or
        use `Get Healthcode Requests Auth` to call Healthcode's APIs without handling it at all.

        Example:
        | ${token} =    `Get Healthcode Access Token`
        | ${token} =    `Get Healthcode Access Token`    wait_for_authorisation=30 minutes
        """
        wait = None if wait_for_authorisation is None else wait_for_authorisation.total_seconds()
        token = self.session.access_token(wait=wait)
        expires = f": the token expires {describe_expiry(token.expires_at)}" if token.expires_at is not None else ""
        logger.info(f"Healthcode authorisation{self._owner(token)}{expires}.")
        return Secret(token.access_token)

    @staticmethod
    def _owner(token: Token) -> str:
        """`` of supervisor sub (name)`` for the log."""
        if not token.supervisor:
            return ""
        name = f" ({escaped(token.supervisor_name)})" if token.supervisor_name else ""
        return f" of supervisor {escaped(token.supervisor)}{name}"

    @keyword(tags=["token"])
    def healthcode_access_token_should_be_valid(self, min_remaining: timedelta = timedelta(0)) -> None:
        """Fails unless the library holds an access token that is valid and not yet due for renewal.

        Valid means what `Get Healthcode Access Token` means by it: the token has more than the
        library's ``expiry_margin`` left (default 5 minutes), and, with ``min_remaining``, that
        much more. A token within the margin fails with a message saying that renewal is due and
        when the token expires: `Get Healthcode Access Token` would renew it.

        Never renews the token and makes no network request (except to redeem a code that
        `Wait For Supervisor Authorisation` just captured): use it to check, before a long task,
        that the authorisation will last.

        Example:
        | `Healthcode Access Token Should Be Valid`
        | `Healthcode Access Token Should Be Valid`    min_remaining=2 hours
        """
        session = self.session
        token = session.current_token()
        wanted = min_remaining.total_seconds()
        status = session.status(token, min_remaining=wanted)
        if status is TokenStatus.VALID:
            return
        if token is None:
            raise TokenAssertionError(f"There is no Healthcode access token. {session.sign_in_hint}.")
        left = token.seconds_left() or 0.0
        state = "has expired" if left <= 0 else f"expires in {secs_to_timestr(int(left), compact=False)}"
        margin = secs_to_timestr(session.expiry_margin, compact=False)
        if left > session.expiry_margin:
            raise TokenAssertionError(
                f"The Healthcode access token {state}; at least "
                f"{secs_to_timestr(wanted, compact=False)} was required beyond the expiry "
                f"margin of {margin}. {session.sign_in_hint}."
            )
        if status is TokenStatus.RENEWAL_DUE:
            raise TokenAssertionError(
                f"The Healthcode access token {state}, within the expiry margin of {margin}: "
                "renewal is due. 'Get Healthcode Access Token' renews it."
            )
        raise TokenAssertionError(
            f"The Healthcode access token {state}, within the expiry margin of {margin}, and "
            f"there is no refresh token to renew it. {session.sign_in_hint}."
        )

    @keyword(tags=["token"])
    def get_healthcode_token_expiry(self, result_format: ExpiryFormat = ExpiryFormat.datetime) -> datetime | str | None:
        """Returns when the access token expires (None when unknown).

        With ``result_format=datetime`` (the default) a local ``datetime``, for comparisons and
        date arithmetic; with ``result_format=text`` the text the library logs and
        ``healthcode-auth status`` prints: local time to the second and the time left, such as
        ``2026-11-29T06:53:27+00:00 (23 h 59 min left)``.

        Example:
        | ${expiry} =    `Get Healthcode Token Expiry`    result_format=text
        | Log    The token expires ${expiry}    console=True
        | ${expiry} =    `Get Healthcode Token Expiry`
        | Should Be True    $expiry > datetime.datetime.now(datetime.timezone.utc)
        """
        token = self._current()
        if token.expires_at is None:
            return None
        if result_format is ExpiryFormat.text:
            return describe_expiry(token.expires_at)
        return datetime.fromtimestamp(token.expires_at).astimezone()

    @keyword(tags=["token"])
    def get_healthcode_token_claims(self) -> dict[str, Any]:
        """Returns the access token's claims, such as ``sub``, ``iss``, ``aud``, ``exp`` and ``scope``.

        The claims are the token's readable, non-secret payload, checked when the token was
        received (see ``verify_access_token``); reading them makes no request. An opaque token has
        no claims: the result is then an empty dictionary.

        Example:
        | ${claims} =    `Get Healthcode Token Claims`
        | Log    Signed in by ${claims}[sub]
        """
        return self.session.claims(self._current())

    @keyword(tags=["token"])
    def clear_healthcode_authorisation(self) -> None:
        """Forgets the pending sign-in, the captured code and the access token.

        After this, `Get Healthcode Access Token` fails until a supervisor signs in again.

        Example:
        | `Clear Healthcode Authorisation`
        """
        self.session.clear()
        logger.info("Healthcode authorisation cleared.")

    def _current(self) -> Token:
        token = self.session.current_token()
        if token is None:
            raise NoValidTokenError(f"There is no Healthcode access token. {self.session.sign_in_hint}.")
        return token
