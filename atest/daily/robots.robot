*** Settings ***
Documentation       The daily cycle as Healthcode documents it: yesterday's authorisation is over and no refresh
...                 token renews it. atest/run.py starts these robots on three simulated machines at once (pabot,
...                 eight each) with HEALTHCODE_WAIT_FOR_AUTHORISATION set: they send one "robots waiting" notice
...                 between them, wait, and go on once a supervisor signs in (healthcode-auth login --headless).
Library             HealthcodeLibrary
Library             RequestsLibrary


*** Variables ***
${SANDBOX_URL}      ${EMPTY}


*** Test Cases ***
Robot 1
    A Robot Waits For The Day's Sign-In And Calls Healthcode

Robot 2
    A Robot Waits For The Day's Sign-In And Calls Healthcode

Robot 3
    A Robot Waits For The Day's Sign-In And Calls Healthcode

Robot 4
    A Robot Waits For The Day's Sign-In And Calls Healthcode

Robot 5
    A Robot Waits For The Day's Sign-In And Calls Healthcode

Robot 6
    A Robot Waits For The Day's Sign-In And Calls Healthcode

Robot 7
    A Robot Waits For The Day's Sign-In And Calls Healthcode

Robot 8
    A Robot Waits For The Day's Sign-In And Calls Healthcode


*** Keywords ***
A Robot Waits For The Day's Sign-In And Calls Healthcode
    ${auth}=    Get Healthcode Requests Auth
    Get Healthcode Access Token    # waits for the supervisor (HEALTHCODE_WAIT_FOR_AUTHORISATION)
    Healthcode Access Token Should Be Valid    min_remaining=23 hours
    Create Custom Session    healthcode    ${SANDBOX_URL}    auth=${auth}    verify=${True}
    ${response}=    GET On Session    healthcode    /api/v1/whoami
    Should Be Equal    ${response.json()}[sub]    supervisor
