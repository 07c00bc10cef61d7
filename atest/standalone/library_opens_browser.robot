*** Settings ***
Documentation       The suite imports neither Browser nor opens a browser: HealthcodeLibrary does both.
...                 The supervisor's steps use the Browser instance the library imported.
...                 Runs in a process of its own (atest/run.py), as an operator's robot would.
...                 The client registration comes from the HEALTHCODE_* environment variables.
Library             HealthcodeLibrary    headless=True
Library             OperatingSystem
Library             ../resources/SandboxLibrary.py
Suite Setup         Start Sandbox    ${SANDBOX_URL}
Suite Teardown      Run Keywords    Close Every Browser    AND    Stop Sandbox


*** Variables ***
${SANDBOX_URL}      ${EMPTY}
${CLIENT_ID}        example_rpa_app
${REDIRECT_URI}     https://rpaapp.example.com/postauth
${PASSWORD: Secret}    %{SANDBOX_PASSWORD=sandbox-password}


*** Test Cases ***
The Library Opens Its Own Browser
    ${imported_before}=    Evaluate    'Browser' in sys.modules    modules=sys
    Should Not Be True    ${imported_before}    The suite must start without the Browser library
    Open Healthcode Login
    Run Keyword    Browser.Fill Text    id=username    supervisor
    Run Keyword    Browser.Fill Secret    id=password    $PASSWORD
    Run Keyword    Browser.Click    id=sign-in
    Wait For Supervisor Authorisation    timeout=30 seconds
    ${title}=    Run Keyword    Browser.Get Title
    Should Be Equal    ${title}    Bot authorised - Healthcode
    ${claims}=    Get Healthcode Token Claims
    Should Be Equal    ${claims}[sub]    supervisor

An Installed Browser Given By Its Path
    ${choice}=    Evaluate    HealthcodeLibrary.browsers.find_browser()    modules=HealthcodeLibrary.browsers
    Skip If    $choice.executable_path is None    Only Playwright's own Chromium is installed here
    Run Keyword    Browser.Close Browser    ALL
    Open Healthcode Login    executable_path=${choice.executable_path}
    Run Keyword    Browser.Fill Text    id=username    supervisor
    Run Keyword    Browser.Fill Secret    id=password    $PASSWORD
    Run Keyword    Browser.Click    id=sign-in
    Wait For Supervisor Authorisation    timeout=30 seconds
    Get Healthcode Access Token

No Debug Log Is Written By The Browser Library It Imported
    File Should Not Exist    ${OUTPUT DIR}/playwright-log.txt

A Sign-In Page That Cannot Be Reached Fails Clearly
    [Documentation]    The discovery document names an authorization endpoint on a closed port.
    ${port}=    Evaluate    __import__('socket').create_server(('127.0.0.1', 0)).getsockname()[1]
    Set Test Variable    ${DEAD}    http://127.0.0.1:${port}
    Run Keyword And Expect Error    *could not open Healthcode's sign-in page*ERR_CONNECTION_REFUSED*
    ...    Open Sign-In Page At    ${DEAD}/authorize


*** Keywords ***
Close Every Browser
    ${imported}=    Evaluate    'Browser' in sys.modules    modules=sys
    IF    ${imported}    Browser.Close Browser    ALL

Open Sign-In Page At
    [Arguments]    ${url}
    ${page}=    Evaluate    HealthcodeLibrary.sign_in_page.SignInPage()    modules=HealthcodeLibrary.sign_in_page
    ${options}=    Evaluate    HealthcodeLibrary.sign_in_page.BrowserOptions(headless=True)
    ...    modules=HealthcodeLibrary.sign_in_page
    ${origins}=    Create List    ${url}
    Call Method    ${page}    open    ${url}    ${REDIRECT_URI}    not-a-real-state    ${options}    ${origins}
