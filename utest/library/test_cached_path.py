"""A scheduled robot that finds a valid cached token loads only what reading it needs (issue 21).

A real subprocess, as a robot is: a fresh interpreter with Robot Framework's API imported imports
the library, makes it and runs `Get Healthcode Access Token` against a file store that holds a
valid token sealed with a random key (``healthcode-auth key new``). Checked: the keyword returned
the stored token, the store was really read and decrypted, and none of the HTTP client, the JWT
library, the file lock, platformdirs or the keyring was imported. An import-set assertion, not a
timing (``benchmarks/rows_fleet.py`` times the same run).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

from healthcode_auth.protocol.token import Token
from healthcode_auth.storage import FileTokenStore, StoredAuthorisation
from healthcode_auth.storage.key_sources import new_random_key

DISCOVERY = "https://sso.example.test/.well-known/openid-configuration"
CLIENT = "example_rpa_app"
# platformdirs is skipped on Linux only: elsewhere the per-user folders are platformdirs' to say
# (key_sources.user_folder), and the sign-out record beside the key file is read on every cache hit.
NOT_NEEDED = (
    "httpx",
    "joserfc",
    "filelock",
    "keyring",
    *(("platformdirs",) if sys.platform == "linux" else ()),
    "requests",
    "Browser",
    "healthcode_auth.client",
    "healthcode_auth.transport",
    "healthcode_auth.api_client",
    "healthcode_auth.notices",
    "healthcode_auth.daily_cycle",
)
ROBOT = f"""
import hashlib, json, sys
import robot.api
from HealthcodeLibrary import HealthcodeLibrary

library = HealthcodeLibrary()
secret = library.run_keyword("get_healthcode_access_token", [], {{}})
print(json.dumps({{
    "token": hashlib.sha256(secret.value.encode()).hexdigest(),
    "loaded": sorted(name for name in {NOT_NEEDED!r} if name in sys.modules),
    "decrypted": "cryptography.hazmat.primitives.ciphers.aead" in sys.modules,
}}))
"""


def test_a_cache_hit_with_a_random_key_loads_no_http_jwt_lock_folders_or_keyring(tmp_path):
    key = new_random_key()
    cache = tmp_path / "store" / "tokens.json"
    token = Token(
        access_token=f"cached-{os.urandom(8).hex()}",
        token_type="Bearer",
        expires_at=time.time() + 3600,
        issued_at=time.time(),
        supervisor="supervisor-1",
    )
    entry = StoredAuthorisation(
        DISCOVERY,
        CLIENT,
        token,
        discovery={"issuer": "https://sso.example.test"},
        issuer="https://sso.example.test",
        audience=(CLIENT,),
    )
    assert FileTokenStore(cache, environ={"HEALTHCODE_CACHE_KEY": key}).store(entry, None) == 1
    env = {
        **os.environ,
        "HEALTHCODE_CLIENT_ID": CLIENT,
        "HEALTHCODE_REDIRECT_URI": "https://rpa.example.test/back",
        "HEALTHCODE_ENVIRONMENT": DISCOVERY,
        "HEALTHCODE_TOKEN_CACHE": str(cache),
        "HEALTHCODE_CACHE_KEY": key,
    }

    result = subprocess.run([sys.executable, "-c", ROBOT], env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["token"] == hashlib.sha256(token.access_token.encode()).hexdigest()
    assert seen["decrypted"]
    assert seen["loaded"] == []
