*** Settings ***
Documentation       A scheduled robot after a supervisor signed in with `healthcode-auth login`: it gets the
...                 token from the cache with no browser and no request to the SSO.
...                 Runs in a process of its own (atest/run.py), as a scheduler would start it.
Library             Process
Library             HealthcodeLibrary
Library             ../resources/SandboxLibrary.py
Suite Setup         A Supervisor Signed In Earlier
Suite Teardown      Stop Sandbox


*** Variables ***
${SANDBOX_URL}      ${EMPTY}


*** Test Cases ***
The Token Comes From The Cache Without Any Request
    Reset Sandbox Stats
    ${token}=    Get Healthcode Access Token
    Should Be True    isinstance($token, robot.api.types.Secret)
    Healthcode Access Token Should Be Valid    min_remaining=23 hours
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    supervisor
    ${requests}=    Sandbox Request Total
    Should Be Equal As Integers    ${requests}    0    The scheduled run must not contact the SSO

No Browser Was Imported Or Started
    ${loaded}=    Evaluate    sorted(m for m in ('Browser', 'grpc', 'playwright') if m in sys.modules)    modules=sys
    Should Be Empty    ${loaded}

Without A Cached Token The Run Fails Fast And Says What To Do
    Clear Healthcode Authorisation
    Reset Sandbox Stats
    Run Keyword And Expect Error    *supervisor must sign in*healthcode-auth login*
    ...    Get Healthcode Access Token
    ${requests}=    Sandbox Request Total
    Should Be Equal As Integers    ${requests}    0


*** Keywords ***
A Supervisor Signed In Earlier
    Start Sandbox    ${SANDBOX_URL}
    Set Sandbox Faults    remembered_supervisor=supervisor
    ${login}=    Run Process    ${PYTHON}    -m    healthcode_cli    login    --headless
    ...    timeout=120s    stderr=STDOUT
    Should Be Equal As Integers    ${login.rc}    0    ${login.stdout}
    Should Contain    ${login.stdout}    Signed in: supervisor
    Reset Sandbox Faults
