*** Settings ***
Documentation       A bot gets its Healthcode access token from a supervisor's sign-in and calls an API with it.
...
...                 The client registration comes from the HEALTHCODE_* environment variables, so the
...                 same suite runs against the local sandbox (the demo: scripts/demo), Healthcode UAT or
...                 production. Against the sandbox a simulated supervisor fills in the sign-in form;
...                 against Healthcode a real supervisor signs in in the browser window.
Library             HealthcodeLibrary    headless=${HEADLESS}
# The suite fills in the sign-in page with Browser keywords (the simulated supervisor), so it imports
# Browser itself; a suite that does not would leave that to HealthcodeLibrary.
Library             Browser
Library             RequestsLibrary


*** Variables ***
${HEADLESS}                 ${False}
${SIMULATED_SUPERVISOR}     ${False}
${API_URL}                  ${None}
${SIGN_IN_TIMEOUT}          5 minutes
# A Secret is never written to output.xml or log.html (Robot Framework 7.4+).
${PASSWORD: Secret}         %{SANDBOX_PASSWORD=sandbox-password}


*** Tasks ***
Get A Token For The Bot
    Open Healthcode Login
    IF    ${SIMULATED_SUPERVISOR}    Simulated Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=${SIGN_IN_TIMEOUT}
    ${token}=    Get Healthcode Access Token
    ${claims}=    Get Healthcode Token Claims
    ${expiry}=    Get Healthcode Token Expiry    result_format=text
    Log    Signed in by: ${claims}[sub] (client ${claims}[client_id])    console=True
    Log    Token expires: ${expiry}    console=True

Call Healthcode With The Token
    Skip If    $API_URL is None    No API_URL given: set -v API_URL:https://... to call an API.
    ${auth}=    Get Healthcode Requests Auth
    Create Custom Session    healthcode    ${API_URL}    auth=${auth}    verify=${True}
    ${response}=    GET On Session    healthcode    /api/v1/whoami
    Log    The API answered ${response.status_code}: ${response.json()}    console=True


*** Keywords ***
Simulated Supervisor Signs In
    [Documentation]    What a supervisor does by hand, on the sandbox's sign-in page (see docs/sandbox.md).
    Fill Text    id=username    supervisor
    Fill Secret    id=password    $PASSWORD
    Click    id=sign-in
