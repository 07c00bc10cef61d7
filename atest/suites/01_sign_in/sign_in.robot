*** Settings ***
Documentation       The supervised sign-in in a browser context the suite opened itself.
Resource            ../../resources/common.resource
Library             HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
...                 environment=${DISCOVERY_URL}    site_id=HC00ABC
Suite Setup         Open Test Browser
Suite Teardown      Close Browser    ALL
Test Setup          Prepare Test
Test Teardown       Reset Sandbox Faults


*** Test Cases ***
Supervisor Signs In And The Bot Gets A Token
    Open Healthcode Login
    Get Text    id=client-id    ==    ${CLIENT_ID}
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=30 seconds
    Authorised Page Should Be Shown
    ${token}=    Get Healthcode Access Token
    Should Be True    isinstance($token, robot.api.types.Secret)
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    ${SUPERVISOR}
    Should Be Equal    ${claims}[client_id]    ${CLIENT_ID}
    Should Be Equal    ${claims}[iss]    ${SANDBOX_URL}
    Healthcode Access Token Should Be Valid    min_remaining=23 hours
    ${expiry}=    Get Healthcode Token Expiry
    ${hours}=    Evaluate    ($expiry - datetime.datetime.now().astimezone()).total_seconds() / 3600
    Should Be True    23.9 < ${hours} <= 24

The Token Calls The Protected API Through Requests Auth
    Sign In As Supervisor
    ${auth}=    Get Healthcode Requests Auth
    ${response}=    Evaluate    requests.get($SANDBOX_URL + "/api/v1/whoami", auth=$auth, timeout=10)
    ...    modules=requests
    Should Be Equal As Integers    ${response.status_code}    200
    Should Be Equal    ${response.json()}[sub]    ${SUPERVISOR}
    ${anonymous}=    Evaluate    requests.get($SANDBOX_URL + "/api/v1/whoami", timeout=10)    modules=requests
    Should Be Equal As Integers    ${anonymous.status_code}    401

RequestsLibrary Uses The Token Without Logging It
    Sign In As Supervisor
    ${auth}=    Get Healthcode Requests Auth
    RequestsLibrary.Create Custom Session    sandbox    ${SANDBOX_URL}    auth=${auth}    verify=${True}
    ${response}=    RequestsLibrary.GET On Session    sandbox    /api/v1/whoami
    Should Be Equal    ${response.json()}[sub]    ${SUPERVISOR}

The Redirect Is Caught Even Before The Wait Starts
    Open Healthcode Login
    Supervisor Signs In
    Wait For Elements State    id=authorised    visible
    Wait For Supervisor Authorisation    timeout=10 seconds
    Get Healthcode Access Token

Supervisor With Two-Step Sign-In
    Open Healthcode Login
    Supervisor Signs In    ${MFA_SUPERVISOR}
    Supervisor Enters One-Time Code
    Wait For Supervisor Authorisation    timeout=30 seconds
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    ${MFA_SUPERVISOR}

The Code Is Exchanged Once And The Token Reused
    Sign In As Supervisor
    ${first}=    Get Healthcode Access Token
    ${second}=    Get Healthcode Access Token
    Should Be True    $first.value == $second.value
    ${exchanges}=    Sandbox Request Count    token.authorization_code
    Should Be Equal As Integers    ${exchanges}    1

Supervisor Cancels The Sign-In
    Open Healthcode Login
    Click    id=cancel
    Run Keyword And Expect Error    *supervisor declined or cancelled the sign-in*cancelled*
    ...    Wait For Supervisor Authorisation    timeout=30 seconds
    Run Keyword And Expect Error    *no Healthcode access token yet*
    ...    Get Healthcode Access Token

Supervisor Refuses The Request
    Set Sandbox Faults    deny_sign_in=${True}
    Open Healthcode Login
    Run Keyword And Expect Error    *supervisor declined or cancelled*access_denied*
    ...    Wait For Supervisor Authorisation    timeout=30 seconds

A Forged Redirect Is Refused
    Open Healthcode Login
    The Browser Is Sent To    ${REDIRECT_URI}?code=forged-code-123&state=forged-state&iss=${SANDBOX_URL}
    Run Keyword And Expect Error    *state*does not match this sign-in*forged*
    ...    Wait For Supervisor Authorisation    timeout=30 seconds
    Run Keyword And Expect Error    *no Healthcode access token yet*
    ...    Get Healthcode Access Token

A Redirect From Another Issuer Is Refused
    ${sign_in}=    Open Healthcode Login And Get State
    The Browser Is Sent To    ${REDIRECT_URI}?code=x123456789&state=${sign_in}&iss=https://evil.example
    Run Keyword And Expect Error    *issuer 'https://evil.example'*RFC 9207*
    ...    Wait For Supervisor Authorisation    timeout=30 seconds

The Supervisor Does Not Sign In In Time
    Open Healthcode Login
    Run Keyword And Expect Error    *did not complete the sign-in within 2 seconds*
    ...    Wait For Supervisor Authorisation    timeout=2 seconds

