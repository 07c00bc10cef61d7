*** Settings ***
Documentation       The supervisor portal in a real browser: a supervisor opens the portal, presses "Authorise the
...                 robots", signs in on the sandbox's form and lands on the "authorised" page, at desktop and phone
...                 widths; directly (http on loopback) and behind Debian's nginx terminating TLS at /bots/.
...                 atest/run.py (--portal-only) starts the portals (`healthcode-auth portal`), Redis, the test CA
...                 and nginx, and passes their addresses. Every page's HTML, the cookies (the portal session's
...                 decoded) and screenshots are kept in the output directory; the run scans it all for secrets.
Resource            ../resources/common.resource
Library             Process
Library             PortalLibrary.py
Suite Setup         Run Keywords    Start Sandbox    ${SANDBOX_URL}    AND    Open Test Browser
Suite Teardown      Close Browser    ALL
Test Teardown       Reset Sandbox Faults


*** Variables ***
${SANDBOX_URL}              ${EMPTY}
${PYTHON}                   python
${DIRECT_URL}               ${EMPTY}
${PROXIED_URL}              ${EMPTY}
${PROXIED_DIRECT_URL}       ${EMPTY}
${CA_FILE}                  ${EMPTY}
${CLIENT_NAME}              Riverside Practice
&{DESKTOP}                  width=${1280}    height=${800}
&{PHONE}                    width=${390}    height=${844}
${FORGED_ADDRESS}           203.0.113.77


*** Test Cases ***
A Supervisor Authorises A Waiting Robot From A Desktop Browser
    [Documentation]    The robot waits before the supervisor signs in and goes on with the token: 1 code exchange.
    [Tags]    direct
    ${robot}=    Start The Waiting Robot
    Reset Sandbox Stats
    New Context    viewport=${DESKTOP}
    New Page    ${DIRECT_URL}
    Landing Page Should Say What The Supervisor Approves
    ${entries}=    History Entries
    Keep Page    landing    1280    screenshot=${True}
    ${start}=    Evaluate    time.time()
    Click    "Authorise the robots"
    Sign-In Cookie Should Be Sealed And Bound To The Portal    /    secure=${False}
    Supervisor Signs In
    Authorised Page Should Be Shown    ${DIRECT_URL}
    ${signed_in}=    Evaluate    time.time()
    Keep Page    authorised    1280    screenshot=${True}
    The Code Is Neither In The Address Bar Nor In The History    ${entries}
    ${result}=    Wait For Process    ${robot}    timeout=3 minutes    on_timeout=kill
    Should Be Equal As Integers    ${result.rc}    0    The waiting robot failed: see waiting-robot/
    ${done}=    Evaluate    time.time()
    ${exchanges}=    Sandbox Request Count    token.authorization_code
    ${refreshes}=    Sandbox Request Count    token.refresh_token
    Log    Portal (desktop): button to authorised page ${{round($signed_in - $start, 2)}} s, the waiting robot done ${{round($done - $signed_in, 2)}} s later; ${exchanges} code exchange(s), ${refreshes} refresh request(s) in total (expected 1 and 0).    console=True
    Should Be Equal As Integers    ${exchanges}    1
    Should Be Equal As Integers    ${refreshes}    0
    Open The Status Page
    Keep Page    status    1280    screenshot=${True}
    Newest Record Should Say    · portal    from 127.0.0.1
    Sign The Robots Out

A Supervisor Authorises The Robots From A Phone
    [Tags]    direct
    New Context    viewport=${PHONE}    isMobile=${True}    hasTouch=${True}
    New Page    ${DIRECT_URL}
    Landing Page Should Say What The Supervisor Approves
    ${entries}=    History Entries
    Keep Page    landing    390    screenshot=${True}
    Tap    "Authorise the robots"
    Supervisor Signs In
    Authorised Page Should Be Shown    ${DIRECT_URL}
    Keep Page    authorised    390    screenshot=${True}
    The Code Is Neither In The Address Bar Nor In The History    ${entries}
    Open The Status Page
    Keep Page    status    390    screenshot=${True}
    Sign The Robots Out

