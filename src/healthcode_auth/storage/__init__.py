"""Where tokens are kept between runs and shared between robots.

``store.py`` is the seam (the interface the session uses); ``file_store.py`` implements it with
an encrypted file, ``redis_store.py`` with Redis for fleets of robots on many machines. They are
composed of parts: ``persistence.py`` (a file's bytes), ``sealing.py`` (what any store writes,
encrypted and authenticated), ``locks.py`` (the file store's cross-process lock), ``record.py``
(the supervision record and its authentication), ``signouts.py`` (the sign-out record that
refuses copies put back), ``key_sources.py`` (finds the key) and ``private_files.py`` (private,
atomic files).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..redaction import REDACTOR
from .file_store import LOCK_TIMEOUT, FileTokenStore, default_cache_path
from .key_sources import ENV_KEY
from .store import StoredAuthorisation, TokenStore, Versioned, entry_key

DISABLED = frozenset({"off", "none", "no", "false", "disabled"})


def open_store(
    setting: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    timeout: float = 30.0,
    ca_bundle: str | None = None,
) -> TokenStore | None:
    """The store a ``token_cache`` setting names: None for ``off``; a Redis store for a
    ``redis://`` or ``rediss://`` URL (``timeout`` bounds each of its operations, ``ca_bundle``
    adds a CA to trust); else a file (default: a per-user path).

    ``lock_timeout`` is how long a robot waits for another robot's renewal (and, in Redis, the
    lease of the renewal lock).
    """
    environ = dict(os.environ if environ is None else environ)
    REDACTOR.add(environ.get(ENV_KEY))  # the cache key is a secret like the tokens it protects
    if setting is not None and setting.strip().lower() in DISABLED:
        return None
    if setting is not None and setting.strip().lower().startswith(("redis://", "rediss://")):
        from .redis_store import RedisTokenStore  # redis-py is imported only for a Redis store

        return RedisTokenStore(
            setting.strip(), environ=environ, timeout=timeout, lock_timeout=lock_timeout, ca_bundle=ca_bundle
        )
    path = Path(setting).expanduser() if setting else default_cache_path()
    return FileTokenStore(path, environ=environ, lock_timeout=lock_timeout)


__all__ = [
    "DISABLED",
    "FileTokenStore",
    "StoredAuthorisation",
    "TokenStore",
    "Versioned",
    "default_cache_path",
    "entry_key",
    "open_store",
]
