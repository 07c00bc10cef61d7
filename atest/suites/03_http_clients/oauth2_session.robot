*** Settings ***
Documentation       Python keyword authors' requests-oauthlib session: the sandbox's API through it, and one
...                 renewal when the token is due, through the library's token store (never requests-oauthlib's).
...                 The renewal test turns the sandbox's refresh tokens on: by default it issues none, as Healthcode.
Resource            ../../resources/common.resource
Library             HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
...                 environment=${SANDBOX_URL}    token_cache=${OUTPUT DIR}/oauth2-session-tokens.json    site_id=HC00ABC
Suite Setup         Open Test Browser
Suite Teardown      Close Browser    ALL
Test Teardown       Reset Sandbox Faults


*** Test Cases ***
The API Is Called Through The OAuth2 Session, With One Renewal Through The Store
    Clear Healthcode Authorisation
    Set Sandbox Faults    token_lifetime=${60}    refresh_tokens=${True}    # due at once, and renewable
    Open Healthcode Login
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=30 seconds
    Get Healthcode Access Token    # the code is redeemed now: a token that is already due
    Set Sandbox Faults    token_lifetime=${86400}
    Reset Sandbox Stats
    ${api}=    Get Healthcode OAuth2 Session
    FOR    ${call}    IN RANGE    3
        ${response}=    Call Method    ${api}    get    ${SANDBOX_URL}/api/v1/whoami    timeout=${10}
        Should Be Equal As Integers    ${response.status_code}    200
        Should Be Equal    ${response.json()}[sub]    ${SUPERVISOR}
    END
    ${refreshes}=    Sandbox Request Count    token.refresh_token
    Should Be Equal As Integers    ${refreshes}    1    One renewal, when the token was due, and only one
    ${history}=    Evaluate    [e.fields["event"] for e in $api._healthcode.history(5)]
    Should Contain    ${history}    renewed    The renewal went through the library's store
    Healthcode Access Token Should Be Valid    min_remaining=23 hours

Plain Http To Another Host Is Refused
    ${api}=    Get Healthcode OAuth2 Session
    Run Keyword And Expect Error    *Refusing to send the Healthcode token*plain http*
    ...    Call Method    ${api}    get    http://api.healthcode.example/api/v1/whoami
