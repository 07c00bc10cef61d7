"""The demo: a robot signs in to a local Healthcode SSO sandbox and calls its APIs.

Starts the sandbox on a free port, runs examples/get_token.robot headless with a simulated
supervisor, and prints what happened (never the token) and where the log is. The sandbox answers as
Healthcode documents: a token for 24 hours and no refresh token, so the sign-in is the daily cycle.
Run it with scripts/demo, which also sets up the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from healthcode_sandbox import Sandbox, SandboxSettings
from HealthcodeLibrary.browsers import HOW_TO_GET_ONE, find_browser

EXAMPLES = Path(__file__).resolve().parent
OUTPUT = EXAMPLES.parent / "results" / "demo"


def main() -> int:
    browser = find_browser()
    if browser is None:
        print(HOW_TO_GET_ONE, file=sys.stderr)
        return 1
    print(f"Browser: {browser.description}")
    with Sandbox(SandboxSettings(port=0)) as sandbox:
        print(f"Healthcode SSO sandbox: {sandbox.discovery_url}")
        env = {
            **os.environ,
            "HEALTHCODE_CLIENT_ID": "example_rpa_app",
            "HEALTHCODE_REDIRECT_URI": "https://rpaapp.example.com/postauth",
            "HEALTHCODE_ENVIRONMENT": sandbox.discovery_url,
            "HEALTHCODE_SITE_ID": "HC00ABC",  # a site the sandbox's supervisor may use
            # The demo keeps its token cache beside its log, not in the user's real cache.
            "HEALTHCODE_TOKEN_CACHE": str(OUTPUT / "token-cache" / "tokens.json"),
        }
        env.pop("HEALTHCODE_CLIENT_SECRET", None)
        print("Running examples/get_token.robot with a simulated supervisor...\n")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "robot",
                "--outputdir",
                str(OUTPUT),
                "--consolewidth",
                "100",
                "--variable",
                "HEADLESS:True",
                "--variable",
                "SIMULATED_SUPERVISOR:True",
                str(EXAMPLES / "get_token.robot"),
            ],
            env=env,
            check=False,
        )
        requests = sandbox.stats()
    print(
        f"\nThe sandbox saw: {requests.get('token.authorization_code', 0)} code exchange(s), "
        f"{requests.get('api', 0)} API call(s) ({requests.get('api.find_member', 0)} to Find Member, "
        f"{requests.get('api.search_remittance_summary', 0)} to Search Remittance Summary), "
        f"{requests.get('api.header.SU-SiteId', 0)} of them naming the site (SU-SiteId)."
    )
    print(
        "Like Healthcode, the sandbox issued a token for 24 hours and no refresh token: each day a supervisor "
        "signs in again ('healthcode-auth login'), and scheduled robots use that sign-in until it ends."
    )
    print(f"Log: {OUTPUT / 'log.html'}")
    if result.returncode == 0:
        print("Demo finished: the bot was authorised by a (simulated) supervisor and used its token.")
        print("To run the same suite against Healthcode UAT with a real supervisor, see README.md.")
    else:
        print("Demo failed: see the log above and log.html.", file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
