*** Settings ***
Documentation       A bot gets its Healthcode access token from a supervisor's sign-in and calls an API with it.
...
...                 The client registration comes from the HEALTHCODE_* environment variables, so the
...                 same suite runs against the local sandbox (the demo: scripts/demo), Healthcode UAT or
...                 production. Against the sandbox a simulated supervisor fills in the sign-in form;
...                 against Healthcode a real supervisor signs in in the browser window.
Library             HealthcodeLibrary    headless=${HEADLESS}
Library             RequestsLibrary


*** Variables ***
${HEADLESS}                 ${False}
${SIMULATED_SUPERVISOR}     ${False}
${API_URL}                  ${None}
${SIGN_IN_TIMEOUT}          5 minutes


*** Tasks ***
Get A Token For The Bot
    Open Healthcode Login
    IF    ${SIMULATED_SUPERVISOR}    Simulated Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=${SIGN_IN_TIMEOUT}
    ${token}=    Get Healthcode Access Token
    ${claims}=    Get Healthcode Token Claims
    ${expiry}=    Get Healthcode Token Expiry
    Log To Console    Signed in by: ${claims}[sub] (client ${claims}[client_id])
    Log To Console    Token expires: ${expiry}

Call Healthcode With The Token
    Skip If    $API_URL is None    No API_URL given: set -v API_URL:https://... to call an API.
    ${auth}=    Get Healthcode Requests Auth
    Create Custom Session    healthcode    ${API_URL}    auth=${auth}    verify=${True}
    ${response}=    GET On Session    healthcode    /api/v1/whoami
    Log To Console    The API answered ${response.status_code}: ${response.json()}


*** Keywords ***
Simulated Supervisor Signs In
    [Documentation]    What a supervisor does by hand, on the sandbox's sign-in page (see docs/sandbox.md).
    ${password}=    Set Variable    %{SANDBOX_PASSWORD=sandbox-password}
    Browser.Fill Text    id=username    supervisor
    Browser.Fill Secret    id=password    $password
    Browser.Click    id=sign-in
