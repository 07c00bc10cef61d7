"""Floor 3: where tokens are kept between runs and shared between robots.

``store.py`` is the seam (the interface the session uses); ``file_store.py`` implements it with
an encrypted file; ``sealing.py`` encrypts what any store writes; ``key_sources.py`` finds the
key; ``private_files.py`` writes files atomically and privately. May import floors 1-2 only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .file_store import LOCK_TIMEOUT, FileTokenStore, default_cache_path
from .store import StoredAuthorisation, TokenStore, Versioned, entry_key

DISABLED = frozenset({"off", "none", "no", "false", "disabled"})


def open_store(setting: str | None, *, environ: Mapping[str, str] | None = None,
               lock_timeout: float = LOCK_TIMEOUT) -> TokenStore | None:
    """The store a ``token_cache`` setting names: None for ``off``, else a file (default: per user).

    ``lock_timeout`` is how long a robot waits for another robot's renewal.
    """
    if setting is not None and setting.strip().lower() in DISABLED:
        return None
    path = Path(setting).expanduser() if setting else default_cache_path()
    return FileTokenStore(path, environ=None if environ is None else dict(environ), lock_timeout=lock_timeout)


__all__ = ["DISABLED", "FileTokenStore", "StoredAuthorisation", "TokenStore", "Versioned", "default_cache_path",
           "entry_key", "open_store"]
