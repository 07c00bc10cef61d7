*** Settings ***
Documentation       Acceptance tests of HealthcodeLibrary in a real headless browser against the sandbox.
...                 The sandbox comes from atest/run.py (${SANDBOX_URL}) or is started here on a free port.
Library             ../resources/SandboxLibrary.py
Suite Setup         Start Sandbox    ${SANDBOX_URL}
Suite Teardown      Stop Sandbox


*** Variables ***
${SANDBOX_URL}      ${EMPTY}
