*** Settings ***
Documentation       A scheduled robot: it uses the authorisation a supervisor gave, and waits for one when there is none.
...
...                 Written by 'healthcode-auth init'. The daily cycle: Healthcode's authorisation lasts 24 hours
...                 and cannot be renewed, so a supervisor signs in once a day with 'healthcode-auth login'
...                 (on a machine with a desktop, in the browser window it opens). The token goes into the token
...                 store, encrypted, and every run of this suite takes it from there: no browser, no request
...                 to the SSO. When a run finds no valid authorisation (the day's has ended and nobody has
...                 signed in yet), it waits for a supervisor to sign in, up to ${WAIT_FOR_SUPERVISOR}, and
...                 then goes on as if the authorisation had been there all along; after that time it fails,
...                 saying so. This suite never opens a browser: on a scheduler's machine nobody would see it.
...
...                 The client registration and the token store come from the HEALTHCODE_* environment
...                 variables (see healthcode.env.example): give this robot and 'healthcode-auth login' the
...                 same HEALTHCODE_TOKEN_CACHE and HEALTHCODE_CACHE_KEY.
...
...                 robot scheduled_robot.robot    waits up to 30 minutes for a supervisor when it must
...                 robot -v "WAIT_FOR_SUPERVISOR:2 hours" scheduled_robot.robot
...                 Its API call needs the site id: HEALTHCODE_SITE_ID (My Account in your Healthcode Account).
Library             HealthcodeLibrary    wait_for_authorisation=${WAIT_FOR_SUPERVISOR}


*** Variables ***
# How long a run waits for a supervisor to sign in when it finds no valid authorisation (a Robot
# Framework time). Given here, it wins over HEALTHCODE_WAIT_FOR_AUTHORISATION.
${WAIT_FOR_SUPERVISOR}      30 minutes
${SITE_ID}                  %{HEALTHCODE_SITE_ID=}
# The insurer whose remittances the robot lists (the sandbox has made-up ones for bup).
${INSURER}                  bup


*** Tasks ***
Use The Supervisor's Authorisation
    Get Healthcode Access Token
    ${claims}=    Get Healthcode Token Claims
    ${expiry}=    Get Healthcode Token Expiry    result_format=text
    Log    Authorised by ${claims.get('sub')}; the token expires ${expiry}    console=True

List The Remittances
    Skip If    not $SITE_ID    No site id: set HEALTHCODE_SITE_ID to call Healthcode's APIs.
    ${remittances}=    Call Healthcode API    search_remittance_summary    method=POST
    ...    insurerIdentifier=${INSURER}    all_pages=True
    Log    Search Remittance Summary answered: ${remittances}[total] remittance(s)    console=True
