*** Settings ***
Documentation       A robot that finds no authorisation and waits for a supervisor (HEALTHCODE_WAIT_FOR_AUTHORISATION),
...                 then calls Healthcode with the token the supervisor's sign-in at the portal stored.
...                 portal.robot starts it before the supervisor presses "Authorise the robots".
Library             HealthcodeLibrary    wait_for_authorisation=2 minutes
Library             RequestsLibrary


*** Variables ***
${SANDBOX_URL}      ${EMPTY}


*** Tasks ***
A Robot Waits For The Portal's Sign-In And Calls Healthcode
    ${auth}=    Get Healthcode Requests Auth
    Get Healthcode Access Token    # waits for the supervisor
    Healthcode Access Token Should Be Valid    min_remaining=23 hours
    Create Custom Session    healthcode    ${SANDBOX_URL}    auth=${auth}    verify=${True}
    ${response}=    GET On Session    healthcode    /api/v1/whoami
    Should Be Equal    ${response.json()}[sub]    supervisor
