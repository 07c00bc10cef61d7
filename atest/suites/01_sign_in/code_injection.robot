*** Settings ***
Documentation       Authorization code injection: an attacker who read the sign-in's state and code challenge
...                 from a log gets a code of their own bound to them, and sends the bot's browser from a page
...                 of theirs to the redirect URI with it. The library takes only the SSO's own redirect.
Resource            ../../resources/common.resource
Library             HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
...                 environment=${DISCOVERY_URL}
Suite Setup         Open Test Browser
Suite Teardown      Close Browser    ALL
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


*** Keywords ***
Prepare Test
    Clear Healthcode Authorisation
    Reset Sandbox Stats
    New Context
