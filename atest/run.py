"""Runs the acceptance tests, then checks that no secret the sandbox issued is in anything they wrote.

One sandbox serves every run: the suites, and each standalone suite in a process of its own. They
reach it through ${SANDBOX_URL}. Afterwards every code, token, verifier and client secret it issued
or received is known, and every file in the output directory (console output and the --debugfile
included; log.html's compressed texts unpacked) is scanned for them; the suites run at --loglevel TRACE.
The scan also looks for secrets of the runs' own: the fleet's Redis password (one that percent-encodes,
in every spelling) and cache key, and an unrelated password-like environment variable every run is
given and nothing registers, which must reach no output either.

Usage: python atest/run.py [robot options...]    e.g. --include sign-in, --test "*Cancels*"
       python atest/run.py --sign-in-only | --portal-only [robot options...]    one run of them, scanned
Outputs go to results/atest, or to the directory in the ATEST_OUTPUT environment variable.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from leak_scan import files_under, scan

from healthcode_sandbox import Sandbox, SandboxSettings

ATEST = Path(__file__).resolve().parent
ROOT = ATEST.parent
OUTPUT = Path(os.environ.get("ATEST_OUTPUT") or ROOT / "results" / "atest").resolve()
# A password-like variable of the CI's own, in every run's environment: no HEALTHCODE_ variable, so
# nothing registers it with the redactor; only not passing the environment on keeps it out of outputs.
UNRELATED_VARIABLE = ("CI_DATABASE_PASSWORD", "Sup3r-Secret-DB-pass!")
# Characters that percent-encode, as a real Redis password may have (docs/fleet.md: percent-encode them).
STORE_PASSWORD_START = "p@ss:w/rd%!"
# Secrets the runs make besides what the sandbox issues: the fleet's store password (decoded, and as
# written in the URL) and cache key, and the unrelated variable.
OWN_SECRETS: dict[str, list[str]] = {
    "store password": [],
    "cache key": [],
    "unrelated environment variable": [UNRELATED_VARIABLE[1]],
}
# The made-up patient the sandbox's Find Member returns for lastName=Quarrendon-Fakename: the suites
# look her up by surname (given as a field, which Robot writes at TRACE as an argument); what only
# the answer holds must reach no output: her first name, date of birth and membership number.
PATIENT_DATA: dict[str, list[str]] = {
    "patient's first name": ["Ottoline"],
    "patient's date of birth": ["1901-02-03"],
    "patient's membership number": ["ZZ9876543"],
}
# Suites that need the fleet's Redis store: run in the fleet run, not with the other suites.
REDIS_STORE_SUITE = ATEST / "suites" / "02_output_scrubbing" / "store_url.robot"


def settings(sandbox_url: str, output: Path) -> dict[str, str]:
    """Standalone runs take the client registration from the environment, as operators' robots do."""
    return {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": "https://rpaapp.example.com/postauth",
        "HEALTHCODE_ENVIRONMENT": f"{sandbox_url}/.well-known/openid-configuration",
        "HEALTHCODE_SITE_ID": "HC00ABC",  # a site the sandbox's supervisor may use
        "HEALTHCODE_TOKEN_CACHE": str(output / "token-cache" / "tokens.json"),
        UNRELATED_VARIABLE[0]: UNRELATED_VARIABLE[1],
    }


def run_robot(sandbox_url: str, suite: Path, output: Path, extra: list[str], env: dict[str, str] | None = None) -> int:
    env = env or settings(sandbox_url, output)
    output.mkdir(parents=True, exist_ok=True)
    console = output / "console.txt"
    command = [
        sys.executable,
        "-m",
        "robot",
        "--loglevel",
        "TRACE",
        "--outputdir",
        str(output),
        "--debugfile",
        "debug.txt",
        "--pythonpath",
        str(ATEST / "resources"),
        "--variable",
        f"SANDBOX_URL:{sandbox_url}",
        "--variable",
        f"PYTHON:{sys.executable}",
        "--consolecolors",
        "off",
        *extra,
        str(suite),
    ]
    with (
        console.open("w", encoding="utf-8") as log,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as robot,
    ):
        assert robot.stdout is not None
        for line in robot.stdout:
            sys.stdout.write(line)
            log.write(line)
    return robot.returncode


