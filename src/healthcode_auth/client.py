"""The sign-in, end to end, for one configuration: discovery, request, exchange, verify.

Like MSAL's auth-code flow, a sign-in is an object created at the start
(:meth:`HealthcodeAuthClient.start_sign_in`) and consumed at the end
(:meth:`HealthcodeAuthClient.complete_sign_in`). The client itself holds only the configuration,
the HTTP connection pool and the server's metadata (given by its owner, e.g. kept in the token
store, or fetched on first use and then kept by this client: no process-wide cache). It turns
configuration into the explicit values the protocol functions take.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from typing import Any

from .config import HealthcodeConfig
from .errors import DiscoveryError, KeySetUnavailableError, TokenRequestError, TokenVerificationError, TransportError
from .protocol.authorization_request import AuthorizationCode, AuthorizationRequest, parse_redirect, start_authorization
from .protocol.expiry import sane_expiry, settle_expiry
from .protocol.jwt_verification import JwksCache, claims_of, looks_like_jwt, verify_access_token, verify_id_token
from .protocol.provider_metadata import ProviderMetadata, kind_of, parse_metadata
from .protocol.token import Token
from .protocol.token_endpoint import (
    ClientAuthentication,
    TokenRequest,
    authorization_code_request,
    client_authentication,
    parse_error_response,
    parse_token_response,
    refresh_token_request,
    revocation_request,
)
from .redaction import REDACTOR
from .transport import HttpTransport

log = logging.getLogger("healthcode_auth")
# A code exchange that may have reached the server is never repeated (RFC 6749 section 4.1.2:
# a code is single-use, and a second use may revoke what the first one issued).
NOT_RESENT = "The authorization code cannot be safely sent again: a supervisor must sign in again."


def fetch_metadata(candidates: Sequence[str], transport: HttpTransport) -> ProviderMetadata:
    """GET and validate the discovery document at the first of ``candidates`` that has one.

    An issuer URL gives two candidates (OpenID Connect Discovery, then RFC 8414); when neither
    answers with a document, the error names both and what each answered.
    """
    urls = tuple(candidates)
    answers: list[str] = []
    for url in urls:
        response = transport.get(url, "discovery document")
        if response.status_code == 200 or len(urls) == 1:
            if response.status_code != 200:
                raise DiscoveryError(
                    f"The discovery document at {url} answered HTTP {response.status_code}. "
                    "Check the environment setting, or try again later if the SSO server is down."
                )
            metadata = parse_metadata(response.json(), url)
            if len(urls) > 1:
                log.info("Found the SSO's discovery document at %s (%s).", url, kind_of(url))
            return metadata
        answers.append(f"{url} answered HTTP {response.status_code}")
    raise DiscoveryError(
        f"No discovery document was found for this issuer: {'; '.join(answers)}. Check the "
        "environment setting: give the SSO's issuer URL, or its discovery document's URL."
    )


class HealthcodeAuthClient:
    """Signs a bot in to Healthcode for one client registration."""

    def __init__(
        self,
        config: HealthcodeConfig,
        *,
        transport: HttpTransport | None = None,
        metadata: ProviderMetadata | None = None,
    ) -> None:
        self.config = config
        REDACTOR.add_basic_credentials(config.client_id, config.client_secret)  # every spelling, Basic too
        if config.basic_auth_user:
            REDACTOR.add_basic_credentials(config.basic_auth_user, config.client_secret)
        self.transport = transport or HttpTransport(
            timeout=config.timeout, ca_bundle=config.ca_bundle, proxy=config.proxy
        )
        self._metadata = metadata
        self._fetching = threading.Lock()  # threads sharing this client fetch the document once
        self._jwks = JwksCache(self._get_jwks)

    def __enter__(self) -> HealthcodeAuthClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    @property
    def metadata(self) -> ProviderMetadata:
        """The SSO server's validated metadata: as given, else fetched once by this client."""
        if self._metadata is None:
            with self._fetching:
                if self._metadata is None:
                    self._metadata = fetch_metadata(self.config.discovery_urls, self.transport)
        return self._metadata

    def use_metadata(self, metadata: ProviderMetadata) -> None:
        """Use metadata kept elsewhere (e.g. in the token store) unless this client already has some."""
        with self._fetching:
            if self._metadata is None:
                self._metadata = metadata

    @property
    def _authentication(self) -> ClientAuthentication:
        return client_authentication(
            self.config.client_id,
            self.config.client_secret,
            self.metadata.token_endpoint_auth_methods_supported,
            self.config.basic_auth_user,
        )

    def revoke(self, token: Token) -> bool:
        """Revoke the refresh token (or else the access token) where the server supports it (RFC 7009).

        Returns False when the server has no revocation endpoint; a refusal raises.
        """
        endpoint = self.metadata.revocation_endpoint
        if endpoint is None:
            return False
        value, hint = (
            (token.refresh_token, "refresh_token") if token.refresh_token else (token.access_token, "access_token")
        )
        request = revocation_request(endpoint, self._authentication, value, hint)
        response = self.transport.post_form(request.url, "revocation endpoint", request.form, request.headers)
        if response.status_code != 200:
            raise parse_error_response(response.status_code, response.content_type, response.json(), "revocation")
        return True

    def start_sign_in(self) -> AuthorizationRequest:
        """A new sign-in: its ``url`` is the page the supervisor must open."""
        metadata = self.metadata
        return start_authorization(
            authorization_endpoint=metadata.authorization_endpoint,
            issuer=metadata.issuer,
            client_id=self.config.client_id,
            redirect_uri=self.config.redirect_uri,
            scope=self.config.scope,
            require_iss=metadata.authorization_response_iss_parameter_supported,
        )

    def complete_sign_in(self, request: AuthorizationRequest, redirect_url: str) -> Token:
        """Check the redirect the supervisor's browser reached and redeem its code."""
        return self.exchange_code(parse_redirect(redirect_url, request))

    def exchange_code(self, grant: AuthorizationCode) -> Token:
        """Redeem an authorization code once. It is never resent: a code is single-use."""
        request = authorization_code_request(
            self.metadata.token_endpoint,
            self._authentication,
            code=grant.code,
            redirect_uri=grant.request.redirect_uri,
            code_verifier=grant.request.code_verifier,
        )
        try:
            token = self._request_token(request)
        except TransportError as error:
            raise TransportError(f"{error} {NOT_RESENT}") from None
        except TokenRequestError as error:
            if error.status_code is None or error.status_code < 500:
                raise
            raise TokenRequestError(
                f"{error} {NOT_RESENT}", error.error, error.description, error.status_code
            ) from None
        return self.verify(self._checked_id_token(token, grant))

    def _checked_id_token(self, token: Token, grant: AuthorizationCode) -> Token:
        """Keep an ID token only when it was asked for (nonce sent) and it verifies."""
        if token.id_token is None:
            return token
        nonce, jwks_uri = grant.request.nonce, self.metadata.jwks_uri
        if nonce is None or jwks_uri is None or self.config.verify_access_token == "never":
            return dataclasses.replace(token, id_token=None)
        verify_id_token(
            token.id_token,
            jwks=self._jwks,
            jwks_uri=jwks_uri,
            issuer=self.metadata.issuer,
            client_id=self.config.client_id,
            nonce=nonce,
            leeway=self.config.leeway,
        )
        return token

    def refresh(self, refresh_token: str) -> Token:
        """Renew the access token with a refresh token (RFC 6749 section 6), and verify the answer:
        ``verify(request_refresh(refresh_token))``."""
        return self.verify(self.request_refresh(refresh_token))

    def request_refresh(self, refresh_token: str) -> Token:
        """POST the refresh grant (RFC 6749 section 6) and return the SSO's answer, parsed but not
        verified.

        This is the moment the old refresh token may have been spent (a server that rotates refresh
        tokens invalidates it now), so nothing is requested after the POST: no key set, no second
        try. The token's expiry comes from ``expires_in`` as far as it is sane (else None) and its
        supervisor is not known yet: :meth:`verify` settles both. When the answer holds no new
        refresh token, the old one stays valid and is kept in the token returned.
        """
        request = refresh_token_request(self.metadata.token_endpoint, self._authentication, refresh_token)
        token = self._request_token(request)
        if token.refresh_token is None:
            # RFC 6749 section 6: without a new refresh token the old one stays valid.
            token = dataclasses.replace(token, refresh_token=refresh_token)
        return token

    def verify(self, token: Token) -> Token:
        """Check a token the SSO issued and complete what is known about it: its claims verified as
        ``verify_access_token`` says, its expiry settled (:func:`~.protocol.expiry.settle_expiry`,
        logging a warning when the answer's ``expires_in`` or the token's ``exp`` had to be
        worked around) and its supervisor read from ``sub`` and ``name``.

        Raises :class:`~.errors.TokenVerificationError` (:class:`~.errors.ClockSkewError` when the
        clocks disagree) or :class:`~.errors.TokenRequestError` (no sane expiry) for a token that
        must not be used, and :class:`~.errors.KeySetUnavailableError` when the key set cannot be
        fetched just now: the token is then not known to be bad, and may be verified later.
        """
        claims = self.claims(token)
        exp = claims.get("exp")
        if token.expires_in is None and token.expires_at is not None:
            # Settled before (a token read from a store, or built by hand): its exp may only shorten it.
            from_exp = sane_expiry(exp, token.issued_at)
            expires_at = token.expires_at if from_exp is None else min(token.expires_at, from_exp)
        else:
            settled = settle_expiry(token.expires_in, exp, token.issued_at)
            for warning in settled.warnings:
                log.warning("The token's expiry: %s", warning)
            expires_at = settled.expires_at
        sub, name = claims.get("sub"), claims.get("name")
        return dataclasses.replace(
            token,
            expires_at=expires_at,
            expires_in=None,
            supervisor=sub if isinstance(sub, str) else None,
            supervisor_name=name if isinstance(name, str) else None,
        )

    def claims(self, token: Token) -> dict[str, Any]:
        """The access token's claims, verified when the configuration asks for it."""
        if self._should_verify(token):
            metadata = self.metadata
            assert metadata.jwks_uri is not None
            return verify_access_token(
                token.access_token,
                jwks=self._jwks,
                jwks_uri=metadata.jwks_uri,
                issuer=metadata.issuer,
                leeway=self.config.leeway,
                audience=self.config.audience,
                received_at=token.issued_at,
                strict_type=self.config.verify_access_token == "always",
            )
        return claims_of(token.access_token)

    def verified_claims(self, token: Token) -> dict[str, Any] | None:
        """The access token's claims when they can be verified (a JWT, a key set), else None."""
        return self.claims(token) if self._should_verify(token) else None

    def _should_verify(self, token: Token) -> bool:
        policy = self.config.verify_access_token
        if policy == "never":
            return False
        if self.config.audience is not None and not looks_like_jwt(token.access_token):
            raise TokenVerificationError(
                "The access token is opaque, so its audience cannot be checked. Remove "
                "the audience setting, or use an SSO that issues JWT access tokens."
            )
        if self.metadata.jwks_uri is None:
            if policy == "always" or self.config.audience is not None:
                raise TokenVerificationError(
                    "The SSO server publishes no jwks_uri, so the access token (and its "
                    "audience) cannot be verified. Set verify_access_token to 'auto' and "
                    "remove the audience setting."
                )
            return False
        return policy == "always" or looks_like_jwt(token.access_token)

    def _request_token(self, request: TokenRequest) -> Token:
        response = self.transport.post_form(request.url, "token endpoint", request.form, request.headers)
        return parse_token_response(response.status_code, response.content_type, response.json())

    def _get_jwks(self, jwks_uri: str) -> Any:
        """The key set document. Not fetched just now (unreachable, too slow, 5xx after the
        transport's retries): KeySetUnavailableError, transient. Not there or not a key set (4xx,
        not JSON): TokenVerificationError, permanent."""
        try:
            response = self.transport.get(jwks_uri, "key set (JWKS)")
        except TransportError as error:
            raise KeySetUnavailableError(
                f"The SSO's key set (JWKS) could not be fetched, so the access token "
                f"cannot be verified just now: {error}"
            ) from None
        if response.status_code >= 500:
            raise KeySetUnavailableError(
                f"The key set (JWKS) at {jwks_uri} answered HTTP {response.status_code}: "
                "the SSO server is failing, so the access token cannot be verified just "
                "now. Try again in a few minutes."
            )
        if response.status_code != 200:
            raise TokenVerificationError(
                f"The key set at {jwks_uri} answered HTTP {response.status_code}; "
                "the access token cannot be verified. Check the environment setting, or "
                "report it to the SSO's operator."
            )
        document = response.json()
        if not isinstance(document, dict):
            raise TokenVerificationError(
                f"The key set at {jwks_uri} is not a JSON object, so the access token "
                "cannot be verified. Check the environment setting."
            )
        return document