Behind nginx With TLS: Secure Cookies, HSTS, And The Address nginx Forwarded
    [Documentation]    The browser's own X-Forwarded-For is replaced by nginx; the portal believes nginx's.
    [Tags]    nginx
    New Context    viewport=${DESKTOP}    ignoreHTTPSErrors=${True}
    ...    extraHTTPHeaders={"X-Forwarded-For": "${FORGED_ADDRESS}"}
    New Page    ${PROXIED_URL}
    Landing Page Should Say What The Supervisor Approves
    ${entries}=    History Entries
    Keep Page    proxied-landing    1280
    Click    "Authorise the robots"
    Sign-In Cookie Should Be Sealed And Bound To The Portal    /bots/    secure=${True}
    Supervisor Signs In
    Authorised Page Should Be Shown    ${PROXIED_URL}
    Keep Page    proxied-authorised    1280
    The Code Is Neither In The Address Bar Nor In The History    ${entries}
    ${session}=    Get Cookie    healthcode_portal
    Should Be True    $session.secure and $session.httpOnly and $session.path == "/bots/"
    ${headers}=    Get Headers Over TLS    ${PROXIED_URL}    ${CA_FILE}
    Should Be Equal    ${headers}[strict-transport-security]    max-age=31536000
    Open The Status Page
    Keep Page    proxied-status    1280
    Newest Record Should Say    · portal    from 127.0.0.1
    Get Text    css=ul.record li >> nth=0    not contains    ${FORGED_ADDRESS}
    Get Text    css=ul.record li >> nth=0    not contains    127.0.0.2    # nginx's own address: the peer
    Sign The Robots Out

Behind nginx On A Phone
    [Tags]    nginx
    New Context    viewport=${PHONE}    isMobile=${True}    hasTouch=${True}    ignoreHTTPSErrors=${True}
    New Page    ${PROXIED_URL}
    ${entries}=    History Entries
    Keep Page    proxied-landing    390
    Tap    "Authorise the robots"
    Supervisor Signs In
    Authorised Page Should Be Shown    ${PROXIED_URL}
    Keep Page    proxied-authorised    390
    The Code Is Neither In The Address Bar Nor In The History    ${entries}
    Open The Status Page
    Sign The Robots Out

A Client Bypassing nginx Cannot Choose The Address The Record Shows
    [Documentation]    The portal behind nginx trusts X-Forwarded-For from nginx's address only: a client on this
    ...    machine that talks to it directly, forging the header, is recorded from its real address.
    [Tags]    nginx
    Set Sandbox Faults    remembered_supervisor=supervisor
    ${seen}=    Sign In Bypassing The Proxy    ${PROXIED_DIRECT_URL}    ${FORGED_ADDRESS}
    Log    Bypassing nginx with X-Forwarded-For: ${FORGED_ADDRESS}, the record says: ${seen}[newest_record]    console=True
    Should Contain    ${seen}[newest_record]    from 127.0.0.1
    Should Not Contain    ${seen}[newest_record]    ${FORGED_ADDRESS}
    Should Contain    ${seen}[cookie_flags][healthcode_portal_sign_in]    Secure
    Should Contain    ${seen}[cookie_flags][healthcode_portal]    Secure


*** Keywords ***
Start The Waiting Robot
    [Documentation]    A robot (a process of its own, the store and settings of the portal) that finds no
    ...    authorisation and waits for one; returns once it is waiting.
    ${folder}=    Set Variable    ${OUTPUT_DIR}/waiting-robot
    Create Directory    ${folder}
    ${robot}=    Start Process    ${PYTHON}    -m    robot    --loglevel    TRACE    --outputdir    ${folder}
    ...    --debugfile    debug.txt    --variable    SANDBOX_URL:${SANDBOX_URL}    --consolecolors    off
    ...    ${CURDIR}/waiting_robot.robot    stdout=${folder}/console.txt    stderr=STDOUT
    # No env: arguments: with them the Process library logs the whole environment (the store's key, its password).
    Wait Until Keyword Succeeds    90 s    0.5 s    The Robot Is Waiting    ${folder}/debug.txt
    RETURN    ${robot}