def run_cli(output: Path, name: str, env: dict[str, str], *args: str) -> int:
    """Run healthcode-auth and keep everything it printed in the output directory (scanned too)."""
    result = subprocess.run(
        [sys.executable, "-m", "healthcode_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    (output / f"cli-{name}.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    print(f"healthcode-auth {' '.join(args)}: exit {result.returncode}")
    return result.returncode


def login_due_for_renewal(sandbox: Sandbox, output: Path, name: str, env: dict[str, str]) -> int:
    """'healthcode-auth login' that stores a token already due for renewal (inside the 300 s margin).

    The sandbox issues refresh tokens from here on, for the robots' renewal: by default it issues
    none, as Healthcode documents. The run turns them off again when it ends.
    """
    sandbox.set_faults(remembered_supervisor="supervisor", token_lifetime=60, refresh_tokens=True)
    rc = run_cli(output, name, env, "login", "--headless")
    sandbox.reset_faults()
    sandbox.set_faults(refresh_tokens=True)  # the other knobs back to their start values; this one stays on
    return rc


def run_parallel(sandbox: Sandbox, extra: list[str]) -> int:
    """'healthcode-auth login', then 4 robots in parallel (pabot) with a token already due for renewal."""
    output = OUTPUT / "parallel"
    output.mkdir(parents=True, exist_ok=True)
    env = settings(sandbox.url, output)
    rc = login_due_for_renewal(sandbox, output, "login", env)
    sandbox.reset_stats()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # pabot runs `robot`
    command = [
        sys.executable,
        "-m",
        "pabot.pabot",
        "--processes",
        "4",
        "--testlevelsplit",
        "--pabotlibport",
        "0",
        "--loglevel",
        "TRACE",
        "--outputdir",
        str(output),
        "--pythonpath",
        str(ATEST / "resources"),
        "--variable",
        f"SANDBOX_URL:{sandbox.url}",
        "--consolecolors",
        "off",
        *extra,
        str(ATEST / "parallel"),
    ]
    with (output / "console.txt").open("w", encoding="utf-8") as log:
        result = subprocess.run(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
        )
        log.write(result.stdout)
    print(result.stdout)
    refreshes = sandbox.request_count("token.refresh_token")
    print(f"Parallel robots made {refreshes} refresh request(s) between them (expected exactly 1).")
    rc = max(rc, result.returncode, 0 if refreshes == 1 else 1)
    rc = max(rc, run_cli(output, "status", env, "status"))
    rc = max(rc, run_cli(output, "logout", env, "logout"))
    sandbox.set_faults(refresh_tokens=False)
    return rc


def machine(output: Path, name: str, base: dict[str, str]) -> dict[str, str]:
    """A simulated machine: its own home, config and cache folders; only the fleet's store is shared."""
    home = output / "machines" / name
    folders = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / "config",
        "XDG_CACHE_HOME": home / "cache",
        "XDG_DATA_HOME": home / "data",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return {**base, **{k: str(v) for k, v in folders.items()}}


def run_fleet(sandbox: Sandbox, extra: list[str]) -> int:
    """A supervisor signs in from their desk into Redis; 3 machines x 8 robots (pabot) then share it."""
    sys.path.insert(0, str(ROOT / "utest"))
    from healthcode_auth.storage.key_sources import new_random_key
    from redis_server import RedisServer, redis_server_executable

    output = OUTPUT / "fleet"
    output.mkdir(parents=True, exist_ok=True)
    if redis_server_executable() is None:
        print("redis-server is not installed: run scripts/setup (it installs Debian's). The fleet run fails.")
        return 1
    with RedisServer(password=STORE_PASSWORD_START + secrets.token_urlsafe(12)) as redis:
        key = new_random_key()
        # redis.url percent-encodes the password; the scan looks for it decoded, as written and encoded.
        OWN_SECRETS["store password"] += [redis.password, urlsplit(redis.url).password or redis.password]
        OWN_SECRETS["cache key"].append(key)
        fleet = {**settings(sandbox.url, output), "HEALTHCODE_TOKEN_CACHE": redis.url, "HEALTHCODE_CACHE_KEY": key}
        fleet["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), fleet.get("PATH", "")])
        desk = machine(output, "supervisors-desk", fleet)
        rc = login_due_for_renewal(sandbox, output, "fleet-login", desk)
        rc = max(
            rc, 0 if run_cli(output, "fleet-status-before", machine(output, "robot-vm-1", fleet), "status") == 4 else 1
        )
        sandbox.reset_stats()
        issued = len(sandbox.issued_secrets().access_tokens)
        runs = []
        for number in (1, 2, 3):
            env = machine(output, f"robot-vm-{number}", fleet)
            command = [
                sys.executable,
                "-m",
                "pabot.pabot",
                "--processes",
                "8",
                "--testlevelsplit",
                "--pabotlibport",
                "0",
                "--loglevel",
                "TRACE",
                "--include",
                "fleet",
                "--outputdir",
                str(output / f"vm-{number}"),
                "--variable",
                f"SANDBOX_URL:{sandbox.url}",
                "--consolecolors",
                "off",
                *extra,
                str(ATEST / "fleet"),
            ]
            log = (output / f"console-vm-{number}.txt").open("w", encoding="utf-8")
            runs.append((subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT), log))
        for process, log in runs:
            rc = max(rc, process.wait(timeout=600))
            log.close()
        refreshes = sandbox.request_count("token.refresh_token")
        renewed = len(sandbox.issued_secrets().access_tokens) - issued
        print(
            f"Fleet: 3 machines x 8 robots made {refreshes} refresh request(s) and got {renewed} new token(s) "
            "(expected exactly 1 and 1)."
        )
        rc = max(rc, 0 if refreshes == 1 and renewed == 1 else 1)
        # A robot that logs its store's URL (%{HEALTHCODE_TOKEN_CACHE}), the Redis password in it.
        rc = max(
            rc,
            run_robot(
                sandbox.url, REDIS_STORE_SUITE, output / "store-url", extra, machine(output, "robot-vm-2", fleet)
            ),
        )
        rc = max(rc, run_cli(output, "fleet-history", machine(output, "robot-vm-2", fleet), "history"))
        rc = max(rc, run_cli(output, "fleet-logout", machine(output, "robot-vm-3", fleet), "logout"))
        rc = max(
            rc,
            run_robot(
                sandbox.url,
                ATEST / "fleet",
                output / "after-logout",
                [*extra, "--include", "after-logout"],
                machine(output, "robot-vm-1", fleet),
            ),
        )
    sandbox.set_faults(refresh_tokens=False)
    return rc


def run_daily(sandbox: Sandbox, extra: list[str]) -> int:
    """The daily cycle as Healthcode documents it: yesterday's authorisation is over, no refresh token.
    3 machines x 8 robots (pabot) wait with HEALTHCODE_WAIT_FOR_AUTHORISATION; between them they send
    exactly 1 'robots waiting' notice (to a real webhook); a supervisor then signs in with
    'healthcode-auth login --headless'; every robot goes on: 1 code exchange, 0 refresh requests."""
    sys.path.insert(0, str(ROOT / "utest"))
    import json
    import time

    from healthcode_auth.storage.key_sources import new_random_key
    from receivers import Webhook
    from redis_server import RedisServer, redis_server_executable

    output = OUTPUT / "daily"
    output.mkdir(parents=True, exist_ok=True)
    if redis_server_executable() is None:
        print("redis-server is not installed: run scripts/setup (it installs Debian's). The daily run fails.")
        return 1
    with RedisServer() as redis, Webhook() as hook:
        key = new_random_key()
        OWN_SECRETS["cache key"].append(key)
        daily = {
            **settings(sandbox.url, output),
            "HEALTHCODE_TOKEN_CACHE": redis.url,
            "HEALTHCODE_CACHE_KEY": key,
            "HEALTHCODE_NOTIFY": hook.url(),
            "HEALTHCODE_WAIT_FOR_AUTHORISATION": "4 minutes",
            "HEALTHCODE_CLIENT_NAME": "Claims robots",
        }
        daily["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), daily.get("PATH", "")])
        desk = machine(output, "supervisors-desk", daily)
        # Yesterday's sign-in: its token is over (inside the 300 s expiry margin) 3 seconds later.
        sandbox.set_faults(remembered_supervisor="supervisor", token_lifetime=303)
        rc = run_cli(output, "yesterday", desk, "login", "--headless")
        sandbox.reset_faults()
        time.sleep(4)
        sandbox.reset_stats()
        runs = []
        for number in (1, 2, 3):
            command = [
                sys.executable,
                "-m",
                "pabot.pabot",
                "--processes",
                "8",
                "--testlevelsplit",
                "--pabotlibport",
                "0",
                "--loglevel",
                "TRACE",
                "--outputdir",
                str(output / f"vm-{number}"),
                "--variable",
                f"SANDBOX_URL:{sandbox.url}",
                "--consolecolors",
                "off",
                *extra,
                str(ATEST / "daily"),
            ]
            log = (output / f"console-vm-{number}.txt").open("w", encoding="utf-8")
            runs.append(
                (
                    subprocess.Popen(
                        command, env=machine(output, f"robot-vm-{number}", daily), stdout=log, stderr=subprocess.STDOUT
                    ),
                    log,
                )
            )
        deadline = time.monotonic() + 180
        while not hook.received and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(15)  # every robot is waiting by now (24 robot processes share 2 cores)
        sandbox.set_faults(remembered_supervisor="supervisor")
        rc = max(rc, run_cli(output, "daily-login", desk, "login", "--headless"))
        for process, log in runs:
            rc = max(rc, process.wait(timeout=600))
            log.close()
        (output / "notices.json").write_text(json.dumps(hook.received, indent=2), encoding="utf-8")  # scanned too
        waiting = hook.titles().count("Healthcode robots are waiting for a supervisor")
        exchanges, refreshes = (
            sandbox.request_count("token.authorization_code"),
            sandbox.request_count("token.refresh_token"),
        )
        print(
            f"Daily cycle: 3 machines x 8 robots sent {waiting} 'robots waiting' notice(s); the day's sign-in made "
            f"{exchanges} code exchange(s) and {refreshes} refresh request(s) (expected 1, 1 and 0)."
        )
        rc = max(rc, 0 if (waiting, exchanges, refreshes) == (1, 1, 0) else 1)
        sandbox.reset_faults()
    return rc


def run_portal(sandbox: Sandbox, extra: list[str]) -> int:
    """The supervisor portal in a real browser (atest/portal/portal.robot): `healthcode-auth portal` processes
    on loopback, a real Redis store, and (where Debian's nginx is installed) one behind nginx terminating TLS
    with a test CA at /bots/. Their logs, every page's HTML and the cookies are kept under OUTPUT/portal."""
    sys.path.insert(0, str(ROOT / "utest"))
    sys.path.insert(0, str(ATEST / "portal"))
    import shutil
    import tempfile

    from portal_fixture import free_port, make_tls, nginx_executable, start_nginx, start_portal

    from healthcode_auth.storage.key_sources import new_random_key
    from healthcode_sandbox import Client
    from redis_server import RedisServer, redis_server_executable

    output = OUTPUT / "portal"
    shutil.rmtree(output, ignore_errors=True)  # logs are appended to: an earlier run's would be scanned too
    output.mkdir(parents=True)
    if redis_server_executable() is None:
        print("redis-server is not installed: run scripts/setup (it installs Debian's). The portal run fails.")
        return 1
    nginx, rc = nginx_executable(), 0
    if nginx is None:
        print(
            "nginx is not installed: the portal's tests behind a reverse proxy cannot run, "
            + ("and under CI that fails the run." if os.environ.get("CI") else "so they are skipped.")
            + " Install Debian's nginx (scripts/setup does it as root)."
        )
        rc = 1 if os.environ.get("CI") else 0
    direct, proxied, proxy = free_port(), free_port(), free_port()
    direct_uri, proxied_uri = f"http://127.0.0.1:{direct}/postauth", f"https://127.0.0.1:{proxy}/bots/postauth"
    sandbox.add_client(Client("portal_rpa_app", (direct_uri, proxied_uri), name="Riverside Practice"))
    children = []
    from receivers import Webhook

    with RedisServer() as redis, tempfile.TemporaryDirectory(prefix="healthcode-portal-") as temp, Webhook() as hook:
        key = new_random_key()
        OWN_SECRETS["store password"].append(redis.password)
        OWN_SECRETS["cache key"].append(key)
        env = {
            **settings(sandbox.url, output),
            "HEALTHCODE_CLIENT_ID": "portal_rpa_app",
            "HEALTHCODE_TOKEN_CACHE": redis.url,
            "HEALTHCODE_CACHE_KEY": key,
            "HEALTHCODE_SUPERVISORS": "supervisor",
            "HEALTHCODE_CLIENT_NAME": "Riverside Practice",
            "HEALTHCODE_TIMEZONE": "Europe/London",
            "HEALTHCODE_NOTIFY": hook.url(),
        }  # the portal's "authorised" and "signed out" notices: scanned
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        direct_env = {
            **env,
            "HEALTHCODE_REDIRECT_URI": direct_uri,
            "HEALTHCODE_PORTAL_URL": f"http://127.0.0.1:{direct}/",
        }
        variables = ["--variable", f"DIRECT_URL:http://127.0.0.1:{direct}/"]
        try:
            children.append(
                start_portal(
                    "the portal",
                    f"127.0.0.1:{direct}",
                    machine(output, "portal", direct_env),
                    output / "portal.log",
                    f"http://127.0.0.1:{direct}/static/portal.css",
                )
            )
            if nginx is not None:
                tls = make_tls(Path(temp) / "tls")
                proxied_env = {
                    **env,
                    "HEALTHCODE_REDIRECT_URI": proxied_uri,
                    "HEALTHCODE_PORTAL_URL": f"https://127.0.0.1:{proxy}/bots/",
                }
                children.append(
                    start_portal(
                        "the portal behind nginx",
                        f"127.0.0.1:{proxied}",
                        machine(output, "portal-behind-nginx", proxied_env),
                        output / "portal-behind-nginx.log",
                        f"http://127.0.0.1:{proxied}/bots/static/portal.css",
                        "--trusted-proxy",
                        "127.0.0.2",
                    )
                )
                children.append(start_nginx(nginx, Path(temp) / "nginx", output / "nginx", proxy, proxied, tls))
                variables += [
                    "--variable",
                    f"PROXIED_URL:https://127.0.0.1:{proxy}/bots/",
                    "--variable",
                    f"PROXIED_DIRECT_URL:http://127.0.0.1:{proxied}/bots/",
                    "--variable",
                    f"CA_FILE:{tls['ca']}",
                ]
            else:
                variables += ["--exclude", "nginx"]
            rc = max(
                rc,
                run_robot(
                    sandbox.url,
                    ATEST / "portal" / "portal.robot",
                    output,
                    [*extra, *variables],
                    machine(output, "supervisors-browser", direct_env),
                ),
            )
        except RuntimeError as error:
            print(f"The portal run could not start: {error}")
            rc = 1
        finally:
            for child in reversed(children):
                child.stop()
            (output / "notices.json").write_text(json.dumps(hook.received, indent=2), encoding="utf-8")
        kinds = [notice.get("title", "") for notice in hook.received]
        print(f"The portal's notices: {len(kinds)} ({', '.join(sorted(set(kinds)))}).")
        if not any(kind == "Healthcode robots authorised" for kind in kinds):
            print("No 'authorised' notice reached the webhook: a sign-in through the portal must tell the supervisors.")
            rc = max(rc, 1)
    return rc


def main(argv: list[str]) -> int:
    if "--sign-in-only" in argv:  # the minimum-versions environment: sign-in and HTTP clients, scanned
        argv = [arg for arg in argv if arg != "--sign-in-only"]
        with Sandbox(SandboxSettings(port=0)) as sandbox:
            rc = run_robot(
                sandbox.url,
                ATEST / "suites",
                OUTPUT / "sign-in",
                [*argv, "--suite", "Suites.01 Sign In", "--suite", "Suites.03 Http Clients"],
            )
            issued = sandbox.issued_secrets()
        return scan_outputs(issued, rc, OUTPUT / "sign-in")
    if "--portal-only" in argv:  # the supervisor portal in a real browser, behind nginx too; scanned
        argv = [arg for arg in argv if arg != "--portal-only"]
        with Sandbox(SandboxSettings(port=0)) as sandbox:
            rc = run_portal(sandbox, argv)
            issued = sandbox.issued_secrets()
        return scan_outputs(issued, rc, OUTPUT / "portal")
    runs = [(ATEST / "suites", OUTPUT / "suites")]
    # Suites that must start in a fresh process (no Browser imported yet), as an operator's robot does.
    runs += [(suite, OUTPUT / suite.stem) for suite in sorted((ATEST / "standalone").glob("*.robot"))]
    with Sandbox(SandboxSettings(port=0)) as sandbox:
        rc = 0
        for suite, output in runs:
            rc = max(rc, run_robot(sandbox.url, suite, output, [*argv, "--exclude", "redis-store"]))
        rc = max(rc, run_parallel(sandbox, argv))
        rc = max(rc, run_fleet(sandbox, argv))
        rc = max(rc, run_daily(sandbox, argv))
        rc = max(rc, run_portal(sandbox, argv))
        issued = sandbox.issued_secrets()
    return scan_outputs(issued, rc)


def scan_outputs(issued: Any, rc: int, output: Path = OUTPUT) -> int:
    """Every file the runs wrote, scanned for every secret the sandbox issued (and ours)."""
    by_sandbox = {
        "authorization code": issued.authorization_codes,
        "access token": issued.access_tokens,
        "refresh token": issued.refresh_tokens,
        "client secret": issued.client_secrets,
        "code verifier": issued.code_verifiers,
    }
    count, own = (sum(len(values) for values in group.values()) for group in (by_sandbox, OWN_SECRETS))
    scanned, leaks = scan(files_under(output), {**by_sandbox, **OWN_SECRETS, **PATIENT_DATA})
    shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    print(
        f"\nSecret scan of {shown}: {scanned} files and archive members, {count} secrets issued by the "
        f"sandbox and {own} of the runs' own ({', '.join(OWN_SECRETS)}), and a made-up patient's data "
        f"({len(PATIENT_DATA)} kinds): {len(leaks)} leaks."
    )
    for leak in leaks:
        print(f"  LEAK {leak}")
    if count == 0 and rc == 0:
        print("The sandbox issued no secrets: the scan proves nothing, so it fails.")
        return 1
    return rc or (1 if leaks else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
