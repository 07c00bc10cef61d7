"""No test can reach the developer's real key file, token cache or keyring entry, on any OS: the
autouse fixture in conftest.py gives every test, and every process it starts, folders and a keyring
of its own (isolation.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import platformdirs
import pytest

from healthcode_auth.storage.key_sources import choose_source, keyring_usable
from isolation import FAIL_KEYRING, IsolatedKeyring, isolated_folders, library_paths, paths_outside

APP = "robotframework-healthcode"


def test_the_librarys_paths_are_under_the_tests_folder(tmp_path):
    assert paths_outside(tmp_path) == []
    for path in library_paths().values():
        assert path.is_relative_to(tmp_path / "home")
    assert Path(os.environ["HEALTHCODE_TOKEN_CACHE"]).is_relative_to(tmp_path)
    assert Path.home() == tmp_path / "home"


def test_the_keyring_is_the_test_double():
    assert isinstance(keyring.get_keyring(), IsolatedKeyring)
    assert not keyring_usable()
    assert choose_source({}) == "file"  # the key goes to the key file under tmp_path, never a real keyring
    with pytest.raises(keyring.errors.NoKeyringError):
        keyring.get_password(APP, "token-cache-key")


def test_a_child_process_is_isolated_too(tmp_path):
    code = (
        "import json, keyring; from isolation import library_paths;"
        "from healthcode_auth.storage.key_sources import choose_source;"
        "print(json.dumps({'paths': {k: str(v) for k, v in library_paths().items()},"
        "'keyring': type(keyring.get_keyring()).__module__ + '.' + type(keyring.get_keyring()).__name__,"
        "'source': choose_source()}))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    seen = json.loads(result.stdout)
    assert all(Path(path).is_relative_to(tmp_path) for path in seen["paths"].values()), seen
    assert seen["keyring"] == FAIL_KEYRING
    assert seen["source"] == "file"


def test_platformdirs_of_linux_and_macos_follow_the_test_folders(tmp_path):
    """Checked here on any OS: their classes are plain Python (Windows' asks the OS, see below)."""
    from platformdirs.macos import MacOS
    from platformdirs.unix import Unix

    for system in (Unix, MacOS):
        dirs = system(APP, appauthor=False)
        for folder in (dirs.user_config_dir, dirs.user_cache_dir, dirs.user_data_dir, dirs.user_state_dir):
            assert Path(folder).is_relative_to(tmp_path / "home"), (system.__name__, folder)


@pytest.mark.skipif(sys.platform != "win32", reason="Windows' known folders are asked of Windows itself")
def test_platformdirs_of_windows_follows_the_test_folders(tmp_path):
    dirs = platformdirs.PlatformDirs(APP, appauthor=False)
    for folder in (dirs.user_config_dir, dirs.user_cache_dir, dirs.user_data_dir, dirs.user_state_dir):
        assert Path(folder).is_relative_to(tmp_path / "home"), folder


def test_a_platformdirs_that_ignores_the_test_folders_is_caught(tmp_path, monkeypatch):
    real = Path("C:/Users/developer/AppData/Local") if sys.platform == "win32" else Path("/home/developer/.config")
    monkeypatch.setattr(platformdirs, "user_config_dir", lambda *args, **kwargs: str(real / APP))
    assert paths_outside(tmp_path) == [
        f"key file {real / APP / 'cache.key'}",
        f"sign-out record {real / APP / 'generations.json'}",
    ]


def test_every_folder_variable_points_into_the_tests_home(tmp_path):
    for name, value in isolated_folders(tmp_path / "home").items():
        if name != "PYTHON_KEYRING_BACKEND":
            assert os.environ[name] == value
            assert Path(value).is_relative_to(tmp_path / "home"), name
    assert os.environ["PYTHON_KEYRING_BACKEND"] == FAIL_KEYRING
