"""Keeping tests away from the developer's real secrets on every OS (used by ``conftest.py``).

The per-user folders (platformdirs), the home folder and the OS keyring of a test are its own, in
its process and in every process it starts (they inherit the environment). platformdirs ignores
``XDG_*`` on Windows, so the folders are also given as Windows sees them (``WIN_PD_OVERRIDE_*``,
``APPDATA``, ``LOCALAPPDATA``, ``USERPROFILE``) and as macOS does (``HOME``; newer platformdirs
also honour ``XDG_*`` there). :func:`paths_outside` checks the result: a platformdirs that does not
honour these variables on this OS fails the test rather than touch a real file. The keyring is
keyring's own fail backend (no Credential Manager, Keychain or Secret Service), so the key is kept
in a key file under the test's folder, as on a machine without a keyring.
"""

from __future__ import annotations

from pathlib import Path

from keyring.backends import fail

from healthcode_auth.storage.file_store import default_cache_path
from healthcode_auth.storage.key_sources import key_file_path
from healthcode_auth.storage.signouts import generations_path

FAIL_KEYRING = "keyring.backends.fail.Keyring"


class IsolatedKeyring(fail.Keyring):
    """The keyring of every test: keyring's fail backend, so never a real Credential Manager,
    Keychain or Secret Service entry; ``key_sources`` sees no usable keyring and uses a key file."""


def isolated_folders(home: Path) -> dict[str, str]:
    """The environment that puts every per-user folder, on every OS, under ``home``."""
    local, roaming = home / "AppData" / "Local", home / "AppData" / "Roaming"
    return {
        "HOME": str(home),
        "USERPROFILE": str(home),  # ~ everywhere; macOS' ~/Library
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),  # Linux, macOS
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "APPDATA": str(roaming),
        "LOCALAPPDATA": str(local),  # Windows (and Playwright there)
        "WIN_PD_OVERRIDE_APPDATA": str(roaming),
        "WIN_PD_OVERRIDE_LOCAL_APPDATA": str(local),  # platformdirs
        "PYTHON_KEYRING_BACKEND": FAIL_KEYRING,  # keyring in child processes
    }


def library_paths() -> dict[str, Path]:
    """Where the library keeps its secrets and cache by default, as resolved right now."""
    return {"key file": key_file_path(), "sign-out record": generations_path(), "token cache": default_cache_path()}


def paths_outside(folder: Path) -> list[str]:
    """The library's default paths that are not under ``folder`` (none, when isolated)."""
    return [f"{what} {path}" for what, path in library_paths().items() if not path.is_relative_to(folder)]
