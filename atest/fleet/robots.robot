*** Settings ***
Documentation       Robots of a fleet: many machines share one supervisor's authorisation through Redis.
...                 atest/run.py starts them on three simulated machines at once (pabot, eight each) with a
...                 token already due for renewal: between them they make exactly one refresh request (run.py
...                 has the sandbox issue refresh tokens for this run; by default it issues none, as Healthcode).
Library             HealthcodeLibrary
Library             RequestsLibrary


*** Variables ***
${SANDBOX_URL}      ${EMPTY}


*** Test Cases ***
Robot 1
    [Tags]    fleet
    A Robot Calls Healthcode

Robot 2
    [Tags]    fleet
    A Robot Calls Healthcode

Robot 3
    [Tags]    fleet
    A Robot Calls Healthcode

Robot 4
    [Tags]    fleet
    A Robot Calls Healthcode

Robot 5
    [Tags]    fleet
    A Robot Calls Healthcode

Robot 6
    [Tags]    fleet
    A Robot Calls Healthcode

Robot 7
    [Tags]    fleet
    A Robot Calls Healthcode

Robot 8
    [Tags]    fleet
    A Robot Calls Healthcode

After A Logout Elsewhere The Robot Is Told To Sign In
    [Tags]    after-logout
    Run Keyword And Expect Error    *supervisor must sign in*healthcode-auth login*
    ...    Get Healthcode Access Token


*** Keywords ***
A Robot Calls Healthcode
    Get Healthcode Access Token
    Healthcode Access Token Should Be Valid    min_remaining=23 hours
    ${auth}=    Get Healthcode Requests Auth
    Create Custom Session    healthcode    ${SANDBOX_URL}    auth=${auth}    verify=${True}
    ${response}=    GET On Session    healthcode    /api/v1/whoami
    Should Be Equal    ${response.json()}[sub]    supervisor
