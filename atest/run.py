"""Runs the acceptance tests, then checks that no secret the sandbox issued is in anything they wrote.

One sandbox serves every run: the suites, and each standalone suite in a process of its own. They
reach it through ${SANDBOX_URL}. Afterwards every code, token, verifier and client secret it issued
or received is known, and every file in the output directory (console output included) is scanned
for them; the suites run at --loglevel TRACE.

Usage: python atest/run.py [robot options...]    e.g. --include sign-in, --test "*Cancels*"
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from leak_scan import files_under, scan

from healthcode_sandbox import Sandbox, SandboxSettings

ATEST = Path(__file__).resolve().parent
ROOT = ATEST.parent
OUTPUT = ROOT / "results" / "atest"


def run_robot(sandbox_url: str, suite: Path, output: Path, extra: list[str]) -> int:
    # Standalone suites take the client registration from the environment, as operators' robots do.
    env = {**os.environ, "HEALTHCODE_CLIENT_ID": "example_rpa_app",
           "HEALTHCODE_REDIRECT_URI": "https://rpaapp.example.com/postauth",
           "HEALTHCODE_ENVIRONMENT": f"{sandbox_url}/.well-known/openid-configuration",
           "HEALTHCODE_TOKEN_CACHE": str(output / "token-cache" / "tokens.json")}
    output.mkdir(parents=True, exist_ok=True)
    console = output / "console.txt"
    command = [sys.executable, "-m", "robot", "--loglevel", "TRACE", "--outputdir", str(output),
               "--pythonpath", str(ATEST / "resources"), "--variable", f"SANDBOX_URL:{sandbox_url}",
               "--variable", f"PYTHON:{sys.executable}", "--consolecolors", "off", *extra, str(suite)]
    with console.open("w", encoding="utf-8") as log, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as robot:
        assert robot.stdout is not None
        for line in robot.stdout:
            sys.stdout.write(line)
            log.write(line)
    return robot.returncode


def main(argv: list[str]) -> int:
    runs = [(ATEST / "suites", OUTPUT / "suites")]
    # Suites that must start in a fresh process (no Browser imported yet), as an operator's robot does.
    runs += [(suite, OUTPUT / suite.stem) for suite in sorted((ATEST / "standalone").glob("*.robot"))]
    with Sandbox(SandboxSettings(port=0)) as sandbox:
        rc = 0
        for suite, output in runs:
            rc = max(rc, run_robot(sandbox.url, suite, output, argv))
        issued = sandbox.issued_secrets()
    secrets = {"authorization code": issued.authorization_codes, "access token": issued.access_tokens,
               "refresh token": issued.refresh_tokens, "client secret": issued.client_secrets,
               "code verifier": issued.code_verifiers}
    count = sum(len(values) for values in secrets.values())
    scanned, leaks = scan(files_under(OUTPUT), secrets)
    print(f"\nSecret scan of {OUTPUT.relative_to(ROOT)}: {scanned} files and archive members, "
          f"{count} secrets issued by the sandbox, {len(leaks)} leaks.")
    for leak in leaks:
        print(f"  LEAK {leak}")
    if count == 0 and rc == 0:
        print("The sandbox issued no secrets: the scan proves nothing, so it fails.")
        return 1
    return rc or (1 if leaks else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
