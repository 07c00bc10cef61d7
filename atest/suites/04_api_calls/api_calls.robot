*** Settings ***
Documentation       Calling Healthcode's APIs as Healthcode documents them, against the sandbox's API side:
...                 endpoints from the API discovery document, SU-SiteId and HC-API-Version on every call,
...                 a moved API followed once, a 5xx retried, OperationOutcome errors, paging, and a token
...                 that never reaches another host. The run is at TRACE: atest/run.py then scans every
...                 output for the made-up patient this suite looks up (no patient data in any log).
Resource            ../../resources/common.resource
Library             HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
...                 environment=${SANDBOX_URL}    token_cache=${OUTPUT DIR}/api-call-tokens.json    site_id=HC00ABC
Library             HealthcodeLibrary    client_id=${CLIENT_ID}    redirect_uri=${REDIRECT_URI}
...                 environment=${SANDBOX_URL}    token_cache=${OUTPUT DIR}/api-call-tokens.json    site_id=HC16190
...                 AS    OtherSite
Suite Setup         A Supervisor Authorises The Bot
Suite Teardown      Close Browser    ALL
Test Setup          Reset Sandbox Stats
Test Teardown       Reset Sandbox Faults
Test Tags           api


*** Variables ***
# The made-up patient atest/run.py searches every output for: only her surname is given here.
${PATIENT_SURNAME}      Quarrendon-Fakename


