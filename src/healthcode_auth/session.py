"""The authorisation of one bot: a pending sign-in, its captured code, and the current token.

This is the state machine behind the keywords and the CLI:
``start_sign_in`` -> ``accept_redirect`` -> ``access_token`` (exchanges the code once, then hands
out the token while it is valid and renews it with the refresh token when it is not).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .authorization import AuthorizationCode, AuthorizationRequest, parse_redirect
from .client import HealthcodeAuthClient
from .errors import InvalidGrantError, NoValidTokenError
from .redaction import REDACTOR
from .tokens import Token

DEFAULT_EXPIRY_MARGIN = 300.0


@dataclass
class _State:
    sign_in: AuthorizationRequest | None = None
    code: AuthorizationCode | None = field(default=None, repr=False)
    token: Token | None = None


class HealthcodeSession:
    """Holds one bot's authorisation in memory; thread-safe."""

    def __init__(self, client: HealthcodeAuthClient, *, expiry_margin: float = DEFAULT_EXPIRY_MARGIN,
                 sign_in_hint: str = "A supervisor must sign in first") -> None:
        self.client = client
        self.expiry_margin = expiry_margin
        self.sign_in_hint = sign_in_hint
        self._lock = threading.RLock()
        self._state = _State()

    @property
    def pending_sign_in(self) -> AuthorizationRequest | None:
        return self._state.sign_in

    @property
    def has_code(self) -> bool:
        return self._state.code is not None

    @property
    def token(self) -> Token | None:
        """The current token, valid or not, without network calls."""
        return self._state.token

    def current_token(self) -> Token | None:
        """The current token, valid or not; a just-captured code is redeemed first."""
        with self._lock:
            if self._state.code is not None:
                return self.access_token()
            return self._state.token

    def start_sign_in(self) -> AuthorizationRequest:
        """A new sign-in replaces any pending one (its redirect will no longer be accepted)."""
        sign_in = self.client.start_sign_in()
        REDACTOR.add(sign_in.code_verifier, sign_in.state)
        with self._lock:
            self._state.sign_in = sign_in
            self._state.code = None
        return sign_in

    def accept_redirect(self, redirect_url: str) -> AuthorizationCode:
        """Check the redirect against the pending sign-in and keep its code for the exchange."""
        with self._lock:
            sign_in = self._state.sign_in
            if sign_in is None:
                raise NoValidTokenError("There is no sign-in in progress to complete. Open the Healthcode "
                                        "sign-in page first.")
            code = parse_redirect(redirect_url, sign_in)
            REDACTOR.add(code.code)
            self._state.code = code
            return code

    def access_token(self) -> Token:
        """A valid token: the current one, the captured code's (exchanged once) or a renewed one."""
        with self._lock:
            state = self._state
            if state.code is not None:
                code, state.code, state.sign_in = state.code, None, None
                return self._keep(self.client.exchange_code(code))
            token = state.token
            if token is not None and token.is_valid(self.expiry_margin):
                return token
            if token is not None and token.refresh_token:
                try:
                    return self._keep(self.client.refresh(token.refresh_token))
                except InvalidGrantError as error:
                    state.token = None
                    raise NoValidTokenError(f"Supervisor re-authorisation required: the SSO server refused "
                                            f"to renew the token ({error.error}). {self.sign_in_hint}.") from None
            if token is not None:
                raise NoValidTokenError(f"The Healthcode access token has expired and cannot be renewed. "
                                        f"{self.sign_in_hint}.")
            raise NoValidTokenError(f"There is no Healthcode access token yet. {self.sign_in_hint}.")

    def set_token(self, token: Token) -> None:
        self._keep(token)

    def clear(self) -> None:
        """Forget the sign-in, the code and the token."""
        with self._lock:
            self._state = _State()

    def _keep(self, token: Token) -> Token:
        REDACTOR.add(token.access_token, token.refresh_token, token.id_token)
        with self._lock:
            self._state.token = token
        return token
