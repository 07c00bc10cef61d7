"""The authorisation of one bot: a pending sign-in, its captured code, and the current token.

This is the state machine behind the keywords and the CLI:
``start_sign_in`` -> ``accept_redirect`` -> ``access_token`` (redeems the code once, then hands
out the token while it is valid and renews it with the refresh token when it is not). With a
:class:`~healthcode_auth.token_cache.TokenCache` the token is shared with later runs and other
robots: a valid cached token is returned with no network request at all, and renewal happens
under the cache's cross-process lock, once for all robots waiting on it.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

from .access_token import claims_of
from .authorization import AuthorizationCode, AuthorizationRequest, parse_redirect
from .client import HealthcodeAuthClient
from .config import HealthcodeConfig
from .discovery import parse_metadata
from .errors import HealthcodeAuthError, InvalidGrantError, NoValidTokenError
from .redaction import REDACTOR
from .token_cache import CachedAuthorisation, TokenCache, cache_key
from .tokens import Token

DEFAULT_EXPIRY_MARGIN = 300.0


@dataclass
class _State:
    sign_in: AuthorizationRequest | None = None
    code: AuthorizationCode | None = field(default=None, repr=False)
    token: Token | None = None


class HealthcodeSession:
    """One bot's authorisation, in memory and optionally in a shared token cache; thread-safe."""

    def __init__(self, client: HealthcodeAuthClient, *, cache: TokenCache | None = None,
                 expiry_margin: float = DEFAULT_EXPIRY_MARGIN,
                 sign_in_hint: str = "A supervisor must sign in first") -> None:
        self.client = client
        self.cache = cache
        self.expiry_margin = expiry_margin
        self.sign_in_hint = sign_in_hint
        self._lock = threading.RLock()
        self._state = _State()

    @classmethod
    def from_config(cls, config: HealthcodeConfig, *, sign_in_hint: str = "A supervisor must sign in first",
                    ) -> HealthcodeSession:
        """A session with the configuration's client, token cache and expiry margin."""
        path = config.token_cache_path
        return cls(HealthcodeAuthClient(config), cache=None if path is None else TokenCache(path),
                   expiry_margin=config.expiry_margin, sign_in_hint=sign_in_hint)

    @property
    def cache_key(self) -> str:
        return cache_key(self.client.config.discovery_url, self.client.config.client_id)

    @property
    def pending_sign_in(self) -> AuthorizationRequest | None:
        return self._state.sign_in

    @property
    def token(self) -> Token | None:
        """The token in memory, valid or not, without network calls or cache reads."""
        return self._state.token

    def current_token(self) -> Token | None:
        """The current token, valid or not: a just-captured code is redeemed first, then the
        memory, then the cache are asked. Never renews."""
        with self._lock:
            if self._state.code is not None:
                return self.access_token()
            if self._state.token is None and self.cache is not None:
                entry = self.cache.load(self.cache_key)
                if entry is not None:
                    self._adopt(entry)
            return self._state.token

    @staticmethod
    def claims(token: Token) -> dict[str, Any]:
        """The token's claims. No request: every token was verified when it was received, and
        tokens from the cache come from this machine's encrypted store."""
        return claims_of(token.access_token)

    def start_sign_in(self) -> AuthorizationRequest:
        """A new sign-in replaces any pending one (its redirect will no longer be accepted)."""
        sign_in = self.client.start_sign_in()
        REDACTOR.add(sign_in.code_verifier)
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
            self._state.sign_in = None  # a sign-in's redirect is accepted once, right or wrong
            code = parse_redirect(redirect_url, sign_in)
            REDACTOR.add(code.code)
            self._state.code = code
            return code

    def access_token(self) -> Token:
        """A valid token: the captured code's (redeemed once), the current one, or a renewed one."""
        with self._lock:
            if self._state.code is not None:
                code, self._state.code = self._state.code, None
                return self._keep(self.client.exchange_code(code))
            token = self._state.token
            if token is not None and token.is_valid(self.expiry_margin):
                return token
            if self.cache is None:
                return self._renew(token)
            # Reading needs no lock (writes replace the file atomically): the common case, a valid
            # cached token, costs one small file read and no cross-process coordination.
            entry = self.cache.load(self.cache_key)
            if entry is not None and entry.token.is_valid(self.expiry_margin):
                self._adopt(entry)
                return entry.token
            with self.cache.locked():
                # Another robot may have renewed it while this one waited for the lock.
                entry = self.cache.load(self.cache_key)
                if entry is not None:
                    self._adopt(entry)
                    token = entry.token
                    if token.is_valid(self.expiry_margin):
                        return token
                elif token is not None:
                    # Removed since this robot read it (healthcode-auth logout): do not renew it back.
                    self._state.token = None
                    raise NoValidTokenError(f"The Healthcode authorisation was removed from the token cache "
                                            f"(signed out). {self.sign_in_hint}.")
                return self._renew(token)

    def set_token(self, token: Token) -> None:
        with self._lock:
            self._keep(token)

    def clear(self) -> Token | None:
        """Forget the sign-in, the code and the token, in memory and in the cache; returns the token."""
        with self._lock:
            token = self._state.token
            self._state = _State()
            if self.cache is not None:
                with self.cache.locked():
                    entry = self.cache.load(self.cache_key)
                    self.cache.remove(self.cache_key)
                if token is None and entry is not None:
                    token = entry.token
            return token

    def _renew(self, token: Token | None) -> Token:
        if token is None:
            raise NoValidTokenError(f"There is no Healthcode access token yet. {self.sign_in_hint}.")
        if not token.refresh_token:
            raise NoValidTokenError(f"The Healthcode access token has expired (or will within the expiry "
                                    f"margin) and there is no refresh token to renew it. {self.sign_in_hint}.")
        try:
            return self._keep(self.client.refresh(token.refresh_token))
        except InvalidGrantError as error:
            self._state.token = None
            if self.cache is not None:
                self.cache.remove(self.cache_key)
            raise NoValidTokenError(f"Supervisor re-authorisation required: the SSO server refused to renew "
                                    f"the token ({error.error}). {self.sign_in_hint}.") from None

    def _adopt(self, entry: CachedAuthorisation) -> None:
        """Use a cached authorisation, and its discovery document, so no request is needed."""
        token = entry.token
        REDACTOR.add(token.access_token, token.refresh_token)
        self._state.token = token
        if entry.discovery:
            # A stale document is skipped: discovery is then fetched when renewal needs it.
            with contextlib.suppress(HealthcodeAuthError):
                self.client.use_metadata(parse_metadata(entry.discovery, entry.discovery_url))

    def _keep(self, token: Token) -> Token:
        REDACTOR.add(token.access_token, token.refresh_token, token.id_token)
        self._state.token = token
        if self.cache is not None:
            claims = self.claims(token)
            metadata = self.client.metadata
            entry = CachedAuthorisation(self.client.config.discovery_url, self.client.config.client_id, token,
                                        issuer=metadata.issuer, claims=claims, discovery=metadata.to_dict())
            with self.cache.locked():
                self.cache.store(entry)
        return token
