*** Settings ***
Documentation       The bot gets a Healthcode access token from a supervisor's sign-in and calls an API with it.
...
...                 Written by 'healthcode-auth init'. The client registration comes from the HEALTHCODE_*
...                 environment variables (see healthcode.env.example), so this one suite runs against
...                 Healthcode UAT, production and the local sandbox. While a valid token is stored (a
...                 supervisor signed in earlier, or ran 'healthcode-auth login'), no browser opens.
...
...                 robot healthcode_token.robot    a supervisor at this machine signs in in the window that opens
...                 robot -v HEADLESS:True -v API_URL:http://127.0.0.1:8765 healthcode_token.robot
...                 the same, headless, against the sandbox started with --remembered-supervisor
Library             HealthcodeLibrary    headless=${HEADLESS}
Library             RequestsLibrary
# No need to import Browser: HealthcodeLibrary imports it to open the sign-in page. Import it here
# only to drive that page with Browser keywords; the library then opens the page in your browser.


*** Variables ***
${HEADLESS}             ${False}
${SIGN_IN_TIMEOUT}      5 minutes
# The API to call with the token: its base URL and a path to GET (the sandbox's API is /api/v1/whoami).
${API_URL}              ${None}
${API_PATH}             /api/v1/whoami


*** Tasks ***
Get A Token For The Bot
    Authorise Healthcode Supervisor    timeout=${SIGN_IN_TIMEOUT}
    ${claims}=    Get Healthcode Token Claims
    ${expiry}=    Get Healthcode Token Expiry    result_format=text
    Log    Authorised by ${claims.get('sub')}; the token expires ${expiry}    console=True

Call An API With The Token
    Skip If    $API_URL is None    No API to call: give one with -v API_URL:https://... (and -v API_PATH:/...)
    ${auth}=    Get Healthcode Requests Auth
    Create Custom Session    healthcode    ${API_URL}    auth=${auth}    verify=${True}
    ${answer}=    GET On Session    healthcode    ${API_PATH}
    Log    The API answered ${answer.status_code}    console=True
