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
from .keywords import AccessTokenKeywords, HttpClientKeywords, SignInKeywords
from .output_scrubber import OutputScrubber

if TYPE_CHECKING:
    from .sign_in_page import SignInPage

SIGN_IN_HINT = ("A supervisor must sign in: run 'healthcode-auth login' with a supervisor at the machine, or "
                "'Open Healthcode Login' and 'Wait For Supervisor Authorisation' (or 'Authorise Healthcode "
                "Supervisor') in a suite")


class HealthcodeLibrary(DynamicCore):  # type: ignore[misc]  # robotlibcore ships no type hints
    """HealthcodeLibrary lets RPA bots sign in to [https://www.healthcode.co.uk|Healthcode] the way
    Healthcode requires: a supervisor with a Healthcode account authenticates the bot in a browser,
    and the bot receives a signed JWT access token for Healthcode's APIs.

    Under the hood this is OAuth 2.0 Authorization Code with PKCE (RFC 6749, RFC 7636) against
    Healthcode's SSO server, whose endpoints come from its OpenID discovery document. The browser
    step uses the [https://robotframework-browser.org|Browser library].

    %TOC%

    = Signing in =

    A supervisor must be at the machine. The robot opens the SSO's sign-in page, the supervisor signs
    in, and the robot exchanges the resulting code for a token:

    | *** Settings ***
    | Library    HealthcodeLibrary    client_id=example_rpa_app    redirect_uri=https://rpaapp.example.com/postauth
    | ...        environment=uat
    |
    | *** Tasks ***
    | Get A Token For The Bot
    |     `Open Healthcode Login`
    |     `Wait For Supervisor Authorisation`    timeout=5 minutes
    |     ${token} =    `Get Healthcode Access Token`

    `Authorise Healthcode Supervisor` does the three steps in one, and only when there is no valid
    token yet.

    The redirect URI is the post-authentication URL registered with Healthcode. The library catches
    the browser's redirect to it inside the browser, so nothing needs to run at that address.

    The suite need not import the [https://robotframework-browser.org|Browser library]: when it has
    not, the library imports Browser itself and opens a browser of its own, visible unless
    ``headless`` is true. A suite that drives the sign-in page with Browser keywords (a test that
    fills in the sandbox's sign-in form, for example) imports Browser itself, with
    ``Library    Browser``; the library then opens the sign-in page in that suite's browser context,
    so the suite's browser settings apply.

    = Headless sign-in against the sandbox =

    The local Healthcode SSO sandbox stands in for Healthcode's SSO on this machine (install it with
    ``pip install 'robotframework-healthcode[requests,sandbox]'``). Start it remembering a supervisor,
    so that it approves every sign-in at once, like an SSO where the supervisor is already signed
    in: nobody needs to see the page, and the robot runs headless.

    | healthcode-auth sandbox --remembered-supervisor supervisor

    It prints ``Paste this as the environment: http://127.0.0.1:8765``: the issuer URL the suite
    uses as ``environment``. This suite signs in headless and calls the sandbox's API with the token
    (``healthcode-auth init`` writes it as ``sandbox_sign_in.robot``). It does not import Browser:
    the library does. Run it with ``robot sandbox_sign_in.robot``, adding
    ``-v SANDBOX:http://127.0.0.1:PORT`` when the sandbox printed another address.

    | *** Settings ***
    | Documentation       A robot signs in to the local Healthcode SSO sandbox, headless, and calls its API.
    | ...                 Start the sandbox first: healthcode-auth sandbox --remembered-supervisor supervisor
    | Library             HealthcodeLibrary    client_id=example_rpa_app    redirect_uri=https://rpaapp.example.com/postauth
    | ...                 environment=${SANDBOX}    headless=True    token_cache=off
    | Library             RequestsLibrary
    |
    |
    | *** Variables ***
    | ${SANDBOX}          http://127.0.0.1:8765
    |
    |
    | *** Tasks ***
    | Sign In Headless And Call The API
    |     Authorise Healthcode Supervisor    timeout=1 minute
    |     ${expiry}=    Get Healthcode Token Expiry    result_format=text
    |     ${auth}=    Get Healthcode Requests Auth
    |     Create Custom Session    sandbox    ${SANDBOX}    auth=${auth}    verify=${True}
    |     ${answer}=    GET On Session    sandbox    /api/v1/whoami
    |     Log    Signed in as ${answer.json()}[sub]; the token expires ${expiry}    console=True

    ``token_cache=off`` keeps the sandbox's tokens in memory: a restarted sandbox has new keys and
    would refuse tokens stored earlier.

    = Using the token =

    Tokens are returned as ``Secret`` values (Robot Framework 7.4+), which Robot Framework never
    logs. To call Healthcode's APIs without handling the token at all, use
    `Get Healthcode Requests Auth` with RequestsLibrary:

    | ${auth} =    `Get Healthcode Requests Auth`
    | Create Custom Session    healthcode    ${API}    auth=${auth}    verify=${True}

    Python keywords use `Get Healthcode Httpx Auth` with httpx, or `Get Healthcode OAuth2 Session`,
    a requests-oauthlib ``OAuth2Session`` whose renewals go through the library's token store, so
    that parallel robots still renew once.

    ``audience`` makes the library refuse every access token that is not a JWT naming that
    audience (RFC 9068), before it is stored or sent.

    = Unattended runs =

    A supervisor signs in; the token (valid 24 hours) then serves every robot of the same user on
    the machine, scheduled or in parallel, with no browser and no request to the SSO. Healthcode
    issues no refresh token, so when the token ends a supervisor signs in again: once a day is the
    normal cycle (see `The daily cycle`).

    | healthcode-auth login          # the supervisor signs in in a browser window; the token is cached
    | robot claims.robot             # any number of runs: `Get Healthcode Access Token` reads the cache
    | healthcode-auth status         # pre-flight for schedulers: exit 0 valid, 3 sign-in required, 4 renewal due

    The cache is encrypted (key from ``HEALTHCODE_CACHE_KEY``, the OS keyring or a private key
    file), written atomically and shared safely between parallel robots (pabot). Where the SSO
    issues refresh tokens (Healthcode does not; the sandbox does with ``--refresh-tokens``), a token
    within ``expiry_margin`` of expiry is renewed instead: exactly one robot renews it and the others
    use the new token. When the SSO refuses a renewal, it is as at the end of the day: a supervisor
    must sign in (``healthcode-auth login``). ``token_cache=off`` keeps tokens in memory only.
    Recipes for cron, systemd, Windows Task Scheduler, launchd and pabot are in
    [https://github.com/robotframework-healthcode/robotframework-healthcode/blob/main/docs/scheduling.md|docs/scheduling.md].

    Each sign-in is recorded with who supervised it (the token's subject and name), which robot
    asked for it, and when; renewals, refusals and sign-outs are recorded too.
    ``healthcode-auth status`` shows the current supervision and ``healthcode-auth history`` the
    record (both also as ``--json``), never a token.

    = The daily cycle =

    Healthcode issues no refresh token: an authorisation ends 24 hours after the supervisor signed
    in, and every day a supervisor must sign in again. Two settings make that the normal rhythm
    rather than a failure:

    - ``notify`` (``HEALTHCODE_NOTIFY``): [https://github.com/caronc/apprise/wiki|Apprise] URLs
      (e-mail, Microsoft Teams, Slack, a webhook...). Supervisors are reminded before the
      authorisation ends (``healthcode-auth remind``, run by a scheduler: see
      [https://github.com/robotframework-healthcode/robotframework-healthcode/blob/main/docs/scheduling.md|docs/scheduling.md]),
      told when robots are waiting (once for the whole fleet), and told who authorised or signed the
      robots out. A notice that cannot be delivered is logged and never fails a robot.
    - ``wait_for_authorisation`` (``HEALTHCODE_WAIT_FOR_AUTHORISATION``): a robot that finds no
      valid authorisation waits this long for a supervisor to sign in elsewhere, then goes on as
      if it had been there; the console says what it waits for, at most once a minute.
      `Get Healthcode Access Token` takes the same as an argument.

    | *** Settings ***
    | Library    HealthcodeLibrary    wait_for_authorisation=30 minutes
    |
    | *** Tasks ***
    | Claims Run
    |     ${token} =    `Get Healthcode Access Token`    # waits up to 30 minutes for a supervisor

    = Fleets of robots =

    Robots on many machines share one token through Redis (install
    ``robotframework-healthcode[fleet]``). Set ``HEALTHCODE_TOKEN_CACHE`` (or ``token_cache``) to a
    Redis URL, and give every robot and the supervisor's machine the same ``HEALTHCODE_CACHE_KEY``
    (``healthcode-auth key new`` makes one): tokens are encrypted before they reach Redis.

    | HEALTHCODE_TOKEN_CACHE=rediss://healthcode:PASSWORD@redis.internal.example:6380/0?prefix=claims-team:

    The Redis password is masked like a token: keep it in the environment, not in the suite.

    Where the SSO issues refresh tokens, one robot in the fleet renews a due token while the others
    wait for it; a robot killed mid-renewal holds the lock only for its lease. Access control, TLS and failure behaviour are in
    [https://github.com/robotframework-healthcode/robotframework-healthcode/blob/main/docs/fleet.md|docs/fleet.md].

    = Configuration =

    Every import argument except the browser options falls back to an environment variable:
    ``HEALTHCODE_CLIENT_ID``, ``HEALTHCODE_REDIRECT_URI``, ``HEALTHCODE_ENVIRONMENT``,
    ``HEALTHCODE_CLIENT_SECRET``, ``HEALTHCODE_SCOPE``, ``HEALTHCODE_TIMEOUT`` (seconds),
    ``HEALTHCODE_CA_BUNDLE``, ``HEALTHCODE_PROXY``, ``HEALTHCODE_VERIFY_ACCESS_TOKEN``,
    ``HEALTHCODE_TOKEN_CACHE``, ``HEALTHCODE_EXPIRY_MARGIN`` (seconds), ``HEALTHCODE_AUDIENCE`` and
    ``HEALTHCODE_LEEWAY`` (seconds).
    Missing or invalid settings fail the library import, listing every problem at once. (Only when
    nothing at all is configured does the import succeed, so that libdoc and editors can load the
    library; the first keyword then says what is missing.)

    ``environment`` is ``production`` (the default), ``uat`` (Healthcode's test environment), or the
    issuer URL of another SSO, such as the local sandbox's (``healthcode-auth sandbox``; the library
    finds its discovery document), or the discovery document's own URL.

    TLS certificates are always verified, against the operating system's trust store (so a
    TLS-inspecting corporate proxy trusted by the machine works) or against ``ca_bundle``.

    The machine's clock must agree with the SSO's within ``leeway`` (default 5 minutes): keep it
    synchronised (NTP). A token whose times are further off is refused with a message naming clock
    skew and both times.

    = Secrets =

    No access token, refresh token, authorization code, code verifier or client secret is written
    to the log, the console, the Browser library's ``playwright-log.txt`` or an error message, at
    any log level. Pass ``client_secret`` as a ``Secret`` (for example ``%{HEALTHCODE_CLIENT_SECRET}``
    in a ``Secret``-typed variable, or leave it to the environment variable): a plain string
    works, but Robot Framework logs plain import arguments at TRACE level.

    A suite can still unwrap a token, for example ``${value} =  Evaluate  $token.value`` followed by
    ``Log  ${value}``, a failing ``Should Be Equal  ${value}  ...`` or
    ``Create Dictionary  Authorization=Bearer ${token.value}``. The library then masks it: in
    every suite that imports the library, each secret the library has handled in the process is
    replaced with ``<secret>`` in what Robot Framework writes to output.xml, log.html, report.html,
    the xunit file, the console and the ``--debugfile``. Masked are:

    - log messages at every level (TRACE argument and return value logging included), warnings
      and ``Log  ...  console=True`` on the console
    - keyword arguments, assignments and failure messages, and FOR loop values
    - the messages, documentation, metadata and tags of tests and suites, setup and teardown
      failures included
    - the part of a token Robot shows when it cuts a long value (an assigned value shows only its
      first 200 characters, followed by ``...``)

    What remains the author's responsibility:

    - ``Log To Console``, and whatever a keyword writes to the standard error stream, go straight
      to the console, unmasked. Use ``Log  ...  console=True`` instead. ``console=True`` on a
      message below the current log level (``Log  ${value}  DEBUG  console=True`` at the default
      INFO level) is printed unmasked too.
    - Suites that do not import the library (for example the child suites of an initialization
      file that imports it) are not masked. Import the library there too, or run the robot with
      ``--listener HealthcodeLibrary.output_scrubber.OutputScrubber``, which masks every suite.
    - Test names, GROUP names, embedded-argument keyword names and a test's documentation as the
      console shows it when the test starts are written before they could be masked: never build
      them from a token. (A keyword name given to ``Run Keyword`` and its variants is masked; run
      with ``--listener HealthcodeLibrary.output_scrubber.OutputScrubber`` to have output.xml,
      log.html and report.html rewritten with the test and GROUP names masked too.)
    - The debug file is masked when the run ends: until then, or if the run is killed, its
      keyword start lines, FOR loop values and DEBUG messages (below the log level) may show a token.
    - Only values the library handled are known: each in every spelling a log or URL gives it
      (percent-, form-, HTML-, JSON-encoded, in a Basic header), but a token split or otherwise
      transformed by the suite is not recognised, nor the suite's own passwords.
      Listeners given with ``--listener`` see messages after the masking, unless their
      ``ROBOT_LISTENER_PRIORITY`` is 1000000 or more.
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__
    ROBOT_LIBRARY_DOC_FORMAT = "ROBOT"
    # OutputScrubber masks known secrets in what Robot writes (see `Secrets`); ImportHints says which
    # extra brings a library a suite imports and lacks.
    ROBOT_LIBRARY_LISTENER = (OutputScrubber(), ImportHints())

    def __init__(self, client_id: str | None = None, redirect_uri: str | None = None,
                 environment: str | None = None, client_secret: Secret | str | None = None,
                 scope: str | None = None, token_cache: str | None = None,
                 timeout: timedelta | None = None, ca_bundle: str | None = None, proxy: str | None = None,
                 verify_access_token: TokenVerification | None = None,
                 expiry_margin: timedelta | None = None, audience: str | None = None,
                 leeway: timedelta | None = None, wait_for_authorisation: timedelta | None = None,
                 notify: Secret | str | None = None, notify_escalation: Secret | str | None = None,
                 client_name: str | None = None, portal_url: str | None = None,
                 browser: BrowserType = BrowserType.chromium, headless: bool = False,
                 channel: str | None = None, executable_path: str | None = None,
                 browser_args: list[str] | None = None) -> None:
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
        | ``browser``, ``headless``, ``channel``, ``executable_path``, ``browser_args`` | The browser `Open Healthcode Login` launches when the suite has none open. |

        Example:
        | Library    HealthcodeLibrary    client_id=example_rpa_app    redirect_uri=https://rpaapp.example.com/postauth    environment=uat
        """
        self._settings: dict[str, Any] = {
            "client_id": client_id, "redirect_uri": redirect_uri, "environment": environment,
            "client_secret": client_secret.value if isinstance(client_secret, Secret) else client_secret,
            "scope": scope, "timeout": None if timeout is None else timeout.total_seconds(),
            "ca_bundle": ca_bundle, "proxy": proxy,
            "verify_access_token": None if verify_access_token is None else verify_access_token.value,
            "token_cache": token_cache,
            "expiry_margin": None if expiry_margin is None else expiry_margin.total_seconds(),
            "audience": audience, "leeway": None if leeway is None else leeway.total_seconds(),
            "wait_for_authorisation": None if wait_for_authorisation is None else wait_for_authorisation.total_seconds(),
            "notify": notify.value if isinstance(notify, Secret) else notify,
            "notify_escalation": notify_escalation.value if isinstance(notify_escalation, Secret) else notify_escalation,
            "client_name": client_name, "portal_url": portal_url,
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
        self.browser_options = BrowserOptions(browser=browser.value, headless=headless, channel=channel,
                                              executable_path=executable_path, args=tuple(browser_args or ()),
                                              proxy=config.proxy if config else proxy)
        super().__init__([SignInKeywords(self), AccessTokenKeywords(self), HttpClientKeywords(self)])

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
    return (all(isinstance(problem, MissingSettingError) for problem in error.problems)
            and all(settings[name] is None and not os.environ.get(ENV_VARS[name]) for name in REGISTRATION))


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
