*** Settings ***
Documentation       A robot signs in to the local Healthcode SSO sandbox, headless, and calls its APIs.
...                 Start the sandbox first: healthcode-auth sandbox --remembered-supervisor supervisor
Library             HealthcodeLibrary    client_id=example_rpa_app    redirect_uri=https://rpaapp.example.com/postauth
...                 environment=${SANDBOX}    headless=True    token_cache=off    site_id=HC00ABC


*** Variables ***
${SANDBOX}          http://127.0.0.1:8765


*** Tasks ***
Sign In Headless And Call Healthcode's APIs
    Authorise Healthcode Supervisor    timeout=1 minute
    ${claims}=    Get Healthcode Token Claims
    ${expiry}=    Get Healthcode Token Expiry    result_format=text
    Log    Signed in as ${claims}[sub]; the token expires ${expiry}    console=True
    ${members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup    lastName=Gray
    Log    Find Member found ${members}[total] member(s)    console=True
    ${remittances}=    Call Healthcode API    search_remittance_summary    method=POST
    ...    insurerIdentifier=bup    all_pages=True
    Log    ${remittances}[total] remittance(s), every page read    console=True
