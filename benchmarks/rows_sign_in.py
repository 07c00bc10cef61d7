"""The supervisor's sign-in in a real headless browser (the one `HealthcodeLibrary.browsers`
finds; here Debian's Chromium).

*Full sign-in*: a whole robot run that opens the sign-in page, fills in the simulated supervisor's
credentials, waits for the authorisation and gets the token, against a minimal suite doing the
same steps with Browser keywords and an httpx POST; runs alternating, medians of wall time."""

from __future__ import annotations

from common import Bench, Row, median, robot_command, settings_env, timed_run

NAME = "sign-in"
POSITION = 30

LIBRARY_SIGN_IN = """*** Settings ***
Library    HealthcodeLibrary    headless=True    token_cache=off

*** Tasks ***
Sign In
    Open Healthcode Login
    Browser.Fill Text    id=username    supervisor
    Browser.Fill Text    id=password    sandbox-password
    Browser.Click    id=sign-in
    Wait For Supervisor Authorisation    timeout=30 seconds
    Get Healthcode Access Token
"""
BASELINE_SIGN_IN = """*** Settings ***
Library    Browser    enable_playwright_debug=disabled
Library    {helper}

*** Tasks ***
Sign In
    ${{url}}    ${{verifier}}    ${{state}}=    Authorization Url
    New Browser    chromium    headless=True    executablePath=${{EXECUTABLE}}    args=${{ARGS}}
    New Page    ${{url}}
    Fill Text    id=username    supervisor
    Fill Text    id=password    sandbox-password
    ${{promise}}=    Promise To    Wait For Request    matcher=https://rpaapp.example.com/postauth?**    timeout=30s
    Click    id=sign-in
    ${{request}}=    Wait For    ${{promise}}
    Exchange    ${{request}}[url]    ${{verifier}}
"""
BASELINE_HELPER = '''
import base64, hashlib, os, secrets, urllib.parse
import httpx

SSO = os.environ["BENCH_SSO"]


def authorization_url():
    verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({"response_type": "code", "client_id": "example_rpa_app",
        "redirect_uri": "https://rpaapp.example.com/postauth", "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256"})
    return f"{SSO}/authorize?{query}", verifier, state


def exchange(url, verifier):
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["code"][0]
    response = httpx.post(f"{SSO}/token", data={"grant_type": "authorization_code", "client_id": "example_rpa_app",
        "redirect_uri": "https://rpaapp.example.com/postauth", "code": code, "code_verifier": verifier})
    response.raise_for_status()
    return None
'''

def measure(bench: Bench) -> list[Row]:
    return [full_sign_in(bench, max(3, bench.rounds - 2))]


def full_sign_in(bench: Bench, rounds: int) -> Row:
    from HealthcodeLibrary.browsers import find_browser

    choice = find_browser()
    if choice is None:
        raise RuntimeError("no browser: run scripts/setup")
    sandbox, tmp = bench.sandbox, bench.folder("sign-in")
    helper = tmp / "BaselineSignIn.py"
    helper.write_text(BASELINE_HELPER)
    suites = {"ours": tmp / "library_sign_in.robot", "base": tmp / "baseline_sign_in.robot"}
    suites["ours"].write_text(LIBRARY_SIGN_IN)
    suites["base"].write_text(BASELINE_SIGN_IN.format(helper=helper))
    env = {**settings_env(sandbox.url, tmp / "unused.json"), "BENCH_SSO": sandbox.url}
    extra = ["--variable", f"EXECUTABLE:{choice.executable_path or ''}",
             "--variable", f"ARGS:{choice.launch_args()!r}".replace("'", '"')]
    times: dict[str, list[float]] = {"ours": [], "base": []}
    for _ in range(rounds):
        for name, suite in suites.items():
            run = timed_run(robot_command(*extra, "--outputdir", str(tmp / f"out-{name}"), str(suite)), env)
            times[name].append(run.seconds)
    o, b = median(times["ours"]), median(times["base"])
    return Row("full headless sign-in with the simulated supervisor (whole robot run)",
               "minimal suite: Browser keywords + httpx, same steps", f"{o:.2f} s", f"{b:.2f} s", o / b, "≤ 1.10x",
               o / b <= 1.10, f"both launch the same Chromium; ours also verifies the JWT and shows the done page; "
               f"{rounds} rounds")
