*** Settings ***
Documentation       Authorization code injection: an attacker who read the sign-in's state and code challenge
...                 from a log gets a code of their own bound to them, and sends the bot's browser from a page
...                 of theirs to the redirect URI with it. The library takes only the SSO's own redirect: a
...                 top-level navigation that a document of the SSO sent there, as the browser says (the
...                 redirect's previous hop; else the Referer and, in Chromium, the initiator). Not a frame's (even in
...                 an SSO page), not another server's 3xx (even from an SSO page), not a meta refresh or a
...                 script of another origin's page, not another window's (a popup navigating its opener while
...                 it shows the SSO's page), whatever the popup's script calls itself. The SSO's own pages that
...                 send the browser back by script, form or refresh are still taken.
Resource            ../../resources/common.resource
Library             HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
...                 environment=${DISCOVERY_URL}
Library             ScriptBuiltSso.py
Suite Setup         Open Test Browser And An SSO Whose Pages Send The Browser Back
Suite Teardown      Run Keywords    Close Browser    ALL    AND    Stop Script Built Sso
Test Setup          Prepare Test
Test Teardown       Reset Sandbox Faults


*** Test Cases ***
An Attacker's Code Is Never Taken Or Sent To The Token Endpoint
    Open Healthcode Login
    ${attacker}=    Start Attacker Page For The Pending Sign In
    Go To    ${attacker}
    Wait For Function    () => window.sent === true
    ${error}=    Run Keyword And Expect Error    *did not complete the sign-in within 3 seconds*
    ...    Wait For Supervisor Authorisation    timeout=3 seconds
    Should Contain    ${error}    not Healthcode's (${attacker})    The wait reports what it ignored
    Should Not Contain Any    ${error}    ?    code=    state=    The report never prints a query
    ${exchanges}=    Sandbox Request Count    token.authorization_code
    Should Be Equal As Integers    ${exchanges}    0    No injected code may reach the token endpoint
    Run Keyword And Expect Error    *no Healthcode access token yet*
    ...    Get Healthcode Access Token

The Supervisor's Sign-In Still Completes After An Injection Was Ignored
    Open Healthcode Login
    ${sign_in}=    Pending Sign In Url
    ${attacker}=    Start Attacker Page For The Pending Sign In
    Go To    ${attacker}
    Wait For Function    () => window.sent === true
    Go To    ${sign_in}
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=30 seconds
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    ${SUPERVISOR}    The bot holds the supervisor's token, not the attacker's
    ${exchanges}=    Sandbox Request Count    token.authorization_code
    Should Be Equal As Integers    ${exchanges}    1


A Frame Of Another Site In The SSO's Page Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    frame    localhost

A Frame Of The Same Site In The SSO's Page Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    frame    127.0.0.1

A Third Party's 301 Redirect Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    301

A Third Party's 302 Redirect Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    302

A Third Party's 303 Redirect Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    303

A Third Party's 307 Redirect Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    307

A Third Party's 308 Redirect Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    308

A Third Party's Redirect From Another Site Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    302    localhost

A Meta Refresh From Another Origin Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    meta

A Script Navigation From Another Site Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    script    localhost

A Popup Of Another Site Cannot Send Its Opener To The Redirect URI
    [Documentation]    The attacker's page opens a popup, then sends the bot's page to the SSO; the popup
    ...    navigates its opener, which shows the SSO's page by then, to the redirect URI with the attacker's code.
    [Template]    An Injected Code Is Never Taken
    popup    localhost

A Popup Of The Same Site Cannot Send Its Opener To The Redirect URI
    [Documentation]    On the SSO's site the popup shares the page's process: its script reaches the page's
    ...    session as the navigation's initiator, and it is not the SSO's.
    [Template]    An Injected Code Is Never Taken
    popup    127.0.0.1

A Popup That Sends No Referrer And Names Its Script After The SSO Cannot Inject A Code
    [Documentation]    A script's name is not who started it: //# sourceURL names the popup's script after the
    ...    SSO's sign-in page, and without a Referer the browser does not say which page started the navigation.
    [Template]    An Injected Code Is Never Taken
    disguised popup    127.0.0.1

A Popup Of Another Site That Sends No Referrer And Names Its Script After The SSO Cannot Inject A Code
    [Template]    An Injected Code Is Never Taken
    disguised popup    localhost

The SSO's Own Script Navigation To The Redirect URI Is Taken
    [Documentation]    The legitimate case next to the attacks: the SSO's page itself sends the browser on.
    Set Sandbox Faults    approve_by_script=${True}
    Open Healthcode Login
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=30 seconds
    Authorised Page Should Be Shown
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    ${SUPERVISOR}

A Form On The SSO's Page That Goes To The Redirect URI Is Taken
    [Documentation]    A supervisor's "cancel" on the SSO's page: a form straight to the redirect URI, no redirect.
    Set Script Built Sso Mode    form back
    ScriptSso.Open Healthcode Login
    Click    id=back
    Run Keyword And Expect Error    *declined or cancelled*this SSO issues no codes*
    ...    ScriptSso.Wait For Supervisor Authorisation    timeout=30 seconds

A Meta Refresh On The SSO's Page That Goes To The Redirect URI Is Taken
    Set Script Built Sso Mode    refresh back
    ScriptSso.Open Healthcode Login
    Run Keyword And Expect Error    *declined or cancelled*this SSO issues no codes*
    ...    ScriptSso.Wait For Supervisor Authorisation    timeout=30 seconds


*** Keywords ***
An Injected Code Is Never Taken
    [Documentation]    While the sign-in page is open, the attack sends the browser (or a frame) to the redirect
    ...    URI with the attacker's code. The wait ignores it and names where it came from; no token request
    ...    is made; then the supervisor's own sign-in completes, with the supervisor's token.
    [Arguments]    ${how}    ${host}=127.0.0.1
    Open Healthcode Login
    ${sign_in}=    Pending Sign In Url
    ${attack}=    Start Attacker Page For The Pending Sign In
    ...    how=${{ 'script' if $how == 'frame' else $how }}    host=${host}
    IF    $how == 'frame'
        Set Sandbox Faults    embed_url=${attack}
        Go To    ${sign_in}
        Get Element Count    id=embedded    ==    1
    ELSE IF    $how.isdigit()
        The Browser Is Sent To    ${attack}
    ELSE
        Go To    ${attack}
    END
    ${sent}=    Set Variable If    $how.endswith('popup')    /sent    ${EMPTY}
    Wait Until Keyword Succeeds    10 s    0.1 s    The Attacker's Page Was Reached    ${sent}
    ${error}=    Run Keyword And Expect Error    *did not complete the sign-in within 3 seconds*
    ...    Wait For Supervisor Authorisation    timeout=3 seconds
    Should Contain    ${error}    not Healthcode's    The wait reports what it ignored
    Should Not Contain Any    ${error}    ?    code=    state=    The report never prints a query
    Should Not Contain    ${error}    ${{ $sign_in.split('?')[0] }}    The report never blames the SSO's page
    ${exchanges}=    Sandbox Request Count    token.authorization_code
    Should Be Equal As Integers    ${exchanges}    0    No injected code may reach the token endpoint
    Reset Sandbox Faults
    Open Healthcode Login
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=30 seconds
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    ${SUPERVISOR}    The bot holds the supervisor's token, not the attacker's

The Attacker's Page Was Reached
    [Arguments]    ${path}=${EMPTY}
    ${hits}=    Attacker Page Hits    ${path}
    Should Be True    ${hits} > 0

The Browser Is Sent To
    [Documentation]    A script of the page the browser shows (here the SSO's) navigates it, as a link would.
    [Arguments]    ${url}
    Evaluate JavaScript    ${None}    (url) => { window.location.href = url; }    arg=${url}

Open Test Browser And An SSO Whose Pages Send The Browser Back
    Open Test Browser
    ${sso}=    Start Script Built Sso
    Import Library    HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
    ...    environment=${sso}    token_cache=off    AS    ScriptSso
    Set Library Search Order    HealthcodeLibrary    # keywords without a prefix: the sandbox's robot

Prepare Test
    Clear Healthcode Authorisation
    Reset Sandbox Stats
    New Context
