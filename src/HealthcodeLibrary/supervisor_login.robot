*** Settings ***
Documentation       The sign-in behind `healthcode-auth login`: a supervisor authorises the bot, the token
...                 goes to the token cache for scheduled and parallel robots. Settings come from the
...                 HEALTHCODE_* environment variables the command sets.
Library             HealthcodeLibrary    browser=${BROWSER}    headless=${HEADLESS}    channel=${CHANNEL}
...                 executable_path=${EXECUTABLE_PATH}


*** Variables ***
${BROWSER}              chromium
${HEADLESS}             ${False}
${CHANNEL}              ${None}
${EXECUTABLE_PATH}      ${None}
${TIMEOUT}              5 minutes
${FORCE}                ${False}


*** Tasks ***
Supervisor Authorises The Bot
    IF    ${FORCE}
        Open Healthcode Login
        Wait For Supervisor Authorisation    timeout=${TIMEOUT}
        Get Healthcode Access Token
    ELSE
        Authorise Healthcode Supervisor    timeout=${TIMEOUT}
    END
    ${claims}=    Get Healthcode Token Claims
    ${expiry}=    Get Healthcode Token Expiry
    ${who}=    Evaluate    $claims.get("sub", "the supervisor")
    Log To Console    Signed in: ${who}. The token is cached and valid until ${expiry}.
