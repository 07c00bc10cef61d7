*** Settings ***
Documentation       A robot signs in to the local Healthcode SSO sandbox, headless, and calls its API.
...                 Start the sandbox first: healthcode-auth sandbox --remembered-supervisor supervisor
Library             HealthcodeLibrary    client_id=example_rpa_app    redirect_uri=https://rpaapp.example.com/postauth
...                 environment=${SANDBOX}    headless=True    token_cache=off
Library             RequestsLibrary


*** Variables ***
${SANDBOX}          http://127.0.0.1:8765


*** Tasks ***
Sign In Headless And Call The API
    Authorise Healthcode Supervisor    timeout=1 minute
    ${expiry}=    Get Healthcode Token Expiry    result_format=text
    ${auth}=    Get Healthcode Requests Auth
    Create Custom Session    sandbox    ${SANDBOX}    auth=${auth}    verify=${True}
    ${answer}=    GET On Session    sandbox    /api/v1/whoami
    Log    Signed in as ${answer.json()}[sub]; the token expires ${expiry}    console=True
