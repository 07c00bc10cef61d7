*** Settings ***
Documentation       The SSO refuses the authorization request itself (RFC 6749 4.1.2.1: an unknown client id or a
...                 redirect URI not registered as given is never redirected back): the wait fails within
...                 seconds, quoting the SSO's page and naming the likely cause, instead of waiting for its
...                 timeout and blaming the supervisor. Both shapes of refusal: the sandbox's 400 page, and
...                 (the error_page_redirect knob, as IdentityServer does) a 302 to an error page answered 200.
Resource            ../../resources/common.resource
Suite Setup         Prepare Misconfigured Robots
Suite Teardown      Close Browser    ALL
Test Setup          New Context
Test Teardown       Reset Sandbox Faults
Test Template       The SSO's Refusal Is Said At Once


*** Variables ***
${QUICKLY}          20    # seconds; the timeout given is 2 minutes


*** Test Cases ***    ROBOT    SHAPE    CAUSE
A Redirect URI With A Trailing Slash, Refused With A 400 Page
    SlashBot    400 page    redirect URI '${REDIRECT_URI}/'

A Redirect URI With A Trailing Slash, Refused With A Redirect To A 200 Page
    SlashBot    redirect to a 200 page    redirect URI '${REDIRECT_URI}/'

An Unknown Client Id, Refused With A 400 Page
    UnknownBot    400 page    client id 'not_registered_bot'

An Unknown Client Id, Refused With A Redirect To A 200 Page
    UnknownBot    redirect to a 200 page    client id 'not_registered_bot'

A Good Request Still Signs In Where Errors Are Pages Behind A Redirect
    [Template]    NONE
    Set Sandbox Faults    error_page_redirect=${True}
    GoodBot.Open Healthcode Login
    Sleep    2 seconds    The refusal check has had its time: it must not fire
    Supervisor Signs In
    GoodBot.Wait For Supervisor Authorisation    timeout=30 seconds
    Authorised Page Should Be Shown


*** Keywords ***
The SSO's Refusal Is Said At Once
    [Arguments]    ${robot}    ${shape}    ${cause}
    IF    $shape == 'redirect to a 200 page'
        Set Sandbox Faults    error_page_redirect=${True}
    END
    ${started}=    Evaluate    time.monotonic()    modules=time
    Run Keyword    ${robot}.Open Healthcode Login
    ${error}=    Run Keyword And Expect Error    *SSO refused this sign-in request*
    ...    ${robot}.Wait For Supervisor Authorisation    timeout=2 minutes
    ${took}=    Evaluate    time.monotonic() - $started    modules=time
    Should Be True    ${took} < ${QUICKLY}    The refusal took ${took} s to be said
    Should Contain    ${error}    ${cause}    The likely cause is named
    Should Contain    ${error}    This sign-in request cannot go ahead    The SSO's page is quoted
    Should Not Contain    ${error}    did not complete the sign-in    The supervisor is not blamed
    Should Not Contain Any    ${error}    ?    state=    code_challenge    No query is quoted

Prepare Misconfigured Robots
    Import Library    HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}/
    ...    environment=${DISCOVERY_URL}    token_cache=off    AS    SlashBot
    Import Library    HealthcodeLibrary    client_id=not_registered_bot    redirect_uri=${REDIRECT_URI}
    ...    environment=${DISCOVERY_URL}    token_cache=off    AS    UnknownBot
    Import Library    HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
    ...    environment=${DISCOVERY_URL}    token_cache=off    AS    GoodBot
    Open Test Browser
