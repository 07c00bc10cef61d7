*** Settings ***
Documentation       Robots run in parallel by pabot (atest/run.py) after one 'healthcode-auth login', with a
...                 token that is already due for renewal: between them they make exactly one refresh request
...                 (checked by run.py) and every robot calls the API with the renewed token. run.py has the
...                 sandbox issue refresh tokens for this run; by default it issues none, as Healthcode documents.
Library             HealthcodeLibrary
Library             RequestsLibrary


*** Variables ***
${SANDBOX_URL}      ${EMPTY}


*** Test Cases ***
Robot 1
    A Robot Calls Healthcode

Robot 2
    A Robot Calls Healthcode

Robot 3
    A Robot Calls Healthcode

Robot 4
    A Robot Calls Healthcode


*** Keywords ***
A Robot Calls Healthcode
    ${token}=    Get Healthcode Access Token
    Healthcode Access Token Should Be Valid    min_remaining=23 hours
    ${auth}=    Get Healthcode Requests Auth
    Create Custom Session    healthcode    ${SANDBOX_URL}    auth=${auth}    verify=${True}
    ${response}=    GET On Session    healthcode    /api/v1/whoami
    Should Be Equal    ${response.json()}[sub]    supervisor
