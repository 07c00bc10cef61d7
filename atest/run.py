"""Runs the acceptance tests, then checks that no secret the sandbox issued is in anything they wrote.

One sandbox serves every run: the suites, and each standalone suite in a process of its own. They
reach it through ${SANDBOX_URL}. Afterwards every code, token, verifier and client secret it issued
or received is known, and every file in the output directory (console output and the --debugfile
included; log.html's compressed texts unpacked) is scanned for them; the suites run at --loglevel TRACE.

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


def settings(sandbox_url: str, output: Path) -> dict[str, str]:
    """Standalone runs take the client registration from the environment, as operators' robots do."""
    return {**os.environ, "HEALTHCODE_CLIENT_ID": "example_rpa_app",
            "HEALTHCODE_REDIRECT_URI": "https://rpaapp.example.com/postauth",
            "HEALTHCODE_ENVIRONMENT": f"{sandbox_url}/.well-known/openid-configuration",
            "HEALTHCODE_TOKEN_CACHE": str(output / "token-cache" / "tokens.json")}


def run_robot(sandbox_url: str, suite: Path, output: Path, extra: list[str]) -> int:
    env = settings(sandbox_url, output)
    output.mkdir(parents=True, exist_ok=True)
    console = output / "console.txt"
    command = [sys.executable, "-m", "robot", "--loglevel", "TRACE", "--outputdir", str(output),
               "--debugfile", "debug.txt", "--pythonpath", str(ATEST / "resources"),
               "--variable", f"SANDBOX_URL:{sandbox_url}", "--variable", f"PYTHON:{sys.executable}",
               "--consolecolors", "off", *extra, str(suite)]
    with console.open("w", encoding="utf-8") as log, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as robot:
        assert robot.stdout is not None
        for line in robot.stdout:
            sys.stdout.write(line)
            log.write(line)
    return robot.returncode


def run_cli(output: Path, name: str, env: dict[str, str], *args: str) -> int:
    """Run healthcode-auth and keep everything it printed in the output directory (scanned too)."""
    result = subprocess.run([sys.executable, "-m", "healthcode_cli", *args], env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    (output / f"cli-{name}.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    print(f"healthcode-auth {' '.join(args)}: exit {result.returncode}")
    return result.returncode


def run_parallel(sandbox: Sandbox, extra: list[str]) -> int:
    """'healthcode-auth login', then 4 robots in parallel (pabot) with a token already due for renewal."""
    output = OUTPUT / "parallel"
    output.mkdir(parents=True, exist_ok=True)
    env = settings(sandbox.url, output)
    sandbox.set_faults(remembered_supervisor="supervisor", token_lifetime=60)  # due at once (300 s margin)
    rc = run_cli(output, "login", env, "login", "--headless")
    sandbox.reset_faults()
    sandbox.reset_stats()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # pabot runs `robot`
    command = [sys.executable, "-m", "pabot.pabot", "--processes", "4", "--testlevelsplit", "--pabotlibport", "0",
               "--loglevel", "TRACE",
               "--outputdir", str(output), "--pythonpath", str(ATEST / "resources"),
               "--variable", f"SANDBOX_URL:{sandbox.url}", "--consolecolors", "off", *extra, str(ATEST / "parallel")]
    with (output / "console.txt").open("w", encoding="utf-8") as log:
        result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                check=False)
        log.write(result.stdout)
    print(result.stdout)
    refreshes = sandbox.request_count("token.refresh_token")
    print(f"Parallel robots made {refreshes} refresh request(s) between them (expected exactly 1).")
    rc = max(rc, result.returncode, 0 if refreshes == 1 else 1)
    rc = max(rc, run_cli(output, "status", env, "status"))
    return max(rc, run_cli(output, "logout", env, "logout"))


def main(argv: list[str]) -> int:
    runs = [(ATEST / "suites", OUTPUT / "suites")]
    # Suites that must start in a fresh process (no Browser imported yet), as an operator's robot does.
    runs += [(suite, OUTPUT / suite.stem) for suite in sorted((ATEST / "standalone").glob("*.robot"))]
    with Sandbox(SandboxSettings(port=0)) as sandbox:
        rc = 0
        for suite, output in runs:
            rc = max(rc, run_robot(sandbox.url, suite, output, argv))
        rc = max(rc, run_parallel(sandbox, argv))
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
