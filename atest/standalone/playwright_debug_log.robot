*** Settings ***
Documentation       The suite imports Browser with enable_playwright_debug=True, which turns Playwright's debug
...                 log on only when the Browser library starts its node process, after any look at DEBUG. The
...                 sign-in is refused before node starts: nothing reaches the SSO, no log holds the request.
...                 Runs in a process of its own (atest/run.py): Browser is imported with these settings only.
Library             Browser    enable_playwright_debug=True
Library             HealthcodeLibrary    headless=True
Library             OperatingSystem
Library             ../resources/SandboxLibrary.py
Suite Setup         Start Sandbox    ${SANDBOX_URL}
Suite Teardown      Stop Sandbox


*** Variables ***
${SANDBOX_URL}      ${EMPTY}


*** Test Cases ***
The Browser Library's Playwright Debug Log Blocks The Sign-In
    Reset Sandbox Stats
    Run Keyword And Expect Error    *Playwright's debug log*enable_playwright_debug=playwright turns it on*
    ...    Open Healthcode Login
    ${requests}=    Sandbox Request Count    authorize
    Should Be Equal As Integers    ${requests}    0    The sign-in page must not have been opened
    ${logs}=    List Files In Directory    ${OUTPUT DIR}    playwright-log*.txt
    FOR    ${log}    IN    @{logs}
        ${text}=    Get File    ${OUTPUT DIR}/${log}
        Should Not Contain Any    ${text}    authorize    code_challenge
    END
