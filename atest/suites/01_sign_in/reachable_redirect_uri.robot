*** Settings ***
Documentation       The redirect URI's host is never contacted, even when it exists and listens: the code
...                 is caught in the browser before the request is sent.
Resource            ../../resources/common.resource
Suite Setup         Prepare Loopback Client
Suite Teardown      Run Keywords    Close Browser    ALL    AND    Stop Redirect Listener


*** Test Cases ***
Nothing Reaches A Listening Redirect URI
    FOR    ${round}    IN RANGE    3
        New Context
        LoopbackBot.Open Healthcode Login
        Supervisor Signs In
        LoopbackBot.Wait For Supervisor Authorisation    timeout=30 seconds
        Get Text    id=authorised    ==    The bot is now authorised
        LoopbackBot.Get Healthcode Access Token
        Close Context
    END
    ${hits}=    Redirect Listener Hits
    Should Be Empty    ${hits}    The redirect URI's server was contacted: ${hits}


*** Keywords ***
Prepare Loopback Client
    ${listener}=    Start Redirect Listener
    Set Suite Variable    ${LISTENER}    ${listener}
    Register Sandbox Client    loopback_bot    ${listener}/callback
    Import Library    HealthcodeLibrary    client_id=loopback_bot    redirect_uri=${listener}/callback
    ...    environment=${DISCOVERY_URL}    token_cache=off    AS    LoopbackBot
    Open Test Browser
