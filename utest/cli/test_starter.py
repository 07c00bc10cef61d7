"""``healthcode-auth init``: the starter files, written into the current folder and never over a file
without ``--force``; the settings template names every setting and holds no secret; the scheduled
robot uses the cached authorisation, waits for a supervisor, and never opens a browser."""

import re
import subprocess
import sys

import pytest

from healthcode_auth.config import ENV_VARS
from healthcode_auth.redaction import SECRET_VARIABLES
from healthcode_auth.storage.key_sources import ENV_KEY
from healthcode_cli import starter_commands
from healthcode_cli.starter_commands import README, RECIPE, SCHEDULED, SETTINGS, STARTER_FILES, SUITE, starter_text
from sandbox_recipe import documented_recipe, sandbox_settings

SECRET_SETTINGS = SECRET_VARIABLES  # every variable that may hold a secret is marked SECRET in the template


@pytest.fixture
def project(tmp_path):
    """An empty folder (the test's tmp_path also holds its isolated home)."""
    folder = tmp_path / "my-rpa-project"
    folder.mkdir()
    return folder


def init(folder, *args):
    return subprocess.run(
        [sys.executable, "-m", "healthcode_cli", "init", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_init_writes_the_starter_files_and_says_what_next(project):
    result = init(project)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in project.iterdir()) == sorted(STARTER_FILES)
    for name in STARTER_FILES:
        assert (project / name).read_text(encoding="utf-8") == starter_text(name)
        assert f"Wrote {name}: " in result.stdout
    assert "healthcode-auth sandbox --remembered-supervisor supervisor" in result.stdout
    assert f"robot {RECIPE}" in result.stdout
    assert f"robot {SUITE}" in result.stdout
    assert f"robot {SCHEDULED}" in result.stdout
    assert "a supervisor signs in once a day with\n       healthcode-auth login\n" in result.stdout
    assert README in result.stdout


def test_init_never_overwrites_without_force(project):
    (project / SUITE).write_text("my own suite\n", encoding="utf-8")
    result = init(project)
    assert result.returncode == 1
    assert f"{SUITE} already exists" in result.stderr
    assert "nothing was written" in result.stderr
    assert "--force" in result.stderr
    assert (project / SUITE).read_text(encoding="utf-8") == "my own suite\n"
    assert sorted(p.name for p in project.iterdir()) == [SUITE]  # not even the files that were missing

    forced = init(project, "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"Wrote {SUITE} (overwritten): " in forced.stdout
    assert (project / SUITE).read_text(encoding="utf-8") == starter_text(SUITE)


def test_init_says_which_extras_to_install_when_they_are_missing(monkeypatch):
    monkeypatch.setattr(
        starter_commands.importlib.util,
        "find_spec",
        lambda name: None if name in ("RequestsLibrary", "flask") else object(),
    )
    assert starter_commands.missing_extras() == ["sandbox"]  # the starter files call APIs without RequestsLibrary
    assert "pip install 'robotframework-healthcode[sandbox]'" in starter_commands.next_steps(["sandbox"])
    assert "pip install" not in starter_commands.next_steps([])


def test_the_settings_template_names_every_setting_and_holds_no_secret():
    template = starter_text(SETTINGS)
    settings = template[: template.index("# --- The local sandbox")]
    assigned = dict(re.findall(r"^(HEALTHCODE_\w+)=(.*)$", settings, re.MULTILINE))
    commented = dict(re.findall(r"^# (HEALTHCODE_\w+)=(.*)$", settings, re.MULTILINE))
    assert set(assigned) | set(commented) == {*ENV_VARS.values(), ENV_KEY}
    assert {name: value for name, value in {**assigned, **commented}.items() if value} == {
        "HEALTHCODE_ENVIRONMENT": "uat"
    }
    # Loading the file must never clear a secret set from a secret store: secrets are commented out.
    assert set(commented) == {"HEALTHCODE_CLIENT_SECRET", ENV_KEY, "HEALTHCODE_NOTIFY", "HEALTHCODE_NOTIFY_ESCALATION"}
    for name in SECRET_SETTINGS:
        line = f"\n# {name}=" if name in commented else f"\n{name}="
        comment = settings[: settings.index(line)].rsplit("\n\n", 1)[-1]
        assert "SECRET" in comment, f"the template does not mark {name} as a secret"


def test_the_settings_templates_sandbox_section_matches_the_recipe():
    settings = sandbox_settings(starter_text(SETTINGS))
    assert settings == {
        "HEALTHCODE_CLIENT_ID": "example_rpa_app",
        "HEALTHCODE_REDIRECT_URI": "https://rpaapp.example.com/postauth",
        "HEALTHCODE_ENVIRONMENT": "http://127.0.0.1:8765",
        "HEALTHCODE_TOKEN_CACHE": "off",
        "HEALTHCODE_SITE_ID": "HC00ABC",
    }
    recipe = documented_recipe()
    assert f"site_id={settings['HEALTHCODE_SITE_ID']}" in recipe
    assert f"client_id={settings['HEALTHCODE_CLIENT_ID']}" in recipe
    assert f"redirect_uri={settings['HEALTHCODE_REDIRECT_URI']}" in recipe
    assert "token_cache=off" in recipe


def test_the_starter_suite_is_the_recipe_with_settings_from_the_environment():
    suite = starter_text(SUITE)
    assert re.search(r"^Library\s+HealthcodeLibrary\s+headless=\$\{HEADLESS\}$", suite, re.MULTILINE)
    assert not re.search(r"^Library\s+(RequestsLibrary|Browser)", suite, re.MULTILINE)  # no extra; Browser: the library
    for step in (
        "Authorise Healthcode Supervisor",
        "Get Healthcode Token Expiry    result_format=text",
        "Call Healthcode API    find_member    method=POST    insurerIdentifier=",
        "Call Healthcode API    search_remittance_summary    method=POST",
        "all_pages=True",
    ):
        assert step in suite and step in documented_recipe(), step
    assert "API_URL" not in suite  # every API is looked up by name, never a typed-in URL


def test_the_scheduled_robot_uses_the_cached_authorisation_and_waits_for_a_supervisor():
    suite = starter_text(SCHEDULED)
    assert re.search(
        r"^Library\s+HealthcodeLibrary\s+wait_for_authorisation=\$\{WAIT_FOR_SUPERVISOR\}$", suite, re.MULTILINE
    )
    assert re.search(r"^\$\{WAIT_FOR_SUPERVISOR\}\s+30 minutes$", suite, re.MULTILINE)
    tasks = suite[suite.index("*** Tasks ***") :]
    for step in ("Get Healthcode Access Token", "Call Healthcode API    search_remittance_summary"):
        assert step in tasks, step
    # It never opens a browser: nobody would see one on a scheduler's machine.
    for browser_step in ("Authorise Healthcode Supervisor", "Open Healthcode Login", "Wait For Supervisor", "headless"):
        assert browser_step not in suite, browser_step
    assert not re.search(r"^Library\s+Browser", suite, re.MULTILINE)
    documentation = " ".join(suite[: suite.index("Library ")].split())
    for said in (
        "a supervisor signs in once a day with 'healthcode-auth login'",
        "lasts 24 hours",
        "waits for a supervisor to sign in, up to ${WAIT_FOR_SUPERVISOR}",
        "never opens a browser",
    ):
        assert said in documentation.replace("... ", ""), said


@pytest.mark.parametrize("name", [SUITE, RECIPE, SCHEDULED])
def test_the_starter_suites_pass_a_dry_run(tmp_path, name):
    (tmp_path / name).write_text(starter_text(name), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "robot",
            "--dryrun",
            "--output",
            "NONE",
            "--log",
            "NONE",
            "--report",
            "NONE",
            "--consolecolors",
            "off",
            name,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
