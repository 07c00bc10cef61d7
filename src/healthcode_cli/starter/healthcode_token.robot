*** Settings ***
Documentation       The bot gets a Healthcode access token from a supervisor's sign-in and calls an API with it.
...
...                 Written by 'healthcode-auth init'. The client registration comes from the HEALTHCODE_*
...                 environment variables (see healthcode.env.example), so this one suite runs against
...                 Healthcode UAT, production and the local sandbox. While a valid token is stored (a
...                 supervisor signed in earlier, or ran 'healthcode-auth login'), no browser opens.
...
...                 robot healthcode_token.robot    a supervisor at this machine signs in in the window that opens
...                 robot -v HEADLESS:True healthcode_token.robot
...                 the same, headless (against the sandbox started with --remembered-supervisor)
...
...                 Calling an API needs your site id: HEALTHCODE_SITE_ID (My Account in your Healthcode
...                 Account). Every API is looked up by name in Healthcode's API discovery document.
Library             HealthcodeLibrary    headless=${HEADLESS}
# No need to import Browser: HealthcodeLibrary imports it to open the sign-in page. Import it here
# only to drive that page with Browser keywords; the library then opens the page in your browser.


*** Variables ***
${HEADLESS}             ${False}
${SIGN_IN_TIMEOUT}      5 minutes
# The member to look up with Healthcode's Find Member API (the sandbox knows this made-up one).
${INSURER}              bup
${LAST_NAME}            Quarrendon-Fakename
${SITE_ID}              %{HEALTHCODE_SITE_ID=}


*** Tasks ***
Get A Token For The Bot
    Authorise Healthcode Supervisor    timeout=${SIGN_IN_TIMEOUT}
    ${claims}=    Get Healthcode Token Claims
    ${expiry}=    Get Healthcode Token Expiry    result_format=text
    Log    Authorised by ${claims.get('sub')}; the token expires ${expiry}    console=True

Find A Member And List Remittances
    Skip If    not $SITE_ID    No site id: set HEALTHCODE_SITE_ID (My Account in your Healthcode Account) to call the APIs.
    ${members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=${INSURER}
    ...    lastName=${LAST_NAME}
    Log    Find Member answered: ${members}[total] member(s)    console=True
    ${remittances}=    Call Healthcode API    search_remittance_summary    method=POST
    ...    insurerIdentifier=${INSURER}    all_pages=True
    Log    Search Remittance Summary answered: ${remittances}[total] remittance(s)    console=True
