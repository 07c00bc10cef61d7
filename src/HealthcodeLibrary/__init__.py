"""Robot Framework keywords for Healthcode's supervised bot sign-in."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from robot.api.types import Secret
from robotlibcore import DynamicCore

from healthcode_auth.config import ENV_VARS, HealthcodeConfig
from healthcode_auth.errors import ConfigurationError, MissingSettingError
from healthcode_auth.session import HealthcodeSession
from healthcode_auth.version import __version__

from .argument_types import BrowserOptions, BrowserType, TokenVerification
from .import_hints import ImportHints
from .keywords import AccessTokenKeywords, ApiCallKeywords, HttpClientKeywords, SignInKeywords
from .library_doc import INTRODUCTION
from .output_scrubber import OutputScrubber

if TYPE_CHECKING:
    from .sign_in_page import SignInPage

SIGN_IN_HINT = (
    "A supervisor must sign in: run 'healthcode-auth login' with a supervisor at the machine, or "
    "'Open Healthcode Login' and 'Wait For Supervisor Authorisation' (or 'Authorise Healthcode "
    "Supervisor') in a suite"
)


class HealthcodeLibrary(DynamicCore):  # type: ignore[misc]  # robotlibcore ships no type hints
    __doc__ = INTRODUCTION

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__
    ROBOT_LIBRARY_DOC_FORMAT = "ROBOT"
    # OutputScrubber masks known secrets in what Robot writes (see `Secrets`); ImportHints says which
    # extra brings a library a suite imports and lacks.
    ROBOT_LIBRARY_LISTENER = (OutputScrubber(), ImportHints())

    def __init__(
        self,
        client_id: str | None = None,
        redirect_uri: str | None = None,
        environment: str | None = None,
        client_secret: Secret | str | None = None,
        scope: str | None = None,
        token_cache: str | None = None,
        timeout: timedelta | None = None,
        ca_bundle: str | None = None,
        proxy: str | None = None,
        verify_access_token: TokenVerification | None = None,
        expiry_margin: timedelta | None = None,
        audience: str | None = None,
        leeway: timedelta | None = None,
        wait_for_authorisation: timedelta | None = None,
        notify: Secret | str | None = None,
        notify_escalation: Secret | str | None = None,
        client_name: str | None = None,
        portal_url: str | None = None,
        site_id: str | None = None,
        api_version: int | None = None,
        api_discovery: str | None = None,
        basic_auth_user: str | None = None,
        log_api_content: bool | None = None,
        supervisors: str | list[str] | None = None,
        supervisor_claim: str | None = None,
        browser: BrowserType = BrowserType.chromium,
        headless: bool = False,
        channel: str | None = None,
        executable_path: str | None = None,
        browser_args: list[str] | None = None,
    ) -> None:
        """Configures the client registration and how the sign-in browser is opened.

        | =Argument= | =Description= |
        | ``client_id`` | The client id Healthcode issued for this bot. |
        | ``redirect_uri`` | The exact post-authentication URL registered with Healthcode. |
        | ``environment`` | ``production``, ``uat``, or an issuer or discovery-document URL. |
        | ``client_secret`` | The client secret, if Healthcode issued one (a ``Secret``). Without it the bot signs in as a public client protected by PKCE. |
        | ``scope`` | Space-separated scopes to request, if any. |
        | ``token_cache`` | Path of the encrypted token cache shared with later and parallel runs; default a per-user path; a ``redis://`` or ``rediss://`` URL for a fleet (see `Fleets of robots`); ``off`` keeps tokens in memory only. See `Unattended runs`. |
        | ``timeout`` | Timeout of each HTTP request to the SSO (default 30 seconds). |
        | ``ca_bundle`` | PEM file of CA certificates to trust instead of the operating system's store. |
        | ``proxy`` | HTTP(S) proxy for the SSO requests and for a browser the library opens. |
        | ``verify_access_token`` | ``auto``, ``always`` or ``never``; see `TokenVerification`. |
        | ``expiry_margin`` | A token counts as expired this long before its expiry (default 5 minutes), absorbing clock skew and long steps. |
        | ``audience`` | When set, every access token must be a JWT naming this audience (``aud``); others are refused. |
        | ``leeway`` | How far a token's times (``iat``, ``nbf``, ``exp``) and this machine's clock may disagree when a token is received (default 5 minutes, at most 1 hour). Beyond it the token is refused with a message naming clock skew: correct the machine's clock (NTP) rather than raise this. |
        | ``wait_for_authorisation`` | When a supervisor must sign in, wait this long (e.g. ``30 minutes``) for one to sign in elsewhere (``healthcode-auth login``, the portal) instead of failing: see `The daily cycle`. Default: do not wait. |
        | ``notify``, ``notify_escalation`` | Apprise URLs (a ``Secret``, or separated by commas) for the daily cycle's notices, and for the one sent when nobody answered. See `The daily cycle`. |
        | ``client_name``, ``portal_url`` | What notices call the robots, and where they send supervisors to sign in. |
        | ``supervisors``, ``supervisor_claim`` | The accounts allowed to authorise the robots (separated by commas), matched against this verified claim of the access token (default ``sub``). A sign-in by any other account stores nothing and fails, naming the account to add. Default: any account the SSO accepts. |
        | ``site_id`` | The customer's Healthcode site id (``SU-SiteId``, e.g. ``HC00ABC``: in the Healthcode Account's My Account section), required to call Healthcode's APIs. See `Calling Healthcode's APIs`. |
        | ``api_version`` | The ``HC-API-Version`` every API call sends (default 1). |
        | ``api_discovery`` | The URL of Healthcode's API discovery document, when it is not the one ``environment`` implies. |
        | ``basic_auth_user`` | The user of the token endpoint's Basic header, when Healthcode gave one that is not the client id (with a ``client_secret`` only). |
        | ``log_api_content`` | Log what API calls send and receive: *patient data* (default false). See `No patient data in the log`. |
        | ``browser``, ``headless``, ``channel``, ``executable_path``, ``browser_args`` | The browser `Open Healthcode Login` launches when the suite has none open. |

        Example:
        | Library    HealthcodeLibrary    client_id=example_rpa_app    redirect_uri=https://rpaapp.example.com/postauth    environment=uat
        """
        self._settings: dict[str, Any] = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "environment": environment,
            "client_secret": client_secret.value if isinstance(client_secret, Secret) else client_secret,
            "scope": scope,
            "timeout": None if timeout is None else timeout.total_seconds(),
            "ca_bundle": ca_bundle,
            "proxy": proxy,
            "verify_access_token": None if verify_access_token is None else verify_access_token.value,
            "token_cache": token_cache,
            "expiry_margin": None if expiry_margin is None else expiry_margin.total_seconds(),
            "audience": audience,
            "leeway": None if leeway is None else leeway.total_seconds(),
            "wait_for_authorisation": None
            if wait_for_authorisation is None
            else wait_for_authorisation.total_seconds(),
            "notify": notify.value if isinstance(notify, Secret) else notify,
            "notify_escalation": notify_escalation.value
            if isinstance(notify_escalation, Secret)
            else notify_escalation,
            "client_name": client_name,
            "portal_url": portal_url,
            "site_id": site_id,
            "api_version": None if api_version is None else str(api_version),
            "api_discovery": api_discovery,
            "basic_auth_user": basic_auth_user,
            "log_api_content": log_api_content,
            "supervisors": supervisors,
            "supervisor_claim": supervisor_claim,
        }
        self._session: HealthcodeSession | None = None
        self._missing: ConfigurationError | None = None
        config: HealthcodeConfig | None = None
        try:
            config = HealthcodeConfig.from_environment(**self._settings)
        except ConfigurationError as error:
            if not _nothing_configured(self._settings, error):
                raise  # every problem, at import: a suite never starts half-configured
            # Nothing configured at all: libdoc and IDEs can still load the library; the first
            # keyword that needs a registration fails with this message.
            self._missing = error
        else:
            self._session = HealthcodeSession.from_config(config, sign_in_hint=SIGN_IN_HINT)
            self._session.describe_actor = _robot_actor
            self._session.on_wait = _say_while_waiting
        self._sign_in_page: SignInPage | None = None
        self.browser_options = BrowserOptions(
            browser=browser.value,
            headless=headless,
            channel=channel,
            executable_path=executable_path,
            args=tuple(browser_args or ()),
            proxy=config.proxy if config else proxy,
        )
        super().__init__(
            [SignInKeywords(self), AccessTokenKeywords(self), HttpClientKeywords(self), ApiCallKeywords(self)]
        )

    @property
    def sign_in_page(self) -> SignInPage:
        """The browser side, loaded on first use: a scheduled run that only reads the cached token
        never imports it (nor the Browser library)."""
        if self._sign_in_page is None:
            from .sign_in_page import SignInPage

            self._sign_in_page = SignInPage()
        return self._sign_in_page

    @sign_in_page.setter
    def sign_in_page(self, page: SignInPage) -> None:
        self._sign_in_page = page

    @property
    def session(self) -> HealthcodeSession:
        """The bot's authorisation; fails when the client registration was never configured."""
        if self._session is None:
            assert self._missing is not None
            raise self._missing
        return self._session


REGISTRATION = ("client_id", "redirect_uri", "environment", "client_secret", "scope")


def _nothing_configured(settings: dict[str, Any], error: ConfigurationError) -> bool:
    """True when no part of the client registration was given, neither as an argument nor as a
    variable, and that is the only problem (machine-wide settings such as the token cache may be)."""
    return all(isinstance(problem, MissingSettingError) for problem in error.problems) and all(
        settings[name] is None and not os.environ.get(ENV_VARS[name]) for name in REGISTRATION
    )


def _say_while_waiting(message: str) -> None:
    """A robot waiting for a supervisor: on the console and in the log (at most once a minute)."""
    from robot.api import logger

    logger.info(message, also_console=True)


def _robot_actor() -> dict[str, str]:
    """For the supervision record: the suite that made the event happen."""
    from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

    try:
        return {"via": "HealthcodeLibrary", "suite": str(BuiltIn().get_variable_value("${SUITE NAME}", ""))}
    except RobotNotRunningError:
        return {"via": "HealthcodeLibrary"}


__all__ = ["BrowserType", "HealthcodeLibrary", "TokenVerification"]
