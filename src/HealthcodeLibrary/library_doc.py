"""The library's introduction in libdoc: how to sign in, use the token, call Healthcode's APIs,
run unattended and in fleets, configure, and keep secrets (kept apart from the class so that
``__init__.py`` stays short)."""

INTRODUCTION = """HealthcodeLibrary lets RPA bots sign in to [https://www.healthcode.co.uk|Healthcode] the way
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
uses as ``environment``. This suite signs in headless and calls two of the sandbox's APIs, as a
robot calls Healthcode's (``healthcode-auth init`` writes it as ``sandbox_sign_in.robot``). It does
not import Browser: the library does. Run it with ``robot sandbox_sign_in.robot``, adding
``-v SANDBOX:http://127.0.0.1:PORT`` when the sandbox printed another address.

| *** Settings ***
| Documentation       A robot signs in to the local Healthcode SSO sandbox, headless, and calls its APIs.
| ...                 Start the sandbox first: healthcode-auth sandbox --remembered-supervisor supervisor
| Library             HealthcodeLibrary    client_id=example_rpa_app    redirect_uri=https://rpaapp.example.com/postauth
| ...                 environment=${SANDBOX}    headless=True    token_cache=off    site_id=HC00ABC
|
|
| *** Variables ***
| ${SANDBOX}          http://127.0.0.1:8765
|
|
| *** Tasks ***
| Sign In Headless And Call Healthcode's APIs
|     Authorise Healthcode Supervisor    timeout=1 minute
|     ${claims}=    Get Healthcode Token Claims
|     ${expiry}=    Get Healthcode Token Expiry    result_format=text
|     Log    Signed in as ${claims}[sub]; the token expires ${expiry}    console=True
|     ${members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup    lastName=Gray
|     Log    Find Member found ${members}[total] member(s)    console=True
|     ${remittances}=    Call Healthcode API    search_remittance_summary    method=POST
|     ...    insurerIdentifier=bup    all_pages=True
|     Log    ${remittances}[total] remittance(s), every page read    console=True

``token_cache=off`` keeps the sandbox's tokens in memory: a restarted sandbox has new keys and
would refuse tokens stored earlier.

= Using the token =

Tokens are returned as ``Secret`` values (Robot Framework 7.4+), which Robot Framework never
logs. To call Healthcode's APIs, `Call Healthcode API` is the short way (see
`Calling Healthcode's APIs`). Other HTTP clients get the token without handling it: RequestsLibrary
takes `Get Healthcode Requests Auth`, which adds ``Authorization``, ``SU-SiteId`` and
``HC-API-Version`` to every request to Healthcode's API hosts and refuses any other host:

| ${auth} =    `Get Healthcode Requests Auth`
| ${url} =    `Get Healthcode API Endpoint`    find_member
| ${answer} =    POST    ${url}    data=&{fields}    auth=${auth}

Python keywords use `Get Healthcode Httpx Auth` with httpx, or `Get Healthcode OAuth2 Session`,
a requests-oauthlib ``OAuth2Session`` whose renewals go through the library's token store, so
that parallel robots still renew once; or ``healthcode_auth.api_client.HealthcodeApi``, the
Python side of `Call Healthcode API`.

``audience`` makes the library refuse every access token that is not a JWT naming that
audience (RFC 9068), before it is stored or sent.

= Calling Healthcode's APIs =

Healthcode publishes where each of its APIs is in an API discovery document
(``https://api.healthcode.co.uk/.well-known/discovery-document.json``); it may move an API
without notice, so a robot looks every API up by name, never by a URL copied into a suite. Every
call names the customer's site (``SU-SiteId``) and the API version (``HC-API-Version``):

| *** Settings ***
| Library    HealthcodeLibrary    environment=uat    site_id=HC00ABC
|
| *** Tasks ***
| Check A Membership
|     ${members} =    `Call Healthcode API`    find_member    method=POST    insurerIdentifier=bup
|     ...    lastName=Gray    dateOfbirth=1970-01-31
|     Should Be Equal As Integers    ${members}[total]    1
|     Log    Cover is ${members}[entry][0][resource][status]

- ``site_id`` (``HEALTHCODE_SITE_ID``) is the site id in the Healthcode Account's My Account
  section; ``api_version`` (``HEALTHCODE_API_VERSION``) defaults to 1.
- The document is fetched from ``api.healthcode.co.uk`` for ``production`` and from
  ``api.uat.healthcode.co.uk`` for ``uat`` (an address inferred, not confirmed by Healthcode's
  pages: ``healthcode-auth check`` says what it finds there). For any other ``environment`` it is
  ``/.well-known/discovery-document.json`` on the environment's host; ``api_discovery``
  (``HEALTHCODE_API_DISCOVERY``) names it in every case.
- The token, the site id and the API version go only to hosts the document names (for production
  and UAT, hosts under ``healthcode.co.uk``): a URL or a redirect elsewhere is refused, by
  `Call Healthcode API` and by `Get Healthcode Requests Auth` and the other adapters alike.
- Errors come from Healthcode as FHIR ``OperationOutcome`` resources: the keyword fails with
  what they say (severity, code, display, a location that reads as a field path), never with
  the body of any other answer. Their diagnostics may quote what was sent, so they are withheld
  unless the call says ``log_content=True``. A 401 means the token was refused (a supervisor
  signs in again), a 403 that the site id or the account's rights were.
- ``all_pages=True`` reads a list to its end, following the server's ``next`` links or its
  ``page`` and ``count`` fields.

The whole guide, with the sandbox's APIs to try it on, is
[https://github.com/robotframework-healthcode/robotframework-healthcode/blob/main/docs/api-calls.md|docs/api-calls.md].

= No patient data in the log =

Healthcode's APIs answer with patients' names, dates of birth and membership numbers, and RPA
teams archive and share output.xml and log.html. So `Call Healthcode API` logs which API it
called, how, and what came back (status, resource type, number of entries), never a field's
value, a request body or an answer's contents. Its answer shows as a summary wherever Robot
Framework logs it (``${members} = <Healthcode find_member: 200 OK, Bundle of 1 Coverage>``,
``Log  ${members}[entry]`` gives ``<list of 1>``); a single value the suite takes out of it
(``${members}[entry][0][resource][status]``) is a plain string, logged as any other.

``log_content=True`` on a call, or ``log_api_content=True`` for the library, also logs what was
sent and received, tokens still masked. *That writes patient data into the log*: use it against
the sandbox or UAT's test data, never in production runs whose output is kept.

What stays the suite's to get right:

- Use ``${...}``, never ``&{...}``, for an answer and its parts. Robot Framework turns whatever is
  assigned to ``&{name}`` (and what ``Create Dictionary``, ``FOR ... IN &{...}``,
  ``Set Suite Variable  &{...}`` and ``RETURN  &{...}`` take) into plain dictionaries of its own,
  copies that it logs in full: ``&{patient} =    Set Variable    ${members}[entry][0][resource]``
  writes the patient into the log. The answer itself stays a summary.
- At ``TRACE`` level Robot Framework logs every keyword's arguments with their values resolved
  (``lastName=${LAST_NAME}`` is logged as the name itself); ``Log Variables``,
  ``Convert To Dictionary``, ``Get Dictionary Values``, ``Log Dictionary`` and code given to
  ``Evaluate`` (``json.dumps``, ``dict(...)``) show what they take out: do not run production
  suites at ``TRACE``, and log only values that may be logged.

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
wait for it; a robot killed mid-renewal holds the lock only for its lease. Access control, TLS
and failure behaviour are in
[https://github.com/robotframework-healthcode/robotframework-healthcode/blob/main/docs/fleet.md|docs/fleet.md].

= Configuration =

Every import argument except the browser options falls back to an environment variable:
``HEALTHCODE_CLIENT_ID``, ``HEALTHCODE_REDIRECT_URI``, ``HEALTHCODE_ENVIRONMENT``,
``HEALTHCODE_CLIENT_SECRET``, ``HEALTHCODE_SCOPE``, ``HEALTHCODE_TIMEOUT`` (seconds),
``HEALTHCODE_CA_BUNDLE``, ``HEALTHCODE_PROXY``, ``HEALTHCODE_VERIFY_ACCESS_TOKEN``,
``HEALTHCODE_TOKEN_CACHE``, ``HEALTHCODE_EXPIRY_MARGIN`` (seconds), ``HEALTHCODE_AUDIENCE``,
``HEALTHCODE_LEEWAY`` (seconds), ``HEALTHCODE_SITE_ID``, ``HEALTHCODE_API_VERSION``,
``HEALTHCODE_API_DISCOVERY``, ``HEALTHCODE_BASIC_AUTH_USER`` and ``HEALTHCODE_LOG_API_CONTENT``.
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