The Robot Is Waiting
    [Arguments]    ${debug_file}
    File Should Exist    ${debug_file}
    ${waiting}=    Grep File    ${debug_file}    No valid Healthcode authorisation: waiting up to
    Should Not Be Empty    ${waiting}

Landing Page Should Say What The Supervisor Approves
    Get Text    h1    ==    Authorise the robots of ${CLIENT_NAME}
    Get Text    main    *=    the robots then act for you at Healthcode
    Get Element States    "Authorise the robots"    contains    visible

Sign-In Cookie Should Be Sealed And Bound To The Portal
    [Documentation]    On the SSO's page, the pending sign-in's cookie (one per sign-in, named from a digest of
    ...    its state): HttpOnly, SameSite=Lax, only for the portal's own paths.
    [Arguments]    ${path}    ${secure}
    Wait For Elements State    id=username    visible
    ${all}=    Get Cookies
    ${cookie}=    Evaluate    [c for c in $all if c.name.startswith("healthcode_portal_sign_in_")][0]
    Should Be True    $cookie.httpOnly and $cookie.sameSite == "Lax" and $cookie.path == $path
    Should Be Equal    ${cookie.secure}    ${secure}
    ${cookies}=    Get Cookies
    Save Cookies    ${cookies}    ${OUTPUT_DIR}/cookies/pending-sign-in-${path.strip("/").replace("/", "-")}.json

Authorised Page Should Be Shown
    [Arguments]    ${base}
    Wait For Elements State    h1 >> text=The robots are authorised    visible    timeout=30 s
    Get Text    css=p.ok    *=    The robots of ${CLIENT_NAME} may now act for you in Healthcode
    Get Text    css=p.ok    matches    until .+ \\(2[34] h\\)\\.$
    Get Text    main    *=    Sign the robots out
    Get Url    ==    ${base}authorised

History Entries
    ${entries}=    Evaluate JavaScript    ${None}    () => window.history.length
    RETURN    ${entries}

The Code Is Neither In The Address Bar Nor In The History
    [Documentation]    The callback answered 303: its URL (with the code) never became a history entry. Since the
    ...    landing page (``${at_landing}`` entries) the history gained 2: the SSO's sign-in page and this page.
    [Arguments]    ${at_landing}
    Get Url    not contains    code=
    ${entries}=    History Entries
    Should Be Equal As Integers    ${entries}    ${at_landing + 2}

Open The Status Page
    Click    "status page"
    Get Url    *=    status
    Get Text    h1    ==    The robots of ${CLIENT_NAME}
    Get Text    main    *=    Authorised by

Newest Record Should Say
    [Arguments]    @{texts}
    FOR    ${text}    IN    @{texts}
        Get Text    css=ul.record li >> nth=0    *=    ${text}
    END

Sign The Robots Out
    Click    "Sign the robots out"
    Get Text    css=p.ok[role=status]    *=    The robots are signed out
    Get Text    main    *=    The robots have no valid authorisation.

Keep Page
    [Documentation]    The page's HTML and the browser's cookies into the output directory (scanned for secrets
    ...    afterwards), and a screenshot when asked: screenshots/portal-<page>-<width>.png.
    [Arguments]    ${name}    ${width}    ${screenshot}=${False}
    ${html}=    Get Page Source
    Create File    ${OUTPUT_DIR}/pages/${name}-${width}.html    ${html}
    ${cookies}=    Get Cookies
    Save Cookies    ${cookies}    ${OUTPUT_DIR}/cookies/${name}-${width}.json
    IF    ${screenshot}
        Take Screenshot    filename=${OUTPUT_DIR}/screenshots/portal-${name}-${width}    fullPage=${True}
    END
