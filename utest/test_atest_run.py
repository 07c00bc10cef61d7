"""atest/run.py: where it writes, and what its secret scan looks for besides the sandbox's secrets."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import run

NOTHING_ISSUED = SimpleNamespace(
    authorization_codes=["THE-CODE-VALUE"], access_tokens=[], refresh_tokens=[], client_secrets=[], code_verifiers=[]
)


def test_the_output_directory_comes_from_atest_output(tmp_path):
    code = "import run; print(run.OUTPUT)"
    env = {**os.environ, "ATEST_OUTPUT": str(tmp_path / "atest"), "PYTHONPATH": str(run.ATEST)}
    chosen = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert Path(chosen.stdout.strip()) == tmp_path / "atest"
    env.pop("ATEST_OUTPUT")
    default = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert Path(default.stdout.strip()) == run.ROOT / "results" / "atest"


def test_every_run_gets_an_unrelated_password_that_nothing_registers(tmp_path):
    name, value = run.UNRELATED_VARIABLE
    assert not name.startswith("HEALTHCODE_")
    assert run.settings("http://127.0.0.1:1", tmp_path)[name] == value
    assert run.OWN_SECRETS["unrelated environment variable"] == [value]


def test_the_fleet_store_password_percent_encodes():
    assert quote(run.STORE_PASSWORD_START, safe="") != run.STORE_PASSWORD_START


def test_the_scan_reports_the_unrelated_variable_as_its_own_kind(tmp_path, capsys):
    (tmp_path / "log.html").write_text(f"<td>{{'{run.UNRELATED_VARIABLE[0]}': '{run.UNRELATED_VARIABLE[1]}'}}</td>")
    assert run.scan_outputs(NOTHING_ISSUED, 0, tmp_path) == 1
    printed = capsys.readouterr().out
    assert f"LEAK {tmp_path / 'log.html'}: contains an unrelated environment variable" in printed
    assert run.UNRELATED_VARIABLE[1] not in printed
    assert "1 secrets issued by the sandbox" in printed


def test_the_scan_fails_when_the_sandbox_issued_nothing_whatever_the_runs_own(tmp_path):
    issued = SimpleNamespace(**{name: [] for name in vars(NOTHING_ISSUED)})
    assert run.scan_outputs(issued, 0, tmp_path) == 1
