*** Settings ***
Documentation       A fleet robot that logs its token store's URL, as a careless author might: the Redis
...                 password in it, percent-encoded as docs/fleet.md tells users to write it, and decoded,
...                 is masked in every output. atest/run.py runs this suite in its fleet run only (tag
...                 redis-store: it needs the fleet's Redis store and a token in it), with a password that
...                 percent-encodes (``p@ss:w/rd%!...``), and its secret scan looks for every spelling.
Library             HealthcodeLibrary


*** Test Cases ***
A Logged Store URL Shows No Password
    [Tags]    redis-store
    Get Healthcode Access Token    # opens the store: its password is known from here on
    Log    %{HEALTHCODE_TOKEN_CACHE}
    VAR    ${url}    %{HEALTHCODE_TOKEN_CACHE}
    ${decoded}=    Evaluate    urllib.parse.unquote($url)    modules=urllib.parse
    Log    ${decoded}
    ${parts}=    Evaluate    urllib.parse.urlsplit($url)    modules=urllib.parse
    Log Many    ${parts.password}    ${parts}
    Run Keyword And Expect Error    No keyword with name '*' found.    Run Keyword    ${decoded}
