*** Settings ***
Documentation       An unattended run cannot hang on a browser nobody sees. A headless sign-in in a browser the
...                 library opened itself that lands on the SSO's sign-in form, instead of completing on its own,
...                 fails within seconds (the timeout given is 2 minutes), saying what to use instead. A remembered
...                 supervisor still signs in headless, and so does a form the suite filled in before the wait; a
...                 slow SSO page built by script is judged only once it settled; in a browser the suite opened
...                 itself the wait goes on as before (sign_in.robot fills the form in there).
Resource            ../../resources/common.resource
Library             HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
...                 environment=${DISCOVERY_URL}    headless=True    token_cache=off
Library             ScriptBuiltSso.py
Suite Setup         Start A Script-Built SSO
Suite Teardown      Run Keywords    Close Browser    ALL    AND    Stop Script Built Sso
Test Setup          Prepare Test
Test Teardown       Reset Sandbox Faults


*** Variables ***
${QUICKLY}          30    # seconds; the timeout given is 2 minutes


*** Test Cases ***
A Headless Sign-In Nobody Can Complete Fails Within Seconds
    ${started}=    Now
    Open Healthcode Login
    ${error}=    Run Keyword And Expect Error    *sign-in form in a headless browser the robot opened itself*
    ...    Wait For Supervisor Authorisation    timeout=2 minutes
    Should Have Failed Quickly    ${started}
    The Error Says What To Use Instead    ${error}
    ${exchanges}=    Sandbox Request Count    token
    Should Be Equal As Integers    ${exchanges}    0

Authorise Healthcode Supervisor Fails Within Seconds, Again In The Library's Own Browser
    FOR    ${attempt}    IN RANGE    2
        ${started}=    Now
        ${error}=    Run Keyword And Expect Error    *sign-in form in a headless browser the robot opened itself*
        ...    Authorise Healthcode Supervisor    timeout=2 minutes
        Should Have Failed Quickly    ${started}
    END
    ${browsers}=    Get Browser Ids    ALL
    Length Should Be    ${browsers}    1    The second sign-in used the browser the library opened for the first

A Remembered Supervisor Still Signs In Headless
    Set Sandbox Faults    remembered_supervisor=${SUPERVISOR}
    Authorise Healthcode Supervisor    timeout=2 minutes
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    ${SUPERVISOR}

A Remembered Supervisor Sent On By Script Still Signs In Headless
    Set Sandbox Faults    remembered_supervisor=${SUPERVISOR}    approve_by_script=${True}
    Authorise Healthcode Supervisor    timeout=2 minutes
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    ${SUPERVISOR}

A Form The Suite Filled In Before The Wait Still Signs In
    Open Healthcode Login
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=2 minutes
    Authorised Page Should Be Shown
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    ${SUPERVISOR}

A Two-Step Form The Suite Filled In Before The Wait Still Signs In
    Open Healthcode Login
    Supervisor Signs In    ${MFA_SUPERVISOR}
    Supervisor Enters One-Time Code
    Wait For Supervisor Authorisation    timeout=2 minutes
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    ${MFA_SUPERVISOR}

A Second Step Nobody Takes Fails Within Seconds
    [Documentation]    The suite gave the password but not the one-time code: nobody can enter it during the wait.
    Open Healthcode Login
    Supervisor Signs In    ${MFA_SUPERVISOR}
    ${started}=    Now
    Run Keyword And Expect Error    *sign-in form in a headless browser the robot opened itself*
    ...    Wait For Supervisor Authorisation    timeout=2 minutes
    Should Have Failed Quickly    ${started}

A Slow SSO Whose Form Is Built By Script Is Judged Once The Form Is There
    Set Script Built Sso Mode    late form
    ${started}=    Now
    ScriptSso.Open Healthcode Login
    ${error}=    Run Keyword And Expect Error    *sign-in form in a headless browser the robot opened itself*
    ...    ScriptSso.Wait For Supervisor Authorisation    timeout=2 minutes
    Should Have Failed Quickly    ${started}
    ${took}=    Seconds Since    ${started}
    Should Be True    ${took} > 2.5    The form exists only once its settings answered (2.5 s): judged at ${took} s
    Should Not Contain    ${error}    refused    A page still loading is not the SSO saying no

A Form Shown While The Page Has Not Settled Is Not Judged
    [Documentation]    The SSO shows a form while its script asks, slowly, whether it remembers the supervisor;
    ...    then it sends the browser back to the redirect URI (this SSO with access_denied: it issues no codes).
    Set Script Built Sso Mode    slow redirect
    ScriptSso.Open Healthcode Login
    Run Keyword And Expect Error    *declined or cancelled*this SSO issues no codes*
    ...    ScriptSso.Wait For Supervisor Authorisation    timeout=2 minutes

In A Browser The Suite Opened The Wait Goes On
    Open Test Browser
    Open Healthcode Login
    ${started}=    Now
    Run Keyword And Expect Error    *did not complete the sign-in within 5 seconds*
    ...    Wait For Supervisor Authorisation    timeout=5 seconds
    ${took}=    Seconds Since    ${started}
    Should Be True    ${took} >= 4.9    The wait in the suite's own browser lasted ${took} s, not its timeout


*** Keywords ***
Start A Script-Built SSO
    ${sso}=    Start Script Built Sso
    Import Library    HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
    ...    environment=${sso}    headless=True    token_cache=off    AS    ScriptSso
    Set Library Search Order    HealthcodeLibrary    # keywords without a prefix: the sandbox's robot

Prepare Test
    [Documentation]    No browser open: each test's sign-in opens the library's own (but one test opens the suite's).
    Close Browser    ALL
    Clear Healthcode Authorisation
    Reset Sandbox Stats

Now
    ${now}=    Evaluate    time.monotonic()    modules=time
    RETURN    ${now}

Seconds Since
    [Arguments]    ${started}
    ${took}=    Evaluate    round(time.monotonic() - $started, 1)    modules=time
    RETURN    ${took}

Should Have Failed Quickly
    [Arguments]    ${started}
    ${took}=    Seconds Since    ${started}
    Should Be True    ${took} < ${QUICKLY}    The failure took ${took} s

The Error Says What To Use Instead
    [Arguments]    ${error}
    Should Contain    ${error}    nobody can see that page or fill it in
    Should Contain    ${error}    rather than wait 2 minutes
    Should Contain    ${error}    wait_for_authorisation setting (HEALTHCODE_WAIT_FOR_AUTHORISATION
    Should Contain    ${error}    'healthcode-auth login' on a machine with a desktop
    Should Contain    ${error}    the supervisor portal, where one runs
    Should Not Contain    ${error}    did not complete the sign-in    Not a timeout: nobody was ever there