The Supervisor Closes The Sign-In Window
    Open Healthcode Login
    Close Page
    Run Keyword And Expect Error    *sign-in window was closed*
    ...    Wait For Supervisor Authorisation    timeout=30 seconds

The Supervisor Closes The Browser
    Open Healthcode Login
    Close Browser
    Run Keyword And Expect Error    *closed*Open Healthcode Login*
    ...    Wait For Supervisor Authorisation    timeout=30 seconds
    [Teardown]    Run Keywords    Open Test Browser    AND    Reset Sandbox Faults

An Expired Code Means Signing In Again
    Set Sandbox Faults    code_lifetime=${1}
    Open Healthcode Login
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=30 seconds
    Sleep    1.5 seconds
    Run Keyword And Expect Error    *supervisor must sign in again*invalid_grant*
    ...    Get Healthcode Access Token

Waiting Without Opening The Sign-In Page Fails Clearly
    Run Keyword And Expect Error    *Open Healthcode Login*
    ...    Wait For Supervisor Authorisation    timeout=1 second

No Token Without A Supervisor
    Run Keyword And Expect Error    *no Healthcode access token yet*supervisor must sign in*Open Healthcode Login*
    ...    Get Healthcode Access Token
    Run Keyword And Expect Error    *There is no Healthcode access token*
    ...    Healthcode Access Token Should Be Valid

A Token That Will Not Last Is Reported
    Sign In As Supervisor
    Run Keyword And Expect Error    *expires in*at least 1 day 1 hour was required*
    ...    Healthcode Access Token Should Be Valid    min_remaining=25 hours

Authorise Healthcode Supervisor Reuses A Valid Token
    Sign In As Supervisor
    ${pages_before}=    Get Page Ids    ALL    ALL    ALL
    ${token}=    Authorise Healthcode Supervisor    timeout=5 seconds
    ${pages_after}=    Get Page Ids    ALL    ALL    ALL
    Lists Should Be Equal    ${pages_before}    ${pages_after}
    ${exchanges}=    Sandbox Request Count    token
    Should Be Equal As Integers    ${exchanges}    1

Authorise Healthcode Supervisor Reports A Refusal
    Set Sandbox Faults    deny_sign_in=${True}
    Run Keyword And Expect Error    *supervisor declined or cancelled*
    ...    Authorise Healthcode Supervisor    timeout=30 seconds

Repeated Sign-Ins Leave No Pages Behind, And The Suite's Own Page Alone
    New Page    about:blank
    ${own}=    Get Page Ids    CURRENT    CURRENT    CURRENT
    FOR    ${attempt}    IN RANGE    4
        Open Healthcode Login
    END
    Wait Until Keyword Succeeds    10 s    0.2 s    Pages In This Context Should Be    2
    ${pages}=    Get Page Ids    ALL    CURRENT    CURRENT
    List Should Contain Value    ${pages}    ${own}[0]    The suite's own page must stay open
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=30 seconds
    Get Healthcode Access Token

Playwright's Debug Log Blocks The Sign-In
    Set Environment Variable    DEBUG    pw:protocol
    Run Keyword And Expect Error    *Playwright's debug log*authorization code*DEBUG*
    ...    Open Healthcode Login
    [Teardown]    Remove Environment Variable    DEBUG

Any Spelling That Turns Playwright's Debug Log On Blocks The Sign-In
    [Documentation]    The debug package's own rules: wildcards anywhere, negations that win.
    FOR    ${debug}    IN    p*    *:protocol    pw:*,-pw:protocol
        Set Environment Variable    DEBUG    ${debug}
        Run Keyword And Expect Error    *Playwright's debug log*authorization code*DEBUG*
        ...    Open Healthcode Login
    END
    Set Environment Variable    DEBUG    *,-pw:*
    Open Healthcode Login
    [Teardown]    Remove Environment Variable    DEBUG


*** Keywords ***
Pages In This Context Should Be
    [Arguments]    ${count}
    ${pages}=    Get Page Ids    ALL    CURRENT    CURRENT
    Length Should Be    ${pages}    ${count}

Prepare Test
    Clear Healthcode Authorisation
    Reset Sandbox Stats
    New Context

Sign In As Supervisor
    Open Healthcode Login
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=30 seconds
    Get Healthcode Access Token

Open Healthcode Login And Get State
    [Documentation]    The state is not a secret; tests read it from the sign-in page's URL.
    Open Healthcode Login
    ${url}=    Get Url
    ${state}=    Evaluate    urllib.parse.parse_qs(urllib.parse.urlsplit($url).query)["state"][0]
    ...    modules=urllib.parse
    RETURN    ${state}

The Browser Is Sent To
    [Documentation]    Like following a link someone else made: the page navigates without Browser waiting for it.
    [Arguments]    ${url}
    Evaluate JavaScript    ${None}    (url) => { window.location.href = url; }    arg=${url}