*** Test Cases ***
Find A Member
    ${members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup
    ...    lastName=${PATIENT_SURNAME}
    Should Be Equal As Integers    ${members}[total]    1
    Should Be Equal    ${members}[entry][0][resource][resourceType]    Coverage
    Should Be Equal    ${members}[entry][0][resource][status]    active
    Should Be Equal    ${members.summary}    Bundle of 1 Coverage
    # Logged carelessly, at TRACE: the summary only (atest/run.py scans for her data)
    Log    ${members}
    Log    ${members}[entry]
    Log    ${members}[entry][0][resource]
    Log Many    @{members}[entry]
    ${calls}=    Sandbox API Calls    find_member
    Length Should Be    ${calls}    1
    Should Be Equal    ${calls}[0][method]    POST
    Should Be Equal    ${calls}[0][site_id]    HC00ABC
    Should Be Equal    ${calls}[0][api_version]    1
    Should Be True    ${calls}[0][bearer]
    Should Start With    ${calls}[0][content_type]    application/x-www-form-urlencoded

The Endpoint Comes From The API Discovery Document
    ${url}=    Get Healthcode API Endpoint    find_member
    ${same}=    Get Healthcode API Endpoint    find_member_endpoint
    Should Be Equal    ${url}    ${same}
    Should Be Equal    ${url}    ${SANDBOX_URL}/api/v1/authorisation/find-member
    ${names}=    Get Healthcode API Names
    Should Contain    ${names}    search_remittance_summary

An Unknown Endpoint Name Lists The Known Ones
    Run Keyword And Expect Error    *find_membr*find_member*search_remittance_summary*
    ...    Call Healthcode API    find_membr    method=POST    insurerIdentifier=bup
    ${total}=    Sandbox Request Total
    Should Be Equal As Integers    ${total}    0    Nothing was called

Page Through Remittances
    ${first}=    Call Healthcode API    search_remittance_summary    method=POST    insurerIdentifier=bup
    Length Should Be    ${first}[entry]    10
    ${all}=    Call Healthcode API    search_remittance_summary    method=POST    insurerIdentifier=bup
    ...    all_pages=True
    Should Be Equal As Integers    ${all}[total]    25
    Length Should Be    ${all}[entry]    25
    ${ids}=    Evaluate    len({e["resource"]["id"] for e in $all["entry"]})
    Should Be Equal As Integers    ${ids}    25    Every remittance once
    ${calls}=    Sandbox API Calls    search_remittance_summary
    Length Should Be    ${calls}    4    One call for the first page, then three for every page

Page Through A FHIR List By Its Next Links
    ${all}=    Call Healthcode API    search_practitioner    all_pages=True
    Length Should Be    ${all}[entry]    23
    ${calls}=    Sandbox API Calls    search_practitioner
    Length Should Be    ${calls}    3
    FOR    ${call}    IN    @{calls}
        Should Be Equal    ${call}[method]    GET
        Should Be Equal    ${call}[site_id]    HC00ABC
    END

Get One Remittance By Its Id, And Delete An Appointment
    ${remittance}=    Call Healthcode API    get_remittance    path=RM00003
    Should Be Equal    ${remittance}[resourceType]    PaymentReconciliation
    Should Be Equal    ${remittance}[id]    RM00003
    ${outcome}=    Call Healthcode API    delete_appointment    method=DELETE    path=AP00001
    Should Be Equal    ${outcome}[resourceType]    OperationOutcome
    Should Be Equal    ${outcome}[issue][0][severity]    information

A Site The Supervisor May Not Use Is Refused With The OperationOutcome's Words
    Run Keyword And Expect Error    *403*MSG_SITE_NOT_PERMITTED*HC16190*
    ...    OtherSite.Call Healthcode API    find_member    method=POST    insurerIdentifier=bup
    ${calls}=    Sandbox API Calls    find_member
    Should Be Equal    ${calls}[0][site_id]    HC16190

An OperationOutcome Error Is Reported
    Set Sandbox Faults    api_outcome_error=${1}
    ${error}=    Run Keyword And Expect Error    *422*
    ...    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup
    Should Not Contain    ${error}    ${PATIENT_SURNAME}
    Should Match Regexp    ${error}    (error|fatal)

A 301 Alternate Endpoint Is Followed Once, With The Headers
    Set Sandbox Faults    api_moved=${1}
    ${members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup
    ...    lastName=${PATIENT_SURNAME}
    Should Be Equal As Integers    ${members}[total]    1
    ${calls}=    Sandbox API Calls    find_member
    Length Should Be    ${calls}    2
    Should Be Equal As Integers    ${calls}[0][status]    301
    Should Start With    ${calls}[1][path]    /api/v2-moved/
    Should Be Equal As Integers    ${calls}[1][status]    200
    Should Be Equal    ${calls}[1][site_id]    HC00ABC
    Should Be Equal    ${calls}[1][api_version]    1
    Should Be True    ${calls}[1][bearer]
    ${discoveries}=    Sandbox Request Count    api_discovery
    Should Be Equal As Integers    ${discoveries}    1    The discovery document was fetched again

A Second Redirect Is Not Followed
    # The first answer redirects to the API's own address, whose answer redirects again.
    Set Sandbox Faults    api_redirect_elsewhere=${SANDBOX_URL}/api/v1/ppr/practitioners    api_moved=${1}
    ...    api_moved_status=${302}
    Run Keyword And Expect Error    *redirect*
    ...    Call Healthcode API    search_practitioner
    ${calls}=    Sandbox API Calls    search_practitioner
    Length Should Be    ${calls}    2

A Redirect To Another Host Never Receives The Token
    ${elsewhere}=    Start Header Recorder
    Set Sandbox Faults    api_redirect_elsewhere=${elsewhere}/collect
    Run Keyword And Expect Error    *127.0.0.1*
    ...    Call Healthcode API    search_practitioner
    ${hits}=    Header Recorder Hits
    Should Be Empty    ${hits}    Nothing at all was sent to the other host

RequestsLibrary's Redirect To Another Host Carries None Of The Headers
    ${elsewhere}=    Start Header Recorder
    Set Sandbox Faults    api_redirect_elsewhere=${elsewhere}/collect
    ${auth}=    Get Healthcode Requests Auth
    ${url}=    Get Healthcode API Endpoint    search_practitioner
    ${answer}=    GET    ${url}    auth=${auth}    expected_status=anything
    ${hits}=    Header Recorder Hits
    Length Should Be    ${hits}    1
    Should Be Empty    ${hits}[0][healthcode]    No Authorization, SU-SiteId or HC-API-Version there
    ${calls}=    Sandbox API Calls    search_practitioner
    Should Be Equal    ${calls}[0][site_id]    HC00ABC    The API itself got them

The Adapters Refuse Another Host Before Sending Anything
    ${elsewhere}=    Start Header Recorder
    ${auth}=    Get Healthcode Requests Auth
    Run Keyword And Expect Error    *not one of*
    ...    GET    ${elsewhere}/anything    auth=${auth}
    ${hits}=    Header Recorder Hits
    Should Be Empty    ${hits}

A 5xx To A GET Is Retried, Then Reported
    Set Sandbox Faults    api_failures=${2}
    ${all}=    Call Healthcode API    search_practitioner
    Length Should Be    ${all}[entry]    10
    ${calls}=    Sandbox API Calls    search_practitioner
    Length Should Be    ${calls}    3    Two failures, then the answer
    Reset Sandbox Stats
    Set Sandbox Faults    api_failures=${5}
    Run Keyword And Expect Error    *503*
    ...    Call Healthcode API    search_practitioner
    ${calls}=    Sandbox API Calls    search_practitioner
    Length Should Be    ${calls}    3    The first call and two retries

A 5xx To A POST Is Not Repeated
    Set Sandbox Faults    api_failures=${1}
    Run Keyword And Expect Error    *503*
    ...    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup
    ${calls}=    Sandbox API Calls    find_member
    Length Should Be    ${calls}    1

An API Moved For Good Is Found Again After Its 404
    Set Sandbox Faults    api_moved_permanently=${True}
    ${members}=    Call Healthcode API    find_member    method=POST    insurerIdentifier=bup
    ...    lastName=${PATIENT_SURNAME}
    Should Be Equal As Integers    ${members}[total]    1
    ${calls}=    Sandbox API Calls    find_member
    Should Be Equal As Integers    ${calls}[0][status]    404
    Should Start With    ${calls}[-1][path]    /api/v2-moved/


*** Keywords ***
A Supervisor Authorises The Bot
    Set Library Search Order    HealthcodeLibrary    # OtherSite's keywords only when named
    Open Test Browser
    Clear Healthcode Authorisation
    Open Healthcode Login
    Supervisor Signs In
    Wait For Supervisor Authorisation    timeout=30 seconds
    Get Healthcode Access Token

