*** Settings ***
Documentation       A suite that handles the real access token carelessly: unwraps it, logs it, compares it,
...                 builds its own Authorization header, runs it as a keyword name. The library's output
...                 scrubber masks it in every output; atest/run.py's secret scan (output.xml, log.html,
...                 report.html, the debug file and the console, at TRACE level) proves it.
...                 ``Log To Console`` is left out on purpose: it writes straight to stdout, out of a
...                 listener's reach (see the library's `Secrets`).
Resource            ../../resources/common.resource
Library             HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
...                 environment=${DISCOVERY_URL}
Suite Setup         Sign In And Keep The Token
Suite Teardown      Close Browser    ALL


*** Test Cases ***
An Unwrapped Token Is Masked In Log Messages
    ${value}=    Evaluate    $TOKEN.value
    Log    ${value}
    Log Many    ${value}    ${TOKEN.value}
    Log    Token: ${value}    console=True
    Set Test Variable    ${UNWRAPPED}    ${value}
    Set Test Message    Handled ${UNWRAPPED}

A Hand-Made Authorization Header Is Masked
    ${headers}=    Create Dictionary    Authorization=Bearer ${TOKEN.value}
    Log    ${headers}
    ${response}=    RequestsLibrary.GET    ${SANDBOX_URL}/api/v1/whoami    headers=${headers}
    Should Be Equal    ${response.json()}[sub]    ${SUPERVISOR}

A Failing Comparison Is Masked
    ${value}=    Evaluate    $TOKEN.value
    Run Keyword And Expect Error    *!= not-the-token
    ...    Should Be Equal    ${value}    not-the-token
    TRY
        Fail    Unexpected token ${value}
    EXCEPT    Unexpected token *    type=GLOB    AS    ${error}
        Log    ${error}
    END

A Token Used As A Keyword Name Is Masked
    ${value}=    Evaluate    $TOKEN.value
    Run Keyword And Expect Error    No keyword with name '*' found.    Run Keyword    ${value}
    Run Keyword And Expect Error    No keyword with name '*' found.    Run Keyword    Bearer ${value}

Loop Values And Trace Logging Are Masked
    ${value}=    Evaluate    $TOKEN.value
    FOR    ${item}    IN    ${value}    not a secret
        Log    ${item}
    END
    Should Be Equal As Strings    ${value}    ${TOKEN.value}


*** Keywords ***
Sign In And Keep The Token
    Open Test Browser
    New Context
    Open Healthcode Login
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=30 seconds
    ${token}=    Get Healthcode Access Token
    VAR    ${TOKEN}    ${token}    scope=SUITE
