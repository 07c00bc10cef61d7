*** Settings ***
Documentation       A bot gets its Healthcode access token from a supervisor's sign-in and calls Healthcode's APIs.
...
...                 The client registration comes from the HEALTHCODE_* environment variables, so the
...                 same suite runs against the local sandbox (the demo: scripts/demo), Healthcode UAT or
...                 production. Against the sandbox a simulated supervisor fills in the sign-in form;
...                 against Healthcode a real supervisor signs in in the browser window.
Library             HealthcodeLibrary    headless=${HEADLESS}
# The suite fills in the sign-in page with Browser keywords (the simulated supervisor), so it imports
# Browser itself; a suite that does not would leave that to HealthcodeLibrary.
Library             Browser


*** Variables ***
${HEADLESS}                 ${False}
${SIMULATED_SUPERVISOR}     ${False}
# Healthcode's APIs need the customer's site id (HEALTHCODE_SITE_ID, or site_id=... on the library).
${SITE_ID}                  %{HEALTHCODE_SITE_ID=}
# A made-up member the sandbox knows; against Healthcode UAT, use a test member Healthcode gave you.
${INSURER}                  bup
${LAST_NAME}                Quarrendon-Fakename
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

Find A Member
    [Documentation]    Healthcode's Find Member API: looked up by name in the API discovery document,
    ...    called with SU-SiteId and HC-API-Version. The log shows a summary, never the member's data.
    Skip If    not $SITE_ID    No site id: set HEALTHCODE_SITE_ID to call Healthcode's APIs.
    ${members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=${INSURER}
    ...    lastName=${LAST_NAME}
    Log    Find Member found ${members}[total] member(s); the first is ${members}[entry][0][resource][status]
    ...    console=True

List Every Remittance
    [Documentation]    Search Remittance Summary, every page read into one list.
    Skip If    not $SITE_ID    No site id: set HEALTHCODE_SITE_ID to call Healthcode's APIs.
    ${remittances}=    Call Healthcode API    search_remittance_summary    method=POST
    ...    insurerIdentifier=${INSURER}    all_pages=True
    ${count}=    Get Length    ${remittances}[entry]
    Log    ${count} of ${remittances}[total] remittance(s) read    console=True


*** Keywords ***
Simulated Supervisor Signs In
    [Documentation]    What a supervisor does by hand, on the sandbox's sign-in page (see docs/sandbox.md).
    Fill Text    id=username    supervisor
    Fill Secret    id=password    $PASSWORD
    Click    id=sign-in
